/* web_html.c -- the console's output buffer, escaping and form decoding
 * (web_html.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_html.h"

void web_put(web_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = realloc(b->p, cap))) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void web_puts(web_buf *b, const char *s)
{
    web_put(b, s, strlen(s));
}

void web_printf(web_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        web_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    web_put(b, big, (size_t)n);
    free(big);
}

static void escape(web_buf *b, const char *s);

void web_textf(web_buf *b, const char *fmt, ...)
{
    char small[512], *big = NULL;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n >= sizeof small) {
        if (!(big = malloc((size_t)n + 1))) {
            b->oom = 1;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    escape(b, big ? big : small);
    free(big);
}

static void escape(web_buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': web_puts(b, "&amp;"); break;
        case '<': web_puts(b, "&lt;"); break;
        case '>': web_puts(b, "&gt;"); break;
        case '"': web_puts(b, "&quot;"); break;
        case '\'': web_puts(b, "&#39;"); break;
        default:
            if (c >= 0x20 || c == '\t' || c == '\n')
                web_put(b, s, 1);
        }
    }
}

void web_text(web_buf *b, const char *s)
{
    escape(b, s);
}

void web_attr(web_buf *b, const char *s)
{
    escape(b, s);
}

void web_url(web_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '~' || c == '-')
            web_put(b, s, 1);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            web_put(b, e, 3);
        }
    }
}

void web_buf_free(web_buf *b)
{
    if (!b)
        return;
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int web_form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name), i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > nl && memcmp(body + i, name, nl) == 0 && body[i + nl] == '=') {
            size_t o = 0;
            for (size_t k = i + nl + 1; k < end; k++) {
                int c = (unsigned char)body[k];
                if (c == '+')
                    c = ' ';
                else if (c == '%') {
                    int h, l;
                    if (k + 2 >= end)
                        return -1;
                    if ((h = hexval(body[k + 1])) < 0 || (l = hexval(body[k + 2])) < 0)
                        return -1;
                    c = h * 16 + l;
                    k += 2;
                }
                if (c == 0 || o + 1 >= cap)
                    return -1;
                out[o++] = (char)c;
            }
            out[o] = '\0';
            return 1;
        }
        i = end + 1;
    }
    return 0;
}

void web_tag(web_buf *b, const char *open, const char *text)
{
    size_t n = strcspn(open, " ");
    web_puts(b, "<");
    web_puts(b, open);
    web_puts(b, ">");
    escape(b, text);
    web_puts(b, "</");
    web_put(b, open, n);
    web_puts(b, ">");
}

void web_thead(web_buf *b, const char *const *labels)
{
    web_puts(b, "<thead><tr>");
    for (; *labels; labels++)
        web_tag(b, "th", *labels);
    web_puts(b, "</tr></thead>");
}
