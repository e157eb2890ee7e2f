/* bench_util.c -- see bench_util.h. */
#include "bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

/* wait4 is not POSIX; glibc and bionic declare it only with their own
 * feature macros. Its ABI is the same on every Linux libc. */
pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru);

/* ---- clocks -------------------------------------------------------------- */

uint64_t bu_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bu_now_ns(void)
{
    return bu_clock_ns(CLOCK_MONOTONIC);
}

double bu_rusage_cpu_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

/* ---- the command line -------------------------------------------------------- */

int bu_parse_count(const char *s, unsigned long max, unsigned long *out)
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

int bu_parse_args(const char *prog, int argc, char **argv, const bu_opt *opts, size_t n,
                  void (*usage)(FILE *))
{
    for (int i = 1; i < argc; i++) {
        const bu_opt *o = NULL;
        for (size_t k = 0; k < n && !o; k++)
            if (strcmp(argv[i], opts[k].name) == 0 && (opts[k].flag || i + 1 < argc))
                o = &opts[k];
        if (o && o->count) {
            unsigned long min = o->min ? o->min : 1;
            if (bu_parse_count(argv[++i], o->max, o->count) || *o->count < min) {
                fprintf(stderr, "%s: %s: expected %lu..%lu\n", prog, o->name, min, o->max);
                return 2;
            }
        } else if (o && o->str) {
            *o->str = argv[++i];
        } else if (o && o->flag) {
            *o->flag = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

/* ---- statistics ------------------------------------------------------------- */

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

void bu_sort_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
}

void bu_sort_d(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double bu_median(const double *in, size_t n)
{
    double v[BU_MAX_RUNS];
    if (n == 0 || n > BU_MAX_RUNS)
        return 0;
    memcpy(v, in, n * sizeof *v);
    bu_sort_d(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static size_t rank_of(size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return rank;
}

uint64_t bu_pct_u64(const uint64_t *v, size_t n, double p)
{
    return v[rank_of(n, p) - 1];
}

double bu_pct_d(const double *v, size_t n, double p)
{
    return v[rank_of(n, p) - 1];
}

/* ---- files ------------------------------------------------------------------- */

const char *bu_tmp_parent(void)
{
    const char *parent = getenv("TMPDIR");
    return parent && *parent ? parent : "/tmp";
}

int bu_make_workdir(const char *prog, const char *parent, const char *name, char *base,
                    size_t len)
{
    if ((size_t)snprintf(base, len, "%s/%s-XXXXXX", parent, name) >= len - 64) {
        fprintf(stderr, "%s: --dir too long\n", prog);
        return 2;
    }
    if (!mkdtemp(base)) {
        fprintf(stderr, "%s: cannot create a directory under %s: %s\n", prog, parent,
                strerror(errno));
        return 1;
    }
    return 0;
}

int bu_rm_rf(const char *path)
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
        if (bu_rm_rf(sub) != 0)
            rc = -1;
    }
    closedir(d);
    return rmdir(path) != 0 ? -1 : rc;
}

int bu_drop_cache(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
    if (fd < 0)
        return -1;
    rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    return rc;
}

void bu_drop_cache_tree(const char *dir)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    char sub[4096];

    if (lstat(dir, &st) != 0)
        return;
    if (S_ISREG(st.st_mode)) {
        (void)bu_drop_cache(dir);
        return;
    }
    if (!S_ISDIR(st.st_mode) || !(d = opendir(dir)))
        return;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name) < sizeof sub)
            bu_drop_cache_tree(sub);
    }
    closedir(d);
}

int bu_write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *b = buf;
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

/* ---- incompressible bytes ------------------------------------------------------ */

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t bu_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void bu_rng_seed(bu_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = bu_splitmix64(&seed);
}

void bu_rng_fill(bu_rng *r, uint8_t *b, size_t n)
{
    uint64_t *s = r->s;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = rotl(s[1] * 5, 7) * 9, t = s[1] << 17; /* xoshiro256** */
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

int bu_write_random_file(const char *path, uint64_t bytes, uint64_t seed, uint8_t *buf,
                         size_t chunk)
{
    bu_rng r;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), adv;
    if (fd < 0)
        return -1;
    bu_rng_seed(&r, seed);
    for (uint64_t done = 0; done < bytes;) {
        size_t n = bytes - done < chunk ? (size_t)(bytes - done) : chunk;
        bu_rng_fill(&r, buf, n);
        if (bu_write_all(fd, buf, n) != 0)
            goto fail;
        done += n;
    }
    if (fsync(fd) != 0)
        goto fail;
    adv = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (close(fd) != 0)
        return -1;
    if (adv) {
        errno = adv;
        return 1;
    }
    return 0;
fail: {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
}

int bu_append_fsync_ms(const char *dir, const void *block, size_t len, size_t probes,
                       double *ms)
{
    char path[4200];
    int fd;

    if ((size_t)snprintf(path, sizeof path, "%s/fsync-probe", dir) >= sizeof path)
        return -1;
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return -1;
    for (size_t i = 0; i < probes; i++) {
        uint64_t t0 = bu_now_ns();
        if (bu_write_all(fd, block, len) != 0 || fdatasync(fd) != 0) {
            close(fd);
            unlink(path);
            return -1;
        }
        ms[i] = (double)(bu_now_ns() - t0) / 1e6;
    }
    close(fd);
    unlink(path);
    bu_sort_d(ms, probes);
    return 0;
}

double bu_sha256_mib_s(void)
{
    enum { CHUNK = 256 * 1024, HASH_MB = 256 };
    uint8_t *buf = malloc(CHUNK), digest[32];
    mbedtls_sha256_context c;
    bu_rng r;
    uint64_t t0;
    double s;

    if (!buf)
        return -1;
    bu_rng_seed(&r, 7);
    bu_rng_fill(&r, buf, CHUNK);
    mbedtls_sha256_init(&c);
    t0 = bu_now_ns();
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256_starts(&c, 0);
    for (size_t i = 0; i < (size_t)HASH_MB * 1048576 / CHUNK; i++)
        mbedtls_sha256_update(&c, buf, CHUNK);
    mbedtls_sha256_finish(&c, digest);
#else
    mbedtls_sha256_starts_ret(&c, 0);
    for (size_t i = 0; i < (size_t)HASH_MB * 1048576 / CHUNK; i++)
        mbedtls_sha256_update_ret(&c, buf, CHUNK);
    mbedtls_sha256_finish_ret(&c, digest);
#endif
    s = (double)(bu_now_ns() - t0) / 1e9;
    mbedtls_sha256_free(&c);
    free(buf);
    return s > 0 ? HASH_MB / s : -1;
}

/* ---- children ------------------------------------------------------------------ */

int bu_in_child(bu_child_fn fn, const void *arg, void *res, size_t reslen, struct rusage *ru,
                int *status)
{
    int fds[2], st = 0;
    struct rusage tmp;
    size_t got = 0;
    pid_t pid;

    if (status)
        *status = 0;
    memset(res, 0, reslen);
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    if ((pid = fork()) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        fn(arg, res);
        if (bu_write_all(fds[1], res, reslen) != 0)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    while (got < reslen) {
        ssize_t n = read(fds[0], (uint8_t *)res + got, reslen - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    while (wait4(pid, &st, 0, ru ? ru : &tmp) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (status)
        *status = st;
    return got == reslen && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ---- the store ------------------------------------------------------------------ */

void bu_beijing_date(int days, char out[11])
{
    time_t t = time(NULL) + 8 * 3600 + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, 11, "%Y-%m-%d", &tm) == 0)
        out[0] = '\0';
}

int bu_record(patrol *p, const patrol_record_in *in, patrol_saved *out, char *msg,
              size_t msglen)
{
    int err = patrol_record(p, in, out);
    if (err)
        snprintf(msg, msglen, "%s: %s: %.200s", in->kind, patrol_strerror(err),
                 patrol_errmsg(p));
    return err;
}

void bu_video_setup(bu_setup *f, patrol_field inspector[2], const char *cert_no)
{
    static const patrol_field subject[] = {
        {"credit_code", "91350100M000100Y43", PATROL_CONF_NONE},
        {"name", "福州市鼓楼区示例餐饮管理有限公司", PATROL_CONF_NONE},
        {"type", "business", PATROL_CONF_NONE}};
    static const patrol_field matter[] = {
        {"domain", "market_regulation", PATROL_CONF_NONE},
        {"subject", NULL, PATROL_CONF_NONE},
        {"summary", "经营场所未按规定明码标价，现场拍摄视频取证。", PATROL_CONF_NONE}};
    static const patrol_field consent[] = {{"answer", "accept", PATROL_CONF_NONE},
                                           {"told", "yes", PATROL_CONF_NONE}};

    inspector[0] = (patrol_field){"cert_no", cert_no, PATROL_CONF_NONE};
    inspector[1] = (patrol_field){"name", "王建国", PATROL_CONF_NONE};
    *f = (bu_setup){inspector, 2, subject, 3, matter, 3, consent, 2};
}

int bu_store_setup(const char *dir, const bu_setup *f, patrol **out, char *matter, size_t mlen,
                   char *msg, size_t msglen)
{
    static const char *const insp[] = {"INS-0001"};
    char err[256];
    patrol *p = NULL;
    patrol_saved s;
    patrol_record_in in;
    patrol_field fm[8];
    size_t nm = f->n_matter < 8 ? f->n_matter : 8;
    int rc;

    *out = NULL;
    if ((rc = patrol_init(dir, BU_DEPARTMENT, "bench-handheld", &p, err, sizeof err))) {
        snprintf(msg, msglen, "init %.200s: %s: %.200s", dir, patrol_strerror(rc), err);
        return rc;
    }
    memset(&in, 0, sizeof in);
    in.kind = "inspector.add";
    in.target = insp[0];
    in.fields = f->inspector;
    in.n_fields = f->n_inspector;
    if ((rc = bu_record(p, &in, &s, msg, msglen)))
        goto fail;
    memset(&in, 0, sizeof in);
    in.kind = "subject.add";
    in.fields = f->subject;
    in.n_fields = f->n_subject;
    if ((rc = bu_record(p, &in, &s, msg, msglen)))
        goto fail;
    memcpy(fm, f->matter, nm * sizeof fm[0]);
    for (size_t i = 0; i < nm; i++)
        if (!fm[i].value && strcmp(fm[i].name, "subject") == 0)
            fm[i].value = s.id;
    memset(&in, 0, sizeof in);
    in.kind = "matter.open";
    in.inspectors = insp;
    in.n_inspectors = 1;
    in.fields = fm;
    in.n_fields = nm;
    if ((rc = bu_record(p, &in, &s, msg, msglen)))
        goto fail;
    snprintf(matter, mlen, "%s", s.id);
    memset(&in, 0, sizeof in);
    in.kind = "consent";
    in.target = matter;
    in.fields = f->consent;
    in.n_fields = f->n_consent;
    if ((rc = bu_record(p, &in, &s, msg, msglen)))
        goto fail;
    *out = p;
    return 0;
fail:
    patrol_close(p);
    return rc;
}
