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
 * Findings are checked by rule code and entry index, never by sentence. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matter.h"
#include "rules.h"
#include "validate.h"

/* ======================================================================
 * Entries
 * ====================================================================== */

#define MAXF 16
#define MAXE 48
#define DEPT "SY-CGJ"
#define MATTER "M-abcdef01-1" /* the matter.open is always entry 0, seq 1 */
#define SUBJECT "S-abcdef01-7"

static uint8_t g_dev[32] = {0xab, 0xcd, 0xef, 0x01, 0x02};

typedef struct ent {
    Patrol__V1__Entry e;
    Patrol__V1__Field f[MAXF];
    Patrol__V1__Field *fp[MAXF];
    char *insp[2];
} ent;

/* A matter's entries in recording order (seq = index + 1). */
typedef struct rec {
    ent x[MAXE];
    px_mentry me[MAXE];
    size_t n;
    int64_t wall; /* wall_ms of the next entry */
} rec;

/* ms since 1970 of date (YYYY-MM-DD) at h:m:s.ms UTC. */
static int64_t utc_ms(const char *date, int h, int m, int s, int ms)
{
    int32_t d;
    assert_null(px_parse_date(date, &d));
    return ((((int64_t)d * 24 + h) * 60 + m) * 60 + s) * 1000 + ms;
}

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    r->wall = utc_ms("2026-06-01", 2, 0, 0, 0); /* 10:00 in Beijing */
}

static void ent_set(ent *t, const char *name, const char *value)
{
    Patrol__V1__Entry *e = &t->e;
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0) {
            e->fields[i]->value = (char *)value;
            return;
        }
    assert_true(e->n_fields < MAXF);
    patrol__v1__field__init(&t->f[e->n_fields]);
    t->f[e->n_fields].name = (char *)name;
    t->f[e->n_fields].value = (char *)value;
    t->fp[e->n_fields] = &t->f[e->n_fields];
    e->n_fields++;
}

static size_t add_v(rec *r, const char *kind, const char *object, va_list ap)
{
    ent *t;
    const char *name;
    assert_true(r->n < MAXE);
    t = &r->x[r->n];
    memset(t, 0, sizeof *t);
    patrol__v1__entry__init(&t->e);
    t->e.format = 1;
    t->e.device.data = g_dev;
    t->e.device.len = sizeof g_dev;
    t->e.seq = r->n + 1;
    t->e.wall_ms = r->wall;
    r->wall += 60000;
    t->e.kind = (char *)kind;
    t->e.object = (char *)object;
    t->insp[0] = "I-001";
    t->e.inspectors = t->insp;
    t->e.n_inspectors = 1;
    t->e.fields = t->fp;
    while ((name = va_arg(ap, const char *)) != NULL)
        ent_set(t, name, va_arg(ap, const char *));
    return r->n++;
}

/* add(r, kind, object, "name", "value", ..., NULL): the index of the new
 * entry (its seq is index + 1). */
static size_t add(rec *r, const char *kind, const char *object, ...)
{
    va_list ap;
    size_t i;
    va_start(ap, object);
    i = add_v(r, kind, object, ap);
    va_end(ap);
    return i;
}

/* The id entry i creates ('R' revisit, 'D' document), in buf. */
static const char *id_of(rec *r, size_t i, char prefix, char *buf, size_t len)
{
    px_object_id(&r->x[i].e, prefix, buf, len);
    return buf;
}

/* ---- entries of each kind, valid ------------------------------------------ */

static size_t add_open(rec *r, const char *domain)
{
    return add(r, "matter.open", MATTER, "domain", domain, "on_application", "yes", "subject",
               SUBJECT, "summary", "临街商户超出门窗外墙摆卖", NULL);
}

static size_t add_consent(rec *r, const char *answer)
{
    if (!answer)
        return add(r, "consent", MATTER, "told", "yes", "form", "oral", NULL);
    return add(r, "consent", MATTER, "answer", answer, "told", "yes", "form", "oral", NULL);
}

static size_t add_guidance(rec *r)
{
    return add(r, "action.guidance", MATTER, "content", "指导规范外摆", "topic", "门前三包", NULL);
}

static size_t add_warning(rec *r, const char *deadline)
{
    return add(r, "action.warning", MATTER, "content", "告诫不得再次摆卖", "correctable", "yes",
               "correction", "将货架移回店内", "deadline", deadline, "minor", "yes", "no_harm",
               "yes", "no_intent", "yes", NULL);
}

static size_t add_revisit(rec *r, const char *follows)
{
    return add(r, "action.revisit", MATTER, "content", "回访整改情况", "decision", "现场检查",
               "due", "2026-12-31", "follows", follows, NULL);
}

static size_t add_doc(rec *r)
{
    return add(r, "document.issue", MATTER, "content", "柔性执法意见", "personnel", "张伟、李娜",
               "purpose", "引导守法", "subject", SUBJECT, "time", "2026年6月", NULL);
}

static size_t add_deliver(rec *r, const char *doc)
{
    return add(r, "document.deliver", doc, "method", "in_person", "recipient", "店主", NULL);
}

static size_t add_outcome(rec *r, const char *revisit, const char *outcome)
{
    return add(r, "revisit.outcome", revisit, "legality", "lawful_regular", "opinion", "无意见",
               "outcome", outcome, NULL);
}

static size_t add_close(rec *r, const char *outcome, const char *reason)
{
    if (reason)
        return add(r, "matter.close", MATTER, "outcome", outcome, "reason", reason, NULL);
    return add(r, "matter.close", MATTER, "outcome", outcome, NULL);
}

/* A correction of entry `target` (0-based index) by I-001. */
static size_t add_correction(rec *r, size_t target, const char *field, const char *value)
{
    size_t i = field ? add(r, "correction", MATTER, "field", field, "reason", "录入错误", "value",
                           value, NULL)
                     : add(r, "correction", MATTER, "reason", "录入错误", NULL);
    r->x[i].e.corrects = target + 1;
    return i;
}

/* ======================================================================
 * Reference data
 * ====================================================================== */

typedef struct fake {
    int cited;           /* the cited hook answers yes */
    const char *cited_by; /* ... naming this matter */
} fake;

static int in(const char *s, const char *const *set)
{
    for (size_t i = 0; set[i]; i++)
        if (strcmp(s, set[i]) == 0)
            return 1;
    return 0;
}

static int f_domain(void *ud, const char *code)
{
    static const char *const flexible[] = {"urban_management", "market_regulation",
                                           "culture_tourism", NULL};
    static const char *const closed[] = {"public_safety", "rural_closed", NULL};
    (void)ud;
    return in(code, flexible) ? 1 : in(code, closed) ? -1 : 0;
}

static int f_department_known(void *ud, const char *code)
{
    static const char *const known[] = {"SY-CGJ", "SY-SCJGJ", "SY-WLJ", NULL};
    (void)ud;
    return in(code, known);
}

static int f_holds(void *ud, const char *department, const char *domain)
{
    if (!f_department_known(ud, department))
        return -1;
    return (strcmp(department, "SY-CGJ") == 0 && strcmp(domain, "urban_management") == 0) ||
           (strcmp(department, "SY-SCJGJ") == 0 && strcmp(domain, "market_regulation") == 0) ||
           (strcmp(department, "SY-WLJ") == 0 && strcmp(domain, "culture_tourism") == 0);
}

static int f_item(void *ud, const char *code, px_mitem *out)
{
    static const struct {
        const char *code, *domain, *category, *type;
    } items[] = {
        {"CG-NP-003", "urban_management", "first_violation", "no_penalty"},
        {"CG-LT-001", "urban_management", "lighter", "lighter"},
        {"SJ-NP-001", "market_regulation", "first_violation", "no_penalty"},
    };
    (void)ud;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        if (strcmp(items[i].code, code) == 0) {
            memset(out, 0, sizeof *out);
            snprintf(out->domain, sizeof out->domain, "%s", items[i].domain);
            snprintf(out->category, sizeof out->category, "%s", items[i].category);
            snprintf(out->list_type, sizeof out->list_type, "%s", items[i].type);
            snprintf(out->list_version, sizeof out->list_version, "2026.11");
            return 0;
        }
    return -1;
}

static int f_leaflet(void *ud, const char *code)
{
    (void)ud;
    return strcmp(code, "LF-001") == 0;
}

static int f_subject(void *ud, int dev, const char *subject)
{
    (void)ud;
    (void)dev;
    return strcmp(subject, SUBJECT) == 0 || strcmp(subject, "S-abcdef01-8") == 0;
}

static int f_cited(void *ud, int dev, const char *matter, const char *subject, const char *item,
                   char *other, size_t len)
{
    fake *fk = ud;
    (void)dev;
    (void)subject;
    (void)item;
    if (!fk->cited || strcmp(matter, MATTER) != 0)
        return 0;
    snprintf(other, len, "%s", fk->cited_by);
    return 1;
}

static fake g_fake;

static px_mref fake_ref(void)
{
    px_mref ref;
    memset(&ref, 0, sizeof ref);
    memset(&g_fake, 0, sizeof g_fake);
    ref.ud = &g_fake;
    ref.domain = f_domain;
    ref.holds = f_holds;
    ref.department_known = f_department_known;
    ref.item = f_item;
    ref.leaflet = f_leaflet;
    ref.subject = f_subject;
    ref.cited = f_cited;
    return ref;
}

/* ======================================================================
 * Replay and findings
 * ====================================================================== */

/* Replay r into m (initialised here; free with px_matter_free). */
static void replay_ref(rec *r, px_matter *m, const px_mref *ref)
{
    for (size_t i = 0; i < r->n; i++) {
        r->me[i].e = &r->x[i].e;
        r->me[i].dev = 0;
        r->me[i].department = DEPT;
    }
    px_matter_init(m);
    assert_int_equal(px_matter_replay(m, r->me, r->n, ref), 0);
}

static void replay(rec *r, px_matter *m)
{
    px_mref ref = fake_ref();
    replay_ref(r, m, &ref);
}

static void print_findings(const px_matter *m)
{
    for (size_t i = 0; i < m->nfindings; i++)
        print_message("  finding: entry %zu rule %s%s: %s\n", m->findings[i].index,
                      m->findings[i].rule, m->findings[i].flag_only ? " (flag)" : "",
                      m->findings[i].detail);
}

static const px_finding *finding(const px_matter *m, size_t index, const char *rule)
{
    for (size_t i = 0; i < m->nfindings; i++)
        if (m->findings[i].index == index && strcmp(m->findings[i].rule, rule) == 0)
            return &m->findings[i];
    return NULL;
}

static size_t count_at(const px_matter *m, size_t index)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nfindings; i++)
        n += m->findings[i].index == index;
    return n;
}

/* Entry index has a finding of rule (refusing, not flag only). */
#define EXPECT_FINDING(m, index, rule)                                                   \
    do {                                                                                 \
        const px_finding *f_ = finding((m), (index), (rule));                            \
        if (!f_ || f_->flag_only) {                                                      \
            print_findings(m);                                                           \
            fail_msg("line %d: entry %zu: no refusing finding %s", __LINE__,             \
                     (size_t)(index), (rule));                                           \
        }                                                                                \
        assert_true(f_->detail[0] != '\0');                                              \
    } while (0)

/* Entry index has no finding of rule. */
#define EXPECT_NO_FINDING(m, index, rule)                                                \
    do {                                                                                 \
        if (finding((m), (index), (rule))) {                                             \
            print_findings(m);                                                           \
            fail_msg("line %d: entry %zu: unexpected finding %s", __LINE__,              \
                     (size_t)(index), (rule));                                           \
        }                                                                                \
    } while (0)

/* No finding at all (on the whole record). */
#define EXPECT_CLEAN(m)                                                                  \
    do {                                                                                 \
        if ((m)->nfindings) {                                                            \
            print_findings(m);                                                           \
            fail_msg("line %d: %zu unexpected findings", __LINE__, (m)->nfindings);      \
        }                                                                                \
    } while (0)

/* ======================================================================
 * The state table
 * ====================================================================== */

/* What the row's conditions need before the entry (only for a cell the
 * table allows): an issued document to deliver, a revisit to record the
 * outcome of, a method before completion. */
typedef enum need { NEED_NONE, NEED_DOC, NEED_REVISIT, NEED_METHOD } need;

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
static size_t reach(rec *r, px_mstate s, need nd)
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
static void table_row(void **state)
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
static void states_reached_lawfully(void **state)
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
static void table_shape(void **state)
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

/* ======================================================================
 * Rules beyond the table
 * ====================================================================== */

/* open, accept: the common start. */
static void accepted(rec *r)
{
    rec_init(r);
    add_open(r, "urban_management");
    add_consent(r, "accept");
}

static void consent_answered_once(void **state)
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

static void stop_before_accept(void **state)
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

static void applications(void **state)
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

static void completion_needs_method(void **state)
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

static void completion_needs_delivery(void **state)
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

static void major_and_technical(void **state)
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

static void revisit_pending_and_not_corrected(void **state)
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
static void reason_mismatch(void **state)
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
static void date_past_and_late(void **state)
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
static void revisit_outcome_asks(void **state)
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
static void warning_contradicted_flag_only(void **state)
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
static void warning_needs_correctable(void **state)
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

static void documents_and_revisits_by_id(void **state)
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

static void bad_corrections(void **state)
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

static void correction_names_inspector(void **state)
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
static void corrections_take_effect(void **state)
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
static void new_refusal(void **state)
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

static void reference_hooks_at_open(void **state)
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

static void leaflets_from_catalogue(void **state)
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

static void dept_acts(void **state)
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

static void beijing_day(void **state)
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
