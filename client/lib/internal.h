/* internal.h -- libpatrol's private types; px_ symbols never leave the
 * library (compiled with -fvisibility=hidden). */
#ifndef PX_INTERNAL_H
#define PX_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "patrol/patrol.h"
#include "crypto.h"

#define PX_SCHEMA_VERSION 1
#define PX_APPLICATION_ID 0x50545231 /* "PTR1": marks a patrol store */

struct patrol {
    sqlite3 *db;
    char *dir;
    int lock_fd;
    px_key *key;
    uint8_t device_id[PX_HASH_LEN];
    char dev8[9];            /* first 8 hex digits of the device id: in every id */
    char errmsg[512];
};

/* Set p->errmsg (printf-style) and return err. */
int px_fail(patrol *p, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Map an SQLite result to a patrol_err and message; returns the error. */
int px_db_fail(patrol *p, int rc, const char *what);

/* store.c */
int px_store_create_schema(patrol *p);
int px_store_open_db(patrol *p, const char *path, int create);
int px_store_migrate(patrol *p);
int px_exec(patrol *p, const char *sql);
int px_begin(patrol *p); /* BEGIN IMMEDIATE */
int px_commit(patrol *p);
void px_rollback(patrol *p);
char *px_path(const patrol *p, const char *name); /* malloc'd dir/name */
int px_fsync_dir(const char *path);

/* journal.c: append one entry inside the caller's transaction. The
 * fields must be sorted by name. On success fills out. */
typedef struct px_append {
    const char *kind;
    const char *object;
    const char *matter; /* "" if none */
    const char *const *inspectors;
    size_t n_inspectors;
    const patrol_field *fields;
    size_t n_fields;
    const patrol_location *location;
    uint64_t corrects;
} px_append;
int px_journal_head(patrol *p, uint64_t *seq, uint8_t hash[PX_HASH_LEN]);
int px_journal_append(patrol *p, const px_append *a, uint64_t *seq_out,
                      uint8_t hash_out[PX_HASH_LEN]);

/* refdata.c: built-in reference data for a new store. */
int px_refdata_seed(patrol *p);

/* Make "<prefix>-<dev8>-<seq>" ids. */
void px_make_id(const patrol *p, char prefix, uint64_t seq, char *out, size_t len);



/* Run one statement with bound arguments described by types: 't' text
 * (const char *, NULL binds NULL), 'i' int64. Returns PATROL_OK when it
 * completes; a returned row is ignored. */
int px_run(patrol *p, const char *sql, const char *types, ...);

/* Fetch the first column of the first row as text into out.
 * PATROL_ENOTFOUND if there is no row. Binds as px_run. */
int px_get_text(patrol *p, char *out, size_t len, const char *sql, const char *types, ...);
#endif
