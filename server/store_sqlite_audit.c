/* store_sqlite_audit.c -- the audit's read-only operations of the SQLite
 * backend (storage.h "audit reads"): rows exactly as stored, so that the
 * audit checks them rather than trusting them. Nothing here writes. */
#include "store_sqlite_audit.h"

#include <stdio.h>
#include <string.h>

#define ENTRY_COLS "device, seq, hash, entry, sig, kind, object, wall_ms, received_ms"

static int fail(st_backend *b)
{
    sqlite3 *db = sq_audit_db(b);
    int rc = sqlite3_errcode(db);
    sq_audit_error(b, sqlite3_errmsg(db));
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? ST_BUSY : ST_ERR;
}

static const uint8_t *blob(sqlite3_stmt *st, int col, size_t *len)
{
    const uint8_t *p = sqlite3_column_blob(st, col);
    *len = p ? (size_t)sqlite3_column_bytes(st, col) : 0;
    return p;
}

static const char *text(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t ? t : "";
}

/* Step through st (prepared, bound) calling cb per row read as an entry
 * (columns ENTRY_COLS, then accepted_hash if forks). */
static int each_entry(st_backend *b, sqlite3_stmt *st, int forks, st_audit_entry_cb cb, void *ud,
                      int *rows)
{
    int rc;
    *rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        st_audit_entry e;
        memset(&e, 0, sizeof e);
        e.device = sqlite3_column_int64(st, 0);
        e.seq = (uint64_t)sqlite3_column_int64(st, 1);
        e.hash = blob(st, 2, &e.hash_len);
        e.entry = blob(st, 3, &e.entry_len);
        e.sig = blob(st, 4, &e.sig_len);
        e.kind = text(st, 5);
        e.object = text(st, 6);
        e.wall_ms = sqlite3_column_int64(st, 7);
        e.received_ms = sqlite3_column_int64(st, 8);
        if (forks)
            e.accepted_hash = blob(st, 9, &e.accepted_hash_len);
        (*rows)++;
        if (cb(ud, &e))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = fail(b);
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    return ST_OK;
}

static sqlite3_stmt *prepare(st_backend *b, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(sq_audit_db(b), sql, -1, &st, NULL) != SQLITE_OK) {
        fail(b);
        return NULL;
    }
    return st;
}

int sq_audit_entries(st_backend *b, int64_t device, st_audit_entry_cb cb, void *ud)
{
    int rows;
    sqlite3_stmt *st = prepare(b, "SELECT " ENTRY_COLS " FROM entries WHERE device = ?"
                                  " ORDER BY seq");
    if (!st)
        return ST_ERR;
    sqlite3_bind_int64(st, 1, device);
    return each_entry(b, st, 0, cb, ud, &rows);
}

int sq_audit_entry(st_backend *b, int64_t device, uint64_t seq, st_audit_entry_cb cb, void *ud)
{
    int rows, rc;
    sqlite3_stmt *st = prepare(b, "SELECT " ENTRY_COLS " FROM entries WHERE device = ?"
                                  " AND seq = ?");
    if (!st)
        return ST_ERR;
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    rc = each_entry(b, st, 0, cb, ud, &rows);
    return rc == ST_OK && rows == 0 ? ST_NOTFOUND : rc;
}

int sq_audit_object_entries(st_backend *b, const char *object, st_audit_entry_cb cb, void *ud)
{
    int rows;
    sqlite3_stmt *st = prepare(b, "SELECT " ENTRY_COLS " FROM entries WHERE object = ?"
                                  " ORDER BY device, seq");
    if (!st)
        return ST_ERR;
    sqlite3_bind_text(st, 1, object, -1, SQLITE_TRANSIENT);
    return each_entry(b, st, 0, cb, ud, &rows);
}

int sq_audit_forks(st_backend *b, int64_t device, st_audit_entry_cb cb, void *ud)
{
    int rows;
    sqlite3_stmt *st = prepare(b, "SELECT device, seq, hash, entry, sig, '', '', 0, received_ms,"
                                  " accepted_hash FROM forks WHERE device = ? ORDER BY id");
    if (!st)
        return ST_ERR;
    sqlite3_bind_int64(st, 1, device);
    return each_entry(b, st, 1, cb, ud, &rows);
}

int sq_audit_evidence(st_backend *b,
                      int (*cb)(void *ud, const char *sha, int64_t device, uint64_t size,
                                int64_t complete_ms),
                      void *ud)
{
    int rc;
    sqlite3_stmt *st = prepare(b, "SELECT r.sha256, r.device, r.size, e.complete_ms"
                                  " FROM evidence_refs r JOIN evidence e ON e.sha256 = r.sha256"
                                  " ORDER BY r.device, r.sha256");
    if (!st)
        return ST_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ud, text(st, 0), sqlite3_column_int64(st, 1),
               (uint64_t)sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)))
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = fail(b);
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    return ST_OK;
}

int sq_audit_acks(st_backend *b, int64_t device,
                  int (*cb)(void *ud, const uint8_t *ack, size_t len, int64_t created_ms),
                  void *ud)
{
    int rc;
    sqlite3_stmt *st = prepare(b, "SELECT ack, created_ms FROM acks WHERE device = ?"
                                  " ORDER BY created_ms, batch_id");
    if (!st)
        return ST_ERR;
    sqlite3_bind_int64(st, 1, device);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t n;
        const uint8_t *p = blob(st, 0, &n);
        if (cb(ud, p, n, sqlite3_column_int64(st, 1)))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = fail(b);
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    return ST_OK;
}
