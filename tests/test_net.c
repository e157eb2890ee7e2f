/* test_net.c -- patrold's network front (server/net.c) over the crypto
 * module's TLS server (proto/crypto_tls.c) and X.509 (proto/crypto_x509.c),
 * driven by libcurl as a terminal would be, on 127.0.0.1 only.
 *
 * Keys and certificates are made fresh in a temporary directory with the
 * px_ functions: a server key and self-signed certificate (pinned by its
 * key, as the enrolment token does), a device CA, a device certificate
 * issued from a CSR, and a second CA with a device of its own (foreign).
 *
 * One server runs for the whole file in its own thread with small limits
 * (3 MiB body, 8 KiB header section, 1.5 s request timeout, 16
 * connections); the last test stops it with a signal while a request is in
 * flight.
 */
#include "net_test.h"

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_x509_refusals),
        cmocka_unit_test(test_tls12_and_pin),
        cmocka_unit_test(test_client_certs),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_post_expect_continue),
        cmocka_unit_test(test_413),
        cmocka_unit_test(test_431),
        cmocka_unit_test(test_400_garbage),
        cmocka_unit_test(test_plain_tcp),
        cmocka_unit_test(test_slow_client),
        cmocka_unit_test(test_slow_inflight),
        cmocka_unit_test(test_queue_shed),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_per_peer),
        cmocka_unit_test(test_header_deadline),
        cmocka_unit_test(test_refusal_closes),
        cmocka_unit_test(test_body_budget),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_stop_inflight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
