/* bench_evidence.c -- evidence import rate and memory of patrol_evidence_add.
 *
 * For each run and each size (--mb, default 200, and --small-mb, default
 * 20, to show memory does not grow with the file):
 *   1. in a child, write a source file of incompressible bytes
 *      (xoshiro256**), fsync it and drop it from the page cache
 *      (posix_fadvise DONTNEED), so the import reads it from the disk;
 *   2. in a forked child: open a fresh store, time patrol_evidence_add
 *      (copy + SHA-256 + fsync + journal entry), close. The parent reads
 *      the child's peak RSS and block I/O with wait4, so nothing the parent
 *      did (file generation) is counted;
 *   3. for reference, in another child: the same copy (256 KiB reads and
 *      writes, fsync) without hashing or recording, from a cold cache.
 * It also times SHA-256 over memory (mbedtls, the library libpatrol uses)
 * and the peak RSS of a child that only opens and closes the store.
 * Medians over --runs (default 3). MB here is MiB (2^20 bytes).
 *
 * Output: one human line per import, then a summary as human lines and
 * one JSON line (starting with '{"bench":"evidence"').
 *
 *   bench_evidence [--mb N] [--small-mb N] [--runs R] [--dir DIR]
 */
#include <patrol/patrol.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

/* wait4 is not POSIX; glibc and bionic declare it only with their own
 * feature macros. Its ABI is the same on every Linux libc. */
pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru);

#define DEFAULT_MB 200
#define DEFAULT_SMALL_MB 20
#define DEFAULT_RUNS 3
#define MAX_MB 65536
#define MAX_RUNS 50
#define GEN_CHUNK (1u << 20)
#define COPY_CHUNK (256u * 1024) /* what libpatrol uses (client/lib/evidence.c) */
#define HASH_MB 256

typedef struct child_result {
    int rc;
    uint64_t ns;
    char msg[256];
} child_result;

typedef struct measure {
    double seconds;   /* timed inside the child */
    long maxrss_kib;  /* ru_maxrss of the child */
    double read_mib;  /* ru_inblock * 512 */
    double write_mib; /* ru_oublock * 512 */
} measure;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_d(const double *in, size_t n)
{
    double v[MAX_RUNS];
    memcpy(v, in, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

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

/* ---- source files ------------------------------------------------------ */

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

/* xoshiro256** */
static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static void rng_fill(rng *r, uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = rng_next(r);
        for (int k = 0; k < 8; k++) /* byte order fixed: same file everywhere */
            b[i + (size_t)k] = (uint8_t)(v >> (8 * k));
    }
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Ask the kernel to forget the file's (clean) pages. 0 if it said yes. */
static int drop_cache(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
    if (fd < 0)
        return -1;
    rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    return rc;
}

/* ---- children ------------------------------------------------------------ */

typedef void (*child_fn)(const void *arg, child_result *res);

/* Run fn in a child; its result comes back through a pipe, its rusage
 * through wait4. */
static int in_child(child_fn fn, const void *arg, child_result *res, measure *m)
{
    int fds[2], status;
    struct rusage ru;
    pid_t pid;
    size_t got = 0;

    memset(res, 0, sizeof *res);
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    if ((pid = fork()) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        child_result r;
        const uint8_t *b = (const uint8_t *)&r;
        size_t n = sizeof r;
        close(fds[0]);
        memset(&r, 0, sizeof r);
        fn(arg, &r);
        while (n > 0) {
            ssize_t w = write(fds[1], b, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                _exit(3);
            b += w;
            n -= (size_t)w;
        }
        _exit(r.rc ? 1 : 0);
    }
    close(fds[1]);
    while (got < sizeof *res) {
        ssize_t n = read(fds[0], (uint8_t *)res + got, sizeof *res - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (got != sizeof *res || !WIFEXITED(status)) {
        snprintf(res->msg, sizeof res->msg, "child died (status 0x%x)", (unsigned)status);
        res->rc = -1;
        return -1;
    }
    res->msg[sizeof res->msg - 1] = '\0';
    if (m) {
        m->seconds = (double)res->ns / 1e9;
        m->maxrss_kib = ru.ru_maxrss;
        m->read_mib = (double)ru.ru_inblock * 512 / 1048576.0;
        m->write_mib = (double)ru.ru_oublock * 512 / 1048576.0;
    }
    return res->rc ? -1 : 0;
}

typedef struct job {
    const char *store;
    const char *src;
    const char *dst;
    char matter[PATROL_ID_MAX];
} job;

static int rec(patrol *p, const patrol_record_in *in, patrol_saved *out, child_result *res)
{
    int err = patrol_record(p, in, out);
    if (err)
        snprintf(res->msg, sizeof res->msg, "%s: %s: %s", in->kind, patrol_strerror(err),
                 patrol_errmsg(p));
    return err;
}

/* A fresh store with an inspector, a subject and an open, agreed matter.
 * The matter id comes back in res->msg. */
static void child_setup(const void *arg, child_result *res)
{
    static const char *const insp[] = {"INS-0001"};
    const job *j = arg;
    char err[256];
    patrol *p = NULL;
    patrol_saved s;
    patrol_record_in in;
    const patrol_field fi[] = {{"cert_no", "ZJ33010212345", PATROL_CONF_NONE},
                               {"name", "王建国", PATROL_CONF_NONE}};
    const patrol_field fs[] = {{"credit_code", "91350100M000100Y43", PATROL_CONF_NONE},
                               {"name", "福州市鼓楼区示例餐饮管理有限公司", PATROL_CONF_NONE},
                               {"type", "business", PATROL_CONF_NONE}};
    patrol_field fm[] = {{"domain", "market_regulation", PATROL_CONF_NONE},
                         {"subject", NULL, PATROL_CONF_NONE},
                         {"summary", "经营场所未按规定明码标价，现场拍摄视频取证。", PATROL_CONF_NONE}};
    const patrol_field fc[] = {{"answer", "accept", PATROL_CONF_NONE},
                               {"told", "yes", PATROL_CONF_NONE}};

    if ((res->rc = patrol_init(j->store, "350102-SJ", "bench-handheld", &p, err, sizeof err))) {
        snprintf(res->msg, sizeof res->msg, "init: %.200s", err);
        return;
    }
    memset(&in, 0, sizeof in);
    in.kind = "inspector.add";
    in.target = insp[0];
    in.fields = fi;
    in.n_fields = sizeof fi / sizeof fi[0];
    if ((res->rc = rec(p, &in, NULL, res)))
        goto exit;
    memset(&in, 0, sizeof in);
    in.kind = "subject.add";
    in.fields = fs;
    in.n_fields = sizeof fs / sizeof fs[0];
    if ((res->rc = rec(p, &in, &s, res)))
        goto exit;
    fm[1].value = s.id;
    memset(&in, 0, sizeof in);
    in.kind = "matter.open";
    in.inspectors = insp;
    in.n_inspectors = 1;
    in.fields = fm;
    in.n_fields = sizeof fm / sizeof fm[0];
    if ((res->rc = rec(p, &in, &s, res)))
        goto exit;
    memset(&in, 0, sizeof in);
    in.kind = "consent";
    in.target = s.id;
    in.fields = fc;
    in.n_fields = sizeof fc / sizeof fc[0];
    if ((res->rc = rec(p, &in, NULL, res)))
        goto exit;
    snprintf(res->msg, sizeof res->msg, "%s", s.id);
exit:
    patrol_close(p);
}

static void child_import(const void *arg, child_result *res)
{
    const job *j = arg;
    patrol_location loc = {260822350, 1192963200, 8};
    patrol_saved s;
    patrol *p = NULL;
    char err[256];
    uint64_t t0;

    if ((res->rc = patrol_open(j->store, &p, err, sizeof err))) {
        snprintf(res->msg, sizeof res->msg, "open: %.200s", err);
        return;
    }
    t0 = now_ns();
    res->rc = patrol_evidence_add(p, j->matter, "video", j->src, "video/mp4",
                                  "价签现场视频", &loc, &s);
    res->ns = now_ns() - t0;
    if (res->rc)
        snprintf(res->msg, sizeof res->msg, "evidence add: %s: %s", patrol_strerror(res->rc),
                 patrol_errmsg(p));
    else
        snprintf(res->msg, sizeof res->msg, "entry %llu", (unsigned long long)s.seq);
    patrol_close(p);
}

/* Open and close only: the memory any use of the store costs. */
static void child_open_only(const void *arg, child_result *res)
{
    const job *j = arg;
    patrol *p = NULL;
    char err[256];

    if ((res->rc = patrol_open(j->store, &p, err, sizeof err)))
        snprintf(res->msg, sizeof res->msg, "open: %.200s", err);
    patrol_close(p);
}

/* The copy without hashing or recording: read, write, fsync. */
static void child_copy(const void *arg, child_result *res)
{
    const job *j = arg;
    uint8_t *buf = malloc(COPY_CHUNK);
    int in = -1, out = -1;
    uint64_t t0 = now_ns();

    res->rc = -1;
    if (!buf || (in = open(j->src, O_RDONLY | O_CLOEXEC)) < 0 ||
        (out = open(j->dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto exit;
    for (;;) {
        ssize_t n = read(in, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto exit;
        if (n == 0)
            break;
        if (write_all(out, buf, (size_t)n) != 0)
            goto exit;
    }
    if (fsync(out) != 0)
        goto exit;
    res->rc = 0;
exit:
    res->ns = now_ns() - t0;
    if (res->rc)
        snprintf(res->msg, sizeof res->msg, "copy: %s", strerror(errno));
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    free(buf);
}

/* Write bytes of xoshiro256** output to path, fsync it and drop it from
 * the page cache. Runs in a child so that the parent (whose memory every
 * measured child inherits at fork) never touches the 1 MiB buffer. */
typedef struct gen_job {
    const char *path;
    uint64_t bytes;
    uint64_t seed;
} gen_job;

static void child_generate(const void *arg, child_result *res)
{
    const gen_job *g = arg;
    uint8_t *buf = malloc(GEN_CHUNK);
    rng r;
    int fd = -1;

    res->rc = -1;
    if (!buf)
        goto exit;
    rng_seed(&r, g->seed);
    if ((fd = open(g->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto exit;
    for (uint64_t done = 0; done < g->bytes;) {
        size_t n = g->bytes - done < GEN_CHUNK ? (size_t)(g->bytes - done) : GEN_CHUNK;
        rng_fill(&r, buf, n);
        if (write_all(fd, buf, n) != 0)
            goto exit;
        done += n;
    }
    if (fsync(fd) != 0)
        goto exit;
    errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (errno)
        goto exit;
    res->rc = 0;
exit:
    if (res->rc)
        snprintf(res->msg, sizeof res->msg, "writing %.200s: %s", g->path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(buf);
}

/* SHA-256 over HASH_MB MiB already in memory, MiB/s. */
static double sha256_rate(void)
{
    uint8_t *buf = malloc(COPY_CHUNK), digest[32];
    mbedtls_sha256_context c;
    rng r;
    uint64_t t0;
    double s;

    if (!buf)
        return -1;
    rng_seed(&r, 7);
    rng_fill(&r, buf, COPY_CHUNK);
    mbedtls_sha256_init(&c);
    t0 = now_ns();
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256_starts(&c, 0);
    for (size_t i = 0; i < (size_t)HASH_MB * 1048576 / COPY_CHUNK; i++)
        mbedtls_sha256_update(&c, buf, COPY_CHUNK);
    mbedtls_sha256_finish(&c, digest);
#else
    mbedtls_sha256_starts_ret(&c, 0);
    for (size_t i = 0; i < (size_t)HASH_MB * 1048576 / COPY_CHUNK; i++)
        mbedtls_sha256_update_ret(&c, buf, COPY_CHUNK);
    mbedtls_sha256_finish_ret(&c, digest);
#endif
    s = (double)(now_ns() - t0) / 1e9;
    mbedtls_sha256_free(&c);
    free(buf);
    return s > 0 ? HASH_MB / s : -1;
}

/* ---- main ------------------------------------------------------------------ */

typedef struct size_results {
    unsigned long mb;
    double import_rate[MAX_RUNS], copy_rate[MAX_RUNS], rss[MAX_RUNS], read_mib[MAX_RUNS],
        write_mib[MAX_RUNS], open_rss[MAX_RUNS];
} size_results;

static int one(const char *base, unsigned long run, size_results *sr)
{
    char src[4200], dst[4200], store[4200];
    gen_job gen;
    child_result res;
    measure mi, mc, mo;
    job j;
    int ret = -1, dropped;

    snprintf(src, sizeof src, "%s/source-%lumb-%lu.mp4", base, sr->mb, run + 1);
    snprintf(dst, sizeof dst, "%s/copy-%lumb-%lu.bin", base, sr->mb, run + 1);
    snprintf(store, sizeof store, "%s/store-%lumb-%lu", base, sr->mb, run + 1);
    memset(&j, 0, sizeof j);
    j.store = store;
    j.src = src;
    j.dst = dst;

    gen.path = src;
    gen.bytes = (uint64_t)sr->mb << 20;
    gen.seed = ((uint64_t)sr->mb << 32) | run;
    if (in_child(child_generate, &gen, &res, NULL)) {
        fprintf(stderr, "bench_evidence: %s\n", res.msg);
        goto exit;
    }
    if (in_child(child_setup, &j, &res, NULL)) {
        fprintf(stderr, "bench_evidence: setting up %s: %s\n", store, res.msg);
        goto exit;
    }
    snprintf(j.matter, sizeof j.matter, "%.63s", res.msg);
    if (in_child(child_open_only, &j, &res, &mo)) {
        fprintf(stderr, "bench_evidence: %s\n", res.msg);
        goto exit;
    }
    dropped = drop_cache(src) == 0;
    if (in_child(child_import, &j, &res, &mi)) {
        fprintf(stderr, "bench_evidence: importing %s: %s\n", src, res.msg);
        goto exit;
    }
    dropped &= drop_cache(src) == 0;
    if (in_child(child_copy, &j, &res, &mc)) {
        fprintf(stderr, "bench_evidence: %s\n", res.msg);
        goto exit;
    }
    sr->import_rate[run] = (double)sr->mb / mi.seconds;
    sr->copy_rate[run] = (double)sr->mb / mc.seconds;
    sr->rss[run] = (double)mi.maxrss_kib;
    sr->open_rss[run] = (double)mo.maxrss_kib;
    sr->read_mib[run] = mi.read_mib;
    sr->write_mib[run] = mi.write_mib;
    printf("run %lu, %4lu MiB: import %.2f s = %.1f MiB/s, peak RSS %ld KiB (open+close only: "
           "%ld KiB), read from disk %.0f MiB, written %.0f MiB; plain copy+fsync %.1f MiB/s%s\n",
           run + 1, sr->mb, mi.seconds, sr->import_rate[run], mi.maxrss_kib, mo.maxrss_kib,
           mi.read_mib, mi.write_mib, sr->copy_rate[run],
           dropped ? "" : " (page cache not dropped)");
    fflush(stdout);
    ret = 0;
exit:
    unlink(src);
    unlink(dst);
    rm_rf(store);
    return ret;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_evidence [--mb N] [--small-mb N] [--runs R] [--dir DIR]\n"
               "  --mb N        size of the large file in MiB (default %d)\n"
               "  --small-mb N  size of the comparison file in MiB (default %d)\n"
               "  --runs R      runs, each in fresh stores (default %d)\n"
               "  --dir DIR     work under DIR (default $TMPDIR or /tmp)\n",
               DEFAULT_MB, DEFAULT_SMALL_MB, DEFAULT_RUNS);
}

int main(int argc, char **argv)
{
    unsigned long mb = DEFAULT_MB, small = DEFAULT_SMALL_MB, runs = DEFAULT_RUNS;
    const char *parent = getenv("TMPDIR");
    static size_results big, little;
    char base[4096];
    double hash;
    int ret = 1;

    if (!parent || !*parent)
        parent = "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], MAX_MB, &mb)) {
                fprintf(stderr, "bench_evidence: --mb: expected 1..%d\n", MAX_MB);
                return 2;
            }
        } else if (strcmp(argv[i], "--small-mb") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], MAX_MB, &small)) {
                fprintf(stderr, "bench_evidence: --small-mb: expected 1..%d\n", MAX_MB);
                return 2;
            }
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], MAX_RUNS, &runs)) {
                fprintf(stderr, "bench_evidence: --runs: expected 1..%d\n", MAX_RUNS);
                return 2;
            }
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            parent = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if ((size_t)snprintf(base, sizeof base, "%s/patrol-bench-evidence-XXXXXX", parent) >=
        sizeof base - 64) {
        fprintf(stderr, "bench_evidence: --dir too long\n");
        return 2;
    }
    if (!mkdtemp(base)) {
        fprintf(stderr, "bench_evidence: cannot create a directory under %s: %s\n", parent,
                strerror(errno));
        return 1;
    }
    big.mb = mb;
    little.mb = small;
    printf("evidence: %lu MiB and %lu MiB x %lu runs in %s (libpatrol %s)\n", mb, small, runs,
           base, patrol_version());
    for (unsigned long r = 0; r < runs; r++)
        if (one(base, r, &little) || one(base, r, &big))
            goto exit;
    hash = sha256_rate();
    {
        double bi = median_d(big.import_rate, runs), bc = median_d(big.copy_rate, runs),
               br = median_d(big.rss, runs), si = median_d(little.import_rate, runs),
               sc = median_d(little.copy_rate, runs), srss = median_d(little.rss, runs),
               orss = median_d(big.open_rss, runs), brd = median_d(big.read_mib, runs);
        printf("evidence (median of %lu runs): %lu MiB import %.1f MiB/s, peak RSS %.0f KiB; "
               "%lu MiB import %.1f MiB/s, peak RSS %.0f KiB; open+close only %.0f KiB\n",
               runs, mb, bi, br, small, si, srss, orss);
        printf("reference: plain copy+fsync %.1f MiB/s (%lu MiB), %.1f MiB/s (%lu MiB); "
               "SHA-256 (mbedtls %s) in memory %.1f MiB/s; import = %.2f x copy time\n",
               bc, mb, sc, small, MBEDTLS_VERSION_STRING, hash, bc / bi);
        printf("{\"bench\":\"evidence\",\"runs\":%lu,\"mb\":%lu,\"import_mib_s\":%.1f,"
               "\"peak_rss_kib\":%.0f,\"small_mb\":%lu,\"small_import_mib_s\":%.1f,"
               "\"small_peak_rss_kib\":%.0f,\"open_only_rss_kib\":%.0f,\"read_from_disk_mib\":%.0f,"
               "\"copy_fsync_mib_s\":%.1f,\"small_copy_fsync_mib_s\":%.1f,"
               "\"sha256_mem_mib_s\":%.1f}\n",
               runs, mb, bi, br, small, si, srss, orss, brd, bc, sc, hash);
    }
    ret = 0;
exit:
    rm_rf(base);
    return ret;
}
