/* sync_harness.c -- see sync_harness.h. */
#include "sync_harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* ---- small things ---------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- processes -------------------------------------------------------- */

/* Wait for pid at most timeout_ms, then SIGKILL it. Its exit status, or -1. */
static int wait_bounded(pid_t pid, unsigned timeout_ms)
{
    int status;
    uint64_t end = bu_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (w < 0 && errno != EINTR)
            return -1;
        if (bu_now_ns() > end) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        sleep_ms(5);
    }
}

/* Run argv (argv[0] is the program's path) with stderr appended to log and
 * stdout captured into out (at most outlen - 1 bytes, NUL-terminated).
 * Bounded: 60 s. Its exit status, or -1. */
static int run_capture(char *const argv[], const char *log, char *out, size_t outlen)
{
    int fds[2];
    size_t got = 0;
    uint64_t end = bu_now_ns() + 60000000000ull;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    if ((pid = fork()) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (lfd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(lfd, 2) < 0)
            _exit(127);
        close(fds[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        struct pollfd pf = {fds[0], POLLIN, 0};
        char sink[256];
        ssize_t n;
        int left = (int)((end - bu_now_ns()) / 1000000u);
        if (bu_now_ns() >= end || poll(&pf, 1, left > 0 ? left : 1) == 0)
            break;
        if (got + 1 < outlen)
            n = read(fds[0], out + got, outlen - 1 - got);
        else
            n = read(fds[0], sink, sizeof sink);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (got + 1 < outlen)
            got += (size_t)n;
    }
    if (outlen)
        out[got] = '\0';
    close(fds[0]);
    return wait_bounded(pid, 5000);
}

int bs_find_patrold(const char *explicit_path, char *out, size_t len)
{
    const char *env = getenv("PATROLD");
    char self[4096], *slash;
    ssize_t n;

    if (explicit_path && *explicit_path)
        return (size_t)snprintf(out, len, "%s", explicit_path) < len &&
                       access(out, X_OK) == 0
                   ? 0
                   : -1;
    if (env && *env && (size_t)snprintf(out, len, "%s", env) < len && access(out, X_OK) == 0)
        return 0;
#ifdef PATROLD_PATH
    if ((size_t)snprintf(out, len, "%s", PATROLD_PATH) < len && access(out, X_OK) == 0)
        return 0;
#endif
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    if (!(slash = strrchr(self, '/')))
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(out, len, "%s/../server/patrold", self) < len && access(out, X_OK) == 0)
        return 0;
    return -1;
}

int bs_server_start(const char *patrold, const char *dir, bs_server *s, char *err,
                    size_t errlen)
{
    char out[1024], *nl;
    uint64_t end;
    pid_t pid, parent;

    memset(s, 0, sizeof *s);
    if ((size_t)snprintf(s->data, sizeof s->data, "%s", dir) >= sizeof s->data ||
        (size_t)snprintf(s->log, sizeof s->log, "%s.log", dir) >= sizeof s->log) {
        snprintf(err, errlen, "directory name too long");
        return -1;
    }
    {
        char *const init[] = {(char *)patrold, "--data", s->data, "init", "--name", "bench",
                              NULL};
        if (run_capture(init, s->log, out, sizeof out) != 0) {
            snprintf(err, errlen, "patrold init failed (see %s)", s->log);
            return -1;
        }
    }
    {
        char *const add[] = {(char *)patrold, "--data", s->data, "device", "add", "--name",
                             "bench-handheld", "--department", BU_DEPARTMENT, NULL};
        if (run_capture(add, s->log, out, sizeof out) != 0 || strncmp(out, "PT1.", 4) != 0) {
            snprintf(err, errlen, "patrold device add failed (see %s)", s->log);
            return -1;
        }
        if ((nl = strchr(out, '\n')))
            *nl = '\0';
        if (strlen(out) >= sizeof s->token) {
            snprintf(err, errlen, "patrold device add: the token is too long");
            return -1;
        }
        memcpy(s->token, out, strlen(out) + 1);
    }
    fflush(NULL);
    parent = getpid();
    if ((pid = fork()) < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char *const serve[] = {(char *)patrold, "--data", s->data, "serve", "--listen",
                               "127.0.0.1:0", NULL};
        int lfd;
        (void)parent;
#ifdef __linux__
        /* If the benchmark dies, so does its server (SIGTERM: a clean stop). */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
#endif
        lfd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (lfd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
            _exit(127);
        execv(patrold, serve);
        _exit(127);
    }
    s->pid = pid;
    end = bu_now_ns() + 15000000000ull;
    while (bu_now_ns() < end) {
        FILE *f = fopen(s->log, "r");
        char line[1024];
        int status;
        while (f && fgets(line, sizeof line, f)) {
            const char *a = strstr(line, "event=listening addr=127.0.0.1:");
            if (a) {
                unsigned long port = strtoul(a + strlen("event=listening addr=127.0.0.1:"), NULL,
                                             10);
                if (port > 0 && port < 65536) {
                    s->port = (unsigned)port;
                    snprintf(s->url, sizeof s->url, "https://127.0.0.1:%u", s->port);
                    fclose(f);
                    return 0;
                }
            }
        }
        if (f)
            fclose(f);
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            snprintf(err, errlen, "patrold serve exited (see %s)", s->log);
            return -1;
        }
        sleep_ms(10);
    }
    bs_server_stop(s);
    snprintf(err, errlen, "patrold did not listen within 15 s (see %s)", s->log);
    return -1;
}

void bs_server_stop(bs_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    (void)wait_bounded(s->pid, 10000);
    s->pid = 0;
}

static int read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
    char path[64];
    int fd;
    ssize_t n;
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, what);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

long bs_proc_hwm_kib(pid_t pid)
{
    char buf[4096];
    const char *p;
    if (read_proc(pid, "status", buf, sizeof buf) != 0 || !(p = strstr(buf, "VmHWM:")))
        return -1;
    return strtol(p + 6, NULL, 10);
}

double bs_proc_cpu_s(pid_t pid)
{
    char buf[2048], *p, *end;
    long tck = sysconf(_SC_CLK_TCK);
    unsigned long long ut, st;
    if (tck <= 0 || read_proc(pid, "stat", buf, sizeof buf) != 0 || !(p = strrchr(buf, ')')))
        return -1;
    p++;
    /* After the name: field 3 (state) ... utime is field 14, stime 15. */
    for (int field = 3; field < 14; field++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
    }
    errno = 0;
    ut = strtoull(p, &end, 10);
    st = strtoull(end, &end, 10);
    if (errno)
        return -1;
    return (double)(ut + st) / (double)tck;
}

/* ---- /metrics ---------------------------------------------------------- */

typedef struct text {
    char *p;
    size_t n, cap;
} text;

static size_t text_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
    text *t = ud;
    size_t n = size * nmemb;
    if (t->n + n + 1 > t->cap) {
        size_t cap = (t->cap ? t->cap * 2 : 8192) + n;
        char *np = realloc(t->p, cap);
        if (!np)
            return 0;
        t->p = np;
        t->cap = cap;
    }
    memcpy(t->p + t->n, buf, n);
    t->n += n;
    t->p[t->n] = '\0';
    return n;
}

/* The value of the sample whose name (with labels) is key; 0 if absent. */
static double sample(const char *body, const char *key)
{
    size_t k = strlen(key);
    const char *line = body;
    while (line && *line) {
        if (strncmp(line, key, k) == 0 && line[k] == ' ')
            return strtod(line + k + 1, NULL);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return 0;
}

static uint64_t u(const char *body, const char *key)
{
    double v = sample(body, key);
    return v > 0 ? (uint64_t)(v + 0.5) : 0;
}

int bs_metrics_get(unsigned port, bs_metrics *m, char *err, size_t errlen)
{
    static int curl_ready;
    char url[80], key[96];
    text t = {NULL, 0, 0};
    CURL *h;
    CURLcode cc;
    long status = 0;

    memset(m, 0, sizeof *m);
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "curl_global_init failed");
            return -1;
        }
        curl_ready = 1;
    }
    if (!(h = curl_easy_init())) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    snprintf(url, sizeof url, "https://127.0.0.1:%u/metrics", port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    /* Loopback to the server this program just started: its certificate
     * is self-signed and the metrics are not secret. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, text_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK || status != 200 || !t.p) {
        snprintf(err, errlen, "GET %s: %s (HTTP %ld)", url,
                 cc != CURLE_OK ? curl_easy_strerror(cc) : "no body", status);
        free(t.p);
        return -1;
    }
    m->connections = u(t.p, "patrold_connections_total");
    m->handshakes_full = u(t.p, "patrold_handshakes_total{type=\"full\"}");
    m->handshakes_resumed = u(t.p, "patrold_handshakes_total{type=\"resumed\"}");
    m->requests = u(t.p, "patrold_requests_total");
    m->bytes_in = u(t.p, "patrold_bytes_total{dir=\"in\"}");
    m->bytes_out = u(t.p, "patrold_bytes_total{dir=\"out\"}");
    m->batches = u(t.p, "patrold_batches_total");
    m->entries_accepted = u(t.p, "patrold_entries_accepted_total");
    m->entries_duplicate = u(t.p, "patrold_entries_duplicate_total");
    m->entries_rejected = u(t.p, "patrold_entries_rejected_total");
    m->batch_bytes = u(t.p, "patrold_batch_bytes_total");
    m->evidence_bytes = u(t.p, "patrold_evidence_bytes_total");
    m->evidence_complete = u(t.p, "patrold_evidence_complete_total");
    for (int i = 0; i < BS_LAT_BUCKETS; i++) {
        snprintf(key, sizeof key, "patrold_ingest_seconds_bucket{le=\"%g\"}",
                 0.001 * (double)(1 << i));
        m->lat_cum[i] = u(t.p, key);
    }
    m->lat_cum[BS_LAT_BUCKETS] = u(t.p, "patrold_ingest_seconds_bucket{le=\"+Inf\"}");
    m->lat_sum_s = sample(t.p, "patrold_ingest_seconds_sum");
    m->lat_count = u(t.p, "patrold_ingest_seconds_count");
    free(t.p);
    return 0;
}

static uint64_t d3(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = b >= a ? b - a : 0, y = c >= b ? c - b : 0;
    return x >= y ? x - y : 0;
}

void bs_metrics_delta(const bs_metrics *a, const bs_metrics *b, const bs_metrics *c,
                      bs_metrics *o)
{
#define D(f) o->f = d3(a->f, b->f, c->f)
    memset(o, 0, sizeof *o);
    D(connections);
    D(handshakes_full);
    D(handshakes_resumed);
    D(requests);
    D(bytes_in);
    D(bytes_out);
    D(batches);
    D(entries_accepted);
    D(entries_duplicate);
    D(entries_rejected);
    D(batch_bytes);
    D(evidence_bytes);
    D(evidence_complete);
    D(lat_count);
    for (int i = 0; i <= BS_LAT_BUCKETS; i++)
        D(lat_cum[i]);
#undef D
    o->lat_sum_s = b->lat_sum_s - a->lat_sum_s;
}

double bs_hist_quantile(const bs_metrics *d, double q)
{
    uint64_t total = d->lat_cum[BS_LAT_BUCKETS];
    double rank = q * (double)total;
    if (total == 0)
        return -1;
    for (int i = 0; i <= BS_LAT_BUCKETS; i++) {
        uint64_t prev = i ? d->lat_cum[i - 1] : 0;
        if ((double)d->lat_cum[i] >= rank && d->lat_cum[i] > prev) {
            double lo = i ? 0.001 * (double)(1 << (i - 1)) : 0;
            double hi = 0.001 * (double)(1 << i);
            if (i == BS_LAT_BUCKETS) /* +Inf: the last finite bound, as Prometheus does */
                return 0.001 * (double)(1 << (BS_LAT_BUCKETS - 1));
            return lo + (hi - lo) * (rank - (double)prev) / (double)(d->lat_cum[i] - prev);
        }
    }
    return -1;
}

long bs_log_batch_ms(const char *log, double *ms, size_t cap)
{
    FILE *f = fopen(log, "r");
    char line[4096];
    size_t n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        const char *p;
        if (!strstr(line, "event=batch ") || !(p = strstr(line, " ms=")))
            continue;
        if (n < cap)
            ms[n++] = strtod(p + 4, NULL);
    }
    fclose(f);
    return (long)n;
}

/* ---- the TCP relay ------------------------------------------------------ */

#define RELAY_PAIRS 32
#define RELAY_BUF (256u * 1024)

static int connect_local(unsigned port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void relay_main(int lfd, unsigned target, int ctl_r, int res_w)
{
    struct {
        int fd[2];
    } pr[RELAY_PAIRS];
    size_t np = 0;
    uint64_t cnt[3] = {0, 0, 0}; /* up, down, connections */
    uint8_t *buf = malloc(RELAY_BUF);

    if (!buf)
        _exit(1);
    for (;;) {
        struct pollfd pf[2 + 2 * RELAY_PAIRS];
        size_t k = 2;
        pf[0] = (struct pollfd){ctl_r, POLLIN, 0};
        pf[1] = (struct pollfd){lfd, POLLIN, 0};
        for (size_t i = 0; i < np; i++) {
            pf[k++] = (struct pollfd){pr[i].fd[0], POLLIN, 0};
            pf[k++] = (struct pollfd){pr[i].fd[1], POLLIN, 0};
        }
        if (poll(pf, (nfds_t)k, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (pf[0].revents) {
            char c;
            ssize_t n = read(ctl_r, &c, 1);
            if (n == 0 || (n < 0 && errno != EINTR))
                _exit(0); /* the bench is gone or done */
            if (n == 1 && bu_write_all(res_w, cnt, sizeof cnt) != 0)
                _exit(1);
        }
        if (pf[1].revents & POLLIN) {
            int c = accept(lfd, NULL, NULL), one = 1;
            if (c >= 0) {
                int sfd = np < RELAY_PAIRS ? connect_local(target) : -1;
                if (sfd < 0) {
                    close(c);
                } else {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    pr[np].fd[0] = c;
                    pr[np].fd[1] = sfd;
                    np++;
                    cnt[2]++;
                }
            }
        }
        /* Pairs, from the last so that removing one keeps the indices
         * of those not yet looked at. */
        for (size_t i = k / 2 - 1; i >= 1; i--) {
            size_t pi = i - 1;
            int dead = 0;
            if (pi >= np)
                continue;
            for (int side = 0; side < 2 && !dead; side++) {
                struct pollfd *p = &pf[2 + 2 * pi + (size_t)side];
                ssize_t n;
                if (!p->revents)
                    continue;
                n = read(p->fd, buf, RELAY_BUF);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0 || bu_write_all(pr[pi].fd[1 - side], buf, (size_t)n) != 0) {
                    dead = 1;
                    break;
                }
                cnt[side] += (uint64_t)n;
            }
            if (dead) {
                close(pr[pi].fd[0]);
                close(pr[pi].fd[1]);
                pr[pi] = pr[--np];
            }
        }
    }
}

int bs_relay_start(unsigned target, bs_relay *r, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int lfd, ctl[2], res[2], one = 1;
    pid_t pid;

    memset(r, 0, sizeof *r);
    r->ctl_w = r->res_r = -1;
    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        snprintf(err, errlen, "relay socket: %s", strerror(errno));
        close(lfd);
        return -1;
    }
    if (pipe(ctl) != 0) {
        close(lfd);
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe(res) != 0) {
        close(lfd);
        close(ctl[0]);
        close(ctl[1]);
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    if ((pid = fork()) < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(lfd);
        close(ctl[0]);
        close(ctl[1]);
        close(res[0]);
        close(res[1]);
        return -1;
    }
    if (pid == 0) {
        close(ctl[1]);
        close(res[0]);
        relay_main(lfd, target, ctl[0], res[1]);
        _exit(0);
    }
    close(lfd);
    close(ctl[0]);
    close(res[1]);
    /* Children forked later (the sync) must not keep the relay alive. */
    fcntl(ctl[1], F_SETFD, FD_CLOEXEC);
    fcntl(res[0], F_SETFD, FD_CLOEXEC);
    r->pid = pid;
    r->port = ntohs(sa.sin_port);
    r->ctl_w = ctl[1];
    r->res_r = res[0];
    return 0;
}

int bs_relay_snapshot(bs_relay *r, uint64_t *up, uint64_t *down, uint64_t *conns)
{
    uint64_t c[3];
    size_t got = 0;
    struct pollfd pf = {r->res_r, POLLIN, 0};
    if (bu_write_all(r->ctl_w, "s", 1) != 0)
        return -1;
    while (got < sizeof c) {
        ssize_t n;
        if (poll(&pf, 1, 5000) <= 0)
            return -1;
        n = read(r->res_r, (uint8_t *)c + got, sizeof c - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    *up = c[0];
    *down = c[1];
    *conns = c[2];
    return 0;
}

void bs_relay_stop(bs_relay *r)
{
    if (r->ctl_w >= 0)
        close(r->ctl_w);
    if (r->res_r >= 0)
        close(r->res_r);
    r->ctl_w = r->res_r = -1;
    if (r->pid > 0 && wait_bounded(r->pid, 3000) < 0 && kill(r->pid, 0) == 0) {
        kill(r->pid, SIGKILL);
        (void)wait_bounded(r->pid, 3000);
    }
    r->pid = 0;
}

/* ---- the timed sync --------------------------------------------------------- */

typedef struct phase_ud {
    uint64_t t0;
    uint64_t *phase_ns;
} phase_ud;

static void on_progress(void *ud, const patrol_sync_progress *pr)
{
    phase_ud *p = ud;
    static const char *const names[3] = {"entries", "evidence", "reference"};
    for (int i = 0; i < 3; i++)
        if (pr->phase && strcmp(pr->phase, names[i]) == 0 && p->phase_ns[i] == 0) {
            uint64_t t = bu_now_ns() - p->t0;
            p->phase_ns[i] = t ? t : 1;
        }
}

void bs_sync_child(const void *arg, void *res)
{
    const bs_sync_job *j = arg;
    bs_sync_out *o = res;
    patrol_sync_opts opts;
    phase_ud pu;
    patrol *p = NULL;
    char err[256];
    uint64_t t0;

    if ((o->rc = patrol_open(j->store, &p, err, sizeof err))) {
        snprintf(o->msg, sizeof o->msg, "open: %.200s", err);
        return;
    }
    if ((o->rc = patrol_sync_status(p, &o->before))) {
        snprintf(o->msg, sizeof o->msg, "status: %.250s", patrol_errmsg(p));
        patrol_close(p);
        return;
    }
    memset(&opts, 0, sizeof opts);
    opts.timeout_s = j->timeout_s;
    opts.progress = on_progress;
    pu.phase_ns = o->phase_ns;
    opts.progress_ud = &pu;
    pu.t0 = t0 = bu_now_ns();
    o->rc = patrol_sync(p, &opts, &o->r);
    o->ns = bu_now_ns() - t0;
    if (o->rc)
        snprintf(o->msg, sizeof o->msg, "sync: %s: %.250s", patrol_strerror(o->rc),
                 patrol_errmsg(p));
    else if (patrol_sync_status(p, &o->after) != PATROL_OK)
        snprintf(o->msg, sizeof o->msg, "status after: %.250s", patrol_errmsg(p));
    patrol_close(p);
}
