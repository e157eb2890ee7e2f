/* web.c -- 监督平台's listener, sessions, login and routing (web.h,
 * docs/console.md). The pages are in web_pages.c.
 *
 * Every answer carries the security headers (sec_headers). A request is
 * refused before any page runs when its path holds a trick (.., //, a
 * backslash, %, a control byte), when it has no live session (GET: 303 to
 * /login; POST: 401), when its account is gone or disabled, and, for a
 * POST, when its CSRF token is not the session's.
 */
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "i18n.h"
#include "slog.h"
#include "tls.h"
#include "users.h"
#include "validate.h"
#include "web.h"
#include "web_int.h"

#define SESSIONS_MAX 1024
#define ACCOUNT_FAILS 5            /* wrong passwords in a row before a lock */
#define ACCOUNT_LOCK_MS (5 * 60000) /* how long an account is locked */
#define TRACKED_ACCOUNTS 256
#define COOKIE "__Host-pw_s"
#define NO_PAGE N_("There is no such page.")
#define LOGIN_COOKIE "__Host-pw_l"

typedef struct session {
    int used;
    uint8_t id_hash[32]; /* SHA-256 of the cookie's value: the value is not kept */
    char name[72];
    char csrf[48];
    int64_t created_ms, last_ms;
} session;

/* Login tries per address: a token bucket of ADDR_BURST, refilled at
 * ADDR_PER_MIN. Kept here rather than in net.h's srv_throttle, whose
 * count lives with the address's open connections: a client that opens
 * a connection per try would start afresh each time. */
#define ADDR_BURST 20
#define ADDR_PER_MIN 20
#define TRACKED_ADDRS 256

typedef struct addr_bucket {
    char addr[64];
    double tokens;
    int64_t at_ms;
} addr_bucket;

typedef struct fails {
    char name[72];
    unsigned count;
    int64_t locked_until_ms;
} fails;

struct web {
    app *a;
    srv *s;
    px_tls_server *tls;
    pthread_t thread;
    int running;
    pthread_mutex_t lock; /* sessions and fails */
    session sessions[SESSIONS_MAX];
    fails fails[TRACKED_ACCOUNTS];
    addr_bucket addrs[TRACKED_ADDRS];
    locale_t zh; /* the pages' messages (state labels ...) in 简体中文; 0 if not installed */
    int64_t idle_ms, absolute_ms; /* WEB_IDLE_MS, WEB_ABSOLUTE_MS unless the tests' variables */
};

/* PATROLD_WEB_IDLE_S / PATROLD_WEB_ABSOLUTE_S (1..86400): shorter session
 * lifetimes, for the tests of expiry only. */
static int64_t env_seconds(const char *name, int64_t dflt_ms)
{
    const char *v = getenv(name);
    uint64_t s;
    return v && *v && !px_parse_u64(v, 1, 86400, &s) ? (int64_t)s * 1000 : dflt_ms;
}

/* Fits net.h's 512 bytes of extra headers with one Set-Cookie and a
 * Location. No inline script or style anywhere: script-src and style-src
 * are 'self' only. */
static const char sec_headers[] =
    "Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Strict-Transport-Security: max-age=31536000\r\n"
    "Cache-Control: no-store\r\n";

/* ---- answers ----------------------------------------------------------- */

static void answer(srv_response *rs, int status, const char *type, web_buf *body,
                   const char *more_headers)
{
    int n = snprintf(rs->extra_headers, sizeof rs->extra_headers, "%s%s", sec_headers,
                     more_headers ? more_headers : "");
    if (n < 0 || (size_t)n >= sizeof rs->extra_headers) {
        /* Never answer without the headers: a server fault. */
        snprintf(rs->extra_headers, sizeof rs->extra_headers, "%s", sec_headers);
        status = 500;
    }
    rs->status = status;
    rs->content_type = type;
    if (body && !body->oom && body->p) {
        rs->body = (uint8_t *)body->p;
        rs->body_len = body->len;
        body->p = NULL;
    } else if (body && body->oom)
        rs->status = 500;
    web_buf_free(body);
}

static void redirect(srv_response *rs, const char *to, const char *cookie)
{
    char h[300];
    int n = snprintf(h, sizeof h, "Location: %s\r\n%s", to, cookie ? cookie : "");
    if (n < 0 || (size_t)n >= sizeof h) {
        answer(rs, 500, NULL, NULL, NULL);
        return;
    }
    answer(rs, 303, NULL, NULL, h);
}

void web_redirect(web_ctx *c, const char *to)
{
    redirect(c->rs, to, NULL);
}

void web_send(web_ctx *c, int status, const char *type, uint8_t *body, size_t len,
              const char *headers)
{
    web_buf b = {(char *)body, len, len, 0};
    answer(c->rs, status, type, &b, headers);
}

void web_add_header(web_ctx *c, const char *lines)
{
    size_t have = strlen(c->rs->extra_headers), n = strlen(lines);
    if (have + n < sizeof c->rs->extra_headers)
        memcpy(c->rs->extra_headers + have, lines, n + 1);
}

void web_download(web_ctx *c, const char *type, const char *filename, uint8_t *body, size_t len)
{
    char h[160];
    web_buf b = {(char *)body, len, len, 0};
    int n = snprintf(h, sizeof h, "Content-Disposition: attachment; filename=\"%s\"\r\n", filename);
    if (n < 0 || (size_t)n >= sizeof h || strpbrk(filename, "\"\\/\r\n")) {
        web_buf_free(&b);
        web_refuse(c, 500, _("The file name is not valid."));
        return;
    }
    answer(c->rs, 200, type, &b, h);
}

void web_beijing(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000) + 8 * 3600;
    struct tm tm;
    snprintf(out, len, "-");
    if (ms > 0 && gmtime_r(&t, &tm))
        strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

static const char *role_zh(const char *role)
{
    if (strcmp(role, "admin") == 0)
        return _("administrator");
    if (strcmp(role, "supervisor") == 0)
        return _("supervisor");
    return _("reviewer");
}

void web_csrf_field(const web_ctx *c, web_buf *b)
{
    web_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
    web_attr(b, c->who ? c->who->csrf : "");
    web_puts(b, "\">");
}

/* The console's name and its pages in the navigation (N_: shown through
 * _() in the reader's language). */
#define CONSOLE_NAME N_("Supervision console")
static const struct {
    const char *path, *label;
    int admin;
} nav[] = {
    {"/", N_("Overview"), 0},           {"/matters", N_("Matters"), 0},
    {"/followups", N_("Revisits/documents"), 0},
    {"/integrity", N_("Integrity"), 0}, {"/reports", N_("Reports"), 0},
    {"/lists", N_("Reference lists"), 0}, {"/devices", N_("Devices"), 1},
    {"/users", N_("Accounts"), 1},
};

void web_page(web_ctx *c, int status, const char *title, const web_buf *body)
{
    web_buf b = {0};
    web_puts(&b, "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<link rel=\"stylesheet\" href=\"/static/console.css\"><title>");
    web_text(&b, title);
    web_puts(&b, " · ");
    web_text(&b, _(CONSOLE_NAME));
    web_puts(&b, "</title></head><body>");
    if (c->who) {
        web_puts(&b, "<header><nav><span class=\"brand\">");
        web_text(&b, _(CONSOLE_NAME));
        web_puts(&b, "</span>");
        for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++) {
            if (nav[i].admin && strcmp(c->who->role, "admin") != 0)
                continue;
            web_puts(&b, "<a href=\"");
            web_attr(&b, nav[i].path);
            web_puts(&b, "\">");
            web_text(&b, _(nav[i].label));
            web_puts(&b, "</a>");
        }
        web_puts(&b, "<span class=\"who\">");
        if (c->who->department[0])
            /* TRANSLATORS: the account logged in: name (role, department). */
            web_textf(&b, _("%s (%s, %s)"), c->who->name, role_zh(c->who->role),
                      c->who->department);
        else
            /* TRANSLATORS: the account logged in: name (role). */
            web_textf(&b, _("%s (%s)"), c->who->name, role_zh(c->who->role));
        web_puts(&b, "</span><form method=\"post\" action=\"/logout\" class=\"inline\">");
        web_csrf_field(c, &b);
        web_puts(&b, "<button type=\"submit\" id=\"logout\">");
        web_text(&b, _("Log out"));
        web_puts(&b, "</button></form></nav></header>");
    }
    web_puts(&b, "<main>");
    if (body && body->p)
        web_put(&b, body->p, body->len);
    web_puts(&b, "</main><footer>");
    web_text(&b, _("All times are Beijing time (UTC+8)."));
    web_puts(&b, "</footer></body></html>\n");
    answer(c->rs, status, "text/html; charset=utf-8", &b, NULL);
}

void web_refuse(web_ctx *c, int status, const char *sentence)
{
    web_buf b = {0};
    web_puts(&b, "<h1>");
    /* TRANSLATORS: a refusal page's heading; %d is the HTTP status. */
    web_textf(&b, _("Request refused (%d)"), status);
    web_puts(&b, "</h1><p class=\"refusal\" id=\"refusal\">");
    web_text(&b, sentence);
    web_puts(&b, "</p>");
    web_page(c, status, _("Request refused"), &b);
    web_buf_free(&b);
}

/* ---- the server log ---------------------------------------------------- */

int web_leaf(web_ctx *c, const char *text, size_t len)
{
    st_backend *db = c->db;
    uint64_t leaf;
    if (!db || db->ops->begin(db) != ST_OK)
        return -1;
    if (slog_append(db, text, len, app_now_ms(), &leaf) != ST_OK || db->ops->commit(db) != ST_OK) {
        db->ops->rollback(db);
        app_log("error", "event=web_leaf_failed reason=\"%s\"", db->ops->errmsg(db));
        return -1;
    }
    return 0;
}

/* The peer's address without its port, kept to [0-9a-fA-F.:] (it goes
 * into a leaf line). */
static void peer_host(const srv_request *rq, char *out, size_t cap)
{
    const char *p = rq->peer_addr ? rq->peer_addr : "?", *end = strrchr(p, ':');
    size_t j = 0;
    if (!end)
        end = p + strlen(p);
    for (; p < end && j + 1 < cap; p++)
        if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
            *p == '.' || *p == ':')
            out[j++] = *p;
    out[j] = '\0';
}

/* ---- sessions ---------------------------------------------------------- */

static int token(char *out, size_t cap)
{
    uint8_t r[32];
    int rc = px_random(r, sizeof r) == 0 && px_base64url_encode(r, sizeof r, out, cap) == 0 ? 0 : -1;
    px_wipe(r, sizeof r);
    return rc;
}

/* The value of cookie name in the request's Cookie header into out. */
static int cookie_get(const srv_request *rq, const char *name, char *out, size_t cap)
{
    const char *h = srv_header_get(rq, "cookie");
    size_t nl = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t n = end ? (size_t)(end - h) : strlen(h);
        if (n > nl && memcmp(h, name, nl) == 0 && h[nl] == '=') {
            if (n - nl - 1 >= cap)
                return -1;
            memcpy(out, h + nl + 1, n - nl - 1);
            out[n - nl - 1] = '\0';
            return 0;
        }
        h = end;
    }
    return -1;
}

/* A new session for name; its cookie value into id. 0, or -1 (full). */
static int session_new(web *w, const char *name, char *id, size_t idcap)
{
    int64_t now = app_now_ms();
    session *free_slot = NULL;
    int rc = -1;
    if (token(id, idcap) != 0)
        return -1;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        session *s = &w->sessions[i];
        if (s->used && (now - s->last_ms > w->idle_ms || now - s->created_ms > w->absolute_ms))
            memset(s, 0, sizeof *s); /* expired: reuse */
        if (!s->used && !free_slot)
            free_slot = s;
    }
    if (free_slot && token(free_slot->csrf, sizeof free_slot->csrf) == 0) {
        free_slot->used = 1;
        px_sha256(id, strlen(id), free_slot->id_hash);
        snprintf(free_slot->name, sizeof free_slot->name, "%s", name);
        free_slot->created_ms = free_slot->last_ms = now;
        rc = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* The live session of the request's cookie into who (name, csrf); it is
 * touched. 0, or -1 (none, unknown, expired: an expired one is dropped). */
static int session_find(web *w, const srv_request *rq, web_who *who, int drop)
{
    char id[64];
    uint8_t h[32];
    int64_t now = app_now_ms();
    int rc = -1;
    if (cookie_get(rq, COOKIE, id, sizeof id) != 0 || strlen(id) != 43)
        return -1;
    px_sha256(id, strlen(id), h);
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        session *s = &w->sessions[i];
        if (!s->used || memcmp(s->id_hash, h, sizeof h) != 0)
            continue;
        if (drop || now - s->last_ms > w->idle_ms || now - s->created_ms > w->absolute_ms) {
            if (!drop)
                app_log("info", "event=web_session_expired user=%s", s->name);
            else
                rc = 0, snprintf(who->name, sizeof who->name, "%s", s->name);
            memset(s, 0, sizeof *s);
            break;
        }
        s->last_ms = now;
        snprintf(who->name, sizeof who->name, "%s", s->name);
        snprintf(who->csrf, sizeof who->csrf, "%s", s->csrf);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* Every session of name ends (its account was disabled). */
static void sessions_end(web *w, const char *name)
{
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (w->sessions[i].used && strcmp(w->sessions[i].name, name) == 0)
            memset(&w->sessions[i], 0, sizeof w->sessions[i]);
    pthread_mutex_unlock(&w->lock);
}

/* ---- per-account throttle ---------------------------------------------- */

/* Milliseconds name stays locked (0: not locked). */
static int64_t account_locked(web *w, const char *name)
{
    int64_t now = app_now_ms(), left = 0;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < TRACKED_ACCOUNTS; i++)
        if (w->fails[i].name[0] && strcmp(w->fails[i].name, name) == 0 &&
            w->fails[i].locked_until_ms > now)
            left = w->fails[i].locked_until_ms - now;
    pthread_mutex_unlock(&w->lock);
    return left;
}

static void account_result(web *w, const char *name, int ok)
{
    int64_t now = app_now_ms();
    fails *f = NULL, *oldest = &w->fails[0];
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < TRACKED_ACCOUNTS && !f; i++) {
        if (w->fails[i].name[0] && strcmp(w->fails[i].name, name) == 0)
            f = &w->fails[i];
        else if (!w->fails[i].name[0] || w->fails[i].count < oldest->count)
            oldest = &w->fails[i];
    }
    if (ok) {
        if (f)
            memset(f, 0, sizeof *f);
    } else {
        if (!f) {
            f = oldest;
            memset(f, 0, sizeof *f);
            snprintf(f->name, sizeof f->name, "%s", name);
        }
        if (++f->count >= ACCOUNT_FAILS) {
            f->locked_until_ms = now + ACCOUNT_LOCK_MS;
            f->count = 0;
        }
    }
    pthread_mutex_unlock(&w->lock);
}

/* 0 if a login try from addr may go on, else 1 with the seconds to wait.
 * A full table forgets the address idle longest (which had most tokens
 * back). */
static int addr_throttle(web *w, const char *addr, unsigned *retry_s)
{
    int64_t now = app_now_ms();
    addr_bucket *e = NULL, *idle = &w->addrs[0];
    double per_ms = ADDR_PER_MIN / 60000.0;
    int rc = 0;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < TRACKED_ADDRS && !e; i++) {
        if (w->addrs[i].addr[0] && strcmp(w->addrs[i].addr, addr) == 0)
            e = &w->addrs[i];
        else if (!w->addrs[i].addr[0] || w->addrs[i].at_ms < idle->at_ms)
            idle = &w->addrs[i];
    }
    if (!e) {
        e = idle;
        snprintf(e->addr, sizeof e->addr, "%s", addr);
        e->tokens = ADDR_BURST;
        e->at_ms = now;
    }
    e->tokens += (double)(now - e->at_ms) * per_ms;
    if (e->tokens > ADDR_BURST)
        e->tokens = ADDR_BURST;
    e->at_ms = now;
    if (e->tokens >= 1.0)
        e->tokens -= 1.0;
    else {
        rc = 1;
        *retry_s = (unsigned)((1.0 - e->tokens) / per_ms / 1000.0) + 1;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* ---- login and logout -------------------------------------------------- */

/* 43 characters of base64url: what token() makes. */
static int well_formed(const char *t)
{
    size_t n = 0;
    for (; t[n]; n++)
        if (!((t[n] >= 'A' && t[n] <= 'Z') || (t[n] >= 'a' && t[n] <= 'z') ||
              (t[n] >= '0' && t[n] <= '9') || t[n] == '-' || t[n] == '_'))
            return 0;
    return n == 43;
}

static void login_page(web_ctx *c, int status, const char *error, const char *name)
{
    char tok[64], cookie[160];
    web_buf b = {0};
    /* Keep the browser's token if it has one: a second load of this page
     * (another tab, or a favicon request sent here) must not make the
     * first one's form stale. */
    if (cookie_get(c->rq, LOGIN_COOKIE, tok, sizeof tok) == 0 && well_formed(tok))
        ;
    else if (token(tok, sizeof tok) != 0) {
        web_refuse(c, 500, _("The server cannot make a random number."));
        return;
    }
    web_puts(&b, "<h1>");
    web_text(&b, _(CONSOLE_NAME));
    web_puts(&b, " ");
    web_text(&b, _("Log in"));
    web_puts(&b, "</h1>");
    if (error) {
        web_puts(&b, "<p class=\"refusal\" id=\"refusal\">");
        web_text(&b, error);
        web_puts(&b, "</p>");
    }
    web_puts(&b, "<form method=\"post\" action=\"/login\" class=\"login\">"
                 "<input type=\"hidden\" name=\"csrf\" value=\"");
    web_attr(&b, tok);
    web_puts(&b, "\"><label>");
    web_text(&b, _("Account name"));
    web_puts(&b, " <input name=\"name\" id=\"name\" autocomplete=\"username\" "
                 "required maxlength=\"64\" value=\"");
    web_attr(&b, name ? name : "");
    web_puts(&b, "\"></label><label>");
    web_text(&b, _("Password"));
    web_puts(&b, " <input type=\"password\" name=\"password\" "
                 "id=\"password\" autocomplete=\"current-password\" required maxlength=\"256\">"
                 "</label><button type=\"submit\" id=\"login\">");
    web_text(&b, _("Log in"));
    web_puts(&b, "</button></form>");
    /* The login form's CSRF token is also a cookie (double submit): a page
     * of another site can neither read it nor send it (SameSite=Strict). */
    c->who = NULL;
    web_page(c, status, _("Log in"), &b);
    web_buf_free(&b);
    snprintf(cookie, sizeof cookie,
             "Set-Cookie: " LOGIN_COOKIE "=%s; Path=/; Max-Age=1800; Secure; HttpOnly; "
             "SameSite=Strict\r\n",
             tok);
    size_t have = strlen(c->rs->extra_headers);
    if (c->rs->status < 500 && have + strlen(cookie) < sizeof c->rs->extra_headers)
        memcpy(c->rs->extra_headers + have, cookie, strlen(cookie) + 1);
    else
        c->rs->status = 500;
}

static int same_token(const char *a, const char *b)
{
    size_t n = strlen(a);
    unsigned char d = 0;
    if (n != 43 || strlen(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static void login_post(web *w, web_ctx *c)
{
    const srv_request *rq = c->rq;
    char name[72] = "", pw[USERS_PW_MAX + 1] = "", form_tok[64] = "", cookie_tok[64] = "",
         addr[64], text[512], id[64], hdr[160];
    unsigned retry = 0;
    st_user u;
    int rc, n;
    int64_t locked;

    peer_host(rq, addr, sizeof addr);
    if (web_form_get((const char *)rq->body, rq->body_len, "csrf", form_tok, sizeof form_tok) !=
            1 ||
        cookie_get(rq, LOGIN_COOKIE, cookie_tok, sizeof cookie_tok) != 0 ||
        !same_token(form_tok, cookie_tok)) {
        web_refuse(c, 403, _("The login form has expired or is not this site's (CSRF check failed): "
                             "open the login page again."));
        return;
    }
    if (web_form_get((const char *)rq->body, rq->body_len, "name", name, sizeof name) != 1 ||
        web_form_get((const char *)rq->body, rq->body_len, "password", pw, sizeof pw) != 1) {
        login_page(c, 400,
                   _("Fill in the account name and the password (a name of at most 64 bytes, a "
                     "password of at most 256)."),
                   NULL);
        goto out;
    }
    if (addr_throttle(w, addr, &retry)) {
        char h[64];
        web_buf b = {0};
        web_puts(&b, "<h1>");
        web_text(&b, _("Too many requests"));
        web_puts(&b, "</h1><p class=\"refusal\" id=\"refusal\">");
        web_textf(&b, _("Too many login attempts from this address: try again in %u seconds."),
                  retry);
        web_puts(&b, "</p>");
        snprintf(h, sizeof h, "Retry-After: %u\r\n", retry);
        web_page(c, 429, _("Too many requests"), &b);
        web_buf_free(&b);
        size_t have = strlen(c->rs->extra_headers);
        if (have + strlen(h) < sizeof c->rs->extra_headers)
            memcpy(c->rs->extra_headers + have, h, strlen(h) + 1);
        goto out;
    }
    if (px_check_ident(name))
        snprintf(name, sizeof name, "?"); /* it goes into a leaf line */
    if ((locked = account_locked(w, name)) > 0) {
        n = snprintf(text, sizeof text, "patrol-web-login-failed\n%s\nlocked\n%s\n%" PRId64 "\n",
                     name, addr, app_now_ms());
        if (n > 0 && (size_t)n < sizeof text)
            web_leaf(c, text, (size_t)n);
        login_page(c, 429,
                   _("This account is locked for a while after wrong passwords in a row: try "
                     "again later."),
                   name);
        goto out;
    }
    rc = users_login(c->db, name, pw, strlen(pw), &u);
    if (rc == USERS_ERR) {
        web_refuse(c, 503, _("The server cannot read the accounts now: try again later."));
        goto out;
    }
    if (rc != USERS_OK) {
        account_result(w, name, 0);
        n = snprintf(text, sizeof text, "patrol-web-login-failed\n%s\n%s\n%s\n%" PRId64 "\n",
                     name, rc == USERS_DISABLED ? "disabled" : "wrong", addr, app_now_ms());
        if (n > 0 && (size_t)n < sizeof text)
            web_leaf(c, text, (size_t)n);
        login_page(c, 401,
                   rc == USERS_DISABLED ? _("This account is disabled.")
                                        : _("Wrong account name or password."),
                   name);
        goto out;
    }
    account_result(w, name, 1);
    n = snprintf(text, sizeof text, "patrol-web-login\n%s\n%s\n%s\n%" PRId64 "\n", u.name, u.role,
                 addr, app_now_ms());
    /* A login the log cannot record is refused, like a view. */
    if (n < 0 || (size_t)n >= sizeof text || web_leaf(c, text, (size_t)n) != 0) {
        web_refuse(c, 503, _("The server log cannot record this login: the login is refused."));
        goto out;
    }
    if (session_new(w, u.name, id, sizeof id) != 0) {
        web_refuse(c, 503, _("No session can be opened now (all in use, or no random number): try "
                             "again later."));
        goto out;
    }
    snprintf(hdr, sizeof hdr,
             "Set-Cookie: " COOKIE "=%s; Path=/; Secure; HttpOnly; SameSite=Strict\r\n", id);
    redirect(c->rs, "/", hdr);
    px_wipe(id, sizeof id);
out:
    px_wipe(pw, sizeof pw);
}

static void logout_post(web *w, web_ctx *c)
{
    web_who who;
    char addr[64], text[256];
    int n;
    peer_host(c->rq, addr, sizeof addr);
    if (session_find(w, c->rq, &who, 1) == 0) {
        n = snprintf(text, sizeof text, "patrol-web-logout\n%s\n%s\n%" PRId64 "\n", who.name, addr,
                     app_now_ms());
        if (n > 0 && (size_t)n < sizeof text)
            web_leaf(c, text, (size_t)n);
    }
    redirect(c->rs, "/login",
             "Set-Cookie: " COOKIE "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict\r\n");
}

/* ---- routing ----------------------------------------------------------- */

extern const unsigned char web_asset_console_css[];
extern const size_t web_asset_console_css_len;

/* A path any route could mean: '/' then [A-Za-z0-9._-/] without "..",
 * "//", a backslash, '%' (no route has an encoded byte) or a control byte. */
static int path_ok(const char *p)
{
    if (p[0] != '/' || strstr(p, "..") || strstr(p, "//") || strlen(p) > 256)
        return 0;
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '/' || ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static void route(web *w, const srv_request *rq, srv_response *rs);

/* The csrf field of a posted form: urlencoded, or a part of a multipart
 * form (a file upload). 1 found, else 0 or -1. */
static int form_token(const srv_request *rq, char *tok, size_t cap)
{
    const char *type = srv_header_get(rq, "content-type");
    const uint8_t *v;
    size_t n;
    int r;
    if (!type || strncasecmp(type, "multipart/form-data", 19) != 0)
        return web_form_get((const char *)rq->body, rq->body_len, "csrf", tok, cap);
    if ((r = web_multipart_get(rq, "csrf", &v, &n, NULL, 0)) != 1)
        return r;
    if (n == 0 || n >= cap || memchr(v, 0, n))
        return -1;
    memcpy(tok, v, n);
    tok[n] = '\0';
    return 1;
}

/* The console speaks 简体中文 whatever serve's locale (C, for its log):
 * the worker uses the zh_CN messages locale while it renders. */
static void handle(void *ud, const srv_request *rq, srv_response *rs)
{
    web *w = ud;
    locale_t old = w->zh ? uselocale(w->zh) : (locale_t)0;
    route(w, rq, rs);
    if (w->zh)
        uselocale(old);
}

static void route(web *w, const srv_request *rq, srv_response *rs)
{
    web_who who;
    st_user u;
    web_ctx c = {w->a, NULL, rq, rs, NULL};
    int get = strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0,
        post = strcmp(rq->method, "POST") == 0;
    char tok[64];

    if (!path_ok(rq->path)) {
        web_refuse(&c, 400, _("The address is not valid (it holds .., //, a backslash, an encoded "
                              "byte or a control byte)."));
        return;
    }
    if (!get && !post) {
        web_refuse(&c, 405, _("This request method is not supported."));
        return;
    }
    if (get && strcmp(rq->path, "/static/console.css") == 0) {
        web_buf b = {0};
        web_put(&b, (const char *)web_asset_console_css, web_asset_console_css_len);
        answer(rs, 200, "text/css; charset=utf-8", &b, NULL);
        return;
    }
    if (strncmp(rq->path, "/static/", 8) == 0 || strcmp(rq->path, "/favicon.ico") == 0) {
        web_refuse(&c, 404, _("There is no such file."));
        return;
    }
    c.db = app_db(w->a);
    if (!c.db) {
        web_refuse(&c, 503, _("The server cannot open its database now."));
        return;
    }
    if (strcmp(rq->path, "/login") == 0) {
        if (get)
            login_page(&c, 200, NULL, NULL);
        else
            login_post(w, &c);
        return;
    }
    if (strcmp(rq->path, "/logout") == 0 && post) {
        /* Logging out needs the session's token too (or a page of another
         * site could end it). */
        if (session_find(w, rq, &who, 0) == 0 &&
            (web_form_get((const char *)rq->body, rq->body_len, "csrf", tok, sizeof tok) != 1 ||
             !same_token(tok, who.csrf))) {
            web_refuse(&c, 403, _("The form's check failed (CSRF): you are still logged in."));
            return;
        }
        logout_post(w, &c);
        return;
    }
    memset(&who, 0, sizeof who);
    if (session_find(w, rq, &who, 0) != 0) {
        if (get)
            redirect(rs, "/login", NULL);
        else
            web_refuse(&c, 401, _("Not logged in, or the session has expired: log in again."));
        return;
    }
    /* The account, read again on every request: disabled or gone ends the
     * session now. */
    if (c.db->ops->user_get(c.db, who.name, &u) != ST_OK || u.disabled_ms) {
        sessions_end(w, who.name);
        if (get)
            redirect(rs, "/login", NULL);
        else
            web_refuse(&c, 401, _("The account is disabled: its session has ended."));
        return;
    }
    px_wipe(u.pwhash, sizeof u.pwhash);
    snprintf(who.role, sizeof who.role, "%s", u.role);
    snprintf(who.department, sizeof who.department, "%s", u.department);
    c.who = &who;
    if (post && (form_token(rq, tok, sizeof tok) != 1 || !same_token(tok, who.csrf))) {
        web_refuse(&c, 403, _("The form's check failed (its CSRF token is missing or wrong): "
                              "nothing was changed."));
        return;
    }
    if (get && strcmp(rq->path, "/") == 0)
        web_page_dashboard(&c);
    else if (get && strcmp(rq->path, "/users") == 0)
        web_page_users(&c);
    else if (get && strcmp(rq->path, "/matters") == 0)
        web_page_matters(&c);
    else if (get && strncmp(rq->path, "/matters/", 9) == 0 && !strchr(rq->path + 9, '/'))
        web_page_matter(&c, rq->path + 9);
    else if (get && strncmp(rq->path, "/matters/", 9) == 0 && strchr(rq->path + 9, '/') &&
             strcmp(strchr(rq->path + 9, '/'), "/documents") == 0) {
        char id[72];
        size_t n = (size_t)(strchr(rq->path + 9, '/') - (rq->path + 9));
        if (n == 0 || n >= sizeof id) {
            web_refuse(&c, 404, _(NO_PAGE));
            return;
        }
        memcpy(id, rq->path + 9, n);
        id[n] = '\0';
        web_page_documents(&c, id);
    } else if (get && strncmp(rq->path, "/matters/", 9) == 0 && strstr(rq->path, "/evidence/")) {
        /* /matters/ID/evidence/SHA: the ID ends at the first '/'. */
        char id[72];
        const char *slash = strchr(rq->path + 9, '/');
        size_t n = (size_t)(slash - (rq->path + 9));
        if (n == 0 || n >= sizeof id || strncmp(slash, "/evidence/", 10) != 0 ||
            strchr(slash + 10, '/')) {
            web_refuse(&c, 404, _(NO_PAGE));
            return;
        }
        memcpy(id, rq->path + 9, n);
        id[n] = '\0';
        web_media(&c, id, slash + 10);
    }
    else if (post && strncmp(rq->path, "/matters/", 9) == 0 && strchr(rq->path + 9, '/') &&
             strcmp(strchr(rq->path + 9, '/'), "/export") == 0) {
        char id[72];
        size_t n = (size_t)(strchr(rq->path + 9, '/') - (rq->path + 9));
        if (n == 0 || n >= sizeof id) {
            web_refuse(&c, 404, _(NO_PAGE));
            return;
        }
        memcpy(id, rq->path + 9, n);
        id[n] = '\0';
        web_post_export(&c, id);
    } else if (post && strncmp(rq->path, "/matters/", 9) == 0 && strchr(rq->path + 9, '/') &&
               strcmp(strchr(rq->path + 9, '/'), "/reveal") == 0) {
        char id[72];
        size_t n = (size_t)(strchr(rq->path + 9, '/') - (rq->path + 9));
        if (n == 0 || n >= sizeof id) {
            web_refuse(&c, 404, _(NO_PAGE));
            return;
        }
        memcpy(id, rq->path + 9, n);
        id[n] = '\0';
        web_post_reveal(&c, id);
    }
    else if (get && strcmp(rq->path, "/lists") == 0)
        web_page_lists(&c);
    else if (post && strcmp(rq->path, "/lists/import") == 0)
        web_post_lists_import(&c);
    else if (get && strcmp(rq->path, "/followups") == 0)
        web_page_followups(&c);
    else if (get && strcmp(rq->path, "/integrity") == 0)
        web_page_integrity(&c);
    else if (post && strcmp(rq->path, "/integrity/run") == 0)
        web_post_verify(&c);
    else if (get && strcmp(rq->path, "/reports") == 0)
        web_page_reports(&c);
    else if (get && strcmp(rq->path, "/reports/download") == 0)
        web_report_download(&c);
    else if (get && strcmp(rq->path, "/devices") == 0)
        web_page_devices(&c);
    else if (post && strcmp(rq->path, "/devices/add") == 0)
        web_post_device_add(&c);
    else if (post && strcmp(rq->path, "/devices/revoke") == 0)
        web_post_device_revoke(&c);
    else if (post && strcmp(rq->path, "/users/disable") == 0) {
        web_post_user_disable(&c);
        if (c.rs->status == 303) {
            char name[72];
            if (web_form_get((const char *)rq->body, rq->body_len, "name", name, sizeof name) ==
                1)
                sessions_end(w, name);
        }
    } else
        web_refuse(&c, 404, _(NO_PAGE));
}

/* Forms only, and small: a larger body is refused (413) before it is read.
 * A 清单 file's upload may be larger (the session is not known yet here: the
 * body budget bounds what unauthenticated posts can hold). */
static size_t body_limit(void *ud, const char *method, const char *path, int has_client_cert)
{
    (void)ud;
    (void)has_client_cert;
    if (strcmp(method, "POST") != 0)
        return 0;
    return strcmp(path, "/lists/import") == 0 ? WEB_UPLOAD_MAX : WEB_FORM_MAX;
}

static void *run(void *ud)
{
    web *w = ud;
    srv_run(w->s);
    return NULL;
}

int web_start(web **out, app *a, const char *data_dir, const char *host, const char *port,
              char *err, size_t errlen)
{
    char crt[4200], key[4200];
    const char *why = NULL;
    srv_limits lim;
    web *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w) {
        snprintf(err, errlen, "web: out of memory");
        return -1;
    }
    w->a = a;
    w->zh = newlocale(LC_MESSAGES_MASK, "zh_CN.UTF-8", (locale_t)0);
    w->idle_ms = env_seconds("PATROLD_WEB_IDLE_S", WEB_IDLE_MS);
    w->absolute_ms = env_seconds("PATROLD_WEB_ABSOLUTE_S", WEB_ABSOLUTE_MS);
    pthread_mutex_init(&w->lock, NULL);
    if ((size_t)snprintf(crt, sizeof crt, "%s/server.crt", data_dir) >= sizeof crt ||
        (size_t)snprintf(key, sizeof key, "%s/server.key", data_dir) >= sizeof key) {
        snprintf(err, errlen, "web: data directory name too long");
        goto bad;
    }
    /* No device CA: browsers are never asked for a certificate. */
    if (px_tls_server_new(crt, key, NULL, &w->tls, &why) != 0) {
        snprintf(err, errlen, "web: TLS: %s", why ? why : "?");
        goto bad;
    }
    srv_limits_default(&lim);
    lim.max_body_bytes = WEB_UPLOAD_MAX;
    lim.body_budget_bytes = 2 * WEB_UPLOAD_MAX;
    lim.max_connections = 128;
    lim.reserved_for_devices = 0;
    lim.workers = 2;
    if (srv_create(&w->s, host, port, w->tls, &lim, handle, w, err, errlen) != 0)
        goto bad;
    srv_set_body_limit(w->s, body_limit);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        snprintf(err, errlen, "web: cannot start its thread");
        goto bad;
    }
    w->running = 1;
    *out = w;
    return 0;
bad:
    srv_free(w->s);
    px_tls_server_free(w->tls);
    pthread_mutex_destroy(&w->lock);
    if (w->zh)
        freelocale(w->zh);
    free(w);
    return -1;
}

unsigned web_port(const web *w)
{
    return w ? srv_port(w->s) : 0;
}

void web_stop(web *w)
{
    if (w && w->s)
        srv_stop(w->s);
}

void web_free(web *w)
{
    if (!w)
        return;
    if (w->running) {
        srv_stop(w->s);
        pthread_join(w->thread, NULL);
    }
    srv_free(w->s);
    px_tls_server_free(w->tls);
    pthread_mutex_destroy(&w->lock);
    px_wipe(w->sessions, sizeof w->sessions);
    if (w->zh)
        freelocale(w->zh);
    free(w);
}
