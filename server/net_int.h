/* net_int.h -- what the files of patrold's network front share (net.c the
 * loop, connection states and lifecycle; net_worker.c the handler threads
 * and jobs; net_http.c the HTTP/1.1 side of a connection; net_peer.c
 * accepting, the peer table, the refusal log and the body budget). Not for
 * the rest of the server: use net.h. Every function here runs on the loop thread unless
 * its comment says otherwise.
 */
#ifndef SRV_NET_INT_H
#define SRV_NET_INT_H

#include "net.h"

#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <http_parser.h>

#include "tls.h"

#define READ_BUF 16384           /* one TLS record of plaintext */
#define READS_PER_WAKE 64        /* fairness: at most 1 MiB per connection per turn */
#define ACCEPTS_PER_WAKE 64
#define BODY_INITIAL ((size_t)64 << 10)
#define CLOSE_LINGER_MS 2000
#define LINGER_DRAIN_MAX ((size_t)16 << 20)
#define STOP_GRACE_MS 10000
#define POLL_MAX_MS 1000
#define ACCEPT_BACKOFF_MS 100    /* after EMFILE/ENFILE */
#define WORKERS_MAX 256
#define PEER_MAX 96 /* "[v6 address]:port" */
#define NET_BUSY_RETRY_S "2" /* Retry-After of a 503 for the body budget */
#define PEER_PROBE 32        /* peer table: slots looked at for one address */
#define SECLOG_BURST 10      /* refusal lines from one address at once, */
#define SECLOG_PER_MIN 30    /* then this many a minute */
#define SECLOG_ALL_BURST 200 /* and from all addresses together */
#define SECLOG_ALL_PER_S 50
#define NO_VALUE ((size_t)-1) /* a header field whose value never came: "" */

typedef enum {
    ST_HANDSHAKE,
    ST_READ_HEAD,
    ST_READ_BODY,
    ST_DISPATCHED,
    ST_WRITE,
    ST_CLOSING
} conn_state;

extern const char *const net_state_name[];

/* What follows a completed write. */
enum after_write { AW_NEXT_REQUEST, AW_READ_BODY, AW_CLOSE };

/* Which kind of token the parser callbacks are appending to. */
enum token { TOK_NONE, TOK_URL, TOK_FIELD, TOK_VALUE };

typedef struct conn conn;
typedef struct job job;

struct conn {
    srv *s;
    int fd;
    px_tls_conn *tls;
    conn_state st;
    int64_t deadline; /* monotonic ms; 0: none */
    int64_t req_start;
    short want;       /* POLLIN or POLLOUT, as the TLS layer asked */
    int ready;        /* can make progress without waiting on the fd */
    int dead;         /* free at the next sweep */
    char peer[PEER_MAX];
    uint8_t peer_id[PX_HASH_LEN];
    int has_peer;     /* a verified client certificate (counted out of n_unauth) */
    int pe;           /* its address in the peer table, -1 if not counted there */
    int64_t accepted_ms;
    uint64_t nreq;    /* requests handed to the handler on this connection */

    uint8_t in[READ_BUF];
    size_t in_off, in_len;

    /* the request being parsed */
    http_parser hp;
    int started;      /* a byte of this request has arrived */
    char *arena;      /* url, then header names and values, each NUL-ended */
    size_t arena_len, arena_cap, head_bytes;
    size_t url_off;
    size_t *hname, *hval; /* offsets into arena, max_headers each */
    size_t n_hdrs;
    enum token tok;
    int headers_done, msg_done, expect_continue, continue_sent;
    int err_status;
    const char *err_reason;
    uint8_t *body;
    size_t body_len, body_cap;
    size_t declared;  /* Content-Length, or 0 when absent (chunked) */
    size_t body_max;  /* this request's body limit (srv_body_limit_fn) */
    int body_discard; /* limit 0: read and drop the body, keep nothing */
    size_t discarded;
    size_t body_reserved; /* taken from the server's body budget */

    /* output */
    uint8_t *out;
    size_t out_len, out_off;
    enum after_write after;

    /* CLOSING */
    int notify_done;
    size_t drained;
};

struct job {
    job *next;
    srv *s;
    conn *c; /* dereferenced by the loop thread only */
    int keep_alive, head_only;
    srv_request rq;
    srv_response rs;
    srv_header *hdrs;
    char *strings;
    uint8_t *body;
    size_t body_reserved; /* of the body budget, given back by job_free */
    int64_t queued_ms;    /* when it joined the workers' queue */
    uint8_t peer_id[PX_HASH_LEN];
    char peer[PEER_MAX];
};

typedef struct {
    _Atomic uint64_t connections_accepted, connections_refused, connections_open;
    _Atomic uint64_t handshakes_full, handshakes_resumed, handshakes_failed;
    _Atomic uint64_t requests, bytes_in, bytes_out;
    _Atomic uint64_t refused_header_too_large, refused_body_too_large, refused_bad_request;
    _Atomic uint64_t timeouts;
    _Atomic uint64_t connections_evicted, refused_busy, log_suppressed, refused_queue_wait;
    _Atomic uint64_t refused_per_peer, refused_unauth;
} stats_atomic;

/* One peer address (without the port): its connections and its rate
 * limits. Kept in an open-addressed table under srv.peer_mu; an entry
 * with no connection is reused for another address when its probe window
 * is full (the oldest first). */
typedef struct peer_ent {
    char host[PEER_MAX]; /* "" when unused */
    unsigned conns;
    int64_t last_ms;
    double log_tokens, thr_tokens;
    int64_t log_ms, thr_ms; /* last refill */
    uint64_t suppressed;    /* refusal lines held back since the last one logged */
} peer_ent;

struct srv {
    srv_limits lim;
    px_tls_server *tls;
    srv_handler handler;
    void *ud;
    srv_body_limit_fn body_limit;
    int lfd;
    unsigned port;
    int wake_r, wake_w;
    atomic_int stop_req;
    int stopping;
    int64_t accept_paused_until;

    conn **conns;
    size_t nconns, conns_cap;
    size_t ndead;     /* killed, freed at the next sweep (not counted as open) */
    size_t n_unauth;  /* open without a verified client certificate */

    pthread_mutex_t peer_mu; /* the peer table and the global log bucket */
    peer_ent *peers;
    size_t npeers;    /* a power of two */
    double glog_tokens;
    int64_t glog_ms;
    _Atomic size_t body_used; /* of lim.body_budget_bytes */
    atomic_int reload_req;
    srv_reload_fn reload_fn;
    void *reload_ud;
    int access_log; /* a line per request answered (srv_set_access_log) */
    struct pollfd *pfd;
    conn **pconn;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *q_head, *q_tail;       /* to workers */
    size_t q_len;               /* jobs in q_head..q_tail */
    double svc_ms;              /* moving average of a handler's time (ms), for Retry-After */
    job *d_head, *d_tail;       /* back to the loop */
    int quit;
    pthread_t *workers;
    unsigned n_workers;

    stats_atomic st;
};

#define STAT_ADD(s, f, n) atomic_fetch_add_explicit(&(s)->st.f, (uint64_t)(n), memory_order_relaxed)
#define STAT_SUB(s, f, n) atomic_fetch_sub_explicit(&(s)->st.f, (uint64_t)(n), memory_order_relaxed)

/* net.c */
/* One log line on stderr, written with a single write(2) (any thread):
 *   ts=... level=warn event=handshake_failed peer=1.2.3.4:5 reason="..." k=v */
void net_log(const char *level, const char *event, const char *peer, const char *reason,
             const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
void net_vlog(const char *level, const char *event, const char *peer, const char *reason,
              const char *fmt, va_list ap);
int64_t net_now_ms(void);
int net_nonblock_cloexec(int fd);
void net_errno_text(int e, char *buf, size_t n);
void net_conn_kill(conn *c);
void net_conn_free(conn *c);
/* Queue bytes to write; the connection goes to WRITE. buf is taken over. */
void net_start_write(conn *c, uint8_t *buf, size_t len, enum after_write after, int64_t now);
/* Wake the loop (any thread; async-signal-safe). */
void net_wake(srv *s);

/* net_worker.c */
void net_job_free(job *j);          /* NULL-safe; gives its body budget back */
void *net_worker_main(void *arg);   /* a worker thread (arg: the srv) */
/* Hand the complete request of c to the workers (c goes to DISPATCHED). */
void net_dispatch(conn *c, int64_t now);
/* Take the finished jobs back and start writing their responses. */
void net_take_completed(srv *s, int64_t now);

/* net_http.c */
extern const http_parser_settings net_parser_settings;
/* Serialize a response into a new buffer; NULL when out of memory. HEAD,
 * 1xx, 204 and 304 carry no body; 204 and 304 no Content-Length either. */
uint8_t *net_format_response(int status, const char *ctype, const char *extra,
                             const uint8_t *body, size_t blen, int close_conn, int head_only,
                             size_t *outlen);
/* Answer a request the loop refuses by itself (400, 408, 413, 417, 431)
 * and close the connection after. */
void net_respond_error(conn *c, int status, const char *reason, int64_t now);
/* Answer a complete request 503 busy without running it (the workers'
 * queue is too long: net_worker.c), Retry-After retry_s; the connection
 * stays open for the retry when the request allows it and the peer
 * presented a certificate. */
void net_respond_busy(conn *c, unsigned retry_s, int64_t waited_ms, size_t queued, int64_t now);

/* net_peer.c */
/* Accept what the listening socket holds (at most ACCEPTS_PER_WAKE),
 * within max_connections, max_per_peer and the room reserved for devices;
 * when full, connections that have sent no request yet are dropped first
 * (the oldest first) to make room. */
void net_accept(srv *s, int64_t now);
/* The peer table: allocated by srv_create (-1 out of memory), freed by
 * srv_free. */
int net_peers_init(srv *s);
void net_peers_free(srv *s);
/* A connection closes: its address holds one fewer (loop thread). */
void net_peer_release(srv *s, conn *c);
/* A security refusal: one line (event, peer "addr:port", code, reason,
 * then the formatted k=v pairs), unless the address's or the server's log
 * rate is spent, in which case it is counted and the count is added as
 * suppressed=N to the address's next line. Any thread. */
void net_log_refusal(srv *s, const char *event, const char *peer, const char *code,
                     const char *reason, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
/* The body budget (any thread): take n bytes (0, or -1 when it would go
 * over), give them back. */
int net_budget_take(srv *s, size_t n);
void net_budget_give(srv *s, size_t n);

#endif
