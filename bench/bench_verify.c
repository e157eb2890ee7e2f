/* bench_verify.c -- signature verification alone (docs/bench.md
 * "Signature verification at ingest"): the same N signatures made by the
 * terminal's px_sign (mbedtls, RFC 6979), verified
 *   - by px_verify (mbedtls 2.28: what patrold used, and the terminal uses
 *     for receipts),
 *   - by px_verifier_check on one thread (OpenSSL libcrypto, a context per
 *     call),
 *   - by px_verifier_check_many on 1 thread and on every core (what patrold's
 *     batch handler calls, a context per thread),
 * in interleaved rounds; the rate is signatures per second of wall time,
 * median with min-max over the rounds. Every result is checked (all must
 * verify), so a broken verifier cannot look fast.
 *
 *   bench_verify [--sigs N] [--rounds R]     (defaults 2000, 5)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "crypto_verify.h"

#define MAX_ROUNDS 50

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_s(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *r, int n)
{
    qsort(r, (size_t)n, sizeof *r, cmp_d);
    return n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
}

/* r: signatures per second of wall time; c: CPU microseconds (all threads)
 * per signature, which the machine's other load disturbs less. */
static void report(const char *name, double *r, double *c, int n)
{
    double m = median(r, n), mc = median(c, n);
    printf("%-32s %8.0f /s (min %.0f, max %.0f); CPU %.1f us each (min %.1f, max %.1f)\n",
           name, m, r[0], r[n - 1], mc, c[0], c[n - 1]);
}

int main(int argc, char **argv)
{
    size_t n = 2000;
    int rounds = 5;
    uint8_t pub[PX_PUBKEY_MAX];
    size_t publen;
    px_key *k = NULL, *kpub = NULL;
    px_verifier *v = NULL;
    const char *why = "";
    double r_mb[MAX_ROUNDS], r_one[MAX_ROUNDS], r_m1[MAX_ROUNDS], r_all[MAX_ROUNDS];
    double c_mb[MAX_ROUNDS], c_one[MAX_ROUNDS], c_m1[MAX_ROUNDS], c_all[MAX_ROUNDS];
    unsigned threads = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sigs") == 0 && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (int)strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--sigs N] [--rounds R]\n", argv[0]);
            return 2;
        }
    }
    if (n < 1 || n > 1000000 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_verify: --sigs 1..1000000, --rounds 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    uint8_t(*hash)[PX_HASH_LEN] = malloc(n * sizeof *hash);
    uint8_t(*sig)[PX_SIG_LEN] = malloc(n * sizeof *sig);
    const uint8_t **sp = malloc(n * sizeof *sp);
    uint8_t *ok = malloc(n);
    if (!hash || !sig || !sp || !ok || px_key_generate(&k, &why) != 0 ||
        px_key_public_der(k, pub, sizeof pub, &publen) != 0 ||
        px_key_from_public_der(pub, publen, &kpub, &why) != 0 ||
        px_verifier_new(pub, publen, &v, &why) != 0) {
        fprintf(stderr, "bench_verify: setup failed: %s\n", why);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        px_sha256(&i, sizeof i, hash[i]);
        if (px_sign(k, hash[i], sig[i]) != 0) {
            fprintf(stderr, "bench_verify: px_sign failed\n");
            return 1;
        }
        sp[i] = sig[i];
    }
    printf("verify: %zu P-256 signatures x %d rounds, %ld cores online\n", n, rounds,
           sysconf(_SC_NPROCESSORS_ONLN));
    for (int r = 0; r < rounds; r++) {
        double t, c;
        t = now_s(), c = cpu_s();
        for (size_t i = 0; i < n; i++)
            if (px_verify(kpub, hash[i], sig[i]) != 0)
                return fprintf(stderr, "mbedtls refused signature %zu\n", i), 1;
        r_mb[r] = (double)n / (now_s() - t), c_mb[r] = (cpu_s() - c) * 1e6 / (double)n;
        t = now_s(), c = cpu_s();
        for (size_t i = 0; i < n; i++)
            if (px_verifier_check(v, hash[i], sig[i]) != 0)
                return fprintf(stderr, "OpenSSL refused signature %zu\n", i), 1;
        r_one[r] = (double)n / (now_s() - t), c_one[r] = (cpu_s() - c) * 1e6 / (double)n;
        memset(ok, 0, n);
        t = now_s(), c = cpu_s();
        px_verifier_check_many(v, n, (const uint8_t(*)[PX_HASH_LEN])hash, sp, ok, 1);
        r_m1[r] = (double)n / (now_s() - t), c_m1[r] = (cpu_s() - c) * 1e6 / (double)n;
        for (size_t i = 0; i < n; i++)
            if (!ok[i])
                return fprintf(stderr, "check_many(1) refused signature %zu\n", i), 1;
        memset(ok, 0, n);
        t = now_s(), c = cpu_s();
        threads = px_verifier_check_many(v, n, (const uint8_t(*)[PX_HASH_LEN])hash, sp, ok, 0);
        r_all[r] = (double)n / (now_s() - t), c_all[r] = (cpu_s() - c) * 1e6 / (double)n;
        for (size_t i = 0; i < n; i++)
            if (!ok[i])
                return fprintf(stderr, "check_many(all) refused signature %zu\n", i), 1;
    }
    report("mbedtls px_verify, 1 thread", r_mb, c_mb, rounds);
    report("OpenSSL px_verifier_check", r_one, c_one, rounds);
    report("OpenSSL check_many, 1 thread", r_m1, c_m1, rounds);
    printf("(check_many on every core: %u threads)\n", threads);
    report("OpenSSL check_many, every core", r_all, c_all, rounds);
    px_key_free(k);
    px_key_free(kpub);
    px_verifier_free(v);
    free(hash);
    free(sig);
    free(sp);
    free(ok);
    return 0;
}
