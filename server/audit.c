/* audit.c -- `patrold audit`: dispatch to one file per command (audit.h),
 * and what they share: opening the database read-only, messages. */
#include "audit.h"
#include "audit_report.h"
#include "cmdline.h"
#include "i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each command's file adds its line here: name, syntax (never translated:
 * it is what one types), what it does (N_(): shown through _()), entry
 * point. */
static const audit_cmd commands[] = {
    {"report", "report (--month YYYY-MM | --year YYYY) [--department CODE] [--json | --csv | --xlsx FILE]",
     N_("the period's statistics"), audit_report_run},
    {"file", "file (--month YYYY-MM | --year YYYY) [--department CODE]",
     N_("freeze a report for filing (备案)"), audit_file_run},
    {"filed", "filed [--json]", N_("the reports filed, each version, signatures checked"),
     audit_filed_run},
    {"verify", "verify [--json]", N_("re-verify every chain, signature and evidence file"),
     audit_verify},
    {"export", "export --matter ID --out FILE [--reveal] [--web-account NAME]",
     N_("a self-verifying archive (tar) of a matter"), audit_export},
    {"verify-archive", "verify-archive FILE [--key PEM] [--json]",
     N_("check an exported archive offline"), audit_verify_archive},
    {"timeline", "timeline --matter ID [--json] [--reveal]",
     N_("the full-process record of one matter"), audit_timeline},
    {"problems", "problems [--json] [--days N] [--open-days M] [--silent-days N] [--department CODE] [--today YYYY-MM-DD]",
     N_("what to act on"), audit_problems},
    {"log", "log checkpoint | inclusion --leaf N [--size M] | consistency --from A [--to B]",
     N_("the server log (docs/log.md)"), audit_log_main},
    {NULL, NULL, NULL, NULL},
};

int audit_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    char full[80];
    snprintf(full, sizeof full, "audit %s", cmd);
    va_start(ap, fmt);
    cl_vfail(1, "failed", full, fmt, ap);
    va_end(ap);
    return 1;
}

int audit_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    char full[80], msg[900];
    size_t n;
    snprintf(full, sizeof full, "audit %s", cmd);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    n = strlen(msg);
    /* TRANSLATORS: ends a usage error of an audit command, space included
     * (a Chinese text needs none before its full-width bracket). */
    snprintf(msg + n, sizeof msg - n, "%s", _(" (see 'patrold audit --help')"));
    return cl_fail(2, "usage", full, "%s", msg);
}

st_backend *audit_open(const char *data, const char *cmd)
{
    char err[256], *path;
    size_t n = strlen(data) + sizeof "/patrold.db";
    st_backend *db = NULL;

    if (!(path = malloc(n))) {
        audit_fail(cmd, "%s", _("out of memory"));
        return NULL;
    }
    snprintf(path, n, "%s/patrold.db", data);
    if (access(path, F_OK) != 0)
        audit_fail(cmd, _("no server in %s (run 'patrold --data %s init')"), data, data);
    else if (!(db = st_sqlite_open(path, ST_OPEN_READONLY, err, sizeof err)))
        audit_fail(cmd, "%s", err);
    free(path);
    return db;
}

static int usage(FILE *f)
{
    fprintf(f, "%s\n\n%s\n", _("usage: patrold --data DIR audit COMMAND [options]"),
            _("The supervisor's commands (read-only; they work while 'serve' runs):"));
    for (size_t i = 0; commands[i].name; i++)
        fprintf(f, "  %s\n      %s\n", commands[i].usage, _(commands[i].what));
    return f == stdout ? 0 : 2;
}

int audit_main(const char *data, int argc, char **argv)
{
    if (argc < 1) {
        if (cl_json)
            cl_fail(2, "usage", "audit", "%s", _("needs a command"));
        return usage(stderr);
    }
    if (cl_is_help(argv[0]))
        return usage(stdout);
    for (size_t i = 0; commands[i].name; i++)
        if (strcmp(argv[0], commands[i].name) == 0) {
            /* 'audit CMD --help' (or -h among its arguments): its line. */
            for (int k = 1; k < argc; k++)
                if (cl_is_help(argv[k])) {
                    printf("%s\n\n  %s\n      %s\n",
                           _("usage: patrold --data DIR audit COMMAND [options]"),
                           commands[i].usage, _(commands[i].what));
                    return 0;
                }
            return commands[i].run(data, argc - 1, argv + 1);
        }
    cl_fail(2, "usage", "audit", _("unknown command '%s'"), argv[0]);
    return usage(stderr);
}
