/* audit_file.c -- `patrold audit file (--month M | --year Y)
 * [--department CODE]`: freeze a report for filing (备案) as the next
 * version of its period, signed with the server's receipt key, in the
 * database (report_filings, append-only; later ingest does not change
 * it) and as a leaf of the server log (slog.h), saying figure by figure
 * what changed since the previous version; `audit filed [--json]` lists
 * the filings and checks each signature. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cmdline.h"
#include "audit_report.h"
#include "crypto.h"
#include "i18n.h"
#include "slog.h"
#include "validate.h"

typedef struct prev {
    char *report;
    int64_t version;
    int failed;
} prev;

static int prev_cb(void *ud, const st_filing *f)
{
    prev *p = ud;
    free(p->report);
    if (!(p->report = malloc(f->report_len + 1))) {
        p->failed = 1;
        return 1;
    }
    memcpy(p->report, f->report, f->report_len);
    p->report[f->report_len] = '\0';
    p->version = f->version;
    return 0;
}

static const char *unit_of(const char *department)
{
    return department && *department ? department : "county";
}

/* The unit as people read it: a department code, or the county (全县). */
static const char *unit_text(const char *department)
{
    /* TRANSLATORS: the unit of a report that covers every department. */
    return department && *department && strcmp(department, "county") != 0 ? department
                                                                            : _("county");
}

/* The figures of new that differ from old ("scopes" of both), appended to
 * changes as {unit, table, row, from, to}; a row one of them lacks (a
 * dynamic table: a domain, item or leaflet counted in one only) is 0. */
static int diff(const cJSON *old, const cJSON *new, cJSON *changes)
{
    const cJSON *os = cJSON_GetObjectItemCaseSensitive(old, "scopes");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(new, "scopes");
    const cJSON *u, *t, *r;
    int n = 0;
    /* every figure of the new report, then those the old had alone */
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *a = pass ? os : ns, *b = pass ? ns : os;
        cJSON_ArrayForEach(u, a)
        {
            cJSON_ArrayForEach(t, u)
            {
                cJSON_ArrayForEach(r, t)
                {
                    const cJSON *o = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(b, u->string), t->string),
                        r->string);
                    cJSON *c;
                    if (pass && o)
                        continue; /* compared in the first pass */
                    if (o && cJSON_Compare(o, r, 1))
                        continue;
                    /* a row a dynamic table did not have counted 0 */
                    if (!o && cJSON_IsNumber(r) && r->valuedouble == 0)
                        continue;
                    if (!(c = cJSON_CreateObject()))
                        return -1;
                    cJSON_AddStringToObject(c, "unit", u->string);
                    cJSON_AddStringToObject(c, "table", t->string);
                    cJSON_AddStringToObject(c, "row", r->string);
                    cJSON_AddItemToObject(c, "from",
                                          pass ? cJSON_Duplicate(r, 1)
                                          : o  ? cJSON_Duplicate(o, 1)
                                               : cJSON_CreateNumber(0));
                    cJSON_AddItemToObject(c, "to",
                                          pass ? cJSON_CreateNumber(0) : cJSON_Duplicate(r, 1));
                    cJSON_AddItemToArray(changes, c);
                    n++;
                }
            }
        }
    }
    return n;
}

static void value_text(const cJSON *v, char *out, size_t len)
{
    if (cJSON_IsNumber(v))
        snprintf(out, len, "%lld", (long long)v->valuedouble);
    else
        snprintf(out, len, "—");
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

int audit_file_run(const char *data, int argc, char **argv)
{
    const char *cmd = "file";
    rpt_opts o;
    st_backend *db = NULL;
    px_key *key = NULL;
    cJSON *j = NULL, *old = NULL, *changes, *filing;
    prev p = {NULL, 0, 0};
    char *path = NULL, *kpath = NULL, *text = NULL, err[256], hex[65], leafdata[SLOG_LEAF_MAX];
    uint64_t leaf = 0;
    int n;
    const char *why;
    struct timespec now;
    st_filing f;
    int64_t now_ms, version = 0;
    int rc, status = 1, nchanges = 0, began = 0;

    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("%s patrold --data DIR audit file (--month YYYY-MM | --year YYYY)"
               " [--department CODE] [--reporter NAME] [--phone PHONE]\n",
               _("usage:"));
        return 0;
    }
    if ((rc = rpt_parse(cmd, argc, argv, &o, NULL, NULL)) != 0)
        return rc;
    if (!(path = join(data, "patrold.db")) || !(kpath = join(data, "receipt.key"))) {
        status = audit_fail(cmd, "%s", _("out of memory"));
        goto exit;
    }
    if (access(path, F_OK) != 0) {
        status = audit_fail(cmd, _("no server in %s (run 'patrold --data %s init')"), data, data);
        goto exit;
    }
    if (px_key_load_private(kpath, &key, &why) != 0) {
        status = audit_fail(cmd, _("receipt key %s: %s"), kpath, why);
        goto exit;
    }
    if (!(db = st_sqlite_open(path, 0, err, sizeof err))) {
        status = audit_fail(cmd, "%s", err);
        goto exit;
    }
    /* One write transaction: the version read is the version written. */
    if (db->ops->begin(db) != ST_OK) {
        status = audit_fail(cmd, "%s", db->ops->errmsg(db));
        goto exit;
    }
    began = 1;
    clock_gettime(CLOCK_REALTIME, &now);
    now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (!(j = rpt_build(db, &o, now_ms, cmd, &status)))
        goto exit;
    status = 1;
    if (db->ops->filings_list(db, o.period, o.department ? o.department : "", prev_cb, &p) !=
            ST_OK ||
        p.failed) {
        status = audit_fail(cmd, _("reading the filed reports: %s"),
                            p.failed ? _("out of memory") : db->ops->errmsg(db));
        goto exit;
    }
    filing = cJSON_AddObjectToObject(j, "filing");
    cJSON_AddNumberToObject(filing, "version", (double)(p.version + 1));
    cJSON_AddNumberToObject(filing, "filed_ms", (double)now_ms);
    cJSON_AddNumberToObject(filing, "previous_version", (double)p.version);
    changes = cJSON_AddArrayToObject(filing, "changes");
    if (p.report) {
        if (!(old = cJSON_Parse(p.report))) {
            status = audit_fail(cmd, _("filed report %s version %lld does not parse"), o.period,
                                (long long)p.version);
            goto exit;
        }
        if ((nchanges = diff(old, j, changes)) < 0) {
            status = audit_fail(cmd, "%s", _("out of memory"));
            goto exit;
        }
    }
    if (!(text = cJSON_PrintUnformatted(j))) {
        status = audit_fail(cmd, "%s", _("out of memory"));
        goto exit;
    }
    memset(&f, 0, sizeof f);
    f.period = o.period;
    f.department = o.department ? o.department : "";
    f.report = text;
    f.report_len = strlen(text);
    f.filed_ms = now_ms;
    px_sha256(text, f.report_len, f.sha256);
    if (px_sign(key, f.sha256, f.sig) != 0 || px_key_id(key, f.key_id) != 0) {
        status = audit_fail(cmd, "%s", _("signing with the receipt key failed"));
        goto exit;
    }
    if (db->ops->filing_put(db, &f, &version) != ST_OK || version != p.version + 1) {
        status = audit_fail(cmd, _("storing the filing: %s"), db->ops->errmsg(db));
        goto exit;
    }
    /* The filing is a leaf of the server log (docs/report.md), in the
     * same transaction: durable exactly when the filing is. */
    px_format_hex(f.sha256, 32, hex);
    n = snprintf(leafdata, sizeof leafdata, "patrol-report\n%s\n%s\n%lld\n%s\n%lld\n", o.period,
                 unit_of(o.department), (long long)version, hex, (long long)now_ms);
    if (n < 0 || (size_t)n >= sizeof leafdata ||
        slog_append(db, leafdata, (size_t)n, now_ms, &leaf) != ST_OK) {
        status = audit_fail(cmd, _("adding the filing to the server log: %s"), db->ops->errmsg(db));
        goto exit;
    }
    if (db->ops->commit(db) != ST_OK) {
        status = audit_fail(cmd, _("storing the filing: %s"), db->ops->errmsg(db));
        goto exit;
    }
    began = 0;
    /* TRANSLATORS: the period (2026-11 or 2026), the unit (a department
     * code, or "county"), the version, the report's SHA-256, the index of
     * its leaf in the server log. */
    printf(_("filed report %s (%s) as version %lld, sha256 %s, signed with the receipt key,"
             " server log leaf %llu\n"),
           o.period, unit_text(o.department), (long long)version, hex, (unsigned long long)leaf);
    if (p.report && nchanges == 0) {
        printf(_("unchanged since version %lld\n"), (long long)p.version);
    } else if (p.report) {
        const cJSON *c;
        /* TRANSLATORS: the previous version, how many figures changed. */
        printf(dngettext(PX_TEXTDOMAIN, "changed since version %lld: %d figure\n",
                         "changed since version %lld: %d figures\n", (unsigned long)nchanges),
               (long long)p.version, nchanges);
        cJSON_ArrayForEach(c, changes)
        {
            char label[400], a[32], b[32];
            rpt_figure_label(cJSON_GetObjectItemCaseSensitive(c, "table")->valuestring,
                             cJSON_GetObjectItemCaseSensitive(c, "row")->valuestring, label,
                             sizeof label);
            value_text(cJSON_GetObjectItemCaseSensitive(c, "from"), a, sizeof a);
            value_text(cJSON_GetObjectItemCaseSensitive(c, "to"), b, sizeof b);
            printf("  %s %s: %s -> %s\n",
                   unit_text(cJSON_GetObjectItemCaseSensitive(c, "unit")->valuestring), label, a,
                   b);
        }
    }
    status = 0;
exit:
    if (began)
        db->ops->rollback(db);
    if (db)
        db->ops->close(db);
    px_key_free(key);
    cJSON_Delete(j);
    cJSON_Delete(old);
    free(p.report);
    free(text);
    free(path);
    free(kpath);
    return status;
}

/* ---- audit filed ------------------------------------------------------------- */

typedef struct lister {
    px_key *key;
    int json;
    cJSON *out;
    int failed;
} lister;

static int filed_cb(void *ud, const st_filing *f)
{
    lister *l = ud;
    uint8_t h[32], kid[32];
    char hex[65], when[64];
    int sha_ok, sig_ok, nchanges = 0;
    cJSON *rep = NULL, *c;
    struct tm tm;
    time_t t = (time_t)(f->filed_ms / 1000);

    px_sha256(f->report, f->report_len, h);
    sha_ok = memcmp(h, f->sha256, 32) == 0;
    sig_ok = sha_ok && l->key && px_key_id(l->key, kid) == 0 && memcmp(kid, f->key_id, 32) == 0 &&
             px_verify(l->key, f->sha256, f->sig) == 0;
    if ((rep = cJSON_ParseWithLength(f->report, f->report_len)))
        nchanges = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(rep, "filing"), "changes"));
    cJSON_Delete(rep);
    px_format_hex(f->sha256, 32, hex);
    if (l->json) {
        if (!(c = cJSON_CreateObject())) {
            l->failed = 1;
            return 1;
        }
        cJSON_AddStringToObject(c, "period", f->period);
        cJSON_AddStringToObject(c, "department", unit_of(f->department));
        cJSON_AddNumberToObject(c, "version", (double)f->version);
        cJSON_AddNumberToObject(c, "filed_ms", (double)f->filed_ms);
        cJSON_AddStringToObject(c, "sha256", hex);
        cJSON_AddBoolToObject(c, "signature_valid", sig_ok);
        cJSON_AddNumberToObject(c, "changes", nchanges);
        cJSON_AddItemToArray(l->out, c);
        return 0;
    }
    if (!localtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm))
        snprintf(when, sizeof when, "%lld", (long long)f->filed_ms);
    /* TRANSLATORS: a filed report: period, unit, version, time filed
     * (local), the start of its SHA-256, whether its signature checks, how
     * many figures changed from the version before. */
    printf(dngettext(PX_TEXTDOMAIN, "%-7s  %-10s  version %-3lld  filed %s  sha256 %.16s…  %s  %d change\n",
                     "%-7s  %-10s  version %-3lld  filed %s  sha256 %.16s…  %s  %d changes\n",
                     (unsigned long)nchanges),
           f->period, unit_text(f->department), (long long)f->version, when, hex,
           sig_ok ? _("signature ok") : _("SIGNATURE INVALID"), nchanges);
    if (!sig_ok)
        l->failed = 2;
    return 0;
}

int audit_filed_run(const char *data, int argc, char **argv)
{
    const char *cmd = "filed";
    lister l = {NULL, 0, NULL, 0};
    st_backend *db;
    char *kpath;
    const char *why;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            l.json = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s patrold --data DIR audit filed [--json]\n", _("usage:"));
            return 0;
        } else
            return audit_usage_error(cmd, _("unknown argument '%s'"), argv[i]);
    }
    if (!(db = audit_open(data, cmd)))
        return 1;
    if ((kpath = join(data, "receipt.key")) && px_key_load_private(kpath, &l.key, &why) != 0)
        /* TRANSLATORS: the receipt key's path, why it cannot be read. */
        fprintf(stderr, _("patrold: audit filed: receipt key %s: %s: signatures not checked\n"),
                kpath, why);
    free(kpath);
    if (l.json && !(l.out = cJSON_CreateArray())) {
        db->ops->close(db);
        px_key_free(l.key);
        return audit_fail(cmd, "%s", _("out of memory"));
    }
    rc = db->ops->filings_list(db, NULL, NULL, filed_cb, &l);
    if (rc != ST_OK)
        rc = audit_fail(cmd, _("reading the filed reports: %s"), db->ops->errmsg(db));
    else if (l.failed == 1)
        rc = audit_fail(cmd, "%s", _("out of memory"));
    else if (l.failed == 2)
        rc = audit_fail(cmd, "%s", _("a filed report's signature does not verify"));
    if (rc == ST_OK && l.json) {
        char *s = cJSON_Print(l.out);
        if (s)
            cl_json_out(s);
        else
            rc = audit_fail(cmd, "%s", _("out of memory"));
        free(s);
    }
    cJSON_Delete(l.out);
    db->ops->close(db);
    px_key_free(l.key);
    return rc;
}
