/* app.h -- patrold's application: enrolment, ingest, evidence, reference
 * data and metrics, as one request handler for net.h. */
#ifndef SRV_APP_H
#define SRV_APP_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "crypto.h"
#include "net.h"
#include "storage.h"

#include "protocol.h"

#define APP_MAX_BATCH_ENTRIES PX_BATCH_MAX_ENTRIES
#define APP_MAX_PATCH_BYTES PX_PATCH_MAX_BYTES
#define APP_CITATIONS_MAX 1000 /* citations per GET /v1/citations answer */
#define APP_CITATION_FIELD 72  /* room for a subject key, item code or matter id */

/* Request counters for /metrics. */
enum {
    M_BATCHES, M_ENTRIES_ACCEPTED, M_ENTRIES_DUPLICATE, M_ENTRIES_REJECTED, M_FORKS,
    M_BATCH_REPLAYS, M_ENROLMENTS, M_EVIDENCE_BYTES, M_EVIDENCE_COMPLETE, M_BATCH_BYTES,
    M_COUNT
};

#define APP_LAT_BUCKETS 14 /* 0.25 ms doubling: up to about 2 s */

typedef struct ev_state ev_state; /* evidence.c's limits and sweep thread */

/* The routes and statuses /metrics counts requests by (app_metrics.c). */
#define APP_ROUTES 12
#define APP_STATUSES 20

typedef struct app {
    char *data_dir;
    char *db_path;
    char server_name[128];
    px_key *receipt_key;
    px_key *ca_key;
    char *ca_cert_pem;
    uint8_t receipt_pub[PX_PUBKEY_MAX];
    size_t receipt_pub_len;
    srv *net;
    pthread_key_t db_key; /* per-worker storage handle */
    pthread_mutex_t evidence_locks[64];
    ev_state *ev; /* NULL: default limits, no sweep (evidence.h ev_start) */
    atomic_uint_fast64_t counters[M_COUNT];
    atomic_uint_fast64_t ingest_lat[APP_LAT_BUCKETS + 1]; /* histogram, + count in last */
    atomic_uint_fast64_t ingest_lat_sum_us;
    pthread_mutex_t refusal_lock;
    pthread_mutex_t sign_lock; /* receipt and CA keys are shared by the workers */
    struct {
        char reason[32];
        uint64_t count;
    } refusals[64];
    /* Requests answered, by route and status (app_metrics.c). */
    atomic_uint_fast64_t http[APP_ROUTES][APP_STATUSES];
    int64_t started_ms;
} app;

/* Load keys and open storage for a data directory made by "patrold init".
 * Returns 0, or -1 with a sentence in err. */
int app_open(app *a, const char *data_dir, char *err, size_t errlen);
void app_close(app *a);

/* The net.h handler; ud is the app. */
void app_handle(void *ud, const srv_request *rq, srv_response *rs);

/* The net.h body limit per route (srv_body_limit_fn): enrolment 64 KiB,
 * batches and evidence chunks for enrolled devices only; other requests are
 * refused without their body, which is dropped unread. */
size_t app_body_limit(void *ud, const char *method, const char *path, int has_client_cert);

/* The calling thread's storage handle (opened on first use). */
st_backend *app_db(app *a);

int64_t app_now_ms(void);

/* Revoke device id and append its revocation leaf to the server log, in
 * one transaction (`patrold device revoke` and the console): ST_OK,
 * ST_NOTFOUND, or another error with nothing changed. */
int app_device_revoke(st_backend *db, int64_t id);

/* Answer rs with an error: status, an Error message (reason, the sentence
 * fmt makes, expected_seq) and X-Patrol-Reason; counted by reason for
 * /metrics. For the routes of other files (evidence.c). */
void app_reply_verror(app *a, srv_response *rs, int status, const char *reason,
                      uint64_t expected, const char *fmt, va_list ap);

/* One structured line on stderr: "ts=... level=LEVEL " + the formatted
 * key=value pairs. */
void app_log(const char *level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
