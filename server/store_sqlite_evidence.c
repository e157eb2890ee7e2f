/* store_sqlite_evidence.c -- the SQLite backend's evidence index
 * (storage.h "Evidence"): which blobs the entries name, the size each
 * device's entry declared, whether the server holds the blob whole, and
 * whether each device proved it holds the bytes by sending them all
 * (docs/server.md "Evidence limits"). The files themselves are
 * server/evidence.c's. */
#include <sqlite3.h>
#include <stdio.h>

#include "store_sqlite_evidence.h"
#include "store_sqlite_log.h"

/* 5 -> 6: evidence_refs.received_ms, when this device sent every byte of
 * the blob (its possession proven); 0 until then. A device is told the
 * server holds a blob only once it did: naming a hash another device sent
 * proves nothing. References to blobs held before this step count as
 * received (which device sent them was not recorded). */
const char sqev_migration[] =
    "ALTER TABLE evidence_refs ADD COLUMN received_ms INTEGER NOT NULL DEFAULT 0;"
    "UPDATE evidence_refs SET received_ms ="
    "  (SELECT v.complete_ms FROM evidence v WHERE v.sha256 = evidence_refs.sha256);";

static int prep(st_backend *b, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(sq_log_db(b), sql, -1, st, NULL);
    return rc == SQLITE_OK ? ST_OK : sq_log_fail(b, rc);
}

/* Run one statement: ?1 is sha, ?2 and ?3 the first nint of x, y. */
static int run(st_backend *b, const char *sql, const char *sha, int64_t x, int64_t y, int nint)
{
    sqlite3_stmt *st;
    int rc = prep(b, sql, &st), r;
    if (rc != ST_OK)
        return rc;
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    if (nint > 0)
        sqlite3_bind_int64(st, 2, x);
    if (nint > 1)
        sqlite3_bind_int64(st, 3, y);
    r = sqlite3_step(st);
    rc = r == SQLITE_DONE || r == SQLITE_ROW ? ST_OK : sq_log_fail(b, r);
    sqlite3_finalize(st);
    return rc;
}

int sqev_expect(st_backend *b, const char *sha, uint64_t size, int64_t device)
{
    int rc = run(b, "INSERT OR IGNORE INTO evidence(sha256) VALUES (?1)", sha, 0, 0, 0);
    if (rc == ST_OK)
        rc = run(b, "INSERT OR IGNORE INTO evidence_refs(sha256, device, size) VALUES (?1, ?2, ?3)",
                 sha, device, (int64_t)size, 2);
    return rc;
}

int sqev_ref(st_backend *b, const char *sha, int64_t device, st_evref *out)
{
    sqlite3_stmt *st;
    int rc = prep(b,
                  "SELECT r.size, v.complete_ms, r.received_ms FROM evidence v JOIN evidence_refs r"
                  " ON r.sha256 = v.sha256 WHERE v.sha256 = ? AND r.device = ?",
                  &st),
        r;
    if (rc != ST_OK)
        return rc;
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, device);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->size = (uint64_t)sqlite3_column_int64(st, 0);
        out->stored = sqlite3_column_int64(st, 1) != 0;
        out->received = sqlite3_column_int64(st, 2) != 0;
        rc = ST_OK;
    } else {
        rc = r == SQLITE_DONE ? ST_NOTFOUND : sq_log_fail(b, r);
    }
    sqlite3_finalize(st);
    return rc;
}

int sqev_get(st_backend *b, const char *sha, int64_t device, uint64_t *size, int *complete)
{
    st_evref r;
    int rc = sqev_ref(b, sha, device, &r);
    if (rc == ST_OK) {
        *size = r.size;
        *complete = r.stored;
    }
    return rc;
}

int sqev_complete(st_backend *b, const char *sha, int64_t now)
{
    return run(b, "UPDATE evidence SET complete_ms = ?2 WHERE sha256 = ?1 AND complete_ms = 0", sha,
               now, 0, 1);
}

int sqev_received(st_backend *b, const char *sha, int64_t device, int64_t now)
{
    int rc = run(b, "UPDATE evidence SET complete_ms = ?2 WHERE sha256 = ?1 AND complete_ms = 0",
                 sha, now, 0, 1);
    if (rc == ST_OK)
        rc = run(b, "UPDATE evidence_refs SET received_ms = ?3"
                    " WHERE sha256 = ?1 AND device = ?2 AND received_ms = 0",
                 sha, device, now, 2);
    return rc;
}

int sqev_usage(st_backend *b, int64_t device, uint64_t *bytes)
{
    sqlite3_stmt *st;
    int rc = prep(b,
                  "SELECT coalesce(sum(size), 0) FROM evidence_refs"
                  " WHERE device = ? AND received_ms != 0",
                  &st),
        r;
    if (rc != ST_OK)
        return rc;
    sqlite3_bind_int64(st, 1, device);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *bytes = (uint64_t)sqlite3_column_int64(st, 0);
        rc = ST_OK;
    } else {
        rc = sq_log_fail(b, r);
    }
    sqlite3_finalize(st);
    return rc;
}

/* What the device still has to send: blobs its entries name whose bytes
 * it has not sent whole (held from another device or not). */
int sqev_missing(st_backend *b, int64_t device, size_t max, int (*cb)(void *ud, const char *sha),
                 void *ud)
{
    sqlite3_stmt *st;
    int r, rc = prep(b,
                     "SELECT sha256 FROM evidence_refs WHERE device = ? AND received_ms = 0"
                     " ORDER BY sha256 LIMIT ?",
                     &st);
    if (rc != ST_OK)
        return rc;
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ud, (const char *)sqlite3_column_text(st, 0)) != 0)
            break;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sq_log_fail(b, r);
    sqlite3_finalize(st);
    return rc;
}
