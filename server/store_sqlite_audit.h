/* store_sqlite_audit.h -- the audit's read-only operations of the SQLite
 * backend (storage.h, "audit reads"), kept apart from store_sqlite.c.
 * Internal to the backend: store_sqlite.c puts them in its ops table and
 * lends its connection through the two accessors. */
#ifndef SRV_STORE_SQLITE_AUDIT_H
#define SRV_STORE_SQLITE_AUDIT_H

#include <sqlite3.h>

#include "storage.h"

/* The backend's connection, and its error buffer (store_sqlite.c). */
sqlite3 *sq_audit_db(st_backend *b);
void sq_audit_error(st_backend *b, const char *msg);

int sq_audit_entries(st_backend *b, int64_t device, st_audit_entry_cb cb, void *ud);
int sq_audit_entry(st_backend *b, int64_t device, uint64_t seq, st_audit_entry_cb cb, void *ud);
int sq_audit_object_entries(st_backend *b, const char *object, st_audit_entry_cb cb, void *ud);
int sq_audit_forks(st_backend *b, int64_t device, st_audit_entry_cb cb, void *ud);
int sq_audit_evidence(st_backend *b,
                      int (*cb)(void *ud, const char *sha, int64_t device, uint64_t size,
                                int64_t complete_ms),
                      void *ud);
int sq_audit_acks(st_backend *b, int64_t device,
                  int (*cb)(void *ud, const uint8_t *ack, size_t len, int64_t created_ms),
                  void *ud);

#endif
