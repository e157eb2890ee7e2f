/* web_pages.c -- the console's pages (web_int.h). Each shows what the
 * audit commands compute, through their own builders: 总览 is
 * rpt_build's JSON (`audit report --json`), laid out as
 * audit_report_out.c lays out its tables; no figure is counted here. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_report.h"
#include "i18n.h"
#include "slog.h"
#include "validate.h"
#include "web_int.h"

/* ---- 总览 -------------------------------------------------------------- */

/* ?month=YYYY-MM, else this month in Beijing time. 0, or -1 malformed. */
static int month_of(const char *query, int *year, int *month)
{
    char v[16];
    int r = web_form_get(query, strlen(query), "month", v, sizeof v);
    if (r == 0) {
        time_t t = time(NULL) + 8 * 3600;
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            return -1;
        *year = tm.tm_year + 1900;
        *month = tm.tm_mon + 1;
        return 0;
    }
    if (r < 0 || strlen(v) != 7 || v[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (v[i] < '0' || v[i] > '9'))
            return -1;
    *year = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
    *month = (v[5] - '0') * 10 + (v[6] - '0');
    return *year >= 2000 && *year <= 2099 && *month >= 1 && *month <= 12 ? 0 : -1;
}

/* A bar chart of one table's figures, drawn here as SVG (no script). */
static void bar_chart(web_buf *b, const rpt_tabdef *td, const cJSON *fig)
{
    const cJSON *k;
    double max = 1;
    int n = 0, y = 0;
    cJSON_ArrayForEach(k, fig)
    {
        if (cJSON_IsNumber(k) && k->valuedouble > max)
            max = k->valuedouble;
        n++;
    }
    web_printf(b, "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 480 %d\" width=\"480\" "
                  "height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">",
               n * 24 + 4, n * 24 + 4);
    cJSON_ArrayForEach(k, fig)
    {
        const char *zh = k->string;
        double v = cJSON_IsNumber(k) ? k->valuedouble : 0;
        for (const rpt_rowdef *rd = td->rows; rd && rd->key; rd++)
            if (strcmp(rd->key, k->string) == 0)
                zh = rd->zh;
        web_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"13\">", y + 16);
        web_text(b, zh);
        web_printf(b, "</text><rect x=\"120\" y=\"%d\" height=\"18\" width=\"%d\" "
                      "fill=\"#2b6cb0\"></rect><text x=\"%d\" y=\"%d\" font-size=\"13\">%lld</text>",
                   y + 3, (int)(300 * v / max), 126 + (int)(300 * v / max), y + 16,
                   (long long)v);
        y += 24;
    }
    web_puts(b, "</svg>");
}

/* What to act on: `patrold audit problems --json` (as of today, its
 * default thresholds), run as a child (web_run_self), as a table. */
static void problems(web_ctx *c, web_buf *b, const char *dept)
{
    char *argv[] = {"patrold", "--data", c->a->data_dir, "audit", "problems", "--json",
                    dept ? "--department" : NULL, (char *)dept, NULL};
    char *json = NULL;
    cJSON *j = NULL, *p;
    web_puts(b, "<section>");
    web_tag(b, "h2", _("Problems to act on"));
    web_puts(b, "<p>");
    /* TRANSLATORS: after it, a command in code type. */
    web_text(b, _("As given by "));
    web_puts(b, "<code>patrold audit problems</code></p>");
    if (web_run_self(argv, &json) != 0 || !(j = cJSON_Parse(json)) || !cJSON_IsArray(j)) {
        web_tag(b, "p class=\"refusal\"", _("patrold audit problems could not be run."));
        web_puts(b, "</section>");
        cJSON_Delete(j);
        free(json);
        return;
    }
    web_printf(b, "<table id=\"problems\" data-count=\"%d\"><thead><tr>", cJSON_GetArraySize(j));
    web_tag(b, "th", _("Problem"));
    web_tag(b, "th", _("Matter"));
    web_tag(b, "th", _("Department"));
    web_tag(b, "th", _("Device"));
    web_tag(b, "th", _("Days"));
    web_tag(b, "th", _("Detail"));
    web_puts(b, "</tr></thead><tbody>");
    cJSON_ArrayForEach(p, j)
    {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(p, "code"),
                    *m = cJSON_GetObjectItemCaseSensitive(p, "matter"),
                    *d = cJSON_GetObjectItemCaseSensitive(p, "department"),
                    *dn = cJSON_GetObjectItemCaseSensitive(p, "device_name"),
                    *days = cJSON_GetObjectItemCaseSensitive(p, "days"),
                    *det = cJSON_GetObjectItemCaseSensitive(p, "detail");
        web_puts(b, "<tr><td><code>");
        web_text(b, cJSON_IsString(code) ? code->valuestring : "");
        web_puts(b, "</code></td><td>");
        if (cJSON_IsString(m)) {
            web_puts(b, "<a href=\"/matters/");
            web_url(b, m->valuestring);
            web_puts(b, "\">");
            web_text(b, m->valuestring);
            web_puts(b, "</a>");
        }
        web_puts(b, "</td><td>");
        web_text(b, cJSON_IsString(d) ? d->valuestring : "");
        web_puts(b, "</td><td>");
        web_text(b, cJSON_IsString(dn) ? dn->valuestring : "");
        web_puts(b, "</td><td class=\"num\">");
        if (cJSON_IsNumber(days))
            web_printf(b, "%.0f", days->valuedouble);
        web_puts(b, "</td><td>");
        web_text(b, cJSON_IsString(det) ? det->valuestring : "");
        web_puts(b, "</td></tr>");
    }
    web_puts(b, "</tbody></table></section>");
    cJSON_Delete(j);
    free(json);
}

void web_page_dashboard(web_ctx *c)
{
    const char *dept = c->who->department[0] ? c->who->department : NULL;
    rpt_opts o;
    web_buf b = {0};
    cJSON *j;
    int status = 0, y, m;
    char prev[32], next[32];

    if (month_of(c->rq->query, &y, &m) != 0) {
        web_refuse(c, 400, _("A month is written YYYY-MM (years 2000 to 2099)."));
        return;
    }
    memset(&o, 0, sizeof o);
    o.year = y;
    o.month = m;
    snprintf(o.period, sizeof o.period, "%04d-%02d", y % 10000, m % 100);
    o.department = dept; /* a reviewer: their department only */
    /* reporter and phone unset, as audit report without --reporter/--phone */
    j = rpt_build(c->db, &o, app_now_ms(), "web", &status);
    web_puts(&b, "<h1>");
    /* TRANSLATORS: the overview's heading: year, month. */
    web_textf(&b, _("Overview %04d-%02d"), y, m);
    web_puts(&b, "</h1><p class=\"months\">");
    snprintf(prev, sizeof prev, "%04d-%02d", m == 1 ? y - 1 : y, m == 1 ? 12 : m - 1);
    snprintf(next, sizeof next, "%04d-%02d", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    web_puts(&b, "<a href=\"/?month=");
    web_url(&b, prev);
    web_puts(&b, "\">");
    web_text(&b, _("Previous month"));
    web_puts(&b, "</a> <form method=\"get\" action=\"/\" class=\"inline\">"
                 "<input name=\"month\" id=\"month\" pattern=\"[0-9]{4}-[0-9]{2}\" value=\"");
    web_attr(&b, o.period);
    web_puts(&b, "\">");
    web_tag(&b, "button type=\"submit\"", _("Show"));
    web_puts(&b, "</form> <a href=\"/?month=");
    web_url(&b, next);
    web_puts(&b, "\">");
    web_text(&b, _("Next month"));
    web_puts(&b, "</a></p><p>");
    web_text(&b, _("Scope: "));
    web_puts(&b, "<span id=\"scope\">");
    web_text(&b, dept ? dept : _("the county"));
    web_puts(&b, "</span>. ");
    /* TRANSLATORS: followed by a command in code type. */
    web_text(&b, _("The same figures as "));
    web_puts(&b, "<code>patrold audit report --month ");
    web_text(&b, o.period);
    if (dept) {
        web_puts(&b, " --department ");
        web_text(&b, dept);
    }
    web_puts(&b, " --json</code></p>");
    if (!j) {
        web_tag(&b, "p class=\"refusal\" id=\"refusal\"",
                dept ? _("Your department has no records to count in this month.")
                     : _("The figures of this month cannot be made."));
        web_page(c, 200, _("Overview"), &b);
        web_buf_free(&b);
        return;
    }
    {
        const cJSON *units = cJSON_GetObjectItemCaseSensitive(j, "units");
        const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(j, "scopes");
        const cJSON *u = cJSON_GetArrayItem(units, 0);
        const cJSON *code = u ? cJSON_GetObjectItemCaseSensitive(u, "code") : NULL;
        const cJSON *scope =
            cJSON_IsString(code) ? cJSON_GetObjectItemCaseSensitive(scopes, code->valuestring)
                                 : NULL;
        for (const rpt_tabdef *td = rpt_tables; td->key; td++) {
            const cJSON *fig = cJSON_GetObjectItemCaseSensitive(scope, td->key);
            const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(j, "labels"), td->key);
            const cJSON *k;
            if (td->annual || !cJSON_IsObject(fig))
                continue;
            web_puts(&b, "<section><h2>");
            /* TRANSLATORS: a table of the monthly report, by its number (表1 ...). */
            web_textf(&b, _("Table %d "), rpt_table_number(td, m));
            web_text(&b, td->zh);
            web_puts(&b, "</h2>");
            if (strcmp(td->key, "methods") == 0)
                bar_chart(&b, td, fig);
            web_puts(&b, "<table><thead><tr>");
            web_tag(&b, "th", _("Item"));
            web_tag(&b, "th", _("Code"));
            web_tag(&b, "th", _("Figure"));
            web_puts(&b, "</tr></thead><tbody>");
            cJSON_ArrayForEach(k, fig)
            {
                const char *zh = k->string;
                for (const rpt_rowdef *rd = td->rows; rd && rd->key; rd++)
                    if (strcmp(rd->key, k->string) == 0)
                        zh = rd->zh;
                if (td->dynamic) {
                    const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, k->string);
                    zh = cJSON_IsString(l) && *l->valuestring ? l->valuestring : k->string;
                }
                web_puts(&b, "<tr><td>");
                web_text(&b, zh);
                web_puts(&b, "</td><td><code>");
                web_text(&b, k->string);
                web_puts(&b, "</code></td><td class=\"num\" data-table=\"");
                web_attr(&b, td->key);
                web_puts(&b, "\" data-key=\"");
                web_attr(&b, k->string);
                web_puts(&b, "\">");
                if (cJSON_IsNumber(k))
                    web_printf(&b, "%lld", (long long)k->valuedouble);
                else
                    web_puts(&b, "—");
                web_puts(&b, "</td></tr>");
            }
            web_puts(&b, "</tbody></table></section>");
        }
    }
    cJSON_Delete(j);
    problems(c, &b, dept);
    web_page(c, 200, _("Overview"), &b);
    web_buf_free(&b);
}

/* ---- 账户 (admin only) ------------------------------------------------- */

static int is_admin(web_ctx *c)
{
    if (strcmp(c->who->role, "admin") == 0)
        return 1;
    web_refuse(c, 403, _("Only an administrator may manage accounts and devices."));
    return 0;
}

typedef struct users_ud {
    web_ctx *c;
    web_buf *b;
} users_ud;

static int user_row(void *ud, const st_user *u)
{
    users_ud *x = ud;
    web_buf *b = x->b;
    char t[32];
    web_puts(b, "<tr><td>");
    web_text(b, u->name);
    web_puts(b, "</td><td>");
    web_text(b, u->role);
    web_puts(b, "</td><td>");
    web_text(b, u->department[0] ? u->department : _("the county"));
    web_puts(b, "</td><td>");
    web_beijing(u->changed_ms, t, sizeof t);
    web_text(b, t);
    web_puts(b, "</td><td>");
    if (u->disabled_ms) {
        web_beijing(u->disabled_ms, t, sizeof t);
        /* TRANSLATORS: an account's state: disabled at (a time). */
        web_textf(b, _("disabled %s"), t);
    } else {
        web_puts(b, "<form method=\"post\" action=\"/users/disable\" class=\"inline\">");
        web_csrf_field(x->c, b);
        web_puts(b, "<input type=\"hidden\" name=\"name\" value=\"");
        web_attr(b, u->name);
        web_puts(b, "\">");
        web_tag(b, "button type=\"submit\"", _("Disable"));
        web_puts(b, "</form>");
    }
    web_puts(b, "</td></tr>");
    return 0;
}

void web_page_users(web_ctx *c)
{
    web_buf b = {0};
    users_ud x = {c, &b};
    if (!is_admin(c))
        return;
    web_tag(&b, "h1", _("Accounts"));
    web_puts(&b, "<p>");
    /* TRANSLATORS: followed by two commands in code type. */
    web_text(&b, _("Accounts are added and passwords changed on the server: "));
    web_puts(&b, "<code>patrold user add</code> / <code>patrold user passwd</code> ");
    web_text(&b, _("(a password never appears in a web page or on a command line)."));
    web_puts(&b, "</p><table><thead><tr>");
    web_tag(&b, "th", _("Account"));
    web_tag(&b, "th", _("Role"));
    web_tag(&b, "th", _("Department"));
    web_tag(&b, "th", _("Password set"));
    web_tag(&b, "th", _("State"));
    web_puts(&b, "</tr></thead><tbody>");
    if (c->db->ops->users_each(c->db, user_row, &x) != ST_OK) {
        web_buf_free(&b);
        web_refuse(c, 503, _("The accounts cannot be read."));
        return;
    }
    web_puts(&b, "</tbody></table>");
    web_page(c, 200, _("Accounts"), &b);
    web_buf_free(&b);
}

void web_post_user_disable(web_ctx *c)
{
    char name[72], text[300];
    uint64_t leaf;
    const srv_request *rq = c->rq;
    int rc, n;
    if (!is_admin(c))
        return;
    if (web_form_get((const char *)rq->body, rq->body_len, "name", name, sizeof name) != 1 ||
        px_check_ident(name)) {
        web_refuse(c, 400, _("The account name is not valid."));
        return;
    }
    if (strcmp(name, c->who->name) == 0) {
        web_refuse(c, 400, _("You cannot disable the account you are using."));
        return;
    }
    n = snprintf(text, sizeof text, "patrol-web-admin\ndisable-user\n%s\n%s\n%" PRId64 "\n", name,
                 c->who->name, app_now_ms());
    if (n < 0 || (size_t)n >= sizeof text || c->db->ops->begin(c->db) != ST_OK) {
        web_refuse(c, 503, _("The server cannot record this action now."));
        return;
    }
    /* The disabling and its leaf, in one transaction. */
    rc = c->db->ops->user_disable(c->db, name, app_now_ms());
    if (rc == ST_OK)
        rc = slog_append(c->db, text, (size_t)n, app_now_ms(), &leaf);
    if (rc == ST_OK)
        rc = c->db->ops->commit(c->db);
    if (rc != ST_OK)
        c->db->ops->rollback(c->db);
    if (rc == ST_NOTFOUND)
        web_refuse(c, 404, _("There is no such account."));
    else if (rc != ST_OK)
        web_refuse(c, 503, _("The server cannot disable this account now."));
    else
        web_redirect(c, "/users");
}
