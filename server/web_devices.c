/* web_devices.c -- 终端: the devices, adding one (a one-time enrolment
 * token and its QR code) and revoking one; admin only (web_int.h).
 *
 * The QR code carries one line, "PTE1 URL TOKEN": the device port's URL
 * (the host the admin's browser reached, with the device port) and the
 * token `patrold device add` prints, which carries the server key's pin.
 * `patrol enroll --qr 'PTE1 ...'` takes it as a scanner app hands it over.
 */
#include <inttypes.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "slog.h"
#include "tls.h"
#include "validate.h"
#include "web_int.h"

static int is_admin(web_ctx *c)
{
    if (strcmp(c->who->role, "admin") == 0)
        return 1;
    web_refuse(c, 403, _("Only an administrator may manage accounts and devices."));
    return 0;
}

static int device_row(void *ud, const st_device *d)
{
    web_ctx *c = ((void **)ud)[0];
    web_buf *b = ((void **)ud)[1];
    /* TRANSLATORS: a device's status: not enrolled yet, in use, revoked. */
    static const char *const st[] = {N_("not enrolled"), N_("active"), N_("revoked")};
    char t[32];
    web_printf(b, "<tr><td>%lld</td><td>", (long long)d->id);
    web_text(b, d->name);
    web_puts(b, "</td><td>");
    web_text(b, d->department);
    web_puts(b, "</td>");
    web_tag(b, "td", _(st[d->status % 3]));
    web_puts(b, "<td>");
    web_beijing(d->last_sync_ms, t, sizeof t);
    web_text(b, t);
    web_printf(b, "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64
                  "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64 "</td><td>",
               d->last_seq, d->entries, d->evidence_pending, d->forks);
    if (d->status != DEV_REVOKED) {
        web_puts(b, "<form method=\"post\" action=\"/devices/revoke\" class=\"inline\">");
        web_csrf_field(c, b);
        web_printf(b, "<input type=\"hidden\" name=\"id\" value=\"%lld\">", (long long)d->id);
        web_tag(b, "button type=\"submit\"", _("Revoke"));
        web_puts(b, "</form>");
    }
    web_puts(b, "</td></tr>");
    return 0;
}

void web_page_devices(web_ctx *c)
{
    web_buf b = {0};
    void *ud[2] = {c, &b};
    if (!is_admin(c))
        return;
    web_tag(&b, "h1", _("Devices"));
    web_puts(&b, "<table>");
    web_thead(&b, (const char *const[]){_("Number"), _("Name"), _("Department"), _("State"),
                                        _("Last sync"), _("Sequence"), _("Entries"),
                                        _("Evidence pending"), _("Forks"), "", NULL});
    web_puts(&b, "<tbody>");
    if (c->db->ops->device_list(c->db, device_row, ud) != ST_OK) {
        web_buf_free(&b);
        web_refuse(c, 503, _("The devices cannot be read."));
        return;
    }
    web_puts(&b, "</tbody></table>");
    web_tag(&b, "h2", _("Add a device"));
    web_puts(&b, "<form method=\"post\" action=\"/devices/add\" class=\"login\">");
    web_csrf_field(c, &b);
    web_puts(&b, "<label>");
    web_text(&b, _("Name"));
    web_puts(&b, " <input name=\"name\" id=\"dev-name\" required maxlength=\"120\"></label><label>");
    web_text(&b, _("Department code"));
    web_puts(&b, " <input name=\"department\" id=\"dev-dept\" required maxlength=\"64\"></label>");
    web_tag(&b, "button type=\"submit\" id=\"dev-add\"", _("Make an enrolment code"));
    web_puts(&b, "</form>");
    web_page(c, 200, _("Devices"), &b);
    web_buf_free(&b);
}

/* The QR code of text as SVG: one path of the dark modules, a 4-module
 * quiet zone, 6 pixels a module. */
static int qr_svg(web_buf *b, const char *text)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    int w;
    if (!q)
        return -1;
    w = q->width + 8;
    web_printf(b, "<svg id=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                  "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
                  "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"></rect><path fill=\"#000\" d=\"",
               w, w, w * 6, w * 6, w, w);
    for (int y = 0; y < q->width; y++)
        for (int x = 0; x < q->width; x++)
            if (q->data[y * q->width + x] & 1)
                web_printf(b, "M%d %dh1v1h-1z", x + 4, y + 4);
    web_puts(b, "\"></path></svg>");
    QRcode_free(q);
    return 0;
}

/* The device port's URL as this browser would reach it: the host of the
 * console request's Host header (checked to be a host name or address)
 * and the device listener's port. */
static int device_url(web_ctx *c, char *out, size_t cap)
{
    const char *h = srv_header_get(c->rq, "host");
    char host[256];
    size_t n = 0;
    if (!h || !*h)
        return -1;
    if (h[0] == '[') { /* [v6]:port */
        const char *e = strchr(h, ']');
        if (!e)
            return -1;
        n = (size_t)(e - h) + 1;
    } else {
        const char *e = strchr(h, ':');
        n = e ? (size_t)(e - h) : strlen(h);
    }
    if (n == 0 || n >= sizeof host)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
            return -1;
        host[i] = ch;
    }
    host[n] = '\0';
    n = (size_t)snprintf(out, cap, "https://%s:%u", host, srv_port(c->a->net));
    return n < cap ? 0 : -1;
}

void web_post_device_add(web_ctx *c)
{
    const srv_request *rq = c->rq;
    char name[128], dept[72], url[300], pin[64], sid[16], ssecret[32], tok[160], text[512],
         path[4200];
    uint8_t id[8], secret[16], kid[PX_HASH_LEN];
    px_key *k = NULL;
    const char *why;
    st_token t;
    int64_t dev;
    web_buf b = {0};
    st_backend *db = c->db;

    if (!is_admin(c))
        return;
    if (web_form_get((const char *)rq->body, rq->body_len, "name", name, sizeof name) != 1 ||
        px_check_line(name, 120) || !name[0] ||
        web_form_get((const char *)rq->body, rq->body_len, "department", dept, sizeof dept) != 1 ||
        px_check_ident(dept)) {
        web_refuse(c, 400, _("The device name (one line, at most 120 bytes) or the department code "
                             "(letters, digits, ._-) is not valid."));
        return;
    }
    if (device_url(c, url, sizeof url) != 0) {
        web_refuse(c, 400, _("The request's Host header is not valid: the server's address for "
                             "the terminal cannot be made."));
        return;
    }
    /* The server key's pin, as `patrold device add` puts in its token. */
    if ((size_t)snprintf(path, sizeof path, "%s/server.key", c->a->data_dir) >= sizeof path ||
        px_key_load_private(path, &k, &why) != 0 || px_key_id(k, kid) != 0 ||
        px_base64url_encode(kid, sizeof kid, pin, sizeof pin) != 0) {
        px_key_free(k);
        web_refuse(c, 503, _("The server's key cannot be read."));
        return;
    }
    px_key_free(k);
    if (px_random(id, sizeof id) || px_random(secret, sizeof secret)) {
        web_refuse(c, 503, _("The server cannot make a random number."));
        return;
    }
    memset(&t, 0, sizeof t);
    px_sha256(secret, sizeof secret, t.secret_hash);
    t.expires_ms = app_now_ms() + 7 * 86400000LL;
    if (db->ops->begin(db) != ST_OK || db->ops->device_add(db, name, dept, app_now_ms(), &dev) != ST_OK ||
        (t.device = dev, db->ops->token_add(db, id, &t)) != ST_OK || db->ops->commit(db) != ST_OK) {
        db->ops->rollback(db);
        px_wipe(secret, sizeof secret);
        web_refuse(c, 503, _("The device cannot be added."));
        return;
    }
    px_base64url_encode(id, sizeof id, sid, sizeof sid);
    px_base64url_encode(secret, sizeof secret, ssecret, sizeof ssecret);
    px_wipe(secret, sizeof secret);
    snprintf(tok, sizeof tok, "PT1.%s.%s.%s", sid, ssecret, pin);
    snprintf(text, sizeof text, "PTE1 %s %s", url, tok);
    web_puts(&b, "<h1>");
    web_textf(&b, _("Device %lld, to be enrolled"), (long long)dev);
    web_puts(&b, "</h1><p>");
    /* TRANSLATORS: followed by a command in code type. */
    web_text(&b, _("Scan the QR code below with the terminal, or run on it: "));
    web_puts(&b, "<code>patrol enroll --qr '…'</code>. ");
    web_text(&b, _("The code is valid for 7 days, once; it is not shown again after you leave "
                   "this page."));
    web_puts(&b, "</p>");
    if (qr_svg(&b, text) != 0) {
        web_buf_free(&b);
        px_wipe(tok, sizeof tok);
        px_wipe(text, sizeof text);
        web_refuse(c, 500, _("The QR code cannot be made."));
        return;
    }
    web_tag(&b, "p", _("The QR code holds:"));
    web_tag(&b, "pre id=\"qr-text\"", text);
    web_puts(&b, "<p><a href=\"/devices\">");
    web_text(&b, _("Back to the devices"));
    web_puts(&b, "</a></p>");
    web_page(c, 200, _("Add a device"), &b);
    web_buf_free(&b);
    px_wipe(tok, sizeof tok);
    px_wipe(text, sizeof text);
}

void web_post_device_revoke(web_ctx *c)
{
    char idtxt[24];
    uint64_t id;
    st_backend *db = c->db;
    int rc;
    if (!is_admin(c))
        return;
    if (web_form_get((const char *)c->rq->body, c->rq->body_len, "id", idtxt, sizeof idtxt) != 1 ||
        px_parse_u64(idtxt, 1, INT64_MAX, &id)) {
        web_refuse(c, 400, _("The device number is not valid."));
        return;
    }
    /* The revocation and its leaf, together (as `patrold device revoke`). */
    rc = app_device_revoke(db, (int64_t)id);
    if (rc == ST_NOTFOUND)
        web_refuse(c, 404, _("There is no such device."));
    else if (rc != ST_OK)
        web_refuse(c, 503, _("The device cannot be revoked."));
    else
        web_redirect(c, "/devices");
}
