/* net.c -- patrold's network front (see net.h).
 *
 * One loop thread owns every connection: it accepts, drives TLS and HTTP
 * parsing with poll(), and writes responses. A connection is always in one
 * of the states below, each with its own deadline:
 *
 *   HANDSHAKE   TLS handshake                      handshake_timeout_ms -> close
 *   READ_HEAD   request line + headers; before the first byte the
 *               connection is idle                 idle_timeout_ms -> close
 *               after it                           request_timeout_ms -> 408
 *   READ_BODY   body (Content-Length or chunked)   request_timeout_ms -> 408
 *   DISPATCHED  a worker runs the handler          none (the fd is not polled)
 *   WRITE       response (or "100 Continue")       idle_timeout_ms without progress -> close
 *   CLOSING     close_notify, then discard input until EOF so the peer
 *               reads our last response before any RST   CLOSE_LINGER_MS -> close
 *
 * Complete requests go to a FIFO consumed by `workers` threads; a finished
 * job comes back through a mutex-protected list and one byte on a pipe
 * that wakes the loop. Only the loop thread touches a conn; a job points
 * to its conn, which stays alive (DISPATCHED is never timed out or closed)
 * until the loop takes the job back. The fd of a DISPATCHED conn is left
 * out of poll(), so its input waits in the kernel (no pipelining) and a
 * hang-up cannot spin the loop.
 *
 * Nothing here blocks: sockets are non-blocking, every read and accept
 * loop has a per-wakeup budget, and every state but DISPATCHED a deadline.
 *
 * This file owns the loop and the connection states; the worker threads
 * and the jobs are in net_worker.c, the HTTP parsing and the loop's own
 * answers in net_http.c, accepting, the peer table, the refusal log and
 * the body budget in net_peer.c, the limits' defaults and options in
 * net_limits.c (net_int.h is what they share).
 */
#include "net_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "tls.h"

const char *const net_state_name[] = {"handshake", "read_head", "read_body",
                                      "dispatched", "write", "closing"};

/* ---- small helpers -------------------------------------------------- */

int64_t net_now_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) != 0)
        return -1;
    return 0;
}

void net_errno_text(int e, char *buf, size_t n)
{
    if (strerror_r(e, buf, n) != 0)
        (void)snprintf(buf, n, "errno %d", e);
}

void net_wake(srv *s)
{
    char b = 1;
    ssize_t w = write(s->wake_w, &b, 1); /* EAGAIN: a wake-up is pending anyway */
    (void)w;
}

/* ---- connections --------------------------------------------------------- */

/* A connection stops counting as open (once): its address, the room
 * without a certificate, its share of the body budget. */
static void conn_account_close(conn *c)
{
    srv *s = c->s;
    if (c->pe == -2)
        return;
    net_peer_release(s, c);
    c->pe = -2;
    if (!c->has_peer && s->n_unauth > 0)
        s->n_unauth--;
    if (c->body_reserved) {
        net_budget_give(s, c->body_reserved);
        c->body_reserved = 0;
    }
}

void net_conn_kill(conn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    c->s->ndead++;
    conn_account_close(c);
}

void net_conn_free(conn *c)
{
    if (!c)
        return;
    conn_account_close(c);
    px_tls_conn_free(c->tls);
    if (c->fd >= 0)
        close(c->fd);
    free(c->arena);
    free(c->hname);
    free(c->hval);
    free(c->body);
    free(c->out);
    STAT_SUB(c->s, connections_open, 1);
    free(c);
}

static void request_reset(conn *c, int64_t now)
{
    http_parser_init(&c->hp, HTTP_REQUEST);
    c->hp.data = c;
    c->arena_len = c->head_bytes = c->url_off = c->n_hdrs = 0;
    c->tok = TOK_NONE;
    c->headers_done = c->msg_done = c->expect_continue = c->continue_sent = 0;
    c->err_status = 0;
    c->err_reason = NULL;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = c->declared = 0;
    if (c->body_reserved) {
        net_budget_give(c->s, c->body_reserved);
        c->body_reserved = 0;
    }
    c->st = ST_READ_HEAD;
    c->want = POLLIN;
    c->ready = 1; /* bytes may wait in our buffer or inside TLS */
    c->started = c->in_off < c->in_len;
    c->req_start = now;
    /* A started request has header_timeout_ms for its headers; so has a
     * connection's first request (a handshake and nothing more must not
     * hold a slot for the keep-alive idle time). */
    c->deadline = now + (c->started || c->nreq == 0 ? c->s->lim.header_timeout_ms
                                                    : c->s->lim.idle_timeout_ms);
}

static void start_closing(conn *c, int64_t now)
{
    c->st = ST_CLOSING;
    c->deadline = now + CLOSE_LINGER_MS;
    c->notify_done = 0;
    c->ready = 1;
}

/* Queue bytes to write; the connection goes to WRITE. buf is taken over. */
void net_start_write(conn *c, uint8_t *buf, size_t len, enum after_write after, int64_t now)
{
    free(c->out);
    c->out = buf;
    c->out_len = len;
    c->out_off = 0;
    c->after = after;
    c->st = ST_WRITE;
    c->want = POLLOUT;
    c->ready = 1;
    c->deadline = now + c->s->lim.idle_timeout_ms;
}

/* ---- connection steps ------------------------------------------------------- */

static void step_handshake(conn *c, int64_t now)
{
    srv *s = c->s;
    int r = px_tls_conn_handshake(c->tls);
    const uint8_t *id;

    if (r == PX_TLS_WANT_READ || r == PX_TLS_WANT_WRITE) {
        c->want = r == PX_TLS_WANT_READ ? POLLIN : POLLOUT;
        return;
    }
    if (r != PX_TLS_OK) {
        STAT_ADD(s, handshakes_failed, 1);
        net_log_refusal(s, "handshake_failed", c->peer, r == PX_TLS_CLOSED ? "closed" : "tls",
                        px_tls_conn_error(c->tls), NULL);
        net_conn_kill(c);
        return;
    }
    if (px_tls_conn_resumed(c->tls))
        STAT_ADD(s, handshakes_resumed, 1);
    else
        STAT_ADD(s, handshakes_full, 1);
    if ((id = px_tls_conn_peer_key_id(c->tls)) != NULL) {
        memcpy(c->peer_id, id, sizeof c->peer_id);
        c->has_peer = 1;
        if (s->n_unauth > 0) /* it now uses the room kept for devices */
            s->n_unauth--;
    }
    request_reset(c, now);
}

/* Parse what is buffered. Returns 1 when the connection left the reading
 * states (dispatched, refused, continue), 0 to keep reading. */
static int parse_buffered(conn *c, int64_t now)
{
    size_t avail = c->in_len - c->in_off, used;
    enum http_errno e;

    if (avail == 0)
        return 0;
    if (!c->started) {
        c->started = 1;
        c->req_start = now;
        c->deadline = now + c->s->lim.header_timeout_ms;
    }
    used = http_parser_execute(&c->hp, &net_parser_settings, (const char *)c->in + c->in_off, avail);
    c->in_off += used > avail ? avail : used;
    e = HTTP_PARSER_ERRNO(&c->hp);
    if (e != HPE_OK && e != HPE_PAUSED) {
        int status = c->err_status ? c->err_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
        const char *why = c->err_reason ? c->err_reason : http_errno_description(e);
        net_respond_error(c, status, why, now);
        return 1;
    }
    if (c->msg_done) {
        net_dispatch(c, now);
        return 1;
    }
    if (c->headers_done) {
        if (c->st != ST_READ_BODY) /* headers in: the whole request has its own time */
            c->deadline = c->req_start + c->s->lim.request_timeout_ms;
        c->st = ST_READ_BODY;
        if (c->expect_continue && !c->continue_sent) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            uint8_t *out = malloc(sizeof cont - 1);
            if (!out) {
                net_conn_kill(c);
                return 1;
            }
            memcpy(out, cont, sizeof cont - 1);
            c->continue_sent = 1;
            net_start_write(c, out, sizeof cont - 1, AW_READ_BODY, now);
            return 1;
        }
    }
    return 0;
}

static void step_read(conn *c, int64_t now)
{
    srv *s = c->s;

    for (int i = 0; i < READS_PER_WAKE; i++) {
        int n;
        if (c->in_off < c->in_len) {
            if (parse_buffered(c, now))
                return;
            continue;
        }
        c->in_off = c->in_len = 0;
        n = px_tls_conn_read(c->tls, c->in, sizeof c->in);
        if (n == PX_TLS_WANT_READ || n == PX_TLS_WANT_WRITE) {
            c->want = n == PX_TLS_WANT_READ ? POLLIN : POLLOUT;
            return;
        }
        if (n == PX_TLS_CLOSED) {
            if (c->started)
                net_log_refusal(s, "request_truncated", c->peer, "truncated",
                                px_tls_conn_error(c->tls), "state=%s", net_state_name[c->st]);
            net_conn_kill(c);
            return;
        }
        if (n < 0) {
            net_log_refusal(s, "tls_error", c->peer, "tls", px_tls_conn_error(c->tls), "state=%s",
                            net_state_name[c->st]);
            net_conn_kill(c);
            return;
        }
        STAT_ADD(s, bytes_in, n);
        c->in_len = (size_t)n;
    }
    c->ready = 1; /* budget spent: let the others run, come back without waiting */
}

static void step_write(conn *c, int64_t now)
{
    srv *s = c->s;

    while (c->out_off < c->out_len) {
        /* After WANT_*, this repeats the call with the same arguments. */
        int n = px_tls_conn_write(c->tls, c->out + c->out_off, c->out_len - c->out_off);
        if (n == PX_TLS_WANT_READ || n == PX_TLS_WANT_WRITE) {
            c->want = n == PX_TLS_WANT_READ ? POLLIN : POLLOUT;
            return;
        }
        if (n < 0) {
            net_log_refusal(s, "write_failed", c->peer, "write", px_tls_conn_error(c->tls), NULL);
            net_conn_kill(c);
            return;
        }
        c->out_off += (size_t)n;
        STAT_ADD(s, bytes_out, n);
        c->deadline = now + s->lim.idle_timeout_ms;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    if (s->stopping && c->after != AW_CLOSE)
        c->after = AW_CLOSE;
    switch (c->after) {
    case AW_READ_BODY:
        c->st = ST_READ_BODY;
        c->want = POLLIN;
        c->ready = 1;
        c->deadline = c->req_start + s->lim.request_timeout_ms;
        break;
    case AW_NEXT_REQUEST:
        request_reset(c, now);
        break;
    case AW_CLOSE:
        start_closing(c, now);
        break;
    }
}

static void step_closing(conn *c)
{
    uint8_t buf[16384];

    if (!c->notify_done) {
        int r = px_tls_conn_close_notify(c->tls);
        if (r == PX_TLS_WANT_READ || r == PX_TLS_WANT_WRITE) {
            c->want = r == PX_TLS_WANT_READ ? POLLIN : POLLOUT;
            return;
        }
        c->notify_done = 1;
        (void)shutdown(c->fd, SHUT_WR);
    }
    /* Lingering close: a peer still sending (a body we refused) would get
     * an RST on close() and might lose our response; read and discard
     * until it closes, within CLOSE_LINGER_MS and LINGER_DRAIN_MAX, and at
     * most READS_PER_WAKE reads per turn so others are not starved. */
    for (int i = 0; i < READS_PER_WAKE; i++) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0) {
            c->drained += (size_t)n;
            if (c->drained > LINGER_DRAIN_MAX) {
                net_conn_kill(c);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->want = POLLIN;
            return;
        }
        net_conn_kill(c); /* EOF or error */
        return;
    }
    c->ready = 1; /* budget spent, the peer still sending: come back later */
}

static void step(conn *c, int64_t now)
{
    c->ready = 0;
    switch (c->st) {
    case ST_HANDSHAKE: step_handshake(c, now); break;
    case ST_READ_HEAD:
    case ST_READ_BODY: step_read(c, now); break;
    case ST_WRITE: step_write(c, now); break;
    case ST_CLOSING: step_closing(c); break;
    case ST_DISPATCHED: break;
    }
}

static void on_deadline(conn *c, int64_t now)
{
    srv *s = c->s;

    switch (c->st) {
    case ST_HANDSHAKE:
        STAT_ADD(s, handshakes_failed, 1);
        STAT_ADD(s, timeouts, 1);
        net_log_refusal(s, "handshake_failed", c->peer, "timeout", "handshake timeout", NULL);
        net_conn_kill(c);
        break;
    case ST_READ_HEAD:
        if (!c->started) { /* idle keep-alive connection, or no request at all */
            if (c->nreq == 0) {
                STAT_ADD(s, timeouts, 1);
                net_log_refusal(s, "connection_closed", c->peer, "no_request",
                                "no request in time after the handshake", NULL);
            }
            start_closing(c, now);
            break;
        }
        /* fall through */
    case ST_READ_BODY:
        net_respond_error(c, 408, "request not complete in time", now);
        break;
    case ST_WRITE:
        STAT_ADD(s, timeouts, 1);
        net_log_refusal(s, "write_timeout", c->peer, "timeout", "peer does not read the response",
                        NULL);
        net_conn_kill(c);
        break;
    case ST_CLOSING:
        net_conn_kill(c);
        break;
    case ST_DISPATCHED:
        break;
    }
}

/* ---- lifecycle ---------------------------------------------------------- */

int srv_create(srv **out, const char *listen_host, const char *listen_port,
               struct px_tls_server *tls, const srv_limits *lim, srv_handler h, void *ud,
               char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc, fds[2] = {-1, -1};
    char e[128] = "no address";
    sigset_t all, old;
    srv *s;

    *out = NULL;
    if (!(s = calloc(1, sizeof *s))) {
        (void)snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->lfd = s->wake_r = s->wake_w = -1;
    if (lim)
        s->lim = *lim;
    else
        srv_limits_default(&s->lim);
    if (s->lim.workers == 0 || s->lim.workers > WORKERS_MAX || s->lim.max_connections == 0 ||
        s->lim.max_connections > 1000000 || s->lim.max_headers == 0 ||
        s->lim.max_header_bytes < 64 || s->lim.max_header_bytes > ((size_t)1 << 20) ||
        s->lim.max_headers > 4096 || s->lim.max_per_peer == 0 ||
        s->lim.reserved_for_devices >= s->lim.max_connections ||
        s->lim.body_budget_bytes < s->lim.max_body_bytes || s->lim.throttle_burst == 0 ||
        s->lim.throttle_per_min == 0 || s->lim.handshake_timeout_ms == 0 ||
        s->lim.header_timeout_ms == 0 || s->lim.max_queue_wait_ms == 0) {
        (void)snprintf(err, errlen, "limits out of range (workers 1..%d, max_connections "
                       "1..1000000, max_per_peer >= 1, reserved_for_devices below "
                       "max_connections, body budget >= max_body_bytes, max_headers 1..4096, "
                       "max_header_bytes 64..1 MiB, timeouts and throttle > 0)", WORKERS_MAX);
        free(s);
        return -1;
    }
    s->tls = tls;
    s->handler = h;
    s->ud = ud;
    atomic_init(&s->stop_req, 0);
    atomic_init(&s->reload_req, 0);
    atomic_init(&s->body_used, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->peer_mu, NULL);
    pthread_cond_init(&s->cv, NULL);

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(listen_host, listen_port, &hints, &res)) != 0) {
        (void)snprintf(err, errlen, "listen address %s:%s: %s", listen_host ? listen_host : "*",
                       listen_port, gai_strerror(rc));
        goto fail;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int one = 1, fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            net_errno_text(errno, e, sizeof e);
            continue;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0 ||
            net_nonblock_cloexec(fd) != 0) {
            net_errno_text(errno, e, sizeof e);
            close(fd);
            continue;
        }
        s->lfd = fd;
        break;
    }
    freeaddrinfo(res);
    if (s->lfd < 0) {
        (void)snprintf(err, errlen, "cannot listen on %s:%s: %s",
                       listen_host ? listen_host : "*", listen_port, e);
        goto fail;
    }
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl) == 0)
            s->port = ss.ss_family == AF_INET6
                          ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                          : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (pipe(fds) != 0 || net_nonblock_cloexec(fds[0]) != 0 || net_nonblock_cloexec(fds[1]) != 0) {
        net_errno_text(errno, e, sizeof e);
        (void)snprintf(err, errlen, "cannot create wake-up pipe: %s", e);
        if (fds[0] >= 0) {
            close(fds[0]);
            close(fds[1]);
        }
        goto fail;
    }
    s->wake_r = fds[0];
    s->wake_w = fds[1];
    /* Room for the killed connections not yet swept: at most one accept
     * turn's worth. */
    s->conns_cap = (size_t)s->lim.max_connections + ACCEPTS_PER_WAKE;
    if (!(s->conns = calloc(s->conns_cap, sizeof *s->conns)) ||
        !(s->pfd = calloc(s->conns_cap + 2, sizeof *s->pfd)) ||
        !(s->pconn = calloc(s->conns_cap + 2, sizeof *s->pconn)) || net_peers_init(s) != 0 ||
        !(s->workers = calloc(s->lim.workers, sizeof *s->workers))) {
        (void)snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* Workers block every signal: SIGTERM and friends go to the other
     * threads, where srv_stop may be called from a handler. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (; s->n_workers < s->lim.workers; s->n_workers++) {
        if ((rc = pthread_create(&s->workers[s->n_workers], NULL, net_worker_main, s)) != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            net_errno_text(rc, e, sizeof e);
            (void)snprintf(err, errlen, "cannot start worker thread: %s", e);
            goto fail;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *out = s;
    return 0;
fail:
    srv_free(s);
    return -1;
}

unsigned srv_port(const srv *s)
{
    return s->port;
}

void srv_stop(srv *s)
{
    int saved = errno; /* async-signal-safe: an atomic store and a write */
    atomic_store(&s->stop_req, 1);
    net_wake(s);
    errno = saved;
}

static void begin_stop(srv *s, int64_t now)
{
    size_t dispatched = 0;

    s->stopping = 1;
    if (s->lfd >= 0) {
        close(s->lfd);
        s->lfd = -1;
    }
    for (size_t i = 0; i < s->nconns; i++) {
        conn *c = s->conns[i];
        switch (c->st) {
        case ST_HANDSHAKE:
            net_conn_kill(c);
            break;
        case ST_READ_HEAD:
        case ST_READ_BODY:
            /* Not yet a request we acknowledged: the terminal retries. */
            start_closing(c, now);
            break;
        case ST_DISPATCHED:
            dispatched++;
            break;
        case ST_WRITE:
            if (c->after != AW_CLOSE)
                c->after = AW_CLOSE;
            break;
        case ST_CLOSING:
            break;
        }
    }
    net_log("info", "stopping", NULL, NULL, "connections=%zu dispatched=%zu", s->nconns,
              dispatched);
}

static void sweep(srv *s)
{
    size_t j = 0;
    for (size_t i = 0; i < s->nconns; i++) {
        if (s->conns[i]->dead)
            net_conn_free(s->conns[i]);
        else
            s->conns[j++] = s->conns[i];
    }
    s->nconns = j;
    s->ndead = 0;
}

int srv_run(srv *s)
{
    struct sigaction sa;
    int64_t stop_deadline = 0;

    /* Writing to a socket the peer closed must cost that connection only. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGPIPE, &sa, NULL);

    for (;;) {
        int64_t now = net_now_ms(), next;
        int timeout, n, any_ready = 0;
        size_t np = 0;

        if (atomic_exchange(&s->reload_req, 0)) {
            net_log("info", "reload", NULL, NULL, "hook=%s", s->reload_fn ? "yes" : "no");
            if (s->reload_fn)
                s->reload_fn(s->reload_ud);
        }
        if (atomic_load(&s->stop_req) && !s->stopping) {
            begin_stop(s, now);
            stop_deadline = now + STOP_GRACE_MS;
        }
        sweep(s);
        if (s->stopping && (s->nconns == 0 || now >= stop_deadline))
            break;

        next = now + POLL_MAX_MS;
        if (s->stopping && stop_deadline < next)
            next = stop_deadline;
        s->pfd[np].fd = s->wake_r;
        s->pfd[np].events = POLLIN;
        s->pconn[np++] = NULL;
        if (s->lfd >= 0) {
            int paused = now < s->accept_paused_until;
            s->pfd[np].fd = paused ? -1 : s->lfd;
            s->pfd[np].events = POLLIN;
            s->pconn[np++] = NULL;
            if (paused && s->accept_paused_until < next)
                next = s->accept_paused_until;
        }
        for (size_t i = 0; i < s->nconns; i++) {
            conn *c = s->conns[i];
            if ((c->st == ST_READ_HEAD || c->st == ST_READ_BODY) && px_tls_conn_pending(c->tls))
                c->ready = 1;
            if (c->ready)
                any_ready = 1;
            if (c->deadline && c->deadline < next)
                next = c->deadline;
            s->pfd[np].fd = c->st == ST_DISPATCHED ? -1 : c->fd;
            s->pfd[np].events = c->want;
            s->pfd[np].revents = 0;
            s->pconn[np++] = c;
        }
        timeout = any_ready ? 0 : next > now ? (int)(next - now) : 0;
        n = poll(s->pfd, (nfds_t)np, timeout);
        if (n < 0 && errno != EINTR) {
            char e[96];
            net_errno_text(errno, e, sizeof e);
            net_log("error", "poll_failed", NULL, e, NULL);
            (void)poll(NULL, 0, 10);
            continue;
        }
        now = net_now_ms();
        if (n > 0 && (s->pfd[0].revents & POLLIN))
            net_take_completed(s, now);
        if (n > 0 && s->lfd >= 0 && s->pfd[1].fd == s->lfd && (s->pfd[1].revents & POLLIN))
            net_accept(s, now);
        for (size_t i = 0; i < np; i++) {
            conn *c = s->pconn[i];
            if (!c || c->dead)
                continue;
            if (c->ready || (n > 0 && s->pfd[i].revents))
                step(c, now);
        }
        /* Connections accepted above were not in the poll set: start them. */
        for (size_t i = 0; i < s->nconns; i++) {
            conn *c = s->conns[i];
            if (!c->dead && c->st == ST_HANDSHAKE && c->ready)
                step(c, now);
        }
        for (size_t i = 0; i < s->nconns; i++) {
            conn *c = s->conns[i];
            if (!c->dead && c->deadline && now >= c->deadline)
                on_deadline(c, now);
        }
    }

    /* Shut the workers down; a handler still running finishes inside
     * srv_free (which joins), its response is dropped. */
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    {
        size_t left = 0;
        for (size_t i = 0; i < s->nconns; i++) {
            left += s->conns[i]->st == ST_DISPATCHED;
            net_conn_free(s->conns[i]);
        }
        s->nconns = 0;
        net_log("info", "stopped", NULL, NULL, "abandoned_requests=%zu", left);
    }
    if (s->lfd >= 0) {
        close(s->lfd);
        s->lfd = -1;
    }
    return 0;
}

void srv_get_stats(const srv *s, srv_stats *o)
{
    stats_atomic *a = (stats_atomic *)&s->st;
    o->connections_accepted = atomic_load(&a->connections_accepted);
    o->connections_refused = atomic_load(&a->connections_refused);
    o->connections_open = atomic_load(&a->connections_open);
    o->handshakes_full = atomic_load(&a->handshakes_full);
    o->handshakes_resumed = atomic_load(&a->handshakes_resumed);
    o->handshakes_failed = atomic_load(&a->handshakes_failed);
    o->requests = atomic_load(&a->requests);
    o->bytes_in = atomic_load(&a->bytes_in);
    o->bytes_out = atomic_load(&a->bytes_out);
    o->refused_header_too_large = atomic_load(&a->refused_header_too_large);
    o->refused_body_too_large = atomic_load(&a->refused_body_too_large);
    o->refused_bad_request = atomic_load(&a->refused_bad_request);
    o->timeouts = atomic_load(&a->timeouts);
    o->connections_evicted = atomic_load(&a->connections_evicted);
    o->refused_busy = atomic_load(&a->refused_busy);
    o->refused_queue_wait = atomic_load(&a->refused_queue_wait);
    o->log_suppressed = atomic_load(&a->log_suppressed);
    o->refused_per_peer = atomic_load(&a->refused_per_peer);
    o->refused_unauth = atomic_load(&a->refused_unauth);
}

const char *srv_header_get(const srv_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_headers; i++)
        if (strcmp(rq->headers[i].name, name) == 0)
            return rq->headers[i].value;
    return NULL;
}

void srv_free(srv *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    while (s->q_head) {
        job *j = s->q_head;
        s->q_head = j->next;
        net_job_free(j);
    }
    while (s->d_head) {
        job *j = s->d_head;
        s->d_head = j->next;
        net_job_free(j);
    }
    for (size_t i = 0; i < s->nconns; i++)
        net_conn_free(s->conns[i]);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->wake_r >= 0)
        close(s->wake_r);
    if (s->wake_w >= 0)
        close(s->wake_w);
    net_peers_free(s);
    pthread_mutex_destroy(&s->peer_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->conns);
    free(s->pfd);
    free(s->pconn);
    free(s->workers);
    free(s);
}

void srv_set_body_limit(srv *s, srv_body_limit_fn fn)
{
    s->body_limit = fn;
}

void srv_set_access_log(srv *s, int on)
{
    s->access_log = on;
}

void srv_set_reload(srv *s, srv_reload_fn fn, void *ud)
{
    s->reload_fn = fn;
    s->reload_ud = ud;
}

void srv_reload(srv *s)
{
    int saved = errno; /* async-signal-safe: an atomic store and a write */
    atomic_store(&s->reload_req, 1);
    net_wake(s);
    errno = saved;
}
