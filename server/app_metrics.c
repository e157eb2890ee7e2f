/* app_metrics.c -- GET /metrics (docs/server.md): the network front's
 * counters, refusals by reason, the application's counters and the ingest
 * latency histogram, in the Prometheus text format. Routed to loopback
 * only (app.c). Moved from app.c, behaviour unchanged. */
#include "app_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

void app_metrics_handle(app *a, srv_response *rs)
{
    static const char *const names[M_COUNT] = {
        "patrold_batches_total",          "patrold_entries_accepted_total",
        "patrold_entries_duplicate_total", "patrold_entries_rejected_total",
        "patrold_forks_total",            "patrold_batch_replays_total",
        "patrold_enrolments_total",       "patrold_evidence_bytes_total",
        "patrold_evidence_complete_total", "patrold_batch_bytes_total",
    };
    srv_stats s;
    buf b = {NULL, 0, 0};
    uint64_t cum = 0;

    srv_get_stats(a->net, &s);
    bprintf(&b, "# TYPE patrold_connections_total counter\npatrold_connections_total %llu\n",
            (unsigned long long)s.connections_accepted);
    bprintf(&b, "# TYPE patrold_connections_open gauge\npatrold_connections_open %llu\n",
            (unsigned long long)s.connections_open);
    bprintf(&b, "# TYPE patrold_handshakes_total counter\n"
                "patrold_handshakes_total{type=\"full\"} %llu\n"
                "patrold_handshakes_total{type=\"resumed\"} %llu\n"
                "patrold_handshakes_total{type=\"failed\"} %llu\n",
            (unsigned long long)s.handshakes_full, (unsigned long long)s.handshakes_resumed,
            (unsigned long long)s.handshakes_failed);
    bprintf(&b, "# TYPE patrold_connections_evicted_total counter\n"
                "patrold_connections_evicted_total %llu\n",
            (unsigned long long)s.connections_evicted);
    bprintf(&b, "# TYPE patrold_requests_total counter\npatrold_requests_total %llu\n",
            (unsigned long long)s.requests);
    bprintf(&b, "# TYPE patrold_log_lines_suppressed_total counter\n"
                "patrold_log_lines_suppressed_total %llu\n",
            (unsigned long long)s.log_suppressed);
    bprintf(&b, "# TYPE patrold_bytes_total counter\npatrold_bytes_total{dir=\"in\"} %llu\n"
                "patrold_bytes_total{dir=\"out\"} %llu\n",
            (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out);
    bprintf(&b, "# TYPE patrold_refusals_total counter\n");
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
    bprintf(&b, "patrold_refusals_total{reason=\"timeout\"} %llu\n", (unsigned long long)s.timeouts);
    pthread_mutex_lock(&a->refusal_lock);
    for (size_t i = 0; i < sizeof a->refusals / sizeof a->refusals[0] && a->refusals[i].reason[0];
         i++)
        bprintf(&b, "patrold_refusals_total{reason=\"%s\"} %llu\n", a->refusals[i].reason,
                (unsigned long long)a->refusals[i].count);
    pthread_mutex_unlock(&a->refusal_lock);
    for (int i = 0; i < M_COUNT; i++)
        bprintf(&b, "# TYPE %s counter\n%s %llu\n", names[i], names[i],
                (unsigned long long)atomic_load(&a->counters[i]));
    bprintf(&b, "# TYPE patrold_ingest_seconds histogram\n");
    for (int i = 0; i < APP_LAT_BUCKETS; i++) {
        cum += atomic_load(&a->ingest_lat[i]);
        bprintf(&b, "patrold_ingest_seconds_bucket{le=\"%g\"} %llu\n", 0.00025 * (double)(1 << i),
                (unsigned long long)cum);
    }
    cum += atomic_load(&a->ingest_lat[APP_LAT_BUCKETS]);
    bprintf(&b, "patrold_ingest_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    bprintf(&b, "patrold_ingest_seconds_sum %.6f\npatrold_ingest_seconds_count %llu\n",
            (double)atomic_load(&a->ingest_lat_sum_us) / 1e6, (unsigned long long)cum);
    if (!b.p)
        return app_reply_error(a, rs, 503, "busy", 0, "out of memory");
    app_set_body(rs, 200, "text/plain; version=0.0.4", (uint8_t *)b.p, b.n);
}
