/* store_sqlite.c -- the embedded default storage backend (storage.h):
 * SQLite in WAL mode with synchronous=FULL, because an acknowledgement
 * depends on every commit being durable. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage.h"

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x50544431 /* "PTD1" */

typedef struct sq {
    st_backend base;
    sqlite3 *db;
    char err[256];
} sq;

static const char schema[] =
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

static int fail(sq *s, int rc)
{
    snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return ST_BUSY;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return ST_EXISTS;
    return ST_ERR;
}

/* Prepare and bind: types 't' text, 'b' blob (ptr, len), 'i' int64,
 * 'h' 32-byte blob. */
static sqlite3_stmt *prep(sq *s, const char *sql, const char *types, va_list ap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(s, sqlite3_errcode(s->db));
        return NULL;
    }
    for (int i = 0; types[i]; i++) {
        switch (types[i]) {
        case 't':
            sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            sqlite3_bind_blob(st, i + 1, p, (int)n, SQLITE_TRANSIENT);
            break;
        }
        case 'h':
            sqlite3_bind_blob(st, i + 1, va_arg(ap, const void *), 32, SQLITE_TRANSIENT);
            break;
        default:
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
            break;
        }
    }
    return st;
}

#include <stdarg.h>

static int run(sq *s, const char *sql, const char *types, ...)
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
        return fail(s, rc);
    return ST_OK;
}

/* Run a query; on a row, returns the statement positioned on it (caller
 * finalizes). NULL and *rc = ST_NOTFOUND / error otherwise. */
static sqlite3_stmt *row(sq *s, int *rc, const char *sql, const char *types, ...)
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
    *rc = r == SQLITE_DONE ? ST_NOTFOUND : fail(s, r);
    sqlite3_finalize(st);
    return NULL;
}

static void sq_close(st_backend *b)
{
    sq *s = (sq *)b;
    if (!s)
        return;
    sqlite3_close_v2(s->db);
    free(s);
}

static const char *sq_errmsg(st_backend *b)
{
    return ((sq *)b)->err;
}

static int sq_begin(st_backend *b)
{
    return run((sq *)b, "BEGIN IMMEDIATE", "");
}

static int sq_commit(st_backend *b)
{
    sq *s = (sq *)b;
    int rc = run(s, "COMMIT", "");
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
    sqlite3_stmt *st = row((sq *)b, &rc, "SELECT value FROM meta WHERE key = ?", "t", key);
    if (!st)
        return rc;
    snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_meta_set(st_backend *b, const char *key, const char *value)
{
    return run((sq *)b, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", "tt", key, value);
}

static int sq_device_add(st_backend *b, const char *name, const char *dept, int64_t now,
                         int64_t *id)
{
    sq *s = (sq *)b;
    int rc = run(s, "INSERT INTO devices(name, department, created_ms) VALUES (?, ?, ?)", "tti",
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
    sqlite3_stmt *st = row((sq *)b, &rc, "SELECT " DEVICE_COLS " FROM devices d WHERE id = ?",
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
    sqlite3_stmt *st = row((sq *)b, &rc, "SELECT " DEVICE_COLS " FROM devices d WHERE key_id = ?",
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
    return run((sq *)b,
               "UPDATE devices SET status = 1, public_key = ?, key_id = ?, enrolled_ms = ?"
               " WHERE id = ? AND status = 0",
               "bhii", pub, publen, key_id, now, id);
}

static int sq_device_revoke(st_backend *b, int64_t id)
{
    sq *s = (sq *)b;
    int rc = run(s, "UPDATE devices SET status = 2 WHERE id = ?", "i", id);
    if (rc == ST_OK && sqlite3_changes(s->db) == 0)
        return ST_NOTFOUND;
    return rc;
}

static int sq_device_set_head(st_backend *b, int64_t id, uint64_t seq, const uint8_t head[32],
                              int64_t now)
{
    return run((sq *)b, "UPDATE devices SET last_seq = ?, head = ?, last_sync_ms = ? WHERE id = ?",
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
        return fail(s, sqlite3_errcode(s->db));
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
        rc = fail(s, r);
    sqlite3_finalize(st);
    return rc;
}

static int sq_token_add(st_backend *b, const uint8_t id[8], const st_token *t)
{
    return run((sq *)b,
               "INSERT INTO tokens(id, device, secret_hash, expires_ms) VALUES (?, ?, ?, ?)",
               "bihi", id, (size_t)8, t->device, t->secret_hash, t->expires_ms);
}

static int sq_token_get(st_backend *b, const uint8_t id[8], st_token *out)
{
    int rc;
    sqlite3_stmt *st = row((sq *)b, &rc,
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
    int rc = run(s, "UPDATE tokens SET used_ms = ? WHERE id = ? AND used_ms = 0", "ib", now, id,
                 (size_t)8);
    if (rc == ST_OK && sqlite3_changes(s->db) == 0)
        return ST_EXISTS; /* used meanwhile */
    return rc;
}

static int sq_entry_hash(st_backend *b, int64_t device, uint64_t seq, uint8_t hash[32])
{
    int rc;
    sqlite3_stmt *st = row((sq *)b, &rc, "SELECT hash FROM entries WHERE device = ? AND seq = ?",
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
    return run((sq *)b,
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
    sqlite3_stmt *st = row((sq *)b, &rc, "SELECT entry, sig FROM entries WHERE device = ? AND seq = ?",
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
    return run((sq *)b,
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
    sqlite3_stmt *st = row((sq *)b, &rc, "SELECT ack FROM acks WHERE device = ? AND batch_id = ?",
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
    return run((sq *)b, "INSERT INTO acks(device, batch_id, ack, created_ms) VALUES (?, ?, ?, ?)",
               "ibbi", device, batch_id, (size_t)16, ack, len, now);
}

static int sq_evidence_expect(st_backend *b, const char *sha, uint64_t size, int64_t device)
{
    sq *s = (sq *)b;
    int rc = run(s, "INSERT OR IGNORE INTO evidence(sha256) VALUES (?)", "t", sha);
    if (rc == ST_OK)
        rc = run(s, "INSERT OR IGNORE INTO evidence_refs(sha256, device, size) VALUES (?, ?, ?)",
                 "tii", sha, device, (int64_t)size);
    return rc;
}

static int sq_evidence_get(st_backend *b, const char *sha, int64_t device, uint64_t *size,
                           int *complete)
{
    int rc;
    sqlite3_stmt *st = row((sq *)b, &rc,
                           "SELECT r.size, v.complete_ms FROM evidence v JOIN evidence_refs r"
                           " ON r.sha256 = v.sha256 WHERE v.sha256 = ? AND r.device = ?",
                           "ti", sha, device);
    if (!st)
        return rc;
    *size = (uint64_t)sqlite3_column_int64(st, 0);
    *complete = sqlite3_column_int64(st, 1) != 0;
    sqlite3_finalize(st);
    return ST_OK;
}

static int sq_evidence_complete(st_backend *b, const char *sha, int64_t now)
{
    return run((sq *)b, "UPDATE evidence SET complete_ms = ? WHERE sha256 = ? AND complete_ms = 0",
               "it", now, sha);
}

static int sq_evidence_missing(st_backend *b, int64_t device, size_t max,
                               int (*cb)(void *, const char *), void *ud)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    int r, rc = ST_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT v.sha256 FROM evidence v JOIN evidence_refs r"
                           " ON r.sha256 = v.sha256 WHERE r.device = ? AND v.complete_ms = 0"
                           " ORDER BY v.sha256 LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(s, sqlite3_errcode(s->db));
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ud, (const char *)sqlite3_column_text(st, 0)) != 0)
            break;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = fail(s, r);
    sqlite3_finalize(st);
    return rc;
}

static int sq_reference_put(st_backend *b, const uint8_t *blob, size_t len, int64_t now,
                            uint64_t *version)
{
    sq *s = (sq *)b;
    int rc = run(s,
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
    sqlite3_stmt *st = row((sq *)b, &rc,
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

static const st_ops sqlite_ops = {
    sq_close,           sq_errmsg,          sq_begin,          sq_commit,
    sq_rollback,        sq_meta_get,        sq_meta_set,       sq_device_add,
    sq_device_get,      sq_device_by_key,   sq_device_enroll,  sq_device_revoke,
    sq_device_set_head, sq_device_list,     sq_token_add,      sq_token_get,
    sq_token_use,       sq_entry_hash,      sq_entry_put,      sq_entry_get,
    sq_fork_put,        sq_ack_get,         sq_ack_put,        sq_evidence_expect,
    sq_evidence_get,    sq_evidence_complete, sq_evidence_missing, sq_reference_put,
    sq_reference_latest,
};

st_backend *st_sqlite_open(const char *path, int create, char *err, size_t errlen)
{
    sq *s = calloc(1, sizeof *s);
    int rc, version = 0, appid = 0;
    sqlite3_stmt *st;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                             (create ? SQLITE_OPEN_CREATE : 0),
                         NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto bad;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* synchronous=FULL: nothing is acknowledged before it survives power
     * loss (with NORMAL the last WAL commits may be lost). */
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                            "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        goto bad;
    }
    if (sqlite3_prepare_v2(s->db, "SELECT (SELECT user_version FROM pragma_user_version),"
                                  " (SELECT application_id FROM pragma_application_id)",
                           -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            version = sqlite3_column_int(st, 0);
            appid = sqlite3_column_int(st, 1);
        }
        sqlite3_finalize(st);
    }
    if (version == 0 && appid == 0 && create) {
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d; PRAGMA application_id=%d;",
                 SCHEMA_VERSION, APPLICATION_ID);
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "creating %s: %s", path, sqlite3_errmsg(s->db));
            goto bad;
        }
    } else if (appid != APPLICATION_ID) {
        snprintf(err, errlen, "%s is not a patrold database", path);
        goto bad;
    } else if (version != SCHEMA_VERSION) {
        snprintf(err, errlen, "%s has schema version %d; this patrold supports %d", path, version,
                 SCHEMA_VERSION);
        goto bad;
    }
    return &s->base;
bad:
    sqlite3_close_v2(s->db);
    free(s);
    return NULL;
}
