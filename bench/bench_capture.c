/* bench_capture.c -- capture latency of patrol_record, one durable entry at
 * a time, as an inspector records a patrol.
 *
 * Uses only include/patrol/patrol.h. For each of R runs it creates a fresh
 * store, enrols an inspector, a subject and a matter, then records N
 * entries (action.guidance with ~300 bytes of Chinese text, every tenth an
 * action.warning) and times each patrol_record call with CLOCK_MONOTONIC.
 * Every call returns only after its entry is committed (SQLite WAL,
 * synchronous=FULL: one fsync per entry at least).
 *
 * For reference it also times the bare cost of a durable append on the
 * same file system: write 4 KiB at the end of a file, then fdatasync
 * (what a WAL commit does at minimum).
 *
 * It also reads the process CPU clock around each call: the part of the
 * latency spent computing (signing, encoding, SQLite) rather than waiting
 * for the disk.
 *
 * Output: one human line per run, then the medians over the runs as one
 * human line and one JSON line (starting with '{"bench":"capture"').
 *
 *   bench_capture [--entries N] [--runs R] [--dir DIR] [--keep]
 */
#include <patrol/patrol.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ENTRIES 2000
#define DEFAULT_RUNS 5
#define MAX_ENTRIES 1000000
#define MAX_RUNS 100
#define FSYNC_PROBES 200

typedef struct stats {
    double median_ms, p90_ms, p99_ms, max_ms, mean_ms, per_s;
    double cpu_ms; /* median time on the CPU (this process) per entry */
} stats;

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* Checked decimal parser: 1..max, nothing else on the line. */
static int parse_count(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static double median_d(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Remove a tree the benchmark made (regular files and directories only). */
static int rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    char sub[4096];
    int rc = 0;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    if (!(d = opendir(path)))
        return -1;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= sizeof sub) {
            rc = -1;
            continue;
        }
        if (rm_rf(sub) != 0)
            rc = -1;
    }
    closedir(d);
    return rmdir(path) != 0 ? -1 : rc;
}

static int rec(patrol *p, const char *what, const patrol_record_in *in, patrol_saved *out)
{
    int err = patrol_record(p, in, out);
    if (err)
        fprintf(stderr, "bench_capture: %s: %s: %s\n", what, patrol_strerror(err),
                patrol_errmsg(p));
    return err;
}

/* A store with one inspector, one subject, one open matter the subject
 * agreed to. Fills matter. */
static int setup(const char *dir, patrol **out, char *matter, size_t mlen)
{
    static const char *const insp[] = {"INS-0001"};
    char err[256];
    patrol *p = NULL;
    patrol_saved s;
    int rc;

    const patrol_field fi[] = {{"cert_no", "ZJ33010212345", PATROL_CONF_NONE},
                               {"name", "王建国", PATROL_CONF_NONE}};
    const patrol_field fs[] = {{"credit_code", "91350100M000100Y43", PATROL_CONF_NONE},
                               {"name", "福州市鼓楼区示例餐饮管理有限公司", PATROL_CONF_NONE},
                               {"address", "福州市鼓楼区五四路88号", PATROL_CONF_NONE},
                               {"legal_rep", "陈明", PATROL_CONF_NONE},
                               {"type", "business", PATROL_CONF_NONE}};
    patrol_field fm[] = {{"domain", "market_regulation", PATROL_CONF_NONE},
                         {"subject", NULL, PATROL_CONF_NONE},
                         {"summary", "经营场所未按规定明码标价，首次被发现，当场责令改正。",
                          PATROL_CONF_NONE},
                         {"list_item", "SJ-NP-002", PATROL_CONF_NONE}};
    const patrol_field fc[] = {{"answer", "accept", PATROL_CONF_NONE},
                               {"form", "oral", PATROL_CONF_NONE},
                               {"told", "yes", PATROL_CONF_NONE}};
    patrol_record_in in;

    *out = NULL;
    if ((rc = patrol_init(dir, "350102-SJ", "bench-handheld", &p, err, sizeof err))) {
        fprintf(stderr, "bench_capture: init %s: %s: %s\n", dir, patrol_strerror(rc), err);
        return rc;
    }
    memset(&in, 0, sizeof in);
    in.kind = "inspector.add";
    in.target = insp[0];
    in.fields = fi;
    in.n_fields = sizeof fi / sizeof fi[0];
    if ((rc = rec(p, "inspector.add", &in, NULL)))
        goto fail;
    memset(&in, 0, sizeof in);
    in.kind = "subject.add";
    in.fields = fs;
    in.n_fields = sizeof fs / sizeof fs[0];
    if ((rc = rec(p, "subject.add", &in, &s)))
        goto fail;
    fm[1].value = s.id;
    memset(&in, 0, sizeof in);
    in.kind = "matter.open";
    in.inspectors = insp;
    in.n_inspectors = 1;
    in.fields = fm;
    in.n_fields = sizeof fm / sizeof fm[0];
    if ((rc = rec(p, "matter.open", &in, &s)))
        goto fail;
    snprintf(matter, mlen, "%s", s.id);
    memset(&in, 0, sizeof in);
    in.kind = "consent";
    in.target = matter;
    in.fields = fc;
    in.n_fields = sizeof fc / sizeof fc[0];
    if ((rc = rec(p, "consent", &in, NULL)))
        goto fail;
    *out = p;
    return 0;
fail:
    patrol_close(p);
    return rc;
}

/* ~300 bytes of UTF-8 (about 100 CJK characters), different per entry. */
static void guidance_text(char *buf, size_t len, size_t i)
{
    snprintf(buf, len,
             "第%zu项：现场检查发现价签信息不全，执法人员向经营者讲解了《明码标价和禁止价格欺诈规定》"
             "的要求，指导其按品名、规格、计价单位、价格逐项标示，并建议建立价签更换台账，"
             "由专人每日核对，经营者表示理解并当场整改。",
             i + 1);
}

static int run_once(const char *dir, size_t n, uint64_t *lat, uint64_t *cpu, stats *st)
{
    char matter[PATROL_ID_MAX], content[1024], correction[512];
    patrol *p = NULL;
    patrol_location loc = {260822350, 1192963200, 8};
    uint64_t t0, t1, c0, c1, total;
    int rc;

    if ((rc = setup(dir, &p, matter, sizeof matter)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        patrol_record_in in;
        patrol_field f[8];
        size_t nf = 0;

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
            f[nf++] = (patrol_field){"corrected", "yes", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"correction", correction, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"deadline", "2026-12-31", PATROL_CONF_NONE};
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
        c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        t0 = now_ns();
        rc = patrol_record(p, &in, NULL);
        t1 = now_ns();
        c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
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
    qsort(lat, n, sizeof *lat, cmp_u64);
    st->median_ms = (double)pct(lat, n, 0.50) / 1e6;
    st->p90_ms = (double)pct(lat, n, 0.90) / 1e6;
    st->p99_ms = (double)pct(lat, n, 0.99) / 1e6;
    st->max_ms = (double)lat[n - 1] / 1e6;
    st->mean_ms = (double)total / (double)n / 1e6;
    st->per_s = (double)n / ((double)total / 1e9);
    qsort(cpu, n, sizeof *cpu, cmp_u64);
    st->cpu_ms = (double)pct(cpu, n, 0.50) / 1e6;
    return 0;
}

/* Median time of appending 4 KiB to a file and fdatasync'ing it, in the
 * directory the stores live in: the floor under any durable commit. */
static double fsync_floor_ms(const char *dir)
{
    char path[4096], block[4096];
    uint64_t t[FSYNC_PROBES];
    int fd;

    if ((size_t)snprintf(path, sizeof path, "%s/fsync-probe", dir) >= sizeof path)
        return -1;
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return -1;
    memset(block, 'x', sizeof block);
    for (size_t i = 0; i < FSYNC_PROBES; i++) {
        uint64_t t0 = now_ns();
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block || fdatasync(fd) != 0) {
            close(fd);
            unlink(path);
            return -1;
        }
        t[i] = now_ns() - t0;
    }
    close(fd);
    unlink(path);
    qsort(t, FSYNC_PROBES, sizeof t[0], cmp_u64);
    return (double)pct(t, FSYNC_PROBES, 0.5) / 1e6;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_capture [--entries N] [--runs R] [--dir DIR] [--keep]\n"
               "  --entries N  entries recorded per run (default %d)\n"
               "  --runs R     runs, each in a fresh store (default %d)\n"
               "  --dir DIR    make the stores under DIR (default $TMPDIR or /tmp)\n"
               "  --keep       leave the stores in place\n",
               DEFAULT_ENTRIES, DEFAULT_RUNS);
}

int main(int argc, char **argv)
{
    unsigned long n = DEFAULT_ENTRIES, runs = DEFAULT_RUNS;
    const char *parent = getenv("TMPDIR");
    char base[4096], dir[4200];
    uint64_t *lat = NULL, *cpu = NULL;
    stats st[MAX_RUNS];
    double med[MAX_RUNS], p90[MAX_RUNS], p99[MAX_RUNS], mx[MAX_RUNS], mean[MAX_RUNS],
        rate[MAX_RUNS], cpums[MAX_RUNS], floor_ms;
    int keep = 0, ret = 1;

    if (!parent || !*parent)
        parent = "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], MAX_ENTRIES, &n)) {
                fprintf(stderr, "bench_capture: --entries: expected 1..%d\n", MAX_ENTRIES);
                return 2;
            }
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], MAX_RUNS, &runs)) {
                fprintf(stderr, "bench_capture: --runs: expected 1..%d\n", MAX_RUNS);
                return 2;
            }
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            parent = argv[++i];
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if ((size_t)snprintf(base, sizeof base, "%s/patrol-bench-capture-XXXXXX", parent) >=
        sizeof base) {
        fprintf(stderr, "bench_capture: --dir too long\n");
        return 2;
    }
    if (!mkdtemp(base)) {
        fprintf(stderr, "bench_capture: cannot create a directory under %s: %s\n", parent,
                strerror(errno));
        return 1;
    }
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
        if (run_once(dir, n, lat, cpu, &st[r]))
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
            rm_rf(dir);
    }
    {
        double m = median_d(med, runs), q90 = median_d(p90, runs), q99 = median_d(p99, runs),
               x = median_d(mx, runs), mn = median_d(mean, runs), eps = median_d(rate, runs),
               c = median_d(cpums, runs);
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
        rm_rf(base);
    else
        fprintf(stderr, "bench_capture: stores kept in %s\n", base);
    return ret;
}
