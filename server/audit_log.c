/* audit_log.c -- `patrold --data DIR audit log checkpoint|inclusion|
 * consistency`: the server log for supervisors (docs/log.md). Read-only.
 *
 *   log checkpoint              the latest signed checkpoint, after checking
 *                               its signature with DIR/receipt.key and its
 *                               root against every leaf's data
 *   log inclusion --leaf N [--size M]
 *   log consistency --from A [--to B]
 *                               the proof bodies GET /v1/log/proof/... serves
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "i18n.h"
#include "slog.h"
#include "validate.h"

#define CMD "log"

/* Recompute the root of the first `size` leaves from their data alone (a
 * stack of complete subtrees), and note the first leaf whose data does not
 * hash to its stored leaf hash. */
typedef struct recompute {
    uint64_t size, seen, bad_leaf;
    int bad;
    uint8_t stack[64][TLOG_HASH_LEN];
    uint64_t count[64]; /* leaves under each stack entry */
    size_t top;
} recompute;

static int leaf_cb(void *ud, uint64_t index, const uint8_t *data, size_t len,
                   const uint8_t hash[32])
{
    recompute *r = ud;
    uint8_t h[TLOG_HASH_LEN];
    if (index >= r->size)
        return 1;
    if (index != r->seen || tlog_leaf_hash(data, len, h) != 0) {
        r->bad = 2;
        r->bad_leaf = r->seen;
        return 1;
    }
    if (!r->bad && memcmp(h, hash, TLOG_HASH_LEN) != 0) {
        r->bad = 1;
        r->bad_leaf = index;
    }
    r->seen++;
    memcpy(r->stack[r->top], h, TLOG_HASH_LEN);
    r->count[r->top++] = 1;
    while (r->top >= 2 && r->count[r->top - 1] == r->count[r->top - 2]) {
        tlog_node_hash(r->stack[r->top - 2], r->stack[r->top - 1], r->stack[r->top - 2]);
        r->count[r->top - 2] *= 2;
        r->top--;
    }
    return 0;
}

static int cmd_checkpoint(const char *data, st_backend *db)
{
    uint8_t root[TLOG_HASH_LEN], got[TLOG_HASH_LEN];
    char *note = NULL, *path = NULL, origin[256], err[256];
    uint64_t size = 0, n = 0, csize;
    size_t tl, plen;
    px_key *key = NULL;
    const char *why = NULL;
    recompute *r = NULL;
    int rc = 1;

    if (db->ops->log_checkpoint_latest(db, &size, root, &note) != ST_OK) {
        audit_fail(CMD, "%s",
                   _("no checkpoint has been signed yet (the log has none until the first sync"
                     " or GET /v1/log/checkpoint)"));
        goto out;
    }
    if (db->ops->log_size(db, &n) != ST_OK) {
        audit_fail(CMD, _("reading the log: %s"), db->ops->errmsg(db));
        goto out;
    }
    if (tlog_checkpoint_parse(note, strlen(note), origin, sizeof origin, &csize, got, &tl) != 0 ||
        csize != size || memcmp(got, root, TLOG_HASH_LEN) != 0) {
        audit_fail(CMD, _("the stored checkpoint of %" PRIu64 " leaves is malformed"), size);
        goto out;
    }
    tl = strlen(data) + sizeof "/receipt.key";
    if (!(path = malloc(tl)) || !(r = calloc(1, sizeof *r))) {
        audit_fail(CMD, "%s", _("out of memory"));
        goto out;
    }
    snprintf(path, tl, "%s/receipt.key", data);
    if (px_key_load_private(path, &key, &why) != 0) {
        audit_fail(CMD, _("cannot check the signature: %s: %s"), path, why);
        goto out;
    }
    if (tlog_note_verify(key, note, strlen(note)) != 0) {
        audit_fail(CMD, _("the latest checkpoint (%" PRIu64 " leaves) is not signed by %s"), size,
                   path);
        goto out;
    }
    r->size = size;
    if (db->ops->log_leaves_each(db, leaf_cb, r) != ST_OK) {
        audit_fail(CMD, _("reading the leaves: %s"), db->ops->errmsg(db));
        goto out;
    }
    if (r->bad == 2 || r->seen != size) {
        audit_fail(CMD, _("leaf %" PRIu64 " is missing: the log does not hold the %" PRIu64
                        " leaves of its latest checkpoint"), r->bad == 2 ? r->bad_leaf : r->seen,
                   size);
        goto out;
    }
    if (r->bad) {
        audit_fail(CMD, _("leaf %" PRIu64 ": its data does not hash to its stored leaf hash (an"
                        " edited leaf)"), r->bad_leaf);
        goto out;
    }
    if (size == 0) {
        px_sha256("", 0, got);
    } else {
        memcpy(got, r->stack[r->top - 1], TLOG_HASH_LEN);
        for (size_t i = r->top - 1; i-- > 0;)
            tlog_node_hash(r->stack[i], got, got);
    }
    if (memcmp(got, root, TLOG_HASH_LEN) != 0) {
        audit_fail(CMD, _("the %" PRIu64 " leaves' data give another root than the signed"
                        " checkpoint's"), size);
        goto out;
    }
    /* The stored subtrees give the same root (they serve the proofs). */
    if (tlog_root(slog_node, db, size, got) != 0 || memcmp(got, root, TLOG_HASH_LEN) != 0) {
        audit_fail(CMD, "%s",
                   _("the stored subtree hashes give another root than the signed"
                     " checkpoint's"));
        goto out;
    }
    (void)plen;
    (void)err;
    fputs(note, stdout);
    if (n > size)
        fprintf(stderr, _("patrold: audit log: %" PRIu64 " leaves since this checkpoint, signed at"
                          " the next sync\n"), n - size);
    rc = 0;
out:
    px_key_free(key);
    free(r);
    free(path);
    free(note);
    return rc;
}

static int number(const char *opt, const char *v, uint64_t *out)
{
    if (!v || px_parse_u64(v, 0, (uint64_t)INT64_MAX, out) != NULL)
        return audit_usage_error(CMD, _("%s needs a number 0 .. 2^63-1"), opt);
    return 0;
}

int audit_log_main(const char *data, int argc, char **argv)
{
    st_backend *db;
    uint64_t a = 0, b = 0;
    int have_a = 0, rc;
    char err[256], *body = NULL;
    size_t len;
    const char *sub;

    if (argc < 1)
        return audit_usage_error(CMD, "%s", _("needs checkpoint, inclusion or consistency"));
    sub = argv[0];
    if (strcmp(sub, "checkpoint") != 0 && strcmp(sub, "inclusion") != 0 &&
        strcmp(sub, "consistency") != 0)
        return audit_usage_error(CMD, _("unknown subcommand '%s'"), sub);
    for (int i = 1; i < argc; i += 2) { /* OPTION VALUE pairs */
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((strcmp(sub, "inclusion") == 0 && strcmp(o, "--leaf") == 0) ||
            (strcmp(sub, "consistency") == 0 && strcmp(o, "--from") == 0)) {
            if (number(o, v, &a))
                return 2;
            have_a = 1;
        } else if ((strcmp(sub, "inclusion") == 0 && strcmp(o, "--size") == 0) ||
                   (strcmp(sub, "consistency") == 0 && strcmp(o, "--to") == 0)) {
            if (number(o, v, &b))
                return 2;
        } else {
            return audit_usage_error(CMD, _("unexpected argument '%s'"), o);
        }
    }
    if (strcmp(sub, "checkpoint") != 0 && !have_a)
        /* TRANSLATORS: a subcommand (inclusion, consistency) needs an option
         * (--leaf N, --from A). */
        return audit_usage_error(CMD, _("%s needs %s"), sub,
                                 strcmp(sub, "inclusion") == 0 ? "--leaf N" : "--from A");
    if (!(db = audit_open(data, CMD)))
        return 1;
    if (strcmp(sub, "checkpoint") == 0) {
        rc = cmd_checkpoint(data, db);
    } else {
        rc = strcmp(sub, "inclusion") == 0
                 ? slog_inclusion_text(db, a, b, &body, &len, err, sizeof err)
                 : slog_consistency_text(db, a, b, &body, &len, err, sizeof err);
        if (rc == ST_OK) {
            fwrite(body, 1, len, stdout);
            rc = 0;
        } else {
            rc = audit_fail(CMD, "%s", err);
        }
    }
    free(body);
    db->ops->close(db);
    return rc;
}
