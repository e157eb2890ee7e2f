/* test_crypto_der.c -- the crypto module's primitives for documents that
 * stock tools check (patrold audit export): DER ECDSA signatures as
 * `openssl dgst -sha256 -verify` reads them, and PEM public keys. The
 * archive test (tests/e2e/test_archive.sh) checks the same with openssl
 * itself; here, the encodings' edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"

/* Signatures over many digests: r or s with the top bit set (a 0x00 is
 * prepended) and without, all verify; the DER is well-formed. */
static void test_sign_verify_der(void **state)
{
    px_key *k = NULL;
    const char *why;
    int high = 0, low = 0;
    (void)state;
    assert_int_equal(px_key_generate(&k, &why), 0);
    for (unsigned i = 0; i < 64; i++) {
        uint8_t h[PX_HASH_LEN], der[PX_SIG_DER_MAX + 1]; /* + 1: a trailing byte */
        size_t n = 0;
        px_sha256(&i, sizeof i, h);
        assert_int_equal(px_sign_der(k, h, der, sizeof der, &n), 0);
        assert_true(n >= 8 && n <= PX_SIG_DER_MAX);
        assert_int_equal(der[0], 0x30);
        assert_int_equal(der[1], n - 2);
        assert_int_equal(der[2], 0x02);
        if (der[3] == 33)
            high++;
        else
            low++;
        assert_int_equal(px_verify_der(k, h, der, n), 0);
        /* Another digest, a flipped bit, a trailing byte, a cut: refused. */
        h[0] ^= 1;
        assert_int_equal(px_verify_der(k, h, der, n), -1);
        h[0] ^= 1;
        der[n - 1] ^= 1;
        assert_int_equal(px_verify_der(k, h, der, n), -1);
        der[n - 1] ^= 1;
        der[n] = 0;
        assert_int_equal(px_verify_der(k, h, der, n + 1), -1);
        assert_int_equal(px_verify_der(k, h, der, n - 1), -1);
        assert_int_equal(px_verify_der(k, h, der, 0), -1);
    }
    assert_true(high > 0 && low > 0);
    px_key_free(k);
}

static void test_sign_der_small_buffer(void **state)
{
    px_key *k = NULL;
    const char *why;
    uint8_t h[PX_HASH_LEN] = {1}, der[PX_SIG_DER_MAX];
    size_t n;
    (void)state;
    assert_int_equal(px_key_generate(&k, &why), 0);
    assert_int_equal(px_sign_der(k, h, der, PX_SIG_DER_MAX - 1, &n), -1);
    px_key_free(k);
}

/* PEM out and back in: the same key (same id), and it verifies what the
 * private key signed; a public-only key cannot sign. */
static void test_pem_round_trip(void **state)
{
    px_key *k = NULL, *p = NULL;
    const char *why;
    char pem[1024];
    uint8_t id1[PX_HASH_LEN], id2[PX_HASH_LEN], h[PX_HASH_LEN] = {7}, der[PX_SIG_DER_MAX];
    size_t n;
    (void)state;
    assert_int_equal(px_key_generate(&k, &why), 0);
    assert_int_equal(px_key_public_pem(k, pem, sizeof pem), 0);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    assert_int_equal(px_key_public_pem(k, pem, 16), -1);
    assert_int_equal(px_key_public_pem(k, pem, sizeof pem), 0);
    assert_int_equal(px_key_from_public_pem(pem, strlen(pem), &p, &why), 0);
    assert_int_equal(px_key_id(k, id1), 0);
    assert_int_equal(px_key_id(p, id2), 0);
    assert_memory_equal(id1, id2, PX_HASH_LEN);
    assert_int_equal(px_sign_der(k, h, der, sizeof der, &n), 0);
    assert_int_equal(px_verify_der(p, h, der, n), 0);
    assert_int_equal(px_sign_der(p, h, der, sizeof der, &n), -1);
    px_key_free(p);
    px_key_free(k);
}

static void test_pem_refused(void **state)
{
    px_key *p = NULL;
    const char *why = NULL;
    static const char junk[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    char big[5000];
    (void)state;
    assert_int_equal(px_key_from_public_pem(junk, strlen(junk), &p, &why), -1);
    assert_null(p);
    assert_non_null(why);
    assert_int_equal(px_key_from_public_pem("", 0, &p, &why), -1);
    memset(big, 'A', sizeof big);
    assert_int_equal(px_key_from_public_pem(big, sizeof big, &p, &why), -1);
    assert_int_equal(px_key_from_public_pem("a\0b", 3, &p, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify_der),
        cmocka_unit_test(test_sign_der_small_buffer),
        cmocka_unit_test(test_pem_round_trip),
        cmocka_unit_test(test_pem_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
