/* app.c -- patrold's request handling (docs/protocol.md): enrolment,
 * durable idempotent ingest with signed receipts, resumable evidence
 * upload, reference data, metrics. Runs on the worker threads of net.c;
 * each worker has its own storage handle. */
#include "app.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "entry.h"
#include "evidence.h"
#include "frame.h"
#include "crypto_verify.h"
#include "index.h"
#include "patrol.pb-c.h"
#include "rules.h"
#include "slog.h"
#include "tls.h"
#include "validate.h"

int64_t app_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

void app_log(const char *level, const char *fmt, ...)
{
    char line[1024], ts[40];
    time_t t = time(NULL);
    struct tm tm;
    va_list ap;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ts=%s level=%s %s\n", ts, level, line);
}

static void db_destroy(void *p)
{
    st_backend *b = p;
    if (b)
        b->ops->close(b);
}

st_backend *app_db(app *a)
{
    st_backend *b = pthread_getspecific(a->db_key);
    char err[256];
    if (b)
        return b;
    if (!(b = st_sqlite_open(a->db_path, 0, err, sizeof err))) {
        app_log("error", "event=storage_open error=\"%s\"", err);
        return NULL;
    }
    pthread_setspecific(a->db_key, b);
    return b;
}

static void count_refusal(app *a, const char *reason)
{
    pthread_mutex_lock(&a->refusal_lock);
    for (size_t i = 0; i < sizeof a->refusals / sizeof a->refusals[0]; i++) {
        if (a->refusals[i].reason[0] == '\0')
            snprintf(a->refusals[i].reason, sizeof a->refusals[i].reason, "%s", reason);
        if (strcmp(a->refusals[i].reason, reason) == 0) {
            a->refusals[i].count++;
            break;
        }
    }
    pthread_mutex_unlock(&a->refusal_lock);
}

/* ---- responses -------------------------------------------------------- */

static void set_body(srv_response *rs, int status, const char *type, uint8_t *body, size_t len)
{
    rs->status = status;
    rs->content_type = type;
    rs->body = body;
    rs->body_len = len;
}

static void reply_msg(srv_response *rs, int status, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        rs->status = 503;
        return;
    }
    protobuf_c_message_pack(m, b);
    set_body(rs, status, "application/x-protobuf", b, n);
}

static void reply_error(app *a, srv_response *rs, int status, const char *reason,
                        uint64_t expected, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

void app_reply_verror(app *a, srv_response *rs, int status, const char *reason,
                      uint64_t expected, const char *fmt, va_list ap)
{
    Patrol__V1__Error e = PATROL__V1__ERROR__INIT;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    e.reason = (char *)reason;
    e.message = msg;
    e.expected_seq = expected;
    reply_msg(rs, status, &e.base);
    snprintf(rs->extra_headers, sizeof rs->extra_headers, "X-Patrol-Reason: %s\r\n", reason);
    count_refusal(a, reason);
}

static void reply_error(app *a, srv_response *rs, int status, const char *reason,
                        uint64_t expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    app_reply_verror(a, rs, status, reason, expected, fmt, ap);
    va_end(ap);
}

static void storage_error(app *a, srv_response *rs, st_backend *db, const char *what)
{
    app_log("error", "event=storage what=%s error=\"%s\"", what, db ? db->ops->errmsg(db) : "");
    reply_error(a, rs, 503, "storage", 0, "the server could not %s; try again", what);
}

static void index_error(app *a, srv_response *rs, const idx *ix)
{
    app_log("error", "event=index error=\"%s\"", idx_errmsg(ix));
    reply_error(a, rs, 503, "storage", 0, "the server could not index the batch; try again");
}

/* protobuf-c allocates per message and per unknown field: an allocator
 * with a byte budget (a small multiple of the input) stops a small body
 * from unpacking into gigabytes before any count can be checked. */
typedef struct budget {
    size_t left;
} budget;

static void *budget_alloc(void *d, size_t n)
{
    budget *b = d;
    if (n > b->left)
        return NULL;
    b->left -= n;
    return malloc(n);
}

static void budget_free(void *d, void *p)
{
    (void)d;
    free(p);
}

#define BUDGET_ALLOCATOR(b) {budget_alloc, budget_free, &(b)}

/* ---- enrolment -------------------------------------------------------- */

static int ct_equal(const uint8_t *x, const uint8_t *y, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

static void handle_enroll(app *a, const srv_request *rq, srv_response *rs)
{
    Patrol__V1__EnrollRequest *req;
    Patrol__V1__EnrollResponse res = PATROL__V1__ENROLL_RESPONSE__INIT;
    st_backend *db = app_db(a);
    uint8_t id[8], secret[32], hash[PX_HASH_LEN], pub[PX_PUBKEY_MAX], key_id[PX_HASH_LEN];
    size_t idlen, secretlen, publen;
    const char *dot, *why = NULL;
    char *cert = NULL, cn[64];
    st_token tok;
    st_device dev, other;
    int rc, again = 0;
    unsigned wait_s;
    budget bud = {4 * rq->body_len + 16384};
    ProtobufCAllocator al = BUDGET_ALLOCATOR(bud);

    /* A few tries a second from one address (net.h srv_throttle): tokens
     * cannot be guessed at the rate the server can answer. */
    if (srv_throttle(a->net, rq, &wait_s)) {
        size_t n;
        reply_error(a, rs, 429, "throttled", 0, "too many enrolment attempts from this "
                    "address; try again in %u s", wait_s);
        n = strlen(rs->extra_headers);
        snprintf(rs->extra_headers + n, sizeof rs->extra_headers - n, "Retry-After: %u\r\n",
                 wait_s);
        return;
    }
    if (!db)
        return storage_error(a, rs, NULL, "open its database");
    if (rq->body_len > 65536 ||
        !(req = patrol__v1__enroll_request__unpack(&al, rq->body_len, rq->body)))
        return reply_error(a, rs, 400, "bad_request", 0, "the body is not an EnrollRequest");
    dot = strchr(req->token, '.');
    if (!dot || px_base64url_decode(req->token, (size_t)(dot - req->token), id, sizeof id, &idlen) ||
        idlen != 8 ||
        px_base64url_decode(dot + 1, strlen(dot + 1), secret, sizeof secret, &secretlen) ||
        secretlen != 16) {
        reply_error(a, rs, 401, "token_unknown", 0, "the enrolment token is malformed");
        goto out;
    }
    if (px_csr_parse(req->csr_pem, strlen(req->csr_pem), pub, sizeof pub, &publen, &why) != 0) {
        reply_error(a, rs, 400, "bad_csr", 0, "certificate request: %s", why);
        goto out;
    }
    px_sha256(pub, publen, key_id);
    px_sha256(secret, 16, hash);
    /* The token first, with a read: a wrong one is refused without taking
     * the database's write lock, which ingest needs. It is read again in
     * the transaction below, where it counts. */
    rc = db->ops->token_get(db, id, &tok);
    if (rc == ST_NOTFOUND || (rc == ST_OK && !ct_equal(hash, tok.secret_hash, 32))) {
        reply_error(a, rs, 401, "token_unknown", 0, "no such enrolment token");
        goto out;
    }
    if (rc != ST_OK) {
        storage_error(a, rs, db, "read the token");
        goto out;
    }
    if (db->ops->begin(db) != ST_OK) {
        storage_error(a, rs, db, "start a transaction");
        goto out;
    }
    rc = db->ops->token_get(db, id, &tok);
    if (rc == ST_NOTFOUND || (rc == ST_OK && !ct_equal(hash, tok.secret_hash, 32))) {
        reply_error(a, rs, 401, "token_unknown", 0, "no such enrolment token");
        goto rollback;
    }
    if (rc != ST_OK) {
        storage_error(a, rs, db, "read the token");
        goto rollback;
    }
    if (tok.used_ms) {
        /* The same terminal asking again (its answer was lost on the way)
         * gets its certificate again; anyone else is refused. The device
         * key is also the journal's signing key, so the terminal cannot
         * simply start over with a new one. */
        if (db->ops->device_get(db, tok.device, &dev) == ST_OK && dev.status == DEV_ACTIVE &&
            memcmp(dev.key_id, key_id, PX_HASH_LEN) == 0) {
            again = 1;
        } else {
            reply_error(a, rs, 401, "token_used", 0, "this enrolment token was used already");
            goto rollback;
        }
    }
    if (!again && tok.expires_ms < app_now_ms()) {
        reply_error(a, rs, 401, "token_expired", 0, "this enrolment token has expired");
        goto rollback;
    }
    if (!again && db->ops->device_by_key(db, key_id, &other) == ST_OK) {
        reply_error(a, rs, 409, "key_enrolled", 0, "this device key is enrolled already as "
                                                   "device %lld", (long long)other.id);
        goto rollback;
    }
    if (!again && (db->ops->device_get(db, tok.device, &dev) != ST_OK || dev.status != DEV_PENDING)) {
        reply_error(a, rs, 401, "token_used", 0, "the device of this token is not awaiting "
                                                 "enrolment");
        goto rollback;
    }
    /* The journal's first entry carries the terminal's department and
     * name, and ingest refuses one that is not the enrolment's, for good:
     * refuse here instead, the token left unused, before a terminal is
     * enrolled that could never sync. (A terminal older than this field
     * sends no department; its name is still checked.) */
    if ((req->device_name[0] && strcmp(req->device_name, dev.name) != 0) ||
        (req->department[0] && strcmp(req->department, dev.department) != 0)) {
        int d = req->department[0] && strcmp(req->department, dev.department) != 0;
        app_log("warn", "event=enrol_identity_refused device=%lld field=%s terminal=\"%.60s\" "
                        "enrolled=\"%.60s\"",
                (long long)dev.id, d ? "department" : "device_name",
                d ? req->department : req->device_name, d ? dev.department : dev.name);
        reply_error(a, rs, 403, "identity", 0,
                    "this token is for device '%.60s' of department '%.60s'; the terminal is "
                    "'%.60s' of department '%.60s'",
                    dev.name, dev.department, req->device_name,
                    req->department[0] ? req->department : "?");
        goto rollback;
    }
    snprintf(cn, sizeof cn, "patrol-device-%lld", (long long)dev.id);
    pthread_mutex_lock(&a->sign_lock);
    rc = px_ca_issue(a->ca_key, a->ca_cert_pem, pub, publen, cn, (uint64_t)dev.id, 3650, &cert,
                     &why);
    pthread_mutex_unlock(&a->sign_lock);
    if (rc != 0) {
        app_log("error", "event=enroll_issue error=\"%s\"", why);
        reply_error(a, rs, 500, "issue_failed", 0, "could not issue a certificate");
        goto rollback;
    }
    if (!again && (db->ops->device_enroll(db, dev.id, pub, publen, key_id, app_now_ms()) != ST_OK ||
                   db->ops->token_use(db, id, app_now_ms()) != ST_OK ||
                   slog_enrolment(db, dev.id, key_id, app_now_ms()) != ST_OK)) {
        storage_error(a, rs, db, "record the enrolment");
        goto rollback;
    }
    if (db->ops->commit(db) != ST_OK) {
        storage_error(a, rs, db, "commit the enrolment");
        goto out;
    }
    atomic_fetch_add(&a->counters[M_ENROLMENTS], 1);
    app_log("info", "event=%s device=%lld department=%s", again ? "enrolment_repeated" : "enrolled",
            (long long)dev.id, dev.department);
    res.device.data = key_id;
    res.device.len = PX_HASH_LEN;
    res.client_cert_pem = cert;
    res.ca_cert_pem = a->ca_cert_pem;
    res.receipt_key.data = a->receipt_pub;
    res.receipt_key.len = a->receipt_pub_len;
    res.server_name = a->server_name;
    res.department = dev.department;
    reply_msg(rs, 200, &res.base);
    goto out;
rollback:
    db->ops->rollback(db);
out:
    free(cert);
    px_wipe(secret, sizeof secret);
    patrol__v1__enroll_request__free_unpacked(req, &al);
}

/* ---- ingest ----------------------------------------------------------- */

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

static void handle_batch(app *a, const st_device *dev, const srv_request *rq, srv_response *rs)
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
    budget bud;
    ProtobufCAllocator al = BUDGET_ALLOCATOR(bud);

    memset(&c, 0, sizeof c);
    if (!db)
        return storage_error(a, rs, NULL, "open its database");
    atomic_fetch_add(&a->counters[M_BATCH_BYTES], rq->body_len);
    if (px_frame_decode(rq->body, rq->body_len, &px_frame_default_limits, &raw, &rawlen, &why)) {
        int big = rq->body_len > PX_FRAME_MAX_COMPRESSED || strstr(why, "exceed") ||
                  strstr(why, "ratio") || strstr(why, "limit");
        return reply_error(a, rs, big ? 413 : 400, big ? "too_large" : "bad_frame", 0,
                           "batch frame: %s", why);
    }
    bud.left = 4 * rawlen + 65536;
    if (!(b = patrol__v1__batch__unpack(&al, rawlen, raw))) {
        reply_error(a, rs, 400, "bad_protobuf", 0,
                    "the batch is not a protobuf Batch (or unpacks beyond its size budget)");
        goto out;
    }
    if (b->protocol != PX_PROTOCOL_VERSION) {
        reply_error(a, rs, 400, "bad_protocol", 0, "protocol version %u is not supported (%u)",
                    b->protocol, PX_PROTOCOL_VERSION);
        goto out;
    }
    if (b->batch_id.len != 16) {
        reply_error(a, rs, 400, "bad_request", 0, "batch_id must be 16 bytes");
        goto out;
    }
    if (b->n_entries > APP_MAX_BATCH_ENTRIES) {
        reply_error(a, rs, 400, "too_many_entries", 0, "%zu entries; at most %u per batch",
                    b->n_entries, APP_MAX_BATCH_ENTRIES);
        goto out;
    }
    if (b->device.len != PX_HASH_LEN || memcmp(b->device.data, dev->key_id, PX_HASH_LEN) != 0) {
        reply_error(a, rs, 403, "foreign_device", 0,
                    "the batch names another device than the client certificate");
        goto out;
    }
    if (px_verifier_new(dev->public_key, dev->public_key_len, &devkey, &why) != 0) {
        reply_error(a, rs, 500, "device_key", 0, "the enrolled device key is unusable");
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
        reply_error(a, rs, 503, "busy", 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ackp[i] = &c.acks[i];

    if (db->ops->ack_get(db, dev->id, b->batch_id.data, &stored_ack, &acklen) == ST_OK)
        goto replay; /* a replay's signatures were checked when it was stored */
    if (verify_batch(devkey, b, sig_ok) != 0) {
        reply_error(a, rs, 503, "busy", 0, "out of memory");
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
            storage_error(a, rs, db, "read the device");
            goto out;
        }
        check_reset(&c);
        c.last = snap.last_seq;
        memcpy(c.head, snap.head, PX_HASH_LEN);
        if (check_batch(db, dev, b, &c) != 0) {
            storage_error(a, rs, db, "read an entry");
            goto out;
        }
        if (db->ops->begin(db) != ST_OK) {
            storage_error(a, rs, db, "start a transaction");
            goto out;
        }
        in_tx = 1;
        /* A replay gets the stored answer, byte for byte, and stores nothing. */
        if (db->ops->ack_get(db, dev->id, b->batch_id.data, &stored_ack, &acklen) == ST_OK)
            goto replay;
        if (db->ops->device_get(db, dev->id, &cur) != ST_OK) {
            storage_error(a, rs, db, "read the device");
            goto out;
        }
        if (cur.last_seq == snap.last_seq && memcmp(cur.head, snap.head, PX_HASH_LEN) == 0)
            break;
        db->ops->rollback(db);
        in_tx = 0;
        if (attempt >= 4) {
            reply_error(a, rs, 503, "busy", 0, "the device's chain kept moving; try again");
            goto out;
        }
    }

    for (size_t i = 0; i < c.nforks; i++) {
        Patrol__V1__Entry *e = c.forks[i].e;
        st_entry fe = {e->seq, c.forks[i].hash, c.forks[i].se->entry.data,
                       c.forks[i].se->entry.len, c.forks[i].se->sig.data, e->kind, e->object,
                       e->wall_ms};
        if (db->ops->fork_put(db, dev->id, &fe, c.forks[i].accepted, now) != ST_OK) {
            storage_error(a, rs, db, "quarantine a fork");
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
        reply_error(a, rs, 503, "busy", 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c.npend; i++) {
        Patrol__V1__Entry *e = c.pend[i].e;
        st_entry se = {e->seq, c.pend[i].hash, c.pend[i].se->entry.data, c.pend[i].se->entry.len,
                       c.pend[i].se->sig.data, e->kind, e->object, e->wall_ms};
        if (db->ops->entry_put(db, dev->id, &se, now) != ST_OK) {
            storage_error(a, rs, db, "store an entry");
            goto out;
        }
        /* Each accepted entry is a leaf of the server log, in seq order, in
         * this transaction (docs/log.md). */
        {
            char ld[SLOG_LEAF_MAX];
            int ll = slog_entry_leaf(dev->key_id, e->seq, c.pend[i].hash, ld);
            if (slog_append(db, ld, (size_t)ll, now, &leaf) != ST_OK) {
                storage_error(a, rs, db, "append to the log");
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
            storage_error(a, rs, db, "note expected evidence");
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
        storage_error(a, rs, db, "advance the chain head");
        goto out;
    }
    if (db->ops->evidence_missing(db, dev->id, sizeof miss_store / sizeof miss_store[0], miss_cb,
                                  &miss) != ST_OK) {
        storage_error(a, rs, db, "list missing evidence");
        goto out;
    }

    /* The checkpoint covering this batch, signed in its transaction, and
     * the inclusion proof of its last stored entry. */
    slog_origin(a->receipt_pub, a->receipt_pub_len, origin, sizeof origin);
    if (slog_checkpoint(db, a->receipt_key, &a->sign_lock, origin, now, note, &log_size, log_root,
                        lerr, sizeof lerr) != ST_OK) {
        app_log("error", "event=log_checkpoint error=\"%s\"", lerr);
        reply_error(a, rs, 503, "log", 0, "the server log: %s", lerr);
        goto out;
    }
    if (leaf && tlog_inclusion(slog_node, db, leaf - 1, log_size, proof, &plen) != 0) {
        storage_error(a, rs, db, "prove inclusion in the log");
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
        rlen = protobuf_c_message_get_packed_size(&body.base);
        if (!(rbody = malloc(rlen ? rlen : 1))) {
            reply_error(a, rs, 503, "busy", 0, "out of memory");
            goto out;
        }
        protobuf_c_message_pack(&body.base, rbody);
        px_sha256(rbody, rlen, rhash);
        if (sign_locked(a, a->receipt_key, rhash, rsig) != 0) {
            reply_error(a, rs, 500, "sign_failed", 0, "could not sign the receipt");
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
            reply_error(a, rs, 503, "busy", 0, "out of memory");
            goto out;
        }
        protobuf_c_message_pack(&ack.base, ackbuf);
    }
    /* The answer is kept for replays only when the batch stored something:
     * a wholly refused batch stores nothing at all. */
    if ((c.npend || c.nforks) &&
        db->ops->ack_put(db, dev->id, b->batch_id.data, ackbuf, acklen, now) != ST_OK) {
        storage_error(a, rs, db, "store the answer");
        goto out;
    }
    /* Durable first (synchronous=FULL), then acknowledged. */
    if (db->ops->commit(db) != ST_OK) {
        in_tx = 0;
        storage_error(a, rs, db, "commit the batch");
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
    set_body(rs, 200, "application/x-protobuf", ackbuf, acklen);
    ackbuf = NULL;
    goto out;
replay:
    atomic_fetch_add(&a->counters[M_BATCH_REPLAYS], 1);
    set_body(rs, 200, "application/x-protobuf", stored_ack, acklen);
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

/* ---- reference data --------------------------------------------------- */

static void handle_reference(app *a, const st_device *dev, const srv_request *rq, srv_response *rs)
{
    st_backend *db = app_db(a);
    uint64_t since = 0, version;
    uint8_t *blob = NULL;
    size_t len;
    Patrol__V1__Reference *ref;
    int rc;

    if (!db)
        return storage_error(a, rs, NULL, "open its database");
    if (strncmp(rq->query, "since=", 6) == 0 &&
        px_parse_u64(rq->query + 6, 0, UINT64_MAX / 2, &since) != NULL)
        return reply_error(a, rs, 400, "bad_request", 0, "since must be a version number");
    rc = db->ops->reference_latest(db, &version, &blob, &len);
    if (rc == ST_NOTFOUND || (rc == ST_OK && version <= since)) {
        free(blob);
        rs->status = 304;
        return;
    }
    if (rc != ST_OK)
        return storage_error(a, rs, db, "read reference data");
    if (!(ref = patrol__v1__reference__unpack(NULL, len, blob))) {
        free(blob);
        return reply_error(a, rs, 500, "reference_damaged", 0, "stored reference data is damaged");
    }
    /* Revisits only for the device's department. */
    {
        size_t k = 0;
        for (size_t i = 0; i < ref->n_revisits; i++) {
            if (strcmp(ref->revisits[i]->department, dev->department) == 0)
                ref->revisits[k++] = ref->revisits[i];
            else
                patrol__v1__assigned_revisit__free_unpacked(ref->revisits[i], NULL);
        }
        ref->n_revisits = k;
    }
    ref->version = version;
    reply_msg(rs, 200, &ref->base);
    patrol__v1__reference__free_unpacked(ref, NULL);
    free(blob);
}

/* ---- county-wide citations ------------------------------------------- */

typedef struct cite_ctx {
    Patrol__V1__Citation *items;
    Patrol__V1__Citation **ptrs;
    char *strings; /* the three strings of each, copied */
    size_t n, max;
    uint64_t next;
} cite_ctx;

static int cite_cb(void *ud, uint64_t id, const char *key, const char *item, const char *matter)
{
    cite_ctx *c = ud;
    Patrol__V1__Citation *ct = &c->items[c->n];
    char *p = c->strings + c->n * (3 * APP_CITATION_FIELD);
    patrol__v1__citation__init(ct);
    snprintf(p, APP_CITATION_FIELD, "%s", key);
    snprintf(p + APP_CITATION_FIELD, APP_CITATION_FIELD, "%s", item);
    snprintf(p + 2 * APP_CITATION_FIELD, APP_CITATION_FIELD, "%s", matter);
    ct->subject_key = p;
    ct->item = p + APP_CITATION_FIELD;
    ct->matter = p + 2 * APP_CITATION_FIELD;
    c->ptrs[c->n++] = ct;
    c->next = id;
    return c->n >= c->max;
}

/* GET /v1/citations?since=N: matters citing a list item for a subject,
 * county-wide, id > N, at most APP_CITATIONS_MAX per answer. */
static void handle_citations(app *a, const srv_request *rq, srv_response *rs)
{
    st_backend *db = app_db(a);
    Patrol__V1__Citations res = PATROL__V1__CITATIONS__INIT;
    cite_ctx c;
    uint64_t since = 0;

    if (!db)
        return storage_error(a, rs, NULL, "open its database");
    if (rq->query[0] && (strncmp(rq->query, "since=", 6) != 0 ||
                         px_parse_u64(rq->query + 6, 0, (uint64_t)INT64_MAX, &since) != NULL))
        return reply_error(a, rs, 400, "bad_request", 0,
                           "since must be a citation cursor (0 .. 2^63-1)");
    memset(&c, 0, sizeof c);
    c.max = APP_CITATIONS_MAX;
    c.next = since;
    c.items = calloc(c.max, sizeof *c.items);
    c.ptrs = calloc(c.max, sizeof *c.ptrs);
    c.strings = malloc(c.max * 3 * APP_CITATION_FIELD);
    if (!c.items || !c.ptrs || !c.strings) {
        reply_error(a, rs, 503, "busy", 0, "out of memory");
        goto out;
    }
    if (db->ops->citations_since(db, since, c.max, cite_cb, &c) != ST_OK) {
        storage_error(a, rs, db, "read citations");
        goto out;
    }
    res.citations = c.ptrs;
    res.n_citations = c.n;
    res.next = c.next;
    reply_msg(rs, 200, &res.base);
out:
    free(c.items);
    free(c.ptrs);
    free(c.strings);
}

/* ---- the server log (docs/log.md) -------------------------------------- */

/* The value of name=N in a query such as "leaf=3&size=9"; -1 if absent
 * or not a number 0 .. 2^63-1. */
static int query_u64(const char *q, const char *name, uint64_t *v)
{
    size_t n = strlen(name);
    for (const char *p = q; *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > n + 1 && strncmp(p, name, n) == 0 && p[n] == '=') {
            char num[24];
            size_t l = (size_t)(end - p) - n - 1;
            if (l >= sizeof num)
                return -1;
            memcpy(num, p + n + 1, l);
            num[l] = '\0';
            return px_parse_u64(num, 0, (uint64_t)INT64_MAX, v) == NULL ? 0 : -1;
        }
        p = amp ? amp + 1 : end;
    }
    return -1;
}

static void handle_log(app *a, const srv_request *rq, srv_response *rs)
{
    st_backend *db = app_db(a);
    char err[256], *body = NULL, note[TLOG_NOTE_MAX], origin[64];
    uint64_t x = 0, y = 0, size;
    uint8_t root[TLOG_HASH_LEN];
    size_t len;
    int rc;

    if (!db)
        return storage_error(a, rs, NULL, "open its database");
    if (strcmp(rq->path, "/v1/log/checkpoint") == 0) {
        /* A checkpoint of the log as it is: signed now if leaves came
         * since the latest (enrolments, list imports). */
        slog_origin(a->receipt_pub, a->receipt_pub_len, origin, sizeof origin);
        if (db->ops->begin(db) != ST_OK)
            return storage_error(a, rs, db, "start a transaction");
        if (slog_checkpoint(db, a->receipt_key, &a->sign_lock, origin, app_now_ms(), note, &size,
                            root, err, sizeof err) != ST_OK) {
            db->ops->rollback(db);
            app_log("error", "event=log_checkpoint error=\"%s\"", err);
            return reply_error(a, rs, 503, "log", 0, "the server log: %s", err);
        }
        if (db->ops->commit(db) != ST_OK)
            return storage_error(a, rs, db, "commit the checkpoint");
        len = strlen(note);
        if (!(body = malloc(len + 1)))
            return reply_error(a, rs, 503, "busy", 0, "out of memory");
        memcpy(body, note, len + 1);
    } else if (strcmp(rq->path, "/v1/log/proof/inclusion") == 0) {
        if (query_u64(rq->query, "leaf", &x) != 0 ||
            (strstr(rq->query, "size=") && query_u64(rq->query, "size", &y) != 0))
            return reply_error(a, rs, 400, "bad_request", 0,
                               "expected leaf=N[&size=M] (numbers 0 .. 2^63-1)");
        rc = slog_inclusion_text(db, x, y, &body, &len, err, sizeof err);
        if (rc == ST_NOTFOUND)
            return reply_error(a, rs, 404, "not_in_log", 0, "%s", err);
        if (rc != ST_OK)
            return reply_error(a, rs, 503, "log", 0, "the server log: %s", err);
    } else if (strcmp(rq->path, "/v1/log/proof/consistency") == 0) {
        if (query_u64(rq->query, "from", &x) != 0 ||
            (strstr(rq->query, "to=") && query_u64(rq->query, "to", &y) != 0))
            return reply_error(a, rs, 400, "bad_request", 0,
                               "expected from=A[&to=B] (numbers 0 .. 2^63-1)");
        rc = slog_consistency_text(db, x, y, &body, &len, err, sizeof err);
        if (rc == ST_NOTFOUND)
            return reply_error(a, rs, 404, "not_in_log", 0, "%s", err);
        if (rc != ST_OK)
            return reply_error(a, rs, 503, "log", 0, "the server log: %s", err);
    } else {
        return reply_error(a, rs, 404, "not_found", 0, "no such endpoint");
    }
    set_body(rs, 200, "text/plain; charset=utf-8", (uint8_t *)body, strlen(body));
}

/* ---- metrics ---------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void bprintf(buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void bprintf(buf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)k;
        char *np = realloc(b->p, ncap);
        if (!np)
            return;
        b->p = np;
        b->cap = ncap;
    }
}

static void handle_metrics(app *a, srv_response *rs)
{
    static const char *const names[M_COUNT] = {
        "patrold_batches_total",          "patrold_entries_accepted_total",
        "patrold_entries_duplicate_total", "patrold_entries_rejected_total",
        "patrold_forks_total",            "patrold_batch_replays_total",
        "patrold_enrolments_total",       "patrold_evidence_bytes_total",
        "patrold_evidence_complete_total", "patrold_batch_bytes_total",
    };
    srv_stats s;
    buf b = {NULL, 0, 0};
    uint64_t cum = 0;

    srv_get_stats(a->net, &s);
    bprintf(&b, "# TYPE patrold_connections_total counter\npatrold_connections_total %llu\n",
            (unsigned long long)s.connections_accepted);
    bprintf(&b, "# TYPE patrold_connections_open gauge\npatrold_connections_open %llu\n",
            (unsigned long long)s.connections_open);
    bprintf(&b, "# TYPE patrold_handshakes_total counter\n"
                "patrold_handshakes_total{type=\"full\"} %llu\n"
                "patrold_handshakes_total{type=\"resumed\"} %llu\n"
                "patrold_handshakes_total{type=\"failed\"} %llu\n",
            (unsigned long long)s.handshakes_full, (unsigned long long)s.handshakes_resumed,
            (unsigned long long)s.handshakes_failed);
    bprintf(&b, "# TYPE patrold_connections_evicted_total counter\n"
                "patrold_connections_evicted_total %llu\n",
            (unsigned long long)s.connections_evicted);
    bprintf(&b, "# TYPE patrold_requests_total counter\npatrold_requests_total %llu\n",
            (unsigned long long)s.requests);
    bprintf(&b, "# TYPE patrold_log_lines_suppressed_total counter\n"
                "patrold_log_lines_suppressed_total %llu\n",
            (unsigned long long)s.log_suppressed);
    bprintf(&b, "# TYPE patrold_bytes_total counter\npatrold_bytes_total{dir=\"in\"} %llu\n"
                "patrold_bytes_total{dir=\"out\"} %llu\n",
            (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out);
    bprintf(&b, "# TYPE patrold_refusals_total counter\n");
    bprintf(&b, "patrold_refusals_total{reason=\"header_too_large\"} %llu\n",
            (unsigned long long)s.refused_header_too_large);
    bprintf(&b, "patrold_refusals_total{reason=\"body_too_large\"} %llu\n",
            (unsigned long long)s.refused_body_too_large);
    bprintf(&b, "patrold_refusals_total{reason=\"bad_http\"} %llu\n",
            (unsigned long long)s.refused_bad_request);
    bprintf(&b, "patrold_refusals_total{reason=\"connection_limit\"} %llu\n",
            (unsigned long long)s.connections_refused);
    bprintf(&b, "patrold_refusals_total{reason=\"per_peer_limit\"} %llu\n",
            (unsigned long long)s.refused_per_peer);
    bprintf(&b, "patrold_refusals_total{reason=\"no_room_without_certificate\"} %llu\n",
            (unsigned long long)s.refused_unauth);
    bprintf(&b, "patrold_refusals_total{reason=\"body_budget\"} %llu\n",
            (unsigned long long)s.refused_busy);
    bprintf(&b, "patrold_refusals_total{reason=\"timeout\"} %llu\n", (unsigned long long)s.timeouts);
    pthread_mutex_lock(&a->refusal_lock);
    for (size_t i = 0; i < sizeof a->refusals / sizeof a->refusals[0] && a->refusals[i].reason[0];
         i++)
        bprintf(&b, "patrold_refusals_total{reason=\"%s\"} %llu\n", a->refusals[i].reason,
                (unsigned long long)a->refusals[i].count);
    pthread_mutex_unlock(&a->refusal_lock);
    for (int i = 0; i < M_COUNT; i++)
        bprintf(&b, "# TYPE %s counter\n%s %llu\n", names[i], names[i],
                (unsigned long long)atomic_load(&a->counters[i]));
    bprintf(&b, "# TYPE patrold_ingest_seconds histogram\n");
    for (int i = 0; i < APP_LAT_BUCKETS; i++) {
        cum += atomic_load(&a->ingest_lat[i]);
        bprintf(&b, "patrold_ingest_seconds_bucket{le=\"%g\"} %llu\n", 0.00025 * (double)(1 << i),
                (unsigned long long)cum);
    }
    cum += atomic_load(&a->ingest_lat[APP_LAT_BUCKETS]);
    bprintf(&b, "patrold_ingest_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    bprintf(&b, "patrold_ingest_seconds_sum %.6f\npatrold_ingest_seconds_count %llu\n",
            (double)atomic_load(&a->ingest_lat_sum_us) / 1e6, (unsigned long long)cum);
    if (!b.p)
        return reply_error(a, rs, 503, "busy", 0, "out of memory");
    set_body(rs, 200, "text/plain; version=0.0.4", (uint8_t *)b.p, b.n);
}

/* ---- routing ---------------------------------------------------------- */

size_t app_body_limit(void *ud, const char *method, const char *path, int has_client_cert)
{
    (void)ud;
    if (strcmp(path, "/v1/enroll") == 0 && strcmp(method, "POST") == 0)
        return 64 * 1024;
    if (!has_client_cert)
        return 0; /* everything else is for enrolled devices */
    if (strcmp(path, "/v1/batches") == 0 && strcmp(method, "POST") == 0)
        return PX_FRAME_MAX_COMPRESSED + 4096;
    if (strncmp(path, "/v1/evidence/", 13) == 0 && strcmp(method, "PATCH") == 0)
        return APP_MAX_PATCH_BYTES + 65536; /* an LZ4 frame of a full chunk */
    return 0;
}

void app_handle(void *ud, const srv_request *rq, srv_response *rs)
{
    app *a = ud;
    st_backend *db;
    st_device dev;
    int rc;

    if (strcmp(rq->path, "/metrics") == 0 && strcmp(rq->method, "GET") == 0) {
        /* Operational data for the station's own monitoring: loopback only
         * (scrape through a local agent or an SSH tunnel). */
        if (strncmp(rq->peer_addr, "127.", 4) != 0 && strncmp(rq->peer_addr, "[::1]", 5) != 0 &&
            strncmp(rq->peer_addr, "::1", 3) != 0)
            return reply_error(a, rs, 403, "forbidden", 0, "/metrics is served to loopback only");
        return handle_metrics(a, rs);
    }
    if (strcmp(rq->path, "/v1/enroll") == 0) {
        if (strcmp(rq->method, "POST") != 0)
            return reply_error(a, rs, 405, "method_not_allowed", 0, "use POST");
        return handle_enroll(a, rq, rs);
    }
    if (strncmp(rq->path, "/v1/", 4) != 0)
        return reply_error(a, rs, 404, "not_found", 0, "no such endpoint");

    /* Everything else needs an enrolled, active device. */
    if (!rq->peer_key_id)
        return reply_error(a, rs, 401, "no_client_cert", 0,
                           "a client certificate from this server's device CA is required");
    if (!(db = app_db(a)))
        return storage_error(a, rs, NULL, "open its database");
    rc = db->ops->device_by_key(db, rq->peer_key_id, &dev);
    if (rc == ST_NOTFOUND)
        return reply_error(a, rs, 403, "unknown_device", 0, "this certificate's key is not an "
                                                            "enrolled device");
    if (rc != ST_OK)
        return storage_error(a, rs, db, "look up the device");
    if (dev.status == DEV_REVOKED)
        return reply_error(a, rs, 403, "revoked", 0, "device %lld is revoked", (long long)dev.id);

    if (strcmp(rq->path, "/v1/batches") == 0) {
        if (strcmp(rq->method, "POST") != 0)
            return reply_error(a, rs, 405, "method_not_allowed", 0, "use POST");
        return handle_batch(a, &dev, rq, rs);
    }
    if (strncmp(rq->path, "/v1/evidence/", 13) == 0) {
        if (strcmp(rq->method, "HEAD") != 0 && strcmp(rq->method, "PATCH") != 0)
            return reply_error(a, rs, 405, "method_not_allowed", 0, "use HEAD or PATCH");
        return ev_handle(a, &dev, rq, rs, rq->path + 13);
    }
    if (strcmp(rq->path, "/v1/reference") == 0 && strcmp(rq->method, "GET") == 0)
        return handle_reference(a, &dev, rq, rs);
    if (strcmp(rq->path, "/v1/citations") == 0 && strcmp(rq->method, "GET") == 0)
        return handle_citations(a, rq, rs);
    if (strncmp(rq->path, "/v1/log/", 8) == 0 && strcmp(rq->method, "GET") == 0)
        return handle_log(a, rq, rs);
    reply_error(a, rs, 404, "not_found", 0, "no such endpoint");
}

/* ---- set-up ----------------------------------------------------------- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
        if (fread(s, 1, (size_t)n, f) != (size_t)n) {
            free(s);
            s = NULL;
        } else {
            s[n] = '\0';
        }
    }
    fclose(f);
    return s;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

int app_device_revoke(st_backend *db, int64_t id)
{
    int rc = db->ops->begin(db);
    if (rc != ST_OK)
        return rc;
    rc = db->ops->device_revoke(db, id);
    if (rc == ST_OK)
        rc = slog_revocation(db, id, app_now_ms());
    if (rc == ST_OK)
        rc = db->ops->commit(db);
    if (rc != ST_OK)
        db->ops->rollback(db);
    return rc;
}

int app_open(app *a, const char *data_dir, char *err, size_t errlen)
{
    char *path = NULL;
    const char *why = NULL;
    st_backend *db;

    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->refusal_lock, NULL);
    pthread_mutex_init(&a->sign_lock, NULL);
    for (int i = 0; i < 64; i++)
        pthread_mutex_init(&a->evidence_locks[i], NULL);
    pthread_key_create(&a->db_key, db_destroy);
    a->data_dir = strdup(data_dir);
    a->db_path = join(data_dir, "patrold.db");
    if (!a->data_dir || !a->db_path)
        goto nomem;
    path = join(data_dir, "receipt.key");
    if (!path || px_key_load_private(path, &a->receipt_key, &why) != 0) {
        snprintf(err, errlen, "receipt key %s: %s (run 'patrold init')", path ? path : "",
                 why ? why : "out of memory");
        goto fail;
    }
    free(path);
    path = join(data_dir, "ca.key");
    if (!path || px_key_load_private(path, &a->ca_key, &why) != 0) {
        snprintf(err, errlen, "device CA key: %s", why ? why : "out of memory");
        goto fail;
    }
    free(path);
    path = join(data_dir, "ca.crt");
    if (!path || !(a->ca_cert_pem = read_text(path))) {
        snprintf(err, errlen, "cannot read %s", path ? path : "ca.crt");
        goto fail;
    }
    free(path);
    path = NULL;
    if (px_key_public_der(a->receipt_key, a->receipt_pub, sizeof a->receipt_pub,
                          &a->receipt_pub_len) != 0) {
        snprintf(err, errlen, "receipt key unusable");
        goto fail;
    }
    if (!(db = app_db(a))) {
        snprintf(err, errlen, "cannot open %s", a->db_path);
        goto fail;
    }
    if (db->ops->meta_get(db, "server_name", a->server_name, sizeof a->server_name) != ST_OK)
        snprintf(a->server_name, sizeof a->server_name, "patrold");
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    free(path);
    app_close(a);
    return -1;
}

void app_close(app *a)
{
    st_backend *db;
    ev_stop(a);
    db = pthread_getspecific(a->db_key);
    if (db) {
        db->ops->close(db);
        pthread_setspecific(a->db_key, NULL);
    }
    px_key_free(a->receipt_key);
    px_key_free(a->ca_key);
    free(a->ca_cert_pem);
    free(a->data_dir);
    free(a->db_path);
    a->receipt_key = a->ca_key = NULL;
    a->ca_cert_pem = a->data_dir = a->db_path = NULL;
}
