/* store_sqlite_index.c -- the SQLite queries of the matter index (schema
 * 3; storage.h "the matter index", docs/server.md "Audit: index, timeline,
 * problems"). The rows are derived from the entries by server/index.c;
 * here they are only stored and read. */
#include "store_sqlite_index.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The matter index (schema step 4). Inspectors and subjects as each device
 * recorded them (an ID number only as its subject key); one row per
 * matter with its effective state; its methods, documents with their
 * delivery, revisits with due dates and outcomes, evidence files; and the
 * department-level acts. */
const char sqx_migration_index[] =
    "CREATE TABLE idx_inspectors(device INTEGER NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,"
    "  cert_no TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(device, id)) WITHOUT ROWID;"
    "CREATE TABLE idx_subjects(device INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,"
    "  name TEXT NOT NULL, subject_key TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  PRIMARY KEY(device, id)) WITHOUT ROWID;"
    "CREATE TABLE idx_matters(id TEXT PRIMARY KEY, device INTEGER NOT NULL,"
    "  department TEXT NOT NULL, subject TEXT NOT NULL, subject_device INTEGER NOT NULL,"
    "  domain TEXT NOT NULL, list_item TEXT NOT NULL, list_type TEXT NOT NULL,"
    "  list_version TEXT NOT NULL, state TEXT NOT NULL, consent TEXT NOT NULL,"
    "  application INTEGER NOT NULL, on_application INTEGER NOT NULL, major INTEGER NOT NULL,"
    "  technical INTEGER NOT NULL, hearings INTEGER NOT NULL, experts INTEGER NOT NULL,"
    "  leaflets INTEGER NOT NULL, close_reason TEXT NOT NULL, case_no TEXT NOT NULL,"
    "  opened_seq INTEGER NOT NULL, opened_ms INTEGER NOT NULL, closed_device INTEGER NOT NULL,"
    "  closed_seq INTEGER NOT NULL, closed_ms INTEGER NOT NULL, inspectors TEXT NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE INDEX idx_matters_department ON idx_matters(department);"
    "CREATE TABLE idx_methods(device INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  matter TEXT NOT NULL, kind TEXT NOT NULL, wall_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(device, seq)) WITHOUT ROWID;"
    "CREATE INDEX idx_methods_matter ON idx_methods(matter);"
    "CREATE TABLE idx_documents(id TEXT PRIMARY KEY, matter TEXT NOT NULL,"
    "  device INTEGER NOT NULL, seq INTEGER NOT NULL, issued_ms INTEGER NOT NULL,"
    "  delivered INTEGER NOT NULL, deliver_device INTEGER NOT NULL,"
    "  deliver_seq INTEGER NOT NULL, delivered_ms INTEGER NOT NULL, method TEXT NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE INDEX idx_documents_matter ON idx_documents(matter);"
    "CREATE TABLE idx_revisits(id TEXT PRIMARY KEY, matter TEXT NOT NULL,"
    "  assigned INTEGER NOT NULL, device INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  follows TEXT NOT NULL, due TEXT NOT NULL, outcome TEXT NOT NULL,"
    "  outcome_device INTEGER NOT NULL, outcome_seq INTEGER NOT NULL,"
    "  outcome_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX idx_revisits_matter ON idx_revisits(matter);"
    "CREATE TABLE idx_evidence(device INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  matter TEXT NOT NULL, sha256 TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,"
    "  wall_ms INTEGER NOT NULL, PRIMARY KEY(device, seq)) WITHOUT ROWID;"
    "CREATE INDEX idx_evidence_matter ON idx_evidence(matter);"
    "CREATE TABLE idx_acts(id TEXT PRIMARY KEY, device INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  kind TEXT NOT NULL, domain TEXT NOT NULL, department TEXT NOT NULL,"
    "  wall_ms INTEGER NOT NULL) WITHOUT ROWID;";

/* Statement slots (sq_slots). */
enum {
    X_INSPECTOR_PUT, X_SUBJECT_PUT, X_ACT_PUT, X_M_DEL, X_MT_DEL, X_DOC_DEL, X_RV_DEL, X_EV_DEL,
    X_M_PUT, X_MT_PUT, X_DOC_PUT, X_RV_PUT, X_EV_PUT, X_M_GET, X_MT_GET, X_DOC_GET, X_RV_GET,
    X_EV_GET, X_INSPECTOR_GET, X_SUBJECT_GET, X_RECEIVED, X_COUNT
};

/* The slot's statement, prepared on first use, bound: types 't' text,
 * 'i' int64 (as in store_sqlite.c). NULL after an error. */
static sqlite3_stmt *slot(st_backend *b, int q, const char *sql, const char *types, ...)
{
    sqlite3_stmt **s = sq_slots(b);
    va_list ap;
    if (!s[q] && sqlite3_prepare_v2(sq_db(b), sql, -1, &s[q], NULL) != SQLITE_OK) {
        sq_fail(b, sqlite3_errcode(sq_db(b)));
        s[q] = NULL;
        return NULL;
    }
    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        if (types[i] == 't')
            sqlite3_bind_text(s[q], i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(s[q], i + 1, va_arg(ap, int64_t));
    }
    va_end(ap);
    return s[q];
}

static void release(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Step to completion; a row is ignored. */
static int step(st_backend *b, sqlite3_stmt *st)
{
    int rc;
    if (!st)
        return ST_ERR;
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? ST_OK : sq_fail(b, rc);
    release(st);
    return rc;
}

static void col(sqlite3_stmt *st, int i, char *out, size_t len)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(out, len, "%s", v ? (const char *)v : "");
}

static int exec(st_backend *b, const char *sql)
{
    if (sqlite3_exec(sq_db(b), sql, NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(b, sqlite3_errcode(sq_db(b)));
    return ST_OK;
}

/* ---- re-indexing ------------------------------------------------------- */

int sqx_index_clear(st_backend *b)
{
    /* Citations keep their rows and ids (re-adding one is ignored): the
     * terminals pull them by id. */
    return exec(b, "DROP TABLE IF EXISTS temp.flag_times;"
                   "CREATE TEMP TABLE flag_times AS SELECT device, seq, rule, flagged_ms"
                   "  FROM rule_flags;"
                   "DELETE FROM rule_flags; DELETE FROM objects; DELETE FROM matter_entries;"
                   "DELETE FROM subjects; DELETE FROM idx_inspectors; DELETE FROM idx_subjects;"
                   "DELETE FROM idx_matters; DELETE FROM idx_methods; DELETE FROM idx_documents;"
                   "DELETE FROM idx_revisits; DELETE FROM idx_evidence; DELETE FROM idx_acts;");
}

int sqx_index_rebuilt(st_backend *b)
{
    return exec(b, "UPDATE rule_flags SET flagged_ms = (SELECT t.flagged_ms FROM temp.flag_times t"
                   "  WHERE t.device = rule_flags.device AND t.seq = rule_flags.seq"
                   "  AND t.rule = rule_flags.rule)"
                   " WHERE EXISTS (SELECT 1 FROM temp.flag_times t WHERE t.device ="
                   "  rule_flags.device AND t.seq = rule_flags.seq AND t.rule = rule_flags.rule);"
                   "DROP TABLE temp.flag_times;");
}

/* ---- writing ------------------------------------------------------------- */

int sqx_inspector_put(st_backend *b, const st_iinspector *in)
{
    return step(b, slot(b, X_INSPECTOR_PUT,
                        "INSERT OR IGNORE INTO idx_inspectors(device, id, name, cert_no, seq)"
                        " VALUES (?, ?, ?, ?, ?)",
                        "ittti", in->device, in->id, in->name, in->cert_no, (int64_t)in->seq));
}

int sqx_subject_info_put(st_backend *b, const st_isubject *sub)
{
    return step(b, slot(b, X_SUBJECT_PUT,
                        "INSERT OR IGNORE INTO idx_subjects(device, id, type, name, subject_key, seq)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        "itttti", sub->device, sub->id, sub->type, sub->name, sub->key,
                        (int64_t)sub->seq));
}

int sqx_act_put(st_backend *b, const st_iact *a)
{
    return step(b, slot(b, X_ACT_PUT,
                        "INSERT OR IGNORE INTO idx_acts(id, device, seq, kind, domain, department,"
                        " wall_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        "tiittti", a->id, a->device, (int64_t)a->seq, a->kind, a->domain,
                        a->department, a->wall_ms));
}

int sqx_matter_put(st_backend *b, const st_imatter *m)
{
    int rc;
    if ((rc = step(b, slot(b, X_M_DEL, "DELETE FROM idx_matters WHERE id = ?", "t", m->id))) ||
        (rc = step(b, slot(b, X_MT_DEL, "DELETE FROM idx_methods WHERE matter = ?", "t", m->id))) ||
        (rc = step(b, slot(b, X_DOC_DEL, "DELETE FROM idx_documents WHERE matter = ?", "t",
                           m->id))) ||
        (rc = step(b, slot(b, X_RV_DEL, "DELETE FROM idx_revisits WHERE matter = ?", "t",
                           m->id))) ||
        (rc = step(b, slot(b, X_EV_DEL, "DELETE FROM idx_evidence WHERE matter = ?", "t",
                           m->id))))
        return rc;
    rc = step(b, slot(b, X_M_PUT,
                      "INSERT INTO idx_matters(id, device, department, subject, subject_device,"
                      " domain, list_item, list_type, list_version, state, consent, application,"
                      " on_application, major, technical, hearings, experts, leaflets,"
                      " close_reason, case_no, opened_seq, opened_ms, closed_device, closed_seq,"
                      " closed_ms, inspectors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                      " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      "tittittttttiiiiiiittiiiiit", m->id, m->device, m->department, m->subject,
                      m->subject_device, m->domain, m->list_item, m->list_type, m->list_version,
                      m->state, m->consent, (int64_t)m->application, (int64_t)m->on_application,
                      (int64_t)m->major, (int64_t)m->technical, (int64_t)m->hearings,
                      (int64_t)m->experts, (int64_t)m->leaflets, m->close_reason, m->case_no,
                      (int64_t)m->opened_seq, m->opened_ms, m->closed_device,
                      (int64_t)m->closed_seq, m->closed_ms, m->inspectors));
    for (size_t i = 0; rc == ST_OK && i < m->nmethods; i++) {
        const st_imethod *x = &m->methods[i];
        rc = step(b, slot(b, X_MT_PUT,
                          "INSERT OR REPLACE INTO idx_methods(device, seq, matter, kind, wall_ms)"
                          " VALUES (?, ?, ?, ?, ?)",
                          "iitti", x->device, (int64_t)x->seq, m->id, x->kind, x->wall_ms));
    }
    for (size_t i = 0; rc == ST_OK && i < m->ndocs; i++) {
        const st_idoc *d = &m->docs[i];
        rc = step(b, slot(b, X_DOC_PUT,
                          "INSERT OR REPLACE INTO idx_documents(id, matter, device, seq,"
                          " issued_ms, delivered, deliver_device, deliver_seq, delivered_ms,"
                          " method) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          "ttiiiiiiit", d->id, m->id, d->device, (int64_t)d->seq, d->issued_ms,
                          (int64_t)d->delivered, d->deliver_device, (int64_t)d->deliver_seq,
                          d->delivered_ms, d->method));
    }
    for (size_t i = 0; rc == ST_OK && i < m->nrevisits; i++) {
        const st_irevisit *r = &m->revisits[i];
        rc = step(b, slot(b, X_RV_PUT,
                          "INSERT OR REPLACE INTO idx_revisits(id, matter, assigned, device, seq,"
                          " follows, due, outcome, outcome_device, outcome_seq, outcome_ms)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          "ttiiitttiii", r->id, m->id, (int64_t)r->assigned, r->device,
                          (int64_t)r->seq, r->follows, r->due, r->outcome, r->outcome_device,
                          (int64_t)r->outcome_seq, r->outcome_ms));
    }
    for (size_t i = 0; rc == ST_OK && i < m->nevidence; i++) {
        const st_ievidence *v = &m->evidence[i];
        rc = step(b, slot(b, X_EV_PUT,
                          "INSERT OR REPLACE INTO idx_evidence(device, seq, matter, sha256, kind,"
                          " size, wall_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          "iitttii", v->device, (int64_t)v->seq, m->id, v->sha256, v->kind,
                          (int64_t)v->size, v->wall_ms));
    }
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

/* Grow *arr (of n elements of size sz) by one; the new element zeroed.
 * NULL if memory ran out. */
static void *grow(st_backend *b, void **arr, size_t *n, size_t sz)
{
    char *p;
    if (*n >= ((size_t)-1) / sz - 1 || !(p = realloc(*arr, (*n + 1) * sz))) {
        sq_set_err(b, "out of memory");
        return NULL;
    }
    *arr = p;
    memset(p + *n * sz, 0, sz);
    return p + (*n)++ * sz;
}

/* Run the slot's statement row by row into fill (ud, st); ST_OK, or an
 * error. */
static int rows(st_backend *b, sqlite3_stmt *st, int (*fill)(st_backend *, void *, sqlite3_stmt *),
                void *ud)
{
    int r, rc = ST_OK;
    if (!st)
        return ST_ERR;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fill(b, ud, st)) != ST_OK)
            break;
    if (rc == ST_OK && r != SQLITE_DONE)
        rc = sq_fail(b, r);
    release(st);
    return rc;
}

static int fill_method(st_backend *b, void *ud, sqlite3_stmt *st)
{
    st_imatter *m = ud;
    st_imethod *x = grow(b, (void **)&m->methods, &m->nmethods, sizeof *x);
    if (!x)
        return ST_ERR;
    x->device = sqlite3_column_int64(st, 0);
    x->seq = (uint64_t)sqlite3_column_int64(st, 1);
    col(st, 2, x->kind, sizeof x->kind);
    x->wall_ms = sqlite3_column_int64(st, 3);
    return ST_OK;
}

static int fill_doc(st_backend *b, void *ud, sqlite3_stmt *st)
{
    st_imatter *m = ud;
    st_idoc *d = grow(b, (void **)&m->docs, &m->ndocs, sizeof *d);
    if (!d)
        return ST_ERR;
    col(st, 0, d->id, sizeof d->id);
    d->device = sqlite3_column_int64(st, 1);
    d->seq = (uint64_t)sqlite3_column_int64(st, 2);
    d->issued_ms = sqlite3_column_int64(st, 3);
    d->delivered = sqlite3_column_int(st, 4);
    d->deliver_device = sqlite3_column_int64(st, 5);
    d->deliver_seq = (uint64_t)sqlite3_column_int64(st, 6);
    d->delivered_ms = sqlite3_column_int64(st, 7);
    col(st, 8, d->method, sizeof d->method);
    return ST_OK;
}

static int fill_revisit(st_backend *b, void *ud, sqlite3_stmt *st)
{
    st_imatter *m = ud;
    st_irevisit *r = grow(b, (void **)&m->revisits, &m->nrevisits, sizeof *r);
    if (!r)
        return ST_ERR;
    col(st, 0, r->id, sizeof r->id);
    r->assigned = sqlite3_column_int(st, 1);
    r->device = sqlite3_column_int64(st, 2);
    r->seq = (uint64_t)sqlite3_column_int64(st, 3);
    col(st, 4, r->follows, sizeof r->follows);
    col(st, 5, r->due, sizeof r->due);
    col(st, 6, r->outcome, sizeof r->outcome);
    r->outcome_device = sqlite3_column_int64(st, 7);
    r->outcome_seq = (uint64_t)sqlite3_column_int64(st, 8);
    r->outcome_ms = sqlite3_column_int64(st, 9);
    return ST_OK;
}

static int fill_evidence(st_backend *b, void *ud, sqlite3_stmt *st)
{
    st_imatter *m = ud;
    st_ievidence *v = grow(b, (void **)&m->evidence, &m->nevidence, sizeof *v);
    if (!v)
        return ST_ERR;
    v->device = sqlite3_column_int64(st, 0);
    v->seq = (uint64_t)sqlite3_column_int64(st, 1);
    col(st, 2, v->sha256, sizeof v->sha256);
    col(st, 3, v->kind, sizeof v->kind);
    v->size = (uint64_t)sqlite3_column_int64(st, 4);
    v->wall_ms = sqlite3_column_int64(st, 5);
    v->complete = sqlite3_column_int(st, 6);
    return ST_OK;
}

int sqx_matter_get(st_backend *b, const char *id, st_imatter *m)
{
    sqlite3_stmt *st = slot(b, X_M_GET,
                            "SELECT id, device, department, subject, subject_device, domain,"
                            " list_item, list_type, list_version, state, consent, application,"
                            " on_application, major, technical, hearings, experts, leaflets,"
                            " close_reason, case_no, opened_seq, opened_ms, closed_device,"
                            " closed_seq, closed_ms, inspectors FROM idx_matters WHERE id = ?",
                            "t", id);
    int r, rc;
    memset(m, 0, sizeof *m);
    if (!st)
        return ST_ERR;
    r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        rc = r == SQLITE_DONE ? ST_NOTFOUND : sq_fail(b, r);
        release(st);
        return rc;
    }
    col(st, 0, m->id, sizeof m->id);
    m->device = sqlite3_column_int64(st, 1);
    col(st, 2, m->department, sizeof m->department);
    col(st, 3, m->subject, sizeof m->subject);
    m->subject_device = sqlite3_column_int64(st, 4);
    col(st, 5, m->domain, sizeof m->domain);
    col(st, 6, m->list_item, sizeof m->list_item);
    col(st, 7, m->list_type, sizeof m->list_type);
    col(st, 8, m->list_version, sizeof m->list_version);
    col(st, 9, m->state, sizeof m->state);
    col(st, 10, m->consent, sizeof m->consent);
    m->application = sqlite3_column_int(st, 11);
    m->on_application = sqlite3_column_int(st, 12);
    m->major = sqlite3_column_int(st, 13);
    m->technical = sqlite3_column_int(st, 14);
    m->hearings = (uint64_t)sqlite3_column_int64(st, 15);
    m->experts = (uint64_t)sqlite3_column_int64(st, 16);
    m->leaflets = (uint64_t)sqlite3_column_int64(st, 17);
    col(st, 18, m->close_reason, sizeof m->close_reason);
    col(st, 19, m->case_no, sizeof m->case_no);
    m->opened_seq = (uint64_t)sqlite3_column_int64(st, 20);
    m->opened_ms = sqlite3_column_int64(st, 21);
    m->closed_device = sqlite3_column_int64(st, 22);
    m->closed_seq = (uint64_t)sqlite3_column_int64(st, 23);
    m->closed_ms = sqlite3_column_int64(st, 24);
    col(st, 25, m->inspectors, sizeof m->inspectors);
    release(st);
    rc = rows(b, slot(b, X_MT_GET,
                      "SELECT device, seq, kind, wall_ms FROM idx_methods WHERE matter = ?"
                      " ORDER BY wall_ms, device, seq",
                      "t", id),
              fill_method, m);
    if (rc == ST_OK)
        rc = rows(b, slot(b, X_DOC_GET,
                          "SELECT id, device, seq, issued_ms, delivered, deliver_device,"
                          " deliver_seq, delivered_ms, method FROM idx_documents WHERE matter = ?"
                          " ORDER BY issued_ms, id",
                          "t", id),
                  fill_doc, m);
    if (rc == ST_OK)
        rc = rows(b, slot(b, X_RV_GET,
                          "SELECT id, assigned, device, seq, follows, due, outcome,"
                          " outcome_device, outcome_seq, outcome_ms FROM idx_revisits"
                          " WHERE matter = ? ORDER BY due, id",
                          "t", id),
                  fill_revisit, m);
    if (rc == ST_OK)
        rc = rows(b, slot(b, X_EV_GET,
                          "SELECT v.device, v.seq, v.sha256, v.kind, v.size, v.wall_ms,"
                          " coalesce(e.complete_ms, 0) > 0 FROM idx_evidence v"
                          " LEFT JOIN evidence e ON e.sha256 = v.sha256 WHERE v.matter = ?"
                          " ORDER BY v.wall_ms, v.device, v.seq",
                          "t", id),
                  fill_evidence, m);
    if (rc != ST_OK)
        st_imatter_release(m);
    return rc;
}

int sqx_matters_each(st_backend *b, const char *department,
                     int (*cb)(void *ud, const st_imatter *m), void *ud)
{
    sqlite3_stmt *st;
    char **ids = NULL;
    size_t n = 0, cap = 0;
    int r, rc = ST_OK;

    /* The ids first: matter_get reuses statements of its own. */
    if (sqlite3_prepare_v2(sq_db(b),
                           "SELECT id FROM idx_matters WHERE ?1 IS NULL OR department = ?1"
                           " ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(b, sqlite3_errcode(sq_db(b)));
    if (department)
        sqlite3_bind_text(st, 1, department, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            char **p = realloc(ids, (cap = cap ? 2 * cap : 64) * sizeof *ids);
            if (!p) {
                sq_set_err(b, "out of memory");
                rc = ST_ERR;
                break;
            }
            ids = p;
        }
        if (!(ids[n] = strdup((const char *)sqlite3_column_text(st, 0)))) {
            sq_set_err(b, "out of memory");
            rc = ST_ERR;
            break;
        }
        n++;
    }
    if (rc == ST_OK && r != SQLITE_DONE)
        rc = sq_fail(b, r);
    sqlite3_finalize(st);
    for (size_t i = 0; rc == ST_OK && i < n; i++) {
        st_imatter m;
        int stop;
        if ((rc = sqx_matter_get(b, ids[i], &m)) != ST_OK)
            break;
        stop = cb(ud, &m);
        st_imatter_release(&m);
        if (stop)
            break;
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

int sqx_inspector_get(st_backend *b, int64_t device, const char *id, st_iinspector *out)
{
    sqlite3_stmt *st = slot(b, X_INSPECTOR_GET,
                            "SELECT device, id, name, cert_no, seq FROM idx_inspectors"
                            " WHERE id = ?2 ORDER BY device = ?1 DESC, device LIMIT 1",
                            "it", device, id);
    int r, rc = ST_OK;
    memset(out, 0, sizeof *out);
    if (!st)
        return ST_ERR;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->device = sqlite3_column_int64(st, 0);
        col(st, 1, out->id, sizeof out->id);
        col(st, 2, out->name, sizeof out->name);
        col(st, 3, out->cert_no, sizeof out->cert_no);
        out->seq = (uint64_t)sqlite3_column_int64(st, 4);
    } else {
        rc = r == SQLITE_DONE ? ST_NOTFOUND : sq_fail(b, r);
    }
    release(st);
    return rc;
}

int sqx_subject_get(st_backend *b, int64_t device, const char *id, st_isubject *out)
{
    sqlite3_stmt *st = slot(b, X_SUBJECT_GET,
                            "SELECT device, id, type, name, subject_key, seq FROM idx_subjects"
                            " WHERE device = ? AND id = ?",
                            "it", device, id);
    int r, rc = ST_OK;
    memset(out, 0, sizeof *out);
    if (!st)
        return ST_ERR;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->device = sqlite3_column_int64(st, 0);
        col(st, 1, out->id, sizeof out->id);
        col(st, 2, out->type, sizeof out->type);
        col(st, 3, out->name, sizeof out->name);
        col(st, 4, out->key, sizeof out->key);
        out->seq = (uint64_t)sqlite3_column_int64(st, 5);
    } else {
        rc = r == SQLITE_DONE ? ST_NOTFOUND : sq_fail(b, r);
    }
    release(st);
    return rc;
}

int sqx_entry_received(st_backend *b, int64_t device, uint64_t seq, int64_t *received_ms)
{
    sqlite3_stmt *st = slot(b, X_RECEIVED,
                            "SELECT received_ms FROM entries WHERE device = ? AND seq = ?", "ii",
                            device, (int64_t)seq);
    int r, rc = ST_OK;
    if (!st)
        return ST_ERR;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *received_ms = sqlite3_column_int64(st, 0);
    else
        rc = r == SQLITE_DONE ? ST_NOTFOUND : sq_fail(b, r);
    release(st);
    return rc;
}
