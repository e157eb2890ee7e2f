/* test_store.c -- libpatrol through its public API only (patrol/patrol.h),
 * with libsqlite3 used directly the way an attacker or a damaged disk
 * would: to look at the store from outside and to tamper with it.
 *
 * What a user would notice, and what this program checks:
 *  - every method and every other kind of entry refuses bad input with
 *    the right code and a message that names the field, id or file;
 *  - a refused request leaves the store exactly as it was: every table,
 *    the schema, and every file under evidence/ (store_snapshot() and
 *    EXPECT_REFUSED, used for every refusal below);
 *  - patrol_verify accepts an honest store and names the entry (or the
 *    evidence file) an attacker edited, deleted, reordered or swapped;
 *  - opening and creating stores fails safely (not a store, newer schema,
 *    key readable by others, open in another process, files private).
 *
 * Every test works in its own directory under $TMPDIR (or /tmp), removed
 * afterwards. */
#include "store_test.h"

/* ======================================================================
 * main
 * ====================================================================== */

#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
#define TMP(t) cmocka_unit_test_setup_teardown(t, tmp_setup, tmp_teardown)

int main(void)
{
    const struct CMUnitTest store_tests[] = {
        FX(snapshot_sees_changes),
        /* 1. the seven methods */
        cmocka_unit_test(method_required_match_rules),
        FX(method_valid_records_saved),
        FX(method_missing_required_field),
        FX(warning_needs_all_four_conditions),
        FX(method_bad_choices),
        FX(method_bad_dates),
        FX(method_bad_text),
        FX(method_unknown_and_repeated_fields),
        FX(method_target_and_kind_checks),
        /* 2. other kinds */
        FX(subject_add_checks_codes),
        FX(inspector_add_checks),
        FX(matter_open_checks),
        FX(matter_open_excluded_refused),
        FX(major_technical_matter_completion),
        FX(matter_open_list_item_filled_in),
        FX(matter_open_list_fields_not_typed),
        FX(consent_refusal_blocks_actions),
        FX(matter_close_and_after),
        FX(leaflet_expert_hearing),
        FX(revisits_due_listing),
        FX(revisit_of_terminated_matter_not_due),
        FX(document_issue_and_deliver),
        FX(application_withdraw_and_change),
        FX(correction_checks),
        /* 5. evidence */
        FX(evidence_stored_once),
        FX(evidence_bad_input),
        /* 4. (a fresh store verifies) */
        FX(verify_fresh_store),
        /* 6. lifecycle */
        TMP(init_refuses_non_empty_dir),
        TMP(init_bad_arguments),
        TMP(open_without_store),
        TMP(open_newer_schema),
        TMP(open_key_problems),
        TMP(open_foreign_database),
        TMP(open_not_a_database),
        TMP(open_shared_with_other_process),
        TMP(open_clears_tmp_only_alone),
        TMP(store_files_private),
        cmocka_unit_test(errors_have_text),
    };
    /* 4. verification, on copies of one realistic store */
    const struct CMUnitTest verify_tests[] = {
        TMP(verify_realistic_ok),
        TMP(verify_detects_edited_entry),
        TMP(verify_detects_deleted_middle_entry),
        TMP(verify_detects_deleted_last_entry),
        TMP(verify_detects_reordered_entries),
        TMP(verify_detects_replaced_signature),
        TMP(verify_detects_evidence_tampering),
        TMP(verify_detects_entry_moved_to_other_matter),
        /* last: crashes in patrol_verify before the fix (see the test) */
        TMP(verify_detects_changed_device_key),
    };
    int failed = cmocka_run_group_tests_name("store", store_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("verify", verify_tests, real_setup, real_teardown);
    return failed ? 1 : 0;
}
