/* verify.c -- patrol_verify: re-check the whole record from its bytes.
 * Trusts nothing derived: not the stored hash column, not the views, only
 * the device public key recorded in the genesis entry and device row. */
#include "internal.h"
#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "entry.h"
#include "rules.h"
#include "validate.h"

typedef struct ev {
    char sha[65];
    uint64_t size;
    uint64_t seq;
} ev;

typedef struct vctx {
    patrol_problem_cb cb;
    void *ud;
    patrol_verify_stats st;
} vctx;

static void problem(vctx *v, uint64_t seq, const char *evidence, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void problem(vctx *v, uint64_t seq, const char *evidence, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->st.problems++;
    if (v->cb)
        v->cb(v->ud, seq, evidence, msg);
}

static int cmp_ev(const void *a, const void *b)
{
    return strcmp(((const ev *)a)->sha, ((const ev *)b)->sha);
}

static const char *field_of(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0)
            return e->fields[i]->value;
    return NULL;
}

/* The matter an entry belongs to, derived from signed bytes only: the
 * object of a matter-scoped entry, else the matter of the entry that
 * created the revisit or document, or of the corrected entry (those rows
 * are earlier and were checked already). "" when none. Returns 0, 1 when
 * the creating entry is missing (a gap, reported already), 2 for a revisit
 * assigned by the server, -1 when the entry names an impossible object. */
static int derived_matter(patrol *p, const Patrol__V1__Entry *e, char *out, size_t len)
{
    const px_kind_rule *k = px_rules_find(e->kind);
    const char *dash;
    uint64_t seq = 0;
    char num[24];

    out[0] = '\0';
    if (!k)
        return -1;
    switch (k->scope) {
    case PX_SCOPE_MATTER:
        snprintf(out, len, "%s", e->object);
        return 0;
    case PX_SCOPE_REVISIT:
    case PX_SCOPE_DOCUMENT: {
        char own[16];
        /* A revisit the server assigned (another terminal planned it, or
         * the server named it): its matter is the assignment's, which no
         * entry of this journal states. */
        snprintf(own, sizeof own, "R-%s-", p->dev8);
        if (k->scope == PX_SCOPE_REVISIT && strncmp(e->object, own, strlen(own)) != 0)
            return 2;
        if (!(dash = strrchr(e->object, '-')) || px_parse_u64(dash + 1, 1, e->seq - 1, &seq))
            return -1;
        break;
    }
    case PX_SCOPE_ENTRY:
        seq = e->corrects;
        break;
    default:
        return 0;
    }
    snprintf(num, sizeof num, "%llu", (unsigned long long)seq);
    switch (px_get_text(p, out, len, "SELECT matter FROM journal WHERE seq = ?", "t", num)) {
    case PATROL_OK:
        return 0;
    case PATROL_ENOTFOUND:
        return 1; /* that entry is missing: reported as a gap already */
    default:
        return -1;
    }
}

static void check_evidence(patrol *p, vctx *v, const ev *x)
{
    char path[4096];
    uint8_t digest[PX_HASH_LEN];
    char hex[65];
    uint64_t total = 0;
    int fd;

    snprintf(path, sizeof path, "%s/evidence/%.2s/%s", p->dir, x->sha, x->sha);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        problem(v, x->seq, x->sha, _("evidence file %s (entry %llu) is missing"), x->sha,
                (unsigned long long)x->seq);
        return;
    }
    if (px_sha256_fd(fd, digest, &total) != 0) {
        if (errno == ENOMEM)
            problem(v, x->seq, x->sha, _("out of memory checking evidence %s"), x->sha);
        else
            problem(v, x->seq, x->sha, _("evidence file %s cannot be read: %s"), x->sha,
                    strerror(errno));
        close(fd);
        return;
    }
    close(fd);
    px_format_hex(digest, PX_HASH_LEN, hex);
    if (strcmp(hex, x->sha) != 0 || total != x->size)
        problem(v, x->seq, x->sha,
                _("evidence file %s (entry %llu) does not match its recorded hash and size: it was "
                "altered or replaced"),
                x->sha, (unsigned long long)x->seq);
    v->st.evidence_files++;
    v->st.evidence_bytes += total;
}

static int verify_read(patrol *p, patrol_problem_cb cb, void *ud, patrol_verify_stats *stats);

/* One read transaction: the journal and its head as of one moment, while
 * another process may be recording (WAL: it does not wait for this). */
int patrol_verify(patrol *p, patrol_problem_cb cb, void *ud, patrol_verify_stats *stats)
{
    int err;
    if ((err = px_exec(p, "BEGIN")))
        return err;
    err = verify_read(p, cb, ud, stats);
    px_rollback(p);
    return err;
}

static int verify_read(patrol *p, patrol_problem_cb cb, void *ud, patrol_verify_stats *stats)
{
    sqlite3_stmt *st = NULL;
    px_key *key = NULL;
    vctx v;
    ev *evs = NULL;
    size_t nev = 0, capev = 0;
    uint8_t prev[PX_HASH_LEN] = {0}, id[PX_HASH_LEN], head_hash[PX_HASH_LEN];
    char pubhex[2 * PX_PUBKEY_MAX + 1], detail[256], matter[PATROL_ID_MAX];
    const char *why;
    uint64_t expected = 1, last = 0, head_seq;
    int rc, err = PATROL_OK;

    p->errmsg[0] = '\0';
    memset(&v, 0, sizeof v);
    v.cb = cb;
    v.ud = ud;

    /* The database file itself. */
    rc = sqlite3_prepare_v2(p->db, "PRAGMA quick_check", -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") != 0)
            problem(&v, 0, NULL, _("database: %s"), t);
    }
    sqlite3_finalize(st);

    /* The device key the journal must be signed with. */
    rc = sqlite3_prepare_v2(p->db, "SELECT public_key FROM device WHERE one = 1", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        px_key_from_public_der(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                               &key, &why) == 0) {
        px_format_hex(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), pubhex);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!key || px_key_id(key, id) != 0 || memcmp(id, p->device_id, PX_HASH_LEN) != 0) {
        problem(&v, 0, NULL, _("the device public key is missing or does not match the device id"));
        goto done;
    }

    rc = sqlite3_prepare_v2(p->db, "SELECT seq, entry, sig, hash, kind, object, matter FROM journal"
                            " ORDER BY seq", -1,
                            &st, NULL);
    if (rc != SQLITE_OK) {
        err = px_db_fail(p, rc, _("reading the journal"));
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t row = (uint64_t)sqlite3_column_int64(st, 0);
        const uint8_t *buf = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        const uint8_t *sig = sqlite3_column_blob(st, 2);
        const uint8_t *stored = sqlite3_column_blob(st, 3);
        int stored_ok = sqlite3_column_bytes(st, 3) == PX_HASH_LEN;
        uint8_t hash[PX_HASH_LEN];
        Patrol__V1__Entry *e = NULL;
        int rcm = 0;

        v.st.entries++;
        if (row != expected) {
            if (row > expected)
                problem(&v, expected, NULL, _("entries %llu to %llu are missing"),
                        (unsigned long long)expected, (unsigned long long)(row - 1));
            else
                problem(&v, row, NULL, _("entry %llu appears out of order"),
                        (unsigned long long)row);
        }
        if (sqlite3_column_bytes(st, 2) != PX_SIG_LEN) {
            problem(&v, row, NULL, _("entry %llu: signature missing or damaged"),
                    (unsigned long long)row);
        } else if (px_entry_verify(key, buf, len, sig, expected == row ? prev : NULL, hash, &e,
                                   detail, sizeof detail) != 0) {
            problem(&v, row, NULL, _("entry %llu: %s"), (unsigned long long)row, detail);
        } else if (e->seq != row) {
            problem(&v, row, NULL, _("entry %llu holds the entry numbered %llu: entries were "
                                   "reordered or renumbered"),
                    (unsigned long long)row, (unsigned long long)e->seq);
        } else if (!stored_ok || memcmp(stored, hash, PX_HASH_LEN) != 0) {
            problem(&v, row, NULL, _("entry %llu: stored hash does not match the entry"),
                    (unsigned long long)row);
        } else if (row == 1 && (strcmp(e->kind, "device.init") != 0 ||
                                !field_of(e, "public_key") ||
                                strcmp(field_of(e, "public_key"), pubhex) != 0)) {
            problem(&v, row, NULL, _("entry 1 does not introduce this device's key"));
        } else if (!sqlite3_column_text(st, 4) || !sqlite3_column_text(st, 5) ||
                   !sqlite3_column_text(st, 6) ||
                   strcmp((const char *)sqlite3_column_text(st, 4), e->kind) != 0 ||
                   strcmp((const char *)sqlite3_column_text(st, 5), e->object) != 0 ||
                   (rcm = derived_matter(p, e, matter, sizeof matter)) < 0 ||
                   (rcm == 0 && strcmp((const char *)sqlite3_column_text(st, 6), matter) != 0)) {
            problem(&v, row, NULL, _("entry %llu: its index columns (kind, object, matter) do not "
                                   "match the signed entry"),
                    (unsigned long long)row);
        } else if (strcmp(e->kind, "evidence.add") == 0) {
            if (nev == capev) {
                size_t ncap = capev ? 2 * capev : 64;
                ev *n = realloc(evs, ncap * sizeof *n);
                if (!n) {
                    px_entry_free(e);
                    err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
                    goto done;
                }
                evs = n;
                capev = ncap;
            }
            snprintf(evs[nev].sha, sizeof evs[nev].sha, "%s", field_of(e, "sha256"));
            evs[nev].size = strtoull(field_of(e, "size"), NULL, 10);
            evs[nev].seq = row;
            nev++;
        }
        /* Link the next entry to this one's hash as computed; when this
         * entry is bad, to its stored hash, so that one altered entry is
         * reported once and not again as a broken link after it. */
        if (e)
            memcpy(prev, hash, PX_HASH_LEN);
        else if (stored_ok)
            memcpy(prev, stored, PX_HASH_LEN);
        px_entry_free(e);
        expected = row + 1;
        last = row;
    }
    if (rc != SQLITE_DONE) {
        err = px_db_fail(p, rc, _("reading the journal"));
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;

    if (last == 0)
        problem(&v, 0, NULL, _("the journal is empty"));
    if (px_journal_head(p, &head_seq, head_hash) != PATROL_OK)
        problem(&v, 0, NULL, _("the journal head is damaged"));
    else if (head_seq != last)
        problem(&v, last + 1, NULL, _("the journal ends at entry %llu but %llu entries were saved: "
                                    "entries are missing at the end"),
                (unsigned long long)last, (unsigned long long)head_seq);
    else if (last && memcmp(head_hash, prev, PX_HASH_LEN) != 0)
        problem(&v, last, NULL, _("the last entry is not the one saved last"));

    if (nev)
        qsort(evs, nev, sizeof *evs, cmp_ev);
    for (size_t i = 0; i < nev; i++)
        if (i == 0 || strcmp(evs[i].sha, evs[i - 1].sha) != 0)
            check_evidence(p, &v, &evs[i]);
done:
    sqlite3_finalize(st);
    px_key_free(key);
    free(evs);
    if (stats)
        *stats = v.st;
    if (err)
        return err;
    if (v.st.problems)
        return px_fail(p, PATROL_EVERIFY, _("%llu problem(s) found"),
                       (unsigned long long)v.st.problems);
    return PATROL_OK;
}
