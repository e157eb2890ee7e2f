/* web_lists.c -- 清单: the reference data the server hands to terminals
 * (the latest version `patrold lists import` stored): its version, label
 * and note, departments, domains and the three lists' items (web_int.h).
 * Read only: importing stays `patrold lists import FILE` on the server. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "patrol.pb-c.h"
#include "web_int.h"

static const char *list_zh(const char *t)
{
    return strcmp(t, "no_penalty") == 0 ? "不予处罚清单"
           : strcmp(t, "lighter") == 0  ? "从轻处罚清单"
           : strcmp(t, "reduced") == 0  ? "减轻处罚清单"
                                        : t;
}

void web_page_lists(web_ctx *c)
{
    uint64_t version = 0;
    uint8_t *blob = NULL;
    size_t len = 0;
    Patrol__V1__Reference *r = NULL;
    web_buf b = {0};
    int rc = c->db->ops->reference_latest(c->db, &version, &blob, &len);
    web_puts(&b, "<h1>清单</h1><p>服务器下发给终端的参考数据（最新版本）。导入新版本：在服务器上运行 "
                 "<code>patrold --data DIR lists import FILE</code>（记入服务器日志）。</p>");
    if (rc == ST_NOTFOUND) {
        web_puts(&b, "<p id=\"lists-none\">尚未导入参考数据（终端使用内置数据）。</p>");
    } else if (rc != ST_OK || !(r = patrol__v1__reference__unpack(NULL, len, blob))) {
        free(blob);
        web_buf_free(&b);
        web_refuse(c, 503, "无法读取参考数据。");
        return;
    } else {
        web_printf(&b, "<table><tbody><tr><th>版本</th><td id=\"lists-version\">%" PRIu64
                       "</td></tr><tr><th>文件标签</th><td>",
                   version);
        web_text(&b, r->label);
        web_puts(&b, "</td></tr><tr><th>说明</th><td>");
        web_text(&b, r->note);
        web_printf(&b, "</td></tr><tr><th>执法人员名册</th><td>%zu 人</td></tr><tr><th>指派回访</th>"
                       "<td>%zu 项</td></tr><tr><th>宣传资料</th><td>%zu 种</td></tr></tbody></table>",
                   r->n_roster, r->n_revisits, r->n_leaflets);
        web_printf(&b, "<h2>部门（%zu）</h2><table><thead><tr><th>代码</th><th>名称</th></tr></thead>"
                       "<tbody>",
                   r->n_departments);
        for (size_t i = 0; i < r->n_departments; i++) {
            web_puts(&b, "<tr><td><code>");
            web_text(&b, r->departments[i]->code);
            web_puts(&b, "</code></td><td>");
            web_text(&b, r->departments[i]->name);
            web_puts(&b, "</td></tr>");
        }
        web_printf(&b, "</tbody></table><h2>领域（%zu）</h2><table><thead><tr><th>代码</th>"
                       "<th>名称</th><th>柔性执法</th></tr></thead><tbody>",
                   r->n_domains);
        for (size_t i = 0; i < r->n_domains; i++) {
            web_puts(&b, "<tr><td><code>");
            web_text(&b, r->domains[i]->code);
            web_puts(&b, "</code></td><td>");
            web_text(&b, r->domains[i]->name);
            web_puts(&b, r->domains[i]->flexible ? "</td><td>是</td></tr>" : "</td><td>否</td></tr>");
        }
        web_printf(&b, "</tbody></table><h2>三张清单（%zu 项）</h2><table id=\"list-items\"><thead>"
                       "<tr><th>清单</th><th>版本</th><th>代码</th><th>领域</th><th>名称</th></tr>"
                       "</thead><tbody>",
                   r->n_list_items);
        for (size_t i = 0; i < r->n_list_items; i++) {
            const Patrol__V1__ListItem *it = r->list_items[i];
            web_puts(&b, "<tr><td>");
            web_text(&b, list_zh(it->list_type));
            web_puts(&b, "</td><td>");
            web_text(&b, it->list_version);
            web_puts(&b, "</td><td><code>");
            web_text(&b, it->code);
            web_puts(&b, "</code></td><td>");
            web_text(&b, it->domain);
            web_puts(&b, "</td><td>");
            web_text(&b, it->name);
            web_puts(&b, "</td></tr>");
        }
        web_puts(&b, "</tbody></table>");
        patrol__v1__reference__free_unpacked(r, NULL);
    }
    free(blob);
    web_page(c, 200, "清单", &b);
    web_buf_free(&b);
}
