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


#define DEFAULT_MB 200
#define DEFAULT_FILES 10
#define DEFAULT_SMALL_MB 20
#define DEFAULT_RUNS 3
#define DEFAULT_TIMEOUT_S 900
#define MAX_MB 16384
#define MAX_FILES 100
#define GEN_CHUNK (1u << 20)
#define FSYNC_PROBES 20
#define PATCH_BYTES (4u << 20)

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

static void child_prepare(const void *arg, void *res)
{
    const prep_job *j = arg;
    prep_out *o = res;
    uint8_t *buf = malloc(GEN_CHUNK);
    char src[4200], matter[PATROL_ID_MAX];
    patrol *p = NULL;
    patrol_saved s;
    patrol_enrolment en;
    patrol_location loc = {260822350, 1192963200, 8};
    patrol_field insp[2];
    bu_setup setup_fields;
    uint64_t t;

    bu_video_setup(&setup_fields, insp, "ZJ35010200011");
    if (!buf) {
        o->rc = PATROL_ENOMEM;
        snprintf(o->msg, sizeof o->msg, "out of memory");
        return;
    }
    for (unsigned i = 0; i < j->files; i++) {
        snprintf(src, sizeof src, "%s/source-%u.mp4", j->dir, i + 1);
        if (bu_write_random_file(src, j->bytes_each, j->seed * 1000 + i, buf, GEN_CHUNK) < 0) {
            o->rc = PATROL_EIO;
            snprintf(o->msg, sizeof o->msg, "writing %.200s: %s", src, strerror(errno));
            free(buf);
            return;
        }
    }
    free(buf);
    if ((o->rc = bu_store_setup(j->store, &setup_fields, &p, matter, sizeof matter, o->msg,
                                sizeof o->msg)))
        return;
    t = bu_now_ns();
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
    o->import_s = (double)(bu_now_ns() - t) / 1e9;
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

/* Median ms of appending 4 MiB to a file and fdatasync'ing it. */
static double patch_fsync_ms(const char *dir)
{
    uint8_t *buf = malloc(PATCH_BYTES);
    double t[FSYNC_PROBES];
    bu_rng r;
    int rc;

    if (!buf)
        return -1;
    bu_rng_seed(&r, 9);
    bu_rng_fill(&r, buf, PATCH_BYTES);
    rc = bu_append_fsync_ms(dir, buf, PATCH_BYTES, FSYNC_PROBES, t);
    free(buf);
    return rc == 0 ? t[FSYNC_PROBES / 2] : -1;
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
    if (bu_in_child(child_prepare, &pj, &po, sizeof po, NULL, NULL) != 0 || po.rc) {
        fprintf(stderr, "bench_upload: preparing %s: %s\n", store,
                po.msg[0] ? po.msg : "child died");
        goto out;
    }
    sj.store = store;
    sj.timeout_s = timeout_s;
    if (bu_in_child(child_open_only, &sj, &bo, sizeof bo, &bru, NULL) != 0 || bo.rc) {
        fprintf(stderr, "bench_upload: %s\n", bo.msg);
        goto out;
    }
    if (!warm)
        bu_drop_cache_tree(evdir);
    if (bs_metrics_get(srv.port, &m0, err, sizeof err) != 0) {
        fprintf(stderr, "bench_upload: %s\n", err);
        goto out;
    }
    cpu0 = bs_proc_cpu_s(srv.pid);
    if (bu_in_child(bs_sync_child, &sj, &so, sizeof so, &ru, NULL) != 0 || so.rc) {
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
    sh->ccpu[run] = bu_rusage_cpu_s(&ru);
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
    const char *parent = bu_tmp_parent(), *explicit_path = NULL;
    char patrold[4096], base[4096], dir[4200];
    static shape sh[3];
    double sha, fs_ms;
    int keep = 0, warm = 0, ret = 1, rc;
    const bu_opt opts[] = {{"--mb", &mb, 1, MAX_MB, NULL, NULL},
                           {"--files", &files, 1, MAX_FILES, NULL, NULL},
                           {"--small-mb", &small, 1, MAX_MB, NULL, NULL},
                           {"--runs", &runs, 1, BS_MAX_RUNS, NULL, NULL},
                           {"--timeout", &timeout, 1, 86400, NULL, NULL},
                           {"--patrold", NULL, 0, 0, &explicit_path, NULL},
                           {"--dir", NULL, 0, 0, &parent, NULL},
                           {"--warm", NULL, 0, 0, NULL, &warm},
                           {"--keep", NULL, 0, 0, NULL, &keep}};

    if ((rc = bu_parse_args("bench_upload", argc, argv, opts, sizeof opts / sizeof opts[0],
                            usage)) >= 0)
        return rc;
    if (mb % files != 0) {
        fprintf(stderr, "bench_upload: --mb must be a multiple of --files\n");
        return 2;
    }
    if (bs_find_patrold(explicit_path, patrold, sizeof patrold) != 0) {
        fprintf(stderr, "bench_upload: no patrold found (give --patrold PATH or set PATROLD)\n");
        return 2;
    }
    if ((rc = bu_make_workdir("bench_upload", parent, "patrol-bench-upload", base, sizeof base)))
        return rc;
    sh[0] = (shape){.name = "big", .files = 1, .bytes_each = (uint64_t)mb << 20};
    sh[1] = (shape){.name = "split", .files = (unsigned)files,
                    .bytes_each = ((uint64_t)mb << 20) / files};
    sh[2] = (shape){.name = "small", .files = 1, .bytes_each = (uint64_t)small << 20};
    sha = bu_sha256_mib_s();
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
                bu_rm_rf(dir);
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
               bu_median(s->mibps, runs), bu_median(s->ev_s, runs), bu_median(s->sync_s, runs),
               bu_median(s->rss, runs), bu_median(s->base_rss, runs),
               bu_median(s->srv_hwm, runs), bu_median(s->ccpu, runs), bu_median(s->scpu, runs),
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
           runs, mb, files, small, warm, bu_median(sh[0].mibps, runs),
           bu_median(sh[1].mibps, runs), bu_median(sh[2].mibps, runs),
           bu_median(sh[0].rss, runs), bu_median(sh[1].rss, runs), bu_median(sh[2].rss, runs),
           bu_median(sh[0].base_rss, runs), bu_median(sh[0].srv_hwm, runs),
           bu_median(sh[2].srv_hwm, runs), bu_median(sh[0].ccpu, runs),
           bu_median(sh[0].scpu, runs), bu_median(sh[0].ev_s, runs), sha, fs_ms);
    ret = 0;
exit:
    if (!keep)
        bu_rm_rf(base);
    else
        fprintf(stderr, "bench_upload: work kept in %s\n", base);
    return ret;
}
