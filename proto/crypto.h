/* crypto.h -- the only module that calls mbedtls (and, for patrold's
 * verification of entry signatures, OpenSSL: crypto_verify.h).
 *
 * Hashing (SHA-256), device and server keys (ECDSA P-256), deterministic
 * signatures (RFC 6979) in the fixed 64-byte r||s form, and randomness.
 * Everything else in the project uses these functions, so moving to
 * mbedtls 3.x or another library touches this file alone.
 *
 * Functions return 0 on success and -1 on failure; where a `why` pointer
 * is taken it receives a static string naming the problem.
 */
#ifndef PX_CRYPTO_H
#define PX_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define PX_HASH_LEN 32
#define PX_SIG_LEN 64
#define PX_PUBKEY_MAX 160 /* DER SubjectPublicKeyInfo of a P-256 key is 91 bytes */

/* The suite: which algorithms a signed thing uses, named in the signed
 * bytes (Entry.suite, ReceiptBody.suite; docs/protocol.md "Algorithms: the
 * suite"). The one implemented: ECDSA P-256 signatures (r||s) over SHA-256.
 * It is 0 so that it is absent from the canonical encoding and everything
 * written before the field existed reads as it. */
#define PX_SUITE_P256_SHA256 0u

/* One-shot SHA-256. */
void px_sha256(const void *data, size_t n, uint8_t out[PX_HASH_LEN]);

/* Streaming SHA-256. px_sha256_new returns NULL only when out of memory;
 * px_sha256_final writes the digest and frees the context. px_sha256_free
 * frees a context without finishing (NULL-safe). */
typedef struct px_sha256_ctx px_sha256_ctx;
px_sha256_ctx *px_sha256_new(void);
void px_sha256_update(px_sha256_ctx *c, const void *data, size_t n);
void px_sha256_final(px_sha256_ctx *c, uint8_t out[PX_HASH_LEN]);
void px_sha256_free(px_sha256_ctx *c);

/* SHA-256 of everything read from fd until end of file (reads retried on
 * EINTR), and how many bytes that was (*size, if not NULL). 0, or -1 with
 * errno set (ENOMEM, or the read's error). fd stays open. */
int px_sha256_fd(int fd, uint8_t out[PX_HASH_LEN], uint64_t *size);

/* Fill buf with n bytes from a CTR-DRBG seeded by the platform entropy. */
int px_random(void *buf, size_t n);

/* An ECDSA P-256 key: a private key (can sign) or a public key (can only
 * verify). Free with px_key_free (NULL-safe; wipes the private part). */
typedef struct px_key px_key;

/* Generate a fresh private key. */
int px_key_generate(px_key **out, const char **why);

/* Write the private key as PEM to a new file created with mode 0600 and
 * O_EXCL (an existing file is never overwritten), fsync'd. */
int px_key_save_private(const px_key *k, const char *path, const char **why);

/* Load a private key written by px_key_save_private. Refuses a key file
 * readable by group or others. */
int px_key_load_private(const char *path, px_key **out, const char **why);

/* Public key as DER SubjectPublicKeyInfo into buf; *len gets its size. */
int px_key_public_der(const px_key *k, uint8_t *buf, size_t cap, size_t *len);

/* Parse a DER SubjectPublicKeyInfo; only P-256 EC keys are accepted. */
int px_key_from_public_der(const uint8_t *der, size_t n, px_key **out, const char **why);

/* SHA-256 of the public key DER: the device id. */
int px_key_id(const px_key *k, uint8_t id[PX_HASH_LEN]);

/* Deterministic ECDSA signature over a 32-byte digest. */
int px_sign(px_key *k, const uint8_t hash[PX_HASH_LEN], uint8_t sig[PX_SIG_LEN]);

/* 0 if sig is a valid signature by k over hash, -1 otherwise. */
int px_verify(const px_key *k, const uint8_t hash[PX_HASH_LEN], const uint8_t sig[PX_SIG_LEN]);

/* ---- for documents checked with stock tools (patrold audit export) ---- */

#define PX_SIG_DER_MAX 72 /* DER ECDSA-Sig-Value of a P-256 signature */

/* Deterministic ECDSA over hash, DER-encoded (SEQUENCE { r INTEGER,
 * s INTEGER }), as `openssl dgst -sha256 -verify` reads it. The DER goes
 * to der (at least PX_SIG_DER_MAX bytes), its size to *len. */
int px_sign_der(px_key *k, const uint8_t hash[PX_HASH_LEN], uint8_t *der, size_t cap,
                size_t *len);

/* The 64-byte r||s signature as DER (canonical: minimal INTEGERs), into
 * der; returns its size (at most PX_SIG_DER_MAX). */
size_t px_sig_to_der(const uint8_t sig[PX_SIG_LEN], uint8_t der[PX_SIG_DER_MAX]);

/* 0 if der (exactly n bytes, nothing after the signature) is a valid DER
 * ECDSA signature by k over hash, -1 otherwise. */
int px_verify_der(const px_key *k, const uint8_t hash[PX_HASH_LEN], const uint8_t *der,
                  size_t n);

/* The public key as PEM ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo)
 * into buf, NUL-terminated; -1 if cap is too small. */
int px_key_public_pem(const px_key *k, char *buf, size_t cap);

/* Parse a PEM public key of n bytes (not necessarily NUL-terminated; at
 * most 4 KiB); only P-256 EC keys are accepted. */
int px_key_from_public_pem(const char *pem, size_t n, px_key **out, const char **why);

void px_key_free(px_key *k);

/* Overwrite n bytes in a way the compiler may not drop. */
void px_wipe(void *p, size_t n);

#endif
