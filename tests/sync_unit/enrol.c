/* enrol.c -- test_sync_unit: patrol_enroll (sync_enroll.c) against the
 * fake server: the pin is the trust, enrolling again, refusals. Moved from
 * test_sync_unit.c. */
#include "sync_unit.h"

/* ---- enrolment ------------------------------------------------------------------ */

/* The pin is the trust: with chain and name checks off, a server whose
 * key is not the pinned one is refused before anything is sent. */
void test_enroll_wrong_pin(void **state)
{
    env e;
    fake *f = fake_start(0);
    patrol_sync_info si;
    uint8_t pin[PX_HASH_LEN];
    char url[64], tok[200];
    (void)state;

    env_open(&e);
    fake_url(f, url, sizeof url);
    memcpy(pin, f->pin, sizeof pin);
    pin[0] ^= 0x80;
    make_token(pin, tok, sizeof tok);
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "pinned key"));
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->requests, 0); /* the request never left */
    assert_true(f->connections >= 1); /* ... though the TLS connection was tried */
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.enrolled, 0);
    /* The right pin, same server: enrolled. */
    make_token(f->pin, tok, sizeof tok);
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_OK);
    fake_stop(f);
    env_close(&e);
}

void test_enroll_and_again(void **state)
{
    env e;
    fake *f = fake_start(0);
    patrol_enrolment en;
    patrol_sync_info si;
    char url[64], tok[200], path[400], pem[8192];
    FILE *fp;
    size_t n;
    (void)state;

    env_open(&e);
    fake_url(f, url, sizeof url);
    make_token(f->pin, tok, sizeof tok);
    /* A trailing '/' is dropped. */
    snprintf(path, sizeof path, "%s/", url);
    assert_int_equal(patrol_enroll(e.p, path, tok, 0, &en), PATROL_OK);
    assert_string_equal(en.server_url, url);
    assert_string_equal(en.server_name, "fake station");
    assert_string_equal(en.department, DEPT);
    assert_int_equal(en.department_differs, 0);
    assert_int_equal(strlen(en.device_id), 64);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.enrolled, 1);
    assert_string_equal(si.server_url, url);
    assert_string_equal(si.server_name, "fake station");
    /* The certificate is where libcurl will read it. */
    snprintf(path, sizeof path, "%s/client.crt", e.store);
    assert_non_null(fp = fopen(path, "r"));
    n = fread(pem, 1, sizeof pem - 1, fp);
    fclose(fp);
    pem[n] = '\0';
    assert_non_null(strstr(pem, "BEGIN CERTIFICATE"));

    /* Enrolled already: refused, nothing sent. */
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_EEXIST);
    assert_non_null(strstr(patrol_errmsg(e.p), url));
    assert_int_equal(f->enrolls, 1);
    /* Forced: enrolled again. */
    make_token(f->pin, tok, sizeof tok);
    assert_int_equal(patrol_enroll(e.p, url, tok, PATROL_ENROLL_FORCE, &en), PATROL_OK);
    assert_int_equal(f->enrolls, 2);
    fake_stop(f);
    env_close(&e);
}

void test_enroll_refused(void **state)
{
    env e;
    fake *f = fake_start(0);
    patrol_sync_info si;
    char url[64], tok[200];
    (void)state;

    env_open(&e);
    fake_url(f, url, sizeof url);
    make_token(f->pin, tok, sizeof tok);
    f->enroll_refuse = "token_used";
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_ESERVER);
    assert_non_null(strstr(patrol_errmsg(e.p), "token_used"));
    assert_non_null(strstr(patrol_errmsg(e.p), "new one"));
    /* The reason also comes from the header alone. */
    f->enroll_refuse = "token_expired";
    f->no_error_body = 1;
    assert_int_equal(patrol_enroll(e.p, url, tok, 0, NULL), PATROL_ESERVER);
    assert_non_null(strstr(patrol_errmsg(e.p), "token_expired"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.enrolled, 0);

    /* Bad input is refused before anything is sent. */
    assert_int_equal(patrol_enroll(e.p, "http://127.0.0.1:1", tok, 0, NULL), PATROL_EINVAL);
    assert_int_equal(patrol_enroll(e.p, "https://", tok, 0, NULL), PATROL_EINVAL);
    assert_int_equal(patrol_enroll(e.p, "https://user@127.0.0.1:1", tok, 0, NULL), PATROL_EINVAL);
    assert_int_equal(patrol_enroll(e.p, "https://127.0.0.1:1/?x=1", tok, 0, NULL), PATROL_EINVAL);
    assert_int_equal(patrol_enroll(e.p, url, "PT1.x.y.z", 0, NULL), PATROL_EINVAL);
    assert_non_null(strstr(patrol_errmsg(e.p), "token"));
    assert_int_equal(f->enrolls, 2);
    fake_stop(f);
    env_close(&e);
}
