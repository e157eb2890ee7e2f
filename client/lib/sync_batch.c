/* sync_batch.c -- batches (docs/protocol.md "POST /v1/batches"): the
 * signed entries after the acknowledged one, encoded as a Batch in an LZ4
 * frame of at most 1 MiB (px_batch_build), and sent one after another
 * (px_batch_send): a retry resends the same batch id, a batch halves on a
 * link too slow for it, and each answer goes to px_receipt_take_ack.
 * Moved from sync.c, behaviour unchanged. */
#include "sync_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "frame.h"
#include "i18n.h"
#include "patrol.pb-c.h"
#include "protocol.h"

#define BATCH_MIN_BYTES ((size_t)64 << 10) /* a batch shrinks to this on timeouts */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void px_batch_free(px_batch *b)
{
    if (!b)
        return;
    free(b->frame);
    free(b->sizes);
    memset(b, 0, sizeof *b);
}

int px_batch_build(patrol *p, uint64_t from, size_t max_entries, size_t max_bytes,
                   const uint8_t batch_id[PX_BATCH_ID_LEN], px_batch *out)
{
    Patrol__V1__Batch b = PATROL__V1__BATCH__INIT;
    Patrol__V1__SignedEntry *se = NULL, **sep = NULL;
    uint8_t *arena = NULL, *raw = NULL;
    sqlite3_stmt *st = NULL;
    size_t total, used = 0, n = 0, packed, arena_cap;
    const char *why;
    int rc, err = PATROL_OK;

    memset(out, 0, sizeof *out);
    if (max_entries == 0 || max_entries > PX_SYNC_BATCH_ENTRIES)
        max_entries = PX_SYNC_BATCH_ENTRIES;
    if (max_bytes == 0 || max_bytes > PX_BATCH_MAX_BYTES)
        max_bytes = PX_BATCH_MAX_BYTES;
    /* protocol, batch_id and device; then per entry its SignedEntry. */
    total = 1 + varint_len(PX_PROTOCOL_VERSION) + 2 + PX_BATCH_ID_LEN + 2 + PX_HASH_LEN;
    /* The first entry goes in even if it alone is over max_bytes. */
    arena_cap = max_bytes > PX_ENTRY_MAX + PX_SIG_LEN ? max_bytes : PX_ENTRY_MAX + PX_SIG_LEN;
    se = calloc(max_entries, sizeof *se);
    sep = calloc(max_entries, sizeof *sep);
    out->sizes = calloc(max_entries, sizeof *out->sizes);
    arena = malloc(arena_cap);
    if (!se || !sep || !out->sizes || !arena) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    rc = sqlite3_prepare_v2(p->db, "SELECT seq, entry, sig FROM journal WHERE seq >= ?"
                                   " ORDER BY seq LIMIT ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        err = px_db_fail(p, rc, _("reading the journal"));
        goto exit;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max_entries);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        size_t elen = (size_t)sqlite3_column_bytes(st, 1);
        size_t slen = (size_t)sqlite3_column_bytes(st, 2);
        size_t se_size, add;

        if (seq != from + n) {
            err = px_fail(p, PATROL_ECORRUPT,
                          _("journal entry %llu is missing (run 'patrol verify')"),
                          (unsigned long long)(from + n));
            goto exit;
        }
        if (slen != PX_SIG_LEN || elen == 0 || elen > PX_ENTRY_MAX) {
            err = px_fail(p, PATROL_ECORRUPT,
                          _("journal entry %llu is damaged (run 'patrol verify')"),
                          (unsigned long long)seq);
            goto exit;
        }
        se_size = 1 + varint_len(elen) + elen + 1 + varint_len(PX_SIG_LEN) + PX_SIG_LEN;
        add = 1 + varint_len(se_size) + se_size;
        if (n > 0 && total + add > max_bytes)
            break;
        memcpy(arena + used, sqlite3_column_blob(st, 1), elen);
        memcpy(arena + used + elen, sqlite3_column_blob(st, 2), PX_SIG_LEN);
        patrol__v1__signed_entry__init(&se[n]);
        se[n].entry.data = arena + used;
        se[n].entry.len = elen;
        se[n].sig.data = arena + used + elen;
        se[n].sig.len = PX_SIG_LEN;
        sep[n] = &se[n];
        out->sizes[n] = (uint32_t)(elen + PX_SIG_LEN);
        used += elen + PX_SIG_LEN;
        total += add;
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = px_db_fail(p, rc, _("reading the journal"));
        goto exit;
    }
    if (n == 0) {
        err = px_fail(p, PATROL_ENOTFOUND, _("there is no journal entry %llu to send"),
                      (unsigned long long)from);
        goto exit;
    }
    b.protocol = PX_PROTOCOL_VERSION;
    b.batch_id.data = (uint8_t *)batch_id;
    b.batch_id.len = PX_BATCH_ID_LEN;
    b.device.data = p->device_id;
    b.device.len = PX_HASH_LEN;
    b.entries = sep;
    b.n_entries = n;
    packed = patrol__v1__batch__get_packed_size(&b);
    if (packed != total || !(raw = malloc(packed))) {
        err = packed != total ? px_fail(p, PATROL_EIO,
                                        _("batch size %zu differs from its plan %zu"), packed,
                                        total)
                              : px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    patrol__v1__batch__pack(&b, raw);
    if (px_frame_encode(raw, packed, &out->frame, &out->frame_len, &why) != 0) {
        err = px_fail(p, PATROL_ENOMEM, _("compressing a batch: %s"), why);
        goto exit;
    }
    out->raw_len = packed;
    out->first = from;
    out->last = from + n - 1;
    out->n = n;
exit:
    sqlite3_finalize(st);
    free(raw);
    free(arena);
    free(sep);
    free(se);
    if (err)
        px_batch_free(out);
    return err;
}

int px_batch_send(syncer *s)
{
    patrol *p = s->p;
    uint64_t from = s->acked + 1;
    size_t budget = s->o.batch_bytes;
    unsigned tries = 0;
    uint8_t id[PX_BATCH_ID_LEN];
    px_batch b;
    answer a;
    int err = PATROL_OK;

    memset(&b, 0, sizeof b);
    memset(&a, 0, sizeof a);
    s->pr.phase = "entries";
    px_sync_emit(s, 0, 1);
    for (;;) {
        request rq;
        int rebuild = 0;
        uint64_t raw = 0;

        if (from > s->head) {
            /* Entries recorded while this sync ran go too: the journal
             * only grows, and each receipt names its own last entry. */
            uint8_t hh[PX_HASH_LEN];
            uint64_t h;
            if ((err = px_journal_head(p, &h, hh)))
                break;
            if (h < from)
                break;
            s->pr.entries_total += h - s->head;
            s->head = h;
            s->r->head_seq = h;
        }

        px_batch_free(&b);
        if (px_random(id, sizeof id) != 0) {
            err = px_fail(p, PATROL_ECRYPTO, _("no randomness for a batch id"));
            break;
        }
        if ((err = px_batch_build(p, from, s->o.batch_entries, budget, id, &b)))
            break;
        for (size_t i = 0; i < b.n; i++)
            raw += b.sizes[i];
        memset(&rq, 0, sizeof rq);
        rq.method = "POST";
        rq.path = "/v1/batches";
        rq.content_type = "application/x-patrol-batch";
        rq.body = b.frame;
        rq.body_len = b.frame_len;
        rq.max_answer = MAX_ACK;
        /* A retry resends the same batch id: the server answers a batch
         * it has seen with its stored answer and stores nothing twice. */
        for (;;) {
            int k;
            s->inflight_cap = raw;
            k = px_http_attempt(&s->c, &rq, &a, &err);
            s->inflight_cap = 0;
            if (k == PX_ATT_FAIL)
                goto exit;
            if (k == PX_ATT_ANSWER && !px_http_retryable(a.status))
                break;
            if (k == PX_ATT_ANSWER)
                snprintf(s->c.why, sizeof s->c.why, "POST /v1/batches: the server answered %ld%s%s",
                         a.status, a.reason[0] ? " " : "", a.reason);
            if ((err = px_http_backoff(&s->c, &tries, k == PX_ATT_ANSWER ? &a : NULL,
                                       _("sending entries"))))
                goto exit;
            /* Too slow a link for this batch in one request: smaller. */
            if ((s->c.timed_out || (k == PX_ATT_ANSWER && a.status == 408)) && b.n > 1 &&
                budget > BATCH_MIN_BYTES) {
                budget /= 2;
                rebuild = 1;
                break;
            }
        }
        if (rebuild)
            continue;
        tries = 0;
        s->r->bytes_sent = s->c.sent;
        if (a.status != 200) {
            err = px_http_refusal(&s->c, &a, _("sending entries"), PATROL_ESERVER, NULL, 0);
            break;
        }
        err = px_receipt_take_ack(s, &b, id, &a, &from);
        px_sync_emit(s, 0, 1);
        if (err)
            break;
    }
exit:
    s->r->bytes_sent = s->c.sent;
    px_batch_free(&b);
    px_http_answer_free(&a);
    return err;
}
