/* audit_event.c -- what supervisors do with the record, as leaves of the
 * server log (docs/log.md "Leaves"): a view of a matter (`audit
 * timeline`) and an export (`audit export`). Each leaf is appended in its
 * own short write transaction (so no lock is held across the ingest path)
 * before the view or the archive is released: one the log cannot record
 * is refused. The leaf names the operating-system user who ran the
 * command, or the console's account it ran for ("web:NAME", the console
 * exporting a matter), and the server time; the next signed checkpoint
 * covers it.
 */
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "i18n.h"
#include "slog.h"
#include "validate.h"

/* The user running the command: the account name, else "uid N". The
 * name is kept to letters, digits and ".-_" (it goes into a line). */
static void who(char *out, size_t cap)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    size_t j = 0;
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name) {
        for (const char *s = res->pw_name; *s && j + 1 < cap; s++)
            if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                *s == '.' || *s == '-' || *s == '_')
                out[j++] = *s;
        out[j] = '\0';
        if (j)
            return;
    }
    snprintf(out, cap, "uid %lu", (unsigned long)geteuid());
}

int audit_event(const char *data, const char *cmd, const char *kind, const char *body,
                const char *web_account, uint64_t *leaf)
{
    char path[4200], err[256], user[64], text[SLOG_LEAF_MAX];
    struct timespec ts;
    st_backend *db;
    int64_t now_ms;
    int n, rc = 1;

    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (web_account) {
        n = snprintf(user, sizeof user, "web:%s", web_account);
        if (px_check_ident(web_account) || n < 0 || (size_t)n >= sizeof user)
            return audit_fail(cmd, "%s", _("the console account is not a valid name"));
    } else {
        who(user, sizeof user);
    }
    n = snprintf(text, sizeof text, "patrol-%s\n%s%s\n%lld\n", kind, body, user,
                 (long long)now_ms);
    if (n < 0 || (size_t)n >= sizeof text)
        return audit_fail(cmd, "%s", _("the server log leaf is too long"));
    snprintf(path, sizeof path, "%s/patrold.db", data);
    if (!(db = st_sqlite_open(path, 0, err, sizeof err)))
        return audit_fail(cmd, _("recording this in the server log: %s"), err);
    if (db->ops->begin(db) != ST_OK || slog_append(db, text, (size_t)n, now_ms, leaf) != ST_OK ||
        db->ops->commit(db) != ST_OK)
        audit_fail(cmd, _("recording this in the server log: %s"), db->ops->errmsg(db));
    else
        rc = 0;
    if (rc)
        db->ops->rollback(db);
    db->ops->close(db);
    return rc;
}
