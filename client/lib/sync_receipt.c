/* sync_receipt.c -- receipts (docs/protocol.md "Receipts", docs/sync.md
 * "Invariants"): a receipt is checked (px_receipt_check: the receipt key's
 * signature first, then device, batch and range), matched against this
 * journal's hash at its last entry, and stored with what it acknowledges
 * in one transaction (px_receipt_take_ack, the answer to a batch). With
 * nothing to send, an empty batch asks where the server stands
 * (px_receipt_probe); a server that lost acknowledged entries gets them,
 * and their evidence, again. Moved from sync.c, behaviour unchanged. */
#include "sync_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "frame.h"
#include "i18n.h"
#include "patrol.pb-c.h"
#include "protocol.h"

/* The stored hash of journal entry seq. */
static int journal_hash(patrol *p, uint64_t seq, uint8_t out[PX_HASH_LEN])
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(p->db, "SELECT hash FROM journal WHERE seq = ?", -1, &st, NULL);
    int err = PATROL_OK;
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the journal"));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PX_HASH_LEN)
        memcpy(out, sqlite3_column_blob(st, 0), PX_HASH_LEN);
    else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        err = px_fail(p, PATROL_ECORRUPT, _("journal entry %llu is missing or damaged (run 'patrol "
                                          "verify')"),
                      (unsigned long long)seq);
    else
        err = px_db_fail(p, rc, _("reading the journal"));
    sqlite3_finalize(st);
    return err;
}

int px_receipt_check(const px_key *receipt_key, const uint8_t *body, size_t body_len,
                     const uint8_t *sig, size_t sig_len, const uint8_t device[PX_HASH_LEN],
                     const uint8_t *batch_id, size_t batch_id_len, px_receipt *out,
                     const char **why)
{
    Patrol__V1__ReceiptBody *b;
    uint8_t digest[PX_HASH_LEN];
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!receipt_key) {
        *why = "no receipt key (enrol again)";
        return -1;
    }
    if (!body || body_len == 0 || body_len > RECEIPT_BODY_MAX) {
        *why = "the receipt is empty or too large";
        return -1;
    }
    if (!sig || sig_len != PX_SIG_LEN) {
        *why = "the receipt's signature is missing or not 64 bytes";
        return -1;
    }
    /* Signature first: nothing of an unsigned body is looked at. */
    px_sha256(body, body_len, digest);
    if (px_verify(receipt_key, digest, sig) != 0) {
        *why = "the receipt's signature does not verify with the server's receipt key";
        return -1;
    }
    if (!(b = patrol__v1__receipt_body__unpack(NULL, body_len, body))) {
        *why = "the receipt's body is not a ReceiptBody";
        return -1;
    }
    /* The key from enrolment is a P-256 key: a body naming another suite
     * was not made for it, whatever verified. */
    if (b->suite != PX_SUITE_P256_SHA256)
        *why = "the receipt names a signature suite other than its key's";
    else if (b->device.len != PX_HASH_LEN || memcmp(b->device.data, device, PX_HASH_LEN) != 0)
        *why = "the receipt names another device";
    else if (batch_id && (b->batch_id.len != batch_id_len ||
                          memcmp(b->batch_id.data, batch_id, batch_id_len) != 0))
        *why = "the receipt is for another batch";
    else if (b->last_seq > (uint64_t)INT64_MAX || b->first_seq > b->last_seq)
        *why = "the receipt's sequence range is impossible";
    else if (b->last_seq > 0 && b->head_hash.len != PX_HASH_LEN)
        *why = "the receipt has no 32-byte chain head";
    else {
        out->first_seq = b->first_seq;
        out->last_seq = b->last_seq;
        if (b->last_seq > 0)
            memcpy(out->head_hash, b->head_hash.data, PX_HASH_LEN);
        out->server_time_ms = b->server_time_ms;
        px_http_clean(b->server_name, out->server_name, sizeof out->server_name);
        rc = 0;
    }
    patrol__v1__receipt_body__free_unpacked(b, NULL);
    return rc;
}

static int forget_uploads_after(patrol *p, uint64_t seq);

/* Store a verified receipt and what it acknowledges, in one transaction.
 * A receipt below the acknowledged entry (the server lost entries) also
 * takes the evidence of the lost entries off evidence_uploaded. */
static int store_receipt(syncer *s, const uint8_t id[PX_BATCH_ID_LEN], const px_receipt *rc,
                         const Patrol__V1__Receipt *raw, uint64_t rej_seq, const char *reason,
                         const char *detail)
{
    patrol *p = s->p;
    int err;
    if ((err = px_begin(p)))
        return err;
    if (rc->last_seq < s->acked && (err = forget_uploads_after(p, rc->last_seq))) {
        px_rollback(p);
        return err;
    }
    if ((err = px_sync_run(p, "INSERT INTO receipts(server_pin, batch_id, first_seq, last_seq, head_hash,"
                      " server_time_ms, received_ms, body, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           "bbiibiibb", s->pin, (size_t)PX_HASH_LEN, id, (size_t)PX_BATCH_ID_LEN,
                           (int64_t)rc->first_seq, (int64_t)rc->last_seq, rc->head_hash,
                           (size_t)(rc->last_seq ? PX_HASH_LEN : 0), rc->server_time_ms, px_sync_now_ms(),
                           raw->body.data, raw->body.len, raw->sig.data, raw->sig.len)) ||
        (err = px_sync_run(p, "UPDATE sync_state SET acked_seq = ?, rejected_seq = ?,"
                      " rejected_reason = ?, rejected_detail = ?",
                           "iitt", (int64_t)rc->last_seq, (int64_t)rej_seq, reason, detail)) ||
        (err = px_commit(p))) {
        px_rollback(p);
        return err;
    }
    return PATROL_OK;
}

/* The answer to a batch: verify the receipt against this journal, store
 * it, and say where to go on (*next). */
/* Whether a verified receipt speaks of this journal: its chain head is
 * this journal's hash at its last_seq. */
static int receipt_matches(syncer *s, const px_receipt *rc, int *match)
{
    uint8_t ours[PX_HASH_LEN];
    int err;
    *match = 0;
    if (rc->last_seq > s->head)
        return PATROL_OK;
    if (rc->last_seq == 0) {
        *match = 1;
        return PATROL_OK;
    }
    if ((err = journal_hash(s->p, rc->last_seq, ours)))
        return err;
    *match = memcmp(ours, rc->head_hash, PX_HASH_LEN) == 0;
    return PATROL_OK;
}

/* The answer to a batch: verify the receipt against this journal, store
 * it, and say where to go on (*next). */
int px_receipt_take_ack(syncer *s, const px_batch *b, const uint8_t id[PX_BATCH_ID_LEN],
                        const answer *a, uint64_t *next)
{
    patrol *p = s->p;
    Patrol__V1__Ack *ack = patrol__v1__ack__unpack(NULL, a->len, a->body);
    Patrol__V1__EntryAck *rej = NULL;
    px_receipt rc;
    px_log_checkpoint lc;
    char reason[64] = "", detail[256] = "", other[160] = "";
    uint64_t prev = s->acked, accepted = 0, dup = 0, rej_seq = 0;
    const char *why;
    int err = PATROL_OK, match;

    if (!ack)
        return px_fail(p, PATROL_ESERVER, _("the server's answer to a batch is not an Ack"));
    if (ack->batch_id.len != PX_BATCH_ID_LEN ||
        memcmp(ack->batch_id.data, id, PX_BATCH_ID_LEN) != 0) {
        err = px_fail(p, PATROL_ESERVER, _("the server answered for another batch"));
        goto exit;
    }
    if (!ack->receipt) {
        err = px_fail(p, PATROL_ETRUST,
                      _("the server's answer to entries %llu-%llu has no receipt"),
                      (unsigned long long)b->first, (unsigned long long)b->last);
        goto exit;
    }
    if (px_receipt_check(s->receipt_key, ack->receipt->body.data, ack->receipt->body.len,
                         ack->receipt->sig.data, ack->receipt->sig.len, p->device_id, id,
                         PX_BATCH_ID_LEN, &rc, &why) != 0) {
        err = px_fail(p, PATROL_ETRUST, _("receipt for entries %llu-%llu: %s; nothing was marked "
                                        "synced"),
                      (unsigned long long)b->first, (unsigned long long)b->last, why);
        goto exit;
    }
    /* The server log's checkpoint and proof, when sent: checked before
     * anything is marked synced. */
    if ((err = px_sync_log_check(p, s->receipt_key, ack, &lc)))
        goto exit;
    for (size_t i = 0; i < ack->n_entries; i++) {
        Patrol__V1__EntryAck *e = ack->entries[i];
        if (e->status == PATROL__V1__ENTRY_STATUS__ACCEPTED)
            accepted++;
        else if (e->status == PATROL__V1__ENTRY_STATUS__DUPLICATE)
            dup++;
        else if (!rej)
            rej = e;
    }
    if (rej) {
        px_http_clean(rej->reason, reason, sizeof reason);
        px_http_clean(rej->detail, detail, sizeof detail);
        rej_seq = rej->seq;
    }
    if ((err = receipt_matches(s, &rc, &match)))
        goto exit;
    if (!match && (!rej || strcmp(reason, "gap") == 0)) {
        err = rc.last_seq > s->head
                  ? px_fail(p, PATROL_ETRUST, _("the server's receipt covers entry %llu, but this "
                                              "terminal has only %llu; nothing was marked synced"),
                            (unsigned long long)rc.last_seq, (unsigned long long)s->head)
                  : px_fail(p, PATROL_ETRUST,
                            _("the server's chain head at entry %llu is not this journal's: the "
                            "server holds another history; nothing was marked synced"),
                            (unsigned long long)rc.last_seq);
        goto exit;
    }
    if (rej && strcmp(reason, "gap") == 0) {
        /* The server lacks entries before this batch (it lost data, or this
         * terminal's acknowledged seq is from a receipt it no longer
         * honours): resend from where it says. */
        uint64_t exp = ack->expected_seq;
        if (exp < 1 || exp >= b->first || exp > rc.last_seq + 1) {
            err = px_fail(p, PATROL_ESERVER, _("the server reports a gap before entry %llu but "
                                             "expects entry %llu"),
                          (unsigned long long)b->first, (unsigned long long)exp);
            goto exit;
        }
        rej = NULL;
        rej_seq = 0;
        reason[0] = detail[0] = '\0';
        *next = exp;
        if (rc.last_seq < s->acked) {
            /* Restored from a backup, say: what it lost is resent now. */
            s->r->server_seq = rc.last_seq;
            s->r->server_lost += s->acked - rc.last_seq;
        }
    } else if (!rej && rc.last_seq < b->last) {
        err = px_fail(p, PATROL_ESERVER, _("the server accepted entries %llu-%llu but its receipt "
                                         "covers only up to %llu"),
                      (unsigned long long)b->first, (unsigned long long)b->last,
                      (unsigned long long)rc.last_seq);
        goto exit;
    } else {
        *next = rc.last_seq + 1;
    }
    if (match) {
        if ((err = store_receipt(s, id, &rc, ack->receipt, rej_seq, reason, detail)))
            goto exit;
        if ((err = px_sync_log_keep(p, s->pin, &lc)))
            goto exit;
        s->acked = rc.last_seq;
        s->r->acked_seq = rc.last_seq;
        s->r->receipts++;
        for (size_t i = 0; i < b->n; i++)
            if (b->first + i > prev && b->first + i <= rc.last_seq)
                px_sync_add_done(s, b->sizes[i]);
    } else {
        /* Rejected, and the server's chain is not this journal's (a fork:
         * its receipt covers its own entries). It proves nothing about
         * this journal: not stored, nothing marked synced. The rejection
         * is kept for 'patrol status'. */
        if ((err = px_sync_run(p, "UPDATE sync_state SET rejected_seq = ?, rejected_reason = ?,"
                          " rejected_detail = ?",
                               "itt", (int64_t)rej_seq, reason, detail)))
            goto exit;
        snprintf(other, sizeof other, "; the server holds another history up to its entry %llu, "
                                      "so nothing was marked synced",
                 (unsigned long long)rc.last_seq);
    }
    s->r->batches++;
    s->r->entries_accepted += accepted;
    s->r->entries_duplicate += dup;
    for (size_t i = 0; i < ack->n_missing_evidence; i++)
        if (px_sync_is_sha_hex(ack->missing_evidence[i]) &&
            (err = px_sync_want_add(s, ack->missing_evidence[i])))
            goto exit;
    if (rej) {
        s->r->rejected_seq = rej_seq;
        snprintf(s->r->rejected_reason, sizeof s->r->rejected_reason, "%s", reason);
        snprintf(s->r->rejected_detail, sizeof s->r->rejected_detail, "%s", detail);
        err = px_fail(p, PATROL_EREJECTED,
                      _("the server rejected entry %llu (%s)%s%s%s; later entries were not sent "
                      "and the journal is unchanged: a supervisor must look at it"),
                      (unsigned long long)rej_seq, reason[0] ? reason : "no reason given",
                      detail[0] ? ": " : "", detail, other);
    }
exit:
    patrol__v1__ack__free_unpacked(ack, NULL);
    return err;
}

/* The evidence named by entries after seq no longer counts as uploaded
 * (inside the caller's transaction): the server lost those entries, and
 * takes evidence only for entries it holds. */
static int forget_uploads_after(patrol *p, uint64_t seq)
{
    sqlite3_stmt *st;
    int rc, err = PATROL_OK;

    rc = sqlite3_prepare_v2(p->db,
                            "SELECT seq, entry FROM journal WHERE kind = 'evidence.add'"
                            " AND seq > ? ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the journal"));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *why;
        Patrol__V1__Entry *e = px_entry_decode(sqlite3_column_blob(st, 1),
                                               (size_t)sqlite3_column_bytes(st, 1), &why);
        if (!e) {
            err = px_fail(p, PATROL_ECORRUPT, _("journal entry %lld: %s (run 'patrol verify')"),
                          (long long)sqlite3_column_int64(st, 0), why);
            break;
        }
        for (size_t i = 0; i < e->n_fields; i++)
            if (strcmp(e->fields[i]->name, "sha256") == 0)
                err = px_sync_run(p, "DELETE FROM evidence_uploaded WHERE sha256 = ?", "t",
                                  e->fields[i]->value);
        px_entry_free(e);
    }
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = px_db_fail(p, rc, _("reading the journal"));
    sqlite3_finalize(st);
    return err;
}

/* Where the server stands, when there is nothing to send (otherwise the
 * first batch's answer tells): an empty Batch (it
 * stores nothing and leaves no trace, docs/protocol.md) is answered with
 * an Ack whose signed receipt covers 1..the server's head for this device
 * and lists the evidence it lacks. A server behind the acknowledged entry
 * (restored from a backup, say) has lost entries it once acknowledged:
 * acked_seq drops to what it holds, in one transaction with its receipt,
 * the evidence of the lost entries no longer counts as uploaded, and the
 * sync resends all of it at once; a chain there that is not this
 * journal's stops the sync, as a batch's receipt would. A server at or
 * ahead of it changes nothing here: the batches settle that. */
int px_receipt_probe(syncer *s)
{
    patrol *p = s->p;
    Patrol__V1__Batch b = PATROL__V1__BATCH__INIT;
    Patrol__V1__Ack *ack = NULL;
    uint8_t id[PX_BATCH_ID_LEN], *raw = NULL, *frame = NULL;
    size_t rawlen, framelen;
    px_receipt rc;
    px_log_checkpoint lc;
    request rq;
    answer a;
    const char *why;
    int err = PATROL_OK, match;

    memset(&a, 0, sizeof a);
    s->pr.phase = "entries";
    if (px_random(id, sizeof id) != 0)
        return px_fail(p, PATROL_ECRYPTO, _("no randomness for a batch id"));
    b.protocol = PX_PROTOCOL_VERSION;
    b.batch_id.data = id;
    b.batch_id.len = PX_BATCH_ID_LEN;
    b.device.data = p->device_id;
    b.device.len = PX_HASH_LEN;
    rawlen = patrol__v1__batch__get_packed_size(&b);
    if (!(raw = malloc(rawlen))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    patrol__v1__batch__pack(&b, raw);
    if (px_frame_encode(raw, rawlen, &frame, &framelen, &why) != 0) {
        err = px_fail(p, PATROL_ENOMEM, _("compressing a batch: %s"), why);
        goto exit;
    }
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = "/v1/batches";
    rq.content_type = "application/x-patrol-batch";
    rq.body = frame;
    rq.body_len = framelen;
    rq.max_answer = MAX_ACK;
    if ((err = px_http_retry(&s->c, &rq, &a, _("asking the server what it holds"))))
        goto exit;
    if (a.status != 200) {
        err = px_http_refusal(&s->c, &a, _("asking the server what it holds"), PATROL_ESERVER, NULL, 0);
        goto exit;
    }
    if (!(ack = patrol__v1__ack__unpack(NULL, a.len, a.body))) {
        err = px_fail(p, PATROL_ESERVER, _("the server's answer to a batch is not an Ack"));
        goto exit;
    }
    if (ack->batch_id.len != PX_BATCH_ID_LEN ||
        memcmp(ack->batch_id.data, id, PX_BATCH_ID_LEN) != 0) {
        err = px_fail(p, PATROL_ESERVER, _("the server answered for another batch"));
        goto exit;
    }
    if (!ack->receipt || px_receipt_check(s->receipt_key, ack->receipt->body.data,
                                          ack->receipt->body.len, ack->receipt->sig.data,
                                          ack->receipt->sig.len, p->device_id, id,
                                          PX_BATCH_ID_LEN, &rc, &why) != 0) {
        err = px_fail(p, PATROL_ETRUST, _("the server's receipt for what it holds: %s; nothing "
                                          "was marked synced"),
                      ack->receipt ? why : _("missing"));
        goto exit;
    }
    if ((err = px_sync_log_check(p, s->receipt_key, ack, &lc)))
        goto exit;
    s->r->server_seq = rc.last_seq;
    if (rc.last_seq >= s->acked) {
        /* Holding all that it acknowledged (or more: the batches settle
         * that, entry by entry, with their receipts and log proofs). */
        for (size_t i = 0; i < ack->n_missing_evidence && !err; i++)
            if (px_sync_is_sha_hex(ack->missing_evidence[i]))
                err = px_sync_want_add(s, ack->missing_evidence[i]);
        goto exit;
    }
    if ((err = receipt_matches(s, &rc, &match)))
        goto exit;
    if (!match) {
        err = px_fail(p, PATROL_ETRUST,
                      _("the server's chain head at entry %llu is not this journal's: the "
                        "server holds another history; nothing was marked synced"),
                      (unsigned long long)rc.last_seq);
        goto exit;
    }
    if ((err = px_begin(p)))
        goto exit;
    if ((err = px_sync_run(p, "INSERT INTO receipts(server_pin, batch_id, first_seq, last_seq,"
                      " head_hash, server_time_ms, received_ms, body, sig)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           "bbiibiibb", s->pin, (size_t)PX_HASH_LEN, id, (size_t)PX_BATCH_ID_LEN,
                           (int64_t)rc.first_seq, (int64_t)rc.last_seq, rc.head_hash,
                           (size_t)(rc.last_seq ? PX_HASH_LEN : 0), rc.server_time_ms, px_sync_now_ms(),
                           ack->receipt->body.data, ack->receipt->body.len, ack->receipt->sig.data,
                           ack->receipt->sig.len)) ||
        (err = px_sync_run(p, "UPDATE sync_state SET acked_seq = ?", "i", (int64_t)rc.last_seq))) {
        px_rollback(p);
        goto exit;
    }
    /* Evidence the server says it lacks, and that of the entries it lost,
     * is not uploaded whatever this store noted: sent again (HEAD first). */
    for (size_t i = 0; i < ack->n_missing_evidence && !err; i++)
        if (px_sync_is_sha_hex(ack->missing_evidence[i]))
            err = px_sync_run(p, "DELETE FROM evidence_uploaded WHERE sha256 = ?", "t",
                              ack->missing_evidence[i]);
    if (!err)
        err = forget_uploads_after(p, rc.last_seq);
    if (err || (err = px_commit(p))) {
        px_rollback(p);
        goto exit;
    }
    if ((err = px_sync_log_keep(p, s->pin, &lc)))
        goto exit;
    for (size_t i = 0; i < ack->n_missing_evidence && !err; i++)
        if (px_sync_is_sha_hex(ack->missing_evidence[i]))
            err = px_sync_want_add(s, ack->missing_evidence[i]);
    s->r->server_lost = s->acked - rc.last_seq;
    s->r->receipts++;
    s->acked = s->acked_start = rc.last_seq;
    s->r->acked_seq = rc.last_seq;
exit:
    if (ack)
        patrol__v1__ack__free_unpacked(ack, NULL);
    px_http_answer_free(&a);
    free(raw);
    free(frame);
    return err;
}
