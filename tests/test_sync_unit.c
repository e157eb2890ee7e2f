/* test_sync_unit.c -- the terminal side of sync (client/lib/sync.c)
 * without patrold.
 *
 * Pure pieces: enrolment token parsing, batch building and its limits,
 * receipt verification. Then the network code against a small fake server
 * in this process (a thread speaking TLS 1.2 through proto/tls.h and just
 * enough HTTP/1.1), which checks what libpatrol sends and answers as
 * docs/protocol.md says, with knobs for misbehaviour: a wrong key pin,
 * refusals, 5xx, a forged receipt, a rejected entry, a dropped
 * connection after an evidence chunk was stored, an offset conflict, a
 * hash mismatch. The end-to-end tests with the real patrold are separate.
 *
 * Every test works in its own directory under $TMPDIR (or /tmp). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#include "entry.h"
#include "frame.h"
#include "patrol.pb-c.h"
#include "tlog.h"
#include "tls.h"
#include "validate.h"

#define DEPT "SY-CGJ"
#define CREDIT_A "91321323MA1N4K7P26"

/* ---- files and stores ----------------------------------------------------- */

static void rm_rf(const char *path)
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

static void make_tmpdir(char *out, size_t len)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, len, "%s/patrol-sync-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(out));
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

typedef struct env {
    char dir[256];
    char store[300];
    patrol *p;
} env;

static void env_open(env *e)
{
    char err[512];
    memset(e, 0, sizeof *e);
    make_tmpdir(e->dir, sizeof e->dir);
    snprintf(e->store, sizeof e->store, "%s/store", e->dir);
    assert_int_equal(patrol_init(e->store, DEPT, "terminal-7", &e->p, err, sizeof err), PATROL_OK);
}

static void env_close(env *e)
{
    patrol_close(e->p);
    rm_rf(e->dir);
}

static void record_inspectors(patrol *p, int first, int n)
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

static uint64_t head_seq(patrol *p)
{
    patrol_info in;
    assert_int_equal(patrol_get_info(p, &in), PATROL_OK);
    return in.entries;
}

/* ---- tokens ------------------------------------------------------------------ */

static void b64url(const void *in, size_t n, char *out, size_t cap)
{
    assert_int_equal(px_base64url_encode(in, n, out, cap), 0);
}

static void make_token(const uint8_t pin[PX_HASH_LEN], char *out, size_t cap)
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

static void test_token_good(void **state)
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
static void test_token_expired_looking(void **state)
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

static void test_token_bad(void **state)
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

static void test_batch_limits(void **state)
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
static void test_batch_byte_cap(void **state)
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
} receipt_fixture;

static void sign_body(px_key *k, const uint8_t *body, size_t len, uint8_t sig[PX_SIG_LEN])
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
    free(f->body);
    f->len = patrol__v1__receipt_body__get_packed_size(&b);
    f->body = malloc(f->len);
    assert_non_null(f->body);
    patrol__v1__receipt_body__pack(&b, f->body);
    sign_body(f->rk, f->body, f->len, f->sig);
}

static int receipt_setup(void **state)
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

static int receipt_teardown(void **state)
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

static void test_receipt_good(void **state)
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
static void test_receipt_tampered(void **state)
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

static void test_receipt_wrong_key(void **state)
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
static void test_receipt_wrong_content(void **state)
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

    make_receipt(f, 3, 9, 0); /* no chain head */
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), -1);
    make_receipt(f, 10, 9, 1); /* first > last */
    assert_int_equal(check(f, f->body, f->len, f->sig, PX_SIG_LEN, &r, &why), -1);

    memset(junk, 0xff, sizeof junk); /* signed, but not a ReceiptBody */
    sign_body(f->rk, junk, sizeof junk, f->sig);
    assert_int_equal(check(f, junk, sizeof junk, f->sig, PX_SIG_LEN, &r, &why), -1);
    assert_non_null(strstr(why, "ReceiptBody"));
}

/* ======================================================================
 * A fake server: TLS 1.2 via proto/tls.h, HTTP/1.1 with keep-alive, one
 * connection at a time, on a thread of this process.
 * ====================================================================== */

#define MAX_EV 4

typedef struct fake_req {
    char method[16], path[512];
    char headers[8192];
    const uint8_t *body;
    size_t body_len;
    const uint8_t *peer;
} fake_req;

typedef struct fake_resp {
    int status;
    char headers[512];
    uint8_t *body;
    size_t body_len;
    int drop; /* close without answering */
} fake_resp;

typedef struct fake_ev {
    char sha[65];
    uint64_t size, off;
    uint8_t *data;
    int complete;
} fake_ev;

typedef struct fake {
    char dir[256];
    int lfd;
    unsigned port;
    px_tls_server *tls;
    pthread_t th;
    int running;
    volatile int stop;
    pthread_mutex_t mu;
    px_key *server_key, *ca_key, *receipt_key;
    char *ca_pem;
    uint8_t pin[PX_HASH_LEN];
    uint64_t serial;
    /* what happened */
    int requests, enrolls, batches, probes, heads, patches, lz4_patches, refs, peer_ok, peer_bad;
    int connections;
    /* knobs */
    const char *enroll_refuse;
    int no_error_body; /* refusals carry only the X-Patrol-Reason header */
    int fail_5xx;
    int corrupt_receipt;
    int wrong_head; /* sign a receipt whose chain head is not the journal's */
    uint64_t reject_seq;
    const char *reject_reason;
    int drop_after_patch; /* store the chunk, then close without answering */
    int conflict_once;    /* answer 409 to the first PATCH */
    int corrupt_evidence; /* flip a stored byte: the hash will not match */
    uint64_t ref_version;
    int ref_excluded_flexible; /* reference data that marks public_safety flexible */
    /* the server log in Acks (docs/log.md): 0 none (an older server), 1 an
     * honest one-leaf log of the batch's last entry, 2 a proof for another
     * leaf, 3 a checkpoint signed by another key than the receipt key */
    int log_mode;
    char log_note[TLOG_NOTE_MAX];
    /* the device's journal as the server holds it */
    uint8_t device[PX_HASH_LEN];
    uint64_t head;
    uint8_t head_hash[PX_HASH_LEN];
    fake_ev ev[MAX_EV];
    int n_ev;
    /* cmocka's asserts may not run on this thread: the first broken
     * expectation is kept here and checked by fake_stop */
    char failed[256];
} fake;

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

static fake_ev *find_ev(fake *f, const char *sha)
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
static fake *fake_start(int with_ca)
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

static void fake_stop(fake *f)
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

static void fake_url(const fake *f, char *out, size_t len)
{
    snprintf(out, len, "https://127.0.0.1:%u", f->port);
}

/* Quick retries, so that the tests are fast. */
static void fast_opts(patrol_sync_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backoff_initial_ms = 5;
    o->backoff_max_ms = 20;
    o->max_attempts = 5;
    o->timeout_s = 60;
    o->connect_timeout_s = 5;
}

static void enroll(env *e, fake *f)
{
    char url[64], tok[200];
    fake_url(f, url, sizeof url);
    make_token(f->pin, tok, sizeof tok);
    if (patrol_enroll(e->p, url, tok, 0, NULL) != PATROL_OK)
        fail_msg("enrol: %s", patrol_errmsg(e->p));
}

/* ---- enrolment ------------------------------------------------------------------ */

/* The pin is the trust: with chain and name checks off, a server whose
 * key is not the pinned one is refused before anything is sent. */
static void test_enroll_wrong_pin(void **state)
{
    env e;
    fake *f = fake_start(0);
    patrol_sync_info si;
    uint8_t pin[PX_HASH_LEN];
    char url[64], tok[200];
    (void)state;

    env_open(&e);
    fake_url(f, url, sizeof url);
    memcpy(pin, f->pin, sizeof pin);
    pin[0] ^= 0x80;
    make_token(pin, tok, sizeof tok);
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "pinned key"));
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->requests, 0); /* the request never left */
    assert_true(f->connections >= 1); /* ... though the TLS connection was tried */
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.enrolled, 0);
    /* The right pin, same server: enrolled. */
    make_token(f->pin, tok, sizeof tok);
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_OK);
    fake_stop(f);
    env_close(&e);
}

static void test_enroll_and_again(void **state)
{
    env e;
    fake *f = fake_start(0);
    patrol_enrolment en;
    patrol_sync_info si;
    char url[64], tok[200], path[400], pem[8192];
    FILE *fp;
    size_t n;
    (void)state;

    env_open(&e);
    fake_url(f, url, sizeof url);
    make_token(f->pin, tok, sizeof tok);
    /* A trailing '/' is dropped. */
    snprintf(path, sizeof path, "%s/", url);
    assert_int_equal(patrol_enroll(e.p, path, tok, 0, &en), PATROL_OK);
    assert_string_equal(en.server_url, url);
    assert_string_equal(en.server_name, "fake station");
    assert_string_equal(en.department, DEPT);
    assert_int_equal(en.department_differs, 0);
    assert_int_equal(strlen(en.device_id), 64);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.enrolled, 1);
    assert_string_equal(si.server_url, url);
    assert_string_equal(si.server_name, "fake station");
    /* The certificate is where libcurl will read it. */
    snprintf(path, sizeof path, "%s/client.crt", e.store);
    assert_non_null(fp = fopen(path, "r"));
    n = fread(pem, 1, sizeof pem - 1, fp);
    fclose(fp);
    pem[n] = '\0';
    assert_non_null(strstr(pem, "BEGIN CERTIFICATE"));

    /* Enrolled already: refused, nothing sent. */
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_EEXIST);
    assert_non_null(strstr(patrol_errmsg(e.p), url));
    assert_int_equal(f->enrolls, 1);
    /* Forced: enrolled again. */
    make_token(f->pin, tok, sizeof tok);
    assert_int_equal(patrol_enroll(e.p, url, tok, PATROL_ENROLL_FORCE, &en), PATROL_OK);
    assert_int_equal(f->enrolls, 2);
    fake_stop(f);
    env_close(&e);
}

static void test_enroll_refused(void **state)
{
    env e;
    fake *f = fake_start(0);
    patrol_sync_info si;
    char url[64], tok[200];
    (void)state;

    env_open(&e);
    fake_url(f, url, sizeof url);
    make_token(f->pin, tok, sizeof tok);
    f->enroll_refuse = "token_used";
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_ESERVER);
    assert_non_null(strstr(patrol_errmsg(e.p), "token_used"));
    assert_non_null(strstr(patrol_errmsg(e.p), "new one"));
    /* The reason also comes from the header alone. */
    f->enroll_refuse = "token_expired";
    f->no_error_body = 1;
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_ESERVER);
    assert_non_null(strstr(patrol_errmsg(e.p), "token_expired"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.enrolled, 0);

    /* Bad input is refused before anything is sent. */
    assert_int_equal(patrol_enroll(e.p, "http://127.0.0.1:1", tok, 0, NULL), PATROL_EINVAL);
    assert_int_equal(patrol_enroll(e.p, "https://", tok, 0, NULL), PATROL_EINVAL);
    assert_int_equal(patrol_enroll(e.p, "https://user@127.0.0.1:1", tok, 0, NULL), PATROL_EINVAL);
    assert_int_equal(patrol_enroll(e.p, "https://127.0.0.1:1/?x=1", tok, 0, NULL), PATROL_EINVAL);
    assert_int_equal(patrol_enroll(e.p, url, "PT1.x.y.z", 0, NULL), PATROL_EINVAL);
    assert_non_null(strstr(patrol_errmsg(e.p), "token"));
    assert_int_equal(f->enrolls, 2);
    fake_stop(f);
    env_close(&e);
}

/* ---- sync ------------------------------------------------------------------------ */

static void test_sync_not_enrolled(void **state)
{
    env e;
    patrol_sync_result r;
    (void)state;
    env_open(&e);
    assert_int_equal(patrol_sync(e.p, NULL, &r), PATROL_ESTATE);
    assert_non_null(strstr(patrol_errmsg(e.p), "enroll"));
    env_close(&e);
}

typedef struct prog {
    int calls;
    uint64_t last_entries, entries_total, last_bytes, bytes_total;
    int went_back;
} prog;

static void prog_cb(void *ud, const patrol_sync_progress *pr)
{
    prog *g = ud;
    g->calls++;
    if (pr->entries_done < g->last_entries)
        g->went_back = 1;
    g->last_entries = pr->entries_done;
    g->entries_total = pr->entries_total;
    g->last_bytes = pr->bytes_done;
    g->bytes_total = pr->bytes_total;
    assert_true(pr->entries_done <= pr->entries_total);
    assert_true(pr->bytes_done <= pr->bytes_total);
}

static int64_t db_int(patrol *p, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(p->db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_sync_roundtrip(void **state)
{
    env e;
    fake *f = fake_start(1); /* mutual TLS */
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    patrol_info in;
    uint8_t hh[PX_HASH_LEN];
    prog g;
    int conns;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 30);
    f->ref_version = 5;
    conns = f->connections;
    fast_opts(&o);
    o.batch_entries = 7;
    memset(&g, 0, sizeof g);
    o.progress = prog_cb;
    o.progress_ud = &g;
    if (patrol_sync(e.p, &o, &r) != PATROL_OK)
        fail_msg("sync: %s", patrol_errmsg(e.p));
    assert_int_equal(r.head_seq, 31);
    assert_int_equal(r.acked_seq, 31);
    assert_int_equal(r.entries_accepted, 31);
    assert_int_equal(r.entries_duplicate, 0);
    assert_int_equal(r.batches, 5); /* 7+7+7+7+3 */
    assert_int_equal(r.receipts, 5);
    assert_int_equal(r.rejected_seq, 0);
    assert_true(r.bytes_sent > 0);
    assert_int_equal(r.reference_version, 5);
    assert_int_equal(r.reference_updated, 1);
    /* The server was reached with the client certificate of this key, on
     * one connection (with entries to send, no empty batch asks first). */
    assert_int_equal(f->probes, 0);
    assert_int_equal(f->peer_ok, 5);
    assert_int_equal(f->peer_bad, 0);
    assert_int_equal(f->connections, conns + 1);
    /* What the server holds is this journal. */
    assert_int_equal(patrol_get_info(e.p, &in), PATROL_OK);
    assert_int_equal(f->head, 31);
    assert_null(px_parse_hex(in.head_hash, hh, sizeof hh));
    assert_memory_equal(f->head_hash, hh, PX_HASH_LEN);
    /* The status says so. */
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 31);
    assert_int_equal(si.pending_entries, 0);
    assert_int_equal(si.pending_bytes, 0);
    assert_int_equal(si.receipts, 5);
    assert_int_equal(si.receipt_seq, 31);
    assert_string_equal(si.receipt_head, in.head_hash);
    assert_int_equal(si.receipt_server_time_ms, 1790000000000LL);
    assert_true(si.last_sync_ms > 0);
    assert_int_equal(si.reference_version, 5);
    /* Progress went forward only and ended at the totals. */
    assert_true(g.calls > 0);
    assert_int_equal(g.went_back, 0);
    assert_int_equal(g.entries_total, 31);
    assert_int_equal(g.last_entries, 31);
    assert_int_equal(g.last_bytes, g.bytes_total);
    /* Reference data: applied as sent (the excluded domain not flexible). */
    assert_int_equal(db_int(e.p, "SELECT flexible FROM domains WHERE code = 'public_safety'"), 0);
    assert_int_equal(db_int(e.p, "SELECT flexible FROM domains WHERE code = 'urban_management'"),
                     1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM domains"), 2);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM department_domains WHERE department = '"
                                 DEPT "' AND domain = 'urban_management'"),
                     1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM department_domains"), 1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM list_items"), 1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM leaflets"), 1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM roster"), 1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM assigned_revisits"), 1);
    /* Receipts cannot be removed. */
    assert_int_not_equal(sqlite3_exec(e.p->db, "DELETE FROM receipts", NULL, NULL, NULL),
                         SQLITE_OK);

    /* Again: nothing to send, reference not modified (304). */
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.batches, 0);
    assert_int_equal(r.reference_updated, 0);
    assert_int_equal(r.reference_version, 5);
    assert_int_equal(f->batches, 5);
    assert_int_equal(f->refs, 2);

    /* More entries, a 503 on the way: retried, same result. */
    record_inspectors(e.p, 100, 3);
    f->fail_5xx = 2;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 34);
    assert_true(r.retries >= 2);

    /* Data that marks an excluded domain flexible (二(一)): before, the
     * terminal stored it as not flexible and applied the rest; now the
     * whole version is refused, naming the place, and nothing of it is
     * applied (proto/reference.c, the import's rules). Entries still go. */
    record_inspectors(e.p, 200, 1);
    f->ref_version = 6;
    f->ref_excluded_flexible = 1;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ESERVER);
    assert_non_null(strstr(patrol_errmsg(e.p), "domains[1].flexible"));
    assert_non_null(strstr(patrol_errmsg(e.p), "nothing applied"));
    assert_int_equal(r.acked_seq, 35);
    assert_int_equal(r.reference_updated, 0);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.reference_version, 5);
    assert_int_equal(db_int(e.p, "SELECT flexible FROM domains WHERE code = 'public_safety'"), 0);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM department_domains"), 1);
    /* Corrected on the server: applied at the next sync. */
    f->ref_excluded_flexible = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.reference_updated, 1);
    assert_int_equal(r.reference_version, 6);
    fake_stop(f);
    env_close(&e);
}

/* A receipt that does not verify marks nothing synced. */
/* The server log in Acks: an honest checkpoint is kept (the newest), a
 * proof that does not give the checkpoint's root or a checkpoint signed by
 * another key fails the sync before anything is marked synced. */
static int64_t kept_size(patrol *p)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    assert_int_equal(sqlite3_prepare_v2(p->db, "SELECT size FROM log_checkpoint", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_sync_log(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 2);
    fast_opts(&o);
    /* an older server: no checkpoint, nothing kept, the sync as before */
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(kept_size(e.p), -1);
    f->log_mode = 1;
    record_inspectors(e.p, 3, 2);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 5);
    assert_int_equal(kept_size(e.p), 1);
    f->log_mode = 2;
    record_inspectors(e.p, 5, 2);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "does not prove entry 7"));
    assert_int_equal(r.acked_seq, 5);
    f->log_mode = 3;
    record_inspectors(e.p, 7, 1); /* the fake stored 6 and 7: a new entry */
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "not signed by its receipt key"));
    assert_int_equal(r.acked_seq, 5);
    f->log_mode = 1;
    record_inspectors(e.p, 8, 1);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 9);
    assert_int_equal(kept_size(e.p), 1);
    fake_stop(f);
    env_close(&e);
}

static void test_sync_forged_receipt(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 5);
    f->corrupt_receipt = 1;
    fast_opts(&o);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "signature"));
    assert_int_equal(r.acked_seq, 0);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 0);
    assert_int_equal(si.pending_entries, 6);
    assert_int_equal(si.receipts, 0);
    assert_int_equal(si.last_sync_ms, 0);
    /* Honest again: the same entries go through (the server answers
     * DUPLICATE for those it stored). */
    f->corrupt_receipt = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 6);
    assert_int_equal(r.entries_duplicate, 6);
    fake_stop(f);
    env_close(&e);
}

/* A receipt that verifies, but for another chain head: the server holds a
 * different history. Nothing is marked synced. */
static void test_sync_foreign_head(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 3);
    f->wrong_head = 1;
    fast_opts(&o);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "another history"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 0);
    assert_int_equal(si.receipts, 0);
    fake_stop(f);
    env_close(&e);
}

/* The server lost what it had acknowledged (restored from a backup): its
 * gap answer names the entry it expects, and the terminal sends again
 * from there. */
static void test_sync_server_lost_data(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 9);
    fast_opts(&o);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 10);
    {
        /* entries 5..10 lost on the server */
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(e.p->db, "SELECT hash FROM journal WHERE seq = 4", -1,
                                            &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        memcpy(f->head_hash, sqlite3_column_blob(st, 0), PX_HASH_LEN);
        sqlite3_finalize(st);
        f->head = 4;
    }
    /* Nothing new was recorded: the sync still finds the server behind
     * (it asks first) and resends 5-10 at once, evidence and all. */
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.server_seq, 4);
    assert_int_equal(r.server_lost, 6);
    assert_int_equal(r.batches, 1);
    assert_int_equal(r.entries_accepted, 6);
    assert_int_equal(r.acked_seq, 10);
    assert_int_equal(f->head, 10);
    {
        patrol_sync_info si;
        assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
        assert_int_equal(si.acked_seq, 10);
    }
    /* Lost again, and a sync that cannot finish (the server refuses every
     * batch's receipt): the status no longer claims what the server lost. */
    f->head = 4;
    {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(e.p->db, "SELECT hash FROM journal WHERE seq = 4", -1,
                                            &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        memcpy(f->head_hash, sqlite3_column_blob(st, 0), PX_HASH_LEN);
        sqlite3_finalize(st);
    }
    f->corrupt_receipt = 1;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_int_equal(r.server_lost, 6);
    {
        patrol_sync_info si;
        assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
        assert_int_equal(si.acked_seq, 4);
        assert_int_equal(si.pending_entries, 6);
    }
    f->corrupt_receipt = 0;
    record_inspectors(e.p, 100, 2);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 12);
    assert_int_equal(r.server_lost, 0);
    assert_int_equal(r.batches, 1); /* 5-12: the server kept 5-10 from the refused try */
    assert_int_equal(r.entries_duplicate, 6);
    assert_int_equal(f->head, 12);
    assert_int_equal(f->probes, 2); /* the two syncs with nothing new */
    /* Lost again, and an entry recorded since: the first batch (13) is
     * answered "gap, expected 5", and 5-13 go at once, reported so. */
    f->head = 4;
    {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(e.p->db, "SELECT hash FROM journal WHERE seq = 4", -1,
                                            &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        memcpy(f->head_hash, sqlite3_column_blob(st, 0), PX_HASH_LEN);
        sqlite3_finalize(st);
    }
    record_inspectors(e.p, 200, 1);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.server_seq, 4);
    assert_int_equal(r.server_lost, 8);
    assert_int_equal(r.acked_seq, 13);
    assert_int_equal(f->head, 13);
    assert_int_equal(f->probes, 2);
    fake_stop(f);
    env_close(&e);
}

/* A fork: the server holds other entries 4 and 5 of this device (a copy
 * of the store recorded them). It rejects entry 4 and its receipt covers
 * its own chain: reported as a rejection, nothing marked, not stored. */
static void test_sync_fork(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 2);
    fast_opts(&o);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 3);
    record_inspectors(e.p, 10, 3); /* 4, 5, 6 */
    f->head = 5;
    assert_int_equal(px_random(f->head_hash, PX_HASH_LEN), 0);
    f->reject_seq = 4;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_EREJECTED);
    assert_int_equal(r.rejected_seq, 4);
    assert_string_equal(r.rejected_reason, "fork");
    assert_int_equal(r.acked_seq, 3);
    assert_int_equal(r.receipts, 0);
    assert_non_null(strstr(patrol_errmsg(e.p), "another history"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 3);
    assert_int_equal(si.receipts, 1);
    assert_int_equal(si.receipt_seq, 3);
    assert_int_equal(si.rejected_seq, 4);
    assert_string_equal(si.rejected_reason, "fork");
    assert_int_equal(si.pending_entries, 3);
    /* The server runs further ahead than this terminal: the same. */
    f->head = 9;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_EREJECTED);
    assert_int_equal(r.rejected_seq, 4);
    fake_stop(f);
    env_close(&e);
}

/* A rejected entry stops the entries, is reported, and changes nothing. */
static void test_sync_rejected(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    patrol_info before, after;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 20);
    assert_int_equal(patrol_get_info(e.p, &before), PATROL_OK);
    f->reject_seq = 9;
    fast_opts(&o);
    o.batch_entries = 5;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_EREJECTED);
    assert_int_equal(r.rejected_seq, 9);
    assert_string_equal(r.rejected_reason, "fork");
    assert_non_null(strstr(r.rejected_detail, "sequence"));
    assert_int_equal(r.acked_seq, 8);
    assert_non_null(strstr(patrol_errmsg(e.p), "entry 9"));
    assert_non_null(strstr(patrol_errmsg(e.p), "fork"));
    assert_int_equal(f->batches, 2); /* 1-5, 6-10: nothing after the rejection */
    assert_int_equal(patrol_get_info(e.p, &after), PATROL_OK);
    assert_int_equal(after.entries, before.entries);
    assert_string_equal(after.head_hash, before.head_hash);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 8);
    assert_int_equal(si.rejected_seq, 9);
    assert_string_equal(si.rejected_reason, "fork");
    /* Resolved on the server: the next sync clears it. */
    f->reject_seq = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 21);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.rejected_seq, 0);
    fake_stop(f);
    env_close(&e);
}

/* ---- evidence -------------------------------------------------------------------- */

static void open_matter(patrol *p, char *matter, size_t len)
{
    patrol_field sf[2] = {{"credit_code", CREDIT_A, PATROL_CONF_NONE},
                          {"name", "某某便利店", PATROL_CONF_NONE}};
    patrol_field sf3[3];
    const char *insp[] = {"I-00001"};
    patrol_field mf[2] = {{"domain", "urban_management", PATROL_CONF_NONE},
                          {"summary", "店外摆卖", PATROL_CONF_NONE}};
    patrol_field mf3[3];
    patrol_record_in in;
    patrol_saved s;

    record_inspectors(p, 1, 1);
    memset(&in, 0, sizeof in);
    sf3[0] = sf[0];
    sf3[1] = sf[1];
    sf3[2] = (patrol_field){"type", "business", PATROL_CONF_NONE};
    in.kind = "subject.add";
    in.fields = sf3;
    in.n_fields = 3;
    if (patrol_record(p, &in, &s) != PATROL_OK)
        fail_msg("subject: %s", patrol_errmsg(p));
    mf3[0] = mf[0];
    mf3[1] = (patrol_field){"subject", s.id, PATROL_CONF_NONE};
    mf3[2] = mf[1];
    memset(&in, 0, sizeof in);
    in.kind = "matter.open";
    in.inspectors = insp;
    in.n_inspectors = 1;
    in.fields = mf3;
    in.n_fields = 3;
    if (patrol_record(p, &in, &s) != PATROL_OK)
        fail_msg("matter: %s", patrol_errmsg(p));
    snprintf(matter, len, "%s", s.id);
}

/* Two files: text (LZ4 helps) and random bytes (sent raw). */
static void add_evidence(env *e, const char *matter, uint8_t **text, size_t *tn, uint8_t **rnd,
                         size_t *rn)
{
    char path[400];
    *tn = 300 * 1024 + 17;
    *rn = 200 * 1024 + 3;
    *text = malloc(*tn);
    *rnd = malloc(*rn);
    for (size_t i = 0; i < *tn; i++)
        (*text)[i] = (uint8_t)("inspection record line, repeated\n"[i % 33]);
    {
        /* px_random serves small requests (ids, keys); xorshift for bulk */
        uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
        for (size_t i = 0; i < *rn; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (*rnd)[i] = (uint8_t)(x >> 24);
        }
    }
    snprintf(path, sizeof path, "%s/minutes.txt", e->dir);
    write_file(path, *text, *tn);
    if (patrol_evidence_add(e->p, matter, "document", path, "text/plain", NULL, NULL, NULL) !=
        PATROL_OK)
        fail_msg("evidence: %s", patrol_errmsg(e->p));
    snprintf(path, sizeof path, "%s/photo.jpg", e->dir);
    write_file(path, *rnd, *rn);
    assert_int_equal(
        patrol_evidence_add(e->p, matter, "photo", path, "image/jpeg", NULL, NULL, NULL),
        PATROL_OK);
}

static void check_server_has(fake *f, const uint8_t *data, size_t n)
{
    uint8_t d[PX_HASH_LEN];
    char hex[65];
    fake_ev *ev;
    px_sha256(data, n, d);
    px_format_hex(d, PX_HASH_LEN, hex);
    ev = find_ev(f, hex);
    assert_non_null(ev);
    assert_int_equal(ev->complete, 1);
    assert_int_equal(ev->size, n);
    assert_memory_equal(ev->data, data, n);
}

static void test_sync_evidence(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    char matter[64];
    uint8_t *text, *rnd;
    size_t tn, rn;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    open_matter(e.p, matter, sizeof matter);
    add_evidence(&e, matter, &text, &tn, &rnd, &rn);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.pending_evidence_files, 2);
    assert_int_equal(si.pending_evidence_bytes, tn + rn);
    assert_int_equal(si.pending_bytes, si.pending_entry_bytes + tn + rn);

    /* Small chunks; the link drops once right after a chunk was stored
     * (the answer is lost), and the server once claims another offset. */
    fast_opts(&o);
    o.chunk_bytes = 64 * 1024;
    f->drop_after_patch = 1;
    f->conflict_once = 1;
    if (patrol_sync(e.p, &o, &r) != PATROL_OK)
        fail_msg("sync: %s", patrol_errmsg(e.p));
    assert_int_equal(r.evidence_uploaded, 2);
    assert_int_equal(r.evidence_pending, 0);
    /* One HEAD per file, and again after each conflict: the offset is
     * always the server's. (libcurl itself resends a request whose kept
     * connection died before any answer; that resend meets the moved
     * offset: 409, HEAD, go on.) */
    assert_true(f->heads >= 4);
    check_server_has(f, text, tn);
    check_server_has(f, rnd, rn);
    /* Text went as LZ4, the random bytes raw; several chunks each. */
    assert_true(f->lz4_patches >= 1);
    assert_true(f->patches >= 8);
    assert_true(r.bytes_sent < tn + rn + 10000); /* compression paid */
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.pending_evidence_files, 0);
    assert_int_equal(si.pending_bytes, 0);
    /* Nothing more to upload next time: no HEAD, no PATCH. */
    {
        int heads = f->heads, patches = f->patches;
        assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
        assert_int_equal(f->heads, heads);
        assert_int_equal(f->patches, patches);
    }
    /* The server lost a file it had confirmed: the next Ack lists it
     * missing, and the server's word beats this store's record. */
    f->ev[0].complete = 0;
    f->ev[0].off = 0;
    memset(f->ev[0].data, 0, f->ev[0].size);
    record_inspectors(e.p, 50, 1);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.evidence_uploaded, 1);
    check_server_has(f, text, tn);
    check_server_has(f, rnd, rn);
    free(text);
    free(rnd);
    fake_stop(f);
    env_close(&e);
}

/* The test hook cuts the link mid-chunk: resumed from the server's offset. */
static void test_sync_evidence_cut(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    char matter[64];
    uint8_t *text, *rnd;
    size_t tn, rn;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    open_matter(e.p, matter, sizeof matter);
    add_evidence(&e, matter, &text, &tn, &rnd, &rn);
    fast_opts(&o);
    o.chunk_bytes = 128 * 1024;
    /* After the batch and most of the first raw chunk. */
    o.test_cut_after_bytes = 100 * 1024;
    if (patrol_sync(e.p, &o, &r) != PATROL_OK)
        fail_msg("sync: %s", patrol_errmsg(e.p));
    assert_true(r.retries >= 1);
    assert_int_equal(r.evidence_uploaded, 2);
    check_server_has(f, text, tn);
    check_server_has(f, rnd, rn);
    free(text);
    free(rnd);
    fake_stop(f);
    env_close(&e);
}

/* The server finds the bytes do not hash to the name: reported, the
 * other file still goes. */
static void test_sync_evidence_mismatch(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    char matter[64];
    uint8_t *text, *rnd;
    size_t tn, rn;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    open_matter(e.p, matter, sizeof matter);
    add_evidence(&e, matter, &text, &tn, &rnd, &rn);
    fast_opts(&o);
    f->corrupt_evidence = 1;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ESERVER);
    assert_non_null(strstr(patrol_errmsg(e.p), "hash_mismatch"));
    assert_int_equal(strlen(r.evidence_failed), 64);
    assert_int_equal(r.evidence_uploaded, 0);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.pending_evidence_files, 2);
    /* The entries were acknowledged all the same. */
    assert_int_equal(si.pending_entries, 0);
    f->corrupt_evidence = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.evidence_uploaded, 2);
    free(text);
    free(rnd);
    fake_stop(f);
    env_close(&e);
}

/* The server is gone: bounded retries, then PATROL_ENET, nothing marked. */
static void test_sync_unreachable(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    struct timespec t0, t1;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    fake_stop(f); /* the port is closed now */
    fast_opts(&o);
    o.max_attempts = 3;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ENET);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 10);
    assert_int_equal(r.retries, 2);
    assert_non_null(strstr(patrol_errmsg(e.p), "3 tries"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 0);
    assert_int_equal(si.last_sync_ms, 0);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_good),
        cmocka_unit_test(test_token_expired_looking),
        cmocka_unit_test(test_token_bad),
        cmocka_unit_test(test_batch_limits),
        cmocka_unit_test(test_batch_byte_cap),
        cmocka_unit_test_setup_teardown(test_receipt_good, receipt_setup, receipt_teardown),
        cmocka_unit_test_setup_teardown(test_receipt_tampered, receipt_setup, receipt_teardown),
        cmocka_unit_test_setup_teardown(test_receipt_wrong_key, receipt_setup, receipt_teardown),
        cmocka_unit_test_setup_teardown(test_receipt_wrong_content, receipt_setup,
                                        receipt_teardown),
        cmocka_unit_test(test_enroll_wrong_pin),
        cmocka_unit_test(test_enroll_and_again),
        cmocka_unit_test(test_enroll_refused),
        cmocka_unit_test(test_sync_not_enrolled),
        cmocka_unit_test(test_sync_roundtrip),
        cmocka_unit_test(test_sync_forged_receipt),
        cmocka_unit_test(test_sync_log),
        cmocka_unit_test(test_sync_rejected),
        cmocka_unit_test(test_sync_foreign_head),
        cmocka_unit_test(test_sync_fork),
        cmocka_unit_test(test_sync_server_lost_data),
        cmocka_unit_test(test_sync_evidence),
        cmocka_unit_test(test_sync_evidence_cut),
        cmocka_unit_test(test_sync_evidence_mismatch),
        cmocka_unit_test(test_sync_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
