/* fixture.c -- test_sync_unit's fixtures: a store in its own directory
 * under $TMPDIR, enrolment tokens, and the fake server (a thread of this
 * process speaking TLS 1.2 through proto/tls.h and just enough HTTP/1.1,
 * with knobs for misbehaviour). Moved from test_sync_unit.c. */
#include "sync_unit.h"

/* ---- files and stores ----------------------------------------------------- */

void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    if (d) {
        while ((e = readdir(d))) {
            char sub[4096];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void make_tmpdir(char *out, size_t len)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, len, "%s/patrol-sync-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(out));
}

void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

void env_open(env *e)
{
    char err[512];
    memset(e, 0, sizeof *e);
    make_tmpdir(e->dir, sizeof e->dir);
    snprintf(e->store, sizeof e->store, "%s/store", e->dir);
    assert_int_equal(patrol_init(e->store, DEPT, "terminal-7", &e->p, err, sizeof err), PATROL_OK);
}

void env_close(env *e)
{
    patrol_close(e->p);
    rm_rf(e->dir);
}

void record_inspectors(patrol *p, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char id[32], name[32], cert[32];
        patrol_field f[2];
        patrol_record_in in;
        snprintf(id, sizeof id, "I-%05d", i);
        snprintf(name, sizeof name, "Inspector %d", i);
        snprintf(cert, sizeof cert, "C%05d", i);
        f[0] = (patrol_field){"cert_no", cert, PATROL_CONF_NONE};
        f[1] = (patrol_field){"name", name, PATROL_CONF_NONE};
        memset(&in, 0, sizeof in);
        in.kind = "inspector.add";
        in.target = id;
        in.fields = f;
        in.n_fields = 2;
        assert_int_equal(patrol_record(p, &in, NULL), PATROL_OK);
    }
}

uint64_t head_seq(patrol *p)
{
    patrol_info in;
    assert_int_equal(patrol_get_info(p, &in), PATROL_OK);
    return in.entries;
}

/* ---- tokens ------------------------------------------------------------------ */

void b64url(const void *in, size_t n, char *out, size_t cap)
{
    assert_int_equal(px_base64url_encode(in, n, out, cap), 0);
}

void make_token(const uint8_t pin[PX_HASH_LEN], char *out, size_t cap)
{
    uint8_t id[8], secret[16];
    char a[32], b[48], c[64];
    assert_int_equal(px_random(id, sizeof id), 0);
    assert_int_equal(px_random(secret, sizeof secret), 0);
    b64url(id, sizeof id, a, sizeof a);
    b64url(secret, sizeof secret, b, sizeof b);
    b64url(pin, PX_HASH_LEN, c, sizeof c);
    snprintf(out, cap, "PT1.%s.%s.%s", a, b, c);
}

/* ======================================================================
 * A fake server: TLS 1.2 via proto/tls.h, HTTP/1.1 with keep-alive, one
 * connection at a time, on a thread of this process.
 * ====================================================================== */

static void fake_fail(fake *f, int line, const char *what)
{
    if (!f->failed[0])
        snprintf(f->failed, sizeof f->failed, "line %d: %s", line, what);
    fprintf(stderr, "fake server: line %d: %s\n", line, what);
}

/* In a handler: record the broken expectation and answer 500. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fake_fail(f, __LINE__, #cond);                                                         \
            reply_error(rs, 500, "test_failure", #cond);                                           \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static int hdr(const fake_req *rq, const char *name, char *out, size_t len)
{
    size_t n = strlen(name);
    for (const char *l = rq->headers; *l;) {
        const char *end = strstr(l, "\r\n");
        if (!end)
            break;
        if ((size_t)(end - l) > n && l[n] == ':' && strncasecmp(l, name, n) == 0) {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", (int)(end - v), v);
            return 1;
        }
        l = end + 2;
    }
    return 0;
}

static void reply_pb(fake_resp *rs, int status, const ProtobufCMessage *m)
{
    rs->status = status;
    rs->body_len = protobuf_c_message_get_packed_size(m);
    rs->body = malloc(rs->body_len ? rs->body_len : 1);
    protobuf_c_message_pack(m, rs->body);
}

static void reply_error(fake_resp *rs, int status, const char *reason, const char *msg)
{
    Patrol__V1__Error e = PATROL__V1__ERROR__INIT;
    e.reason = (char *)reason;
    e.message = (char *)msg;
    reply_pb(rs, status, &e.base);
    snprintf(rs->headers, sizeof rs->headers, "X-Patrol-Reason: %s\r\n", reason);
}

static void reply_refusal(fake *f, fake_resp *rs, int status, const char *reason)
{
    reply_error(rs, status, reason, "refused");
    if (f->no_error_body) {
        free(rs->body);
        rs->body = NULL;
        rs->body_len = 0;
    }
}

static void on_enroll(fake *f, const fake_req *rq, fake_resp *rs)
{
    Patrol__V1__EnrollRequest *m = patrol__v1__enroll_request__unpack(NULL, rq->body_len, rq->body);
    Patrol__V1__EnrollResponse a = PATROL__V1__ENROLL_RESPONSE__INIT;
    uint8_t pub[PX_PUBKEY_MAX], rkey[PX_PUBKEY_MAX];
    size_t publen, rlen;
    char *cert = NULL;
    const char *why;

    f->enrolls++;
    CHECK(m != NULL);
    if (f->enroll_refuse) {
        reply_refusal(f, rs, 401, f->enroll_refuse);
        goto out;
    }
    CHECK(strlen(m->token) == 34); /* id.secret */
    CHECK(strcmp(m->device_name, "terminal-7") == 0);
    CHECK(px_csr_parse(m->csr_pem, strlen(m->csr_pem), pub, sizeof pub, &publen, &why) == 0);
    CHECK(px_ca_issue(f->ca_key, f->ca_pem, pub, publen, "dev", ++f->serial, 30, &cert, &why) ==
          0);
    px_sha256(pub, publen, f->device);
    CHECK(px_key_public_der(f->receipt_key, rkey, sizeof rkey, &rlen) == 0);
    a.device.data = f->device;
    a.device.len = PX_HASH_LEN;
    a.client_cert_pem = cert;
    a.ca_cert_pem = f->ca_pem;
    a.receipt_key.data = rkey;
    a.receipt_key.len = rlen;
    a.server_name = "fake station";
    a.department = DEPT;
    reply_pb(rs, 200, &a.base);
out:
    free(cert);
    if (m)
        patrol__v1__enroll_request__free_unpacked(m, NULL);
}

static const char *entry_field(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0)
            return e->fields[i]->value;
    return "";
}

static void on_batch(fake *f, const fake_req *rq, fake_resp *rs)
{
    Patrol__V1__Batch *b = NULL;
    Patrol__V1__Ack ack = PATROL__V1__ACK__INIT;
    Patrol__V1__Receipt rc = PATROL__V1__RECEIPT__INIT;
    Patrol__V1__ReceiptBody body = PATROL__V1__RECEIPT_BODY__INIT;
    Patrol__V1__EntryAck *acks = NULL, **ackp = NULL;
    Patrol__V1__Entry *e = NULL;
    char *missing[MAX_EV];
    uint8_t *raw = NULL, *rbody = NULL, sig[PX_SIG_LEN];
    size_t n, nmissing = 0;
    const char *why;
    uint64_t first_added = 0;
    int rejected = 0;

    f->batches++;
    if (!rq->peer || memcmp(rq->peer, f->device, PX_HASH_LEN) != 0) {
        f->peer_bad++;
        reply_error(rs, 401, "no_client_cert", "no client certificate");
        goto out;
    }
    f->peer_ok++;
    CHECK(px_frame_decode(rq->body, rq->body_len, NULL, &raw, &n, &why) == 0);
    CHECK((b = patrol__v1__batch__unpack(NULL, n, raw)) != NULL);
    CHECK(b->protocol == 1);
    CHECK(b->batch_id.len == 16);
    CHECK(b->device.len == PX_HASH_LEN && !memcmp(b->device.data, f->device, PX_HASH_LEN));
    CHECK(b->n_entries <= 500);
    if (b->n_entries == 0) {
        /* The terminal asking what the server holds (patrol_sync starts
         * so): answered as patrold does, not counted as a batch. */
        f->batches--;
        f->probes++;
    }
    acks = calloc(b->n_entries + 1, sizeof *acks);
    ackp = calloc(b->n_entries + 1, sizeof *ackp);
    CHECK(acks && ackp);
    for (size_t i = 0; i < b->n_entries; i++) {
        uint8_t h[PX_HASH_LEN];
        CHECK((e = px_entry_decode(b->entries[i]->entry.data, b->entries[i]->entry.len, &why)));
        patrol__v1__entry_ack__init(&acks[i]);
        ackp[i] = &acks[i];
        acks[i].seq = e->seq;
        acks[i].reason = "";
        acks[i].detail = "";
        px_entry_hash(b->entries[i]->entry.data, b->entries[i]->entry.len, h);
        if (rejected) {
            acks[i].status = PATROL__V1__ENTRY_STATUS__REJECTED;
            acks[i].reason = "after_rejected";
        } else if (e->seq == f->reject_seq) {
            acks[i].status = PATROL__V1__ENTRY_STATUS__REJECTED;
            acks[i].reason = (char *)f->reject_reason;
            acks[i].detail = "another entry holds this sequence number";
            rejected = 1;
        } else if (e->seq <= f->head) {
            acks[i].status = PATROL__V1__ENTRY_STATUS__DUPLICATE;
        } else if (e->seq != f->head + 1) {
            acks[i].status = PATROL__V1__ENTRY_STATUS__REJECTED;
            acks[i].reason = "gap";
            rejected = 1;
        } else {
            CHECK(!memcmp(e->prev_hash.data, f->head_hash, PX_HASH_LEN));
            acks[i].status = PATROL__V1__ENTRY_STATUS__ACCEPTED;
            f->head = e->seq;
            memcpy(f->head_hash, h, PX_HASH_LEN);
            if (!first_added)
                first_added = e->seq;
            if (strcmp(e->kind, "evidence.add") == 0 && f->n_ev < MAX_EV) {
                fake_ev *ev = &f->ev[f->n_ev++];
                snprintf(ev->sha, sizeof ev->sha, "%s", entry_field(e, "sha256"));
                ev->size = strtoull(entry_field(e, "size"), NULL, 10);
                ev->data = calloc(1, ev->size);
            }
        }
        px_entry_free(e);
        e = NULL;
    }
    for (int i = 0; i < f->n_ev; i++)
        if (!f->ev[i].complete)
            missing[nmissing++] = f->ev[i].sha;
    body.device.data = f->device;
    body.device.len = PX_HASH_LEN;
    body.first_seq = first_added;
    body.last_seq = f->head;
    body.head_hash.data = f->head_hash;
    if (f->wrong_head && b->n_entries)
        f->head_hash[0] ^= 1; /* restored below */
    body.head_hash.len = f->head ? PX_HASH_LEN : 0;
    body.server_time_ms = 1790000000000LL;
    body.server_name = "fake station";
    body.batch_id = b->batch_id;
    n = patrol__v1__receipt_body__get_packed_size(&body);
    CHECK((rbody = malloc(n)) != NULL);
    patrol__v1__receipt_body__pack(&body, rbody);
    sign_body(f->receipt_key, rbody, n, sig);
    if (f->wrong_head && b->n_entries)
        f->head_hash[0] ^= 1;
    if (f->corrupt_receipt && b->n_entries)
        sig[7] ^= 0x20;
    rc.body.data = rbody;
    rc.body.len = n;
    rc.sig.data = sig;
    rc.sig.len = PX_SIG_LEN;
    ack.batch_id = b->batch_id;
    ack.entries = ackp;
    ack.n_entries = b->n_entries;
    ack.expected_seq = f->head + 1;
    ack.receipt = &rc;
    ack.missing_evidence = missing;
    ack.n_missing_evidence = nmissing;
    if (f->log_mode && first_added) {
        char leaf[256], dh[65], hh[65], text[TLOG_NOTE_MAX];
        uint8_t root[TLOG_HASH_LEN];
        int ln, tl;
        for (int i = 0; i < PX_HASH_LEN; i++) {
            snprintf(dh + 2 * i, 3, "%02x", f->device[i]);
            snprintf(hh + 2 * i, 3, "%02x", f->head_hash[i]);
        }
        ln = snprintf(leaf, sizeof leaf, "patrol-entry\n%s\n%llu\n%s\n", dh,
                      (unsigned long long)(f->head + (f->log_mode == 2)), hh);
        CHECK(tlog_leaf_hash(leaf, (size_t)ln, root) == 0);
        tl = tlog_checkpoint_text("patrold/fake", 1, root, text, sizeof text);
        CHECK(tl > 0);
        CHECK(tlog_note_sign(f->log_mode == 3 ? f->server_key : f->receipt_key, text,
                             (size_t)tl, f->log_note, sizeof f->log_note) > 0);
        ack.log_checkpoint = f->log_note;
        ack.log_leaf = 1; /* a one-leaf tree: the proof is empty */
    }
    reply_pb(rs, 200, &ack.base);
out:
    px_entry_free(e);
    free(raw);
    free(rbody);
    free(acks);
    free(ackp);
    if (b)
        patrol__v1__batch__free_unpacked(b, NULL);
}

fake_ev *find_ev(fake *f, const char *sha)
{
    for (int i = 0; i < f->n_ev; i++)
        if (strcmp(f->ev[i].sha, sha) == 0)
            return &f->ev[i];
    return NULL;
}

static void offset_headers(fake_resp *rs, const fake_ev *ev)
{
    size_t n = strlen(rs->headers);
    snprintf(rs->headers + n, sizeof rs->headers - n,
             "Tus-Resumable: 1.0.0\r\nUpload-Offset: %llu\r\nUpload-Length: %llu\r\n%s",
             (unsigned long long)ev->off, (unsigned long long)ev->size,
             ev->complete ? "Upload-Complete: 1\r\n" : "");
}

static void on_evidence(fake *f, const fake_req *rq, fake_resp *rs)
{
    fake_ev *ev = find_ev(f, rq->path + strlen("/v1/evidence/"));
    char v[64], ct[64];
    uint8_t *raw = NULL, d[PX_HASH_LEN];
    const uint8_t *data = rq->body;
    size_t n = rq->body_len;
    const char *why;
    char hex[65];

    if (!rq->peer || memcmp(rq->peer, f->device, PX_HASH_LEN) != 0) {
        reply_error(rs, 401, "no_client_cert", "no client certificate");
        goto out;
    }
    if (!ev) {
        reply_error(rs, 404, "not_expected", "no such evidence");
        goto out;
    }
    if (strcmp(rq->method, "HEAD") == 0) {
        f->heads++;
        rs->status = 200;
        offset_headers(rs, ev);
        goto out;
    }
    f->patches++;
    CHECK(strcmp(rq->method, "PATCH") == 0);
    CHECK(hdr(rq, "upload-offset", v, sizeof v));
    CHECK(hdr(rq, "content-type", ct, sizeof ct));
    CHECK(strcmp(ct, "application/offset+octet-stream") == 0);
    if (ev->complete) {
        rs->status = 204;
        offset_headers(rs, ev);
        goto out;
    }
    if (f->conflict_once || strtoull(v, NULL, 10) != ev->off) {
        f->conflict_once = 0;
        reply_error(rs, 409, "offset_mismatch", "offset mismatch");
        offset_headers(rs, ev);
        goto out;
    }
    if (hdr(rq, "upload-encoding", v, sizeof v)) {
        CHECK(strcmp(v, "lz4") == 0);
        /* patrold's limits for a PATCH: 8 MiB, ratio 255 (LZ4's most) */
        px_frame_limits lim = {8u << 20, 8u << 20, 255};
        CHECK(px_frame_decode(rq->body, rq->body_len, &lim, &raw, &n, &why) == 0);
        data = raw;
        f->lz4_patches++;
    }
    CHECK(n <= (4u << 20));
    if (ev->off + n > ev->size) {
        reply_error(rs, 413, "too_large", "past the end");
        goto out;
    }
    memcpy(ev->data + ev->off, data, n);
    ev->off += n;
    if (f->drop_after_patch && ev->off < ev->size) {
        f->drop_after_patch--;
        rs->drop = 1;
        goto out;
    }
    if (ev->off == ev->size) {
        if (f->corrupt_evidence)
            ev->data[ev->size / 2] ^= 1;
        px_sha256(ev->data, ev->size, d);
        px_format_hex(d, PX_HASH_LEN, hex);
        if (strcmp(hex, ev->sha) != 0) {
            if (f->corrupt_evidence)
                ev->data[ev->size / 2] ^= 1;
            ev->off = 0;
            reply_error(rs, 422, "hash_mismatch", "the bytes do not hash to the name");
            offset_headers(rs, ev);
            goto out;
        }
        ev->complete = 1;
    }
    rs->status = 204;
    offset_headers(rs, ev);
out:
    free(raw);
}

static void on_reference(fake *f, const fake_req *rq, fake_resp *rs)
{
    Patrol__V1__Reference r = PATROL__V1__REFERENCE__INIT;
    Patrol__V1__Domain d[2] = {PATROL__V1__DOMAIN__INIT, PATROL__V1__DOMAIN__INIT};
    Patrol__V1__Domain *dp[2] = {&d[0], &d[1]};
    Patrol__V1__Department dep = PATROL__V1__DEPARTMENT__INIT, *depp = &dep;
    char *dep_domains[1] = {"urban_management"};
    Patrol__V1__ListItem li = PATROL__V1__LIST_ITEM__INIT, *lip = &li;
    Patrol__V1__Leaflet lf = PATROL__V1__LEAFLET__INIT, *lfp = &lf;
    Patrol__V1__RosterInspector ri = PATROL__V1__ROSTER_INSPECTOR__INIT, *rip = &ri;
    Patrol__V1__AssignedRevisit rv = PATROL__V1__ASSIGNED_REVISIT__INIT, *rvp = &rv;
    unsigned long long since;

    f->refs++;
    CHECK(strncmp(rq->path, "/v1/reference?since=", 20) == 0);
    since = strtoull(rq->path + 20, NULL, 10);
    if (since >= f->ref_version) {
        rs->status = 304;
        goto out;
    }
    r.version = f->ref_version;
    d[0].code = "urban_management";
    d[0].name = "城市管理";
    d[0].flexible = 1;
    /* An excluded domain, not flexible; data that says it is flexible is
     * refused whole (ref_excluded_flexible, test_sync_roundtrip). */
    d[1].code = "public_safety";
    d[1].name = "公共安全";
    d[1].flexible = f->ref_excluded_flexible;
    r.domains = dp;
    r.n_domains = 2;
    dep.code = DEPT;
    dep.name = "泗阳县城市管理局";
    dep.domains = dep_domains;
    dep.n_domains = 1;
    r.departments = &depp;
    r.n_departments = 1;
    li.list_type = "no_penalty";
    li.list_version = "2026.11";
    li.code = "CG-NP-101";
    li.domain = "urban_management";
    li.name = "新清单事项";
    li.basis = "某条例第一条";
    r.list_items = &lip;
    r.n_list_items = 1;
    lf.code = "LF-001";
    lf.title = "门前三包责任告知书";
    r.leaflets = &lfp;
    r.n_leaflets = 1;
    ri.id = "zhangwei";
    ri.name = "张伟";
    ri.cert_no = "32132300100";
    r.roster = &rip;
    r.n_roster = 1;
    rv.id = "RV-1";
    rv.matter = "M-1";
    rv.subject_name = "某店";
    rv.due = "2026-12-10";
    rv.note = "";
    rv.department = DEPT;
    r.revisits = &rvp;
    r.n_revisits = 1;
    reply_pb(rs, 200, &r.base);
out:;
}

static void handle(fake *f, const fake_req *rq, fake_resp *rs)
{
    pthread_mutex_lock(&f->mu);
    f->requests++;
    if (f->fail_5xx > 0) {
        f->fail_5xx--;
        reply_error(rs, 503, "storage", "try later");
    } else if (f->busy_batches > 0 && !strcmp(rq->path, "/v1/batches")) {
        f->busy_batches--;
        reply_error(rs, 503, "busy", "the server is busy: try again in 1 s");
        snprintf(rs->headers, sizeof rs->headers, "X-Patrol-Reason: busy\r\nRetry-After: 1\r\n");
    } else if (!strcmp(rq->method, "POST") && !strcmp(rq->path, "/v1/enroll")) {
        on_enroll(f, rq, rs);
    } else if (!strcmp(rq->method, "POST") && !strcmp(rq->path, "/v1/batches")) {
        on_batch(f, rq, rs);
    } else if (!strncmp(rq->path, "/v1/evidence/", 13)) {
        on_evidence(f, rq, rs);
    } else if (!strcmp(rq->method, "GET") && !strncmp(rq->path, "/v1/reference", 13)) {
        on_reference(f, rq, rs);
    } else {
        reply_error(rs, 404, "not_found", "no such endpoint");
    }
    pthread_mutex_unlock(&f->mu);
}

/* Wait for the socket as px_tls asks; 0 ready, -1 timeout or stop. */
static int tls_wait(fake *f, int fd, int want)
{
    for (int waited = 0; waited < 5000 && !f->stop; waited += 50) {
        struct pollfd pfd = {fd, (short)(want == PX_TLS_WANT_WRITE ? POLLOUT : POLLIN), 0};
        int r = poll(&pfd, 1, 50);
        if (r > 0)
            return 0;
    }
    return -1;
}

static int tls_read(fake *f, px_tls_conn *c, int fd, void *buf, size_t n)
{
    for (;;) {
        int r = px_tls_conn_read(c, buf, n);
        if (r > 0)
            return r;
        if (r != PX_TLS_WANT_READ && r != PX_TLS_WANT_WRITE)
            return -1;
        if (!px_tls_conn_pending(c) && tls_wait(f, fd, r) != 0)
            return -1;
    }
}

static int tls_write_all(fake *f, px_tls_conn *c, int fd, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    while (n > 0) {
        int r = px_tls_conn_write(c, b, n);
        if (r > 0) {
            b += r;
            n -= (size_t)r;
            continue;
        }
        if ((r != PX_TLS_WANT_READ && r != PX_TLS_WANT_WRITE) || tls_wait(f, fd, r) != 0)
            return -1;
    }
    return 0;
}

static char *find_crlf2(uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (b[i] == '\r' && !memcmp(b + i, "\r\n\r\n", 4))
            return (char *)b + i;
    return NULL;
}

static void serve(fake *f, int fd)
{
    px_tls_conn *c = NULL;
    const char *why;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;

    if (px_tls_conn_new(f->tls, fd, &c, &why) != 0)
        return;
    while ((rc = px_tls_conn_handshake(c)) != PX_TLS_OK)
        if ((rc != PX_TLS_WANT_READ && rc != PX_TLS_WANT_WRITE) || tls_wait(f, fd, rc) != 0)
            goto done;
    for (;;) {
        fake_req rq;
        fake_resp rs;
        char *end = NULL, cl[32], head[640];
        size_t hlen, body_len = 0;

        memset(&rq, 0, sizeof rq);
        memset(&rs, 0, sizeof rs);
        while (!(end = find_crlf2(buf, len))) {
            int r;
            if (len + 65536 > cap) {
                cap = cap ? cap * 2 : 1 << 20;
                buf = realloc(buf, cap);
            }
            if ((r = tls_read(f, c, fd, buf + len, cap - len - 1)) <= 0)
                goto done;
            len += (size_t)r;
        }
        hlen = (size_t)(end - (char *)buf) + 4;
        {
            char *sp1, *sp2, *eol = memchr(buf, '\r', hlen);
            *eol = '\0';
            sp1 = strchr((char *)buf, ' ');
            sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
            if (!sp2) {
                fake_fail(f, __LINE__, "request line");
                goto done;
            }
            snprintf(rq.method, sizeof rq.method, "%.*s", (int)(sp1 - (char *)buf), (char *)buf);
            snprintf(rq.path, sizeof rq.path, "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
            snprintf(rq.headers, sizeof rq.headers, "%.*s", (int)(hlen - (size_t)(eol - (char *)buf) - 2),
                     eol + 2);
        }
        if (hdr(&rq, "content-length", cl, sizeof cl))
            body_len = strtoull(cl, NULL, 10);
        if (strstr(rq.headers, "100-continue"))
            fake_fail(f, __LINE__, "Expect: 100-continue sent");
        while (len < hlen + body_len) {
            int r;
            if (hlen + body_len + 1 > cap) {
                cap = hlen + body_len + 1;
                buf = realloc(buf, cap);
            }
            if ((r = tls_read(f, c, fd, buf + len, cap - len - 1)) <= 0)
                goto done; /* cut mid-body: nothing handled */
            len += (size_t)r;
        }
        rq.body = buf + hlen;
        rq.body_len = body_len;
        rq.peer = px_tls_conn_peer_key_id(c);
        handle(f, &rq, &rs);
        if (rs.drop) {
            free(rs.body);
            goto done;
        }
        snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s%s\r\n", rs.status,
                 rs.body_len, rs.body_len ? "Content-Type: application/x-protobuf\r\n" : "",
                 rs.headers);
        if (tls_write_all(f, c, fd, head, strlen(head)) != 0 ||
            (strcmp(rq.method, "HEAD") != 0 && rs.body_len &&
             tls_write_all(f, c, fd, rs.body, rs.body_len) != 0)) {
            free(rs.body);
            goto done;
        }
        free(rs.body);
        memmove(buf, buf + hlen + body_len, len - hlen - body_len);
        len -= hlen + body_len;
    }
done:
    px_tls_conn_free(c);
    free(buf);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    while (!f->stop) {
        struct pollfd pl = {f->lfd, POLLIN, 0};
        int fd;
        if (poll(&pl, 1, 50) <= 0)
            continue;
        if ((fd = accept(f->lfd, NULL, NULL)) < 0)
            continue;
        fcntl(fd, F_SETFL, O_NONBLOCK);
        pthread_mutex_lock(&f->mu);
        f->connections++;
        pthread_mutex_unlock(&f->mu);
        serve(f, fd);
        close(fd);
    }
    return NULL;
}

static void write_pem(fake *f, const char *name, const char *pem, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", f->dir, name);
    write_file(path, pem, strlen(pem));
}

/* with_ca: ask for client certificates from the device CA (mutual TLS). */
fake *fake_start(int with_ca)
{
    fake *f = calloc(1, sizeof *f);
    char crt[300], key[300], ca[300], *pem = NULL;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    const char *why;

    assert_non_null(f);
    pthread_mutex_init(&f->mu, NULL);
    make_tmpdir(f->dir, sizeof f->dir);
    assert_int_equal(px_key_generate(&f->server_key, &why), 0);
    assert_int_equal(px_key_generate(&f->ca_key, &why), 0);
    assert_int_equal(px_key_generate(&f->receipt_key, &why), 0);
    assert_int_equal(px_x509_self_signed(f->server_key, "fake-server", 30, 0, &pem, &why), 0);
    assert_int_equal(px_cert_key_id(pem, strlen(pem), f->pin, &why), 0);
    write_pem(f, "server.crt", pem, crt, sizeof crt);
    free(pem);
    snprintf(key, sizeof key, "%s/server.key", f->dir);
    assert_int_equal(px_key_save_private(f->server_key, key, &why), 0);
    assert_int_equal(px_x509_self_signed(f->ca_key, "fake-ca", 30, 1, &f->ca_pem, &why), 0);
    write_pem(f, "ca.crt", f->ca_pem, ca, sizeof ca);
    if (px_tls_server_new(crt, key, with_ca ? ca : NULL, &f->tls, &why) != 0)
        fail_msg("fake server TLS: %s", why);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    f->reject_reason = "fork";
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
    f->running = 1;
    return f;
}

void fake_stop(fake *f)
{
    f->stop = 1;
    if (f->running)
        pthread_join(f->th, NULL);
    if (f->failed[0])
        fail_msg("the fake server saw a wrong request: %s", f->failed);
    close(f->lfd);
    px_tls_server_free(f->tls);
    px_key_free(f->server_key);
    px_key_free(f->ca_key);
    px_key_free(f->receipt_key);
    free(f->ca_pem);
    for (int i = 0; i < f->n_ev; i++)
        free(f->ev[i].data);
    rm_rf(f->dir);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void fake_url(const fake *f, char *out, size_t len)
{
    snprintf(out, len, "https://127.0.0.1:%u", f->port);
}

/* Quick retries, so that the tests are fast. */
void fast_opts(patrol_sync_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backoff_initial_ms = 5;
    o->backoff_max_ms = 20;
    o->max_attempts = 5;
    o->timeout_s = 60;
    o->connect_timeout_s = 5;
}

void enroll(env *e, fake *f)
{
    char url[64], tok[200];
    fake_url(f, url, sizeof url);
    make_token(f->pin, tok, sizeof tok);
    if (patrol_enroll(e->p, url, tok, 0, NULL) != PATROL_OK)
        fail_msg("enrol: %s", patrol_errmsg(e->p));
}
