/* lock.c -- the optional inspector PIN (patrol ui --lock-after SECONDS):
 * after that long without a request the pages are locked until the PIN is
 * given again. A form posted while locked is not lost: the unlock page
 * carries its fields (a file excepted) and records it once the PIN is
 * right. Five wrong PINs in a row lock out for five minutes. The PIN is
 * kept in memory only and compared in constant time. Prefix lock_ (and
 * ui_lock_*). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui.h"

#define LOCK_TRIES 5
#define LOCK_OUT_S 300

static char g_pin[16];
static unsigned g_idle_s;
static int64_t g_last, g_out_until;
static int g_locked, g_wrong;

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

int ui_lock_init(const char *pin, unsigned idle_s)
{
    size_t n = strlen(pin);
    if (n < 4 || n > 12 || strspn(pin, "0123456789") != n)
        return -1;
    snprintf(g_pin, sizeof g_pin, "%s", pin);
    g_idle_s = idle_s;
    g_last = now_s();
    return 0;
}

void ui_lock_wipe(void)
{
    volatile char *p = g_pin;
    for (size_t i = 0; i < sizeof g_pin; i++)
        p[i] = 0;
}

static int pin_ok(const char *s)
{
    size_t a = strlen(g_pin), b = s ? strlen(s) : 0;
    unsigned char d = (unsigned char)(a != b);
    for (size_t i = 0; i < a; i++)
        d |= (unsigned char)(g_pin[i] ^ (i < b ? s[i] : 0));
    return d == 0;
}

static void unlock_page(const ui_req *r, ui_resp *out, const char *error, int carry)
{
    ubuf *b = &out->body;
    ui_page_begin(b, _("Locked"));
    h(b, "<h1>%t</h1><p class=\"help\">%t</p>", _("Locked"),
      _("Nothing was done on this terminal for a while: give the inspector's PIN to go on."));
    if (error)
        h(b, "<p class=\"err banner\" role=\"alert\">%t</p>", error);
    h(b, "<form method=\"post\" action=\"/unlock\" class=\"rec\">"
         "<input type=\"hidden\" name=\"csrf\" value=\"%a\">",
      ui_csrf());
    if (carry) {
        /* The form that met the lock, to be recorded after it. */
        const char *path = strcmp(r->path, "/unlock") == 0 ? ui_arg(r, "carry_path") : r->path;
        h(b, "<input type=\"hidden\" name=\"carry_path\" value=\"%a\">", path ? path : "/");
        for (size_t i = 0; i < r->n_fields; i++) {
            const char *n = r->fields[i].name;
            if (strcmp(n, "csrf") == 0 || strcmp(n, "pin") == 0 || strcmp(n, "carry_path") == 0)
                continue;
            if (strncmp(n, "carry.", 6) == 0)
                n += 6;
            h(b, "<input type=\"hidden\" name=\"carry.%a\" value=\"%a\">", n, r->fields[i].value);
        }
        h(b, "<p class=\"notice\">%t</p>",
          r->file_path[0] ? _("The form will be saved after unlocking; its file was not kept: "
                              "choose it again.")
                          : _("The form will be saved after unlocking."));
    } else {
        char uri[512];
        if (strcmp(r->path, "/unlock") == 0)
            snprintf(uri, sizeof uri, "%s", ui_local_path(ui_arg(r, "next")) ? ui_arg(r, "next") : "/");
        else
            ui_request_uri(r, uri, sizeof uri);
        h(b, "<input type=\"hidden\" name=\"next\" value=\"%a\">", uri);
    }
    h(b, "<div class=\"f\"><label for=\"pin\">%t</label><input type=\"password\" id=\"pin\" "
         "name=\"pin\" inputmode=\"numeric\" autocomplete=\"off\" required autofocus></div>"
         "<button class=\"btn primary\" type=\"submit\">%t</button></form>",
      _("PIN"), _("Unlock"));
    ui_page_end(b);
}

int ui_lock_gate(ui_req *r, ui_resp *out)
{
    int64_t now;
    int post = strcmp(r->method, "POST") == 0;
    int carrying;
    if (!g_pin[0])
        return 0;
    now = now_s();
    if (!g_locked && now - g_last > (int64_t)g_idle_s)
        g_locked = 1;
    if (!g_locked) {
        g_last = now;
        return 0;
    }
    carrying = post && (strcmp(r->path, "/unlock") != 0 || ui_arg(r, "carry_path"));
    if (!(post && strcmp(r->path, "/unlock") == 0)) {
        unlock_page(r, out, NULL, carrying);
        return 1;
    }
    if (now < g_out_until) {
        unlock_page(r, out, _("Too many wrong PINs: wait five minutes."), carrying);
        out->status = 429;
        return 1;
    }
    if (!pin_ok(ui_arg(r, "pin"))) {
        if (++g_wrong >= LOCK_TRIES) {
            g_wrong = 0;
            g_out_until = now + LOCK_OUT_S;
        }
        unlock_page(r, out, _("The PIN is wrong."), carrying);
        out->status = 403;
        return 1;
    }
    g_locked = 0;
    g_wrong = 0;
    g_last = now;
    if (carrying) {
        /* The carried form, as it was posted (its CSRF token was checked
         * with the unlock form's). */
        ui_req c;
        const char *path = ui_arg(r, "carry_path");
        memset(&c, 0, sizeof c);
        c.method = "POST";
        c.path = path;
        c.conn = r->conn;
        for (size_t i = 0; i < r->n_fields && c.n_fields < UI_FIELDS_MAX; i++)
            if (strncmp(r->fields[i].name, "carry.", 6) == 0) {
                c.fields[c.n_fields].name = r->fields[i].name + 6;
                c.fields[c.n_fields].value = r->fields[i].value;
                c.n_fields++;
            }
        ui_route(&c, out);
        return 1;
    }
    {
        const char *next = ui_arg(r, "next");
        snprintf(out->location, sizeof out->location, "%s",
                 ui_local_path(next) ? next : "/");
    }
    return 1;
}
