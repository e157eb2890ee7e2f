/* kinds.c -- test_store: the other kinds of entry: consent, documents, applications, experts, hearings, revisits, correction, closing. Moved from test_store.c. */
#include "store_test.h"

/* ======================================================================
 * 2. Other kinds
 * ====================================================================== */

void subject_add_checks_codes(void **state)
{
    fx *f = *state;
    patrol_saved s;
    /* Valid business and person. */
    s = record_ok(f, "subject.add", NULL, "type", "business", "name", "泗阳县某某建材有限公司",
                  "credit_code", CREDIT_B, "address", "泗阳县众兴镇北京路12号", "legal_rep",
                  "陈明", "contact", "陈明 13800000000", NULL);
    assert_true(strncmp(s.id, "S-", 2) == 0);
    /* The contact is personal privacy unless marked otherwise. */
    assert_int_equal(entry_field(f->p, s.seq, "contact")->conf, PATROL_CONF_PERSONAL_PRIVACY);
    s = record_ok(f, "subject.add", NULL, "type", "person", "name", "赵敏", "id_number", IDNUM_B,
                  NULL);
    assert_int_equal(entry_field(f->p, s.seq, "id_number")->conf, PATROL_CONF_PERSONAL_PRIVACY);

    /* Wrong check character, lower case, I/O letters, length, full width. */
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "91321300MA1Y9XQ117", NULL);
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "91321323ma1n4k7p26", NULL);
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "91321323MI1N4K7P26", NULL);
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "91321323MA1N4K7P2", NULL);
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "９1321323MA1N4K7P26", NULL);
    /* ID numbers: check digit, lower-case x, impossible birth date. */
    REFUSE(f, PATROL_EINVAL, "'id_number'", "subject.add", NULL, "type", "person", "name", "某人",
           "id_number", "321323198506120039", NULL);
    REFUSE(f, PATROL_EINVAL, "'id_number'", "subject.add", NULL, "type", "person", "name", "某人",
           "id_number", "11010519491231002x", NULL);
    REFUSE(f, PATROL_EINVAL, "'id_number'", "subject.add", NULL, "type", "person", "name", "某人",
           "id_number", "321323198502300038", NULL);
    /* Type and identifier must go together. */
    REFUSE(f, PATROL_EINVAL, "credit code", "subject.add", NULL, "type", "business", "name", "某店",
           NULL);
    REFUSE(f, PATROL_EINVAL, "identity card", "subject.add", NULL, "type", "person", "name", "某人",
           NULL);
    REFUSE(f, PATROL_EINVAL, "credit code", "subject.add", NULL, "type", "person", "name", "某人",
           "credit_code", CREDIT_C, NULL);
    REFUSE(f, PATROL_EINVAL, "identity card", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", CREDIT_C, "id_number", "321323200002294413", NULL);
    REFUSE(f, PATROL_EINVAL, "'type'", "subject.add", NULL, "type", "company", "name", "某店",
           "credit_code", CREDIT_C, NULL);
    REFUSE(f, PATROL_EINVAL, "'type'", "subject.add", NULL, "name", "某店", "credit_code", CREDIT_C,
           NULL);
    REFUSE(f, PATROL_EINVAL, "'name'", "subject.add", NULL, "type", "business", "credit_code",
           CREDIT_C, NULL);
    /* Duplicates: the same credit code or ID number again. */
    REFUSE(f, PATROL_EEXIST, CREDIT_A, "subject.add", NULL, "type", "business", "name", "同一家店",
           "credit_code", CREDIT_A, NULL);
    REFUSE(f, PATROL_EEXIST, f->person, "subject.add", NULL, "type", "person", "name", "王建国",
           "id_number", IDNUM_A, NULL);
}

void inspector_add_checks(void **state)
{
    fx *f = *state;
    patrol_saved s = record_ok(f, "inspector.add", "I-003", "name", "周强", "cert_no",
                               "JS-ZF-320003", NULL);
    assert_string_equal(s.id, "I-003");
    REFUSE(f, PATROL_EEXIST, INSP1, "inspector.add", INSP1, "name", "张伟", "cert_no",
           "JS-ZF-320099", NULL);
    REFUSE(f, PATROL_EEXIST, "JS-ZF-320002", "inspector.add", "I-004", "name", "孙丽", "cert_no",
           "JS-ZF-320002", NULL);
    REFUSE(f, PATROL_EINVAL, "'name'", "inspector.add", "I-004", "cert_no", "JS-ZF-320004", NULL);
    REFUSE(f, PATROL_EINVAL, "'cert_no'", "inspector.add", "I-004", "name", "孙丽", NULL);
    REFUSE(f, PATROL_EINVAL, "'cert_no'", "inspector.add", "I-004", "name", "孙丽", "cert_no",
           "苏执法 0004", NULL);
    REFUSE(f, PATROL_EINVAL, "inspector id", "inspector.add", NULL, "name", "孙丽", "cert_no",
           "JS-ZF-320004", NULL);
    REFUSE(f, PATROL_EINVAL, "inspector id", "inspector.add", "I 004", "name", "孙丽", "cert_no",
           "JS-ZF-320004", NULL);
    REFUSE(f, PATROL_EINVAL, "'name'", "inspector.add", "I-004", "name", "孙丽\n王五", "cert_no",
           "JS-ZF-320004", NULL);
}

#define MATTER_OPEN(rq, subject, domain)                                                 \
    do {                                                                                 \
        req_init(&(rq), "matter.open", NULL, "subject", (subject), "domain", (domain),   \
                 "summary", "店外摆卖", NULL);                                            \
        req_insp(&(rq), INSP1);                                                          \
    } while (0)

/* 二(一): excluded domains and violations that exploit an emergency are
 * outside flexible enforcement: PATROL_EREFUSED (patrol.h), whatever else
 * is wrong with the request. */
void matter_open_excluded_refused(void **state)
{
    fx *f = *state;
    static const char *const excluded[] = {
        "national_security", "public_safety",       "food_drug_safety",     "production_safety",
        "ecology_environment", "pollution_control", "health_life_property",
    };
    req r;
    for (size_t i = 0; i < sizeof excluded / sizeof excluded[0]; i++) {
        MATTER_OPEN(r, f->biz, excluded[i]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EREFUSED, excluded[i]);
        /* Excluded even with an unknown subject or an emergency "no". */
        MATTER_OPEN(r, "S-00000000-404", excluded[i]);
        req_add(&r, "emergency", "no");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EREFUSED, excluded[i]);
    }
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "emergency", "yes");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EREFUSED, "emergency");
}

void matter_open_checks(void **state)
{
    fx *f = *state;
    req r;

    MATTER_OPEN(r, "S-00000000-404", "urban_management");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "S-00000000-404");
    MATTER_OPEN(r, f->biz, "urban_management");
    r.insp[0] = "I-404";
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "I-404");
    MATTER_OPEN(r, f->biz, "urban_management");
    r.ninsp = 0;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "inspector");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "emergency", "perhaps");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'emergency'");
    /* A domain the reference data does not know: not found, like an
     * unknown list item (it was invalid input). */
    MATTER_OPEN(r, f->biz, "space_travel");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "space_travel");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "(rule unknown_domain)");
    MATTER_OPEN(r, f->biz, "城市管理");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'domain'");
    /* List items: of another domain, unknown. */
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "SJ-NP-001");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "SJ-NP-001");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "CG-NP-999");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "CG-NP-999");
    /* Missing fields. */
    MATTER_OPEN(r, f->biz, "urban_management");
    req_del(&r, "summary");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'summary'");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_del(&r, "subject");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'subject'");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_del(&r, "domain");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'domain'");

    /* A domain open to flexible enforcement but outside this department's
     * duties (SY-CGJ holds urban management only): no authority, no
     * action (it used to be accepted). */
    MATTER_OPEN(r, f->person, "market_regulation");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EREFUSED, "(rule outside_department)");

    /* Valid: emergency "no", a person as subject; opened, the subject not
     * yet told of its right to choose. */
    MATTER_OPEN(r, f->person, "urban_management");
    req_add(&r, "emergency", "no");
    {
        patrol_saved s = send_ok(f, &r);
        assert_true(strncmp(s.id, "M-", 2) == 0);
        assert_string_equal(matter_state(f->p, s.id), "opened");
        assert_string_equal(field_of(f->p, s.seq, "subject"), f->person);
    }
}

typedef struct item_ud {
    const char *code;
    char type[32], version[128], domain[64];
} item_ud;

static int item_cb(void *ud, const patrol_list_item_view *it)
{
    item_ud *u = ud;
    if (strcmp(it->code, u->code) == 0) {
        snprintf(u->type, sizeof u->type, "%s", it->list_type);
        snprintf(u->version, sizeof u->version, "%s", it->list_version);
        snprintf(u->domain, sizeof u->domain, "%s", it->domain);
    }
    return 0;
}

void matter_open_list_item_filled_in(void **state)
{
    fx *f = *state;
    item_ud it = {"CG-NP-003", "", "", ""};
    patrol_saved s;
    req r;
    matter_ud m;

    EXPECT_OK(f->p, patrol_list_items(f->p, item_cb, &it));
    assert_string_equal(it.type, "no_penalty");
    assert_string_equal(it.domain, "urban_management");
    assert_true(it.version[0] != '\0');

    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "CG-NP-003");
    s = send_ok(f, &r);
    assert_string_equal(field_of(f->p, s.seq, "list_item"), "CG-NP-003");
    assert_string_equal(field_of(f->p, s.seq, "list_type"), "no_penalty");
    assert_string_equal(field_of(f->p, s.seq, "list_version"), it.version);
    memset(&m, 0, sizeof m);
    m.id = s.id;
    EXPECT_OK(f->p, patrol_matters(f->p, matter_cb, &m));
    assert_string_equal(m.list_item, "CG-NP-003");

    /* A lighter-penalty item keeps its own type. */
    it.code = "CG-LT-001";
    EXPECT_OK(f->p, patrol_list_items(f->p, item_cb, &it));
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "CG-LT-001");
    s = send_ok(f, &r);
    assert_string_equal(field_of(f->p, s.seq, "list_type"), "lighter");
}

/* list_type and list_version are "(filled in)" from the terminal's lists:
 * typed by hand they would let a record claim a list, or a list version,
 * the terminal never held. They must be refused like document.issue's
 * subject, which is filled in the same way. */
void matter_open_list_fields_not_typed(void **state)
{
    fx *f = *state;
    req r;
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_version", "2099-forged");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'list_version'");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_type", "no_penalty");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'list_type'");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "CG-NP-003");
    req_add(&r, "list_type", "reduced");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'list_type'");
}

void consent_refusal_blocks_actions(void **state)
{
    fx *f = *state;
    char m[PATROL_ID_MAX];
    req r;

    open_matter(f->p, f->biz, m, NULL);
    /* Before the subject accepted: no method, document or leaflet (they
     * used to be allowed before any answer). */
    for (size_t i = 0; i < N_METHODS; i++) {
        req_method(&r, &methods[i], m);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ESTATE, "(rule consent_first)");
    }
    REFUSE(f, PATROL_ESTATE, "(rule consent_first)", "leaflet", m, "title", "告知书", "copies",
           "1", NULL);
    REFUSE(f, PATROL_EINVAL, "'told'", "consent", m, "answer", "accept", "told", "no", NULL);
    REFUSE(f, PATROL_EINVAL, "'told'", "consent", m, "answer", "accept", NULL);
    REFUSE(f, PATROL_EINVAL, "'answer'", "consent", m, "answer", "maybe", "told", "yes", NULL);
    /* Nothing to stop before it accepted. */
    REFUSE(f, PATROL_ESTATE, "(rule stop_before_accept)", "consent", m, "answer", "stop", "told",
           "yes", NULL);
    record_ok(f, "consent", m, "answer", "refuse", "told", "yes", "form", "oral", NULL);
    assert_string_equal(matter_state(f->p, m), "refused");
    for (size_t i = 0; i < N_METHODS; i++) {
        req_method(&r, &methods[i], m);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ESTATE, "refused");
    }
    REFUSE(f, PATROL_ESTATE, "refused", "document.issue", m, "content", "意见", "personnel",
           "张伟", "purpose", "规范经营", "time", "2026年3月", NULL);
    /* A second answer is not recorded as a new consent (a correction of
     * the first is the way to change it). */
    REFUSE(f, PATROL_ESTATE, "(rule subject_refused)", "consent", m, "answer", "accept", "told",
           "yes", NULL);
    /* Closing it as the subject refused is what is left: with that reason. */
    REFUSE(f, PATROL_ESTATE, "(rule reason_mismatch)", "matter.close", m, "outcome", "terminated",
           "reason", "basis_changed", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule subject_refused)", "matter.close", m, "outcome", "escalated",
           NULL);
    record_ok(f, "matter.close", m, "outcome", "terminated", "reason", "subject_refused", NULL);
    assert_string_equal(matter_state(f->p, m), "terminated");

    /* Accepting leaves actions open (the fixture's matter), and is
     * answered once. */
    req_method(&r, &methods[0], f->matter);
    send_ok(f, &r);
    assert_string_equal(matter_state(f->p, f->matter), "accepted");
    REFUSE(f, PATROL_ESTATE, "(rule consent_answered)", "consent", f->matter, "answer", "refuse",
           "told", "yes", NULL);
}

void matter_close_and_after(void **state)
{
    fx *f = *state;
    char m2[PATROL_ID_MAX];
    req r;
    patrol_saved s;

    REFUSE(f, PATROL_EINVAL, "reason", "matter.close", f->matter, "outcome", "terminated", NULL);
    REFUSE(f, PATROL_EINVAL, "reason_text", "matter.close", f->matter, "outcome", "terminated",
           "reason", "other", NULL);
    REFUSE(f, PATROL_EINVAL, "reason", "matter.close", f->matter, "outcome", "completed", "reason",
           "basis_changed", NULL);
    REFUSE(f, PATROL_EINVAL, "'reason'", "matter.close", f->matter, "outcome", "terminated",
           "reason", "bored", NULL);
    REFUSE(f, PATROL_EINVAL, "'outcome'", "matter.close", f->matter, "outcome", "abandoned", NULL);
    REFUSE(f, PATROL_EINVAL, "'outcome'", "matter.close", f->matter, NULL);
    REFUSE(f, PATROL_ENOTFOUND, "M-00000000-77", "matter.close", "M-00000000-77", "outcome",
           "completed", NULL);

    /* Completed only after at least one method (it used to be allowed
     * with none). */
    REFUSE(f, PATROL_ESTATE, "(rule no_method)", "matter.close", f->matter, "outcome",
           "completed", NULL);
    req_method(&r, &methods[0], f->matter);
    send_ok(f, &r);
    s = record_ok(f, "matter.close", f->matter, "outcome", "completed", NULL);
    assert_string_equal(s.id, f->matter);
    assert_string_equal(matter_state(f->p, f->matter), "completed");

    /* Nothing more on a closed matter, whatever the kind; the refusal
     * names the matter and the rule. */
    for (size_t i = 0; i < N_METHODS; i++) {
        req_method(&r, &methods[i], f->matter);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ESTATE, "(rule matter_closed)");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ESTATE, f->matter);
    }
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "matter.close", f->matter, "outcome",
           "completed", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "leaflet", f->matter, "title", "门前三包",
           "copies", "2", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "consent", f->matter, "answer", "stop",
           "told", "yes", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "application.file", f->matter, "content",
           "申请", NULL);

    /* Terminated with a reason; "other" with its words. */
    open_matter(f->p, f->biz, m2, NULL);
    record_ok(f, "matter.close", m2, "outcome", "terminated", "reason", "other", "reason_text",
              "当事人已搬离", NULL);
    assert_string_equal(matter_state(f->p, m2), "terminated");
    open_matter(f->p, f->biz, m2, NULL);
    record_ok(f, "matter.close", m2, "outcome", "terminated", "reason", "basis_changed", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "action.guidance", m2, "content", "x",
           "topic", "y", NULL);
}

/* A major matter needs a hearing (or symposium, published draft) and one
 * with a technical question an expert opinion before it is completed
 * (二(三)4, new); termination needs neither. The matters view keeps what
 * the replay says. */
void major_technical_matter_completion(void **state)
{
    fx *f = *state;
    char m[PATROL_ID_MAX];
    req r;
    sqlite3 *db;
    char sql[200];

    open_matter(f->p, f->biz, m, "major", "yes", "technical", "yes", NULL);
    accept(f->p, m);
    req_method(&r, &methods[0], m);
    send_ok(f, &r);
    REFUSE(f, PATROL_ESTATE, "(rule major_without_hearing)", "matter.close", m, "outcome",
           "completed", NULL);
    record_ok(f, "hearing", m, "form", "published_draft", "participants", "社会公众",
              "summary", "征求意见稿公示15日，无异议", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule technical_without_expert)", "matter.close", m, "outcome",
           "completed", NULL);
    record_ok(f, "expert.opinion", m, "expert", "刘工，市政设计院", "opinion", "外摆架未影响盲道通行",
              NULL);
    record_ok(f, "matter.close", m, "outcome", "completed", NULL);
    assert_string_equal(matter_state(f->p, m), "completed");
    db = db_open_rw(f->store);
    snprintf(sql, sizeof sql, "SELECT major = 1 AND technical = 1 FROM matters WHERE id = '%s'", m);
    assert_int_equal(db_int(db, sql), 1);
    sqlite3_close(db);
}

void leaflet_expert_hearing(void **state)
{
    fx *f = *state;
    static const char *const bad_copies[] = {"0", "-1", "01", "1000001", "ten", "", "2.5", " 3"};
    record_ok(f, "leaflet", f->matter, "title", "《门前三包责任告知书》", "copies", "3", "code",
              "LF-001", NULL);
    /* A code must be in the catalogue (it used to be taken as typed). */
    REFUSE(f, PATROL_ENOTFOUND, "CG-LF-01", "leaflet", f->matter, "title", "告知书", "copies", "3",
           "code", "CG-LF-01", NULL);
    for (size_t i = 0; i < sizeof bad_copies / sizeof bad_copies[0]; i++)
        REFUSE(f, PATROL_EINVAL, "'copies'", "leaflet", f->matter, "title", "告知书", "copies",
               bad_copies[i], NULL);
    REFUSE(f, PATROL_EINVAL, "'title'", "leaflet", f->matter, "copies", "3", NULL);
    record_ok(f, "expert.opinion", f->matter, "expert", "刘工，市政设计院", "opinion",
              "外摆架未影响盲道通行", "topic", "盲道占用认定", NULL);
    REFUSE(f, PATROL_EINVAL, "'opinion'", "expert.opinion", f->matter, "expert", "刘工", NULL);
    record_ok(f, "hearing", f->matter, "form", "symposium", "participants", "商户代表、社区",
              "summary", "同意设置限时外摆区", NULL);
    REFUSE(f, PATROL_EINVAL, "'form'", "hearing", f->matter, "form", "trial", "participants", "x",
           "summary", "y", NULL);
}

typedef struct rv {
    char id[PATROL_ID_MAX], due[16], outcome[32], subject_name[128];
    int32_t overdue;
} rv;

typedef struct rv_ud {
    rv r[16];
    size_t n;
} rv_ud;

static int rv_cb(void *ud, const patrol_revisit_view *r)
{
    rv_ud *u = ud;
    assert_true(u->n < 16);
    snprintf(u->r[u->n].id, sizeof u->r[0].id, "%s", r->id);
    snprintf(u->r[u->n].due, sizeof u->r[0].due, "%s", r->due);
    snprintf(u->r[u->n].outcome, sizeof u->r[0].outcome, "%s", r->outcome);
    snprintf(u->r[u->n].subject_name, sizeof u->r[0].subject_name, "%s", r->subject_name);
    u->r[u->n].overdue = r->days_overdue;
    u->n++;
    return 0;
}

patrol_saved add_revisit(fx *f, const char *matter, const char *due, const char *outcome)
{
    req r;
    req_method(&r, &methods[6], matter);
    req_set(&r, "due", due);
    if (outcome)
        req_set(&r, "outcome", outcome);
    return send_ok(f, &r);
}

/* The outcome of revisit id (of an inspection), with what it asks. */
void outcome_ok(fx *f, const char *id, const char *outcome)
{
    record_ok(f, "revisit.outcome", id, "outcome", outcome, "legality", "lawful_regular",
              "opinion", "无意见", NULL);
}

void revisits_due_listing(void **state)
{
    fx *f = *state;
    rv_ud u;
    patrol_saved late, today, later, done, spot;

    /* Recorded out of due order on purpose. */
    later = add_revisit(f, f->matter, "2030-03-20", NULL);
    late = add_revisit(f, f->matter, "2030-03-10", NULL);
    done = add_revisit(f, f->matter, "2030-03-01", NULL);
    today = add_revisit(f, f->matter, "2030-03-15", NULL);
    spot = add_revisit(f, f->matter, "2030-03-05", "partially_corrected");

    /* Outcomes: unknown revisit, bad value, then done, then twice. */
    REFUSE(f, PATROL_ENOTFOUND, "R-00000000-1", "revisit.outcome", "R-00000000-1", "outcome",
           "corrected", NULL);
    REFUSE(f, PATROL_EINVAL, "'outcome'", "revisit.outcome", done.id, "outcome", "fine", NULL);
    REFUSE(f, PATROL_EINVAL, "'outcome'", "revisit.outcome", done.id, NULL);
    REFUSE(f, PATROL_EINVAL, "revisit id", "revisit.outcome", NULL, "outcome", "corrected", NULL);
    /* An outcome asks the subject's opinion, and after an inspection
     * whether the supervision was lawful and regular (new). */
    REFUSE(f, PATROL_EINVAL, "'opinion'", "revisit.outcome", done.id, "outcome", "corrected",
           "legality", "lawful_regular", NULL);
    REFUSE(f, PATROL_EINVAL, "(rule revisit_legality)", "revisit.outcome", done.id, "outcome",
           "corrected", "opinion", "无意见", "integrity", "no_concern", NULL);
    {
        patrol_saved s = record_ok(f, "revisit.outcome", done.id, "outcome", "corrected",
                                   "integrity", "no_concern", "legality", "lawful_regular",
                                   "opinion", "无意见", NULL);
        assert_string_equal(s.id, done.id);
        assert_string_equal(entry_field(f->p, s.seq, NULL)->matter, f->matter);
    }
    REFUSE(f, PATROL_ESTATE, done.id, "revisit.outcome", done.id, "outcome", "not_corrected",
           "legality", "lawful_regular", "opinion", "无意见", NULL);
    REFUSE(f, PATROL_ESTATE, spot.id, "revisit.outcome", spot.id, "outcome", "corrected",
           "legality", "lawful_regular", "opinion", "无意见", NULL);

    /* Due only, on 2030-03-15: the overdue one (5 days) and today's. */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2030-03-15", rv_cb, &u));
    assert_int_equal(u.n, 2);
    assert_string_equal(u.r[0].id, late.id);
    assert_int_equal(u.r[0].overdue, 5);
    assert_string_equal(u.r[0].outcome, "");
    assert_string_equal(u.r[0].subject_name, "泗阳县众兴镇老街小吃店");
    assert_string_equal(u.r[1].id, today.id);
    assert_int_equal(u.r[1].overdue, 0);
    assert_string_equal(u.r[1].due, "2030-03-15");

    /* All, in due order, with outcomes and the days. */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 0, "2030-03-15", rv_cb, &u));
    assert_int_equal(u.n, 5);
    assert_string_equal(u.r[0].id, done.id);
    assert_string_equal(u.r[0].outcome, "corrected");
    assert_int_equal(u.r[0].overdue, 14);
    assert_string_equal(u.r[1].id, spot.id);
    assert_string_equal(u.r[1].outcome, "partially_corrected");
    assert_string_equal(u.r[2].id, late.id);
    assert_string_equal(u.r[3].id, today.id);
    assert_string_equal(u.r[4].id, later.id);
    assert_int_equal(u.r[4].overdue, -5);

    /* Across a month end and a leap day. */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2030-04-01", rv_cb, &u));
    assert_int_equal(u.n, 3);
    assert_int_equal(u.r[2].overdue, 12); /* 2030-03-20 */
    /* Nothing due yet on 2030-03-09. */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2030-03-09", rv_cb, &u));
    assert_int_equal(u.n, 0);

    /* A bad "today". */
    EXPECT_REFUSED(f, patrol_revisits(f->p, 1, "2030-02-30", rv_cb, &u), PATROL_EINVAL,
                   "2030-02-30");
    EXPECT_REFUSED(f, patrol_revisits(f->p, 1, "15/03/2030", rv_cb, &u), PATROL_EINVAL,
                   "15/03/2030");
    /* The device clock's date works too (all revisits are in 2030). */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 0, NULL, rv_cb, &u));
    assert_int_equal(u.n, 5);

    /* A revisit pending blocks completion, naming it (the first pending
     * in recording order). */
    REFUSE(f, PATROL_ESTATE, later.id, "matter.close", f->matter, "outcome", "completed", NULL);
    outcome_ok(f, later.id, "corrected");
    REFUSE(f, PATROL_ESTATE, late.id, "matter.close", f->matter, "outcome", "completed", NULL);
    outcome_ok(f, late.id, "corrected");
    outcome_ok(f, today.id, "not_corrected");
    /* A violation found not corrected is not a completed matter: it goes
     * to ordinary case procedure (it used to be completed). */
    REFUSE(f, PATROL_ESTATE, today.id, "matter.close", f->matter, "outcome", "completed", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule not_corrected)", "matter.close", f->matter, "outcome",
           "completed", NULL);
    record_ok(f, "matter.close", f->matter, "outcome", "escalated", "case_no", "泗城管立〔2030〕12号",
              NULL);
    assert_string_equal(matter_state(f->p, f->matter), "escalated");
    {
        /* The case number is kept with the matter (store view). */
        sqlite3 *db = db_open_rw(f->store);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT typeof(case_no), case_no FROM matters"
                                                " WHERE id = ?",
                                            -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, f->matter, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "text");
        assert_string_equal((const char *)sqlite3_column_text(st, 1), "泗城管立〔2030〕12号");
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2031-01-01", rv_cb, &u));
    assert_int_equal(u.n, 0);
}

/* A revisit left pending on a matter that is then terminated: its outcome
 * can no longer be recorded (the matter is closed), so it must not stay
 * "due" for ever in 'patrol revisits --due'. Either refusing the
 * termination or dropping the revisit from the due list would do. */
void revisit_of_terminated_matter_not_due(void **state)
{
    fx *f = *state;
    patrol_saved r = add_revisit(f, f->matter, "2030-03-10", NULL);
    req close;
    rv_ud u;
    int rc;
    /* The record must say the subject asked to stop before that reason. */
    record_ok(f, "consent", f->matter, "answer", "stop", "told", "yes", NULL);
    req_init(&close, "matter.close", f->matter, "outcome", "terminated", "reason",
             "subject_asked_stop", NULL);
    rc = req_send(f->p, &close, NULL);
    if (rc == PATROL_ESTATE)
        return; /* termination refused while a revisit is pending: fine */
    EXPECT_OK(f->p, rc);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "revisit.outcome", r.id, "outcome",
           "corrected", "legality", "lawful_regular", "opinion", "无意见", NULL);
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2030-03-15", rv_cb, &u));
    for (size_t i = 0; i < u.n; i++)
        if (strcmp(u.r[i].id, r.id) == 0)
            fail_msg("revisit %s of terminated matter %s is listed as due (%d days overdue) but "
                     "its outcome can no longer be recorded",
                     r.id, f->matter, u.r[i].overdue);
}

void document_issue_and_deliver(void **state)
{
    fx *f = *state;
    patrol_saved d;
    req r;
    req_init(&r, "document.issue", f->matter, "content", "责令规范店外经营行为", "purpose",
             "引导当事人自觉守法", "time", "2026年3月12日", "personnel", "张伟、李娜", "doc_no",
             "SYCG-RX-2026-017", NULL);
    d = send_ok(f, &r);
    assert_true(strncmp(d.id, "D-", 2) == 0);
    /* The subject is filled in from the matter. */
    assert_string_equal(field_of(f->p, d.seq, "subject"), f->biz);
    /* ... and may not be typed. */
    req_add(&r, "subject", f->person);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'subject'");
    for (size_t k = 0; k < 4; k++) {
        static const char *const reqd[] = {"content", "purpose", "time", "personnel"};
        char quoted[40];
        req_init(&r, "document.issue", f->matter, "content", "c", "purpose", "p", "time", "t",
                 "personnel", "x", NULL);
        req_del(&r, reqd[k]);
        snprintf(quoted, sizeof quoted, "'%s'", reqd[k]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
    }

    REFUSE(f, PATROL_ENOTFOUND, "D-00000000-5", "document.deliver", "D-00000000-5", "method",
           "in_person", "recipient", "王某", NULL);
    REFUSE(f, PATROL_EINVAL, "'method'", "document.deliver", d.id, "method", "pigeon", "recipient",
           "王某", NULL);
    REFUSE(f, PATROL_EINVAL, "'recipient'", "document.deliver", d.id, "method", "post", NULL);
    REFUSE(f, PATROL_EINVAL, "document id", "document.deliver", NULL, "method", "post",
           "recipient", "王某", NULL);
    /* Not completed while an issued document is not delivered (new). */
    req_method(&r, &methods[0], f->matter);
    send_ok(f, &r);
    REFUSE(f, PATROL_ESTATE, d.id, "matter.close", f->matter, "outcome", "completed", NULL);
    {
        patrol_saved s = record_ok(f, "document.deliver", d.id, "method", "in_person",
                                   "recipient", "店主王某（签收）", NULL);
        assert_string_equal(s.id, d.id);
        assert_string_equal(entry_field(f->p, s.seq, NULL)->matter, f->matter);
    }
    /* Delivered once only. */
    REFUSE(f, PATROL_ESTATE, d.id, "document.deliver", d.id, "method", "post", "recipient", "王某",
           NULL);
}

void application_withdraw_and_change(void **state)
{
    fx *f = *state;
    char m2[PATROL_ID_MAX];
    /* The fixture's matter was not opened on application. */
    REFUSE(f, PATROL_ESTATE, "application", "application.withdraw", f->matter, "reason", "不需要了",
           NULL);
    REFUSE(f, PATROL_ESTATE, "application", "application.change", f->matter, "content", "改为书面",
           NULL);
    /* Filing one makes both possible; withdrawn, it is gone. */
    record_ok(f, "application.file", f->matter, "content", "申请行政指导", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule application_twice)", "application.file", f->matter, "content",
           "再次申请", NULL);
    record_ok(f, "application.change", f->matter, "content", "申请行政指导并提供示范文本", NULL);
    record_ok(f, "application.withdraw", f->matter, NULL);
    assert_string_equal(matter_state(f->p, f->matter), "withdrawn");
    REFUSE(f, PATROL_ESTATE, "application", "application.withdraw", f->matter, NULL);
    REFUSE(f, PATROL_EINVAL, "'content'", "application.file", f->matter, NULL);

    /* Opened on application. */
    open_matter(f->p, f->biz, m2, "on_application", "yes", NULL);
    record_ok(f, "application.withdraw", m2, "reason", "已自行整改", NULL);
    REFUSE(f, PATROL_ESTATE, "application", "application.change", m2, "content", "x", NULL);
}

void correction_checks(void **state)
{
    fx *f = *state;
    patrol_saved w, c;
    req r;
    find_ud *u;

    req_method(&r, &methods[3], f->matter);
    w = send_ok(f, &r);

    /* Must name an earlier entry. */
    req_init(&r, "correction", f->matter, "reason", "录入错误", NULL);
    req_insp(&r, INSP1);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "earlier entry");
    r.corrects = w.seq + 1;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "earlier entry");
    r.corrects = 1000;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "earlier entry");
    /* The reason is required. */
    req_init(&r, "correction", f->matter, NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'reason'");
    /* The field must exist in the corrected kind. */
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "topic", "value", "x",
             NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
    /* The value is validated as that field. */
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "deadline", "value",
             "2026-02-30", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'deadline'");
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "deadline", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "value");
    req_init(&r, "correction", f->matter, "reason", "录入错误", "value", "2090-04-30", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "field");
    /* The inspector who makes it is named (new: the matter's were taken). */
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "deadline", "value",
             "2090-04-30", NULL);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "--inspector");
    /* The matter given must be the corrected entry's. */
    req_init(&r, "correction", f->person, "reason", "录入错误", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, f->person);

    /* Valid, and allowed on a closed matter. */
    record_ok(f, "matter.close", f->matter, "outcome", "completed", NULL);
    req_init(&r, "correction", f->matter, "reason", "整改期限录入错误", "field", "deadline", "value",
             "2090-04-30", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    c = send_ok(f, &r);
    u = entry_field(f->p, c.seq, "value");
    assert_string_equal(u->kind, "correction");
    assert_int_equal(u->corrects, w.seq);
    assert_string_equal(u->matter, f->matter);
    assert_string_equal(u->value, "2090-04-30");
    /* The corrected entry itself is untouched. */
    assert_string_equal(field_of(f->p, w.seq, "deadline"), "2090-03-31");
    /* A correction that would make the entry it corrects break a rule is
     * refused, naming that entry (new: checked in context). */
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "deadline", "value",
             "2001-01-01", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "(rule date_past)");
    {
        char entry[64];
        snprintf(entry, sizeof entry, "entry %llu (action.warning)", (unsigned long long)w.seq);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, entry);
    }
    /* A correction of an entry outside any matter (an inspector's). */
    req_init(&r, "correction", NULL, "reason", "姓名录入错误", "field", "name", "value", "张威",
             NULL);
    req_insp(&r, INSP1);
    r.corrects = 2;
    c = send_ok(f, &r);
    assert_string_equal(entry_field(f->p, c.seq, NULL)->matter, "");
    /* The device entry binds the key and the department: it cannot be
     * corrected (it used to be). */
    req_init(&r, "correction", NULL, "reason", "终端名称有误", "field", "device_name", "value",
             "泗阳城管 手持终端 08", NULL);
    req_insp(&r, INSP1);
    r.corrects = 1;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "device.init");
}
