/* test_matter.c -- the matter state machine (proto/matter.c) on its own:
 * hand-built entries replayed by px_matter_replay, reference data from a
 * fake px_mref, no store.
 *
 *  - the state table: one test per row of px_matter_kinds(); for every
 *    state, reached by a real sequence of entries, one entry of the row's
 *    kind is appended: the table's rule is found on it exactly when
 *    px_matter_allows refuses the cell, and nothing at all when it allows
 *    it (the entry is valid and meets the row's conditions);
 *  - each rule beyond the table (seed 二(三)): consent, applications,
 *    completion, termination reasons, dates in Beijing time, revisit
 *    outcomes, documents, corrections and what they change;
 *  - reference data through the hooks, department-level acts
 *    (px_act_check), px_matter_new_refusal and px_beijing_day.
 *
 * Findings are checked by rule code and entry index, never by sentence.
 *
 * One binary; its tests are in tests/matter/ by what they test
 * (matter_unit.h). */
#include "matter_unit.h"

/* ======================================================================
 * main
 * ====================================================================== */

int main(void)
{
    const struct CMUnitTest rules[] = {
        cmocka_unit_test(states_reached_lawfully),
        cmocka_unit_test(table_shape),
        cmocka_unit_test(consent_answered_once),
        cmocka_unit_test(stop_before_accept),
        cmocka_unit_test(applications),
        cmocka_unit_test(completion_needs_method),
        cmocka_unit_test(completion_needs_delivery),
        cmocka_unit_test(major_and_technical),
        cmocka_unit_test(revisit_pending_and_not_corrected),
        cmocka_unit_test(reason_mismatch),
        cmocka_unit_test(date_past_and_late),
        cmocka_unit_test(revisit_outcome_asks),
        cmocka_unit_test(warning_contradicted_flag_only),
        cmocka_unit_test(warning_needs_correctable),
        cmocka_unit_test(documents_and_revisits_by_id),
        cmocka_unit_test(bad_corrections),
        cmocka_unit_test(correction_names_inspector),
        cmocka_unit_test(corrections_take_effect),
        cmocka_unit_test(new_refusal),
        cmocka_unit_test(reference_hooks_at_open),
        cmocka_unit_test(leaflets_from_catalogue),
        cmocka_unit_test(dept_acts),
        cmocka_unit_test(beijing_day),
    };
    size_t n;
    const char *const *rows = px_matter_kinds(&n);
    struct CMUnitTest *table = calloc(n, sizeof *table);
    char (*names)[64] = calloc(n, sizeof *names);
    int failed;

    if (!table || !names)
        return 1;
    /* One test per row of the state table. */
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "table: %s", rows[i]);
        table[i].name = names[i];
        table[i].test_func = table_row;
        table[i].initial_state = (void *)rows[i];
    }
    failed = _cmocka_run_group_tests("state table", table, n, NULL, NULL);
    failed += cmocka_run_group_tests_name("matter rules", rules, NULL, NULL);
    free(table);
    free(names);
    return failed ? 1 : 0;
}
