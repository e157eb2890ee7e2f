/* record.c -- patrol_record: the rules that need the rest of the record
 * (the matter is open, the subject exists, ...), then one journal entry
 * and its views, in one transaction. Nothing is written when any check
 * fails. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "i18n.h"
#include "rules.h"
#include "validate.h"

static int bind_args(sqlite3_stmt *st, const char *types, va_list ap)
{
    for (int i = 0; types[i]; i++) {
        int rc;
        if (types[i] == 't') {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, i + 1);
        } else {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        }
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

int px_run(patrol *p, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        va_start(ap, types);
        rc = bind_args(st, types, ap);
        va_end(ap);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? PATROL_OK : px_db_fail(p, rc, "writing the store");
}

int px_get_text(patrol *p, char *out, size_t len, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL), err = PATROL_OK;
    if (rc == SQLITE_OK) {
        va_start(ap, types);
        rc = bind_args(st, types, ap);
        va_end(ap);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            snprintf(out, len, "%s", t ? t : "");
        } else if (rc == SQLITE_DONE) {
            err = PATROL_ENOTFOUND;
        } else {
            err = px_db_fail(p, rc, "reading the store");
        }
    } else {
        err = px_db_fail(p, rc, "reading the store");
    }
    sqlite3_finalize(st);
    return err;
}

/* The record being built. */
typedef struct rec {
    const px_kind_rule *rule;
    patrol_field f[PX_ENTRY_MAX_FIELDS];
    size_t nf;
    const char *insp[PX_ENTRY_MAX_INSPECTORS];
    size_t ninsp;
    char insp_buf[PX_ENTRY_MAX_INSPECTORS * (PX_IDENT_MAX + 1)];
    char object[PATROL_ID_MAX];
    char matter[PATROL_ID_MAX];
    char subject[PATROL_ID_MAX];   /* the matter's subject */
    char auto_val[2][PX_LINE_MAX]; /* storage for filled-in values */
    uint64_t seq;                  /* seq this entry will get */
    int foreign;                   /* a revisit of a matter opened elsewhere */
    px_mview view;                 /* the matter's replay (check_entry) */
} rec;

static const char *field(const rec *r, const char *name)
{
    for (size_t i = 0; i < r->nf; i++)
        if (strcmp(r->f[i].name, name) == 0)
            return r->f[i].value;
    return NULL;
}

static int add_auto(rec *r, const char *name, const char *value)
{
    if (r->nf >= PX_ENTRY_MAX_FIELDS)
        return -1;
    r->f[r->nf].name = name;
    r->f[r->nf].value = value;
    r->f[r->nf].conf = PATROL_CONF_NONE;
    r->nf++;
    return 0;
}

static int cmp_field(const void *a, const void *b)
{
    return strcmp(((const patrol_field *)a)->name, ((const patrol_field *)b)->name);
}

/* Fields as given: known to the kind, not automatic, valid, not twice. */
static int take_fields(patrol *p, rec *r, const patrol_record_in *in)
{
    const char *why;
    if (in->n_fields > 0 && !in->fields)
        return px_fail(p, PATROL_EINVAL, _("fields missing"));
    if (in->n_fields > PX_ENTRY_MAX_FIELDS - 2)
        return px_fail(p, PATROL_EINVAL, _("too many fields"));
    for (size_t i = 0; i < in->n_fields; i++) {
        const patrol_field *f = &in->fields[i];
        const px_field_rule *fr;
        if (!f->name || !f->value)
            return px_fail(p, PATROL_EINVAL, _("field %zu has no name or value"), i + 1);
        if (!(fr = px_rules_field(r->rule, f->name)))
            return px_fail(p, PATROL_EINVAL, _("%s has no field '%.64s'"), r->rule->kind, f->name);
        if (fr->flags & PX_AUTO)
            return px_fail(p, PATROL_EINVAL, _("field '%s' is filled in by patrol"), f->name);
        if (field(r, f->name))
            return px_fail(p, PATROL_EINVAL, _("field '%s' given twice"), f->name);
        if ((why = px_rules_check_value(fr, f->value))) {
            char detail[160] = "";
            size_t max = fr->type == PX_F_TEXT ? PX_TEXT_MAX : PX_LINE_MAX;
            if ((fr->type == PX_F_TEXT || fr->type == PX_F_LINE) && strlen(f->value) > max)
                return px_fail(p, PATROL_EINVAL, _("field '%s' is too long: %zu bytes, at most %zu"),
                               f->name, strlen(f->value), max);
            if (fr->type == PX_F_CREDIT)
                px_check_credit_code(f->value, detail, sizeof detail);
            else if (fr->type == PX_F_IDNUM)
                px_check_id_number(f->value, detail, sizeof detail);
            return px_fail(p, PATROL_EINVAL, _("field '%s': %s%s%s"), f->name, _(why),
                           detail[0] ? _(": ") : "", detail);
        }
        if ((int)f->conf < PATROL_CONF_NONE || f->conf > PATROL_CONF_PERSONAL_PRIVACY)
            return px_fail(p, PATROL_EINVAL, _("field '%s': unknown confidentiality mark"), f->name);
        r->f[r->nf] = *f;
        if ((fr->flags & PX_PRIVATE) && f->conf == PATROL_CONF_NONE)
            r->f[r->nf].conf = PATROL_CONF_PERSONAL_PRIVACY;
        r->nf++;
    }
    return PATROL_OK;
}

/* Inspectors acting: given ones must be enrolled; none given takes the
 * matter's (stored comma-separated). */
static int take_inspectors(patrol *p, rec *r, const patrol_record_in *in, const char *matter_insp)
{
    char name[PATROL_ID_MAX];
    size_t off = 0;

    if (in->n_inspectors > PX_ENTRY_MAX_INSPECTORS)
        return px_fail(p, PATROL_EINVAL, _("too many inspectors (at most %d)"),
                       PX_ENTRY_MAX_INSPECTORS);
    if (in->n_inspectors == 0 && matter_insp) {
        const char *s = matter_insp;
        while (*s && r->ninsp < PX_ENTRY_MAX_INSPECTORS) {
            size_t n = strcspn(s, ",");
            if (n > PX_IDENT_MAX)
                return px_fail(p, PATROL_ECORRUPT, _("matter inspector list is damaged"));
            memcpy(r->insp_buf + off, s, n);
            r->insp_buf[off + n] = '\0';
            r->insp[r->ninsp++] = r->insp_buf + off;
            off += n + 1;
            s += n + (s[n] == ',');
        }
        return PATROL_OK;
    }
    for (size_t i = 0; i < in->n_inspectors; i++) {
        const char *id = in->inspectors[i], *why;
        if (!id || (why = px_check_ident(id)))
            return px_fail(p, PATROL_EINVAL, _("inspector id: %s"), id ? _(why) : _("missing"));
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->inspectors[j], id) == 0)
                return px_fail(p, PATROL_EINVAL, _("inspector %s named twice"), id);
        int err = px_get_text(p, name, sizeof name, "SELECT name FROM inspectors WHERE id = ?",
                              "t", id);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ENOTFOUND,
                           "no inspector '%s' on this terminal (add with 'patrol inspector add')",
                           id);
        if (err)
            return err;
        r->insp[r->ninsp++] = id;
    }
    return PATROL_OK;
}

/* The matter must exist here; fills r->matter and r->subject. Whether the
 * entry may come in the matter's state is the state machine's (check). */
static int find_matter(patrol *p, rec *r, const char *id, const patrol_record_in *in)
{
    char insp[PX_ENTRY_MAX_INSPECTORS * (PX_IDENT_MAX + 1)];
    const char *why;
    int err;

    if (!id)
        return px_fail(p, PATROL_EINVAL, _("%s needs a matter id"), r->rule->kind);
    if ((why = px_check_ident(id)))
        return px_fail(p, PATROL_EINVAL, _("matter id: %s"), _(why));
    err = px_get_text(p, r->subject, sizeof r->subject, "SELECT subject FROM matters WHERE id = ?",
                      "t", id);
    if (err == PATROL_ENOTFOUND)
        return px_fail(p, PATROL_ENOTFOUND, _("no matter '%s' on this terminal"), id);
    if (err)
        return err;
    snprintf(r->matter, sizeof r->matter, "%s", id);
    if ((err = px_get_text(p, insp, sizeof insp, "SELECT inspectors FROM matters WHERE id = ?",
                           "t", id)))
        return err;
    return take_inspectors(p, r, in, insp);
}

static int check_subject_unique(patrol *p, const rec *r)
{
    char other[PATROL_ID_MAX];
    const char *code = field(r, "credit_code"), *idn = field(r, "id_number");
    int err;
    if (code) {
        err = px_get_text(p, other, sizeof other, "SELECT id FROM subjects WHERE credit_code = ?",
                          "t", code);
        if (err == PATROL_OK)
            return px_fail(p, PATROL_EEXIST, _("a subject with credit code %s exists already: %s"),
                           code, other);
        if (err != PATROL_ENOTFOUND)
            return err;
    }
    if (idn) {
        err = px_get_text(p, other, sizeof other, "SELECT id FROM subjects WHERE id_number = ?",
                          "t", idn);
        if (err == PATROL_OK)
            return px_fail(p, PATROL_EEXIST,
                           _("a subject with that identity number exists already: %s"), other);
        if (err != PATROL_ENOTFOUND)
            return err;
    }
    if (strcmp(field(r, "type"), "business") == 0 && idn)
        return px_fail(p, PATROL_EINVAL, _("%s"),
                       _("a business is identified by its credit code, not an identity card "
                         "number"));
    if (strcmp(field(r, "type"), "person") == 0 && code)
        return px_fail(p, PATROL_EINVAL, _("%s"),
                       _("a person is identified by an identity card number, not a credit code"));
    return PATROL_OK;
}

/* The list's type and version of a cited item, from the lists on this
 * terminal (an unknown item is the state machine's refusal). */
static int fill_list(patrol *p, rec *r, const char *item)
{
    int err;
    if (!item)
        return PATROL_OK;
    err = px_get_text(p, r->auto_val[0], sizeof r->auto_val[0],
                      "SELECT list_type FROM list_items WHERE code = ?", "t", item);
    if (err == PATROL_ENOTFOUND)
        return px_fail(p, PATROL_ENOTFOUND,
                       _("no three-list item '%s' in the lists on this terminal (see 'patrol "
                         "lists')"),
                       item);
    if (err || (err = px_get_text(p, r->auto_val[1], sizeof r->auto_val[1],
                                  "SELECT list_version FROM list_items WHERE code = ?", "t", item)))
        return err;
    add_auto(r, "list_type", r->auto_val[0]);
    add_auto(r, "list_version", r->auto_val[1]);
    return PATROL_OK;
}

static int check_matter_open(patrol *p, rec *r, const patrol_record_in *in)
{
    int err;
    if ((err = fill_list(p, r, field(r, "list_item"))))
        return err;
    if (in->n_inspectors == 0)
        return px_fail(p, PATROL_EINVAL, _("%s"), _("a matter needs at least one inspector"));
    if ((err = take_inspectors(p, r, in, NULL)))
        return err;
    px_make_id(p, 'M', r->seq, r->object, sizeof r->object);
    snprintf(r->matter, sizeof r->matter, "%s", r->object);
    return PATROL_OK;
}

/* A correction: the entry it names, and for a list item the list's type
 * and version. Whether the corrected record still follows the rules is
 * the state machine's (a replay with the correction in effect). */
static int check_correction(patrol *p, rec *r, const patrol_record_in *in)
{
    sqlite3_stmt *st;
    char ckind[64];
    const px_kind_rule *ck;
    const px_field_rule *cf;
    const char *why, *name = field(r, "field"), *value = field(r, "value");
    int err;

    if (in->corrects == 0 || in->corrects >= r->seq)
        return px_fail(p, PATROL_EINVAL, _("a correction must name an earlier entry (1..%llu)"),
                       (unsigned long long)(r->seq - 1));
    if (sqlite3_prepare_v2(p->db, "SELECT kind, matter FROM journal WHERE seq = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return px_db_fail(p, sqlite3_errcode(p->db), "reading the journal");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)in->corrects);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return px_fail(p, PATROL_ENOTFOUND, _("no entry %llu"), (unsigned long long)in->corrects);
    }
    snprintf(ckind, sizeof ckind, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(r->matter, sizeof r->matter, "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    if (in->target && strcmp(in->target, r->matter) != 0)
        return px_fail(p, PATROL_EINVAL, _("entry %llu does not belong to matter %s"),
                       (unsigned long long)in->corrects, in->target);
    if (strcmp(ckind, "device.init") == 0 || strcmp(ckind, "correction") == 0)
        return px_fail(p, PATROL_EINVAL, _("entry %llu (%s) cannot be corrected"),
                       (unsigned long long)in->corrects, ckind);
    ck = px_rules_find(ckind);
    if (name) {
        if (!ck || !(cf = px_rules_field(ck, name)))
            return px_fail(p, PATROL_EINVAL, _("entry %llu (%s) has no field '%s'"),
                           (unsigned long long)in->corrects, ckind, name);
        if (!value)
            return px_fail(p, PATROL_EINVAL, _("%s"),
                           _("a correction of a field needs its correct value"));
        if ((why = px_rules_check_value(cf, value)))
            return px_fail(p, PATROL_EINVAL, _("value for '%s': %s"), name, _(why));
        if (strcmp(name, "list_item") == 0 && (err = fill_list(p, r, value)))
            return err;
    } else if (value) {
        return px_fail(p, PATROL_EINVAL, _("%s"), _("a corrected value needs the name of its field"));
    }
    if (in->n_inspectors == 0)
        return px_fail(p, PATROL_EINVAL, _("%s"),
                       _("a correction names the inspector who makes it (--inspector)"));
    snprintf(r->object, sizeof r->object, "%s", r->matter[0] ? r->matter : "journal");
    return take_inspectors(p, r, in, NULL);
}

/* Shifts alternate: a start needs no open shift and names who goes on
 * duty; an end closes the open one (its object is that shift's id). */
static int check_shift(patrol *p, rec *r, const patrol_record_in *in)
{
    char last[32] = "", open_id[PATROL_ID_MAX] = "", since[24] = "";
    int err = px_get_text(p, last, sizeof last,
                          "SELECT kind FROM journal WHERE kind IN ('shift.start', 'shift.end')"
                          " ORDER BY seq DESC LIMIT 1", "");
    if (err && err != PATROL_ENOTFOUND)
        return err;
    if (strcmp(last, "shift.start") == 0 &&
        ((err = px_get_text(p, open_id, sizeof open_id,
                            "SELECT object FROM journal WHERE kind = 'shift.start'"
                            " ORDER BY seq DESC LIMIT 1", "")) ||
         (err = px_get_text(p, since, sizeof since,
                            "SELECT seq FROM journal WHERE kind = 'shift.start'"
                            " ORDER BY seq DESC LIMIT 1", ""))))
        return err;
    if (strcmp(r->rule->kind, "shift.start") == 0) {
        if (open_id[0])
            return px_fail(p, PATROL_ESTATE,
                           _("shift %s (entry %s) is still open: end it first (patrol shift end)"),
                           open_id, since);
        if (in->n_inspectors == 0)
            return px_fail(p, PATROL_EINVAL, "%s",
                           _("a shift names the inspectors on duty (--inspector)"));
        px_make_id(p, 'T', r->seq, r->object, sizeof r->object);
        return take_inspectors(p, r, in, NULL);
    }
    if (!open_id[0])
        return px_fail(p, PATROL_ESTATE, "%s", _("no shift is open on this terminal"));
    snprintf(r->object, sizeof r->object, "%s", open_id);
    return take_inspectors(p, r, in, NULL);
}

/* Checks that depend on the store, and the entry's object and matter. */
static int check_in_store(patrol *p, rec *r, const patrol_record_in *in)
{
    const char *kind = r->rule->kind, *why = NULL;
    char buf[PATROL_ID_MAX];
    int err;

    switch (r->rule->scope) {
    case PX_SCOPE_DEVICE:
        return px_fail(p, PATROL_EINVAL, _("%s"), _("device.init is written by 'patrol init' only"));
    case PX_SCOPE_INSPECTOR:
        if (!in->target || (why = px_check_ident(in->target)))
            return px_fail(p, PATROL_EINVAL, _("inspector id: %s"),
                           in->target ? _(why) : _("missing"));
        if (px_get_text(p, buf, sizeof buf, "SELECT id FROM inspectors WHERE id = ?", "t",
                        in->target) == PATROL_OK)
            return px_fail(p, PATROL_EEXIST, _("inspector %s exists already"), in->target);
        if (field(r, "cert_no") &&
            px_get_text(p, buf, sizeof buf, "SELECT id FROM inspectors WHERE cert_no = ?", "t",
                        field(r, "cert_no")) == PATROL_OK)
            return px_fail(p, PATROL_EEXIST, _("certificate %s belongs to inspector %s already"),
                           field(r, "cert_no"), buf);
        snprintf(r->object, sizeof r->object, "%s", in->target);
        return PATROL_OK;
    case PX_SCOPE_SUBJECT:
        if (field(r, "type") && (err = check_subject_unique(p, r)))
            return err;
        px_make_id(p, 'S', r->seq, r->object, sizeof r->object);
        return PATROL_OK;
    case PX_SCOPE_SHIFT:
        return check_shift(p, r, in);
    case PX_SCOPE_ACT:
        if (in->n_inspectors == 0)
            return px_fail(p, PATROL_EINVAL, _("%s"), _("an act needs at least one inspector"));
        px_make_id(p, 'A', r->seq, r->object, sizeof r->object);
        return take_inspectors(p, r, in, NULL);
    case PX_SCOPE_REVISIT: {
        char matter[PATROL_ID_MAX];
        if (!in->target || (why = px_check_ident(in->target)))
            return px_fail(p, PATROL_EINVAL, _("revisit id: %s"),
                           in->target ? _(why) : _("missing"));
        err = px_get_text(p, matter, sizeof matter, "SELECT matter FROM revisits WHERE id = ?",
                          "t", in->target);
        if (err == PATROL_ENOTFOUND) {
            /* A revisit the server assigned to this department: its matter
             * was opened on another terminal, whose record the server
             * checks this entry against. */
            err = px_get_text(p, matter, sizeof matter,
                              "SELECT matter FROM assigned_revisits WHERE id = ?", "t",
                              in->target);
            if (err == PATROL_ENOTFOUND)
                return px_fail(p, PATROL_ENOTFOUND, _("no revisit '%s' on this terminal"),
                               in->target);
            if (err)
                return err;
            if (px_get_text(p, buf, sizeof buf, "SELECT seq FROM assigned_done WHERE id = ?",
                            "t", in->target) == PATROL_OK)
                return px_fail(p, PATROL_ESTATE,
                               _("revisit %s already has its outcome (entry %s); record a "
                                 "correction to change it"),
                               in->target, buf);
            if (in->n_inspectors == 0)
                return px_fail(p, PATROL_EINVAL, _("%s"),
                               _("a revisit assigned by the server names the inspectors who "
                                 "make it (--inspector)"));
            snprintf(r->object, sizeof r->object, "%s", in->target);
            snprintf(r->matter, sizeof r->matter, "%s", matter);
            r->foreign = 1;
            return take_inspectors(p, r, in, NULL);
        }
        if (err)
            return err;
        snprintf(r->object, sizeof r->object, "%s", in->target);
        return find_matter(p, r, matter, in);
    }
    case PX_SCOPE_DOCUMENT: {
        char matter[PATROL_ID_MAX];
        if (!in->target || (why = px_check_ident(in->target)))
            return px_fail(p, PATROL_EINVAL, _("document id: %s"),
                           in->target ? _(why) : _("missing"));
        err = px_get_text(p, matter, sizeof matter, "SELECT matter FROM documents WHERE id = ?",
                          "t", in->target);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ENOTFOUND, _("no document '%s' on this terminal"),
                           in->target);
        if (err)
            return err;
        snprintf(r->object, sizeof r->object, "%s", in->target);
        return find_matter(p, r, matter, in);
    }
    case PX_SCOPE_ENTRY:
        return check_correction(p, r, in);
    case PX_SCOPE_MATTER:
        break;
    }

    if (strcmp(kind, "matter.open") == 0)
        return check_matter_open(p, r, in);
    if ((err = find_matter(p, r, in->target, in)))
        return err;
    snprintf(r->object, sizeof r->object, "%s", r->matter);
    if (strcmp(kind, "document.issue") == 0) {
        snprintf(r->auto_val[0], sizeof r->auto_val[0], "%s", r->subject);
        add_auto(r, "subject", r->auto_val[0]);
    }
    return PATROL_OK;
}

/* The record's rules across entries, on the entry as it will be signed
 * (px_append.check): the matter's state machine, a department-level act's
 * scope, or (an assigned revisit of another terminal's matter) the fields
 * its kind requires. */
static int check_entry(patrol *p, const Patrol__V1__Entry *e, void *ud)
{
    rec *r = ud;
    if (r->rule->scope == PX_SCOPE_ACT || r->foreign)
        return px_act_record_check(p, e);
    if (!r->matter[0])
        return PATROL_OK; /* subjects, inspectors, their corrections */
    return px_mview_check(p, &r->view, r->matter, e, strcmp(r->rule->kind, "matter.open") == 0);
}

/* Update the views the entry changes (same transaction). */
static int apply(patrol *p, const rec *r, uint64_t seq)
{
    const char *kind = r->rule->kind;
    int64_t s = (int64_t)seq;
    int err;

    if (strcmp(kind, "inspector.add") == 0)
        return px_run(p, "INSERT INTO inspectors(id, name, cert_no, seq) VALUES (?, ?, ?, ?)",
                      "ttti", r->object, field(r, "name"), field(r, "cert_no"), s);
    if (strcmp(kind, "subject.add") == 0)
        return px_run(p, "INSERT INTO subjects(id, type, name, credit_code, id_number, seq)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                      "ttttti", r->object, field(r, "type"), field(r, "name"),
                      field(r, "credit_code"), field(r, "id_number"), s);
    if (r->rule->scope == PX_SCOPE_ACT)
        return px_run(p, "INSERT INTO acts(id, kind, seq) VALUES (?, ?, ?)", "tti", r->object,
                      kind, s);
    if (r->foreign)
        return px_assigned_done(p, r->object, field(r, "outcome"), seq);
    if (strcmp(kind, "evidence.add") == 0 &&
        (err = px_run(p, "INSERT OR IGNORE INTO evidence(sha256, size, media_type) VALUES (?, ?, ?)",
                      "tit", field(r, "sha256"), (int64_t)strtoll(field(r, "size"), NULL, 10),
                      field(r, "media_type"))))
        return err;
    return px_mview_write(p, &r->view);
}

/* The id reported for an entry: what it created, else what it acted on. */
static void saved_id(const patrol *p, const rec *r, uint64_t seq, char *out, size_t len)
{
    const char *kind = r->rule->kind;
    if (strcmp(kind, "action.revisit") == 0)
        px_make_id(p, 'R', seq, out, len);
    else if (strcmp(kind, "document.issue") == 0)
        px_make_id(p, 'D', seq, out, len);
    else
        snprintf(out, len, "%s", r->object);
}

/* Append one entry inside the caller's write transaction (px_begin done;
 * the caller commits or rolls back): its fields taken and checked, the
 * store's checks, the record's rules, signed, appended, the views
 * updated. *out is filled when it returns PATROL_OK. */
int px_append_entry(patrol *p, const patrol_record_in *in, const patrol_field *extra,
                    size_t n_extra, patrol_saved *out)
{
    rec *r;
    uint8_t hash[PX_HASH_LEN], prev[PX_HASH_LEN];
    uint64_t seq;
    px_append a;
    int err;

    if (!in || !in->kind)
        return px_fail(p, PATROL_EINVAL, _("%s"), _("no entry kind given"));
    if (!(r = calloc(1, sizeof *r)))
        return px_fail(p, PATROL_ENOMEM, _("%s"), _("out of memory"));
    if (!(r->rule = px_rules_find(in->kind))) {
        err = px_fail(p, PATROL_EINVAL, _("unknown entry kind '%.64s' (see 'patrol kinds')"),
                      in->kind);
        goto out;
    }
    if (in->corrects && r->rule->scope != PX_SCOPE_ENTRY) {
        err = px_fail(p, PATROL_EINVAL, _("%s"),
                      _("only a correction may name an entry it corrects"));
        goto out;
    }
    if ((err = take_fields(p, r, in)))
        goto out;
    for (size_t i = 0; i < n_extra; i++)
        r->f[r->nf++] = extra[i];

    if ((err = px_journal_head(p, &seq, prev)))
        goto out;
    r->seq = seq + 1;
    if ((err = check_in_store(p, r, in)))
        goto out;
    qsort(r->f, r->nf, sizeof r->f[0], cmp_field);

    memset(&a, 0, sizeof a);
    a.kind = r->rule->kind;
    a.object = r->object;
    a.matter = r->matter;
    a.inspectors = r->insp;
    a.n_inspectors = r->ninsp;
    a.fields = r->f;
    a.n_fields = r->nf;
    a.location = in->location;
    a.corrects = in->corrects;
    a.check = check_entry;
    a.check_ud = r;
    if ((err = px_journal_append(p, &a, &seq, hash)) || (err = apply(p, r, seq)))
        goto out;
    out->seq = seq;
    px_format_hex(hash, PX_HASH_LEN, out->hash);
    saved_id(p, r, seq, out->id, sizeof out->id);
out:
    px_mview_free(&r->view);
    free(r);
    return err;
}

/* Record one entry in its own transaction, or with check_only run every
 * check patrol_record runs (the entry built, signed and appended, the
 * views updated) and roll it all back: nothing is written. */
static int record_entry(patrol *p, const patrol_record_in *in, const patrol_field *extra,
                        size_t n_extra, patrol_saved *out, int check_only)
{
    patrol_saved s;
    int err;

    p->errmsg[0] = '\0';
    if (!in || !in->kind)
        return px_fail(p, PATROL_EINVAL, _("%s"), _("no entry kind given"));
    if ((err = px_begin(p)))
        return err;
    if ((err = px_append_entry(p, in, extra, n_extra, &s)) || check_only) {
        px_rollback(p);
        return err;
    }
    if ((err = px_commit(p)))
        return err; /* rolled back */
    if (out)
        *out = s;
    return PATROL_OK;
}

int px_record_fields(patrol *p, const patrol_record_in *in, const patrol_field *extra,
                     size_t n_extra, patrol_saved *out)
{
    return record_entry(p, in, extra, n_extra, out, 0);
}

int patrol_record(patrol *p, const patrol_record_in *in, patrol_saved *out)
{
    if (in && in->kind && strcmp(in->kind, "evidence.add") == 0)
        return px_fail(p, PATROL_EINVAL, "evidence is added with 'patrol evidence add' "
                                         "(patrol_evidence_add), which stores the file");
    return record_entry(p, in, NULL, 0, out, 0);
}

int patrol_record_check(patrol *p, const patrol_record_in *in)
{
    if (in && in->kind && strcmp(in->kind, "evidence.add") == 0)
        return px_fail(p, PATROL_EINVAL, "evidence is added with 'patrol evidence add' "
                                         "(patrol_evidence_add), which stores the file");
    return record_entry(p, in, NULL, 0, NULL, 1);
}

/* First entry of a new store: the device, its key and department. */
int px_init_genesis(patrol *p, const char *department, const char *device_name)
{
    uint8_t der[PX_PUBKEY_MAX], hash[PX_HASH_LEN];
    char hex[2 * PX_PUBKEY_MAX + 1];
    size_t n;
    uint64_t seq;
    px_append a;
    patrol_field f[3];
    sqlite3_stmt *st;
    int err, rc;

    if (px_key_public_der(p->key, der, sizeof der, &n) != 0 || px_key_id(p->key, p->device_id) != 0)
        return px_fail(p, PATROL_ECRYPTO, _("cannot read the device public key"));
    px_format_hex(p->device_id, 4, p->dev8);
    px_format_hex(der, n, hex);
    f[0] = (patrol_field){"department", department, PATROL_CONF_NONE};
    f[1] = (patrol_field){"device_name", device_name, PATROL_CONF_NONE};
    f[2] = (patrol_field){"public_key", hex, PATROL_CONF_NONE};
    memset(&a, 0, sizeof a);
    a.kind = "device.init";
    a.object = department;
    a.fields = f;
    a.n_fields = 3;

    if ((err = px_begin(p)))
        return err;
    rc = sqlite3_prepare_v2(p->db, "INSERT INTO device(one, device_id, public_key, department, name)"
                                   " VALUES (1, ?, ?, ?, ?)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, p->device_id, PX_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, der, (int)n, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, department, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, device_name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(p->db);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        err = px_db_fail(p, rc, "writing the device");
    if (err || (err = px_refdata_seed(p)) || (err = px_journal_append(p, &a, &seq, hash)) ||
        (err = px_commit(p))) {
        px_rollback(p);
        return err;
    }
    return PATROL_OK;
}
