/* internal.h -- libpatrol's private types; px_ symbols never leave the
 * library (compiled with -fvisibility=hidden). */
#ifndef PX_INTERNAL_H
#define PX_INTERNAL_H

#include <sqlite3.h>
#include <sys/types.h>
#include <stdint.h>

#include "patrol/patrol.h"
#include "crypto.h"
#include "patrol.pb-c.h"

#define PX_SCHEMA_VERSION 7
#define PX_APPLICATION_ID 0x50545231 /* "PTR1": marks a patrol store */

struct patrol {
    sqlite3 *db;
    char *dir;
    int lock_fd;
    int lock_registered;     /* in the process's table of open stores */
    int lock_created;        /* this open created LOCK (removed if the open fails) */
    int lock_excl;           /* LOCK byte 0 held exclusively (during open/init) */
    int mark_fd;             /* PATROL_TEST_MARKS: where px_mark writes, or -1 */
    dev_t lock_dev;
    ino_t lock_ino;
    px_key *key;
    uint8_t device_id[PX_HASH_LEN];
    char dev8[9];            /* first 8 hex digits of the device id: in every id */
    uint64_t appended_seq;   /* the entry this transaction appended (0: none) */
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
int px_store_open_db(patrol *p, const char *path, int create);
int px_store_migrate(patrol *p);
int px_exec(patrol *p, const char *sql);
int px_begin(patrol *p); /* BEGIN IMMEDIATE */
int px_commit(patrol *p);
void px_rollback(patrol *p);
char *px_path(const patrol *p, const char *name); /* malloc'd dir/name */
int px_fsync_dir(const char *path);
/* The sync lock (LOCK byte 1, docs/store.md "Locks"): PATROL_ELOCKED if
 * another process syncs this store. Released by px_sync_unlock or close. */
int px_sync_lock(patrol *p);
void px_sync_unlock(patrol *p);
/* Test hook: with PATROL_TEST_MARKS=FILE in the environment when the
 * store was opened, append "<what> <CLOCK_REALTIME ns>\n" to FILE (the
 * crash tests tell from the last line what a kill -9 interrupted:
 * "begin" ... "commit" ... "committed"). Nothing otherwise. */
void px_mark(patrol *p, const char *what);
/* write() all n bytes (retrying EINTR and short writes); -1 with errno. */
int px_write_all(int fd, const void *buf, size_t n);

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
    /* Called with the entry as it will be signed (seq, time, fields all
     * set), inside the transaction, before it is signed and stored: the
     * record's rules across entries (record.c). Non-zero refuses it. */
    int (*check)(patrol *p, const Patrol__V1__Entry *e, void *ud);
    void *check_ud;
} px_append;
int px_journal_head(patrol *p, uint64_t *seq, uint8_t hash[PX_HASH_LEN]);
int px_journal_append(patrol *p, const px_append *a, uint64_t *seq_out,
                      uint8_t hash_out[PX_HASH_LEN]);

/* record.c: record one entry (patrol_record) with extra fields that the
 * library fills in (evidence hash and size), which skip the "not typed by
 * users" check but not the rules; and the genesis entry of a new store. */
int px_record_fields(patrol *p, const patrol_record_in *in, const patrol_field *extra,
                     size_t n_extra, patrol_saved *out);
/* The same, inside the caller's write transaction (px_begin ... px_commit),
 * for several entries that are recorded together or not at all. */
int px_append_entry(patrol *p, const patrol_record_in *in, const patrol_field *extra,
                    size_t n_extra, patrol_saved *out);
int px_init_genesis(patrol *p, const char *department, const char *device_name);

/* matterview.c: the matter state machine (proto/matter.h) on the
 * terminal. px_mview_check replays the stored entries of `matter` with e
 * added and refuses e (px_fail, the rule named) if it breaks a rule the
 * record without it did not; new_matter marks a matter.open, which is
 * also checked against the county-wide citations. px_mview_write then
 * rewrites the matter's views (after e is in the journal); free with
 * px_mview_free (NULL-safe, also after a failed check). */
#include "matter.h"
typedef struct px_mview {
    Patrol__V1__Entry **decoded; /* the matter's stored entries */
    size_t n;
    px_mentry *ents;             /* n + 1: the stored ones and e */
    Patrol__V1__Entry *added;    /* a copy of e */
    px_matter with;              /* replay with e */
    int have;                    /* with is a passed check */
    char department[65];         /* PX_IDENT_MAX + 1 */
} px_mview;
int px_mview_check(patrol *p, px_mview *v, const char *matter, const Patrol__V1__Entry *e,
                   int new_matter);
int px_mview_write(patrol *p, const px_mview *v);
void px_mview_free(px_mview *v);
/* A department-level act (dept.*): PATROL_OK or a refusal naming the rule. */
int px_act_record_check(patrol *p, const Patrol__V1__Entry *e);
/* Note the outcome of a revisit of another terminal's matter. */
int px_assigned_done(patrol *p, const char *revisit, const char *outcome, uint64_t seq);
/* Rebuild every matter view from the journal (migration 4). */
int px_views_rebuild(patrol *p);
/* Lower-case hex SHA-256 of a subject's credit code or identity number:
 * how the server names a subject county-wide. PATROL_ENOTFOUND if none. */
int px_subject_key(patrol *p, const char *subject, char key[2 * PX_HASH_LEN + 1]);

/* refdata.c: built-in reference data for a new store (inside the
 * caller's transaction); and for a store migrated from schema
 * from_version (1 or 2) to 3 that never received the server's reference
 * data: the departments, leaflets and list item metadata schema 3 added
 * (nothing for from_version 0, a new database, or a store with server
 * data). Called by px_store_migrate inside its transaction. */
int px_refdata_seed(patrol *p);
int px_refdata_upgrade(patrol *p, int from_version);

/* sync_reference.c: check a Reference whole (px_reference_check) and apply it in
 * one transaction, or refuse it (PATROL_ESERVER, naming the place) with
 * the store unchanged. The caller checks that its version is newer. */
struct Patrol__V1__Reference;
int px_reference_apply(patrol *p, const struct Patrol__V1__Reference *ref);

/* sync_cited.c: the county-wide citations pull of patrol_sync. get does
 * one GET of path on the sync's connection (retrying as every request
 * does): PATROL_OK with the server's status and its body (malloc'd, the
 * caller frees; at most max bytes), or an error that ends the sync. */
typedef int (*px_get_fn)(void *ud, const char *path, size_t max, long *status, uint8_t **body,
                         size_t *len);
/* Pull GET /v1/citations from sync_state.cited_since until the server has
 * no more, each page and its cursor in one transaction; *pulled counts the
 * citations received. PATROL_ESERVER for a refusal or a bad answer (the
 * caller reports it after the rest of the sync); a server without the
 * endpoint (404) is not an error. */
int px_sync_cited(patrol *p, px_get_fn get, void *ud, uint64_t *pulled);

/* sync_log.c: the server log's checkpoint and inclusion proof in a batch's
 * Ack (docs/log.md "Receipts"). check verifies them (the checkpoint's
 * signature with the receipt key, the proof of the batch's last accepted
 * entry, rebuilt from the journal) into *out (present 0: the server sent
 * none); keep stores it if it is newer than the one kept for the server. */
typedef struct px_log_checkpoint {
    int present;
    uint64_t size;
    char note[1024];
} px_log_checkpoint;
int px_sync_log_check(patrol *p, const px_key *receipt_key, const Patrol__V1__Ack *ack,
                      px_log_checkpoint *out);
int px_sync_log_keep(patrol *p, const uint8_t pin[PX_HASH_LEN], const px_log_checkpoint *c);

/* Make "<prefix>-<dev8>-<seq>" ids. */
void px_make_id(const patrol *p, char prefix, uint64_t seq, char *out, size_t len);



/* Run one statement with bound arguments described by types: 't' text
 * (const char *, NULL binds NULL), 'i' int64. Returns PATROL_OK when it
 * completes; a returned row is ignored. */
int px_run(patrol *p, const char *sql, const char *types, ...);

/* Fetch the first column of the first row as text into out.
 * PATROL_ENOTFOUND if there is no row. Binds as px_run. */
int px_get_text(patrol *p, char *out, size_t len, const char *sql, const char *types, ...);
/* sync_token.c, sync_batch.c, sync_receipt.c: the pieces of sync that
 * tests/test_sync_unit.c checks alone. */
#define PX_TOKEN_ID_LEN 8
#define PX_TOKEN_SECRET_LEN 16
#define PX_BATCH_ID_LEN 16
#define PX_SYNC_BATCH_ENTRIES 500 /* entries per batch we send (PX_BATCH_MAX_ENTRIES: what the server takes) */
#define PX_BATCH_MAX_BYTES (1u << 20) /* encoded Batch, before LZ4 */

typedef struct px_token {
    char id_secret[64];      /* "<id>.<secret>": EnrollRequest.token */
    uint8_t pin[PX_HASH_LEN]; /* SHA-256 of the server key's SubjectPublicKeyInfo */
} px_token;

/* Parse an enrolment token "PT1.<id>.<secret>.<pin>" (base64url: 8, 16
 * and 32 bytes; surrounding spaces ignored). Returns 0, or -1 with *why
 * a static sentence. Whether the token is expired or used only the
 * server knows. */
int px_token_parse(const char *s, px_token *out, const char **why);

/* One batch ready to send: an LZ4 frame holding a Batch of the signed
 * entries first..last (n of them). sizes[i] is the signed size (entry +
 * signature) of entry first+i. Free with px_batch_free (NULL-safe). */
typedef struct px_batch {
    uint8_t *frame;
    size_t frame_len;
    size_t raw_len; /* encoded Batch */
    uint64_t first, last;
    size_t n;
    uint32_t *sizes;
} px_batch;

/* Build the batch of entries from `from` upward: as many as fit in
 * max_entries (capped at PX_SYNC_BATCH_ENTRIES) and max_bytes of encoded
 * Batch (capped at PX_BATCH_MAX_BYTES), at least one. PATROL_ENOTFOUND if
 * there is no entry `from`. */
int px_batch_build(patrol *p, uint64_t from, size_t max_entries, size_t max_bytes,
                   const uint8_t batch_id[PX_BATCH_ID_LEN], px_batch *out);
void px_batch_free(px_batch *b);

/* A receipt's body, once its signature verified. */
typedef struct px_receipt {
    uint64_t first_seq, last_seq;
    uint8_t head_hash[PX_HASH_LEN];
    int64_t server_time_ms;
    char server_name[128];
} px_receipt;

/* Check a Receipt: sig is the receipt key's signature over
 * SHA-256(body); body is a ReceiptBody naming device and (when batch_id is
 * not NULL) that batch, with a 32-byte head hash when last_seq > 0.
 * Returns 0 and fills out, or -1 with *why. Whether the head hash is this
 * journal's is the caller's check. */
int px_receipt_check(const px_key *receipt_key, const uint8_t *body, size_t body_len,
                     const uint8_t *sig, size_t sig_len, const uint8_t device[PX_HASH_LEN],
                     const uint8_t *batch_id, size_t batch_id_len, px_receipt *out,
                     const char **why);

#endif
