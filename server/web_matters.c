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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "i18n.h"
#include "matter.h"
#include "rules.h"
#include "validate.h"
#include "web_int.h"

#define PAGE_ROWS 50
#define BAD_SORT N_("The order is not valid (id, activity, opened or state).")

static const char *state_zh(const char *code)
{
    px_mstate s;
    return px_mstate_parse(code, &s) == 0 ? _(px_mstate_label(s)) : code;
}

typedef struct filt {
    char department[72], state[24], domain[72], q[72], method[32], list[16], inspector[72];
    char from[16], to[16]; /* YYYY-MM-DD, Beijing: opened on or after / on or before */
    char sort[16];         /* one of sorts[] ("" is "id") */
    unsigned long page;
} filt;

/* The orders 事项 offers: code (the query's sort=) and label. */
static const struct {
    const char *code, *label;
} sorts[] = {
    {"id", N_("matter id")},
    {"activity", N_("last activity (newest first)")},
    {"opened", N_("opening (newest first)")},
    {"state", N_("state (in the order of the procedure)")},
};

/* What the list shows of a matter, kept to sort them. */
typedef struct row {
    char id[32], department[64], domain[64], state[16];
    int state_order;
    int64_t opened_ms, activity_ms;
    size_t nmethods, nevidence;
} row;

typedef struct list_ud {
    const filt *f;
    row *rows;
    size_t n, cap;
    int oom;
} list_ud;

/* The last thing done in a matter, by device time: its opening, a method,
 * a document issued or delivered, a revisit's outcome, evidence, its close. */
static int64_t last_activity(const st_imatter *m)
{
    int64_t t = m->opened_ms;
#define LATER(v)                                                                                   \
    do {                                                                                           \
        if ((v) > t)                                                                               \
            t = (v);                                                                               \
    } while (0)
    for (size_t i = 0; i < m->nmethods; i++)
        LATER(m->methods[i].wall_ms);
    for (size_t i = 0; i < m->ndocs; i++) {
        LATER(m->docs[i].issued_ms);
        if (m->docs[i].delivered)
            LATER(m->docs[i].delivered_ms);
    }
    for (size_t i = 0; i < m->nrevisits; i++)
        if (m->revisits[i].outcome[0])
            LATER(m->revisits[i].outcome_ms);
    for (size_t i = 0; i < m->nevidence; i++)
        LATER(m->evidence[i].wall_ms);
    if (m->closed_device)
        LATER(m->closed_ms);
#undef LATER
    return t;
}

/* A choice value (delivery method, evidence kind ...) as people read it:
 * its label from the rules table, translated; else the code. */
static const char *choice_text(const char *v)
{
    const char *l = px_choice_label(v);
    return l && *l ? _(l) : v;
}

/* A kind of entry (action.warning): its label, translated, and the code. */
static void kind_text(web_buf *b, const char *kind)
{
    const px_kind_rule *k = px_rules_find(kind);
    if (k && k->label && *k->label)
        /* TRANSLATORS: a kind of entry: its name (its code). */
        web_textf(b, _("%s (%s)"), _(k->label), kind);
    else
        web_text(b, kind);
}

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
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        row *r = cap <= SIZE_MAX / sizeof *r ? realloc(x->rows, cap * sizeof *r) : NULL;
        if (!r) {
            x->oom = 1;
            return 1;
        }
        x->rows = r;
        x->cap = cap;
    }
    {
        row *r = &x->rows[x->n++];
        px_mstate st;
        snprintf(r->id, sizeof r->id, "%s", m->id);
        snprintf(r->department, sizeof r->department, "%s", m->department);
        snprintf(r->domain, sizeof r->domain, "%s", m->domain);
        snprintf(r->state, sizeof r->state, "%s", m->state);
        r->state_order = px_mstate_parse(m->state, &st) == 0 ? (int)st : 1000;
        r->opened_ms = m->opened_ms;
        r->activity_ms = last_activity(m);
        r->nmethods = m->nmethods;
        r->nevidence = m->nevidence;
    }
    return 0;
}

/* Newest first for the times; the state machine's order for states; the
 * id breaks ties (and is the order matters_each gives). */
static int cmp_id(const void *a, const void *b)
{
    return strcmp(((const row *)a)->id, ((const row *)b)->id);
}
static int cmp_opened(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->opened_ms != y->opened_ms ? (x->opened_ms < y->opened_ms ? 1 : -1) : cmp_id(a, b);
}
static int cmp_activity(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->activity_ms != y->activity_ms ? (x->activity_ms < y->activity_ms ? 1 : -1)
                                            : cmp_id(a, b);
}
static int cmp_state(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->state_order != y->state_order ? (x->state_order < y->state_order ? -1 : 1)
                                            : cmp_id(a, b);
}

static void row_html(web_buf *b, const row *r)
{
    char t[32];
    web_puts(b, "<tr><td><a href=\"/matters/");
    web_url(b, r->id);
    web_puts(b, "\">");
    web_text(b, r->id);
    web_puts(b, "</a></td><td>");
    web_text(b, r->department);
    web_puts(b, "</td><td>");
    web_text(b, r->domain);
    web_puts(b, "</td><td>");
    web_text(b, state_zh(r->state));
    web_puts(b, "</td><td>");
    web_beijing(r->opened_ms, t, sizeof t);
    web_text(b, t);
    web_puts(b, "</td><td>");
    web_beijing(r->activity_ms, t, sizeof t);
    web_text(b, t);
    web_printf(b, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td></tr>", r->nmethods,
               r->nevidence);
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

/* The query of this list with its filters and order, for a paging link
 * (page appended by the caller). */
static void query_of(web_buf *b, const filt *f)
{
    const struct {
        const char *name, *value;
    } q[] = {{"department", f->department}, {"state", f->state}, {"domain", f->domain},
             {"q", f->q}, {"method", f->method}, {"list", f->list}, {"inspector", f->inspector},
             {"from", f->from}, {"to", f->to}, {"sort", f->sort}};
    web_puts(b, "/matters?");
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        web_puts(b, q[i].name);
        web_puts(b, "=");
        web_url(b, q[i].value);
        web_puts(b, "&amp;");
    }
}

void web_page_matters(web_ctx *c)
{
    filt f;
    char page[24];
    uint64_t pg = 0;
    web_buf b = {0};
    list_ud x;
    size_t si = 0, first, last;
    const char *q = c->rq->query;
    int (*cmp[])(const void *, const void *) = {cmp_id, cmp_activity, cmp_opened, cmp_state};
    memset(&f, 0, sizeof f);
    memset(&x, 0, sizeof x);
    x.f = &f;
    if (field(q, "department", f.department, sizeof f.department) ||
        field(q, "state", f.state, sizeof f.state) || field(q, "domain", f.domain, sizeof f.domain) ||
        field(q, "q", f.q, sizeof f.q) || field(q, "page", page, sizeof page) ||
        field(q, "method", f.method, sizeof f.method) || field(q, "list", f.list, sizeof f.list) ||
        field(q, "inspector", f.inspector, sizeof f.inspector) ||
        field(q, "from", f.from, sizeof f.from) || field(q, "to", f.to, sizeof f.to) ||
        (f.from[0] && !is_day(f.from)) || (f.to[0] && !is_day(f.to)) ||
        (page[0] && px_parse_u64(page, 0, 100000, &pg)) ||
        (f.department[0] && px_check_ident(f.department))) {
        web_refuse(c, 400, _("The filter is not valid."));
        return;
    }
    if (field(q, "sort", f.sort, sizeof f.sort)) {
        web_refuse(c, 400, _(BAD_SORT));
        return;
    }
    if (f.sort[0]) {
        while (si < sizeof sorts / sizeof sorts[0] && strcmp(sorts[si].code, f.sort) != 0)
            si++;
        if (si == sizeof sorts / sizeof sorts[0]) {
            web_refuse(c, 400, _(BAD_SORT));
            return;
        }
    }
    snprintf(f.sort, sizeof f.sort, "%s", sorts[si].code);
    f.page = (unsigned long)pg;
    /* A reviewer: its department, whatever the query says. */
    if (c->who->department[0])
        snprintf(f.department, sizeof f.department, "%s", c->who->department);
    if (c->db->ops->matters_each(c->db, f.department[0] ? f.department : NULL, matter_row, &x) !=
            ST_OK ||
        x.oom) {
        free(x.rows);
        web_refuse(c, 503, _("The matters cannot be read."));
        return;
    }
    if (x.n > 1)
        qsort(x.rows, x.n, sizeof *x.rows, cmp[si]);
    web_tag(&b, "h1", _("Matters"));
    web_puts(&b, "<form method=\"get\" action=\"/matters\" class=\"filters\">");
    if (!c->who->department[0])
        input(&b, _("Department"), "department", f.department);
    input(&b, _("State"), "state", f.state);
    input(&b, _("Domain"), "domain", f.domain);
    input(&b, _("Matter or subject id"), "q", f.q);
    input(&b, _("Method"), "method", f.method);
    input(&b, _("List"), "list", f.list);
    input(&b, _("Inspector"), "inspector", f.inspector);
    /* TRANSLATORS: a filter: opened on or after this day. */
    input(&b, _("Opened from"), "from", f.from);
    /* TRANSLATORS: a filter: opened on or before this day. */
    input(&b, _("to"), "to", f.to);
    web_puts(&b, "<label>");
    web_text(&b, _("Order"));
    web_puts(&b, " <select name=\"sort\" id=\"sort\">");
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++) {
        web_puts(&b, "<option value=\"");
        web_attr(&b, sorts[i].code);
        web_puts(&b, i == si ? "\" selected>" : "\">");
        web_text(&b, _(sorts[i].label));
        web_puts(&b, "</option>");
    }
    web_puts(&b, "</select></label> ");
    web_tag(&b, "button type=\"submit\" id=\"filter\"", _("Filter"));
    web_puts(&b, "</form><table id=\"matters\">");
    web_thead(&b, (const char *const[]){_("Matter"), _("Department"), _("Domain"), _("State"),
                                        _("Opened"), _("Last activity"), _("Methods"),
                                        _("Evidence"), NULL});
    web_puts(&b, "<tbody>");
    first = f.page * PAGE_ROWS < x.n ? f.page * PAGE_ROWS : x.n;
    last = x.n - first > PAGE_ROWS ? first + PAGE_ROWS : x.n;
    for (size_t i = first; i < last; i++)
        row_html(&b, &x.rows[i]);
    web_puts(&b, "</tbody></table><p>");
    /* TRANSLATORS: matters found, the page shown, the order (as in the menu). */
    web_textf(&b, _("%zu matters, page %lu, by %s."), x.n, f.page + 1, _(sorts[si].label));
    if (f.page > 0) {
        web_puts(&b, " <a id=\"prev\" href=\"");
        query_of(&b, &f);
        web_printf(&b, "page=%lu\">", f.page - 1);
        web_text(&b, _("Previous page"));
        web_puts(&b, "</a>");
    }
    if (last < x.n) {
        web_puts(&b, " <a id=\"next\" href=\"");
        query_of(&b, &f);
        web_printf(&b, "page=%lu\">", f.page + 1);
        web_text(&b, _("Next page"));
        web_puts(&b, "</a>");
    }
    web_puts(&b, "</p>");
    free(x.rows);
    web_page(c, 200, _("Matters"), &b);
    web_buf_free(&b);
}

void web_page_matter(web_ctx *c, const char *id)
{
    web_matter_page(c, id, 0);
}

void web_post_reveal(web_ctx *c, const char *id)
{
    if (strcmp(c->who->role, "reviewer") == 0) {
        web_refuse(c, 403, _("A reviewer cannot show personal privacy fields."));
        return;
    }
    web_matter_page(c, id, 1);
}

int web_matter_open(web_ctx *c, const char *id, int reveal, st_imatter *m)
{
    char text[300];
    int rc, n;
    if (px_check_ident(id)) {
        web_refuse(c, 400, _("The matter id is not valid."));
        return -1;
    }
    rc = c->db->ops->matter_get(c->db, id, m);
    if (rc == ST_NOTFOUND) {
        web_refuse(c, 404, _("There is no such matter."));
        return -1;
    }
    if (rc != ST_OK) {
        web_refuse(c, 503, _("The matters cannot be read."));
        return -1;
    }
    if (c->who->department[0] && strcmp(c->who->department, m->department) != 0) {
        st_imatter_release(m);
        app_log("warn", "event=web_refused user=%s matter=%s reason=other_department",
                c->who->name, id);
        web_refuse(c, 403, _("A reviewer may only see the matters of its own department."));
        return -1;
    }
    n = snprintf(text, sizeof text, "patrol-view\n%s\n%s\nweb:%s\n%" PRId64 "\n", m->id,
                 reveal ? "revealed" : "redacted", c->who->name, app_now_ms());
    if (n < 0 || (size_t)n >= sizeof text || web_leaf(c, text, (size_t)n) != 0) {
        st_imatter_release(m);
        web_refuse(c, 503, _("The server log cannot record this view: the view is refused."));
        return -1;
    }
    return 0;
}

void web_matter_page(web_ctx *c, const char *id, int reveal)
{
    st_imatter m;
    web_buf b = {0};
    char t[32], err[256];
    int notfound;
    cJSON *tl;
    memset(&m, 0, sizeof m);
    if (web_matter_open(c, id, reveal, &m) != 0)
        return;
    web_puts(&b, "<h1>");
    web_text(&b, _("Matter"));
    web_puts(&b, " <span id=\"matter-id\">");
    web_text(&b, m.id);
    web_puts(&b, "</span></h1><table class=\"facts\"><tbody><tr>");
    web_tag(&b, "th", _("Department"));
    web_tag(&b, "td", m.department);
    web_puts(&b, "</tr><tr>");
    web_tag(&b, "th", _("Domain"));
    web_tag(&b, "td", m.domain);
    web_puts(&b, "</tr><tr>");
    web_tag(&b, "th", _("State"));
    web_tag(&b, "td id=\"matter-state\"", state_zh(m.state));
    web_puts(&b, "</tr><tr>");
    web_tag(&b, "th", _("Subject"));
    web_tag(&b, "td", m.subject);
    web_puts(&b, "</tr><tr>");
    web_tag(&b, "th", _("List item"));
    web_puts(&b, "<td>");
    web_text(&b, m.list_item);
    web_puts(&b, " ");
    web_text(&b, m.list_type);
    web_puts(&b, "</td></tr><tr>");
    web_tag(&b, "th", _("Opened"));
    web_beijing(m.opened_ms, t, sizeof t);
    web_tag(&b, "td", t);
    web_puts(&b, "</tr><tr>");
    web_tag(&b, "th", _("Closed"));
    web_beijing(m.closed_device ? m.closed_ms : 0, t, sizeof t);
    web_tag(&b, "td", t);
    web_puts(&b, "</tr><tr>");
    web_tag(&b, "th", _("Inspectors"));
    web_tag(&b, "td", m.inspectors);
    web_puts(&b, "</tr></tbody></table>");
    web_tag(&b, "h2", _("Flexible enforcement methods"));
    web_puts(&b, "<table>");
    web_thead(&b, (const char *const[]){_("Method"), _("Device"), _("Entry"), _("Time"), NULL});
    web_puts(&b, "<tbody>");
    for (size_t i = 0; i < m.nmethods; i++) {
        web_puts(&b, "<tr><td>");
        kind_text(&b, m.methods[i].kind);
        web_printf(&b, "</td><td>%lld</td><td>%" PRIu64 "</td><td>", (long long)m.methods[i].device,
                   m.methods[i].seq);
        web_beijing(m.methods[i].wall_ms, t, sizeof t);
        web_text(&b, t);
        web_puts(&b, "</td></tr>");
    }
    web_puts(&b, "</tbody></table>");
    web_tag(&b, "h2", _("Documents"));
    web_puts(&b, "<table>");
    web_thead(&b, (const char *const[]){_("Document"), _("Issued"), _("Delivered"),
                                        _("Delivery method"), NULL});
    web_puts(&b, "<tbody>");
    for (size_t i = 0; i < m.ndocs; i++) {
        web_puts(&b, "<tr><td>");
        web_text(&b, m.docs[i].id);
        web_puts(&b, "</td><td>");
        web_beijing(m.docs[i].issued_ms, t, sizeof t);
        web_text(&b, t);
        web_puts(&b, "</td><td>");
        web_beijing(m.docs[i].delivered ? m.docs[i].delivered_ms : 0, t, sizeof t);
        web_text(&b, m.docs[i].delivered ? t : _("not delivered"));
        web_puts(&b, "</td><td>");
        web_text(&b, m.docs[i].method[0] ? choice_text(m.docs[i].method) : "");
        web_puts(&b, "</td></tr>");
    }
    web_puts(&b, "</tbody></table>");
    web_tag(&b, "h2", _("Revisits"));
    web_puts(&b, "<table>");
    web_thead(&b, (const char *const[]){_("Revisit"), _("Due"), _("Outcome"), NULL});
    web_puts(&b, "<tbody>");
    for (size_t i = 0; i < m.nrevisits; i++) {
        web_puts(&b, "<tr><td>");
        web_text(&b, m.revisits[i].id);
        web_puts(&b, "</td><td>");
        web_text(&b, m.revisits[i].due);
        web_puts(&b, "</td><td>");
        web_text(&b, m.revisits[i].outcome[0] ? m.revisits[i].outcome : _("not revisited"));
        web_puts(&b, "</td></tr>");
    }
    web_puts(&b, "</tbody></table>");
    web_tag(&b, "h2", _("Evidence"));
    web_puts(&b, "<table>");
    web_thead(&b, (const char *const[]){_("Kind"), _("Size (bytes)"), "SHA-256",
                                        _("Received whole"), NULL});
    web_puts(&b, "<tbody>");
    for (size_t i = 0; i < m.nevidence; i++) {
        web_puts(&b, "<tr><td>");
        web_text(&b, choice_text(m.evidence[i].kind));
        web_printf(&b, "</td><td class=\"num\">%" PRIu64 "</td><td><code>", m.evidence[i].size);
        web_text(&b, m.evidence[i].sha256);
        web_puts(&b, "</code></td><td>");
        web_text(&b, m.evidence[i].complete ? _("yes") : _("no"));
        /* Previews: the file from this site (CSP img-src / media-src 'self'). */
        if (m.evidence[i].complete && (strcmp(m.evidence[i].kind, "photo") == 0 ||
                                       strcmp(m.evidence[i].kind, "audio") == 0 ||
                                       strcmp(m.evidence[i].kind, "video") == 0)) {
            const char *k = m.evidence[i].kind;
            if (strcmp(k, "photo") == 0) {
                web_puts(&b, "<br><img class=\"preview\" alt=\"");
                web_attr(&b, _("photo"));
                web_puts(&b, "\" src=\"");
            } else {
                web_puts(&b, strcmp(k, "audio") == 0
                                 ? "<br><audio controls preload=\"metadata\" src=\""
                                 : "<br><video controls preload=\"metadata\" src=\"");
            }
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
    web_puts(&b, "<p><a id=\"documents\" href=\"/matters/");
    web_url(&b, m.id);
    web_puts(&b, "/documents\">");
    /* TRANSLATORS: a link to the printable documents; %zu counts them. */
    web_textf(&b, _("Print the documents (%zu flexible enforcement opinions)"), m.ndocs);
    web_puts(&b, "</a></p>");
    if ((tl = audit_timeline_json(c->db, m.id, reveal, &notfound, err, sizeof err))) {
        web_record_table(&b, tl);
        cJSON_Delete(tl);
    } else {
        app_log("error", "event=web_timeline_failed matter=%s reason=\"%s\"", m.id, err);
        web_tag(&b, "p class=\"refusal\"", _("The matter's record cannot be read."));
    }
    if (!reveal && strcmp(c->who->role, "reviewer") != 0) {
        web_puts(&b, "<form method=\"post\" action=\"/matters/");
        web_url(&b, m.id);
        web_puts(&b, "/reveal\">");
        web_csrf_field(c, &b);
        web_tag(&b, "button type=\"submit\" id=\"reveal\"",
                _("Show personal privacy fields (recorded in the server log)"));
        web_puts(&b, "</form>");
    }
    web_tag(&b, "h2", _("Export"));
    web_puts(&b, "<form method=\"post\" action=\"/matters/");
    web_url(&b, m.id);
    web_puts(&b, "/export\">");
    web_csrf_field(c, &b);
    web_tag(&b, "button type=\"submit\" id=\"export\"",
            _("Export the archive (tar, verifiable offline)"));
    web_puts(&b, "</form><p>");
    /* TRANSLATORS: followed by a command in code type. */
    web_text(&b, _("The same archive as "));
    web_puts(&b, "<code>patrold audit export --matter ");
    web_text(&b, m.id);
    web_puts(&b, "</code>; ");
    /* TRANSLATORS: followed by a command in code type. */
    web_text(&b, _("check it with "));
    web_puts(&b, "<code>patrold audit verify-archive</code>. ");
    /* TRANSLATORS: followed by a command in code type. */
    web_text(&b, _("The whole timeline: "));
    web_puts(&b, "<code>patrold audit timeline --matter ");
    web_text(&b, m.id);
    web_puts(&b, "</code></p>");
    st_imatter_release(&m);
    web_page(c, 200, _("Matter"), &b);
    web_buf_free(&b);
}
