/* entry.h -- the canonical entry encoding, its hash and its signature.
 *
 * An entry's canonical bytes are the protobuf-c encoding of
 * patrol.v1.Entry (proto/patrol.proto). A decoder accepts bytes only if
 * they decode, are within the limits below, re-encode to the very same
 * bytes (so there is exactly one encoding of every entry: no unknown
 * fields, no repeated scalars, no non-minimal varints), and follow the
 * structural rules: format 1, suite 0 (PX_SUITE_P256_SHA256), 32-byte
 * device id and previous hash, seq >= 1, and seq 1 has an all-zero
 * previous hash.
 *
 * hash = SHA-256(canonical bytes); signature = ECDSA P-256 by the device
 * key over hash, r||s. docs/journal.md has the whole story.
 */
#ifndef PX_ENTRY_H
#define PX_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "patrol.pb-c.h"

#define PX_ENTRY_FORMAT 1
#define PX_ENTRY_MAX (64u * 1024) /* bytes of one encoded entry */
#define PX_ENTRY_MAX_FIELDS 32
#define PX_ENTRY_MAX_INSPECTORS 8

/* Encode e into a malloc'd buffer (*out, *len; caller frees). Returns -1
 * with *why set when the entry is over the limits or memory runs out. */
int px_entry_encode(const Patrol__V1__Entry *e, uint8_t **out, size_t *len, const char **why);

/* Decode canonical bytes. Returns the entry (free with px_entry_free) or
 * NULL with *why naming the problem. Does not check the rules table
 * (px_rules_check_entry) nor the signature. */
Patrol__V1__Entry *px_entry_decode(const uint8_t *buf, size_t len, const char **why);
void px_entry_free(Patrol__V1__Entry *e);

/* SHA-256 of the canonical bytes. */
void px_entry_hash(const uint8_t *buf, size_t len, uint8_t out[PX_HASH_LEN]);

/* Everything one signed entry must pass on its own, given the device key:
 * decode + canonical, rules, hash, signature. If prev is not NULL it is
 * the hash the entry must link to. On success returns 0, the hash in
 * hash_out and (if out is not NULL) the decoded entry for the caller to
 * free. On failure -1 and a sentence in detail. */
int px_entry_verify(const px_key *device_key, const uint8_t *buf, size_t len,
                    const uint8_t sig[PX_SIG_LEN], const uint8_t *prev,
                    uint8_t hash_out[PX_HASH_LEN], Patrol__V1__Entry **out,
                    char *detail, size_t detail_len);

#endif
