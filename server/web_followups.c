/* web_followups.c -- 回访/文书: the revisits without an outcome (due,
 * overdue) and the documents issued and not yet delivered, from the index
 * (matters_each, the rows `audit timeline` shows); a reviewer's are its
 * department's (web_int.h). A listing of index rows: nothing is counted
 * here (the counts are 总览's, from audit report). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "web_int.h"

typedef struct fu {
    web_buf *rev, *doc;
    char today[11];
    unsigned nrev, ndoc;
} fu;

static void matter_link(web_buf *b, const char *id)
{
    web_puts(b, "<a href=\"/matters/");
    web_url(b, id);
    web_puts(b, "\">");
    web_text(b, id);
    web_puts(b, "</a>");
}

static int each(void *ud, const st_imatter *m)
{
    fu *f = ud;
    char t[32];
    for (size_t i = 0; i < m->nrevisits; i++) {
        const st_irevisit *r = &m->revisits[i];
        int overdue = r->due[0] && strcmp(r->due, f->today) < 0;
        if (r->outcome[0])
            continue;
        f->nrev++;
        web_printf(f->rev, "<tr class=\"%s\"><td>", overdue ? "overdue" : "due");
        matter_link(f->rev, m->id);
        web_puts(f->rev, "</td><td>");
        web_text(f->rev, m->department);
        web_puts(f->rev, "</td><td>");
        web_text(f->rev, r->id);
        web_puts(f->rev, "</td><td>");
        web_text(f->rev, r->due[0] ? r->due : "-");
        web_puts(f->rev, overdue ? "</td><td>已逾期</td></tr>" : "</td><td>待回访</td></tr>");
    }
    for (size_t i = 0; i < m->ndocs; i++) {
        const st_idoc *d = &m->docs[i];
        if (d->delivered)
            continue;
        f->ndoc++;
        web_puts(f->doc, "<tr><td>");
        matter_link(f->doc, m->id);
        web_puts(f->doc, "</td><td>");
        web_text(f->doc, m->department);
        web_puts(f->doc, "</td><td>");
        web_text(f->doc, d->id);
        web_puts(f->doc, "</td><td>");
        web_beijing(d->issued_ms, t, sizeof t);
        web_text(f->doc, t);
        web_puts(f->doc, "</td></tr>");
    }
    return 0;
}

void web_page_followups(web_ctx *c)
{
    web_buf b = {0}, rev = {0}, doc = {0};
    fu f = {&rev, &doc, "", 0, 0};
    time_t now = time(NULL) + 8 * 3600;
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(f.today, sizeof f.today, "%Y-%m-%d", &tm);
    if (c->db->ops->matters_each(c->db, c->who->department[0] ? c->who->department : NULL, each,
                                 &f) != ST_OK) {
        web_buf_free(&rev);
        web_buf_free(&doc);
        web_refuse(c, 503, "无法读取事项。");
        return;
    }
    web_printf(&b, "<h1>回访与文书</h1><h2>未完成的回访（%u）</h2><table id=\"revisits\"><thead><tr>"
                   "<th>事项</th><th>部门</th><th>回访</th><th>应回访日</th><th>状态</th></tr>"
                   "</thead><tbody>",
               f.nrev);
    if (rev.p)
        web_put(&b, rev.p, rev.len);
    web_printf(&b, "</tbody></table><h2>待送达的文书（%u）</h2><table id=\"documents\"><thead><tr>"
                   "<th>事项</th><th>部门</th><th>文书</th><th>制发</th></tr></thead><tbody>",
               f.ndoc);
    if (doc.p)
        web_put(&b, doc.p, doc.len);
    web_puts(&b, "</tbody></table>");
    if (rev.oom || doc.oom)
        b.oom = 1;
    web_buf_free(&rev);
    web_buf_free(&doc);
    web_page(c, 200, "回访与文书", &b);
    web_buf_free(&b);
}
