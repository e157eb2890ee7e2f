/* form.c -- the forms of patrol ui, generated from the record's rules
 * table through the public API (patrol_kind_field): one form per kind,
 * every field the user types, its help as the label, choices with their
 * labels, required marks, conditions as boxes to tick, dates, the
 * confidentiality mark; and the POST that records one entry. A refusal
 * re-shows the form with the library's message beside the field it names
 * and the values given; nothing is recorded. Prefix form_ (and ui_form_*,
 * ui_record_post, ui_on_duty). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

#define MAX_INSP 8

/* ---- who is on duty: the last shift.start not followed by shift.end ---- */

typedef struct duty {
    char ids[MAX_INSP][PATROL_ID_MAX];
    size_t n;
    char shift[PATROL_ID_MAX];
} duty;

static int duty_cb(void *ud, const patrol_entry_view *e)
{
    duty *d = ud;
    if (strcmp(e->kind, "shift.start") == 0) {
        d->n = 0;
        for (size_t i = 0; i < e->n_inspectors && d->n < MAX_INSP; i++)
            snprintf(d->ids[d->n++], PATROL_ID_MAX, "%s", e->inspectors[i]);
        snprintf(d->shift, sizeof d->shift, "%s", e->object);
    } else if (strcmp(e->kind, "shift.end") == 0) {
        d->n = 0;
        d->shift[0] = '\0';
    }
    return 0;
}

size_t ui_on_duty(char ids[][PATROL_ID_MAX], size_t max, char *shift, size_t shift_len)
{
    duty d;
    size_t n;
    memset(&d, 0, sizeof d);
    patrol_log(ui_g.p, NULL, duty_cb, &d);
    n = d.n < max ? d.n : max;
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], d.ids[i], PATROL_ID_MAX);
    if (shift)
        snprintf(shift, shift_len, "%s", d.shift);
    return n;
}

/* ---- pickers from the reference data ----------------------------------- */

typedef struct pick {
    ubuf *b;
    const char *value; /* the value to select */
    int any;           /* domains: 1 if the department holds some */
    char held[1024];   /* ",code,code," of the domains offered */
} pick;

static void option(ubuf *b, const char *value, const char *label, const char *selected)
{
    h(b, "<option value=\"%a\"%r>%t</option>", value,
      selected && strcmp(selected, value) == 0 ? " selected" : "", label);
}

static int domain_held_cb(void *ud, const patrol_domain_view *d)
{
    pick *pk = ud;
    if (d->held && d->flexible) {
        size_t n = strlen(pk->held);
        pk->any = 1;
        snprintf(pk->held + n, sizeof pk->held - n, "%s%s,", n ? "" : ",", d->code);
    }
    return 0;
}

static int domain_cb(void *ud, const patrol_domain_view *d)
{
    pick *pk = ud;
    /* The department's own flexible domains (all flexible ones if the
     * reference data gives it none); excluded domains are never offered. */
    if (d->flexible && (d->held || !pk->any))
        option(pk->b, d->code, d->name, pk->value);
    return 0;
}

/* A list item of a domain the department holds (any, if it holds none). */
static int item_offered(const pick *pk, const char *domain)
{
    char key[80];
    snprintf(key, sizeof key, ",%s,", domain);
    return !pk->any || strstr(pk->held, key) != NULL;
}

static int item_cb(void *ud, const patrol_list_item_view *it)
{
    pick *pk = ud;
    char label[600];
    if (!item_offered(pk, it->domain))
        return 0;
    snprintf(label, sizeof label, "%s %s（%s）", it->code, it->name,
             ui_tr(patrol_choice_label(it->list_type)));
    option(pk->b, it->code, label, pk->value);
    return 0;
}

static int item_cond_cb(void *ud, const patrol_list_item_view *it)
{
    pick *pk = ud;
    if (!item_offered(pk, it->domain))
        return 0;
    h(pk->b, "<li><b>%t %t</b>", it->code, it->name);
    if (it->basis[0])
        h(pk->b, "<br><small>%t%t</small>", _("Legal basis: "), it->basis);
    if (it->conditions[0]) {
        const char *s = it->conditions;
        ub_puts(pk->b, "<ul>");
        while (*s) {
            size_t n = strcspn(s, "\n");
            char line[512];
            snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), s);
            h(pk->b, "<li>%t</li>", line);
            s += n + (s[n] == '\n');
        }
        ub_puts(pk->b, "</ul>");
    }
    ub_puts(pk->b, "</li>");
    return 0;
}

static int subject_cb(void *ud, const patrol_subject_view *s)
{
    pick *pk = ud;
    char label[400];
    snprintf(label, sizeof label, "%s %s", s->name, s->credit_code[0] ? s->credit_code : s->id);
    option(pk->b, s->id, label, pk->value);
    return 0;
}

static int leaflet_cb(void *ud, const patrol_leaflet_view *l)
{
    pick *pk = ud;
    char label[400];
    snprintf(label, sizeof label, "%s %s", l->code, l->title);
    option(pk->b, l->code, label, pk->value);
    return 0;
}

typedef struct insp_pick {
    ubuf *b;
    char on[MAX_INSP][PATROL_ID_MAX];
    size_t n_on;
    const ui_req *r; /* values given, on a refusal */
} insp_pick;

static int insp_given(const ui_req *r, const char *id)
{
    for (size_t i = 0; r && i < r->n_fields; i++)
        if (strcmp(r->fields[i].name, "insp") == 0 && strcmp(r->fields[i].value, id) == 0)
            return 1;
    return 0;
}

static int insp_cb(void *ud, const patrol_inspector_view *iv)
{
    insp_pick *ip = ud;
    int on = 0;
    if (ip->r && strcmp(ip->r->method, "POST") == 0) {
        on = insp_given(ip->r, iv->id);
    } else {
        for (size_t i = 0; i < ip->n_on; i++)
            on |= strcmp(ip->on[i], iv->id) == 0;
    }
    h(ip->b, "<label class=\"chk\"><input type=\"checkbox\" name=\"insp\" value=\"%a\"%r> "
             "%t <small>%t %t</small></label>",
      iv->id, on ? " checked" : "", iv->name, _("certificate"), iv->cert_no);
    return 0;
}

/* ---- one field --------------------------------------------------------- */

/* Where the library's message names a field first: the field's name as a
 * whole word ("deadline: ...", "... field deadline ..."); -1 if nowhere. */
static long name_pos(const char *msg, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = msg; msg && (s = strstr(s, name)); s += n) {
        int before = s == msg || !(s[-1] == '_' || s[-1] == '-' || (s[-1] >= 'a' && s[-1] <= 'z'));
        int after = !(s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z'));
        if (before && after)
            return (long)(s - msg);
    }
    return -1;
}

/* The field of kind the message is about: the one it names first. */
static const char *error_field(const char *kind, const char *msg)
{
    patrol_field_info fi;
    const char *best = NULL;
    long at = -1;
    for (size_t i = 0; msg && patrol_kind_field(kind, i, &fi) == PATROL_OK; i++) {
        long p = name_pos(msg, fi.name);
        if (p >= 0 && (at < 0 || p < at)) {
            at = p;
            best = fi.name;
        }
    }
    return best;
}

static const char *given(const ui_req *r, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "f.%s", name);
    return ui_arg(r, key);
}

static void field_choice(ubuf *b, const patrol_field_info *fi, const char *id, const char *val)
{
    size_t n = 0;
    while (fi->choices[n])
        n++;
    if (n <= 6) { /* big radio buttons: one tap each */
        ub_puts(b, "<div class=\"radios\">");
        if (!fi->required)
            h(b, "<label class=\"chk\"><input type=\"radio\" name=\"f.%a\" value=\"\"%r> "
                 "%t</label>",
              fi->name, !val || !*val ? " checked" : "", _("(none)"));
        for (size_t c = 0; c < n; c++)
            h(b, "<label class=\"chk\"><input type=\"radio\" name=\"f.%a\" value=\"%a\"%r%r> "
                 "%t</label>",
              fi->name, fi->choices[c], val && strcmp(val, fi->choices[c]) == 0 ? " checked" : "",
              fi->required ? " required" : "", ui_tr(patrol_choice_label(fi->choices[c])));
        ub_puts(b, "</div>");
        return;
    }
    h(b, "<select id=\"%a\" name=\"f.%a\"%r>", id, fi->name, fi->required ? " required" : "");
    if (!fi->required || !val)
        option(b, "", _("(choose)"), val);
    for (size_t c = 0; c < n; c++)
        option(b, fi->choices[c], ui_tr(patrol_choice_label(fi->choices[c])), val);
    ub_puts(b, "</select>");
}

static void field_input(ubuf *b, const char *kind, const patrol_field_info *fi, const char *val,
                        const ui_req *r)
{
    char id[80];
    const char *t = fi->type ? fi->type : "line";
    /* A leaflet's title comes from the catalogue when one is chosen
     * (ui_record_post): not required of the browser then. */
    int req_html = fi->required && !(strcmp(kind, "leaflet") == 0 && strcmp(fi->name, "title") == 0);
    const char *req = req_html ? " required" : "";
    pick pk;
    memset(&pk, 0, sizeof pk);
    pk.b = b;
    pk.value = val;
    snprintf(id, sizeof id, "f-%s", fi->name);

    /* Reference data first: these fields name something the terminal holds. */
    if (strcmp(fi->name, "domain") == 0) {
        h(b, "<select id=\"%a\" name=\"f.domain\"%r>", id, req);
        option(b, "", _("(choose)"), val);
        patrol_domains(ui_g.p, domain_held_cb, &pk);
        patrol_domains(ui_g.p, domain_cb, &pk);
        ub_puts(b, "</select>");
        return;
    }
    if (strcmp(fi->name, "list_item") == 0) {
        patrol_domains(ui_g.p, domain_held_cb, &pk);
        h(b, "<select id=\"%a\" name=\"f.list_item\"%r>", id, req);
        option(b, "", _("(no list item)"), val);
        patrol_list_items(ui_g.p, item_cb, &pk);
        h(b, "</select><details class=\"conds\"><summary>%t</summary><ul>",
          _("Conditions of the list items, to read to the subject"));
        patrol_list_items(ui_g.p, item_cond_cb, &pk);
        ub_puts(b, "</ul></details>");
        return;
    }
    if (strcmp(fi->name, "subject") == 0 && strcmp(kind, "matter.open") == 0) {
        h(b, "<select id=\"%a\" name=\"f.subject\"%r>", id, req);
        option(b, "", _("(choose)"), val);
        patrol_subjects(ui_g.p, subject_cb, &pk);
        ub_puts(b, "</select>");
        return;
    }
    if (strcmp(fi->name, "code") == 0 && strcmp(kind, "leaflet") == 0) {
        h(b, "<select id=\"%a\" name=\"f.code\">", id);
        option(b, "", _("(not from the catalogue)"), val);
        patrol_leaflets(ui_g.p, leaflet_cb, &pk);
        ub_puts(b, "</select>");
        return;
    }
    if (fi->choices) {
        field_choice(b, fi, id, val);
        return;
    }
    if (strcmp(t, "text") == 0) {
        h(b, "<textarea id=\"%a\" name=\"f.%a\" rows=\"3\"%r>%t</textarea>", id, fi->name, req,
          val);
    } else if (strcmp(t, "yes/no") == 0 || strcmp(t, "yes") == 0) {
        /* A condition ("yes") the law requires is a box to tick. */
        h(b, "<label class=\"chk\"><input type=\"checkbox\" id=\"%a\" name=\"f.%a\" "
             "value=\"yes\"%r%r> %t</label>",
          id, fi->name, val && strcmp(val, "yes") == 0 ? " checked" : "", req,
          ui_tr(fi->help));
    } else if (strcmp(t, "YYYY-MM-DD") == 0) {
        h(b, "<input type=\"date\" id=\"%a\" name=\"f.%a\" value=\"%a\"%r>", id, fi->name, val,
          req);
    } else if (strcmp(t, "count") == 0 || strcmp(t, "bytes") == 0) {
        h(b, "<input type=\"number\" inputmode=\"numeric\" min=\"%r\" id=\"%a\" name=\"f.%a\" "
             "value=\"%a\"%r>",
          strcmp(t, "count") == 0 ? "1" : "0", id, fi->name, val, req);
    } else if (strcmp(t, "credit code") == 0) {
        /* The check character is validated as typed by app.js (GB 32100),
         * and by the library when recorded. */
        h(b, "<input type=\"text\" id=\"%a\" name=\"f.%a\" value=\"%a\" maxlength=\"18\" "
             "autocapitalize=\"characters\" data-check=\"credit\" "
             "data-msg=\"%a\"%r><small class=\"live\" data-for=\"%a\"></small>",
          id, fi->name, val, _("the check character (last) does not match: a typing mistake?"),
          req, id);
    } else if (strcmp(t, "id number") == 0) {
        h(b, "<input type=\"text\" id=\"%a\" name=\"f.%a\" value=\"%a\" maxlength=\"18\" "
             "autocomplete=\"off\"%r>",
          id, fi->name, val, req);
    } else {
        h(b, "<input type=\"text\" id=\"%a\" name=\"f.%a\" value=\"%a\"%r>", id, fi->name, val,
          req);
    }
    (void)r;
}

/* Text fields may carry a confidentiality mark (一(三)5). */
static void field_conf(ubuf *b, const patrol_field_info *fi, const ui_req *r)
{
    static const char *const codes[] = {"", "state", "trade", "privacy"};
    /* The first is no mark from the form: the rules' own default (an
     * identity number is personal privacy unless marked otherwise). */
    static const char *const labels[] = {N_("confidentiality: default"), N_("state secret"),
                                         N_("trade secret"), N_("personal privacy")};
    char key[64];
    const char *v;
    const char *t = fi->type ? fi->type : "";
    if (strcmp(t, "text") != 0 && strcmp(t, "line") != 0 && strcmp(t, "id number") != 0)
        return;
    snprintf(key, sizeof key, "c.%s", fi->name);
    v = ui_arg(r, key);
    h(b, "<select class=\"conf\" name=\"%a\" aria-label=\"%a\">", key, _("confidentiality"));
    for (size_t i = 0; i < 4; i++)
        option(b, codes[i], _(labels[i]), v ? v : "");
    ub_puts(b, "</select>");
}

/* The form's fields, from the table. Public for the "every kind has a
 * form" check through /form. */
static void form_fields(ubuf *b, const char *kind, const ui_req *r, const char *error,
                        int refill)
{
    patrol_field_info fi;
    const char *err_field = error_field(kind, error);
    /* Required fields first, then the optional ones, each in the table's
     * order. */
    for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; patrol_kind_field(kind, i, &fi) == PATROL_OK; i++) {
        const char *val;
        int boxed;
        if (fi.automatic || (pass == 0) != (fi.required != 0))
            continue;
        val = given(r, fi.name);
        if (!refill && !val)
            val = NULL;
        if (strncmp(fi.name, "signature", 9) == 0) {
            /* signature and signature_image: the hashes of what is drawn
             * on the pad, filled in when it is imported. */
            if (strcmp(fi.name, "signature") == 0) {
                ui_sign_pad(b);
                if (err_field && strncmp(err_field, "signature", 9) == 0)
                    h(b, "<p class=\"err\" role=\"alert\">%t</p>", error);
            }
            continue;
        }
        boxed = fi.type && (strcmp(fi.type, "yes/no") == 0 || strcmp(fi.type, "yes") == 0);
        h(b, "<div class=\"f\" data-field=\"%a\">", fi.name);
        if (!boxed)
            h(b, "<label for=\"f-%a\">%t%r</label>", fi.name, ui_tr(fi.help),
              fi.required ? " <span class=\"req\">*</span>" : "");
        field_input(b, kind, &fi, val, r);
        field_conf(b, &fi, r);
        if (err_field && strcmp(err_field, fi.name) == 0)
            h(b, "<p class=\"err\" role=\"alert\">%t</p>", error);
        ub_puts(b, "</div>");
    }
}

/* ---- the page ---------------------------------------------------------- */

static const char *const consent_notice =
    N_("Tell the subject, before it answers: this matter may be handled by flexible "
       "enforcement (guidance, suggestion, reminder, warning, interview, publicity, revisit) "
       "instead of a penalty. The subject may choose: it may accept, refuse, or later ask to "
       "stop; a refusal is recorded and the matter goes on by the ordinary procedure. Show the "
       "enforcement certificates of both officers.");

void ui_form_page(ui_req *r, ui_resp *out, const char *kind, const char *error)
{
    ubuf *b = &out->body;
    const char *target = ui_arg(r, "target");
    const char *scope = patrol_kind_target(kind);
    const char *label = patrol_kind_label(kind);
    const char *next = ui_arg(r, "next");
    char title[256];

    if (!scope) {
        ui_error_page(out, 404, N_("No such form"), N_("The record has no kind of that name."));
        return;
    }
    if (strcmp(kind, "evidence.add") == 0) {
        /* Evidence is a file: its form is the upload page, where the file
         * gives name, media type, SHA-256 and size. */
        ubuf u;
        ub_init(&u);
        h(&u, "/evidence?matter=%u", target);
        snprintf(out->location, sizeof out->location, "%s", u.p && !u.oom ? u.p : "/");
        ub_free(&u);
        return;
    }
    snprintf(title, sizeof title, "%s", ui_tr(label));
    ui_page_begin(b, title);
    h(b, "<h1>%t</h1><p class=\"help\">%t</p>", title, ui_tr(patrol_kind_help(kind)));
    if (error)
        h(b, "<p class=\"err banner\" role=\"alert\">%t%t</p>", _("Not recorded: "), error);
    if (strcmp(kind, "consent") == 0)
        h(b, "<div class=\"notice\"><h2>%t</h2><p>%t</p></div>", _("Read to the subject"),
          _(consent_notice));
    /* A kind someone signs (a delivery, consent, interview minutes) has
     * the signature pad and, for a refusal to sign, a photo or video:
     * multipart. */
    h(b, "<form method=\"post\" action=\"/record\" class=\"rec\"%r>",
      ui_kind_signed(kind) ? " enctype=\"multipart/form-data\"" : "");
    h(b, 
         "<input type=\"hidden\" name=\"csrf\" value=\"%a\">"
         "<input type=\"hidden\" name=\"kind\" value=\"%a\">",
      ui_csrf(), kind);
    if (ui_local_path(next))
        h(b, "<input type=\"hidden\" name=\"next\" value=\"%a\">", next);
    if (strcmp(scope, "inspector") == 0) {
        h(b, "<div class=\"f\" data-field=\"target\"><label for=\"target\">%t "
             "<span class=\"req\">*</span></label>"
             "<input type=\"text\" id=\"target\" name=\"target\" value=\"%a\" required></div>",
          _("inspector id (letters, digits, - and _)"), target);
    } else if (strcmp(scope, "matter") == 0 || strcmp(scope, "revisit") == 0 ||
               strcmp(scope, "document") == 0 || strcmp(scope, "entry") == 0) {
        if (target && *target)
            h(b, "<input type=\"hidden\" name=\"target\" value=\"%a\"><p class=\"tgt\">%t "
                 "<b>%t</b></p>",
              target, _("For:"), target);
        else if (strcmp(kind, "matter.open") != 0)
            h(b, "<div class=\"f\"><label for=\"target\">%t <span class=\"req\">*</span>"
                 "</label><input type=\"text\" id=\"target\" name=\"target\" value=\"\" "
                 "required></div>",
              strcmp(scope, "revisit") == 0    ? _("revisit id (R-...)")
              : strcmp(scope, "document") == 0 ? _("document id (D-...)")
                                               : _("matter id (M-...)"));
    }
    if (strcmp(scope, "entry") == 0)
        h(b, "<div class=\"f\" data-field=\"corrects\"><label for=\"corrects\">%t "
             "<span class=\"req\">*</span></label><input type=\"number\" inputmode=\"numeric\" "
             "min=\"1\" id=\"corrects\" name=\"corrects\" value=\"%a\" required></div>",
          _("number of the entry corrected"), ui_arg(r, "corrects"));
    form_fields(b, kind, r, error, 1);
    if (ui_kind_signed(kind))
        h(b, "<div class=\"f\"><label for=\"refusal-file\">%t</label><input type=\"file\" "
             "id=\"refusal-file\" name=\"file\" accept=\"image/*,video/*\" "
             "capture=\"environment\"></div>",
          _("A refusal to sign: photo or video of the scene (with the witness)"));
    /* Who acts: chosen for a matter's opening, a department's act, a
     * shift and an assigned revisit; a matter's later entries take the
     * matter's inspectors. */
    if (strcmp(kind, "matter.open") == 0 || strcmp(scope, "act") == 0 ||
        strcmp(kind, "shift.start") == 0 || strcmp(kind, "revisit.outcome") == 0) {
        insp_pick ip;
        memset(&ip, 0, sizeof ip);
        ip.b = b;
        ip.r = r;
        ip.n_on = ui_on_duty(ip.on, MAX_INSP, NULL, 0);
        h(b, "<fieldset class=\"f\" data-field=\"inspectors\"><legend>%t</legend>",
          strcmp(kind, "matter.open") == 0
              ? _("Inspectors (both showed their certificates and told the subject its rights)")
              : _("Inspectors"));
        patrol_inspectors(ui_g.p, insp_cb, &ip);
        ub_puts(b, "</fieldset>");
    }
    h(b, "<input type=\"hidden\" name=\"lat\" value=\"\"><input type=\"hidden\" name=\"lon\" "
         "value=\"\"><input type=\"hidden\" name=\"acc\" value=\"\">"
         "<p class=\"loc\" data-loc>%t</p>"
         "<button type=\"submit\" class=\"btn primary\">%t</button></form>",
      _("Place: not known (allow location to attach it)"), _("Save"));
    ui_page_end(b);
}

/* ---- recording ---------------------------------------------------------- */

/* "lat", "lon", "acc" from the page's script (degrees, metres); written so
 * that NaN fails. 0: none given, 1: ok, -1: malformed. */
static int parse_loc(const ui_req *r, patrol_location *loc)
{
    const char *la = ui_arg(r, "lat"), *lo = ui_arg(r, "lon"), *ac = ui_arg(r, "acc");
    char *e1, *e2, *e3;
    double lat, lon, acc = 0;
    if (!la || !*la || !lo || !*lo)
        return 0;
    errno = 0;
    lat = strtod(la, &e1);
    lon = strtod(lo, &e2);
    if (ac && *ac)
        acc = strtod(ac, &e3);
    else
        e3 = (char *)"";
    if (errno || *e1 || *e2 || *e3 || !(lat >= -90 && lat <= 90) ||
        !(lon >= -180 && lon <= 180) || !(acc >= 0 && acc <= 1e6))
        return -1;
    loc->lat_e7 = (int64_t)(lat * 1e7 + (lat < 0 ? -0.5 : 0.5));
    loc->lon_e7 = (int64_t)(lon * 1e7 + (lon < 0 ? -0.5 : 0.5));
    loc->accuracy_m = (uint32_t)(acc + 0.5);
    return 1;
}

static patrol_conf conf_of(const char *v)
{
    if (!v)
        return PATROL_CONF_NONE;
    if (strcmp(v, "state") == 0)
        return PATROL_CONF_STATE_SECRET;
    if (strcmp(v, "trade") == 0)
        return PATROL_CONF_TRADE_SECRET;
    if (strcmp(v, "privacy") == 0)
        return PATROL_CONF_PERSONAL_PRIVACY;
    return PATROL_CONF_NONE;
}

typedef struct leaflet_find {
    const char *code;
    char title[256];
} leaflet_find;

static int leaflet_find_cb(void *ud, const patrol_leaflet_view *l)
{
    leaflet_find *f = ud;
    if (strcmp(l->code, f->code) != 0)
        return 0;
    snprintf(f->title, sizeof f->title, "%s", l->title);
    return 1;
}

/* Where to go after a kind is saved. */
static void after(const char *kind, const char *next, const patrol_saved *s, const char *matter,
                  char *out, size_t len)
{
    ubuf b;
    ub_init(&b);
    if (strcmp(kind, "subject.add") == 0)
        h(&b, "/form?kind=matter.open&f.subject=%u&ok=%U", s->id, s->seq);
    else if (strcmp(kind, "matter.open") == 0)
        h(&b, "/matter?id=%u&ok=%U", s->id, s->seq);
    else if (strcmp(kind, "document.issue") == 0)
        h(&b, "/document?id=%u&ok=%U", s->id, s->seq);
    else if (ui_local_path(next))
        h(&b, "%r%rok=%U", next, strchr(next, '?') ? "&" : "?", s->seq);
    else if (matter && *matter)
        h(&b, "/matter?id=%u&ok=%U", matter, s->seq);
    else
        h(&b, "/?ok=%U", s->seq);
    snprintf(out, len, "%s", b.p && !b.oom ? b.p : "/");
    ub_free(&b);
}

void ui_record_post(ui_req *r, ui_resp *out)
{
    const char *kind = ui_arg(r, "kind");
    const char *scope = kind ? patrol_kind_target(kind) : NULL;
    patrol_field fields[UI_FIELDS_MAX];
    const char *insp[MAX_INSP];
    size_t nf = 0, ni = 0;
    patrol_record_in in;
    patrol_location loc;
    patrol_saved s;
    leaflet_find lf;
    patrol_field_info fi;
    const char *corrects_s = ui_arg(r, "corrects");
    int has_loc, err;

    if (!scope) {
        ui_error_page(out, 400, N_("No such form"), N_("The record has no kind of that name."));
        return;
    }
    memset(&in, 0, sizeof in);
    /* The fields the table has for this kind, as given: an empty value is
     * a field left out. */
    for (size_t i = 0; patrol_kind_field(kind, i, &fi) == PATROL_OK && nf < UI_FIELDS_MAX; i++) {
        const char *v = given(r, fi.name);
        char ck[64];
        if (fi.automatic || !v || !*v)
            continue;
        snprintf(ck, sizeof ck, "c.%s", fi.name);
        fields[nf].name = fi.name;
        fields[nf].value = v;
        fields[nf].conf = conf_of(ui_arg(r, ck));
        nf++;
    }
    /* A leaflet from the catalogue needs no title typed. */
    memset(&lf, 0, sizeof lf);
    if (strcmp(kind, "leaflet") == 0 && given(r, "code") && *given(r, "code") &&
        !(given(r, "title") && *given(r, "title")) && nf < UI_FIELDS_MAX) {
        lf.code = given(r, "code");
        if (patrol_leaflets(ui_g.p, leaflet_find_cb, &lf) == 1) {
            fields[nf].name = "title";
            fields[nf].value = lf.title;
            fields[nf].conf = PATROL_CONF_NONE;
            nf++;
        }
    }
    for (size_t i = 0; i < r->n_fields && ni < MAX_INSP; i++)
        if (strcmp(r->fields[i].name, "insp") == 0 && r->fields[i].value[0])
            insp[ni++] = r->fields[i].value;
    has_loc = parse_loc(r, &loc);
    if (has_loc < 0) {
        ui_form_page(r, out, kind, _("the place from the browser is not a valid location"));
        out->status = 422;
        return;
    }
    in.kind = kind;
    in.target = ui_arg(r, "target");
    if (in.target && !*in.target)
        in.target = NULL;
    in.inspectors = ni ? insp : NULL;
    in.n_inspectors = ni;
    in.fields = fields;
    in.n_fields = nf;
    in.location = has_loc ? &loc : NULL;
    if (strcmp(scope, "entry") == 0) {
        char *end;
        errno = 0;
        in.corrects = corrects_s ? strtoull(corrects_s, &end, 10) : 0;
        if (!corrects_s || errno || *end || in.corrects == 0) {
            ui_form_page(r, out, kind, _("give the number of the entry corrected"));
            out->status = 422;
            return;
        }
    }
    if (ui_kind_signed(kind)) {
        /* With the signature's files, together or not at all (sign.c). */
        char why[1024];
        if (ui_sign_record(r, &in, &s, why, sizeof why) != 0) {
            ui_form_page(r, out, kind, why);
            out->status = 422;
            return;
        }
    } else if ((err = patrol_record(ui_g.p, &in, &s)) != PATROL_OK) {
        const char *msg = patrol_errmsg(ui_g.p);
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", msg && *msg ? msg : patrol_strerror(err));
        ui_form_page(r, out, kind, copy);
        out->status = 422;
        return;
    }
    after(kind, ui_arg(r, "next"), &s,
          strcmp(scope, "matter") == 0 || strcmp(scope, "entry") == 0 ? in.target : NULL,
          out->location, sizeof out->location);
}
