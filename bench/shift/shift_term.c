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

/* Record: the loop of bench_sync's child_record with shorter matters
 * (about 30 in 300 entries: an inspector's day) and a seed per terminal. */
static int record_day(const char *store, unsigned long entries, unsigned long seed)
{
    static const char *const insp[] = {"INS-0001", "INS-0002"};
    rng r = {20261126u + seed};
    patrol *p = NULL;
    patrol_saved s;
    patrol_record_in in;
    patrol_location loc = {260822350, 1192963200, 8};
    patrol_sync_info info;
    rec_out o;
    char err[256], text[1024], text2[512], matter[PATROL_ID_MAX], code[19], copies[8],
        deadline[11];
    unsigned subjects = 0, actions_left = 0, no = 0, methods = 0, matters = 0;
    int rc;

    memset(&o, 0, sizeof o);
    memset(&s, 0, sizeof s);
    if ((rc = patrol_open(store, &p, err, sizeof err))) {
        fprintf(stderr, "shift_term: open %s: %s\n", store, err);
        return 1;
    }
    bu_beijing_date(7, deadline);
    for (int i = 0; i < 2; i++) {
        const patrol_field f[] = {{"cert_no", i ? "ZJ35010200022" : "ZJ35010200011",
                                   PATROL_CONF_NONE},
                                  {"name", i ? "林晓燕" : "王建国", PATROL_CONF_NONE}};
        memset(&in, 0, sizeof in);
        in.kind = "inspector.add";
        in.target = insp[i];
        in.fields = f;
        in.n_fields = 2;
        if ((rc = rec(p, &in, &s, &o)))
            goto exit;
    }
    matter[0] = '\0';
    while (s.seq < entries) {
        patrol_field f[8];
        size_t nf = 0;
        memset(&in, 0, sizeof in);
        in.location = &loc;
        loc.lat_e7 += (int64_t)between(&r, 0, 400) - 200;
        loc.lon_e7 += (int64_t)between(&r, 0, 400) - 200;
        in.target = matter;
        if (!matter[0]) {
            char name[160], addr[160];
            const char *const *it = items[rnd(&r) % 4];
            credit_code((unsigned)(seed * 1000u) + ++subjects, code);
            snprintf(name, sizeof name, "福州市鼓楼区示例%lu-%u号商贸有限公司", seed, subjects);
            snprintf(addr, sizeof addr, "福州市鼓楼区五四路%u号", between(&r, 1, 400));
            f[nf++] = (patrol_field){"credit_code", code, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"name", name, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"address", addr, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"legal_rep", "陈明", PATROL_CONF_PERSONAL_PRIVACY};
            f[nf++] = (patrol_field){"type", "business", PATROL_CONF_NONE};
            in.kind = "subject.add";
            in.target = NULL;
            in.fields = f;
            in.n_fields = nf;
            if ((rc = rec(p, &in, &s, &o)))
                goto exit;
            if (s.seq >= entries)
                break;
            nf = 0;
            make_text(&r, text, sizeof text, 60, 150, ++no);
            f[nf++] = (patrol_field){"domain", it[0], PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"subject", s.id, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"summary", text, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"list_item", it[1], PATROL_CONF_NONE};
            in.kind = "matter.open";
            in.inspectors = insp;
            in.n_inspectors = 2;
            in.fields = f;
            in.n_fields = nf;
            if ((rc = rec(p, &in, &s, &o)))
                goto exit;
            matters++;
            snprintf(matter, sizeof matter, "%s", s.id);
            if (s.seq >= entries)
                break;
            nf = 0;
            f[nf++] = (patrol_field){"answer", "accept", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"form", "oral", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"told", "yes", PATROL_CONF_NONE};
            in.kind = "consent";
            in.target = matter;
            in.inspectors = NULL;
            in.n_inspectors = 0;
            in.fields = f;
            in.n_fields = nf;
            if ((rc = rec(p, &in, &s, &o)))
                goto exit;
            actions_left = between(&r, 3, 9);
            methods = 0;
            continue;
        }
        if (actions_left == 0) {
            f[nf++] = (patrol_field){"outcome", "completed", PATROL_CONF_NONE};
            in.kind = "matter.close";
            in.fields = f;
            in.n_fields = nf;
            if ((rc = rec(p, &in, &s, &o)))
                goto exit;
            matter[0] = '\0';
            continue;
        }
        actions_left--;
        {
            unsigned pick = between(&r, 0, 99);
            /* Completion needs a method: leaflets alone are none. */
            if (actions_left == 0 && methods == 0 && pick >= 75)
                pick = 0;
            if (pick < 75)
                methods++;
            if (pick < 55) {
                make_text(&r, text, sizeof text, 200, 400, ++no);
                f[nf++] = (patrol_field){"content", text, PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"form", forms[rnd(&r) % 3], PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"topic", topics[rnd(&r) % 5], PATROL_CONF_NONE};
                in.kind = "action.guidance";
            } else if (pick < 75) {
                make_text(&r, text, sizeof text, 200, 400, ++no);
                make_text(&r, text2, sizeof text2, 40, 100, no);
                f[nf++] = (patrol_field){"content", text, PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"correctable", "yes", PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"correction", text2, PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"deadline", deadline, PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"minor", "yes", PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"no_harm", "yes", PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"no_intent", "yes", PATROL_CONF_NONE};
                in.kind = "action.warning";
            } else {
                snprintf(copies, sizeof copies, "%u", between(&r, 1, 5));
                f[nf++] = (patrol_field){"title", titles[rnd(&r) % 5], PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"copies", copies, PATROL_CONF_NONE};
                in.kind = "leaflet";
            }
        }
        in.fields = f;
        in.n_fields = nf;
        if ((rc = rec(p, &in, &s, &o)))
            goto exit;
    }
    if ((rc = patrol_sync_status(p, &info))) {
        snprintf(o.msg, sizeof o.msg, "status: %.250s", patrol_errmsg(p));
        goto exit;
    }
    printf("{\"entries\":%llu,\"matters\":%u,\"pending_bytes\":%llu}\n",
           (unsigned long long)s.seq, matters, (unsigned long long)info.pending_entry_bytes);
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
