/* rules.c -- test_matter: each rule of the matter beyond the state table
 * (seed 二(三)): consent, applications, completion, termination reasons,
 * dates, revisit outcomes, documents, corrections. Moved from
 * test_matter.c, unchanged. */
#include "matter_unit.h"

/* ======================================================================
 * Rules beyond the table
 * ====================================================================== */

void consent_answered_once(void **state)
{
    static const char *const again[] = {"accept", "refuse"};
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        rec r;
        px_matter m;
        size_t i;
        accepted(&r);
        i = add_consent(&r, again[k]);
        replay(&r, &m);
        EXPECT_FINDING(&m, i, "consent_answered");
        /* The answer stands. */
        assert_int_equal(m.state, PX_MS_ACCEPTED);
        assert_string_equal(m.consent, "accept");
        px_matter_free(&m);
    }
    /* Told, then the answer: one matter, no finding. */
    {
        rec r;
        px_matter m;
        rec_init(&r);
        add_open(&r, "urban_management");
        add_consent(&r, NULL);
        add_consent(&r, "accept");
        replay(&r, &m);
        EXPECT_CLEAN(&m);
        assert_int_equal(m.state, PX_MS_ACCEPTED);
        px_matter_free(&m);
    }
}

void stop_before_accept(void **state)
{
    (void)state;
    for (int told = 0; told < 2; told++) {
        rec r;
        px_matter m;
        size_t i;
        rec_init(&r);
        add_open(&r, "urban_management");
        if (told)
            add_consent(&r, NULL);
        i = add_consent(&r, "stop");
        replay(&r, &m);
        EXPECT_FINDING(&m, i, "stop_before_accept");
        assert_int_equal(m.state, told ? PX_MS_TOLD : PX_MS_OPENED);
        px_matter_free(&m);
    }
}

void applications(void **state)
{
    rec r;
    px_matter m;
    size_t i, j, k;
    (void)state;
    /* Filed twice. */
    accepted(&r);
    i = add(&r, "application.file", MATTER, "content", "申请", NULL);
    j = add(&r, "application.file", MATTER, "content", "再申请", NULL);
    k = add(&r, "application.change", MATTER, "content", "改为书面", NULL);
    replay(&r, &m);
    assert_int_equal(count_at(&m, i), 0);
    EXPECT_FINDING(&m, j, "application_twice");
    assert_int_equal(count_at(&m, k), 0);
    assert_int_equal(m.application, 2);
    px_matter_free(&m);

    /* Not opened on application, none filed: nothing to change or
     * withdraw. */
    rec_init(&r);
    add(&r, "matter.open", MATTER, "domain", "urban_management", "subject", SUBJECT, "summary",
        "店外摆卖", NULL);
    add_consent(&r, "accept");
    i = add(&r, "application.change", MATTER, "content", "改为书面", NULL);
    replay(&r, &m);
    EXPECT_FINDING(&m, i, "no_application");
    assert_int_equal(m.on_application, 0);
    px_matter_free(&m);
    r.n = i;
    j = add(&r, "application.withdraw", MATTER, NULL);
    replay(&r, &m);
    EXPECT_FINDING(&m, j, "no_application");
    px_matter_free(&m);

    /* Opened on application: withdrawn, only termination with that
     * reason is left. */
    rec_init(&r);
    add_open(&r, "urban_management");
    i = add(&r, "application.withdraw", MATTER, NULL);
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    assert_int_equal(m.state, PX_MS_WITHDRAWN);
    assert_int_equal(m.application, 3);
    px_matter_free(&m);
}

void completion_needs_method(void **state)
{
    rec r;
    px_matter m;
    size_t i;
    (void)state;
    accepted(&r);
    add(&r, "leaflet", MATTER, "copies", "1", "title", "告知书", NULL); /* not a method */
    i = add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_FINDING(&m, i, "no_method");
    assert_int_equal(m.state, PX_MS_COMPLETED); /* applied all the same */
    assert_int_equal(m.methods, 0);
    assert_int_equal(m.leaflets, 1);
    px_matter_free(&m);

    accepted(&r);
    add(&r, "action.suggestion", MATTER, "content", "建议", NULL);
    add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    assert_int_equal(m.methods, 1);
    px_matter_free(&m);
}

void completion_needs_delivery(void **state)
{
    rec r;
    px_matter m;
    size_t d1, d2, i;
    char id1[40], id2[40];
    (void)state;
    accepted(&r);
    add_guidance(&r);
    d1 = add_doc(&r);
    d2 = add_doc(&r);
    add_deliver(&r, id_of(&r, d1, 'D', id1, sizeof id1));
    i = add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_FINDING(&m, i, "undelivered_document");
    assert_int_equal(count_at(&m, i), 1);
    assert_non_null(strstr(finding(&m, i, "undelivered_document")->detail,
                           id_of(&r, d2, 'D', id2, sizeof id2)));
    assert_int_equal(m.ndocs, 2);
    assert_int_equal(m.docs[0].delivered, 1);
    assert_int_equal(m.docs[0].delivered_index, d1 + 2);
    assert_int_equal(m.docs[1].delivered, 0);
    px_matter_free(&m);

    /* Delivered: completed. */
    r.n = i;
    add_deliver(&r, id2);
    add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    px_matter_free(&m);
}

void major_and_technical(void **state)
{
    rec r;
    px_matter m;
    size_t i;
    (void)state;
    rec_init(&r);
    add(&r, "matter.open", MATTER, "domain", "urban_management", "major", "yes", "subject",
        SUBJECT, "summary", "店外摆卖", "technical", "yes", NULL);
    add_consent(&r, "accept");
    add_guidance(&r);
    i = add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_FINDING(&m, i, "major_without_hearing");
    EXPECT_FINDING(&m, i, "technical_without_expert");
    px_matter_free(&m);

    r.n = i;
    add(&r, "hearing", MATTER, "form", "published_draft", "participants", "公众", "summary", "无异议",
        NULL);
    i = add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_NO_FINDING(&m, i, "major_without_hearing");
    EXPECT_FINDING(&m, i, "technical_without_expert");
    px_matter_free(&m);

    r.n = i;
    add(&r, "expert.opinion", MATTER, "expert", "刘工", "opinion", "无碍", NULL);
    add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    assert_int_equal(m.hearings, 1);
    assert_int_equal(m.experts, 1);
    px_matter_free(&m);

    /* Terminated needs neither. */
    r.n = 3;
    add_close(&r, "terminated", "basis_changed");
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    px_matter_free(&m);
}

void revisit_pending_and_not_corrected(void **state)
{
    rec r;
    px_matter m;
    size_t v1, v2, i;
    char id1[40], id2[40];
    (void)state;
    accepted(&r);
    v1 = add_revisit(&r, "inspection");
    v2 = add_revisit(&r, "inspection");
    add_outcome(&r, id_of(&r, v1, 'R', id1, sizeof id1), "not_corrected");
    i = add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_FINDING(&m, i, "revisit_pending");
    EXPECT_FINDING(&m, i, "not_corrected");
    assert_non_null(strstr(finding(&m, i, "revisit_pending")->detail,
                           id_of(&r, v2, 'R', id2, sizeof id2)));
    assert_non_null(strstr(finding(&m, i, "not_corrected")->detail, id1));
    assert_int_equal(m.nrevisits, 2);
    assert_string_equal(m.revisits[0].outcome, "not_corrected");
    assert_string_equal(m.revisits[1].outcome, "");
    px_matter_free(&m);

    /* Escalation instead: lawful, with its case number. */
    r.n = i;
    add_outcome(&r, id2, "corrected");
    i = add(&r, "matter.close", MATTER, "case_no", "泗城管立〔2026〕12号", "outcome", "escalated",
            NULL);
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    assert_int_equal(m.state, PX_MS_ESCALATED);
    assert_string_equal(m.case_no, "泗城管立〔2026〕12号");
    px_matter_free(&m);

    /* A revisit done on the spot with "corrected": nothing pending. */
    accepted(&r);
    add(&r, "action.revisit", MATTER, "content", "回访", "decision", "检查", "due", "2026-12-31",
        "follows", "inspection", "legality", "lawful_regular", "opinion", "无意见", "outcome",
        "corrected", NULL);
    add_close(&r, "completed", NULL);
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    px_matter_free(&m);
}

/* The termination reason is the one the record says, both ways. */
void reason_mismatch(void **state)
{
    static const struct {
        px_mstate s;
        const char *reason;
    } must[] = {{PX_MS_REFUSED, "subject_refused"},
                {PX_MS_WITHDRAWN, "subject_withdrew"},
                {PX_MS_STOP_ASKED, "subject_asked_stop"}};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        rec r;
        px_matter m;
        size_t i;
        /* The record says so, the reason does not. */
        rec_init(&r);
        reach(&r, must[k].s, NEED_NONE);
        i = add_close(&r, "terminated", "basis_changed");
        replay(&r, &m);
        EXPECT_FINDING(&m, i, "reason_mismatch");
        assert_int_equal(m.state, PX_MS_TERMINATED);
        px_matter_free(&m);
        /* The reason says so, the record does not (accepted, and the
         * other two ending states). */
        for (size_t o = 0; o < 4; o++) {
            px_mstate from = o < 3 ? must[o].s : PX_MS_ACCEPTED;
            if (o == k)
                continue;
            rec_init(&r);
            reach(&r, from, NEED_NONE);
            i = add_close(&r, "terminated", must[k].reason);
            replay(&r, &m);
            EXPECT_FINDING(&m, i, "reason_mismatch");
            px_matter_free(&m);
        }
        /* Matching: none. */
        rec_init(&r);
        reach(&r, must[k].s, NEED_NONE);
        add_close(&r, "terminated", must[k].reason);
        replay(&r, &m);
        EXPECT_CLEAN(&m);
        assert_string_equal(m.close_reason, must[k].reason);
        px_matter_free(&m);
    }
}

/* A deadline or due date is not before the day of the entry in Beijing
 * time, unless entered late from a paper record. */
void date_past_and_late(void **state)
{
    rec r;
    px_matter m;
    size_t a, b, c, d, e2;
    (void)state;
    accepted(&r);
    r.wall = utc_ms("2026-06-01", 15, 59, 59, 999); /* 23:59:59.999 on 06-01 in Beijing */
    a = add_warning(&r, "2026-06-01");
    r.wall = utc_ms("2026-06-01", 16, 0, 0, 0); /* 00:00 on 06-02 in Beijing */
    b = add_warning(&r, "2026-06-01");
    r.wall = utc_ms("2026-06-01", 16, 0, 0, 0);
    c = add_warning(&r, "2026-06-01");
    ent_set(&r.x[c], "late", "yes");
    r.wall = utc_ms("2026-06-01", 16, 0, 0, 0);
    d = add(&r, "action.revisit", MATTER, "content", "回访", "decision", "检查", "due",
            "2026-06-01", "follows", "inspection", NULL);
    e2 = add(&r, "action.revisit", MATTER, "content", "回访", "decision", "检查", "due",
             "2026-06-01", "follows", "inspection", "late", "no", NULL);
    replay(&r, &m);
    EXPECT_NO_FINDING(&m, a, "date_past");
    EXPECT_FINDING(&m, b, "date_past");
    assert_non_null(strstr(finding(&m, b, "date_past")->detail, "2026-06-02"));
    assert_int_equal(count_at(&m, c), 0);
    EXPECT_FINDING(&m, d, "date_past");
    EXPECT_FINDING(&m, e2, "date_past");
    px_matter_free(&m);
}

/* A revisit outcome asks the subject's opinion; after a penalty or
 * coercion the officers' integrity, after an inspection the legality of
 * the supervision: on the spot (action.revisit with outcome) and later
 * (revisit.outcome, following what its revisit follows). */
void revisit_outcome_asks(void **state)
{
    static const struct {
        const char *follows, *asks, *rule;
    } cases[] = {
        {"penalty", "integrity", "revisit_integrity"},
        {"coercion", "integrity", "revisit_integrity"},
        {"inspection", "legality", "revisit_legality"},
    };
    static const char *const values[] = {"integrity", "no_concern", "legality", "lawful_regular"};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        rec r;
        px_matter m;
        size_t spot, spot_ok, plan, later, later_ok, noop;
        char id[40];
        const char *other = strcmp(cases[k].asks, "integrity") == 0 ? "legality" : "integrity";
        const char *other_value = strcmp(other, "integrity") == 0 ? values[1] : values[3];
        const char *value = strcmp(cases[k].asks, "integrity") == 0 ? values[1] : values[3];

        accepted(&r);
        /* On the spot: without the opinion, without what it asks (only
         * the other question answered), then complete. */
        spot = add(&r, "action.revisit", MATTER, "content", "回访", "decision", "决定", "due",
                   "2026-12-31", "follows", cases[k].follows, "outcome", "corrected", NULL);
        ent_set(&r.x[spot], other, other_value);
        spot_ok = add(&r, "action.revisit", MATTER, "content", "回访", "decision", "决定", "due",
                      "2026-12-31", "follows", cases[k].follows, "opinion", "无意见",
                      "outcome", "corrected", NULL);
        ent_set(&r.x[spot_ok], cases[k].asks, value);
        /* Planned, without an outcome: nothing asked yet. */
        noop = plan = add_revisit(&r, cases[k].follows);
        id_of(&r, plan, 'R', id, sizeof id);
        later = add(&r, "revisit.outcome", id, "outcome", "corrected", NULL);
        ent_set(&r.x[later], other, other_value);
        replay(&r, &m);
        EXPECT_FINDING(&m, spot, "revisit_opinion");
        EXPECT_FINDING(&m, spot, cases[k].rule);
        assert_int_equal(count_at(&m, spot), 2);
        assert_int_equal(count_at(&m, spot_ok), 0);
        assert_int_equal(count_at(&m, noop), 0);
        /* Later: opinion is a field the rules require of an outcome
         * (missing_field, naming it). */
        EXPECT_FINDING(&m, later, "missing_field");
        assert_non_null(strstr(finding(&m, later, "missing_field")->detail, "'opinion'"));
        EXPECT_FINDING(&m, later, cases[k].rule);
        px_matter_free(&m);

        r.n = later;
        later_ok = add(&r, "revisit.outcome", id, "opinion", "无意见", "outcome", "corrected",
                       NULL);
        ent_set(&r.x[later_ok], cases[k].asks, value);
        replay(&r, &m);
        assert_int_equal(count_at(&m, later_ok), 0);
        assert_int_equal(m.nfindings, 2); /* the first on-the-spot revisit's, as before */
        assert_string_equal(m.revisits[2].outcome, "corrected");
        assert_string_equal(m.revisits[2].follows, cases[k].follows);
        assert_int_equal(m.revisits[2].outcome_index, later_ok);
        px_matter_free(&m);
    }
}

/* A 告诫 that said "already corrected", then a revisit that finds
 * otherwise: flagged, never refused. */
void warning_contradicted_flag_only(void **state)
{
    rec r;
    px_matter without, with;
    size_t w, v, o;
    char id[40];
    const px_finding *f;
    (void)state;
    accepted(&r);
    w = add_warning(&r, "2026-12-31");
    ent_set(&r.x[w], "corrected", "yes");
    v = add_revisit(&r, "inspection");
    replay(&r, &without);
    EXPECT_CLEAN(&without);
    assert_int_equal(without.warned_corrected, 1);
    o = add_outcome(&r, id_of(&r, v, 'R', id, sizeof id), "partially_corrected");
    replay(&r, &with);
    f = finding(&with, o, "warning_contradicted");
    if (!f) {
        print_findings(&with);
        fail_msg("no warning_contradicted flag");
    }
    assert_int_equal(f->flag_only, 1);
    assert_int_equal(with.nfindings, 1);
    /* Not a reason to refuse the outcome. */
    assert_null(px_matter_new_refusal(&without, &with));
    px_matter_free(&with);

    /* Found corrected: nothing; warned "not corrected": nothing. */
    r.n = o;
    add_outcome(&r, id, "corrected");
    replay(&r, &with);
    EXPECT_CLEAN(&with);
    px_matter_free(&with);
    ent_set(&r.x[w], "corrected", "no");
    r.n = o;
    add_outcome(&r, id, "not_corrected");
    replay(&r, &with);
    EXPECT_CLEAN(&with);
    px_matter_free(&with);
    px_matter_free(&without);
}

/* correctable is required by the record's rules (PX_RULE), checked by
 * the replay, not by px_rules_check_entry (an old chain verifies). */
void warning_needs_correctable(void **state)
{
    rec r;
    px_matter m;
    size_t w;
    char detail[256];
    (void)state;
    accepted(&r);
    w = add(&r, "action.warning", MATTER, "content", "告诫", "correction", "整改", "deadline",
            "2026-12-31", "minor", "yes", "no_harm", "yes", "no_intent", "yes", NULL);
    replay(&r, &m);
    EXPECT_FINDING(&m, w, "missing_field");
    assert_non_null(strstr(finding(&m, w, "missing_field")->detail, "'correctable'"));
    assert_int_equal(count_at(&m, w), 1);
    assert_int_equal(px_rules_check_entry(&r.x[w].e, detail, sizeof detail), 0);
    px_matter_free(&m);
}

void documents_and_revisits_by_id(void **state)
{
    rec r;
    px_matter m;
    size_t d, v, i1, i2, i3, i4, i5;
    char did[40], vid[40];
    (void)state;
    accepted(&r);
    d = add_doc(&r);
    v = add_revisit(&r, "inspection");
    id_of(&r, d, 'D', did, sizeof did);
    id_of(&r, v, 'R', vid, sizeof vid);
    assert_string_equal(did, "D-abcdef01-3");
    assert_string_equal(vid, "R-abcdef01-4");
    i1 = add_deliver(&r, "D-abcdef01-99");
    i2 = add_deliver(&r, did);
    i3 = add_deliver(&r, did);
    i4 = add_outcome(&r, "R-abcdef01-99", "corrected");
    add_outcome(&r, vid, "corrected");
    i5 = add_outcome(&r, vid, "not_corrected");
    replay(&r, &m);
    EXPECT_FINDING(&m, i1, "unknown_document");
    assert_int_equal(count_at(&m, i2), 0);
    EXPECT_FINDING(&m, i3, "document_delivered");
    EXPECT_FINDING(&m, i4, "unknown_revisit");
    EXPECT_FINDING(&m, i5, "revisit_done");
    /* The first outcome stands. */
    assert_string_equal(m.revisits[0].outcome, "corrected");
    assert_int_equal(m.docs[0].delivered_index, i2);
    px_matter_free(&m);
}

void bad_corrections(void **state)
{
    rec r;
    px_matter m;
    size_t w, ev, c1, c2, c3, c4, c5, c6, c7;
    (void)state;
    accepted(&r);
    w = add_warning(&r, "2026-12-31");
    ev = add(&r, "evidence.add", MATTER, "kind", "photo", "media_type", "image/jpeg", "sha256",
             "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b", "size", "1",
             NULL);
    c1 = add_correction(&r, w, "topic", "x");                /* not a field of a warning */
    c2 = add_correction(&r, ev, "sha256",                     /* binds the file */
                        "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35");
    c3 = add_correction(&r, w, "deadline", "2026-02-30");    /* not a date */
    c4 = add_correction(&r, w, "correctable", "no");         /* must be yes */
    c5 = add(&r, "correction", MATTER, "reason", "录入错误", "value", "x", NULL); /* no field */
    r.x[c5].e.corrects = w + 1;
    c6 = add_correction(&r, 0, "list_item", "CG-NP-003");    /* without its list */
    c7 = add_correction(&r, 40, "summary", "x");             /* not in this matter */
    replay(&r, &m);
    EXPECT_FINDING(&m, c1, "bad_correction");
    assert_non_null(strstr(finding(&m, c1, "bad_correction")->detail, "'topic'"));
    EXPECT_FINDING(&m, c2, "bad_correction");
    EXPECT_FINDING(&m, c3, "bad_correction");
    EXPECT_FINDING(&m, c4, "bad_correction");
    EXPECT_FINDING(&m, c5, "bad_correction");
    EXPECT_FINDING(&m, c6, "bad_correction");
    EXPECT_FINDING(&m, c7, "bad_correction");
    /* None of them took effect: the warning and the evidence are clean. */
    assert_int_equal(count_at(&m, w), 0);
    assert_int_equal(count_at(&m, ev), 0);
    assert_int_equal(count_at(&m, 0), 0);
    assert_string_equal(m.list_item, "");
    px_matter_free(&m);

    /* A reason alone (no field) is a lawful correction note; a caption of
     * the evidence may be corrected. */
    r.n = c1;
    add_correction(&r, w, NULL, NULL);
    add_correction(&r, ev, "caption", "整改后");
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    px_matter_free(&m);
}

void correction_names_inspector(void **state)
{
    rec r;
    px_matter m;
    size_t c;
    (void)state;
    accepted(&r);
    c = add_correction(&r, 0, "summary", "占道经营");
    r.x[c].e.n_inspectors = 0;
    replay(&r, &m);
    EXPECT_FINDING(&m, c, "correction_inspector");
    assert_int_equal(count_at(&m, c), 1);
    /* It still applies: the summary is the corrected one. */
    assert_string_equal(m.summary, "占道经营");
    px_matter_free(&m);
}

/* Corrections take effect before the replay: each entry is checked with
 * its effective values. */
void corrections_take_effect(void **state)
{
    rec r;
    px_matter m;
    size_t refuse, method, v, c, c2;
    (void)state;
    /* The subject's answer was accept, recorded as refuse: corrected, a
     * method recorded before the correction is lawful. */
    rec_init(&r);
    add_open(&r, "urban_management");
    refuse = add_consent(&r, "refuse");
    method = add_guidance(&r);
    replay(&r, &m);
    EXPECT_FINDING(&m, method, "subject_refused");
    px_matter_free(&m);
    c = add_correction(&r, refuse, "answer", "accept");
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    assert_int_equal(m.state, PX_MS_ACCEPTED);
    assert_string_equal(m.consent, "accept");
    px_matter_free(&m);
    /* ... and a method after the correction too. */
    method = add_guidance(&r);
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    assert_int_equal(m.methods, 2);
    px_matter_free(&m);
    (void)c;

    /* A revisit's due date corrected: the effective one is kept; the
     * later correction of the same field wins. */
    accepted(&r);
    v = add_revisit(&r, "inspection");
    add_correction(&r, v, "due", "2027-01-15");
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    assert_int_equal(m.nrevisits, 1);
    assert_string_equal(m.revisits[0].due, "2027-01-15");
    px_matter_free(&m);
    add_correction(&r, v, "due", "2027-02-01");
    replay(&r, &m);
    assert_string_equal(m.revisits[0].due, "2027-02-01");
    px_matter_free(&m);

    /* A revisit's due date corrected to before the day it was recorded:
     * the revisit breaks a rule (a correction that makes an earlier entry
     * unlawful), unless it was entered late. */
    accepted(&r);
    v = add_revisit(&r, "inspection");
    add_correction(&r, v, "due", "2026-05-01");
    replay(&r, &m);
    EXPECT_FINDING(&m, v, "date_past");
    px_matter_free(&m);

    /* The domain corrected to an excluded one: the open entry is found
     * out of scope. */
    accepted(&r);
    add_guidance(&r);
    c2 = add_correction(&r, 0, "domain", "public_safety");
    replay(&r, &m);
    EXPECT_FINDING(&m, 0, "domain_excluded");
    assert_int_equal(count_at(&m, c2), 0);
    assert_string_equal(m.domain, "public_safety");
    px_matter_free(&m);
    /* ... and to a domain of another department. */
    r.n = c2;
    add_correction(&r, 0, "domain", "market_regulation");
    replay(&r, &m);
    EXPECT_FINDING(&m, 0, "outside_department");
    px_matter_free(&m);

    /* A list item corrected with its list: effective on the matter. */
    accepted(&r);
    c = add(&r, "correction", MATTER, "field", "list_item", "list_type", "lighter",
            "list_version", "2026.11", "reason", "漏填清单事项", "value", "CG-LT-001", NULL);
    r.x[c].e.corrects = 1;
    replay(&r, &m);
    EXPECT_CLEAN(&m);
    assert_string_equal(m.list_item, "CG-LT-001");
    assert_string_equal(m.list_type, "lighter");
    assert_string_equal(m.list_version, "2026.11");
    px_matter_free(&m);
}

/* Replay with and without a new entry: only a refusing finding the new
 * entry brings counts. */
void new_refusal(void **state)
{
    rec r;
    px_matter without, with;
    const px_finding *f;
    size_t bad, i;
    (void)state;
    /* An old finding (a method before consent, recorded by an old
     * terminal) is not the new entry's fault. */
    rec_init(&r);
    add_open(&r, "urban_management");
    bad = add_guidance(&r);
    replay(&r, &without);
    EXPECT_FINDING(&without, bad, "consent_first");
    add_consent(&r, "accept");
    replay(&r, &with);
    assert_null(px_matter_new_refusal(&without, &with));
    assert_null(px_matter_new_refusal(&with, &with));
    px_matter_free(&without);
    without = with;

    /* A new refusing finding. */
    i = add_consent(&r, "refuse");
    replay(&r, &with);
    f = px_matter_new_refusal(&without, &with);
    assert_non_null(f);
    assert_int_equal(f->index, i);
    assert_string_equal(f->rule, "consent_answered");
    assert_int_equal(f->flag_only, 0);
    px_matter_free(&with);

    /* The same rule on an earlier entry, brought by a correction: new
     * (compared by index and rule). */
    r.n = i;
    add_correction(&r, 0, "domain", "public_safety");
    replay(&r, &with);
    f = px_matter_new_refusal(&without, &with);
    assert_non_null(f);
    assert_int_equal(f->index, 0);
    assert_string_equal(f->rule, "domain_excluded");
    px_matter_free(&with);
    px_matter_free(&without);
}
