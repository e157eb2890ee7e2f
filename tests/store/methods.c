/* methods.c -- test_store: the seven methods (guidance, suggestion, reminder, warning, interview, publicity, revisit) and what each must hold. Moved from test_store.c. */
#include "store_test.h"

/* ======================================================================
 * 1. The seven methods
 * ====================================================================== */


const method_case methods[] = {
    {"action.guidance",
     {"content", "指导店主规范设置外摆区域，明确门前三包责任", "topic", "门前三包与店外经营管理",
      "form", "oral", "materials", "《门前三包责任告知书》1份", NULL},
     {"content", "topic", NULL}},
    /* A follow-up is agreed only if there is one: not required (it was). */
    {"action.suggestion",
     {"content", "建议设置店内等候区，避免顾客在人行道排队", "follow_up",
      "一周内提交整改方案", "form", "written", NULL},
     {"content", NULL}},
    {"action.reminder",
     {"content", "提示店外摆卖属于高发违法行为", "form", "oral", "rules",
      "《江苏省城市市容和环境卫生管理条例》相关规定", "source", "inspection", NULL},
     {"content", "form", "rules", NULL}},
    /* The fourth condition of a 告诫 is that the violation can be corrected
     * promptly (correctable, required by the record's rules); whether it
     * already was is a fact (corrected), no longer required. The deadline
     * may not be before the day it is recorded: far in the future here. */
    {"action.warning",
     {"content", "告诫当事人不得再次超出门窗外墙摆卖", "minor", "yes", "no_harm", "yes",
      "no_intent", "yes", "correctable", "yes", "corrected", "yes", "correction",
      "当场将货架移回店内", "deadline", "2090-03-31", NULL},
     {"content", "correctable", "correction", "deadline", "minor", "no_harm", "no_intent", NULL}},
    {"action.interview",
     {"content", "约谈店铺负责人，说明多次占道经营的后果", "departments", "城管局、众兴镇政府",
      "minutes", "负责人承认问题，承诺整改", "mode", "individual", "participants",
      "张伟、李娜、店主王某", "reason", "complaints", NULL},
     {"content", "departments", "minutes", "mode", "participants", NULL}},
    {"action.publicity",
     {"channel", "泗阳县城管局门户网站", "content", "公示典型案例，引导商户自觉规范经营",
      "redactions", "当事人姓名、身份证号", NULL},
     {"channel", "content", "redactions", NULL}},
    /* After an inspection a revisit with an outcome asks about legality
     * (and always the subject's opinion). */
    {"action.revisit",
     {"content", "回访整改情况", "decision", "2090年3月告诫决定", "due", "2090-04-15", "follows",
      "inspection", "integrity", "no_concern", "legality", "lawful_regular", "opinion", "无意见",
      NULL},
     {"content", "decision", "due", "follows", NULL}},
};
const size_t n_methods = sizeof methods / sizeof methods[0];

static const char *method_value(const method_case *m, const char *name)
{
    for (size_t i = 0; m->fields[i]; i += 2)
        if (strcmp(m->fields[i], name) == 0)
            return m->fields[i + 1];
    fail_msg("%s: no field %s in the test case", m->kind, name);
    return NULL;
}

void req_method(req *r, const method_case *m, const char *matter)
{
    memset(r, 0, sizeof *r);
    r->kind = m->kind;
    r->target = matter;
    req_fields_v(r, m->fields);
}

/* The test's list of required fields is the library's too (so a field
 * made required later is tested here or this fails). */
void method_required_match_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_METHODS; i++) {
        patrol_field_info fi;
        size_t nreq = 0, k;
        for (size_t j = 0; patrol_kind_field(methods[i].kind, j, &fi) == PATROL_OK; j++) {
            int listed = 0;
            if (!fi.required)
                continue;
            nreq++;
            for (k = 0; methods[i].required[k]; k++)
                listed |= strcmp(methods[i].required[k], fi.name) == 0;
            if (!listed)
                fail_msg("%s: required field %s not tested", methods[i].kind, fi.name);
        }
        k = 0;
        while (methods[i].required[k])
            k++;
        assert_int_equal(nreq, k);
    }
    for (size_t i = 0; i < 7; i++) {
        char kind[64];
        static const char *const names[] = {"guidance", "suggestion", "reminder", "warning",
                                            "interview", "publicity", "revisit"};
        snprintf(kind, sizeof kind, "action.%s", names[i]);
        assert_non_null(patrol_kind_help(kind));
    }
}

void method_valid_records_saved(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < N_METHODS; i++) {
        req r;
        patrol_saved s;
        patrol_info info;
        find_ud *u;
        req_method(&r, &methods[i], f->matter);
        s = send_ok(f, &r);
        EXPECT_OK(f->p, patrol_get_info(f->p, &info));
        assert_int_equal(info.entries, s.seq);
        assert_string_equal(info.head_hash, s.hash);
        assert_int_equal(strlen(s.hash), 64);
        u = entry_field(f->p, s.seq, "content");
        assert_string_equal(u->kind, methods[i].kind);
        assert_string_equal(u->matter, f->matter);
        assert_string_equal(u->value, method_value(&methods[i], "content"));
        /* No inspectors given: the matter's two act. */
        assert_int_equal(u->n_inspectors, 2);
        assert_string_equal(u->inspectors[0], INSP1);
        assert_string_equal(u->inspectors[1], INSP2);
        if (strcmp(methods[i].kind, "action.revisit") == 0)
            assert_true(strncmp(s.id, "R-", 2) == 0);
        else
            assert_string_equal(s.id, f->matter);
    }
}

void method_missing_required_field(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < N_METHODS; i++)
        for (size_t k = 0; methods[i].required[k]; k++) {
            req r;
            char quoted[80];
            req_method(&r, &methods[i], f->matter);
            req_del(&r, methods[i].required[k]);
            snprintf(quoted, sizeof quoted, "'%s'", methods[i].required[k]);
            EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
        }
    /* Nothing at all. */
    for (size_t i = 0; i < N_METHODS; i++) {
        req r;
        memset(&r, 0, sizeof r);
        r.kind = methods[i].kind;
        r.target = f->matter;
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "needs field");
    }
}

/* 告诫: minor, no harm, no intent, and can be corrected promptly. The
 * fourth used to be "already corrected" (corrected=yes); the seed asks
 * that the violation can be corrected, so correctable=yes is required and
 * corrected=no is a lawful warning (checked at the end). */
void warning_needs_all_four_conditions(void **state)
{
    fx *f = *state;
    static const char *const conds[] = {"minor", "no_harm", "no_intent", "correctable"};
    static const char *const nos[] = {"no", "false", "0"};
    for (size_t c = 0; c < 4; c++) {
        req r;
        char quoted[40];
        snprintf(quoted, sizeof quoted, "'%s'", conds[c]);
        req_method(&r, &methods[3], f->matter);
        req_del(&r, conds[c]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
        for (size_t n = 0; n < 3; n++) {
            req_method(&r, &methods[3], f->matter);
            req_set(&r, conds[c], nos[n]);
            EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
        }
        req_method(&r, &methods[3], f->matter);
        req_set(&r, conds[c], "maybe");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
    }
    /* All four "no" at once: refused, and the message names one. */
    {
        req r;
        req_method(&r, &methods[3], f->matter);
        for (size_t c = 0; c < 4; c++)
            req_set(&r, conds[c], "no");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "must be yes");
    }
    /* "true" and "1" are yes. */
    {
        req r;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "minor", "true");
        req_set(&r, "no_harm", "1");
        send_ok(f, &r);
    }
    /* Not yet corrected, or not saying: a warning all the same. */
    {
        req r;
        patrol_saved s;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "corrected", "no");
        s = send_ok(f, &r);
        assert_string_equal(field_of(f->p, s.seq, "corrected"), "no");
        req_method(&r, &methods[3], f->matter);
        req_del(&r, "corrected");
        send_ok(f, &r);
        req_set(&r, "corrected", "maybe");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'corrected'");
    }
    /* The deadline may not be before the day it is recorded (Beijing
     * time), unless the entry is a paper record entered late. */
    {
        req r;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "deadline", "2001-01-01");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "(rule date_past)");
        req_set(&r, "late", "yes");
        send_ok(f, &r);
    }
}

void method_bad_choices(void **state)
{
    fx *f = *state;
    static const struct {
        size_t method;
        const char *field, *value;
    } bad[] = {
        {0, "form", "shouting"},   {0, "form", "Oral"},        {0, "form", ""},
        {1, "form", "telegram"},   {2, "form", "email"},       {2, "source", "rumour"},
        {4, "mode", "group"},      {4, "reason", "boredom"},   {6, "follows", "nothing"},
        {6, "integrity", "maybe"}, {6, "outcome", "perfect"},  {6, "follows", "penalty "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req r;
        char quoted[40];
        req_method(&r, &methods[bad[i].method], f->matter);
        req_set(&r, bad[i].field, bad[i].value);
        snprintf(quoted, sizeof quoted, "'%s'", bad[i].field);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
    }
    /* Each allowed value of reminder's form and interview's mode is fine. */
    {
        req r;
        req_method(&r, &methods[2], f->matter);
        req_set(&r, "form", "written");
        send_ok(f, &r);
        req_method(&r, &methods[4], f->matter);
        req_set(&r, "mode", "collective");
        send_ok(f, &r);
    }
}

void method_bad_dates(void **state)
{
    fx *f = *state;
    static const char *const dates[] = {
        "2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31",
        "2026/03/31", "26-03-31",   "2026-3-31",  "2026-03-31 ", " 2026-03-31",
        "1999-12-31", "2100-01-01", "",           "tomorrow",   "2026-03-3１",
    };
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        req r;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "deadline", dates[i]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'deadline'");
        req_method(&r, &methods[6], f->matter);
        req_set(&r, "due", dates[i]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'due'");
    }
    /* A real leap day is a date (far ahead: a deadline is not past). */
    {
        req r;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "deadline", "2096-02-29");
        send_ok(f, &r);
    }
}

void method_bad_text(void **state)
{
    fx *f = *state;
    static const struct {
        const char *value, *why;
    } bad[] = {
        {"\xff\xfe", "UTF-8"},                   /* not UTF-8 at all */
        {"店铺\xe5\xba", "UTF-8"},               /* cut in the middle of 店 */
        {"\xc0\xaf", "overlong"},                /* overlong '/' */
        {"\xed\xa0\x80", "surrogate"},           /* UTF-16 surrogate */
        {"GBK \xb5\xea\xc6\xcc", "UTF-8"},       /* 店铺 in GBK */
        {"bell\x07", "control"},                 /* control character */
        {"   ", "empty"},                        /* blank */
        {"", "empty"},
    };
    char *big = malloc(8002), *cjk = malloc(8002);
    size_t i;
    assert_non_null(big);
    assert_non_null(cjk);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req r;
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "content", bad[i].value);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'content'");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, bad[i].why);
        /* A one-line field too. */
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "topic", bad[i].value);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
    }
    /* A line field refuses line breaks and tabs; a text field keeps them. */
    {
        req r;
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "topic", "门前三包\n店外经营");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
        req_set(&r, "topic", "门前三包\t店外经营");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "content", "第一条：\r\n\t门前三包；\n第二条：店外经营。");
        send_ok(f, &r);
    }
    /* Over-long: 8001 bytes refused, 8000 accepted (ASCII and CJK). */
    memset(big, 'a', 8001);
    big[8001] = '\0';
    for (i = 0; i + 3 <= 8001; i += 3)
        memcpy(cjk + i, "店", 3); /* 2667 characters = 8001 bytes */
    cjk[8001] = '\0';
    {
        req r;
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "content", big);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "too long");
        req_set(&r, "content", cjk);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'content'");
        big[8000] = '\0';
        req_set(&r, "content", big);
        send_ok(f, &r);
        cjk[7998] = '\0'; /* 2666 characters */
        req_set(&r, "content", cjk);
        send_ok(f, &r);
        /* A line is at most 400 bytes. */
        big[401] = '\0';
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "topic", big);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
        big[400] = '\0';
        req_set(&r, "topic", big);
        send_ok(f, &r);
    }
    /* The largest interview, every text at 8000 bytes, is accepted
     * (4 x 8000 bytes stays under the 64 KiB entry limit). */
    {
        req r;
        memset(big, 'b', 8000);
        big[8000] = '\0';
        req_method(&r, &methods[4], f->matter);
        req_set(&r, "content", big);
        req_set(&r, "departments", big);
        req_set(&r, "minutes", big);
        req_set(&r, "participants", big);
        send_ok(f, &r);
    }
    free(big);
    free(cjk);
}

void method_unknown_and_repeated_fields(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < N_METHODS; i++) {
        req r;
        req_method(&r, &methods[i], f->matter);
        req_add(&r, "colour", "red");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'colour'");
        /* A field of another method. */
        req_method(&r, &methods[i], f->matter);
        req_add(&r, i == 3 ? "topic" : "minor", "yes");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, i == 3 ? "'topic'" : "'minor'");
        /* The same field twice (same or different value). */
        req_method(&r, &methods[i], f->matter);
        req_add(&r, "content", "再说一遍");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "twice");
        req_method(&r, &methods[i], f->matter);
        req_add(&r, r.f[0].name, r.f[0].value);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "twice");
    }
    {
        req r;
        /* Case matters in names; a NULL value is refused, not a crash. */
        req_method(&r, &methods[0], f->matter);
        req_add(&r, "Content", "x");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'Content'");
        req_method(&r, &methods[0], f->matter);
        r.f[0].value = NULL;
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "field 1");
        /* An unknown confidentiality mark. */
        req_method(&r, &methods[0], f->matter);
        r.f[0].conf = (patrol_conf)7;
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "confidentiality");
        /* A known mark is kept. */
        req_method(&r, &methods[0], f->matter);
        req_find(&r, "materials")->conf = PATROL_CONF_TRADE_SECRET;
        {
            patrol_saved s = send_ok(f, &r);
            find_ud *u = entry_field(f->p, s.seq, "materials");
            assert_int_equal(u->conf, PATROL_CONF_TRADE_SECRET);
        }
    }
}

void method_target_and_kind_checks(void **state)
{
    fx *f = *state;
    req r;
    /* No matter, unknown matter, malformed matter id. */
    req_method(&r, &methods[0], NULL);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "matter");
    req_method(&r, &methods[0], "M-00000000-999");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "M-00000000-999");
    req_method(&r, &methods[0], "../etc/passwd");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "matter id");
    /* A subject id is not a matter. */
    req_method(&r, &methods[0], f->biz);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, f->biz);
    /* Unknown kinds and kinds only the library writes. */
    req_method(&r, &methods[0], f->matter);
    r.kind = "action.scolding";
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "action.scolding");
    r.kind = NULL;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "kind");
    REFUSE(f, PATROL_EINVAL, "device.init", "device.init", NULL, "department", "X",
           "device_name", "Y", NULL);
    REFUSE(f, PATROL_EINVAL, "patrol_evidence_add", "evidence.add", f->matter, "kind", "photo",
           "media_type", "image/jpeg", "sha256",
           "0000000000000000000000000000000000000000000000000000000000000000", "size", "1",
           NULL);
    /* Only a correction names an entry it corrects. */
    req_method(&r, &methods[0], f->matter);
    r.corrects = 2;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "correction");
    /* Inspectors acting must be enrolled, and named once. */
    req_method(&r, &methods[0], f->matter);
    req_insp(&r, "I-404");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "I-404");
    req_method(&r, &methods[0], f->matter);
    req_insp(&r, INSP1);
    req_insp(&r, INSP1);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, INSP1);
    req_method(&r, &methods[0], f->matter);
    req_insp(&r, "张伟");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "inspector");
    /* Given inspectors replace the matter's; the location is kept. */
    {
        patrol_location loc = {337123456, 1186654321, 8};
        patrol_saved s;
        find_ud *u;
        req_method(&r, &methods[0], f->matter);
        req_insp(&r, INSP2);
        r.loc = &loc;
        s = send_ok(f, &r);
        u = entry_field(f->p, s.seq, NULL);
        assert_int_equal(u->n_inspectors, 1);
        assert_string_equal(u->inspectors[0], INSP2);
        assert_true(u->has_location);
        assert_int_equal(u->loc.lat_e7, 337123456);
        assert_int_equal(u->loc.lon_e7, 1186654321);
        assert_int_equal(u->loc.accuracy_m, 8);
    }
}
