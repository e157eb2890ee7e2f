/* store_sqlite_users.c -- console accounts in the SQLite backend
 * (storage.h "console accounts"; server/users.c is the only caller).
 * Accounts are never deleted: a disabled one keeps its row, so a name in
 * the server log always names one account. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store_sqlite_log.h"
#include "store_sqlite_users.h"

const char squ_migration[] =
    "CREATE TABLE web_users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK(role IN ('admin', 'supervisor', 'reviewer')),"
    "  department TEXT NOT NULL DEFAULT '', pwhash TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL,"
    "  disabled_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TRIGGER web_users_no_delete BEFORE DELETE ON web_users"
    "  BEGIN SELECT RAISE(ABORT, 'accounts are disabled, not deleted'); END;";

static int prep(st_backend *b, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(sq_log_db(b), sql, -1, st, NULL);
    return rc == SQLITE_OK ? ST_OK : sq_log_fail(b, rc);
}

/* Step a statement that returns no row; ST_NOTFOUND if it changed none. */
static int run(st_backend *b, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sq_log_fail(b, rc);
    return sqlite3_changes(sq_log_db(b)) > 0 ? ST_OK : ST_NOTFOUND;
}

static void copy(char *dst, size_t len, const unsigned char *src)
{
    snprintf(dst, len, "%s", src ? (const char *)src : "");
}

static void row(sqlite3_stmt *st, st_user *u)
{
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    copy(u->name, sizeof u->name, sqlite3_column_text(st, 1));
    copy(u->role, sizeof u->role, sqlite3_column_text(st, 2));
    copy(u->department, sizeof u->department, sqlite3_column_text(st, 3));
    copy(u->pwhash, sizeof u->pwhash, sqlite3_column_text(st, 4));
    u->created_ms = sqlite3_column_int64(st, 5);
    u->changed_ms = sqlite3_column_int64(st, 6);
    u->disabled_ms = sqlite3_column_int64(st, 7);
}

#define COLS "id, name, role, department, pwhash, created_ms, changed_ms, disabled_ms"

int squ_add(st_backend *b, const st_user *u, int64_t *id)
{
    sqlite3_stmt *st;
    int rc = prep(b,
                  "INSERT INTO web_users(name, role, department, pwhash, created_ms, changed_ms)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  &st);
    if (rc != ST_OK)
        return rc;
    sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->department, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, u->pwhash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, u->created_ms);
    sqlite3_bind_int64(st, 6, u->created_ms);
    rc = run(b, st);
    if (rc == ST_OK && id)
        *id = sqlite3_last_insert_rowid(sq_log_db(b));
    return rc;
}

int squ_get(st_backend *b, const char *name, st_user *out)
{
    sqlite3_stmt *st;
    int rc = prep(b, "SELECT " COLS " FROM web_users WHERE name = ?", &st);
    if (rc != ST_OK)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row(st, out);
        rc = ST_OK;
    } else
        rc = rc == SQLITE_DONE ? ST_NOTFOUND : sq_log_fail(b, rc);
    sqlite3_finalize(st);
    return rc;
}

int squ_set_password(st_backend *b, const char *name, const char *pwhash, int64_t now)
{
    sqlite3_stmt *st;
    int rc = prep(b, "UPDATE web_users SET pwhash = ?, changed_ms = ? WHERE name = ?", &st);
    if (rc != ST_OK)
        return rc;
    sqlite3_bind_text(st, 1, pwhash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    return run(b, st);
}

int squ_disable(st_backend *b, const char *name, int64_t now)
{
    sqlite3_stmt *st;
    int rc = prep(b,
                  "UPDATE web_users SET disabled_ms = CASE disabled_ms WHEN 0 THEN ?"
                  " ELSE disabled_ms END WHERE name = ?",
                  &st);
    if (rc != ST_OK)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    return run(b, st);
}

int squ_each(st_backend *b, int (*cb)(void *ud, const st_user *u), void *ud)
{
    sqlite3_stmt *st;
    st_user u;
    int rc = prep(b, "SELECT " COLS " FROM web_users ORDER BY name", &st);
    if (rc != ST_OK)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row(st, &u);
        if (cb(ud, &u))
            break;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : sq_log_fail(b, rc);
    sqlite3_finalize(st);
    memset(&u, 0, sizeof u);
    return rc;
}
