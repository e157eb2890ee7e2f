/* test_sync_unit.c -- the terminal side of sync (client/lib/sync*.c)
 * without patrold.
 *
 * Pure pieces: enrolment token parsing, batch building and its limits,
 * receipt verification. Then the network code against a small fake server
 * in this process (a thread speaking TLS 1.2 through proto/tls.h and just
 * enough HTTP/1.1), which checks what libpatrol sends and answers as
 * docs/protocol.md says, with knobs for misbehaviour: a wrong key pin,
 * refusals, 5xx, a forged receipt, a rejected entry, a dropped
 * connection after an evidence chunk was stored, an offset conflict, a
 * hash mismatch. The end-to-end tests with the real patrold are separate.
 *
 * Every test works in its own directory under $TMPDIR (or /tmp).
 *
 * The tests are in sync_unit/, one file by what they test (sync_unit.h
 * lists them); this file runs them all, in one binary. */
#include "sync_unit.h"

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_good),
        cmocka_unit_test(test_token_expired_looking),
        cmocka_unit_test(test_token_bad),
        cmocka_unit_test(test_batch_limits),
        cmocka_unit_test(test_batch_byte_cap),
        cmocka_unit_test_setup_teardown(test_receipt_good, receipt_setup, receipt_teardown),
        cmocka_unit_test_setup_teardown(test_receipt_tampered, receipt_setup, receipt_teardown),
        cmocka_unit_test_setup_teardown(test_receipt_wrong_key, receipt_setup, receipt_teardown),
        cmocka_unit_test_setup_teardown(test_receipt_wrong_content, receipt_setup,
                                        receipt_teardown),
        cmocka_unit_test(test_enroll_wrong_pin),
        cmocka_unit_test(test_enroll_and_again),
        cmocka_unit_test(test_enroll_refused),
        cmocka_unit_test(test_sync_not_enrolled),
        cmocka_unit_test(test_sync_roundtrip),
        cmocka_unit_test(test_sync_forged_receipt),
        cmocka_unit_test(test_sync_log),
        cmocka_unit_test(test_sync_rejected),
        cmocka_unit_test(test_sync_foreign_head),
        cmocka_unit_test(test_sync_fork),
        cmocka_unit_test(test_sync_server_lost_data),
        cmocka_unit_test(test_sync_evidence),
        cmocka_unit_test(test_sync_evidence_cut),
        cmocka_unit_test(test_sync_evidence_mismatch),
        cmocka_unit_test(test_sync_unreachable),
        cmocka_unit_test(test_sync_busy_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
