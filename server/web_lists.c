/* web_lists.c -- 清单: the reference data the server hands to terminals
 * (web_int.h): every version stored, each one viewable (?version=N, else
 * the latest: version, label and note, departments, domains and the three
 * lists' items), and, for an admin, a new version imported from the
 * browser (POST /lists/import, multipart): the file `patrold lists import`
 * reads, checked by the same function (refjson_load) and refused with the
 * same sentence naming the place in the file; nothing is stored unless
 * all of it is sound. The version and its leaves are one transaction: the
 * `patrol-lists` leaf the command appends and a `patrol-web-admin` leaf
 * naming the account (docs/console.md "Server log leaves").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patrol.pb-c.h"
#include "refjson.h"
#include "slog.h"
#include "validate.h"
#include "web_int.h"

static const char *list_zh(const char *t)
{
    return strcmp(t, "no_penalty") == 0 ? "不予处罚清单"
           : strcmp(t, "lighter") == 0  ? "从轻处罚清单"
           : strcmp(t, "reduced") == 0  ? "减轻处罚清单"
                                        : t;
}

typedef struct versions {
    web_buf *b;
    uint64_t shown;
    size_t n;
} versions;

static int version_row(void *ud, uint64_t version, int64_t imported_ms, size_t len)
{
    versions *v = ud;
    char t[32];
    web_beijing(imported_ms, t, sizeof t);
    web_printf(v->b, "<tr%s><td class=\"num\">%" PRIu64 "</td><td>", version == v->shown
                                                                          ? " class=\"shown\""
                                                                          : "",
               version);
    web_text(v->b, t);
    web_printf(v->b, "</td><td class=\"num\">%zu</td><td>", len);
    if (version == v->shown)
        web_puts(v->b, "（正在查看）");
    else
        web_printf(v->b, "<a href=\"/lists?version=%" PRIu64 "\">查看</a>", version);
    web_puts(v->b, "</td></tr>");
    v->n++;
    return 0;
}

/* The contents of one version. */
static void contents(web_buf *b, const Patrol__V1__Reference *r, uint64_t version,
                     int64_t imported_ms)
{
    char t[32];
    web_beijing(imported_ms, t, sizeof t);
    web_printf(b, "<h2>版本 %" PRIu64 " 的内容</h2><table><tbody><tr><th>版本</th>"
                  "<td id=\"lists-version\">%" PRIu64 "</td></tr><tr><th>导入时间</th><td>",
               version, version);
    web_text(b, t);
    web_puts(b, "</td></tr><tr><th>文件标签</th><td id=\"lists-label\">");
    web_text(b, r->label);
    web_puts(b, "</td></tr><tr><th>说明</th><td>");
    web_text(b, r->note);
    web_printf(b, "</td></tr><tr><th>执法人员名册</th><td>%zu 人</td></tr><tr><th>指派回访</th>"
                  "<td>%zu 项</td></tr><tr><th>宣传资料</th><td>%zu 种</td></tr></tbody></table>",
               r->n_roster, r->n_revisits, r->n_leaflets);
    web_printf(b, "<h2>部门（%zu）</h2><table id=\"departments\"><thead><tr><th>代码</th>"
                  "<th>名称</th></tr></thead><tbody>",
               r->n_departments);
    for (size_t i = 0; i < r->n_departments; i++) {
        web_puts(b, "<tr><td><code>");
        web_text(b, r->departments[i]->code);
        web_puts(b, "</code></td><td>");
        web_text(b, r->departments[i]->name);
        web_puts(b, "</td></tr>");
    }
    web_printf(b, "</tbody></table><h2>领域（%zu）</h2><table><thead><tr><th>代码</th>"
                  "<th>名称</th><th>柔性执法</th></tr></thead><tbody>",
               r->n_domains);
    for (size_t i = 0; i < r->n_domains; i++) {
        web_puts(b, "<tr><td><code>");
        web_text(b, r->domains[i]->code);
        web_puts(b, "</code></td><td>");
        web_text(b, r->domains[i]->name);
        web_puts(b, r->domains[i]->flexible ? "</td><td>是</td></tr>" : "</td><td>否</td></tr>");
    }
    web_printf(b, "</tbody></table><h2>三张清单（%zu 项）</h2><table id=\"list-items\"><thead>"
                  "<tr><th>清单</th><th>版本</th><th>代码</th><th>领域</th><th>名称</th></tr>"
                  "</thead><tbody>",
               r->n_list_items);
    for (size_t i = 0; i < r->n_list_items; i++) {
        const Patrol__V1__ListItem *it = r->list_items[i];
        web_puts(b, "<tr><td>");
        web_text(b, list_zh(it->list_type));
        web_puts(b, "</td><td>");
        web_text(b, it->list_version);
        web_puts(b, "</td><td><code>");
        web_text(b, it->code);
        web_puts(b, "</code></td><td>");
        web_text(b, it->domain);
        web_puts(b, "</td><td>");
        web_text(b, it->name);
        web_puts(b, "</td></tr>");
    }
    web_puts(b, "</tbody></table>");
}

/* The import form, for an admin. */
static void import_form(web_ctx *c, web_buf *b)
{
    if (strcmp(c->who->role, "admin") != 0) {
        web_puts(b, "<p>导入新版本：由管理员在本页导入，或在服务器上运行 "
                    "<code>patrold --data DIR lists import FILE</code>。</p>");
        return;
    }
    web_puts(b, "<h2>导入新版本</h2><form method=\"post\" action=\"/lists/import\" "
                "enctype=\"multipart/form-data\" class=\"upload\">");
    web_csrf_field(c, b);
    web_printf(b, "<label>清单文件（JSON，与 <code>patrold lists import</code> 读取的文件相同，"
                  "至多 %u MiB） <input type=\"file\" name=\"file\" id=\"lists-file\" "
                  "accept=\".json,application/json\" required></label> "
                  "<button type=\"submit\" id=\"lists-import\">导入（记入服务器日志）</button>"
                  "</form><p>文件整体校验：任何一处不合规则整个文件不导入，并指出位置。导入后"
                  "终端在下次同步时取得新版本；旧版本保留可查。</p>",
               WEB_UPLOAD_MAX >> 20);
}

void web_page_lists(web_ctx *c)
{
    uint64_t version = 0;
    uint8_t *blob = NULL;
    size_t len = 0;
    int64_t imported_ms = 0;
    char vq[24];
    Patrol__V1__Reference *r = NULL;
    web_buf b = {0};
    versions v = {&b, 0, 0};
    int rc, asked;

    asked = web_form_get(c->rq->query, strlen(c->rq->query), "version", vq, sizeof vq);
    if (asked < 0 || (asked == 1 && px_parse_u64(vq, 1, UINT64_MAX >> 1, &version))) {
        web_refuse(c, 400, "版本号不合法。");
        return;
    }
    /* The latest's number, then the version with its import time. */
    rc = asked == 1 ? ST_OK : c->db->ops->reference_latest(c->db, &version, &blob, &len);
    free(blob);
    blob = NULL;
    if (rc == ST_OK)
        rc = c->db->ops->reference_get(c->db, version, &blob, &len, &imported_ms);
    if (rc == ST_NOTFOUND && asked == 1) {
        web_refuse(c, 404, "没有这个版本的参考数据。");
        return;
    }
    if ((rc != ST_OK && rc != ST_NOTFOUND) ||
        (rc == ST_OK && !(r = patrol__v1__reference__unpack(NULL, len, blob)))) {
        free(blob);
        web_refuse(c, 503, "无法读取参考数据。");
        return;
    }
    free(blob);
    web_puts(&b, "<h1>清单</h1><p>服务器下发给终端的参考数据：部门、领域、三张清单、宣传资料、"
                 "执法人员名册和指派回访。终端同步时取得最新版本。</p>");
    import_form(c, &b);
    v.shown = rc == ST_OK ? version : 0;
    web_puts(&b, "<h2>版本</h2><table id=\"lists-versions\"><thead><tr><th>版本</th>"
                 "<th>导入时间</th><th>大小（字节）</th><th></th></tr></thead><tbody>");
    if (c->db->ops->references_each(c->db, version_row, &v) != ST_OK) {
        if (r)
            patrol__v1__reference__free_unpacked(r, NULL);
        web_buf_free(&b);
        web_refuse(c, 503, "无法读取参考数据。");
        return;
    }
    web_puts(&b, "</tbody></table>");
    if (!r)
        web_puts(&b, "<p id=\"lists-none\">尚未导入参考数据（终端使用内置数据）。</p>");
    else {
        contents(&b, r, version, imported_ms);
        patrol__v1__reference__free_unpacked(r, NULL);
    }
    web_page(c, 200, "清单", &b);
    web_buf_free(&b);
}

/* A refusal of the file: 400 (or status), its name and why, nothing stored. */
static void refuse_file(web_ctx *c, int status, const char *filename, const char *why)
{
    web_buf b = {0};
    web_printf(&b, "<h1>请求被拒绝（%d）</h1><p class=\"refusal\" id=\"refusal\">清单文件 ", status);
    web_text(&b, filename[0] ? filename : "（未命名）");
    web_puts(&b, " 未导入：");
    web_text(&b, why);
    web_puts(&b, "。服务器上的参考数据没有任何改变。</p><p><a href=\"/lists\">返回清单</a></p>");
    web_page(c, status, "请求被拒绝", &b);
    web_buf_free(&b);
}

void web_post_lists_import(web_ctx *c)
{
    const uint8_t *file;
    size_t n, len, lists;
    char filename[128], why[512], leaf[300];
    Patrol__V1__Reference *r = NULL;
    uint8_t *blob = NULL;
    uint64_t version, idx;
    int64_t now = app_now_ms();
    int got, k;
    st_backend *db = c->db;

    if (strcmp(c->who->role, "admin") != 0) {
        web_refuse(c, 403, "只有管理员可以导入清单。");
        return;
    }
    got = web_multipart_get(c->rq, "file", &file, &n, filename, sizeof filename);
    if (got < 0) {
        web_refuse(c, 400, "上传的表单不合法（应为 multipart/form-data，含清单文件）。");
        return;
    }
    if (got == 0 || n == 0) {
        refuse_file(c, 400, got ? filename : "", "没有选择文件，或文件是空的");
        return;
    }
    if (refjson_load((const char *)file, n, &r, &blob, &len, &lists, why, sizeof why)) {
        refuse_file(c, 400, filename, why);
        return;
    }
    /* The version, the command's leaf and the account's, together. */
    if (db->ops->begin(db) != ST_OK || db->ops->reference_put(db, blob, len, now, &version) != ST_OK ||
        slog_lists_import(db, version, blob, len, now) != ST_OK ||
        (k = snprintf(leaf, sizeof leaf, "patrol-web-admin\nlists-import\n%" PRIu64 "\n%s\n%" PRId64
                                         "\n",
                      version, c->who->name, now)) < 0 ||
        (size_t)k >= sizeof leaf || slog_append(db, leaf, (size_t)k, now, &idx) != ST_OK ||
        db->ops->commit(db) != ST_OK) {
        app_log("error", "event=web_lists_import_failed reason=\"%s\"", db->ops->errmsg(db));
        db->ops->rollback(db);
        patrol__v1__reference__free_unpacked(r, NULL);
        free(blob);
        web_refuse(c, 503, "服务器无法保存这个版本，未导入任何内容。");
        return;
    }
    app_log("info", "event=web_lists_import user=%s items=%zu lists=%zu", c->who->name,
            r->n_list_items, lists);
    patrol__v1__reference__free_unpacked(r, NULL);
    free(blob);
    web_redirect(c, "/lists");
}
