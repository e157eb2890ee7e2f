/* fmt.c -- how the patrol tool shows values to people, in text output:
 * times in the local time zone (TZ, else /etc/localtime; entries and JSON
 * keep UTC, see json.c), byte counts, places, confidentiality marks and
 * choice values in the user's language, and labels padded by display
 * width (a Chinese character takes two columns). Prefix fmt_. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void fmt_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
        snprintf(buf, len, "?");
}

void fmt_bytes(double b, char *out, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, len, "%.0f %s", b, unit[u]);
    else
        snprintf(out, len, "%.1f %s", b, unit[u]);
}

void fmt_place(const patrol_location *l, char *buf, size_t len)
{
    /* TRANSLATORS: a place: latitude, longitude (degrees), accuracy in metres. */
    snprintf(buf, len, _("%.7f, %.7f (within %u m)"), (double)l->lat_e7 / 1e7,
             (double)l->lon_e7 / 1e7, (unsigned)l->accuracy_m);
}

const char *fmt_conf(patrol_conf c)
{
    /* TRANSLATORS: confidentiality marks shown instead of a hidden value
     * (the English text is the mark's code). */
    switch (c) {
    case PATROL_CONF_STATE_SECRET: return _("state_secret");
    case PATROL_CONF_TRADE_SECRET: return _("trade_secret");
    case PATROL_CONF_PERSONAL_PRIVACY: return _("personal_privacy");
    default: return "";
    }
}

const char *fmt_choice(const char *value)
{
    const char *label = patrol_choice_label(value);
    return label && *label ? _(label) : value;
}

const char *fmt_state(const char *state)
{
    const char *label = patrol_state_label(state);
    return label && *label ? _(label) : state;
}

size_t fmt_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        int n;
        if (*p < 0x80)
            cp = *p, n = 1;
        else if ((*p & 0xe0) == 0xc0)
            cp = *p & 0x1f, n = 2;
        else if ((*p & 0xf0) == 0xe0)
            cp = *p & 0x0f, n = 3;
        else
            cp = *p & 0x07, n = 4;
        for (int i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) { /* not UTF-8: count the byte */
                n = 1;
                cp = 0;
                break;
            }
            cp = cp << 6 | (p[i] & 0x3f);
        }
        p += n;
        w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                     (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                     (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                     (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd)
                 ? 2
                 : 1;
    }
    return w;
}

void fmt_row(const char *label)
{
    size_t w = fmt_width(label);
    fputs(label, stdout);
    do
        putchar(' ');
    while (++w < 12);
}
