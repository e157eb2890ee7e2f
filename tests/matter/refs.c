/* refs.c -- test_matter: reference data at matter.open through the hooks,
 * leaflets, department-level acts (px_act_check), Beijing days. Moved
 * from test_matter.c, unchanged. */
#include "matter_unit.h"

/* ======================================================================
 * Reference data at matter.open, leaflets
 * ====================================================================== */

/* The open entry of a matter with fields changed; its findings. */
static void open_with(px_matter *m, const px_mref *ref, const char *const *nv)
{
    rec *r = malloc(sizeof *r);
    assert_non_null(r);
    rec_init(r);
    add_open(r, "urban_management");
    for (size_t i = 0; nv && nv[i]; i += 2)
        ent_set(&r->x[0], nv[i], nv[i + 1]);
    replay_ref(r, m, ref);
    free(r);
}

#define OPEN_FINDS(ref, rule, ...)                                                       \
    do {                                                                                 \
        static const char *const nv_[] = {__VA_ARGS__, NULL};                            \
        px_matter m_;                                                                    \
        open_with(&m_, (ref), nv_);                                                      \
        EXPECT_FINDING(&m_, 0, (rule));                                                  \
        px_matter_free(&m_);                                                             \
    } while (0)

#define OPEN_CLEAN(ref, ...)                                                             \
    do {                                                                                 \
        static const char *const nv_[] = {__VA_ARGS__, NULL};                            \
        px_matter m_;                                                                    \
        open_with(&m_, (ref), nv_);                                                      \
        EXPECT_CLEAN(&m_);                                                               \
        px_matter_free(&m_);                                                             \
    } while (0)

void reference_hooks_at_open(void **state)
{
    px_mref ref = fake_ref();
    (void)state;
    OPEN_CLEAN(&ref, "domain", "urban_management");
    OPEN_CLEAN(&ref, "list_item", "CG-NP-003", "list_type", "no_penalty", "list_version",
               "2026.11");
    OPEN_FINDS(&ref, "unknown_list_item", "list_item", "CG-NP-999", "list_type", "no_penalty",
               "list_version", "2026.11");
    OPEN_FINDS(&ref, "item_domain", "list_item", "SJ-NP-001", "list_type", "no_penalty",
               "list_version", "2026.11");
    OPEN_FINDS(&ref, "unknown_domain", "domain", "space_travel");
    OPEN_FINDS(&ref, "domain_excluded", "domain", "rural_closed"); /* not flexible in the lists */
    OPEN_FINDS(&ref, "domain_excluded", "domain", "ecology_environment"); /* by law */
    OPEN_FINDS(&ref, "outside_department", "domain", "market_regulation");
    OPEN_FINDS(&ref, "emergency_excluded", "emergency", "yes");
    OPEN_CLEAN(&ref, "emergency", "no");
    OPEN_FINDS(&ref, "unknown_subject", "subject", "S-abcdef01-404");

    /* The first violation of a subject: cited by another matter, refused;
     * an item of another category may be cited again. */
    g_fake.cited = 1;
    g_fake.cited_by = "M-12345678-9";
    {
        static const char *const nv[] = {"list_item", "CG-NP-003", "list_type", "no_penalty",
                                         "list_version", "2026.11", NULL};
        px_matter m;
        open_with(&m, &ref, nv);
        EXPECT_FINDING(&m, 0, "not_first_violation");
        assert_non_null(strstr(finding(&m, 0, "not_first_violation")->detail, "M-12345678-9"));
        px_matter_free(&m);
    }
    OPEN_CLEAN(&ref, "list_item", "CG-LT-001", "list_type", "lighter", "list_version", "2026.11");
    g_fake.cited = 0;

    /* The department: not in the reference data. */
    {
        rec r;
        px_matter m;
        rec_init(&r);
        add_open(&r, "urban_management");
        for (size_t i = 0; i < r.n; i++) {
            r.me[i].e = &r.x[i].e;
            r.me[i].department = "SY-XXJ";
        }
        px_matter_init(&m);
        assert_int_equal(px_matter_replay(&m, r.me, r.n, &ref), 0);
        EXPECT_FINDING(&m, 0, "unknown_department");
        px_matter_free(&m);
    }

    /* No hooks (a terminal never told): only what the law says. */
    OPEN_CLEAN(NULL, "domain", "market_regulation", "list_item", "CG-NP-999", "list_type",
               "no_penalty", "list_version", "2026.11");
    OPEN_FINDS(NULL, "domain_excluded", "domain", "public_safety");
    {
        px_mref none;
        memset(&none, 0, sizeof none);
        OPEN_CLEAN(&none, "domain", "space_travel", "subject", "S-abcdef01-404");
    }
}

void leaflets_from_catalogue(void **state)
{
    rec r;
    px_matter m;
    size_t a, b, c;
    (void)state;
    accepted(&r);
    a = add(&r, "leaflet", MATTER, "code", "LF-001", "copies", "2", "title", "告知书", NULL);
    b = add(&r, "leaflet", MATTER, "code", "CG-LF-01", "copies", "2", "title", "告知书", NULL);
    c = add(&r, "leaflet", MATTER, "copies", "2", "title", "自制示范文本", NULL);
    replay(&r, &m);
    assert_int_equal(count_at(&m, a), 0);
    EXPECT_FINDING(&m, b, "unknown_leaflet");
    assert_int_equal(count_at(&m, c), 0);
    assert_int_equal(m.leaflets, 3);
    px_matter_free(&m);
}

/* ======================================================================
 * Department-level acts
 * ====================================================================== */

typedef struct act {
    ent t;
    px_mentry me;
} act;

static void act_init(act *a, const char *kind, ...)
{
    va_list ap;
    const char *name;
    memset(a, 0, sizeof *a);
    patrol__v1__entry__init(&a->t.e);
    a->t.e.device.data = g_dev;
    a->t.e.device.len = sizeof g_dev;
    a->t.e.seq = 9;
    a->t.e.kind = (char *)kind;
    a->t.e.object = "A-abcdef01-9";
    a->t.e.fields = a->t.fp;
    va_start(ap, kind);
    while ((name = va_arg(ap, const char *)) != NULL)
        ent_set(&a->t, name, va_arg(ap, const char *));
    va_end(ap);
    a->me.e = &a->t.e;
    a->me.department = DEPT;
}

static void interview(act *a, const char *mode, const char *departments, const char *domain)
{
    act_init(a, "dept.interview", "content", "集中约谈", "departments", departments, "domain",
             domain, "minutes", "纪要", "mode", mode, "participants", "商户代表", NULL);
}

/* The rule of px_act_check's one finding, or "" if none. */
static const char *act_rule(act *a, const px_mref *ref)
{
    static px_finding f;
    memset(&f, 0, sizeof f);
    if (!px_act_check(&a->me, ref, &f))
        return "";
    assert_true(f.detail[0] != '\0');
    return f.rule;
}

void dept_acts(void **state)
{
    px_mref ref = fake_ref();
    act a;
    (void)state;
    interview(&a, "joint", "SY-CGJ,SY-SCJGJ", "urban_management");
    assert_string_equal(act_rule(&a, &ref), "");
    interview(&a, "joint", "SY-CGJ", "urban_management");
    assert_string_equal(act_rule(&a, &ref), "joint_needs_departments");
    interview(&a, "collective", "SY-CGJ", "urban_management");
    assert_string_equal(act_rule(&a, &ref), "");
    interview(&a, "joint", "SY-SCJGJ,SY-WLJ", "urban_management");
    assert_string_equal(act_rule(&a, &ref), "own_department_missing");
    interview(&a, "joint", "SY-CGJ,SY-XXJ", "urban_management");
    assert_string_equal(act_rule(&a, &ref), "unknown_department");
    interview(&a, "collective", "SY-CGJ", "market_regulation");
    assert_string_equal(act_rule(&a, &ref), "outside_department");
    interview(&a, "collective", "SY-CGJ", "public_safety");
    assert_string_equal(act_rule(&a, &ref), "domain_excluded");
    interview(&a, "collective", "SY-CGJ", "urban_management");
    ent_set(&a.t, "subjects", "S-abcdef01-7,S-abcdef01-404");
    assert_string_equal(act_rule(&a, &ref), "unknown_subject");
    ent_set(&a.t, "subjects", "S-abcdef01-7,S-abcdef01-8");
    assert_string_equal(act_rule(&a, &ref), "");
    /* The outside department comes from the holds hook alone. */
    interview(&a, "collective", "SY-CGJ", "market_regulation");
    {
        px_mref no_holds = ref;
        no_holds.holds = NULL;
        assert_string_equal(act_rule(&a, &no_holds), "");
        assert_string_equal(act_rule(&a, NULL), "");
    }
    /* The other two acts. */
    act_init(&a, "dept.reminder", "audience", "沿街商户", "content", "提示", "domain",
             "urban_management", "form", "written", "rules", "条例", NULL);
    assert_string_equal(act_rule(&a, &ref), "");
    act_init(&a, "dept.publicity", "channel", "网站", "content", "公示", "domain",
             "culture_tourism", "redactions", "none", NULL);
    assert_string_equal(act_rule(&a, &ref), "outside_department");
    /* Not an act: an outcome of a revisit recorded away from its matter
     * is checked for its own fields only. */
    act_init(&a, "revisit.outcome", "outcome", "corrected", NULL);
    assert_string_equal(act_rule(&a, &ref), "missing_field");
    ent_set(&a.t, "opinion", "无意见");
    assert_string_equal(act_rule(&a, &ref), "");
    act_init(&a, "no.such.kind", NULL);
    assert_string_equal(act_rule(&a, &ref), "not_an_act");
    /* out may be NULL. */
    interview(&a, "joint", "SY-CGJ", "urban_management");
    assert_int_equal(px_act_check(&a.me, &ref, NULL), 1);
}

/* ======================================================================
 * Time
 * ====================================================================== */

void beijing_day(void **state)
{
    int32_t d1, d2;
    (void)state;
    assert_null(px_parse_date("2026-06-01", &d1));
    assert_null(px_parse_date("2026-06-02", &d2));
    assert_int_equal(px_beijing_day(utc_ms("2026-06-01", 15, 59, 59, 999)), d1);
    assert_int_equal(px_beijing_day(utc_ms("2026-06-01", 16, 0, 0, 0)), d2);
    assert_int_equal(px_beijing_day(utc_ms("2026-05-31", 16, 0, 0, 0)), d1);
    assert_int_equal(px_beijing_day(0), 0);
    assert_int_equal(px_beijing_day(-1), 0);               /* 07:59:59.999 Beijing */
    assert_int_equal(px_beijing_day(-8 * 3600 * 1000LL), 0);
    assert_int_equal(px_beijing_day(-8 * 3600 * 1000LL - 1), -1);
}
