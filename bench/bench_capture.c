/* bench_capture.c -- capture latency of patrol_record, one durable entry at
 * a time, as an inspector records a patrol.
 *
 * Uses only include/patrol/patrol.h. For each of R runs it creates a fresh
 * store, enrols an inspector, a subject and a matter, then records N
 * entries (action.guidance with ~300 bytes of Chinese text, every tenth an
 * action.warning: the four conditions, a deadline seven days from today)
 * and times each patrol_record call with CLOCK_MONOTONIC.
 * Every call returns only after its entry is committed (SQLite WAL,
 * synchronous=FULL: one fsync per entry at least).
 *
 * For reference it also times the bare cost of a durable append on the
 * same file system: write 4 KiB at the end of a file, then fdatasync
 * (what a WAL commit does at minimum).
 *
 * It also reads the process CPU clock around each call: the part of the
 * latency spent computing (signing, encoding, SQLite, the matter state
 * machine's replay) rather than waiting for the disk.
 *
 * --per-matter K opens a new matter (and records the subject's consent,
 * both untimed) every K entries: an inspector's day is about 40 matters of
 * a few entries each. Without it every entry goes into one matter, which
 * shows what the replay of a long matter costs (it grows with the
 * matter's length).
 *
 * Output: one human line per run, then the medians over the runs as one
 * human line and one JSON line (starting with '{"bench":"capture"').
 *
 *   bench_capture [--entries N] [--runs R] [--per-matter K] [--dir DIR] [--keep]
 */
#include "bench_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ENTRIES 2000
#define DEFAULT_RUNS 5
#define MAX_ENTRIES 1000000
#define MAX_RUNS BU_MAX_RUNS
#define FSYNC_PROBES 200

typedef struct stats {
    double median_ms, p90_ms, p99_ms, max_ms, mean_ms, per_s;
    double cpu_ms; /* median time on the CPU (this process) per entry */
} stats;

/* The first entries of each store: an inspector, a subject, an open
 * matter the subject agreed to (market_regulation: BU_DEPARTMENT holds it). */
static const patrol_field setup_inspector[] = {{"cert_no", "ZJ33010212345", PATROL_CONF_NONE},
                                               {"name", "王建国", PATROL_CONF_NONE}};
static const patrol_field setup_subject[] = {
    {"credit_code", "91350100M000100Y43", PATROL_CONF_NONE},
    {"name", "福州市鼓楼区示例餐饮管理有限公司", PATROL_CONF_NONE},
    {"address", "福州市鼓楼区五四路88号", PATROL_CONF_NONE},
    {"legal_rep", "陈明", PATROL_CONF_NONE},
    {"type", "business", PATROL_CONF_NONE}};
static const patrol_field setup_matter[] = {
    {"domain", "market_regulation", PATROL_CONF_NONE},
    {"subject", NULL, PATROL_CONF_NONE},
    {"summary", "经营场所未按规定明码标价，首次被发现，当场责令改正。", PATROL_CONF_NONE},
    {"list_item", "SJ-NP-002", PATROL_CONF_NONE}};
static const patrol_field setup_consent[] = {{"answer", "accept", PATROL_CONF_NONE},
                                             {"form", "oral", PATROL_CONF_NONE},
                                             {"told", "yes", PATROL_CONF_NONE}};
static const bu_setup setup_fields = {
    setup_inspector, sizeof setup_inspector / sizeof setup_inspector[0],
    setup_subject,   sizeof setup_subject / sizeof setup_subject[0],
    setup_matter,    sizeof setup_matter / sizeof setup_matter[0],
    setup_consent,   sizeof setup_consent / sizeof setup_consent[0]};

/* ~300 bytes of UTF-8 (about 100 CJK characters), different per entry. */
static void guidance_text(char *buf, size_t len, size_t i)
{
    snprintf(buf, len,
             "第%zu项：现场检查发现价签信息不全，执法人员向经营者讲解了《明码标价和禁止价格欺诈规定》"
             "的要求，指导其按品名、规格、计价单位、价格逐项标示，并建议建立价签更换台账，"
             "由专人每日核对，经营者表示理解并当场整改。",
             i + 1);
}

typedef struct subject_find {
    const char *matter;
    char *subject;
    size_t len;
} subject_find;

static int subject_cb(void *ud, const patrol_matter_view *m)
{
    subject_find *f = ud;
    if (strcmp(m->id, f->matter) == 0)
        snprintf(f->subject, f->len, "%s", m->subject);
    return 0;
}

/* A new matter about the same subject, accepted (untimed). */
static int next_matter(patrol *p, char *matter, size_t len)
{
    static const char *const insp[] = {"INS-0001"};
    char subject[PATROL_ID_MAX], msg[512];
    patrol_field f[3];
    patrol_record_in in;
    patrol_saved s;
    int rc;

    memset(&in, 0, sizeof in);
    subject_find sf = {matter, subject, sizeof subject};
    subject[0] = '\0';
    if ((rc = patrol_matters(p, subject_cb, &sf)) || !subject[0]) {
        fprintf(stderr, "bench_capture: the subject of %s: %s\n", matter, patrol_errmsg(p));
        return rc ? rc : PATROL_ENOTFOUND;
    }
    f[0] = (patrol_field){"domain", "market_regulation", PATROL_CONF_NONE};
    f[1] = (patrol_field){"subject", subject, PATROL_CONF_NONE};
    f[2] = (patrol_field){"summary", "价签不全，现场指导整改。", PATROL_CONF_NONE};
    in.kind = "matter.open";
    in.inspectors = insp;
    in.n_inspectors = 1;
    in.fields = f;
    in.n_fields = 3;
    if ((rc = bu_record(p, &in, &s, msg, sizeof msg)))
        goto fail;
    snprintf(matter, len, "%s", s.id);
    memset(&in, 0, sizeof in);
    f[0] = (patrol_field){"answer", "accept", PATROL_CONF_NONE};
    f[1] = (patrol_field){"told", "yes", PATROL_CONF_NONE};
    in.kind = "consent";
    in.target = matter;
    in.fields = f;
    in.n_fields = 2;
    if ((rc = bu_record(p, &in, &s, msg, sizeof msg)))
        goto fail;
    return 0;
fail:
    fprintf(stderr, "bench_capture: %s\n", msg);
    return rc;
}

static int run_once(const char *dir, size_t n, size_t per_matter, uint64_t *lat, uint64_t *cpu,
                    stats *st)
{
    char matter[PATROL_ID_MAX], content[1024], correction[512], msg[512], deadline[11];
    patrol *p = NULL;
    patrol_location loc = {260822350, 1192963200, 8};
    uint64_t t0, t1, c0, c1, total;
    int rc;

    if ((rc = bu_store_setup(dir, &setup_fields, &p, matter, sizeof matter, msg, sizeof msg))) {
        fprintf(stderr, "bench_capture: %s\n", msg);
        return rc;
    }
    bu_beijing_date(7, deadline); /* "责令七日内" */
    for (size_t i = 0; i < n; i++) {
        patrol_record_in in;
        patrol_field f[8];
        size_t nf = 0;

        if (per_matter && i > 0 && i % per_matter == 0 &&
            (rc = next_matter(p, matter, sizeof matter))) {
            patrol_close(p);
            return rc;
        }
        guidance_text(content, sizeof content, i);
        memset(&in, 0, sizeof in);
        in.target = matter;
        in.location = &loc;
        loc.lat_e7 += 7; /* the inspector walks */
        if (i % 10 == 9) {
            snprintf(correction, sizeof correction,
                     "第%zu项：责令七日内补齐全部商品价签，逾期未改正的依法处理。", i + 1);
            in.kind = "action.warning";
            f[nf++] = (patrol_field){"content", content, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"correctable", "yes", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"correction", correction, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"deadline", deadline, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"minor", "yes", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"no_harm", "yes", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"no_intent", "yes", PATROL_CONF_NONE};
        } else {
            in.kind = "action.guidance";
            f[nf++] = (patrol_field){"content", content, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"form", "oral", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"topic", "明码标价与价签管理", PATROL_CONF_NONE};
        }
        in.fields = f;
        in.n_fields = nf;
        c0 = bu_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        t0 = bu_now_ns();
        rc = patrol_record(p, &in, NULL);
        t1 = bu_now_ns();
        c1 = bu_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        if (rc) {
            fprintf(stderr, "bench_capture: entry %zu (%s): %s: %s\n", i + 1, in.kind,
                    patrol_strerror(rc), patrol_errmsg(p));
            patrol_close(p);
            return rc;
        }
        lat[i] = t1 - t0;
        cpu[i] = c1 - c0;
    }
    patrol_close(p);

    total = 0;
    for (size_t i = 0; i < n; i++)
        total += lat[i];
    bu_sort_u64(lat, n);
    st->median_ms = (double)bu_pct_u64(lat, n, 0.50) / 1e6;
    st->p90_ms = (double)bu_pct_u64(lat, n, 0.90) / 1e6;
    st->p99_ms = (double)bu_pct_u64(lat, n, 0.99) / 1e6;
    st->max_ms = (double)lat[n - 1] / 1e6;
    st->mean_ms = (double)total / (double)n / 1e6;
    st->per_s = (double)n / ((double)total / 1e9);
    bu_sort_u64(cpu, n);
    st->cpu_ms = (double)bu_pct_u64(cpu, n, 0.50) / 1e6;
    return 0;
}

/* Median time of appending 4 KiB to a file and fdatasync'ing it, in the
 * directory the stores live in: the floor under any durable commit. */
static double fsync_floor_ms(const char *dir)
{
    char block[4096];
    double t[FSYNC_PROBES];

    memset(block, 'x', sizeof block);
    if (bu_append_fsync_ms(dir, block, sizeof block, FSYNC_PROBES, t) != 0)
        return -1;
    return bu_pct_d(t, FSYNC_PROBES, 0.5);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_capture [--entries N] [--runs R] [--per-matter K] [--dir DIR] [--keep]\n"
               "  --entries N  entries recorded per run (default %d)\n"
               "  --runs R     runs, each in a fresh store (default %d)\n"
               "  --per-matter K  a new matter every K entries (default: one matter)\n"
               "  --dir DIR    make the stores under DIR (default $TMPDIR or /tmp)\n"
               "  --keep       leave the stores in place\n",
               DEFAULT_ENTRIES, DEFAULT_RUNS);
}

int main(int argc, char **argv)
{
    unsigned long n = DEFAULT_ENTRIES, runs = DEFAULT_RUNS, per_matter = 0;
    const char *parent = bu_tmp_parent();
    char base[4096], dir[4200];
    uint64_t *lat = NULL, *cpu = NULL;
    stats st[MAX_RUNS];
    double med[MAX_RUNS], p90[MAX_RUNS], p99[MAX_RUNS], mx[MAX_RUNS], mean[MAX_RUNS],
        rate[MAX_RUNS], cpums[MAX_RUNS], floor_ms;
    int keep = 0, ret = 1, rc;
    const bu_opt opts[] = {{"--entries", &n, 1, MAX_ENTRIES, NULL, NULL},
                           {"--runs", &runs, 1, MAX_RUNS, NULL, NULL},
                           {"--per-matter", &per_matter, 1, MAX_ENTRIES, NULL, NULL},
                           {"--dir", NULL, 0, 0, &parent, NULL},
                           {"--keep", NULL, 0, 0, NULL, &keep}};

    if ((rc = bu_parse_args("bench_capture", argc, argv, opts, sizeof opts / sizeof opts[0],
                            usage)) >= 0)
        return rc;
    if ((rc = bu_make_workdir("bench_capture", parent, "patrol-bench-capture", base,
                              sizeof base)))
        return rc;
    if (!(lat = malloc(n * sizeof *lat)) || !(cpu = malloc(n * sizeof *cpu))) {
        fprintf(stderr, "bench_capture: out of memory\n");
        goto exit;
    }

    floor_ms = fsync_floor_ms(base);
    printf("capture: %lu entries x %lu runs in %s (libpatrol %s)\n", n, runs, base,
           patrol_version());
    if (floor_ms >= 0)
        printf("fsync floor: append 4 KiB + fdatasync, median of %d: %.3f ms\n", FSYNC_PROBES,
               floor_ms);
    for (unsigned long r = 0; r < runs; r++) {
        snprintf(dir, sizeof dir, "%s/store-%lu", base, r + 1);
        if (run_once(dir, n, per_matter, lat, cpu, &st[r]))
            goto exit;
        printf("run %lu: median %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  mean %.3f ms  "
               "%.0f entries/s  (on CPU: median %.3f ms)\n",
               r + 1, st[r].median_ms, st[r].p90_ms, st[r].p99_ms, st[r].max_ms, st[r].mean_ms,
               st[r].per_s, st[r].cpu_ms);
        fflush(stdout);
        med[r] = st[r].median_ms;
        p90[r] = st[r].p90_ms;
        p99[r] = st[r].p99_ms;
        mx[r] = st[r].max_ms;
        mean[r] = st[r].mean_ms;
        rate[r] = st[r].per_s;
        cpums[r] = st[r].cpu_ms;
        if (!keep)
            bu_rm_rf(dir);
    }
    {
        double m = bu_median(med, runs), q90 = bu_median(p90, runs), q99 = bu_median(p99, runs),
               x = bu_median(mx, runs), mn = bu_median(mean, runs), eps = bu_median(rate, runs),
               c = bu_median(cpums, runs);
        printf("capture (median of %lu runs): median %.3f ms  p90 %.3f ms  p99 %.3f ms  "
               "max %.3f ms  mean %.3f ms  %.0f entries/s  (on CPU %.3f ms",
               runs, m, q90, q99, x, mn, eps, c);
        if (floor_ms > 0)
            printf("; fsync floor %.3f ms", floor_ms);
        printf(")\n");
        printf("{\"bench\":\"capture\",\"entries\":%lu,\"runs\":%lu,\"median_ms\":%.3f,"
               "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,"
               "\"entries_per_s\":%.1f,\"cpu_median_ms\":%.3f,\"fsync_floor_ms\":%.3f}\n",
               n, runs, m, q90, q99, x, mn, eps, c, floor_ms);
    }
    ret = 0;
exit:
    free(lat);
    free(cpu);
    if (!keep)
        bu_rm_rf(base);
    else
        fprintf(stderr, "bench_capture: stores kept in %s\n", base);
    return ret;
}
