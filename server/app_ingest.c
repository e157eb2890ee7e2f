/* app_ingest.c -- POST /v1/batches (docs/protocol.md "Batches"): durable,
 * idempotent ingest. A batch is checked against a snapshot of the
 * device's chain outside any write transaction (decoding, rules, sequence,
 * chain link, every signature, on every core), then stored with its
 * signed receipt, its index rows and log leaves in one transaction; a
 * batch id seen before is answered with its stored answer. Moved from
 * app.c, behaviour unchanged. */
#include "app_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "entry.h"
#include "evidence.h"
#include "frame.h"
#include "crypto_verify.h"
#include "index.h"
#include "patrol.pb-c.h"
#include "rules.h"
#include "slog.h"
#include "validate.h"

static int64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void index_error(app *a, srv_response *rs, const idx *ix)
{
    app_log("error", "event=index error=\"%s\"", idx_errmsg(ix));
    app_reply_error(a, rs, 503, "storage", 0, "the server could not index the batch; try again");
}

typedef struct pending {
    Patrol__V1__Entry *e;
    const Patrol__V1__SignedEntry *se;
    uint8_t hash[PX_HASH_LEN];
} pending;

typedef struct forked {
    Patrol__V1__Entry *e;
    const Patrol__V1__SignedEntry *se;
    uint8_t hash[PX_HASH_LEN];
    uint8_t accepted[PX_HASH_LEN];
} forked;

static const char *field_of(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0)
            return e->fields[i]->value;
    return NULL;
}

typedef struct miss_ctx {
    char **list;
    size_t n;
} miss_ctx;

static int miss_cb(void *ud, const char *sha)
{
    miss_ctx *m = ud;
    m->list[m->n] = strdup(sha);
    if (m->list[m->n])
        m->n++;
    return 0;
}

static void set_ack(Patrol__V1__EntryAck *ea, uint64_t seq, Patrol__V1__EntryStatus st,
                    const char *reason, const char *detail)
{
    patrol__v1__entry_ack__init(ea);
    ea->seq = seq;
    ea->status = st;
    ea->reason = (char *)(reason ? reason : "");
    ea->detail = (char *)(detail ? detail : "");
}

/* The checks of one batch against a snapshot of the device's chain (head
 * seq and hash), done outside any write transaction: decoding, rules,
 * sequence, chain link, and every entry's signature. */
typedef struct batch_check {
    Patrol__V1__EntryAck *acks;
    char (*details)[160];
    pending *pend;
    size_t npend;
    forked *forks;
    size_t nforks;
    uint64_t last;
    uint8_t head[PX_HASH_LEN];
    const uint8_t *sig_ok; /* sig_ok[i]: entry i's signature verifies (verify_batch) */
} batch_check;

static void check_reset(batch_check *c)
{
    for (size_t i = 0; i < c->npend; i++)
        px_entry_free(c->pend[i].e);
    for (size_t i = 0; i < c->nforks; i++)
        px_entry_free(c->forks[i].e);
    c->npend = c->nforks = 0;
}

static int check_batch(st_backend *db, const st_device *dev, const Patrol__V1__Batch *b,
                       batch_check *c)
{
    const char *why;
    uint64_t prev_seq = 0;
    int rejected = 0;

    for (size_t i = 0; i < b->n_entries; i++) {
        const Patrol__V1__SignedEntry *se = b->entries[i];
        Patrol__V1__Entry *e;
        uint8_t hash[PX_HASH_LEN], old[PX_HASH_LEN];
        uint64_t seq;
        const char *reason = NULL, *detail = NULL;

        e = px_entry_decode(se->entry.data, se->entry.len, &why);
        if (rejected) {
            set_ack(&c->acks[i], e ? e->seq : 0, PATROL__V1__ENTRY_STATUS__REJECTED,
                    "after_rejected", "an earlier entry of this batch was rejected");
            px_entry_free(e);
            continue;
        }
        if (!e) {
            snprintf(c->details[i], sizeof c->details[i], "%s", why);
            set_ack(&c->acks[i], 0, PATROL__V1__ENTRY_STATUS__REJECTED, "bad_encoding",
                    c->details[i]);
            rejected = 1;
            continue;
        }
        seq = e->seq;
        px_entry_hash(se->entry.data, se->entry.len, hash);
        if (se->sig.len != PX_SIG_LEN) {
            reason = "bad_signature", detail = "signature must be 64 bytes";
        } else if (memcmp(e->device.data, dev->key_id, PX_HASH_LEN) != 0) {
            reason = "wrong_device", detail = "the entry names another device";
        } else if (i > 0 && seq <= prev_seq) {
            reason = "out_of_order", detail = "sequence numbers in a batch must increase";
        } else if (seq <= c->last) {
            int rc = db->ops->entry_hash(db, dev->id, seq, old);
            if (rc != ST_OK) {
                px_entry_free(e);
                return -1;
            }
            if (memcmp(old, hash, PX_HASH_LEN) == 0) {
                set_ack(&c->acks[i], seq, PATROL__V1__ENTRY_STATUS__DUPLICATE, "", "");
                prev_seq = seq;
                px_entry_free(e);
                continue;
            }
            /* Another entry with a stored seq. Quarantined (never stored
             * over the accepted one) only when the device really signed
             * it: then it is proof of two histories. */
            if (!c->sig_ok[i]) {
                reason = "bad_signature",
                detail = "the signature does not verify with the enrolled device key";
            } else {
                c->forks[c->nforks].e = e;
                c->forks[c->nforks].se = se;
                memcpy(c->forks[c->nforks].hash, hash, PX_HASH_LEN);
                memcpy(c->forks[c->nforks].accepted, old, PX_HASH_LEN);
                c->nforks++;
                set_ack(&c->acks[i], seq, PATROL__V1__ENTRY_STATUS__REJECTED, "fork",
                        "another entry with this sequence number is stored; this one is "
                        "quarantined for supervisors");
                rejected = 1;
                continue;
            }
        } else if (seq != c->last + 1) {
            snprintf(c->details[i], sizeof c->details[i], "expected entry %llu, got %llu",
                     (unsigned long long)(c->last + 1), (unsigned long long)seq);
            reason = "gap", detail = c->details[i];
        } else if (px_rules_check_entry(e, c->details[i], sizeof c->details[i]) != 0) {
            reason = "bad_rules", detail = c->details[i];
        } else if (seq == 1 && (strcmp(e->kind, "device.init") != 0 ||
                                !field_of(e, "public_key"))) {
            reason = "bad_rules", detail = "entry 1 must introduce the enrolled device key";
        } else if (memcmp(e->prev_hash.data, c->head, PX_HASH_LEN) != 0) {
            reason = "chain_broken", detail = "previous hash does not match the stored chain";
        } else if (!c->sig_ok[i]) {
            /* Every signature is checked: the server receipts and stores
             * only what the device key signed. */
            reason = "bad_signature",
            detail = "the signature does not verify with the enrolled device key";
        }
        if (!reason && seq == 1) {
            char hex[2 * PX_PUBKEY_MAX + 1];
            const char *dept = field_of(e, "department"), *name = field_of(e, "device_name");
            px_format_hex(dev->public_key, dev->public_key_len, hex);
            if (strcmp(field_of(e, "public_key"), hex) != 0) {
                reason = "bad_rules", detail = "entry 1 must introduce the enrolled device key";
            } else if (!dept || !name || strcmp(dept, dev->department) != 0 ||
                       strcmp(name, dev->name) != 0) {
                /* The journal's identity is the enrolment's: a terminal
                 * enrolled for one department (or name) cannot file its
                 * record as another's. */
                int d = !dept || strcmp(dept, dev->department) != 0;
                const char *got = (d ? dept : name) ? (d ? dept : name) : "",
                           *want = d ? dev->department : dev->name;
                snprintf(c->details[i], sizeof c->details[i],
                         "entry 1 names %s '%.40s'; device %lld was enrolled as '%.40s'",
                         d ? "department" : "device name", got, (long long)dev->id, want);
                reason = "identity", detail = c->details[i];
                app_log("warn", "event=identity_refused device=%lld field=%s entry=\"%.60s\" "
                                "enrolled=\"%.60s\"",
                        (long long)dev->id, d ? "department" : "device_name", got, want);
            }
        }
        if (reason) {
            set_ack(&c->acks[i], seq, PATROL__V1__ENTRY_STATUS__REJECTED, reason, detail);
            rejected = 1;
            px_entry_free(e);
            continue;
        }
        c->pend[c->npend].e = e;
        c->pend[c->npend].se = se;
        memcpy(c->pend[c->npend].hash, hash, PX_HASH_LEN);
        c->npend++;
        set_ack(&c->acks[i], seq, PATROL__V1__ENTRY_STATUS__ACCEPTED, "", "");
        c->last = seq;
        prev_seq = seq;
        memcpy(c->head, hash, PX_HASH_LEN);
    }
    return 0;
}

/* Every entry's signature of the batch, checked on every core before the
 * checks in order (check_batch), which read ok[i] where they verified the
 * signature one by one: the same entries are refused, from the same first
 * one, with the same answer. Each entry's own signature is still checked,
 * at ingest. An entry whose signature is not 64 bytes gets 0 (check_batch
 * refuses it for its length first). Returns -1 if out of memory. */
static int verify_batch(const px_verifier *v, const Patrol__V1__Batch *b, uint8_t *ok)
{
    size_t n = b->n_entries;
    uint8_t(*hash)[PX_HASH_LEN] = malloc((n ? n : 1) * sizeof *hash);
    const uint8_t **sig = malloc((n ? n : 1) * sizeof *sig);
    int rc = -1;
    if (hash && sig) {
        for (size_t i = 0; i < n; i++) {
            const Patrol__V1__SignedEntry *se = b->entries[i];
            px_entry_hash(se->entry.data, se->entry.len, hash[i]);
            sig[i] = se->sig.len == PX_SIG_LEN ? se->sig.data : NULL;
        }
        px_verifier_check_many(v, n, (const uint8_t(*)[PX_HASH_LEN])hash, sig, ok, 0);
        rc = 0;
    }
    free(hash);
    free(sig);
    return rc;
}

/* Sign a receipt body with the receipt key (shared by the workers). */
static int sign_locked(app *a, px_key *k, const uint8_t hash[PX_HASH_LEN], uint8_t sig[PX_SIG_LEN])
{
    int rc;
    pthread_mutex_lock(&a->sign_lock);
    rc = px_sign(k, hash, sig);
    pthread_mutex_unlock(&a->sign_lock);
    return rc;
}

void app_ingest_batch(app *a, const st_device *dev, const srv_request *rq, srv_response *rs)
{
    st_backend *db = app_db(a);
    uint8_t *raw = NULL, *stored_ack = NULL, *ackbuf = NULL, *rbody = NULL;
    size_t rawlen, acklen, rlen, n;
    const char *why = NULL;
    Patrol__V1__Batch *b = NULL;
    Patrol__V1__EntryAck **ackp = NULL;
    batch_check c;
    char *miss_store[256];
    miss_ctx miss = {miss_store, 0};
    px_verifier *devkey = NULL;
    uint8_t *sig_ok = NULL;
    idx *ix = NULL;
    size_t nflags = 0;
    int64_t index_us = 0, ti;
    uint64_t first_new = 0, cnt[3] = {0, 0, 0}, leaf = 0, log_size = 0;
    int in_tx = 0, attempt;
    char note[TLOG_NOTE_MAX], origin[64], lerr[256];
    uint8_t log_root[TLOG_HASH_LEN], proof[TLOG_MAX_PROOF][TLOG_HASH_LEN];
    ProtobufCBinaryData proof_bd[TLOG_MAX_PROOF];
    size_t plen = 0;
    int64_t t0 = mono_us(), now = app_now_ms();
    app_budget bud;
    ProtobufCAllocator al = APP_BUDGET_ALLOCATOR(bud);

    memset(&c, 0, sizeof c);
    if (!db)
        return app_storage_error(a, rs, NULL, "open its database");
    atomic_fetch_add(&a->counters[M_BATCH_BYTES], rq->body_len);
    if (px_frame_decode(rq->body, rq->body_len, &px_frame_default_limits, &raw, &rawlen, &why)) {
        int big = rq->body_len > PX_FRAME_MAX_COMPRESSED || strstr(why, "exceed") ||
                  strstr(why, "ratio") || strstr(why, "limit");
        return app_reply_error(a, rs, big ? 413 : 400, big ? "too_large" : "bad_frame", 0,
                               "batch frame: %s", why);
    }
    bud.left = 4 * rawlen + 65536;
    if (!(b = patrol__v1__batch__unpack(&al, rawlen, raw))) {
        app_reply_error(a, rs, 400, "bad_protobuf", 0,
                        "the batch is not a protobuf Batch (or unpacks beyond its size budget)");
        goto out;
    }
    if (b->protocol != PX_PROTOCOL_VERSION) {
        app_reply_error(a, rs, 400, "bad_protocol", 0, "protocol version %u is not supported (%u)",
                        b->protocol, PX_PROTOCOL_VERSION);
        goto out;
    }
    if (b->batch_id.len != 16) {
        app_reply_error(a, rs, 400, "bad_request", 0, "batch_id must be 16 bytes");
        goto out;
    }
    if (b->n_entries > APP_MAX_BATCH_ENTRIES) {
        app_reply_error(a, rs, 400, "too_many_entries", 0, "%zu entries; at most %u per batch",
                        b->n_entries, APP_MAX_BATCH_ENTRIES);
        goto out;
    }
    if (b->device.len != PX_HASH_LEN || memcmp(b->device.data, dev->key_id, PX_HASH_LEN) != 0) {
        app_reply_error(a, rs, 403, "foreign_device", 0,
                        "the batch names another device than the client certificate");
        goto out;
    }
    if (px_verifier_new(dev->public_key, dev->public_key_len, &devkey, &why) != 0) {
        app_reply_error(a, rs, 500, "device_key", 0, "the enrolled device key is unusable");
        goto out;
    }
    n = b->n_entries;
    c.acks = calloc(n ? n : 1, sizeof *c.acks);
    ackp = calloc(n ? n : 1, sizeof *ackp);
    c.pend = calloc(n ? n : 1, sizeof *c.pend);
    c.forks = calloc(n ? n : 1, sizeof *c.forks);
    c.details = calloc(n ? n : 1, sizeof *c.details);
    c.sig_ok = sig_ok = calloc(n ? n : 1, 1);
    if (!c.acks || !ackp || !c.pend || !c.forks || !c.details || !sig_ok) {
        app_reply_error(a, rs, 503, "busy", 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ackp[i] = &c.acks[i];

    if (db->ops->ack_get(db, dev->id, b->batch_id.data, &stored_ack, &acklen) == ST_OK)
        goto replay; /* a replay's signatures were checked when it was stored */
    if (verify_batch(devkey, b, sig_ok) != 0) {
        app_reply_error(a, rs, 503, "busy", 0, "out of memory");
        goto out;
    }
    /* Check outside the write transaction (signatures cost CPU), against
     * a snapshot of the chain head; commit only if the head is unchanged,
     * else check again against the new head. */
    for (attempt = 0;; attempt++) {
        st_device snap, cur;
        if (db->ops->ack_get(db, dev->id, b->batch_id.data, &stored_ack, &acklen) == ST_OK)
            goto replay;
        if (db->ops->device_get(db, dev->id, &snap) != ST_OK) {
            app_storage_error(a, rs, db, "read the device");
            goto out;
        }
        check_reset(&c);
        c.last = snap.last_seq;
        memcpy(c.head, snap.head, PX_HASH_LEN);
        if (check_batch(db, dev, b, &c) != 0) {
            app_storage_error(a, rs, db, "read an entry");
            goto out;
        }
        if (db->ops->begin(db) != ST_OK) {
            app_storage_error(a, rs, db, "start a transaction");
            goto out;
        }
        in_tx = 1;
        /* A replay gets the stored answer, byte for byte, and stores nothing. */
        if (db->ops->ack_get(db, dev->id, b->batch_id.data, &stored_ack, &acklen) == ST_OK)
            goto replay;
        if (db->ops->device_get(db, dev->id, &cur) != ST_OK) {
            app_storage_error(a, rs, db, "read the device");
            goto out;
        }
        if (cur.last_seq == snap.last_seq && memcmp(cur.head, snap.head, PX_HASH_LEN) == 0)
            break;
        db->ops->rollback(db);
        in_tx = 0;
        if (attempt >= 4) {
            app_reply_error(a, rs, 503, "busy", 0, "the device's chain kept moving; try again");
            goto out;
        }
    }

    for (size_t i = 0; i < c.nforks; i++) {
        Patrol__V1__Entry *e = c.forks[i].e;
        st_entry fe = {e->seq, c.forks[i].hash, c.forks[i].se->entry.data,
                       c.forks[i].se->entry.len, c.forks[i].se->sig.data, e->kind, e->object,
                       e->wall_ms};
        if (db->ops->fork_put(db, dev->id, &fe, c.forks[i].accepted, now) != ST_OK) {
            app_storage_error(a, rs, db, "quarantine a fork");
            goto out;
        }
        atomic_fetch_add(&a->counters[M_FORKS], 1);
        app_log("warn", "event=fork device=%lld seq=%llu", (long long)dev->id,
                (unsigned long long)e->seq);
    }
    /* The index (matters, rule flags, citations) is kept in the same
     * transaction as the entries: never behind them. An entry that breaks
     * a rule is flagged, and still stored and acknowledged. */
    if (c.npend && !(ix = idx_new(db))) {
        app_reply_error(a, rs, 503, "busy", 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c.npend; i++) {
        Patrol__V1__Entry *e = c.pend[i].e;
        st_entry se = {e->seq, c.pend[i].hash, c.pend[i].se->entry.data, c.pend[i].se->entry.len,
                       c.pend[i].se->sig.data, e->kind, e->object, e->wall_ms};
        if (db->ops->entry_put(db, dev->id, &se, now) != ST_OK) {
            app_storage_error(a, rs, db, "store an entry");
            goto out;
        }
        /* Each accepted entry is a leaf of the server log, in seq order, in
         * this transaction (docs/log.md). */
        {
            char ld[SLOG_LEAF_MAX];
            int ll = slog_entry_leaf(dev->key_id, e->seq, c.pend[i].hash, ld);
            if (slog_append(db, ld, (size_t)ll, now, &leaf) != ST_OK) {
                app_storage_error(a, rs, db, "append to the log");
                goto out;
            }
            leaf++;
        }
        ti = mono_us();
        if (idx_entry(ix, dev->id, e, now) != ST_OK) {
            index_error(a, rs, ix);
            goto out;
        }
        index_us += mono_us() - ti;
        if (strcmp(e->kind, "evidence.add") == 0 &&
            db->ops->evidence_expect(db, field_of(e, "sha256"),
                                     strtoull(field_of(e, "size"), NULL, 10), dev->id) != ST_OK) {
            app_storage_error(a, rs, db, "note expected evidence");
            goto out;
        }
        if (!first_new)
            first_new = e->seq;
    }
    ti = mono_us();
    if (ix && idx_finish(ix, now, &nflags) != ST_OK) {
        index_error(a, rs, ix);
        goto out;
    }
    index_us += mono_us() - ti;
    cnt[0] = c.npend;
    if (c.npend && db->ops->device_set_head(db, dev->id, c.last, c.head, now) != ST_OK) {
        app_storage_error(a, rs, db, "advance the chain head");
        goto out;
    }
    if (db->ops->evidence_missing(db, dev->id, sizeof miss_store / sizeof miss_store[0], miss_cb,
                                  &miss) != ST_OK) {
        app_storage_error(a, rs, db, "list missing evidence");
        goto out;
    }

    /* The checkpoint covering this batch, signed in its transaction, and
     * the inclusion proof of its last stored entry. */
    slog_origin(a->receipt_pub, a->receipt_pub_len, origin, sizeof origin);
    if (slog_checkpoint(db, a->receipt_key, &a->sign_lock, origin, now, note, &log_size, log_root,
                        lerr, sizeof lerr) != ST_OK) {
        app_log("error", "event=log_checkpoint error=\"%s\"", lerr);
        app_reply_error(a, rs, 503, "log", 0, "the server log: %s", lerr);
        goto out;
    }
    if (leaf && tlog_inclusion(slog_node, db, leaf - 1, log_size, proof, &plen) != 0) {
        app_storage_error(a, rs, db, "prove inclusion in the log");
        goto out;
    }
    for (size_t i = 0; i < plen; i++) {
        proof_bd[i].data = proof[i];
        proof_bd[i].len = TLOG_HASH_LEN;
    }
    {
        Patrol__V1__Ack ack = PATROL__V1__ACK__INIT;
        Patrol__V1__Receipt rc = PATROL__V1__RECEIPT__INIT;
        Patrol__V1__ReceiptBody body = PATROL__V1__RECEIPT_BODY__INIT;
        uint8_t rhash[PX_HASH_LEN], rsig[PX_SIG_LEN];
        body.device.data = (uint8_t *)dev->key_id;
        body.device.len = PX_HASH_LEN;
        body.first_seq = first_new;
        body.last_seq = c.last;
        body.head_hash.data = c.head;
        body.head_hash.len = PX_HASH_LEN;
        body.server_time_ms = now;
        body.server_name = a->server_name;
        body.batch_id = b->batch_id;
        body.suite = PX_SUITE_P256_SHA256; /* the receipt key's */
        rlen = protobuf_c_message_get_packed_size(&body.base);
        if (!(rbody = malloc(rlen ? rlen : 1))) {
            app_reply_error(a, rs, 503, "busy", 0, "out of memory");
            goto out;
        }
        protobuf_c_message_pack(&body.base, rbody);
        px_sha256(rbody, rlen, rhash);
        if (sign_locked(a, a->receipt_key, rhash, rsig) != 0) {
            app_reply_error(a, rs, 500, "sign_failed", 0, "could not sign the receipt");
            goto out;
        }
        rc.body.data = rbody;
        rc.body.len = rlen;
        rc.sig.data = rsig;
        rc.sig.len = PX_SIG_LEN;
        ack.batch_id = b->batch_id;
        ack.entries = ackp;
        ack.n_entries = n;
        ack.expected_seq = c.last + 1;
        ack.receipt = &rc;
        ack.missing_evidence = miss.list;
        ack.n_missing_evidence = miss.n;
        ack.log_checkpoint = note;
        ack.log_leaf = leaf;
        ack.log_inclusion = proof_bd;
        ack.n_log_inclusion = plen;
        acklen = protobuf_c_message_get_packed_size(&ack.base);
        if (!(ackbuf = malloc(acklen ? acklen : 1))) {
            app_reply_error(a, rs, 503, "busy", 0, "out of memory");
            goto out;
        }
        protobuf_c_message_pack(&ack.base, ackbuf);
    }
    /* The answer is kept for replays only when the batch stored something:
     * a wholly refused batch stores nothing at all. */
    if ((c.npend || c.nforks) &&
        db->ops->ack_put(db, dev->id, b->batch_id.data, ackbuf, acklen, now) != ST_OK) {
        app_storage_error(a, rs, db, "store the answer");
        goto out;
    }
    /* Durable first (synchronous=FULL), then acknowledged. */
    if (db->ops->commit(db) != ST_OK) {
        in_tx = 0;
        app_storage_error(a, rs, db, "commit the batch");
        goto out;
    }
    in_tx = 0;
    for (size_t i = 0; i < n; i++) {
        if (c.acks[i].status == PATROL__V1__ENTRY_STATUS__REJECTED)
            cnt[2]++;
        else if (c.acks[i].status == PATROL__V1__ENTRY_STATUS__DUPLICATE)
            cnt[1]++;
    }
    for (size_t i = 0, bad = 0; i < n; i++) /* a security refusal: logged (net.h) */
        if (strcmp(c.acks[i].reason, "bad_signature") == 0 && ++bad == 1) {
            char d[96];
            snprintf(d, sizeof d, "device %lld: entry %llu's signature does not verify",
                     (long long)dev->id, (unsigned long long)c.acks[i].seq);
            srv_log_refusal(a->net, rq, "bad_signature", d);
        }
    atomic_fetch_add(&a->counters[M_BATCHES], 1);
    atomic_fetch_add(&a->counters[M_ENTRIES_ACCEPTED], cnt[0]);
    atomic_fetch_add(&a->counters[M_ENTRIES_DUPLICATE], cnt[1]);
    atomic_fetch_add(&a->counters[M_ENTRIES_REJECTED], cnt[2]);
    {
        int64_t us = mono_us() - t0;
        int bkt = 0;
        for (int64_t lim = 250; bkt < APP_LAT_BUCKETS && us > lim; lim *= 2)
            bkt++;
        atomic_fetch_add(&a->ingest_lat[bkt], 1);
        atomic_fetch_add(&a->ingest_lat_sum_us, (uint64_t)us);
        app_log("info",
                "event=batch device=%lld entries=%zu accepted=%llu duplicate=%llu rejected=%llu "
                "head=%llu flags=%zu index_ms=%.1f ms=%.1f",
                (long long)dev->id, n, (unsigned long long)cnt[0], (unsigned long long)cnt[1],
                (unsigned long long)cnt[2], (unsigned long long)c.last, nflags,
                (double)index_us / 1000.0, (double)us / 1000.0);
    }
    app_set_body(rs, 200, "application/x-protobuf", ackbuf, acklen);
    ackbuf = NULL;
    goto out;
replay:
    atomic_fetch_add(&a->counters[M_BATCH_REPLAYS], 1);
    app_set_body(rs, 200, "application/x-protobuf", stored_ack, acklen);
    stored_ack = NULL;
out:
    if (in_tx)
        db->ops->rollback(db);
    check_reset(&c);
    for (size_t i = 0; i < miss.n; i++)
        free(miss.list[i]);
    free(c.pend);
    free(c.forks);
    free(c.acks);
    free(c.details);
    free(sig_ok);
    free(ackp);
    free(stored_ack);
    free(ackbuf);
    free(rbody);
    px_verifier_free(devkey);
    idx_free(ix);
    if (b)
        patrol__v1__batch__free_unpacked(b, &al);
    free(raw);
}
