/* sync_int.h -- what the pieces of patrol_sync share, internal to
 * libpatrol: the syncer (one sync run: its connection, options, result,
 * progress and the evidence the server asked for), the store helpers and
 * the limits on what the server may send back, all owned by sync.c
 * (px_sync_ prefix). The pieces, one noun a file:
 *   sync.c            patrol_sync: the run, its options and progress (px_sync_)
 *   sync_token.c      the enrolment token (px_token_)
 *   sync_enroll.c     patrol_enroll and client.crt (px_enroll_)
 *   sync_batch.c      batches of signed entries, and sending them (px_batch_)
 *   sync_receipt.c    receipts: checked, stored, what the server holds (px_receipt_)
 *   sync_upload.c     resumable evidence upload (px_upload_)
 *   sync_reference.c  the reference data pull and its applying (px_reference_)
 *   sync_status.c     patrol_sync_status
 *   sync_cited.c      the county-wide citations pull (px_sync_cited)
 *   sync_log.c        the server log in receipts (px_sync_log_)
 *   sync_http.c       the HTTP layer (px_http_, sync_http.h)
 * Divided from sync.c (2,051 lines) by noun; behaviour unchanged. */
#ifndef PX_SYNC_INT_H
#define PX_SYNC_INT_H

#include "internal.h"
#include "sync_http.h"

#include "reference.h"

/* What the server may send back, checked while receiving. */
#define MAX_SMALL_ANSWER PX_MAX_SMALL_ANSWER
#define MAX_ACK ((size_t)2 << 20)           /* 1000 statuses + missing evidence */
#define MAX_REFERENCE PX_REFERENCE_MAX_BYTES /* proto/reference.h: patrold imports no more */
#define RECEIPT_BODY_MAX 4096

/* Evidence: bytes per PATCH. The server takes 8 MiB; 4 MiB keeps one
 * request short. On a slow link the chunk shrinks so that one PATCH takes
 * about CHUNK_TARGET_S, well under the server's 120 s request limit. */
#define CHUNK_MAX ((size_t)4 << 20)
#define CHUNK_MIN ((size_t)64 << 10)
#define CHUNK_START ((size_t)1 << 20)
#define CHUNK_TARGET_S 20
#define TRIAL_BYTES ((size_t)64 << 10) /* what px_frame_worthwhile looks at */
#define URL_MAX PX_URL_MAX

/* The HTTP layer (sync_http.c) under the names the files of sync use. */
typedef px_http_body body_src;
typedef px_http_answer answer;
typedef px_http_request request;
typedef px_http_conn conn;

typedef struct syncer {
    patrol *p;
    conn c;
    patrol_sync_opts o;
    patrol_sync_result *r;
    px_key *receipt_key;
    uint8_t pin[PX_HASH_LEN];
    uint64_t head, acked, acked_start;
    /* the first error that did not stop the sync (a rejected entry,
     * refused evidence), returned at the end */
    int deferred;
    char deferred_msg[sizeof ((patrol *)0)->errmsg];
    /* progress */
    patrol_sync_progress pr;
    uint64_t inflight_cap;
    int64_t start_ms, last_emit, rate_ms;
    double rate, rate_bytes;
    /* evidence the server asked for, sha256 hex */
    char (*want)[65];
    size_t n_want, cap_want;
    uint8_t *chunk;
    size_t chunk_cur;
} syncer;

/* sync.c: the store helpers. px_sync_run runs one statement; types: 't'
 * text, 'i' int64, 'b' blob (pointer, size_t). px_sync_ints reads the
 * integer columns of the first row of sql (with one optional int64
 * argument) into out[0..n); PATROL_ENOTFOUND without a row. */
int px_sync_run(patrol *p, const char *sql, const char *types, ...);
int px_sync_ints(patrol *p, const char *sql, int has_arg, int64_t arg, int64_t *out, int n);
int64_t px_sync_mono_ms(void);
int64_t px_sync_now_ms(void);

/* sync.c: the options with their defaults and caps (o filled, returned). */
const patrol_sync_opts *px_sync_resolve_opts(const patrol_sync_opts *in, patrol_sync_opts *o);

/* sync.c: the syncer. px_sync_defer keeps the first error that does not
 * stop the sync (returned at the end); px_sync_emit reports progress
 * (inflight: bytes of the request under way; at most every 250 ms unless
 * force); px_sync_add_done counts bytes done; px_sync_want_add notes
 * evidence the server asks for (sha256 hex; px_sync_is_sha_hex checks one). */
void px_sync_defer(syncer *s, int err);
void px_sync_emit(syncer *s, uint64_t inflight, int force);
void px_sync_add_done(syncer *s, int64_t delta);
int px_sync_want_add(syncer *s, const char *sha);
int px_sync_is_sha_hex(const char *s);

/* sync_enroll.c: STORE/client.crt holds the client certificate of the
 * database for libcurl; (re)written when missing or different. *path_out
 * (malloc'd, the caller frees) is its path. */
int px_enroll_cert_file(patrol *p, const char *pem, char **path_out);

/* sync_batch.c: send the entries after the acknowledged one, batch by
 * batch, each answered by a receipt (px_receipt_take_ack). */
int px_batch_send(syncer *s);

/* sync_receipt.c: the answer to batch b (id): verify the receipt against
 * this journal, store it, and say where to go on (*next). */
int px_receipt_take_ack(syncer *s, const px_batch *b, const uint8_t id[PX_BATCH_ID_LEN],
                        const answer *a, uint64_t *next);
/* sync_receipt.c: where the server stands, asked with an empty batch when
 * there is nothing to send. */
int px_receipt_probe(syncer *s);

/* sync_upload.c: upload the evidence the server asked for and that of
 * acknowledged entries not confirmed complete. */
int px_upload_evidence(syncer *s);

/* sync_reference.c: pull the reference data newer than the held version
 * and apply it (px_reference_apply). */
int px_reference_pull(syncer *s);

#endif
