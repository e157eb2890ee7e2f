/* fixture.c -- test_matter's hand-built entries, fake reference data and
 * replay (matter_unit.h). Moved from test_matter.c, unchanged. */
#include "matter_unit.h"

/* ======================================================================
 * Entries
 * ====================================================================== */

uint8_t g_dev[32] = {0xab, 0xcd, 0xef, 0x01, 0x02};

/* ms since 1970 of date (YYYY-MM-DD) at h:m:s.ms UTC. */
int64_t utc_ms(const char *date, int h, int m, int s, int ms)
{
    int32_t d;
    assert_null(px_parse_date(date, &d));
    return ((((int64_t)d * 24 + h) * 60 + m) * 60 + s) * 1000 + ms;
}

void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    r->wall = utc_ms("2026-06-01", 2, 0, 0, 0); /* 10:00 in Beijing */
}

void ent_set(ent *t, const char *name, const char *value)
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

size_t add_v(rec *r, const char *kind, const char *object, va_list ap)
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
size_t add(rec *r, const char *kind, const char *object, ...)
{
    va_list ap;
    size_t i;
    va_start(ap, object);
    i = add_v(r, kind, object, ap);
    va_end(ap);
    return i;
}

/* The id entry i creates ('R' revisit, 'D' document), in buf. */
const char *id_of(rec *r, size_t i, char prefix, char *buf, size_t len)
{
    px_object_id(&r->x[i].e, prefix, buf, len);
    return buf;
}

/* ---- entries of each kind, valid ------------------------------------------ */

size_t add_open(rec *r, const char *domain)
{
    return add(r, "matter.open", MATTER, "domain", domain, "on_application", "yes", "subject",
               SUBJECT, "summary", "临街商户超出门窗外墙摆卖", NULL);
}

size_t add_consent(rec *r, const char *answer)
{
    if (!answer)
        return add(r, "consent", MATTER, "told", "yes", "form", "oral", NULL);
    return add(r, "consent", MATTER, "answer", answer, "told", "yes", "form", "oral", NULL);
}

size_t add_guidance(rec *r)
{
    return add(r, "action.guidance", MATTER, "content", "指导规范外摆", "topic", "门前三包", NULL);
}

size_t add_warning(rec *r, const char *deadline)
{
    return add(r, "action.warning", MATTER, "content", "告诫不得再次摆卖", "correctable", "yes",
               "correction", "将货架移回店内", "deadline", deadline, "minor", "yes", "no_harm",
               "yes", "no_intent", "yes", NULL);
}

size_t add_revisit(rec *r, const char *follows)
{
    return add(r, "action.revisit", MATTER, "content", "回访整改情况", "decision", "现场检查",
               "due", "2026-12-31", "follows", follows, NULL);
}

size_t add_doc(rec *r)
{
    return add(r, "document.issue", MATTER, "content", "柔性执法意见", "personnel", "张伟、李娜",
               "purpose", "引导守法", "subject", SUBJECT, "time", "2026年6月", NULL);
}

size_t add_deliver(rec *r, const char *doc)
{
    return add(r, "document.deliver", doc, "method", "in_person", "recipient", "店主", NULL);
}

size_t add_outcome(rec *r, const char *revisit, const char *outcome)
{
    return add(r, "revisit.outcome", revisit, "legality", "lawful_regular", "opinion", "无意见",
               "outcome", outcome, NULL);
}

size_t add_close(rec *r, const char *outcome, const char *reason)
{
    if (reason)
        return add(r, "matter.close", MATTER, "outcome", outcome, "reason", reason, NULL);
    return add(r, "matter.close", MATTER, "outcome", outcome, NULL);
}

/* A correction of entry `target` (0-based index) by I-001. */
size_t add_correction(rec *r, size_t target, const char *field, const char *value)
{
    size_t i = field ? add(r, "correction", MATTER, "field", field, "reason", "录入错误", "value",
                           value, NULL)
                     : add(r, "correction", MATTER, "reason", "录入错误", NULL);
    r->x[i].e.corrects = target + 1;
    return i;
}

/* open, accept: the common start. */
void accepted(rec *r)
{
    rec_init(r);
    add_open(r, "urban_management");
    add_consent(r, "accept");
}

/* ======================================================================
 * Reference data
 * ====================================================================== */

/* s is one of the NULL-ended set. */
int in(const char *s, const char *const *set)
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

fake g_fake;

px_mref fake_ref(void)
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
void replay_ref(rec *r, px_matter *m, const px_mref *ref)
{
    for (size_t i = 0; i < r->n; i++) {
        r->me[i].e = &r->x[i].e;
        r->me[i].dev = 0;
        r->me[i].department = DEPT;
    }
    px_matter_init(m);
    assert_int_equal(px_matter_replay(m, r->me, r->n, ref), 0);
}

void replay(rec *r, px_matter *m)
{
    px_mref ref = fake_ref();
    replay_ref(r, m, &ref);
}

void print_findings(const px_matter *m)
{
    for (size_t i = 0; i < m->nfindings; i++)
        print_message("  finding: entry %zu rule %s%s: %s\n", m->findings[i].index,
                      m->findings[i].rule, m->findings[i].flag_only ? " (flag)" : "",
                      m->findings[i].detail);
}

const px_finding *finding(const px_matter *m, size_t index, const char *rule)
{
    for (size_t i = 0; i < m->nfindings; i++)
        if (m->findings[i].index == index && strcmp(m->findings[i].rule, rule) == 0)
            return &m->findings[i];
    return NULL;
}

size_t count_at(const px_matter *m, size_t index)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nfindings; i++)
        n += m->findings[i].index == index;
    return n;
}
