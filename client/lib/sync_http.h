/* sync_http.h -- the HTTP layer of sync (sync_http.c): one libcurl easy
 * handle per call, so that one keep-alive connection (and one TLS
 * session) carries every request; the server trusted through its pinned
 * key alone; timeouts, retries with backoff and jitter. Internal to
 * libpatrol (px_http_ prefix); the files of sync (sync_int.h) use it. */
#ifndef PX_SYNC_HTTP_H
#define PX_SYNC_HTTP_H

#include <curl/curl.h>
#include <stdint.h>

#include "internal.h"

#define PX_URL_MAX 200
#define PX_MAX_SMALL_ANSWER ((size_t)64 << 10) /* Error, EnrollResponse, HEAD */

/* A request body read on demand: from memory, or a region of a file. */
typedef struct px_http_body {
    const uint8_t *mem; /* NULL: read from fd */
    int fd;
    uint64_t off;
    size_t len, pos;
    int io_errno;
} px_http_body;

typedef struct px_http_answer {
    long status;
    uint8_t *body;
    size_t len, cap, max;
    int overflow;
    char reason[64];       /* X-Patrol-Reason */
    int64_t upload_offset; /* -1: absent */
    int64_t upload_length;
    int upload_complete;
    unsigned retry_after_s; /* Retry-After in seconds (1..3600); 0: absent or not seconds */
} px_http_answer;

typedef struct px_http_request {
    const char *method; /* GET HEAD POST PATCH */
    const char *path;
    const char *content_type;
    const uint8_t *body; /* POST */
    size_t body_len;
    px_http_body *src; /* PATCH */
    const char *extra[3];
    size_t max_answer;
    int once; /* retry only if the request surely did not reach the server */
} px_http_request;

enum { PX_ATT_ANSWER, PX_ATT_RETRY, PX_ATT_FAIL };

typedef struct px_http_conn {
    patrol *p;
    CURL *h;
    int global;
    char url[PX_URL_MAX + 1];
    char errbuf[CURL_ERROR_SIZE];
    char pinopt[80];
    int64_t deadline;
    unsigned max_attempts, backoff_ms, backoff_max_ms;
    uint64_t sent, retries;
    uint64_t cut_after;
    int cut_done, cut_now;
    int timed_out, not_sent;
    int enrolling;
    char why[400]; /* the last transient failure, for the final message */
    void (*on_progress)(void *ud, uint64_t sent_now);
    void *progress_ud;
} px_http_conn;

/* Free an answer's body and reset it (NULL-safe on a zeroed answer). */
void px_http_answer_free(px_http_answer *a);

/* Open the handle: pinned key, timeouts, and (cert not NULL) the client
 * certificate and device key. Nothing is sent yet. Close with
 * px_http_close, also after a failed open. */
int px_http_open(px_http_conn *c, patrol *p, const char *url, const uint8_t pin[PX_HASH_LEN],
                 const char *cert, const char *key, const patrol_sync_opts *o);
void px_http_close(px_http_conn *c);

/* 408, 429 and 5xx: worth trying again. */
int px_http_retryable(long status);

/* One try of a request. PX_ATT_ANSWER: a->status holds the server's
 * answer; PX_ATT_RETRY: a transient failure described in c->why;
 * PX_ATT_FAIL: *err holds the error (already reported with px_fail). */
int px_http_attempt(px_http_conn *c, const px_http_request *rq, px_http_answer *a, int *err);

/* Wait before trying again; *tries counts the tries made. Exponential
 * backoff with jitter (a random delay in [d/2, d]). PATROL_ENET once the
 * tries or the time are used up. a is the answer that asks for the retry
 * (NULL after a network failure): a busy server's 503 or 429 with a
 * Retry-After is waited out for that long plus up to half again (so the
 * terminals it turned away do not all come back at once) and is not
 * counted as a try, since the server answered; only the sync's time limit
 * ends those waits. */
int px_http_backoff(px_http_conn *c, unsigned *tries, const px_http_answer *a, const char *what);

/* A request, repeated after network errors and 5xx answers. PATROL_OK:
 * a->status is the server's final answer (2xx, 3xx or 4xx). */
int px_http_retry(px_http_conn *c, const px_http_request *rq, px_http_answer *a,
                  const char *what);

/* A refusal (4xx): the reason from the Error body or the X-Patrol-Reason
 * header, and the server's sentence. reason_out (may be NULL) receives the
 * reason. Returns err. */
int px_http_refusal(px_http_conn *c, const px_http_answer *a, const char *what, int err,
                    char *reason_out, size_t reason_len);

/* Copy text from the server for a message: a valid line as is, anything
 * else reduced to printable ASCII. */
void px_http_clean(const char *in, char *out, size_t cap);

#endif
