/* web_matters.c -- 事项: the matters of the index (server/index.c, as
 * `patrold audit` reads them), filtered and paged, and one matter's
 * record; a reviewer sees its own department's only (web_int.h).
 *
 * Viewing a matter is a leaf of the server log before anything of it is
 * shown, as `audit timeline` does: "patrol-view\n" id "\nredacted\nweb:"
 * account "\n" time "\n" (privacy fields are never revealed here).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "i18n.h"
#include "matter.h"
#include "validate.h"
#include "web_int.h"

#define PAGE_ROWS 50

static const char *state_zh(const char *code)
{
    px_mstate s;
    return px_mstate_parse(code, &s) == 0 ? _(px_mstate_label(s)) : code;
}

typedef struct filt {
    char department[72], state[24], domain[72], q[72], method[32], list[16], inspector[72];
    char from[16], to[16]; /* YYYY-MM-DD, Beijing: opened on or after / on or before */
    unsigned long page;
} filt;

typedef struct list_ud {
    const filt *f;
    web_buf *b;
    unsigned long seen, shown;
} list_ud;

static int field(const char *query, const char *name, char *out, size_t cap)
{
    int r = web_form_get(query, strlen(query), name, out, cap);
    if (r == 0)
        out[0] = '\0';
    return r < 0 ? -1 : 0;
}

static int matter_row(void *ud, const st_imatter *m)
{
    list_ud *x = ud;
    const filt *f = x->f;
    char t[32];
    if ((f->state[0] && strcmp(m->state, f->state) != 0) ||
        (f->domain[0] && strcmp(m->domain, f->domain) != 0) ||
        (f->list[0] && strcmp(m->list_type, f->list) != 0) ||
        (f->q[0] && !strstr(m->id, f->q) && !strstr(m->subject, f->q)))
        return 0;
    if (f->method[0]) {
        char kind[48];
        int has = 0;
        snprintf(kind, sizeof kind, "action.%s", f->method);
        for (size_t i = 0; i < m->nmethods && !has; i++)
            has = strcmp(m->methods[i].kind, kind) == 0 || strcmp(m->methods[i].kind, f->method) == 0;
        if (!has)
            return 0;
    }
    if (f->inspector[0]) { /* one id of the comma-separated list */
        size_t n = strlen(f->inspector);
        const char *p = m->inspectors;
        int has = 0;
        while (p && *p && !has) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            has = len == n && memcmp(p, f->inspector, n) == 0;
            p = e ? e + 1 : NULL;
        }
        if (!has)
            return 0;
    }
    if (f->from[0] || f->to[0]) {
        char day[32];
        web_beijing(m->opened_ms, day, sizeof day);
        day[10] = '\0';
        if ((f->from[0] && strcmp(day, f->from) < 0) || (f->to[0] && strcmp(day, f->to) > 0))
            return 0;
    }
    if (x->seen++ / PAGE_ROWS != f->page)
        return 0;
    x->shown++;
    web_puts(x->b, "<tr><td><a href=\"/matters/");
    web_url(x->b, m->id);
    web_puts(x->b, "\">");
    web_text(x->b, m->id);
    web_puts(x->b, "</a></td><td>");
    web_text(x->b, m->department);
    web_puts(x->b, "</td><td>");
    web_text(x->b, m->domain);
    web_puts(x->b, "</td><td>");
    web_text(x->b, state_zh(m->state));
    web_puts(x->b, "</td><td>");
    web_beijing(m->opened_ms, t, sizeof t);
    web_text(x->b, t);
    web_printf(x->b, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td></tr>",
               m->nmethods, m->nevidence);
    return 0;
}

static void input(web_buf *b, const char *label, const char *name, const char *value)
{
    web_puts(b, "<label>");
    web_text(b, label);
    web_puts(b, " <input name=\"");
    web_attr(b, name);
    web_puts(b, "\" value=\"");
    web_attr(b, value);
    web_puts(b, "\" maxlength=\"64\"></label> ");
}

static int is_day(const char *v)
{
    if (strlen(v) != 10 || v[4] != '-' || v[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9'))
            return 0;
    return 1;
}

void web_page_matters(web_ctx *c)
{
    filt f;
    char page[24];
    uint64_t pg = 0;
    web_buf b = {0};
    list_ud x = {&f, &b, 0, 0};
    const char *q = c->rq->query;
    memset(&f, 0, sizeof f);
    if (field(q, "department", f.department, sizeof f.department) ||
        field(q, "state", f.state, sizeof f.state) || field(q, "domain", f.domain, sizeof f.domain) ||
        field(q, "q", f.q, sizeof f.q) || field(q, "page", page, sizeof page) ||
        field(q, "method", f.method, sizeof f.method) || field(q, "list", f.list, sizeof f.list) ||
        field(q, "inspector", f.inspector, sizeof f.inspector) ||
        field(q, "from", f.from, sizeof f.from) || field(q, "to", f.to, sizeof f.to) ||
        (f.from[0] && !is_day(f.from)) || (f.to[0] && !is_day(f.to)) ||
        (page[0] && px_parse_u64(page, 0, 100000, &pg)) ||
        (f.department[0] && px_check_ident(f.department))) {
        web_refuse(c, 400, "筛选条件不合法。");
        return;
    }
    f.page = (unsigned long)pg;
    /* A reviewer: its department, whatever the query says. */
    if (c->who->department[0])
        snprintf(f.department, sizeof f.department, "%s", c->who->department);
    web_puts(&b, "<h1>事项</h1><form method=\"get\" action=\"/matters\" class=\"filters\">");
    if (!c->who->department[0])
        input(&b, "部门", "department", f.department);
    input(&b, "状态", "state", f.state);
    input(&b, "领域", "domain", f.domain);
    input(&b, "事项号或当事人", "q", f.q);
    input(&b, "方式", "method", f.method);
    input(&b, "清单", "list", f.list);
    input(&b, "执法人员", "inspector", f.inspector);
    input(&b, "启动自", "from", f.from);
    input(&b, "至", "to", f.to);
    web_puts(&b, "<button type=\"submit\" id=\"filter\">筛选</button></form>"
                 "<table id=\"matters\"><thead><tr><th>事项</th><th>部门</th><th>领域</th>"
                 "<th>状态</th><th>启动</th><th>方式</th><th>证据</th></tr></thead><tbody>");
    if (c->db->ops->matters_each(c->db, f.department[0] ? f.department : NULL, matter_row, &x) !=
        ST_OK) {
        web_buf_free(&b);
        web_refuse(c, 503, "无法读取事项。");
        return;
    }
    web_printf(&b, "</tbody></table><p>共 %lu 件，第 %lu 页。", x.seen, f.page + 1);
    if ((f.page + 1) * PAGE_ROWS < x.seen || f.page > 0) {
        unsigned long to[2] = {f.page ? f.page - 1 : 0, f.page + 1};
        const char *label[2] = {"上一页", "下一页"};
        for (int i = 0; i < 2; i++) {
            if ((i == 0 && f.page == 0) || (i == 1 && (f.page + 1) * PAGE_ROWS >= x.seen))
                continue;
            web_puts(&b, " <a href=\"/matters?department=");
            web_url(&b, f.department);
            web_puts(&b, "&amp;state=");
            web_url(&b, f.state);
            web_puts(&b, "&amp;domain=");
            web_url(&b, f.domain);
            web_puts(&b, "&amp;q=");
            web_url(&b, f.q);
            web_puts(&b, "&amp;method=");
            web_url(&b, f.method);
            web_puts(&b, "&amp;list=");
            web_url(&b, f.list);
            web_puts(&b, "&amp;inspector=");
            web_url(&b, f.inspector);
            web_puts(&b, "&amp;from=");
            web_url(&b, f.from);
            web_puts(&b, "&amp;to=");
            web_url(&b, f.to);
            web_printf(&b, "&amp;page=%lu\">%s</a>", to[i], label[i]);
        }
    }
    web_puts(&b, "</p>");
    web_page(c, 200, "事项", &b);
    web_buf_free(&b);
}

/* "YYYY-MM-DDTHH:MM:SSZ" (audit timeline's times) as UTC milliseconds; 0
 * if it is not that. */
static int64_t iso_ms(const char *v)
{
    int d[6], at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    int64_t y, m, days;
    if (!v || strlen(v) != 20 || v[19] != 'Z')
        return 0;
    for (int i = 0; i < 6; i++) {
        d[i] = 0;
        for (int k = 0; k < len[i]; k++) {
            char ch = v[at[i] + k];
            if (ch < '0' || ch > '9')
                return 0;
            d[i] = d[i] * 10 + (ch - '0');
        }
    }
    /* days from 1970-01-01 (H. Hinnant's days_from_civil) */
    y = d[0] - (d[1] <= 2);
    m = d[1];
    {
        int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400,
                doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d[2] - 1,
                doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        days = era * 146097 + doe - 719468;
    }
    return ((days * 24 + d[3]) * 60 + d[4]) * 60000 + (int64_t)d[5] * 1000;
}

/* The matter's full-process record as `patrold audit timeline --matter ID
 * --json [--reveal]` gives it (audit_timeline_json: the command's own
 * builder and masking of confidential fields, without its leaf: the
 * console's view leaf is the only one), as a table. 0, or -1. */
static int timeline(web_ctx *c, web_buf *b, const char *id, int reveal)
{
    char t[32], err[256];
    int notfound;
    cJSON *j, *e;
    if (!(j = audit_timeline_json(c->db, id, reveal, &notfound, err, sizeof err))) {
        app_log("error", "event=web_timeline_failed matter=%s reason=\"%s\"", id, err);
        return -1;
    }
    web_puts(b, "<h2>全过程记录</h2><table id=\"timeline\"><thead><tr><th>时间</th><th>记录</th>"
                "<th>终端</th><th>内容</th></tr></thead><tbody>");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "entries"))
    {
        const cJSON *f, *label = cJSON_GetObjectItemCaseSensitive(e, "label"),
                        *dn = cJSON_GetObjectItemCaseSensitive(e, "device_name"),
                        *seq = cJSON_GetObjectItemCaseSensitive(e, "seq"),
                        *dt = cJSON_GetObjectItemCaseSensitive(e, "device_time");
        web_beijing(iso_ms(cJSON_IsString(dt) ? dt->valuestring : NULL), t, sizeof t);
        web_puts(b, "<tr><td>");
        web_text(b, t);
        web_puts(b, "</td><td>");
        web_text(b, cJSON_IsString(label) ? _(label->valuestring) : "");
        web_puts(b, "</td><td>");
        web_text(b, cJSON_IsString(dn) ? dn->valuestring : "");
        web_printf(b, " #%.0f</td><td><dl>", cJSON_IsNumber(seq) ? seq->valuedouble : 0.0);
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(e, "fields"))
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name"),
                        *v = cJSON_GetObjectItemCaseSensitive(f, "value");
            int masked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "masked"));
            web_puts(b, "<dt>");
            web_text(b, cJSON_IsString(n) ? n->valuestring : "");
            web_puts(b, masked ? "</dt><dd class=\"masked\">" : "</dt><dd>");
            web_text(b, cJSON_IsString(v) ? v->valuestring : "");
            web_puts(b, "</dd>");
        }
        web_puts(b, "</dl></td></tr>");
    }
    web_puts(b, "</tbody></table>");
    cJSON_Delete(j);
    return 0;
}

void web_page_matter(web_ctx *c, const char *id)
{
    web_matter_page(c, id, 0);
}

void web_post_reveal(web_ctx *c, const char *id)
{
    if (strcmp(c->who->role, "reviewer") == 0) {
        web_refuse(c, 403, "审核人员不能显示个人隐私字段。");
        return;
    }
    web_matter_page(c, id, 1);
}

void web_matter_page(web_ctx *c, const char *id, int reveal)
{
    st_imatter m;
    web_buf b = {0};
    char t[32], text[300];
    int rc, n;
    memset(&m, 0, sizeof m);
    if (px_check_ident(id)) {
        web_refuse(c, 400, "事项号不合法。");
        return;
    }
    rc = c->db->ops->matter_get(c->db, id, &m);
    if (rc == ST_NOTFOUND) {
        web_refuse(c, 404, "没有这个事项。");
        return;
    }
    if (rc != ST_OK) {
        web_refuse(c, 503, "无法读取事项。");
        return;
    }
    if (c->who->department[0] && strcmp(c->who->department, m.department) != 0) {
        st_imatter_release(&m);
        app_log("warn", "event=web_refused user=%s matter=%s reason=other_department",
                c->who->name, id);
        web_refuse(c, 403, "审核人员只能查看本部门的事项。");
        return;
    }
    n = snprintf(text, sizeof text, "patrol-view\n%s\n%s\nweb:%s\n%" PRId64 "\n", m.id,
                 reveal ? "revealed" : "redacted", c->who->name, app_now_ms());
    if (n < 0 || (size_t)n >= sizeof text || web_leaf(c, text, (size_t)n) != 0) {
        st_imatter_release(&m);
        web_refuse(c, 503, "服务器日志无法记录这次查看，查看被拒绝。");
        return;
    }
    web_puts(&b, "<h1>事项 <span id=\"matter-id\">");
    web_text(&b, m.id);
    web_puts(&b, "</span></h1><table class=\"facts\"><tbody><tr><th>部门</th><td>");
    web_text(&b, m.department);
    web_puts(&b, "</td></tr><tr><th>领域</th><td>");
    web_text(&b, m.domain);
    web_puts(&b, "</td></tr><tr><th>状态</th><td id=\"matter-state\">");
    web_text(&b, state_zh(m.state));
    web_puts(&b, "</td></tr><tr><th>当事人</th><td>");
    web_text(&b, m.subject);
    web_puts(&b, "</td></tr><tr><th>清单事项</th><td>");
    web_text(&b, m.list_item);
    web_puts(&b, " ");
    web_text(&b, m.list_type);
    web_puts(&b, "</td></tr><tr><th>启动</th><td>");
    web_beijing(m.opened_ms, t, sizeof t);
    web_text(&b, t);
    web_puts(&b, "</td></tr><tr><th>结束</th><td>");
    web_beijing(m.closed_device ? m.closed_ms : 0, t, sizeof t);
    web_text(&b, t);
    web_puts(&b, "</td></tr><tr><th>执法人员</th><td>");
    web_text(&b, m.inspectors);
    web_puts(&b, "</td></tr></tbody></table><h2>柔性执法方式</h2><table><thead><tr><th>方式</th>"
                 "<th>终端</th><th>序号</th><th>时间</th></tr></thead><tbody>");
    for (size_t i = 0; i < m.nmethods; i++) {
        web_puts(&b, "<tr><td>");
        web_text(&b, m.methods[i].kind);
        web_printf(&b, "</td><td>%lld</td><td>%" PRIu64 "</td><td>", (long long)m.methods[i].device,
                   m.methods[i].seq);
        web_beijing(m.methods[i].wall_ms, t, sizeof t);
        web_text(&b, t);
        web_puts(&b, "</td></tr>");
    }
    web_puts(&b, "</tbody></table><h2>文书</h2><table><thead><tr><th>文书</th><th>制发</th>"
                 "<th>送达</th><th>方式</th></tr></thead><tbody>");
    for (size_t i = 0; i < m.ndocs; i++) {
        web_puts(&b, "<tr><td>");
        web_text(&b, m.docs[i].id);
        web_puts(&b, "</td><td>");
        web_beijing(m.docs[i].issued_ms, t, sizeof t);
        web_text(&b, t);
        web_puts(&b, "</td><td>");
        web_beijing(m.docs[i].delivered ? m.docs[i].delivered_ms : 0, t, sizeof t);
        web_text(&b, m.docs[i].delivered ? t : "未送达");
        web_puts(&b, "</td><td>");
        web_text(&b, m.docs[i].method);
        web_puts(&b, "</td></tr>");
    }
    web_puts(&b, "</tbody></table><h2>回访</h2><table><thead><tr><th>回访</th><th>应回访日</th>"
                 "<th>结果</th></tr></thead><tbody>");
    for (size_t i = 0; i < m.nrevisits; i++) {
        web_puts(&b, "<tr><td>");
        web_text(&b, m.revisits[i].id);
        web_puts(&b, "</td><td>");
        web_text(&b, m.revisits[i].due);
        web_puts(&b, "</td><td>");
        web_text(&b, m.revisits[i].outcome[0] ? m.revisits[i].outcome : "未回访");
        web_puts(&b, "</td></tr>");
    }
    web_puts(&b, "</tbody></table><h2>证据</h2><table><thead><tr><th>种类</th><th>大小（字节）</th>"
                 "<th>SHA-256</th><th>已收全</th></tr></thead><tbody>");
    for (size_t i = 0; i < m.nevidence; i++) {
        web_puts(&b, "<tr><td>");
        web_text(&b, m.evidence[i].kind);
        web_printf(&b, "</td><td class=\"num\">%" PRIu64 "</td><td><code>", m.evidence[i].size);
        web_text(&b, m.evidence[i].sha256);
        web_printf(&b, "</code></td><td>%s", m.evidence[i].complete ? "是" : "否");
        /* Previews: the file from this site (CSP img-src / media-src 'self'). */
        if (m.evidence[i].complete && (strcmp(m.evidence[i].kind, "photo") == 0 ||
                                       strcmp(m.evidence[i].kind, "audio") == 0 ||
                                       strcmp(m.evidence[i].kind, "video") == 0)) {
            const char *k = m.evidence[i].kind;
            web_puts(&b, strcmp(k, "photo") == 0 ? "<br><img class=\"preview\" alt=\"照片\" src=\""
                         : strcmp(k, "audio") == 0 ? "<br><audio controls preload=\"metadata\" src=\""
                                                   : "<br><video controls preload=\"metadata\" src=\"");
            web_puts(&b, "/matters/");
            web_url(&b, m.id);
            web_puts(&b, "/evidence/");
            web_url(&b, m.evidence[i].sha256);
            web_puts(&b, strcmp(k, "photo") == 0 ? "\">" : strcmp(k, "audio") == 0 ? "\"></audio>"
                                                                               : "\"></video>");
        }
        web_puts(&b, "</td></tr>");
    }
    web_puts(&b, "</tbody></table>");
    if (timeline(c, &b, m.id, reveal) != 0)
        web_puts(&b, "<p class=\"refusal\">无法读取全过程记录。</p>");
    if (!reveal && strcmp(c->who->role, "reviewer") != 0) {
        web_puts(&b, "<form method=\"post\" action=\"/matters/");
        web_url(&b, m.id);
        web_puts(&b, "/reveal\">");
        web_csrf_field(c, &b);
        web_puts(&b, "<button type=\"submit\" id=\"reveal\">显示个人隐私字段（记入服务器日志）"
                     "</button></form>");
    }
    web_puts(&b, "<h2>导出</h2><form method=\"post\" action=\"/matters/");
    web_url(&b, m.id);
    web_puts(&b, "/export\">");
    web_csrf_field(c, &b);
    web_puts(&b, "<button type=\"submit\" id=\"export\">导出案卷（tar，可离线校验）</button></form>"
                 "<p>与 <code>patrold audit export --matter ");
    web_text(&b, m.id);
    web_puts(&b, "</code> 相同；用 <code>patrold audit verify-archive</code> 校验。"
                 "完整时间线：<code>patrold audit timeline --matter ");
    web_text(&b, m.id);
    web_puts(&b, "</code>。</p>");
    st_imatter_release(&m);
    web_page(c, 200, "事项", &b);
    web_buf_free(&b);
}
