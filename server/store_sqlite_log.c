/* store_sqlite_log.c -- the server log's tables in the SQLite backend
 * (storage.h "the server log", docs/log.md).
 *
 * log_leaves(idx, data, added_ms): the leaves, append-only.
 * log_nodes(level, idx, hash): every complete subtree's hash, level 0 being
 *   the leaf hashes; server/slog.c adds a leaf's completed parents in the
 *   same transaction, so a root or a proof reads O(log n) rows.
 * log_checkpoints(size, root, note, signed_ms): every signed checkpoint.
 * All three refuse UPDATE and DELETE by trigger.
 */
#include "store_sqlite_log.h"

#include <stdlib.h>
#include <string.h>

const char sqlog_migration[] =
    "CREATE TABLE log_leaves(idx INTEGER PRIMARY KEY, data BLOB NOT NULL,"
    "  added_ms INTEGER NOT NULL);"
    "CREATE TABLE log_nodes(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  PRIMARY KEY(level, idx)) WITHOUT ROWID;"
    "CREATE TABLE log_checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL,"
    "  note TEXT NOT NULL, signed_ms INTEGER NOT NULL);"
    "CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves"
    "  BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;"
    "CREATE TRIGGER log_leaves_no_delete BEFORE DELETE ON log_leaves"
    "  BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;"
    "CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes"
    "  BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;"
    "CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes"
    "  BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;"
    "CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints"
    "  BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;"
    "CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints"
    "  BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;";

/* Statements of the ingest path, prepared once per handle. */
enum { L_SIZE, L_LEAF_ADD, L_NODE_GET, L_NODE_PUT, L_COUNT };

static const char *const sql[L_COUNT] = {
    "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves",
    "INSERT INTO log_leaves(idx, data, added_ms) VALUES(?, ?, ?)",
    "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?",
    "INSERT INTO log_nodes(level, idx, hash) VALUES(?, ?, ?)",
};

typedef struct stmts {
    sqlite3_stmt *q[L_COUNT];
} stmts;

void sqlog_release(void *slot)
{
    stmts *s = slot;
    if (!s)
        return;
    for (int i = 0; i < L_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    free(s);
}

/* The prepared statement i, reset and unbound; NULL after an error. */
static sqlite3_stmt *q(st_backend *b, int i)
{
    void **slot = sq_log_slot(b);
    stmts *s = *slot;
    int rc;
    if (!s) {
        if (!(s = calloc(1, sizeof *s)))
            return NULL;
        *slot = s;
    }
    if (!s->q[i]) {
        rc = sqlite3_prepare_v3(sq_log_db(b), sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i],
                                NULL);
        if (rc != SQLITE_OK) {
            sq_log_fail(b, rc);
            return NULL;
        }
    }
    sqlite3_reset(s->q[i]);
    sqlite3_clear_bindings(s->q[i]);
    return s->q[i];
}

static int done(st_backend *b, sqlite3_stmt *st, int rc)
{
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int r = sq_log_fail(b, rc);
        sqlite3_reset(st);
        return r;
    }
    sqlite3_reset(st);
    return ST_OK;
}

int sqlog_size(st_backend *b, uint64_t *n)
{
    sqlite3_stmt *st = q(b, L_SIZE);
    int rc;
    if (!st)
        return ST_ERR;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(st, 0);
    return done(b, st, rc);
}

int sqlog_node_put(st_backend *b, unsigned level, uint64_t index, const uint8_t hash[32])
{
    sqlite3_stmt *st = q(b, L_NODE_PUT);
    if (!st)
        return ST_ERR;
    sqlite3_bind_int(st, 1, (int)level);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
    sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
    return done(b, st, sqlite3_step(st));
}

int sqlog_leaf_add(st_backend *b, uint64_t index, const uint8_t *data, size_t len,
                   const uint8_t hash[32], int64_t now)
{
    sqlite3_stmt *st = q(b, L_LEAF_ADD);
    uint64_t n = 0;
    int rc;
    if (!st)
        return ST_ERR;
    if ((rc = sqlog_size(b, &n)) != ST_OK)
        return rc;
    if (index != n)
        return index < n ? ST_EXISTS : ST_ERR;
    st = q(b, L_LEAF_ADD);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
    sqlite3_bind_blob(st, 2, data, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if ((rc = done(b, st, sqlite3_step(st))) != ST_OK)
        return rc;
    return sqlog_node_put(b, 0, index, hash);
}

int sqlog_node_get(st_backend *b, unsigned level, uint64_t index, uint8_t hash[32])
{
    sqlite3_stmt *st = q(b, L_NODE_GET);
    int rc;
    if (!st)
        return ST_ERR;
    sqlite3_bind_int(st, 1, (int)level);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 32) {
            sqlite3_reset(st);
            return ST_ERR;
        }
        memcpy(hash, sqlite3_column_blob(st, 0), 32);
        sqlite3_reset(st);
        return ST_OK;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return ST_NOTFOUND;
    }
    return done(b, st, rc);
}

int sqlog_leaf_get(st_backend *b, uint64_t index, uint8_t **data, size_t *len)
{
    sqlite3_stmt *st;
    int rc, r = ST_NOTFOUND;
    *data = NULL;
    *len = 0;
    if ((rc = sqlite3_prepare_v2(sq_log_db(b), "SELECT data FROM log_leaves WHERE idx = ?", -1,
                                 &st, NULL)) != SQLITE_OK)
        return sq_log_fail(b, rc);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (!(*data = malloc(n ? n : 1))) {
            r = ST_ERR;
        } else {
            if (n)
                memcpy(*data, sqlite3_column_blob(st, 0), n);
            *len = n;
            r = ST_OK;
        }
    } else if (rc != SQLITE_DONE) {
        r = sq_log_fail(b, rc);
    }
    sqlite3_finalize(st);
    return r;
}

int sqlog_checkpoint_latest(st_backend *b, uint64_t *size, uint8_t root[32], char **note)
{
    sqlite3_stmt *st;
    int rc, r = ST_NOTFOUND;
    *note = NULL;
    if ((rc = sqlite3_prepare_v2(sq_log_db(b),
                                 "SELECT size, root, note FROM log_checkpoints"
                                 " ORDER BY size DESC LIMIT 1",
                                 -1, &st, NULL)) != SQLITE_OK)
        return sq_log_fail(b, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 2);
        size_t n = t ? strlen(t) : 0;
        if (sqlite3_column_bytes(st, 1) != 32 || !t || !(*note = malloc(n + 1))) {
            r = ST_ERR;
        } else {
            *size = (uint64_t)sqlite3_column_int64(st, 0);
            memcpy(root, sqlite3_column_blob(st, 1), 32);
            memcpy(*note, t, n + 1);
            r = ST_OK;
        }
    } else if (rc != SQLITE_DONE) {
        r = sq_log_fail(b, rc);
    }
    sqlite3_finalize(st);
    return r;
}

int sqlog_checkpoint_put(st_backend *b, uint64_t size, const uint8_t root[32], const char *note,
                         int64_t now)
{
    sqlite3_stmt *st;
    int rc;
    /* Sizes only grow: a checkpoint at or below the latest is refused. */
    if ((rc = sqlite3_prepare_v2(sq_log_db(b),
                                 "INSERT INTO log_checkpoints(size, root, note, signed_ms)"
                                 " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS"
                                 " (SELECT 1 FROM log_checkpoints WHERE size >= ?1)",
                                 -1, &st, NULL)) != SQLITE_OK)
        return sq_log_fail(b, rc);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    sqlite3_bind_blob(st, 2, root, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        rc = sq_log_fail(b, rc);
    else
        rc = sqlite3_changes(sq_log_db(b)) == 1 ? ST_OK : ST_EXISTS;
    sqlite3_finalize(st);
    return rc;
}

int sqlog_leaves_each(st_backend *b,
                      int (*cb)(void *ud, uint64_t index, const uint8_t *data, size_t len,
                                const uint8_t hash[32]),
                      void *ud)
{
    sqlite3_stmt *st;
    int rc, r = ST_OK;
    if ((rc = sqlite3_prepare_v2(sq_log_db(b),
                                 "SELECT l.idx, l.data, n.hash FROM log_leaves l LEFT JOIN"
                                 " log_nodes n ON n.level = 0 AND n.idx = l.idx ORDER BY l.idx",
                                 -1, &st, NULL)) != SQLITE_OK)
        return sq_log_fail(b, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        static const uint8_t none[32];
        const uint8_t *h = sqlite3_column_bytes(st, 2) == 32 ? sqlite3_column_blob(st, 2) : none;
        if (cb(ud, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
               (size_t)sqlite3_column_bytes(st, 1), h) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = sq_log_fail(b, rc);
    sqlite3_finalize(st);
    return r;
}

int sqlog_checkpoints_each(st_backend *b,
                           int (*cb)(void *ud, uint64_t size, const uint8_t root[32],
                                     const char *note, int64_t signed_ms),
                           void *ud)
{
    sqlite3_stmt *st;
    int rc, r = ST_OK;
    if ((rc = sqlite3_prepare_v2(sq_log_db(b),
                                 "SELECT size, root, note, signed_ms FROM log_checkpoints"
                                 " ORDER BY size",
                                 -1, &st, NULL)) != SQLITE_OK)
        return sq_log_fail(b, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        static const uint8_t none[32];
        const uint8_t *h = sqlite3_column_bytes(st, 1) == 32 ? sqlite3_column_blob(st, 1) : none;
        const char *note = (const char *)sqlite3_column_text(st, 2);
        if (cb(ud, (uint64_t)sqlite3_column_int64(st, 0), h, note ? note : "",
               sqlite3_column_int64(st, 3)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = sq_log_fail(b, rc);
    sqlite3_finalize(st);
    return r;
}
