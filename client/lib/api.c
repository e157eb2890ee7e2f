/* api.c -- error text, version, the rules for forms, and the read-only
 * queries (info, matters, revisits, lists). */
#include "internal.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "matter.h"
#include "rules.h"
#include "validate.h"

#ifndef PATROL_VERSION_STRING
#define PATROL_VERSION_STRING "0.0.0"
#endif

const char *patrol_version(void)
{
    return PATROL_VERSION_STRING;
}

const char *patrol_strerror(int err)
{
    switch (err) {
    case PATROL_OK: return _("success");
    case PATROL_EINVAL: return _("invalid or missing input");
    case PATROL_ENOTFOUND: return _("not found");
    case PATROL_ESTATE: return _("not allowed in the current state");
    case PATROL_EREFUSED: return _("outside flexible enforcement");
    case PATROL_EEXIST: return _("already exists");
    case PATROL_EIO: return _("input/output error");
    case PATROL_ENOSPC: return _("disk full");
    case PATROL_ELOCKED: return _("store in use by another process");
    case PATROL_ESCHEMA: return _("store from a newer version");
    case PATROL_ECORRUPT: return _("store damaged");
    case PATROL_ECHANGED: return _("file changed while being read");
    case PATROL_ENOMEM: return _("out of memory");
    case PATROL_ECRYPTO: return _("device key problem");
    case PATROL_EVERIFY: return _("verification failed");
    case PATROL_ENOSTORE: return _("no store");
    case PATROL_ENET: return _("server unreachable");
    case PATROL_ESERVER: return _("refused by the server");
    case PATROL_ETRUST: return _("server not trusted");
    case PATROL_EREJECTED: return _("entry rejected by the server");
    default: return _("unknown error");
    }
}

const char *patrol_errmsg(const patrol *p)
{
    return p ? p->errmsg : "";
}

const char *patrol_kind_name(size_t i)
{
    size_t n;
    const px_kind_rule *k = px_rules_all(&n);
    return i < n ? k[i].kind : NULL;
}

const char *patrol_kind_help(const char *kind)
{
    const px_kind_rule *k = kind ? px_rules_find(kind) : NULL;
    return k ? k->help : NULL;
}

const char *patrol_kind_label(const char *kind)
{
    const px_kind_rule *k = kind ? px_rules_find(kind) : NULL;
    return k ? k->label : NULL;
}

const char *patrol_choice_label(const char *value)
{
    return px_choice_label(value);
}

const char *patrol_state_label(const char *state)
{
    px_mstate s;
    return px_mstate_parse(state, &s) == 0 ? px_mstate_label(s) : NULL;
}

int patrol_kind_field(const char *kind, size_t i, patrol_field_info *out)
{
    static const char *const type_names[] = {
        /* English, marked for the catalogue: show them through _(). */
        [PX_F_TEXT] = N_("text"),         [PX_F_LINE] = N_("line"),
        [PX_F_IDENT] = N_("code"),        [PX_F_CHOICE] = N_("choice"),
        [PX_F_BOOL] = N_("yes/no"),       [PX_F_TRUE] = N_("yes"),
        [PX_F_COUNT] = N_("count"),       [PX_F_SIZE] = N_("bytes"),
        [PX_F_DATE] = N_("YYYY-MM-DD"),   [PX_F_SHA256] = N_("sha256"),
        [PX_F_CREDIT] = N_("credit code"), [PX_F_IDNUM] = N_("id number"),
        [PX_F_HEX] = N_("hex"),      [PX_F_IDLIST] = N_("codes separated by commas"),
    };
    const px_kind_rule *k = kind ? px_rules_find(kind) : NULL;
    const px_field_rule *f;
    if (!k)
        return PATROL_EINVAL;
    if (i >= k->nfields)
        return PATROL_ENOTFOUND;
    f = &k->fields[i];
    out->name = f->name;
    out->help = f->help;
    out->required = (f->flags & (PX_REQ | PX_RULE)) != 0;
    out->automatic = (f->flags & PX_AUTO) != 0;
    out->choices = f->choices;
    out->type = type_names[f->type];
    return PATROL_OK;
}

static int count(patrol *p, const char *sql, uint64_t *out)
{
    char buf[32];
    int err = px_get_text(p, buf, sizeof buf, sql, "");
    *out = err ? 0 : strtoull(buf, NULL, 10);
    return err == PATROL_ENOTFOUND ? PATROL_OK : err;
}

int patrol_get_info(patrol *p, patrol_info *out)
{
    uint8_t hash[PX_HASH_LEN];
    int err;

    p->errmsg[0] = '\0';
    memset(out, 0, sizeof *out);
    px_format_hex(p->device_id, PX_HASH_LEN, out->device_id);
    if ((err = px_get_text(p, out->department, sizeof out->department,
                           "SELECT department FROM device", "")) ||
        (err = px_get_text(p, out->device_name, sizeof out->device_name,
                           "SELECT name FROM device", "")) ||
        (err = px_journal_head(p, &out->entries, hash)) ||
        (err = count(p, "SELECT count(*) FROM evidence", &out->evidence_files)) ||
        (err = count(p, "SELECT coalesce(sum(size), 0) FROM evidence", &out->evidence_bytes)))
        return err;
    px_format_hex(hash, PX_HASH_LEN, out->head_hash);
    out->schema_version = PX_SCHEMA_VERSION;
    return PATROL_OK;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

int patrol_matters(patrol *p, patrol_matter_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int rc, ret = PATROL_OK;
    p->errmsg[0] = '\0';
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT m.id, m.subject, s.name, m.domain, m.summary, m.state,"
                            " coalesce(m.list_item, ''), m.opened_seq, coalesce(m.list_type, ''),"
                            " m.consent, m.application, m.major, m.technical, m.close_reason,"
                            " m.case_no, (SELECT count(*) FROM flags f WHERE f.matter = m.id)"
                            " FROM matters m"
                            " JOIN subjects s ON s.id = m.subject ORDER BY m.opened_seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading matters"));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        patrol_matter_view m = {col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4),
                                col(st, 5), col(st, 6), (uint64_t)sqlite3_column_int64(st, 7),
                                col(st, 8), col(st, 9), col(st, 10),
                                sqlite3_column_int(st, 11), sqlite3_column_int(st, 12),
                                col(st, 13), col(st, 14), (unsigned)sqlite3_column_int(st, 15)};
        if ((ret = cb(ud, &m)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = px_db_fail(p, rc, _("reading matters"));
    sqlite3_finalize(st);
    return ret;
}

int patrol_flags(patrol *p, const char *matter, patrol_flag_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int rc, ret = PATROL_OK;
    p->errmsg[0] = '\0';
    if (matter) {
        char id[PATROL_ID_MAX];
        int err = px_get_text(p, id, sizeof id, "SELECT id FROM matters WHERE id = ?", "t", matter);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ENOTFOUND, _("no matter '%.64s' on this terminal"), matter);
        if (err)
            return err;
    }
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT f.seq, f.matter, j.kind, f.rule, f.flag_only, f.detail"
                            " FROM flags f JOIN journal j ON j.seq = f.seq"
                            " WHERE ?1 IS NULL OR f.matter = ?1 ORDER BY f.seq, f.rowid",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the flags"));
    if (matter)
        sqlite3_bind_text(st, 1, matter, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        patrol_flag_view f = {(uint64_t)sqlite3_column_int64(st, 0), col(st, 1), col(st, 2),
                              col(st, 3), sqlite3_column_int(st, 4), col(st, 5)};
        if ((ret = cb(ud, &f)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && ret == PATROL_OK)
        ret = px_db_fail(p, rc, _("reading the flags"));
    sqlite3_finalize(st);
    return ret;
}

int patrol_list_items(patrol *p, patrol_list_item_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int rc, ret = PATROL_OK;
    p->errmsg[0] = '\0';
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT list_type, list_version, code, domain, name, basis,"
                            " list_name, issuer, category, conditions"
                            " FROM list_items ORDER BY list_type, code",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the lists"));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        patrol_list_item_view it = {col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4),
                                    col(st, 5), col(st, 6), col(st, 7), col(st, 8), col(st, 9)};
        if ((ret = cb(ud, &it)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = px_db_fail(p, rc, _("reading the lists"));
    sqlite3_finalize(st);
    return ret;
}

int patrol_revisits(patrol *p, int due_only, const char *today, patrol_revisit_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int32_t now;
    char buf[48];
    const char *why;
    int rc, ret = PATROL_OK;

    p->errmsg[0] = '\0';
    if (today) {
        if ((why = px_parse_date(today, &now)))
            return px_fail(p, PATROL_EINVAL, _("date '%.16s': %s"), today, _(why));
    } else {
        /* The inspector's calendar day: local time. */
        time_t t = time(NULL);
        struct tm tm;
        if (!localtime_r(&t, &tm))
            return px_fail(p, PATROL_EIO, _("cannot read the clock"));
        snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        if ((why = px_parse_date(buf, &now)))
            return px_fail(p, PATROL_EINVAL, _("the device clock reads %s: %s"), buf, _(why));
    }
    rc = sqlite3_prepare_v2(p->db,
                            /* This terminal's revisits (of matters not closed, when
                             * due_only), and those the server assigned to it. */
                            "SELECT r.id, r.matter, s.name, r.due, coalesce(r.outcome, ''),"
                            "  r.seq AS k"
                            " FROM revisits r JOIN matters m ON m.id = r.matter"
                            " JOIN subjects s ON s.id = m.subject"
                            " WHERE (?1 = 0 OR (r.outcome IS NULL AND m.state NOT IN"
                            "  ('completed', 'terminated', 'escalated')))"
                            " UNION ALL"
                            " SELECT a.id, a.matter, a.subject_name, a.due, coalesce(d.outcome, ''),"
                            "  0 AS k"
                            " FROM assigned_revisits a LEFT JOIN assigned_done d ON d.id = a.id"
                            " WHERE (?1 = 0 OR d.id IS NULL)"
                            "  AND a.id NOT IN (SELECT id FROM revisits)"
                            " ORDER BY 4, 6",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading revisits"));
    sqlite3_bind_int(st, 1, due_only);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int32_t due;
        patrol_revisit_view r = {col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4), 0,
                                 sqlite3_column_int64(st, 5) == 0};
        if (px_parse_date(r.due, &due)) {
            ret = px_fail(p, PATROL_ECORRUPT, _("revisit %s has a damaged due date"), r.id);
            break;
        }
        r.days_overdue = now - due;
        if (due_only && r.days_overdue < 0)
            break; /* ordered by due date: the rest are later */
        if ((ret = cb(ud, &r)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && ret == PATROL_OK)
        ret = px_db_fail(p, rc, _("reading revisits"));
    sqlite3_finalize(st);
    return ret;
}

/* ---- for front ends with forms (patrol ui) ------------------------------ */

const char *patrol_matter_row(size_t i)
{
    size_t n;
    const char *const *rows = px_matter_kinds(&n);
    return i < n ? rows[i] : NULL;
}

const char *patrol_matter_allows(const char *state, const char *kind)
{
    px_mstate s;
    if (!state || !kind)
        return "not_a_matter_kind";
    if (px_mstate_parse(state, &s) != 0)
        return "unknown_state";
    return px_matter_allows(s, kind);
}

/* One prepared query (bound to text arg when not NULL), one row function
 * (which calls the caller's callback with its view); the views' strings
 * are the statement's, valid during the callback only. */
typedef int (*row_fn)(sqlite3_stmt *st, void *ctx);

static int each_row(patrol *p, const char *sql, const char *what, const char *arg, row_fn fn,
                    void *ctx)
{
    sqlite3_stmt *st;
    int rc, ret = PATROL_OK;
    p->errmsg[0] = '\0';
    rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, what);
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = fn(st, ctx)) != 0)
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = px_db_fail(p, rc, what);
    sqlite3_finalize(st);
    return ret;
}

typedef struct {
    patrol_inspector_cb cb;
    void *ud;
} inspector_ctx;

static int inspector_row(sqlite3_stmt *st, void *ctx)
{
    inspector_ctx *c = ctx;
    patrol_inspector_view v = {col(st, 0), col(st, 1), col(st, 2)};
    return c->cb(c->ud, &v);
}

int patrol_inspectors(patrol *p, patrol_inspector_cb cb, void *ud)
{
    inspector_ctx c = {cb, ud};
    return each_row(p, "SELECT id, name, cert_no FROM inspectors ORDER BY seq",
                    _("reading inspectors"), NULL, inspector_row, &c);
}

typedef struct {
    patrol_subject_cb cb;
    void *ud;
} subject_ctx;

static int subject_row(sqlite3_stmt *st, void *ctx)
{
    subject_ctx *c = ctx;
    patrol_subject_view v = {col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4)};
    return c->cb(c->ud, &v);
}

int patrol_subjects(patrol *p, patrol_subject_cb cb, void *ud)
{
    subject_ctx c = {cb, ud};
    return each_row(p,
                    "SELECT id, type, name, coalesce(credit_code, ''), coalesce(id_number, '')"
                    " FROM subjects ORDER BY seq",
                    _("reading subjects"), NULL, subject_row, &c);
}

typedef struct {
    patrol_document_cb cb;
    void *ud;
} document_ctx;

static int document_row(sqlite3_stmt *st, void *ctx)
{
    document_ctx *c = ctx;
    patrol_document_view v = {col(st, 0), col(st, 1), (uint64_t)sqlite3_column_int64(st, 2),
                              (uint64_t)sqlite3_column_int64(st, 3)};
    return c->cb(c->ud, &v);
}

int patrol_documents(patrol *p, const char *matter, patrol_document_cb cb, void *ud)
{
    document_ctx c = {cb, ud};
    return each_row(p,
                    "SELECT id, matter, seq, coalesce(delivered_seq, 0) FROM documents"
                    " WHERE ?1 IS NULL OR matter = ?1 ORDER BY seq",
                    _("reading documents"), matter, document_row, &c);
}

const char *patrol_kind_target(const char *kind)
{
    static const char *const names[] = {
        [PX_SCOPE_DEVICE] = "device",   [PX_SCOPE_INSPECTOR] = "inspector",
        [PX_SCOPE_SUBJECT] = "subject", [PX_SCOPE_MATTER] = "matter",
        [PX_SCOPE_REVISIT] = "revisit", [PX_SCOPE_DOCUMENT] = "document",
        [PX_SCOPE_ENTRY] = "entry",     [PX_SCOPE_ACT] = "act",
        [PX_SCOPE_SHIFT] = "shift",
    };
    const px_kind_rule *k = kind ? px_rules_find(kind) : NULL;
    return k ? names[k->scope] : NULL;
}
