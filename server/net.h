/* net.h -- patrold's network front: TLS 1.2 (mbedtls, through proto/tls.h),
 * HTTP/1.1 (http-parser), one event-loop thread for all connections and a
 * pool of worker threads that run request handlers, so that one slow
 * terminal or one fsync does not stall the others.
 *
 * A request is handed to a handler only when it is complete (headers and
 * body within the limits below); the handler runs on a worker thread and
 * fills in a response, which the loop then writes. Handlers may block
 * (SQLite commit, fsync).
 */
#ifndef SRV_NET_H
#define SRV_NET_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Named limits (defaults in net.c; see docs/protocol.md and docs/server.md
 * "Limits, signals and logs"). */
typedef struct srv_limits {
    size_t max_header_bytes;   /* request line + headers: 16 KiB -> 431 */
    size_t max_headers;        /* header count: 64 -> 431 */
    size_t max_body_bytes;     /* 9 MiB -> 413 */
    unsigned idle_timeout_ms;  /* no byte from a keep-alive client: 30 s -> close */
    unsigned request_timeout_ms; /* a started request must be complete in: 120 s -> 408 */
    unsigned header_timeout_ms;  /* its line and headers in: 10 s -> 408; a connection's
                                  * first request must be complete (headers) this long
                                  * after the handshake, or it is closed */
    unsigned handshake_timeout_ms; /* 5 s */
    unsigned max_connections;  /* 512 in all */
    unsigned max_per_peer;     /* 32 from one address; more are closed at once */
    unsigned reserved_for_devices; /* 64 of max_connections are kept for connections that
                                    * presented a valid client certificate: the others
                                    * may hold max_connections - 64 at most */
    size_t body_budget_bytes;  /* request bodies held in memory, all connections together:
                                * 64 MiB -> 503 with Retry-After (>= max_body_bytes) */
    unsigned throttle_burst;   /* srv_throttle: tries at once from one address (5) */
    unsigned throttle_per_min; /* and then per minute (60) */
    unsigned workers;          /* 4 */
    unsigned max_queue_wait_ms; /* 10 s: while the oldest request waiting for a worker has
                                 * waited longer, new requests are answered 503 busy with
                                 * a Retry-After (GET /healthz excepted) instead of
                                 * queueing behind it */
} srv_limits;

void srv_limits_default(srv_limits *l);

/* One serve option at argv[*i] that sets a limit (--max-connections N,
 * --max-per-peer N, --reserved-for-devices N, --handshake-timeout S,
 * --header-timeout S, --body-budget MIB, --throttle-burst N,
 * --throttle-per-min N, --max-queue-wait S): 1 when taken (*i moved past its value), 0 when
 * argv[*i] is not one of them, -1 with a sentence in err for a bad value.
 * How the limits fit together is checked by srv_create. */
int srv_limits_option(srv_limits *l, int argc, char **argv, int *i, char *err, size_t errlen);

/* Each of those options with l's value as the option takes it (seconds,
 * MiB, counts), in the order above: for `patrold config check`. */
void srv_limits_each(const srv_limits *l, void (*cb)(void *ud, const char *option,
                                                     const char *value), void *ud);

typedef struct srv_header {
    const char *name;  /* lower-cased */
    const char *value;
} srv_header;

/* What the handler sees. All pointers are valid during the call only.
 * Header names are lower-cased; a header sent without a value has "";
 * chunked trailers are not kept. body is never NULL ("" when empty). */
typedef struct srv_request {
    const char *method;          /* "GET", "POST", "HEAD", "PATCH", ... */
    const char *path;            /* without the query string */
    const char *query;           /* after '?', "" if none */
    const srv_header *headers;
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
    /* The client certificate, if one was presented and chains to the
     * device CA: SHA-256 of its public key DER (the device id), else NULL.
     * A certificate that does not chain (foreign CA, expired) fails the
     * TLS handshake, so it never reaches a handler. A resumed session
     * keeps the identity of its full handshake: check revocation here,
     * per request, by device id. */
    const uint8_t *peer_key_id;
    const char *peer_addr;       /* "127.0.0.1:53422" */
} srv_request;

/* Lookup helper: value of a header (name lower-case) or NULL. */
const char *srv_header_get(const srv_request *rq, const char *name);

/* Filled by the handler. body is malloc'd (the server frees it) or NULL.
 * The server adds Content-Length (not for 204/304) and Connection; a HEAD
 * response gets the Content-Length of body but no body bytes. status
 * starts at 500; one outside 200..599, or extra_headers without its NUL,
 * is answered 500. */
typedef struct srv_response {
    int status;
    const char *content_type;    /* static string or NULL */
    char extra_headers[512];     /* "Name: value\r\n" lines, may be empty */
    uint8_t *body;
    size_t body_len;
    int close;                   /* close the connection after this response */
} srv_response;

typedef void (*srv_handler)(void *ud, const srv_request *rq, srv_response *rs);

/* Counters for /metrics (monotonic; read without locks is fine for
 * reporting, they are updated with atomics). */
typedef struct srv_stats {
    uint64_t connections_accepted;
    uint64_t connections_refused;     /* over max_connections */
    uint64_t refused_per_peer;        /* over max_per_peer from one address */
    uint64_t refused_unauth;          /* no room left outside reserved_for_devices */
    uint64_t connections_open;        /* gauge */
    uint64_t handshakes_full;
    uint64_t handshakes_resumed;
    uint64_t handshakes_failed;
    uint64_t requests;                /* handed to the handler */
    uint64_t bytes_in;                /* HTTP bytes (TLS plaintext) */
    uint64_t bytes_out;
    uint64_t refused_header_too_large;
    uint64_t refused_body_too_large;
    uint64_t refused_bad_request;
    uint64_t timeouts;                /* handshake, 408, write */
    uint64_t connections_evicted;     /* not yet a request, dropped for a new one */
    uint64_t refused_busy;            /* 503: the body budget was spent */
    uint64_t refused_queue_wait;      /* 503: the workers' queue was max_queue_wait_ms long */
    uint64_t log_suppressed;          /* refusal log lines held back (rate limit) */
} srv_stats;

/* One log line on stderr, as the network front writes its own: a single
 * write(2), "ts=YYYY-MM-DDTHH:MM:SS.mmmZ level=LEVEL " and fmt's text, any
 * control character in it replaced by '?' (app_log writes through it). */
void srv_vlog(const char *level, const char *fmt, va_list ap);

/* Log lines as one JSON object each ({"ts":"...","level":"...",
 * "event":"...", ...}, every value a string) instead of logfmt:
 * process-wide, set before serving (serve --log-format json). */
void srv_set_log_json(int on);

typedef struct srv srv;

/* tls: a server TLS context from proto/tls.h (borrowed; outlives srv). */
struct px_tls_server;
int srv_create(srv **out, const char *listen_host, const char *listen_port,
               struct px_tls_server *tls, const srv_limits *lim, srv_handler h, void *ud,
               char *err, size_t errlen);

/* Bound port (useful with port "0"). */
unsigned srv_port(const srv *s);

/* Run the loop in the calling thread until srv_stop (async-signal-safe:
 * an atomic store and a write to a pipe; not after srv_free) is called.
 * On stop: stop accepting, close idle and half-received requests, finish
 * the requests being handled and write their responses with
 * "Connection: close" (up to 10 s), then return. Returns 0. Sets SIGPIPE
 * to SIG_IGN for the process (a peer that vanished must cost its
 * connection only). Call once per srv. */
int srv_run(srv *s);
void srv_stop(srv *s);

void srv_get_stats(const srv *s, srv_stats *out);

/* Optional, set before srv_run: called on the loop thread (it must not
 * block) when a request's headers are complete, with the request path and
 * whether a verified client certificate was presented. Returns the largest
 * body this request may carry (never more than max_body_bytes): a declared
 * body over it is answered 413 before it is read and before "100 Continue".
 * 0 means the handler needs no body (it will refuse the request): the body
 * is read and dropped, never buffered, and the handler sees an empty body.
 * So an unauthenticated client cannot make the server hold megabytes for a
 * request that will be refused anyway. */
typedef size_t (*srv_body_limit_fn)(void *ud, const char *method, const char *path,
                                    int has_client_cert);
void srv_set_body_limit(srv *s, srv_body_limit_fn fn);

/* The optional access log: one line per request answered, event=access
 * with the peer, method, path, status, body bytes, milliseconds since the
 * request began and whether a device certificate came (off by default:
 * the refusals and events are logged anyway). */
void srv_set_access_log(srv *s, int on);

/* Reload request (async-signal-safe like srv_stop): the loop calls fn(ud)
 * on its own thread at its next turn, e.g. to reopen the log file on
 * SIGHUP. Set the hook before srv_run. */
typedef void (*srv_reload_fn)(void *ud);
void srv_set_reload(srv *s, srv_reload_fn fn, void *ud);
void srv_reload(srv *s);

/* Per-address throttle for a handler (any thread): a token bucket of
 * lim.throttle_burst tries, refilled at lim.throttle_per_min, kept per
 * peer address (without the port). Returns 0 when this try may go on,
 * else 1 with the seconds until the next one in *retry_s. s NULL: 0. */
int srv_throttle(srv *s, const srv_request *rq, unsigned *retry_s);

/* A security refusal the response alone does not show (e.g. one entry of a
 * batch with a bad signature), logged like the others (any thread): one
 * line "event=refused code=CODE peer=ADDR reason=..." rate-limited per
 * address. Refusals answered 401, 403 or 429 (code from X-Patrol-Reason),
 * or with an X-Patrol-Reason naming a quota, are logged by the server
 * itself.
 * s NULL: nothing. */
void srv_log_refusal(srv *s, const srv_request *rq, const char *code, const char *detail);

/* NULL-safe. Joins the worker threads, so it waits for a handler still
 * running after srv_run gave up on it (its response is dropped). */
void srv_free(srv *s);

#endif
