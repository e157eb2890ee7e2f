/* bench_upload.c -- evidence upload through patrol_sync to a real patrold
 * over TLS 1.2 on 127.0.0.1: MiB/s, and the peak memory of the terminal
 * (and of the server) whatever the size of the evidence.
 *
 * Three shapes, each run with a fresh server and store:
 *   big:   one file of --mb MiB (default 200)
 *   split: --files files (default 10) of --mb / --files MiB each
 *   small: one file of --small-mb MiB (default 20), to compare memory
 * For each:
 *   1. patrold init, device add, serve --listen 127.0.0.1:0;
 *   2. in a child: write the files (xoshiro256**: incompressible, as video
 *      is), patrol_init, an inspector, a subject, a matter, consent,
 *      patrol_evidence_add each file ("video", video/mp4), delete the
 *      sources, patrol_enroll; then the store's evidence files are dropped
 *      from the page cache (--warm keeps them) -- footage recorded hours
 *      before a sync is not in memory;
 *   3. GET /metrics; in a forked child: patrol_open + patrol_sync, timed,
 *      with the start of each phase (entries, evidence, reference) from
 *      the progress callback; the child's peak RSS (ru_maxrss) and CPU
 *      time come from wait4. A child that only opens and closes the store
 *      gives the baseline RSS;
 *   4. GET /metrics (twice: the second takes out what one /metrics request
 *      costs), patrold's VmHWM and CPU time from /proc; SIGTERM by pid.
 * MiB/s = evidence bytes / time of the evidence phase (HEAD, PATCHes,
 * server's SHA-256 check at completion). Medians over --runs (default 3).
 * For reference: SHA-256 over memory with mbedtls (what patrold runs over
 * the whole file when the last PATCH arrives) and the cost of appending
 * 4 MiB + fdatasync in the work directory (what each PATCH costs the
 * server at least).
 *
 * Output: a line per upload, the medians, and one JSON line starting with
 * '{"bench":"upload"'.
 *
 *   bench_upload [--patrold PATH] [--mb N] [--files K] [--small-mb N]
 *                [--runs R] [--dir DIR] [--warm] [--keep] [--timeout S]
 */
#include "sync_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#define DEFAULT_MB 200
#define DEFAULT_FILES 10
#define DEFAULT_SMALL_MB 20
#define DEFAULT_RUNS 3
#define DEFAULT_TIMEOUT_S 900
#define MAX_MB 16384
#define MAX_FILES 100
#define GEN_CHUNK (1u << 20)
#define HASH_MB 256
#define FSYNC_PROBES 20
#define PATCH_BYTES (4u << 20)

/* ---- incompressible bytes -------------------------------------------------- */

typedef struct xrng {
    uint64_t s[4];
} xrng;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void xseed(xrng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        r->s[i] = z ^ (z >> 31);
    }
}

static void xfill(xrng *r, uint8_t *b, size_t n) /* xoshiro256** */
{
    uint64_t *s = r->s;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        for (int k = 0; k < 8; k++)
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

/* ---- preparing a store -------------------------------------------------------- */

typedef struct prep_job {
    const char *dir;   /* sources are written here, then deleted */
    const char *store;
    const char *url;
    const char *token;
    unsigned files;
    uint64_t bytes_each;
    uint64_t seed;
} prep_job;

typedef struct prep_out {
    int rc;
    char msg[300];
    double import_s;
} prep_out;

static int rec(patrol *p, const patrol_record_in *in, patrol_saved *s, prep_out *o)
{
    int err = patrol_record(p, in, s);
    if (err)
        snprintf(o->msg, sizeof o->msg, "%s: %s: %.200s", in->kind, patrol_strerror(err),
                 patrol_errmsg(p));
    return err;
}

static int gen_file(const char *path, uint64_t bytes, uint64_t seed, uint8_t *buf)
{
    xrng r;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    xseed(&r, seed);
    for (uint64_t done = 0; done < bytes;) {
        size_t n = bytes - done < GEN_CHUNK ? (size_t)(bytes - done) : GEN_CHUNK;
        xfill(&r, buf, n);
        if (write_all(fd, buf, n) != 0) {
            close(fd);
            return -1;
        }
        done += n;
    }
    if (fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    return close(fd);
}

static void child_prepare(const void *arg, void *res)
{
    static const char *const insp[] = {"INS-0001"};
    const prep_job *j = arg;
    prep_out *o = res;
    uint8_t *buf = malloc(GEN_CHUNK);
    char err[256], src[4200], matter[PATROL_ID_MAX];
    patrol *p = NULL;
    patrol_saved s;
    patrol_record_in in;
    patrol_enrolment en;
    patrol_location loc = {260822350, 1192963200, 8};
    const patrol_field fi[] = {{"cert_no", "ZJ35010200011", PATROL_CONF_NONE},
                               {"name", "王建国", PATROL_CONF_NONE}};
    const patrol_field fs[] = {{"credit_code", "91350100M000100Y43", PATROL_CONF_NONE},
                               {"name", "福州市鼓楼区示例餐饮管理有限公司", PATROL_CONF_NONE},
                               {"type", "business", PATROL_CONF_NONE}};
    patrol_field fm[] = {{"domain", "market_regulation", PATROL_CONF_NONE},
                         {"subject", NULL, PATROL_CONF_NONE},
                         {"summary", "经营场所未按规定明码标价，现场拍摄视频取证。", PATROL_CONF_NONE}};
    const patrol_field fc[] = {{"answer", "accept", PATROL_CONF_NONE},
                               {"told", "yes", PATROL_CONF_NONE}};
    uint64_t t;

    if (!buf) {
        o->rc = PATROL_ENOMEM;
        snprintf(o->msg, sizeof o->msg, "out of memory");
        return;
    }
    for (unsigned i = 0; i < j->files; i++) {
        snprintf(src, sizeof src, "%s/source-%u.mp4", j->dir, i + 1);
        if (gen_file(src, j->bytes_each, j->seed * 1000 + i, buf) != 0) {
            o->rc = PATROL_EIO;
            snprintf(o->msg, sizeof o->msg, "writing %.200s: %s", src, strerror(errno));
            free(buf);
            return;
        }
    }
    free(buf);
    if ((o->rc = patrol_init(j->store, BS_DEPARTMENT, "bench-handheld", &p, err, sizeof err))) {
        snprintf(o->msg, sizeof o->msg, "init: %.200s", err);
        return;
    }
    memset(&in, 0, sizeof in);
    in.kind = "inspector.add";
    in.target = insp[0];
    in.fields = fi;
    in.n_fields = 2;
    if ((o->rc = rec(p, &in, &s, o)))
        goto exit;
    memset(&in, 0, sizeof in);
    in.kind = "subject.add";
    in.fields = fs;
    in.n_fields = 3;
    if ((o->rc = rec(p, &in, &s, o)))
        goto exit;
    fm[1].value = s.id;
    memset(&in, 0, sizeof in);
    in.kind = "matter.open";
    in.inspectors = insp;
    in.n_inspectors = 1;
    in.fields = fm;
    in.n_fields = 3;
    if ((o->rc = rec(p, &in, &s, o)))
        goto exit;
    snprintf(matter, sizeof matter, "%s", s.id);
    memset(&in, 0, sizeof in);
    in.kind = "consent";
    in.target = matter;
    in.fields = fc;
    in.n_fields = 2;
    if ((o->rc = rec(p, &in, &s, o)))
        goto exit;
    t = bs_now_ns();
    for (unsigned i = 0; i < j->files; i++) {
        snprintf(src, sizeof src, "%s/source-%u.mp4", j->dir, i + 1);
        if ((o->rc = patrol_evidence_add(p, matter, "video", src, "video/mp4", "现场执法视频",
                                         &loc, &s))) {
            snprintf(o->msg, sizeof o->msg, "evidence add: %s: %.200s", patrol_strerror(o->rc),
                     patrol_errmsg(p));
            goto exit;
        }
        unlink(src);
    }
    o->import_s = (double)(bs_now_ns() - t) / 1e9;
    if ((o->rc = patrol_enroll(p, j->url, j->token, 0, &en)))
        snprintf(o->msg, sizeof o->msg, "enroll: %s: %.200s", patrol_strerror(o->rc),
                 patrol_errmsg(p));
exit:
    patrol_close(p);
}

/* Open and close only: what any use of the store costs in memory. */
static void child_open_only(const void *arg, void *res)
{
    const bs_sync_job *j = arg;
    prep_out *o = res;
    patrol *p = NULL;
    char err[256];
    if ((o->rc = patrol_open(j->store, &p, err, sizeof err)))
        snprintf(o->msg, sizeof o->msg, "open: %.200s", err);
    patrol_close(p);
}

/* ---- reference figures ---------------------------------------------------------- */

static double sha256_rate(void)
{
    const size_t chunk = 256 * 1024;
    uint8_t *buf = malloc(chunk), digest[32];
    mbedtls_sha256_context c;
    xrng r;
    uint64_t t0;
    double s;

    if (!buf)
        return -1;
    xseed(&r, 7);
    xfill(&r, buf, chunk);
    mbedtls_sha256_init(&c);
    t0 = bs_now_ns();
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256_starts(&c, 0);
    for (size_t i = 0; i < (size_t)HASH_MB * 1048576 / chunk; i++)
        mbedtls_sha256_update(&c, buf, chunk);
    mbedtls_sha256_finish(&c, digest);
#else
    mbedtls_sha256_starts_ret(&c, 0);
    for (size_t i = 0; i < (size_t)HASH_MB * 1048576 / chunk; i++)
        mbedtls_sha256_update_ret(&c, buf, chunk);
    mbedtls_sha256_finish_ret(&c, digest);
#endif
    s = (double)(bs_now_ns() - t0) / 1e9;
    mbedtls_sha256_free(&c);
    free(buf);
    return s > 0 ? HASH_MB / s : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median ms of appending 4 MiB to a file and fdatasync'ing it. */
static double patch_fsync_ms(const char *dir)
{
    char path[4200];
    uint8_t *buf = malloc(PATCH_BYTES);
    double t[FSYNC_PROBES];
    xrng r;
    int fd;

    snprintf(path, sizeof path, "%s/fsync-probe", dir);
    if (!buf || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        free(buf);
        return -1;
    }
    xseed(&r, 9);
    xfill(&r, buf, PATCH_BYTES);
    for (int i = 0; i < FSYNC_PROBES; i++) {
        uint64_t t0 = bs_now_ns();
        if (write_all(fd, buf, PATCH_BYTES) != 0 || fdatasync(fd) != 0) {
            close(fd);
            unlink(path);
            free(buf);
            return -1;
        }
        t[i] = (double)(bs_now_ns() - t0) / 1e6;
    }
    close(fd);
    unlink(path);
    free(buf);
    qsort(t, FSYNC_PROBES, sizeof t[0], cmp_double);
    return t[FSYNC_PROBES / 2];
}

/* ---- one upload ------------------------------------------------------------------- */

typedef struct shape {
    const char *name;
    unsigned files;
    uint64_t bytes_each;
    double mibps[BS_MAX_RUNS], sync_s[BS_MAX_RUNS], ev_s[BS_MAX_RUNS], rss[BS_MAX_RUNS],
        base_rss[BS_MAX_RUNS], srv_hwm[BS_MAX_RUNS], ccpu[BS_MAX_RUNS], scpu[BS_MAX_RUNS],
        import_s[BS_MAX_RUNS];
    uint64_t requests, http_in, conns, hs_full;
} shape;

static int upload_once(const char *patrold, const char *dir, shape *sh, unsigned long run,
                       int warm, unsigned timeout_s)
{
    char srvdir[4300], store[4300], evdir[4400], err[512];
    bs_server srv;
    prep_job pj;
    prep_out po, bo;
    bs_sync_job sj;
    bs_sync_out so;
    bs_metrics m0, m1, m2, d;
    struct rusage ru, bru;
    double cpu0, cpu1, mib, ev_s;
    uint64_t total = (uint64_t)sh->files * sh->bytes_each;
    int rc = -1;

    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "bench_upload: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    snprintf(srvdir, sizeof srvdir, "%s/srv", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(evdir, sizeof evdir, "%s/evidence", store);
    if (bs_server_start(patrold, srvdir, &srv, err, sizeof err) != 0) {
        fprintf(stderr, "bench_upload: %s\n", err);
        return -1;
    }
    pj.dir = dir;
    pj.store = store;
    pj.url = srv.url;
    pj.token = srv.token;
    pj.files = sh->files;
    pj.bytes_each = sh->bytes_each;
    pj.seed = run * 100 + sh->files;
    if (bs_in_child(child_prepare, &pj, &po, sizeof po, NULL) != 0 || po.rc) {
        fprintf(stderr, "bench_upload: preparing %s: %s\n", store,
                po.msg[0] ? po.msg : "child died");
        goto out;
    }
    sj.store = store;
    sj.timeout_s = timeout_s;
    if (bs_in_child(child_open_only, &sj, &bo, sizeof bo, &bru) != 0 || bo.rc) {
        fprintf(stderr, "bench_upload: %s\n", bo.msg);
        goto out;
    }
    if (!warm)
        bs_drop_cache_tree(evdir);
    if (bs_metrics_get(srv.port, &m0, err, sizeof err) != 0) {
        fprintf(stderr, "bench_upload: %s\n", err);
        goto out;
    }
    cpu0 = bs_proc_cpu_s(srv.pid);
    if (bs_in_child(bs_sync_child, &sj, &so, sizeof so, &ru) != 0 || so.rc) {
        fprintf(stderr, "bench_upload: %s\n", so.msg[0] ? so.msg : "sync child died");
        goto out;
    }
    cpu1 = bs_proc_cpu_s(srv.pid);
    if (bs_metrics_get(srv.port, &m1, err, sizeof err) != 0 ||
        bs_metrics_get(srv.port, &m2, err, sizeof err) != 0) {
        fprintf(stderr, "bench_upload: %s\n", err);
        goto out;
    }
    bs_metrics_delta(&m0, &m1, &m2, &d);
    if (so.r.evidence_uploaded != sh->files || so.after.pending_evidence_files != 0 ||
        d.evidence_complete != sh->files || d.evidence_bytes != total) {
        fprintf(stderr,
                "bench_upload: the upload did not do what it should: %llu of %u files "
                "confirmed, %llu pending, server completed %llu with %llu of %llu bytes\n",
                (unsigned long long)so.r.evidence_uploaded, sh->files,
                (unsigned long long)so.after.pending_evidence_files,
                (unsigned long long)d.evidence_complete, (unsigned long long)d.evidence_bytes,
                (unsigned long long)total);
        goto out;
    }
    mib = (double)total / 1048576.0;
    /* The evidence phase: from its start to the start of the reference
     * phase (or to the end of the sync). */
    ev_s = (double)((so.phase_ns[2] ? so.phase_ns[2] : so.ns) - so.phase_ns[1]) / 1e9;
    sh->mibps[run] = mib / ev_s;
    sh->sync_s[run] = (double)so.ns / 1e9;
    sh->ev_s[run] = ev_s;
    sh->rss[run] = (double)ru.ru_maxrss / 1024.0;
    sh->base_rss[run] = (double)bru.ru_maxrss / 1024.0;
    sh->srv_hwm[run] = (double)bs_proc_hwm_kib(srv.pid) / 1024.0;
    sh->ccpu[run] = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    sh->scpu[run] = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    sh->import_s[run] = po.import_s;
    sh->requests = d.requests;
    sh->http_in = d.bytes_in;
    sh->conns = d.connections;
    sh->hs_full = d.handshakes_full;
    printf("run %lu, %-5s %2u x %4llu MiB: evidence %.2f s = %.1f MiB/s (whole sync %.2f s); "
           "client peak RSS %.1f MiB (open+close only %.1f), server VmHWM %.1f MiB; CPU client "
           "%.2f s server %.2f s; %llu requests, HTTP in %.4f x the evidence\n",
           run + 1, sh->name, sh->files, (unsigned long long)(sh->bytes_each >> 20), ev_s,
           sh->mibps[run], sh->sync_s[run], sh->rss[run], sh->base_rss[run], sh->srv_hwm[run],
           sh->ccpu[run], sh->scpu[run], (unsigned long long)d.requests,
           (double)d.bytes_in / (double)total);
    fflush(stdout);
    rc = 0;
out:
    bs_server_stop(&srv);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_upload [--patrold PATH] [--mb N] [--files K] [--small-mb N]\n"
            "                    [--runs R] [--dir DIR] [--warm] [--keep] [--timeout S]\n"
            "  --mb N        evidence of the big upload, MiB (default %d)\n"
            "  --files K     the same bytes as K files (default %d)\n"
            "  --small-mb N  one smaller file to compare memory (default %d)\n"
            "  --runs R      runs of each, fresh server and store each (default %d)\n"
            "  --dir DIR     work under DIR (default $TMPDIR or /tmp)\n"
            "  --warm        keep the store's evidence in the page cache before syncing\n"
            "  --keep        leave the work directory in place\n"
            "  --timeout S   patrol_sync time limit (default %d)\n",
            DEFAULT_MB, DEFAULT_FILES, DEFAULT_SMALL_MB, DEFAULT_RUNS, DEFAULT_TIMEOUT_S);
}

int main(int argc, char **argv)
{
    unsigned long mb = DEFAULT_MB, files = DEFAULT_FILES, small = DEFAULT_SMALL_MB,
                  runs = DEFAULT_RUNS, timeout = DEFAULT_TIMEOUT_S;
    const char *parent = getenv("TMPDIR"), *explicit_path = NULL;
    char patrold[4096], base[4096], dir[4200];
    static shape sh[3];
    double sha, fs_ms;
    int keep = 0, warm = 0, ret = 1;

    if (!parent || !*parent)
        parent = "/tmp";
    for (int i = 1; i < argc; i++) {
        unsigned long *dst = NULL, max = 0;
        if (strcmp(argv[i], "--mb") == 0)
            dst = &mb, max = MAX_MB;
        else if (strcmp(argv[i], "--files") == 0)
            dst = &files, max = MAX_FILES;
        else if (strcmp(argv[i], "--small-mb") == 0)
            dst = &small, max = MAX_MB;
        else if (strcmp(argv[i], "--runs") == 0)
            dst = &runs, max = BS_MAX_RUNS;
        else if (strcmp(argv[i], "--timeout") == 0)
            dst = &timeout, max = 86400;
        if (dst) {
            if (i + 1 >= argc || bs_parse_count(argv[++i], max, dst)) {
                fprintf(stderr, "bench_upload: %s: expected 1..%lu\n", argv[i - 1], max);
                return 2;
            }
        } else if (strcmp(argv[i], "--patrold") == 0 && i + 1 < argc) {
            explicit_path = argv[++i];
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            parent = argv[++i];
        } else if (strcmp(argv[i], "--warm") == 0) {
            warm = 1;
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
    if (mb % files != 0) {
        fprintf(stderr, "bench_upload: --mb must be a multiple of --files\n");
        return 2;
    }
    if (bs_find_patrold(explicit_path, patrold, sizeof patrold) != 0) {
        fprintf(stderr, "bench_upload: no patrold found (give --patrold PATH or set PATROLD)\n");
        return 2;
    }
    if ((size_t)snprintf(base, sizeof base, "%s/patrol-bench-upload-XXXXXX", parent) >=
            sizeof base ||
        !mkdtemp(base)) {
        fprintf(stderr, "bench_upload: cannot create a directory under %s\n", parent);
        return 1;
    }
    sh[0] = (shape){.name = "big", .files = 1, .bytes_each = (uint64_t)mb << 20};
    sh[1] = (shape){.name = "split", .files = (unsigned)files,
                    .bytes_each = ((uint64_t)mb << 20) / files};
    sh[2] = (shape){.name = "small", .files = 1, .bytes_each = (uint64_t)small << 20};
    sha = sha256_rate();
    fs_ms = patch_fsync_ms(base);
    printf("upload: %lu MiB as 1 file and as %lu files, and %lu MiB as 1 file; %lu runs each; "
           "fresh patrold + store each; page cache %s before each sync (libpatrol %s, %s)\n"
           "work dir %s\n"
           "reference: SHA-256 (mbedtls, memory) %.0f MiB/s; append 4 MiB + fdatasync %.1f ms "
           "(median of %d)\n",
           mb, files, small, runs, warm ? "kept" : "dropped", patrol_version(), patrold, base,
           sha, fs_ms, FSYNC_PROBES);
    fflush(stdout);
    for (unsigned long r = 0; r < runs; r++) {
        for (int k = 0; k < 3; k++) {
            snprintf(dir, sizeof dir, "%s/%s-%lu", base, sh[k].name, r + 1);
            if (upload_once(patrold, dir, &sh[k], r, warm, (unsigned)timeout) != 0)
                goto exit;
            if (!keep)
                bs_rm_rf(dir);
        }
    }
    printf("\n");
    for (int k = 0; k < 3; k++) {
        shape *s = &sh[k];
        double mibs = (double)(s->files * s->bytes_each) / 1048576.0;
        printf("%-5s %2u x %4llu MiB (median of %lu): %.1f MiB/s (evidence phase %.2f s, "
               "whole sync %.2f s); client peak RSS %.1f MiB (baseline %.1f); server VmHWM "
               "%.1f MiB; CPU client %.2f s, server %.2f s; %llu requests on %llu "
               "connection(s)\n",
               s->name, s->files, (unsigned long long)(s->bytes_each >> 20), runs,
               bs_median(s->mibps, runs), bs_median(s->ev_s, runs), bs_median(s->sync_s, runs),
               bs_median(s->rss, runs), bs_median(s->base_rss, runs),
               bs_median(s->srv_hwm, runs), bs_median(s->ccpu, runs), bs_median(s->scpu, runs),
               (unsigned long long)s->requests, (unsigned long long)s->conns);
        (void)mibs;
    }
    printf("server SHA-256 of the whole evidence at completion, at the reference rate: %.2f s "
           "for %lu MiB\n",
           sha > 0 ? (double)mb / sha : -1, mb);
    printf("{\"bench\":\"upload\",\"runs\":%lu,\"mb\":%lu,\"files\":%lu,\"small_mb\":%lu,"
           "\"warm\":%d,\"big_mib_per_s\":%.1f,\"split_mib_per_s\":%.1f,"
           "\"small_mib_per_s\":%.1f,\"big_client_rss_mib\":%.1f,"
           "\"split_client_rss_mib\":%.1f,\"small_client_rss_mib\":%.1f,"
           "\"baseline_rss_mib\":%.1f,\"big_server_hwm_mib\":%.1f,"
           "\"small_server_hwm_mib\":%.1f,\"big_client_cpu_s\":%.2f,"
           "\"big_server_cpu_s\":%.2f,\"big_evidence_s\":%.3f,\"sha256_mib_per_s\":%.0f,"
           "\"fsync_4mib_ms\":%.2f}\n",
           runs, mb, files, small, warm, bs_median(sh[0].mibps, runs),
           bs_median(sh[1].mibps, runs), bs_median(sh[2].mibps, runs),
           bs_median(sh[0].rss, runs), bs_median(sh[1].rss, runs), bs_median(sh[2].rss, runs),
           bs_median(sh[0].base_rss, runs), bs_median(sh[0].srv_hwm, runs),
           bs_median(sh[2].srv_hwm, runs), bs_median(sh[0].ccpu, runs),
           bs_median(sh[0].scpu, runs), bs_median(sh[0].ev_s, runs), sha, fs_ms);
    ret = 0;
exit:
    if (!keep)
        bs_rm_rf(base);
    else
        fprintf(stderr, "bench_upload: work kept in %s\n", base);
    return ret;
}
