/* test_kat.c -- known answers for the record's cryptography, checked
 * against the project's own code: the canonical encoding of two fixed
 * entries (a device.init and an inspector.add with a location south and
 * west, a Chinese name and a confidential mark), their SHA-256 hashes, the
 * device key's deterministic ECDSA P-256 signatures (RFC 6979) as r||s and
 * as DER, and a server receipt over them (its ReceiptBody encoding and the
 * receipt key's signature), which the terminal's receipt check accepts.
 *
 * The answers are in tests/kat/vectors.json; tests/kat/kat_check.py checks
 * the same file with an independent implementation (its own protobuf
 * encoder, hashlib, and `openssl dgst -sha256 -verify` on the DER
 * signatures), so a change to the encoding, the hash or the signatures
 * fails both, and a vector file that drifted from the code fails here.
 *
 * The keys (device-test.key, receipt-test.key) are test keys, committed:
 * nothing else may trust them.
 *
 *   test_kat KAT_DIR            run the checks (ctest: test_kat)
 *   test_kat KAT_DIR --print    print the vectors the code makes (to
 *                               write vectors.json after a deliberate
 *                               format change; then say so in the commit)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "crypto.h"
#include "entry.h"
#include "internal.h" /* px_receipt_check */
#include "patrol.pb-c.h"
#include "validate.h"

static const char *kat_dir;

#define WALL_MS 1795000000000LL   /* 2026-11-18T08:26:40Z */
#define SERVER_MS 1795000123456LL
#define SERVER_NAME "泗阳县 patrold"

typedef struct vectors {
    px_key *dev, *rcpt;
    uint8_t pub[PX_PUBKEY_MAX];
    size_t publen;
    uint8_t device_id[PX_HASH_LEN];
    char pub_hex[2 * PX_PUBKEY_MAX + 1];
    uint8_t *entry[2];
    size_t entry_len[2];
    uint8_t hash[2][PX_HASH_LEN];
    uint8_t sig[2][PX_SIG_LEN];
    uint8_t der[2][PX_SIG_DER_MAX];
    size_t der_len[2];
    uint8_t batch_id[16];
    uint8_t *receipt;
    size_t receipt_len;
    uint8_t receipt_hash[PX_HASH_LEN];
    uint8_t receipt_sig[PX_SIG_LEN];
    uint8_t receipt_der[PX_SIG_DER_MAX];
    size_t receipt_der_len;
} vectors;

/* px_key_load_private refuses a key file others may read; git keeps
 * 0644, so the key is copied to a private file first. */
static px_key *load_key(const char *name)
{
    char src[1024], dst[] = "/tmp/patrol-kat-XXXXXX", buf[4096];
    FILE *in;
    size_t n;
    int fd;
    px_key *k = NULL;
    const char *why = NULL;

    snprintf(src, sizeof src, "%s/%s", kat_dir, name);
    in = fopen(src, "rb");
    if (!in)
        fail_msg("cannot open %s", src);
    n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    fd = mkstemp(dst);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0600), 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
    if (px_key_load_private(dst, &k, &why) != 0)
        fail_msg("%s: %s", src, why);
    unlink(dst);
    return k;
}

/* The two fixed entries. */
static void make_entry(vectors *v, int i)
{
    Patrol__V1__Entry e = PATROL__V1__ENTRY__INIT;
    Patrol__V1__Field f[4], *fp[4];
    Patrol__V1__Location loc = PATROL__V1__LOCATION__INIT;
    static char *inspectors[] = {"zhangwei", "liuna"};
    uint8_t zero[PX_HASH_LEN] = {0};
    const char *why = NULL;
    size_t n = 0;

    for (int k = 0; k < 4; k++) {
        patrol__v1__field__init(&f[k]);
        fp[k] = &f[k];
    }
    e.format = 1;
    e.device.data = v->device_id;
    e.device.len = PX_HASH_LEN;
    e.seq = (uint64_t)i + 1;
    e.prev_hash.data = i == 0 ? zero : v->hash[0];
    e.prev_hash.len = PX_HASH_LEN;
    e.wall_ms = WALL_MS + i * 60000;
    e.mono_ns = 123456789000ULL + (uint64_t)i * 60000000000ULL;
    e.boot_id = "0b5e7b1c-2c1a-4c55-9d2e-6f4f1c3a9b10";
    if (i == 0) {
        e.kind = "device.init";
        e.object = "SY-CGJ";
        f[n].name = "department", f[n++].value = "SY-CGJ";
        f[n].name = "device_name", f[n++].value = "城管执法终端-01";
        f[n].name = "public_key", f[n++].value = v->pub_hex;
        f[n].name = "software", f[n++].value = "patrol kat";
    } else {
        loc.lat_e7 = -337213000; /* negative: the zigzag encoding of sint64 */
        loc.lon_e7 = -1186942000;
        loc.accuracy_m = 8;
        e.location = &loc;
        e.n_inspectors = 2;
        e.inspectors = inspectors;
        e.kind = "inspector.add";
        e.object = "wangfang";
        f[n].name = "cert_no", f[n++].value = "32132300121";
        f[n].name = "name", f[n].value = "王芳";
        f[n++].confidential = PATROL__V1__CONFIDENTIALITY__CONF_PERSONAL_PRIVACY;
    }
    e.n_fields = n;
    e.fields = fp;
    if (px_entry_encode(&e, &v->entry[i], &v->entry_len[i], &why) != 0)
        fail_msg("entry %d: %s", i + 1, why);
    px_entry_hash(v->entry[i], v->entry_len[i], v->hash[i]);
    assert_int_equal(px_sign(v->dev, v->hash[i], v->sig[i]), 0);
    assert_int_equal(px_sign_der(v->dev, v->hash[i], v->der[i], sizeof v->der[i],
                                 &v->der_len[i]), 0);
}

static void make_receipt(vectors *v)
{
    Patrol__V1__ReceiptBody b = PATROL__V1__RECEIPT_BODY__INIT;

    for (int i = 0; i < 16; i++)
        v->batch_id[i] = (uint8_t)i;
    b.device.data = v->device_id;
    b.device.len = PX_HASH_LEN;
    b.first_seq = 1;
    b.last_seq = 2;
    b.head_hash.data = v->hash[1];
    b.head_hash.len = PX_HASH_LEN;
    b.server_time_ms = SERVER_MS;
    b.server_name = SERVER_NAME;
    b.batch_id.data = v->batch_id;
    b.batch_id.len = sizeof v->batch_id;
    v->receipt_len = patrol__v1__receipt_body__get_packed_size(&b);
    v->receipt = malloc(v->receipt_len);
    assert_non_null(v->receipt);
    patrol__v1__receipt_body__pack(&b, v->receipt);
    px_sha256(v->receipt, v->receipt_len, v->receipt_hash);
    assert_int_equal(px_sign(v->rcpt, v->receipt_hash, v->receipt_sig), 0);
    assert_int_equal(px_sign_der(v->rcpt, v->receipt_hash, v->receipt_der,
                                 sizeof v->receipt_der, &v->receipt_der_len), 0);
}

static void make(vectors *v)
{
    memset(v, 0, sizeof *v);
    v->dev = load_key("device-test.key");
    v->rcpt = load_key("receipt-test.key");
    assert_int_equal(px_key_public_der(v->dev, v->pub, sizeof v->pub, &v->publen), 0);
    assert_int_equal(px_key_id(v->dev, v->device_id), 0);
    px_format_hex(v->pub, v->publen, v->pub_hex);
    make_entry(v, 0);
    make_entry(v, 1);
    make_receipt(v);
}

static void unmake(vectors *v)
{
    px_key_free(v->dev);
    px_key_free(v->rcpt);
    free(v->entry[0]);
    free(v->entry[1]);
    free(v->receipt);
}

static char *hex(const uint8_t *b, size_t n)
{
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    px_format_hex(b, n, s);
    return s;
}

static void add_hex(cJSON *o, const char *name, const uint8_t *b, size_t n)
{
    char *s = hex(b, n);
    cJSON_AddStringToObject(o, name, s);
    free(s);
}

static cJSON *to_json(const vectors *v)
{
    cJSON *j = cJSON_CreateObject(), *es = cJSON_AddArrayToObject(j, "entries");
    uint8_t rpub[PX_PUBKEY_MAX];
    size_t rlen;

    cJSON_AddStringToObject(j, "device_key", "device-test.key");
    cJSON_AddStringToObject(j, "receipt_key", "receipt-test.key");
    add_hex(j, "device_public_key_der", v->pub, v->publen);
    add_hex(j, "device_id", v->device_id, PX_HASH_LEN);
    assert_int_equal(px_key_public_der(v->rcpt, rpub, sizeof rpub, &rlen), 0);
    add_hex(j, "receipt_public_key_der", rpub, rlen);
    for (int i = 0; i < 2; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "seq", i + 1);
        add_hex(e, "encoding", v->entry[i], v->entry_len[i]);
        add_hex(e, "hash", v->hash[i], PX_HASH_LEN);
        add_hex(e, "signature", v->sig[i], PX_SIG_LEN);
        add_hex(e, "signature_der", v->der[i], v->der_len[i]);
        cJSON_AddItemToArray(es, e);
    }
    {
        cJSON *r = cJSON_AddObjectToObject(j, "receipt");
        add_hex(r, "batch_id", v->batch_id, sizeof v->batch_id);
        cJSON_AddNumberToObject(r, "server_time_ms", (double)SERVER_MS);
        cJSON_AddStringToObject(r, "server_name", SERVER_NAME);
        add_hex(r, "body", v->receipt, v->receipt_len);
        add_hex(r, "body_hash", v->receipt_hash, PX_HASH_LEN);
        add_hex(r, "signature", v->receipt_sig, PX_SIG_LEN);
        add_hex(r, "signature_der", v->receipt_der, v->receipt_der_len);
    }
    return j;
}

static cJSON *load_vectors(void)
{
    char path[1024], *text;
    FILE *f;
    long n;
    cJSON *j;

    snprintf(path, sizeof path, "%s/vectors.json", kat_dir);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0 && n < 1 << 20);
    rewind(f);
    text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    j = cJSON_Parse(text);
    free(text);
    if (!j)
        fail_msg("%s is not JSON", path);
    return j;
}

static const char *str_at(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(x))
        fail_msg("vectors.json: '%s' missing", name);
    return x->valuestring;
}

/* Each answer the code gives equals the committed one, field by field
 * (a mismatch names the field). */
static void test_code_matches_vectors(void **state)
{
    vectors v;
    cJSON *want = load_vectors(), *got;
    const cJSON *we, *ge;
    static const char *const top[] = {"device_public_key_der", "device_id",
                                       "receipt_public_key_der"};
    static const char *const per_entry[] = {"encoding", "hash", "signature", "signature_der"};
    static const char *const per_receipt[] = {"batch_id", "body", "body_hash", "signature",
                                              "signature_der", "server_name"};
    (void)state;
    make(&v);
    got = to_json(&v);
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        if (strcmp(str_at(want, top[i]), str_at(got, top[i])) != 0)
            fail_msg("%s: code gives %s, vectors.json has %s", top[i], str_at(got, top[i]),
                     str_at(want, top[i]));
    we = cJSON_GetObjectItemCaseSensitive(want, "entries");
    ge = cJSON_GetObjectItemCaseSensitive(got, "entries");
    assert_int_equal(cJSON_GetArraySize(we), 2);
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < sizeof per_entry / sizeof per_entry[0]; k++) {
            const char *a = str_at(cJSON_GetArrayItem(ge, i), per_entry[k]);
            const char *b = str_at(cJSON_GetArrayItem(we, i), per_entry[k]);
            if (strcmp(a, b) != 0)
                fail_msg("entry %d %s: code gives %s, vectors.json has %s", i + 1,
                         per_entry[k], a, b);
        }
    for (size_t k = 0; k < sizeof per_receipt / sizeof per_receipt[0]; k++) {
        const char *a = str_at(cJSON_GetObjectItemCaseSensitive(got, "receipt"), per_receipt[k]);
        const char *b = str_at(cJSON_GetObjectItemCaseSensitive(want, "receipt"), per_receipt[k]);
        if (strcmp(a, b) != 0)
            fail_msg("receipt %s: code gives %s, vectors.json has %s", per_receipt[k], a, b);
    }
    cJSON_Delete(got);
    cJSON_Delete(want);
    unmake(&v);
}

static uint8_t *unhex(const char *s, size_t *n)
{
    size_t len = strlen(s);
    uint8_t *b = malloc(len / 2 + 1);
    assert_non_null(b);
    assert_true(len % 2 == 0);
    assert_null(px_parse_hex(s, b, len / 2));
    *n = len / 2;
    return b;
}

/* The committed answers pass the checks a server and a terminal make:
 * each entry verifies with the device key (canonical, rules, chain,
 * signature), the DER signatures verify, and the receipt passes the
 * terminal's receipt check; one flipped bit anywhere is refused. */
static void test_vectors_verify(void **state)
{
    vectors v;
    cJSON *want = load_vectors();
    const cJSON *we = cJSON_GetObjectItemCaseSensitive(want, "entries"),
                *wr = cJSON_GetObjectItemCaseSensitive(want, "receipt");
    uint8_t prev[PX_HASH_LEN] = {0}, hash[PX_HASH_LEN];
    char detail[256];
    size_t n, sn, dn;
    px_receipt rc;
    const char *why = NULL;
    (void)state;
    make(&v);
    for (int i = 0; i < 2; i++) {
        const cJSON *e = cJSON_GetArrayItem(we, i);
        uint8_t *bytes = unhex(str_at(e, "encoding"), &n), *sig = unhex(str_at(e, "signature"), &sn),
                *der = unhex(str_at(e, "signature_der"), &dn);
        assert_int_equal(sn, PX_SIG_LEN);
        if (px_entry_verify(v.dev, bytes, n, sig, prev, hash, NULL, detail, sizeof detail) != 0)
            fail_msg("entry %d: %s", i + 1, detail);
        assert_int_equal(px_verify_der(v.dev, hash, der, dn), 0);
        bytes[n / 2] ^= 0x01;
        assert_int_not_equal(px_entry_verify(v.dev, bytes, n, sig, prev, hash, NULL, detail,
                                             sizeof detail), 0);
        bytes[n / 2] ^= 0x01;
        sig[5] ^= 0x80;
        assert_int_not_equal(px_entry_verify(v.dev, bytes, n, sig, prev, hash, NULL, detail,
                                             sizeof detail), 0);
        px_entry_hash(bytes, n, prev);
        free(bytes);
        free(sig);
        free(der);
    }
    {
        uint8_t *body = unhex(str_at(wr, "body"), &n), *sig = unhex(str_at(wr, "signature"), &sn),
                *bid = unhex(str_at(wr, "batch_id"), &dn);
        if (px_receipt_check(v.rcpt, body, n, sig, sn, v.device_id, bid, dn, &rc, &why) != 0)
            fail_msg("receipt: %s", why);
        assert_int_equal(rc.first_seq, 1);
        assert_int_equal(rc.last_seq, 2);
        assert_memory_equal(rc.head_hash, v.hash[1], PX_HASH_LEN);
        assert_true(rc.server_time_ms == SERVER_MS);
        assert_string_equal(rc.server_name, SERVER_NAME);
        sig[40] ^= 0x01;
        assert_int_not_equal(px_receipt_check(v.rcpt, body, n, sig, sn, v.device_id, bid, dn,
                                              &rc, &why), 0);
        sig[40] ^= 0x01;
        bid[0] ^= 0x01; /* the receipt of another batch */
        assert_int_not_equal(px_receipt_check(v.rcpt, body, n, sig, sn, v.device_id, bid, dn,
                                              &rc, &why), 0);
        free(body);
        free(sig);
        free(bid);
    }
    cJSON_Delete(want);
    unmake(&v);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_matches_vectors),
        cmocka_unit_test(test_vectors_verify),
    };
    if (argc < 2) {
        fprintf(stderr, "usage: %s KAT_DIR [--print]\n", argv[0]);
        return 2;
    }
    kat_dir = argv[1];
    if (argc > 2 && strcmp(argv[2], "--print") == 0) {
        vectors v;
        cJSON *j;
        char *s;
        make(&v);
        j = to_json(&v);
        s = cJSON_Print(j);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(j);
        unmake(&v);
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
