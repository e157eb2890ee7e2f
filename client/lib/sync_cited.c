/* sync_cited.c -- the county-wide citations pull of patrol_sync
 * (docs/protocol.md "GET /v1/citations", docs/sync.md).
 *
 * The server lists, in the order it stored them, the matters of every
 * terminal that cite a three-list item for a subject (subject key = hex
 * SHA-256 of its credit code or ID number). The terminal keeps them in
 * its cited table, where the record's rules look before a matter cites a
 * "first violation" item for a subject that already has one (record.c).
 *
 * Each answer is checked whole and stored with the new cursor
 * (sync_state.cited_since) in one transaction: a cut leaves the store at
 * the last page applied, and the next sync asks from there. The network
 * is the caller's (sync.c): one GET on the sync's connection. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "patrol.pb-c.h"
#include "validate.h"

#define CITED_MAX_ANSWER ((size_t)1 << 20) /* 1000 citations of < 300 bytes */
#define CITED_MAX_PAGES 100000             /* a server that never ends is wrong */

static int get_cursor(patrol *p, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(p->db, "SELECT cited_since FROM sync_state", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the store"));
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? PATROL_OK
                                                 : px_db_fail(p, rc, _("reading the store"));
}

/* What is wrong with one citation, or NULL. */
static const char *check_citation(const Patrol__V1__Citation *c)
{
    uint8_t h[PX_HASH_LEN];
    const char *why;
    if (strlen(c->subject_key) != 2 * PX_HASH_LEN || px_parse_hex(c->subject_key, h, sizeof h))
        return "subject key is not 64 hex digits";
    for (const char *s = c->subject_key; *s; s++)
        if (*s >= 'A' && *s <= 'F')
            return "subject key is not lower-case hex";
    if ((why = px_check_ident(c->item)) || (why = px_check_ident(c->matter)))
        return why;
    return NULL;
}

/* Store one page and the cursor after it, in one transaction. */
static int apply_page(patrol *p, const Patrol__V1__Citations *cs)
{
    sqlite3_stmt *st = NULL;
    int rc, err;

    if ((err = px_begin(p)))
        return err;
    rc = sqlite3_prepare_v2(p->db,
                            "INSERT OR IGNORE INTO cited(subject_key, item, matter) VALUES (?, ?, ?)",
                            -1, &st, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < cs->n_citations; i++) {
        const Patrol__V1__Citation *c = cs->citations[i];
        sqlite3_bind_text(st, 1, c->subject_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->item, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->matter, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(p->db, "UPDATE sync_state SET cited_since = ?", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (int64_t)cs->next);
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            sqlite3_finalize(st);
        }
    }
    if (rc != SQLITE_OK) {
        err = px_db_fail(p, rc, _("storing citations"));
        px_rollback(p);
        return err;
    }
    return px_commit(p);
}

/* A refusal's reason and sentence, from the Error body. */
static int refused(patrol *p, long status, const uint8_t *body, size_t len)
{
    Patrol__V1__Error *e = len ? patrol__v1__error__unpack(NULL, len, body) : NULL;
    char reason[64] = "", msg[300] = "";
    if (e) {
        /* Server text shown to people: one line, printable. */
        if (!px_check_line(e->reason, sizeof reason - 1))
            snprintf(reason, sizeof reason, "%s", e->reason);
        if (!px_check_line(e->message, sizeof msg - 1))
            snprintf(msg, sizeof msg, "%s", e->message);
        patrol__v1__error__free_unpacked(e, NULL);
    }
    return px_fail(p, PATROL_ESERVER, _("pulling citations: the server refused (%ld %s)%s%s"),
                   status, reason[0] ? reason : _("no reason given"), msg[0] ? ": " : "", msg);
}

int px_sync_cited(patrol *p, px_get_fn get, void *ud, uint64_t *pulled)
{
    char path[64];
    int err = PATROL_OK;

    *pulled = 0;
    for (unsigned page = 0; page < CITED_MAX_PAGES; page++) {
        Patrol__V1__Citations *cs = NULL;
        uint8_t *body = NULL;
        size_t len = 0;
        long status = 0;
        int64_t since;
        const char *why = NULL;

        if ((err = get_cursor(p, &since)))
            return err;
        snprintf(path, sizeof path, "/v1/citations?since=%lld", (long long)since);
        if ((err = get(ud, path, CITED_MAX_ANSWER, &status, &body, &len)))
            return err;
        if (status == 404) {
            /* A server older than the citations: nothing to pull. */
            free(body);
            return PATROL_OK;
        }
        if (status != 200) {
            err = refused(p, status, body, len);
            free(body);
            return err;
        }
        cs = patrol__v1__citations__unpack(NULL, len, body);
        free(body);
        if (!cs)
            why = _("the answer is not a Citations message");
        else if (cs->n_citations > 0 && cs->next <= (uint64_t)since)
            why = _("its cursor does not move on");
        else if (cs->next > (uint64_t)INT64_MAX)
            why = _("its cursor is out of range");
        for (size_t i = 0; cs && !why && i < cs->n_citations; i++)
            if ((why = check_citation(cs->citations[i])))
                break;
        if (why) {
            err = px_fail(p, PATROL_ESERVER, _("pulling citations after %lld: %s; nothing stored"),
                          (long long)since, why);
        } else if (cs->n_citations == 0) {
            patrol__v1__citations__free_unpacked(cs, NULL);
            return PATROL_OK;
        } else if ((err = apply_page(p, cs)) == PATROL_OK) {
            *pulled += cs->n_citations;
        }
        if (cs)
            patrol__v1__citations__free_unpacked(cs, NULL);
        if (err)
            return err;
    }
    return px_fail(p, PATROL_ESERVER, _("pulling citations: the server kept sending more"));
}
