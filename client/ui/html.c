/* html.c -- the page buffer, the three escapers (text, attribute, URL) and
 * h(), which writes markup with each argument escaped as its directive
 * says (cgit's html_* helpers). Beijing time for people. Prefix ub_, html_. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui.h"

void ub_init(ubuf *b)
{
    memset(b, 0, sizeof *b);
}

void ub_free(ubuf *b)
{
    if (b)
        free(b->p);
    ub_init(b);
}

void ub_put(ubuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (n > (size_t)-1 / 2 - b->len - 1) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(np = realloc(b->p, cap))) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ub_puts(ubuf *b, const char *s)
{
    if (s)
        ub_put(b, s, strlen(s));
}

/* Text and attribute values escape the same five characters: attributes
 * are always double-quoted, and ' is escaped for an author who forgets. */
static void escape(ubuf *b, const char *s)
{
    const char *run = s;
    for (; s && *s; s++) {
        const char *rep;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        ub_put(b, run, (size_t)(s - run));
        ub_puts(b, rep);
        run = s + 1;
    }
    if (s)
        ub_put(b, run, (size_t)(s - run));
}

void html_text(ubuf *b, const char *s)
{
    escape(b, s);
}

void html_attr(ubuf *b, const char *s)
{
    escape(b, s);
}

void html_url(ubuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            ub_put(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            ub_put(b, e, 3);
        }
    }
}

void h(ubuf *b, const char *fmt, ...)
{
    va_list ap;
    const char *run = fmt;
    va_start(ap, fmt);
    for (const char *f = fmt; *f; f++) {
        char num[32];
        if (*f != '%')
            continue;
        ub_put(b, run, (size_t)(f - run));
        switch (*++f) {
        case 't': html_text(b, va_arg(ap, const char *)); break;
        case 'a': html_attr(b, va_arg(ap, const char *)); break;
        case 'u': html_url(b, va_arg(ap, const char *)); break;
        case 'r': ub_puts(b, va_arg(ap, const char *)); break;
        case 'd':
            snprintf(num, sizeof num, "%d", va_arg(ap, int));
            ub_puts(b, num);
            break;
        case 'U':
            snprintf(num, sizeof num, "%llu", (unsigned long long)va_arg(ap, uint64_t));
            ub_puts(b, num);
            break;
        case '%': ub_put(b, "%", 1); break;
        default: /* a bug in a format string: show it, do not read an argument */
            ub_puts(b, "%?");
            if (!*f)
                f--;
            break;
        }
        run = f + 1;
    }
    ub_puts(b, run);
    va_end(ap);
}

const char *ui_tr(const char *s)
{
    return !s ? "" : !*s ? s : _(s);
}

/* China Standard Time is UTC+8 all year (no daylight saving since 1991),
 * whatever the handheld's TZ says. */
#define BEIJING_OFFSET_S (8 * 3600)

void ui_beijing(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000) + BEIJING_OFFSET_S;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, len, "?");
        return;
    }
    strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

void ui_today(char *out, size_t len)
{
    time_t t = time(NULL) + BEIJING_OFFSET_S;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, len, "1970-01-01");
        return;
    }
    strftime(out, len, "%Y-%m-%d", &tm);
}

int ui_local_path(const char *s)
{
    /* "//host" and "/\\host" leave the site in a browser; control
     * characters would split a header. */
    if (!s || s[0] != '/' || s[1] == '/' || s[1] == '\\')
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\')
            return 0;
    return 1;
}
