/* audit_verify_log.h -- the server log's part of `audit verify`
 * (audit_verify_log.c): the log rebuilt from its leaves' data and held
 * against every signed checkpoint, every accepted entry found among its
 * leaves, and the checkpoints terminals cite (docs/log.md "Citations").
 */
#ifndef SRV_AUDIT_VERIFY_LOG_H
#define SRV_AUDIT_VERIFY_LOG_H

#include <stdint.h>

#include "storage.h"

typedef struct vlog vlog;

/* A problem found: fail 1 for an integrity failure, 0 for a notice; code
 * a stable English code, detail a sentence in English (--json), text the
 * same in the reader's language. */
typedef void (*vlog_report_fn)(void *ud, int fail, const char *code, const char *detail,
                               const char *text);

/* Read and check the log of the data directory `data` (its receipt.key
 * signs the checkpoints): every checkpoint's signature and stored root,
 * every leaf's stored hash against its data, the root of each
 * checkpoint's leaves against the checkpoint, the stored subtree hashes
 * against the latest checkpoint. Problems go to report. NULL only when
 * out of memory or the log cannot be read (*err says which); free with
 * vlog_free. */
vlog *vlog_open(const char *data, st_backend *db, vlog_report_fn report, void *ud, char *err,
                size_t errlen);
void vlog_free(vlog *l);

/* 1 if the log has the entry leaf (device id, seq, entry hash), and marks
 * it seen; 0 if not. */
int vlog_entry(vlog *l, const uint8_t device[32], uint64_t seq, const uint8_t hash[32]);

/* A citation of (size, root): 0 with the checkpoint's signing time, -1 if
 * the server signed no checkpoint of that size, -2 if it did with another
 * root. */
int vlog_cite(const vlog *l, uint64_t size, const uint8_t root[32], int64_t *signed_ms);

/* The signing time of the first checkpoint (0: none): an entry received
 * after it was accepted while the log ran, so it must be a leaf. */
int64_t vlog_started_ms(const vlog *l);

/* Report every entry leaf vlog_entry never saw (the log names an entry
 * the server no longer holds, or holds with other bytes); returns how
 * many. */
uint64_t vlog_unseen(vlog *l);

/* Counts for the summary. */
uint64_t vlog_leaves(const vlog *l);
uint64_t vlog_checkpoints(const vlog *l);

#endif
