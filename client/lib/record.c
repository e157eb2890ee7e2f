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
} rec;

static const char *field(const rec *r, const char *name)
{
    for (size_t i = 0; i < r->nf; i++)
        if (strcmp(r->f[i].name, name) == 0)
            return r->f[i].value;
    return NULL;
}

static int field_is_yes(const rec *r, const char *name)
{
    const char *v = field(r, name);
    int b = 0;
    return v && !px_parse_bool(v, &b) && b;
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
        return px_fail(p, PATROL_EINVAL, "fields missing");
    if (in->n_fields > PX_ENTRY_MAX_FIELDS - 2)
        return px_fail(p, PATROL_EINVAL, "too many fields");
    for (size_t i = 0; i < in->n_fields; i++) {
        const patrol_field *f = &in->fields[i];
        const px_field_rule *fr;
        if (!f->name || !f->value)
            return px_fail(p, PATROL_EINVAL, "field %zu has no name or value", i + 1);
        if (!(fr = px_rules_field(r->rule, f->name)))
            return px_fail(p, PATROL_EINVAL, "%s has no field '%.64s'", r->rule->kind, f->name);
        if (fr->flags & PX_AUTO)
            return px_fail(p, PATROL_EINVAL, "field '%s' is filled in by patrol", f->name);
        if (field(r, f->name))
            return px_fail(p, PATROL_EINVAL, "field '%s' given twice", f->name);
        if ((why = px_rules_check_value(fr, f->value))) {
            char detail[160] = "";
            size_t max = fr->type == PX_F_TEXT ? PX_TEXT_MAX : PX_LINE_MAX;
            if ((fr->type == PX_F_TEXT || fr->type == PX_F_LINE) && strlen(f->value) > max)
                return px_fail(p, PATROL_EINVAL, "field '%s' is too long: %zu bytes, at most %zu",
                               f->name, strlen(f->value), max);
            if (fr->type == PX_F_CREDIT)
                px_check_credit_code(f->value, detail, sizeof detail);
            else if (fr->type == PX_F_IDNUM)
                px_check_id_number(f->value, detail, sizeof detail);
            return px_fail(p, PATROL_EINVAL, "field '%s': %s%s%s", f->name, why,
                           detail[0] ? ": " : "", detail);
        }
        if ((int)f->conf < PATROL_CONF_NONE || f->conf > PATROL_CONF_PERSONAL_PRIVACY)
            return px_fail(p, PATROL_EINVAL, "field '%s': unknown confidentiality mark", f->name);
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
        return px_fail(p, PATROL_EINVAL, "too many inspectors (at most %d)",
                       PX_ENTRY_MAX_INSPECTORS);
    if (in->n_inspectors == 0 && matter_insp) {
        const char *s = matter_insp;
        while (*s && r->ninsp < PX_ENTRY_MAX_INSPECTORS) {
            size_t n = strcspn(s, ",");
            if (n > PX_IDENT_MAX)
                return px_fail(p, PATROL_ECORRUPT, "matter inspector list is damaged");
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
            return px_fail(p, PATROL_EINVAL, "inspector id: %s", id ? why : "missing");
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->inspectors[j], id) == 0)
                return px_fail(p, PATROL_EINVAL, "inspector %s named twice", id);
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

/* The matter must exist and be open; fills r->matter and r->subject. */
static int open_matter(patrol *p, rec *r, const char *id, const patrol_record_in *in)
{
    char state[16], insp[PX_ENTRY_MAX_INSPECTORS * (PX_IDENT_MAX + 1)];
    const char *why;
    int err;

    if (!id)
        return px_fail(p, PATROL_EINVAL, "%s needs a matter id", r->rule->kind);
    if ((why = px_check_ident(id)))
        return px_fail(p, PATROL_EINVAL, "matter id: %s", why);
    err = px_get_text(p, state, sizeof state, "SELECT state FROM matters WHERE id = ?", "t", id);
    if (err == PATROL_ENOTFOUND)
        return px_fail(p, PATROL_ENOTFOUND, "no matter '%s' on this terminal", id);
    if (err)
        return err;
    if (strcmp(state, "open") != 0)
        return px_fail(p, PATROL_ESTATE, "matter %s is %s: nothing more can be recorded on it "
                                         "except corrections", id, state);
    snprintf(r->matter, sizeof r->matter, "%s", id);
    if ((err = px_get_text(p, r->subject, sizeof r->subject,
                           "SELECT subject FROM matters WHERE id = ?", "t", id)) ||
        (err = px_get_text(p, insp, sizeof insp, "SELECT inspectors FROM matters WHERE id = ?",
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
            return px_fail(p, PATROL_EEXIST, "a subject with credit code %s exists already: %s",
                           code, other);
        if (err != PATROL_ENOTFOUND)
            return err;
    }
    if (idn) {
        err = px_get_text(p, other, sizeof other, "SELECT id FROM subjects WHERE id_number = ?",
                          "t", idn);
        if (err == PATROL_OK)
            return px_fail(p, PATROL_EEXIST, "a subject with that identity number exists already: %s",
                           other);
        if (err != PATROL_ENOTFOUND)
            return err;
    }
    if (strcmp(field(r, "type"), "business") == 0 && idn)
        return px_fail(p, PATROL_EINVAL, "a business is identified by its credit code, not an "
                                         "identity card number");
    if (strcmp(field(r, "type"), "person") == 0 && code)
        return px_fail(p, PATROL_EINVAL, "a person is identified by an identity card number, not "
                                         "a credit code");
    return PATROL_OK;
}

static int check_matter_open(patrol *p, rec *r, const patrol_record_in *in)
{
    const char *domain = field(r, "domain"), *subject = field(r, "subject");
    const char *item = field(r, "list_item");
    char buf[PATROL_ID_MAX];
    int err;

    if (!domain || !subject)
        return PATROL_OK; /* the rules check names the missing field */
    if (px_domain_excluded(domain))
        return px_fail(p, PATROL_EREFUSED,
                       "domain '%s' is excluded from flexible enforcement (national security, "
                       "public safety, food and drug, production safety, environment, pollution, "
                       "health, life and property)", domain);
    if (field_is_yes(r, "emergency"))
        return px_fail(p, PATROL_EREFUSED, "a violation that exploits a natural disaster, accident, "
                                           "public-health or public-security emergency is excluded "
                                           "from flexible enforcement");
    err = px_get_text(p, buf, sizeof buf, "SELECT flexible FROM domains WHERE code = ?", "t", domain);
    if (err == PATROL_ENOTFOUND)
        return px_fail(p, PATROL_EINVAL, "unknown domain '%s' (see 'patrol lists')", domain);
    if (err)
        return err;
    if (strcmp(buf, "1") != 0)
        return px_fail(p, PATROL_EREFUSED, "domain '%s' is excluded from flexible enforcement",
                       domain);
    err = px_get_text(p, buf, sizeof buf, "SELECT id FROM subjects WHERE id = ?", "t", subject);
    if (err == PATROL_ENOTFOUND)
        return px_fail(p, PATROL_ENOTFOUND, "no subject '%s' on this terminal", subject);
    if (err)
        return err;
    if (item) {
        err = px_get_text(p, buf, sizeof buf, "SELECT domain FROM list_items WHERE code = ?", "t",
                          item);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ENOTFOUND, "no three-list item '%s' in the lists on this "
                                                "terminal (see 'patrol lists')", item);
        if (err)
            return err;
        if (strcmp(buf, domain) != 0)
            return px_fail(p, PATROL_EINVAL, "list item %s belongs to domain %s, not %s", item, buf,
                           domain);
        if ((err = px_get_text(p, r->auto_val[0], sizeof r->auto_val[0],
                               "SELECT list_type FROM list_items WHERE code = ?", "t", item)) ||
            (err = px_get_text(p, r->auto_val[1], sizeof r->auto_val[1],
                               "SELECT list_version FROM list_items WHERE code = ?", "t", item)))
            return err;
        add_auto(r, "list_type", r->auto_val[0]);
        add_auto(r, "list_version", r->auto_val[1]);
    }
    if (in->n_inspectors == 0)
        return px_fail(p, PATROL_EINVAL, "a matter needs at least one inspector");
    if ((err = take_inspectors(p, r, in, NULL)))
        return err;
    px_make_id(p, 'M', r->seq, r->object, sizeof r->object);
    snprintf(r->matter, sizeof r->matter, "%s", r->object);
    return PATROL_OK;
}

/* Checks that depend on the store, and the entry's object and matter. */
static int check_in_store(patrol *p, rec *r, const patrol_record_in *in)
{
    const char *kind = r->rule->kind, *why = NULL;
    char buf[PATROL_ID_MAX];
    int err;

    switch (r->rule->scope) {
    case PX_SCOPE_DEVICE:
        return px_fail(p, PATROL_EINVAL, "device.init is written by 'patrol init' only");
    case PX_SCOPE_INSPECTOR:
        if (!in->target || (why = px_check_ident(in->target)))
            return px_fail(p, PATROL_EINVAL, "inspector id: %s", in->target ? why : "missing");
        if (px_get_text(p, buf, sizeof buf, "SELECT id FROM inspectors WHERE id = ?", "t",
                        in->target) == PATROL_OK)
            return px_fail(p, PATROL_EEXIST, "inspector %s exists already", in->target);
        if (field(r, "cert_no") &&
            px_get_text(p, buf, sizeof buf, "SELECT id FROM inspectors WHERE cert_no = ?", "t",
                        field(r, "cert_no")) == PATROL_OK)
            return px_fail(p, PATROL_EEXIST, "certificate %s belongs to inspector %s already",
                           field(r, "cert_no"), buf);
        snprintf(r->object, sizeof r->object, "%s", in->target);
        return PATROL_OK;
    case PX_SCOPE_SUBJECT:
        if (field(r, "type") && (err = check_subject_unique(p, r)))
            return err;
        px_make_id(p, 'S', r->seq, r->object, sizeof r->object);
        return PATROL_OK;
    case PX_SCOPE_REVISIT: {
        char matter[PATROL_ID_MAX], outcome[32];
        if (!in->target || (why = px_check_ident(in->target)))
            return px_fail(p, PATROL_EINVAL, "revisit id: %s", in->target ? why : "missing");
        err = px_get_text(p, matter, sizeof matter, "SELECT matter FROM revisits WHERE id = ?",
                          "t", in->target);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ENOTFOUND, "no revisit '%s' on this terminal", in->target);
        if (err || (err = px_get_text(p, outcome, sizeof outcome,
                                      "SELECT coalesce(outcome, '') FROM revisits WHERE id = ?",
                                      "t", in->target)))
            return err;
        if (outcome[0])
            return px_fail(p, PATROL_ESTATE, "revisit %s already has its outcome (%s); record a "
                                             "correction to change it", in->target, outcome);
        snprintf(r->object, sizeof r->object, "%s", in->target);
        return open_matter(p, r, matter, in);
    }
    case PX_SCOPE_DOCUMENT: {
        char matter[PATROL_ID_MAX], delivered[32];
        if (!in->target || (why = px_check_ident(in->target)))
            return px_fail(p, PATROL_EINVAL, "document id: %s", in->target ? why : "missing");
        err = px_get_text(p, matter, sizeof matter, "SELECT matter FROM documents WHERE id = ?",
                          "t", in->target);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ENOTFOUND, "no document '%s' on this terminal", in->target);
        if (err || (err = px_get_text(p, delivered, sizeof delivered,
                                      "SELECT coalesce(delivered_seq, '') FROM documents WHERE id = ?",
                                      "t", in->target)))
            return err;
        if (delivered[0])
            return px_fail(p, PATROL_ESTATE, "document %s was delivered already (entry %s)",
                           in->target, delivered);
        snprintf(r->object, sizeof r->object, "%s", in->target);
        return open_matter(p, r, matter, in);
    }
    case PX_SCOPE_ENTRY: {
        sqlite3_stmt *st;
        char ckind[64];
        const px_kind_rule *ck;
        const px_field_rule *cf;
        if (in->corrects == 0 || in->corrects >= r->seq)
            return px_fail(p, PATROL_EINVAL, "a correction must name an earlier entry (1..%llu)",
                           (unsigned long long)(r->seq - 1));
        if (sqlite3_prepare_v2(p->db, "SELECT kind, matter FROM journal WHERE seq = ?", -1, &st,
                               NULL) != SQLITE_OK)
            return px_db_fail(p, sqlite3_errcode(p->db), "reading the journal");
        sqlite3_bind_int64(st, 1, (sqlite3_int64)in->corrects);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_finalize(st);
            return px_fail(p, PATROL_ENOTFOUND, "no entry %llu", (unsigned long long)in->corrects);
        }
        snprintf(ckind, sizeof ckind, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(r->matter, sizeof r->matter, "%s", (const char *)sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
        if (in->target && strcmp(in->target, r->matter) != 0)
            return px_fail(p, PATROL_EINVAL, "entry %llu does not belong to matter %s",
                           (unsigned long long)in->corrects, in->target);
        ck = px_rules_find(ckind);
        if (field(r, "field")) {
            if (!ck || !(cf = px_rules_field(ck, field(r, "field"))))
                return px_fail(p, PATROL_EINVAL, "entry %llu (%s) has no field '%s'",
                               (unsigned long long)in->corrects, ckind, field(r, "field"));
            if (!field(r, "value"))
                return px_fail(p, PATROL_EINVAL, "a correction of a field needs its correct value");
            if ((why = px_rules_check_value(cf, field(r, "value"))))
                return px_fail(p, PATROL_EINVAL, "value for '%s': %s", field(r, "field"), why);
        } else if (field(r, "value")) {
            return px_fail(p, PATROL_EINVAL, "a corrected value needs the name of its field");
        }
        snprintf(r->object, sizeof r->object, "%s", r->matter[0] ? r->matter : "journal");
        return take_inspectors(p, r, in, NULL);
    }
    case PX_SCOPE_MATTER:
        break;
    }

    if (strcmp(kind, "matter.open") == 0)
        return check_matter_open(p, r, in);
    if ((err = open_matter(p, r, in->target, in)))
        return err;
    snprintf(r->object, sizeof r->object, "%s", r->matter);

    if (strncmp(kind, "action.", 7) == 0 || strcmp(kind, "document.issue") == 0) {
        if (px_get_text(p, buf, sizeof buf, "SELECT consent FROM matters WHERE id = ?", "t",
                        r->matter) == PATROL_OK &&
            strcmp(buf, "refuse") == 0)
            return px_fail(p, PATROL_ESTATE, "the subject refused flexible enforcement on %s: "
                                             "close the matter (terminated, subject_refused)",
                           r->matter);
    }
    if (strcmp(kind, "document.issue") == 0) {
        snprintf(r->auto_val[0], sizeof r->auto_val[0], "%s", r->subject);
        add_auto(r, "subject", r->auto_val[0]);
    } else if (strcmp(kind, "application.withdraw") == 0 || strcmp(kind, "application.change") == 0) {
        err = px_get_text(p, buf, sizeof buf,
                          "SELECT 1 FROM matters WHERE id = ? AND on_application = 1", "t",
                          r->matter);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ESTATE, "matter %s has no application by the subject to "
                                             "withdraw or change", r->matter);
        if (err)
            return err;
    } else if (strcmp(kind, "matter.close") == 0 && field(r, "outcome") &&
               strcmp(field(r, "outcome"), "completed") == 0) {
        err = px_get_text(p, buf, sizeof buf,
                          "SELECT id FROM revisits WHERE matter = ? AND outcome IS NULL"
                          " ORDER BY due LIMIT 1", "t", r->matter);
        if (err == PATROL_OK)
            return px_fail(p, PATROL_ESTATE, "revisit %s of matter %s has no outcome yet: record "
                                             "it before completing the matter", buf, r->matter);
        if (err != PATROL_ENOTFOUND)
            return err;
    }
    return PATROL_OK;
}

/* Update the views the entry changes (same transaction). */
static int apply(patrol *p, const rec *r, uint64_t seq)
{
    const char *kind = r->rule->kind;
    char id[PATROL_ID_MAX];
    int64_t s = (int64_t)seq;

    if (strcmp(kind, "inspector.add") == 0)
        return px_run(p, "INSERT INTO inspectors(id, name, cert_no, seq) VALUES (?, ?, ?, ?)",
                      "ttti", r->object, field(r, "name"), field(r, "cert_no"), s);
    if (strcmp(kind, "subject.add") == 0)
        return px_run(p, "INSERT INTO subjects(id, type, name, credit_code, id_number, seq)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                      "ttttti", r->object, field(r, "type"), field(r, "name"),
                      field(r, "credit_code"), field(r, "id_number"), s);
    if (strcmp(kind, "matter.open") == 0) {
        char insp[PX_ENTRY_MAX_INSPECTORS * (PX_IDENT_MAX + 1)];
        size_t off = 0;
        insp[0] = '\0';
        for (size_t i = 0; i < r->ninsp; i++)
            off += (size_t)snprintf(insp + off, sizeof insp - off, "%s%s", i ? "," : "",
                                    r->insp[i]);
        return px_run(p, "INSERT INTO matters(id, subject, domain, summary, list_item, state,"
                         " inspectors, on_application, opened_seq)"
                         " VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?)",
                      "ttttttii", r->object, field(r, "subject"), field(r, "domain"),
                      field(r, "summary"), field(r, "list_item"), insp,
                      (int64_t)field_is_yes(r, "on_application"), s);
    }
    if (strcmp(kind, "application.file") == 0)
        return px_run(p, "UPDATE matters SET on_application = 1 WHERE id = ?", "t", r->matter);
    if (strcmp(kind, "application.withdraw") == 0)
        return px_run(p, "UPDATE matters SET on_application = 0 WHERE id = ?", "t", r->matter);
    if (strcmp(kind, "consent") == 0)
        return px_run(p, "UPDATE matters SET consent = ? WHERE id = ?", "tt", field(r, "answer"),
                      r->matter);
    if (strcmp(kind, "action.revisit") == 0) {
        px_make_id(p, 'R', seq, id, sizeof id);
        /* Done on the spot when the outcome is given: outcome_seq is this
         * entry; otherwise both stay NULL until revisit.outcome. */
        return px_run(p, "INSERT INTO revisits(id, matter, due, outcome, seq, outcome_seq)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END)",
                      "tttti", id, r->matter, field(r, "due"), field(r, "outcome"), s);
    }
    if (strcmp(kind, "revisit.outcome") == 0)
        return px_run(p, "UPDATE revisits SET outcome = ?, outcome_seq = ? WHERE id = ?", "tit",
                      field(r, "outcome"), s, r->object);
    if (strcmp(kind, "document.issue") == 0) {
        px_make_id(p, 'D', seq, id, sizeof id);
        return px_run(p, "INSERT INTO documents(id, matter, seq) VALUES (?, ?, ?)", "tti", id,
                      r->matter, s);
    }
    if (strcmp(kind, "document.deliver") == 0)
        return px_run(p, "UPDATE documents SET delivered_seq = ? WHERE id = ?", "it", s, r->object);
    if (strcmp(kind, "evidence.add") == 0)
        return px_run(p, "INSERT OR IGNORE INTO evidence(sha256, size, media_type) VALUES (?, ?, ?)",
                      "tit", field(r, "sha256"), (int64_t)strtoll(field(r, "size"), NULL, 10),
                      field(r, "media_type"));
    if (strcmp(kind, "matter.close") == 0)
        return px_run(p, "UPDATE matters SET state = ?, closed_seq = ? WHERE id = ?", "tit",
                      field(r, "outcome"), s, r->matter);
    return PATROL_OK;
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

int px_record_fields(patrol *p, const patrol_record_in *in, const patrol_field *extra,
                     size_t n_extra, patrol_saved *out)
{
    rec *r;
    uint8_t hash[PX_HASH_LEN], prev[PX_HASH_LEN];
    uint64_t seq;
    px_append a;
    int err;

    p->errmsg[0] = '\0';
    if (!in || !in->kind)
        return px_fail(p, PATROL_EINVAL, "no entry kind given");
    if (!(r = calloc(1, sizeof *r)))
        return px_fail(p, PATROL_ENOMEM, "out of memory");
    if (!(r->rule = px_rules_find(in->kind))) {
        err = px_fail(p, PATROL_EINVAL, "unknown entry kind '%.64s' (see 'patrol kinds')", in->kind);
        goto out;
    }
    if (in->corrects && r->rule->scope != PX_SCOPE_ENTRY) {
        err = px_fail(p, PATROL_EINVAL, "only a correction may name an entry it corrects");
        goto out;
    }
    if ((err = take_fields(p, r, in)))
        goto out;
    for (size_t i = 0; i < n_extra; i++)
        r->f[r->nf++] = extra[i];

    if ((err = px_begin(p)))
        goto out;
    if ((err = px_journal_head(p, &seq, prev)))
        goto fail;
    r->seq = seq + 1;
    if ((err = check_in_store(p, r, in)))
        goto fail;
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
    if ((err = px_journal_append(p, &a, &seq, hash)) || (err = apply(p, r, seq)) ||
        (err = px_commit(p)))
        goto fail;
    if (out) {
        out->seq = seq;
        px_format_hex(hash, PX_HASH_LEN, out->hash);
        saved_id(p, r, seq, out->id, sizeof out->id);
    }
    err = PATROL_OK;
    goto out;
fail:
    px_rollback(p);
out:
    free(r);
    return err;
}

int patrol_record(patrol *p, const patrol_record_in *in, patrol_saved *out)
{
    if (in && in->kind && strcmp(in->kind, "evidence.add") == 0)
        return px_fail(p, PATROL_EINVAL, "evidence is added with 'patrol evidence add' "
                                         "(patrol_evidence_add), which stores the file");
    return px_record_fields(p, in, NULL, 0, out);
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
        return px_fail(p, PATROL_ECRYPTO, "cannot read the device public key");
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
