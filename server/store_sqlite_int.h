/* store_sqlite_int.h -- what the files of the SQLite backend share inside
 * it (not part of storage.h): the handle, its cached statements, and the
 * statement helpers of store_sqlite.c. */
#ifndef STORE_SQLITE_INT_H
#define STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "storage.h"
#include "store_sqlite_index.h"

/* Statements of the ingest path, prepared once per handle and reset after
 * each use (the index work of a batch runs many of them). */
enum {
    Q_OBJECT_PUT, Q_OBJECT_GET, Q_ME_ADD, Q_ME_LIST, Q_FLAGS_OLD, Q_FLAGS_DEL, Q_FLAG_ADD,
    Q_SUBJECT_PUT, Q_SUBJECT_GET, Q_CITE_ADD, Q_CITE_OTHER, Q_COUNT
};

typedef struct sq {
    st_backend base;
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    void *log; /* store_sqlite_log.c's statements */
    sqlite3_stmt *xq[SQX_SLOTS]; /* store_sqlite_index.c's */
    char err[256];
} sq;

/* store_sqlite.c: an SQLite error into an ST_ code, s->err set. */
int sqh_fail(sq *s, int rc);
/* The cached statement q (prepared on first use), bound: types 't' text,
 * 'b' blob (ptr, len), 'i' int64, 'h' 32-byte blob. Give it back with
 * sqh_done. NULL on failure (s->err set). */
sqlite3_stmt *sqh_cached(sq *s, int q, const char *sql, const char *types, ...);
void sqh_done(sqlite3_stmt *st);
/* Step a cached statement to completion (a row is ignored), then done. */
int sqh_cstep(sq *s, sqlite3_stmt *st);
/* Prepare, bind, step once, finalize. */
int sqh_run(sq *s, const char *sql, const char *types, ...);
/* A query positioned on its first row (caller finalizes), or NULL with
 * *rc ST_NOTFOUND or the error. */
sqlite3_stmt *sqh_row(sq *s, int *rc, const char *sql, const char *types, ...);

/* store_sqlite_matters.c: the index's objects, matters' entries, rule
 * flags, subjects and citations (storage.h, schema 2), and every entry. */
int sqm_object_put(st_backend *b, const char *id, const char *matter);
int sqm_object_matter(st_backend *b, const char *id, char *matter, size_t len);
int sqm_matter_entry_add(st_backend *b, const char *matter, int64_t device, uint64_t seq);
int sqm_matter_entries(st_backend *b, const char *matter, st_entry_cb cb, void *ud);
int sqm_flags_replace(st_backend *b, const char *matter, const st_flag *f, size_t n,
                            int64_t now);
int sqm_flag_add(st_backend *b, const st_flag *f, int64_t now);
int sqm_flags_list(st_backend *b, int64_t device, const char *matter,
                         int (*cb)(void *, const st_flag_row *), void *ud);
int sqm_subject_put(st_backend *b, int64_t device, const char *id, const char *key);
int sqm_subject_key(st_backend *b, int64_t device, const char *id, char key[65]);
int sqm_citation_add(st_backend *b, const char *key, const char *item, const char *matter,
                           int64_t device);
int sqm_citation_other(st_backend *b, const char *key, const char *item, const char *matter,
                             char *other, size_t len);
int sqm_citations_since(st_backend *b, uint64_t since, size_t max,
                              int (*cb)(void *, uint64_t, const char *, const char *, const char *),
                              void *ud);
int sqm_entries_each(st_backend *b, st_entry_cb cb, void *ud);

#endif
