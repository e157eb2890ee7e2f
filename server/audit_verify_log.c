/* audit_verify_log.c -- the server log's part of `audit verify` (see
 * audit_verify_log.h). Trusts nothing but the leaves' data and the
 * receipt key: the tree is rebuilt leaf by leaf (a stack of complete
 * subtrees), its root taken at every signed checkpoint's size and compared
 * with the checkpoint; the checkpoint notes' signatures are checked; entry
 * leaves are kept (device, seq, hash) so that audit_verify.c can find each
 * stored entry among them and name the leaves no stored entry matches.
 * Memory: about 56 bytes an entry leaf and 48 a checkpoint.
 */
#include "audit_verify_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "i18n.h"
#include "slog.h"
#include "tlog.h"
#include "validate.h"

typedef struct vl_cp {
    uint64_t size;
    uint8_t root[32];
    int64_t signed_ms;
} vl_cp;

typedef struct vl_leaf {
    uint8_t device[8]; /* the first bytes of the device id: enough to sort */
    uint64_t seq;
    uint8_t hash[32];
    uint64_t index;
    int seen;
} vl_leaf;

struct vlog {
    vl_cp *cps;
    size_t ncps, capcps;
    vl_leaf *leaves;
    size_t nleaves, capleaves;
    uint64_t size;          /* leaves read */
    uint8_t stack[64][32];  /* complete subtrees of the leaves read so far */
    uint64_t count[64];
    size_t top;
    size_t next_cp;         /* the next checkpoint whose size the walk reaches */
    int edited_reported, order_reported;
    px_key *key;
    vlog_report_fn report;
    void *ud;
    int oom;
};

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t nc;
    void *p;
    if (n < *cap)
        return 0;
    nc = *cap ? *cap * 2 : 64;
    if (nc > SIZE_MAX / elem || !(p = realloc(*arr, nc * elem)))
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
/* fmt is N_() marked: the detail in English, the text translated. */
static void say(vlog *l, int fail, const char *code, const char *fmt, ...)
{
    char detail[400], text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, _(fmt), ap);
    va_end(ap);
    l->report(l->ud, fail, code, detail, text);
}

/* The root of the leaves read so far (RFC 6962: the complete subtrees
 * joined right to left). */
static void current_root(const vlog *l, uint8_t out[32])
{
    if (l->top == 0) {
        px_sha256("", 0, out);
        return;
    }
    memcpy(out, l->stack[l->top - 1], 32);
    for (size_t i = l->top - 1; i-- > 0;)
        tlog_node_hash(l->stack[i], out, out);
}

static int cp_cb(void *ud, uint64_t size, const uint8_t root[32], const char *note,
                 int64_t signed_ms)
{
    vlog *l = ud;
    char origin[256];
    uint64_t nsize = 0;
    uint8_t nroot[32];
    if (grow((void **)&l->cps, &l->capcps, l->ncps, sizeof *l->cps) != 0) {
        l->oom = 1;
        return 1;
    }
    if (tlog_checkpoint_parse(note, strlen(note), origin, sizeof origin, &nsize, nroot, NULL) !=
            0 ||
        nsize != size || memcmp(nroot, root, 32) != 0)
        say(l, 1, "log_checkpoint_bad",
            N_("the stored checkpoint of %" PRIu64 " leaves does not say what its row says"), size);
    else if (l->key && tlog_note_verify(l->key, note, strlen(note)) != 0)
        say(l, 1, "log_checkpoint_bad",
            N_("the checkpoint of %" PRIu64 " leaves is not signed by this server's receipt key"),
            size);
    l->cps[l->ncps].size = size;
    memcpy(l->cps[l->ncps].root, root, 32);
    l->cps[l->ncps++].signed_ms = signed_ms;
    return 0;
}

/* "patrol-entry\n" device (64 hex) "\n" seq "\n" hash (64 hex) "\n". */
static int parse_entry_leaf(const uint8_t *data, size_t len, vl_leaf *out)
{
    static const char tag[] = "patrol-entry\n";
    const char *s = (const char *)data, *end = s + len, *nl;
    uint8_t dev[32];
    char num[24];
    size_t n;
    uint64_t seq = 0;
    if (len < sizeof tag - 1 || memcmp(s, tag, sizeof tag - 1) != 0)
        return 0;
    s += sizeof tag - 1;
    if (end - s < 65 || s[64] != '\n')
        return -1;
    {
        char hexd[65];
        memcpy(hexd, s, 64);
        hexd[64] = 0;
        if (px_parse_hex(hexd, dev, 32) != NULL)
            return -1;
    }
    s += 65;
    if (!(nl = memchr(s, '\n', (size_t)(end - s))) || (n = (size_t)(nl - s)) == 0 ||
        n >= sizeof num)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || seq > (UINT64_MAX - 9) / 10)
            return -1;
        seq = seq * 10 + (uint64_t)(s[i] - '0');
    }
    s = nl + 1;
    if (end - s != 65 || s[64] != '\n')
        return -1;
    {
        char hexd[65];
        memcpy(hexd, s, 64);
        hexd[64] = 0;
        if (px_parse_hex(hexd, out->hash, 32) != NULL)
            return -1;
    }
    memcpy(out->device, dev, sizeof out->device);
    out->seq = seq;
    return 1;
}

static int leaf_cb(void *ud, uint64_t index, const uint8_t *data, size_t len,
                   const uint8_t hash[32])
{
    vlog *l = ud;
    uint8_t h[32];
    vl_leaf lf;
    int kind;

    if (index != l->size) {
        if (!l->order_reported)
            say(l, 1, "log_leaf_missing",
                N_("log leaf %" PRIu64 " is missing (the next stored is %" PRIu64 ")"), l->size,
                index);
        l->order_reported = 1;
        return 1; /* the roots cannot be rebuilt past a hole */
    }
    if (tlog_leaf_hash(data, len, h) != 0) {
        l->oom = 1;
        return 1;
    }
    if (memcmp(h, hash, 32) != 0 && !l->edited_reported) {
        say(l, 1, "log_leaf_edited",
            N_("log leaf %" PRIu64 ": its data does not hash to its stored leaf hash"), index);
        l->edited_reported = 1;
    }
    memset(&lf, 0, sizeof lf);
    if ((kind = parse_entry_leaf(data, len, &lf)) < 0) {
        say(l, 1, "log_leaf_malformed", N_("log leaf %" PRIu64 " is not a well-formed entry leaf"),
            index);
    } else if (kind == 1) {
        if (grow((void **)&l->leaves, &l->capleaves, l->nleaves, sizeof *l->leaves) != 0) {
            l->oom = 1;
            return 1;
        }
        lf.index = index;
        l->leaves[l->nleaves++] = lf;
    }
    l->size++;
    memcpy(l->stack[l->top], h, 32);
    l->count[l->top++] = 1;
    while (l->top >= 2 && l->count[l->top - 1] == l->count[l->top - 2]) {
        tlog_node_hash(l->stack[l->top - 2], l->stack[l->top - 1], l->stack[l->top - 2]);
        l->count[l->top - 2] *= 2;
        l->top--;
    }
    while (l->next_cp < l->ncps && l->cps[l->next_cp].size == l->size) {
        uint8_t root[32];
        current_root(l, root);
        if (memcmp(root, l->cps[l->next_cp].root, 32) != 0)
            say(l, 1, "log_root_mismatch",
                N_("the first %" PRIu64 " leaves give another root than the signed checkpoint of"
                " that size (leaves edited, dropped or reordered)"),
                l->size);
        l->next_cp++;
    }
    return 0;
}

static int cmp_leaf(const void *a, const void *b)
{
    const vl_leaf *x = a, *y = b;
    int c = memcmp(x->device, y->device, sizeof x->device);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

vlog *vlog_open(const char *data, st_backend *db, vlog_report_fn report, void *ud, char *err,
                size_t errlen)
{
    vlog *l = calloc(1, sizeof *l);
    char path[4200];
    const char *why = NULL;
    uint8_t root[32];

    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->report = report;
    l->ud = ud;
    snprintf(path, sizeof path, "%s/receipt.key", data);
    if (px_key_load_private(path, &l->key, &why) != 0)
        say(l, 1, "log_key", N_("cannot check the checkpoints' signatures: %s: %s"), path, why);
    if (db->ops->log_checkpoints_each(db, cp_cb, l) != ST_OK) {
        snprintf(err, errlen, "reading the log's checkpoints: %s", db->ops->errmsg(db));
        goto fail;
    }
    if (!l->oom && db->ops->log_leaves_each(db, leaf_cb, l) != ST_OK) {
        snprintf(err, errlen, "reading the log's leaves: %s", db->ops->errmsg(db));
        goto fail;
    }
    if (l->oom) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (l->next_cp < l->ncps && !l->order_reported)
        say(l, 1, "log_truncated",
            N_("the server signed a checkpoint of %" PRIu64 " leaves but the log holds %" PRIu64),
            l->cps[l->ncps - 1].size, l->size);
    /* The stored subtree hashes serve the proofs: they must give the
     * latest checkpoint's root too. */
    if (l->ncps && l->cps[l->ncps - 1].size <= l->size &&
        (tlog_root(slog_node, db, l->cps[l->ncps - 1].size, root) != 0 ||
         memcmp(root, l->cps[l->ncps - 1].root, 32) != 0))
        say(l, 1, "log_nodes_mismatch",
            N_("the stored subtree hashes give another root than the latest checkpoint's (%" PRIu64
            " leaves): proofs served from them would not verify"),
            l->cps[l->ncps - 1].size);
    if (l->nleaves) /* qsort and bsearch take no NULL array, even empty */
        qsort(l->leaves, l->nleaves, sizeof *l->leaves, cmp_leaf);
    return l;
fail:
    vlog_free(l);
    return NULL;
}

void vlog_free(vlog *l)
{
    if (!l)
        return;
    px_key_free(l->key);
    free(l->cps);
    free(l->leaves);
    free(l);
}

int vlog_entry(vlog *l, const uint8_t device[32], uint64_t seq, const uint8_t hash[32])
{
    vl_leaf key, *f;
    memset(&key, 0, sizeof key);
    memcpy(key.device, device, sizeof key.device);
    key.seq = seq;
    f = l->nleaves ? bsearch(&key, l->leaves, l->nleaves, sizeof *l->leaves, cmp_leaf) : NULL;
    if (!f || memcmp(f->hash, hash, 32) != 0)
        return 0;
    f->seen = 1;
    return 1;
}

int vlog_cite(const vlog *l, uint64_t size, const uint8_t root[32], int64_t *signed_ms)
{
    size_t lo = 0, hi = l->ncps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->cps[mid].size < size)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == l->ncps || l->cps[lo].size != size)
        return -1;
    if (memcmp(l->cps[lo].root, root, 32) != 0)
        return -2;
    *signed_ms = l->cps[lo].signed_ms;
    return 0;
}

int64_t vlog_started_ms(const vlog *l)
{
    return l->ncps ? l->cps[0].signed_ms : 0;
}

uint64_t vlog_unseen(vlog *l)
{
    uint64_t n = 0;
    for (size_t i = 0; i < l->nleaves; i++)
        if (!l->leaves[i].seen) {
            if (n++ < 20)
                say(l, 1, "log_entry_missing",
                    N_("log leaf %" PRIu64 " records entry %" PRIu64 " of a device (hash %02x%02x"
                    "%02x%02x...) that the server no longer holds with those bytes"),
                    l->leaves[i].index, l->leaves[i].seq, l->leaves[i].hash[0],
                    l->leaves[i].hash[1], l->leaves[i].hash[2], l->leaves[i].hash[3]);
        }
    if (n > 20)
        say(l, 1, "log_entry_missing", N_("%" PRIu64 " more log leaves name entries not held"), n - 20);
    return n;
}

uint64_t vlog_leaves(const vlog *l)
{
    return l->size;
}

uint64_t vlog_checkpoints(const vlog *l)
{
    return l->ncps;
}
