/* test_cli_fmt.c -- what the patrol tool shows people (client/cli/fmt.c):
 * an entry's UTC time in the terminal's time zone, byte counts, places and
 * the width of Chinese labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cli.h"

/* 2026-11-28T21:52:07.250Z */
#define LATE_EVENING_UTC_MS 1795902727250LL

static void in_zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* An action at 21:52 UTC happens at 05:52 the next morning in Fuzhou. */
static void time_is_local_in_shanghai(void **state)
{
    char buf[64];
    (void)state;
    in_zone("Asia/Shanghai");
    fmt_time(LATE_EVENING_UTC_MS, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-29 05:52:07 CST");
}

static void time_in_utc_says_utc(void **state)
{
    char buf[64];
    (void)state;
    in_zone("UTC");
    fmt_time(LATE_EVENING_UTC_MS, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-28 21:52:07 UTC");
}

/* A buffer too small gives "?" rather than a cut time. */
static void time_in_small_buffer(void **state)
{
    char buf[12];
    (void)state;
    in_zone("Asia/Shanghai");
    fmt_time(LATE_EVENING_UTC_MS, buf, sizeof buf);
    assert_string_equal(buf, "?");
}

static void bytes(void **state)
{
    char buf[24];
    (void)state;
    fmt_bytes(512, buf, sizeof buf);
    assert_string_equal(buf, "512 B");
    fmt_bytes(12.3 * 1024, buf, sizeof buf);
    assert_string_equal(buf, "12.3 KiB");
    fmt_bytes(4.0 * 1024 * 1024, buf, sizeof buf);
    assert_string_equal(buf, "4.0 MiB");
}

static void place(void **state)
{
    patrol_location l = {260853000, 1192965000, 8};
    char buf[96];
    (void)state;
    fmt_place(&l, buf, sizeof buf);
    assert_string_equal(buf, "26.0853000, 119.2965000 (within 8 m)");
}

/* Labels line up by columns whether English or Chinese: a Chinese
 * character takes two. */
static void display_width(void **state)
{
    (void)state;
    assert_int_equal(fmt_width("device"), 6);
    assert_int_equal(fmt_width("设备"), 4);
    assert_int_equal(fmt_width("上次同步 sync"), 13);
    assert_int_equal(fmt_width("\xff\xfe"), 2); /* not UTF-8: one column a byte */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_is_local_in_shanghai),
        cmocka_unit_test(time_in_utc_says_utc),
        cmocka_unit_test(time_in_small_buffer),
        cmocka_unit_test(bytes),
        cmocka_unit_test(place),
        cmocka_unit_test(display_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
