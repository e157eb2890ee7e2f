/* bench_util.h -- what every benchmark shares: clocks, checked counts on
 * the command line, medians and percentiles, the work directory (made with
 * mkdtemp, removed at the end), incompressible bytes (xoshiro256**) and the
 * files made of them, children whose peak RSS comes back through wait4,
 * the durable-append probe, and a store with an inspector, a subject and an
 * open, agreed matter. Benchmarks only.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <patrol/patrol.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

/* The benchmarks' terminal belongs to the county market regulation
 * bureau: in the built-in reference data (tests/data/reference-sample.json)
 * it holds market_regulation, the domain of every matter they open (a
 * terminal may open a matter only in a domain its department holds). */
#define BU_DEPARTMENT "SY-SCJGJ"
#define BU_MAX_RUNS 100 /* bu_median's limit */

/* ---- clocks -------------------------------------------------------------- */

uint64_t bu_clock_ns(clockid_t id);
uint64_t bu_now_ns(void); /* CLOCK_MONOTONIC */
/* User + system CPU seconds of a rusage. */
double bu_rusage_cpu_s(const struct rusage *ru);

/* ---- the command line -------------------------------------------------------- */

/* Checked decimal: 1..max, nothing else on the line. 0 or -1. */
int bu_parse_count(const char *s, unsigned long max, unsigned long *out);

/* One option: a count (min..max), a string, or a flag (set to 1). */
typedef struct bu_opt {
    const char *name;       /* "--entries" */
    unsigned long *count;   /* a count ... */
    unsigned long min, max;
    const char **str;       /* ... or a string ... */
    int *flag;              /* ... or a flag */
} bu_opt;

/* Parse argv against opts. -1: go on; otherwise the exit status (0 after
 * --help, which prints usage to stdout; 2 after a bad argument, with
 * "PROG: --NAME: expected MIN..MAX" or the usage on stderr). */
int bu_parse_args(const char *prog, int argc, char **argv, const bu_opt *opts, size_t n,
                  void (*usage)(FILE *));

/* ---- statistics ------------------------------------------------------------- */

double bu_median(const double *in, size_t n); /* n <= BU_MAX_RUNS, in unchanged */
void bu_sort_u64(uint64_t *v, size_t n);
void bu_sort_d(double *v, size_t n);
/* Nearest-rank percentile (p in 0..1) of sorted v[0..n), n >= 1. */
uint64_t bu_pct_u64(const uint64_t *v, size_t n, double p);
double bu_pct_d(const double *v, size_t n, double p);

/* ---- files ------------------------------------------------------------------- */

/* "$TMPDIR", or "/tmp" if it is unset or empty. */
const char *bu_tmp_parent(void);
/* mkdtemp PARENT/NAME-XXXXXX into base (leaving room for 64 more bytes).
 * 0, or the exit status (2: too long, 1: mkdtemp failed) after a line on
 * stderr starting with "PROG: ". */
int bu_make_workdir(const char *prog, const char *parent, const char *name, char *base,
                    size_t len);
/* Remove a tree the benchmark made (regular files and directories only). */
int bu_rm_rf(const char *path);
/* Ask the kernel to forget a file's (clean) pages. 0 if it said yes. */
int bu_drop_cache(const char *path);
/* The same for every regular file under dir. */
void bu_drop_cache_tree(const char *dir);
int bu_write_all(int fd, const void *buf, size_t n);

/* ---- incompressible bytes ------------------------------------------------------ */

typedef struct bu_rng {
    uint64_t s[4];
} bu_rng;

/* splitmix64: one step of *x. */
uint64_t bu_splitmix64(uint64_t *x);
void bu_rng_seed(bu_rng *r, uint64_t seed);
/* xoshiro256** output, 8 bytes at a time (the byte order fixed: the same
 * file everywhere); a tail of n % 8 bytes is left as it was. */
void bu_rng_fill(bu_rng *r, uint8_t *b, size_t n);

/* Write bytes of xoshiro256** output (seeded with seed) to path, through
 * buf (chunk bytes), fsync it and ask the kernel to drop it from the page
 * cache. 0; -1 if writing failed (errno set); 1 if only the drop was
 * refused (errno = posix_fadvise's answer). */
int bu_write_random_file(const char *path, uint64_t bytes, uint64_t seed, uint8_t *buf,
                         size_t chunk);

/* Append len bytes of block to DIR/fsync-probe and fdatasync it, probes
 * times; ms[0..probes) gets the times in ms, sorted. The file is removed.
 * 0 or -1. */
int bu_append_fsync_ms(const char *dir, const void *block, size_t len, size_t probes,
                       double *ms);

/* SHA-256 (mbedtls, the library libpatrol and patrold use) over 256 MiB
 * already in memory, 256 KiB at a time: MiB/s, or -1. */
double bu_sha256_mib_s(void);

/* ---- children ------------------------------------------------------------------ */

/* Run fn(arg, res) in a forked child; res (reslen bytes, zeroed first)
 * comes back through a pipe, the child's rusage through wait4 (ru may be
 * NULL), its wait status in *status (may be NULL; 0 if it never ran).
 * 0 if the child ran to the end (whatever fn put in res), -1 if not. */
typedef void (*bu_child_fn)(const void *arg, void *res);
int bu_in_child(bu_child_fn fn, const void *arg, void *res, size_t reslen, struct rusage *ru,
                int *status);

/* ---- the store ------------------------------------------------------------------ */

/* The date days after today in Beijing time (UTC+8), YYYY-MM-DD: a 告诫's
 * deadline may not be before the day it is recorded. */
void bu_beijing_date(int days, char out[11]);

/* patrol_record; on error "KIND: ERROR: MESSAGE" in msg. */
int bu_record(patrol *p, const patrol_record_in *in, patrol_saved *out, char *msg,
              size_t msglen);

/* The fields of the first entries of a store. */
typedef struct bu_setup {
    const patrol_field *inspector; /* inspector.add of INS-0001 */
    size_t n_inspector;
    const patrol_field *subject;   /* subject.add */
    size_t n_subject;
    const patrol_field *matter;    /* matter.open; a "subject" field with a NULL value
                                    * gets the subject's id (at most 8 fields) */
    size_t n_matter;
    const patrol_field *consent;   /* consent to the matter */
    size_t n_consent;
} bu_setup;

/* The first entries of the evidence benchmarks' stores (a matter filmed
 * on the spot): inspector[2] gets the inspector's fields, cert_no his
 * certificate number. */
void bu_video_setup(bu_setup *f, patrol_field inspector[2], const char *cert_no);

/* patrol_init dir (BU_DEPARTMENT, "bench-handheld"), then inspector.add,
 * subject.add, matter.open (by INS-0001), consent. 0 with the store open in
 * *out and the matter's id in matter; or the error (nothing left open) with
 * a sentence in msg. */
int bu_store_setup(const char *dir, const bu_setup *f, patrol **out, char *matter, size_t mlen,
                   char *msg, size_t msglen);

#endif
