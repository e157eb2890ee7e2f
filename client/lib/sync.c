/* sync.c -- the terminal side of sync (docs/protocol.md, docs/sync.md):
 * enrolment, batches of signed entries acknowledged by verified receipts,
 * resumable evidence upload (tus style) and the reference data pull.
 *
 * The pieces, one noun a file (sync_int.h lists them): the token
 * (sync_token.c), enrolment (sync_enroll.c), batches (sync_batch.c),
 * receipts (sync_receipt.c), evidence upload (sync_upload.c), reference
 * data (sync_reference.c), citations (sync_cited.c), the server log
 * (sync_log.c) and status (sync_status.c). This file owns the run of
 * patrol_sync: options, progress, the order of the phases, and the store
 * helpers the pieces share (px_sync_ prefix).
 *
 * Network: sync_http.c (one pinned libcurl connection a call, timeouts,
 * retries). After enrolment every request presents the client certificate
 * (STORE/client.crt, written from the database) and the device key
 * (STORE/device.key).
 *
 * Invariants:
 *  - sync_state.acked_seq only ever comes from a receipt whose signature
 *    verified with the receipt key from enrolment, that names this device
 *    and this batch, and whose chain head is this journal's hash there.
 *  - The journal is only read. No transaction is open during network I/O.
 *  - Evidence offsets come from the server (HEAD, or the answer to a
 *    PATCH), never from what the terminal believes it sent.
 *  - Memory is bounded by one batch (1 MiB) and one evidence chunk (4 MiB),
 *    whatever the size of the journal or the evidence.
 */
#include "sync_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "validate.h"

#define KEY_NAME "device.key"
#define PROGRESS_EVERY_MS 250

#define DEF_ATTEMPTS 8
#define DEF_BACKOFF_MS 500
#define DEF_BACKOFF_MAX_MS 30000
#define DEF_TIMEOUT_S 3600
#define DEF_CONNECT_S 20
#define DEF_LOW_SPEED 64
#define DEF_LOW_SPEED_S 30

int64_t px_sync_mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t px_sync_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- store helpers ------------------------------------------------------ */

/* Run one statement; types: 't' text, 'i' int64, 'b' blob (pointer, size_t). */
int px_sync_run(patrol *p, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("writing the store"));
    va_start(ap, types);
    for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
        if (types[i] == 't') {
            const char *s = va_arg(ap, const char *);
            rc = sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
        } else if (types[i] == 'i') {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else {
            const void *b = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = sqlite3_bind_blob(st, i + 1, b, (int)n, SQLITE_TRANSIENT);
        }
    }
    va_end(ap);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? PATROL_OK : px_db_fail(p, rc, _("writing the store"));
}

/* The integer columns of the first row of sql (with one optional int64
 * argument) into out[0..n). PATROL_ENOTFOUND without a row. */
int px_sync_ints(patrol *p, const char *sql, int has_arg, int64_t arg, int64_t *out, int n)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL), err = PATROL_OK;
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the store"));
    if (has_arg)
        sqlite3_bind_int64(st, 1, arg);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            out[i] = sqlite3_column_int64(st, i);
    } else {
        err = rc == SQLITE_DONE ? PATROL_ENOTFOUND : px_db_fail(p, rc, _("reading the store"));
    }
    sqlite3_finalize(st);
    return err;
}

const patrol_sync_opts *px_sync_resolve_opts(const patrol_sync_opts *in, patrol_sync_opts *o)
{
    if (in)
        *o = *in;
    else
        memset(o, 0, sizeof *o);
#define DEF(f, v)                                                                                  \
    if (!o->f)                                                                                     \
    o->f = (v)
    DEF(max_attempts, DEF_ATTEMPTS);
    DEF(backoff_initial_ms, DEF_BACKOFF_MS);
    DEF(backoff_max_ms, DEF_BACKOFF_MAX_MS);
    DEF(timeout_s, DEF_TIMEOUT_S);
    DEF(connect_timeout_s, DEF_CONNECT_S);
    DEF(low_speed_bytes, DEF_LOW_SPEED);
    DEF(low_speed_s, DEF_LOW_SPEED_S);
    DEF(batch_entries, PX_SYNC_BATCH_ENTRIES);
    DEF(batch_bytes, PX_BATCH_MAX_BYTES);
    DEF(chunk_bytes, CHUNK_MAX);
#undef DEF
    if (o->batch_entries > PX_SYNC_BATCH_ENTRIES)
        o->batch_entries = PX_SYNC_BATCH_ENTRIES;
    if (o->batch_bytes > PX_BATCH_MAX_BYTES)
        o->batch_bytes = PX_BATCH_MAX_BYTES;
    if (o->chunk_bytes > CHUNK_MAX)
        o->chunk_bytes = CHUNK_MAX;
    if (o->backoff_max_ms < o->backoff_initial_ms)
        o->backoff_max_ms = o->backoff_initial_ms;
    return o;
}

/* ---- sync ----------------------------------------------------------------- */

void px_sync_defer(syncer *s, int err)
{
    if (!s->deferred) {
        s->deferred = err;
        snprintf(s->deferred_msg, sizeof s->deferred_msg, "%s", s->p->errmsg);
    }
}

void px_sync_emit(syncer *s, uint64_t inflight, int force)
{
    patrol_sync_progress v;
    int64_t now = px_sync_mono_ms();
    double done;

    if (!s->o.progress || (!force && now - s->last_emit < PROGRESS_EVERY_MS))
        return;
    if (inflight > s->inflight_cap)
        inflight = s->inflight_cap;
    if (s->pr.bytes_done + inflight > s->pr.bytes_total)
        s->pr.bytes_total = s->pr.bytes_done + inflight;
    done = (double)(s->pr.bytes_done + inflight);
    /* The rate: a moving average of one-second samples; until the first
     * sample, the average since the start. */
    if (now - s->rate_ms >= 1000) {
        double inst = (done - s->rate_bytes) * 1000.0 / (double)(now - s->rate_ms);
        if (inst < 0)
            inst = 0;
        s->rate = s->rate > 0 ? 0.7 * s->rate + 0.3 * inst : inst;
        s->rate_ms = now;
        s->rate_bytes = done;
    }
    v = s->pr;
    v.rate = s->rate;
    if (v.rate <= 0 && now - s->start_ms >= 100)
        v.rate = done * 1000.0 / (double)(now - s->start_ms);
    v.bytes_done = (uint64_t)done;
    v.entries_done = s->acked > s->acked_start ? s->acked - s->acked_start : 0;
    if (v.entries_done > v.entries_total)
        v.entries_done = v.entries_total;
    s->last_emit = now;
    s->o.progress(s->o.progress_ud, &v);
}

static void on_progress(void *ud, uint64_t sent_now)
{
    px_sync_emit(ud, sent_now, 0);
}

void px_sync_add_done(syncer *s, int64_t delta)
{
    if (delta < 0 && (uint64_t)-delta > s->pr.bytes_done)
        s->pr.bytes_done = 0;
    else
        s->pr.bytes_done += (uint64_t)delta;
}

int px_sync_want_add(syncer *s, const char *sha)
{
    if (s->n_want == s->cap_want) {
        size_t cap = s->cap_want ? 2 * s->cap_want : 64;
        char(*n)[65] = realloc(s->want, cap * sizeof *n);
        if (!n)
            return px_fail(s->p, PATROL_ENOMEM, _("out of memory"));
        s->want = n;
        s->cap_want = cap;
    }
    snprintf(s->want[s->n_want++], 65, "%s", sha);
    return PATROL_OK;
}

int px_sync_is_sha_hex(const char *s)
{
    uint8_t tmp[PX_HASH_LEN];
    return s && strlen(s) == 64 && px_parse_hex(s, tmp, sizeof tmp) == NULL;
}

/* One GET for the citations pull (sync_cited.c), on the sync's connection. */
static int cited_get(void *ud, const char *path, size_t max, long *status, uint8_t **body,
                     size_t *len)
{
    syncer *s = ud;
    request rq;
    answer a;
    int err;

    memset(&rq, 0, sizeof rq);
    memset(&a, 0, sizeof a);
    rq.method = "GET";
    rq.path = path;
    rq.max_answer = max;
    s->pr.phase = "citations";
    px_sync_emit(s, 0, 1);
    if ((err = px_http_retry(&s->c, &rq, &a, _("pulling citations"))) == PATROL_OK) {
        *status = a.status;
        *body = a.body;
        *len = a.len;
        a.body = NULL;
    }
    px_http_answer_free(&a);
    return err;
}

/* The enrolment row: URL, pin, receipt key and client certificate. */
static int load_server(syncer *s, char *url, size_t urllen, char **cert)
{
    patrol *p = s->p;
    sqlite3_stmt *st;
    const char *why;
    int rc, err = PATROL_OK;

    *cert = NULL;
    rc = sqlite3_prepare_v2(p->db, "SELECT url, pin, receipt_key, client_cert FROM sync_server",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the enrolment"));
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = px_fail(p, PATROL_ESTATE, _("this terminal is not enrolled with a server: run "
                                          "'patrol enroll --server URL --token TOKEN' first"));
    } else if (rc != SQLITE_ROW) {
        err = px_db_fail(p, rc, _("reading the enrolment"));
    } else if (sqlite3_column_bytes(st, 1) != PX_HASH_LEN ||
               px_key_from_public_der(sqlite3_column_blob(st, 2),
                                      (size_t)sqlite3_column_bytes(st, 2), &s->receipt_key,
                                      &why) != 0 ||
               !sqlite3_column_text(st, 3)) {
        err = px_fail(p, PATROL_ECORRUPT, _("the enrolment record is damaged: enrol again"));
    } else {
        snprintf(url, urllen, "%s", (const char *)sqlite3_column_text(st, 0));
        memcpy(s->pin, sqlite3_column_blob(st, 1), PX_HASH_LEN);
        if (!(*cert = strdup((const char *)sqlite3_column_text(st, 3))))
            err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
    }
    sqlite3_finalize(st);
    return err;
}

static int sync_locked(patrol *p, const patrol_sync_opts *uo, patrol_sync_result *ur)
{
    syncer s;
    patrol_sync_result r;
    uint8_t hash[PX_HASH_LEN];
    char url[URL_MAX + 1], *cert = NULL, *certpath = NULL, *keypath = NULL;
    int64_t t0 = px_sync_mono_ms(), v[2] = {0, 0};
    uint64_t pulled = 0;
    int err;

    memset(&s, 0, sizeof s);
    memset(&r, 0, sizeof r);
    p->errmsg[0] = '\0';
    s.p = p;
    s.r = &r;
    px_sync_resolve_opts(uo, &s.o);
    if ((err = load_server(&s, url, sizeof url, &cert)) || (err = px_enroll_cert_file(p, cert, &certpath)))
        goto exit;
    if (!(keypath = px_path(p, KEY_NAME))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    if ((err = px_journal_head(p, &s.head, hash)) ||
        (err = px_sync_ints(p, "SELECT acked_seq FROM sync_state", 0, 0, v, 1)))
        goto exit;
    s.acked = s.acked_start = (uint64_t)v[0];
    r.head_seq = s.head;
    r.acked_seq = s.acked;
    s.start_ms = s.rate_ms = s.last_emit = px_sync_mono_ms();
    if ((err = px_http_open(&s.c, p, url, s.pin, certpath, keypath, &s.o)))
        goto exit;
    s.c.on_progress = on_progress;
    s.c.progress_ud = &s;
    /* First what the server holds: after a restore it may hold less than
     * it once acknowledged. With entries to send, the first batch's Ack
     * tells (a "gap" answer names the entry the server expects); with
     * none, an empty batch asks. */
    r.server_seq = s.acked;
    if (s.acked >= s.head && (err = px_receipt_probe(&s)))
        goto exit;
    /* What there is to send, for the progress bar. */
    s.pr.entries_total = s.head > s.acked ? s.head - s.acked : 0;
    if ((err = px_sync_ints(p, "SELECT coalesce(sum(length(entry) + length(sig)), 0) FROM journal"
                       " WHERE seq > ?",
                            1, (int64_t)s.acked, v, 1)))
        goto exit;
    s.pr.bytes_total = (uint64_t)v[0];
    if (!s.o.no_evidence) {
        if ((err = px_sync_ints(p, "SELECT coalesce(sum(size), 0) FROM evidence WHERE sha256 NOT IN"
                           " (SELECT sha256 FROM evidence_uploaded)",
                                0, 0, v, 1)))
            goto exit;
        s.pr.bytes_total += (uint64_t)v[0];
    }

    err = px_batch_send(&s);
    if (err == PATROL_EREJECTED) {
        px_sync_defer(&s, err);
        err = PATROL_OK;
    }
    if (!err && !s.o.no_evidence)
        err = px_upload_evidence(&s);
    if (!err && !s.o.no_reference)
        err = px_reference_pull(&s);
    if (!err && !s.o.no_reference &&
        (err = px_sync_cited(p, cited_get, &s, &pulled)) == PATROL_ESERVER) {
        px_sync_defer(&s, err); /* county-wide citations: reported, the sync goes on */
        err = PATROL_OK;
    }
    if (!err)
        err = px_sync_run(p, "UPDATE sync_state SET last_sync_ms = ?", "i", px_sync_now_ms());
    s.pr.phase = "done";
    px_sync_emit(&s, 0, 1);
exit:
    r.bytes_sent = s.c.sent;
    r.retries = s.c.retries;
    px_http_close(&s.c);
    if (!err && s.deferred) {
        err = s.deferred;
        snprintf(p->errmsg, sizeof p->errmsg, "%s", s.deferred_msg);
    }
    if (px_sync_ints(p, "SELECT count(*) FROM evidence WHERE sha256 NOT IN"
                " (SELECT sha256 FROM evidence_uploaded)",
                     0, 0, v, 1) == PATROL_OK)
        r.evidence_pending = (uint64_t)v[0];
    if (!r.reference_version &&
        px_sync_ints(p, "SELECT reference_version FROM sync_state", 0, 0, v, 1) == PATROL_OK)
        r.reference_version = (uint64_t)v[0];
    r.duration_ms = px_sync_mono_ms() - t0;
    px_key_free(s.receipt_key);
    free(s.want);
    free(s.chunk);
    free(cert);
    free(certpath);
    free(keypath);
    if (ur)
        *ur = r;
    return err;
}

int patrol_sync(patrol *p, const patrol_sync_opts *uo, patrol_sync_result *ur)
{
    int err;
    p->errmsg[0] = '\0';
    if ((err = px_sync_lock(p))) {
        if (ur)
            memset(ur, 0, sizeof *ur);
        return err;
    }
    err = sync_locked(p, uo, ur);
    px_sync_unlock(p);
    return err;
}
