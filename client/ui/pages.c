/* pages.c -- the pages of patrol ui, rendered on the server straight from
 * the store (Fossil's way): home (on duty, revisits due, open matters),
 * shift, subjects, a matter (what it may record next, from the state
 * machine; its timeline), evidence upload, a document's print preview,
 * verify, the list of every form (sync: sync.c). Every page works without script.
 * Prefix page_ (and ui_route, ui_home, ui_page_*, ui_error_page). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui.h"

/* ---- the frame ---------------------------------------------------------- */

static const char *find(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0)
            return s + i;
    return NULL;
}

/* frame.html holds the page around its body: "{{title}}" and "{{body}}". */
static void frame_part(ubuf *b, int second, const char *title)
{
    const ui_asset *a = ui_asset_find("frame.html");
    const char *s, *body, *t;
    size_t n;
    if (!a) {
        ub_puts(b, second ? "</body></html>" : "<!doctype html><html><body>");
        return;
    }
    s = (const char *)a->data;
    n = a->size;
    body = find(s, n, "{{body}}");
    if (!body)
        return;
    if (second) {
        ub_put(b, body + 8, n - (size_t)(body - s) - 8);
        return;
    }
    t = find(s, (size_t)(body - s), "{{title}}");
    if (!t) {
        ub_put(b, s, (size_t)(body - s));
        return;
    }
    ub_put(b, s, (size_t)(t - s));
    html_text(b, title);
    ub_put(b, t + 9, (size_t)(body - t - 9));
}

void ui_page_begin(ubuf *b, const char *title)
{
    char now[32];
    patrol_info info;
    frame_part(b, 0, title);
    ui_beijing((int64_t)time(NULL) * 1000, now, sizeof now);
    memset(&info, 0, sizeof info);
    patrol_get_info(ui_g.p, &info);
    h(b, "<header><a class=\"home\" href=\"/\">%t</a><span class=\"clock\">%t %t</span>"
         "<span class=\"dept\">%t</span></header><main>",
      _("Patrol"), _("Beijing time"), now, info.department);
}

void ui_page_end(ubuf *b)
{
    ub_puts(b, "</main>");
    frame_part(b, 1, NULL);
}

void ui_error_page(ui_resp *out, int status, const char *title, const char *msg)
{
    ub_free(&out->body);
    out->status = status;
    frame_part(&out->body, 0, _(title));
    h(&out->body, "<main><h1>%t</h1><p class=\"err banner\" role=\"alert\">%t</p></main>",
      _(title), _(msg));
    frame_part(&out->body, 1, NULL);
}

static void flash(ubuf *b, const ui_req *r)
{
    const char *ok = ui_arg(r, "ok");
    if (ok && *ok && strspn(ok, "0123456789") == strlen(ok))
        h(b, "<p class=\"ok\" role=\"status\">%t %t</p>", _("Saved: entry"), ok);
}

static void link_btn(ubuf *b, const char *cls, const char *href_fmt_done, const char *label)
{
    h(b, "<a class=\"btn %a\" href=\"%r\">%t</a>", cls, href_fmt_done, label);
}

/* ---- home --------------------------------------------------------------- */

typedef struct names {
    ubuf *b;
    char (*ids)[PATROL_ID_MAX];
    size_t n;
    int shown;
} names;

static int name_cb(void *ud, const patrol_inspector_view *iv)
{
    names *nm = ud;
    for (size_t i = 0; i < nm->n; i++)
        if (strcmp(nm->ids[i], iv->id) == 0) {
            h(nm->b, "%r%t <small>(%t)</small>", nm->shown++ ? "，" : "", iv->name, iv->cert_no);
        }
    return 0;
}

typedef struct rlist {
    ubuf *b;
    int assigned; /* list only those the server assigned (1) or only ours (0) */
} rlist;

static int revisit_cb(void *ud, const patrol_revisit_view *rv)
{
    rlist *rl = ud;
    ubuf *b = rl->b;
    if ((rv->assigned != 0) != rl->assigned || rv->outcome[0])
        return 0;
    h(b, "<li><a class=\"row\" href=\"/form?kind=revisit.outcome&amp;target=%u&amp;next=%u\">"
         "<b>%t</b> %t<br><small>%t %t",
      rv->id, "/", rv->subject_name, rv->matter, _("due"), rv->due);
    if (rv->days_overdue > 0)
        h(b, " · <span class=\"late\">%t %d</span>", _("days overdue:"), (int)rv->days_overdue);
    ub_puts(b, "</small></a></li>");
    return 0;
}

static int matter_row_cb(void *ud, const patrol_matter_view *m)
{
    ubuf *b = ud;
    if (strcmp(m->state, "completed") == 0 || strcmp(m->state, "terminated") == 0 ||
        strcmp(m->state, "escalated") == 0)
        return 0;
    h(b, "<li><a class=\"row\" href=\"/matter?id=%u\"><b>%t</b> %t<br><small>%t</small></a></li>",
      m->id, m->subject_name, m->id, ui_tr(patrol_state_label(m->state)));
    return 0;
}

void ui_home(ui_req *r, ui_resp *out)
{
    ubuf *b = &out->body;
    char ids[8][PATROL_ID_MAX], today[16];
    names nm = {b, ids, 0, 0};
    size_t mark;
    ui_today(today, sizeof today);
    ui_page_begin(b, _("Today"));
    flash(b, r);
    nm.n = ui_on_duty(ids, 8, NULL, 0);
    h(b, "<section class=\"duty\"><h2>%t</h2><p>", _("On duty"));
    if (nm.n)
        patrol_inspectors(ui_g.p, name_cb, &nm);
    else
        h(b, "%t", _("Nobody: sign in for the shift first."));
    ub_puts(b, "</p>");
    link_btn(b, nm.n ? "" : "primary", "/shift", nm.n ? _("Shift") : _("Sign in for the shift"));
    ub_puts(b, "</section>");

    /* Revisits the server assigned to this terminal first, every one not
     * yet done whatever its due date (an assignment is work handed over;
     * shown only when there are some), then this terminal's own that are
     * due. */
    {
        rlist rl = {b, 1};
        size_t start = b->len;
        h(b, "<section><h2>%t</h2><ul class=\"list\">", _("Revisits assigned by the server"));
        mark = b->len;
        patrol_revisits(ui_g.p, 0, today, revisit_cb, &rl);
        if (b->len == mark) {
            b->len = start;
            if (b->p)
                b->p[start] = '\0';
        } else {
            ub_puts(b, "</ul></section>");
        }
        rl.assigned = 0;
        h(b, "<section><h2>%t <small>%t</small></h2><ul class=\"list\">", _("Revisits due"),
          today);
        mark = b->len;
        patrol_revisits(ui_g.p, 1, today, revisit_cb, &rl);
        if (b->len == mark)
            h(b, "<li class=\"none\">%t</li>", _("None due today."));
        ub_puts(b, "</ul></section>");
    }

    h(b, "<section><h2>%t</h2>", _("Subjects and matters"));
    link_btn(b, "primary", "/subjects", _("Find or add a subject"));
    h(b, "<ul class=\"list\">");
    mark = b->len;
    patrol_matters(ui_g.p, matter_row_cb, b);
    if (b->len == mark)
        h(b, "<li class=\"none\">%t</li>", _("No open matter."));
    ub_puts(b, "</ul></section><nav class=\"tools\">");
    link_btn(b, "", "/sync", _("Sync"));
    link_btn(b, "", "/verify", _("Verify"));
    link_btn(b, "", "/acts", _("Department acts"));
    link_btn(b, "", "/kinds", _("All forms"));
    ub_puts(b, "</nav>");
    ui_page_end(b);
}

/* ---- shift -------------------------------------------------------------- */

static void page_shift(ui_req *r, ui_resp *out)
{
    char ids[8][PATROL_ID_MAX], shift[PATROL_ID_MAX];
    size_t n = ui_on_duty(ids, 8, shift, sizeof shift);
    (void)n;
    if (shift[0]) {
        /* On duty: the form that ends it. */
        ui_form_page(r, out, "shift.end", NULL);
        return;
    }
    ui_form_page(r, out, "shift.start", NULL);
}

/* ---- subjects ----------------------------------------------------------- */

typedef struct sfind {
    ubuf *b;
    const char *q;
    int n;
} sfind;

static int subj_cb(void *ud, const patrol_subject_view *s)
{
    sfind *f = ud;
    if (f->q && *f->q && !strstr(s->name, f->q) && !strstr(s->credit_code, f->q) &&
        !strstr(s->id, f->q))
        return 0;
    f->n++;
    h(f->b, "<li><a class=\"row\" href=\"/form?kind=matter.open&amp;f.subject=%u\"><b>%t</b> "
            "<small>%t</small><br><small>%t</small></a></li>",
      s->id, s->name, ui_tr(patrol_choice_label(s->type)),
      s->credit_code[0] ? s->credit_code : s->id);
    return 0;
}

static void page_subjects(ui_req *r, ui_resp *out)
{
    ubuf *b = &out->body;
    sfind f = {b, ui_arg(r, "q"), 0};
    ui_page_begin(b, _("Subjects"));
    h(b, "<h1>%t</h1><form method=\"get\" action=\"/subjects\" class=\"search\">"
         "<input type=\"search\" name=\"q\" value=\"%a\" placeholder=\"%a\">"
         "<button class=\"btn\" type=\"submit\">%t</button></form>",
      _("Subjects"), f.q, _("name or credit code"), _("Find"));
    h(b, "<p class=\"help\">%t</p><ul class=\"list\">", _("Tap a subject to open a matter."));
    patrol_subjects(ui_g.p, subj_cb, &f);
    if (!f.n)
        h(b, "<li class=\"none\">%t</li>", _("No subject found."));
    ub_puts(b, "</ul>");
    link_btn(b, "primary", "/form?kind=subject.add", _("Add a subject"));
    ui_page_end(b);
}

/* ---- a matter ----------------------------------------------------------- */

typedef struct mfind {
    const char *id;
    patrol_matter_view m; /* strings copied below */
    char subject_name[256], domain[64], summary[512], state[32], sid[PATROL_ID_MAX];
    int found;
} mfind;

static int mfind_cb(void *ud, const patrol_matter_view *m)
{
    mfind *f = ud;
    if (strcmp(m->id, f->id) != 0)
        return 0;
    snprintf(f->subject_name, sizeof f->subject_name, "%s", m->subject_name);
    snprintf(f->domain, sizeof f->domain, "%s", m->domain);
    snprintf(f->summary, sizeof f->summary, "%s", m->summary);
    snprintf(f->state, sizeof f->state, "%s", m->state);
    snprintf(f->sid, sizeof f->sid, "%s", m->subject);
    f->found = 1;
    return 1;
}

typedef struct tl {
    ubuf *b;
    const char *matter;
} tl;

static const char *conf_label(patrol_conf c)
{
    switch (c) {
    case PATROL_CONF_STATE_SECRET: return _("state secret");
    case PATROL_CONF_TRADE_SECRET: return _("trade secret");
    case PATROL_CONF_PERSONAL_PRIVACY: return _("personal privacy");
    default: return NULL;
    }
}

/* The help of a kind's field (its label on the form), or the name. */
static const char *field_label(const char *kind, const char *name)
{
    patrol_field_info fi;
    for (size_t i = 0; patrol_kind_field(kind, i, &fi) == PATROL_OK; i++)
        if (strcmp(fi.name, name) == 0)
            return ui_tr(fi.help);
    return name;
}

static int timeline_cb(void *ud, const patrol_entry_view *e)
{
    tl *t = ud;
    ubuf *b = t->b;
    char when[32];
    ui_beijing(e->wall_ms, when, sizeof when);
    h(b, "<li class=\"ev\" id=\"e%U\"><div class=\"when\">%t · #%U</div><b>%t</b>", e->seq,
      when, e->seq, ui_tr(patrol_kind_label(e->kind)));
    if (strcmp(e->object, e->matter) != 0)
        h(b, " <small>%t</small>", e->object);
    ub_puts(b, "<dl>");
    for (size_t i = 0; i < e->n_fields; i++) {
        const char *v = e->fields[i].value;
        const char *cl = conf_label(e->fields[i].conf);
        const char *lab = patrol_choice_label(v);
        if (strcmp(e->fields[i].name, "sha256") == 0 || strcmp(e->fields[i].name, "subject") == 0)
            continue;
        if (strcmp(e->fields[i].name, "signature_image") == 0) {
            /* The signature as it was drawn, from the stored evidence. */
            h(b, "<dt>%t</dt><dd><img class=\"sig\" src=\"/evidence/file?sha=%u\" alt=\"%a\">"
                 "<br><small>%t</small></dd>",
              field_label(e->kind, e->fields[i].name), v, _("Signature"), v);
            continue;
        }
        h(b, "<dt>%t</dt><dd>%t", field_label(e->kind, e->fields[i].name),
          strcmp(v, "yes") == 0 ? _("yes") : lab ? ui_tr(lab) : v);
        if (cl)
            h(b, " <span class=\"conf\">（%t）</span>", cl);
        ub_puts(b, "</dd>");
    }
    ub_puts(b, "</dl>");
    if (e->location) {
        /* Degrees with 7 decimals (h() has no widths: snprintf, then text);
         * the sign apart, for -0.5 degrees. */
        char place[96];
        long long la = e->location->lat_e7, lo = e->location->lon_e7;
        snprintf(place, sizeof place, "%s%lld.%07lld, %s%lld.%07lld ±%um", la < 0 ? "-" : "",
                 llabs(la) / 10000000, llabs(la) % 10000000, lo < 0 ? "-" : "",
                 llabs(lo) / 10000000, llabs(lo) % 10000000,
                 (unsigned)e->location->accuracy_m);
        h(b, "<small>%t %t</small><br>", _("Place:"), place);
    }
    if (strcmp(e->kind, "document.issue") == 0)
        h(b, "<a href=\"/document?seq=%U&amp;matter=%u\">%t</a> ", e->seq, t->matter,
          _("Print preview"));
    if (strcmp(e->kind, "evidence.add") == 0)
        for (size_t i = 0; i < e->n_fields; i++)
            if (strcmp(e->fields[i].name, "sha256") == 0)
                /* The file as stored: a photo or a recording opens in the
                 * browser (not inline here: a page stays light). */
                h(b, "<a class=\"small\" href=\"/evidence/file?sha=%u\">%t</a> ",
                  e->fields[i].value, _("Open the file"));
    if (strcmp(e->kind, "matter.open") != 0)
        h(b, "<a class=\"small\" href=\"/form?kind=correction&amp;target=%u&amp;corrects=%U\">"
             "%t</a>",
          t->matter, e->seq, _("Correct"));
    ub_puts(b, "</li>");
    return 0;
}

typedef struct pend {
    ubuf *b;
    const char *matter;
    int n;
} pend;

static int doc_pending_cb(void *ud, const patrol_document_view *d)
{
    pend *pd = ud;
    if (d->delivered_seq)
        return 0;
    char next[PATROL_ID_MAX + 16];
    pd->n++;
    snprintf(next, sizeof next, "/matter?id=%s", pd->matter);
    h(pd->b, "<a class=\"btn primary\" href=\"/form?kind=document.deliver&amp;target=%u&amp;"
             "next=%u\">%t %t</a>",
      d->id, next, _("Deliver"), d->id);
    return 0;
}

static int revisit_pending_cb(void *ud, const patrol_revisit_view *rv)
{
    pend *pd = ud;
    if (strcmp(rv->matter, pd->matter) != 0 || rv->outcome[0])
        return 0;
    h(pd->b, "<a class=\"btn\" href=\"/form?kind=revisit.outcome&amp;target=%u&amp;"
             "next=%u\">%t %t (%t)</a>",
      rv->id, "/", _("Revisit outcome"), rv->id, rv->due);
    return 0;
}

typedef struct dname {
    const char *code;
    char name[128];
} dname;

static int dname_cb(void *ud, const patrol_domain_view *d)
{
    dname *dn = ud;
    if (strcmp(d->code, dn->code) != 0)
        return 0;
    snprintf(dn->name, sizeof dn->name, "%s", d->name);
    return 1;
}

static void page_matter(ui_req *r, ui_resp *out)
{
    ubuf *b = &out->body;
    mfind f;
    tl t;
    pend pd;
    const char *row;
    memset(&f, 0, sizeof f);
    f.id = ui_arg(r, "id");
    if (!f.id || patrol_matters(ui_g.p, mfind_cb, &f) < 0 || !f.found) {
        ui_error_page(out, 404, N_("No such matter"), N_("This terminal holds no such matter."));
        return;
    }
    ui_page_begin(b, f.subject_name);
    flash(b, r);
    {
        dname dn = {f.domain, ""};
        patrol_domains(ui_g.p, dname_cb, &dn);
        h(b, "<h1>%t</h1><p class=\"tgt\">%t · %t</p><p>%t</p><p class=\"state\">%t</p>",
          f.subject_name, f.id, dn.name[0] ? dn.name : f.domain, f.summary,
          ui_tr(patrol_state_label(f.state)));
    }
    /* What the state machine lets this matter record now. */
    h(b, "<section class=\"acts\"><h2>%t</h2>", _("Record next"));
    memset(&pd, 0, sizeof pd);
    pd.b = b;
    pd.matter = f.id;
    patrol_documents(ui_g.p, f.id, doc_pending_cb, &pd);
    patrol_revisits(ui_g.p, 0, NULL, revisit_pending_cb, &pd);
    for (size_t i = 0; (row = patrol_matter_row(i)); i++) {
        const char *sp = strchr(row, ' ');
        char kind[64];
        if (patrol_matter_allows(f.state, row))
            continue;
        snprintf(kind, sizeof kind, "%.*s", (int)(sp ? (size_t)(sp - row) : strlen(row)), row);
        /* Reached from elsewhere on this page: delivery and revisit
         * outcomes name their document or revisit, corrections an entry. */
        if (strcmp(kind, "matter.open") == 0 || strcmp(kind, "document.deliver") == 0 ||
            strcmp(kind, "revisit.outcome") == 0 || strcmp(kind, "correction") == 0)
            continue;
        if (strcmp(kind, "evidence.add") == 0) {
            h(b, "<a class=\"btn\" href=\"/evidence?matter=%u\">%t</a>", f.id,
              _("Photo, video, recording"));
            continue;
        }
        if (sp) /* a way to close: the outcome chosen */
            h(b, "<a class=\"btn\" href=\"/form?kind=%u&amp;target=%u&amp;f.outcome=%u\">%t：%t"
                 "</a>",
              kind, f.id, sp + 1, ui_tr(patrol_kind_label(kind)),
              ui_tr(patrol_choice_label(sp + 1)));
        else
            h(b, "<a class=\"btn%r\" href=\"/form?kind=%u&amp;target=%u\">%t</a>",
              strcmp(kind, "consent") == 0 && !strcmp(f.state, "opened") ? " primary" : "",
              kind, f.id,
              ui_tr(patrol_kind_label(kind)));
    }
    ub_puts(b, "</section>");
    h(b, "<section><h2>%t</h2><ol class=\"timeline\">", _("Timeline"));
    t.b = b;
    t.matter = f.id;
    patrol_log(ui_g.p, f.id, timeline_cb, &t);
    ub_puts(b, "</ol></section>");
    ui_page_end(b);
}

/* ---- evidence ----------------------------------------------------------- */

static void page_evidence(ui_req *r, ui_resp *out, const char *error)
{
    ubuf *b = &out->body;
    const char *matter = ui_arg(r, "matter");
    patrol_field_info fi;
    size_t k;
    if (!matter || !*matter) {
        ui_error_page(out, 400, N_("No such matter"), N_("This terminal holds no such matter."));
        return;
    }
    ui_page_begin(b, _("Evidence"));
    h(b, "<h1>%t</h1><p class=\"tgt\">%t <a href=\"/matter?id=%u\">%t</a></p>",
      ui_tr(patrol_kind_label("evidence.add")), _("For:"), matter, matter);
    if (error)
        h(b, "<p class=\"err banner\" role=\"alert\">%t%t</p>", _("Not recorded: "), error);
    /* One form per kind of evidence in the table; a file input opens the
     * camera or the recorder on a handheld (capture). */
    for (k = 0; patrol_kind_field("evidence.add", k, &fi) == PATROL_OK; k++)
        if (strcmp(fi.name, "kind") == 0)
            break;
    for (size_t c = 0; fi.choices && fi.choices[c]; c++) {
        const char *v = fi.choices[c];
        const char *accept = strcmp(v, "photo") == 0   ? "image/*"
                             : strcmp(v, "audio") == 0 ? "audio/*"
                             : strcmp(v, "video") == 0 ? "video/*"
                                                       : NULL;
        h(b, "<form method=\"post\" action=\"/evidence\" enctype=\"multipart/form-data\" "
             "class=\"rec ev-%a\" data-field=\"name media_type sha256 size\">"
             "<input type=\"hidden\" name=\"csrf\" value=\"%a\">"
             "<input type=\"hidden\" name=\"matter\" value=\"%a\">"
             "<input type=\"hidden\" name=\"kind\" value=\"%a\"><h2>%t</h2>",
          v, ui_csrf(), matter, v, ui_tr(patrol_choice_label(v)));
        if (accept)
            h(b, "<input type=\"file\" name=\"file\" accept=\"%a\" capture=\"environment\" "
                 "required>",
              accept);
        else
            ub_puts(b, "<input type=\"file\" name=\"file\" required>");
        h(b, "<label>%t <input type=\"text\" name=\"caption\" value=\"\"></label>"
             "<input type=\"hidden\" name=\"lat\" value=\"\"><input type=\"hidden\" name=\"lon\" "
             "value=\"\"><input type=\"hidden\" name=\"acc\" value=\"\"><p class=\"loc\" "
             "data-loc></p><button class=\"btn primary\" type=\"submit\">%t</button></form>",
          field_label("evidence.add", "caption"), _("Add"));
    }
    ui_page_end(b);
}

/* What the first bytes of a file say it is: "image", "audio", "video" or
 * NULL (a document or unknown). Camera and recorder formats of handhelds:
 * JPEG, PNG, WebP, HEIC; WAV, Ogg, AMR, MP3, M4A, 3GP/AAC, WebM; MP4,
 * QuickTime, 3GP, WebM (audio or video: either). */
static const char *sniff(const char *path, int *either)
{
    unsigned char b[16];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    *either = 0;
    if (f)
        fclose(f);
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "image";
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0)
        return memcmp(b + 8, "WEBP", 4) == 0 ? "image" : memcmp(b + 8, "WAVE", 4) == 0 ? "audio" : NULL;
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0) {
        if (memcmp(b + 8, "heic", 4) == 0 || memcmp(b + 8, "heix", 4) == 0 ||
            memcmp(b + 8, "mif1", 4) == 0)
            return "image";
        if (memcmp(b + 8, "M4A", 3) == 0)
            return "audio";
        *either = memcmp(b + 8, "3gp", 3) == 0; /* a recording or a clip */
        return "video";
    }
    if (n >= 4 && memcmp(b, "\x1a\x45\xdf\xa3", 4) == 0) { /* WebM / Matroska */
        *either = 1;
        return "video";
    }
    if ((n >= 4 && memcmp(b, "OggS", 4) == 0) || (n >= 6 && memcmp(b, "#!AMR", 5) == 0) ||
        (n >= 3 && memcmp(b, "ID3", 3) == 0) || (n >= 2 && b[0] == 0xff && (b[1] & 0xe0) == 0xe0))
        return "audio";
    return NULL;
}

static void post_evidence(ui_req *r, ui_resp *out)
{
    const char *matter = ui_arg(r, "matter"), *kind = ui_arg(r, "kind");
    const char *caption = ui_arg(r, "caption");
    const char *la = ui_arg(r, "lat"), *lo = ui_arg(r, "lon"), *ac = ui_arg(r, "acc");
    patrol_location loc, *lp = NULL;
    patrol_saved s;
    int err;
    if (!r->file_path[0] || r->file_size == 0) {
        page_evidence(r, out, _("no file was received (or it was empty)"));
        out->status = 422;
        return;
    }
    /* A camera file must be what its form says: a photo an image, a
     * recording audio, a video a video (their first bytes, not the
     * browser's claim). */
    if (kind && (strcmp(kind, "photo") == 0 || strcmp(kind, "audio") == 0 ||
                 strcmp(kind, "video") == 0)) {
        int either;
        const char *is = sniff(r->file_path, &either);
        const char *want = strcmp(kind, "photo") == 0 ? "image" : kind;
        int ok = is && (strcmp(is, want) == 0 ||
                        (either && strcmp(want, "image") != 0));
        if (!ok) {
            char msg[256];
            snprintf(msg, sizeof msg, _("the file is not a %s (its content: %s)"),
                     ui_tr(patrol_choice_label(kind)),
                     !is ? _("unknown or a document")
                         : strcmp(is, "image") == 0 ? ui_tr(patrol_choice_label("photo"))
                                                    : ui_tr(patrol_choice_label(is)));
            page_evidence(r, out, msg);
            out->status = 422;
            return;
        }
    }
    if (la && *la && lo && *lo) {
        char *e1, *e2, *e3 = (char *)"";
        double lat = strtod(la, &e1), lon = strtod(lo, &e2), acc = 0;
        if (ac && *ac)
            acc = strtod(ac, &e3);
        if (!*e1 && !*e2 && !*e3 && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 &&
            acc >= 0 && acc <= 1e6) {
            loc.lat_e7 = (int64_t)(lat * 1e7 + (lat < 0 ? -0.5 : 0.5));
            loc.lon_e7 = (int64_t)(lon * 1e7 + (lon < 0 ? -0.5 : 0.5));
            loc.accuracy_m = (uint32_t)(acc + 0.5);
            lp = &loc;
        }
    }
    /* The media type is the library's guess from the file's first bytes,
     * not the browser's claim. */
    err = patrol_evidence_add(ui_g.p, matter, kind, r->file_path, NULL,
                              caption && *caption ? caption : NULL, lp, &s);
    if (err) {
        const char *msg = patrol_errmsg(ui_g.p);
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", msg && *msg ? msg : patrol_strerror(err));
        page_evidence(r, out, copy);
        out->status = 422;
        return;
    }
    {
        ubuf b;
        ub_init(&b);
        h(&b, "/matter?id=%u&ok=%U", matter, s.seq);
        snprintf(out->location, sizeof out->location, "%s", b.p && !b.oom ? b.p : "/");
        ub_free(&b);
    }
}

/* GET /evidence/file?sha=HEX: a stored evidence file (a signature's image
 * on the timeline), read through the library. */
static void evidence_file(ui_req *r, ui_resp *out)
{
    const char *sha = ui_arg(r, "sha");
    int fd = -1;
    if (!sha || patrol_evidence_open(ui_g.p, sha, &fd, &out->file_size, out->file_type,
                                     sizeof out->file_type) != PATROL_OK) {
        ui_error_page(out, 404, N_("Not found"), N_("This terminal holds no such evidence."));
        return;
    }
    out->has_file = 1;
    out->file_fd = fd;
}

/* ---- documents ---------------------------------------------------------- */

typedef struct subjname {
    const char *id;
    char name[256];
} subjname;

static int subjname_cb(void *ud, const patrol_subject_view *sv)
{
    subjname *sn = ud;
    if (strcmp(sv->id, sn->id) != 0)
        return 0;
    snprintf(sn->name, sizeof sn->name, "%s", sv->name);
    return 1;
}

typedef struct docfind {
    uint64_t seq;
    ubuf *b;
    int found;
    char matter[PATROL_ID_MAX];
} docfind;

static int doc_entry_cb(void *ud, const patrol_entry_view *e)
{
    docfind *d = ud;
    char when[32];
    if (e->seq != d->seq || strcmp(e->kind, "document.issue") != 0)
        return 0;
    d->found = 1;
    snprintf(d->matter, sizeof d->matter, "%s", e->matter);
    ui_beijing(e->wall_ms, when, sizeof when);
    h(d->b, "<article class=\"doc\"><h1>%t</h1><p class=\"docno\">", _("Flexible enforcement opinion"));
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i].name, "doc_no") == 0)
            h(d->b, "%t", e->fields[i].value);
    h(d->b, "</p><dl>");
    /* In the order 二(三)2 names them: purpose, content, time, subject,
     * implementing personnel. */
    {
        static const char *const order[] = {"purpose", "content", "time", "subject",
                                            "personnel"};
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
            for (size_t i = 0; i < e->n_fields; i++) {
                subjname sn = {e->fields[i].value, ""};
                if (strcmp(e->fields[i].name, order[k]) != 0)
                    continue;
                if (strcmp(order[k], "subject") == 0) {
                    patrol_subjects(ui_g.p, subjname_cb, &sn);
                    h(d->b, "<dt>%t</dt><dd>%t</dd>", _("Subject"),
                      sn.name[0] ? sn.name : e->fields[i].value);
                    continue;
                }
                h(d->b, "<dt>%t</dt><dd>%t</dd>", field_label(e->kind, e->fields[i].name),
                  e->fields[i].value);
            }
    }
    h(d->b, "</dl><p class=\"sig\">%t %t</p></article>", _("Issued (Beijing time):"), when);
    return 1;
}

typedef struct docid {
    const char *want;
    uint64_t seq;
    char matter[PATROL_ID_MAX];
} docid;

static int docid_cb(void *ud, const patrol_document_view *d)
{
    docid *x = ud;
    if (strcmp(d->id, x->want) != 0)
        return 0;
    x->seq = d->issued_seq;
    snprintf(x->matter, sizeof x->matter, "%s", d->matter);
    return 1;
}

static void page_document(ui_req *r, ui_resp *out)
{
    ubuf *b = &out->body;
    const char *id = ui_arg(r, "id"), *seq_s = ui_arg(r, "seq");
    docfind d;
    docid x;
    memset(&d, 0, sizeof d);
    memset(&x, 0, sizeof x);
    if (id) {
        x.want = id;
        patrol_documents(ui_g.p, NULL, docid_cb, &x);
        d.seq = x.seq;
    } else if (seq_s) {
        d.seq = strtoull(seq_s, NULL, 10);
    }
    ui_page_begin(b, _("Print preview"));
    flash(b, r);
    d.b = b;
    if (!d.seq || patrol_log(ui_g.p, NULL, doc_entry_cb, &d) < 0 || !d.found) {
        ub_free(b);
        ui_error_page(out, 404, N_("No such document"), N_("This terminal holds no such document."));
        return;
    }
    h(b, "<nav class=\"noprint\"><button class=\"btn\" type=\"button\" data-print>%t</button>",
      _("Print"));
    h(b, "<a class=\"btn\" href=\"/matter?id=%u\">%t</a></nav>", d.matter, _("Back to the matter"));
    ui_page_end(b);
}

/* ---- department acts, all forms ------------------------------------------ */

static void page_kinds(ui_req *r, ui_resp *out, int acts_only)
{
    ubuf *b = &out->body;
    const char *k;
    (void)r;
    ui_page_begin(b, acts_only ? _("Department acts") : _("All forms"));
    h(b, "<h1>%t</h1><ul class=\"list\">", acts_only ? _("Department acts") : _("All forms"));
    for (size_t i = 0; (k = patrol_kind_name(i)); i++) {
        const char *t = patrol_kind_target(k);
        if (acts_only && strcmp(t, "act") != 0)
            continue;
        h(b, "<li><a class=\"row\" href=\"/form?kind=%u\"><b>%t</b><br><small>%t</small></a></li>",
          k, ui_tr(patrol_kind_label(k)), ui_tr(patrol_kind_help(k)));
    }
    ub_puts(b, "</ul>");
    if (!acts_only)
        link_btn(b, "", "/form?kind=inspector.add", _("Add an inspector"));
    ui_page_end(b);
}

/* ---- verify ------------------------------------------------------------- */

typedef struct vprob {
    ubuf *b;
    int n;
} vprob;

static void problem_cb(void *ud, uint64_t seq, const char *evidence, const char *what)
{
    vprob *v = ud;
    if (v->n++ < 50)
        h(v->b, "<li>#%U %t %t</li>", seq, evidence ? evidence : "", what);
}

static void page_verify(ui_req *r, ui_resp *out)
{
    ubuf *b = &out->body;
    patrol_verify_stats st;
    vprob v = {b, 0};
    int err;
    (void)r;
    ui_page_begin(b, _("Verify"));
    h(b, "<h1>%t</h1><ul class=\"problems\">", _("Verify"));
    memset(&st, 0, sizeof st);
    err = patrol_verify(ui_g.p, problem_cb, &v, &st);
    ub_puts(b, "</ul>");
    if (err == PATROL_OK)
        h(b, "<p class=\"ok\" role=\"status\">%t</p>",
          _("The record is intact: every hash, link and signature checks."));
    else
        h(b, "<p class=\"err banner\" role=\"alert\">%t</p>", patrol_strerror(err));
    h(b, "<dl><dt>%t</dt><dd>%U</dd><dt>%t</dt><dd>%U</dd><dt>%t</dt><dd>%U</dd></dl>",
      _("entries"), st.entries, _("evidence files"), st.evidence_files, _("problems"),
      st.problems);
    ui_page_end(b);
}

/* ---- routing ------------------------------------------------------------ */

void ui_route(ui_req *r, ui_resp *out)
{
    const char *p = r->path;
    int post = strcmp(r->method, "POST") == 0;
    if (strcmp(p, "/") == 0 && !post)
        ui_home(r, out);
    else if (strcmp(p, "/shift") == 0 && !post)
        page_shift(r, out);
    else if (strcmp(p, "/subjects") == 0 && !post)
        page_subjects(r, out);
    else if (strcmp(p, "/matter") == 0 && !post)
        page_matter(r, out);
    else if (strcmp(p, "/form") == 0 && !post) {
        const char *kind = ui_arg(r, "kind");
        ui_form_page(r, out, kind ? kind : "", NULL);
    } else if (strcmp(p, "/record") == 0 && post)
        ui_record_post(r, out);
    else if (strcmp(p, "/evidence/file") == 0 && !post)
        evidence_file(r, out);
    else if (strcmp(p, "/evidence") == 0)
        post ? post_evidence(r, out) : page_evidence(r, out, NULL);
    else if (strcmp(p, "/document") == 0 && !post)
        page_document(r, out);
    else if (strcmp(p, "/kinds") == 0 && !post)
        page_kinds(r, out, 0);
    else if (strcmp(p, "/acts") == 0 && !post)
        page_kinds(r, out, 1);
    else if (strcmp(p, "/sync") == 0)
        ui_sync_page(r, out);
    else if (strcmp(p, "/verify") == 0 && !post)
        page_verify(r, out);
    else
        ui_error_page(out, 404, N_("Not found"), N_("No such page."));
}
