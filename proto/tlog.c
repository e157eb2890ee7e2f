/* tlog.c -- RFC 6962 Merkle tree, proofs and signed checkpoints (tlog.h,
 * docs/log.md). */
#include "tlog.h"

#include <stdio.h>
#include <string.h>

#include "tls.h"

int tlog_leaf_hash(const void *data, size_t n, uint8_t out[TLOG_HASH_LEN])
{
    static const uint8_t zero = 0x00;
    uint8_t tmp[1 + 1024];
    px_sha256_ctx *c;
    if (n < sizeof tmp) { /* leaves are small: no allocation */
        tmp[0] = zero;
        memcpy(tmp + 1, data, n);
        px_sha256(tmp, n + 1, out);
        return 0;
    }
    if (!(c = px_sha256_new()))
        return -1;
    px_sha256_update(c, &zero, 1);
    px_sha256_update(c, data, n);
    px_sha256_final(c, out);
    return 0;
}

void tlog_node_hash(const uint8_t left[TLOG_HASH_LEN], const uint8_t right[TLOG_HASH_LEN],
                    uint8_t out[TLOG_HASH_LEN])
{
    uint8_t buf[1 + 2 * TLOG_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left, TLOG_HASH_LEN);
    memcpy(buf + 1 + TLOG_HASH_LEN, right, TLOG_HASH_LEN);
    px_sha256(buf, sizeof buf, out);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k < n - k) /* k * 2 < n without overflow */
        k <<= 1;
    return k;
}

static int is_pow2(uint64_t n)
{
    return n && (n & (n - 1)) == 0;
}

static unsigned log2u(uint64_t n)
{
    unsigned l = 0;
    while (n > 1) {
        n >>= 1;
        l++;
    }
    return l;
}

/* MTH of the n >= 1 leaves from start. The RFC's recursion only ever asks
 * for ranges whose power-of-two parts are aligned: a complete subtree is
 * one callback. */
static int mth(tlog_node_fn f, void *ud, uint64_t start, uint64_t n, uint8_t out[TLOG_HASH_LEN])
{
    uint8_t l[TLOG_HASH_LEN], r[TLOG_HASH_LEN];
    uint64_t k;
    if (is_pow2(n)) {
        unsigned lv = log2u(n);
        return f(ud, lv, start >> lv, out);
    }
    k = split(n);
    if (f(ud, log2u(k), start >> log2u(k), l) != 0 || mth(f, ud, start + k, n - k, r) != 0)
        return -1;
    tlog_node_hash(l, r, out);
    return 0;
}

int tlog_root(tlog_node_fn f, void *ud, uint64_t n, uint8_t out[TLOG_HASH_LEN])
{
    if (n == 0) {
        px_sha256("", 0, out);
        return 0;
    }
    return mth(f, ud, 0, n, out);
}

static int path(tlog_node_fn f, void *ud, uint64_t m, uint64_t start, uint64_t n,
                uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], size_t *len)
{
    uint64_t k;
    if (n <= 1)
        return 0;
    if (*len >= TLOG_MAX_PROOF)
        return -1;
    k = split(n);
    if (m < k) {
        if (path(f, ud, m, start, k, proof, len) != 0 ||
            mth(f, ud, start + k, n - k, proof[*len]) != 0)
            return -1;
    } else {
        if (path(f, ud, m - k, start + k, n - k, proof, len) != 0 ||
            mth(f, ud, start, k, proof[*len]) != 0)
            return -1;
    }
    (*len)++;
    return 0;
}

int tlog_inclusion(tlog_node_fn f, void *ud, uint64_t leaf, uint64_t size,
                   uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], size_t *len)
{
    *len = 0;
    if (leaf >= size)
        return -1;
    return path(f, ud, leaf, 0, size, proof, len);
}

static int subproof(tlog_node_fn f, void *ud, uint64_t m, uint64_t start, uint64_t n, int whole,
                    uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], size_t *len)
{
    uint64_t k;
    if (*len >= TLOG_MAX_PROOF)
        return -1;
    if (m == n) {
        if (whole)
            return 0;
        if (mth(f, ud, start, n, proof[*len]) != 0)
            return -1;
        (*len)++;
        return 0;
    }
    k = split(n);
    if (m <= k) {
        if (subproof(f, ud, m, start, k, whole, proof, len) != 0 || *len >= TLOG_MAX_PROOF ||
            mth(f, ud, start + k, n - k, proof[*len]) != 0)
            return -1;
    } else {
        if (subproof(f, ud, m - k, start + k, n - k, 0, proof, len) != 0 ||
            *len >= TLOG_MAX_PROOF || mth(f, ud, start, k, proof[*len]) != 0)
            return -1;
    }
    (*len)++;
    return 0;
}

int tlog_consistency(tlog_node_fn f, void *ud, uint64_t from, uint64_t to,
                     uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], size_t *len)
{
    *len = 0;
    if (from > to)
        return -1;
    if (from == 0 || from == to)
        return 0;
    return subproof(f, ud, from, 0, to, 1, proof, len);
}

int tlog_verify_inclusion(uint64_t leaf, uint64_t size, const uint8_t leaf_hash[TLOG_HASH_LEN],
                          const uint8_t (*proof)[TLOG_HASH_LEN], size_t len,
                          const uint8_t root[TLOG_HASH_LEN])
{
    uint64_t fn = leaf, sn;
    uint8_t r[TLOG_HASH_LEN];
    if (leaf >= size)
        return -1;
    sn = size - 1;
    memcpy(r, leaf_hash, TLOG_HASH_LEN);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0)
            return -1;
        if ((fn & 1) || fn == sn) {
            tlog_node_hash(proof[i], r, r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            tlog_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, TLOG_HASH_LEN) == 0 ? 0 : -1;
}

int tlog_verify_consistency(uint64_t from, uint64_t to, const uint8_t root_from[TLOG_HASH_LEN],
                            const uint8_t root_to[TLOG_HASH_LEN],
                            const uint8_t (*proof)[TLOG_HASH_LEN], size_t len)
{
    uint64_t fn, sn;
    uint8_t fr[TLOG_HASH_LEN], sr[TLOG_HASH_LEN];
    size_t i = 0;
    if (from > to)
        return -1;
    if (from == to)
        return len == 0 && memcmp(root_from, root_to, TLOG_HASH_LEN) == 0 ? 0 : -1;
    if (from == 0)
        return len == 0 ? 0 : -1;
    if (len == 0)
        return -1;
    /* A first tree of 2^k leaves is a node of the second: its root is the
     * proof's implicit first element. */
    if (is_pow2(from)) {
        memcpy(fr, root_from, TLOG_HASH_LEN);
    } else {
        memcpy(fr, proof[0], TLOG_HASH_LEN);
        i = 1;
    }
    memcpy(sr, fr, TLOG_HASH_LEN);
    fn = from - 1;
    sn = to - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < len; i++) {
        if (sn == 0)
            return -1;
        if ((fn & 1) || fn == sn) {
            tlog_node_hash(proof[i], fr, fr);
            tlog_node_hash(proof[i], sr, sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            tlog_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, root_from, TLOG_HASH_LEN) == 0 &&
                   memcmp(sr, root_to, TLOG_HASH_LEN) == 0
               ? 0
               : -1;
}

/* ---- checkpoints -------------------------------------------------------- */

static int valid_origin(const char *o)
{
    size_t n = strlen(o);
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (o[i] <= ' ' || o[i] > '~' || o[i] == '+')
            return 0;
    return 1;
}

int tlog_checkpoint_text(const char *origin, uint64_t size, const uint8_t root[TLOG_HASH_LEN],
                         char *out, size_t cap)
{
    char b64[64];
    int n;
    if (!valid_origin(origin) || px_base64_encode(root, TLOG_HASH_LEN, b64, sizeof b64) != 0)
        return -1;
    n = snprintf(out, cap, "%s\n%llu\n%s\n", origin, (unsigned long long)size, b64);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* One line of s[*pos..len) without its '\n'; -1 if there is no '\n'. */
static int line(const char *s, size_t len, size_t *pos, const char **start, size_t *n)
{
    const char *nl = memchr(s + *pos, '\n', len - *pos);
    if (!nl)
        return -1;
    *start = s + *pos;
    *n = (size_t)(nl - *start);
    *pos += *n + 1;
    return 0;
}

int tlog_checkpoint_parse(const char *note, size_t len, char *origin, size_t cap, uint64_t *size,
                          uint8_t root[TLOG_HASH_LEN], size_t *text_len)
{
    const char *l;
    size_t n, pos = 0, got;
    char num[24];
    uint64_t v = 0;

    if (line(note, len, &pos, &l, &n) != 0 || n == 0 || n >= cap)
        return -1;
    memcpy(origin, l, n);
    origin[n] = '\0';
    if (!valid_origin(origin))
        return -1;
    if (line(note, len, &pos, &l, &n) != 0 || n == 0 || n >= sizeof num ||
        (n > 1 && l[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (l[i] < '0' || l[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(l[i] - '0');
    }
    *size = v;
    if (line(note, len, &pos, &l, &n) != 0 || n != 44 ||
        px_base64_decode(l, n, root, TLOG_HASH_LEN, &got) != 0 || got != TLOG_HASH_LEN)
        return -1;
    /* Extension lines (C2SP allows them) are not used by patrold: the
     * text ends here, followed by the blank line of a signed note. */
    if (pos < len && note[pos] != '\n')
        return -1;
    if (text_len)
        *text_len = pos;
    return 0;
}

static const char dash[] = "\xe2\x80\x94 "; /* U+2014 and a space */

static int key_hint(const px_key *key, uint8_t hint[4])
{
    uint8_t id[PX_HASH_LEN];
    if (px_key_id(key, id) != 0)
        return -1;
    memcpy(hint, id, 4);
    return 0;
}

int tlog_note_sign(px_key *key, const char *text, size_t text_len, char *out, size_t cap)
{
    char origin[256], b64[128];
    uint64_t size;
    uint8_t root[TLOG_HASH_LEN], digest[PX_HASH_LEN], blob[4 + 72];
    size_t tl, dl;
    int n;

    if (tlog_checkpoint_parse(text, text_len, origin, sizeof origin, &size, root, &tl) != 0 ||
        tl != text_len || key_hint(key, blob) != 0)
        return -1;
    px_sha256(text, text_len, digest);
    if (px_sign_der(key, digest, blob + 4, sizeof blob - 4, &dl) != 0)
        return -1;
    if (px_base64_encode(blob, 4 + dl, b64, sizeof b64) != 0)
        return -1;
    n = snprintf(out, cap, "%.*s\n%s%s %s\n", (int)text_len, text, dash, origin, b64);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int tlog_note_verify(const px_key *key, const char *note, size_t len)
{
    char origin[256];
    uint64_t size;
    uint8_t root[TLOG_HASH_LEN], digest[PX_HASH_LEN], hint[4], blob[4 + 72];
    size_t tl, pos, n, got, olen;
    const char *l;

    if (tlog_checkpoint_parse(note, len, origin, sizeof origin, &size, root, &tl) != 0 ||
        key_hint(key, hint) != 0)
        return -1;
    pos = tl;
    if (pos >= len || note[pos] != '\n')
        return -1;
    pos++;
    px_sha256(note, tl, digest);
    olen = strlen(origin);
    while (line(note, len, &pos, &l, &n) == 0) {
        size_t d = sizeof dash - 1;
        if (n < d + olen + 1 || memcmp(l, dash, d) != 0 || memcmp(l + d, origin, olen) != 0 ||
            l[d + olen] != ' ')
            continue;
        if (px_base64_decode(l + d + olen + 1, n - d - olen - 1, blob, sizeof blob, &got) != 0 ||
            got < 4 + 8 || memcmp(blob, hint, 4) != 0)
            continue;
        if (px_verify_der(key, digest, blob + 4, got - 4) == 0)
            return 0;
    }
    return -1;
}
