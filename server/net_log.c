/* net_log.c -- patrold's one logger (net_int.h net_log, net.h srv_vlog):
 * every line of the network front, the application and the console, each
 * written with a single write(2) so that the workers' lines never
 * interleave; UTC with milliseconds; control characters in values
 * replaced; logfmt by default, or one JSON object a line
 * (srv_set_log_json, serve --log-format json). */
#include "net_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_json;

void srv_set_log_json(int on)
{
    log_json = on;
}

/* A bounded line buffer: appends past the end are dropped. */
typedef struct {
    char b[768];
    size_t n;
} line_buf;

static void lb_printf(line_buf *l, const char *fmt, ...)
{
    va_list ap;
    int m;
    if (l->n >= sizeof l->b - 1)
        return;
    va_start(ap, fmt);
    m = vsnprintf(l->b + l->n, sizeof l->b - l->n, fmt, ap);
    va_end(ap);
    if (m > 0)
        l->n += (size_t)m < sizeof l->b - l->n ? (size_t)m : sizeof l->b - 1 - l->n;
}

/* One log line on stderr, written with a single write(2):
 *   ts=... level=warn event=handshake_failed peer=1.2.3.4:5 reason="..." k=v */

/* vsnprintf, except that a %s (with its flags, width and precision) that
 * stands between double quotes in fmt -- key="%s", the logfmt way of
 * quoting a value -- has its '"' and '\\' escaped: a value cannot close
 * its quotes early and be read as more keys. Every other conversion is
 * vsnprintf's own, one at a time. Returns the length written (at most
 * cap - 1), or -1 for a conversion it does not know. */
static int log_vformat(char *out, size_t cap, const char *fmt, va_list ap)
{
    size_t o = 0;
    int quoted = 0;
    if (cap == 0)
        return 0;
    for (const char *p = fmt; *p;) {
        char spec[32], tmp[600];
        size_t sl = 0;
        int n = 0, star = -1;
        if (*p != '%') {
            if (*p == '"')
                quoted = !quoted;
            if (o + 1 < cap)
                out[o++] = *p;
            p++;
            continue;
        }
        if (p[1] == '%') {
            if (o + 1 < cap)
                out[o++] = '%';
            p += 2;
            continue;
        }
        /* %[flags][width][.precision][length]conversion */
        spec[sl++] = *p++;
        while (*p && strchr("-+ #0", *p) && sl < 20)
            spec[sl++] = *p++;
        while (*p && ((*p >= '0' && *p <= '9') || *p == '.' || *p == '*') && sl < 20) {
            if (*p == '*')
                star = va_arg(ap, int);
            spec[sl++] = *p++;
        }
        while (*p && strchr("hlzjt", *p) && sl < 24)
            spec[sl++] = *p++;
        if (!*p || sl >= 30)
            return -1;
        spec[sl++] = *p;
        spec[sl] = '\0';
        switch (*p++) {
        case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': case 'c':
            if (strstr(spec, "ll"))
                n = star >= 0 ? snprintf(tmp, sizeof tmp, spec, star, va_arg(ap, long long))
                              : snprintf(tmp, sizeof tmp, spec, va_arg(ap, long long));
            else if (strchr(spec, 'l') || strchr(spec, 'z') || strchr(spec, 'j') ||
                     strchr(spec, 't'))
                n = star >= 0 ? snprintf(tmp, sizeof tmp, spec, star, va_arg(ap, long))
                              : snprintf(tmp, sizeof tmp, spec, va_arg(ap, long));
            else
                n = star >= 0 ? snprintf(tmp, sizeof tmp, spec, star, va_arg(ap, int))
                              : snprintf(tmp, sizeof tmp, spec, va_arg(ap, int));
            break;
        case 'f': case 'g': case 'e': case 'G': case 'E':
            n = star >= 0 ? snprintf(tmp, sizeof tmp, spec, star, va_arg(ap, double))
                          : snprintf(tmp, sizeof tmp, spec, va_arg(ap, double));
            break;
        case 'p':
            n = snprintf(tmp, sizeof tmp, spec, va_arg(ap, void *));
            break;
        case 's':
            n = star >= 0 ? snprintf(tmp, sizeof tmp, spec, star, va_arg(ap, const char *))
                          : snprintf(tmp, sizeof tmp, spec, va_arg(ap, const char *));
            break;
        default:
            return -1;
        }
        if (n < 0)
            return -1;
        if ((size_t)n >= sizeof tmp)
            n = (int)sizeof tmp - 1;
        for (int k = 0; k < n; k++) {
            int esc = quoted && p[-1] == 's' && (tmp[k] == '"' || tmp[k] == '\\');
            if (o + 1 + (size_t)esc >= cap)
                break;
            if (esc)
                out[o++] = '\\';
            out[o++] = tmp[k];
        }
    }
    out[o] = '\0';
    return (int)o;
}

/* The logfmt line l (ts=... level=... key=value key="quoted value") as one
 * JSON object with the same keys, in order, every value a string: what a
 * log shipper reads without a logfmt parser (a quoted value's \\" and \\\\
 * undone, then JSON's escaping applied). A run of the line that is not
 * key=value goes into "msg". */
static size_t to_json(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    int first = 1;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (o + 1 < cap)                                                                           \
            out[o++] = (c);                                                                        \
    } while (0)
#define PUTS(str)                                                                                  \
    do {                                                                                           \
        for (const char *q_ = (str); *q_; q_++)                                                    \
            PUT(*q_);                                                                              \
    } while (0)
    PUT('{');
    while (i < n) {
        size_t k0, k1, v0, v1;
        int quoted = 0;
        while (i < n && in[i] == ' ')
            i++;
        if (i >= n)
            break;
        k0 = i;
        while (i < n && in[i] != '=' && in[i] != ' ')
            i++;
        k1 = i;
        if (i >= n || in[i] != '=' || k1 == k0) { /* not key=value: the rest is a message */
            v0 = k0, v1 = n, k0 = k1 = 0;
            i = n;
        } else {
            i++;
            if (i < n && in[i] == '"') {
                quoted = 1;
                v0 = ++i;
                while (i < n && in[i] != '"')
                    i += in[i] == '\\' && i + 1 < n ? 2 : 1;
                v1 = i;
                if (i < n)
                    i++;
            } else {
                v0 = i;
                while (i < n && in[i] != ' ')
                    i++;
                v1 = i;
            }
        }
        if (!first)
            PUT(',');
        first = 0;
        PUT('"');
        if (k1 > k0)
            for (size_t j = k0; j < k1; j++)
                PUT(in[j]);
        else
            PUTS("msg");
        PUTS("\":\"");
        for (size_t j = v0; j < v1; j++) {
            char c = in[j];
            if (quoted && c == '\\' && j + 1 < v1) /* logfmt's \\" and \\\\ */
                c = in[++j];
            if (c == '"' || c == '\\')
                PUT('\\');
            PUT(c); /* control characters were replaced already */
        }
        PUT('"');
    }
    PUT('}');
#undef PUT
#undef PUTS
    return o;
}

void net_log(const char *level, const char *event, const char *peer, const char *reason,
             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    net_vlog(level, event, peer, reason, fmt, ap);
    va_end(ap);
}

void net_vlog(const char *level, const char *event, const char *peer, const char *reason,
              const char *fmt, va_list ap)
{
    line_buf l = {.n = 0};
    struct timespec ts;
    struct tm tm;
    time_t t;
    ssize_t w;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    t = ts.tv_sec;
    if (gmtime_r(&t, &tm))
        l.n = strftime(l.b, sizeof l.b, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    lb_printf(&l, ".%03ldZ level=%s", (long)(ts.tv_nsec / 1000000), level);
    if (event)
        lb_printf(&l, " event=%s", event);
    if (peer)
        lb_printf(&l, " peer=%s", peer);
    if (reason) {
        lb_printf(&l, " reason=\"");
        for (const char *p = reason; *p && l.n + 4 < sizeof l.b; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch == '"' || ch == '\\')
                l.b[l.n++] = '\\';
            l.b[l.n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
        lb_printf(&l, "\"");
    }
    if (fmt) {
        int m;
        size_t from;
        lb_printf(&l, " ");
        from = l.n;
        if (l.n < sizeof l.b - 1) {
            m = log_vformat(l.b + l.n, sizeof l.b - l.n, fmt, ap);
            if (m > 0)
                l.n += (size_t)m < sizeof l.b - l.n ? (size_t)m : sizeof l.b - 1 - l.n;
        }
        /* One event, one line: a value carrying a line break or another
         * control character (a name, a file, an error text) cannot start
         * a forged line of its own. */
        for (size_t i = from; i < l.n; i++)
            if ((unsigned char)l.b[i] < 0x20 || l.b[i] == 0x7f)
                l.b[i] = '?';
    }
    if (log_json) {
        char j[2 * sizeof l.b + 64];
        size_t jn = to_json(l.b, l.n, j, sizeof j - 1);
        j[jn++] = '\n';
        w = write(STDERR_FILENO, j, jn);
    } else {
        l.b[l.n++] = '\n'; /* l.n <= sizeof l.b - 1 here */
        w = write(STDERR_FILENO, l.b, l.n);
    }
    (void)w;
}

void srv_vlog(const char *level, const char *fmt, va_list ap)
{
    net_vlog(level, NULL, NULL, NULL, fmt, ap);
}

