/* validate.c -- checks for every external text the record holds.
 *
 * Everything here is pure: no allocation, no globals, no locale. Character
 * classes are plain ASCII tests so that a terminal and the server agree on
 * what is valid whatever their locale. Returned messages are static
 * strings; detail buffers, where the API has one, are filled with
 * snprintf and always NUL-terminated (set to "" on success).
 */
#include "validate.h"

#include "i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- ASCII helpers (never <ctype.h>: it depends on the locale) -------- */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Write printf-style text into an optional detail buffer. */
static void set_detail(char *detail, size_t detail_len, const char *fmt, ...)
{
    va_list ap;

    if (detail == NULL || detail_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(detail, detail_len, fmt, ap);
    va_end(ap);
}

/* "'A'" for printable ASCII, "byte 0x09" otherwise; out holds >= 12. */
static void char_repr(unsigned char c, char *out, size_t len)
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, len, "'%c'", (char)c);
    else
        snprintf(out, len, "byte 0x%02X", (unsigned)c);
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* Well-formed byte sequences per The Unicode Standard, table 3-7.
 * Returns NULL or the reason. */
static const char *utf8_scan(const unsigned char *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf; /* range of the 2nd byte */
        const char *second_err = NULL;      /* why 2nd byte outside lo..hi */
        size_t k;

        if (c < 0x80) {
            if (c == 0)
                return N_("NUL character");
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return N_("control character");
            i++;
            continue;
        }
        if (c < 0xc0)
            return N_("stray UTF-8 continuation byte");
        if (c < 0xc2)
            return N_("overlong UTF-8 sequence");
        if (c < 0xe0) {
            need = 1;
        } else if (c < 0xf0) {
            need = 2;
            if (c == 0xe0) {
                lo = 0xa0;
                second_err = "overlong UTF-8 sequence";
            } else if (c == 0xed) {
                hi = 0x9f;
                second_err = "UTF-16 surrogate in UTF-8";
            }
        } else if (c < 0xf5) {
            need = 3;
            if (c == 0xf0) {
                lo = 0x90;
                second_err = "overlong UTF-8 sequence";
            } else if (c == 0xf4) {
                hi = 0x8f;
                second_err = "code point above U+10FFFF";
            }
        } else if (c < 0xf8) {
            return N_("code point above U+10FFFF");
        } else {
            return N_("invalid UTF-8 byte");
        }

        for (k = 1; k <= need; k++) {
            unsigned char d;

            if (i + k >= len)
                return N_("incomplete UTF-8 sequence");
            d = p[i + k];
            if (d < 0x80 || d > 0xbf)
                return N_("incomplete UTF-8 sequence");
            if (k == 1 && (d < lo || d > hi))
                return second_err;
        }
        i += need + 1;
    }
    return NULL;
}

const char *px_check_utf8(const char *s, size_t len)
{
    if (s == NULL)
        return len == 0 ? NULL : "missing value"; /* (NULL, 0) is empty */
    return utf8_scan((const unsigned char *)s, len);
}

/* ---- free text and lines ----------------------------------------------- */

static const char *check_text(const char *s, size_t max, int one_line)
{
    size_t len, i;
    const char *why;

    if (s == NULL)
        return N_("missing value");
    /* Read at most max + 1 bytes (max if that wraps): enough to see
     * "too long" without walking an oversized or unterminated buffer. */
    len = strnlen(s, max + 1 > max ? max + 1 : max);
    if (len > max)
        return N_("too long");
    if (one_line) {
        for (i = 0; i < len; i++) {
            if (s[i] == '\n' || s[i] == '\r')
                return N_("line break not allowed");
            if (s[i] == '\t')
                return N_("tab not allowed");
        }
    }
    why = px_check_utf8(s, len);
    if (why != NULL)
        return why;
    /* Emptiness ignores ASCII blanks (the only ones UTF-8 check lets by);
     * the text itself is not modified and counts untrimmed toward max. */
    for (i = 0; i < len; i++)
        if (!is_blank((unsigned char)s[i]))
            return NULL;
    return N_("empty");
}

const char *px_check_text(const char *s, size_t max)
{
    return check_text(s, max, 0);
}

const char *px_check_line(const char *s, size_t max)
{
    return check_text(s, max, 1);
}

/* ---- identifiers --------------------------------------------------------- */

const char *px_check_ident(const char *s)
{
    size_t len, i;

    if (s == NULL)
        return N_("missing value");
    len = strnlen(s, PX_IDENT_MAX + 1);
    if (len == 0)
        return N_("empty identifier");
    if (len > PX_IDENT_MAX)
        return N_("identifier too long");
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_digit(c) || is_upper(c) || is_lower(c) || c == '.' || c == '_' || c == '-'))
            return N_("identifier may only use A-Z a-z 0-9 . _ -");
    }
    if (s[0] == '.' || s[0] == '-')
        return N_("identifier must not start with '.' or '-'");
    return NULL;
}

/* ---- shared by the two 18-character national codes ------------------------ */

/* Non-ASCII first, so full-width input typed with an input method gets a
 * message about the characters rather than about its byte length. */
static const char *code_shape(const char *s, const char *what, char *detail,
                              size_t detail_len)
{
    size_t len, i;

    if (s == NULL) {
        set_detail(detail, detail_len, _("no %s given"), what);
        return N_("missing value");
    }
    len = strlen(s);
    for (i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            set_detail(detail, detail_len,
                       _("non-ASCII character at byte %zu; use half-width letters and digits"),
                       i + 1);
            return N_("non-ASCII character");
        }
    }
    if (len != 18) {
        set_detail(detail, detail_len, _("%s has %zu characters, expected 18"), what, len);
        return N_("must be 18 characters");
    }
    return NULL;
}

/* ---- unified social credit code (GB 32100-2015) ------------------------- */

static const char credit_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const unsigned credit_weights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20,
                                            29, 25, 13, 8, 24, 10, 30, 28};

static int credit_value(unsigned char c)
{
    const char *p;

    if (c == 0)
        return -1;
    p = strchr(credit_alphabet, c);
    return p == NULL ? -1 : (int)(p - credit_alphabet);
}

const char *px_check_credit_code(const char *s, char *detail, size_t detail_len)
{
    const char *why;
    unsigned sum = 0, check;
    size_t i;
    char rep[16];

    set_detail(detail, detail_len, "%s", "");
    why = code_shape(s, _("credit code"), detail, detail_len);
    if (why != NULL)
        return why;
    for (i = 0; i < 18; i++) {
        unsigned char c = (unsigned char)s[i];
        int v = credit_value(c);

        if (v >= 0) {
            if (i < 17)
                sum += credit_weights[i] * (unsigned)v;
            continue;
        }
        char_repr(c, rep, sizeof rep);
        if (is_lower(c) && credit_value((unsigned char)(c - 'a' + 'A')) >= 0) {
            set_detail(detail, detail_len, _("position %zu: lower-case %s, use upper case"),
                       i + 1, rep);
            return N_("credit code must be upper case");
        }
        if (c == 'I' || c == 'O' || c == 'S' || c == 'V' || c == 'Z' ||
            c == 'i' || c == 'o' || c == 's' || c == 'v' || c == 'z')
            set_detail(detail, detail_len,
                       _("position %zu: %s is not allowed (letters I O S V Z are never used)"),
                       i + 1, rep);
        else
            set_detail(detail, detail_len, _("position %zu: %s is not allowed"), i + 1, rep);
        return N_("character not allowed in credit code");
    }
    check = 31 - sum % 31;
    if (check == 31)
        check = 0;
    if ((unsigned char)s[17] != (unsigned char)credit_alphabet[check]) {
        set_detail(detail, detail_len, _("check character is '%c', expected '%c'"), s[17],
                   credit_alphabet[check]);
        return N_("credit code check character is wrong");
    }
    return NULL;
}

/* ---- calendar --------------------------------------------------------------- */

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); m in 1..12, d in 1..31. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil (civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Value of the n (<= 4) ASCII digits at p, or -1 if any is not a digit. */
static int digits(const char *p, size_t n)
{
    size_t i;
    int r = 0;

    for (i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i]))
            return -1;
        r = r * 10 + (p[i] - '0');
    }
    return r;
}

const char *px_parse_date(const char *s, int32_t *days)
{
    int y, m, d;

    if (s == NULL)
        return N_("missing value");
    if (strnlen(s, 11) != 10 || s[4] != '-' || s[7] != '-')
        return N_("date must be YYYY-MM-DD");
    y = digits(s, 4);
    m = digits(s + 5, 2);
    d = digits(s + 8, 2);
    if (y < 0 || m < 0 || d < 0)
        return N_("date must be YYYY-MM-DD");
    if (y < 2000 || y > 2099)
        return N_("year must be 2000 to 2099");
    if (m < 1 || m > 12)
        return N_("month must be 01 to 12");
    if (d < 1 || d > month_days(y, m))
        return N_("no such day in that month");
    if (days != NULL)
        *days = (int32_t)days_from_civil(y, m, d);
    return NULL;
}

void px_format_date(int32_t days, char *buf, size_t len)
{
    int64_t y;
    int m, d;

    if (buf == NULL || len == 0)
        return;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        /* Not representable as YYYY: say so rather than print a
         * truncated or misleading date. */
        snprintf(buf, len, "%s", "?\?\?\?-?\?-?\?" /* "????-??-??" */);
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02d", (int)y, m, d);
}

/* ---- resident identity card number (GB 11643-1999) ------------------------ */

static const unsigned id_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char id_check[] = "10X98765432";

const char *px_check_id_number(const char *s, char *detail, size_t detail_len)
{
    const char *why;
    unsigned sum = 0;
    size_t i;
    int y, m, d;
    char rep[16], expect;

    set_detail(detail, detail_len, "%s", "");
    why = code_shape(s, _("ID number"), detail, detail_len);
    if (why != NULL)
        return why;
    for (i = 0; i < 17; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!is_digit(c)) {
            char_repr(c, rep, sizeof rep);
            set_detail(detail, detail_len, _("position %zu: %s is not a digit"), i + 1, rep);
            return N_("ID number must be 17 digits and a check character");
        }
        sum += id_weights[i] * (unsigned)(c - '0');
    }
    if (s[17] == 'x') {
        set_detail(detail, detail_len, "%s", _("position 18: write the check character 'X' in upper case"));
        return N_("ID number check character must be upper-case 'X'");
    }
    if (!is_digit((unsigned char)s[17]) && s[17] != 'X') {
        char_repr((unsigned char)s[17], rep, sizeof rep);
        set_detail(detail, detail_len, _("position 18: %s is not a digit or 'X'"), rep);
        return N_("ID number must be 17 digits and a check character");
    }
    y = digits(s + 6, 4); /* all digits: checked above */
    m = digits(s + 10, 2);
    d = digits(s + 12, 2);
    if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 || d > month_days(y, m)) {
        set_detail(detail, detail_len,
                   _("birth date %.8s (positions 7-14) is not a real date in 1900-2099"), s + 6);
        return N_("ID number has an impossible birth date");
    }
    expect = id_check[sum % 11];
    if (s[17] != expect) {
        set_detail(detail, detail_len, _("check character is '%c', expected '%c'"), s[17], expect);
        return N_("ID number check character is wrong");
    }
    return NULL;
}

/* ---- numbers, booleans, hex ------------------------------------------------ */

const char *px_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    int overflow = 0;
    size_t i;

    if (s == NULL)
        return N_("missing value");
    if (s[0] == '\0')
        return N_("empty number");
    for (i = 0; s[i] != '\0'; i++) {
        unsigned digit;

        if (!is_digit((unsigned char)s[i]))
            return N_("number must be digits only");
        digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            overflow = 1; /* keep scanning: "99999999999999999999x" is no number */
        else
            v = v * 10 + digit;
    }
    if (s[0] == '0' && s[1] != '\0')
        return N_("number has a leading zero");
    if (overflow || v > max)
        return N_("number above the allowed maximum");
    if (v < min)
        return N_("number below the allowed minimum");
    if (out != NULL)
        *out = v;
    return NULL;
}

const char *px_parse_bool(const char *s, int *out)
{
    int v;

    if (s == NULL)
        return N_("missing value");
    if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        v = 1;
    else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        v = 0;
    else
        return N_("expected yes or no");
    if (out != NULL)
        *out = v;
    return NULL;
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

const char *px_parse_hex(const char *s, uint8_t *out, size_t n)
{
    size_t len, i;

    if (s == NULL)
        return N_("missing value");
    len = strlen(s);
    if (len % 2 != 0 || len / 2 != n)
        return N_("hex string has the wrong length");
    /* Validate everything before writing, so out is untouched on error. */
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (hex_value(c) < 0)
            return c >= 'A' && c <= 'F' ? "hex must be lower case" : "not a hex digit";
    }
    for (i = 0; i < n; i++)
        out[i] = (uint8_t)(hex_value((unsigned char)s[2 * i]) << 4 |
                           hex_value((unsigned char)s[2 * i + 1]));
    return NULL;
}

void px_format_hex(const uint8_t *in, size_t n, char *out)
{
    static const char xd[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = xd[in[i] >> 4];
        out[2 * i + 1] = xd[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}
