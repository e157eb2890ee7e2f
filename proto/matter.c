/* matter.c -- the matter state machine and the replay of one matter's
 * record (see matter.h; the table is documented in docs/record.md). */
#include "matter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "rules.h"
#include "validate.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- states and the table --------------------------------------------- */

static const struct {
    const char *code, *label;
} states[PX_MS_COUNT] = {
    [PX_MS_NEW] = {"new", N_("not opened")},
    [PX_MS_OPENED] = {"opened", N_("opened, subject not yet told of its right to choose")},
    [PX_MS_TOLD] = {"told", N_("subject told of its right to choose, no answer yet")},
    [PX_MS_ACCEPTED] = {"accepted", N_("subject accepted flexible enforcement")},
    [PX_MS_REFUSED] = {"refused", N_("subject refused flexible enforcement")},
    [PX_MS_WITHDRAWN] = {"withdrawn", N_("application withdrawn")},
    [PX_MS_STOP_ASKED] = {"stop_asked", N_("subject asked to stop")},
    [PX_MS_COMPLETED] = {"completed", N_("completed")},
    [PX_MS_TERMINATED] = {"terminated", N_("terminated")},
    [PX_MS_ESCALATED] = {"escalated", N_("handed to ordinary case procedure")},
};

const char *px_mstate_code(px_mstate s)
{
    return s < PX_MS_COUNT ? states[s].code : "unknown";
}

const char *px_mstate_label(px_mstate s)
{
    return s < PX_MS_COUNT ? states[s].label : "unknown";
}

int px_mstate_parse(const char *code, px_mstate *out)
{
    for (int s = 0; code && s < PX_MS_COUNT; s++)
        if (strcmp(states[s].code, code) == 0) {
            *out = (px_mstate)s;
            return 0;
        }
    return -1;
}

int px_mstate_closed(px_mstate s)
{
    return s == PX_MS_COMPLETED || s == PX_MS_TERMINATED || s == PX_MS_ESCALATED;
}

#define B(s) (1u << (s))
#define BEFORE_ANSWER (B(PX_MS_OPENED) | B(PX_MS_TOLD))
#define LIVE (BEFORE_ANSWER | B(PX_MS_ACCEPTED))
#define ENDING (B(PX_MS_REFUSED) | B(PX_MS_WITHDRAWN) | B(PX_MS_STOP_ASKED))
#define CLOSED (B(PX_MS_COMPLETED) | B(PX_MS_TERMINATED) | B(PX_MS_ESCALATED))
#define ALL_BUT_NEW (LIVE | ENDING | CLOSED)

/* Rows of the table: the kinds of a matter and the states that allow
 * them. Conditions beyond the state (consent answered once, a document
 * delivered once, what completion needs ...) are in step(). */
static const struct {
    const char *kind;
    unsigned allowed;
} table[] = {
    {"matter.open", B(PX_MS_NEW)},
    {"consent", LIVE},
    {"application.file", LIVE},
    {"application.change", LIVE},
    {"application.withdraw", LIVE},
    {"action.guidance", B(PX_MS_ACCEPTED)},
    {"action.suggestion", B(PX_MS_ACCEPTED)},
    {"action.reminder", B(PX_MS_ACCEPTED)},
    {"action.warning", B(PX_MS_ACCEPTED)},
    {"action.interview", B(PX_MS_ACCEPTED)},
    {"action.publicity", B(PX_MS_ACCEPTED)},
    {"action.revisit", B(PX_MS_ACCEPTED)},
    {"leaflet", B(PX_MS_ACCEPTED)},
    {"document.issue", B(PX_MS_ACCEPTED)},
    {"document.deliver", ALL_BUT_NEW},
    {"revisit.outcome", B(PX_MS_ACCEPTED)},
    {"hearing", LIVE},
    {"expert.opinion", LIVE},
    {"evidence.add", LIVE | ENDING},
    {"correction", ALL_BUT_NEW},
    {PX_CLOSE_COMPLETED, B(PX_MS_ACCEPTED)},
    {PX_CLOSE_TERMINATED, LIVE | ENDING},
    {PX_CLOSE_ESCALATED, LIVE},
};

const char *const *px_matter_kinds(size_t *n)
{
    static const char *names[N(table)];
    for (size_t i = 0; i < N(table); i++)
        names[i] = table[i].kind;
    *n = N(table);
    return names;
}

/* Why a state refuses a kind the table does not allow there. */
static const char *state_rule(px_mstate s, const char *kind)
{
    if (strcmp(kind, "matter.open") == 0)
        return "opened_twice";
    switch (s) {
    case PX_MS_NEW: return "not_opened";
    case PX_MS_OPENED:
    case PX_MS_TOLD: return "consent_first";
    case PX_MS_ACCEPTED: return "accepted";
    case PX_MS_REFUSED: return "subject_refused";
    case PX_MS_WITHDRAWN: return "application_withdrawn";
    case PX_MS_STOP_ASKED: return "subject_asked_stop";
    default: return "matter_closed";
    }
}

const char *px_matter_allows(px_mstate s, const char *kind)
{
    for (size_t i = 0; i < N(table); i++)
        if (strcmp(table[i].kind, kind) == 0)
            return (table[i].allowed & B(s)) ? NULL : state_rule(s, kind);
    return "not_a_matter_kind";
}

/* The sentence for a state refusal of an entry of kind in matter id. */
static void state_detail(px_mstate s, const char *rule, const char *kind, const char *id,
                         char *out, size_t len)
{
    const char *why;
    if (strcmp(rule, "not_opened") == 0) {
        snprintf(out, len, _("%s names a matter that was never opened"), kind);
        return;
    }
    if (strcmp(rule, "opened_twice") == 0)
        why = _("it is opened already");
    else if (strcmp(rule, "consent_first") == 0)
        why = _("the subject has not accepted flexible enforcement: tell it of its right to "
                "choose and record its answer first (patrol consent)");
    else if (strcmp(rule, "subject_refused") == 0)
        why = _("the subject refused flexible enforcement: the matter can only be terminated "
                "(reason subject_refused)");
    else if (strcmp(rule, "application_withdrawn") == 0)
        why = _("the subject withdrew its application: the matter can only be terminated "
                "(reason subject_withdrew)");
    else if (strcmp(rule, "subject_asked_stop") == 0)
        why = _("the subject asked to stop flexible enforcement: the matter can only be "
                "terminated (reason subject_asked_stop)");
    else if (strcmp(rule, "matter_closed") == 0)
        why = NULL;
    else
        why = _("this is not allowed in its present state");
    if (why)
        snprintf(out, len, _("matter %s: %s"), id, why);
    else
        snprintf(out, len, _("matter %s is %s: only document deliveries and corrections can "
                             "still be recorded"),
                 id, _(px_mstate_label(s)));
}

/* ---- small helpers ---------------------------------------------------- */

int32_t px_beijing_day(int64_t wall_ms)
{
    int64_t ms = wall_ms + 8 * 3600 * 1000LL, day = 86400 * 1000LL;
    int64_t d = ms >= 0 ? ms / day : -((-ms + day - 1) / day);
    return (int32_t)d;
}

void px_object_id(const Patrol__V1__Entry *e, char prefix, char *out, size_t len)
{
    char dev8[9] = "00000000";
    if (e->device.len >= 4)
        px_format_hex(e->device.data, 4, dev8);
    snprintf(out, len, "%c-%s-%llu", prefix, dev8, (unsigned long long)e->seq);
}

static int is_yes(const char *v)
{
    int b = 0;
    return v && !px_parse_bool(v, &b) && b;
}

static int eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* ---- effective entries -------------------------------------------------- */

/* An entry with corrections applied: its own fields, overridden or
 * completed by the corrections that name it. */
#define MAX_EFF_FIELDS 40 /* an entry's fields (at most 32) and what corrections add */
typedef struct eff {
    const Patrol__V1__Entry *e; /* as signed */
    int dev;
    const char *department;
    const char *name[MAX_EFF_FIELDS];
    const char *value[MAX_EFF_FIELDS];
    size_t n;
    int bad_correction; /* for corrections: not applied (see step) */
} eff;

static const char *get(const eff *x, const char *name)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->name[i], name) == 0)
            return x->value[i];
    return NULL;
}

static void set(eff *x, const char *name, const char *value)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->name[i], name) == 0) {
            x->value[i] = value;
            return;
        }
    if (x->n < MAX_EFF_FIELDS) {
        x->name[x->n] = name;
        x->value[x->n] = value;
        x->n++;
    }
}

/* Fields a correction may not change: what the library fills in, and what
 * binds an evidence entry to its file. */
static int uncorrectable(const char *kind, const px_field_rule *f)
{
    if (f->flags & PX_AUTO)
        return 1;
    return strcmp(kind, "evidence.add") == 0 &&
           (eq(f->name, "sha256") || eq(f->name, "size") || eq(f->name, "media_type"));
}

/* Why a correction cannot apply (NULL: it can). Its target is t. */
static const char *correction_problem(const eff *c, const eff *t, char *buf, size_t len)
{
    const char *field = get(c, "field"), *value = get(c, "value"), *why;
    const px_kind_rule *k;
    const px_field_rule *f;

    if (!field)
        return value ? _("a corrected value needs the name of its field") : NULL;
    if (!t) {
        snprintf(buf, len, _("entry %llu is not part of this matter"),
                 (unsigned long long)c->e->corrects);
        return buf;
    }
    if (!(k = px_rules_find(t->e->kind)) || !(f = px_rules_field(k, field))) {
        snprintf(buf, len, _("entry %llu (%s) has no field '%s'"),
                 (unsigned long long)t->e->seq, t->e->kind, field);
        return buf;
    }
    if (uncorrectable(t->e->kind, f) && !(eq(field, "list_item"))) {
        snprintf(buf, len, _("field '%s' of %s cannot be corrected"), field, t->e->kind);
        return buf;
    }
    if (!value)
        return _("a correction of a field needs its correct value");
    if ((why = px_rules_check_value(f, value))) {
        snprintf(buf, len, _("value for '%s': %s"), field, _(why));
        return buf;
    }
    if (eq(field, "list_item") && (!get(c, "list_type") || !get(c, "list_version")))
        return _("a corrected list item needs its list's type and version");
    return NULL;
}

/* ---- findings ----------------------------------------------------------- */

typedef struct replay {
    px_matter *m;
    const px_mref *ref;
    eff *x;
    size_t n;
    int oom;
} replay;

static void find(replay *r, size_t index, const char *rule, int flag_only, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static void find(replay *r, size_t index, const char *rule, int flag_only, const char *fmt, ...)
{
    px_matter *m = r->m;
    px_finding *f;
    va_list ap;

    if (m->nfindings % 16 == 0) {
        px_finding *nf = realloc(m->findings, (m->nfindings + 16) * sizeof *nf);
        if (!nf) {
            r->oom = 1;
            return;
        }
        m->findings = nf;
    }
    f = &m->findings[m->nfindings++];
    f->index = index;
    f->rule = rule;
    f->flag_only = flag_only;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof f->detail, fmt, ap);
    va_end(ap);
}

static void *grow(replay *r, void *arr, size_t n, size_t size)
{
    void *p;
    if (n % 8)
        return arr;
    if (!(p = realloc(arr, (n + 8) * size)))
        r->oom = 1;
    return p;
}

/* ---- checks shared by matter.open and department-level acts ------------ */

/* Domain: excluded by law, unknown or not flexible in the lists, outside
 * the department's duties. Returns 1 after a finding. */
static int check_domain(replay *r, size_t i, const char *domain, const char *department)
{
    const px_mref *ref = r->ref;
    int v;
    if (!domain)
        return 0;
    if (px_domain_excluded(domain)) {
        find(r, i, "domain_excluded", 0,
             _("domain '%s' is excluded from flexible enforcement (national security, public "
               "safety, food and drug safety, production safety, ecology and environment, "
               "pollution control, personal health and safety of life and property)"),
             domain);
        return 1;
    }
    if (ref && ref->domain && (v = ref->domain(ref->ud, domain)) != 1) {
        if (v == 0)
            find(r, i, "unknown_domain", 0, _("unknown domain '%s' (see 'patrol domains')"),
                 domain);
        else
            find(r, i, "domain_excluded", 0,
                 _("domain '%s' is excluded from flexible enforcement by the lists"), domain);
        return 1;
    }
    if (ref && ref->holds && department && (v = ref->holds(ref->ud, department, domain)) != 1) {
        if (v == 0)
            find(r, i, "outside_department", 0,
                 _("department %s has no duties in domain '%s': no authority, no action "
                   "(see 'patrol domains')"),
                 department, domain);
        else
            find(r, i, "unknown_department", 0,
                 _("department %s is not in the reference data: its duties are unknown "
                   "(sync to fetch the reference data)"),
                 department);
        return 1;
    }
    return 0;
}

/* PX_RULE fields an entry lacks. */
static void check_rule_fields(replay *r, size_t i, const eff *x, const px_kind_rule *k)
{
    for (size_t j = 0; j < k->nfields; j++)
        if ((k->fields[j].flags & PX_RULE) && !get(x, k->fields[j].name))
            find(r, i, "missing_field", 0, _("%s needs field '%s' (%s)"), k->kind,
                 k->fields[j].name, _(k->fields[j].help));
}

/* A deadline or due date before the entry's day (Beijing time), unless
 * the entry says it was entered late from a paper record. */
static void check_date(replay *r, size_t i, const eff *x, const char *field)
{
    const char *v = get(x, field);
    int32_t d;
    char today[16];
    if (!v || px_parse_date(v, &d) || is_yes(get(x, "late")))
        return;
    if (d < px_beijing_day(x->e->wall_ms)) {
        px_format_date(px_beijing_day(x->e->wall_ms), today, sizeof today);
        find(r, i, "date_past", 0,
             _("%s %s is before the day it is recorded (%s); a paper record entered late says "
               "so with --late"),
             field, v, today);
    }
}

/* ---- the replay ---------------------------------------------------------- */

static px_mrevisit *revisit_of(px_matter *m, const char *id)
{
    for (size_t i = 0; id && i < m->nrevisits; i++)
        if (strcmp(m->revisits[i].id, id) == 0)
            return &m->revisits[i];
    return NULL;
}

static px_mdoc *doc_of(px_matter *m, const char *id)
{
    for (size_t i = 0; id && i < m->ndocs; i++)
        if (strcmp(m->docs[i].id, id) == 0)
            return &m->docs[i];
    return NULL;
}

/* A revisit outcome (on the spot or later): 征求意见 always; 廉洁自律
 * after a penalty or coercion; 合法性、规范性 after an inspection; and
 * a 告诫 that said "already corrected" contradicted. */
static void check_outcome(replay *r, size_t i, const eff *x, const char *follows)
{
    px_matter *m = r->m;
    const char *outcome = get(x, "outcome");
    if (!outcome)
        return;
    /* (revisit.outcome requires it in the table: missing_field) */
    if (!get(x, "opinion") && strcmp(x->e->kind, "revisit.outcome") != 0)
        find(r, i, "revisit_opinion", 0, "%s",
             _("a revisit asks the subject's opinions and suggestions (--opinion)"));
    if ((eq(follows, "penalty") || eq(follows, "coercion")) && !get(x, "integrity"))
        find(r, i, "revisit_integrity", 0, "%s",
             _("a revisit after a penalty or coercion decision asks about the officers' "
               "integrity (--integrity)"));
    if (eq(follows, "inspection") && !get(x, "legality"))
        find(r, i, "revisit_legality", 0, "%s",
             _("a revisit after an inspection asks whether the supervision was lawful and "
               "regular (--legality)"));
    if (m->warned_corrected && !eq(outcome, "corrected"))
        find(r, i, "warning_contradicted", 1,
             _("the revisit found '%s' although a warning recorded the violation as already "
               "corrected"),
             outcome);
}

static void step_open(replay *r, size_t i, const eff *x)
{
    px_matter *m = r->m;
    const px_mref *ref = r->ref;
    const char *domain = get(x, "domain"), *item = get(x, "list_item"), *subject = get(x, "subject");
    px_mitem it;
    char other[64];

    m->state = PX_MS_OPENED;
    m->open_index = i;
    m->opened_ms = x->e->wall_ms;
    copy(m->id, sizeof m->id, x->e->object);
    copy(m->subject, sizeof m->subject, subject);
    m->subject_dev = x->dev;
    copy(m->domain, sizeof m->domain, domain);
    m->summary = get(x, "summary");
    copy(m->list_item, sizeof m->list_item, item);
    copy(m->list_type, sizeof m->list_type, get(x, "list_type"));
    copy(m->list_version, sizeof m->list_version, get(x, "list_version"));
    m->major = is_yes(get(x, "major"));
    m->technical = is_yes(get(x, "technical"));
    m->on_application = is_yes(get(x, "on_application"));

    check_domain(r, i, domain, x->department);
    if (is_yes(get(x, "emergency")))
        find(r, i, "emergency_excluded", 0, "%s",
             _("a violation that exploits a natural disaster, accident, public-health or "
               "public-security emergency is excluded from flexible enforcement"));
    if (subject && ref && ref->subject && ref->subject(ref->ud, x->dev, subject) != 1)
        find(r, i, "unknown_subject", 0, _("no subject '%s'"), subject);
    if (!item)
        return;
    if (ref && ref->item) {
        if (ref->item(ref->ud, item, &it) != 0) {
            find(r, i, "unknown_list_item", 0,
                 _("no three-list item '%s' in the lists (see 'patrol lists')"), item);
            return;
        }
        if (domain && strcmp(it.domain, domain) != 0) {
            find(r, i, "item_domain", 0, _("list item %s belongs to domain %s, not %s"), item,
                 it.domain, domain);
            return;
        }
        if (strcmp(it.category, "first_violation") == 0 && ref->cited && subject &&
            ref->cited(ref->ud, x->dev, m->id, subject, item, other, sizeof other) == 1)
            find(r, i, "not_first_violation", 0,
                 _("list item %s is for a first violation, and the subject already has matter "
                   "%s citing it"),
                 item, other);
    }
}

static void step_consent(replay *r, size_t i, const eff *x)
{
    px_matter *m = r->m;
    const char *answer = get(x, "answer");
    if (m->state == PX_MS_ACCEPTED && !eq(answer, "stop")) {
        find(r, i, "consent_answered", 0, "%s",
             _("the subject has already accepted; it may ask to stop (patrol consent --stop)"));
        return;
    }
    if (m->state != PX_MS_ACCEPTED && eq(answer, "stop")) {
        find(r, i, "stop_before_accept", 0, "%s",
             _("the subject has not accepted, so there is nothing to stop: record accept or "
               "refuse"));
        return;
    }
    if (answer)
        copy(m->consent, sizeof m->consent, answer);
    if (!answer)
        m->state = PX_MS_TOLD;
    else if (eq(answer, "accept"))
        m->state = PX_MS_ACCEPTED;
    else if (eq(answer, "refuse"))
        m->state = PX_MS_REFUSED;
    else
        m->state = PX_MS_STOP_ASKED;
}

static void step_close(replay *r, size_t i, const eff *x, px_mstate before)
{
    px_matter *m = r->m;
    const char *outcome = get(x, "outcome"), *reason = get(x, "reason");

    copy(m->close_reason, sizeof m->close_reason, reason);
    copy(m->case_no, sizeof m->case_no, get(x, "case_no"));
    if (eq(outcome, "completed")) {
        m->state = PX_MS_COMPLETED;
        if (m->methods == 0)
            find(r, i, "no_method", 0, "%s",
                 _("a matter is completed only after at least one method was applied"));
        for (size_t j = 0; j < m->ndocs; j++)
            if (!m->docs[j].delivered)
                find(r, i, "undelivered_document", 0,
                     _("document %s is not delivered yet: record its delivery first"),
                     m->docs[j].id);
        if (m->major && m->hearings == 0)
            find(r, i, "major_without_hearing", 0, "%s",
                 _("a major matter needs a hearing, symposium or published draft before it is "
                   "completed"));
        if (m->technical && m->experts == 0)
            find(r, i, "technical_without_expert", 0, "%s",
                 _("a matter with a technical question needs an expert opinion before it is "
                   "completed"));
        for (size_t j = 0; j < m->nrevisits; j++) {
            if (!m->revisits[j].outcome[0])
                find(r, i, "revisit_pending", 0,
                     _("revisit %s has no outcome yet: record it before completing the matter"),
                     m->revisits[j].id);
            else if (eq(m->revisits[j].outcome, "not_corrected"))
                find(r, i, "not_corrected", 0,
                     _("revisit %s found the violation not corrected: hand the matter to ordinary "
                       "case procedure (close --escalated) instead of completing it"),
                     m->revisits[j].id);
        }
    } else if (eq(outcome, "terminated")) {
        static const struct {
            px_mstate state;
            const char *reason;
        } must[] = {{PX_MS_REFUSED, "subject_refused"},
                    {PX_MS_WITHDRAWN, "subject_withdrew"},
                    {PX_MS_STOP_ASKED, "subject_asked_stop"}};
        m->state = PX_MS_TERMINATED;
        for (size_t j = 0; j < N(must); j++) {
            if (before == must[j].state && !eq(reason, must[j].reason))
                find(r, i, "reason_mismatch", 0,
                     _("the record says %s: the termination reason is %s"),
                     _(px_mstate_label(before)), must[j].reason);
            if (before != must[j].state && eq(reason, must[j].reason))
                find(r, i, "reason_mismatch", 0,
                     _("termination reason %s, but the record does not say so (it says: %s)"),
                     reason, _(px_mstate_label(before)));
        }
    } else if (eq(outcome, "escalated")) {
        m->state = PX_MS_ESCALATED;
    }
}

static void step_correction(replay *r, size_t i, const eff *x)
{
    char buf[200];
    const eff *t = NULL;
    const char *why;

    if (x->e->n_inspectors == 0)
        find(r, i, "correction_inspector", 0, "%s",
             _("a correction names the inspector who makes it (--inspector)"));
    for (size_t j = 0; j < i; j++)
        if (r->x[j].dev == x->dev && r->x[j].e->seq == x->e->corrects)
            t = &r->x[j];
    if ((why = correction_problem(x, t, buf, sizeof buf)))
        find(r, i, "bad_correction", 0, "%s", why);
}

static void step(replay *r, size_t i, px_mstate *before_out)
{
    px_matter *m = r->m;
    const eff *x = &r->x[i];
    const char *kind = x->e->kind, *rule;
    const px_kind_rule *k = px_rules_find(kind);
    char row[48], detail[256];
    px_mstate before = m->state;

    *before_out = before;
    if (!k)
        return;
    if (strcmp(kind, "matter.close") == 0 && get(x, "outcome"))
        snprintf(row, sizeof row, "matter.close %s", get(x, "outcome"));
    else
        snprintf(row, sizeof row, "%s", kind);
    if ((rule = px_matter_allows(before, row))) {
        if (strcmp(rule, "not_a_matter_kind") == 0) {
            find(r, i, rule, 0, _("%s is not part of a matter"), kind);
            return;
        }
        state_detail(before, rule, kind, m->id, detail, sizeof detail);
        find(r, i, rule, 0, "%s", detail);
        if (before == PX_MS_NEW)
            return; /* nothing to apply it to */
    }
    check_rule_fields(r, i, x, k);

    if (strcmp(kind, "matter.open") == 0) {
        if (before == PX_MS_NEW)
            step_open(r, i, x);
    } else if (strcmp(kind, "consent") == 0) {
        if (!rule)
            step_consent(r, i, x);
    } else if (strcmp(kind, "application.file") == 0) {
        if (m->application)
            find(r, i, "application_twice", 0, "%s",
                 _("the subject's application is recorded already; record a change instead"));
        m->application = 1;
        m->on_application = 1;
    } else if (strcmp(kind, "application.change") == 0 ||
               strcmp(kind, "application.withdraw") == 0) {
        if (!m->on_application && !m->application) {
            /* Nothing to change or withdraw: recorded, changes nothing. */
            find(r, i, "no_application", 0, "%s",
                 _("the matter was not opened on the subject's application: there is nothing to "
                   "change or withdraw"));
        } else if (strcmp(kind, "application.change") == 0) {
            m->application = 2;
        } else {
            m->application = 3;
            if (!rule)
                m->state = PX_MS_WITHDRAWN;
        }
    } else if (strncmp(kind, "action.", 7) == 0) {
        m->methods++;
        if (strcmp(kind, "action.warning") == 0) {
            check_date(r, i, x, "deadline");
            if (is_yes(get(x, "corrected")))
                m->warned_corrected = 1;
        } else if (strcmp(kind, "action.revisit") == 0) {
            px_mrevisit *v;
            check_date(r, i, x, "due");
            check_outcome(r, i, x, get(x, "follows"));
            if ((m->revisits = grow(r, m->revisits, m->nrevisits, sizeof *m->revisits))) {
                v = &m->revisits[m->nrevisits++];
                memset(v, 0, sizeof *v);
                px_object_id(x->e, 'R', v->id, sizeof v->id);
                copy(v->follows, sizeof v->follows, get(x, "follows"));
                copy(v->due, sizeof v->due, get(x, "due"));
                copy(v->outcome, sizeof v->outcome, get(x, "outcome"));
                v->index = v->outcome_index = i;
            } else {
                m->nrevisits = 0;
            }
        }
    } else if (strcmp(kind, "leaflet") == 0) {
        const char *code = get(x, "code");
        m->leaflets++;
        if (code && r->ref && r->ref->leaflet && r->ref->leaflet(r->ref->ud, code) != 1)
            find(r, i, "unknown_leaflet", 0,
                 _("leaflet %s is not in the catalogue (see 'patrol leaflets')"), code);
    } else if (strcmp(kind, "document.issue") == 0) {
        px_mdoc *d;
        if ((m->docs = grow(r, m->docs, m->ndocs, sizeof *m->docs))) {
            d = &m->docs[m->ndocs++];
            memset(d, 0, sizeof *d);
            px_object_id(x->e, 'D', d->id, sizeof d->id);
            d->index = i;
        } else {
            m->ndocs = 0;
        }
    } else if (strcmp(kind, "document.deliver") == 0) {
        px_mdoc *d = doc_of(m, x->e->object);
        if (!d) {
            find(r, i, "unknown_document", 0, _("no document '%s' in this matter"), x->e->object);
        } else if (d->delivered) {
            find(r, i, "document_delivered", 0, _("document %s was delivered already"), d->id);
        } else {
            d->delivered = 1;
            d->delivered_index = i;
        }
    } else if (strcmp(kind, "revisit.outcome") == 0) {
        px_mrevisit *v = revisit_of(m, x->e->object);
        if (!v && r->ref && r->ref->assigned &&
            r->ref->assigned(r->ref->ud, x->e->object, m->id) == 1 &&
            (m->revisits = grow(r, m->revisits, m->nrevisits, sizeof *m->revisits))) {
            /* Assigned by the server: what it follows is not known here. */
            v = &m->revisits[m->nrevisits++];
            memset(v, 0, sizeof *v);
            copy(v->id, sizeof v->id, x->e->object);
            v->index = i;
        }
        if (!v) {
            find(r, i, "unknown_revisit", 0, _("no revisit '%s' in this matter"), x->e->object);
        } else if (v->outcome[0]) {
            find(r, i, "revisit_done", 0,
                 _("revisit %s already has its outcome (%s); record a correction to change it"),
                 v->id, v->outcome);
        } else {
            check_outcome(r, i, x, v->follows);
            copy(v->outcome, sizeof v->outcome, get(x, "outcome"));
            v->outcome_index = i;
        }
    } else if (strcmp(kind, "hearing") == 0) {
        m->hearings++;
    } else if (strcmp(kind, "expert.opinion") == 0) {
        m->experts++;
    } else if (strcmp(kind, "matter.close") == 0) {
        step_close(r, i, x, before);
    } else if (strcmp(kind, "correction") == 0) {
        step_correction(r, i, x);
    }
}

void px_matter_init(px_matter *m)
{
    memset(m, 0, sizeof *m);
    m->state = PX_MS_NEW;
}

void px_matter_free(px_matter *m)
{
    if (!m)
        return;
    free(m->revisits);
    free(m->docs);
    free(m->findings);
    px_matter_init(m);
}

/* The revisit and document ids of a matter are made by the entries that
 * create them; effective due dates and outcomes come from the replay. */
int px_matter_replay(px_matter *m, const px_mentry *entries, size_t n, const px_mref *ref)
{
    replay r = {m, ref, NULL, n, 0};
    px_mstate before;

    if (n && !(r.x = calloc(n, sizeof *r.x)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        eff *x = &r.x[i];
        const Patrol__V1__Entry *e = entries[i].e;
        x->e = e;
        x->dev = entries[i].dev;
        x->department = entries[i].department;
        for (size_t j = 0; j < e->n_fields && x->n < MAX_EFF_FIELDS; j++)
            set(x, e->fields[j]->name, e->fields[j]->value);
    }
    /* Corrections first: each applies to the entry it names, in order, so
     * a later correction of the same field wins. One that cannot apply is
     * left out (and its step says why). */
    for (size_t i = 0; i < n; i++) {
        eff *c = &r.x[i], *t = NULL;
        char buf[200];
        const char *field;
        if (strcmp(c->e->kind, "correction") != 0 || !(field = get(c, "field")))
            continue;
        for (size_t j = 0; j < i; j++)
            if (r.x[j].dev == c->dev && r.x[j].e->seq == c->e->corrects)
                t = &r.x[j];
        if (correction_problem(c, t, buf, sizeof buf)) {
            c->bad_correction = 1;
            continue;
        }
        set(t, field, get(c, "value"));
        if (eq(field, "list_item")) {
            set(t, "list_type", get(c, "list_type"));
            set(t, "list_version", get(c, "list_version"));
        }
    }
    for (size_t i = 0; i < n && !r.oom; i++)
        step(&r, i, &before);
    free(r.x);
    return r.oom ? -1 : 0;
}

const px_finding *px_matter_new_refusal(const px_matter *without, const px_matter *with)
{
    for (size_t i = 0; i < with->nfindings; i++) {
        const px_finding *f = &with->findings[i];
        int old = 0;
        if (f->flag_only)
            continue;
        for (size_t j = 0; j < without->nfindings && !old; j++)
            old = without->findings[j].index == f->index &&
                  strcmp(without->findings[j].rule, f->rule) == 0;
        if (!old)
            return f;
    }
    return NULL;
}

/* ---- department-level acts -------------------------------------------- */

int px_act_check(const px_mentry *me, const px_mref *ref, px_finding *out)
{
    px_matter m;
    replay r;
    eff x;
    const Patrol__V1__Entry *e = me->e;
    const px_kind_rule *k = px_rules_find(e->kind);
    const char *depts, *subjects, *s;
    char code[PX_IDENT_MAX + 1];
    size_t ndepts = 0;
    int own = 0, found;

    px_matter_init(&m);
    memset(&r, 0, sizeof r);
    memset(&x, 0, sizeof x);
    r.m = &m;
    r.ref = ref;
    x.e = e;
    x.dev = me->dev;
    x.department = me->department;
    for (size_t j = 0; j < e->n_fields && x.n < MAX_EFF_FIELDS; j++)
        set(&x, e->fields[j]->name, e->fields[j]->value);

    if (!k) {
        find(&r, 0, "not_an_act", 0, _("%s is not a department-level act"), e->kind);
        goto out;
    }
    check_rule_fields(&r, 0, &x, k);
    if (k->scope != PX_SCOPE_ACT)
        goto out; /* an entry outside its matter's record: its own fields */
    if (m.nfindings || check_domain(&r, 0, get(&x, "domain"), me->department))
        goto out;
    for (depts = get(&x, "departments"), s = depts; s && *s;) {
        size_t len = strcspn(s, ",");
        snprintf(code, sizeof code, "%.*s", (int)(len < sizeof code ? len : sizeof code - 1), s);
        ndepts++;
        if (eq(code, me->department))
            own = 1;
        if (ref && ref->department_known && ref->department_known(ref->ud, code) != 1) {
            find(&r, 0, "unknown_department", 0,
                 _("department %s is not in the reference data (see 'patrol departments')"), code);
            goto out;
        }
        s += len + (s[len] == ',');
    }
    if (depts && me->department && !own) {
        find(&r, 0, "own_department_missing", 0,
             _("the departments taking part must include this terminal's department %s"),
             me->department);
        goto out;
    }
    if (eq(get(&x, "mode"), "joint") && ndepts < 2) {
        find(&r, 0, "joint_needs_departments", 0, "%s",
             _("a joint interview is held by two or more departments"));
        goto out;
    }
    for (subjects = get(&x, "subjects"), s = subjects; s && *s;) {
        size_t len = strcspn(s, ",");
        snprintf(code, sizeof code, "%.*s", (int)(len < sizeof code ? len : sizeof code - 1), s);
        if (ref && ref->subject && ref->subject(ref->ud, me->dev, code) != 1) {
            find(&r, 0, "unknown_subject", 0, _("no subject '%s'"), code);
            goto out;
        }
        s += len + (s[len] == ',');
    }
out:
    found = m.nfindings > 0;
    if (found && out)
        *out = m.findings[0];
    px_matter_free(&m);
    return found;
}
