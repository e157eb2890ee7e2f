/* shift_term.c -- one terminal of the shift-change benchmark
 * (bench/shift/shift.py, docs/bench.md "Shift change (issue 11)").
 *
 *   shift_term record --store DIR --entries N --seed K
 *       Record an inspector's day into DIR, a store made by `patrol init`
 *       (and enrolled by `patrol enroll`, before or after): two inspectors,
 *       then matters of subject.add, matter.open, consent, 3-9 actions
 *       (guidance 55 %, warning 20 %, leaflet 25 %, the texts made of
 *       bench_sync's clauses) and matter.close, until the journal holds N
 *       entries. Seed K gives each terminal its own texts and subjects
 *       (credit codes K*1000+i: no two terminals share a subject). Prints
 *       {"entries":N,"matters":M,"pending_bytes":B}.
 *
 *   shift_term sync --store DIR [--ready-fd FD] [--timeout S]
 *       Open the store, write one byte to FD (the driver counts them), wait
 *       for end of file on stdin (the driver closes it for every terminal at
 *       once), then patrol_sync with the library's defaults. Prints one JSON
 *       line: CLOCK_MONOTONIC ns of the start and the end (the driver's
 *       clock is the same), ms to the entries' acknowledgement (from the
 *       start to the progress call that reports every pending entry
 *       acknowledged: connect, handshake, queueing and the batches), the
 *       sync's result, and the error if any. Exit 0 even when the sync
 *       failed: the line says so.
 *
 * The record builder's helpers (texts, credit codes, the random numbers)
 * are bench_sync's, included as bench/pouch/pouch_records.c does.
 */
#define main bench_sync_main
#include "../bench_sync.c"
#undef main

#include <poll.h>

/* Record: bench_sync's patrol (record_patrol) with shorter matters (3-9
 * actions: about 30 in 300 entries, an inspector's day) and a seed per
 * terminal, which also names its subjects. */
static int record_day(const char *store, unsigned long entries, unsigned long seed)
{
    const patrol_shape shape = {3, 9, seed};
    rng r = {20261126u + seed};
    patrol *p = NULL;
    patrol_sync_info info;
    rec_out o;
    char err[256];
    unsigned matters = 0;
    uint64_t head = 0;
    int rc;

    memset(&o, 0, sizeof o);
    if ((rc = patrol_open(store, &p, err, sizeof err))) {
        fprintf(stderr, "shift_term: open %s: %s\n", store, err);
        return 1;
    }
    if ((rc = record_patrol(p, &r, entries, &shape, &o, &matters, &head)))
        goto exit;
    if ((rc = patrol_sync_status(p, &info))) {
        snprintf(o.msg, sizeof o.msg, "status: %.250s", patrol_errmsg(p));
        goto exit;
    }
    printf("{\"entries\":%llu,\"matters\":%u,\"pending_bytes\":%llu}\n",
           (unsigned long long)head, matters, (unsigned long long)info.pending_entry_bytes);
exit:
    if (rc)
        fprintf(stderr, "shift_term: record %s: %s\n", store, o.msg);
    patrol_close(p);
    return rc ? 1 : 0;
}

typedef struct ack_ud {
    uint64_t t0, ack_ns;
} ack_ud;

static void on_progress(void *ud, const patrol_sync_progress *pr)
{
    ack_ud *a = ud;
    if (!a->ack_ns && pr->entries_total > 0 && pr->entries_done >= pr->entries_total)
        a->ack_ns = bu_now_ns() - a->t0;
}

/* A JSON string's body: the error texts come from the library (and the
 * server): quotes, backslashes and control characters escaped. */
static void json_str(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
}

static int sync_once(const char *store, long ready_fd, unsigned long timeout_s)
{
    patrol *p = NULL;
    patrol_sync_opts opts;
    patrol_sync_result r;
    ack_ud a = {0, 0};
    char err[256], buf[64], msg[400] = "";
    uint64_t t1;
    int rc;

    memset(&r, 0, sizeof r);
    if ((rc = patrol_open(store, &p, err, sizeof err))) {
        snprintf(msg, sizeof msg, "open: %s", err);
        a.t0 = t1 = bu_now_ns();
        goto out;
    }
    if (ready_fd >= 0) {
        (void)bu_write_all((int)ready_fd, "r", 1);
        close((int)ready_fd);
    }
    /* The start: end of file on stdin, for every terminal at once. */
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    memset(&opts, 0, sizeof opts);
    opts.timeout_s = (unsigned)timeout_s;
    opts.progress = on_progress;
    opts.progress_ud = &a;
    a.t0 = bu_now_ns();
    rc = patrol_sync(p, &opts, &r);
    t1 = bu_now_ns();
    if (rc)
        snprintf(msg, sizeof msg, "%s: %s", patrol_strerror(rc), patrol_errmsg(p));
out:
    printf("{\"store\":\"");
    json_str(store);
    printf("\",\"rc\":%d,\"t0_ns\":%llu,\"t1_ns\":%llu,\"ack_ms\":%.3f,\"sync_ms\":%.3f,"
           "\"head\":%llu,\"acked\":%llu,\"accepted\":%llu,\"duplicate\":%llu,\"batches\":%llu,"
           "\"retries\":%llu,\"bytes_sent\":%llu,\"rejected_seq\":%llu,\"error\":\"",
           rc, (unsigned long long)a.t0, (unsigned long long)t1,
           a.ack_ns ? (double)a.ack_ns / 1e6 : -1.0, (double)(t1 - a.t0) / 1e6,
           (unsigned long long)r.head_seq, (unsigned long long)r.acked_seq,
           (unsigned long long)r.entries_accepted, (unsigned long long)r.entries_duplicate,
           (unsigned long long)r.batches, (unsigned long long)r.retries,
           (unsigned long long)r.bytes_sent, (unsigned long long)r.rejected_seq);
    json_str(msg);
    printf("\"}\n");
    patrol_close(p);
    return fflush(stdout) == 0 ? 0 : 1;
}

static void term_usage(FILE *out)
{
    fprintf(out, "usage: shift_term record --store DIR --entries N --seed K\n"
                 "       shift_term sync --store DIR [--ready-fd FD] [--timeout S]\n");
}

int main(int argc, char **argv)
{
    unsigned long entries = 300, seed = 0, timeout = 900, fd = 0;
    const char *store = NULL, *ready = NULL;
    int rc;
    const bu_opt opts[] = {{"--entries", &entries, 10, MAX_ENTRIES, NULL, NULL},
                           {"--seed", &seed, 1, 9999, NULL, NULL},
                           {"--timeout", &timeout, 1, 86400, NULL, NULL},
                           {"--ready-fd", NULL, 0, 0, &ready, NULL},
                           {"--store", NULL, 0, 0, &store, NULL}};

    if (argc < 2 || (strcmp(argv[1], "record") != 0 && strcmp(argv[1], "sync") != 0)) {
        term_usage(stderr);
        return 2;
    }
    if ((rc = bu_parse_args("shift_term", argc - 1, argv + 1, opts,
                            sizeof opts / sizeof opts[0], term_usage)) >= 0)
        return rc;
    if (!store) {
        term_usage(stderr);
        return 2;
    }
    if (ready && (bu_parse_count(ready, 1000000, &fd) != 0 || fd < 3)) {
        fprintf(stderr, "shift_term: --ready-fd: a descriptor number 3..1000000\n");
        return 2;
    }
    if (strcmp(argv[1], "record") == 0)
        return record_day(store, entries, seed);
    return sync_once(store, ready ? (long)fd : -1, timeout);
}
