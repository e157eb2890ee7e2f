/* test_entry.c -- the canonical entry encoding (proto/entry.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "rules.h"

static uint8_t dev[32], prev[32];

static size_t encode_sample(uint8_t **out)
{
    Patrol__V1__Entry e = PATROL__V1__ENTRY__INIT;
    Patrol__V1__Field f = PATROL__V1__FIELD__INIT, *fp = &f;
    const char *why = NULL;
    size_t len = 0;
    memset(dev, 7, sizeof dev);
    e.format = 1;
    e.device.data = dev;
    e.device.len = 32;
    e.seq = 2;
    e.prev_hash.data = prev;
    e.prev_hash.len = 32;
    e.wall_ms = 1764000000000;
    e.kind = "leaflet";
    e.object = "M-00000000-1";
    f.name = "copies";
    f.value = "2";
    e.fields = &fp;
    e.n_fields = 1;
    assert_int_equal(px_entry_encode(&e, out, &len, &why), 0);
    return len;
}

static void valid_entry_decodes(void **state)
{
    uint8_t *buf;
    size_t len = encode_sample(&buf);
    const char *why = NULL;
    Patrol__V1__Entry *e = px_entry_decode(buf, len, &why);
    (void)state;
    assert_non_null(e);
    assert_int_equal(e->seq, 2);
    assert_string_equal(e->kind, "leaflet");
    px_entry_free(e);
    free(buf);
}

/* A place outside the globe is no place: the rules refuse it on both
 * sides (a terminal built before the CLI refused NaN recorded latitude
 * -922337203685 for --location nan,nan). */
static void location_out_of_range_is_refused(void **state)
{
    static const int64_t bad[][2] = {{900000001, 0}, {-900000001, 0}, {0, 1800000001},
                                     {0, -1800000001}, {INT64_MIN, INT64_MIN}};
    Patrol__V1__Entry e = PATROL__V1__ENTRY__INIT;
    Patrol__V1__Location loc = PATROL__V1__LOCATION__INIT;
    char detail[256];
    (void)state;
    e.format = 1;
    e.device.data = dev;
    e.device.len = 32;
    e.seq = 2;
    e.prev_hash.data = prev;
    e.prev_hash.len = 32;
    e.kind = "shift.end";
    e.object = "S-00000000-1";
    e.location = &loc;
    loc.lat_e7 = 900000000;
    loc.lon_e7 = -1800000000;
    if (px_rules_check_entry(&e, detail, sizeof detail) != 0)
        fail_msg("%s", detail);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        loc.lat_e7 = bad[i][0];
        loc.lon_e7 = bad[i][1];
        assert_int_equal(px_rules_check_entry(&e, detail, sizeof detail), -1);
        assert_non_null(strstr(detail, "location"));
    }
}

/* protobuf-c re-encodes unknown fields, so a byte comparison alone would
 * let them through: unchecked bytes inside signed, receipted entries. */
static void unknown_field_is_refused(void **state)
{
    uint8_t *buf, *big;
    size_t len = encode_sample(&buf);
    const char *why = NULL;
    static const uint8_t extra[] = {0x98, 0x06, 0x01}; /* field 99, varint 1 */
    (void)state;
    big = malloc(len + sizeof extra);
    assert_non_null(big);
    memcpy(big, buf, len);
    memcpy(big + len, extra, sizeof extra);
    assert_null(px_entry_decode(big, len + sizeof extra, &why));
    assert_non_null(strstr(why, "unknown"));
    free(big);
    free(buf);
}

/* A scalar given twice decodes (last one wins) but is not canonical. */
static void repeated_scalar_is_refused(void **state)
{
    uint8_t *buf, *big;
    size_t len = encode_sample(&buf);
    const char *why = NULL;
    static const uint8_t extra[] = {0x18, 0x02}; /* seq = 2 again */
    (void)state;
    big = malloc(len + sizeof extra);
    assert_non_null(big);
    memcpy(big, buf, len);
    memcpy(big + len, extra, sizeof extra);
    assert_null(px_entry_decode(big, len + sizeof extra, &why));
    assert_non_null(strstr(why, "canonical"));
    free(big);
    free(buf);
}

/* The suite (field 15) is inside the signed bytes. Suite 0 is the
 * current one and is never written (proto3 leaves defaults out), so
 * entries written before the field existed keep their bytes and hashes;
 * any other suite is refused by name until it is implemented, and an
 * explicit 0 is a second encoding of the same entry. */
static void suite_is_named_and_checked(void **state)
{
    uint8_t *buf, *big;
    size_t len = encode_sample(&buf);
    const char *why = NULL;
    Patrol__V1__Entry *e;
    static const uint8_t sm2[] = {0x78, 0x01};  /* field 15, varint 1 */
    static const uint8_t zero[] = {0x78, 0x00}; /* field 15, varint 0 */
    (void)state;
    assert_non_null(e = px_entry_decode(buf, len, &why));
    assert_int_equal(e->suite, PX_SUITE_P256_SHA256);
    px_entry_free(e);
    big = malloc(len + 2);
    assert_non_null(big);
    memcpy(big, buf, len);
    memcpy(big + len, sm2, 2);
    assert_null(px_entry_decode(big, len + 2, &why));
    assert_non_null(strstr(why, "suite"));
    memcpy(big + len, zero, 2);
    assert_null(px_entry_decode(big, len + 2, &why));
    assert_non_null(strstr(why, "canonical"));
    /* Nor can the encoder be made to write one. */
    assert_non_null(e = px_entry_decode(buf, len, &why));
    e->suite = 1;
    free(big);
    big = NULL;
    assert_int_equal(px_entry_encode(e, &big, &len, &why), -1);
    assert_null(big);
    assert_non_null(strstr(why, "suite"));
    px_entry_free(e);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_entry_decodes),
        cmocka_unit_test(location_out_of_range_is_refused),
        cmocka_unit_test(unknown_field_is_refused),
        cmocka_unit_test(repeated_scalar_is_refused),
        cmocka_unit_test(suite_is_named_and_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
