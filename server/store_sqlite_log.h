/* store_sqlite_log.h -- the SQLite backend's part for the server log
 * (store_sqlite_log.c; storage.h "the server log"). Not part of the
 * storage interface: store_sqlite.c wires these into its st_ops table and
 * lends the connection. */
#ifndef SRV_STORE_SQLITE_LOG_H
#define SRV_STORE_SQLITE_LOG_H

#include <sqlite3.h>

#include "storage.h"

/* The schema step that adds the log's tables (appended to
 * store_sqlite.c's migrations). */
extern const char sqlog_migration[];

/* Lent by store_sqlite.c: the handle's connection, a slot where this file
 * keeps its prepared statements (freed by sqlog_release at close), and
 * the error setter (SQLite's message, rc mapped to ST_*). */
sqlite3 *sq_log_db(st_backend *b);
void **sq_log_slot(st_backend *b);
int sq_log_fail(st_backend *b, int rc);

void sqlog_release(void *slot);

int sqlog_size(st_backend *b, uint64_t *n);
int sqlog_leaf_add(st_backend *b, uint64_t index, const uint8_t *data, size_t len,
                   const uint8_t hash[32], int64_t now);
int sqlog_leaf_get(st_backend *b, uint64_t index, uint8_t **data, size_t *len);
int sqlog_node_get(st_backend *b, unsigned level, uint64_t index, uint8_t hash[32]);
int sqlog_node_put(st_backend *b, unsigned level, uint64_t index, const uint8_t hash[32]);
int sqlog_checkpoint_latest(st_backend *b, uint64_t *size, uint8_t root[32], char **note);
int sqlog_checkpoint_put(st_backend *b, uint64_t size, const uint8_t root[32], const char *note,
                         int64_t now);
int sqlog_leaves_each(st_backend *b,
                      int (*cb)(void *ud, uint64_t index, const uint8_t *data, size_t len,
                                const uint8_t hash[32]),
                      void *ud);
int sqlog_checkpoints_each(st_backend *b,
                           int (*cb)(void *ud, uint64_t size, const uint8_t root[32],
                                     const char *note, int64_t signed_ms),
                           void *ud);

#endif
