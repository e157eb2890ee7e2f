/* test_validate.c -- the validators in proto/validate.c, with the inputs a
 * user actually types or pastes: Chinese text, codes copied with a typo,
 * in lower case or full width, dates that do not exist, numbers with a
 * sign or a leading zero.
 *
 * Expected check characters were computed outside this code base (by
 * hand / a separate script), so the tests do not merely re-run the
 * implementation's own arithmetic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

/* The call must succeed; on failure show the message it gave. */
#define EXPECT_OK(call)                                                       \
    do {                                                                      \
        const char *why_ = (call);                                            \
        if (why_ != NULL)                                                     \
            fail_msg("%s: unexpected error \"%s\"", #call, why_);             \
    } while (0)

/* The call must fail with a message containing frag. */
#define EXPECT_ERR(call, frag)                                                \
    do {                                                                      \
        const char *why_ = (call);                                            \
        if (why_ == NULL)                                                     \
            fail_msg("%s: accepted, expected error \"%s\"", #call, (frag));   \
        if (strstr(why_, (frag)) == NULL)                                     \
            fail_msg("%s: got \"%s\", expected \"%s\"", #call, why_, (frag)); \
    } while (0)

/* A byte literal and its length, embedded NULs included. */
#define B(lit) (lit), (sizeof(lit) - 1)

/* ---- UTF-8 ------------------------------------------------------------------ */

static void utf8_accepts_real_text(void **state)
{
    (void)state;
    EXPECT_OK(px_check_utf8(B("")));
    EXPECT_OK(px_check_utf8(NULL, 0)); /* empty protobuf bytes field */
    EXPECT_OK(px_check_utf8(B("Patrol 7, route B")));
    EXPECT_OK(px_check_utf8(B("泗阳县城市管理局")));
    EXPECT_OK(px_check_utf8(B("当事人：张三\r\n地点：众兴镇\t北京路 12 号")));
    EXPECT_OK(px_check_utf8(B("café, naïve, Ελληνικά, русский")));
    EXPECT_OK(px_check_utf8(B("\xF0\x9F\x98\x80 \xF0\xA0\x80\x80"))); /* emoji, CJK ext. B */
    /* Boundaries of each sequence length and around the surrogates. */
    EXPECT_OK(px_check_utf8(B("\xC2\x80")));         /* U+0080 */
    EXPECT_OK(px_check_utf8(B("\xDF\xBF")));         /* U+07FF */
    EXPECT_OK(px_check_utf8(B("\xE0\xA0\x80")));     /* U+0800 */
    EXPECT_OK(px_check_utf8(B("\xED\x9F\xBF")));     /* U+D7FF */
    EXPECT_OK(px_check_utf8(B("\xEE\x80\x80")));     /* U+E000 */
    EXPECT_OK(px_check_utf8(B("\xEF\xBF\xBF")));     /* U+FFFF */
    EXPECT_OK(px_check_utf8(B("\xF0\x90\x80\x80"))); /* U+10000 */
    EXPECT_OK(px_check_utf8(B("\xF4\x8F\xBF\xBF"))); /* U+10FFFF */
}

static void utf8_rejects_malformed(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        const char *frag;
    } bad[] = {
        {B("\xC0\x80"), "overlong"},           /* NUL smuggled as 2 bytes */
        {B("\xC1\xBF"), "overlong"},
        {B("\xE0\x80\x80"), "overlong"},
        {B("\xE0\x9F\xBF"), "overlong"},
        {B("\xF0\x80\x80\x80"), "overlong"},
        {B("\xF0\x8F\xBF\xBF"), "overlong"},
        {B("\xED\xA0\x80"), "surrogate"},      /* U+D800 */
        {B("\xED\xBF\xBF"), "surrogate"},      /* U+DFFF */
        {B("\xED\xA0\xBD\xED\xB8\x80"), "surrogate"}, /* CESU-8 emoji */
        {B("\xF4\x90\x80\x80"), "U+10FFFF"},
        {B("\xF5\x80\x80\x80"), "U+10FFFF"},
        {B("\xF7\xBF\xBF\xBF"), "U+10FFFF"},
        {B("\xF8\x88\x80\x80\x80"), "invalid UTF-8"},
        {B("\xFE"), "invalid UTF-8"},
        {B("\xFF"), "invalid UTF-8"},
        {B("\x80"), "continuation"},
        {B("ab\xBF"), "continuation"},
        {B("\xC3"), "incomplete"},             /* cut after lead byte */
        {B("\xE6\xB3"), "incomplete"},         /* "泗" cut short */
        {B("\xF0\x9F\x98"), "incomplete"},
        {B("\xE6" "A" "\x97"), "incomplete"},  /* lead byte then ASCII */
        {B("\xC3" "("), "incomplete"},
        {B("a\0b"), "NUL"},
        {B("\x01"), "control"},
        {B("\x1B[31mred"), "control"},         /* pasted ANSI escape */
        {B("\x0B"), "control"},
        {B("\x0C"), "control"},
        {B("\x7F"), "control"},                /* DEL */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = px_check_utf8(bad[i].s, bad[i].len);
        if (why == NULL)
            fail_msg("case %zu accepted, expected \"%s\"", i, bad[i].frag);
        if (strstr(why, bad[i].frag) == NULL)
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, why, bad[i].frag);
    }
    EXPECT_ERR(px_check_utf8(NULL, 3), "missing");
}

static void utf8_respects_len(void **state)
{
    /* Only len bytes count: a valid prefix of a longer buffer is valid,
     * and a sequence cut by len is incomplete. */
    const char buf[] = "\xE6\xB3\x97\xE9\x98\xB3\xFF";

    (void)state;
    EXPECT_OK(px_check_utf8(buf, 6));
    EXPECT_ERR(px_check_utf8(buf, 5), "incomplete");
    EXPECT_ERR(px_check_utf8(buf, 7), "invalid UTF-8");
}

/* Encode cp as UTF-8 (test's own encoder); returns the length. */
static size_t encode_utf8(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static void utf8_every_code_point(void **state)
{
    uint32_t cp;

    (void)state;
    for (cp = 0; cp <= 0x10FFFF; cp++) {
        char b[4];
        size_t n = encode_utf8(cp, b);
        int want = !((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F ||
                     (cp >= 0xD800 && cp <= 0xDFFF));
        int got = px_check_utf8(b, n) == NULL;

        if (got != want)
            fail_msg("U+%04X: %s", (unsigned)cp, got ? "accepted" : px_check_utf8(b, n));
    }
}

static void utf8_every_two_byte_buffer(void **state)
{
    unsigned a, b;

    (void)state;
    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            char s[2] = {(char)a, (char)b};
            int ascii_ok_a = a >= 0x20 ? a < 0x7F : (a == 9 || a == 10 || a == 13);
            int ascii_ok_b = b >= 0x20 ? b < 0x7F : (b == 9 || b == 10 || b == 13);
            int want = (ascii_ok_a && ascii_ok_b) ||
                       (a >= 0xC2 && a <= 0xDF && b >= 0x80 && b <= 0xBF);
            int got = px_check_utf8(s, 2) == NULL;

            if (got != want)
                fail_msg("%02X %02X: %s", a, b, got ? "accepted" : "rejected");
        }
    }
}

/* ---- free text and lines ------------------------------------------------------ */

static void text_accepts_content(void **state)
{
    (void)state;
    EXPECT_OK(px_check_text("泗阳县城市管理局", PX_LINE_MAX));
    EXPECT_OK(px_check_text("第一段。\n\n第二段：\t现场照片 3 张。\r\n", PX_TEXT_MAX));
    EXPECT_OK(px_check_text("  x  ", PX_TEXT_MAX)); /* not trimmed, just non-empty */
    EXPECT_OK(px_check_text("泗阳县", 9));           /* limit is in bytes: 3 x 3 */
}

static void text_rejects_empty_and_blank(void **state)
{
    (void)state;
    EXPECT_ERR(px_check_text("", PX_TEXT_MAX), "empty");
    EXPECT_ERR(px_check_text("   ", PX_TEXT_MAX), "empty");
    EXPECT_ERR(px_check_text(" \r\n\t \n", PX_TEXT_MAX), "empty");
    EXPECT_ERR(px_check_text(NULL, PX_TEXT_MAX), "missing");
}

static void text_rejects_bad_bytes(void **state)
{
    (void)state;
    EXPECT_ERR(px_check_text("ok \x1B[2J", PX_TEXT_MAX), "control");
    EXPECT_ERR(px_check_text("del\x7F", PX_TEXT_MAX), "control");
    EXPECT_ERR(px_check_text("\xED\xA0\x80", PX_TEXT_MAX), "surrogate");
    EXPECT_ERR(px_check_text("\xC0\xAE\xC0\xAE/", PX_TEXT_MAX), "overlong");
    /* GBK bytes of "泗阳" pasted from a legacy system. */
    EXPECT_ERR(px_check_text("\xE3\xF4\xD1\xF4", PX_TEXT_MAX), "incomplete");
}

static void text_length_limit_in_bytes(void **state)
{
    char *buf = malloc(PX_TEXT_MAX + 2);
    size_t i;

    (void)state;
    assert_non_null(buf);
    memset(buf, 'a', PX_TEXT_MAX);
    buf[PX_TEXT_MAX] = '\0';
    EXPECT_OK(px_check_text(buf, PX_TEXT_MAX));
    buf[PX_TEXT_MAX] = 'a';
    buf[PX_TEXT_MAX + 1] = '\0';
    EXPECT_ERR(px_check_text(buf, PX_TEXT_MAX), "too long");

    /* 2667 Chinese characters = 8001 bytes: too long though only 2667
     * characters. */
    for (i = 0; i + 3 <= PX_TEXT_MAX + 1; i += 3)
        memcpy(buf + i, "泗", 3);
    buf[i] = '\0';
    assert_int_equal(i, PX_TEXT_MAX + 1);
    EXPECT_ERR(px_check_text(buf, PX_TEXT_MAX), "too long");
    /* A client that cut at the byte limit split a character. */
    buf[PX_TEXT_MAX - 1] = '\0';
    EXPECT_ERR(px_check_text(buf, PX_TEXT_MAX), "incomplete");
    free(buf);

    EXPECT_ERR(px_check_text("泗阳县", 8), "too long");
    EXPECT_ERR(px_check_text("a", 0), "too long");
}

static void text_does_not_read_past_limit(void **state)
{
    /* max + 1 bytes and no terminator: the length check must stop there
     * (AddressSanitizer reports a read past the allocation). */
    char *buf = malloc(PX_LINE_MAX + 1);

    (void)state;
    assert_non_null(buf);
    memset(buf, 'a', PX_LINE_MAX + 1);
    EXPECT_ERR(px_check_text(buf, PX_LINE_MAX), "too long");
    EXPECT_ERR(px_check_line(buf, PX_LINE_MAX), "too long");
    free(buf);
}

static void line_rejects_breaks_and_tabs(void **state)
{
    (void)state;
    EXPECT_OK(px_check_line("泗阳县城市管理局 执法二中队", PX_LINE_MAX));
    EXPECT_OK(px_check_line(" 张三 ", PX_LINE_MAX));
    EXPECT_ERR(px_check_line("张三\n李四", PX_LINE_MAX), "line break");
    EXPECT_ERR(px_check_line("张三\r", PX_LINE_MAX), "line break");
    EXPECT_ERR(px_check_line("\n", PX_LINE_MAX), "line break");
    EXPECT_ERR(px_check_line("name\tvalue", PX_LINE_MAX), "tab");
    EXPECT_ERR(px_check_line("", PX_LINE_MAX), "empty");
    EXPECT_ERR(px_check_line("    ", PX_LINE_MAX), "empty");
    EXPECT_ERR(px_check_line("bell\a", PX_LINE_MAX), "control");
    EXPECT_ERR(px_check_line("\xE6\xB3", PX_LINE_MAX), "incomplete");
    EXPECT_ERR(px_check_line("泗阳县", 8), "too long");
    EXPECT_ERR(px_check_line(NULL, PX_LINE_MAX), "missing");
}

/* ---- identifiers ------------------------------------------------------------- */

static void ident_accepts_codes(void **state)
{
    char id[PX_IDENT_MAX + 2];

    (void)state;
    EXPECT_OK(px_check_ident("A"));
    EXPECT_OK(px_check_ident("case-2024.001"));
    EXPECT_OK(px_check_ident("unit_07"));
    EXPECT_OK(px_check_ident("0"));
    EXPECT_OK(px_check_ident("_x"));
    EXPECT_OK(px_check_ident("a..b")); /* only a leading '.' is dangerous */
    memset(id, 'x', PX_IDENT_MAX);
    id[PX_IDENT_MAX] = '\0';
    EXPECT_OK(px_check_ident(id));
    id[PX_IDENT_MAX] = 'x';
    id[PX_IDENT_MAX + 1] = '\0';
    EXPECT_ERR(px_check_ident(id), "too long");
}

static void ident_rejects_unsafe_names(void **state)
{
    (void)state;
    EXPECT_ERR(px_check_ident(""), "empty");
    EXPECT_ERR(px_check_ident(NULL), "missing");
    EXPECT_ERR(px_check_ident("."), "start");
    EXPECT_ERR(px_check_ident(".."), "start");
    EXPECT_ERR(px_check_ident(".hidden"), "start");
    EXPECT_ERR(px_check_ident("-rf"), "start");
    EXPECT_ERR(px_check_ident("../etc"), "A-Z");
    EXPECT_ERR(px_check_ident("a/b"), "A-Z");
    EXPECT_ERR(px_check_ident("a\\b"), "A-Z");
    EXPECT_ERR(px_check_ident("c:x"), "A-Z");
    EXPECT_ERR(px_check_ident("a b"), "A-Z");
    EXPECT_ERR(px_check_ident("a%2e"), "A-Z");
    EXPECT_ERR(px_check_ident("a?b=1"), "A-Z");
    EXPECT_ERR(px_check_ident("案件1"), "A-Z");
    EXPECT_ERR(px_check_ident("x\n"), "A-Z");
}

/* ---- unified social credit code ------------------------------------------------ */

static void credit_accepts_valid_codes(void **state)
{
    static const char *const good[] = {
        "91350100M000100Y43", /* the commonly cited example */
        "91110000100000000R",
        "52100000MJ0000000Y",
        "12100000000013141R",
        "9144030071526726XG",
        "93320523MA1M00000D",
        "Y1000000000000000X",
        "92000000000000000G",
        "913213000000000110", /* sum mod 31 == 0: check '0', not alphabet[31] */
        "91321300000000001Y", /* check is the last alphabet letter */
    };
    char detail[128];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        memcpy(detail, "junk", 5);
        EXPECT_OK(px_check_credit_code(good[i], detail, sizeof detail));
        assert_string_equal(detail, ""); /* cleared on success */
        EXPECT_OK(px_check_credit_code(good[i], NULL, 0));
    }
}

static void credit_wrong_check_character(void **state)
{
    char detail[128];

    (void)state;
    EXPECT_ERR(px_check_credit_code("91350100M000100Y44", detail, sizeof detail), "check");
    assert_string_equal(detail, "check character is '4', expected '3'");
    EXPECT_ERR(px_check_credit_code("91110000100000000Y", detail, sizeof detail), "check");
    assert_string_equal(detail, "check character is 'Y', expected 'R'");
    /* One mistyped digit in the body. */
    EXPECT_ERR(px_check_credit_code("91350100M000700Y43", detail, sizeof detail), "check");
    assert_non_null(strstr(detail, "expected"));
    /* Two neighbours swapped. */
    EXPECT_ERR(px_check_credit_code("93150100M000100Y43", NULL, 0), "check");
}

static void credit_rejects_case_length_and_letters(void **state)
{
    char detail[128];

    (void)state;
    EXPECT_ERR(px_check_credit_code("91350100m000100y43", detail, sizeof detail), "upper case");
    assert_string_equal(detail, "position 9: lower-case 'm', use upper case");
    EXPECT_ERR(px_check_credit_code("91110000100000000r", detail, sizeof detail), "upper case");
    assert_non_null(strstr(detail, "position 18"));

    EXPECT_ERR(px_check_credit_code("91350100M000100Y4", detail, sizeof detail), "18");
    assert_non_null(strstr(detail, "17 characters"));
    EXPECT_ERR(px_check_credit_code("91350100M000100Y433", detail, sizeof detail), "18");
    assert_non_null(strstr(detail, "19 characters"));
    EXPECT_ERR(px_check_credit_code("91350100M000100Y43 ", detail, sizeof detail), "18");
    EXPECT_ERR(px_check_credit_code("", detail, sizeof detail), "18");
    EXPECT_ERR(px_check_credit_code("350100M000100Y4", detail, sizeof detail), "18");
    EXPECT_ERR(px_check_credit_code(NULL, detail, sizeof detail), "missing");

    /* I O S V Z look like 1 0 5 U 2 and are never used. */
    EXPECT_ERR(px_check_credit_code("9135010OM000100Y43", detail, sizeof detail), "not allowed");
    assert_string_equal(detail,
                        "position 8: 'O' is not allowed (letters I O S V Z are never used)");
    EXPECT_ERR(px_check_credit_code("I1350100M000100Y43", detail, sizeof detail), "not allowed");
    assert_non_null(strstr(detail, "position 1: 'I'"));
    EXPECT_ERR(px_check_credit_code("91350100M000100S43", detail, sizeof detail), "not allowed");
    assert_non_null(strstr(detail, "position 16: 'S'"));
    EXPECT_ERR(px_check_credit_code("91350100M0V0100Y43", detail, sizeof detail), "not allowed");
    assert_non_null(strstr(detail, "position 11: 'V'"));
    EXPECT_ERR(px_check_credit_code("91350100M000100Y4Z", detail, sizeof detail), "not allowed");
    assert_non_null(strstr(detail, "position 18: 'Z'"));
    EXPECT_ERR(px_check_credit_code("91350100M000100Y4o", detail, sizeof detail), "not allowed");
    EXPECT_ERR(px_check_credit_code("91350100-000100Y43", detail, sizeof detail), "not allowed");
    assert_non_null(strstr(detail, "position 9: '-'"));
    EXPECT_ERR(px_check_credit_code("91350100 000100Y43", detail, sizeof detail), "not allowed");
    EXPECT_ERR(px_check_credit_code("91350100\t000100Y43", detail, sizeof detail), "not allowed");
    assert_non_null(strstr(detail, "0x09"));
}

static void credit_rejects_full_width(void **state)
{
    char detail[128];

    (void)state;
    /* Typed with a Chinese input method in full-width mode. */
    EXPECT_ERR(px_check_credit_code("９１350100M000100Y43", detail, sizeof detail), "non-ASCII");
    assert_non_null(strstr(detail, "byte 1"));
    EXPECT_ERR(px_check_credit_code("91350100Ｍ000100Y43", detail, sizeof detail), "non-ASCII");
    assert_non_null(strstr(detail, "byte 9"));
}

static void credit_detail_truncates_safely(void **state)
{
    char detail[8];

    (void)state;
    memset(detail, 'z', sizeof detail);
    EXPECT_ERR(px_check_credit_code("91350100M000100Y44", detail, sizeof detail), "check");
    assert_string_equal(detail, "check c");
    /* detail_len 0 means "do not touch". */
    memset(detail, 'z', sizeof detail);
    EXPECT_ERR(px_check_credit_code("91350100M000100Y44", detail, 0), "check");
    assert_int_equal(detail[0], 'z');
}

/* ---- resident identity card number ---------------------------------------------- */

static void id_accepts_valid_numbers(void **state)
{
    static const char *const good[] = {
        "11010519491231002X", /* the example in GB 11643-1999 */
        "321323199001010014",
        "32132319900101009X",
        "321323200002290017", /* 2000 is a leap year */
        "321323202402291237",
        "321323190001010013", /* first allowed birth date */
        "321323209912310014", /* last allowed birth date */
    };
    char detail[128];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        memcpy(detail, "junk", 5);
        EXPECT_OK(px_check_id_number(good[i], detail, sizeof detail));
        assert_string_equal(detail, "");
    }
}

static void id_rejects_bad_check_and_case(void **state)
{
    char detail[128];

    (void)state;
    EXPECT_ERR(px_check_id_number("110105194912310021", detail, sizeof detail), "check");
    assert_string_equal(detail, "check character is '1', expected 'X'");
    EXPECT_ERR(px_check_id_number("32132319900101001X", detail, sizeof detail), "check");
    assert_string_equal(detail, "check character is 'X', expected '4'");
    EXPECT_ERR(px_check_id_number("321323199001010015", detail, sizeof detail), "check");
    /* Lower-case x is common when typed; it must be corrected, not
     * silently stored in a second spelling. */
    EXPECT_ERR(px_check_id_number("11010519491231002x", detail, sizeof detail), "upper-case 'X'");
    assert_non_null(strstr(detail, "position 18"));
}

static void id_rejects_impossible_birth_dates(void **state)
{
    char detail[128];

    (void)state;
    /* All of these carry a correct check digit: only the date is wrong. */
    EXPECT_ERR(px_check_id_number("440524188001010014", detail, sizeof detail), "birth date");
    assert_non_null(strstr(detail, "18800101"));
    EXPECT_ERR(px_check_id_number("321323199902300019", detail, sizeof detail), "birth date");
    assert_non_null(strstr(detail, "19990230"));
    EXPECT_ERR(px_check_id_number("321323190002290010", detail, sizeof detail), "birth date");
    EXPECT_ERR(px_check_id_number("321323210001010019", detail, sizeof detail), "birth date");
    EXPECT_ERR(px_check_id_number("321323199013010010", NULL, 0), "birth date");
    EXPECT_ERR(px_check_id_number("321323199000010010", NULL, 0), "birth date");
    EXPECT_ERR(px_check_id_number("321323199001000010", NULL, 0), "birth date");
    EXPECT_ERR(px_check_id_number("321323199004310010", NULL, 0), "birth date");
}

static void id_rejects_shape(void **state)
{
    char detail[128];

    (void)state;
    EXPECT_ERR(px_check_id_number("110105491231002", detail, sizeof detail), "18"); /* old 15-digit */
    assert_non_null(strstr(detail, "15 characters"));
    EXPECT_ERR(px_check_id_number("11010519491231002", detail, sizeof detail), "18");
    EXPECT_ERR(px_check_id_number("11010519491231002X ", detail, sizeof detail), "18");
    EXPECT_ERR(px_check_id_number("", detail, sizeof detail), "18");
    EXPECT_ERR(px_check_id_number(NULL, detail, sizeof detail), "missing");
    EXPECT_ERR(px_check_id_number("110105 19491231002", detail, sizeof detail), "17 digits");
    assert_string_equal(detail, "position 7: ' ' is not a digit");
    EXPECT_ERR(px_check_id_number("1101051949123100X2", detail, sizeof detail), "17 digits");
    assert_non_null(strstr(detail, "position 17"));
    EXPECT_ERR(px_check_id_number("11010519491231002Y", detail, sizeof detail), "17 digits");
    assert_non_null(strstr(detail, "position 18"));
    EXPECT_ERR(px_check_id_number("１１0105194912310021", detail, sizeof detail), "non-ASCII");
}

/* ---- dates ------------------------------------------------------------------- */

static void date_parses_known_days(void **state)
{
    int32_t d = -1;

    (void)state;
    EXPECT_OK(px_parse_date("2000-01-01", &d));
    assert_int_equal(d, 10957);
    EXPECT_OK(px_parse_date("2024-02-29", &d));
    assert_int_equal(d, 19782);
    EXPECT_OK(px_parse_date("2038-01-19", &d)); /* 32-bit time_t overflow day */
    assert_int_equal(d, 24855);
    EXPECT_OK(px_parse_date("2099-12-31", &d));
    assert_int_equal(d, 47481);
    EXPECT_OK(px_parse_date("2000-02-29", NULL)); /* divisible by 400 */
}

static void date_rejects_bad_input(void **state)
{
    static const struct {
        const char *s;
        const char *frag;
    } bad[] = {
        {"2023-02-29", "no such day"},
        {"2100-02-29", "year"},
        {"2024-04-31", "no such day"},
        {"2024-06-31", "no such day"},
        {"2024-01-32", "no such day"},
        {"2024-01-00", "no such day"},
        {"2024-13-01", "month"},
        {"2024-00-10", "month"},
        {"1999-12-31", "year"},
        {"2100-01-01", "year"},
        {"1970-01-01", "year"},
        {"2024-1-5", "YYYY-MM-DD"},
        {"2024/01/05", "YYYY-MM-DD"},
        {"05-01-2024", "YYYY-MM-DD"},
        {"20240105", "YYYY-MM-DD"},
        {" 2024-01-05", "YYYY-MM-DD"},
        {"2024-01-05 ", "YYYY-MM-DD"},
        {"2024-01-05T08:00", "YYYY-MM-DD"},
        {"2024-+1-05", "YYYY-MM-DD"},
        {"2024-01- 5", "YYYY-MM-DD"},
        {"２０２４-01-05", "YYYY-MM-DD"},
        {"2024年1月5日", "YYYY-MM-DD"},
        {"", "YYYY-MM-DD"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t d = 12345;
        const char *why = px_parse_date(bad[i].s, &d);

        if (why == NULL)
            fail_msg("\"%s\" accepted as day %d", bad[i].s, (int)d);
        if (strstr(why, bad[i].frag) == NULL)
            fail_msg("\"%s\": got \"%s\", expected \"%s\"", bad[i].s, why, bad[i].frag);
        assert_int_equal(d, 12345); /* untouched on error */
    }
    EXPECT_ERR(px_parse_date(NULL, NULL), "missing");
}

/* Walk the calendar 2000..2099 with the test's own month lengths: every
 * date parses to the next day number and formats back to itself. */
static void date_round_trip_whole_range(void **state)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t expect = 10957; /* 2000-01-01: 30 * 365 + 7 leap days */
    int y, m, d;

    (void)state;
    for (y = 2000; y <= 2099; y++) {
        for (m = 1; m <= 12; m++) {
            int last = mdays[m - 1] + (m == 2 && y % 4 == 0); /* 2000 leap, no 2100 */

            for (d = 1; d <= last; d++) {
                char s[32], back[16];
                int32_t got = -1;

                snprintf(s, sizeof s, "%04d-%02d-%02d", y, m, d);
                EXPECT_OK(px_parse_date(s, &got));
                if (got != expect)
                    fail_msg("%s parsed as %d, expected %d", s, (int)got, (int)expect);
                px_format_date(expect, back, sizeof back);
                if (strcmp(back, s) != 0)
                    fail_msg("day %d formatted as %s, expected %s", (int)expect, back, s);
                expect++;
            }
        }
    }
    assert_int_equal(expect, 47482);
}

/* "????-??-??", escaped: "??-" is a trigraph in ISO C11. */
#define UNKNOWN_DATE "?\?\?\?-?\?-?\?"

static void date_format_outside_parse_range(void **state)
{
    char buf[16];

    (void)state;
    px_format_date(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01");
    px_format_date(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31");
    px_format_date(-25567, buf, sizeof buf); /* birth dates on ID cards */
    assert_string_equal(buf, "1900-01-01");
    px_format_date(47482, buf, sizeof buf);
    assert_string_equal(buf, "2100-01-01");
    px_format_date(-719528, buf, sizeof buf);
    assert_string_equal(buf, "0000-01-01");
    px_format_date(2932896, buf, sizeof buf);
    assert_string_equal(buf, "9999-12-31");
    /* A corrupt day number is shown as unknown, not as a plausible date. */
    px_format_date(2932897, buf, sizeof buf);
    assert_string_equal(buf, UNKNOWN_DATE);
    px_format_date(INT32_MAX, buf, sizeof buf);
    assert_string_equal(buf, UNKNOWN_DATE);
    px_format_date(INT32_MIN, buf, sizeof buf);
    assert_string_equal(buf, UNKNOWN_DATE);
}

static void date_format_small_buffer(void **state)
{
    char buf[11];

    (void)state;
    px_format_date(19782, buf, sizeof buf); /* exactly 11 bytes is enough */
    assert_string_equal(buf, "2024-02-29");
    px_format_date(19782, buf, 5);
    assert_string_equal(buf, "2024"); /* truncated but terminated */
    memset(buf, 'z', sizeof buf);
    px_format_date(19782, buf, 0);
    assert_int_equal(buf[0], 'z');
}

/* ---- unsigned integers --------------------------------------------------------- */

static void u64_accepts_numbers(void **state)
{
    uint64_t v = 7;

    (void)state;
    EXPECT_OK(px_parse_u64("0", 0, 10, &v));
    assert_true(v == 0);
    EXPECT_OK(px_parse_u64("10", 0, 10, &v));
    assert_true(v == 10);
    EXPECT_OK(px_parse_u64("1", 1, 1, &v));
    assert_true(v == 1);
    EXPECT_OK(px_parse_u64("18446744073709551615", 0, UINT64_MAX, &v));
    assert_true(v == UINT64_MAX);
    EXPECT_OK(px_parse_u64("1844674407370955161", 0, UINT64_MAX, &v));
    assert_true(v == UINT64_MAX / 10);
    EXPECT_OK(px_parse_u64("4294967296", 0, UINT64_MAX, NULL));
}

static void u64_rejects_bad_input(void **state)
{
    static const struct {
        const char *s;
        const char *frag;
    } bad[] = {
        {"", "empty"},
        {"+1", "digits only"},
        {"-1", "digits only"},
        {"-0", "digits only"},
        {" 1", "digits only"},
        {"1 ", "digits only"},
        {"1,000", "digits only"},
        {"1.5", "digits only"},
        {"1e3", "digits only"},
        {"0x10", "digits only"},
        {"١٢", "digits only"},  /* Arabic-Indic digits */
        {"１２", "digits only"}, /* full-width digits */
        {"01", "leading zero"},
        {"00", "leading zero"},
        {"007", "leading zero"},
        {"18446744073709551616", "maximum"},
        {"18446744073709551620", "maximum"},
        {"99999999999999999999999999", "maximum"},
        {"99999999999999999999x", "digits only"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 42;
        const char *why = px_parse_u64(bad[i].s, 0, UINT64_MAX, &v);

        if (why == NULL)
            fail_msg("\"%s\" accepted", bad[i].s);
        if (strstr(why, bad[i].frag) == NULL)
            fail_msg("\"%s\": got \"%s\", expected \"%s\"", bad[i].s, why, bad[i].frag);
        assert_true(v == 42); /* untouched on error */
    }
    EXPECT_ERR(px_parse_u64(NULL, 0, 1, NULL), "missing");
}

static void u64_enforces_range(void **state)
{
    uint64_t v = 42;

    (void)state;
    EXPECT_ERR(px_parse_u64("0", 1, 100, &v), "minimum");
    EXPECT_ERR(px_parse_u64("9", 10, 100, &v), "minimum");
    EXPECT_ERR(px_parse_u64("101", 10, 100, &v), "maximum");
    EXPECT_ERR(px_parse_u64("65536", 0, 65535, &v), "maximum");
    assert_true(v == 42);
    EXPECT_OK(px_parse_u64("65535", 0, 65535, &v));
    assert_true(v == 65535);
}

/* ---- booleans ------------------------------------------------------------------- */

static void bool_parses_spellings(void **state)
{
    static const struct {
        const char *s;
        int v;
    } good[] = {{"yes", 1}, {"true", 1}, {"1", 1}, {"no", 0}, {"false", 0}, {"0", 0}};
    static const char *const bad[] = {"", "y", "n", "Yes", "YES", "True", " yes",
                                      "yes ", "2", "on", "off", "是", "01"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        int v = -1;
        EXPECT_OK(px_parse_bool(good[i].s, &v));
        assert_int_equal(v, good[i].v);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int v = -1;
        const char *why = px_parse_bool(bad[i], &v);
        if (why == NULL)
            fail_msg("\"%s\" accepted as %d", bad[i], v);
        assert_non_null(strstr(why, "yes or no"));
        assert_int_equal(v, -1);
    }
    EXPECT_ERR(px_parse_bool(NULL, NULL), "missing");
}

/* ---- hex ------------------------------------------------------------------------- */

static void hex_parses_lower_case(void **state)
{
    uint8_t out[4] = {0};
    static const uint8_t want[4] = {0x00, 0xff, 0x10, 0xa5};

    (void)state;
    EXPECT_OK(px_parse_hex("00ff10a5", out, 4));
    assert_memory_equal(out, want, 4);
    EXPECT_OK(px_parse_hex("", out, 0));
}

static void hex_rejects_bad_input(void **state)
{
    uint8_t out[4];
    static const uint8_t untouched[4] = {0xEE, 0xEE, 0xEE, 0xEE};

    (void)state;
    memset(out, 0xEE, sizeof out);
    EXPECT_ERR(px_parse_hex("00FF10A5", out, 4), "lower case");
    EXPECT_ERR(px_parse_hex("00ff10A5", out, 4), "lower case");
    EXPECT_ERR(px_parse_hex("00ff10a", out, 4), "length");
    EXPECT_ERR(px_parse_hex("00ff10a5a", out, 4), "length");
    EXPECT_ERR(px_parse_hex("00ff10a500", out, 4), "length");
    EXPECT_ERR(px_parse_hex("00ff", out, 4), "length");
    EXPECT_ERR(px_parse_hex("", out, 4), "length");
    EXPECT_ERR(px_parse_hex("00", out, 0), "length");
    EXPECT_ERR(px_parse_hex("00ff10g5", out, 4), "not a hex digit");
    EXPECT_ERR(px_parse_hex("0x ff10a", out, 4), "not a hex digit");
    EXPECT_ERR(px_parse_hex("00ff 0a5", out, 4), "not a hex digit");
    EXPECT_ERR(px_parse_hex(NULL, out, 4), "missing");
    assert_memory_equal(out, untouched, 4); /* nothing written on error */
}

static void hex_round_trip_all_bytes(void **state)
{
    uint8_t in[256], back[256];
    char text[2 * 256 + 1];
    size_t i;

    (void)state;
    for (i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    px_format_hex(in, 256, text);
    assert_int_equal(strlen(text), 512);
    assert_memory_equal(text, "000102", 6);
    assert_string_equal(text + 500, "fafbfcfdfeff");
    EXPECT_OK(px_parse_hex(text, back, 256));
    assert_memory_equal(in, back, 256);

    memset(text, 'z', 4);
    px_format_hex(in, 0, text);
    assert_string_equal(text, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_accepts_real_text),
        cmocka_unit_test(utf8_rejects_malformed),
        cmocka_unit_test(utf8_respects_len),
        cmocka_unit_test(utf8_every_code_point),
        cmocka_unit_test(utf8_every_two_byte_buffer),
        cmocka_unit_test(text_accepts_content),
        cmocka_unit_test(text_rejects_empty_and_blank),
        cmocka_unit_test(text_rejects_bad_bytes),
        cmocka_unit_test(text_length_limit_in_bytes),
        cmocka_unit_test(text_does_not_read_past_limit),
        cmocka_unit_test(line_rejects_breaks_and_tabs),
        cmocka_unit_test(ident_accepts_codes),
        cmocka_unit_test(ident_rejects_unsafe_names),
        cmocka_unit_test(credit_accepts_valid_codes),
        cmocka_unit_test(credit_wrong_check_character),
        cmocka_unit_test(credit_rejects_case_length_and_letters),
        cmocka_unit_test(credit_rejects_full_width),
        cmocka_unit_test(credit_detail_truncates_safely),
        cmocka_unit_test(id_accepts_valid_numbers),
        cmocka_unit_test(id_rejects_bad_check_and_case),
        cmocka_unit_test(id_rejects_impossible_birth_dates),
        cmocka_unit_test(id_rejects_shape),
        cmocka_unit_test(date_parses_known_days),
        cmocka_unit_test(date_rejects_bad_input),
        cmocka_unit_test(date_round_trip_whole_range),
        cmocka_unit_test(date_format_outside_parse_range),
        cmocka_unit_test(date_format_small_buffer),
        cmocka_unit_test(u64_accepts_numbers),
        cmocka_unit_test(u64_rejects_bad_input),
        cmocka_unit_test(u64_enforces_range),
        cmocka_unit_test(bool_parses_spellings),
        cmocka_unit_test(hex_parses_lower_case),
        cmocka_unit_test(hex_rejects_bad_input),
        cmocka_unit_test(hex_round_trip_all_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
