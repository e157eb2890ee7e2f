/* table.c -- test_matter: the state table (px_matter_kinds, px_matter_allows)
 * row by row on real sequences of entries, and its shape. Moved from
 * test_matter.c, unchanged. */
#include "matter_unit.h"

/* ======================================================================
 * The state table
 * ====================================================================== */

static need need_of(const char *row)
{
    if (strcmp(row, "document.deliver") == 0)
        return NEED_DOC;
    if (strcmp(row, "revisit.outcome") == 0)
        return NEED_REVISIT;
    if (strcmp(row, PX_CLOSE_COMPLETED) == 0)
        return NEED_METHOD;
    return NEED_NONE;
}

static size_t add_need(rec *r, need nd)
{
    switch (nd) {
    case NEED_DOC: return add_doc(r);
    case NEED_REVISIT: return add_revisit(r, "inspection");
    case NEED_METHOD: return add_guidance(r);
    default: return (size_t)-1;
    }
}

/* The entries that reach state s: the lawful way (no finding) when nd is
 * NEED_NONE. Otherwise the needed entry is recorded while the subject has
 * accepted when the way passes there (still lawful), else last (a record
 * the terminal would have refused, flagged on its own entry: no lawful
 * record holds an undelivered document in state opened, told, refused or
 * completed). Returns the needed entry's index, or (size_t)-1. */
size_t reach(rec *r, px_mstate s, need nd)
{
    size_t at = (size_t)-1;
    if (s == PX_MS_NEW)
        return at;
    add_open(r, "urban_management"); /* on application: it can be withdrawn */
    switch (s) {
    case PX_MS_OPENED:
        break;
    case PX_MS_TOLD:
        add_consent(r, NULL);
        break;
    case PX_MS_REFUSED:
        add_consent(r, "refuse");
        break;
    default: /* through accepted */
        add_consent(r, "accept");
        if (nd != NEED_NONE && s != PX_MS_COMPLETED)
            at = add_need(r, nd);
        if (s == PX_MS_WITHDRAWN)
            add(r, "application.withdraw", MATTER, "reason", "已自行整改", NULL);
        else if (s == PX_MS_STOP_ASKED)
            add_consent(r, "stop");
        else if (s == PX_MS_TERMINATED)
            add_close(r, "terminated", "basis_changed");
        else if (s == PX_MS_ESCALATED)
            add_close(r, "escalated", NULL);
        else if (s == PX_MS_COMPLETED) {
            add_guidance(r);
            add_close(r, "completed", NULL);
        }
        break;
    }
    if (nd != NEED_NONE && at == (size_t)-1)
        at = add_need(r, nd);
    return at;
}

/* One entry of the table's row (a kind or a close pseudo-kind), valid and
 * meeting the row's conditions in state s; `at` is what reach() recorded
 * for it. Returns its index. */
static size_t add_row(rec *r, px_mstate s, const char *row, size_t at)
{
    char id[40];
    static char ids[2][40];
    if (strcmp(row, "matter.open") == 0)
        return add_open(r, "urban_management");
    if (strcmp(row, "consent") == 0) /* once accepted, only a stop is new */
        return add_consent(r, s == PX_MS_ACCEPTED ? "stop" : "accept");
    if (strcmp(row, "application.file") == 0)
        return add(r, row, MATTER, "content", "申请行政指导", NULL);
    if (strcmp(row, "application.change") == 0)
        return add(r, row, MATTER, "content", "申请行政指导并提供示范文本", NULL);
    if (strcmp(row, "application.withdraw") == 0)
        return add(r, row, MATTER, "reason", "已自行整改", NULL);
    if (strcmp(row, "action.guidance") == 0)
        return add_guidance(r);
    if (strcmp(row, "action.suggestion") == 0)
        return add(r, row, MATTER, "content", "建议设置店内等候区", NULL);
    if (strcmp(row, "action.reminder") == 0)
        return add(r, row, MATTER, "content", "提示高发违法行为", "form", "oral", "rules",
                   "市容管理条例", NULL);
    if (strcmp(row, "action.warning") == 0)
        return add_warning(r, "2026-12-31");
    if (strcmp(row, "action.interview") == 0)
        return add(r, row, MATTER, "content", "约谈负责人", "departments", "城管局", "minutes",
                   "承诺整改", "mode", "individual", "participants", "张伟、店主", NULL);
    if (strcmp(row, "action.publicity") == 0)
        return add(r, row, MATTER, "channel", "门户网站", "content", "典型案例", "redactions",
                   "姓名", NULL);
    if (strcmp(row, "action.revisit") == 0)
        return add_revisit(r, "inspection");
    if (strcmp(row, "leaflet") == 0)
        return add(r, row, MATTER, "code", "LF-001", "copies", "2", "title", "门前三包责任告知书",
                   NULL);
    if (strcmp(row, "document.issue") == 0)
        return add_doc(r);
    if (strcmp(row, "document.deliver") == 0) {
        snprintf(ids[0], sizeof ids[0], "%s",
                 at != (size_t)-1 ? id_of(r, at, 'D', id, sizeof id) : "D-abcdef01-99");
        return add_deliver(r, ids[0]);
    }
    if (strcmp(row, "revisit.outcome") == 0) {
        snprintf(ids[1], sizeof ids[1], "%s",
                 at != (size_t)-1 ? id_of(r, at, 'R', id, sizeof id) : "R-abcdef01-99");
        return add_outcome(r, ids[1], "corrected");
    }
    if (strcmp(row, "hearing") == 0)
        return add(r, row, MATTER, "form", "symposium", "participants", "商户代表", "summary",
                   "同意", NULL);
    if (strcmp(row, "expert.opinion") == 0)
        return add(r, row, MATTER, "expert", "刘工", "opinion", "未影响盲道通行", NULL);
    if (strcmp(row, "evidence.add") == 0)
        return add(r, row, MATTER, "kind", "photo", "media_type", "image/jpeg", "sha256",
                   "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b", "size",
                   "1", NULL);
    if (strcmp(row, "correction") == 0)
        return add_correction(r, 0, "summary", "临街商户占道经营");
    if (strcmp(row, PX_CLOSE_COMPLETED) == 0)
        return add_close(r, "completed", NULL);
    if (strcmp(row, PX_CLOSE_ESCALATED) == 0)
        return add_close(r, "escalated", NULL);
    if (strcmp(row, PX_CLOSE_TERMINATED) == 0)
        return add_close(r, "terminated", s == PX_MS_REFUSED      ? "subject_refused"
                                          : s == PX_MS_WITHDRAWN  ? "subject_withdrew"
                                          : s == PX_MS_STOP_ASKED ? "subject_asked_stop"
                                                                  : "basis_changed");
    fail_msg("no entry for row '%s': add one to add_row (a new kind in the table?)", row);
    return 0;
}

/* One row: every state. */
void table_row(void **state)
{
    const char *row = *state;
    for (int s = 0; s < PX_MS_COUNT; s++) {
        const char *rule = px_matter_allows((px_mstate)s, row);
        need nd = rule ? NEED_NONE : need_of(row);
        rec *r = malloc(sizeof *r);
        px_matter m;
        size_t at, i;
        assert_non_null(r);
        rec_init(r);
        at = reach(r, (px_mstate)s, nd);
        i = add_row(r, (px_mstate)s, row, at);
        replay(r, &m);
        if (rule) {
            if (!finding(&m, i, rule)) {
                print_findings(&m);
                fail_msg("%s in state %s: no finding %s", row, px_mstate_code((px_mstate)s),
                         rule);
            }
            assert_int_equal(finding(&m, i, rule)->flag_only, 0);
        } else if (count_at(&m, i)) {
            print_findings(&m);
            fail_msg("%s in state %s is allowed, yet the entry has %zu findings", row,
                     px_mstate_code((px_mstate)s), count_at(&m, i));
        }
        px_matter_free(&m);
        free(r);
    }
}

/* The ways to each state are real and lawful: the state is reached and
 * nothing is found. */
void states_reached_lawfully(void **state)
{
    (void)state;
    for (int s = 0; s < PX_MS_COUNT; s++) {
        rec *r = malloc(sizeof *r);
        px_matter m;
        assert_non_null(r);
        rec_init(r);
        reach(r, (px_mstate)s, NEED_NONE);
        replay(r, &m);
        if (m.state != (px_mstate)s)
            fail_msg("the way to %s reaches %s", px_mstate_code((px_mstate)s),
                     px_mstate_code(m.state));
        EXPECT_CLEAN(&m);
        assert_int_equal(px_mstate_closed(m.state),
                         s == PX_MS_COMPLETED || s == PX_MS_TERMINATED || s == PX_MS_ESCALATED);
        px_matter_free(&m);
        free(r);
    }
}

/* The table's rows: every kind of a matter's record, nothing else; codes
 * of states parse back; a state refuses with the rule of that state. */
void table_shape(void **state)
{
    size_t n, nk, rows_matter = 0;
    const char *const *rows = px_matter_kinds(&n);
    const px_kind_rule *kinds = px_rules_all(&nk);
    (void)state;
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        const px_kind_rule *k;
        if (strncmp(rows[i], "matter.close ", 13) == 0)
            continue;
        k = px_rules_find(rows[i]);
        if (!k)
            fail_msg("row %s is not a kind of the rules table", rows[i]);
        assert_true(k->scope == PX_SCOPE_MATTER || k->scope == PX_SCOPE_REVISIT ||
                    k->scope == PX_SCOPE_DOCUMENT || k->scope == PX_SCOPE_ENTRY);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(rows[i], rows[j]);
    }
    /* Every kind of a matter has its row (matter.close by its outcomes). */
    for (size_t i = 0; i < nk; i++) {
        int found = 0;
        if (kinds[i].scope != PX_SCOPE_MATTER && kinds[i].scope != PX_SCOPE_REVISIT &&
            kinds[i].scope != PX_SCOPE_DOCUMENT && kinds[i].scope != PX_SCOPE_ENTRY)
            continue;
        if (strcmp(kinds[i].kind, "matter.close") == 0)
            continue;
        rows_matter++;
        for (size_t j = 0; j < n; j++)
            found |= strcmp(rows[j], kinds[i].kind) == 0;
        if (!found)
            fail_msg("kind %s has no row in the state table", kinds[i].kind);
    }
    assert_int_equal(rows_matter + 3, n);
    assert_non_null(px_matter_allows(PX_MS_ACCEPTED, "dept.interview"));
    assert_string_equal(px_matter_allows(PX_MS_ACCEPTED, "dept.interview"), "not_a_matter_kind");
    for (int s = 0; s < PX_MS_COUNT; s++) {
        px_mstate back;
        assert_int_equal(px_mstate_parse(px_mstate_code((px_mstate)s), &back), 0);
        assert_int_equal(back, s);
        assert_true(px_mstate_label((px_mstate)s)[0] != '\0');
    }
    {
        px_mstate back = PX_MS_ACCEPTED;
        assert_int_equal(px_mstate_parse("open", &back), -1);
        assert_int_equal(px_mstate_parse(NULL, &back), -1);
        assert_int_equal(back, PX_MS_ACCEPTED);
    }
    /* The seed's cells: methods, documents, leaflets, outcomes and
     * completion only once the subject accepted; after a refusal, a
     * withdrawal or a request to stop, only termination (and evidence,
     * deliveries, corrections). */
    for (int s = 0; s < PX_MS_COUNT; s++) {
        static const char *const after_accept[] = {
            "action.guidance", "action.suggestion", "action.reminder", "action.warning",
            "action.interview", "action.publicity", "action.revisit", "leaflet",
            "document.issue", "revisit.outcome", PX_CLOSE_COMPLETED, NULL};
        static const char *const ending[] = {PX_CLOSE_TERMINATED, "evidence.add",
                                             "document.deliver", "correction", NULL};
        for (size_t i = 0; after_accept[i]; i++)
            if ((px_matter_allows((px_mstate)s, after_accept[i]) == NULL) != (s == PX_MS_ACCEPTED))
                fail_msg("%s in state %s", after_accept[i], px_mstate_code((px_mstate)s));
        if (s == PX_MS_REFUSED || s == PX_MS_WITHDRAWN || s == PX_MS_STOP_ASKED)
            for (size_t i = 0; i < n; i++)
                if ((px_matter_allows((px_mstate)s, rows[i]) == NULL) != in(rows[i], ending))
                    fail_msg("%s in state %s", rows[i], px_mstate_code((px_mstate)s));
    }
    assert_string_equal(px_matter_allows(PX_MS_NEW, "action.guidance"), "not_opened");
    assert_string_equal(px_matter_allows(PX_MS_TOLD, "action.guidance"), "consent_first");
    assert_string_equal(px_matter_allows(PX_MS_REFUSED, "leaflet"), "subject_refused");
    assert_string_equal(px_matter_allows(PX_MS_WITHDRAWN, "hearing"), "application_withdrawn");
    assert_string_equal(px_matter_allows(PX_MS_STOP_ASKED, "document.issue"),
                        "subject_asked_stop");
    assert_string_equal(px_matter_allows(PX_MS_ESCALATED, "evidence.add"), "matter_closed");
    assert_string_equal(px_matter_allows(PX_MS_COMPLETED, "matter.open"), "opened_twice");
}
