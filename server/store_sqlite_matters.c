/* store_sqlite_matters.c -- the SQLite backend's side of the index
 * (storage.h, schema 2): which matter an object belongs to, each matter's
 * entries from every device, the rule flags, the subjects' keys, citations
 * of list items; and reading every entry back for a re-index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

int sqm_object_put(st_backend *b, const char *id, const char *matter)
{
    sq *s = (sq *)b;
    return sqh_cstep(s, sqh_cached(s, Q_OBJECT_PUT, "INSERT OR IGNORE INTO objects(id, matter) VALUES (?, ?)",
                           "tt", id, matter));
}

int sqm_object_matter(st_backend *b, const char *id, char *matter, size_t len)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = sqh_cached(s, Q_OBJECT_GET, "SELECT matter FROM objects WHERE id = ?", "t", id);
    int r, rc = ST_OK;
    if (!st)
        return ST_ERR;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        snprintf(matter, len, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        rc = r == SQLITE_DONE ? ST_NOTFOUND : sqh_fail(s, r);
    sqh_done(st);
    return rc;
}

int sqm_matter_entry_add(st_backend *b, const char *matter, int64_t device, uint64_t seq)
{
    sq *s = (sq *)b;
    return sqh_cstep(s, sqh_cached(s, Q_ME_ADD,
                           "INSERT OR IGNORE INTO matter_entries(matter, device, seq) VALUES (?, ?, ?)",
                           "tii", matter, device, (int64_t)seq));
}

int sqm_matter_entries(st_backend *b, const char *matter, st_entry_cb cb, void *ud)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = sqh_cached(s, Q_ME_LIST,
                              "SELECT m.device, m.seq, e.entry FROM matter_entries m JOIN entries e"
                              " ON e.device = m.device AND e.seq = m.seq WHERE m.matter = ?"
                              " ORDER BY m.id",
                              "t", matter);
    int r, rc = ST_OK;
    if (!st)
        return ST_ERR;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ud, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
               sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2)) != 0)
            break;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sqh_fail(s, r);
    sqh_done(st);
    return rc;
}

typedef struct old_flag {
    int64_t device, seq, ms;
    char rule[64];
} old_flag;

int sqm_flags_replace(st_backend *b, const char *matter, const st_flag *f, size_t n,
                            int64_t now)
{
    sq *s = (sq *)b;
    old_flag *old = NULL;
    size_t nold = 0, cap = 0;
    sqlite3_stmt *st = sqh_cached(s, Q_FLAGS_OLD,
                              "SELECT device, seq, rule, flagged_ms FROM rule_flags WHERE matter = ?",
                              "t", matter);
    int r, rc = ST_OK;

    if (!st)
        return ST_ERR;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (nold == cap) {
            old_flag *no = realloc(old, (cap = cap ? 2 * cap : 8) * sizeof *old);
            if (!no) {
                snprintf(s->err, sizeof s->err, "out of memory");
                rc = ST_ERR;
                break;
            }
            old = no;
        }
        old[nold].device = sqlite3_column_int64(st, 0);
        old[nold].seq = sqlite3_column_int64(st, 1);
        snprintf(old[nold].rule, sizeof old[nold].rule, "%s",
                 (const char *)sqlite3_column_text(st, 2));
        old[nold].ms = sqlite3_column_int64(st, 3);
        nold++;
    }
    if (rc == ST_OK && r != SQLITE_DONE)
        rc = sqh_fail(s, r);
    sqh_done(st);
    if (rc == ST_OK && (nold || n))
        rc = sqh_cstep(s, sqh_cached(s, Q_FLAGS_DEL, "DELETE FROM rule_flags WHERE matter = ?", "t", matter));
    for (size_t i = 0; rc == ST_OK && i < n; i++) {
        int64_t ms = now;
        for (size_t k = 0; k < nold; k++)
            if (old[k].device == f[i].device && old[k].seq == (int64_t)f[i].seq &&
                strcmp(old[k].rule, f[i].rule) == 0)
                ms = old[k].ms;
        rc = sqh_cstep(s, sqh_cached(s, Q_FLAG_ADD,
                             "INSERT OR IGNORE INTO rule_flags(device, seq, rule, flag_only, detail,"
                             " matter, flagged_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             "iititti", f[i].device, (int64_t)f[i].seq, f[i].rule,
                             (int64_t)(f[i].flag_only != 0), f[i].detail, f[i].matter, ms));
    }
    free(old);
    return rc;
}

int sqm_flag_add(st_backend *b, const st_flag *f, int64_t now)
{
    sq *s = (sq *)b;
    return sqh_cstep(s, sqh_cached(s, Q_FLAG_ADD,
                           "INSERT OR IGNORE INTO rule_flags(device, seq, rule, flag_only, detail,"
                           " matter, flagged_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           "iititti", f->device, (int64_t)f->seq, f->rule,
                           (int64_t)(f->flag_only != 0), f->detail, f->matter, now));
}

int sqm_flags_list(st_backend *b, int64_t device, const char *matter,
                         int (*cb)(void *, const st_flag_row *), void *ud)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    int r, rc = ST_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT f.device, f.seq, f.rule, f.flag_only, f.detail, f.matter,"
                           " f.flagged_ms, coalesce(d.name, ''), coalesce(e.kind, '')"
                           " FROM rule_flags f LEFT JOIN devices d ON d.id = f.device"
                           " LEFT JOIN entries e ON e.device = f.device AND e.seq = f.seq"
                           " WHERE (?1 = 0 OR f.device = ?1) AND (?2 IS NULL OR f.matter = ?2)"
                           " ORDER BY f.device, f.seq, f.rule",
                           -1, &st, NULL) != SQLITE_OK)
        return sqh_fail(s, sqlite3_errcode(s->db));
    sqlite3_bind_int64(st, 1, device);
    if (matter)
        sqlite3_bind_text(st, 2, matter, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        st_flag_row row;
        row.f.device = sqlite3_column_int64(st, 0);
        row.f.seq = (uint64_t)sqlite3_column_int64(st, 1);
        row.f.rule = (const char *)sqlite3_column_text(st, 2);
        row.f.flag_only = sqlite3_column_int(st, 3);
        row.f.detail = (const char *)sqlite3_column_text(st, 4);
        row.f.matter = (const char *)sqlite3_column_text(st, 5);
        row.flagged_ms = sqlite3_column_int64(st, 6);
        row.device_name = (const char *)sqlite3_column_text(st, 7);
        row.kind = (const char *)sqlite3_column_text(st, 8);
        if (cb(ud, &row) != 0)
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sqh_fail(s, r);
    sqlite3_finalize(st);
    return rc;
}

int sqm_subject_put(st_backend *b, int64_t device, const char *id, const char *key)
{
    sq *s = (sq *)b;
    return sqh_cstep(s, sqh_cached(s, Q_SUBJECT_PUT,
                           "INSERT OR IGNORE INTO subjects(device, id, subject_key) VALUES (?, ?, ?)",
                           "itt", device, id, key));
}

int sqm_subject_key(st_backend *b, int64_t device, const char *id, char key[65])
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = sqh_cached(s, Q_SUBJECT_GET,
                              "SELECT subject_key FROM subjects WHERE device = ? AND id = ?", "it",
                              device, id);
    int r, rc = ST_OK;
    if (!st)
        return ST_ERR;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        snprintf(key, 65, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        rc = r == SQLITE_DONE ? ST_NOTFOUND : sqh_fail(s, r);
    sqh_done(st);
    return rc;
}

int sqm_citation_add(st_backend *b, const char *key, const char *item, const char *matter,
                           int64_t device)
{
    sq *s = (sq *)b;
    return sqh_cstep(s, sqh_cached(s, Q_CITE_ADD,
                           "INSERT OR IGNORE INTO citations(subject_key, item, matter, device)"
                           " VALUES (?, ?, ?, ?)",
                           "ttti", key, item, matter, device));
}

int sqm_citation_other(st_backend *b, const char *key, const char *item, const char *matter,
                             char *other, size_t len)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = sqh_cached(
        s, Q_CITE_OTHER,
        "SELECT matter FROM citations WHERE subject_key = ?1 AND item = ?2 AND matter <> ?3"
        " AND id < coalesce((SELECT id FROM citations WHERE subject_key = ?1 AND item = ?2"
        "   AND matter = ?3), 9223372036854775807) ORDER BY id LIMIT 1",
        "ttt", key, item, matter);
    int r, rc = ST_OK;
    if (!st)
        return ST_ERR;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        snprintf(other, len, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        rc = r == SQLITE_DONE ? ST_NOTFOUND : sqh_fail(s, r);
    sqh_done(st);
    return rc;
}

int sqm_citations_since(st_backend *b, uint64_t since, size_t max,
                              int (*cb)(void *, uint64_t, const char *, const char *, const char *),
                              void *ud)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    int r, rc = ST_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, subject_key, item, matter FROM citations WHERE id > ?"
                           " ORDER BY id LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sqh_fail(s, sqlite3_errcode(s->db));
    sqlite3_bind_int64(st, 1, (int64_t)since);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ud, (uint64_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               (const char *)sqlite3_column_text(st, 2),
               (const char *)sqlite3_column_text(st, 3)) != 0)
            break;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sqh_fail(s, r);
    sqlite3_finalize(st);
    return rc;
}

int sqm_entries_each(st_backend *b, st_entry_cb cb, void *ud)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    int r, rc = ST_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT device, seq, entry FROM entries ORDER BY received_ms, device, seq",
                           -1, &st, NULL) != SQLITE_OK)
        return sqh_fail(s, sqlite3_errcode(s->db));
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ud, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
               sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2)) != 0)
            break;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sqh_fail(s, r);
    sqlite3_finalize(st);
    return rc;
}
