/* cmdline.c -- patrold's command-line conventions (cmdline.h): failures
 * and usage errors on stderr, the JSON error object under --json, help
 * words, ISO 8601 times. */
#include "cmdline.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "i18n.h"
#include "storage.h"

int cl_json;
static int json_printed;

int cl_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

void cl_json_out(const char *s)
{
    puts(s);
    json_printed = 1;
}

int cl_vfail(int status, const char *code, const char *cmd, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "patrold: %s: %s\n", cmd, msg);
    if (cl_json && !json_printed) {
        cJSON *j = cJSON_CreateObject();
        char *s;
        cJSON_AddBoolToObject(j, "ok", 0);
        cJSON_AddNumberToObject(j, "exit", status);
        cJSON_AddStringToObject(j, "code", code);
        cJSON_AddStringToObject(j, "error", msg);
        if ((s = cJSON_PrintUnformatted(j)))
            cl_json_out(s);
        free(s);
        cJSON_Delete(j);
    }
    return status;
}

int cl_fail(int status, const char *code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = cl_vfail(status, code, cmd, fmt, ap);
    va_end(ap);
    return rc;
}

int cl_die(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cl_vfail(1, "failed", cmd, fmt, ap);
    va_end(ap);
    return 1;
}

int cl_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cl_vfail(2, "usage", cmd, fmt, ap);
    va_end(ap);
    return 2;
}

void cl_iso_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "%s", "");
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int cl_list_command(const char *data, const char *cmd, int argc, char **argv,
                    st_backend *(*open_db)(const char *data, const char *cmd),
                    int (*each)(st_backend *db, void *arr))
{
    cJSON *arr = NULL;
    st_backend *db;
    int rc;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--json") != 0)
            return cl_usage(cmd, _("unexpected argument '%s'"), argv[i]);
    if (argc > 0 && !(arr = cJSON_CreateArray()))
        return cl_die(cmd, "%s", _("out of memory"));
    if (!(db = open_db(data, cmd))) {
        cJSON_Delete(arr);
        return 1;
    }
    rc = each(db, arr);
    if (rc != ST_OK)
        cl_die(cmd, "%s", db->ops->errmsg(db));
    if (arr) {
        char *s = rc == ST_OK ? cJSON_PrintUnformatted(arr) : NULL;
        if (s)
            cl_json_out(s);
        free(s);
        cJSON_Delete(arr);
    }
    db->ops->close(db);
    return rc == ST_OK ? 0 : 1;
}

st_backend *cl_open_db(const char *data, const char *cmd)
{
    char err[256], path[4200];
    st_backend *db = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/patrold.db", data) >= sizeof path) {
        cl_fail(2, "usage", cmd, "%s", _("data directory name too long"));
        return NULL;
    }
    if (access(path, F_OK) != 0 && errno == ENOENT)
        cl_fail(1, "no_server", cmd, _("no server in %s (run 'patrold --data %s init')"), data,
                data);
    else if (access(path, R_OK | W_OK) != 0)
        cl_fail(1, "failed", cmd, _("cannot read and write %s: %s (run patrold as the server's "
                                    "user)"),
                path, strerror(errno));
    else if (!(db = st_sqlite_open(path, 0, err, sizeof err)))
        cl_fail(1, "failed", cmd, "%s", err);
    return db;
}
