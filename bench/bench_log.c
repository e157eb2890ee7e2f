/* bench_log.c -- the server log's own cost at ingest (docs/log.md,
 * docs/bench.md "Server log"): what server/app.c adds to a batch's write
 * transaction, through the storage interface on a fresh patrold database
 * (SQLite, WAL, synchronous=FULL): one leaf per entry with the subtrees it
 * completes, then a signed checkpoint (after the consistency proof from the
 * previous one) and the inclusion proof of the batch's last entry.
 *
 *   bench_log [--entries N] [--batch B] [--runs R] [--dir DIR]
 *
 * Each run times N entries in batches of B twice, interleaved: "off" (the
 * transaction alone: begin, one meta_set, commit) and "on" (the same plus
 * the log). Prints one line per run and mode, then medians.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slog.h"
#include "storage.h"
#include "validate.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One mode over a fresh database; seconds, or a negative value on error. */
static double run(const char *dir, int on, uint64_t entries, uint64_t batch, px_key *key,
                  uint64_t *proof_len)
{
    char path[512], err[256], note[TLOG_NOTE_MAX], leaf[SLOG_LEAF_MAX];
    uint8_t dev[32], hash[32], root[32], proof[TLOG_MAX_PROOF][32];
    uint64_t size, idx = 0;
    size_t plen = 0;
    st_backend *db;
    double t0;

    snprintf(path, sizeof path, "%s/bench-log-%d.db", dir, on);
    unlink(path);
    if (!(db = st_sqlite_open(path, ST_OPEN_CREATE, err, sizeof err))) {
        fprintf(stderr, "bench_log: %s\n", err);
        return -1;
    }
    memset(dev, 0x5a, sizeof dev);
    t0 = now_s();
    for (uint64_t seq = 1; seq <= entries;) {
        if (db->ops->begin(db) != ST_OK || db->ops->meta_set(db, "bench", "x") != ST_OK)
            goto fail;
        for (uint64_t i = 0; i < batch && seq <= entries; i++, seq++) {
            if (!on)
                continue;
            px_sha256(&seq, sizeof seq, hash);
            int n = slog_entry_leaf(dev, seq, hash, leaf);
            if (slog_append(db, leaf, (size_t)n, 0, &idx) != ST_OK)
                goto fail;
        }
        if (on && (slog_checkpoint(db, key, NULL, "patrold/bench", 0, note, &size, root, err,
                                   sizeof err) != ST_OK ||
                   tlog_inclusion(slog_node, db, idx, size, proof, &plen) != 0))
            goto fail;
        if (db->ops->commit(db) != ST_OK)
            goto fail;
    }
    t0 = now_s() - t0;
    *proof_len = plen;
    db->ops->close(db);
    unlink(path);
    return t0;
fail:
    fprintf(stderr, "bench_log: %s %s\n", db->ops->errmsg(db), err);
    db->ops->close(db);
    return -1;
}

int main(int argc, char **argv)
{
    uint64_t entries = 5000, batch = 500, runs = 3, plen = 0;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", *why;
    double on[64], off[64];
    px_key *key = NULL;

    for (int i = 1; i + 1 < argc; i += 2) {
        uint64_t *v = strcmp(argv[i], "--entries") == 0 ? &entries
                      : strcmp(argv[i], "--batch") == 0 ? &batch
                      : strcmp(argv[i], "--runs") == 0  ? &runs
                                                        : NULL;
        if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (!v || px_parse_u64(argv[i + 1], 1, 100000000, v) != NULL) {
            fprintf(stderr, "usage: bench_log [--entries N] [--batch B] [--runs R] [--dir DIR]\n");
            return 2;
        }
    }
    if (runs > 64)
        runs = 64;
    if (px_key_generate(&key, &why) != 0) {
        fprintf(stderr, "bench_log: %s\n", why);
        return 1;
    }
    for (uint64_t r = 0; r < runs; r++) {
        if ((off[r] = run(dir, 0, entries, batch, key, &plen)) < 0 ||
            (on[r] = run(dir, 1, entries, batch, key, &plen)) < 0)
            return 1;
        printf("run %llu: off %.3f s, on %.3f s: the log %.1f us per entry, %.2f ms per %llu-entry"
               " batch (last proof %llu hashes)\n",
               (unsigned long long)r + 1, off[r], on[r], (on[r] - off[r]) * 1e6 / (double)entries,
               (on[r] - off[r]) * 1e3 * (double)batch / (double)entries,
               (unsigned long long)batch, (unsigned long long)plen);
    }
    qsort(on, runs, sizeof on[0], cmp);
    qsort(off, runs, sizeof off[0], cmp);
    printf("{\"bench\":\"log\",\"entries\":%llu,\"batch\":%llu,\"runs\":%llu,\"off_s\":%.3f,"
           "\"on_s\":%.3f,\"log_us_per_entry\":%.1f}\n",
           (unsigned long long)entries, (unsigned long long)batch, (unsigned long long)runs,
           off[runs / 2], on[runs / 2], (on[runs / 2] - off[runs / 2]) * 1e6 / (double)entries);
    px_key_free(key);
    return 0;
}
