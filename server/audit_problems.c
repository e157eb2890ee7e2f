/* audit_problems.c -- `patrold --data DIR audit problems [--json]
 * [--days N] [--open-days M] [--silent-days S] [--department CODE]
 * [--today YYYY-MM-DD]`: what a supervisor should act on, each with the
 * matter, the device and the inspectors, from the matter index
 * (docs/server.md "Audit: index, timeline, problems"). Read-only.
 *
 * Stable codes (--json "code"):
 *   revisit_overdue          a revisit due before today (Beijing) without outcome
 *   document_undelivered     a document issued more than N days ago, not delivered
 *   major_without_hearing    a major matter, open or completed, with no hearing
 *   matter_open_long         a matter open more than M days
 *   repeated_first_violation a first-violation item cited again for the same subject
 *   device_silent            an enrolled device that has not synced for S days
 *   evidence_missing         an evidence file the server never received whole
 *   rule_flag                an entry that breaks a rule of the record
 * Days are Beijing calendar days; today is the Beijing date now (or
 * --today). The exit status is 0 whether or not problems are found. */
#include "audit.h"
#include "cmdline.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "matter.h"
#include "rules.h"
#include "validate.h"

#define CMD "problems"
#define DAY_MS 86400000LL

typedef struct minfo {
    char id[32];
    char department[64];
    int64_t device;
    char inspectors[256];
} minfo;

typedef struct problem {
    const char *code;
    char matter[32];
    int64_t device;
    char object[72];
    long days; /* -1: none */
    char detail[400]; /* English, for --json */
    char text[600];   /* the same in the reader's language */
    char inspectors[256]; /* the matter's, comma-separated */
} problem;

typedef struct problems {
    st_backend *db;
    const char *department;
    int32_t today;
    int64_t doc_days, open_days, silent_days;
    minfo *ms;
    size_t nms, capms;
    problem *ps;
    size_t nps, capps;
    st_device *devs;
    size_t ndevs, capdevs;
    int oom;
    Patrol__V1__Reference *ref;
} problems;

static problem *add(problems *p, const char *code, const char *matter, int64_t device)
{
    problem *x;
    if (p->nps == p->capps) {
        size_t cap = p->capps ? 2 * p->capps : 32;
        problem *n = realloc(p->ps, cap * sizeof *n);
        if (!n) {
            p->oom = 1;
            return NULL;
        }
        p->ps = n;
        p->capps = cap;
    }
    x = &p->ps[p->nps++];
    memset(x, 0, sizeof *x);
    x->code = code;
    snprintf(x->matter, sizeof x->matter, "%s", matter ? matter : "");
    x->device = device;
    x->days = -1;
    return x;
}

/* A problem's detail: fmt (N_() marked) in English for --json, and
 * translated for the text. The arguments are the same in both (codes,
 * ids, numbers). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void say(problem *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->detail, sizeof x->detail, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vsnprintf(x->text, sizeof x->text, _(fmt), ap);
    va_end(ap);
}

static const minfo *matter_info(const problems *p, const char *id)
{
    for (size_t i = 0; i < p->nms; i++)
        if (strcmp(p->ms[i].id, id) == 0)
            return &p->ms[i];
    return NULL;
}

static const st_device *device_of(const problems *p, int64_t id)
{
    for (size_t i = 0; i < p->ndevs; i++)
        if (p->devs[i].id == id)
            return &p->devs[i];
    return NULL;
}

static int in_department(const problems *p, const char *dept)
{
    return !p->department || strcmp(p->department, dept) == 0;
}

static int32_t day_of(int64_t ms)
{
    return px_beijing_day(ms);
}

/* ---- the matters ----------------------------------------------------------- */

static int matter_cb(void *ud, const st_imatter *m)
{
    problems *p = ud;
    minfo *mi;
    px_mstate st = PX_MS_NEW;
    int closed;
    problem *x;

    if (p->nms == p->capms) {
        size_t cap = p->capms ? 2 * p->capms : 64;
        minfo *n = realloc(p->ms, cap * sizeof *n);
        if (!n) {
            p->oom = 1;
            return 1;
        }
        p->ms = n;
        p->capms = cap;
    }
    mi = &p->ms[p->nms++];
    snprintf(mi->id, sizeof mi->id, "%s", m->id);
    snprintf(mi->department, sizeof mi->department, "%s", m->department);
    mi->device = m->device;
    snprintf(mi->inspectors, sizeof mi->inspectors, "%s", m->inspectors);
    if (!in_department(p, m->department))
        return 0;
    px_mstate_parse(m->state, &st);
    closed = px_mstate_closed(st);

    for (size_t i = 0; i < m->nrevisits; i++) {
        const st_irevisit *r = &m->revisits[i];
        int32_t due;
        if (r->outcome[0] || !r->due[0] || px_parse_date(r->due, &due) || due >= p->today)
            continue;
        if ((x = add(p, "revisit_overdue", m->id, r->device))) {
            snprintf(x->object, sizeof x->object, "%s", r->id);
            x->days = (long)(p->today - due);
            /* TRANSLATORS: revisit id, its due date, days overdue. */
            say(x, N_("revisit %s was due %s, %ld day(s) ago, and has no outcome"), r->id, r->due,
                x->days);
        }
    }
    for (size_t i = 0; i < m->ndocs; i++) {
        const st_idoc *d = &m->docs[i];
        long days = (long)(p->today - day_of(d->issued_ms));
        if (d->delivered || days <= p->doc_days)
            continue;
        if ((x = add(p, "document_undelivered", m->id, d->device))) {
            char b[16];
            px_format_date(day_of(d->issued_ms), b, sizeof b);
            snprintf(x->object, sizeof x->object, "%s", d->id);
            x->days = days;
            /* TRANSLATORS: document id, the date it was issued, days since. */
            say(x, N_("document %s issued %s is not delivered after %ld day(s)"), d->id, b, days);
        }
    }
    if (m->major && m->hearings == 0 && st != PX_MS_TERMINATED && st != PX_MS_ESCALATED &&
        st != PX_MS_NEW && (x = add(p, "major_without_hearing", m->id, m->device))) {
        /* TRANSLATORS: %s is the matter's state (a code). */
        say(x, N_("major matter (%s) without a hearing, symposium or published draft"), m->state);
    }
    if (!closed && st != PX_MS_NEW && m->opened_ms > 0) {
        long days = (long)(p->today - day_of(m->opened_ms));
        if (days > p->open_days && (x = add(p, "matter_open_long", m->id, m->device))) {
            char b[16];
            px_format_date(day_of(m->opened_ms), b, sizeof b);
            x->days = days;
            /* TRANSLATORS: the date it was opened, days open, its state (a code). */
            say(x, N_("open since %s, %ld day(s) (%s)"), b, days, m->state);
        }
    }
    for (size_t i = 0; i < m->nevidence; i++) {
        const st_ievidence *v = &m->evidence[i];
        if (v->complete)
            continue;
        if ((x = add(p, "evidence_missing", m->id, v->device))) {
            snprintf(x->object, sizeof x->object, "%s", v->sha256);
            const char *label = px_choice_label(v->kind);
            snprintf(x->detail, sizeof x->detail,
                     "%s file of %llu bytes (entry #%llu) never received whole by the server",
                     v->kind, (unsigned long long)v->size, (unsigned long long)v->seq);
            /* TRANSLATORS: kind of evidence (photo, audio ...), its size,
             * the number of the entry that added it. */
            snprintf(x->text, sizeof x->text,
                     _("%s file of %llu bytes (entry #%llu) never received whole by the server"),
                     label ? _(label) : v->kind, (unsigned long long)v->size,
                     (unsigned long long)v->seq);
        }
    }
    return p->oom;
}

/* ---- citations: a first violation cited again ------------------------------- */

typedef struct cite {
    char key[65], item[64], matter[32];
    int64_t device;
} cite;

typedef struct cites {
    cite *c;
    size_t n, cap;
    int oom;
} cites;

static int cite_cb(void *ud, uint64_t id, const char *key, const char *item, const char *matter)
{
    cites *cs = ud;
    (void)id;
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? 2 * cs->cap : 64;
        cite *n = realloc(cs->c, cap * sizeof *n);
        if (!n) {
            cs->oom = 1;
            return 1;
        }
        cs->c = n;
        cs->cap = cap;
    }
    snprintf(cs->c[cs->n].key, sizeof cs->c[0].key, "%s", key);
    snprintf(cs->c[cs->n].item, sizeof cs->c[0].item, "%s", item);
    snprintf(cs->c[cs->n].matter, sizeof cs->c[0].matter, "%s", matter);
    cs->n++;
    return 0;
}

static int first_violation_item(const problems *p, const char *code)
{
    for (size_t i = 0; p->ref && i < p->ref->n_list_items; i++)
        if (strcmp(p->ref->list_items[i]->code, code) == 0)
            return strcmp(p->ref->list_items[i]->category, "first_violation") == 0;
    return 0;
}

static int repeated_citations(problems *p)
{
    cites cs = {NULL, 0, 0, 0};
    int rc = ST_OK;
    if ((rc = p->db->ops->citations_since(p->db, 0, (size_t)-1 / 2, cite_cb, &cs)) != ST_OK)
        goto exit;
    if (cs.oom) {
        p->oom = 1;
        goto exit;
    }
    /* In the order the server learnt them: each later matter of a (subject,
     * item) pair repeats the first. */
    for (size_t i = 0; i < cs.n; i++) {
        const minfo *mi;
        problem *x;
        size_t first = i;
        if (!first_violation_item(p, cs.c[i].item))
            continue;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cs.c[j].key, cs.c[i].key) == 0 && strcmp(cs.c[j].item, cs.c[i].item) == 0) {
                first = j;
                break;
            }
        if (first == i || !(mi = matter_info(p, cs.c[i].matter)) ||
            !in_department(p, mi->department))
            continue;
        if ((x = add(p, "repeated_first_violation", mi->id, mi->device))) {
            snprintf(x->object, sizeof x->object, "%s", cs.c[i].item);
            /* TRANSLATORS: a list item (清单 code) for a first violation
             * (首违不罚), the earlier matter it was cited in. */
            say(x, N_("first-violation item %s cited for the same subject as in %s, earlier"),
                cs.c[i].item, cs.c[first].matter);
        }
    }
exit:
    free(cs.c);
    return rc;
}

/* ---- devices and flags ---------------------------------------------------------- */

static int device_cb(void *ud, const st_device *d)
{
    problems *p = ud;
    if (p->ndevs == p->capdevs) {
        size_t cap = p->capdevs ? 2 * p->capdevs : 16;
        st_device *n = realloc(p->devs, cap * sizeof *n);
        if (!n) {
            p->oom = 1;
            return 1;
        }
        p->devs = n;
        p->capdevs = cap;
    }
    p->devs[p->ndevs++] = *d;
    return 0;
}

static void silent_devices(problems *p)
{
    for (size_t i = 0; i < p->ndevs; i++) {
        const st_device *d = &p->devs[i];
        int64_t last = d->last_sync_ms ? d->last_sync_ms : d->enrolled_ms;
        long days;
        problem *x;
        if (d->status != DEV_ACTIVE || !in_department(p, d->department) || last <= 0)
            continue;
        days = (long)(p->today - day_of(last));
        if (days < p->silent_days || !(x = add(p, "device_silent", "", d->id)))
            continue;
        x->days = days;
        if (d->last_sync_ms)
            say(x, N_("no sync for %ld day(s)"), days);
        else
            say(x, N_("no sync for %ld day(s) (never synced since enrolment)"), days);
    }
}

static int flag_cb(void *ud, const st_flag_row *r)
{
    problems *p = ud;
    const minfo *mi = r->f.matter[0] ? matter_info(p, r->f.matter) : NULL;
    const st_device *d = device_of(p, r->f.device);
    problem *x;
    if (!in_department(p, mi ? mi->department : d ? d->department : ""))
        return 0;
    if (!(x = add(p, "rule_flag", r->f.matter, r->f.device)))
        return 1;
    snprintf(x->object, sizeof x->object, "%s", r->f.rule);
    snprintf(x->detail, sizeof x->detail, "entry #%llu (%s) %s: %s", (unsigned long long)r->f.seq,
             r->kind, r->f.rule, r->f.detail);
    /* The rule's sentence is stored in English (a msgid of proto/matter.c
     * when it names nothing): shown translated. */
    /* TRANSLATORS: a rule flag: entry number (kind code) rule code: what
     * the rule says. */
    snprintf(x->text, sizeof x->text, _("entry #%llu (%s) %s: %s"), (unsigned long long)r->f.seq,
             r->kind, r->f.rule, r->f.detail[0] ? _(r->f.detail) : "");
    return 0;
}

/* ---- output ------------------------------------------------------------------------ */

/* The next id of a comma-separated list at *s into out; 0 at the end. */
static int next_id(const char **s, char *out, size_t len)
{
    size_t k;
    if (!**s)
        return 0;
    k = strcspn(*s, ",");
    snprintf(out, len, "%.*s", (int)k, *s);
    *s += k + ((*s)[k] == ',');
    return 1;
}

static const char *device_name(const problems *p, int64_t id)
{
    const st_device *d = device_of(p, id);
    return d ? d->name : "?";
}

static int print_json(problems *p)
{
    cJSON *arr = cJSON_CreateArray();
    char *s;
    if (!arr)
        return -1;
    for (size_t i = 0; i < p->nps; i++) {
        const problem *x = &p->ps[i];
        const minfo *mi = x->matter[0] ? matter_info(p, x->matter) : NULL;
        const st_device *d = device_of(p, x->device);
        const char *ids = mi ? mi->inspectors : "";
        cJSON *o = cJSON_CreateObject(), *ins;
        char id[64];
        cJSON_AddStringToObject(o, "code", x->code);
        if (x->matter[0])
            cJSON_AddStringToObject(o, "matter", x->matter);
        else
            cJSON_AddNullToObject(o, "matter");
        cJSON_AddStringToObject(o, "department", mi ? mi->department : d ? d->department : "");
        cJSON_AddNumberToObject(o, "device", (double)x->device);
        cJSON_AddStringToObject(o, "device_name", device_name(p, x->device));
        ins = cJSON_AddArrayToObject(o, "inspectors");
        while (next_id(&ids, id, sizeof id)) {
            st_iinspector in;
            cJSON *io = cJSON_CreateObject();
            cJSON_AddStringToObject(io, "id", id);
            if (p->db->ops->inspector_get(p->db, mi->device, id, &in) == ST_OK) {
                cJSON_AddStringToObject(io, "name", in.name);
                cJSON_AddStringToObject(io, "cert_no", in.cert_no);
            } else {
                cJSON_AddNullToObject(io, "name");
                cJSON_AddNullToObject(io, "cert_no");
            }
            cJSON_AddItemToArray(ins, io);
        }
        if (x->object[0])
            cJSON_AddStringToObject(o, "object", x->object);
        else
            cJSON_AddNullToObject(o, "object");
        if (x->days >= 0)
            cJSON_AddNumberToObject(o, "days", (double)x->days);
        else
            cJSON_AddNullToObject(o, "days");
        cJSON_AddStringToObject(o, "detail", x->detail);
        cJSON_AddItemToArray(arr, o);
    }
    s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!s)
        return -1;
    cl_json_out(s);
    free(s);
    return 0;
}

/* What each code means, in a few words, for the text. */
static const struct {
    const char *code, *title;
} titles[] = {
    {"revisit_overdue", N_("revisit overdue")},
    {"document_undelivered", N_("document not delivered")},
    {"major_without_hearing", N_("major matter without a hearing")},
    {"matter_open_long", N_("matter open too long")},
    {"repeated_first_violation", N_("first violation cited again")},
    {"device_silent", N_("device silent")},
    {"evidence_missing", N_("evidence missing")},
    {"rule_flag", N_("rule flag")},
};

static const char *title_of(const char *code)
{
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (strcmp(titles[i].code, code) == 0)
            return _(titles[i].title);
    return "";
}

static void print_text(problems *p)
{
    char today[16];
    px_format_date(p->today, today, sizeof today);
    if (p->department)
        /* TRANSLATORS: today's date (Beijing), a department code, how many. */
        printf(_("Problems to act on, %s (Beijing), department %s: %zu\n"), today, p->department,
               p->nps);
    else
        /* TRANSLATORS: today's date (Beijing), how many problems. */
        printf(_("Problems to act on, %s (Beijing): %zu\n"), today, p->nps);
    for (size_t i = 0; i < p->nps; i++) {
        const problem *x = &p->ps[i];
        const minfo *mi = x->matter[0] ? matter_info(p, x->matter) : NULL;
        const char *ids = mi ? mi->inspectors : "";
        char id[64];
        int k = 0;
        /* TRANSLATORS: a problem: its code (kept for scripts), what the code
         * means, the matter, the device's name (device number). */
        putchar('\n');
        printf(_("%-24s %s  %s  %s (device %lld)\n"), x->code, title_of(x->code),
               x->matter[0] ? x->matter : "-", device_name(p, x->device), (long long)x->device);
        printf("    %s\n", x->text);
        while (next_id(&ids, id, sizeof id)) {
            st_iinspector in;
            if (!k++)
                printf("    %s", _("inspectors "));
            fputs(k > 1 ? _(", ") : "", stdout);
            if (p->db->ops->inspector_get(p->db, mi->device, id, &in) == ST_OK)
                printf(_("%s (%s, cert. %s)"), in.name, id, in.cert_no);
            else
                printf("%s", id);
        }
        if (k)
            printf("\n");
    }
}

static const char *parse_days(const char *opt, const char *v, int64_t *out)
{
    uint64_t n;
    const char *why = px_parse_u64(v, 0, 36500, &n);
    (void)opt;
    if (!why)
        *out = (int64_t)n;
    return why;
}

int audit_problems(const char *data, int argc, char **argv)
{
    problems p;
    const char *why;
    int json = 0, rc = 1;
    uint64_t version;
    uint8_t *blob = NULL;
    size_t len;
    struct timespec now;

    memset(&p, 0, sizeof p);
    p.doc_days = 3;
    p.open_days = 30;
    p.silent_days = 7;
    clock_gettime(CLOCK_REALTIME, &now);
    p.today = px_beijing_day((int64_t)now.tv_sec * 1000);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if (!v && (strcmp(a, "--days") == 0 || strcmp(a, "--open-days") == 0 ||
                   strcmp(a, "--silent-days") == 0 || strcmp(a, "--department") == 0 ||
                   strcmp(a, "--today") == 0))
            return audit_usage_error(CMD, _("%s needs a value"), a);
        if (strcmp(a, "--days") == 0) {
            if ((why = parse_days(a, v, &p.doc_days)))
                return audit_usage_error(CMD, _("--days '%s': %s (days, 0 to 36500)"), v, _(why));
        } else if (strcmp(a, "--open-days") == 0) {
            if ((why = parse_days(a, v, &p.open_days)))
                return audit_usage_error(CMD, _("--open-days '%s': %s (days, 0 to 36500)"), v, _(why));
        } else if (strcmp(a, "--silent-days") == 0) {
            if ((why = parse_days(a, v, &p.silent_days)))
                return audit_usage_error(CMD, _("--silent-days '%s': %s (days, 0 to 36500)"), v, _(why));
        } else if (strcmp(a, "--department") == 0) {
            if ((why = px_check_ident(v)))
                return audit_usage_error(CMD, "--department '%s': %s", v, _(why));
            p.department = v;
        } else if (strcmp(a, "--today") == 0) {
            if ((why = px_parse_date(v, &p.today)))
                return audit_usage_error(CMD, _("--today '%s': %s (YYYY-MM-DD, Beijing date)"), v,
                                         _(why));
        } else {
            return audit_usage_error(CMD, _("unexpected argument '%s'"), a);
        }
        i++;
    }
    if (!(p.db = audit_open(data, CMD)))
        return 1;
    if (p.db->ops->reference_latest(p.db, &version, &blob, &len) == ST_OK) {
        p.ref = patrol__v1__reference__unpack(NULL, len, blob);
        free(blob);
    }
    if (p.db->ops->device_list(p.db, device_cb, &p) != ST_OK ||
        p.db->ops->matters_each(p.db, NULL, matter_cb, &p) != ST_OK ||
        repeated_citations(&p) != ST_OK)
        goto storage;
    if (p.oom)
        goto oom;
    silent_devices(&p);
    if (p.db->ops->flags_list(p.db, 0, NULL, flag_cb, &p) != ST_OK)
        goto storage;
    if (p.oom)
        goto oom;
    if (json) {
        if (print_json(&p) != 0)
            goto oom;
    } else {
        print_text(&p);
    }
    rc = 0;
    goto exit;
storage:
    audit_fail(CMD, "%s", p.db->ops->errmsg(p.db));
    goto exit;
oom:
    audit_fail(CMD, "%s", _("out of memory"));
exit:
    if (p.ref)
        patrol__v1__reference__free_unpacked(p.ref, NULL);
    free(p.ms);
    free(p.ps);
    free(p.devs);
    p.db->ops->close(p.db);
    return rc;
}
