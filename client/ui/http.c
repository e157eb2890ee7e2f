/* http.c -- one request of patrol ui, in GNU libmicrohttpd's access
 * handler: what is refused before any page code runs (a method other than
 * GET/POST, a foreign Host, no launch secret, a foreign Origin, a body too
 * large or of another type, a bad CSRF token), the body (form fields, one
 * file streamed to a private temp file), and the headers every answer
 * carries. Prefix http_ (and ui_arg, ui_csrf). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "ui.h"

#define COOKIE "patrol_ui"

static char g_secret[UI_SECRET_HEX + 1];
static char g_csrf[UI_SECRET_HEX + 1];
static char g_hosts[3][96]; /* the Host values we answer to */
static size_t g_n_hosts;

/* The state of one request across the handler's calls. */
typedef enum cstate {
    CS_BODY,    /* reading the body */
    CS_REFUSED  /* answer `status` once the body is consumed */
} cstate;

typedef struct conn {
    cstate state;
    int status;          /* CS_REFUSED: 400, 403, 413, 415 */
    const char *why;     /* CS_REFUSED: the message (static, English msgid) */
    uint64_t received, cap;
    struct MHD_PostProcessor *pp;
    int file_fd;         /* -1 when closed */
    char tmp_dir[200];   /* the upload's private directory, "" if none */
    size_t field_bytes;
    ui_req req;
} conn;

const char *ui_csrf(void)
{
    return g_csrf;
}

static int random_hex(char *out, size_t nbytes)
{
    unsigned char buf[64];
    static const char hex[] = "0123456789abcdef";
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd < 0 || nbytes > sizeof buf)
        return -1;
    while (got < nbytes) {
        ssize_t n = read(fd, buf + got, nbytes - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        got += (size_t)n;
    }
    close(fd);
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 15];
    }
    out[2 * nbytes] = '\0';
    memset(buf, 0, sizeof buf);
    return 0;
}

int http_init(const char *host, unsigned port, char *secret_out, size_t len)
{
    if (random_hex(g_secret, UI_SECRET_HEX / 2) || random_hex(g_csrf, UI_SECRET_HEX / 2))
        return -1;
    snprintf(secret_out, len, "%s", g_secret);
    g_n_hosts = 0;
    snprintf(g_hosts[g_n_hosts++], sizeof g_hosts[0], "%s:%u", host, port);
    snprintf(g_hosts[g_n_hosts++], sizeof g_hosts[0], "localhost:%u", port);
    return 0;
}

/* Compare without a timing leak (the secret and the CSRF token). */
static int same_secret(const char *a, const char *b)
{
    size_t la, lb;
    unsigned char d = 0;
    if (!a || !b)
        return 0;
    la = strlen(a);
    lb = strlen(b);
    if (la != lb)
        return 0;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static int host_ok(const char *host)
{
    for (size_t i = 0; host && i < g_n_hosts; i++)
        if (strcasecmp(host, g_hosts[i]) == 0)
            return 1;
    return 0;
}

static int origin_ok(const char *origin)
{
    if (!origin)
        return 1;
    if (strncmp(origin, "http://", 7) != 0)
        return 0;
    return host_ok(origin + 7);
}

/* ---- answers ----------------------------------------------------------- */

static void security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data: blob:; media-src 'self' blob:; "
                            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                            "base-uri 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, "Permissions-Policy",
                            "camera=(self), microphone=(self), geolocation=(self)");
}

static enum MHD_Result send_buf(struct MHD_Connection *c, int status, const char *type,
                                const void *data, size_t n, int copy, const char *location,
                                const char *cookie, int refresh_s)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        n, (void *)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    if (!r)
        return MHD_NO;
    security_headers(r);
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (location)
        MHD_add_response_header(r, "Location", location);
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    if (refresh_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", refresh_s > 3600 ? 3600 : refresh_s);
        MHD_add_response_header(r, "Refresh", v);
    }
    ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A stored evidence file, streamed from its descriptor (closed by MHD).
 * Pictures, recordings and videos are shown in the page; anything else is
 * a download. */
static enum MHD_Result send_file(struct MHD_Connection *c, ui_resp *resp)
{
    const char *t = resp->file_type;
    int media = strncmp(t, "image/", 6) == 0 || strncmp(t, "audio/", 6) == 0 ||
                strncmp(t, "video/", 6) == 0;
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (!(r = MHD_create_response_from_fd64(resp->file_size, resp->file_fd))) {
        close(resp->file_fd);
        return MHD_NO;
    }
    security_headers(r);
    MHD_add_response_header(r, "Content-Type", media && strspn(t, "abcdefghijklmnopqrstuvwxyz"
                                                                  "0123456789/.+-") == strlen(t)
                                                   ? t
                                                   : "application/octet-stream");
    if (!media)
        MHD_add_response_header(r, "Content-Disposition", "attachment");
    MHD_add_response_header(r, "Cache-Control", "private, max-age=3600");
    ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, ui_resp *resp)
{
    enum MHD_Result ret;
    if (resp->has_file) {
        ub_free(&resp->body);
        return send_file(c, resp);
    }
    if (resp->body.oom) {
        ub_free(&resp->body);
        ui_error_page(resp, 500, N_("Out of memory"), N_("The page could not be made."));
    }
    if (resp->location[0])
        ret = send_buf(c, 303, "text/plain; charset=utf-8", "", 0, 0, resp->location, NULL, 0);
    else
        ret = send_buf(c, resp->status ? resp->status : 200, "text/html; charset=utf-8",
                       resp->body.p ? resp->body.p : "", resp->body.len, 1, NULL, NULL,
                       resp->refresh_s);
    ub_free(&resp->body);
    return ret;
}

static enum MHD_Result refuse(struct MHD_Connection *c, int status, const char *why)
{
    ui_resp resp;
    memset(&resp, 0, sizeof resp);
    ui_error_page(&resp, status, N_("Refused"), why);
    return send_resp(c, &resp);
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const char *name)
{
    const ui_asset *a = ui_asset_find(name);
    const char *type = "application/octet-stream";
    const char *dot;
    if (!a)
        return refuse(c, 404, N_("No such page."));
    dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".css") == 0)
        type = "text/css; charset=utf-8";
    else if (dot && strcmp(dot, ".js") == 0)
        type = "text/javascript; charset=utf-8";
    else if (dot && strcmp(dot, ".svg") == 0)
        type = "image/svg+xml";
    return send_buf(c, 200, type, a->data, a->size, 0, NULL, NULL, 0);
}

/* ---- the body ---------------------------------------------------------- */

/* The last part of a browser's file name, without control characters,
 * slashes or a leading dot, at most 100 bytes (whole UTF-8 characters);
 * "upload" if nothing is left. Written to out, returned. */
static const char *clean_name(const char *name, char *out, size_t len)
{
    const char *base = strrchr(name, '/');
    const char *b2 = strrchr(name, '\\');
    size_t n = 0;
    if (b2 && (!base || b2 > base))
        base = b2;
    base = base ? base + 1 : name;
    while (*base == '.')
        base++;
    for (; *base && n + 1 < len && n < 100; base++) {
        unsigned char c = (unsigned char)*base;
        if (c < 0x20 || c == 0x7f)
            continue;
        out[n++] = (char)c;
    }
    if (((unsigned char)*base & 0xc0) == 0x80) { /* a character cut short */
        while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
            n--;
        if (n > 0)
            n--;
    }
    out[n] = '\0';
    if (!n)
        snprintf(out, len, "upload");
    return out;
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
    conn *cs = cls;
    ui_req *q = &cs->req;
    (void)kind;
    (void)transfer_encoding;
    if (filename) {
        if (!filename[0] && size == 0)
            return MHD_YES; /* a file input left empty */
        if (off == 0) {
            if (q->file_path[0] || cs->file_fd >= 0) { /* one file per request */
                cs->state = CS_REFUSED;
                cs->status = 400;
                cs->why = N_("One file at a time, please.");
                return MHD_NO;
            }
            /* A private directory (0700, in this launch's: tmp.c) holding
             * the file under the name
             * the browser gave, cleaned, which the record keeps as the
             * original file name. */
            if (ui_tmp_dir(cs->tmp_dir, sizeof cs->tmp_dir, "upload") != 0)
                cs->tmp_dir[0] = '\0';
            else if (snprintf(q->file_path, sizeof q->file_path, "%s/%s", cs->tmp_dir,
                              clean_name(filename, q->file_name, sizeof q->file_name)) >=
                     (int)sizeof q->file_path) {
                rmdir(cs->tmp_dir); /* the path would be cut: refuse the upload */
                cs->tmp_dir[0] = '\0';
            }
            if (!cs->tmp_dir[0] ||
                (cs->file_fd = open(q->file_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                    0600)) < 0) {
                q->file_path[0] = '\0';
                cs->state = CS_REFUSED;
                cs->status = 500;
                cs->why = N_("The file could not be saved for import (temporary directory).");
                return MHD_NO;
            }
            snprintf(q->file_type, sizeof q->file_type, "%s", content_type ? content_type : "");
        }
        if (cs->file_fd < 0 || strcmp(key, "file") != 0) {
            cs->state = CS_REFUSED;
            cs->status = 400;
            cs->why = N_("One file at a time, please.");
            return MHD_NO;
        }
        while (size > 0) {
            ssize_t n = write(cs->file_fd, data, size);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                cs->state = CS_REFUSED;
                cs->status = 507;
                cs->why = N_("The file could not be saved for import (disk full?).");
                return MHD_NO;
            }
            data += n;
            size -= (size_t)n;
            q->file_size += (uint64_t)n;
        }
        return MHD_YES;
    }
    /* A plain field, possibly in several pieces. */
    cs->field_bytes += size;
    if (cs->field_bytes > UI_FORM_MAX) {
        cs->state = CS_REFUSED;
        cs->status = 413;
        cs->why = N_("The form is too large.");
        return MHD_NO;
    }
    if (off > 0 && q->n_fields > 0 && strcmp(q->fields[q->n_fields - 1].name, key) == 0) {
        ui_field *f = &q->fields[q->n_fields - 1];
        size_t have = strlen(f->value);
        char *nv;
        if (have + size > UI_VALUE_MAX || !(nv = realloc(f->value, have + size + 1)))
            goto too_big;
        memcpy(nv + have, data, size);
        nv[have + size] = '\0';
        f->value = nv;
        return MHD_YES;
    }
    if (q->n_fields >= UI_FIELDS_MAX || size > UI_VALUE_MAX)
        goto too_big;
    {
        ui_field *f = &q->fields[q->n_fields];
        if (!(f->name = strdup(key)) || !(f->value = malloc(size + 1))) {
            free(f->name);
            f->name = NULL;
            goto too_big;
        }
        memcpy(f->value, data, size);
        f->value[size] = '\0';
        q->n_fields++;
    }
    return MHD_YES;
too_big:
    cs->state = CS_REFUSED;
    cs->status = 413;
    cs->why = N_("The form is too large.");
    return MHD_NO;
}

const char *ui_arg(const ui_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_fields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND,
                                       name);
}

typedef struct uri_build {
    ubuf *b;
    int n;
} uri_build;

static enum MHD_Result uri_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    uri_build *u = cls;
    (void)kind;
    h(u->b, "%r%u=%u", u->n++ ? "&" : "?", key, value ? value : "");
    return MHD_YES;
}

void ui_request_uri(const ui_req *r, char *out, size_t len)
{
    ubuf b;
    uri_build u = {&b, 0};
    ub_init(&b);
    ub_puts(&b, r->path);
    MHD_get_connection_values((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND, uri_arg,
                              &u);
    snprintf(out, len, "%s", b.p && !b.oom && strlen(b.p) < len ? b.p : r->path);
    ub_free(&b);
}

static void conn_free(conn *cs)
{
    if (!cs)
        return;
    if (cs->pp)
        MHD_destroy_post_processor(cs->pp);
    if (cs->file_fd >= 0)
        close(cs->file_fd);
    if (cs->req.file_path[0])
        unlink(cs->req.file_path); /* imported (copied into the store) or abandoned */
    if (cs->tmp_dir[0])
        rmdir(cs->tmp_dir);
    for (size_t i = 0; i < cs->req.n_fields; i++) {
        free(cs->req.fields[i].name);
        free(cs->req.fields[i].value);
    }
    free(cs);
}

void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    conn_free(*con_cls);
    *con_cls = NULL;
}

/* The first call for a request: only its headers are known. Returns 1 if
 * an answer was queued (the request ends), 0 to go on reading the body. */
static int first_call(struct MHD_Connection *c, const char *url, const char *method, conn *cs,
                      enum MHD_Result *ret)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *k, *cookie, *clen, *ctype, *site, *origin;
    int post = strcmp(method, "POST") == 0;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && !post) {
        *ret = refuse(c, 405, N_("Only GET and POST are answered."));
        return 1;
    }
    /* DNS rebinding: a page of another site that resolves its name to
     * 127.0.0.1 still sends its own Host. */
    if (!host_ok(host)) {
        *ret = refuse(c, 403, N_("This address is not the terminal's own (Host)."));
        return 1;
    }
    if (strncmp(url, "/s/", 3) == 0 && !post) {
        *ret = send_asset(c, url + 3);
        return 1;
    }
    k = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k");
    if (k && !post) {
        char cookie_hdr[160], loc[300];
        if (!same_secret(k, g_secret)) {
            *ret = refuse(c, 403, N_("The launch key is wrong: start from the address the "
                                     "terminal printed."));
            return 1;
        }
        snprintf(cookie_hdr, sizeof cookie_hdr, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
                 COOKIE, g_secret);
        /* Back to the page without the key, so it is not kept in the history. */
        snprintf(loc, sizeof loc, "%s", url[0] == '/' && url[1] != '/' ? url : "/");
        *ret = send_buf(c, 303, "text/plain; charset=utf-8", "", 0, 0, loc, cookie_hdr, 0);
        return 1;
    }
    cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
    if (!same_secret(cookie, g_secret)) {
        *ret = refuse(c, 403, N_("Only this terminal's user may record here: open the "
                                 "address 'patrol ui' printed."));
        return 1;
    }
    if (!post)
        return 0;
    /* A browser says where a form came from: Sec-Fetch-Site (which no page
     * can set) must be same-origin; Origin must be ours, or "null", which
     * is what a browser sends under Referrer-Policy: no-referrer -- then
     * only with Sec-Fetch-Site: same-origin. */
    site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if ((site && strcmp(site, "same-origin") != 0) ||
        (origin && strcmp(origin, "null") == 0 ? !site : !origin_ok(origin))) {
        *ret = refuse(c, 403, N_("A form from another site may not record here (Origin)."));
        return 1;
    }
    ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    cs->cap = ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0 ? UI_UPLOAD_MAX
                                                                          : UI_FORM_MAX;
    clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (clen) {
        char *end;
        unsigned long long n;
        errno = 0;
        n = strtoull(clen, &end, 10);
        if (errno || *end || end == clen || n > cs->cap) {
            *ret = refuse(c, 413, N_("Too large: a file may be at most 64 MB, a form 256 KB."));
            return 1;
        }
    }
    if (!ctype || (strncasecmp(ctype, "multipart/form-data", 19) != 0 &&
                   strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)) {
        *ret = refuse(c, 415, N_("Forms only."));
        return 1;
    }
    cs->pp = MHD_create_post_processor(c, 16 * 1024, on_field, cs);
    if (!cs->pp) {
        *ret = refuse(c, 400, N_("The form could not be read."));
        return 1;
    }
    return 0;
}

enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **con_cls)
{
    conn *cs = *con_cls;
    enum MHD_Result ret = MHD_NO;
    ui_resp resp;
    (void)cls;
    (void)version;

    if (!cs) {
        if (!(cs = calloc(1, sizeof *cs)))
            return MHD_NO;
        cs->file_fd = -1;
        cs->state = CS_BODY;
        cs->req.conn = c;
        cs->req.method = strcmp(method, "POST") == 0 ? "POST" : "GET";
        cs->req.path = url;
        *con_cls = cs;
        if (first_call(c, url, method, cs, &ret))
            return ret;
        return MHD_YES;
    }
    if (*upload_size) {
        cs->received += *upload_size;
        if (cs->state == CS_BODY && cs->received > cs->cap) {
            /* No Content-Length (chunked): the cap is counted as it comes. */
            cs->state = CS_REFUSED;
            cs->status = 413;
            cs->why = N_("Too large: a file may be at most 64 MB, a form 256 KB.");
        }
        if (cs->state == CS_BODY && cs->pp &&
            MHD_post_process(cs->pp, upload, *upload_size) != MHD_YES && cs->state == CS_BODY) {
            cs->state = CS_REFUSED;
            cs->status = 400;
            cs->why = N_("The form could not be read.");
        }
        *upload_size = 0;
        /* Past four times the cap a client that ignores the answer is cut. */
        return cs->received > 4 * (uint64_t)cs->cap ? MHD_NO : MHD_YES;
    }
    if (cs->file_fd >= 0) {
        if (fsync(cs->file_fd) != 0 && cs->state == CS_BODY) {
            cs->state = CS_REFUSED;
            cs->status = 507;
            cs->why = N_("The file could not be saved for import (disk full?).");
        }
        close(cs->file_fd);
        cs->file_fd = -1;
    }
    if (cs->state == CS_REFUSED)
        return refuse(c, cs->status, cs->why);
    if (strcmp(cs->req.method, "POST") == 0 && !same_secret(ui_arg(&cs->req, "csrf"), g_csrf))
        return refuse(c, 403, N_("The form's token is wrong or missing (CSRF): reload the page "
                                 "and try again."));
    memset(&resp, 0, sizeof resp);
    ub_init(&resp.body);
    if (!ui_lock_gate(&cs->req, &resp))
        ui_route(&cs->req, &resp);
    return send_resp(c, &resp);
}
