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
        web_puts(f->rev, "</td>");
        web_tag(f->rev, "td", overdue ? _("overdue") : _("awaiting revisit"));
        web_puts(f->rev, "</tr>");
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
        web_refuse(c, 503, _("The matters cannot be read."));
        return;
    }
    web_tag(&b, "h1", _("Revisits and documents"));
    web_puts(&b, "<h2>");
    web_textf(&b, _("Revisits not done (%u)"), f.nrev);
    web_puts(&b, "</h2><table id=\"revisits\">");
    web_thead(&b, (const char *const[]){_("Matter"), _("Department"), _("Revisit"), _("Due"),
                                        _("State"), NULL});
    web_puts(&b, "<tbody>");
    if (rev.p)
        web_put(&b, rev.p, rev.len);
    web_puts(&b, "</tbody></table><h2>");
    web_textf(&b, _("Documents awaiting delivery (%u)"), f.ndoc);
    web_puts(&b, "</h2><table id=\"documents\">");
    web_thead(&b, (const char *const[]){_("Matter"), _("Department"), _("Document"), _("Issued"),
                                        NULL});
    web_puts(&b, "<tbody>");
    if (doc.p)
        web_put(&b, doc.p, doc.len);
    web_puts(&b, "</tbody></table>");
    if (rev.oom || doc.oom)
        b.oom = 1;
    web_buf_free(&rev);
    web_buf_free(&doc);
    web_page(c, 200, _("Revisits and documents"), &b);
    web_buf_free(&b);
}
