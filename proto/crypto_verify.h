/* crypto_verify.h -- the server's signature verifier (OpenSSL libcrypto).
 *
 * The crypto module (crypto.h) stays the one place that calls crypto
 * libraries; this part of it calls OpenSSL 3's libcrypto instead of
 * mbedtls because patrold verifies every entry's signature at ingest and
 * mbedtls 2.28's P-256 verification (about 1 ms an entry, serialised
 * between threads) was the sync's bottleneck; libcrypto verifies about 20
 * times faster and scales across threads (docs/bench.md). Only patrold
 * links it (library pxverify): the terminal keeps mbedtls for everything.
 *
 * The signature format is unchanged: ECDSA P-256 over a SHA-256 digest,
 * 64 bytes r||s (crypto.h); a signature px_sign makes verifies here, and
 * one px_verify refuses is refused here (tests/test_crypto_verify.c).
 */
#ifndef PX_CRYPTO_VERIFY_H
#define PX_CRYPTO_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* A device's public key, parsed once (e.g. once per batch) and then used
 * by any number of threads at the same time: px_verifier_check only reads
 * it. */
typedef struct px_verifier px_verifier;

/* Parse a DER SubjectPublicKeyInfo (the enrolled device key; nothing may
 * follow it); only P-256 EC keys are accepted. On success *out is the
 * caller's, freed with px_verifier_free; on failure *out is NULL and *why
 * names the problem. */
int px_verifier_new(const uint8_t *der, size_t n, px_verifier **out, const char **why);

/* NULL-safe. */
void px_verifier_free(px_verifier *v);

/* 0 if sig (r||s) is a valid signature by v's key over hash, -1 otherwise
 * (also when out of memory: the caller refuses, never accepts). */
int px_verifier_check(const px_verifier *v, const uint8_t hash[PX_HASH_LEN],
                      const uint8_t sig[PX_SIG_LEN]);

/* Verify n signatures on up to `threads` threads (0: one a core online, at
 * most PX_VERIFY_MAX_THREADS; fewer when n is small), each thread a
 * contiguous slice. ok[i] gets 1 if sig[i] is valid over hash[i], 0 if not
 * (sig[i] NULL: 0, not checked). The caller owns every array. Threads that
 * cannot be started leave their slices to the calling thread, so every
 * ok[i] is always set. Returns the number of threads used. */
#define PX_VERIFY_MAX_THREADS 16
unsigned px_verifier_check_many(const px_verifier *v, size_t n, const uint8_t (*hash)[PX_HASH_LEN],
                                const uint8_t *const *sig, uint8_t *ok, unsigned threads);

#endif
