/* matterview.c -- the matter state machine (proto/matter.c) on the
 * terminal: the reference-data hooks answered from the store, the check
 * that refuses an entry before it is signed, and the views (matters,
 * revisits, documents, flags, acts) written from the effective record.
 *
 * The views are derived: each is what a replay of the journal says, so a
 * correction takes effect in them, and px_views_rebuild makes them anew
 * from the journal alone (schema migration 4). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "i18n.h"
#include "matter.h"
#include "rules.h"
#include "validate.h"

/* ---- hooks ---------------------------------------------------------------- */

typedef struct hooks {
    patrol *p;
    uint64_t before_seq; /* cited: only matters opened before this (0: any) */
    int county;          /* cited: also the server's county-wide citations */
} hooks;

/* 1 if the query returns a row, 0 if not, -1 on a database error. */
static int exists(patrol *p, const char *sql, const char *a, const char *b)
{
    char buf[8];
    int err = b ? px_get_text(p, buf, sizeof buf, sql, "tt", a, b)
                : px_get_text(p, buf, sizeof buf, sql, "t", a);
    return err == PATROL_OK ? 1 : err == PATROL_ENOTFOUND ? 0 : -1;
}

static int h_domain(void *ud, const char *code)
{
    hooks *h = ud;
    char flexible[8];
    int err = px_get_text(h->p, flexible, sizeof flexible,
                          "SELECT flexible FROM domains WHERE code = ?", "t", code);
    if (err)
        return 0;
    return strcmp(flexible, "1") == 0 ? 1 : -1;
}

static int h_department_known(void *ud, const char *code)
{
    return exists(((hooks *)ud)->p, "SELECT 1 FROM departments WHERE code = ?", code, NULL) == 1;
}

static int h_holds(void *ud, const char *department, const char *domain)
{
    hooks *h = ud;
    if (!h_department_known(ud, department))
        return -1;
    return exists(h->p, "SELECT 1 FROM department_domains WHERE department = ? AND domain = ?",
                  department, domain) == 1;
}

static int h_item(void *ud, const char *code, px_mitem *out)
{
    hooks *h = ud;
    sqlite3_stmt *st;
    int found = -1;
    if (sqlite3_prepare_v2(h->p->db, "SELECT domain, category, list_type, list_version"
                                     " FROM list_items WHERE code = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out->domain, sizeof out->domain, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(out->category, sizeof out->category, "%s",
                 (const char *)sqlite3_column_text(st, 1));
        snprintf(out->list_type, sizeof out->list_type, "%s",
                 (const char *)sqlite3_column_text(st, 2));
        snprintf(out->list_version, sizeof out->list_version, "%s",
                 (const char *)sqlite3_column_text(st, 3));
        found = 0;
    }
    sqlite3_finalize(st);
    return found;
}

static int h_leaflet(void *ud, const char *code)
{
    return exists(((hooks *)ud)->p, "SELECT 1 FROM leaflets WHERE code = ?", code, NULL) == 1;
}

static int h_subject(void *ud, int dev, const char *subject)
{
    (void)dev;
    return exists(((hooks *)ud)->p, "SELECT 1 FROM subjects WHERE id = ?", subject, NULL) == 1;
}

int px_subject_key(patrol *p, const char *subject, char key[2 * PX_HASH_LEN + 1])
{
    char ident[64];
    uint8_t h[PX_HASH_LEN];
    int err = px_get_text(p, ident, sizeof ident,
                          "SELECT coalesce(credit_code, id_number, '') FROM subjects WHERE id = ?",
                          "t", subject);
    if (err)
        return err;
    if (!ident[0])
        return PATROL_ENOTFOUND;
    px_sha256(ident, strlen(ident), h);
    px_format_hex(h, PX_HASH_LEN, key);
    return PATROL_OK;
}

static int h_cited(void *ud, int dev, const char *matter, const char *subject, const char *item,
                   char *other, size_t len)
{
    hooks *h = ud;
    sqlite3_stmt *st;
    char key[2 * PX_HASH_LEN + 1];
    int found = 0;
    (void)dev;
    /* This terminal's matters of the same subject, opened before this one
     * (effective list item, so a correction counts). */
    if (sqlite3_prepare_v2(h->p->db, "SELECT id FROM matters WHERE subject = ? AND list_item = ?"
                                     " AND id != ? AND (?4 = 0 OR opened_seq < ?4)"
                                     " ORDER BY opened_seq LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, matter, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)h->before_seq);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(other, len, "%s", (const char *)sqlite3_column_text(st, 0));
        found = 1;
    }
    sqlite3_finalize(st);
    /* County-wide: what the server said at the last sync (checked for a
     * matter being opened, whose order among other terminals' is now). */
    if (!found && h->county && px_subject_key(h->p, subject, key) == PATROL_OK &&
        px_get_text(h->p, other, len,
                    "SELECT matter FROM cited WHERE subject_key = ? AND item = ? AND matter != ?"
                    " ORDER BY matter LIMIT 1",
                    "ttt", key, item, matter) == PATROL_OK)
        found = 1;
    return found;
}

static void hooks_init(px_mref *ref, hooks *h, patrol *p)
{
    memset(ref, 0, sizeof *ref);
    memset(h, 0, sizeof *h);
    h->p = p;
    ref->ud = h;
    ref->domain = h_domain;
    ref->holds = h_holds;
    ref->department_known = h_department_known;
    ref->item = h_item;
    ref->leaflet = h_leaflet;
    ref->subject = h_subject;
    ref->cited = h_cited;
}

/* ---- loading a matter ----------------------------------------------------- */

void px_mview_free(px_mview *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        px_entry_free(v->decoded[i]);
    free(v->decoded);
    px_entry_free(v->added);
    free(v->ents);
    px_matter_free(&v->with);
    memset(v, 0, sizeof *v);
}

/* The stored entries of a matter, decoded, with room for one more. */
static int load(patrol *p, px_mview *v, const char *matter)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc, err = PATROL_OK;

    if (sqlite3_prepare_v2(p->db, "SELECT seq, entry FROM journal WHERE matter = ? ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return px_db_fail(p, sqlite3_errcode(p->db), "reading the journal");
    sqlite3_bind_text(st, 1, matter, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *why;
        Patrol__V1__Entry *e;
        if (v->n == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            Patrol__V1__Entry **nd = realloc(v->decoded, ncap * sizeof *nd);
            if (!nd) {
                err = px_fail(p, PATROL_ENOMEM, "%s", _("out of memory"));
                break;
            }
            v->decoded = nd;
            cap = ncap;
        }
        e = px_entry_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &why);
        if (!e) {
            err = px_fail(p, PATROL_ECORRUPT, _("journal entry %lld cannot be read: %s"),
                          (long long)sqlite3_column_int64(st, 0), why);
            break;
        }
        v->decoded[v->n++] = e;
    }
    if (!err && rc != SQLITE_DONE)
        err = px_db_fail(p, rc, "reading the journal");
    sqlite3_finalize(st);
    if (!err && !(v->ents = calloc(v->n + 1, sizeof *v->ents)))
        err = px_fail(p, PATROL_ENOMEM, "%s", _("out of memory"));
    if (!err && px_get_text(p, v->department, sizeof v->department,
                            "SELECT department FROM device", "") != PATROL_OK)
        v->department[0] = '\0';
    for (size_t i = 0; !err && i < v->n; i++) {
        v->ents[i].e = v->decoded[i];
        v->ents[i].dev = 0;
        v->ents[i].department = v->department;
    }
    return err;
}

/* What kind of refusal a rule is, for patrol_err and the CLI's exit. */
static int rule_err(const char *rule)
{
    static const struct {
        const char *rule;
        int err;
    } map[] = {
        {"domain_excluded", PATROL_EREFUSED},     {"emergency_excluded", PATROL_EREFUSED},
        {"outside_department", PATROL_EREFUSED},  {"not_first_violation", PATROL_EREFUSED},
        {"unknown_domain", PATROL_ENOTFOUND},     {"unknown_list_item", PATROL_ENOTFOUND},
        {"unknown_subject", PATROL_ENOTFOUND},    {"unknown_leaflet", PATROL_ENOTFOUND},
        {"unknown_department", PATROL_ENOTFOUND}, {"unknown_document", PATROL_ENOTFOUND},
        {"unknown_revisit", PATROL_ENOTFOUND},    {"missing_field", PATROL_EINVAL},
        {"bad_correction", PATROL_EINVAL},        {"date_past", PATROL_EINVAL},
        {"item_domain", PATROL_EINVAL},           {"revisit_opinion", PATROL_EINVAL},
        {"revisit_integrity", PATROL_EINVAL},     {"revisit_legality", PATROL_EINVAL},
        {"correction_inspector", PATROL_EINVAL},  {"joint_needs_departments", PATROL_EINVAL},
        {"own_department_missing", PATROL_EINVAL},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].rule, rule) == 0)
            return map[i].err;
    return PATROL_ESTATE;
}

static int refuse(patrol *p, const px_mview *v, const px_finding *f, size_t new_index)
{
    if (f->index == new_index)
        return px_fail(p, rule_err(f->rule), _("%s (rule %s)"), f->detail, f->rule);
    return px_fail(p, rule_err(f->rule),
                   _("this correction would make entry %llu (%s) break a rule: %s (rule %s)"),
                   (unsigned long long)v->ents[f->index].e->seq, v->ents[f->index].e->kind,
                   f->detail, f->rule);
}

/* The replay is sequential and only corrections reach back: for any other
 * entry the record before it replays as it did, so its refusals are the
 * findings on the entry itself; a correction is compared with a replay
 * without it (px_matter_new_refusal). */
int px_mview_check(patrol *p, px_mview *v, const char *matter, const Patrol__V1__Entry *e,
                   int new_matter)
{
    px_matter without;
    px_mref ref;
    hooks h;
    const px_finding *f = NULL;
    int err, correction = strcmp(e->kind, "correction") == 0;

    if ((err = load(p, v, matter)))
        return err;
    hooks_init(&ref, &h, p);
    px_matter_init(&without);
    px_matter_init(&v->with);
    /* Only a matter being opened is checked against the county-wide
     * citations (an old matter's order among other terminals' is not
     * known here); an open matter against the matters opened before it. */
    h.county = new_matter;
    if (!new_matter) {
        char seq[24];
        if (px_get_text(p, seq, sizeof seq, "SELECT opened_seq FROM matters WHERE id = ?", "t",
                        matter) == PATROL_OK)
            h.before_seq = strtoull(seq, NULL, 10);
    }
    /* The new entry, as a copy that outlives the caller's (the views are
     * written from it once it is stored). */
    {
        uint8_t *buf = NULL;
        size_t len;
        const char *why;
        if (px_entry_encode(e, &buf, &len, &why) != 0 ||
            !(v->added = px_entry_decode(buf, len, &why))) {
            free(buf);
            return px_fail(p, PATROL_EINVAL, "%s", why);
        }
        free(buf);
    }
    v->ents[v->n].e = v->added;
    v->ents[v->n].dev = 0;
    v->ents[v->n].department = v->department;
    if (px_matter_replay(&v->with, v->ents, v->n + 1, &ref) != 0 ||
        (correction && px_matter_replay(&without, v->ents, v->n, &ref) != 0)) {
        px_matter_free(&without);
        return px_fail(p, PATROL_ENOMEM, "%s", _("out of memory"));
    }
    if (correction) {
        f = px_matter_new_refusal(&without, &v->with);
    } else {
        for (size_t i = 0; i < v->with.nfindings && !f; i++)
            if (v->with.findings[i].index == v->n && !v->with.findings[i].flag_only)
                f = &v->with.findings[i];
    }
    err = f ? refuse(p, v, f, v->n) : PATROL_OK;
    px_matter_free(&without);
    v->have = !err;
    return err;
}

int px_act_record_check(patrol *p, const Patrol__V1__Entry *e)
{
    px_mref ref;
    hooks h;
    px_mentry me;
    px_finding f;
    char dept[PX_IDENT_MAX + 1] = "";

    hooks_init(&ref, &h, p);
    if (px_get_text(p, dept, sizeof dept, "SELECT department FROM device", ""))
        dept[0] = '\0';
    me.e = e;
    me.dev = 0;
    me.department = dept;
    if (px_act_check(&me, &ref, &f))
        return px_fail(p, rule_err(f.rule), _("%s (rule %s)"), f.detail, f.rule);
    return PATROL_OK;
}

/* ---- writing the views ------------------------------------------------- */

static uint64_t seq_at(const px_mview *v, size_t index)
{
    return v->ents[index].e->seq;
}

/* Rewrite the view rows of the matter replayed into v->with over
 * v->ents[0..n] (n + 1 entries when the check added one). */
static int write_views(patrol *p, const px_mview *v, size_t n)
{
    const px_matter *m = &v->with;
    const Patrol__V1__Entry *open;
    char insp[PX_ENTRY_MAX_INSPECTORS * (PX_IDENT_MAX + 1)];
    size_t off = 0;
    int err;

    if (m->state == PX_MS_NEW)
        return PATROL_OK; /* never opened here (an assigned revisit's matter) */
    open = v->ents[m->open_index].e;
    insp[0] = '\0';
    for (size_t i = 0; i < open->n_inspectors && off < sizeof insp; i++)
        off += (size_t)snprintf(insp + off, sizeof insp - off, "%s%s", i ? "," : "",
                                open->inspectors[i]);
    if ((err = px_run(p, "DELETE FROM revisits WHERE matter = ?", "t", m->id)) ||
        (err = px_run(p, "DELETE FROM documents WHERE matter = ?", "t", m->id)) ||
        (err = px_run(p, "DELETE FROM flags WHERE matter = ?", "t", m->id)))
        return err;
    {
        static const char *const applications[] = {"", "filed", "changed", "withdrawn"};
        int closed = px_mstate_closed(m->state);
        uint64_t closed_seq = 0;
        for (size_t i = 0; closed && i < n; i++)
            if (strcmp(v->ents[i].e->kind, "matter.close") == 0)
                closed_seq = seq_at(v, i);
        if ((err = px_run(p, "INSERT OR REPLACE INTO matters(id, subject, domain, summary,"
                             " list_item, list_type, list_version, state, inspectors,"
                             " on_application, application, consent, major, technical,"
                             " close_reason, case_no, opened_seq, closed_seq)"
                             " VALUES (?, ?, ?, ?, nullif(?, ''), nullif(?, ''), nullif(?, ''),"
                             " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0))",
                          "tttttttttittiittii", m->id, m->subject, m->domain,
                          m->summary ? m->summary : "", m->list_item, m->list_type,
                          m->list_version, px_mstate_code(m->state), insp,
                          (int64_t)m->on_application, applications[m->application & 3],
                          m->consent, (int64_t)m->major, (int64_t)m->technical, m->close_reason,
                          m->case_no, (int64_t)seq_at(v, m->open_index), (int64_t)closed_seq)))
            return err;
    }
    for (size_t i = 0; i < m->nrevisits; i++) {
        const px_mrevisit *r = &m->revisits[i];
        if ((err = px_run(p, "INSERT INTO revisits(id, matter, follows, due, outcome, seq,"
                             " outcome_seq) VALUES (?, ?, ?, ?, nullif(?, ''), ?, nullif(?, 0))",
                          "tttttii", r->id, m->id, r->follows, r->due, r->outcome,
                          (int64_t)seq_at(v, r->index),
                          r->outcome[0] ? (int64_t)seq_at(v, r->outcome_index) : (int64_t)0)))
            return err;
    }
    for (size_t i = 0; i < m->ndocs; i++) {
        const px_mdoc *d = &m->docs[i];
        if ((err = px_run(p, "INSERT INTO documents(id, matter, seq, delivered_seq)"
                             " VALUES (?, ?, ?, nullif(?, 0))",
                          "ttii", d->id, m->id, (int64_t)seq_at(v, d->index),
                          d->delivered ? (int64_t)seq_at(v, d->delivered_index) : (int64_t)0)))
            return err;
    }
    for (size_t i = 0; i < m->nfindings; i++) {
        const px_finding *f = &m->findings[i];
        if ((err = px_run(p, "INSERT INTO flags(seq, matter, rule, flag_only, detail)"
                             " VALUES (?, ?, ?, ?, ?)",
                          "ittit", (int64_t)seq_at(v, f->index), m->id, f->rule,
                          (int64_t)f->flag_only, f->detail)))
            return err;
    }
    return PATROL_OK;
}

int px_mview_write(patrol *p, const px_mview *v)
{
    return v->have ? write_views(p, v, v->n + 1) : PATROL_OK;
}

/* Outcomes recorded here of revisits of other terminals' matters. */
int px_assigned_done(patrol *p, const char *revisit, const char *outcome, uint64_t seq)
{
    return px_run(p, "INSERT OR REPLACE INTO assigned_done(id, outcome, seq) VALUES (?, ?, ?)",
                  "tti", revisit, outcome, (int64_t)seq);
}

static int rebuild_assigned(patrol *p)
{
    sqlite3_stmt *st;
    int rc, err = PATROL_OK;
    if (sqlite3_prepare_v2(p->db, "SELECT seq, entry, object FROM journal"
                                  " WHERE kind = 'revisit.outcome'"
                                  " AND object NOT IN (SELECT id FROM revisits) ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return px_db_fail(p, sqlite3_errcode(p->db), "reading the journal");
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *why, *outcome = "";
        Patrol__V1__Entry *e = px_entry_decode(sqlite3_column_blob(st, 1),
                                               (size_t)sqlite3_column_bytes(st, 1), &why);
        if (!e) {
            err = px_fail(p, PATROL_ECORRUPT, _("journal entry %lld cannot be read: %s"),
                          (long long)sqlite3_column_int64(st, 0), why);
            break;
        }
        for (size_t i = 0; i < e->n_fields; i++)
            if (strcmp(e->fields[i]->name, "outcome") == 0)
                outcome = e->fields[i]->value;
        err = px_assigned_done(p, e->object, outcome, (uint64_t)sqlite3_column_int64(st, 0));
        px_entry_free(e);
    }
    if (!err && rc != SQLITE_DONE)
        err = px_db_fail(p, rc, "reading the journal");
    sqlite3_finalize(st);
    return err;
}

/* Make the views anew from the journal (schema migration 4, and after
 * anything that could leave them behind). Inside the caller's
 * transaction. Findings of old entries become flags; nothing is refused. */
int px_views_rebuild(patrol *p)
{
    sqlite3_stmt *st;
    int rc, err = PATROL_OK;
    size_t nids = 0, cap = 0;
    char (*ids)[PATROL_ID_MAX] = NULL;

    if ((err = px_exec(p, "DELETE FROM flags; DELETE FROM revisits; DELETE FROM documents;"
                          " DELETE FROM matters; DELETE FROM acts; DELETE FROM assigned_done;")))
        return err;
    if (sqlite3_prepare_v2(p->db, "SELECT object FROM journal WHERE kind = 'matter.open'"
                                  " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return px_db_fail(p, sqlite3_errcode(p->db), "reading the journal");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nids == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            void *n2 = realloc(ids, ncap * sizeof *ids);
            if (!n2) {
                err = px_fail(p, PATROL_ENOMEM, "%s", _("out of memory"));
                break;
            }
            ids = n2;
            cap = ncap;
        }
        snprintf(ids[nids++], sizeof ids[0], "%s", (const char *)sqlite3_column_text(st, 0));
    }
    if (!err && rc != SQLITE_DONE)
        err = px_db_fail(p, rc, "reading the journal");
    sqlite3_finalize(st);
    for (size_t i = 0; !err && i < nids; i++) {
        px_mview v;
        px_mref ref;
        hooks h;
        memset(&v, 0, sizeof v);
        if (!(err = load(p, &v, ids[i]))) {
            hooks_init(&ref, &h, p);
            h.before_seq = v.n ? v.decoded[0]->seq : 0;
            px_matter_init(&v.with);
            if (px_matter_replay(&v.with, v.ents, v.n, &ref) != 0)
                err = px_fail(p, PATROL_ENOMEM, "%s", _("out of memory"));
            else
                err = write_views(p, &v, v.n);
        }
        px_mview_free(&v);
    }
    free(ids);
    if (!err)
        err = px_exec(p, "INSERT INTO acts(id, kind, seq)"
                         " SELECT object, kind, seq FROM journal WHERE kind LIKE 'dept.%'");
    if (!err)
        err = rebuild_assigned(p);
    return err;
}
