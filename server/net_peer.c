/* net_peer.c -- patrold's connections by peer address (net.h): accepting
 * within the limits (max_connections in all, max_per_peer from one
 * address, reserved_for_devices kept for connections with a verified
 * client certificate), making room by dropping connections that have sent
 * no request yet, the peer table that counts them, the rate-limited log of
 * security refusals, the per-address throttle handlers use, and the
 * budget of request bodies held in memory.
 *
 * The peer table is open-addressed (PEER_PROBE slots an address) under
 * srv.peer_mu: the loop thread counts connections, the workers take
 * throttle tokens and log refusals.
 */
#include "net_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the peer table --------------------------------------------------- */

int net_peers_init(srv *s)
{
    size_t want = ((size_t)s->lim.max_connections + ACCEPTS_PER_WAKE) * 4, n = 1024;
    while (n < want)
        n *= 2;
    if (!(s->peers = calloc(n, sizeof *s->peers)))
        return -1;
    s->npeers = n;
    s->glog_tokens = SECLOG_ALL_BURST;
    s->glog_ms = net_now_ms();
    return 0;
}

void net_peers_free(srv *s)
{
    free(s->peers);
    s->peers = NULL;
}

/* "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1". */
static void host_of(const char *addr, char out[PEER_MAX])
{
    const char *end;
    size_t n;
    if (addr[0] == '[') {
        addr++;
        end = strchr(addr, ']');
    } else {
        end = strrchr(addr, ':');
    }
    n = end ? (size_t)(end - addr) : strlen(addr);
    if (n >= PEER_MAX)
        n = PEER_MAX - 1;
    memcpy(out, addr, n);
    out[n] = '\0';
}

static size_t host_hash(const char *h)
{
    uint64_t x = 1469598103934665603ULL; /* FNV-1a */
    for (; *h; h++)
        x = (x ^ (unsigned char)*h) * 1099511628211ULL;
    return (size_t)x;
}

/* The entry of an address (under peer_mu), made when absent: -1 when its
 * probe window holds only addresses with open connections. */
static int peer_get(srv *s, const char *host, int64_t now)
{
    size_t mask = s->npeers - 1, at = host_hash(host) & mask;
    int victim = -1;
    for (size_t i = 0; i < PEER_PROBE; i++) {
        size_t k = (at + i) & mask;
        peer_ent *e = &s->peers[k];
        if (strcmp(e->host, host) == 0 && e->host[0])
            return (int)k;
        if (!e->host[0]) {
            if (victim < 0 || s->peers[victim].host[0])
                victim = (int)k;
        } else if (e->conns == 0 && (victim < 0 || (s->peers[victim].host[0] &&
                                                   e->last_ms < s->peers[victim].last_ms))) {
            victim = (int)k;
        }
    }
    if (victim >= 0) {
        peer_ent *e = &s->peers[victim];
        memset(e, 0, sizeof *e);
        (void)snprintf(e->host, sizeof e->host, "%s", host);
        e->log_tokens = SECLOG_BURST;
        e->thr_tokens = s->lim.throttle_burst;
        e->log_ms = e->thr_ms = e->last_ms = now;
    }
    return victim;
}

void net_peer_release(srv *s, conn *c)
{
    if (c->pe < 0)
        return;
    pthread_mutex_lock(&s->peer_mu);
    if (s->peers[c->pe].conns > 0)
        s->peers[c->pe].conns--;
    pthread_mutex_unlock(&s->peer_mu);
    c->pe = -1;
}

/* Refill a token bucket of `cap` tokens at `per_ms` tokens a millisecond. */
static void refill(double *tokens, int64_t *last, double cap, double per_ms, int64_t now)
{
    if (now > *last) {
        *tokens += (double)(now - *last) * per_ms;
        if (*tokens > cap)
            *tokens = cap;
        *last = now;
    }
}

/* ---- the refusal log ------------------------------------------------------ */

static void log_refusal_v(srv *s, const char *event, const char *peer, const char *code,
                          const char *reason, const char *fmt, va_list ap)
{
    char host[PEER_MAX], extra[512];
    int64_t now = net_now_ms();
    uint64_t suppressed = 0;
    int pe, ok;

    host_of(peer ? peer : "?", host);
    pthread_mutex_lock(&s->peer_mu);
    pe = peer_get(s, host, now);
    refill(&s->glog_tokens, &s->glog_ms, SECLOG_ALL_BURST, SECLOG_ALL_PER_S / 1000.0, now);
    if (pe >= 0) {
        peer_ent *e = &s->peers[pe];
        e->last_ms = now;
        refill(&e->log_tokens, &e->log_ms, SECLOG_BURST, SECLOG_PER_MIN / 60000.0, now);
        ok = e->log_tokens >= 1.0 && s->glog_tokens >= 1.0;
        if (ok) {
            e->log_tokens -= 1.0;
            s->glog_tokens -= 1.0;
            suppressed = e->suppressed;
            e->suppressed = 0;
        } else {
            e->suppressed++;
        }
    } else {
        ok = s->glog_tokens >= 1.0;
        if (ok)
            s->glog_tokens -= 1.0;
    }
    pthread_mutex_unlock(&s->peer_mu);
    if (!ok) {
        STAT_ADD(s, log_suppressed, 1);
        return;
    }
    extra[0] = '\0';
    if (fmt)
        (void)vsnprintf(extra, sizeof extra, fmt, ap);
    if (suppressed)
        net_log("warn", event, peer, reason, "code=%s%s%s suppressed=%llu", code,
                extra[0] ? " " : "", extra, (unsigned long long)suppressed);
    else
        net_log("warn", event, peer, reason, "code=%s%s%s", code, extra[0] ? " " : "", extra);
}

void net_log_refusal(srv *s, const char *event, const char *peer, const char *code,
                     const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_refusal_v(s, event, peer, code, reason, fmt, ap);
    va_end(ap);
}

void srv_log_refusal(srv *s, const srv_request *rq, const char *code, const char *detail)
{
    if (!s || !rq)
        return;
    net_log_refusal(s, "refused", rq->peer_addr, code, detail, "method=%s path=%s cert=%s",
                    rq->method, rq->path, rq->peer_key_id ? "yes" : "no");
}

/* ---- the throttle --------------------------------------------------------- */

int srv_throttle(srv *s, const srv_request *rq, unsigned *retry_s)
{
    char host[PEER_MAX];
    int64_t now = net_now_ms();
    int pe, rc = 0;

    *retry_s = 0;
    if (!s || !rq || !rq->peer_addr)
        return 0;
    host_of(rq->peer_addr, host);
    pthread_mutex_lock(&s->peer_mu);
    pe = peer_get(s, host, now);
    if (pe >= 0) {
        peer_ent *e = &s->peers[pe];
        double per_ms = s->lim.throttle_per_min / 60000.0;
        e->last_ms = now;
        refill(&e->thr_tokens, &e->thr_ms, s->lim.throttle_burst, per_ms, now);
        if (e->thr_tokens >= 1.0) {
            e->thr_tokens -= 1.0;
        } else {
            rc = 1;
            *retry_s = (unsigned)((1.0 - e->thr_tokens) / per_ms / 1000.0) + 1;
        }
    } else {
        rc = 1; /* no room to keep its count: refuse rather than go unthrottled */
        *retry_s = 1;
    }
    pthread_mutex_unlock(&s->peer_mu);
    return rc;
}

/* ---- the body budget ------------------------------------------------------ */

int net_budget_take(srv *s, size_t n)
{
    size_t cur = atomic_load(&s->body_used);
    do {
        if (n > s->lim.body_budget_bytes - cur)
            return -1;
    } while (!atomic_compare_exchange_weak(&s->body_used, &cur, cur + n));
    return 0;
}

void net_budget_give(srv *s, size_t n)
{
    atomic_fetch_sub(&s->body_used, n);
}

/* ---- accept ------------------------------------------------------------- */

static void net_addr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t n)
{
    char host[64], serv[16]; /* NI_MAXHOST is not POSIX; numeric forms fit */
    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        (void)snprintf(out, n, "?");
        return;
    }
    if (sa->sa_family == AF_INET6)
        (void)snprintf(out, n, "[%s]:%s", host, serv);
    else
        (void)snprintf(out, n, "%s:%s", host, serv);
}

/* Make room for one connection: drop the oldest that has not sent a
 * request yet (handshake, or reading its first request's headers) and has
 * no certificate; when unauth_only is 0 and there is none, the connection
 * idle the longest between keep-alive requests. Returns 1 if one was
 * dropped. */
static int evict_one(srv *s, int unauth_only, int64_t now)
{
    conn *v = NULL;
    for (size_t i = 0; i < s->nconns; i++) {
        conn *c = s->conns[i];
        if (c->dead || c->has_peer || c->nreq ||
            (c->st != ST_HANDSHAKE && c->st != ST_READ_HEAD))
            continue;
        if (!v || c->accepted_ms < v->accepted_ms)
            v = c;
    }
    if (!v && !unauth_only)
        for (size_t i = 0; i < s->nconns; i++) {
            conn *c = s->conns[i];
            if (c->dead || c->st != ST_READ_HEAD || c->started)
                continue;
            if (!v || c->req_start < v->req_start)
                v = c;
        }
    if (!v)
        return 0;
    STAT_ADD(s, connections_evicted, 1);
    net_log_refusal(s, "connection_dropped", v->peer, "make_room",
                    "dropped for a new connection: the server is full", "state=%s age_ms=%lld",
                    net_state_name[v->st], (long long)(now - v->accepted_ms));
    net_conn_kill(v);
    return 1;
}

/* Whether a new connection from host may be accepted, making room when
 * the server is full. Sets *pe (its peer entry, or -1) and counts it. */
static int admit(srv *s, const char *peer, int64_t now, int *pe)
{
    char host[PEER_MAX];
    size_t open = s->nconns - s->ndead;
    size_t unauth_max = s->lim.max_connections - s->lim.reserved_for_devices;
    const char *code = NULL;

    host_of(peer, host);
    pthread_mutex_lock(&s->peer_mu);
    *pe = peer_get(s, host, now);
    if (*pe >= 0 && s->peers[*pe].conns >= s->lim.max_per_peer)
        code = "per_peer_limit";
    pthread_mutex_unlock(&s->peer_mu);
    if (!code && open >= s->lim.max_connections && !evict_one(s, 0, now))
        code = "max_connections";
    if (!code && s->n_unauth >= unauth_max && !evict_one(s, 1, now))
        code = "no_room_without_certificate";
    if (!code && s->nconns >= s->conns_cap)
        code = "max_connections";
    if (code) {
        if (code[0] == 'p')
            STAT_ADD(s, refused_per_peer, 1);
        else if (code[0] == 'n')
            STAT_ADD(s, refused_unauth, 1);
        else
            STAT_ADD(s, connections_refused, 1);
        net_log_refusal(s, "connection_refused", peer, code, "connection limit",
                        "max_connections=%u max_per_peer=%u open=%zu", s->lim.max_connections,
                        s->lim.max_per_peer, s->nconns - s->ndead);
        *pe = -1;
        return 0;
    }
    if (*pe >= 0) {
        pthread_mutex_lock(&s->peer_mu);
        s->peers[*pe].conns++;
        s->peers[*pe].last_ms = now;
        pthread_mutex_unlock(&s->peer_mu);
    }
    return 1;
}

void net_accept(srv *s, int64_t now)
{
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept(s->lfd, (struct sockaddr *)&ss, &sl), one = 1, pe;
        const char *why = NULL;
        char peer[PEER_MAX];
        conn *c;

        if (fd < 0) {
            char e[96];
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            net_errno_text(errno, e, sizeof e);
            net_log("error", "accept_failed", NULL, e, NULL);
            s->accept_paused_until = now + ACCEPT_BACKOFF_MS; /* e.g. EMFILE */
            return;
        }
        net_addr_text((struct sockaddr *)&ss, sl, peer, sizeof peer);
        if (!admit(s, peer, now, &pe)) {
            close(fd);
            continue;
        }
        if (net_nonblock_cloexec(fd) != 0 ||
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
            !(c = calloc(1, sizeof *c))) {
            close(fd);
            if (pe >= 0) {
                pthread_mutex_lock(&s->peer_mu);
                s->peers[pe].conns--;
                pthread_mutex_unlock(&s->peer_mu);
            }
            continue;
        }
#ifdef SO_NOSIGPIPE
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        c->s = s;
        c->fd = fd;
        c->pe = pe;
        c->accepted_ms = now;
        s->n_unauth++;
        STAT_ADD(s, connections_accepted, 1);
        STAT_ADD(s, connections_open, 1);
        memcpy(c->peer, peer, sizeof c->peer);
        c->arena_cap = s->lim.max_header_bytes + s->lim.max_headers * 2 + 2;
        if (!(c->arena = malloc(c->arena_cap)) ||
            !(c->hname = calloc(s->lim.max_headers, sizeof *c->hname)) ||
            !(c->hval = calloc(s->lim.max_headers, sizeof *c->hval)) ||
            px_tls_conn_new(s->tls, fd, &c->tls, &why) != 0) {
            net_log("error", "connection_setup_failed", peer, why ? why : "out of memory",
                      NULL);
            net_conn_free(c);
            continue;
        }
        c->st = ST_HANDSHAKE;
        c->want = POLLIN;
        c->ready = 1; /* the ClientHello may be there already */
        c->deadline = now + s->lim.handshake_timeout_ms;
        s->conns[s->nconns++] = c;
    }
}
