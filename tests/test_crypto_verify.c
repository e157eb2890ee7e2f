/* test_crypto_verify.c -- the server's verifier (proto/crypto_verify.c,
 * OpenSSL libcrypto) against the terminal's signing and verification
 * (proto/crypto.c, mbedtls): a signature the terminal's code makes
 * verifies on the server's, a bad one fails on both, and the two agree on
 * every edge of the r||s encoding (zero, the group order, high s). The
 * batch verifier on several threads sets exactly the one bad entry's flag,
 * whichever slice it falls in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "crypto_verify.h"

/* tests/kat/vectors.json: the committed test device key, entry 1's hash
 * and its deterministic signature (made by px_sign, checked there by
 * `openssl dgst -verify` too). */
static const char KAT_PUB[] =
    "3059301306072a8648ce3d020106082a8648ce3d0301070342000436ac4a523ab8bdb93775dfbe2052edc803c5"
    "747ac8dc8c63d2706bcc22e5ab1d9a451451763e5682cae858efe264ae354444e7ebd14c2ecb51c8a9bc48cf"
    "6253";
static const char KAT_HASH[] = "56bf26aa315515888d72bd4d6541ab66017b69894f563eb4a07babb413096ab5";
static const char KAT_SIG[] =
    "31ccba3020784c4cf4d27f55219305ac75200881794a21fd971dc274c187b93b82a5764ad084428e0fb4ca4f5f"
    "9ae816c10c1c4c2dc4a063eeaffc36cbff13a4";
/* The order n of P-256. */
static const char ORDER[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = h[2 * i + (size_t)j];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Both verifiers' answer: 0 valid, -1 invalid; they must agree. */
static int both(const px_key *k, const px_verifier *v, const uint8_t h[PX_HASH_LEN],
                const uint8_t sig[PX_SIG_LEN])
{
    int m = px_verify(k, h, sig), o = px_verifier_check(v, h, sig);
    assert_int_equal(m, o);
    return m;
}

static void test_kat_vector(void **state)
{
    uint8_t pub[PX_PUBKEY_MAX], h[PX_HASH_LEN], sig[PX_SIG_LEN];
    size_t n = unhex(KAT_PUB, pub);
    px_key *k = NULL;
    px_verifier *v = NULL;
    const char *why;
    (void)state;
    unhex(KAT_HASH, h);
    unhex(KAT_SIG, sig);
    assert_int_equal(px_key_from_public_der(pub, n, &k, &why), 0);
    assert_int_equal(px_verifier_new(pub, n, &v, &why), 0);
    assert_int_equal(both(k, v, h, sig), 0);
    for (size_t i = 0; i < PX_SIG_LEN; i += 7) {
        sig[i] ^= 0x10;
        assert_int_equal(both(k, v, h, sig), -1);
        sig[i] ^= 0x10;
    }
    h[31] ^= 1;
    assert_int_equal(both(k, v, h, sig), -1);
    px_key_free(k);
    px_verifier_free(v);
}

/* Fresh keys, the terminal's px_sign, both verifiers; then the edges. */
static void test_terminal_signs_server_verifies(void **state)
{
    uint8_t pub[PX_PUBKEY_MAX], order[32];
    size_t n;
    px_key *k = NULL, *other = NULL, *kpub = NULL;
    px_verifier *v = NULL, *vo = NULL;
    const char *why;
    (void)state;
    unhex(ORDER, order);
    assert_int_equal(px_key_generate(&k, &why), 0);
    assert_int_equal(px_key_generate(&other, &why), 0);
    assert_int_equal(px_key_public_der(k, pub, sizeof pub, &n), 0);
    assert_int_equal(px_key_from_public_der(pub, n, &kpub, &why), 0);
    assert_int_equal(px_verifier_new(pub, n, &v, &why), 0);
    assert_int_equal(px_key_public_der(other, pub, sizeof pub, &n), 0);
    assert_int_equal(px_verifier_new(pub, n, &vo, &why), 0);
    for (unsigned i = 0; i < 100; i++) {
        uint8_t h[PX_HASH_LEN], sig[PX_SIG_LEN], bad[PX_SIG_LEN];
        unsigned borrow = 0;
        px_sha256(&i, sizeof i, h);
        assert_int_equal(px_sign(k, h, sig), 0);
        assert_int_equal(both(kpub, v, h, sig), 0);
        /* Another key refuses it. */
        assert_int_equal(px_verifier_check(vo, h, sig), -1);
        /* A flipped bit of r, of s, of the digest. */
        sig[i % 32] ^= 1;
        assert_int_equal(both(kpub, v, h, sig), -1);
        sig[i % 32] ^= 1;
        sig[32 + i % 32] ^= 0x80;
        assert_int_equal(both(kpub, v, h, sig), -1);
        sig[32 + i % 32] ^= 0x80;
        h[i % 32] ^= 4;
        assert_int_equal(both(kpub, v, h, sig), -1);
        h[i % 32] ^= 4;
        /* r or s zero, equal to the order, all ones: invalid on both. */
        memcpy(bad, sig, sizeof bad);
        memset(bad, 0, 32);
        assert_int_equal(both(kpub, v, h, bad), -1);
        memcpy(bad, sig, sizeof bad);
        memset(bad + 32, 0, 32);
        assert_int_equal(both(kpub, v, h, bad), -1);
        memcpy(bad, order, 32);
        assert_int_equal(both(kpub, v, h, bad), -1);
        memcpy(bad, sig, 32);
        memcpy(bad + 32, order, 32);
        assert_int_equal(both(kpub, v, h, bad), -1);
        memset(bad, 0xff, sizeof bad);
        assert_int_equal(both(kpub, v, h, bad), -1);
        /* s replaced by n - s: ECDSA accepts it (neither side enforces low
         * s); what matters is that both answer the same. */
        for (int j = 31; j >= 0; j--) {
            unsigned d = (unsigned)order[j] - sig[32 + j] - borrow;
            bad[32 + j] = (uint8_t)d;
            borrow = (d >> 8) & 1;
        }
        memcpy(bad, sig, 32);
        (void)both(kpub, v, h, bad);
    }
    px_key_free(k);
    px_key_free(other);
    px_key_free(kpub);
    px_verifier_free(v);
    px_verifier_free(vo);
}

static void test_key_refusals(void **state)
{
    uint8_t pub[PX_PUBKEY_MAX + 2];
    size_t n = unhex(KAT_PUB, pub);
    px_verifier *v = (px_verifier *)1;
    const char *why = NULL;
    (void)state;
    assert_int_equal(px_verifier_new(pub, n - 1, &v, &why), -1);
    assert_null(v);
    assert_non_null(why);
    pub[n] = 0;
    assert_int_equal(px_verifier_new(pub, n + 1, &v, &why), -1); /* a trailing byte */
    assert_int_equal(px_verifier_new(pub, 0, &v, &why), -1);
    /* The curve's OID (1.2.840.10045.3.1.7) changed to another. */
    pub[22] ^= 1;
    assert_int_equal(px_verifier_new(pub, n, &v, &why), -1);
    pub[22] ^= 1;
    assert_int_equal(px_verifier_new(pub, n, &v, &why), 0);
    px_verifier_free(v);
    px_verifier_free(NULL);
}

/* A batch of 301 signatures with one bad in the middle (and one missing):
 * the flags are the same on 1, 2, 3, 16 and "every core" threads. */
static void test_check_many(void **state)
{
    enum { N = 301, BAD = 150, NOSIG = 7 };
    static uint8_t hash[N][PX_HASH_LEN], sig[N][PX_SIG_LEN], ok[N];
    const uint8_t *sp[N];
    uint8_t pub[PX_PUBKEY_MAX];
    size_t n;
    px_key *k = NULL;
    px_verifier *v = NULL;
    const char *why;
    static const unsigned threads[] = {1, 2, 3, 16, 0};
    (void)state;
    assert_int_equal(px_key_generate(&k, &why), 0);
    assert_int_equal(px_key_public_der(k, pub, sizeof pub, &n), 0);
    assert_int_equal(px_verifier_new(pub, n, &v, &why), 0);
    for (unsigned i = 0; i < N; i++) {
        px_sha256(&i, sizeof i, hash[i]);
        assert_int_equal(px_sign(k, hash[i], sig[i]), 0);
        sp[i] = sig[i];
    }
    sig[BAD][40] ^= 2;
    sp[NOSIG] = NULL;
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        unsigned used;
        memset(ok, 0xaa, sizeof ok);
        used = px_verifier_check_many(v, N, (const uint8_t(*)[PX_HASH_LEN])hash, sp, ok,
                                      threads[t]);
        assert_true(used >= 1 && used <= PX_VERIFY_MAX_THREADS);
        if (threads[t])
            assert_true(used <= threads[t]);
        for (unsigned i = 0; i < N; i++)
            assert_int_equal(ok[i], i != BAD && i != NOSIG);
    }
    /* Small batches: none, one, two, three entries. */
    for (size_t m = 0; m <= 3; m++) {
        memset(ok, 0xaa, sizeof ok);
        px_verifier_check_many(v, m, (const uint8_t(*)[PX_HASH_LEN])hash + BAD - 1, sp + BAD - 1,
                               ok, 0);
        for (size_t i = 0; i < m; i++)
            assert_int_equal(ok[i], i != 1);
        assert_int_equal(ok[m], 0xaa);
    }
    px_key_free(k);
    px_verifier_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_vector),
        cmocka_unit_test(test_terminal_signs_server_verifies),
        cmocka_unit_test(test_key_refusals),
        cmocka_unit_test(test_check_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
