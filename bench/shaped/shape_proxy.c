/* shape_proxy.c -- a shaped link for benchmarks (docs/bench.md "Shaped
 * link"): a TCP relay 127.0.0.1:LISTEN -> 127.0.0.1:TARGET that behaves
 * like one slow mobile link between a terminal and its server.
 *
 *   shape_proxy --listen PORT --target PORT [--rate BITS] [--delay-ms MS]
 *               [--cut-every S] [--queue BYTES] [--stats FILE]
 *
 *  - rate: a token bucket per direction, shared by every connection (one
 *    link), default 1,000,000 bit/s of TCP payload (0: unlimited). Bytes
 *    are let through a packet's worth (1460 bytes) at a time; the bucket
 *    holds at most max(2 x 1460, 100 ms of rate) bytes, so a proxy that
 *    the loaded machine schedules late (< 100 ms) loses no capacity; what
 *    it loses all the same is counted (lost_up_s, lost_down_s: seconds of
 *    the link that idled while bytes waited).
 *  - delay: each byte is held delay-ms after the bucket let it through
 *    (propagation), default 50 ms each way (100 ms RTT).
 *  - queue: bytes read from a sender and waiting for the bucket, per
 *    connection and direction (the link's buffer), default 64 KiB; a full
 *    queue stops reading, so TCP's flow control pushes back on the sender.
 *  - cut-every: every S seconds, counted from the first connection
 *    accepted, every open connection is reset on both sides (RST, as when
 *    the link drops and the peer learns it at once) and what was queued or
 *    in flight in the proxy is dropped. 0 (default): never.
 *
 * It counts TCP payload bytes each way as read from the sender and as
 * delivered to the receiver (the TLS records, handshakes included), the
 * connections, the cuts (cut times that found at least one connection
 * open) and the bytes dropped by cuts. It also sees requests: one
 * request at a time on a connection (HTTP/1.1, no pipelining), a request
 * is what goes up between two answers, so a burst up that an answer
 * follows is a request's size (TLS records), and the burst a cut breaks
 * off is a request lost. Answered bursts of 64 KiB or more (evidence
 * chunks) are listed; for each cut, the burst it broke off and the last
 * listed one before it. On SIGUSR1, and on SIGTERM or SIGINT before it
 * exits, it writes all that as one JSON object to the stats file (or
 * stdout), with the think times: server_think_s, from the last byte of a
 * request delivered to the first byte of its answer read from the server
 * (the server's work: write, fsync, sign ...), and client_think_s, from
 * the last byte of an answer delivered to the terminal's next bytes read
 * (the terminal's work between requests), e.g.
 *   {"up":123,"down":45,"up_read":..,"down_read":..,"conns":3,"cuts":2,
 *    "conns_cut":2,"dropped_up":..,"dropped_down":..,"seconds":61.2, ...,
 *    "lost_burst":N,"big_requests":[N,...],"cut_bursts":[[lost,last],...]}
 * It prints "listening PORT" on stdout once it listens (--listen 0: any
 * free port), and one line on stderr per cut. Nothing is random: the same
 * traffic gives the same schedule. Benchmarks only: it serves 127.0.0.1.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define PACKET 1460u     /* bytes the bucket lets through at a time */
#define MAX_SEGS 4096u   /* in-flight segments per direction and connection */

typedef struct seg {
    uint64_t due_ns; /* when its bytes may be delivered */
    size_t len;
} seg;

/* One direction of one connection: buf[head, adm) was let through the
 * bucket (segments segs[], delivered when due), buf[adm, tail) waits for
 * the bucket. */
typedef struct half {
    int src, dst;
    uint8_t *buf;
    size_t cap, head, adm, tail;
    seg segs[MAX_SEGS];
    unsigned sh, sn; /* ring: first segment, count */
    int eof;         /* src said EOF (shutdown(dst) once all is delivered) */
    int hung;        /* src hung up entirely: no longer polled */
    int shut;        /* dst shut down for writing */
    uint64_t *count_read, *count_sent;
} half;

typedef struct conn {
    int used;
    int cfd, sfd; /* terminal side, server side */
    half up, down;
    uint64_t burst_up; /* delivered up since the last byte delivered down */
    /* Who is thinking: after the last byte of a request reached the server
     * until its answer's first byte comes back (the server), after the
     * last byte of an answer reached the terminal until its next bytes
     * come (the terminal). */
    int answering;                 /* the server has started to answer */
    uint64_t last_up_ns, last_down_ns; /* last delivery each way (0: none) */
} conn;

/* Requests as the link sees them: a burst of bytes up between two bytes
 * down (HTTP/1.1 over TLS, one request at a time). */
#define MAX_BIG 4096
#define BIG_BYTES (64u << 10) /* a burst this large is an evidence chunk */

typedef struct bucket {
    double tokens; /* bytes */
    uint64_t last_ns;
    double lost;   /* tokens thrown away at the cap while bytes waited: the
                    * proxy was late (not scheduled), the link idled */
} bucket;

static struct {
    unsigned listen_port, target_port;
    uint64_t rate_bps;        /* 0: unlimited */
    uint64_t delay_ns;
    uint64_t cut_ns;          /* 0: never */
    size_t queue;
    const char *stats_path;
    double burst;             /* bucket depth, bytes */
} cfg;

static struct {
    uint64_t up, down, up_read, down_read, conns, cuts, conns_cut, dropped_up, dropped_down;
    uint64_t start_ns, first_ns; /* first_ns: first connection (0: none yet) */
    uint64_t lost_burst;         /* bytes of the requests a cut broke off */
    uint64_t last_big;           /* the last answered burst of at least BIG_BYTES */
    uint64_t big[MAX_BIG];       /* bursts up of at least BIG_BYTES, answered */
    unsigned nbig;
    uint64_t cut_burst[MAX_BIG], cut_last_big[MAX_BIG]; /* per cut: broken off, last big */
    unsigned ncut;
    uint64_t server_ns, client_ns; /* think times (see conn) */
} st;

static volatile sig_atomic_t want_stats, want_stop;
static bucket bup, bdown; /* the link's two directions */
static conn conns[MAX_CONNS];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        want_stats = 1;
    else
        want_stop = 1;
}

/* A decimal number in [lo, hi] from s, or -1 with a sentence on stderr. */
static int parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+')
        goto bad;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr, "shape_proxy: %s takes a whole number from %llu to %llu, not '%s'\n", opt,
            (unsigned long long)lo, (unsigned long long)hi, s ? s : "");
    return -1;
}

static void write_stats(void)
{
    FILE *f = stdout;
    char tmp[4200];
    if (cfg.stats_path) {
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", cfg.stats_path) >= sizeof tmp ||
            !(f = fopen(tmp, "w"))) {
            fprintf(stderr, "shape_proxy: cannot write %s: %s\n", cfg.stats_path,
                    strerror(errno));
            return;
        }
    }
    fprintf(f,
            "{\"up\":%llu,\"down\":%llu,\"up_read\":%llu,\"down_read\":%llu,\"conns\":%llu,"
            "\"cuts\":%llu,\"conns_cut\":%llu,\"dropped_up\":%llu,\"dropped_down\":%llu,"
            "\"seconds\":%.3f,\"rate_bps\":%llu,\"delay_ms\":%.1f,\"cut_every_s\":%.1f",
            (unsigned long long)st.up, (unsigned long long)st.down,
            (unsigned long long)st.up_read, (unsigned long long)st.down_read,
            (unsigned long long)st.conns, (unsigned long long)st.cuts,
            (unsigned long long)st.conns_cut, (unsigned long long)st.dropped_up,
            (unsigned long long)st.dropped_down, (double)(now_ns() - st.start_ns) / 1e9,
            (unsigned long long)cfg.rate_bps, (double)cfg.delay_ns / 1e6,
            (double)cfg.cut_ns / 1e9);
    fprintf(f, ",\"lost_up_s\":%.3f,\"lost_down_s\":%.3f",
            cfg.rate_bps ? bup.lost * 8.0 / (double)cfg.rate_bps : 0.0,
            cfg.rate_bps ? bdown.lost * 8.0 / (double)cfg.rate_bps : 0.0);
    fprintf(f, ",\"server_think_s\":%.3f,\"client_think_s\":%.3f", (double)st.server_ns / 1e9,
            (double)st.client_ns / 1e9);
    fprintf(f, ",\"lost_burst\":%llu,\"big_requests\":[", (unsigned long long)st.lost_burst);
    for (unsigned i = 0; i < st.nbig; i++)
        fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)st.big[i]);
    fprintf(f, "],\"cut_bursts\":[");
    for (unsigned i = 0; i < st.ncut; i++)
        fprintf(f, "%s[%llu,%llu]", i ? "," : "", (unsigned long long)st.cut_burst[i],
                (unsigned long long)st.cut_last_big[i]);
    fprintf(f, "]}\n");
    if (cfg.stats_path) {
        if (fclose(f) != 0 || rename(tmp, cfg.stats_path) != 0)
            fprintf(stderr, "shape_proxy: cannot write %s: %s\n", cfg.stats_path,
                    strerror(errno));
    } else {
        fflush(f);
    }
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void set_nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Close with a reset (SO_LINGER 0): the peer sees ECONNRESET at once. */
static void close_rst(int fd)
{
    struct linger l = {1, 0};
    if (fd < 0)
        return;
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

static int half_init(half *h, int src, int dst, uint64_t *cr, uint64_t *cs)
{
    /* Room for the queue, what is in flight (rate x delay) and a burst. */
    double flight = cfg.rate_bps ? (double)cfg.rate_bps / 8.0 * (double)cfg.delay_ns / 1e9 : 0;
    memset(h, 0, sizeof *h);
    h->src = src;
    h->dst = dst;
    h->cap = cfg.queue + (size_t)flight + (size_t)cfg.burst + 2 * PACKET;
    if (!cfg.rate_bps)
        h->cap = cfg.queue * 4; /* unlimited: in flight is whatever delay holds */
    h->count_read = cr;
    h->count_sent = cs;
    return (h->buf = malloc(h->cap)) ? 0 : -1;
}

static size_t half_queued(const half *h)
{
    return h->tail - h->adm;
}

static size_t half_dropped(const half *h)
{
    return h->tail - h->head;
}

static void conn_close(conn *c, int reset)
{
    if (reset) {
        close_rst(c->cfd);
        close_rst(c->sfd);
    } else {
        close(c->cfd);
        close(c->sfd);
    }
    free(c->up.buf);
    free(c->down.buf);
    memset(c, 0, sizeof *c);
}

/* Read what fits from h->src. 0, or -1 when the connection must go. */
static int half_read(half *h)
{
    ssize_t n;
    if (h->eof)
        return 0;
    if (h->head > 0 && h->tail == h->cap) {
        /* Move the live bytes to the front; segments hold lengths only. */
        memmove(h->buf, h->buf + h->head, h->tail - h->head);
        h->adm -= h->head;
        h->tail -= h->head;
        h->head = 0;
    }
    if (half_queued(h) >= cfg.queue || h->tail == h->cap)
        return 0;
    {
        size_t room = cfg.queue - half_queued(h);
        if (room > h->cap - h->tail)
            room = h->cap - h->tail;
        n = read(h->src, h->buf + h->tail, room);
    }
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (n == 0) {
        h->eof = 1;
        return 0;
    }
    h->tail += (size_t)n;
    *h->count_read += (uint64_t)n;
    return 0;
}

/* Let up to *tokens bytes through the bucket into flight, due at now +
 * delay. Returns the bytes let through. */
static size_t half_admit(half *h, size_t allow, uint64_t now)
{
    size_t n = half_queued(h);
    uint64_t due = now + cfg.delay_ns;
    if (n > allow)
        n = allow;
    if (n == 0)
        return 0;
    if (h->sn > 0) {
        seg *last = &h->segs[(h->sh + h->sn - 1) % MAX_SEGS];
        if (last->due_ns / 1000000u == due / 1000000u) {
            last->len += n; /* the same millisecond: one segment */
            h->adm += n;
            return n;
        }
    }
    if (h->sn == MAX_SEGS)
        return 0;
    h->segs[(h->sh + h->sn) % MAX_SEGS] = (seg){due, n};
    h->sn++;
    h->adm += n;
    return n;
}

/* Deliver what is due. 0, or -1 when the connection must go. */
static int half_write(half *h, uint64_t now)
{
    while (h->sn > 0) {
        seg *s = &h->segs[h->sh];
        ssize_t n;
        if (s->due_ns > now)
            break;
        n = write(h->dst, h->buf + h->head, s->len);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        h->head += (size_t)n;
        s->len -= (size_t)n;
        *h->count_sent += (uint64_t)n;
        if (s->len > 0)
            return 0;
        h->sh = (h->sh + 1) % MAX_SEGS;
        h->sn--;
    }
    if (h->head == h->tail) {
        h->head = h->adm = h->tail = 0;
        if (h->eof && !h->shut) {
            (void)shutdown(h->dst, SHUT_WR);
            h->shut = 1;
        }
    }
    return 0;
}

/* Nanoseconds until the next segment of h is due (UINT64_MAX: none). */
static uint64_t half_next_due(const half *h, uint64_t now)
{
    if (h->sn == 0)
        return UINT64_MAX;
    return h->segs[h->sh].due_ns > now ? h->segs[h->sh].due_ns - now : 0;
}

static void bucket_fill(bucket *b, uint64_t now, int waiting)
{
    if (!cfg.rate_bps)
        return;
    b->tokens += (double)(now - b->last_ns) * (double)cfg.rate_bps / 8.0 / 1e9;
    if (b->tokens > cfg.burst) {
        if (waiting)
            b->lost += b->tokens - cfg.burst;
        b->tokens = cfg.burst;
    }
    b->last_ns = now;
}

/* Let bytes of every connection's half (up or down) through bucket b,
 * round-robin from *rr, a packet at a time. Returns the nanoseconds until
 * the bucket can let the next waiting packet through (UINT64_MAX: nothing
 * waits). */
static uint64_t admit_all(bucket *b, int down, unsigned *rr, uint64_t now)
{
    int progress = 1, waiting = 0;
    for (unsigned i = 0; i < MAX_CONNS && !waiting; i++)
        if (conns[i].used)
            waiting = half_queued(down ? &conns[i].down : &conns[i].up) > 0;
    bucket_fill(b, now, waiting);
    while (progress) {
        progress = 0;
        for (unsigned k = 0; k < MAX_CONNS; k++) {
            unsigned i = (*rr + k) % MAX_CONNS;
            half *h;
            size_t want, got;
            if (!conns[i].used)
                continue;
            h = down ? &conns[i].down : &conns[i].up;
            want = half_queued(h);
            if (want == 0)
                continue;
            if (want > PACKET)
                want = PACKET;
            if (cfg.rate_bps && b->tokens < (double)want)
                continue;
            got = half_admit(h, cfg.rate_bps ? want : half_queued(h), now);
            if (cfg.rate_bps)
                b->tokens -= (double)got;
            if (got) {
                progress = 1;
                *rr = (i + 1) % MAX_CONNS;
            }
        }
    }
    /* Time until the smallest waiting packet fits. */
    {
        uint64_t wait = UINT64_MAX;
        for (unsigned i = 0; i < MAX_CONNS; i++) {
            half *h;
            size_t want;
            if (!conns[i].used)
                continue;
            h = down ? &conns[i].down : &conns[i].up;
            want = half_queued(h);
            if (want == 0 || h->sn == MAX_SEGS)
                continue;
            if (want > PACKET)
                want = PACKET;
            if (!cfg.rate_bps) {
                wait = 0;
                break;
            }
            {
                double lack = (double)want - b->tokens;
                uint64_t w = lack <= 0 ? 0
                                       : (uint64_t)(lack * 8.0 * 1e9 / (double)cfg.rate_bps) + 1;
                if (w < wait)
                    wait = w;
            }
        }
        return wait;
    }
}

static void cut_all(uint64_t now)
{
    unsigned n = 0;
    uint64_t du = 0, dd = 0, burst = 0;
    for (unsigned i = 0; i < MAX_CONNS; i++) {
        if (!conns[i].used)
            continue;
        burst += conns[i].burst_up;
        du += half_dropped(&conns[i].up);
        dd += half_dropped(&conns[i].down);
        conn_close(&conns[i], 1);
        n++;
    }
    if (n == 0)
        return;
    st.cuts++;
    st.conns_cut += n;
    st.dropped_up += du;
    st.dropped_down += dd;
    st.lost_burst += burst;
    if (st.ncut < MAX_BIG) {
        st.cut_burst[st.ncut] = burst;
        st.cut_last_big[st.ncut++] = st.last_big;
    }
    fprintf(stderr,
            "shape_proxy: t=%.3f s cut %u connection(s): a request of %llu bytes delivered was "
            "broken off (the last large one: %llu bytes); dropped %llu bytes up, %llu down\n",
            (double)(now - st.first_ns) / 1e9, n, (unsigned long long)burst,
            (unsigned long long)st.last_big, (unsigned long long)du, (unsigned long long)dd);
}

static void accept_one(int lfd)
{
    struct sockaddr_in sa;
    int cfd = accept(lfd, NULL, NULL), sfd;
    unsigned i;
    if (cfd < 0)
        return;
    for (i = 0; i < MAX_CONNS && conns[i].used; i++)
        ;
    if (i == MAX_CONNS) {
        fprintf(stderr, "shape_proxy: more than %d connections; refused\n", MAX_CONNS);
        close_rst(cfd);
        return;
    }
    /* Connect to the target (blocking: 127.0.0.1 answers at once). */
    if ((sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        close_rst(cfd);
        return;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg.target_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(sfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "shape_proxy: connect to 127.0.0.1:%u: %s\n", cfg.target_port,
                strerror(errno));
        close(sfd);
        close_rst(cfd);
        return;
    }
    set_nonblock(cfd);
    set_nonblock(sfd);
    set_nodelay(cfd);
    set_nodelay(sfd);
    conn *c = &conns[i];
    memset(c, 0, sizeof *c);
    c->cfd = cfd;
    c->sfd = sfd;
    if (half_init(&c->up, cfd, sfd, &st.up_read, &st.up) != 0 ||
        half_init(&c->down, sfd, cfd, &st.down_read, &st.down) != 0) {
        fprintf(stderr, "shape_proxy: out of memory\n");
        free(c->up.buf);
        free(c->down.buf);
        close_rst(cfd);
        close_rst(sfd);
        memset(c, 0, sizeof *c);
        return;
    }
    c->used = 1;
    st.conns++;
    if (!st.first_ns)
        st.first_ns = now_ns();
}

static int usage(void)
{
    fprintf(stderr, "usage: shape_proxy --listen PORT --target PORT [--rate BITS] [--delay-ms MS]\n"
                    "                   [--cut-every S] [--queue BYTES] [--stats FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t v, listen_port = UINT64_MAX, target = 0, delay_ms = 50, cut_s = 0, queue = 65536;
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    struct sigaction sig;
    unsigned rr_up = 0, rr_down = 0;
    int lfd, one = 1;

    cfg.rate_bps = 1000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--stats") == 0 && val) {
            cfg.stats_path = val;
        } else if (strcmp(a, "--listen") == 0) {
            if (parse_u64(a, val, 0, 65535, &listen_port))
                return 2;
        } else if (strcmp(a, "--target") == 0) {
            if (parse_u64(a, val, 1, 65535, &target))
                return 2;
        } else if (strcmp(a, "--rate") == 0) {
            if (parse_u64(a, val, 0, 100000000000ull, &v))
                return 2;
            cfg.rate_bps = v;
            if (v != 0 && v < 8 * PACKET) {
                fprintf(stderr, "shape_proxy: --rate below %u bit/s is not modelled\n",
                        8 * PACKET);
                return 2;
            }
        } else if (strcmp(a, "--delay-ms") == 0) {
            if (parse_u64(a, val, 0, 10000, &delay_ms))
                return 2;
        } else if (strcmp(a, "--cut-every") == 0) {
            if (parse_u64(a, val, 0, 86400, &cut_s))
                return 2;
        } else if (strcmp(a, "--queue") == 0) {
            if (parse_u64(a, val, PACKET, 64u << 20, &queue))
                return 2;
        } else {
            return usage();
        }
        i++;
    }
    if (listen_port == UINT64_MAX || target == 0)
        return usage();
    cfg.listen_port = (unsigned)listen_port;
    cfg.target_port = (unsigned)target;
    cfg.delay_ns = delay_ms * 1000000u;
    cfg.cut_ns = cut_s * 1000000000u;
    cfg.queue = (size_t)queue;
    cfg.burst = (double)cfg.rate_bps / 8.0 * 0.100;
    if (cfg.burst < 2.0 * PACKET)
        cfg.burst = 2.0 * PACKET;

    memset(&sig, 0, sizeof sig);
    sig.sa_handler = on_signal;
    sigaction(SIGTERM, &sig, NULL);
    sigaction(SIGINT, &sig, NULL);
    sigaction(SIGUSR1, &sig, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        perror("shape_proxy: socket");
        return 1;
    }
    (void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg.listen_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
        fprintf(stderr, "shape_proxy: listen on 127.0.0.1:%u: %s\n", cfg.listen_port,
                strerror(errno));
        return 1;
    }
    set_nonblock(lfd);
    st.start_ns = now_ns();
    bup.tokens = bdown.tokens = cfg.burst;
    bup.last_ns = bdown.last_ns = st.start_ns;
    printf("listening %u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);

    while (!want_stop) {
        struct pollfd pfd[1 + 2 * MAX_CONNS];
        int idx[1 + 2 * MAX_CONNS];
        nfds_t np = 0;
        uint64_t now = now_ns(), wait = UINT64_MAX, w;
        int timeout;

        if (want_stats) {
            want_stats = 0;
            write_stats();
        }
        /* The cut schedule: k x cut_ns after the first connection. */
        if (cfg.cut_ns && st.first_ns) {
            static uint64_t next_cut;
            if (!next_cut)
                next_cut = st.first_ns + cfg.cut_ns;
            if (now >= next_cut) {
                cut_all(now);
                while (next_cut <= now)
                    next_cut += cfg.cut_ns;
            }
            w = next_cut - now;
            if (w < wait)
                wait = w;
        }
        /* Bucket, then delivery. */
        w = admit_all(&bup, 0, &rr_up, now);
        if (w < wait)
            wait = w;
        w = admit_all(&bdown, 1, &rr_down, now);
        if (w < wait)
            wait = w;
        for (unsigned i = 0; i < MAX_CONNS; i++) {
            conn *c = &conns[i];
            if (!c->used)
                continue;
            {
                uint64_t up0 = st.up, down0 = st.down;
                if (half_write(&c->up, now) != 0 || half_write(&c->down, now) != 0) {
                    conn_close(c, 1);
                    continue;
                }
                c->burst_up += st.up - up0;
                if (st.up > up0)
                    c->last_up_ns = now;
                if (st.down > down0)
                    c->last_down_ns = now;
                if (st.down > down0 && c->burst_up > 0) {
                    /* An answer begins: the request before it is complete. */
                    if (c->burst_up >= BIG_BYTES) {
                        if (st.nbig < MAX_BIG)
                            st.big[st.nbig++] = c->burst_up;
                        st.last_big = c->burst_up;
                    }
                    c->burst_up = 0;
                }
            }
            /* Both ways ended and delivered: done. */
            if (c->up.shut && c->down.shut) {
                conn_close(c, 0);
                continue;
            }
            w = half_next_due(&c->up, now);
            if (w < wait)
                wait = w;
            w = half_next_due(&c->down, now);
            if (w < wait)
                wait = w;
        }

        pfd[np] = (struct pollfd){lfd, POLLIN, 0};
        idx[np++] = -1;
        for (unsigned i = 0; i < MAX_CONNS; i++) {
            conn *c = &conns[i];
            if (!c->used)
                continue;
            short ev_c = 0, ev_s = 0;
            if (!c->up.eof && half_queued(&c->up) < cfg.queue)
                ev_c |= POLLIN;
            if (!c->down.eof && half_queued(&c->down) < cfg.queue)
                ev_s |= POLLIN;
            /* Due bytes a full socket would not take: wait for room. */
            if (c->up.sn > 0 && c->up.segs[c->up.sh].due_ns <= now)
                ev_s |= POLLOUT;
            if (c->down.sn > 0 && c->down.segs[c->down.sh].due_ns <= now)
                ev_c |= POLLOUT;
            pfd[np] = (struct pollfd){c->up.hung && !(ev_c & POLLOUT) ? -1 : c->cfd, ev_c, 0};
            idx[np++] = (int)i * 2;
            pfd[np] = (struct pollfd){c->down.hung && !(ev_s & POLLOUT) ? -1 : c->sfd, ev_s, 0};
            idx[np++] = (int)i * 2 + 1;
        }
        if (wait == UINT64_MAX)
            timeout = 1000;
        else
            timeout = (int)((wait + 999999u) / 1000000u);
        if (timeout > 1000)
            timeout = 1000;
        if (poll(pfd, np, timeout) < 0) {
            if (errno == EINTR)
                continue;
            perror("shape_proxy: poll");
            break;
        }
        for (nfds_t k = 0; k < np; k++) {
            conn *c;
            half *h;
            uint64_t got0, t;
            if (!pfd[k].revents)
                continue;
            if (idx[k] < 0) {
                accept_one(lfd);
                continue;
            }
            c = &conns[idx[k] / 2];
            if (!c->used)
                continue;
            /* The terminal side's input feeds up, the server side's down. */
            h = idx[k] % 2 == 0 ? &c->up : &c->down;
            got0 = *h->count_read;
            t = now_ns();
            if (pfd[k].revents & POLLERR) {
                conn_close(c, 1);
                continue;
            }
            if (pfd[k].revents & (POLLIN | POLLHUP)) {
                if (half_read(h) != 0) {
                    conn_close(c, 1);
                    continue;
                }
                /* Gone both ways after its EOF: stop polling it (a write
                 * to it fails and closes the connection). */
                if ((pfd[k].revents & POLLHUP) && h->eof)
                    h->hung = 1;
            }
            if (*h->count_read == got0)
                continue;
            /* The first bytes of an answer, or of the next request, once
             * everything before them was delivered: who was thinking. */
            if (h == &c->down && !c->answering) {
                if (c->last_up_ns && c->up.sn == 0 && half_queued(&c->up) == 0)
                    st.server_ns += t - c->last_up_ns;
                c->answering = 1;
            } else if (h == &c->up && c->answering) {
                if (c->last_down_ns && c->down.sn == 0 && half_queued(&c->down) == 0)
                    st.client_ns += t - c->last_down_ns;
                c->answering = 0;
            }
        }
    }
    for (unsigned i = 0; i < MAX_CONNS; i++)
        if (conns[i].used)
            conn_close(&conns[i], 1);
    close(lfd);
    write_stats();
    return 0;
}
