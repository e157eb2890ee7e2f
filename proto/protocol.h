/* protocol.h -- numbers both sides of the sync protocol agree on
 * (docs/protocol.md). */
#ifndef PX_PROTOCOL_H
#define PX_PROTOCOL_H

#define PX_PROTOCOL_VERSION 1u

/* Entries in one Batch: the server refuses more (400 too_many_entries). */
#define PX_BATCH_MAX_ENTRIES 1000u

/* Bytes of evidence in one PATCH (after LZ4 decoding): more is 413. */
#define PX_PATCH_MAX_BYTES ((size_t)8 << 20)

#endif
