/* pouch_records.c -- the store that bench/pouch/run.sh syncs, made once.
 *
 * It records exactly what bench_sync records (the same builder: this file
 * includes bench_sync.c, whose main() it renames and does not call), so
 * the side-by-side comparison with PouchDB runs on bench_sync's patrol:
 * matters of subject.add, matter.open, consent, 8-24 actions with Chinese
 * texts, matter.close; the same seed, so the same records every time.
 *
 *   pouch_records --patrold PATH --dir DIR [--entries N] [--text clauses|random]
 *
 * In DIR (created, must not exist): DIR/srv, a patrold data directory with
 * the terminal's device enrolled, and DIR/store, the terminal's store with
 * N entries, enrolled and not synced. patrold is stopped at the end; it
 * listened on 127.0.0.1:PORT, the URL the store keeps, so whoever syncs a
 * copy must serve that port (run.sh puts its byte-counting relay there).
 * DIR/sigs.json holds each entry's signature ([[seq, "hex of r||s"], ...]),
 * which `patrol log --json` does not print, for the PouchDB documents.
 * Prints one JSON line: {"entries":N,"port":PORT,"signed_bytes":...,...}.
 */
#define main bench_sync_main
#include "../bench_sync.c"
#undef main

/* DIR/sigs.json from the journal (the store is closed). 0 or -1. */
static int write_sigs(const char *dir, const char *store)
{
    char path[4300];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    FILE *out = NULL;
    int rc = -1, step, first = 1;

    if ((size_t)snprintf(path, sizeof path, "%s/patrol.db", store) >= sizeof path) {
        fprintf(stderr, "pouch_records: directory name too long\n");
        goto exit;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT seq, sig FROM journal ORDER BY seq", -1, &st, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "pouch_records: reading %s: %s\n", path, db ? sqlite3_errmsg(db) : "");
        goto exit;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/sigs.json", dir) >= sizeof path) {
        fprintf(stderr, "pouch_records: directory name too long\n");
        goto exit;
    }
    if (!(out = fopen(path, "w"))) {
        fprintf(stderr, "pouch_records: %s: %s\n", path, strerror(errno));
        goto exit;
    }
    fputc('[', out);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *sig = sqlite3_column_blob(st, 1);
        int n = sqlite3_column_bytes(st, 1);
        fprintf(out, "%s[%lld,\"", first ? "" : ",", (long long)sqlite3_column_int64(st, 0));
        for (int i = 0; i < n; i++)
            fprintf(out, "%02x", sig[i]);
        fputs("\"]", out);
        first = 0;
    }
    fputs("]\n", out);
    if (step != SQLITE_DONE || ferror(out)) {
        fprintf(stderr, "pouch_records: reading the journal's signatures failed\n");
        goto exit;
    }
    rc = 0;
exit:
    if (out && fclose(out) != 0)
        rc = -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static void pr_usage(FILE *out)
{
    fprintf(out, "usage: pouch_records --patrold PATH --dir DIR [--entries N] "
                 "[--text clauses|random]\n");
}

int main(int argc, char **argv)
{
    unsigned long entries = 3000;
    const char *patrold = NULL, *dir = NULL, *text = "clauses";
    char srvdir[4300], store[4300], err[512];
    bs_server srv;
    rec_job rj;
    rec_out ro;
    int rc;
    const bu_opt opts[] = {{"--entries", &entries, 10, MAX_ENTRIES, NULL, NULL},
                           {"--patrold", NULL, 0, 0, &patrold, NULL},
                           {"--dir", NULL, 0, 0, &dir, NULL},
                           {"--text", NULL, 0, 0, &text, NULL}};

    if ((rc = bu_parse_args("pouch_records", argc, argv, opts, sizeof opts / sizeof opts[0],
                            pr_usage)) >= 0)
        return rc;
    if (!patrold || !dir) {
        pr_usage(stderr);
        return 2;
    }
    if (strcmp(text, "random") == 0)
        random_text = 1;
    else if (strcmp(text, "clauses") != 0) {
        fprintf(stderr, "pouch_records: --text: clauses or random\n");
        return 2;
    }
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "pouch_records: mkdir %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(srvdir, sizeof srvdir, "%s/srv", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    if (bs_server_start(patrold, srvdir, &srv, err, sizeof err) != 0) {
        fprintf(stderr, "pouch_records: %s\n", err);
        return 1;
    }
    rj.store = store;
    rj.url = srv.url;
    rj.token = srv.token;
    rj.entries = entries;
    memset(&ro, 0, sizeof ro);
    rc = bu_in_child(child_record, &rj, &ro, sizeof ro, NULL, NULL);
    bs_server_stop(&srv);
    if (rc != 0 || ro.rc) {
        fprintf(stderr, "pouch_records: recording: %s\n", ro.msg[0] ? ro.msg : "child died");
        return 1;
    }
    if (write_sigs(dir, store) != 0)
        return 1;
    printf("{\"entries\":%llu,\"port\":%u,\"signed_bytes\":%llu,\"guidance\":%llu,"
           "\"warning\":%llu,\"leaflet\":%llu,\"other\":%llu,\"min_entry\":%llu,"
           "\"max_entry\":%llu,\"record_entries_per_s\":%.1f}\n",
           (unsigned long long)ro.head_seq, srv.port, (unsigned long long)ro.signed_bytes,
           (unsigned long long)ro.kinds[0], (unsigned long long)ro.kinds[1],
           (unsigned long long)ro.kinds[2],
           (unsigned long long)(ro.head_seq - ro.kinds[0] - ro.kinds[1] - ro.kinds[2]),
           (unsigned long long)ro.min_entry, (unsigned long long)ro.max_entry,
           (double)ro.head_seq / ((double)ro.record_ns / 1e9));
    return 0;
}
