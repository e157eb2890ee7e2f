/* store_sqlite_index.h -- the SQLite queries of the matter index (schema
 * 3), kept beside store_sqlite.c (which wires them into its st_ops table).
 * Internal to the SQLite backend: nothing else includes this. */
#ifndef SRV_STORE_SQLITE_INDEX_H
#define SRV_STORE_SQLITE_INDEX_H

#include <sqlite3.h>

#include "storage.h"

/* What store_sqlite.c lends the index queries: the handle's connection,
 * its error buffer, and SQX_SLOTS statements prepared once per handle
 * (finalized by its close). */
#define SQX_SLOTS 24
sqlite3 *sq_db(st_backend *b);
int sq_fail(st_backend *b, int rc);
void sq_set_err(st_backend *b, const char *msg);
sqlite3_stmt **sq_slots(st_backend *b);

/* The schema step that adds the index tables (its number is its place
 * in store_sqlite.c's migrations). */
extern const char sqx_migration_index[];

int sqx_index_clear(st_backend *b);
int sqx_index_rebuilt(st_backend *b);
int sqx_inspector_put(st_backend *b, const st_iinspector *in);
int sqx_subject_info_put(st_backend *b, const st_isubject *sub);
int sqx_act_put(st_backend *b, const st_iact *act);
int sqx_matter_put(st_backend *b, const st_imatter *m);
int sqx_matter_get(st_backend *b, const char *id, st_imatter *out);
int sqx_matters_each(st_backend *b, const char *department,
                     int (*cb)(void *ud, const st_imatter *m), void *ud);
int sqx_inspector_get(st_backend *b, int64_t device, const char *id, st_iinspector *out);
int sqx_subject_get(st_backend *b, int64_t device, const char *id, st_isubject *out);
int sqx_entry_received(st_backend *b, int64_t device, uint64_t seq, int64_t *received_ms);

#endif
