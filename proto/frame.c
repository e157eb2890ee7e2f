/* frame.c -- one LZ4 frame per batch (see frame.h).
 *
 * Wire format: a standard LZ4 frame (magic 0x184D2204) with the content
 * size field present and the content checksum on, 64 KiB linked blocks,
 * no dictionary. Exactly one frame: nothing may follow it.
 *
 * Empty content is not representable, in either direction. liblz4 1.9.4
 * writes the content size field only when it is non-zero, and
 * LZ4F_getFrameInfo() reports 0 both for "no size field" and for "size
 * field holding 0". So px_frame_encode() refuses n == 0 ("empty content")
 * and px_frame_decode() refuses every frame whose content size is 0; it
 * reads the FLG byte itself only to say which of the two it was. (frame.h
 * still says *out is non-NULL "even for empty content": that case cannot
 * arise.) A batch always holds at least one entry, so it is never empty.
 *
 * Decoder order (STYLE.md "Decoders"): compressed length cap; header via
 * LZ4F_getFrameInfo (magic, version, reserved bits, block size, header
 * checksum); frame type, content size present, content checksum flag, no
 * dictionary; declared size capped absolutely and by ratio; only then one
 * allocation of exactly the declared size; LZ4F_decompress() into it, which
 * verifies block and content checksums; the frame must end exactly at n.
 *
 * Every `why` is a static string: ours, or LZ4F_getErrorName()'s
 * ("ERROR_contentChecksum_invalid", "ERROR_frameType_unknown", ...).
 */
#include "frame.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lz4frame.h>

const px_frame_limits px_frame_default_limits = {
    PX_FRAME_MAX_COMPRESSED,
    PX_FRAME_MAX_RAW,
    PX_FRAME_MAX_RATIO,
};

/* Bytes tried by px_frame_worthwhile; beyond this LZ4 gains nothing more. */
#define TRIAL_MAX ((size_t)64 << 10)

/* FLG byte (offset 4 of a frame): bit 3 = content size field present. */
#define FLG_OFFSET 4
#define FLG_CONTENT_SIZE 0x08u

static void encode_prefs(LZ4F_preferences_t *prefs, size_t n)
{
    memset(prefs, 0, sizeof *prefs);
    prefs->frameInfo.blockSizeID = LZ4F_max64KB;
    prefs->frameInfo.blockMode = LZ4F_blockLinked;
    prefs->frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs->frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs->frameInfo.frameType = LZ4F_frame;
    prefs->frameInfo.contentSize = (unsigned long long)n;
    prefs->compressionLevel = 0; /* default: fast mode */
}

/* Returns 0 when n is too large for the bound to be a size_t. */
size_t px_frame_bound(size_t n)
{
    LZ4F_preferences_t prefs;

    /* The bound is n plus ~4 bytes per 64 KiB block plus a few dozen
     * header/trailer bytes; this margin keeps LZ4F's arithmetic exact. */
    if (n > SIZE_MAX / 2)
        return 0;
    encode_prefs(&prefs, n);
    return LZ4F_compressFrameBound(n, &prefs);
}

int px_frame_encode(const void *raw, size_t n, uint8_t **out, size_t *outlen,
                    const char **why)
{
    LZ4F_preferences_t prefs;
    const char *dummy;
    uint8_t *buf = NULL;
    size_t cap, len;

    if (why == NULL)
        why = &dummy;
    if (out == NULL || outlen == NULL) {
        *why = "no output pointer";
        return -1;
    }
    *out = NULL;
    *outlen = 0;
    if (n == 0) {
        *why = "empty content (not representable, see frame.c)";
        return -1;
    }
    if (raw == NULL) {
        *why = "no input";
        return -1;
    }
    cap = px_frame_bound(n);
    if (cap == 0) {
        *why = "content too large to frame";
        return -1;
    }
    buf = malloc(cap);
    if (buf == NULL) {
        *why = "out of memory";
        return -1;
    }
    encode_prefs(&prefs, n);
    len = LZ4F_compressFrame(buf, cap, raw, n, &prefs);
    if (LZ4F_isError(len)) {
        *why = LZ4F_getErrorName(len);
        free(buf);
        return -1;
    }
    /* Give back the slack of the bound; keep the big buffer if we can't. */
    {
        uint8_t *shrunk = realloc(buf, len);
        if (shrunk != NULL)
            buf = shrunk;
    }
    *out = buf;
    *outlen = len;
    *why = NULL;
    return 0;
}

/* Checks the declared content size against lim; returns NULL or why. */
static const char *check_declared(unsigned long long declared, size_t n,
                                  const px_frame_limits *lim)
{
    unsigned long long ratio_cap;

    if (declared > (unsigned long long)lim->max_raw)
        return "declared size exceeds limit";
    /* raw <= n * max_ratio, computed without overflow: a product that
     * would overflow is larger than any declared size. */
    if (lim->max_ratio != 0 && (unsigned long long)n > ULLONG_MAX / lim->max_ratio)
        ratio_cap = ULLONG_MAX;
    else
        ratio_cap = (unsigned long long)n * lim->max_ratio;
    if (declared > ratio_cap)
        return "declared size exceeds ratio limit";
    /* declared <= max_raw <= SIZE_MAX; the +1 of the allocation must fit. */
    if (declared >= (unsigned long long)SIZE_MAX)
        return "declared size exceeds limit";
    return NULL;
}

int px_frame_decode(const void *frame, size_t n, const px_frame_limits *lim,
                    uint8_t **out, size_t *outlen, const char **why)
{
    static const LZ4F_decompressOptions_t dopts = {1, 0, 0, 0}; /* stableDst */
    const uint8_t *src = frame;
    LZ4F_dctx *dctx = NULL;
    LZ4F_frameInfo_t info;
    uint8_t *buf = NULL;
    const char *dummy;
    size_t in, pos, want, r;
    int rc = -1;

    if (why == NULL)
        why = &dummy;
    if (out == NULL || outlen == NULL) {
        *why = "no output pointer";
        return -1;
    }
    *out = NULL;
    *outlen = 0;
    if (lim == NULL)
        lim = &px_frame_default_limits;

    /* 1. Length. */
    if (n == 0) {
        *why = "empty input";
        return -1;
    }
    if (src == NULL) {
        *why = "no input";
        return -1;
    }
    if (n > lim->max_compressed) {
        *why = "frame exceeds compressed size limit";
        return -1;
    }

    r = LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION);
    if (LZ4F_isError(r)) {
        dctx = NULL;
        *why = "out of memory";
        goto exit;
    }

    /* 2. Header: magic, version, reserved bits, block size, checksum. */
    memset(&info, 0, sizeof info);
    in = n;
    r = LZ4F_getFrameInfo(dctx, &info, src, &in);
    if (LZ4F_isError(r)) {
        *why = LZ4F_getErrorName(r);
        goto exit;
    }

    /* 3. Whitelist of what we accept. */
    if (info.frameType != LZ4F_frame) {
        *why = "not an LZ4 data frame";
        goto exit;
    }
    if (info.contentSize == 0) {
        /* LZ4F reports 0 for both; the header is validated, so FLG is. */
        *why = (src[FLG_OFFSET] & FLG_CONTENT_SIZE)
                   ? "frame declares empty content"
                   : "frame has no content size";
        goto exit;
    }
    if (info.contentChecksumFlag != LZ4F_contentChecksumEnabled) {
        *why = "frame has no content checksum";
        goto exit;
    }
    if (info.dictID != 0) {
        *why = "frame needs a dictionary";
        goto exit;
    }

    /* 4. Cap the declared size before sizing anything from it. */
    *why = check_declared(info.contentSize, n, lim);
    if (*why != NULL)
        goto exit;
    want = (size_t)info.contentSize;

    /* 5. Exactly the declared size (+1: never malloc(0), and &buf[want]
     *    stays a valid pointer for a zero-capacity call). */
    buf = malloc(want + 1);
    if (buf == NULL) {
        *why = "out of memory";
        goto exit;
    }

    /* 6. Decompress; LZ4F checks block and content checksums. The output
     *    capacity is what remains of the declared size, never more. */
    pos = 0;
    for (;;) {
        size_t dcap = want - pos;
        size_t scap = n - in;

        r = LZ4F_decompress(dctx, buf + pos, &dcap, src + in, &scap, &dopts);
        if (LZ4F_isError(r)) {
            *why = LZ4F_getErrorName(r);
            goto exit;
        }
        pos += dcap;
        in += scap;
        if (r == 0)
            break; /* end mark and content checksum verified */
        if (dcap == 0 && scap == 0) {
            /* No progress: either out of input or out of room. */
            *why = (in == n) ? "truncated frame"
                             : "content exceeds declared size";
            goto exit;
        }
    }
    if (pos != want) {
        *why = "content shorter than declared"; /* LZ4F checks it too */
        goto exit;
    }
    if (in != n) {
        *why = "trailing bytes after frame";
        goto exit;
    }

    *out = buf;
    *outlen = want;
    buf = NULL;
    *why = NULL;
    rc = 0;
exit:
    free(buf);
    if (dctx != NULL)
        LZ4F_freeDecompressionContext(dctx);
    return rc;
}

int px_frame_worthwhile(const void *buf, size_t n)
{
    size_t trial = n < TRIAL_MAX ? n : TRIAL_MAX;
    /* Saves >= 1/16  <=>  compressed <= 15/16 of the trial. Giving LZ4 only
     * that much room makes it return 0 as soon as it would not fit. */
    size_t room = trial * 15 / 16; /* trial <= 64 Ki: no overflow */
    char *dst;
    int c;

    if (buf == NULL || room == 0)
        return 0;
    dst = malloc(room);
    if (dst == NULL)
        return 0; /* sending raw is always correct */
    c = LZ4_compress_default(buf, dst, (int)trial, (int)room);
    free(dst);
    return c > 0;
}
