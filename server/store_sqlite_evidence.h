/* store_sqlite_evidence.h -- the SQLite backend's evidence index
 * (store_sqlite_evidence.c; storage.h "Evidence"). Not part of the storage
 * interface: store_sqlite.c wires these into its st_ops table and lends
 * the connection (sq_log_db, sq_log_fail). */
#ifndef SRV_STORE_SQLITE_EVIDENCE_H
#define SRV_STORE_SQLITE_EVIDENCE_H

#include "storage.h"

/* The schema step that records, per device, whether it proved possession
 * of a blob (appended to store_sqlite.c's migrations). */
extern const char sqev_migration[];

int sqev_expect(st_backend *b, const char *sha, uint64_t size, int64_t device);
int sqev_get(st_backend *b, const char *sha, int64_t device, uint64_t *size, int *complete);
int sqev_complete(st_backend *b, const char *sha, int64_t now);
int sqev_missing(st_backend *b, int64_t device, size_t max, int (*cb)(void *ud, const char *sha),
                 void *ud);
int sqev_ref(st_backend *b, const char *sha, int64_t device, st_evref *out);
int sqev_received(st_backend *b, const char *sha, int64_t device, int64_t now);
int sqev_usage(st_backend *b, int64_t device, uint64_t *bytes);

#endif
