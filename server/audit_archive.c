/* audit_archive.c -- what `audit export` and `audit verify-archive`
 * share (audit_archive.h): a growable buffer, the two HTML escapers and
 * Beijing dates. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_archive.h"

void ar_put(ar_buf *b, const void *s, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        char *p;
        while (nc < b->n + n + 1) {
            if (nc > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            nc *= 2;
        }
        if (!(p = realloc(b->p, nc))) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void ar_puts(ar_buf *b, const char *s)
{
    ar_put(b, s, strlen(s));
}

void ar_printf(ar_buf *b, const char *fmt, ...)
{
    char small[512], *big;
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        ar_put(b, small, (size_t)n);
        return;
    }
    if (!(big = malloc((size_t)n + 1))) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ar_put(b, big, (size_t)n);
    free(big);
}

void ar_free(ar_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Beijing time (UTC+8, no daylight saving) of ms since 1970 UTC, from
 * the civil-from-days algorithm (H. Hinnant): no time zone data needed. */
void ar_beijing(int64_t ms, char *out, size_t len, int with_time)
{
    int64_t t = ms + 8LL * 3600 * 1000, z, era, doe, yoe, y, doy, mp, d, m, sec;
    z = t / 86400000;
    if (t % 86400000 < 0)
        z--;
    sec = (t - z * 86400000) / 1000;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999)
        snprintf(out, len, "?");
    else if (with_time)
        snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d", (int)y, (int)m, (int)d,
                 (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
    else
        snprintf(out, len, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
}

/* HTML text: & < > and both quotes become entities; nothing else changes. */
void html_text(ar_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': ar_puts(b, "&amp;"); break;
        case '<': ar_puts(b, "&lt;"); break;
        case '>': ar_puts(b, "&gt;"); break;
        case '"': ar_puts(b, "&quot;"); break;
        case '\'': ar_puts(b, "&#39;"); break;
        default: ar_put(b, s, 1); break;
        }
    }
}

/* An attribute value (always written inside double quotes): everything
 * but letters, digits and a few safe ASCII marks becomes &#N;. */
void html_attr(ar_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '/' || c >= 0x80)
            ar_put(b, s, 1);
        else
            ar_printf(b, "&#%u;", c);
    }
}

