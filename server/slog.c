/* slog.c -- the server log: leaves, stored tree, signed checkpoints and
 * proof bodies (slog.h, docs/log.md). */
#include "slog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int slog_entry_leaf(const uint8_t device[32], uint64_t seq, const uint8_t hash[32],
                    char out[SLOG_LEAF_MAX])
{
    char dh[65], eh[65];
    hex(device, 32, dh);
    hex(hash, 32, eh);
    return snprintf(out, SLOG_LEAF_MAX, "patrol-entry\n%s\n%" PRIu64 "\n%s\n", dh, seq, eh);
}

int slog_node(void *ud, unsigned level, uint64_t index, uint8_t out[TLOG_HASH_LEN])
{
    st_backend *db = ud;
    return db->ops->log_node_get(db, level, index, out) == ST_OK ? 0 : -1;
}

int slog_append(st_backend *db, const void *data, size_t len, int64_t now, uint64_t *index)
{
    uint8_t h[TLOG_HASH_LEN], l[TLOG_HASH_LEN], r[TLOG_HASH_LEN];
    uint64_t n, i;
    int rc;
    if ((rc = db->ops->log_size(db, &n)) != ST_OK)
        return rc;
    if (tlog_leaf_hash(data, len, h) != 0)
        return ST_ERR;
    if ((rc = db->ops->log_leaf_add(db, n, data, len, h, now)) != ST_OK)
        return rc;
    /* Leaf n completes the subtrees of 2, 4, 8 ... leaves it ends. */
    i = n;
    for (unsigned lv = 1; lv < 64 && (i & 1); lv++) {
        i >>= 1;
        if ((rc = db->ops->log_node_get(db, lv - 1, 2 * i, l)) != ST_OK ||
            (rc = db->ops->log_node_get(db, lv - 1, 2 * i + 1, r)) != ST_OK)
            return rc == ST_NOTFOUND ? ST_ERR : rc;
        tlog_node_hash(l, r, h);
        if ((rc = db->ops->log_node_put(db, lv, i, h)) != ST_OK)
            return rc;
    }
    *index = n;
    return ST_OK;
}

int slog_enrolment(st_backend *db, int64_t device, const uint8_t key_id[32], int64_t now)
{
    char leaf[SLOG_LEAF_MAX], kh[65];
    uint64_t idx;
    int n;
    hex(key_id, 32, kh);
    n = snprintf(leaf, sizeof leaf, "patrol-enrol\n%s\n%" PRId64 "\n%" PRId64 "\n", kh, device,
                 now);
    return slog_append(db, leaf, (size_t)n, now, &idx);
}

int slog_revocation(st_backend *db, int64_t device, int64_t now)
{
    char leaf[SLOG_LEAF_MAX];
    uint64_t idx;
    int n = snprintf(leaf, sizeof leaf, "patrol-revoke\n%" PRId64 "\n%" PRId64 "\n", device, now);
    return slog_append(db, leaf, (size_t)n, now, &idx);
}

int slog_lists_import(st_backend *db, uint64_t version, const uint8_t *blob, size_t len,
                      int64_t now)
{
    char leaf[SLOG_LEAF_MAX], bh[65];
    uint8_t h[PX_HASH_LEN];
    uint64_t idx;
    int n;
    px_sha256(blob, len, h);
    hex(h, 32, bh);
    n = snprintf(leaf, sizeof leaf, "patrol-lists\n%" PRIu64 "\n%s\n%" PRId64 "\n", version, bh,
                 now);
    return slog_append(db, leaf, (size_t)n, now, &idx);
}

void slog_origin(const uint8_t *pub_der, size_t len, char *out, size_t cap)
{
    uint8_t h[PX_HASH_LEN];
    char hx[17];
    px_sha256(pub_der, len, h);
    hex(h, 8, hx);
    snprintf(out, cap, "patrold/%s", hx);
}

int slog_checkpoint(st_backend *db, px_key *key, pthread_mutex_t *lock, const char *origin,
                    int64_t now, char note[TLOG_NOTE_MAX], uint64_t *size,
                    uint8_t root[TLOG_HASH_LEN], char *err, size_t errlen)
{
    uint8_t old_root[TLOG_HASH_LEN], proof[TLOG_MAX_PROOF][TLOG_HASH_LEN];
    char *old_note = NULL, text[TLOG_NOTE_MAX];
    uint64_t n, old = 0;
    size_t plen;
    int rc, tl, nl;

    if ((rc = db->ops->log_size(db, &n)) != ST_OK) {
        snprintf(err, errlen, "reading the log's size: %s", db->ops->errmsg(db));
        return rc;
    }
    rc = db->ops->log_checkpoint_latest(db, &old, old_root, &old_note);
    if (rc != ST_OK && rc != ST_NOTFOUND) {
        snprintf(err, errlen, "reading the latest checkpoint: %s", db->ops->errmsg(db));
        return rc;
    }
    if (rc == ST_OK && old == n) {
        snprintf(note, TLOG_NOTE_MAX, "%s", old_note);
        memcpy(root, old_root, TLOG_HASH_LEN);
        *size = n;
        free(old_note);
        return ST_OK;
    }
    free(old_note);
    if (rc == ST_OK && old > n) {
        snprintf(err, errlen, "the log holds %" PRIu64 " leaves, fewer than the %" PRIu64
                              " of its latest signed checkpoint: refusing to sign",
                 n, old);
        return ST_ERR;
    }
    if (tlog_root(slog_node, db, n, root) != 0) {
        snprintf(err, errlen, "computing the root of %" PRIu64 " leaves: a subtree is missing", n);
        return ST_ERR;
    }
    /* Never sign two inconsistent checkpoints: the new tree must extend the
     * one signed last, shown by a consistency proof checked against the
     * root that was signed (not against one recomputed now). */
    if (rc == ST_OK &&
        (tlog_consistency(slog_node, db, old, n, proof, &plen) != 0 ||
         tlog_verify_consistency(old, n, old_root, root, (const uint8_t(*)[TLOG_HASH_LEN])proof,
                                 plen) != 0)) {
        snprintf(err, errlen, "the log of %" PRIu64 " leaves is not consistent with its latest"
                              " signed checkpoint (%" PRIu64 " leaves): refusing to sign",
                 n, old);
        return ST_ERR;
    }
    if ((tl = tlog_checkpoint_text(origin, n, root, text, sizeof text)) < 0) {
        snprintf(err, errlen, "the log's origin '%s' is not a valid one", origin);
        return ST_ERR;
    }
    if (lock)
        pthread_mutex_lock(lock);
    nl = tlog_note_sign(key, text, (size_t)tl, note, TLOG_NOTE_MAX);
    if (lock)
        pthread_mutex_unlock(lock);
    if (nl < 0) {
        snprintf(err, errlen, "could not sign the checkpoint");
        return ST_ERR;
    }
    if ((rc = db->ops->log_checkpoint_put(db, n, root, note, now)) != ST_OK) {
        snprintf(err, errlen, "storing the checkpoint: %s",
                 rc == ST_EXISTS ? "a larger one is stored already" : db->ops->errmsg(db));
        return rc == ST_EXISTS ? ST_ERR : rc;
    }
    *size = n;
    return ST_OK;
}

/* A growing text body. */
typedef struct tbuf {
    char *p;
    size_t n, cap;
    int oom;
} tbuf;

static void tput(tbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void tline(tbuf *b, const char *key, uint64_t v)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%s %" PRIu64 "\n", key, v);
    tput(b, line, (size_t)n);
}

static void thash(tbuf *b, const uint8_t *h, size_t n)
{
    char b64[4 * ((SLOG_LEAF_MAX + 2) / 3) + 8];
    if (px_base64_encode(h, n, b64, sizeof b64) != 0) {
        b->oom = 1;
        return;
    }
    tput(b, b64, strlen(b64));
    tput(b, "\n", 1);
}

static int latest_size(st_backend *db, uint64_t *size, char *err, size_t errlen)
{
    uint8_t root[TLOG_HASH_LEN];
    char *note = NULL;
    int rc = db->ops->log_checkpoint_latest(db, size, root, &note);
    free(note);
    if (rc == ST_NOTFOUND) {
        snprintf(err, errlen, "no checkpoint has been signed yet");
        *size = 0;
        return ST_NOTFOUND;
    }
    if (rc != ST_OK)
        snprintf(err, errlen, "reading the latest checkpoint: %s", db->ops->errmsg(db));
    return rc;
}

static int finish(tbuf *b, char **body, size_t *len, char *err, size_t errlen)
{
    if (b->oom) {
        free(b->p);
        snprintf(err, errlen, "out of memory");
        return ST_ERR;
    }
    *body = b->p;
    *len = b->n;
    return ST_OK;
}

int slog_inclusion_text(st_backend *db, uint64_t leaf, uint64_t size, char **body, size_t *len,
                        char *err, size_t errlen)
{
    uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], *data = NULL;
    uint64_t signed_size;
    size_t plen, dlen;
    tbuf b = {NULL, 0, 0, 0};
    int rc;

    *body = NULL;
    if ((rc = latest_size(db, &signed_size, err, errlen)) != ST_OK)
        return rc;
    if (size == 0)
        size = signed_size;
    if (size > signed_size) {
        snprintf(err, errlen, "size %" PRIu64 " is beyond the latest signed checkpoint (%" PRIu64
                              " leaves)", size, signed_size);
        return ST_NOTFOUND;
    }
    if (leaf >= size) {
        snprintf(err, errlen, "leaf %" PRIu64 " is not in a tree of %" PRIu64 " leaves", leaf,
                 size);
        return ST_NOTFOUND;
    }
    if ((rc = db->ops->log_leaf_get(db, leaf, &data, &dlen)) != ST_OK) {
        snprintf(err, errlen, "reading leaf %" PRIu64 ": %s", leaf, db->ops->errmsg(db));
        return rc == ST_NOTFOUND ? ST_ERR : rc;
    }
    if (tlog_inclusion(slog_node, db, leaf, size, proof, &plen) != 0) {
        free(data);
        snprintf(err, errlen, "a subtree of the log is missing");
        return ST_ERR;
    }
    tline(&b, "index", leaf);
    tline(&b, "size", size);
    tput(&b, "leaf ", 5);
    thash(&b, data, dlen);
    for (size_t i = 0; i < plen; i++)
        thash(&b, proof[i], TLOG_HASH_LEN);
    free(data);
    return finish(&b, body, len, err, errlen);
}

int slog_consistency_text(st_backend *db, uint64_t from, uint64_t to, char **body, size_t *len,
                          char *err, size_t errlen)
{
    uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN];
    uint64_t signed_size;
    size_t plen;
    tbuf b = {NULL, 0, 0, 0};
    int rc;

    *body = NULL;
    if ((rc = latest_size(db, &signed_size, err, errlen)) != ST_OK)
        return rc;
    if (to == 0)
        to = signed_size;
    if (to > signed_size) {
        snprintf(err, errlen, "size %" PRIu64 " is beyond the latest signed checkpoint (%" PRIu64
                              " leaves)", to, signed_size);
        return ST_NOTFOUND;
    }
    if (from > to) {
        snprintf(err, errlen, "from %" PRIu64 " is larger than to %" PRIu64, from, to);
        return ST_NOTFOUND;
    }
    if (tlog_consistency(slog_node, db, from, to, proof, &plen) != 0) {
        snprintf(err, errlen, "a subtree of the log is missing");
        return ST_ERR;
    }
    tline(&b, "from", from);
    tline(&b, "to", to);
    for (size_t i = 0; i < plen; i++)
        thash(&b, proof[i], TLOG_HASH_LEN);
    return finish(&b, body, len, err, errlen);
}
