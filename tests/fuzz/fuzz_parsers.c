/* fuzz_parsers.c -- libFuzzer harness for the parsers of text people type:
 * proto/validate.c (dates, numbers, credit codes, identity card numbers,
 * hex, yes/no, UTF-8 text, lines, identifiers) and the patrol tool's
 * command line (client/cli/opts.c: options from a kind's fields,
 * --location, --confidential, --entry, --inspector).
 *
 * Byte 0 picks the parser (its value mod 11); the rest is its input.
 * For the command line the input is split at NUL bytes into argv, and
 * byte 1 picks the kind (patrol_kind_name) whose fields are options.
 *
 * Checks beyond sanitizers (a parser that says yes must mean it):
 *  - a date accepted is in 2000..2099 and formats back to the same text;
 *  - a number accepted is within [min, max] and prints back to the text;
 *  - a credit code or identity number accepted is 18 characters;
 *  - hex accepted formats back to the same text;
 *  - a line accepted is accepted as text, text accepted is valid UTF-8;
 *  - an identifier accepted is 1..64 of [A-Za-z0-9._-];
 *  - a command line accepted has a location within +-90 / +-180 degrees
 *    and a non-negative accuracy, at most 32 fields and 8 inspectors, each
 *    field with a value; a refused one returned EXIT_USAGE.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What client/cli/main.c provides to opts.c, without printing: the
 * harness runs millions of refusals. */
const char *cli_cmd = "fuzz";

int cli_usage_error(const char *fmt, const char *arg)
{
    (void)fmt;
    (void)arg;
    return EXIT_USAGE;
}

const char *cli_tr(const char *s)
{
    return s ? s : "";
}

/* ... and what main.c and json.c provide for refusals (opts_open_store). */
int cli_fail_msg(int status, const char *code, const char *msg)
{
    (void)code;
    (void)msg;
    return status;
}

const char *cli_err_code(int err)
{
    (void)err;
    return "failed";
}

#define MAX_ARGS 64

static void check_date(const char *s)
{
    int32_t days;
    char back[32];

    if (px_parse_date(s, &days) != NULL)
        return;
    /* 2000-01-01 is day 10957, 2099-12-31 day 47481. */
    if (days < 10957 || days > 47481)
        abort();
    px_format_date(days, back, sizeof back);
    if (strcmp(back, s) != 0)
        abort();
}

static void check_u64(const char *s, uint64_t min, uint64_t max)
{
    uint64_t v;
    char back[32];

    if (px_parse_u64(s, min, max, &v) != NULL)
        return;
    if (v < min || v > max)
        abort();
    snprintf(back, sizeof back, "%" PRIu64, v);
    if (strcmp(back, s) != 0)
        abort();
}

static void check_detail(const char *why, const char *detail, size_t len)
{
    if (why && !memchr(detail, '\0', len))
        abort();
}

static void check_hex(const char *s, size_t n)
{
    uint8_t out[64];
    char back[129];

    if (n > sizeof out || px_parse_hex(s, out, n) != NULL)
        return;
    px_format_hex(out, n, back);
    if (strcmp(back, s) != 0)
        abort();
}

static void check_ident(const char *s)
{
    size_t n = strlen(s);

    if (px_check_ident(s) != NULL)
        return;
    if (n < 1 || n > PX_IDENT_MAX || s[0] == '.' || s[0] == '-')
        abort();
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
            abort();
}

static void check_cli(const uint8_t *data, size_t size)
{
    static const char *const flags[][3] = {{"accept", "answer", "accept"},
                                           {"refuse", "answer", "refuse"}};
    char *buf, *argv[MAX_ARGS];
    int argc = 0, rc;
    size_t nkinds = 0;
    spec sp = {NULL, "matter", O_TARGET | O_INSPECTOR | O_LOCATION | O_JSON | O_REVEAL | O_DUE |
                                   O_TODAY | O_FILE | O_ENTRY,
               flags, 2};
    opts o;

    if (size < 1)
        return;
    while (patrol_kind_name(nkinds))
        nkinds++;
    if (nkinds)
        sp.kind = patrol_kind_name(data[0] % nkinds);
    data++;
    size--;
    if (!(buf = malloc(size + 1)))
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (size_t i = 0; i <= size && argc < MAX_ARGS; i++) {
        argv[argc++] = buf + i;
        while (i < size && buf[i] != '\0')
            i++;
    }
    memset(&o, 0, sizeof o);
    rc = opts_parse(argc, argv, &sp, &o);
    if (rc != 0 && rc != EXIT_USAGE)
        abort();
    if (rc == 0) {
        if (o.n_fields > MAX_FIELDS || o.n_inspectors > MAX_INSPECTORS || o.n_conf > MAX_FIELDS)
            abort();
        for (size_t i = 0; i < o.n_fields; i++)
            if (!o.fields[i].name || !o.fields[i].value)
                abort();
        if (o.has_loc && (o.loc.lat_e7 < -900000000 || o.loc.lat_e7 > 900000000 ||
                          o.loc.lon_e7 < -1800000000 || o.loc.lon_e7 > 1800000000))
            abort();
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, detail[128];
    const char *why;
    unsigned which;
    int b;

    if (size < 1)
        return 0;
    which = data[0] % 11;
    data++;
    size--;
    if (which == 10) {
        check_cli(data, size);
        return 0;
    }
    if (!(s = malloc(size + 1)))
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    memset(detail, 'x', sizeof detail);
    switch (which) {
    case 0:
        check_date(s);
        break;
    case 1:
        check_u64(s, 0, UINT64_MAX);
        break;
    case 2: /* bounds from the input: 8 bytes each, the text after them */
        if (size >= 16) {
            uint64_t lo, hi;
            memcpy(&lo, data, 8);
            memcpy(&hi, data + 8, 8);
            check_u64(s + 16, lo, hi);
        }
        break;
    case 3:
        why = px_check_credit_code(s, detail, sizeof detail);
        check_detail(why, detail, sizeof detail);
        if (!why && strlen(s) != 18)
            abort();
        break;
    case 4:
        why = px_check_id_number(s, detail, sizeof detail);
        check_detail(why, detail, sizeof detail);
        if (!why && strlen(s) != 18)
            abort();
        break;
    case 5:
        check_hex(s, strlen(s) / 2);
        check_hex(s, 32);
        break;
    case 6:
        if (px_parse_bool(s, &b) == NULL && b != 0 && b != 1)
            abort();
        break;
    case 7: /* line => text => UTF-8 */
        if (px_check_line(s, PX_LINE_MAX) == NULL && px_check_text(s, PX_LINE_MAX) != NULL)
            abort();
        if (px_check_text(s, PX_TEXT_MAX) == NULL && px_check_utf8(s, strlen(s)) != NULL)
            abort();
        break;
    case 8: /* the whole input, NULs included */
        if (px_check_utf8((const char *)data, size) == NULL && memchr(data, '\0', size))
            abort();
        break;
    case 9:
        check_ident(s);
        break;
    }
    free(s);
    return 0;
}
