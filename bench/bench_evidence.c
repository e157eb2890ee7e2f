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
#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <mbedtls/version.h>

#define DEFAULT_MB 200
#define DEFAULT_SMALL_MB 20
#define DEFAULT_RUNS 3
#define MAX_MB 65536
#define MAX_RUNS 50
#define GEN_CHUNK (1u << 20)
#define COPY_CHUNK (256u * 1024) /* what libpatrol uses (client/lib/evidence.c) */

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

/* ---- children ------------------------------------------------------------ */

/* Run fn in a child (bu_in_child); res->rc and res->msg say how it went. */
static int in_child(bu_child_fn fn, const void *arg, child_result *res, measure *m)
{
    struct rusage ru;
    int status;

    if (bu_in_child(fn, arg, res, sizeof *res, &ru, &status) != 0) {
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

/* A fresh store with an inspector, a subject and an open, agreed matter.
 * The matter id comes back in res->msg. */
static void child_setup(const void *arg, void *out)
{
    const job *j = arg;
    child_result *res = out;
    char matter[PATROL_ID_MAX];
    patrol *p = NULL;
    patrol_field insp[2];
    bu_setup setup_fields;

    bu_video_setup(&setup_fields, insp, "ZJ33010212345");
    res->rc = bu_store_setup(j->store, &setup_fields, &p, matter, sizeof matter, res->msg,
                             sizeof res->msg);
    if (res->rc)
        return;
    snprintf(res->msg, sizeof res->msg, "%s", matter);
    patrol_close(p);
}

static void child_import(const void *arg, void *out)
{
    const job *j = arg;
    child_result *res = out;
    patrol_location loc = {260822350, 1192963200, 8};
    patrol_saved s;
    patrol *p = NULL;
    char err[256];
    uint64_t t0;

    if ((res->rc = patrol_open(j->store, &p, err, sizeof err))) {
        snprintf(res->msg, sizeof res->msg, "open: %.200s", err);
        return;
    }
    t0 = bu_now_ns();
    res->rc = patrol_evidence_add(p, j->matter, "video", j->src, "video/mp4",
                                  "价签现场视频", &loc, &s);
    res->ns = bu_now_ns() - t0;
    if (res->rc)
        snprintf(res->msg, sizeof res->msg, "evidence add: %s: %s", patrol_strerror(res->rc),
                 patrol_errmsg(p));
    else
        snprintf(res->msg, sizeof res->msg, "entry %llu", (unsigned long long)s.seq);
    patrol_close(p);
}

/* Open and close only: the memory any use of the store costs. */
static void child_open_only(const void *arg, void *out)
{
    const job *j = arg;
    child_result *res = out;
    patrol *p = NULL;
    char err[256];

    if ((res->rc = patrol_open(j->store, &p, err, sizeof err)))
        snprintf(res->msg, sizeof res->msg, "open: %.200s", err);
    patrol_close(p);
}

/* The copy without hashing or recording: read, write, fsync. */
static void child_copy(const void *arg, void *resp)
{
    const job *j = arg;
    child_result *res = resp;
    uint8_t *buf = malloc(COPY_CHUNK);
    int in = -1, out = -1;
    uint64_t t0 = bu_now_ns();

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
        if (bu_write_all(out, buf, (size_t)n) != 0)
            goto exit;
    }
    if (fsync(out) != 0)
        goto exit;
    res->rc = 0;
exit:
    res->ns = bu_now_ns() - t0;
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

static void child_generate(const void *arg, void *out)
{
    const gen_job *g = arg;
    child_result *res = out;
    uint8_t *buf = malloc(GEN_CHUNK);

    res->rc = -1;
    if (buf && bu_write_random_file(g->path, g->bytes, g->seed, buf, GEN_CHUNK) == 0)
        res->rc = 0;
    if (res->rc)
        snprintf(res->msg, sizeof res->msg, "writing %.200s: %s", g->path, strerror(errno));
    free(buf);
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
    dropped = bu_drop_cache(src) == 0;
    if (in_child(child_import, &j, &res, &mi)) {
        fprintf(stderr, "bench_evidence: importing %s: %s\n", src, res.msg);
        goto exit;
    }
    dropped &= bu_drop_cache(src) == 0;
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
    bu_rm_rf(store);
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
    const char *parent = bu_tmp_parent();
    static size_results big, little;
    char base[4096];
    double hash;
    int ret = 1, rc;
    const bu_opt opts[] = {{"--mb", &mb, 1, MAX_MB, NULL, NULL},
                           {"--small-mb", &small, 1, MAX_MB, NULL, NULL},
                           {"--runs", &runs, 1, MAX_RUNS, NULL, NULL},
                           {"--dir", NULL, 0, 0, &parent, NULL}};

    if ((rc = bu_parse_args("bench_evidence", argc, argv, opts, sizeof opts / sizeof opts[0],
                            usage)) >= 0)
        return rc;
    if ((rc = bu_make_workdir("bench_evidence", parent, "patrol-bench-evidence", base,
                              sizeof base)))
        return rc;
    big.mb = mb;
    little.mb = small;
    printf("evidence: %lu MiB and %lu MiB x %lu runs in %s (libpatrol %s)\n", mb, small, runs,
           base, patrol_version());
    for (unsigned long r = 0; r < runs; r++)
        if (one(base, r, &little) || one(base, r, &big))
            goto exit;
    hash = bu_sha256_mib_s();
    {
        double bi = bu_median(big.import_rate, runs), bc = bu_median(big.copy_rate, runs),
               br = bu_median(big.rss, runs), si = bu_median(little.import_rate, runs),
               sc = bu_median(little.copy_rate, runs), srss = bu_median(little.rss, runs),
               orss = bu_median(big.open_rss, runs), brd = bu_median(big.read_mib, runs);
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
    bu_rm_rf(base);
    return ret;
}
