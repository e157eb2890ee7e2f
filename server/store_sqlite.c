/* store_sqlite.c -- the embedded default storage backend (storage.h):
 * SQLite in WAL mode with synchronous=FULL, because an acknowledgement
 * depends on every commit being durable. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage.h"
#include "store_sqlite_log.h"
#include "store_sqlite_report.h"
#include "store_sqlite_index.h"
#include "store_sqlite_audit.h"
#include "store_sqlite_evidence.h"
#include "store_sqlite_users.h"

#define APPLICATION_ID 0x50544431 /* "PTD1" */

#include "store_sqlite_int.h"

static st_reindex_fn reindex_hook;

void st_set_reindex(st_reindex_fn fn)
{
    reindex_hook = fn;
}

/* Schema migrations: migrations[i] takes the schema from version i to
 * i+1, all steps of one upgrade in one transaction. Never edit a released
 * step; append one (and say what it does in docs/server.md). */
static const char migration_1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE devices(id INTEGER PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0, key_id BLOB UNIQUE, public_key BLOB,"
    "  last_seq INTEGER NOT NULL DEFAULT 0, head BLOB NOT NULL DEFAULT (zeroblob(32)),"
    "  created_ms INTEGER NOT NULL, enrolled_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_sync_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE tokens(id BLOB PRIMARY KEY, device INTEGER NOT NULL REFERENCES devices(id),"
    "  secret_hash BLOB NOT NULL, expires_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE entries(device INTEGER NOT NULL REFERENCES devices(id), seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL, entry BLOB NOT NULL, sig BLOB NOT NULL, kind TEXT NOT NULL,"
    "  object TEXT NOT NULL, wall_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(device, seq)) WITHOUT ROWID;"
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries"
    "  BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;"
    "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries"
    "  BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;"
    "CREATE TABLE forks(id INTEGER PRIMARY KEY, device INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL, accepted_hash BLOB NOT NULL, entry BLOB NOT NULL, sig BLOB NOT NULL,"
    "  received_ms INTEGER NOT NULL, UNIQUE(device, seq, hash));"
    "CREATE TABLE acks(device INTEGER NOT NULL, batch_id BLOB NOT NULL, ack BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL, PRIMARY KEY(device, batch_id)) WITHOUT ROWID;"
    /* A blob is stored once for everyone; each device that names it keeps
     * the size its own entry declared, so one device cannot make another's
     * upload impossible by declaring a wrong size first. */
    "CREATE TABLE evidence(sha256 TEXT PRIMARY KEY, complete_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE evidence_refs(sha256 TEXT NOT NULL REFERENCES evidence(sha256),"
    "  device INTEGER NOT NULL REFERENCES devices(id), size INTEGER NOT NULL,"
    "  PRIMARY KEY(sha256, device)) WITHOUT ROWID;"
    "CREATE INDEX evidence_refs_device ON evidence_refs(device);"
    "CREATE TABLE reference(version INTEGER PRIMARY KEY, blob BLOB NOT NULL,"
    "  imported_ms INTEGER NOT NULL);";

/* 1 -> 2: the index the server keeps beside the entries (server/index.c):
 * which matter each document and revisit belongs to, each matter's entries
 * from every device in the order they were stored, the rule flags of the
 * matter state machine, each device's subjects with their subject key, and
 * the county-wide list of matters citing a three-list item for a subject
 * (served by GET /v1/citations; id is the cursor). */
static const char migration_2[] =
    "CREATE TABLE objects(id TEXT PRIMARY KEY, matter TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE matter_entries(id INTEGER PRIMARY KEY, matter TEXT NOT NULL,"
    "  device INTEGER NOT NULL, seq INTEGER NOT NULL, UNIQUE(device, seq));"
    "CREATE INDEX matter_entries_matter ON matter_entries(matter, id);"
    "CREATE TABLE rule_flags(device INTEGER NOT NULL, seq INTEGER NOT NULL, rule TEXT NOT NULL,"
    "  flag_only INTEGER NOT NULL, detail TEXT NOT NULL, matter TEXT NOT NULL,"
    "  flagged_ms INTEGER NOT NULL, PRIMARY KEY(device, seq, rule)) WITHOUT ROWID;"
    "CREATE INDEX rule_flags_matter ON rule_flags(matter);"
    "CREATE TABLE subjects(device INTEGER NOT NULL, id TEXT NOT NULL,"
    "  subject_key TEXT NOT NULL, PRIMARY KEY(device, id)) WITHOUT ROWID;"
    "CREATE TABLE citations(id INTEGER PRIMARY KEY, subject_key TEXT NOT NULL,"
    "  item TEXT NOT NULL, matter TEXT NOT NULL, device INTEGER NOT NULL,"
    "  UNIQUE(subject_key, item, matter));";

/* 3 -> 4: reports frozen for filing (备案, `patrold audit file`), signed
 * and versioned, append-only like the entries (server/audit_file.c). */
static const char migration_4[] =
    "CREATE TABLE report_filings(id INTEGER PRIMARY KEY, period TEXT NOT NULL,"
    "  department TEXT NOT NULL, version INTEGER NOT NULL, report TEXT NOT NULL,"
    "  sha256 BLOB NOT NULL, sig BLOB NOT NULL, key_id BLOB NOT NULL, filed_ms INTEGER NOT NULL,"
    "  UNIQUE(period, department, version));"
    "CREATE TRIGGER report_filings_no_update BEFORE UPDATE ON report_filings"
    "  BEGIN SELECT RAISE(ABORT, 'filed reports are append-only'); END;"
    "CREATE TRIGGER report_filings_no_delete BEFORE DELETE ON report_filings"
    "  BEGIN SELECT RAISE(ABORT, 'filed reports are append-only'); END;";

static const char *const migrations[] = {migration_1, migration_2, sqx_migration_index, migration_4,
                                          sqlog_migration, sqev_migration, squ_migration};
#define SCHEMA_VERSION (int)(sizeof migrations / sizeof migrations[0])

int sqh_fail(sq *s, int rc)
{
    snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return ST_BUSY;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return ST_EXISTS;
    return ST_ERR;
}

/* Bind: types 't' text, 'b' blob (ptr, len), 'i' int64, 'h' 32-byte
 * blob. */
/* Bind the arguments; SQLITE_OK or the first bind's error. A bind that
 * fails (SQLITE_NOMEM copying a value) leaves its parameter NULL: running
 * the statement anyway would look up or store NULL (test_fault found a
 * batch answered 403 unknown_device when the device key's copy failed). */
static int bind_args(sqlite3_stmt *st, const char *types, va_list ap)
{
    int rc = SQLITE_OK, r;
    for (int i = 0; types[i]; i++) {
        switch (types[i]) {
        case 't':
            r = sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            r = sqlite3_bind_blob(st, i + 1, p, (int)n, SQLITE_TRANSIENT);
            break;
        }
        case 'h':
            r = sqlite3_bind_blob(st, i + 1, va_arg(ap, const void *), 32, SQLITE_TRANSIENT);
            break;
        default:
            r = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
            break;
        }
        if (r != SQLITE_OK && rc == SQLITE_OK)
            rc = r;
    }
    return rc;
}

/* Prepare and bind (types as bind_args). */
static sqlite3_stmt *prep(sq *s, const char *sql, const char *types, va_list ap)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqh_fail(s, sqlite3_errcode(s->db));
        return NULL;
    }
    if ((rc = bind_args(st, types, ap)) != SQLITE_OK) {
        sqlite3_finalize(st);
        sqh_fail(s, rc);
        return NULL;
    }
    return st;
}

/* The cached statement q (prepared on first use), bound. Give it back
 * with sqh_done(). */
void sqh_done(sqlite3_stmt *st);

sqlite3_stmt *sqh_cached(sq *s, int q, const char *sql, const char *types, ...)
{
    va_list ap;
    int rc;
    if (!s->q[q] && sqlite3_prepare_v2(s->db, sql, -1, &s->q[q], NULL) != SQLITE_OK) {
        sqh_fail(s, sqlite3_errcode(s->db));
        s->q[q] = NULL;
        return NULL;
    }
    va_start(ap, types);
    rc = bind_args(s->q[q], types, ap);
    va_end(ap);
    if (rc != SQLITE_OK) {
        sqh_done(s->q[q]);
        sqh_fail(s, rc);
        return NULL;
    }
    return s->q[q];
}

void sqh_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Step a cached statement to completion (a returned row is ignored). */
int sqh_cstep(sq *s, sqlite3_stmt *st)
{
    int rc;
    if (!st)
        return ST_ERR;
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        rc = sqh_fail(s, rc);
    else
        rc = ST_OK;
    sqh_done(st);
    return rc;
}

int sqh_run(sq *s, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int rc;
    va_start(ap, types);
    st = prep(s, sql, types, ap);
    va_end(ap);
    if (!st)
        return ST_ERR;
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sqh_fail(s, rc);
    return ST_OK;
}

/* Run a query; on a row, returns the statement positioned on it (caller
 * finalizes). NULL and *rc = ST_NOTFOUND / error otherwise. */
sqlite3_stmt *sqh_row(sq *s, int *rc, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int r;
    va_start(ap, types);
    st = prep(s, sql, types, ap);
    va_end(ap);
    if (!st) {
        *rc = ST_ERR;
        return NULL;
    }
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *rc = ST_OK;
        return st;
    }
    *rc = r == SQLITE_DONE ? ST_NOTFOUND : sqh_fail(s, r);
    sqlite3_finalize(st);
    return NULL;
}

static void sq_close(st_backend *b)
{
    sq *s = (sq *)b;
    if (!s)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    for (int i = 0; i < SQX_SLOTS; i++)
        sqlite3_finalize(s->xq[i]);
    sqlog_release(s->log);
    sqlite3_close_v2(s->db);
    free(s);
}

/* Lent to store_sqlite_index.c (store_sqlite_index.h). */
sqlite3 *sq_db(st_backend *b)
{
    return ((sq *)b)->db;
}

int sq_fail(st_backend *b, int rc)
{
    return sqh_fail((sq *)b, rc);
}

void sq_set_err(st_backend *b, const char *msg)
{
    snprintf(((sq *)b)->err, sizeof ((sq *)b)->err, "%s", msg);
}

sqlite3_stmt **sq_slots(st_backend *b)
{
    return ((sq *)b)->xq;
}

static const char *sq_errmsg(st_backend *b)
{
    return ((sq *)b)->err;
}

static int sq_begin(st_backend *b)
{
    return sqh_run((sq *)b, "BEGIN IMMEDIATE", "");
}

static int sq_commit(st_backend *b)
{
    sq *s = (sq *)b;
    int rc = sqh_run(s, "COMMIT", "");
    if (rc != ST_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void sq_rollback(st_backend *b)
{
    sq *s = (sq *)b;
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_meta_get(st_backend *b, const char *key, char *out, size_t len)
{
    int rc;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc, "SELECT value FROM meta WHERE key = ?", "t", key);
    if (!st)
        return rc;
    snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_meta_set(st_backend *b, const char *key, const char *value)
{
    return sqh_run((sq *)b, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", "tt", key, value);
}

static int sq_device_add(st_backend *b, const char *name, const char *dept, int64_t now,
                         int64_t *id)
{
    sq *s = (sq *)b;
    int rc = sqh_run(s, "INSERT INTO devices(name, department, created_ms) VALUES (?, ?, ?)", "tti",
                 name, dept, now);
    if (rc == ST_OK)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

#define DEVICE_COLS                                                                                \
    "d.id, d.name, d.department, d.status, d.key_id, d.public_key, d.last_seq, d.head,"           \
    " d.created_ms, d.enrolled_ms, d.last_sync_ms"

static void read_device(sqlite3_stmt *st, st_device *d)
{
    const void *p;
    int n;
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    snprintf(d->name, sizeof d->name, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(d->department, sizeof d->department, "%s", (const char *)sqlite3_column_text(st, 2));
    d->status = sqlite3_column_int(st, 3);
    if ((p = sqlite3_column_blob(st, 4)) && sqlite3_column_bytes(st, 4) == 32)
        memcpy(d->key_id, p, 32);
    n = sqlite3_column_bytes(st, 5);
    if ((p = sqlite3_column_blob(st, 5)) && n > 0 && (size_t)n <= sizeof d->public_key) {
        memcpy(d->public_key, p, (size_t)n);
        d->public_key_len = (size_t)n;
    }
    d->last_seq = (uint64_t)sqlite3_column_int64(st, 6);
    if ((p = sqlite3_column_blob(st, 7)) && sqlite3_column_bytes(st, 7) == 32)
        memcpy(d->head, p, 32);
    d->created_ms = sqlite3_column_int64(st, 8);
    d->enrolled_ms = sqlite3_column_int64(st, 9);
    d->last_sync_ms = sqlite3_column_int64(st, 10);
}

static int sq_device_get(st_backend *b, int64_t id, st_device *out)
{
    int rc;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc, "SELECT " DEVICE_COLS " FROM devices d WHERE id = ?",
                           "i", id);
    if (!st)
        return rc;
    read_device(st, out);
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_device_by_key(st_backend *b, const uint8_t key_id[32], st_device *out)
{
    int rc;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc, "SELECT " DEVICE_COLS " FROM devices d WHERE key_id = ?",
                           "h", key_id);
    if (!st)
        return rc;
    read_device(st, out);
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_device_enroll(st_backend *b, int64_t id, const uint8_t *pub, size_t publen,
                            const uint8_t key_id[32], int64_t now)
{
    return sqh_run((sq *)b,
               "UPDATE devices SET status = 1, public_key = ?, key_id = ?, enrolled_ms = ?"
               " WHERE id = ? AND status = 0",
               "bhii", pub, publen, key_id, now, id);
}

static int sq_device_revoke(st_backend *b, int64_t id)
{
    sq *s = (sq *)b;
    int rc = sqh_run(s, "UPDATE devices SET status = 2 WHERE id = ?", "i", id);
    if (rc == ST_OK && sqlite3_changes(s->db) == 0)
        return ST_NOTFOUND;
    return rc;
}

static int sq_device_set_head(st_backend *b, int64_t id, uint64_t seq, const uint8_t head[32],
                              int64_t now)
{
    return sqh_run((sq *)b, "UPDATE devices SET last_seq = ?, head = ?, last_sync_ms = ? WHERE id = ?",
               "ihii", (int64_t)seq, head, now, id);
}

static int sq_device_list(st_backend *b, int (*cb)(void *, const st_device *), void *ud)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    int r, rc = ST_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " DEVICE_COLS ","
                           " (SELECT count(*) FROM entries e WHERE e.device = d.id),"
                           " (SELECT count(*) FROM evidence_refs r JOIN evidence v"
                           "   ON v.sha256 = r.sha256 WHERE r.device = d.id AND v.complete_ms = 0),"
                           " (SELECT count(*) FROM forks f WHERE f.device = d.id)"
                           " FROM devices d ORDER BY d.id",
                           -1, &st, NULL) != SQLITE_OK)
        return sqh_fail(s, sqlite3_errcode(s->db));
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        st_device d;
        read_device(st, &d);
        d.entries = (uint64_t)sqlite3_column_int64(st, 11);
        d.evidence_pending = (uint64_t)sqlite3_column_int64(st, 12);
        d.forks = (uint64_t)sqlite3_column_int64(st, 13);
        if (cb(ud, &d) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sqh_fail(s, r);
    sqlite3_finalize(st);
    return rc;
}

static int sq_token_add(st_backend *b, const uint8_t id[8], const st_token *t)
{
    return sqh_run((sq *)b,
               "INSERT INTO tokens(id, device, secret_hash, expires_ms) VALUES (?, ?, ?, ?)",
               "bihi", id, (size_t)8, t->device, t->secret_hash, t->expires_ms);
}

static int sq_token_get(st_backend *b, const uint8_t id[8], st_token *out)
{
    int rc;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc,
                           "SELECT device, secret_hash, expires_ms, used_ms FROM tokens WHERE id = ?",
                           "b", id, (size_t)8);
    if (!st)
        return rc;
    memset(out, 0, sizeof *out);
    out->device = sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) == 32)
        memcpy(out->secret_hash, sqlite3_column_blob(st, 1), 32);
    out->expires_ms = sqlite3_column_int64(st, 2);
    out->used_ms = sqlite3_column_int64(st, 3);
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_token_use(st_backend *b, const uint8_t id[8], int64_t now)
{
    sq *s = (sq *)b;
    int rc = sqh_run(s, "UPDATE tokens SET used_ms = ? WHERE id = ? AND used_ms = 0", "ib", now, id,
                 (size_t)8);
    if (rc == ST_OK && sqlite3_changes(s->db) == 0)
        return ST_EXISTS; /* used meanwhile */
    return rc;
}

static int sq_entry_hash(st_backend *b, int64_t device, uint64_t seq, uint8_t hash[32])
{
    int rc;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc, "SELECT hash FROM entries WHERE device = ? AND seq = ?",
                           "ii", device, (int64_t)seq);
    if (!st)
        return rc;
    if (sqlite3_column_bytes(st, 0) == 32)
        memcpy(hash, sqlite3_column_blob(st, 0), 32);
    else
        rc = ST_ERR;
    sqlite3_finalize(st);
    return rc;
}

static int sq_entry_put(st_backend *b, int64_t device, const st_entry *e, int64_t now)
{
    return sqh_run((sq *)b,
               "INSERT INTO entries(device, seq, hash, entry, sig, kind, object, wall_ms,"
               " received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               "iihbbttii", device, (int64_t)e->seq, e->hash, e->entry, e->entry_len, e->sig,
               (size_t)64, e->kind, e->object, e->wall_ms, now);
}

static int sq_entry_get(st_backend *b, int64_t device, uint64_t seq, uint8_t **entry, size_t *len,
                        uint8_t sig[64])
{
    int rc;
    size_t n;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc, "SELECT entry, sig FROM entries WHERE device = ? AND seq = ?",
                           "ii", device, (int64_t)seq);
    if (!st)
        return rc;
    n = (size_t)sqlite3_column_bytes(st, 0);
    *entry = malloc(n ? n : 1);
    if (!*entry || sqlite3_column_bytes(st, 1) != 64) {
        free(*entry);
        *entry = NULL;
        sqlite3_finalize(st);
        return ST_ERR;
    }
    memcpy(*entry, sqlite3_column_blob(st, 0), n);
    memcpy(sig, sqlite3_column_blob(st, 1), 64);
    *len = n;
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_fork_put(st_backend *b, int64_t device, const st_entry *e, const uint8_t accepted[32],
                       int64_t now)
{
    return sqh_run((sq *)b,
               "INSERT OR IGNORE INTO forks(device, seq, hash, accepted_hash, entry, sig,"
               " received_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
               "iihhbbi", device, (int64_t)e->seq, e->hash, accepted, e->entry, e->entry_len,
               e->sig, (size_t)64, now);
}

static int sq_ack_get(st_backend *b, int64_t device, const uint8_t batch_id[16], uint8_t **ack,
                      size_t *len)
{
    int rc;
    size_t n;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc, "SELECT ack FROM acks WHERE device = ? AND batch_id = ?",
                           "ib", device, batch_id, (size_t)16);
    if (!st)
        return rc;
    n = (size_t)sqlite3_column_bytes(st, 0);
    if (!(*ack = malloc(n ? n : 1))) {
        sqlite3_finalize(st);
        return ST_ERR;
    }
    memcpy(*ack, sqlite3_column_blob(st, 0), n);
    *len = n;
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_ack_put(st_backend *b, int64_t device, const uint8_t batch_id[16], const uint8_t *ack,
                      size_t len, int64_t now)
{
    return sqh_run((sq *)b, "INSERT INTO acks(device, batch_id, ack, created_ms) VALUES (?, ?, ?, ?)",
               "ibbi", device, batch_id, (size_t)16, ack, len, now);
}

static int sq_reference_put(st_backend *b, const uint8_t *blob, size_t len, int64_t now,
                            uint64_t *version)
{
    sq *s = (sq *)b;
    int rc = sqh_run(s,
                 "INSERT INTO reference(version, blob, imported_ms)"
                 " VALUES ((SELECT coalesce(max(version), 0) + 1 FROM reference), ?, ?)",
                 "bi", blob, len, now);
    if (rc == ST_OK)
        *version = (uint64_t)sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_reference_latest(st_backend *b, uint64_t *version, uint8_t **blob, size_t *len)
{
    int rc;
    size_t n;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc,
                           "SELECT version, blob FROM reference ORDER BY version DESC LIMIT 1", "");
    if (!st)
        return rc;
    *version = (uint64_t)sqlite3_column_int64(st, 0);
    n = (size_t)sqlite3_column_bytes(st, 1);
    if (!(*blob = malloc(n ? n : 1))) {
        sqlite3_finalize(st);
        return ST_ERR;
    }
    memcpy(*blob, sqlite3_column_blob(st, 1), n);
    *len = n;
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_reference_get(st_backend *b, uint64_t version, uint8_t **blob, size_t *len,
                            int64_t *imported_ms)
{
    int rc;
    size_t n;
    sqlite3_stmt *st = sqh_row((sq *)b, &rc, "SELECT blob, imported_ms FROM reference WHERE version = ?",
                           "i", (int64_t)version);
    if (!st)
        return rc;
    n = (size_t)sqlite3_column_bytes(st, 0);
    if (!(*blob = malloc(n ? n : 1))) {
        sqlite3_finalize(st);
        return ST_ERR;
    }
    if (n)
        memcpy(*blob, sqlite3_column_blob(st, 0), n);
    *len = n;
    *imported_ms = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_references_each(st_backend *b,
                              int (*cb)(void *ud, uint64_t version, int64_t imported_ms, size_t len),
                              void *ud)
{
    sq *s = (sq *)b;
    int rc, r;
    sqlite3_stmt *st = sqh_row(s, &rc,
                           "SELECT version, imported_ms, length(blob) FROM reference"
                           " ORDER BY version DESC",
                           "");
    if (!st)
        return rc == ST_NOTFOUND ? ST_OK : rc;
    do {
        if (cb(ud, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
               (size_t)sqlite3_column_int64(st, 2)))
            break;
    } while ((r = sqlite3_step(st)) == SQLITE_ROW);
    rc = ST_OK;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sqh_fail(s, r);
    sqlite3_finalize(st);
    return rc;
}

/* The whole database, as one read transaction sees it, into a new file at
 * path (SQLite's online backup API, all pages in one step: writers go on
 * meanwhile in WAL mode), then fsync'd. */
static int sq_backup(st_backend *b, const char *path)
{
    sq *s = (sq *)b;
    sqlite3 *dst = NULL;
    sqlite3_backup *bk;
    int rc;

    rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        snprintf(s->err, sizeof s->err, "%s: %s", path, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        sqlite3_close(dst);
        return ST_ERR;
    }
    if (!(bk = sqlite3_backup_init(dst, "main", s->db, "main"))) {
        snprintf(s->err, sizeof s->err, "%s: %s", path, sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return ST_ERR;
    }
    do {
        rc = sqlite3_backup_step(bk, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(50);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(bk);
    if (rc != SQLITE_DONE) {
        snprintf(s->err, sizeof s->err, "%s: %s", path, sqlite3_errstr(rc));
        sqlite3_close(dst);
        return ST_ERR;
    }
    /* The copy is a plain rollback-journal database, synced in full. */
    if (sqlite3_exec(dst, "PRAGMA synchronous=FULL; PRAGMA journal_mode=DELETE;"
                          " PRAGMA quick_check;", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(s->err, sizeof s->err, "%s: %s", path, sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return ST_ERR;
    }
    rc = sqlite3_close(dst);
    return rc == SQLITE_OK ? ST_OK : ST_ERR;
}

static const st_ops sqlite_ops = {
    sq_close,           sq_errmsg,          sq_begin,          sq_commit,
    sq_rollback,        sq_meta_get,        sq_meta_set,       sq_device_add,
    sq_device_get,      sq_device_by_key,   sq_device_enroll,  sq_device_revoke,
    sq_device_set_head, sq_device_list,     sq_token_add,      sq_token_get,
    sq_token_use,       sq_entry_hash,      sq_entry_put,      sq_entry_get,
    sq_fork_put,        sq_ack_get,         sq_ack_put,        sqev_expect,
    sqev_get,           sqev_complete,      sqev_missing,      sq_reference_put,
    sq_reference_latest, sqm_object_put,     sqm_object_matter,  sqm_matter_entry_add,
    sqm_matter_entries,  sqm_flags_replace,   sqm_flag_add,       sqm_flags_list,
    sqm_subject_put,     sqm_subject_key,     sqm_citation_add,   sqm_citation_other,
    sqm_citations_since, sqm_entries_each,
    /* Designated, so that other ops may be added in any order before. */
    .audit_entries = sq_audit_entries, .audit_entry = sq_audit_entry,
    .audit_object_entries = sq_audit_object_entries, .audit_forks = sq_audit_forks,
    .audit_evidence = sq_audit_evidence, .audit_acks = sq_audit_acks,
    /* The matter index (store_sqlite_index.c). */
    .index_clear = sqx_index_clear, .index_rebuilt = sqx_index_rebuilt,
    .inspector_put = sqx_inspector_put, .subject_info_put = sqx_subject_info_put,
    .act_put = sqx_act_put, .matter_put = sqx_matter_put, .matter_get = sqx_matter_get,
    .matters_each = sqx_matters_each, .inspector_get = sqx_inspector_get,
    .subject_get = sqx_subject_get, .entry_received = sqx_entry_received,
    /* Reports (store_sqlite_report.c). */
    .report_entries = sqr_report_entries, .filing_put = sqr_filing_put,
    .filings_list = sqr_filings_list,
    /* The server log (store_sqlite_log.c). */
    .log_size = sqlog_size, .log_leaf_add = sqlog_leaf_add, .log_leaf_get = sqlog_leaf_get,
    .log_node_get = sqlog_node_get, .log_node_put = sqlog_node_put,
    .log_checkpoint_latest = sqlog_checkpoint_latest,
    .log_checkpoint_put = sqlog_checkpoint_put, .log_leaves_each = sqlog_leaves_each,
    .log_checkpoints_each = sqlog_checkpoints_each,
    /* Evidence possession and quotas (store_sqlite_evidence.c), backup. */
    .evidence_ref = sqev_ref, .evidence_received = sqev_received,
    .evidence_usage = sqev_usage, .backup = sq_backup,
    /* Reference versions, for the console's 清单. */
    .reference_get = sq_reference_get, .references_each = sq_references_each,
    /* Console accounts (store_sqlite_users.c). */
    .user_add = squ_add, .user_get = squ_get, .user_set_password = squ_set_password,
    .user_disable = squ_disable, .users_each = squ_each,
};

/* Lent to store_sqlite_log.c (store_sqlite_log.h). */
sqlite3 *sq_log_db(st_backend *b)
{
    return ((sq *)b)->db;
}

void **sq_log_slot(st_backend *b)
{
    return &((sq *)b)->log;
}

int sq_log_fail(st_backend *b, int rc)
{
    return sqh_fail((sq *)b, rc);
}

/* For store_sqlite_audit.c: the connection and the error buffer. */
sqlite3 *sq_audit_db(st_backend *b)
{
    return ((sq *)b)->db;
}

void sq_audit_error(st_backend *b, const char *msg)
{
    snprintf(((sq *)b)->err, sizeof ((sq *)b)->err, "%s", msg);
}

/* The schema version that brought the matter index's tables: a database
 * older than it is re-indexed by its upgrade. */
static int index_schema(void)
{
    for (int v = 0; v < SCHEMA_VERSION; v++)
        if (migrations[v] == sqx_migration_index)
            return v + 1;
    return SCHEMA_VERSION;
}

static int pragma_versions(sqlite3 *db, int *version, int *appid)
{
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM pragma_user_version),"
                               " (SELECT application_id FROM pragma_application_id)",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        *appid = sqlite3_column_int(st, 1);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Bring the schema to SCHEMA_VERSION in one transaction: the steps, the
 * re-indexing of the entries already held (when the index is new), the
 * version. The version is read again inside the transaction: another
 * process may have upgraded meanwhile. */
static int upgrade(sq *s, const char *path, int create, char *err, size_t errlen)
{
    int version = 0, appid = 0, rc;
    char sql[96];

    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        pragma_versions(s->db, &version, &appid) != 0) {
        snprintf(err, errlen, "upgrading %s: %s", path, sqlite3_errmsg(s->db));
        goto bad;
    }
    if (version == SCHEMA_VERSION && appid == APPLICATION_ID)
        return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (version == 0 && appid == 0 && !create) {
        snprintf(err, errlen, "%s is empty: not a patrold database", path);
        goto bad;
    }
    for (int v = version; v < SCHEMA_VERSION; v++) {
        if (sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "upgrading %s to schema %d: %s", path, v + 1,
                     sqlite3_errmsg(s->db));
            goto bad;
        }
    }
    if (version >= 1 && version < index_schema()) {
        /* The index is new, or has new tables: index and flag the entries
         * already held. */
        int n = 0;
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, "SELECT EXISTS (SELECT 1 FROM entries)", -1, &st, NULL) ==
            SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int(st, 0);
            sqlite3_finalize(st);
        }
        if (n && !reindex_hook) {
            snprintf(err, errlen, "%s holds entries to index on its upgrade to schema %d and"
                                  " this program cannot index them: open it with patrold", path,
                     SCHEMA_VERSION);
            goto bad;
        }
        if (n && (rc = reindex_hook(&s->base, err, errlen)) != ST_OK)
            goto bad;
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d; PRAGMA application_id=%d;",
             SCHEMA_VERSION, APPLICATION_ID);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "upgrading %s: %s", path, sqlite3_errmsg(s->db));
        goto bad;
    }
    return 0;
bad:
    for (int q = 0; q < Q_COUNT; q++) {
        sqlite3_finalize(s->q[q]);
        s->q[q] = NULL;
    }
    for (int q = 0; q < SQX_SLOTS; q++) {
        sqlite3_finalize(s->xq[q]);
        s->xq[q] = NULL;
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

st_backend *st_sqlite_open(const char *path, int flags, char *err, size_t errlen)
{
    sq *s = calloc(1, sizeof *s);
    int rc, version = 0, appid = 0, create = (flags & ST_OPEN_CREATE) != 0,
            ro = (flags & ST_OPEN_READONLY) != 0;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    rc = sqlite3_open_v2(path, &s->db,
                         (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX |
                             (create && !ro ? SQLITE_OPEN_CREATE : 0),
                         NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto bad;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* synchronous=FULL: nothing is acknowledged before it survives power
     * loss (with NORMAL the last WAL commits may be lost). A read-only
     * handle reads the WAL that serve's handles write. */
    if (sqlite3_exec(s->db, ro ? "PRAGMA foreign_keys=ON;"
                               : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                 "PRAGMA foreign_keys=ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        goto bad;
    }
    if (pragma_versions(s->db, &version, &appid) != 0) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        goto bad;
    }
    if (!(version == 0 && appid == 0 && create) && appid != APPLICATION_ID) {
        snprintf(err, errlen, "%s is not a patrold database", path);
        goto bad;
    }
    if (version > SCHEMA_VERSION) {
        snprintf(err, errlen, "%s has schema version %d; this patrold supports up to %d: use a "
                              "newer patrold", path, version, SCHEMA_VERSION);
        goto bad;
    }
    if (version < SCHEMA_VERSION) {
        if (ro) {
            snprintf(err, errlen, "%s has schema version %d and needs an upgrade to %d, which"
                                  " a read-only command does not do: run 'patrold serve' or"
                                  " 'patrold device list' once",
                     path, version, SCHEMA_VERSION);
            goto bad;
        }
        if (upgrade(s, path, create, err, errlen) != 0)
            goto bad;
    }
    return &s->base;
bad:
    sq_close(&s->base);
    return NULL;
}
