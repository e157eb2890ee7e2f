/* app_metrics.c -- what the station's monitoring reads (docs/server.md
 * "Observability"): GET /metrics in the Prometheus text format (the network
 * front's counters, refusals by reason, requests by route and status, the
 * application's counters, the ingest latency histogram, build and process,
 * devices by status, evidence pending, disk and database sizes), routed to
 * loopback only (app.c); GET /healthz and /readyz. */
#include "app_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* ---- requests by route and status ------------------------------------- */

static const char *const route_names[APP_ROUTES] = {
    "enroll", "batches", "evidence_head", "evidence_patch", "reference", "citations",
    "log",    "metrics", "healthz",       "readyz",         "other_v1",  "other"};
static const int statuses[APP_STATUSES] = {200, 201, 204, 206, 400, 401, 403, 404, 405, 408,
                                           409, 410, 413, 415, 422, 429, 500, 503, 507, 0};

static int route_of(const srv_request *rq)
{
    static const char *const exact[] = {"/v1/enroll", "/v1/batches"};
    for (int i = 0; i < 2; i++)
        if (strcmp(rq->path, exact[i]) == 0)
            return i;
    if (strncmp(rq->path, "/v1/evidence/", 13) == 0)
        return strcmp(rq->method, "PATCH") == 0 ? 3 : 2;
    if (strcmp(rq->path, "/v1/reference") == 0)
        return 4;
    if (strcmp(rq->path, "/v1/citations") == 0)
        return 5;
    if (strncmp(rq->path, "/v1/log/", 8) == 0)
        return 6;
    if (strcmp(rq->path, "/metrics") == 0)
        return 7;
    if (strcmp(rq->path, "/healthz") == 0)
        return 8;
    if (strcmp(rq->path, "/readyz") == 0)
        return 9;
    return strncmp(rq->path, "/v1/", 4) == 0 ? 10 : 11;
}

void app_metrics_count(app *a, const srv_request *rq, int status)
{
    int s = APP_STATUSES - 1; /* "other" */
    for (int i = 0; i < APP_STATUSES - 1; i++)
        if (statuses[i] == status)
            s = i;
    atomic_fetch_add(&a->http[route_of(rq)][s], 1);
}

/* ---- health ------------------------------------------------------------ */

void app_metrics_health(app *a, srv_response *rs, int ready)
{
    static const char ok[] = "ok\n";
    char msg[200];
    uint8_t *body;
    st_backend *db;
    struct statvfs v;
    if (ready) {
        /* Ready to store: the database answers a read, and the disk that
         * holds it has room for an entry. */
        char tmp[8];
        int rc;
        if (!(db = app_db(a)))
            snprintf(msg, sizeof msg, "not ready: the database cannot be opened\n");
        else if ((rc = db->ops->meta_get(db, "server_name", tmp, sizeof tmp)) != ST_OK &&
                 rc != ST_NOTFOUND)
            snprintf(msg, sizeof msg, "not ready: the database does not answer: %.120s\n",
                     db->ops->errmsg(db));
        else if (statvfs(a->data_dir, &v) == 0 && (uint64_t)v.f_bavail * v.f_frsize < (1u << 20))
            snprintf(msg, sizeof msg, "not ready: the data directory's disk is full (%llu bytes "
                                      "free)\n",
                     (unsigned long long)v.f_bavail * v.f_frsize);
        else
            msg[0] = '\0';
        if (msg[0]) {
            app_log("warn", "event=not_ready reason=\"%.*s\"", (int)strlen(msg) - 1, msg);
            if ((body = (uint8_t *)strdup(msg)))
                app_set_body(rs, 503, "text/plain; charset=utf-8", body, strlen(msg));
            else
                rs->status = 503;
            return;
        }
    }
    if ((body = malloc(sizeof ok - 1)))
        memcpy(body, ok, sizeof ok - 1);
    app_set_body(rs, 200, "text/plain; charset=utf-8", body, body ? sizeof ok - 1 : 0);
}

/* ---- /metrics ------------------------------------------------------------ */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void bprintf(buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void bprintf(buf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)k;
        char *np = realloc(b->p, ncap);
        if (!np)
            return;
        b->p = np;
        b->cap = ncap;
    }
}

/* A family's HELP and TYPE lines. */
static void fam(buf *b, const char *name, const char *type, const char *help)
{
    bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

typedef struct dev_counts {
    uint64_t status[3], evidence_pending;
} dev_counts;

static int count_device(void *ud, const st_device *d)
{
    dev_counts *c = ud;
    c->status[d->status % 3]++;
    c->evidence_pending += d->evidence_pending;
    return 0;
}

/* Resident memory and CPU time of this process, from /proc/self/stat
 * (fields 14, 15: utime, stime in ticks; 24: rss in pages). */
static void proc_self(buf *b)
{
    char line[1024], *p;
    unsigned long long f[64];
    size_t n = 0;
    FILE *fp = fopen("/proc/self/stat", "r");
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    int fds = 0;
    if (!fp)
        return;
    p = fgets(line, sizeof line, fp);
    fclose(fp);
    if (!p || !(p = strrchr(line, ')')))
        return;
    for (p++; n < 64 && *p;) {
        char *end;
        while (*p == ' ')
            p++;
        f[n++] = strtoull(p, &end, 10);
        if (end == p)
            p++;
        else
            p = end;
    }
    /* f[0] is field 3 (state: not a number, read as 0); field k is f[k - 3]. */
    if (n < 22 || tck <= 0 || page <= 0)
        return;
    {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        while (d && (e = readdir(d)))
            fds += e->d_name[0] != '.';
        if (d)
            closedir(d);
        fds -= fds > 0; /* the directory's own descriptor */
    }
    fam(b, "process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
    bprintf(b, "process_cpu_seconds_total %.2f\n", (double)(f[11] + f[12]) / (double)tck);
    fam(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    bprintf(b, "process_resident_memory_bytes %llu\n", f[21] * (unsigned long long)page);
    fam(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    bprintf(b, "process_open_fds %d\n", fds);
}

void app_metrics_handle(app *a, srv_response *rs)
{
    static const struct {
        const char *name, *help;
    } counters[M_COUNT] = {
        {"patrold_batches_total", "Batches answered 200 (each with its Ack)."},
        {"patrold_entries_accepted_total", "Entries stored for the first time."},
        {"patrold_entries_duplicate_total", "Entries sent again that the server held already."},
        {"patrold_entries_rejected_total", "Entries refused (a verdict REJECTED)."},
        {"patrold_forks_total", "Second versions of a stored entry, quarantined."},
        {"patrold_batch_replays_total", "Batches answered with their stored Ack again."},
        {"patrold_enrolments_total", "Devices enrolled (and answers repeated to them)."},
        {"patrold_evidence_bytes_total", "Evidence bytes received and appended."},
        {"patrold_evidence_complete_total", "Evidence files completed, their hash checked."},
        {"patrold_batch_bytes_total", "Batch bodies received, in bytes (LZ4 frames)."},
    };
    srv_stats s;
    buf b = {NULL, 0, 0};
    uint64_t cum = 0;
    dev_counts dc;
    st_backend *db;
    struct statvfs v;
    struct stat st;
    char path[4200];

    srv_get_stats(a->net, &s);
    fam(&b, "patrold_build_info", "gauge", "The running patrold: its version.");
    bprintf(&b, "patrold_build_info{version=\"%s\"} 1\n", PATROLD_VERSION);
    fam(&b, "patrold_start_time_seconds", "gauge", "When this process started, in Unix time.");
    bprintf(&b, "patrold_start_time_seconds %.3f\n", (double)a->started_ms / 1000.0);
    proc_self(&b);
    fam(&b, "patrold_connections_total", "counter", "Connections accepted.");
    bprintf(&b, "patrold_connections_total %llu\n", (unsigned long long)s.connections_accepted);
    fam(&b, "patrold_connections_open", "gauge", "Connections open now.");
    bprintf(&b, "patrold_connections_open %llu\n", (unsigned long long)s.connections_open);
    fam(&b, "patrold_handshakes_total", "counter", "TLS handshakes by outcome.");
    bprintf(&b, "patrold_handshakes_total{type=\"full\"} %llu\n"
                "patrold_handshakes_total{type=\"resumed\"} %llu\n"
                "patrold_handshakes_total{type=\"failed\"} %llu\n",
            (unsigned long long)s.handshakes_full, (unsigned long long)s.handshakes_resumed,
            (unsigned long long)s.handshakes_failed);
    fam(&b, "patrold_connections_evicted_total", "counter",
        "Connections that had sent no request, dropped to make room for new ones.");
    bprintf(&b, "patrold_connections_evicted_total %llu\n",
            (unsigned long long)s.connections_evicted);
    fam(&b, "patrold_requests_total", "counter", "Requests handed to the application.");
    bprintf(&b, "patrold_requests_total %llu\n", (unsigned long long)s.requests);
    fam(&b, "patrold_http_requests_total", "counter", "Requests answered, by route and status.");
    for (int r = 0; r < APP_ROUTES; r++)
        for (int k = 0; k < APP_STATUSES; k++) {
            uint64_t n = atomic_load(&a->http[r][k]);
            if (!n)
                continue;
            if (statuses[k])
                bprintf(&b, "patrold_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                        route_names[r], statuses[k], (unsigned long long)n);
            else
                bprintf(&b, "patrold_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                        route_names[r], (unsigned long long)n);
        }
    fam(&b, "patrold_log_lines_suppressed_total", "counter",
        "Refusal log lines held back by the per-address rate limit.");
    bprintf(&b, "patrold_log_lines_suppressed_total %llu\n", (unsigned long long)s.log_suppressed);
    fam(&b, "patrold_bytes_total", "counter", "HTTP bytes (inside TLS) by direction.");
    bprintf(&b, "patrold_bytes_total{dir=\"in\"} %llu\npatrold_bytes_total{dir=\"out\"} %llu\n",
            (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out);
    fam(&b, "patrold_refusals_total", "counter",
        "Requests and connections refused, by reason (the X-Patrol-Reason codes).");
    bprintf(&b, "patrold_refusals_total{reason=\"header_too_large\"} %llu\n",
            (unsigned long long)s.refused_header_too_large);
    bprintf(&b, "patrold_refusals_total{reason=\"body_too_large\"} %llu\n",
            (unsigned long long)s.refused_body_too_large);
    bprintf(&b, "patrold_refusals_total{reason=\"bad_http\"} %llu\n",
            (unsigned long long)s.refused_bad_request);
    bprintf(&b, "patrold_refusals_total{reason=\"connection_limit\"} %llu\n",
            (unsigned long long)s.connections_refused);
    bprintf(&b, "patrold_refusals_total{reason=\"per_peer_limit\"} %llu\n",
            (unsigned long long)s.refused_per_peer);
    bprintf(&b, "patrold_refusals_total{reason=\"no_room_without_certificate\"} %llu\n",
            (unsigned long long)s.refused_unauth);
    bprintf(&b, "patrold_refusals_total{reason=\"body_budget\"} %llu\n",
            (unsigned long long)s.refused_busy);
    bprintf(&b, "patrold_refusals_total{reason=\"queue_wait\"} %llu\n",
            (unsigned long long)s.refused_queue_wait);
    bprintf(&b, "patrold_refusals_total{reason=\"timeout\"} %llu\n", (unsigned long long)s.timeouts);
    pthread_mutex_lock(&a->refusal_lock);
    for (size_t i = 0; i < sizeof a->refusals / sizeof a->refusals[0] && a->refusals[i].reason[0];
         i++)
        bprintf(&b, "patrold_refusals_total{reason=\"%s\"} %llu\n", a->refusals[i].reason,
                (unsigned long long)a->refusals[i].count);
    pthread_mutex_unlock(&a->refusal_lock);
    for (int i = 0; i < M_COUNT; i++) {
        fam(&b, counters[i].name, "counter", counters[i].help);
        bprintf(&b, "%s %llu\n", counters[i].name,
                (unsigned long long)atomic_load(&a->counters[i]));
    }
    fam(&b, "patrold_ingest_seconds", "histogram", "Time to ingest a batch, answer included.");
    for (int i = 0; i < APP_LAT_BUCKETS; i++) {
        cum += atomic_load(&a->ingest_lat[i]);
        bprintf(&b, "patrold_ingest_seconds_bucket{le=\"%g\"} %llu\n", 0.00025 * (double)(1 << i),
                (unsigned long long)cum);
    }
    cum += atomic_load(&a->ingest_lat[APP_LAT_BUCKETS]);
    bprintf(&b, "patrold_ingest_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    bprintf(&b, "patrold_ingest_seconds_sum %.6f\npatrold_ingest_seconds_count %llu\n",
            (double)atomic_load(&a->ingest_lat_sum_us) / 1e6, (unsigned long long)cum);
    /* What the database holds now: devices by status, evidence pending. */
    memset(&dc, 0, sizeof dc);
    if ((db = app_db(a)) && db->ops->device_list(db, count_device, &dc) == ST_OK) {
        static const char *const st_names[3] = {"pending", "active", "revoked"};
        fam(&b, "patrold_devices", "gauge", "Devices by status (pending: not enrolled yet).");
        for (int i = 0; i < 3; i++)
            bprintf(&b, "patrold_devices{status=\"%s\"} %llu\n", st_names[i],
                    (unsigned long long)dc.status[i]);
        fam(&b, "patrold_evidence_pending_files", "gauge",
            "Evidence files named by stored entries and not yet received whole.");
        bprintf(&b, "patrold_evidence_pending_files %llu\n",
                (unsigned long long)dc.evidence_pending);
    }
    if (statvfs(a->data_dir, &v) == 0) {
        fam(&b, "patrold_disk_free_bytes", "gauge",
            "Bytes available to patrold on the data directory's file system.");
        bprintf(&b, "patrold_disk_free_bytes %llu\n",
                (unsigned long long)v.f_bavail * (unsigned long long)v.f_frsize);
    }
    {
        unsigned long long dbb = 0;
        snprintf(path, sizeof path, "%s", a->db_path);
        if (stat(path, &st) == 0)
            dbb += (unsigned long long)st.st_size;
        if ((size_t)snprintf(path, sizeof path, "%s-wal", a->db_path) < sizeof path &&
            stat(path, &st) == 0)
            dbb += (unsigned long long)st.st_size;
        fam(&b, "patrold_database_bytes", "gauge", "Size of the database and its write-ahead log.");
        bprintf(&b, "patrold_database_bytes %llu\n", dbb);
    }
    if (!b.p)
        return app_reply_error(a, rs, 503, "busy", 0, "out of memory");
    app_set_body(rs, 200, "text/plain; version=0.0.4", (uint8_t *)b.p, b.n);
}
