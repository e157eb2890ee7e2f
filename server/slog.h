/* slog.h -- patrold's server log (docs/log.md): the leaves the server
 * appends (accepted entries, enrolments, revocations, list imports), the
 * Merkle tree over them (proto/tlog.c) kept through the storage interface,
 * signed checkpoints that never contradict an earlier one, and the proof
 * bodies served to terminals and printed for supervisors.
 *
 * Every function that writes runs inside the caller's write transaction
 * (st_ops begin ... commit): a leaf is durable exactly when what it
 * records is. Functions return ST_OK or a negative ST_* code; where an
 * `err` buffer is taken it receives a sentence.
 */
#ifndef SRV_SLOG_H
#define SRV_SLOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"
#include "tlog.h"

/* Leaf data, each a few lines of text ending in '\n' (docs/log.md). */
#define SLOG_LEAF_MAX 512

/* "patrol-entry\n<device id hex>\n<seq>\n<entry hash hex>\n" */
int slog_entry_leaf(const uint8_t device[32], uint64_t seq, const uint8_t hash[32],
                    char out[SLOG_LEAF_MAX]);

/* Append one leaf (the data as given; its hash and the subtrees it
 * completes are stored with it); *index gets its leaf index. */
int slog_append(st_backend *db, const void *data, size_t len, int64_t now, uint64_t *index);

/* The event leaves: enrolment of device number `device` with key id
 * key_id, revocation, a reference list import (version, SHA-256 of the
 * imported blob). */
int slog_enrolment(st_backend *db, int64_t device, const uint8_t key_id[32], int64_t now);
int slog_revocation(st_backend *db, int64_t device, int64_t now);
int slog_lists_import(st_backend *db, uint64_t version, const uint8_t *blob, size_t len,
                      int64_t now);

/* The log's origin (the checkpoints' first line and the signature's key
 * name): "patrold/" and the first 8 bytes of SHA-256 of the receipt key's
 * public key (DER SubjectPublicKeyInfo) in hex. cap >= 32. */
void slog_origin(const uint8_t *pub_der, size_t len, char *out, size_t cap);

/* tlog_node_fn over the stored subtrees (ud is the st_backend). */
int slog_node(void *ud, unsigned level, uint64_t index, uint8_t out[TLOG_HASH_LEN]);

/* A signed checkpoint of the whole log, inside a write transaction: the
 * latest one when no leaf came since, else a new one, signed with key
 * (under lock, if not NULL) only after a consistency proof from the
 * latest signed checkpoint to the new tree verifies against both roots,
 * and stored. note (NUL-terminated), *size and root describe it. A log
 * that no longer holds the latest signed tree is refused (ST_ERR, err). */
int slog_checkpoint(st_backend *db, px_key *key, pthread_mutex_t *lock, const char *origin,
                    int64_t now, char note[TLOG_NOTE_MAX], uint64_t *size,
                    uint8_t root[TLOG_HASH_LEN], char *err, size_t errlen);

/* Proof bodies (text/plain, docs/log.md), malloc'd into *body (caller
 * frees). size / to 0: the latest signed checkpoint's size. A leaf or size
 * out of range, or beyond the latest signed checkpoint, is ST_NOTFOUND
 * with a sentence in err. */
int slog_inclusion_text(st_backend *db, uint64_t leaf, uint64_t size, char **body, size_t *len,
                        char *err, size_t errlen);
int slog_consistency_text(st_backend *db, uint64_t from, uint64_t to, char **body, size_t *len,
                          char *err, size_t errlen);

#endif
