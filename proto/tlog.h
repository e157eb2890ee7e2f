/* tlog.h -- the Merkle tree of the server log (docs/log.md), shared by
 * patrold (which keeps it) and the terminal (which checks its receipts'
 * proofs), hashed exactly as RFC 6962
 * (leaf SHA-256(0x00 || data), node SHA-256(0x01 || left || right), the
 * tree of n leaves split at the largest power of two below n), inclusion
 * and consistency proofs (RFC 6962 2.1.1/2.1.2, verified as RFC 9162
 * 2.1.3.2/2.1.4.2), and checkpoints: C2SP tlog-checkpoint text signed as a
 * C2SP signed note with an ECDSA P-256 key (docs/log.md).
 *
 * Nothing here knows about storage: the tree is read through a callback
 * that gives the hash of a complete, aligned subtree. Functions return 0
 * on success and -1 on failure.
 */
#ifndef PX_TLOG_H
#define PX_TLOG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define TLOG_HASH_LEN 32
/* A proof holds at most one hash per level: 64 for 2^64 leaves. */
#define TLOG_MAX_PROOF 64
/* A signed checkpoint is short: origin (<= 255), size, root, one line. */
#define TLOG_NOTE_MAX 1024

/* 0, or -1 when out of memory (only for leaves over 1 KiB). */
int tlog_leaf_hash(const void *data, size_t n, uint8_t out[TLOG_HASH_LEN]);
void tlog_node_hash(const uint8_t left[TLOG_HASH_LEN], const uint8_t right[TLOG_HASH_LEN],
                    uint8_t out[TLOG_HASH_LEN]);

/* The hash of the complete subtree of 2^level leaves starting at leaf
 * index << level (level 0: the leaf hash of leaf index). Returns 0, or -1
 * when it cannot be read (the tree functions then fail). */
typedef int (*tlog_node_fn)(void *ud, unsigned level, uint64_t index, uint8_t out[TLOG_HASH_LEN]);

/* Root of the first n leaves (n = 0: SHA-256 of nothing). */
int tlog_root(tlog_node_fn f, void *ud, uint64_t n, uint8_t out[TLOG_HASH_LEN]);

/* Inclusion proof of leaf `leaf` in the tree of the first `size` leaves
 * (leaf < size): proof[0..*len), leaf side first. */
int tlog_inclusion(tlog_node_fn f, void *ud, uint64_t leaf, uint64_t size,
                   uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], size_t *len);

/* Consistency proof from the tree of `from` leaves to that of `to`
 * (0 <= from <= to; empty when from is 0 or equals to). */
int tlog_consistency(tlog_node_fn f, void *ud, uint64_t from, uint64_t to,
                     uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], size_t *len);

/* 0 if proof shows leaf_hash at `leaf` in the tree of `size` with root. */
int tlog_verify_inclusion(uint64_t leaf, uint64_t size, const uint8_t leaf_hash[TLOG_HASH_LEN],
                          const uint8_t (*proof)[TLOG_HASH_LEN], size_t len,
                          const uint8_t root[TLOG_HASH_LEN]);

/* 0 if proof shows the tree (from, root_from) is a prefix of (to, root_to).
 * from = 0 and from = to need an empty proof (and equal roots for the
 * latter). */
int tlog_verify_consistency(uint64_t from, uint64_t to, const uint8_t root_from[TLOG_HASH_LEN],
                            const uint8_t root_to[TLOG_HASH_LEN],
                            const uint8_t (*proof)[TLOG_HASH_LEN], size_t len);

/* ---- checkpoints -------------------------------------------------------- */

/* "ORIGIN\nSIZE\nBASE64(ROOT)\n" into out (NUL-terminated); the length, or
 * -1 if it does not fit or origin is not a valid one (1..255 bytes of
 * printable ASCII, no space or '+'). */
int tlog_checkpoint_text(const char *origin, uint64_t size, const uint8_t root[TLOG_HASH_LEN],
                         char *out, size_t cap);

/* Parse a checkpoint text or a signed note (the text up to its blank line
 * line): origin (cap bytes, NUL-terminated), size, root. *text_len (if
 * not NULL) gets the length of the signed text (the three lines). */
int tlog_checkpoint_parse(const char *note, size_t len, char *origin, size_t cap, uint64_t *size,
                          uint8_t root[TLOG_HASH_LEN], size_t *text_len);

/* Sign a checkpoint text with key: the signed note "TEXT\n— NAME
 * BASE64(KEYID || SIG)\n", NAME being the origin, KEYID the first 4 bytes
 * of SHA-256 of the key's DER SubjectPublicKeyInfo and SIG the DER ECDSA
 * signature over SHA-256(TEXT) (so `openssl dgst -sha256 -verify` checks
 * it). out is NUL-terminated; the length or -1. */
int tlog_note_sign(px_key *key, const char *text, size_t text_len, char *out, size_t cap);

/* 0 if note is a checkpoint signed by key (one of its signature lines with
 * the origin's name and the key's id verifies). */
int tlog_note_verify(const px_key *key, const char *note, size_t len);

#endif
