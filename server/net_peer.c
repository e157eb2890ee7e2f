/* net_peer.c -- accepting patrold's connections (net.h): the listening
 * socket's queue, the connection limits, and a new connection's set-up
 * (non-blocking, TCP_NODELAY, TLS state). Runs on the loop thread.
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

void net_accept(srv *s, int64_t now)
{
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept(s->lfd, (struct sockaddr *)&ss, &sl), one = 1;
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
        if (s->nconns >= s->lim.max_connections) {
            STAT_ADD(s, connections_refused, 1);
            net_log("warn", "connection_refused", peer, "max_connections reached",
                      "limit=%u", s->lim.max_connections);
            close(fd);
            continue;
        }
        if (net_nonblock_cloexec(fd) != 0 ||
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
            close(fd);
            continue;
        }
#ifdef SO_NOSIGPIPE
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        if (!(c = calloc(1, sizeof *c))) {
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
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
