/* web_reports.c -- 报表: the month's or year's report for download, as
 * CSV or the spreadsheet, made by audit report's own builder and writers
 * (rpt_build, rpt_print_csv, rpt_write_xlsx: the same bytes as
 * `patrold audit report --csv` / `--xlsx FILE`). A reviewer's is its
 * department's. Each download is a leaf of the server log:
 * "patrol-web-report\n" period "\n" department or "county" "\n" csv|xlsx
 * "\n" SHA-256 of the file (hex) "\nweb:" account "\n" time "\n".
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_report.h"
#include "crypto.h"
#include "tls.h"
#include "web_int.h"

/* "YYYY-MM" or "YYYY" into o (2000..2099). 0, or -1. */
static int period_of(const char *v, rpt_opts *o)
{
    size_t n = strlen(v);
    if (n != 4 && n != 7)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (i != 4 ? (v[i] < '0' || v[i] > '9') : v[i] != '-')
            return -1;
    o->year = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
    o->month = n == 7 ? (v[5] - '0') * 10 + (v[6] - '0') : 0;
    if (o->year < 2000 || o->year > 2099 || (n == 7 && (o->month < 1 || o->month > 12)))
        return -1;
    snprintf(o->period, sizeof o->period, "%.7s", v);
    return 0;
}

void web_page_reports(web_ctx *c)
{
    web_buf b = {0};
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;
    char month[16] = "2026-01", year[8] = "2026";
    if (gmtime_r(&t, &tm)) {
        snprintf(month, sizeof month, "%04d-%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100);
        snprintf(year, sizeof year, "%04d", (tm.tm_year + 1900) % 10000);
    }
    web_tag(&b, "h1", _("Reports"));
    web_puts(&b, "<p>");
    /* TRANSLATORS: followed by two commands in code type. */
    web_text(&b, _("The same files as "));
    web_puts(&b, "<code>patrold audit report --csv</code> / <code>--xlsx</code>");
    if (c->who->department[0])
        /* TRANSLATORS: after the commands: for the reviewer's department. */
        web_textf(&b, _(" (your department, %s)"), c->who->department);
    web_text(&b, _(". Every download is recorded in the server log."));
    web_puts(&b, "</p>");
    for (int i = 0; i < 2; i++) {
        web_tag(&b, "h2", i ? _("Yearly report") : _("Monthly report"));
        web_puts(&b, "<form method=\"get\" action=\"/reports/download\" class=\"inline\">"
                     "<input name=\"period\" value=\"");
        web_attr(&b, i ? year : month);
        web_printf(&b, "\" id=\"period-%s\" pattern=\"%s\"> <select name=\"format\" id=\"format-%s\">"
                       "<option value=\"csv\">CSV</option><option value=\"xlsx\">",
                   i ? "year" : "month", i ? "[0-9]{4}" : "[0-9]{4}-[0-9]{2}", i ? "year" : "month");
        web_text(&b, _("XLSX (spreadsheet)"));
        web_printf(&b, "</option></select> <button type=\"submit\" id=\"download-%s\">",
                   i ? "year" : "month");
        web_text(&b, _("Download"));
        web_puts(&b, "</button></form>");
    }
    web_page(c, 200, _("Reports"), &b);
    web_buf_free(&b);
}

/* The whole file at path into *out (malloc'd). 0 or -1. */
static int slurp(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    *out = NULL;
    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(*out = malloc((size_t)n + 1)) || fread(*out, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(*out);
        *out = NULL;
        return -1;
    }
    fclose(f);
    *len = (size_t)n;
    return 0;
}

void web_report_download(web_ctx *c)
{
    const char *q = c->rq->query;
    char period[16], format[8], path[4200], name[64], text[400], hex[65];
    uint8_t *body = NULL, sum[32];
    size_t len = 0;
    rpt_opts o;
    cJSON *j;
    int status = 0, csv, n;

    memset(&o, 0, sizeof o);
    if (web_form_get(q, strlen(q), "period", period, sizeof period) != 1 ||
        period_of(period, &o) != 0 || web_form_get(q, strlen(q), "format", format, sizeof format) != 1 ||
        (strcmp(format, "csv") != 0 && strcmp(format, "xlsx") != 0)) {
        web_refuse(c, 400, _("A report's period is written YYYY-MM or YYYY, its format csv or "
                             "xlsx."));
        return;
    }
    csv = strcmp(format, "csv") == 0;
    o.department = c->who->department[0] ? c->who->department : NULL;
    /* reporter and phone unset, as audit report without --reporter/--phone */
    if (!(j = rpt_build(c->db, &o, app_now_ms(), "web", &status))) {
        web_refuse(c, 404, _("No report can be made for this period (the department has no "
                             "device or no data)."));
        return;
    }
    if (csv) {
        char *p = NULL;
        size_t plen = 0;
        FILE *f = open_memstream(&p, &plen);
        int rc = f ? rpt_print_csv(j, f) : -1;
        if (f && fclose(f) != 0)
            rc = -1;
        if (rc == 0) {
            body = (uint8_t *)p;
            len = plen;
        } else
            free(p);
    } else {
        /* libxlsxwriter writes a file: in a private directory of the data
         * directory (mode 0700), removed again. */
        char dir[4200];
        n = snprintf(dir, sizeof dir, "%s/.web-report-XXXXXX", c->a->data_dir);
        if (n > 0 && (size_t)n < sizeof dir && mkdtemp(dir)) {
            n = snprintf(path, sizeof path, "%s/report.xlsx", dir);
            if (n > 0 && (size_t)n < sizeof path && rpt_write_xlsx(j, path) == 0)
                slurp(path, &body, &len);
            unlink(path);
            rmdir(dir);
        }
    }
    cJSON_Delete(j);
    if (!body) {
        web_refuse(c, 500, _("The report file cannot be made."));
        return;
    }
    px_sha256(body, len, sum);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    n = snprintf(text, sizeof text, "patrol-web-report\n%s\n%s\n%s\n%s\nweb:%s\n%" PRId64 "\n",
                 o.period, o.department ? o.department : "county", format, hex, c->who->name,
                 app_now_ms());
    if (n < 0 || (size_t)n >= sizeof text || web_leaf(c, text, (size_t)n) != 0) {
        free(body);
        web_refuse(c, 503, _("The server log cannot record this download: the download is "
                             "refused."));
        return;
    }
    snprintf(name, sizeof name, "report-%s%s%s.%s", o.period, o.department ? "-" : "",
             o.department ? o.department : "", format);
    web_download(c, csv ? "text/csv; charset=utf-8"
                        : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 name, body, len);
}
