/* frame.h -- a batch on the wire is one LZ4 frame (content size and content
 * checksum on) holding one protobuf message. The decoder refuses frames it
 * would have to trust: it caps the compressed size, the declared raw size
 * (absolutely and as a ratio of the compressed size) before allocating,
 * and checks the content checksum and that nothing trails the frame.
 */
#ifndef PX_FRAME_H
#define PX_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct px_frame_limits {
    size_t max_compressed;  /* bytes of frame accepted at most */
    size_t max_raw;         /* declared content size accepted at most */
    unsigned max_ratio;     /* raw <= compressed * max_ratio */
} px_frame_limits;

/* Defaults used by both sides: 8 MiB compressed, 16 MiB raw, ratio 64. */
#define PX_FRAME_MAX_COMPRESSED ((size_t)8 << 20)
#define PX_FRAME_MAX_RAW ((size_t)16 << 20)
#define PX_FRAME_MAX_RATIO 64u
extern const px_frame_limits px_frame_default_limits;

/* Upper bound of px_frame_encode's output for n raw bytes. */
size_t px_frame_bound(size_t n);

/* Compress raw[0..n) into one frame (n >= 1: lz4 1.9.4 cannot declare an
 * empty content size, so empty content is refused both ways). On success
 * returns 0 and *out is a malloc'd buffer of *outlen bytes that the caller
 * frees with free(). On failure returns -1, *out is NULL and *why names
 * the problem. */
int px_frame_encode(const void *raw, size_t n, uint8_t **out, size_t *outlen,
                    const char **why);

/* Decompress exactly one frame of n bytes under lim (NULL: defaults).
 * On success returns 0 and *out (malloc'd, caller frees) holds *outlen
 * (>= 1) bytes. On failure returns -1, *out is NULL, and *why is a static
 * string such as "frame has no content size", "declared size exceeds
 * limit", "declared size exceeds ratio limit", lz4's own error names
 * ("ERROR_contentChecksum_invalid"), "trailing bytes after frame".
 * Dictionary and skippable frames are refused. Nothing is allocated beyond
 * the declared, already-capped content size. */
int px_frame_decode(const void *frame, size_t n, const px_frame_limits *lim,
                    uint8_t **out, size_t *outlen, const char **why);

/* True if LZ4 is worth it for these bytes (a trial on the first 64 KiB
 * saves at least 1/16): media such as JPEG or Opus is sent raw. */
int px_frame_worthwhile(const void *buf, size_t n);

#endif
