/* web_lists.c -- 清单: the reference data the server hands to terminals
 * (web_int.h): every version stored, each one viewable (?version=N, else
 * the latest: version, label and note, departments, domains and the three
 * lists' items), and, for an admin, a new version imported from the
 * browser (POST /lists/import, multipart): the file `patrold lists import`
 * reads, checked by the same function (refjson_load) and refused with the
 * same sentence naming the place in the file; nothing is stored unless
 * all of it is sound. The version and its leaves are one transaction: the
 * `patrol-lists` leaf the command appends and a `patrol-web-admin` leaf
 * naming the account (docs/console.md "Server log leaves").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patrol.pb-c.h"
#include "refjson.h"
#include "i18n.h"
#include "slog.h"
#include "validate.h"
#include "web_int.h"

static const char *list_zh(const char *t)
{
    /* The choices' own labels (proto's rules table). */
    return strcmp(t, "no_penalty") == 0 ? _("no-penalty list")
           : strcmp(t, "lighter") == 0  ? _("lighter-penalty list")
           : strcmp(t, "reduced") == 0  ? _("reduced-penalty list")
                                        : t;
}

typedef struct versions {
    web_buf *b;
    uint64_t shown;
    size_t n;
} versions;

static int version_row(void *ud, uint64_t version, int64_t imported_ms, size_t len)
{
    versions *v = ud;
    char t[32];
    web_beijing(imported_ms, t, sizeof t);
    web_printf(v->b, "<tr%s><td class=\"num\">%" PRIu64 "</td><td>", version == v->shown
                                                                          ? " class=\"shown\""
                                                                          : "",
               version);
    web_text(v->b, t);
    web_printf(v->b, "</td><td class=\"num\">%zu</td><td>", len);
    if (version == v->shown)
        web_text(v->b, _("(shown)"));
    else {
        web_printf(v->b, "<a href=\"/lists?version=%" PRIu64 "\">", version);
        web_text(v->b, _("Show"));
        web_puts(v->b, "</a>");
    }
    web_puts(v->b, "</td></tr>");
    v->n++;
    return 0;
}

/* The contents of one version. */
static void contents(web_buf *b, const Patrol__V1__Reference *r, uint64_t version,
                     int64_t imported_ms)
{
    char t[32];
    web_beijing(imported_ms, t, sizeof t);
    web_puts(b, "<h2>");
    web_textf(b, _("Version %llu, its contents"), (unsigned long long)version);
    web_puts(b, "</h2><table><tbody><tr>");
    web_tag(b, "th", _("Version"));
    web_printf(b, "<td id=\"lists-version\">%" PRIu64 "</td></tr><tr>", version);
    web_tag(b, "th", _("Imported"));
    web_tag(b, "td", t);
    web_puts(b, "</tr><tr>");
    web_tag(b, "th", _("File label"));
    web_tag(b, "td id=\"lists-label\"", r->label);
    web_puts(b, "</tr><tr>");
    web_tag(b, "th", _("Note"));
    web_tag(b, "td", r->note);
    web_puts(b, "</tr><tr>");
    web_tag(b, "th", _("Inspector roster"));
    web_puts(b, "<td>");
    web_textf(b, _("%zu inspectors"), r->n_roster);
    web_puts(b, "</td></tr><tr>");
    web_tag(b, "th", _("Assigned revisits"));
    web_puts(b, "<td>");
    web_textf(b, _("%zu revisits"), r->n_revisits);
    web_puts(b, "</td></tr><tr>");
    web_tag(b, "th", _("Leaflets"));
    web_puts(b, "<td>");
    web_textf(b, _("%zu leaflets"), r->n_leaflets);
    web_puts(b, "</td></tr></tbody></table><h2>");
    web_textf(b, _("Departments (%zu)"), r->n_departments);
    web_puts(b, "</h2><table id=\"departments\">");
    web_thead(b, (const char *const[]){_("Code"), _("Name"), NULL});
    web_puts(b, "<tbody>");
    for (size_t i = 0; i < r->n_departments; i++) {
        web_puts(b, "<tr><td><code>");
        web_text(b, r->departments[i]->code);
        web_puts(b, "</code></td><td>");
        web_text(b, r->departments[i]->name);
        web_puts(b, "</td></tr>");
    }
    web_puts(b, "</tbody></table><h2>");
    web_textf(b, _("Domains (%zu)"), r->n_domains);
    web_puts(b, "</h2><table>");
    web_thead(b, (const char *const[]){_("Code"), _("Name"), _("Flexible enforcement"), NULL});
    web_puts(b, "<tbody>");
    for (size_t i = 0; i < r->n_domains; i++) {
        web_puts(b, "<tr><td><code>");
        web_text(b, r->domains[i]->code);
        web_puts(b, "</code></td><td>");
        web_text(b, r->domains[i]->name);
        web_puts(b, "</td>");
        web_tag(b, "td", r->domains[i]->flexible ? _("yes") : _("no"));
        web_puts(b, "</tr>");
    }
    web_puts(b, "</tbody></table><h2>");
    web_textf(b, _("The three lists (%zu items)"), r->n_list_items);
    web_puts(b, "</h2><table id=\"list-items\">");
    web_thead(b, (const char *const[]){_("List"), _("Version"), _("Code"), _("Domain"), _("Name"),
                                       NULL});
    web_puts(b, "<tbody>");
    for (size_t i = 0; i < r->n_list_items; i++) {
        const Patrol__V1__ListItem *it = r->list_items[i];
        web_puts(b, "<tr><td>");
        web_text(b, list_zh(it->list_type));
        web_puts(b, "</td><td>");
        web_text(b, it->list_version);
        web_puts(b, "</td><td><code>");
        web_text(b, it->code);
        web_puts(b, "</code></td><td>");
        web_text(b, it->domain);
        web_puts(b, "</td><td>");
        web_text(b, it->name);
        web_puts(b, "</td></tr>");
    }
    web_puts(b, "</tbody></table>");
}

/* The import form, for an admin. */
static void import_form(web_ctx *c, web_buf *b)
{
    if (strcmp(c->who->role, "admin") != 0) {
        web_puts(b, "<p>");
        /* TRANSLATORS: followed by a command in code type. */
        web_text(b, _("A new version is imported by an administrator on this page, or on the "
                      "server with "));
        web_puts(b, "<code>patrold --data DIR lists import FILE</code></p>");
        return;
    }
    web_tag(b, "h2", _("Import a new version"));
    web_puts(b, "<form method=\"post\" action=\"/lists/import\" "
                "enctype=\"multipart/form-data\" class=\"upload\">");
    web_csrf_field(c, b);
    web_puts(b, "<label>");
    /* TRANSLATORS: the file picker's label; %u is its limit in MiB. */
    web_textf(b, _("List file (JSON, the file patrold lists import reads; at most %u MiB)"),
              WEB_UPLOAD_MAX >> 20);
    web_puts(b, " <input type=\"file\" name=\"file\" id=\"lists-file\" "
                "accept=\".json,application/json\" required></label> ");
    web_tag(b, "button type=\"submit\" id=\"lists-import\"",
            _("Import (recorded in the server log)"));
    web_puts(b, "</form>");
    web_tag(b, "p", _("The file is checked whole: if any place breaks a rule, nothing of it is "
                      "imported and the place is named. Terminals get a new version at their next "
                      "sync; older versions stay viewable."));
}

void web_page_lists(web_ctx *c)
{
    uint64_t version = 0;
    uint8_t *blob = NULL;
    size_t len = 0;
    int64_t imported_ms = 0;
    char vq[24];
    Patrol__V1__Reference *r = NULL;
    web_buf b = {0};
    versions v = {&b, 0, 0};
    int rc, asked;

    asked = web_form_get(c->rq->query, strlen(c->rq->query), "version", vq, sizeof vq);
    if (asked < 0 || (asked == 1 && px_parse_u64(vq, 1, UINT64_MAX >> 1, &version))) {
        web_refuse(c, 400, _("The version number is not valid."));
        return;
    }
    /* The latest's number, then the version with its import time. */
    rc = asked == 1 ? ST_OK : c->db->ops->reference_latest(c->db, &version, &blob, &len);
    free(blob);
    blob = NULL;
    if (rc == ST_OK)
        rc = c->db->ops->reference_get(c->db, version, &blob, &len, &imported_ms);
    if (rc == ST_NOTFOUND && asked == 1) {
        web_refuse(c, 404, _("There is no such version of the reference data."));
        return;
    }
    if ((rc != ST_OK && rc != ST_NOTFOUND) ||
        (rc == ST_OK && !(r = patrol__v1__reference__unpack(NULL, len, blob)))) {
        free(blob);
        web_refuse(c, 503, _("The reference data cannot be read."));
        return;
    }
    free(blob);
    web_tag(&b, "h1", _("Reference lists"));
    web_tag(&b, "p", _("The reference data the server hands to terminals: departments, domains, "
                       "the three lists, leaflets, the inspector roster and assigned revisits. "
                       "Terminals get the latest version when they sync."));
    import_form(c, &b);
    v.shown = rc == ST_OK ? version : 0;
    web_tag(&b, "h2", _("Versions"));
    web_puts(&b, "<table id=\"lists-versions\">");
    web_thead(&b, (const char *const[]){_("Version"), _("Imported"), _("Size (bytes)"), "", NULL});
    web_puts(&b, "<tbody>");
    if (c->db->ops->references_each(c->db, version_row, &v) != ST_OK) {
        if (r)
            patrol__v1__reference__free_unpacked(r, NULL);
        web_buf_free(&b);
        web_refuse(c, 503, _("The reference data cannot be read."));
        return;
    }
    web_puts(&b, "</tbody></table>");
    if (!r)
        web_tag(&b, "p id=\"lists-none\"",
                _("No reference data has been imported yet (terminals use their built-in data)."));
    else {
        contents(&b, r, version, imported_ms);
        patrol__v1__reference__free_unpacked(r, NULL);
    }
    web_page(c, 200, _("Reference lists"), &b);
    web_buf_free(&b);
}

/* A refusal of the file: 400 (or status), its name and why, nothing stored. */
static void refuse_file(web_ctx *c, int status, const char *filename, const char *why)
{
    web_buf b = {0};
    web_puts(&b, "<h1>");
    web_textf(&b, _("Request refused (%d)"), status);
    web_puts(&b, "</h1><p class=\"refusal\" id=\"refusal\">");
    /* TRANSLATORS: a refused list file: its name, why (lists import's
     * sentence, naming the place in the file). */
    web_textf(&b, _("List file %s not imported: %s. The server's reference data is unchanged."),
              filename[0] ? filename : _("(no name)"), why);
    web_puts(&b, "</p><p><a href=\"/lists\">");
    web_text(&b, _("Back to the reference lists"));
    web_puts(&b, "</a></p>");
    web_page(c, status, _("Request refused"), &b);
    web_buf_free(&b);
}

void web_post_lists_import(web_ctx *c)
{
    const uint8_t *file;
    size_t n, len, lists;
    char filename[128], why[512], leaf[300];
    Patrol__V1__Reference *r = NULL;
    uint8_t *blob = NULL;
    uint64_t version, idx;
    int64_t now = app_now_ms();
    int got, k;
    st_backend *db = c->db;

    if (strcmp(c->who->role, "admin") != 0) {
        web_refuse(c, 403, _("Only an administrator may import reference lists."));
        return;
    }
    got = web_multipart_get(c->rq, "file", &file, &n, filename, sizeof filename);
    if (got < 0) {
        web_refuse(c, 400, _("The uploaded form is not valid (multipart/form-data with the list "
                             "file is expected)."));
        return;
    }
    if (got == 0 || n == 0) {
        refuse_file(c, 400, got ? filename : "", _("no file was chosen, or the file is empty"));
        return;
    }
    if (refjson_load((const char *)file, n, &r, &blob, &len, &lists, why, sizeof why)) {
        refuse_file(c, 400, filename, why);
        return;
    }
    /* The version, the command's leaf and the account's, together. */
    if (db->ops->begin(db) != ST_OK || db->ops->reference_put(db, blob, len, now, &version) != ST_OK ||
        slog_lists_import(db, version, blob, len, now) != ST_OK ||
        (k = snprintf(leaf, sizeof leaf, "patrol-web-admin\nlists-import\n%" PRIu64 "\n%s\n%" PRId64
                                         "\n",
                      version, c->who->name, now)) < 0 ||
        (size_t)k >= sizeof leaf || slog_append(db, leaf, (size_t)k, now, &idx) != ST_OK ||
        db->ops->commit(db) != ST_OK) {
        app_log("error", "event=web_lists_import_failed reason=\"%s\"", db->ops->errmsg(db));
        db->ops->rollback(db);
        patrol__v1__reference__free_unpacked(r, NULL);
        free(blob);
        web_refuse(c, 503, _("The server cannot store this version: nothing was imported."));
        return;
    }
    app_log("info", "event=web_lists_import user=%s items=%zu lists=%zu", c->who->name,
            r->n_list_items, lists);
    patrol__v1__reference__free_unpacked(r, NULL);
    free(blob);
    web_redirect(c, "/lists");
}
