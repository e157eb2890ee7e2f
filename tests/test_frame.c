/* test_frame.c -- px_frame_*: round trips, and every way a frame from the
 * network can lie (sizes, flags, checksums, truncation, trailing bytes).
 *
 * Frames the encoder never makes are built here with LZ4F directly, or by
 * writing a frame header by hand: its one-byte header checksum is found by
 * trying all 256 values against LZ4F_getFrameInfo(), so no xxhash is needed.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4frame.h>

#include "frame.h"

/* FLG bits of the LZ4 frame descriptor, and BD for 64 KiB blocks. */
#define FLG_VERSION 0x40u
#define FLG_BINDEP 0x20u
#define FLG_BCSUM 0x10u
#define FLG_CSIZE 0x08u
#define FLG_CCSUM 0x04u
#define FLG_DICT 0x01u
#define BD_64K 0x40u
/* What px_frame_encode writes: linked blocks, content size and checksum. */
#define FLG_OURS (FLG_VERSION | FLG_CSIZE | FLG_CCSUM)

#define MIB ((size_t)1 << 20)

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    uint64_t x = rng_state; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static uint8_t *random_bytes(size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(rng() >> 56);
    return b;
}

/* n bytes of JSON-lines like the records a terminal uploads: repeated keys,
 * varying ids, times, coordinates and notes (LZ4 ratio about 2-3). */
static uint8_t *record_text(size_t n)
{
    static const char *const kinds[] = {"stop", "search", "warning", "citation",
                                        "incident", "patrol"};
    static const char *const words[] = {"vehicle", "driver", "licence", "expired",
                                        "north", "gate", "witness", "statement",
                                        "photo", "attached", "no", "further",
                                        "action", "parked", "illegally", "near"};
    uint8_t *b = malloc(n + 1);
    size_t len = 0;
    assert_non_null(b);
    while (len < n) {
        char line[512];
        int w = snprintf(line, sizeof line,
                         "{\"id\":\"%016llx%016llx\",\"seq\":%llu,\"officer\":"
                         "\"PC-%04u\",\"kind\":\"%s\",\"at\":\"2024-%02u-%02uT%02u:"
                         "%02u:%02uZ\",\"lat\":%u.%05u,\"lon\":%u.%05u,\"note\":\"",
                         (unsigned long long)rng(), (unsigned long long)rng(),
                         (unsigned long long)(rng() % 1000000u),
                         (unsigned)(rng() % 10000u), kinds[rng() % 6],
                         (unsigned)(rng() % 12 + 1), (unsigned)(rng() % 28 + 1),
                         (unsigned)(rng() % 24), (unsigned)(rng() % 60),
                         (unsigned)(rng() % 60), (unsigned)(rng() % 90),
                         (unsigned)(rng() % 100000u), (unsigned)(rng() % 180),
                         (unsigned)(rng() % 100000u));
        assert_true(w > 0 && (size_t)w < sizeof line);
        for (unsigned k = (unsigned)(rng() % 12) + 3; k > 0; k--) {
            int m = snprintf(line + w, sizeof line - (size_t)w, "%s%s",
                             words[rng() % 16], k > 1 ? " " : "\"}\n");
            assert_true(m > 0 && (size_t)m < sizeof line - (size_t)w);
            w += m;
        }
        size_t take = (size_t)w < n - len ? (size_t)w : n - len;
        memcpy(b + len, line, take);
        len += take;
    }
    return b;
}

/* A frame made by LZ4F with whatever preferences a test needs. */
static uint8_t *lz4f_frame(const void *raw, size_t n, const LZ4F_preferences_t *prefs,
                           size_t *flen)
{
    size_t cap = LZ4F_compressFrameBound(n, prefs);
    uint8_t *f = malloc(cap);
    assert_non_null(f);
    *flen = LZ4F_compressFrame(f, cap, raw, n, prefs);
    assert_false(LZ4F_isError(*flen));
    return f;
}

static LZ4F_preferences_t our_prefs(void)
{
    LZ4F_preferences_t p;
    memset(&p, 0, sizeof p);
    p.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    p.frameInfo.contentSize = 1; /* "present": LZ4F puts the real size */
    return p;
}

/* Writes a frame header with the given FLG, optional content size and
 * dictionary id into dst (>= 19 bytes) and returns its length. */
static size_t craft_header(uint8_t *dst, unsigned flg, uint64_t size, uint32_t dict)
{
    size_t h = 0;
    LZ4F_dctx *dctx;

    dst[h++] = 0x04, dst[h++] = 0x22, dst[h++] = 0x4D, dst[h++] = 0x18;
    dst[h++] = (uint8_t)flg;
    dst[h++] = BD_64K;
    if (flg & FLG_CSIZE)
        for (int i = 0; i < 8; i++)
            dst[h++] = (uint8_t)(size >> (8 * i));
    if (flg & FLG_DICT)
        for (int i = 0; i < 4; i++)
            dst[h++] = (uint8_t)(dict >> (8 * i));
    assert_false(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
    for (unsigned hc = 0; hc < 256; hc++) {
        LZ4F_frameInfo_t info;
        size_t in = h + 1;
        dst[h] = (uint8_t)hc;
        if (!LZ4F_isError(LZ4F_getFrameInfo(dctx, &info, dst, &in))) {
            LZ4F_freeDecompressionContext(dctx);
            return h + 1;
        }
    }
    LZ4F_freeDecompressionContext(dctx);
    fail_msg("no header checksum found");
    return 0;
}

/* hdr followed by everything of frame after its own header. */
static uint8_t *splice(const uint8_t *hdr, size_t hlen, const uint8_t *frame,
                       size_t flen, size_t *n)
{
    size_t fh = LZ4F_headerSize(frame, flen);
    uint8_t *b;
    assert_false(LZ4F_isError(fh));
    *n = hlen + (flen - fh);
    b = malloc(*n);
    assert_non_null(b);
    memcpy(b, hdr, hlen);
    memcpy(b + hlen, frame + fh, flen - fh);
    return b;
}

static uint8_t *concat(const uint8_t *a, size_t an, const void *b, size_t bn, size_t *n)
{
    uint8_t *r = malloc(an + bn);
    assert_non_null(r);
    memcpy(r, a, an);
    memcpy(r + an, b, bn);
    *n = an + bn;
    return r;
}

static uint8_t *encode_ok(const void *raw, size_t n, size_t *flen)
{
    uint8_t *f = (uint8_t *)"sentinel";
    const char *why = NULL;
    assert_int_equal(px_frame_encode(raw, n, &f, flen, &why), 0);
    assert_non_null(f);
    return f;
}

/* Decoding must fail, leave *out NULL and *outlen 0, and give a reason
 * (want, when not NULL). Reports the caller's line. */
#define expect_refused(f, n, lim, want) expect_refused_at(f, n, lim, want, __FILE__, __LINE__)
static void expect_refused_at(const void *f, size_t n, const px_frame_limits *lim,
                              const char *want, const char *file, int line)
{
    uint8_t *out = (uint8_t *)"sentinel";
    size_t outlen = 12345;
    const char *why = NULL;
    int rc = px_frame_decode(f, n, lim, &out, &outlen, &why);
    _assert_int_equal(rc, -1, file, line);
    _assert_true(out == NULL, "out == NULL", file, line);
    _assert_int_equal(outlen, 0, file, line);
    _assert_true(why != NULL, "why != NULL", file, line);
    if (want != NULL)
        _assert_string_equal(why, want, file, line);
    free(out);
}

#define expect_decodes(f, n, lim, raw, rawn) expect_decodes_at(f, n, lim, raw, rawn, __FILE__, __LINE__)
static void expect_decodes_at(const void *f, size_t n, const px_frame_limits *lim,
                              const void *raw, size_t rawn, const char *file, int line)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    const char *why = "unset";
    int rc = px_frame_decode(f, n, lim, &out, &outlen, &why);
    if (rc != 0)
        fail_msg("%s:%d: decode refused: %s", file, line, why);
    _assert_true(out != NULL, "out != NULL", file, line);
    _assert_int_equal(outlen, rawn, file, line);
    _assert_true(memcmp(out, raw, rawn) == 0, "content equal", file, line);
    free(out);
}

/* ---- round trips ------------------------------------------------------ */

static void roundtrip(const uint8_t *raw, size_t n)
{
    size_t flen;
    uint8_t *f = encode_ok(raw, n, &flen);
    LZ4F_dctx *dctx;
    LZ4F_frameInfo_t info;
    size_t in = flen;

    /* What goes on the wire: content size and checksum, inside the bound. */
    assert_true(flen <= px_frame_bound(n));
    assert_false(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
    assert_false(LZ4F_isError(LZ4F_getFrameInfo(dctx, &info, f, &in)));
    LZ4F_freeDecompressionContext(dctx);
    assert_int_equal(info.contentSize, n);
    assert_int_equal(info.contentChecksumFlag, LZ4F_contentChecksumEnabled);

    expect_decodes(f, flen, NULL, raw, n);
    free(f);
}

static void test_roundtrip_record_text(void **state)
{
    static const size_t sizes[] = {1, 2, 100, 65535, 65536, 65537, 200000, 5 * MIB};
    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *raw = record_text(sizes[i]);
        roundtrip(raw, sizes[i]);
        free(raw);
    }
}

static void test_roundtrip_incompressible(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 300000; n = n * 7 + 3) {
        uint8_t *raw = random_bytes(n);
        roundtrip(raw, n);
        free(raw);
    }
}

/* Frames from other LZ4F settings the format allows are accepted too. */
static void test_decodes_other_block_options(void **state)
{
    size_t n = 150000, flen;
    uint8_t *raw = record_text(n);
    LZ4F_preferences_t p = our_prefs();
    (void)state;

    p.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    p.frameInfo.blockMode = LZ4F_blockIndependent;
    p.frameInfo.blockSizeID = LZ4F_max4MB;
    p.compressionLevel = 9;
    uint8_t *f = lz4f_frame(raw, n, &p, &flen);
    expect_decodes(f, flen, NULL, raw, n);
    free(f);
    free(raw);
}

static void test_encode_refuses_empty_and_huge(void **state)
{
    uint8_t *out = (uint8_t *)"sentinel";
    size_t outlen = 1;
    const char *why = NULL;
    (void)state;

    assert_int_equal(px_frame_encode("x", 0, &out, &outlen, &why), -1);
    assert_null(out);
    assert_int_equal(outlen, 0);
    assert_non_null(why);

    /* Refused from n alone, before touching the buffer. */
    out = (uint8_t *)"sentinel";
    why = NULL;
    assert_int_equal(px_frame_bound(SIZE_MAX), 0);
    assert_int_equal(px_frame_encode("x", SIZE_MAX, &out, &outlen, &why), -1);
    assert_null(out);
    assert_string_equal(why, "content too large to frame");
}

/* ---- sizes and limits ------------------------------------------------- */

/* 16 MiB of zeros packs into ~64 KiB: a ratio of ~255, above 64. */
static void test_bomb_refused_by_ratio(void **state)
{
    size_t n = 16 * MIB, flen;
    uint8_t *zeros = calloc(n, 1);
    (void)state;
    assert_non_null(zeros);
    uint8_t *f = encode_ok(zeros, n, &flen);
    assert_true(flen * PX_FRAME_MAX_RATIO < n);

    expect_refused(f, flen, NULL, "declared size exceeds ratio limit");
    /* It is the ratio cap that refused it: lifted, the frame decodes. */
    px_frame_limits loose = {PX_FRAME_MAX_COMPRESSED, PX_FRAME_MAX_RAW, 1000};
    expect_decodes(f, flen, &loose, zeros, n);
    /* And the absolute cap holds even with the ratio lifted. */
    loose.max_raw = n - 1;
    expect_refused(f, flen, &loose, "declared size exceeds limit");
    free(f);
    free(zeros);
}

/* Each limit accepts exactly its value and refuses one less. */
static void test_limit_boundaries(void **state)
{
    size_t n = 100000, flen;
    uint8_t *raw = record_text(n);
    (void)state;
    uint8_t *f = encode_ok(raw, n, &flen);
    unsigned ratio = (unsigned)((n + flen - 1) / flen); /* ceil(n / flen) */
    assert_true(ratio >= 2 && (size_t)(ratio - 1) * flen < n);

    px_frame_limits l = {flen, n, ratio};
    expect_decodes(f, flen, &l, raw, n);
    l.max_compressed = flen - 1;
    expect_refused(f, flen, &l, "frame exceeds compressed size limit");
    l.max_compressed = flen;
    l.max_raw = n - 1;
    expect_refused(f, flen, &l, "declared size exceeds limit");
    l.max_raw = n;
    l.max_ratio = ratio - 1;
    expect_refused(f, flen, &l, "declared size exceeds ratio limit");
    l.max_ratio = 0;
    expect_refused(f, flen, &l, "declared size exceeds ratio limit");

    /* The default compressed cap, checked before anything else. */
    uint8_t *big = calloc(PX_FRAME_MAX_COMPRESSED + 1, 1);
    assert_non_null(big);
    memcpy(big, f, flen);
    expect_refused(big, PX_FRAME_MAX_COMPRESSED + 1, NULL,
                   "frame exceeds compressed size limit");
    free(big);
    free(f);
    free(raw);
}

/* A real frame whose header lies about the size (CVE-2021-3520 style). */
static void test_declared_size_lies(void **state)
{
    static const uint64_t huge[] = {PX_FRAME_MAX_RAW + 1, (uint64_t)1 << 30,
                                    0xFFFFFFFEu, 0xFFFFFFFFu, (uint64_t)1 << 32,
                                    UINT64_MAX - 1, UINT64_MAX};
    size_t n = 1000, flen, hlen, sn;
    uint8_t hdr[19];
    uint8_t *raw = record_text(n);
    (void)state;
    uint8_t *f = encode_ok(raw, n, &flen);

    /* The splice itself is sound: the true size decodes. */
    hlen = craft_header(hdr, FLG_OURS, n, 0);
    uint8_t *s = splice(hdr, hlen, f, flen, &sn);
    expect_decodes(s, sn, NULL, raw, n);
    free(s);

    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        hlen = craft_header(hdr, FLG_OURS, huge[i], 0);
        s = splice(hdr, hlen, f, flen, &sn);
        expect_refused(s, sn, NULL, "declared size exceeds limit");
        /* No absolute cap at all: the ratio still stops it. */
        px_frame_limits nolimit = {SIZE_MAX, SIZE_MAX, UINT_MAX};
        if (huge[i] > (uint64_t)sn * UINT_MAX)
            expect_refused(s, sn, &nolimit, "declared size exceeds ratio limit");
        free(s);
    }

    /* Within the caps but more than the frame holds. */
    hlen = craft_header(hdr, FLG_OURS, n + 1, 0);
    s = splice(hdr, hlen, f, flen, &sn);
    expect_refused(s, sn, NULL, "ERROR_frameSize_wrong");
    free(s);

    /* Less than the frame holds: never written past the declared size. */
    hlen = craft_header(hdr, FLG_OURS, n - 1, 0);
    s = splice(hdr, hlen, f, flen, &sn);
    expect_refused(s, sn, NULL, "content exceeds declared size");
    free(s);
    hlen = craft_header(hdr, FLG_OURS, 1, 0);
    s = splice(hdr, hlen, f, flen, &sn);
    expect_refused(s, sn, NULL, "content exceeds declared size");
    free(s);

    free(f);
    free(raw);
}

/* ---- header flags ----------------------------------------------------- */

static void test_no_content_size(void **state)
{
    size_t n = 5000, flen;
    uint8_t *raw = record_text(n);
    LZ4F_preferences_t p = our_prefs();
    (void)state;
    p.frameInfo.contentSize = 0;
    uint8_t *f = lz4f_frame(raw, n, &p, &flen);
    expect_refused(f, flen, NULL, "frame has no content size");
    free(f);
    free(raw);
}

static void test_declared_empty_content(void **state)
{
    uint8_t f[19 + 8];
    size_t h;
    (void)state;
    /* Header with the size field present and 0, end mark, checksum. */
    h = craft_header(f, FLG_OURS, 0, 0);
    memset(f + h, 0, 4);
    f[h + 4] = 0x05, f[h + 5] = 0x5D, f[h + 6] = 0xCC, f[h + 7] = 0x02; /* XXH32("") */
    expect_refused(f, h + 8, NULL, "frame declares empty content");
    /* Same frame without the size field. */
    h = craft_header(f, FLG_VERSION | FLG_CCSUM, 0, 0);
    memset(f + h, 0, 4);
    f[h + 4] = 0x05, f[h + 5] = 0x5D, f[h + 6] = 0xCC, f[h + 7] = 0x02;
    expect_refused(f, h + 8, NULL, "frame has no content size");
}

static void test_no_content_checksum(void **state)
{
    size_t n = 5000, flen;
    uint8_t *raw = record_text(n);
    LZ4F_preferences_t p = our_prefs();
    (void)state;
    p.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    p.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled; /* not enough */
    uint8_t *f = lz4f_frame(raw, n, &p, &flen);
    expect_refused(f, flen, NULL, "frame has no content checksum");
    free(f);
    free(raw);
}

static void test_dictionary_frame(void **state)
{
    size_t n = 3000, flen, hlen, sn;
    uint8_t hdr[19];
    uint8_t *raw = record_text(n);
    (void)state;
    uint8_t *f = encode_ok(raw, n, &flen);
    hlen = craft_header(hdr, FLG_OURS | FLG_DICT, n, 0x12345678u);
    uint8_t *s = splice(hdr, hlen, f, flen, &sn);
    expect_refused(s, sn, NULL, "frame needs a dictionary");
    free(s);
    free(f);
    free(raw);
}

/* ---- corruption ------------------------------------------------------- */

static void test_flipped_payload_byte(void **state)
{
    static const char msg[] = "officer PC-0423 stopped vehicle at north gate";
    size_t n = sizeof msg - 1, flen;
    (void)state;
    uint8_t *f = encode_ok(msg, n, &flen);
    /* header 15 | block size 4 | block | end mark 4 | checksum 4: the last
     * block byte is a literal, so the block still decodes, to wrong text. */
    size_t last_literal = flen - 9;
    f[last_literal] ^= 0x20;
    expect_refused(f, flen, NULL, "ERROR_contentChecksum_invalid");
    f[last_literal] ^= 0x20;
    expect_decodes(f, flen, NULL, msg, n);

    f[flen - 1] ^= 0x01; /* the checksum itself */
    expect_refused(f, flen, NULL, "ERROR_contentChecksum_invalid");
    f[flen - 1] ^= 0x01;
    f[6] ^= 0x01; /* content size byte: header checksum no longer matches */
    expect_refused(f, flen, NULL, "ERROR_headerChecksum_invalid");
    free(f);
}

/* No single-bit error anywhere in a frame yields wrong content: it is
 * refused, or (a match offset moved onto an identical earlier string) it
 * still decodes to exactly the original. Header bits are always refused. */
static void test_every_bit_flip(void **state)
{
    size_t n = 70000, flen, tried = 0, refused = 0; /* two blocks */
    uint8_t *raw = record_text(n);
    (void)state;
    uint8_t *f = encode_ok(raw, n, &flen);
    /* Header, first block header, trailer: every bit; payload: a sample. */
    for (size_t i = 0; i < flen; i += (i < 64 || i + 64 > flen) ? 1 : 37) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *out = NULL;
            size_t outlen = 0;
            const char *why = NULL;
            f[i] ^= (uint8_t)(1u << bit);
            tried++;
            if (px_frame_decode(f, flen, NULL, &out, &outlen, &why) == 0) {
                assert_true(i >= 15);
                assert_int_equal(outlen, n);
                assert_memory_equal(out, raw, n);
                free(out);
            } else {
                assert_null(out);
                assert_non_null(why);
                refused++;
            }
            f[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_true(refused * 10 > tried * 9);
    expect_decodes(f, flen, NULL, raw, n);
    free(f);
    free(raw);
}

static void truncations(const uint8_t *raw, size_t n)
{
    size_t flen;
    uint8_t *f = encode_ok(raw, n, &flen);
    for (size_t len = 0; len < flen; len++) {
        /* An exact-size copy, so ASan sees any read past len. */
        uint8_t *t = malloc(len ? len : 1);
        assert_non_null(t);
        memcpy(t, f, len);
        expect_refused(t, len, NULL, len == 0 ? "empty input" : NULL);
        free(t);
    }
    /* Cut inside the trailer: the blocks are whole, the frame is not. */
    expect_refused(f, flen - 1, NULL, "truncated frame");
    expect_refused(f, flen - 4, NULL, "truncated frame");
    expect_refused(f, flen - 8, NULL, "truncated frame");
    expect_decodes(f, flen, NULL, raw, n);
    free(f);
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    uint8_t *raw = record_text(3000);
    truncations(raw, 3000);
    free(raw);
    /* Two blocks, partly repeated so the loop stays short (ratio < 64). */
    raw = malloc(70000);
    assert_non_null(raw);
    uint8_t *rec = record_text(7000);
    for (size_t i = 0; i < 10; i++)
        memcpy(raw + i * 7000, rec, 7000);
    raw[12345] = '!';
    truncations(raw, 70000);
    free(rec);
    free(raw);
}

static void test_trailing_bytes(void **state)
{
    size_t n = 2000, flen, sn;
    uint8_t *raw = record_text(n);
    (void)state;
    uint8_t *f = encode_ok(raw, n, &flen);

    uint8_t *s = concat(f, flen, "", 1, &sn);
    expect_refused(s, sn, NULL, "trailing bytes after frame");
    free(s);
    s = concat(f, flen, "garbage", 7, &sn);
    expect_refused(s, sn, NULL, "trailing bytes after frame");
    free(s);
    /* Two good frames back to back are still not one frame. */
    s = concat(f, flen, f, flen, &sn);
    expect_refused(s, sn, NULL, "trailing bytes after frame");
    free(s);
    /* Nor is a frame followed by a skippable frame. */
    static const uint8_t skip[] = {0x50, 0x2A, 0x4D, 0x18, 2, 0, 0, 0, 'h', 'i'};
    s = concat(f, flen, skip, sizeof skip, &sn);
    expect_refused(s, sn, NULL, "trailing bytes after frame");
    free(s);
    free(f);
    free(raw);
}

static void test_not_lz4(void **state)
{
    static const char http[] = "GET /v1/batches HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t zeros[32] = {0};
    static const uint8_t legacy[] = {0x02, 0x21, 0x4C, 0x18, 5, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o'};
    static const uint8_t zstd[] = {0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x01, 0x09, 0x00, 'x'};
    static const uint8_t skip[] = {0x50, 0x2A, 0x4D, 0x18, 2, 0, 0, 0, 'h', 'i'};
    static const uint8_t magic_only[] = {0x04, 0x22, 0x4D, 0x18};
    (void)state;

    expect_refused(http, sizeof http - 1, NULL, "ERROR_frameType_unknown");
    expect_refused(zeros, sizeof zeros, NULL, "ERROR_frameType_unknown");
    expect_refused(legacy, sizeof legacy, NULL, "ERROR_frameType_unknown");
    expect_refused(zstd, sizeof zstd, NULL, "ERROR_frameType_unknown");
    expect_refused(skip, sizeof skip, NULL, "not an LZ4 data frame");
    expect_refused(magic_only, sizeof magic_only, NULL, NULL);
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)(rng() % 300) + 1;
        uint8_t *r = random_bytes(n);
        expect_refused(r, n, NULL, NULL);
        free(r);
    }
}

static void test_bad_arguments(void **state)
{
    uint8_t *out = (uint8_t *)"sentinel";
    size_t outlen = 1;
    const char *why = NULL;
    (void)state;
    assert_int_equal(px_frame_decode(NULL, 0, NULL, &out, &outlen, &why), -1);
    assert_null(out);
    assert_string_equal(why, "empty input");
    out = (uint8_t *)"sentinel";
    assert_int_equal(px_frame_decode(NULL, 10, NULL, &out, &outlen, &why), -1);
    assert_null(out);
    assert_string_equal(why, "no input");
    assert_int_equal(px_frame_decode("x", 1, NULL, NULL, &outlen, &why), -1);
    /* why is optional */
    out = (uint8_t *)"sentinel";
    assert_int_equal(px_frame_decode("x", 1, NULL, &out, &outlen, NULL), -1);
    assert_null(out);
}

/* ---- worthwhile ------------------------------------------------------- */

static void test_worthwhile(void **state)
{
    size_t n = 300000;
    uint8_t *text = record_text(n);
    uint8_t *noise = random_bytes(n);
    uint8_t *zeros = calloc(n, 1);
    (void)state;
    assert_non_null(zeros);

    assert_true(px_frame_worthwhile(text, n));
    assert_true(px_frame_worthwhile(zeros, n));
    assert_false(px_frame_worthwhile(noise, n));
    assert_false(px_frame_worthwhile(noise, 100));
    assert_false(px_frame_worthwhile(zeros, 0));
    assert_false(px_frame_worthwhile(zeros, 1));
    assert_false(px_frame_worthwhile(NULL, 0));

    /* Only the first 64 KiB are tried. */
    memcpy(zeros, noise, (size_t)64 << 10);
    assert_false(px_frame_worthwhile(zeros, n));
    memset(zeros, 0, (size_t)64 << 10);
    memcpy(noise, zeros, (size_t)64 << 10);
    assert_true(px_frame_worthwhile(noise, n));

    /* The 1/16 threshold: 64 KiB with a compressible run that LZ4 packs to
     * almost nothing, the rest noise, saves about run - 1/16. */
    uint8_t *mix = random_bytes((size_t)64 << 10);
    memset(mix, 'a', 3000);
    assert_false(px_frame_worthwhile(mix, (size_t)64 << 10)); /* ~4.5% */
    memset(mix, 'a', 6000);
    assert_true(px_frame_worthwhile(mix, (size_t)64 << 10)); /* ~9% */
    free(mix);

    free(zeros);
    free(noise);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_record_text),
        cmocka_unit_test(test_roundtrip_incompressible),
        cmocka_unit_test(test_decodes_other_block_options),
        cmocka_unit_test(test_encode_refuses_empty_and_huge),
        cmocka_unit_test(test_bomb_refused_by_ratio),
        cmocka_unit_test(test_limit_boundaries),
        cmocka_unit_test(test_declared_size_lies),
        cmocka_unit_test(test_no_content_size),
        cmocka_unit_test(test_declared_empty_content),
        cmocka_unit_test(test_no_content_checksum),
        cmocka_unit_test(test_dictionary_frame),
        cmocka_unit_test(test_flipped_payload_byte),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_not_lz4),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_worthwhile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
