/* test_upload_unit.c -- the console's multipart/form-data reader
 * (server/web_upload.c, 清单's file upload): a well-formed form gives each
 * part's exact bytes and the file's name; every malformed form is refused
 * (-1), never read past its end; every truncation and many one-byte
 * changes of a form are read safely (under the sanitizers: no overflow),
 * and a part found always lies inside the body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "web_int.h"

#define CT "multipart/form-data; boundary=----pwB7"

static int get(const char *type, const void *body, size_t len, const char *name,
               const uint8_t **val, size_t *vlen, char *fname, size_t fcap)
{
    srv_header h = {"content-type", type};
    srv_request rq;
    uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees any overread */
    int r;
    memcpy(copy, body, len);
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = "/lists/import";
    rq.query = "";
    rq.headers = type ? &h : NULL;
    rq.n_headers = type ? 1 : 0;
    rq.body = copy;
    rq.body_len = len;
    r = web_multipart_get(&rq, name, val, vlen, fname, fcap);
    if (r == 1) {
        assert_true(*val >= copy && *val + *vlen <= copy + len);
        /* Point into the caller's body instead, the copy is freed. */
        *val = (const uint8_t *)body + (*val - copy);
    }
    free(copy);
    return r;
}

static const char good[] = "------pwB7\r\n"
                           "Content-Disposition: form-data; name=\"csrf\"\r\n\r\n"
                           "TOKEN123\r\n"
                           "------pwB7\r\n"
                           "Content-Disposition: form-data; name=\"file\"; filename=\"清单 v2.json\"\r\n"
                           "Content-Type: application/json\r\n\r\n"
                           "{\"a\":\"x\r\n--not-the-boundary\"}\r\n\r\n"
                           "------pwB7--\r\n";

static void well_formed(void **state)
{
    const uint8_t *v;
    size_t n;
    char fname[64];
    (void)state;
    assert_int_equal(get(CT, good, sizeof good - 1, "csrf", &v, &n, fname, sizeof fname), 1);
    assert_int_equal(n, 8);
    assert_memory_equal(v, "TOKEN123", 8);
    assert_string_equal(fname, "");
    assert_int_equal(get(CT, good, sizeof good - 1, "file", &v, &n, fname, sizeof fname), 1);
    /* The content ends before the CRLF of the delimiter; its own CRLFs and a
     * line that is not the delimiter are kept. */
    assert_int_equal(n, strlen("{\"a\":\"x\r\n--not-the-boundary\"}\r\n"));
    assert_memory_equal(v, "{\"a\":\"x\r\n--not-the-boundary\"}\r\n", n);
    assert_string_equal(fname, "清单 v2.json");
    assert_int_equal(get(CT, good, sizeof good - 1, "other", &v, &n, NULL, 0), 0);
    /* A quoted boundary, a name cut to the caller's room. */
    assert_int_equal(get("multipart/form-data; boundary=\"----pwB7\"", good, sizeof good - 1, "file",
                         &v, &n, fname, 5),
                     1);
    assert_int_equal(strlen(fname), 4);
}

static void binary_content(void **state)
{
    char body[256];
    const uint8_t *v;
    size_t n, len;
    static const uint8_t bytes[] = {0, 1, '\r', '\n', '-', '-', 0xff, '\r', 0};
    (void)state;
    len = (size_t)snprintf(body, sizeof body,
                           "------pwB7\r\nContent-Disposition: form-data; name=\"file\"; "
                           "filename=\"b.bin\"\r\n\r\n");
    memcpy(body + len, bytes, sizeof bytes);
    len += sizeof bytes;
    memcpy(body + len, "\r\n------pwB7--\r\n", 16);
    len += 16;
    assert_int_equal(get(CT, body, len, "file", &v, &n, NULL, 0), 1);
    assert_int_equal(n, sizeof bytes);
    assert_memory_equal(v, bytes, sizeof bytes);
}

static void refused(void **state)
{
    const uint8_t *v;
    size_t n;
    char many[4096] = "";
    char big[2048];
    static const struct {
        const char *type, *body;
    } bad[] = {
        {NULL, good},
        {"application/x-www-form-urlencoded", good},
        {"multipart/form-data", good},                       /* no boundary */
        {"multipart/form-data; boundary=", good},            /* empty boundary */
        {"multipart/form-data; boundary=\"----pwB7", good},  /* unclosed quote */
        {CT, ""},
        {CT, "garbage before\r\n------pwB7\r\n"},
        {CT, "------pwB7\r\n\r\nno disposition\r\n------pwB7--\r\n"},
        {CT, "------pwB7\r\nContent-Disposition: form-data; name=file\r\n\r\nx\r\n------pwB7--\r\n"},
        {CT, "------pwB7\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nx\r\n------pwB7--\r\n"},
        {CT, "------pwB7\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnever ends"},
        {CT, "------pwB7\r\nContent-Disposition: form-data; name=\"fi\nle\"\r\n\r\nx\r\n------pwB7--\r\n"},
        {CT, "------pwB7\r\nContent-Disposition: form-data; name=\"file\"\r\nno blank line"},
        {CT, "------pwB7xx\r\n"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(get(bad[i].type, bad[i].body, strlen(bad[i].body), "file", &v, &n, NULL, 0),
                         -1);
    /* A boundary of 71 bytes. */
    snprintf(big, sizeof big, "multipart/form-data; boundary=%071d", 0);
    assert_int_equal(get(big, good, sizeof good - 1, "file", &v, &n, NULL, 0), -1);
    /* Part headers over 1 KiB. */
    {
        size_t len = (size_t)snprintf(many, sizeof many,
                                      "------pwB7\r\nContent-Disposition: form-data; name=\"file\"\r\n"
                                      "X-Pad: %01100d\r\n\r\nx\r\n------pwB7--\r\n",
                                      0);
        assert_int_equal(get(CT, many, len, "file", &v, &n, NULL, 0), -1);
    }
    /* Nine parts. */
    {
        size_t at = 0;
        for (int i = 0; i < 9; i++)
            at += (size_t)snprintf(many + at, sizeof many - at, "%s",
                                   "------pwB7\r\nContent-Disposition: form-data; name=\"p\"\r\n"
                                   "\r\nx\r\n");
        at += (size_t)snprintf(many + at, sizeof many - at, "------pwB7--\r\n");
        assert_int_equal(get(CT, many, at, "file", &v, &n, NULL, 0), -1);
    }
}

/* Every truncation and every byte changed to a few values: read safely. */
static void mutations(void **state)
{
    size_t len = sizeof good - 1, runs = 0;
    char *b = malloc(len);
    static const char vals[] = {'\r', '\n', '-', '"', ';', '\0', 'x'};
    const uint8_t *v;
    size_t n;
    char fname[32];
    (void)state;
    for (size_t cut = 0; cut <= len; cut++, runs++)
        (void)get(CT, good, cut, "file", &v, &n, fname, sizeof fname);
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof vals; k++, runs++) {
            memcpy(b, good, len);
            b[i] = vals[k];
            (void)get(CT, b, len, "file", &v, &n, fname, sizeof fname);
            (void)get(CT, b, len, "csrf", &v, &n, NULL, 0);
        }
    print_message("%zu mutated forms read\n", runs);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(well_formed),
        cmocka_unit_test(binary_content),
        cmocka_unit_test(refused),
        cmocka_unit_test(mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
