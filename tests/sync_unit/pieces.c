/* pieces.c -- test_sync_unit: the pure pieces of sync, alone: the
 * enrolment token (sync_token.c), batches and their limits (sync_batch.c),
 * receipt verification (sync_receipt.c). Moved from test_sync_unit.c. */
#include "sync_unit.h"

void test_token_good(void **state)
{
    uint8_t pin[PX_HASH_LEN];
    char tok[200], spaced[220];
    const char *why = NULL;
    px_token t;
    (void)state;

    for (int i = 0; i < 50; i++) {
        assert_int_equal(px_random(pin, sizeof pin), 0);
        make_token(pin, tok, sizeof tok);
        assert_int_equal(px_token_parse(tok, &t, &why), 0);
        assert_memory_equal(t.pin, pin, sizeof pin);
        /* "id.secret" exactly as written, sent to the server */
        assert_int_equal(strlen(t.id_secret), 11 + 1 + 22);
        assert_memory_equal(t.id_secret, tok + 4, 34);
    }
    /* Pasted with a newline or spaces around it. */
    snprintf(spaced, sizeof spaced, "  %s\r\n", tok);
    assert_int_equal(px_token_parse(spaced, &t, &why), 0);
    assert_memory_equal(t.pin, pin, sizeof pin);
}

/* A token that is syntactically right parses; whether it expired, was used
 * or was ever issued only the server can say (401 token_*). */
void test_token_expired_looking(void **state)
{
    static const char *const toks[] = {
        "PT1.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "PT1.__________8.______________________w.____________________________________________8",
    };
    px_token t;
    const char *why;
    (void)state;
    assert_int_equal(px_token_parse(toks[0], &t, &why), 0);
    for (size_t i = 0; i < PX_HASH_LEN; i++)
        assert_int_equal(t.pin[i], 0);
    /* Unused bits not zero: the strict decoder refuses it. */
    assert_int_equal(px_token_parse(toks[1], &t, &why), -1);
}

void test_token_bad(void **state)
{
    char good[200], buf[400];
    uint8_t pin[PX_HASH_LEN] = {1, 2, 3};
    const char *id, *secret, *p;
    px_token t;
    const char *why;
    (void)state;

    make_token(pin, good, sizeof good);
    id = good + 4;
    secret = id + 12;
    p = secret + 23;
    {
        const char *const bad[] = {
            "",
            "   \n",
            "PT1",
            "PT1.",
            "PT1...",
            "PT1.a.b",
            "pt1.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "XX1.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "PT10.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            /* id 7 bytes, secret 15 bytes, pin 31 bytes */
            "PT1.AAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "PT1.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "PT1.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            /* padded, standard alphabet, inner space, empty part */
            "PT1.AAAAAAAAAAA=.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "PT1.AAAAAAAAAA+.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "PT1.AAAAAAAAAAA.AAAAAAAAAA/AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "PT1.AAAAA AAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "PT1..AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "\x01\x02\xff\xfe garbage \x7f",
            "https://example.org/?token=PT1",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            why = NULL;
            if (px_token_parse(bad[i], &t, &why) != -1)
                fail_msg("accepted bad token %zu: '%s'", i, bad[i]);
            assert_non_null(why);
        }
    }
    /* Newer format: a clear word, not "not a token". */
    snprintf(buf, sizeof buf, "PT2.%s", id);
    assert_int_equal(px_token_parse(buf, &t, &why), -1);
    assert_non_null(strstr(why, "newer"));
    /* Too many parts, trailing dot. */
    snprintf(buf, sizeof buf, "%s.%s", good, p);
    assert_int_equal(px_token_parse(buf, &t, &why), -1);
    snprintf(buf, sizeof buf, "%s.", good);
    assert_int_equal(px_token_parse(buf, &t, &why), -1);
    /* Parts swapped: the secret where the id goes. */
    snprintf(buf, sizeof buf, "PT1.%.22s.%.11s.%s", secret, id, p);
    assert_int_equal(px_token_parse(buf, &t, &why), -1);
    /* Very long input. */
    memset(buf, 'A', sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    memcpy(buf, "PT1.", 4);
    assert_int_equal(px_token_parse(buf, &t, &why), -1);
    assert_int_equal(px_token_parse(NULL, &t, &why), -1);
    /* Nothing is left behind on failure. */
    for (size_t i = 0; i < sizeof t.id_secret; i++)
        assert_int_equal(t.id_secret[i], 0);
}

/* ---- batches ------------------------------------------------------------------ */

static Patrol__V1__Batch *unframe(const px_batch *b)
{
    uint8_t *raw;
    size_t n;
    const char *why;
    Patrol__V1__Batch *m;
    assert_int_equal(px_frame_decode(b->frame, b->frame_len, NULL, &raw, &n, &why), 0);
    assert_int_equal(n, b->raw_len);
    m = patrol__v1__batch__unpack(NULL, n, raw);
    free(raw);
    assert_non_null(m);
    return m;
}

/* The batch holds the journal's bytes, consecutive from `first`. */
static void check_batch(patrol *p, const px_batch *b, const uint8_t id[PX_BATCH_ID_LEN])
{
    Patrol__V1__Batch *m = unframe(b);
    sqlite3_stmt *st;
    assert_int_equal(m->protocol, 1);
    assert_int_equal(m->batch_id.len, PX_BATCH_ID_LEN);
    assert_memory_equal(m->batch_id.data, id, PX_BATCH_ID_LEN);
    assert_int_equal(m->device.len, PX_HASH_LEN);
    assert_memory_equal(m->device.data, p->device_id, PX_HASH_LEN);
    assert_int_equal(m->n_entries, b->n);
    assert_int_equal(b->last - b->first + 1, b->n);
    assert_int_equal(sqlite3_prepare_v2(p->db, "SELECT entry, sig FROM journal WHERE seq = ?", -1,
                                        &st, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < m->n_entries; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(b->first + i));
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(m->entries[i]->entry.len, (size_t)sqlite3_column_bytes(st, 0));
        assert_memory_equal(m->entries[i]->entry.data, sqlite3_column_blob(st, 0),
                            m->entries[i]->entry.len);
        assert_int_equal(m->entries[i]->sig.len, PX_SIG_LEN);
        assert_memory_equal(m->entries[i]->sig.data, sqlite3_column_blob(st, 1), PX_SIG_LEN);
        assert_int_equal(b->sizes[i], m->entries[i]->entry.len + PX_SIG_LEN);
    }
    sqlite3_finalize(st);
    patrol__v1__batch__free_unpacked(m, NULL);
}

void test_batch_limits(void **state)
{
    env e;
    px_batch b;
    uint8_t id[PX_BATCH_ID_LEN];
    uint64_t head;
    (void)state;

    env_open(&e);
    record_inspectors(e.p, 1, 520);
    head = head_seq(e.p);
    assert_int_equal(head, 521);
    memset(id, 0x5a, sizeof id);

    /* At most 500 entries, however many are asked for. */
    assert_int_equal(px_batch_build(e.p, 1, 1000, 0, id, &b), PATROL_OK);
    assert_int_equal(b.first, 1);
    assert_int_equal(b.n, PX_SYNC_BATCH_ENTRIES);
    assert_true(b.raw_len <= PX_BATCH_MAX_BYTES);
    check_batch(e.p, &b, id);
    px_batch_free(&b);
    assert_int_equal(px_batch_build(e.p, 1, 0, 0, id, &b), PATROL_OK);
    assert_int_equal(b.n, PX_SYNC_BATCH_ENTRIES);
    px_batch_free(&b);

    /* The rest. */
    assert_int_equal(px_batch_build(e.p, 501, 500, 0, id, &b), PATROL_OK);
    assert_int_equal(b.n, 21);
    assert_int_equal(b.last, head);
    check_batch(e.p, &b, id);
    px_batch_free(&b);

    /* Byte budget: as many as fit, not one more. */
    assert_int_equal(px_batch_build(e.p, 10, 500, 4096, id, &b), PATROL_OK);
    assert_true(b.n >= 2);
    assert_true(b.raw_len <= 4096);
    {
        size_t n = b.n, raw = b.raw_len;
        check_batch(e.p, &b, id);
        px_batch_free(&b);
        assert_int_equal(px_batch_build(e.p, 10, n + 1, 0, id, &b), PATROL_OK);
        assert_true(b.raw_len > 4096);
        assert_true(b.raw_len > raw);
        px_batch_free(&b);
    }
    /* A budget below one entry still sends that entry, alone. */
    assert_int_equal(px_batch_build(e.p, 7, 500, 10, id, &b), PATROL_OK);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.first, 7);
    check_batch(e.p, &b, id);
    px_batch_free(&b);

    /* Nothing after the head. */
    assert_int_equal(px_batch_build(e.p, head + 1, 500, 0, id, &b), PATROL_ENOTFOUND);
    assert_null(b.frame);
    px_batch_free(&b); /* harmless twice */
    env_close(&e);
}

/* 1 MiB is reached before 500 entries when entries are large. */
void test_batch_byte_cap(void **state)
{
    env e;
    px_batch b;
    uint8_t id[PX_BATCH_ID_LEN] = {0};
    char text[7001];
    (void)state;

    env_open(&e);
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    for (int i = 0; i < 200; i++) {
        char iid[32], cert[32];
        patrol_field f[2];
        patrol_record_in in;
        snprintf(iid, sizeof iid, "I-%05d", i);
        snprintf(cert, sizeof cert, "C%05d", i);
        /* names are one line of at most 400 bytes: long ones make big entries */
        text[390] = '\0';
        f[0] = (patrol_field){"cert_no", cert, PATROL_CONF_NONE};
        f[1] = (patrol_field){"name", text, PATROL_CONF_NONE};
        memset(&in, 0, sizeof in);
        in.kind = "inspector.add";
        in.target = iid;
        in.fields = f;
        in.n_fields = 2;
        assert_int_equal(patrol_record(e.p, &in, NULL), PATROL_OK);
    }
    /* ~550 bytes per entry: a 64 KiB budget holds ~110 of 201. */
    assert_int_equal(px_batch_build(e.p, 1, 500, 64 << 10, id, &b), PATROL_OK);
    assert_true(b.n > 50 && b.n < 201);
    assert_true(b.raw_len <= (64u << 10));
    check_batch(e.p, &b, id);
    px_batch_free(&b);
    env_close(&e);
}

/* ---- receipts ------------------------------------------------------------------ */

typedef struct receipt_fixture {
    px_key *rk;
    uint8_t device[PX_HASH_LEN], head[PX_HASH_LEN], batch[PX_BATCH_ID_LEN];
    uint8_t *body;
    size_t len;
    uint8_t sig[PX_SIG_LEN];
    uint32_t suite; /* ReceiptBody.suite make_receipt writes */
} receipt_fixture;

void sign_body(px_key *k, const uint8_t *body, size_t len, uint8_t sig[PX_SIG_LEN])
{
    uint8_t d[PX_HASH_LEN];
    px_sha256(body, len, d);
    assert_int_equal(px_sign(k, d, sig), 0);
}

static void make_receipt(receipt_fixture *f, uint64_t first, uint64_t last, int with_head)
{
    Patrol__V1__ReceiptBody b = PATROL__V1__RECEIPT_BODY__INIT;
    b.device.data = f->device;
    b.device.len = PX_HASH_LEN;
    b.first_seq = first;
    b.last_seq = last;
    if (with_head) {
        b.head_hash.data = f->head;
        b.head_hash.len = PX_HASH_LEN;
    }
    b.server_time_ms = 1790000000000LL;
    b.server_name = "county station";
    b.batch_id.data = f->batch;
    b.batch_id.len = PX_BATCH_ID_LEN;
    b.suite = f->suite;
    free(f->body);
    f->len = patrol__v1__receipt_body__get_packed_size(&b);
    f->body = malloc(f->len);
    assert_non_null(f->body);
    patrol__v1__receipt_body__pack(&b, f->body);
    sign_body(f->rk, f->body, f->len, f->sig);
}

int receipt_setup(void **state)
{
    receipt_fixture *f = calloc(1, sizeof *f);
    const char *why;
    assert_non_null(f);
    assert_int_equal(px_key_generate(&f->rk, &why), 0);
    px_random(f->device, sizeof f->device);
    px_random(f->head, sizeof f->head);
    px_random(f->batch, sizeof f->batch);
    make_receipt(f, 3, 9, 1);
    *state = f;
    return 0;
}

int receipt_teardown(void **state)
{
    receipt_fixture *f = *state;
    px_key_free(f->rk);
    free(f->body);
    free(f);
    return 0;
}

static int check(receipt_fixture *f, const uint8_t *body, size_t len, const uint8_t *sig,
                 size_t siglen, px_receipt *out, const char **why)
{
    return px_receipt_check(f->rk, body, len, sig, siglen, f->device, f->batch, PX_BATCH_ID_LEN,
                            out, why);
}

void test_receipt_good(void **state)
{
    receipt_fixture *f = *state;
    px_receipt r;
    const char *why = NULL;
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), 0);
    assert_int_equal(r.first_seq, 3);
    assert_int_equal(r.last_seq, 9);
    assert_memory_equal(r.head_hash, f->head, PX_HASH_LEN);
    assert_int_equal(r.server_time_ms, 1790000000000LL);
    assert_string_equal(r.server_name, "county station");
    /* Without a batch to match (NULL), the batch id is not looked at. */
    assert_int_equal(px_receipt_check(f->rk, f->body, f->len, f->sig, PX_SIG_LEN, f->device, NULL,
                                      0, &r, &why),
                     0);
    /* Nothing held yet: no head needed. */
    make_receipt(f, 0, 0, 0);
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), 0);
    assert_int_equal(r.last_seq, 0);
}

/* Any flipped bit of the body or the signature: refused. */
void test_receipt_tampered(void **state)
{
    receipt_fixture *f = *state;
    px_receipt r;
    const char *why;
    uint8_t sig[PX_SIG_LEN];
    for (size_t i = 0; i < f->len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            f->body[i] ^= (uint8_t)(1u << bit);
            why = NULL;
            assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), -1);
            assert_non_null(strstr(why, "signature"));
            f->body[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (size_t i = 0; i < PX_SIG_LEN; i++) {
        memcpy(sig, f->sig, sizeof sig);
        sig[i] ^= 0x01;
        assert_int_equal(check(f, f->body, f->len, sig, PX_SIG_LEN, &r, &why), -1);
    }
    /* One byte more or less of body; a short signature. */
    assert_int_equal(check(f, f->body, f->len - 1, f->sig, PX_SIG_LEN, &r, &why), -1);
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN - 1, &r, &why), -1);
    assert_int_equal(check(f, f->body, 0, f->sig, PX_SIG_LEN, &r, &why), -1);
    assert_int_equal(check(f, NULL, 0, NULL, 0, &r, &why), -1);
    /* Untouched, it still verifies. */
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), 0);
}

void test_receipt_wrong_key(void **state)
{
    receipt_fixture *f = *state;
    px_key *other;
    px_receipt r;
    const char *why;
    uint8_t sig[PX_SIG_LEN];
    assert_int_equal(px_key_generate(&other, &why), 0);
    sign_body(other, f->body, f->len, sig);
    assert_int_equal(check(f, f->body, f->len, sig, PX_SIG_LEN, &r, &why), -1);
    assert_non_null(strstr(why, "receipt key"));
    assert_int_equal(px_receipt_check(NULL, f->body, f->len, f->sig, PX_SIG_LEN, f->device,
                                      f->batch, PX_BATCH_ID_LEN, &r, &why),
                     -1);
    px_key_free(other);
}

/* Properly signed, but not for us: another device or batch, or nonsense. */
void test_receipt_wrong_content(void **state)
{
    receipt_fixture *f = *state;
    px_receipt r;
    const char *why;
    uint8_t keep[PX_HASH_LEN], junk[40];

    memcpy(keep, f->device, sizeof keep);
    f->device[31] ^= 1;
    make_receipt(f, 3, 9, 1);
    memcpy(f->device, keep, sizeof keep);
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), -1);
    assert_non_null(strstr(why, "another device"));

    memcpy(keep, f->batch, PX_BATCH_ID_LEN);
    f->batch[0] ^= 1;
    make_receipt(f, 3, 9, 1);
    memcpy(f->batch, keep, PX_BATCH_ID_LEN);
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), -1);
    assert_non_null(strstr(why, "another batch"));

    /* Signed by the receipt key, but naming another suite (a future SM2
     * one): not a receipt this key makes. */
    f->suite = 1;
    make_receipt(f, 3, 9, 1);
    f->suite = PX_SUITE_P256_SHA256;
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), -1);
    assert_non_null(strstr(why, "suite"));

    make_receipt(f, 3, 9, 0); /* no chain head */
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), -1);
    make_receipt(f, 10, 9, 1); /* first > last */
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), -1);

    memset(junk, 0xff, sizeof junk); /* signed, but not a ReceiptBody */
    sign_body(f->rk, junk, sizeof junk, f->sig);
    assert_int_equal(check(f, junk, sizeof junk, f->sig, PX_SIG_LEN, &r, &why), -1);
    assert_non_null(strstr(why, "ReceiptBody"));
}
