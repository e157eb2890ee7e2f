/* audit_verify.c -- `patrold --data DIR audit verify [--json]`: re-verify
 * everything the server holds, read-only, trusting nothing but the entry
 * bytes and the enrolled device keys.
 *
 * Per device, row by row in the order of the seq column: the sequence is
 * contiguous (gap), the row's seq is the one inside the signed bytes
 * (reordered or duplicated rows), canonical encoding, the stored hash is
 * the bytes' hash, the device id is the key's, the link to the previous
 * row's stored hash (so one altered entry is reported once), the signature
 * with the enrolled key, the record's per-entry rules; entry 1 is
 * device.init carrying that very key; the last row is the head the server
 * acknowledged. Then quarantined forks (signed by the key: the device
 * signed two entries with one seq), evidence files (complete ones hashed
 * again and sized; expected ones never received), the times (synced more
 * than 24 h after capture, device time after the receipt time, running
 * backwards or jumping within one boot, boot changes; device time before
 * the signing of a log checkpoint the entry or an earlier one cites) and
 * the rule flags. The server log is rebuilt from its leaves and held
 * against its signed checkpoints, and every stored entry must be one of
 * its leaves (audit_verify_log.c).
 * Everything is counted per device and per day (Beijing date of the
 * device time). docs/server.md "Audit: verify and archives" has the codes.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cmdline.h"
#include "audit_archive.h"
#include "audit_verify_log.h"
#include "crypto.h"
#include "crypto_verify.h"
#include "entry.h"
#include "i18n.h"
#include "rules.h"
#include "validate.h"

#define CMD "verify"
#define LATE_MS (24LL * 3600 * 1000)   /* synced more than a day after capture */
#define AHEAD_MS (5LL * 60 * 1000)     /* device time after receipt: tolerance */
#define JUMP_MS (5LL * 60 * 1000)      /* wall vs monotonic clock within a boot */

enum { SEV_FAIL, SEV_WARN, SEV_NOTE };
static const char *const sev_name[] = {"integrity", "anomaly", "notice"};
/* TRANSLATORS: the tags of audit verify's problem lines: an integrity
 * failure, an anomaly, a notice. */
static const char *const sev_tag[] = {N_("FAIL"), N_("WARN"), N_("NOTE")};

/* Counters of one device and day. */
enum { C_ENTRIES, C_FAILURES, C_GAPS, C_FORKS, C_LATE, C_CLOCK, C_BOOTS, C_EVIDENCE, C_FLAGS,
       C_COUNT };
static const char *const counter_name[] = {"entries",  "integrity_failures", "gaps",
                                           "forks",    "late_sync",          "clock_anomalies",
                                           "boot_changes", "evidence_not_received", "rule_flags"};

typedef struct day_stat {
    char day[11];
    uint64_t c[C_COUNT];
} day_stat;

typedef struct seq_wall {
    uint64_t seq;
    int64_t wall_ms;
} seq_wall;

typedef struct dev_state {
    st_device d;
    day_stat *days;
    size_t ndays, capdays, last_day; /* entries come in time order: try the last day first */
    seq_wall *walls; /* decoded rows, ascending seq (flags and evidence find their day) */
    size_t nwalls, capwalls;
    uint64_t rows, forks, failures;
} dev_state;

typedef struct problem {
    int sev;
    char code[32];
    int64_t device;
    uint64_t seq; /* 0: not about one entry */
    char day[11]; /* "" unknown */
    char detail[400]; /* English, for --json */
    char text[600];   /* the same in the reader's language */
} problem;

typedef struct evref {
    char sha[65];
    int64_t device;
    uint64_t seq;
    int64_t wall_ms;
    int indexed; /* the evidence index has this (blob, device) */
} evref;

typedef struct verifier {
    const char *data;
    st_backend *db;
    dev_state *devs;
    size_t ndevs, capdevs;
    problem *probs;
    size_t nprobs, capprobs;
    evref *evs; /* evidence.add entries: which entry named a blob */
    size_t nevs, capevs;
    uint64_t failures, warnings, notes, entries, flags;
    uint64_t ev_files, ev_complete, ev_pending, ev_bytes;
    vlog *log;
    uint64_t before_log, citations, log_unseen;
    cJSON *flag_rules; /* rule -> count */
    int oom;
    /* the device being walked */
    dev_state *cur;
    px_key *key;
    px_verifier *vk; /* the same key for checking signatures (OpenSSL: ~20x faster) */
    uint8_t prev_hash[32];
    int have_prev;
    uint64_t expect;
    int64_t last_wall;
    uint64_t last_mono;
    char last_boot[128];
    char *last_kind;
    int64_t cite_ms; /* signing time of the newest checkpoint this device cited so far */
    uint64_t cite_size;
    int logged;      /* an earlier entry of this device is a log leaf */
} verifier;

/* Grow *arr (of elem bytes) to hold n+1; 0 or -1 when out of memory. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t nc;
    void *p;
    if (n < *cap)
        return 0;
    nc = *cap ? *cap * 2 : 16;
    if (nc > SIZE_MAX / elem)
        return -1;
    if (!(p = realloc(*arr, nc * elem)))
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

/* Beijing date (YYYY-MM-DD) of a device time. */
static void beijing_day(int64_t ms, char out[11])
{
    ar_beijing(ms, out, 11, 0);
}

static day_stat *day_of(verifier *v, dev_state *ds, const char *day)
{
    if (ds->last_day < ds->ndays && strcmp(ds->days[ds->last_day].day, day) == 0)
        return &ds->days[ds->last_day];
    for (size_t i = 0; i < ds->ndays; i++)
        if (strcmp(ds->days[i].day, day) == 0)
            return &ds->days[ds->last_day = i];
    if (grow((void **)&ds->days, &ds->capdays, ds->ndays, sizeof *ds->days) != 0) {
        v->oom = 1;
        return NULL;
    }
    memset(&ds->days[ds->ndays], 0, sizeof ds->days[0]);
    snprintf(ds->days[ds->ndays].day, sizeof ds->days[0].day, "%s", day);
    ds->last_day = ds->ndays;
    return &ds->days[ds->ndays++];
}

static void count(verifier *v, dev_state *ds, const char *day, int c)
{
    day_stat *s = day_of(v, ds, day[0] ? day : "unknown");
    if (s)
        s->c[c]++;
}

static dev_state *dev_find(verifier *v, int64_t id)
{
    for (size_t i = 0; i < v->ndevs; i++)
        if (v->devs[i].d.id == id)
            return &v->devs[i];
    return NULL;
}

/* Record a problem (counted under counter c of its day, -1: none). fmt
 * is N_() marked: the detail is English (--json), the text translated. */
#if defined(__GNUC__)
__attribute__((format(printf, 7, 8)))
#endif
static void report(verifier *v, int sev, const char *code, int64_t device, uint64_t seq,
                   int64_t wall_ms, const char *fmt, ...)
{
    problem *p;
    va_list ap;
    if (grow((void **)&v->probs, &v->capprobs, v->nprobs, sizeof *v->probs) != 0) {
        v->oom = 1;
        return;
    }
    p = &v->probs[v->nprobs++];
    memset(p, 0, sizeof *p);
    p->sev = sev;
    snprintf(p->code, sizeof p->code, "%s", code);
    p->device = device;
    p->seq = seq;
    if (wall_ms)
        beijing_day(wall_ms, p->day);
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vsnprintf(p->text, sizeof p->text, _(fmt), ap);
    va_end(ap);
    if (sev == SEV_FAIL) {
        dev_state *ds = dev_find(v, device);
        v->failures++;
        if (ds) {
            ds->failures++;
            count(v, ds, p->day, C_FAILURES);
        }
    } else if (sev == SEV_WARN) {
        v->warnings++;
    } else {
        v->notes++;
    }
}

static const char *field(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0)
            return e->fields[i]->value;
    return NULL;
}

static void hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    if (2 * n + 1 > cap)
        n = (cap - 1) / 2;
    px_format_hex(p, n, out);
}

/* px_rules_check_entry's sentence (proto/rules.c, through _()) in
 * English, as --json gives it, whatever the reader's locale. */
static int rules_check_english(const Patrol__V1__Entry *e, char *detail, size_t len)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0), old = (locale_t)0;
    int rc;
    if (c != (locale_t)0)
        old = uselocale(c);
    rc = px_rules_check_entry(e, detail, len);
    if (c != (locale_t)0) {
        uselocale(old);
        freelocale(c);
    }
    return rc;
}

/* ---- one device's chain ----------------------------------------------- */

/* The times of a decoded entry: late sync, device time after receipt,
 * backwards or jumping within a boot, a new boot. */
static void check_times(verifier *v, const st_audit_entry *row, const Patrol__V1__Entry *e,
                        const char *day)
{
    dev_state *ds = v->cur;
    int64_t lag = row->received_ms - e->wall_ms;
    if (lag > LATE_MS) {
        report(v, SEV_WARN, "late_sync", row->device, row->seq, e->wall_ms,
               N_("synced %.1f h after capture (device time to receipt)"), (double)lag / 3600000.0);
        count(v, ds, day, C_LATE);
    }
    if (e->wall_ms > row->received_ms + AHEAD_MS) {
        report(v, SEV_WARN, "clock_ahead", row->device, row->seq, e->wall_ms,
               N_("device time is %.1f min after the server received the entry (device clock ahead)"),
               (double)(e->wall_ms - row->received_ms) / 60000.0);
        count(v, ds, day, C_CLOCK);
    }
    if (v->cite_ms && e->wall_ms + AHEAD_MS < v->cite_ms) {
        report(v, SEV_WARN, "clock_behind", row->device, row->seq, e->wall_ms,
               N_("device time is %.1f min before the server signed the log checkpoint of %" PRIu64
               " leaves that the terminal had already received (device clock behind)"),
               (double)(v->cite_ms - e->wall_ms) / 60000.0, v->cite_size);
        count(v, ds, day, C_CLOCK);
    }
    if (v->last_kind && strcmp(v->last_boot, e->boot_id) == 0) {
        int64_t dwall = e->wall_ms - v->last_wall;
        if (dwall < 0) {
            report(v, SEV_WARN, "clock_backwards", row->device, row->seq, e->wall_ms,
                   N_("device time went back %.1f s within boot %s"), (double)-dwall / 1000.0,
                   e->boot_id);
            count(v, ds, day, C_CLOCK);
        } else if (e->mono_ns >= v->last_mono) {
            int64_t dmono = (int64_t)((e->mono_ns - v->last_mono) / 1000000u);
            if (dwall - dmono > JUMP_MS || dmono - dwall > JUMP_MS) {
                report(v, SEV_WARN, "clock_jump", row->device, row->seq, e->wall_ms,
                       N_("device time moved %.1f min while the monotonic clock moved %.1f min"
                       " (clock set within boot %s)"),
                       (double)dwall / 60000.0, (double)dmono / 60000.0, e->boot_id);
                count(v, ds, day, C_CLOCK);
            }
        } else {
            report(v, SEV_WARN, "clock_backwards", row->device, row->seq, e->wall_ms,
                   N_("monotonic clock went back within boot %s"), e->boot_id);
            count(v, ds, day, C_CLOCK);
        }
    } else if (v->last_kind && strcmp(v->last_boot, e->boot_id) != 0) {
        report(v, SEV_NOTE, "boot_change", row->device, row->seq, e->wall_ms,
               N_("the terminal restarted (boot %s after %s)"), e->boot_id, v->last_boot);
        count(v, ds, day, C_BOOTS);
    }
    v->last_wall = e->wall_ms;
    v->last_mono = e->mono_ns;
    snprintf(v->last_boot, sizeof v->last_boot, "%s", e->boot_id);
    v->last_kind = "";
}

static void note_evidence(verifier *v, const st_audit_entry *row, const Patrol__V1__Entry *e)
{
    const char *sha = field(e, "sha256");
    evref *r;
    if (strcmp(e->kind, "evidence.add") != 0 || !sha || strlen(sha) != 64)
        return;
    if (grow((void **)&v->evs, &v->capevs, v->nevs, sizeof *v->evs) != 0) {
        v->oom = 1;
        return;
    }
    r = &v->evs[v->nevs++];
    memset(r, 0, sizeof *r);
    snprintf(r->sha, sizeof r->sha, "%s", sha);
    r->device = row->device;
    r->seq = row->seq;
    r->wall_ms = e->wall_ms;
}

/* The entry among the log's leaves, and the checkpoint it cites. */
static void check_log(verifier *v, const st_audit_entry *row, const Patrol__V1__Entry *e,
                      const uint8_t h[32])
{
    int64_t ms = 0;
    if (!v->log)
        return;
    if (vlog_entry(v->log, e->device.data, row->seq, h)) {
        v->logged = 1;
    } else if (v->logged || (vlog_started_ms(v->log) && row->received_ms >
                                                             vlog_started_ms(v->log))) {
        report(v, SEV_FAIL, "not_in_log", row->device, row->seq, e->wall_ms,
               N_("the entry was accepted while the server log ran but is not one of its leaves"));
    } else {
        v->before_log++;
    }
    if (!e->log)
        return;
    v->citations++;
    switch (vlog_cite(v->log, e->log->size, e->log->root.data, &ms)) {
    case 0:
        if (ms > v->cite_ms) {
            v->cite_ms = ms;
            v->cite_size = e->log->size;
        }
        break;
    case -1:
        report(v, SEV_FAIL, "bad_citation", row->device, row->seq, e->wall_ms,
               N_("the entry cites a log checkpoint of %" PRIu64 " leaves that this server never"
               " signed"),
               (uint64_t)e->log->size);
        break;
    default:
        report(v, SEV_FAIL, "bad_citation", row->device, row->seq, e->wall_ms,
               N_("the entry cites the log checkpoint of %" PRIu64 " leaves with another root than"
               " the one this server signed"),
               (uint64_t)e->log->size);
        break;
    }
}

static int row_cb(void *ud, const st_audit_entry *row)
{
    verifier *v = ud;
    dev_state *ds = v->cur;
    Patrol__V1__Entry *e = NULL;
    const char *why = NULL;
    uint8_t h[32];
    char day[11] = "", detail[256], a[65], b[65];
    int bad = 0;

    ds->rows++;
    v->entries++;
    if (row->seq > v->expect) {
        report(v, SEV_FAIL, "gap", row->device, v->expect, row->wall_ms,
               N_("entries %" PRIu64 "..%" PRIu64 " are missing (the next stored is %" PRIu64 ")"),
               v->expect, row->seq - 1, row->seq);
        if (row->wall_ms)
            beijing_day(row->wall_ms, day);
        count(v, ds, day, C_GAPS);
        v->have_prev = 0; /* no link to check across the gap */
    }
    v->expect = row->seq + 1;

    if (!(e = px_entry_decode(row->entry, row->entry_len, &why))) {
        report(v, SEV_FAIL, "bad_encoding", row->device, row->seq, row->wall_ms,
               N_("the stored bytes are not a canonical entry: %s"), why);
        bad = 1;
        goto next;
    }
    beijing_day(e->wall_ms, day);
    count(v, ds, day, C_ENTRIES);
    px_entry_hash(row->entry, row->entry_len, h);
    if (row->hash_len != 32 || memcmp(h, row->hash, 32) != 0) {
        report(v, SEV_FAIL, "hash_mismatch", row->device, row->seq, e->wall_ms,
               N_("the entry's bytes do not hash to its stored hash (edited after it was stored)"));
        bad = 1;
    } else if (e->seq != row->seq) {
        report(v, SEV_FAIL, "seq_mismatch", row->device, row->seq, e->wall_ms,
               N_("the row for seq %" PRIu64 " holds the signed entry %" PRIu64
               " (rows reordered or duplicated)"),
               row->seq, e->seq);
        bad = 1;
    } else if (e->device.len != 32 || memcmp(e->device.data, ds->d.key_id, 32) != 0) {
        report(v, SEV_FAIL, "wrong_device", row->device, row->seq, e->wall_ms,
               N_("the entry names another device than the one it is stored under"));
        bad = 1;
    } else if (v->have_prev && memcmp(e->prev_hash.data, v->prev_hash, 32) != 0) {
        hex(e->prev_hash.data, 32, a, sizeof a);
        hex(v->prev_hash, 32, b, sizeof b);
        report(v, SEV_FAIL, "chain_broken", row->device, row->seq, e->wall_ms,
               N_("prev_hash %.16s... is not the hash of entry %" PRIu64 " (%.16s...)"), a,
               row->seq - 1, b);
        bad = 1;
    } else if (row->sig_len != PX_SIG_LEN || !v->vk || px_verifier_check(v->vk, h, row->sig) != 0) {
        report(v, SEV_FAIL, "bad_signature", row->device, row->seq, e->wall_ms,
               N_("the signature is not the enrolled device key's over the entry"));
        bad = 1;
    } else if (rules_check_english(e, detail, sizeof detail) != 0) {
        char said[256];
        report(v, SEV_FAIL, "bad_rules", row->device, row->seq, e->wall_ms,
               N_("the entry breaks the record's rules: %s"), detail);
        /* The rules' sentence in the reader's language for the text. */
        if (!v->oom && px_rules_check_entry(e, said, sizeof said) != 0)
            snprintf(v->probs[v->nprobs - 1].text, sizeof v->probs[0].text,
                     _("the entry breaks the record's rules: %s"), said);
        bad = 1;
    } else if (row->seq == 1) {
        const char *pk = field(e, "public_key");
        char full[2 * PX_PUBKEY_MAX + 1];
        px_format_hex(ds->d.public_key, ds->d.public_key_len, full);
        if (strcmp(e->kind, "device.init") != 0 || !pk || strcmp(pk, full) != 0) {
            report(v, SEV_FAIL, "genesis_key", row->device, 1, e->wall_ms,
                   N_("entry 1 is not the device.init that introduces the enrolled key"));
            bad = 1;
        }
    }
    if (!bad)
        check_log(v, row, e, h);
    check_times(v, row, e, day);
    note_evidence(v, row, e);
    if (grow((void **)&ds->walls, &ds->capwalls, ds->nwalls, sizeof *ds->walls) == 0) {
        ds->walls[ds->nwalls].seq = row->seq;
        ds->walls[ds->nwalls++].wall_ms = e->wall_ms;
    } else {
        v->oom = 1;
    }
next:
    /* The next link is checked against this row's stored hash. */
    if (row->hash_len == 32) {
        memcpy(v->prev_hash, row->hash, 32);
        v->have_prev = 1;
    } else {
        v->have_prev = 0;
    }
    px_entry_free(e);
    return v->oom;
}

static int fork_cb(void *ud, const st_audit_entry *row)
{
    verifier *v = ud;
    Patrol__V1__Entry *e;
    const char *why;
    uint8_t h[32];
    char day[11] = "", a[65] = "?", b[65] = "?";
    int64_t wall = 0;

    v->cur->forks++;
    px_entry_hash(row->entry, row->entry_len, h);
    if ((e = px_entry_decode(row->entry, row->entry_len, &why))) {
        wall = e->wall_ms;
        beijing_day(wall, day);
    }
    count(v, v->cur, day, C_FORKS);
    hex(h, 32, a, sizeof a);
    if (row->accepted_hash && row->accepted_hash_len == 32)
        hex(row->accepted_hash, 32, b, sizeof b);
    if (!e || e->seq != row->seq || row->sig_len != PX_SIG_LEN || !v->vk ||
        px_verifier_check(v->vk, h, row->sig) != 0)
        report(v, SEV_FAIL, "fork_unsigned", row->device, row->seq, wall,
               N_("a quarantined fork that the device key did not sign (%s)"),
               e ? "bad signature or seq" : why);
    else
        report(v, SEV_FAIL, "fork", row->device, row->seq, wall,
               N_("the device signed two different entries %" PRIu64 ": %.16s... (quarantined)"
               " besides the accepted %.16s..."),
               row->seq, a, b);
    px_entry_free(e);
    return 0;
}

static void verify_device(verifier *v, dev_state *ds)
{
    char key_id[65];
    uint8_t id[32];
    const char *why;
    int rc;

    v->cur = ds;
    v->key = NULL;
    v->vk = NULL;
    v->have_prev = 0;
    v->expect = 1;
    v->last_kind = NULL;
    v->last_boot[0] = 0;
    v->cite_ms = 0;
    v->cite_size = 0;
    v->logged = 0;
    if (ds->d.public_key_len) {
        if (px_key_from_public_der(ds->d.public_key, ds->d.public_key_len, &v->key, &why) != 0)
            report(v, SEV_FAIL, "bad_key", ds->d.id, 0, 0, N_("the enrolled key: %s"), why);
        else if (px_key_id(v->key, id) != 0 || memcmp(id, ds->d.key_id, 32) != 0) {
            hex(ds->d.key_id, 32, key_id, sizeof key_id);
            report(v, SEV_FAIL, "bad_key", ds->d.id, 0, 0,
                   N_("the enrolled key does not hash to the device id %.16s..."), key_id);
        } else if (px_verifier_new(ds->d.public_key, ds->d.public_key_len, &v->vk, &why) != 0)
            report(v, SEV_FAIL, "bad_key", ds->d.id, 0, 0, N_("the enrolled key: %s"), why);
    }
    if ((rc = v->db->ops->audit_entries(v->db, ds->d.id, row_cb, v)) != ST_OK) {
        report(v, SEV_FAIL, "read_error", ds->d.id, 0, 0, N_("reading its entries: %s"),
               v->db->ops->errmsg(v->db));
    } else if (ds->rows && !ds->d.public_key_len) {
        report(v, SEV_FAIL, "bad_key", ds->d.id, 0, 0, N_("entries stored for a device with no key"));
    }
    if (v->expect - 1 < ds->d.last_seq) {
        report(v, SEV_FAIL, "truncated", ds->d.id, v->expect, 0,
               N_("entries %" PRIu64 "..%" PRIu64 " acknowledged by the server are missing"
               " at the end"),
               v->expect, ds->d.last_seq);
    } else if (v->expect - 1 > ds->d.last_seq) {
        report(v, SEV_FAIL, "head_mismatch", ds->d.id, ds->d.last_seq + 1, 0,
               N_("entries after the acknowledged head %" PRIu64 " are stored"), ds->d.last_seq);
    } else if (ds->d.last_seq && v->have_prev && memcmp(v->prev_hash, ds->d.head, 32) != 0) {
        report(v, SEV_FAIL, "head_mismatch", ds->d.id, ds->d.last_seq, 0,
               N_("the stored entry %" PRIu64 " is not the head the server acknowledged"),
               ds->d.last_seq);
    }
    if (v->db->ops->audit_forks(v->db, ds->d.id, fork_cb, v) != ST_OK)
        report(v, SEV_FAIL, "read_error", ds->d.id, 0, 0, N_("reading its forks: %s"),
               v->db->ops->errmsg(v->db));
    px_key_free(v->key);
    v->key = NULL;
    px_verifier_free(v->vk);
    v->vk = NULL;
}

static int device_cb(void *ud, const st_device *d)
{
    verifier *v = ud;
    if (grow((void **)&v->devs, &v->capdevs, v->ndevs, sizeof *v->devs) != 0) {
        v->oom = 1;
        return 1;
    }
    memset(&v->devs[v->ndevs], 0, sizeof v->devs[0]);
    v->devs[v->ndevs++].d = *d;
    return 0;
}

/* A problem of the log as a whole (device 0: no device). */
static void log_report(void *ud, int fail, const char *code, const char *detail,
                       const char *text)
{
    verifier *v = ud;
    report(v, fail ? SEV_FAIL : SEV_NOTE, code, 0, 0, 0, "%s", detail);
    if (!v->oom)
        snprintf(v->probs[v->nprobs - 1].text, sizeof v->probs[0].text, "%s", text);
}

/* ---- evidence ------------------------------------------------------------ */

static int cmp_evref(const void *a, const void *b)
{
    const evref *x = a, *y = b;
    if (x->device != y->device)
        return x->device < y->device ? -1 : 1;
    return strcmp(x->sha, y->sha);
}

static int cmp_evref_seq(const void *a, const void *b)
{
    int c = cmp_evref(a, b);
    if (c)
        return c;
    return ((const evref *)a)->seq < ((const evref *)b)->seq ? -1
           : ((const evref *)a)->seq > ((const evref *)b)->seq;
}

/* The first entry of device naming sha (v->evs sorted by cmp_evref). */
static evref *ev_find(verifier *v, const char *sha, int64_t device)
{
    evref key, *r;
    memset(&key, 0, sizeof key);
    snprintf(key.sha, sizeof key.sha, "%s", sha);
    key.device = device;
    r = v->nevs ? bsearch(&key, v->evs, v->nevs, sizeof *v->evs, cmp_evref) : NULL;
    while (r && r > v->evs && cmp_evref(r - 1, &key) == 0)
        r--;
    return r;
}

/* errno as text in English: the sentence goes into --json too, which is
 * the same whatever the reader's locale. */
static const char *errno_en(int e)
{
    static locale_t c;
    if (!c)
        c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c ? strerror_l(e, c) : strerror(e);
}

/* Hash a file of DIR/evidence; 0, or -1 with a sentence (English). */
static int hash_file(const char *path, uint8_t h[32], uint64_t *size, char *why, size_t wlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = -1;
    struct stat stt;
    if (fd < 0)
        snprintf(why, wlen, "%.300s: %s", path, errno_en(errno));
    else if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode))
        snprintf(why, wlen, "%.300s: not a regular file", path);
    else if (px_sha256_fd(fd, h, size) != 0)
        snprintf(why, wlen, "%.300s: %s", path, errno_en(errno));
    else
        rc = 0;
    if (fd >= 0)
        close(fd);
    return rc;
}

typedef struct ev_ctx {
    verifier *v;
    char last_sha[65]; /* rows come by device then sha: hash each blob once per device */
} ev_ctx;

static int evidence_cb(void *ud, const char *sha, int64_t device, uint64_t size,
                       int64_t complete_ms)
{
    ev_ctx *c = ud;
    verifier *v = c->v;
    evref *r = ev_find(v, sha, device);
    dev_state *ds = dev_find(v, device);
    int64_t wall = r ? r->wall_ms : 0;
    uint64_t seq = r ? r->seq : 0;
    char day[11] = "", path[4200], why[512], got[65];
    uint8_t h[32];
    uint64_t fsize;

    for (evref *e = r; e && e < v->evs + v->nevs && e->device == device &&
                       strcmp(e->sha, sha) == 0;
         e++)
        e->indexed = 1;
    if (wall)
        beijing_day(wall, day);
    v->ev_files++;
    if (!complete_ms) {
        v->ev_pending++;
        report(v, SEV_WARN, "evidence_not_received", device, seq, wall,
               N_("evidence %s (%" PRIu64 " bytes) was never received"), sha, size);
        if (ds)
            count(v, ds, day, C_EVIDENCE);
        return 0;
    }
    v->ev_complete++;
    if (strlen(sha) != 64 || px_parse_hex(sha, h, 32) != NULL) {
        report(v, SEV_FAIL, "evidence_bad_name", device, seq, wall,
               N_("the evidence index names '%.80s', not a SHA-256"), sha);
        return 0;
    }
    snprintf(path, sizeof path, "%s/evidence/%.2s/%s", v->data, sha, sha);
    if (hash_file(path, h, &fsize, why, sizeof why) != 0) {
        report(v, SEV_FAIL, "evidence_file_missing", device, seq, wall,
               N_("evidence %s is recorded as received but cannot be read: %s"), sha, why);
        return 0;
    }
    v->ev_bytes += fsize;
    px_format_hex(h, 32, got);
    if (fsize != size)
        report(v, SEV_FAIL, "evidence_size_mismatch", device, seq, wall,
               N_("evidence %s is %" PRIu64 " bytes, its entry says %" PRIu64
               " (truncated or replaced)"),
               sha, fsize, size);
    else if (strcmp(got, sha) != 0)
        report(v, SEV_FAIL, "evidence_hash_mismatch", device, seq, wall,
               N_("evidence file %s now hashes to %s (altered or swapped)"), sha, got);
    snprintf(c->last_sha, sizeof c->last_sha, "%s", sha);
    return 0;
}

/* ---- rule flags ---------------------------------------------------------- */

static int cmp_seq(const void *k, const void *e)
{
    uint64_t a = *(const uint64_t *)k, b = ((const seq_wall *)e)->seq;
    return a < b ? -1 : a > b;
}

static int flag_cb(void *ud, const st_flag_row *r)
{
    verifier *v = ud;
    dev_state *ds = dev_find(v, r->f.device);
    cJSON *n = cJSON_GetObjectItemCaseSensitive(v->flag_rules, r->f.rule);
    char day[11] = "";
    v->flags++;
    if (n)
        cJSON_SetNumberValue(n, n->valuedouble + 1);
    else if (!cJSON_AddNumberToObject(v->flag_rules, r->f.rule, 1))
        v->oom = 1;
    if (ds) {
        seq_wall *w = ds->nwalls ? bsearch(&r->f.seq, ds->walls, ds->nwalls, sizeof *ds->walls,
                                           cmp_seq)
                                 : NULL;
        if (w)
            beijing_day(w->wall_ms, day);
        count(v, ds, day, C_FLAGS);
    }
    return v->oom;
}

/* ---- output -------------------------------------------------------------- */

static int cmp_day(const void *a, const void *b)
{
    return strcmp(((const day_stat *)a)->day, ((const day_stat *)b)->day);
}

static cJSON *json_report(verifier *v)
{
    cJSON *root = cJSON_CreateObject(), *devs, *probs, *ev;
    if (!root)
        return NULL;
    cJSON_AddBoolToObject(root, "ok", v->failures == 0);
    cJSON_AddNumberToObject(root, "integrity_failures", (double)v->failures);
    cJSON_AddNumberToObject(root, "anomalies", (double)v->warnings);
    cJSON_AddNumberToObject(root, "notices", (double)v->notes);
    cJSON_AddNumberToObject(root, "entries", (double)v->entries);
    devs = cJSON_AddArrayToObject(root, "devices");
    for (size_t i = 0; devs && i < v->ndevs; i++) {
        dev_state *ds = &v->devs[i];
        cJSON *o = cJSON_CreateObject(), *days;
        char kid[65];
        if (!o)
            break;
        cJSON_AddNumberToObject(o, "device", (double)ds->d.id);
        cJSON_AddStringToObject(o, "name", ds->d.name);
        cJSON_AddStringToObject(o, "department", ds->d.department);
        px_format_hex(ds->d.key_id, 32, kid);
        cJSON_AddStringToObject(o, "key_id", ds->d.public_key_len ? kid : "");
        cJSON_AddNumberToObject(o, "entries", (double)ds->rows);
        cJSON_AddNumberToObject(o, "last_seq", (double)ds->d.last_seq);
        cJSON_AddNumberToObject(o, "forks", (double)ds->forks);
        cJSON_AddNumberToObject(o, "integrity_failures", (double)ds->failures);
        days = cJSON_AddArrayToObject(o, "days");
        if (ds->ndays) /* a device that never synced has none (and no array) */
            qsort(ds->days, ds->ndays, sizeof *ds->days, cmp_day);
        for (size_t k = 0; days && k < ds->ndays; k++) {
            cJSON *d = cJSON_CreateObject();
            if (!d)
                break;
            cJSON_AddStringToObject(d, "date", ds->days[k].day);
            for (int c = 0; c < C_COUNT; c++)
                cJSON_AddNumberToObject(d, counter_name[c], (double)ds->days[k].c[c]);
            cJSON_AddItemToArray(days, d);
        }
        cJSON_AddItemToArray(devs, o);
    }
    probs = cJSON_AddArrayToObject(root, "problems");
    for (size_t i = 0; probs && i < v->nprobs; i++) {
        problem *p = &v->probs[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "code", p->code);
        cJSON_AddStringToObject(o, "severity", sev_name[p->sev]);
        cJSON_AddNumberToObject(o, "device", (double)p->device);
        cJSON_AddNumberToObject(o, "seq", (double)p->seq);
        cJSON_AddStringToObject(o, "date", p->day);
        cJSON_AddStringToObject(o, "detail", p->detail);
        cJSON_AddItemToArray(probs, o);
    }
    if ((ev = cJSON_AddObjectToObject(root, "evidence"))) {
        cJSON_AddNumberToObject(ev, "references", (double)v->ev_files);
        cJSON_AddNumberToObject(ev, "complete", (double)v->ev_complete);
        cJSON_AddNumberToObject(ev, "not_received", (double)v->ev_pending);
        cJSON_AddNumberToObject(ev, "bytes_hashed", (double)v->ev_bytes);
    }
    if ((ev = cJSON_AddObjectToObject(root, "log"))) {
        cJSON_AddNumberToObject(ev, "leaves", (double)vlog_leaves(v->log));
        cJSON_AddNumberToObject(ev, "checkpoints", (double)vlog_checkpoints(v->log));
        cJSON_AddNumberToObject(ev, "entries_before_log", (double)v->before_log);
        cJSON_AddNumberToObject(ev, "leaves_without_entry", (double)v->log_unseen);
        cJSON_AddNumberToObject(ev, "citations", (double)v->citations);
    }
    cJSON_AddNumberToObject(root, "rule_flags", (double)v->flags);
    cJSON_AddItemToObject(root, "rule_flags_by_rule", v->flag_rules);
    v->flag_rules = NULL;
    return root;
}

static const char *dev_name(verifier *v, int64_t id)
{
    dev_state *ds = dev_find(v, id);
    return ds ? ds->d.name : "?";
}

static void text_report(verifier *v)
{
    /* TRANSLATORS: the heading of audit verify; %s is the data directory. */
    printf(_("patrold audit verify: %s\n"), v->data);
    for (size_t i = 0; i < v->ndevs; i++) {
        dev_state *ds = &v->devs[i];
        putchar('\n');
        /* TRANSLATORS: device number, name (department code): entries held,
         * the head the server acknowledged, forks, integrity failures. */
        printf(_("device %lld %s (%s): %" PRIu64 " entries, acknowledged head %" PRIu64
                 ", %" PRIu64 " forks, %" PRIu64 " integrity failures\n"),
               (long long)ds->d.id, ds->d.name, ds->d.department, ds->rows, ds->d.last_seq,
               ds->forks, ds->failures);
        if (ds->ndays) /* a device that never synced has none (and no array) */
            qsort(ds->days, ds->ndays, sizeof *ds->days, cmp_day);
        if (ds->ndays)
            /* TRANSLATORS: the heading of the per-day table; keep each
             * column's last character above the numbers' last digit:
             * date (10), entries (7), fail (5), gaps (4), forks, late,
             * clock, boots (5 each), evidence (8), flags (5), one space
             * between; a Chinese character is two columns wide. */
            printf("  %s\n", _("date       entries  fail gaps forks  late clock boots evidence flags"));
        for (size_t k = 0; k < ds->ndays; k++) {
            uint64_t *c = ds->days[k].c;
            printf("  %-10s %7" PRIu64 " %5" PRIu64 " %4" PRIu64 " %5" PRIu64 " %5" PRIu64
                   " %5" PRIu64 " %5" PRIu64 " %8" PRIu64 " %5" PRIu64 "\n",
                   ds->days[k].day, c[C_ENTRIES], c[C_FAILURES], c[C_GAPS], c[C_FORKS],
                   c[C_LATE], c[C_CLOCK], c[C_BOOTS], c[C_EVIDENCE], c[C_FLAGS]);
        }
    }
    if (v->nprobs)
        printf("\n");
    for (int sev = SEV_FAIL; sev <= SEV_NOTE; sev++)
        for (size_t i = 0; i < v->nprobs; i++) {
            problem *p = &v->probs[i];
            if (p->sev != sev)
                continue;
            if (p->device)
                /* TRANSLATORS: a problem: its tag (FAIL ...), its code (kept
                 * for scripts), the device's number (name). */
                printf(_("%s %s: device %lld (%s)"), _(sev_tag[sev]), p->code,
                       (long long)p->device, dev_name(v, p->device));
            else
                /* TRANSLATORS: a problem of the server log: tag, code. */
                printf(_("%s %s: server log"), _(sev_tag[sev]), p->code);
            if (p->seq)
                /* TRANSLATORS: the entry a problem is about, after the device. */
                printf(_(" seq %" PRIu64), p->seq);
            if (p->day[0])
                printf(" [%s]", p->day);
            /* TRANSLATORS: what is wrong, at the end of a problem's line. */
            printf(_(": %s\n"), p->text);
        }
    putchar('\n');
    /* TRANSLATORS: evidence files referenced by entries, received whole and
     * hashed again (their bytes), never received. */
    printf(_("evidence: %" PRIu64 " references, %" PRIu64 " received and hashed again (%" PRIu64
             " bytes), %" PRIu64 " never received\n"),
           v->ev_files, v->ev_complete, v->ev_bytes, v->ev_pending);
    printf(_("server log: %" PRIu64 " leaves, %" PRIu64 " signed checkpoints (rebuilt from"
             " the leaves' data); %" PRIu64 " entries cite a checkpoint; %" PRIu64
             " entries accepted before the log began\n"),
           vlog_leaves(v->log), vlog_checkpoints(v->log), v->citations, v->before_log);
    /* TRANSLATORS: how many rule flags, then each rule's code and count. */
    printf(_("rule flags: %" PRIu64), v->flags);
    for (cJSON *n = v->flag_rules ? v->flag_rules->child : NULL; n; n = n->next)
        printf("%s%s %d", n == v->flag_rules->child ? " (" : ", ", n->string,
               (int)n->valuedouble);
    printf("%s\n", v->flags ? ")" : "");
    if (v->failures)
        printf(_("result: FAILED: %" PRIu64 " integrity failures (%" PRIu64 " anomalies)\n"),
               v->failures, v->warnings);
    else
        /* TRANSLATORS: entries verified, devices, anomalies, notices. */
        printf(_("result: OK: %" PRIu64 " entries of %zu devices verified (%" PRIu64
                 " anomalies, %" PRIu64 " notices)\n"),
               v->entries, v->ndevs, v->warnings, v->notes);
}

int audit_verify(const char *data, int argc, char **argv)
{
    verifier v;
    ev_ctx ec;
    char err[512];
    int json = 0, rc = 1;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return audit_usage_error(CMD, _("unexpected argument '%s'"), argv[i]);
    }
    memset(&v, 0, sizeof v);
    v.data = data;
    if (!(v.db = audit_open(data, CMD)))
        return 1;
    if (!(v.flag_rules = cJSON_CreateObject())) {
        audit_fail(CMD, "%s", _("out of memory"));
        goto exit;
    }
    if (!(v.log = vlog_open(data, v.db, log_report, &v, err, sizeof err))) {
        audit_fail(CMD, "%s", err);
        goto exit;
    }
    if (v.db->ops->device_list(v.db, device_cb, &v) != ST_OK) {
        audit_fail(CMD, _("reading the devices: %s"), v.db->ops->errmsg(v.db));
        goto exit;
    }
    for (size_t i = 0; i < v.ndevs && !v.oom; i++)
        verify_device(&v, &v.devs[i]);
    memset(&ec, 0, sizeof ec);
    ec.v = &v;
    if (v.nevs) /* qsort takes no NULL array, even empty */
        qsort(v.evs, v.nevs, sizeof *v.evs, cmp_evref_seq);
    if (!v.oom && v.db->ops->audit_evidence(v.db, evidence_cb, &ec) != ST_OK) {
        audit_fail(CMD, _("reading the evidence index: %s"), v.db->ops->errmsg(v.db));
        goto exit;
    }
    /* An evidence.add the index does not know: the server would never
     * have accepted its file (the index was altered). */
    for (size_t i = 0; i < v.nevs && !v.oom; i++)
        if (!v.evs[i].indexed && (i == 0 || cmp_evref(&v.evs[i - 1], &v.evs[i]) != 0))
            report(&v, SEV_FAIL, "evidence_unindexed", v.evs[i].device, v.evs[i].seq,
                   v.evs[i].wall_ms, N_("evidence %s named by this entry is missing from the"
                   " evidence index"), v.evs[i].sha);
    v.log_unseen = vlog_unseen(v.log);
    if (!v.oom && v.db->ops->flags_list(v.db, 0, NULL, flag_cb, &v) != ST_OK) {
        audit_fail(CMD, _("reading the rule flags: %s"), v.db->ops->errmsg(v.db));
        goto exit;
    }
    if (v.oom) {
        audit_fail(CMD, "%s", _("out of memory"));
        goto exit;
    }
    if (json) {
        cJSON *j = json_report(&v);
        char *s = j ? cJSON_PrintUnformatted(j) : NULL;
        if (!s) {
            cJSON_Delete(j);
            audit_fail(CMD, "%s", _("out of memory"));
            goto exit;
        }
        cl_json_out(s);
        free(s);
        cJSON_Delete(j);
    } else {
        text_report(&v);
    }
    /* One line on stderr naming the first failure, for scripts and logs. */
    for (size_t i = 0; i < v.nprobs; i++)
        if (v.probs[i].sev == SEV_FAIL) {
            /* TRANSLATORS: how many integrity failures; the first: device
             * number, entry number, its code, what is wrong. */
            audit_fail(CMD, _("%" PRIu64 " integrity failures; first: device %lld seq %" PRIu64
                              ": %s: %s"),
                       v.failures, (long long)v.probs[i].device, v.probs[i].seq,
                       v.probs[i].code, v.probs[i].text);
            break;
        }
    rc = v.failures ? 1 : 0;
exit:
    for (size_t i = 0; i < v.ndevs; i++) {
        free(v.devs[i].days);
        free(v.devs[i].walls);
    }
    free(v.devs);
    free(v.probs);
    free(v.evs);
    vlog_free(v.log);
    cJSON_Delete(v.flag_rules);
    v.db->ops->close(v.db);
    return rc;
}
