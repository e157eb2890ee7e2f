/* index.h -- patrold's index of matters and its rule flags (docs/server.md
 * "Index and rule flags").
 *
 * The server re-runs the record's rules at ingest: for every accepted
 * entry it finds the matter (the entry's object, or for a document or a
 * revisit the matter that created it), notes the entry under it, and once
 * the batch is stored replays each touched matter's entries, from every
 * device, with the matter state machine (proto/matter.h); the findings
 * replace the matter's rule flags. Department-level acts (dept.*) are
 * checked one by one (px_act_check). An entry that breaks a rule is still
 * stored and acknowledged: flagged, never dropped.
 *
 * Everything here runs inside the caller's write transaction, through the
 * storage interface only (storage.h), so the index is never behind the
 * entries. Reference data comes from the server's latest Reference,
 * decoded once per idx.
 */
#ifndef SRV_INDEX_H
#define SRV_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "patrol.pb-c.h"
#include "storage.h"

typedef struct idx idx;

/* A new index context over db (inside a write transaction). Returns NULL
 * only if memory ran out. Free with idx_free (NULL-safe). */
idx *idx_new(st_backend *db);
void idx_free(idx *x);

/* Index one entry just stored for device (its matter, the objects it
 * creates, its subject, its citation; a dept.* act is checked now).
 * e is not kept. ST_OK or a storage error (st_errmsg / idx_errmsg). */
int idx_entry(idx *x, int64_t device, const Patrol__V1__Entry *e, int64_t now);

/* Replay every matter touched since idx_new (or the last idx_finish) and
 * replace its flags. *flags (may be NULL) receives the number of flags the
 * touched matters now have. ST_OK or an error. */
int idx_finish(idx *x, int64_t now, size_t *flags);

/* What went wrong, after an error. */
const char *idx_errmsg(const idx *x);

/* Empty the index (index_clear) and index and flag every entry db holds
 * again, inside the caller's write transaction: `reindex`, and an upgrade
 * that brings index tables (the st_reindex_fn of storage.h). A flag found
 * again keeps the time it was first raised. */
int idx_rebuild(st_backend *db, char *err, size_t errlen);

/* `patrold --data DIR reindex`: empty the index and rebuild it from the
 * entries alone, in one write transaction (serve may run: its batches
 * wait). Exit status: 0, 1 (a message on stderr; nothing changed), 2
 * usage. */
int idx_reindex_main(const char *data, int argc, char **argv);

/* The subject key of a subject.add entry: lower-case hex SHA-256 of its
 * credit_code field, else of its id_number field, exactly as recorded;
 * "" if it has neither. */
void idx_subject_key(const Patrol__V1__Entry *e, char key[65]);

#endif
