/* store_sqlite_users.h -- the SQLite backend's part for console accounts
 * (store_sqlite_users.c; storage.h "console accounts"). store_sqlite.c
 * wires these into its st_ops table and lends the connection
 * (sq_log_db / sq_log_fail, store_sqlite_log.h). */
#ifndef SRV_STORE_SQLITE_USERS_H
#define SRV_STORE_SQLITE_USERS_H

#include "storage.h"

/* The schema step that adds the accounts table (schema 7, appended to
 * store_sqlite.c's migrations). */
extern const char squ_migration[];

int squ_add(st_backend *b, const st_user *u, int64_t *id);
int squ_get(st_backend *b, const char *name, st_user *out);
int squ_set_password(st_backend *b, const char *name, const char *pwhash, int64_t now);
int squ_disable(st_backend *b, const char *name, int64_t now);
int squ_each(st_backend *b, int (*cb)(void *ud, const st_user *u), void *ud);

#endif
