/* audit_verify_archive.c -- `patrold audit verify-archive FILE [--key PEM]
 * [--json]`: check an archive made by `audit export` offline, with nothing
 * but the archive (no data directory).
 *
 * The archive is hostile input. Members are read with libarchive (tar
 * only, no compression) and refused unless each is a regular file with a
 * plain relative path (letters, digits, - _ . and /; no absolute path, no
 * '..', '.' or empty component), at most AR_MAX_FILES members, each path
 * once, sizes capped. Then, in order: the manifest signature
 * (SHA256SUMS.sig, DER ECDSA by server-key.pem, or by the key --key names),
 * the manifest's form, every member's SHA-256 against it, no member
 * outside it and none missing; then every signed entry with its device's
 * key from keys/ (the key must hash to the entry's device id), the chain
 * links between the entries of a device that are both present, and the
 * receipts' signatures by the server key.
 */
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cmdline.h"
#include "audit_archive.h"
#include "crypto.h"
#include "entry.h"
#include "i18n.h"
#include "slog.h"
#include "tlog.h"
#include "validate.h"

#define CMD "verify-archive"
#define AR_MAX_FILES 200000
#define AR_MAX_FILE ((int64_t)4 << 30)        /* one member */
#define AR_MAX_TOTAL ((uint64_t)64 << 30)     /* all members */
#define AR_MAX_KEPT ((int64_t)16 << 20)       /* members read into memory */

typedef struct amember {
    char path[AR_PATH_MAX + 1];
    uint8_t hash[32];
    uint64_t size;
    ar_buf data; /* kept for the manifest, keys, entries, signatures, receipts */
    int listed;
} amember;

typedef struct checker {
    amember *ms;
    size_t nm, capm;
    int json;
    cJSON *problems;
    unsigned long failures;
    unsigned long entries, chain_links, receipts, log_proofs;
    char fingerprint[65];
} checker;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
/* A problem found: code (stable, for scripts) and fmt (N_() marked), in
 * English in --json, translated in the text. */
static void problem(checker *c, const char *code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, c->json ? fmt : _(fmt), ap);
    va_end(ap);
    c->failures++;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "code", code);
            cJSON_AddStringToObject(o, "detail", msg);
            cJSON_AddItemToArray(c->problems, o);
        }
    } else {
        /* TRANSLATORS: a problem of an archive: its code (kept for
         * scripts), what is wrong. */
        printf(_("FAIL %s: %s\n"), code, msg);
    }
}

/* NULL if path is a plain relative path, else what is wrong with it. */
static const char *bad_path(const char *p)
{
    size_t n = strlen(p), comp = 0;
    if (n == 0)
        return "empty path";
    if (n > AR_PATH_MAX)
        return "path too long";
    if (p[0] == '/')
        return "absolute path";
    for (size_t i = 0; i <= n; i++) {
        char ch = p[i];
        if (ch == '/' || ch == 0) {
            if (comp == 0)
                return "empty path component";
            if ((comp == 1 && p[i - 1] == '.') ||
                (comp == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
                return "'.' or '..' in the path";
            comp = 0;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.'))
            return "a character outside letters, digits, '-', '_', '.' and '/'";
        comp++;
    }
    return NULL;
}

static amember *find(checker *c, const char *path)
{
    for (size_t i = 0; i < c->nm; i++)
        if (strcmp(c->ms[i].path, path) == 0)
            return &c->ms[i];
    return NULL;
}

static int keep(const char *path)
{
    return strcmp(path, AR_SUMS) == 0 || strcmp(path, AR_SUMS_SIG) == 0 ||
           strcmp(path, AR_SERVER_KEY) == 0 || strncmp(path, "keys/", 5) == 0 ||
           strncmp(path, "receipts/", 9) == 0 ||
           (strncmp(path, "entries/", 8) == 0 &&
            (strstr(path, ".entry") || strstr(path, ".sig")));
}

/* Read every member; -1 after a refusal of the archive as a whole. */
static int read_archive(checker *c, const char *file)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    uint64_t total = 0;
    int r, rc = -1;

    if (!a) {
        problem(c, "out_of_memory", N_("out of memory"));
        return -1;
    }
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, file, 65536) != ARCHIVE_OK) {
        problem(c, "unreadable", N_("%s: %s"), file, archive_error_string(a));
        goto exit;
    }
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        const char *path = archive_entry_pathname(ae), *why;
        amember *m;
        px_sha256_ctx *h;
        int64_t size = archive_entry_size(ae), got = 0;
        char buf[65536];
        la_ssize_t n;

        if (!path) {
            problem(c, "bad_path", N_("a member without a name"));
            goto exit;
        }
        if ((why = bad_path(path))) {
            problem(c, "bad_path", N_("member '%.*s': %s"), AR_PATH_MAX, path, why);
            goto exit;
        }
        if (archive_entry_filetype(ae) != AE_IFREG || archive_entry_hardlink(ae) ||
            archive_entry_symlink(ae)) {
            problem(c, "not_a_file", N_("member '%s' is not a regular file (link, directory or"
                                     " device)"), path);
            goto exit;
        }
        if (find(c, path)) {
            problem(c, "duplicate", N_("member '%s' appears twice"), path);
            goto exit;
        }
        if (c->nm >= AR_MAX_FILES) {
            problem(c, "too_many_files", N_("more than %d members"), AR_MAX_FILES);
            goto exit;
        }
        if (keep(path) && size > AR_MAX_KEPT) {
            problem(c, "too_large",
                    N_("member '%s' is over %lld bytes, more than a manifest, key, entry or"
                       " receipt can be"),
                    path, (long long)AR_MAX_KEPT);
            goto exit;
        }
        if (size < 0 || size > AR_MAX_FILE || (total += (uint64_t)size) > AR_MAX_TOTAL) {
            problem(c, "too_large", N_("member '%s' is too large (%lld bytes)"), path,
                    (long long)size);
            goto exit;
        }
        if (c->nm == c->capm) {
            size_t nc = c->capm ? c->capm * 2 : 64;
            amember *p = realloc(c->ms, nc * sizeof *p);
            if (!p) {
                problem(c, "out_of_memory", N_("out of memory"));
                goto exit;
            }
            c->ms = p;
            c->capm = nc;
        }
        m = &c->ms[c->nm++];
        memset(m, 0, sizeof *m);
        snprintf(m->path, sizeof m->path, "%s", path);
        if (!(h = px_sha256_new())) {
            problem(c, "out_of_memory", N_("out of memory"));
            goto exit;
        }
        while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
            got += n;
            px_sha256_update(h, buf, (size_t)n);
            if (keep(path))
                ar_put(&m->data, buf, (size_t)n);
        }
        px_sha256_final(h, m->hash);
        m->size = (uint64_t)got;
        if (n < 0 || got != size) {
            problem(c, "truncated", N_("member '%s': %s (%lld of %lld bytes)"), path,
                    n < 0 ? archive_error_string(a) : "short", (long long)got, (long long)size);
            goto exit;
        }
        if (m->data.oom) {
            problem(c, "out_of_memory", N_("out of memory"));
            goto exit;
        }
    }
    if (r != ARCHIVE_EOF) {
        problem(c, "truncated", N_("the archive is damaged or truncated after %zu members: %s"),
                c->nm, archive_error_string(a));
        goto exit;
    }
    if (c->nm == 0) {
        problem(c, "empty", N_("%s holds no member"), file);
        goto exit;
    }
    rc = 0;
exit:
    archive_read_free(a);
    return rc;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The manifest: "<64 lower-case hex>  <path>\n" per member. */
static void check_manifest(checker *c, const amember *sums)
{
    const char *p = sums->data.p ? sums->data.p : "", *end = p + sums->data.n;
    unsigned line = 0;
    if (memchr(p, 0, sums->data.n)) {
        problem(c, "bad_manifest", N_("SHA256SUMS holds a NUL byte"));
        return;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char path[AR_PATH_MAX + 1], hx[65];
        uint8_t want[32];
        amember *m;
        const char *why;
        size_t len;
        line++;
        if (!nl) {
            problem(c, "bad_manifest", N_("SHA256SUMS line %u does not end with a newline"), line);
            return;
        }
        len = (size_t)(nl - p);
        if (len < 67 || len > 66 + AR_PATH_MAX || p[64] != ' ' || p[65] != ' ') {
            problem(c, "bad_manifest", N_("SHA256SUMS line %u is not '<sha256>  <path>'"), line);
            return;
        }
        for (int i = 0; i < 64; i++)
            if (hexval(p[i]) < 0) {
                problem(c, "bad_manifest", N_("SHA256SUMS line %u: not a lower-case SHA-256"), line);
                return;
            }
        memcpy(hx, p, 64);
        hx[64] = 0;
        px_parse_hex(hx, want, 32);
        memcpy(path, p + 66, len - 66);
        path[len - 66] = 0;
        p = nl + 1;
        if ((why = bad_path(path))) {
            problem(c, "bad_path", N_("SHA256SUMS line %u names '%s': %s"), line, path, why);
            continue;
        }
        if (strcmp(path, AR_SUMS) == 0 || strcmp(path, AR_SUMS_SIG) == 0) {
            problem(c, "bad_manifest", N_("SHA256SUMS line %u lists %s itself"), line, path);
            continue;
        }
        if (!(m = find(c, path))) {
            problem(c, "missing", N_("'%s' is in SHA256SUMS but not in the archive"), path);
            continue;
        }
        if (m->listed) {
            problem(c, "bad_manifest", N_("SHA256SUMS lists '%s' twice"), path);
            continue;
        }
        m->listed = 1;
        if (memcmp(m->hash, want, 32) != 0)
            problem(c, "hash_mismatch",
                    N_("'%s' does not match its SHA-256 in SHA256SUMS (edited or replaced)"), path);
    }
    for (size_t i = 0; i < c->nm; i++)
        if (!c->ms[i].listed && strcmp(c->ms[i].path, AR_SUMS) != 0 &&
            strcmp(c->ms[i].path, AR_SUMS_SIG) != 0)
            problem(c, "not_in_manifest", N_("'%s' is in the archive but not in SHA256SUMS (added)"),
                    c->ms[i].path);
}

/* ---- entries and receipts ------------------------------------------------ */

typedef struct ventry {
    long long device;
    uint64_t seq;
    uint8_t hash[32], prev[32];
} ventry;

static int cmp_ventry(const void *a, const void *b)
{
    const ventry *x = a, *y = b;
    if (x->device != y->device)
        return x->device < y->device ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "entries/<dev>-<seq>.entry" -> dev, seq; -1 if not that shape. */
static int parse_entry_name(const char *path, long long *dev, uint64_t *seq)
{
    char num[32];
    const char *p = path + 8, *dash = strchr(p, '-'), *dot = dash ? strchr(dash, '.') : NULL;
    uint64_t d;
    if (strncmp(path, "entries/", 8) != 0 || !dash || !dot || strcmp(dot, ".entry") != 0 ||
        (size_t)(dash - p) >= sizeof num || (size_t)(dot - dash - 1) >= sizeof num)
        return -1;
    memcpy(num, p, (size_t)(dash - p));
    num[dash - p] = 0;
    if (px_parse_u64(num, 1, (uint64_t)INT64_MAX, &d))
        return -1;
    *dev = (long long)d;
    memcpy(num, dash + 1, (size_t)(dot - dash - 1));
    num[dot - dash - 1] = 0;
    if (px_parse_u64(num, 1, (uint64_t)INT64_MAX, seq))
        return -1;
    return 0;
}

static void check_entries(checker *c)
{
    ventry *vs = calloc(c->nm ? c->nm : 1, sizeof *vs);
    size_t nv = 0;
    if (!vs) {
        problem(c, "out_of_memory", N_("out of memory"));
        return;
    }
    for (size_t i = 0; i < c->nm; i++) {
        amember *m = &c->ms[i], *sg, *km;
        char sigp[AR_PATH_MAX + 8], keyp[64], detail[256], kid[65], did[65];
        long long dev;
        uint64_t seq;
        px_key *key = NULL;
        Patrol__V1__Entry *e = NULL;
        uint8_t id[32];
        const char *why;
        if (parse_entry_name(m->path, &dev, &seq) != 0) {
            if (strncmp(m->path, "entries/", 8) == 0 && strstr(m->path, ".entry"))
                problem(c, "bad_entry", N_("'%s' is not named entries/<device>-<seq>.entry"),
                        m->path);
            continue;
        }
        snprintf(sigp, sizeof sigp, "entries/%lld-%" PRIu64 ".sig", dev, seq);
        snprintf(keyp, sizeof keyp, "keys/device-%lld.pem", dev);
        if (!(sg = find(c, sigp)) || sg->data.n != PX_SIG_LEN) {
            problem(c, "bad_entry", N_("%s: no 64-byte signature %s"), m->path, sigp);
            continue;
        }
        if (!(km = find(c, keyp)) ||
            px_key_from_public_pem(km->data.p ? km->data.p : "", km->data.n, &key, &why) != 0) {
            problem(c, "bad_key", N_("%s: no usable device key %s"), m->path, keyp);
            continue;
        }
        if (px_entry_verify(key, (const uint8_t *)m->data.p, m->data.n,
                            (const uint8_t *)sg->data.p, NULL, vs[nv].hash, &e, detail,
                            sizeof detail) != 0) {
            problem(c, "bad_entry", N_("%s: %s"), m->path, detail);
        } else if (px_key_id(key, id) != 0 || e->device.len != 32 ||
                   memcmp(id, e->device.data, 32) != 0) {
            px_format_hex(id, 32, kid);
            px_format_hex(e->device.data, e->device.len == 32 ? 32 : 0, did);
            problem(c, "wrong_key", N_("%s: signed for device %.16s..., %s is %.16s..."), m->path,
                    did, keyp, kid);
        } else if (e->seq != seq) {
            problem(c, "seq_mismatch", N_("%s holds entry %" PRIu64 " (renamed or reordered)"),
                    m->path, e->seq);
        } else {
            vs[nv].device = dev;
            vs[nv].seq = seq;
            memcpy(vs[nv].prev, e->prev_hash.data, 32);
            nv++;
            c->entries++;
        }
        px_entry_free(e);
        px_key_free(key);
    }
    if (nv)
        qsort(vs, nv, sizeof *vs, cmp_ventry);
    for (size_t i = 1; i < nv; i++)
        if (vs[i].device == vs[i - 1].device && vs[i].seq == vs[i - 1].seq + 1) {
            if (memcmp(vs[i].prev, vs[i - 1].hash, 32) != 0)
                problem(c, "chain_broken",
                        N_("entry %lld-%" PRIu64 " does not link to entry %lld-%" PRIu64),
                        vs[i].device, vs[i].seq, vs[i - 1].device, vs[i - 1].seq);
            else
                c->chain_links++;
        }
    free(vs);
}

static void check_receipts(checker *c, px_key *server)
{
    for (size_t i = 0; i < c->nm; i++) {
        amember *m = &c->ms[i];
        Patrol__V1__Receipt *r;
        uint8_t h[32];
        size_t n = strlen(m->path);
        if (strncmp(m->path, "receipts/", 9) != 0 || n < 8 ||
            strcmp(m->path + n - 8, ".receipt") != 0)
            continue;
        Patrol__V1__ReceiptBody *body = NULL;
        if (!(r = patrol__v1__receipt__unpack(NULL, m->data.n, (const uint8_t *)m->data.p)) ||
            r->sig.len != PX_SIG_LEN ||
            !(body = patrol__v1__receipt_body__unpack(NULL, r->body.len, r->body.data))) {
            problem(c, "bad_receipt", N_("%s is not a signed receipt"), m->path);
        } else {
            char keyp[AR_PATH_MAX + 8], entp[AR_PATH_MAX + 32];
            amember *km, *em;
            px_key *dk = NULL;
            const char *why;
            uint8_t id[32], eh[32];
            int ok = 1;
            px_sha256(r->body.data, r->body.len, h);
            if (px_verify(server, h, r->sig.data) != 0) {
                problem(c, "bad_receipt", N_("%s is not signed by the server key"), m->path);
                ok = 0;
            }
            /* receipts/device-<n>.receipt: the device of keys/device-<n>.pem,
             * and the head it acknowledges is that entry if it is here. */
            snprintf(keyp, sizeof keyp, "keys/%.*s.pem", (int)(n - 8 - 9), m->path + 9);
            if (ok && (km = find(c, keyp)) &&
                px_key_from_public_pem(km->data.p ? km->data.p : "", km->data.n, &dk, &why) == 0 &&
                px_key_id(dk, id) == 0 &&
                (body->device.len != 32 || memcmp(body->device.data, id, 32) != 0)) {
                problem(c, "bad_receipt", N_("%s acknowledges another device than %s"), m->path,
                        keyp);
                ok = 0;
            }
            px_key_free(dk);
            if (ok && strncmp(m->path + 9, "device-", 7) == 0) {
                snprintf(entp, sizeof entp, "entries/%.*s-%" PRIu64 ".entry", (int)(n - 8 - 16),
                         m->path + 16, body->last_seq);
                if ((em = find(c, entp))) {
                    px_entry_hash((const uint8_t *)(em->data.p ? em->data.p : ""), em->data.n, eh);
                    if (body->head_hash.len != 32 || memcmp(body->head_hash.data, eh, 32) != 0) {
                        problem(c, "bad_receipt", N_("%s: the head it acknowledges is not %s"),
                                m->path, entp);
                        ok = 0;
                    }
                }
            }
            if (ok)
                c->receipts++;
        }
        if (body)
            patrol__v1__receipt_body__free_unpacked(body, NULL);
        if (r)
            patrol__v1__receipt__free_unpacked(r, NULL);
    }
}

/* receipts/device-<n>.ack: the stored batch answer. Its checkpoint must be
 * signed by the server key and its inclusion proof must show the entry
 * its receipt acknowledges (device, last_seq, head) in that log. */
static void check_log_proofs(checker *c, px_key *server)
{
    for (size_t i = 0; i < c->nm; i++) {
        amember *m = &c->ms[i];
        Patrol__V1__Ack *a;
        Patrol__V1__ReceiptBody *b = NULL;
        size_t n = strlen(m->path);
        char origin[256], leaf[SLOG_LEAF_MAX];
        uint64_t size;
        uint8_t root[TLOG_HASH_LEN], lh[TLOG_HASH_LEN], (*proof)[TLOG_HASH_LEN] = NULL;
        size_t tlen;
        if (strncmp(m->path, "receipts/", 9) != 0 || n < 4 || strcmp(m->path + n - 4, ".ack") != 0)
            continue;
        if (!(a = patrol__v1__ack__unpack(NULL, m->data.n, (const uint8_t *)m->data.p))) {
            problem(c, "bad_log_proof", N_("%s is not a batch answer"), m->path);
            continue;
        }
        if (!a->log_checkpoint || !a->log_checkpoint[0] || !a->log_leaf) {
            patrol__v1__ack__free_unpacked(a, NULL); /* made before the log */
            continue;
        }
        if (!a->receipt ||
            !(b = patrol__v1__receipt_body__unpack(NULL, a->receipt->body.len,
                                                   a->receipt->body.data)) ||
            b->device.len != 32 || b->head_hash.len != 32) {
            problem(c, "bad_log_proof", N_("%s holds no usable receipt"), m->path);
        } else if (tlog_note_verify(server, a->log_checkpoint, strlen(a->log_checkpoint)) != 0) {
            problem(c, "bad_log_proof", N_("%s: the log checkpoint is not signed by the server key"),
                    m->path);
        } else if (tlog_checkpoint_parse(a->log_checkpoint, strlen(a->log_checkpoint), origin,
                                         sizeof origin, &size, root, &tlen) != 0 ||
                   a->n_log_inclusion > TLOG_MAX_PROOF) {
            problem(c, "bad_log_proof", N_("%s: the log checkpoint cannot be read"), m->path);
        } else if (!(proof = calloc(a->n_log_inclusion + 1, sizeof *proof))) {
            problem(c, "out_of_memory", N_("out of memory"));
        } else {
            int ok = 1;
            for (size_t k = 0; k < a->n_log_inclusion; k++) {
                if (a->log_inclusion[k].len != TLOG_HASH_LEN)
                    ok = 0;
                else
                    memcpy(proof[k], a->log_inclusion[k].data, TLOG_HASH_LEN);
            }
            if (!ok || slog_entry_leaf(b->device.data, b->last_seq, b->head_hash.data, leaf) < 0 ||
                tlog_leaf_hash(leaf, strlen(leaf), lh) != 0 ||
                tlog_verify_inclusion(a->log_leaf - 1, size, lh,
                                      (const uint8_t(*)[TLOG_HASH_LEN])proof,
                                      a->n_log_inclusion, root) != 0)
                problem(c, "bad_log_proof",
                        N_("%s: the inclusion proof does not show entry %" PRIu64
                        " in the log of %" PRIu64 " leaves"),
                        m->path, b->last_seq, size);
            else
                c->log_proofs++;
        }
        free(proof);
        if (b)
            patrol__v1__receipt_body__free_unpacked(b, NULL);
        patrol__v1__ack__free_unpacked(a, NULL);
    }
}

int audit_verify_archive(const char *data, int argc, char **argv)
{
    checker c;
    const char *file = NULL, *keyfile = NULL, *why;
    amember *sums, *sig, *pem;
    px_key *key = NULL, *pinned = NULL;
    ar_buf kb = {0};
    uint8_t h[32];
    int rc = 1;
    (void)data;

    memset(&c, 0, sizeof c);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            c.json = 1;
        else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            keyfile = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            return audit_usage_error(CMD, _("unexpected argument '%s'"), argv[i]);
    }
    if (!file)
        return audit_usage_error(CMD, "%s", _("FILE (the archive) is required"));
    if (keyfile) {
        FILE *f = fopen(keyfile, "rb");
        char buf[4097];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        if (!f || n == sizeof buf || px_key_from_public_pem(buf, n, &pinned, &why) != 0)
            return audit_fail(CMD, "--key %s: %s", keyfile,
                              f ? _("not a PEM P-256 public key") : _("cannot be read"));
    }
    if (c.json && !(c.problems = cJSON_CreateArray())) {
        px_key_free(pinned);
        return audit_fail(CMD, "%s", _("out of memory"));
    }
    if (read_archive(&c, file) != 0)
        goto done;
    sums = find(&c, AR_SUMS);
    sig = find(&c, AR_SUMS_SIG);
    pem = find(&c, AR_SERVER_KEY);
    if (!sums || !sig || !pem) {
        problem(&c, "missing", N_("the archive lacks %s"), !sums ? AR_SUMS : !sig ? AR_SUMS_SIG
                                                                           : AR_SERVER_KEY);
        goto done;
    }
    if (px_key_from_public_pem(pem->data.p ? pem->data.p : "", pem->data.n, &key, &why) != 0) {
        problem(&c, "bad_key", N_("%s: %s"), AR_SERVER_KEY, why);
        goto done;
    }
    if (px_key_id(key, h) == 0)
        px_format_hex(h, 32, c.fingerprint);
    if (pinned) {
        uint8_t ph[32];
        if (px_key_id(pinned, ph) != 0 || memcmp(ph, h, 32) != 0) {
            problem(&c, "other_key", N_("%s is not the key given by --key (another server's key)"),
                    AR_SERVER_KEY);
            goto done;
        }
    }
    px_sha256(sums->data.p ? sums->data.p : "", sums->data.n, h);
    if (px_verify_der(key, h, (const uint8_t *)sig->data.p, sig->data.n) != 0) {
        problem(&c, "bad_signature", N_("SHA256SUMS.sig is not a signature of SHA256SUMS by %s"
                                     " (manifest altered, or signed by another key)"),
                AR_SERVER_KEY);
        goto done;
    }
    check_manifest(&c, sums);
    if (c.failures)
        goto done;
    check_entries(&c);
    check_receipts(&c, key);
    check_log_proofs(&c, key);
done:
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        char *s;
        if (o) {
            cJSON_AddBoolToObject(o, "ok", c.failures == 0);
            cJSON_AddNumberToObject(o, "files", (double)c.nm);
            cJSON_AddNumberToObject(o, "entries_verified", (double)c.entries);
            cJSON_AddNumberToObject(o, "chain_links", (double)c.chain_links);
            cJSON_AddNumberToObject(o, "receipts_verified", (double)c.receipts);
            cJSON_AddNumberToObject(o, "log_inclusion_proofs", (double)c.log_proofs);
            cJSON_AddStringToObject(o, "server_key_sha256", c.fingerprint);
            cJSON_AddItemToObject(o, "problems", c.problems);
            c.problems = NULL;
            if ((s = cJSON_PrintUnformatted(o))) {
                cl_json_out(s);
                free(s);
            }
            cJSON_Delete(o);
        }
    } else if (!c.failures) {
        /* TRANSLATORS: the archive's file name, how many members, the
         * server key's SHA-256, then how many entries, chain links,
         * receipts and log inclusion proofs were checked. */
        printf(_("archive OK: %s: %zu files match SHA256SUMS, signed by server key %s;"
                 " %lu entries verified with their device keys, %lu chain links, %lu receipts,"
                 " %lu log inclusion proofs\n"),
               file, c.nm, c.fingerprint, c.entries, c.chain_links, c.receipts, c.log_proofs);
    }
    if (c.failures)
        audit_fail(CMD, _("%s is refused: %lu problems (see above)"), file, c.failures);
    else
        rc = 0;
    cJSON_Delete(c.problems);
    for (size_t i = 0; i < c.nm; i++)
        ar_free(&c.ms[i].data);
    free(c.ms);
    ar_free(&kb);
    px_key_free(key);
    px_key_free(pinned);
    return rc;
}
