/* cmd_sync.c -- the commands that talk to the collection server or report
 * on it: enroll, sync (with its progress bar), status. Their exit statuses
 * add 4 (server unreachable) and 5 (an entry rejected). Prefix cmd_. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past a
 * separate value. 1 if it matched (value in *val), 0 if not, -1 if the
 * value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
        return 0;
    if (a[2 + n] == '=') {
        *val = a + 3 + n;
        return 1;
    }
    if (a[2 + n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* Help of the sync commands (their exit statuses differ from recording's). */
static int sync_help(const char *usage_line, const char *what)
{
    printf("%s patrol [--store DIR] %s\n\n%s\n\n%s\n", _("usage:"), usage_line, _(what),
           _("The store is --store DIR or $PATROL_STORE."));
    return 0;
}

static int sync_failed(patrol *p, int err)
{
    cli_failed(p, err);
    return err == PATROL_ENET ? EXIT_OFFLINE : err == PATROL_EREJECTED ? EXIT_REJECTED : EXIT_REFUSED;
}

/* What a new device's QR code on the console (监督平台, 终端) decodes to:
 * "PTE1 URL TOKEN" (one space each; a trailing line end is dropped). The
 * URL and the token are cut out of qr, which is modified. 0, or -1. */
static int parse_qr(char *qr, const char **server, const char **token)
{
    char *url, *tok, *end;
    size_t n = strlen(qr);
    while (n > 0 && (qr[n - 1] == '\n' || qr[n - 1] == '\r'))
        qr[--n] = '\0';
    if (strncmp(qr, "PTE1 ", 5) != 0)
        return -1;
    url = qr + 5;
    if (!(end = strchr(url, ' ')))
        return -1;
    *end = '\0';
    tok = end + 1;
    if (strncmp(url, "https://", 8) != 0 || strncmp(tok, "PT1.", 4) != 0 || strchr(tok, ' '))
        return -1;
    *server = url;
    *token = tok;
    return 0;
}

int cmd_enroll(int argc, char **argv)
{
    opts o;
    const char *server = NULL, *token = NULL, *qr = NULL;
    char line[512], qrbuf[1024];
    int force = 0, rc, err;
    patrol_enrolment e;
    patrol *p;

    memset(&o, 0, sizeof o);
    for (int i = 0; i < argc; i++) {
        int m;
        if ((m = opt_value(argc, argv, &i, "server", &server)) ||
            (m = opt_value(argc, argv, &i, "token", &token)) ||
            (m = opt_value(argc, argv, &i, "qr", &qr)) ||
            (m = opt_value(argc, argv, &i, "store", &o.store))) {
            if (m < 0)
                return cli_usage_error(_("option %s needs a value"), argv[i]);
        } else if (strcmp(argv[i], "--force") == 0) {
            force = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            o.json = 1;
        } else if (cli_is_help(argv[i])) {
            o.help = 1;
        } else {
            return cli_usage_error(_("unexpected argument '%s'"), argv[i]);
        }
    }
    if (o.help) {
        sync_help("enroll --server https://HOST:PORT --token TOKEN | --qr TEXT [--force] [--json]",
             N_("Enrol this terminal with the collection server (patrold). TOKEN is the one-time\n"
             "token 'PT1.<id>.<secret>.<pin>' printed by 'patrold device add'; '-' reads it\n"
             "from standard input (a token on the command line shows in the process list).\n"
             "The server is trusted only through the key pin the token carries. The device\n"
             "key never leaves the terminal: the server certifies it, and later syncs present\n"
             "that certificate. A terminal enrolled already is refused unless --force, which\n"
             "enrols with the new server and starts sync over for it (receipts are kept).\n"
             "--qr takes what a new device's QR code on the web console decodes to\n"
             "('PTE1 URL TOKEN': the server's address and the token); '-' reads it from\n"
             "standard input.\n"
             "Exit status: 0 enrolled, 1 refused or failed, 2 usage error, 4 server\n"
             "unreachable."));
        return 0;
    }
    if (qr) {
        if (server || token)
            return cli_usage_error("%s", _("--qr replaces --server and --token"));
        if (strcmp(qr, "-") == 0) {
            if (!fgets(qrbuf, sizeof qrbuf, stdin))
                return cli_usage_error("%s", _("no QR text on standard input"));
        } else if ((size_t)snprintf(qrbuf, sizeof qrbuf, "%s", qr) >= sizeof qrbuf) {
            return cli_usage_error("%s", _("--qr: the text is too long"));
        }
        if (parse_qr(qrbuf, &server, &token) != 0)
            return cli_usage_error("%s", _("--qr: not a patrol enrolment code (expected 'PTE1 "
                                           "https://HOST:PORT PT1.…', from the console's 终端 "
                                           "page)"));
    }
    if (!server || !token)
        return cli_usage_error("%s", _("--server and --token are required"));
    if (strcmp(token, "-") == 0) {
        if (!fgets(line, sizeof line, stdin))
            return cli_usage_error("%s", _("no token on standard input"));
        token = line;
    }
    if ((rc = opts_open_store(&o, &p)))
        return rc;
    err = patrol_enroll(p, server, token, force ? PATROL_ENROLL_FORCE : 0, &e);
    memset(line, 0, sizeof line);
    memset(qrbuf, 0, sizeof qrbuf);
    if (err) {
        rc = sync_failed(p, err);
    } else {
        if (e.department_differs)
        {
            fprintf(stderr, "patrol: enroll: ");
            fprintf(stderr, _("warning: the server enrolled this terminal in department %s, not "
                              "the store's own"),
                    e.department);
            fputs("\n", stderr);
        }
        if (o.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "device_id", e.device_id);
            cJSON_AddStringToObject(j, "server_url", e.server_url);
            cJSON_AddStringToObject(j, "server_name", e.server_name);
            cJSON_AddStringToObject(j, "department", e.department);
            cli_json_print(j);
        } else {
            printf(_("enrolled with %s (%s) as device %s, department %s"), e.server_url,
                   e.server_name[0] ? e.server_name : _("unnamed server"), e.device_id,
                   e.department);
            printf("\n");
        }
    }
    patrol_close(p);
    return rc;
}

typedef struct bar {
    int tty;    /* redraw one line in place */
    int drawn;  /* something is on the line */
    time_t last; /* for a non-TTY: one line per second at most */
} bar;

/* A sync phase ("entries", "evidence", "reference", "done") as people
 * read it. */
static const char *phase_name(const char *phase)
{
    static const char *const names[][2] = {
        {"entries", N_("entries")},
        {"evidence", N_("evidence")},
        {"reference", N_("reference data")},
        {"done", N_("done")},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(phase, names[i][0]) == 0)
            return _(names[i][1]);
    return phase;
}

static void progress_cb(void *ud, const patrol_sync_progress *pr)
{
    bar *b = ud;
    char done[24], total[24], rate[24], eta[24] = "--:--";
    time_t now = time(NULL);
    if (!b->tty && now == b->last && strcmp(pr->phase, "done") != 0)
        return;
    b->last = now;
    fmt_bytes((double)pr->bytes_done, done, sizeof done);
    fmt_bytes((double)pr->bytes_total, total, sizeof total);
    fmt_bytes(pr->rate, rate, sizeof rate);
    if (pr->rate > 1 && pr->bytes_total > pr->bytes_done) {
        double s = (double)(pr->bytes_total - pr->bytes_done) / pr->rate;
        if (s < 360000)
            snprintf(eta, sizeof eta, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60,
                     (int)s % 60);
    } else if (pr->bytes_total <= pr->bytes_done) {
        snprintf(eta, sizeof eta, "0:00:00");
    }
    fputs(b->tty ? "\r" : "", stderr);
    /* TRANSLATORS: the sync progress bar: entries done/total, bytes
     * done/total, rate, time left, and the phase in brackets. */
    fprintf(stderr, _("entries %llu/%llu  %s/%s  %s/s  ETA %s  [%s]"),
            (unsigned long long)pr->entries_done, (unsigned long long)pr->entries_total, done,
            total, rate, eta, phase_name(pr->phase));
    fputs(b->tty ? "    " : "\n", stderr);
    fflush(stderr);
    b->drawn = b->tty;
}

/* Test hooks: PATROL_SYNC_<NAME> in the environment overrides an option. */
static int env_uint(const char *name, unsigned *out)
{
    const char *v = getenv(name);
    char *end;
    unsigned long x;
    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtoul(v, &end, 10);
    if (errno || *end || x > UINT_MAX) {
        char msg[300];
        snprintf(msg, sizeof msg, _("%s must be a number, not '%.100s'"), name, v);
        cli_fail_msg(EXIT_USAGE, "usage", msg);
        return -1;
    }
    *out = (unsigned)x;
    return 0;
}

int cmd_sync(int argc, char **argv)
{
    opts o;
    patrol_sync_opts so;
    patrol_sync_result r;
    bar b = {0, 0, 0};
    int show = 0, rc, err;
    unsigned cut = 0;
    patrol *p;

    memset(&o, 0, sizeof o);
    memset(&so, 0, sizeof so);
    for (int i = 0; i < argc; i++) {
        int m = opt_value(argc, argv, &i, "store", &o.store);
        if (m < 0)
            return cli_usage_error(_("option %s needs a value"), argv[i]);
        if (m)
            continue;
        if (strcmp(argv[i], "--progress") == 0)
            show = 1;
        else if (strcmp(argv[i], "--json") == 0)
            o.json = 1;
        else if (cli_is_help(argv[i]))
            o.help = 1;
        else
            return cli_usage_error(_("unexpected argument '%s'"), argv[i]);
    }
    if (o.help) {
        sync_help("sync [--progress] [--json]",
             N_("Send every entry not yet acknowledged to the enrolled server, in batches, and\n"
             "mark entries synced only when the server's signed receipt verifies; upload the\n"
             "evidence the server lacks, resuming after a cut from the server's offset; pull\n"
             "newer reference data. Network errors are retried with backoff. A progress bar\n"
             "(entries, bytes, rate, ETA) is drawn on stderr when it is a terminal, or with\n"
             "--progress; --json prints a summary on stdout. Exit status: 0 synced, 1 refused\n"
             "or failed, 4 server unreachable (nothing lost: sync again later), 5 the server\n"
             "rejected an entry (a fork or a bad entry: a supervisor must look at it).\n"
             "For tests, PATROL_SYNC_TIMEOUT_S, _ATTEMPTS, _BACKOFF_MS, _BATCH_ENTRIES,\n"
             "_BATCH_BYTES, _CHUNK_BYTES and _CUT_AFTER (cut the link once after that many\n"
             "bytes) override the defaults."));
        return 0;
    }
    if (env_uint("PATROL_SYNC_TIMEOUT_S", &so.timeout_s) ||
        env_uint("PATROL_SYNC_ATTEMPTS", &so.max_attempts) ||
        env_uint("PATROL_SYNC_BACKOFF_MS", &so.backoff_initial_ms) ||
        env_uint("PATROL_SYNC_BATCH_ENTRIES", &so.batch_entries) ||
        env_uint("PATROL_SYNC_BATCH_BYTES", &so.batch_bytes) ||
        env_uint("PATROL_SYNC_CHUNK_BYTES", &so.chunk_bytes) ||
        env_uint("PATROL_SYNC_CUT_AFTER", &cut))
        return EXIT_USAGE;
    so.test_cut_after_bytes = cut;
    /* JSON is for scripts: its "error" and "rejected" texts stay in English. */
    if (o.json)
        cli_messages_english();
    b.tty = isatty(STDERR_FILENO);
    if (show || b.tty) {
        so.progress = progress_cb;
        so.progress_ud = &b;
    }
    if ((rc = opts_open_store(&o, &p)))
        return rc;
    err = patrol_sync(p, &so, &r);
    if (b.drawn)
        fputc('\n', stderr);
    if (o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "ok", err == PATROL_OK);
        if (err)
            cJSON_AddStringToObject(j, "error", patrol_errmsg(p));
        cJSON_AddNumberToObject(j, "acked_seq", (double)r.acked_seq);
        cJSON_AddNumberToObject(j, "head_seq", (double)r.head_seq);
        cJSON_AddNumberToObject(j, "entries_accepted", (double)r.entries_accepted);
        cJSON_AddNumberToObject(j, "entries_duplicate", (double)r.entries_duplicate);
        cJSON_AddNumberToObject(j, "batches", (double)r.batches);
        cJSON_AddNumberToObject(j, "receipts", (double)r.receipts);
        cJSON_AddNumberToObject(j, "evidence_uploaded", (double)r.evidence_uploaded);
        cJSON_AddNumberToObject(j, "evidence_pending", (double)r.evidence_pending);
        cJSON_AddNumberToObject(j, "bytes_sent", (double)r.bytes_sent);
        cJSON_AddNumberToObject(j, "retries", (double)r.retries);
        cJSON_AddNumberToObject(j, "reference_version", (double)r.reference_version);
        cJSON_AddBoolToObject(j, "reference_updated", r.reference_updated);
        if (r.rejected_seq) {
            cJSON *rej = cJSON_CreateObject();
            cJSON_AddNumberToObject(rej, "seq", (double)r.rejected_seq);
            cJSON_AddStringToObject(rej, "reason", r.rejected_reason);
            cJSON_AddStringToObject(rej, "detail", r.rejected_detail);
            cJSON_AddItemToObject(j, "rejected", rej);
        } else {
            cJSON_AddNullToObject(j, "rejected");
        }
        if (r.evidence_failed[0])
            cJSON_AddStringToObject(j, "evidence_failed", r.evidence_failed);
        cJSON_AddNumberToObject(j, "server_seq", (double)r.server_seq);
        cJSON_AddNumberToObject(j, "server_lost", (double)r.server_lost);
        cJSON_AddNumberToObject(j, "duration_ms", (double)r.duration_ms);
        cli_json_print(j);
    } else {
        if (r.server_lost) {
            /* Said even when the sync then failed: the terminal no longer
             * counts those entries as held by the server. */
            printf(_("the server holds this terminal's entries only up to %llu, not up to %llu "
                     "as it had acknowledged (restored from a backup?): %llu entries and their "
                     "evidence are sent again"),
                   (unsigned long long)r.server_seq,
                   (unsigned long long)(r.server_seq + r.server_lost),
                   (unsigned long long)r.server_lost);
            printf("\n");
        }
    }
    if (!o.json && !err) {
        printf(r.reference_updated
                   ? _("synced: entries up to %llu acknowledged (%llu new, %llu already held), "
                       "%llu evidence file(s) uploaded, reference data updated to version %llu")
                   : _("synced: entries up to %llu acknowledged (%llu new, %llu already held), "
                       "%llu evidence file(s) uploaded, reference data version %llu"),
               (unsigned long long)r.acked_seq, (unsigned long long)r.entries_accepted,
               (unsigned long long)r.entries_duplicate, (unsigned long long)r.evidence_uploaded,
               (unsigned long long)r.reference_version);
        printf("\n");
    }
    rc = err ? sync_failed(p, err) : 0;
    patrol_close(p);
    return rc;
}

int cmd_status(int argc, char **argv)
{
    opts o;
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    patrol_sync_info s;
    char when[80] = "", rtime[40] = "", eb[24], pb[24], tb[24];
    patrol *p;
    int rc, err;

    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return sync_help("status [--json]",
                         N_("Where sync stands, from the store alone (no network): the server,\n"
                         "entries and bytes not yet acknowledged, the last sync, the last receipt\n"
                         "and an entry the server rejected, if any."));
    if ((rc = opts_open_store(&o, &p)))
        return rc;
    if ((err = patrol_sync_status(p, &s))) {
        rc = cli_failed(p, err);
        patrol_close(p);
        return rc;
    }
    if (s.last_sync_ms)
        cli_format_time(s.last_sync_ms, when, sizeof when);
    if (s.receipt_server_time_ms)
        cli_format_time(s.receipt_server_time_ms, rtime, sizeof rtime);
    if (o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "enrolled", s.enrolled);
        cJSON_AddStringToObject(j, "server_url", s.server_url);
        cJSON_AddStringToObject(j, "server_name", s.server_name);
        cJSON_AddNumberToObject(j, "head_seq", (double)s.head_seq);
        cJSON_AddNumberToObject(j, "acked_seq", (double)s.acked_seq);
        cJSON_AddNumberToObject(j, "pending_entries", (double)s.pending_entries);
        cJSON_AddNumberToObject(j, "pending_entry_bytes", (double)s.pending_entry_bytes);
        cJSON_AddNumberToObject(j, "pending_evidence_files", (double)s.pending_evidence_files);
        cJSON_AddNumberToObject(j, "pending_evidence_bytes", (double)s.pending_evidence_bytes);
        cJSON_AddNumberToObject(j, "pending_bytes", (double)s.pending_bytes);
        if (s.last_sync_ms)
            cJSON_AddStringToObject(j, "last_sync", when);
        else
            cJSON_AddNullToObject(j, "last_sync");
        cJSON_AddNumberToObject(j, "receipts", (double)s.receipts);
        if (s.receipts) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "seq", (double)s.receipt_seq);
            cJSON_AddStringToObject(r, "head_hash", s.receipt_head);
            cJSON_AddStringToObject(r, "server_time", rtime);
            cJSON_AddItemToObject(j, "last_receipt", r);
        } else {
            cJSON_AddNullToObject(j, "last_receipt");
        }
        cJSON_AddNumberToObject(j, "reference_version", (double)s.reference_version);
        if (s.rejected_seq) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "seq", (double)s.rejected_seq);
            cJSON_AddStringToObject(r, "reason", s.rejected_reason);
            cJSON_AddItemToObject(j, "rejected", r);
        } else {
            cJSON_AddNullToObject(j, "rejected");
        }
        cli_json_print(j);
    } else {
        char lsync[80], lreceipt[80];
        fmt_bytes((double)s.pending_entry_bytes, eb, sizeof eb);
        fmt_bytes((double)s.pending_evidence_bytes, pb, sizeof pb);
        fmt_bytes((double)s.pending_bytes, tb, sizeof tb);
        if (s.last_sync_ms)
            fmt_time(s.last_sync_ms, lsync, sizeof lsync);
        else
            snprintf(lsync, sizeof lsync, "%s", _("never"));
        fmt_time(s.receipt_server_time_ms, lreceipt, sizeof lreceipt);
        fmt_row(_("server"));
        if (s.enrolled)
            printf("%s%s%s%s\n", s.server_url, s.server_name[0] ? " (" : "", s.server_name,
                   s.server_name[0] ? ")" : "");
        else
            printf("%s\n", _("not enrolled ('patrol enroll --server URL --token TOKEN')"));
        fmt_row(_("entries"));
        printf(_("%llu of %llu acknowledged, %llu pending (%s)"), (unsigned long long)s.acked_seq,
               (unsigned long long)s.head_seq, (unsigned long long)s.pending_entries, eb);
        printf("\n");
        fmt_row(_("evidence"));
        printf(_("%llu file(s) pending (%s)"), (unsigned long long)s.pending_evidence_files, pb);
        printf("\n");
        fmt_row(_("pending"));
        printf(_("%s in all"), tb);
        printf("\n");
        fmt_row(_("last sync"));
        printf("%s\n", lsync);
        fmt_row(_("receipt"));
        if (s.receipts)
            printf(_("entries 1-%llu, head %s, server time %s"), (unsigned long long)s.receipt_seq,
                   s.receipt_head, lreceipt);
        else
            printf("%s", _("none"));
        printf("\n");
        fmt_row(_("reference"));
        if (s.reference_version)
            printf(_("version %llu"), (unsigned long long)s.reference_version);
        else
            printf("%s", _("built-in"));
        printf("\n");
        if (s.rejected_seq) {
            fmt_row(_("REJECTED"));
            printf(_("entry %llu (%s): a supervisor must look at it"),
                   (unsigned long long)s.rejected_seq, s.rejected_reason);
            printf("\n");
        }
    }
    patrol_close(p);
    return 0;
}
