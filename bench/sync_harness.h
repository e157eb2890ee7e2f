/* sync_harness.h -- what bench_sync and bench_upload share: a real patrold
 * started on 127.0.0.1:0 in a temporary data directory, its /metrics and
 * its log, a byte-counting TCP relay (TLS records as they cross the
 * loopback), and the timed patrol_sync itself (run in a child with
 * bu_in_child, bench_util.h). Benchmarks only: every wait is bounded, every process
 * started here is stopped by its pid.
 */
#ifndef BENCH_SYNC_HARNESS_H
#define BENCH_SYNC_HARNESS_H

#include "bench_util.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define BS_MAX_RUNS 50 /* <= BU_MAX_RUNS */
#define BS_LAT_BUCKETS 10 /* patrold: le = 1 ms * 2^i, i < 10, then +Inf */

/* ---- patrold ---------------------------------------------------------- */

typedef struct bs_server {
    pid_t pid;             /* 0: not running */
    unsigned port;
    char data[4096];       /* the data directory */
    char log[4200];        /* its stderr */
    char token[256];       /* from "device add" */
    char url[64];          /* https://127.0.0.1:PORT */
} bs_server;

/* patrold's path: explicit (if not NULL), else $PATROLD, else the one this
 * build made (PATROLD_PATH), else ../server/patrold beside this program.
 * 0 and the path in out, or -1. */
int bs_find_patrold(const char *explicit_path, char *out, size_t len);

/* In dir (created, must not exist): patrold init, device add (the token),
 * serve --listen 127.0.0.1:0; waits (at most 15 s) for its "listening"
 * line. 0, or -1 with a sentence in err (and nothing left running). */
int bs_server_start(const char *patrold, const char *dir, bs_server *s, char *err,
                    size_t errlen);
/* SIGTERM to its pid, wait at most 10 s, then SIGKILL. */
void bs_server_stop(bs_server *s);

/* Peak resident set (VmHWM) of a running process, KiB; -1 if unknown. */
long bs_proc_hwm_kib(pid_t pid);
/* User + system CPU seconds a running process has used; -1 if unknown. */
double bs_proc_cpu_s(pid_t pid);

/* ---- /metrics ---------------------------------------------------------- */

typedef struct bs_metrics {
    uint64_t connections, handshakes_full, handshakes_resumed, requests;
    uint64_t bytes_in, bytes_out; /* plaintext HTTP bytes (after TLS) */
    uint64_t batches, entries_accepted, entries_duplicate, entries_rejected;
    uint64_t batch_bytes, evidence_bytes, evidence_complete;
    uint64_t lat_cum[BS_LAT_BUCKETS + 1]; /* cumulative, last = +Inf */
    double lat_sum_s;
    uint64_t lat_count;
} bs_metrics;

/* GET https://127.0.0.1:port/metrics (no client certificate needed).
 * 0, or -1 with a sentence in err. */
int bs_metrics_get(unsigned port, bs_metrics *m, char *err, size_t errlen);

/* Counters of one request: what happened between a and b, less what the
 * /metrics request after b cost (c - b: one more fetch). The fetch right
 * after an action is counted in b, so this removes it. */
void bs_metrics_delta(const bs_metrics *a, const bs_metrics *b, const bs_metrics *c,
                      bs_metrics *out);

/* Quantile q of the ingest-latency histogram (delta d), seconds, by linear
 * interpolation inside the bucket (as Prometheus' histogram_quantile).
 * -1 if the histogram is empty. */
double bs_hist_quantile(const bs_metrics *d, double q);

/* Per-batch ingest times from patrold's log ("event=batch ... ms=X"), in
 * ms, at most cap. Returns how many were found, or -1. */
long bs_log_batch_ms(const char *log, double *ms, size_t cap);

/* ---- the TCP relay ------------------------------------------------------ */

typedef struct bs_relay {
    pid_t pid;
    unsigned port;  /* where terminals connect */
    int ctl_w;      /* to the relay: 's' asks for a snapshot */
    int res_r;      /* from the relay: three uint64 per snapshot */
} bs_relay;

/* A relay process: 127.0.0.1:<relay port> -> 127.0.0.1:target. It counts
 * TCP payload bytes each way: the TLS records, handshakes included. */
int bs_relay_start(unsigned target, bs_relay *r, char *err, size_t errlen);
/* Bytes so far: up (terminal -> server), down, connections accepted. */
int bs_relay_snapshot(bs_relay *r, uint64_t *up, uint64_t *down, uint64_t *conns);
void bs_relay_stop(bs_relay *r);

/* ---- the timed sync --------------------------------------------------------- */

typedef struct bs_sync_job {
    const char *store;
    unsigned timeout_s; /* patrol_sync_opts.timeout_s */
} bs_sync_job;

typedef struct bs_sync_out {
    int rc;                    /* patrol_sync's answer (or an open error) */
    char msg[300];
    patrol_sync_info before;   /* patrol_sync_status before the sync */
    patrol_sync_info after;
    patrol_sync_result r;
    uint64_t ns;               /* patrol_sync, end to end */
    uint64_t phase_ns[3];      /* when the entries, evidence, reference phases began
                                * (from the start of patrol_sync; 0: not seen) */
} bs_sync_out;

/* A bu_child_fn: open the store, status, time patrol_sync, status, close. */
void bs_sync_child(const void *arg, void *res);

#endif
