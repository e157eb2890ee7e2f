/* store_sqlite_report.c -- the SQLite backend's operations for reports
 * (storage.h "reports"): entries with their receive time, and the
 * reports filed (备案) in table report_filings (schema 3). */
#include <stdio.h>
#include <string.h>

#include "store_sqlite_index.h"
#include "store_sqlite_report.h"

int sqr_report_entries(st_backend *b, int (*cb)(void *ud, const st_report_row *r), void *ud)
{
    sqlite3 *db = sq_db(b);
    sqlite3_stmt *st;
    int r, rc = ST_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT device, seq, wall_ms, received_ms, entry FROM entries"
                           " ORDER BY received_ms, device, seq",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(b, sqlite3_errcode(db));
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        st_report_row row = {sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
                             sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                             sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4)};
        if (cb(ud, &row) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sq_fail(b, r);
    sqlite3_finalize(st);
    return rc;
}

int sqr_filing_put(st_backend *b, const st_filing *f, int64_t *version)
{
    sqlite3 *db = sq_db(b);
    sqlite3_stmt *st = NULL;
    int64_t v = 1;
    int r;

    if (sqlite3_prepare_v2(db,
                           "SELECT COALESCE(MAX(version), 0) + 1 FROM report_filings"
                           " WHERE period = ? AND department = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(b, sqlite3_errcode(db));
    sqlite3_bind_text(st, 1, f->period, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, f->department, -1, SQLITE_TRANSIENT);
    if ((r = sqlite3_step(st)) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sq_fail(b, r);
    }
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO report_filings(period, department, version, report,"
                           " sha256, sig, key_id, filed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(b, sqlite3_errcode(db));
    sqlite3_bind_text(st, 1, f->period, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, f->department, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, v);
    sqlite3_bind_text(st, 4, f->report, (int)f->report_len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, f->sha256, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, f->sig, 64, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 7, f->key_id, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, f->filed_ms);
    r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r != SQLITE_DONE)
        return sq_fail(b, r);
    *version = v;
    return ST_OK;
}

static void blob_copy(sqlite3_stmt *st, int col, uint8_t *out, size_t n)
{
    const void *p = sqlite3_column_blob(st, col);
    memset(out, 0, n);
    if (p && (size_t)sqlite3_column_bytes(st, col) == n)
        memcpy(out, p, n);
}

int sqr_filings_list(st_backend *b, const char *period, const char *department,
                     int (*cb)(void *ud, const st_filing *f), void *ud)
{
    sqlite3 *db = sq_db(b);
    sqlite3_stmt *st;
    int r, rc = ST_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, period, department, version, report, sha256, sig, key_id,"
                           " filed_ms FROM report_filings WHERE ?1 IS NULL OR (period = ?1 AND"
                           " department = ?2) ORDER BY period, department, version",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(b, sqlite3_errcode(db));
    if (period) {
        sqlite3_bind_text(st, 1, period, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, department ? department : "", -1, SQLITE_TRANSIENT);
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        st_filing f;
        memset(&f, 0, sizeof f);
        f.id = sqlite3_column_int64(st, 0);
        f.period = (const char *)sqlite3_column_text(st, 1);
        f.department = (const char *)sqlite3_column_text(st, 2);
        f.version = sqlite3_column_int64(st, 3);
        f.report = (const char *)sqlite3_column_text(st, 4);
        f.report_len = (size_t)sqlite3_column_bytes(st, 4);
        blob_copy(st, 5, f.sha256, sizeof f.sha256);
        blob_copy(st, 6, f.sig, sizeof f.sig);
        blob_copy(st, 7, f.key_id, sizeof f.key_id);
        f.filed_ms = sqlite3_column_int64(st, 8);
        if (cb(ud, &f) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sq_fail(b, r);
    sqlite3_finalize(st);
    return rc;
}
