/* reflist.c -- the read-only listings of the reference data the terminal
 * holds: departments, domains, leaflets (the three lists: api.c). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "i18n.h"

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

/* Append ",s" (or "s" to an empty buffer) to the malloc'd *buf. */
static int append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s), need = *len + (*len ? 1 : 0) + n + 1;
    if (need > *cap) {
        size_t cap2 = *cap ? *cap : 64;
        char *b;
        while (cap2 < need)
            cap2 *= 2;
        if (!(b = realloc(*buf, cap2)))
            return -1;
        *buf = b;
        *cap = cap2;
    }
    if (*len)
        (*buf)[(*len)++] = ',';
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return 0;
}

int patrol_departments(patrol *p, patrol_department_cb cb, void *ud)
{
    sqlite3_stmt *st = NULL, *dom = NULL;
    char *buf = NULL;
    size_t len, cap = 0;
    int rc, ret = PATROL_OK;

    p->errmsg[0] = '\0';
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT d.code, d.name, d.code = (SELECT department FROM device)"
                            " FROM departments d ORDER BY d.rowid",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(p->db,
                                "SELECT domain FROM department_domains WHERE department = ?"
                                " ORDER BY domain",
                                -1, &dom, NULL);
    if (rc != SQLITE_OK) {
        ret = px_db_fail(p, rc, _("reading the departments"));
        goto exit;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        patrol_department_view d = {col(st, 0), col(st, 1), "", sqlite3_column_int(st, 2) == 1};
        len = 0;
        sqlite3_reset(dom);
        sqlite3_bind_text(dom, 1, d.code, -1, SQLITE_TRANSIENT);
        while ((rc = sqlite3_step(dom)) == SQLITE_ROW)
            if (append(&buf, &len, &cap, col(dom, 0))) {
                ret = px_fail(p, PATROL_ENOMEM, "%s", _("out of memory"));
                goto exit;
            }
        if (rc != SQLITE_DONE)
            break;
        d.domains = len ? buf : "";
        if ((ret = cb(ud, &d)) != 0)
            goto exit;
    }
    if (rc != SQLITE_DONE)
        ret = px_db_fail(p, rc, _("reading the departments"));
exit:
    sqlite3_finalize(st);
    sqlite3_finalize(dom);
    free(buf);
    return ret;
}

int patrol_domains(patrol *p, patrol_domain_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int rc, ret = PATROL_OK;

    p->errmsg[0] = '\0';
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT d.code, d.name, d.flexible,"
                            " EXISTS (SELECT 1 FROM department_domains dd JOIN device v"
                            "  ON dd.department = v.department WHERE dd.domain = d.code)"
                            " FROM domains d ORDER BY d.rowid",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the domains"));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        patrol_domain_view d = {col(st, 0), col(st, 1), sqlite3_column_int(st, 2) == 1,
                                sqlite3_column_int(st, 3) == 1};
        if ((ret = cb(ud, &d)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = px_db_fail(p, rc, _("reading the domains"));
    sqlite3_finalize(st);
    return ret;
}

int patrol_leaflets(patrol *p, patrol_leaflet_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int rc, ret = PATROL_OK;

    p->errmsg[0] = '\0';
    rc = sqlite3_prepare_v2(p->db, "SELECT code, title FROM leaflets ORDER BY code", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the leaflets"));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        patrol_leaflet_view l = {col(st, 0), col(st, 1)};
        if ((ret = cb(ud, &l)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = px_db_fail(p, rc, _("reading the leaflets"));
    sqlite3_finalize(st);
    return ret;
}
