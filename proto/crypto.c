/* crypto.c -- every mbedtls call of the project lives here (see crypto.h). */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

struct px_sha256_ctx {
    mbedtls_sha256_context c;
};

/* A DRBG (entropy + CTR-DRBG), created where randomness is needed. */
typedef struct {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} rng;

struct px_key {
    mbedtls_pk_context pk;
    int has_private;
    int has_rng; /* blinding RNG for signing, seeded on first use */
    rng rng;
};

void px_wipe(void *p, size_t n)
{
    mbedtls_platform_zeroize(p, n);
}

void px_sha256(const void *data, size_t n, uint8_t out[PX_HASH_LEN])
{
    /* Only fails on bad arguments, which cannot happen here. */
    (void)mbedtls_sha256_ret(data, n, out, 0);
}

px_sha256_ctx *px_sha256_new(void)
{
    px_sha256_ctx *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    mbedtls_sha256_init(&c->c);
    (void)mbedtls_sha256_starts_ret(&c->c, 0);
    return c;
}

void px_sha256_update(px_sha256_ctx *c, const void *data, size_t n)
{
    (void)mbedtls_sha256_update_ret(&c->c, data, n);
}

void px_sha256_final(px_sha256_ctx *c, uint8_t out[PX_HASH_LEN])
{
    (void)mbedtls_sha256_finish_ret(&c->c, out);
    px_sha256_free(c);
}

void px_sha256_free(px_sha256_ctx *c)
{
    if (!c)
        return;
    mbedtls_sha256_free(&c->c);
    free(c);
}

int px_sha256_fd(int fd, uint8_t out[PX_HASH_LEN], uint64_t *size)
{
    enum { CHUNK = 256 * 1024 };
    uint8_t *buf = malloc(CHUNK);
    px_sha256_ctx *c = px_sha256_new();
    uint64_t total = 0;
    ssize_t n;
    if (!buf || !c) {
        free(buf);
        px_sha256_free(c);
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        px_sha256_update(c, buf, (size_t)n);
        total += (uint64_t)n;
    }
    free(buf);
    if (n < 0) {
        int e = errno;
        px_sha256_free(c);
        errno = e;
        return -1;
    }
    px_sha256_final(c, out);
    if (size)
        *size = total;
    return 0;
}

/* A DRBG per call (or per key, for signing) keeps this module free of
 * global state and so of threads' concerns. */
static int rng_init(rng *r)
{
    static const char pers[] = "patrol";
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    return mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                                 (const unsigned char *)pers, sizeof pers - 1) ? -1 : 0;
}

static void rng_free(rng *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

int px_random(void *buf, size_t n)
{
    rng r;
    unsigned char *p = buf;
    int rc = rng_init(&r);
    /* CTR-DRBG hands out at most MBEDTLS_CTR_DRBG_MAX_REQUEST bytes a call. */
    while (rc == 0 && n > 0) {
        size_t k = n < MBEDTLS_CTR_DRBG_MAX_REQUEST ? n : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        if (mbedtls_ctr_drbg_random(&r.drbg, p, k) != 0)
            rc = -1;
        p += k;
        n -= k;
    }
    rng_free(&r);
    return rc;
}

static px_key *key_new(void)
{
    px_key *k = calloc(1, sizeof *k);
    if (k)
        mbedtls_pk_init(&k->pk);
    return k;
}

void px_key_free(px_key *k)
{
    if (!k)
        return;
    mbedtls_pk_free(&k->pk); /* zeroizes the private scalar */
    if (k->has_rng)
        rng_free(&k->rng);
    free(k);
}

int px_key_generate(px_key **out, const char **why)
{
    rng r;
    px_key *k = key_new();
    int rc = -1;

    *out = NULL;
    if (!k) {
        *why = "out of memory";
        return -1;
    }
    if (rng_init(&r) != 0) {
        *why = "no entropy source";
        goto exit;
    }
    if (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk),
                            mbedtls_ctr_drbg_random, &r.drbg) != 0) {
        *why = "key generation failed";
        goto exit;
    }
    k->has_private = 1;
    *out = k;
    k = NULL;
    rc = 0;
exit:
    rng_free(&r);
    px_key_free(k);
    return rc;
}

int px_key_save_private(const px_key *k, const char *path, const char **why)
{
    unsigned char pem[1024];
    int fd = -1, rc = -1;
    size_t len, off = 0;

    if (!k->has_private) {
        *why = "not a private key";
        return -1;
    }
    if (mbedtls_pk_write_key_pem((mbedtls_pk_context *)&k->pk, pem, sizeof pem) != 0) {
        *why = "cannot encode key";
        goto exit;
    }
    len = strlen((char *)pem);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        *why = errno == EEXIST ? "key file already exists" : "cannot create key file";
        goto exit;
    }
    while (off < len) {
        ssize_t w = write(fd, pem + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            *why = "cannot write key file";
            goto exit;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        *why = "cannot sync key file";
        goto exit;
    }
    rc = 0;
exit:
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        *why = "cannot write key file";
        rc = -1;
    }
    if (rc != 0 && fd >= 0)
        unlink(path);
    px_wipe(pem, sizeof pem);
    return rc;
}

int px_key_load_private(const char *path, px_key **out, const char **why)
{
    struct stat st;
    px_key *k;

    *out = NULL;
    if (stat(path, &st) != 0) {
        *why = "cannot read device key file";
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        *why = "device key file is readable by others (must be mode 0600)";
        return -1;
    }
    if (!(k = key_new())) {
        *why = "out of memory";
        return -1;
    }
    if (mbedtls_pk_parse_keyfile(&k->pk, path, NULL) != 0 ||
        mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(k->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        *why = "device key file is not a P-256 private key";
        px_key_free(k);
        return -1;
    }
    k->has_private = 1;
    *out = k;
    return 0;
}

int px_key_public_der(const px_key *k, uint8_t *buf, size_t cap, size_t *len)
{
    /* mbedtls writes DER at the end of the buffer. */
    int n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&k->pk, buf, cap);
    if (n <= 0)
        return -1;
    memmove(buf, buf + cap - (size_t)n, (size_t)n);
    *len = (size_t)n;
    return 0;
}

int px_key_from_public_der(const uint8_t *der, size_t n, px_key **out, const char **why)
{
    px_key *k;
    *out = NULL;
    if (n == 0 || n > PX_PUBKEY_MAX) {
        *why = "public key has an impossible length";
        return -1;
    }
    if (!(k = key_new())) {
        *why = "out of memory";
        return -1;
    }
    if (mbedtls_pk_parse_public_key(&k->pk, der, n) != 0 ||
        mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(k->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        *why = "not a P-256 public key";
        px_key_free(k);
        return -1;
    }
    *out = k;
    return 0;
}

int px_key_id(const px_key *k, uint8_t id[PX_HASH_LEN])
{
    uint8_t der[PX_PUBKEY_MAX];
    size_t n;
    if (px_key_public_der(k, der, sizeof der, &n) != 0)
        return -1;
    px_sha256(der, n, id);
    return 0;
}

int px_sign(px_key *k, const uint8_t hash[PX_HASH_LEN], uint8_t sig[PX_SIG_LEN])
{
    mbedtls_ecp_keypair *ec;
    mbedtls_mpi r, s;
    int rc = -1;

    if (!k->has_private)
        return -1;
    if (!k->has_rng) {
        if (rng_init(&k->rng) != 0) {
            rng_free(&k->rng);
            return -1;
        }
        k->has_rng = 1;
    }
    ec = mbedtls_pk_ec(k->pk);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    /* RFC 6979: the nonce does not depend on the RNG, so a weak RNG on a
     * handheld cannot leak the key through nonce reuse; the RNG only
     * blinds the computation against side channels. */
    if (mbedtls_ecdsa_sign_det_ext(&ec->grp, &r, &s, &ec->d, hash, PX_HASH_LEN,
                                   MBEDTLS_MD_SHA256, mbedtls_ctr_drbg_random,
                                   &k->rng.drbg) == 0 &&
        mbedtls_mpi_write_binary(&r, sig, 32) == 0 &&
        mbedtls_mpi_write_binary(&s, sig + 32, 32) == 0)
        rc = 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return rc;
}

int px_verify(const px_key *k, const uint8_t hash[PX_HASH_LEN], const uint8_t sig[PX_SIG_LEN])
{
    mbedtls_ecp_keypair *ec = mbedtls_pk_ec(k->pk);
    mbedtls_mpi r, s;
    int rc = -1;

    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    if (mbedtls_mpi_read_binary(&r, sig, 32) == 0 &&
        mbedtls_mpi_read_binary(&s, sig + 32, 32) == 0 &&
        mbedtls_ecdsa_verify(&ec->grp, hash, PX_HASH_LEN, &ec->Q, &r, &s) == 0)
        rc = 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return rc;
}

/* One DER INTEGER of a 32-byte unsigned big-endian value: leading zeros
 * dropped, a 0x00 added when the top bit is set. */
static size_t der_uint32(const uint8_t v[32], uint8_t *out)
{
    size_t i = 0, n;
    while (i < 31 && v[i] == 0)
        i++;
    n = 32 - i;
    out[0] = 0x02;
    if (v[i] & 0x80) {
        out[1] = (uint8_t)(n + 1);
        out[2] = 0;
        memcpy(out + 3, v + i, n);
        return n + 3;
    }
    out[1] = (uint8_t)n;
    memcpy(out + 2, v + i, n);
    return n + 2;
}

size_t px_sig_to_der(const uint8_t sig[PX_SIG_LEN], uint8_t der[PX_SIG_DER_MAX])
{
    uint8_t body[PX_SIG_DER_MAX];
    size_t n = der_uint32(sig, body);
    n += der_uint32(sig + 32, body + n);
    der[0] = 0x30; /* SEQUENCE, short length: n <= 70 */
    der[1] = (uint8_t)n;
    memcpy(der + 2, body, n);
    return n + 2;
}

int px_sign_der(px_key *k, const uint8_t hash[PX_HASH_LEN], uint8_t *der, size_t cap,
                size_t *len)
{
    uint8_t rs[PX_SIG_LEN];
    if (cap < PX_SIG_DER_MAX || px_sign(k, hash, rs) != 0)
        return -1;
    *len = px_sig_to_der(rs, der);
    return 0;
}

int px_verify_der(const px_key *k, const uint8_t hash[PX_HASH_LEN], const uint8_t *der,
                  size_t n)
{
    if (n == 0 || n > PX_SIG_DER_MAX)
        return -1;
    /* mbedtls_pk_verify refuses trailing bytes after the signature
     * (MBEDTLS_ERR_PK_SIG_LEN_MISMATCH), so there is one encoding. */
    return mbedtls_pk_verify((mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256, hash, PX_HASH_LEN,
                             der, n) == 0
               ? 0
               : -1;
}

int px_key_public_pem(const px_key *k, char *buf, size_t cap)
{
    return mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&k->pk, (unsigned char *)buf,
                                       cap) == 0
               ? 0
               : -1;
}

int px_key_from_public_pem(const char *pem, size_t n, px_key **out, const char **why)
{
    char buf[4097];
    px_key *k;
    *out = NULL;
    if (n == 0 || n >= sizeof buf || memchr(pem, 0, n)) {
        *why = "not a PEM public key (empty, over 4 KiB, or binary)";
        return -1;
    }
    memcpy(buf, pem, n);
    buf[n] = 0;
    if (!(k = key_new())) {
        *why = "out of memory";
        return -1;
    }
    if (mbedtls_pk_parse_public_key(&k->pk, (const unsigned char *)buf, n + 1) != 0 ||
        mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(k->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        *why = "not a P-256 public key in PEM";
        px_key_free(k);
        return -1;
    }
    *out = k;
    return 0;
}

/* For the other files of the crypto module only (crypto_x509.c declares
 * it): the mbedtls key inside a px_key, borrowed, and whether it can sign. */
mbedtls_pk_context *px_key_pk_(px_key *k, int *has_private)
{
    *has_private = k->has_private;
    return &k->pk;
}
