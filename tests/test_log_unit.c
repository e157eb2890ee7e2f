/* test_log_unit.c -- patrold's log lines (server/net.c srv_vlog, through
 * app_log), as an administrator's tools read them:
 *  - one line an event, "ts=YYYY-MM-DDTHH:MM:SS.mmmZ level=LEVEL ..." with
 *    milliseconds, the same format as the network front's own lines;
 *  - a value carrying a line break (a name a client sent, an error text)
 *    cannot forge a second line: control characters become '?';
 *  - a quoted value's own quotes and backslashes are escaped, so it cannot
 *    close its quotes early and pass for more keys;
 *  - serve --log-format json: the same line as one JSON object. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "net.h"

/* Run app_log with stderr sent to a temporary file; return what it wrote. */
static char *captured(const char *level, const char *value)
{
    char path[] = "/tmp/test_log_unit.XXXXXX", *out;
    int fd = mkstemp(path), saved = dup(2);
    long n;
    FILE *f;
    assert_true(fd >= 0 && saved >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    app_log(level, "event=test name=\"%s\" n=%d", value, 7);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    close(fd);
    assert_non_null(f = fopen(path, "rb"));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(path);
    return out;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_format(void **state)
{
    regex_t re;
    char *out = captured("info", "终端-07");
    (void)state;
    assert_int_equal(lines(out), 1);
    assert_int_equal(regcomp(&re, "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\."
                                  "[0-9]{3}Z level=info event=test name=\"终端-07\" n=7\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
    regfree(&re);
    free(out);
}

static void test_no_forged_line(void **state)
{
    char *out = captured("warn", "x\"\nts=2026-01-01T00:00:00.000Z level=info event=enrolled\r\x7f");
    (void)state;
    assert_int_equal(lines(out), 1);
    assert_non_null(
        strstr(out, "name=\"x\\\"?ts=2026-01-01T00:00:00.000Z level=info event=enrolled??\" n=7"));
    free(out);
}

/* serve --log-format json: the same line as one JSON object, every value a
 * string, logfmt's quoting undone and JSON's applied. */
static void test_json(void **state)
{
    regex_t re;
    char *out;
    (void)state;
    srv_set_log_json(1);
    out = captured("info", "a \"quoted\" \\ value");
    srv_set_log_json(0);
    assert_int_equal(lines(out), 1);
    assert_int_equal(regcomp(&re, "^[{]\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[.][0-9]{3}Z\","
                                  "\"level\":\"info\",\"event\":\"test\",\"name\":\".*\","
                                  "\"n\":\"7\"[}]\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    if (regexec(&re, out, 0, NULL, 0) != 0)
        fail_msg("not the JSON expected: %s", out);
    regfree(&re);
    /* the value's quotes and backslash are JSON-escaped, nothing lost */
    if (!strstr(out, "\"name\":\"a \\\"quoted\\\" \\\\ value\""))
        fail_msg("the value is not there as given: %s", out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_no_forged_line),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
