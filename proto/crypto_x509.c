/* crypto_x509.c -- certificates, certificate requests and base64 for
 * enrolment and TLS (see tls.h). Part of the crypto module: mbedtls is
 * called from crypto*.c only.
 */
#include "tls.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

/* Defined in crypto.c: the mbedtls key inside a px_key (borrowed). */
mbedtls_pk_context *px_key_pk_(px_key *k, int *has_private);

#define PEM_MAX 4096      /* a P-256 certificate is about 700 bytes of PEM */
#define PEM_IN_MAX 16384  /* longest certificate or request accepted as input */
#define NAME_MAX_LEN (PX_CN_MAX + 8)

/* ---- base64 ---------------------------------------------------------- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t px_base64_encoded_size(size_t n)
{
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > (SIZE_MAX - 1) / 4)
        return 0;
    return groups * 4 + 1;
}

static int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap, const char *alpha,
                      int pad)
{
    size_t need = px_base64_encoded_size(n), o = 0, i = 0;

    if (need == 0 || cap < need)
        return -1;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        out[o++] = alpha[v >> 6 & 63];
        out[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        out[o++] = alpha[v >> 6 & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return 0;
}

int px_base64_encode(const void *in, size_t n, char *out, size_t cap)
{
    return b64_encode(in, n, out, cap, b64_std, 1);
}

int px_base64url_encode(const void *in, size_t n, char *out, size_t cap)
{
    return b64_encode(in, n, out, cap, b64_url, 0);
}

static int b64_value(unsigned char ch, int url)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == (url ? '-' : '+'))
        return 62;
    if (ch == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Decode len characters without padding; len % 4 must not be 1 and the
 * bits a final partial group does not use must be zero. */
static int b64_decode_core(const char *in, size_t len, uint8_t *out, size_t cap,
                           size_t *outlen, int url)
{
    size_t rem = len % 4, need = len / 4 * 3 + (rem ? rem - 1 : 0), o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;

    if (rem == 1 || need > cap)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i], url);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical: unused low bits set */
        return -1;
    *outlen = o;
    return 0;
}

/* Number of trailing '=' (at most 2) when len is a multiple of 4. */
static size_t b64_padding(const char *in, size_t len)
{
    size_t pad = 0;
    if (len == 0 || len % 4 != 0)
        return 0;
    while (pad < 2 && in[len - 1 - pad] == '=')
        pad++;
    return pad;
}

int px_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    if (len % 4 != 0)
        return -1;
    return b64_decode_core(in, len - b64_padding(in, len), out, cap, outlen, 0);
}

int px_base64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    return b64_decode_core(in, len - b64_padding(in, len), out, cap, outlen, 1);
}

/* ---- helpers ----------------------------------------------------------- */

typedef struct {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} xrng;

static int xrng_init(xrng *r)
{
    static const char pers[] = "patrol-x509";
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    return mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                                 (const unsigned char *)pers, sizeof pers - 1) ? -1 : 0;
}

static void xrng_free(xrng *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

/* "CN=<cn>" into name, if cn is acceptable (see tls.h). */
static int make_name(const char *cn, char name[NAME_MAX_LEN], const char **why)
{
    size_t n = cn ? strnlen(cn, PX_CN_MAX + 1) : 0;
    if (n == 0 || n > PX_CN_MAX) {
        *why = "common name must be 1 to 64 characters";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)cn[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == ' ' || ch == '.' || ch == '_' || ch == ':' || ch == '@' || ch == '-')) {
            *why = "common name has a character outside [A-Za-z0-9 ._:@-]";
            return -1;
        }
    }
    (void)snprintf(name, NAME_MAX_LEN, "CN=%s", cn);
    return 0;
}

static int p256(const mbedtls_pk_context *pk)
{
    return mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY &&
           mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
}

/* The private mbedtls key of k, or NULL with *why set. */
static mbedtls_pk_context *signing_pk(px_key *k, const char **why)
{
    int priv = 0;
    mbedtls_pk_context *pk = k ? px_key_pk_(k, &priv) : NULL;
    if (!pk || !priv) {
        *why = "not a private key";
        return NULL;
    }
    return pk;
}

/* Validity strings "YYYYMMDDhhmmss" (UTC): from one hour ago (clock skew
 * between terminals and server) to now + days. */
static int validity(int days, char nb[16], char na[16], const char **why)
{
    time_t now = time(NULL);
    int64_t end;
    time_t t_from, t_to;
    struct tm tm;

    if (days < 1 || days > PX_CERT_DAYS_MAX) {
        *why = "validity must be 1 to 36500 days";
        return -1;
    }
    end = (int64_t)now + (int64_t)days * 86400;
    t_from = now - 3600;
    t_to = (time_t)end;
    if ((int64_t)t_to != end) {
        *why = "validity end does not fit this platform's time_t";
        return -1;
    }
    if (!gmtime_r(&t_from, &tm) || strftime(nb, 16, "%Y%m%d%H%M%S", &tm) != 14 ||
        !gmtime_r(&t_to, &tm) || strftime(na, 16, "%Y%m%d%H%M%S", &tm) != 14) {
        *why = "cannot format validity dates";
        return -1;
    }
    return 0;
}

/* Parse a PEM (len bytes, trailing NUL optional) or DER certificate. */
static int parse_cert(mbedtls_x509_crt *crt, const char *cert, size_t len, const char **why)
{
    char *buf;
    size_t n;
    int rc;

    if (len > 0 && (unsigned char)cert[0] == 0x30) { /* DER: a SEQUENCE */
        if (mbedtls_x509_crt_parse_der(crt, (const unsigned char *)cert, len) != 0) {
            *why = "not a valid DER certificate";
            return -1;
        }
        return 0;
    }
    n = strnlen(cert, len);
    if (n == 0 || n > PEM_IN_MAX) {
        *why = "certificate PEM is empty or too long";
        return -1;
    }
    if (!(buf = malloc(n + 1))) {
        *why = "out of memory";
        return -1;
    }
    memcpy(buf, cert, n);
    buf[n] = '\0';
    rc = mbedtls_x509_crt_parse(crt, (unsigned char *)buf, n + 1);
    free(buf);
    if (rc != 0) {
        *why = "not a valid PEM certificate";
        return -1;
    }
    return 0;
}

static int pem_dup(const unsigned char *buf, char **pem, const char **why)
{
    if (!(*pem = strdup((const char *)buf))) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

/* ---- certificates ------------------------------------------------------ */

enum cert_kind { CERT_SERVER, CERT_CA, CERT_CLIENT };

/* DER of ExtKeyUsageSyntax: SEQUENCE { id-kp-serverAuth | id-kp-clientAuth } */
static const unsigned char eku_server[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01,
                                           0x05, 0x05, 0x07, 0x03, 0x01};
static const unsigned char eku_client[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01,
                                           0x05, 0x05, 0x07, 0x03, 0x02};

static int write_cert(mbedtls_pk_context *subject_pk, mbedtls_pk_context *issuer_pk,
                      const char *subject, const char *issuer, const mbedtls_mpi *serial,
                      int days, enum cert_kind kind, char **pem, const char **why)
{
    mbedtls_x509write_cert crt;
    unsigned char *buf = NULL;
    char nb[16], na[16];
    xrng r;
    int rc = -1;
    const unsigned char *eku = kind == CERT_CLIENT ? eku_client : eku_server;

    *pem = NULL;
    mbedtls_x509write_crt_init(&crt);
    if (xrng_init(&r) != 0) {
        *why = "no entropy source";
        goto exit;
    }
    if (validity(days, nb, na, why) != 0)
        goto exit;
    if (!(buf = malloc(PEM_MAX))) {
        *why = "out of memory";
        goto exit;
    }
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, subject_pk);
    mbedtls_x509write_crt_set_issuer_key(&crt, issuer_pk);
    if (mbedtls_x509write_crt_set_subject_name(&crt, subject) != 0 ||
        mbedtls_x509write_crt_set_issuer_name(&crt, issuer) != 0) {
        *why = "cannot encode certificate names";
        goto exit;
    }
    if (mbedtls_x509write_crt_set_serial(&crt, serial) != 0 ||
        mbedtls_x509write_crt_set_validity(&crt, nb, na) != 0 ||
        mbedtls_x509write_crt_set_basic_constraints(&crt, kind == CERT_CA,
                                                    kind == CERT_CA ? 0 : -1) != 0 ||
        mbedtls_x509write_crt_set_key_usage(
            &crt, kind == CERT_CA ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                                  : MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0 ||
        (kind != CERT_CA &&
         mbedtls_x509write_crt_set_extension(
             &crt, MBEDTLS_OID_EXTENDED_KEY_USAGE, MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
             0, eku, sizeof eku_client) != 0) ||
        mbedtls_x509write_crt_set_subject_key_identifier(&crt) != 0 ||
        mbedtls_x509write_crt_set_authority_key_identifier(&crt) != 0) {
        *why = "cannot encode certificate fields";
        goto exit;
    }
    if (mbedtls_x509write_crt_pem(&crt, buf, PEM_MAX, mbedtls_ctr_drbg_random, &r.drbg) != 0) {
        *why = "cannot sign certificate";
        goto exit;
    }
    rc = pem_dup(buf, pem, why);
exit:
    mbedtls_x509write_crt_free(&crt);
    xrng_free(&r); /* safe after a failed seed too */
    free(buf);
    return rc;
}

int px_x509_self_signed(px_key *key, const char *cn, int days, int is_ca, char **pem,
                        const char **why)
{
    mbedtls_pk_context *pk;
    char name[NAME_MAX_LEN];
    unsigned char sbytes[16];
    mbedtls_mpi serial;
    int rc = -1;

    *pem = NULL;
    if (!(pk = signing_pk(key, why)) || make_name(cn, name, why) != 0)
        return -1;
    mbedtls_mpi_init(&serial);
    /* 127 random bits, top bits fixed so the DER length is always 16. */
    if (px_random(sbytes, sizeof sbytes) != 0) {
        *why = "no entropy source";
        goto exit;
    }
    sbytes[0] = (unsigned char)((sbytes[0] & 0x3f) | 0x40);
    if (mbedtls_mpi_read_binary(&serial, sbytes, sizeof sbytes) != 0) {
        *why = "out of memory";
        goto exit;
    }
    rc = write_cert(pk, pk, name, name, &serial, days, is_ca ? CERT_CA : CERT_SERVER, pem, why);
exit:
    mbedtls_mpi_free(&serial);
    return rc;
}

int px_csr_create(px_key *key, const char *cn, char **pem, const char **why)
{
    mbedtls_x509write_csr req;
    mbedtls_pk_context *pk;
    char name[NAME_MAX_LEN];
    unsigned char *buf = NULL;
    xrng r;
    int rc = -1;

    *pem = NULL;
    if (!(pk = signing_pk(key, why)) || make_name(cn, name, why) != 0)
        return -1;
    mbedtls_x509write_csr_init(&req);
    if (xrng_init(&r) != 0) {
        *why = "no entropy source";
        goto exit;
    }
    if (!(buf = malloc(PEM_MAX))) {
        *why = "out of memory";
        goto exit;
    }
    mbedtls_x509write_csr_set_md_alg(&req, MBEDTLS_MD_SHA256);
    mbedtls_x509write_csr_set_key(&req, pk);
    if (mbedtls_x509write_csr_set_subject_name(&req, name) != 0 ||
        mbedtls_x509write_csr_pem(&req, buf, PEM_MAX, mbedtls_ctr_drbg_random, &r.drbg) != 0) {
        *why = "cannot write certificate request";
        goto exit;
    }
    rc = pem_dup(buf, pem, why);
exit:
    mbedtls_x509write_csr_free(&req);
    xrng_free(&r); /* safe after a failed seed too */
    free(buf);
    return rc;
}

/* DER SubjectPublicKeyInfo of pk into out (mbedtls writes at the end). */
static int pubkey_der(mbedtls_pk_context *pk, uint8_t *out, size_t cap, size_t *len,
                      const char **why)
{
    unsigned char tmp[PX_PUBKEY_MAX];
    int n = mbedtls_pk_write_pubkey_der(pk, tmp, sizeof tmp);
    if (n <= 0) {
        *why = "cannot encode public key";
        return -1;
    }
    if ((size_t)n > cap) {
        *why = "public key buffer too small";
        return -1;
    }
    memcpy(out, tmp + sizeof tmp - (size_t)n, (size_t)n);
    *len = (size_t)n;
    return 0;
}

int px_csr_parse(const char *pem, size_t len, uint8_t *pub_der, size_t cap, size_t *publen,
                 const char **why)
{
    mbedtls_x509_csr csr;
    const mbedtls_md_info_t *md;
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    char *buf = NULL;
    size_t n = strnlen(pem, len);
    int rc = -1;

    *publen = 0;
    mbedtls_x509_csr_init(&csr);
    if (n == 0 || n > PEM_IN_MAX) {
        *why = "certificate request is empty or too long";
        goto exit;
    }
    if (!(buf = malloc(n + 1))) {
        *why = "out of memory";
        goto exit;
    }
    memcpy(buf, pem, n);
    buf[n] = '\0';
    if (!strstr(buf, "-----BEGIN CERTIFICATE REQUEST-----") ||
        mbedtls_x509_csr_parse(&csr, (unsigned char *)buf, n + 1) != 0) {
        *why = "not a PEM certificate request";
        goto exit;
    }
    if (!p256(&csr.pk)) {
        *why = "certificate request key is not P-256";
        goto exit;
    }
    if (csr.sig_pk != MBEDTLS_PK_ECDSA || csr.sig_md != MBEDTLS_MD_SHA256 ||
        !(md = mbedtls_md_info_from_type(csr.sig_md))) {
        *why = "certificate request is not signed with ECDSA SHA-256";
        goto exit;
    }
    if (mbedtls_md(md, csr.cri.p, csr.cri.len, hash) != 0 ||
        mbedtls_pk_verify_ext(csr.sig_pk, csr.sig_opts, &csr.pk, csr.sig_md, hash,
                              mbedtls_md_get_size(md), csr.sig.p, csr.sig.len) != 0) {
        *why = "certificate request signature does not verify";
        goto exit;
    }
    rc = pubkey_der(&csr.pk, pub_der, cap, publen, why);
exit:
    mbedtls_x509_csr_free(&csr);
    free(buf);
    return rc;
}

int px_ca_issue(px_key *ca_key, const char *ca_cert_pem, const uint8_t *pub_der, size_t publen,
                const char *cn, uint64_t serial, int days, char **pem, const char **why)
{
    mbedtls_pk_context *ca_pk, sub;
    mbedtls_x509_crt ca;
    mbedtls_mpi sn;
    char name[NAME_MAX_LEN], issuer[256];
    unsigned char sbytes[8];
    int rc = -1;

    *pem = NULL;
    if (!(ca_pk = signing_pk(ca_key, why)) || make_name(cn, name, why) != 0)
        return -1;
    if (serial == 0) {
        *why = "serial number must not be zero";
        return -1;
    }
    mbedtls_x509_crt_init(&ca);
    mbedtls_pk_init(&sub);
    mbedtls_mpi_init(&sn);
    if (parse_cert(&ca, ca_cert_pem, strlen(ca_cert_pem), why) != 0)
        goto exit;
    if (!ca.ca_istrue) {
        *why = "issuer certificate is not a CA";
        goto exit;
    }
    if (mbedtls_pk_check_pair(&ca.pk, ca_pk) != 0) {
        *why = "CA key does not match the CA certificate";
        goto exit;
    }
    if (mbedtls_x509_dn_gets(issuer, sizeof issuer, &ca.subject) < 0) {
        *why = "CA certificate subject too long";
        goto exit;
    }
    if (publen == 0 || publen > PX_PUBKEY_MAX ||
        mbedtls_pk_parse_public_key(&sub, pub_der, publen) != 0 || !p256(&sub)) {
        *why = "device key is not a P-256 public key";
        goto exit;
    }
    for (int i = 0; i < 8; i++)
        sbytes[i] = (unsigned char)(serial >> (56 - 8 * i));
    if (mbedtls_mpi_read_binary(&sn, sbytes, sizeof sbytes) != 0) {
        *why = "out of memory";
        goto exit;
    }
    rc = write_cert(&sub, ca_pk, name, issuer, &sn, days, CERT_CLIENT, pem, why);
exit:
    mbedtls_mpi_free(&sn);
    mbedtls_pk_free(&sub);
    mbedtls_x509_crt_free(&ca);
    return rc;
}

int px_cert_key_id(const char *cert, size_t len, uint8_t id[PX_HASH_LEN], const char **why)
{
    mbedtls_x509_crt crt;
    int rc = -1;

    mbedtls_x509_crt_init(&crt);
    if (parse_cert(&crt, cert, len, why) == 0) {
        px_sha256(crt.pk_raw.p, crt.pk_raw.len, id);
        rc = 0;
    }
    mbedtls_x509_crt_free(&crt);
    return rc;
}
