/* reference.c -- the reference data's rules, shared by patrold's import
 * and the terminal's sync (see reference.h). */
#include "reference.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "rules.h"
#include "validate.h"

typedef struct key {
    const char *s;
    size_t i;
} key;

static int key_cmp(const void *a, const void *b)
{
    const key *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Sort k (n keys) by string, then index. Returns the index of the first
 * element (in the original order) whose string appeared before, and in
 * *first that earlier index; PX_REF_NO_SUB if every string is unique. */
static size_t first_dup(key *k, size_t n, size_t *first)
{
    size_t dup = PX_REF_NO_SUB, start = 0;
    if (n < 2)
        return PX_REF_NO_SUB; /* nothing to repeat (and k may be NULL) */
    qsort(k, n, sizeof *k, key_cmp);
    for (size_t j = 1; j < n; j++) {
        if (strcmp(k[j].s, k[start].s) != 0) {
            start = j;
            continue;
        }
        if (dup == PX_REF_NO_SUB || k[j].i < dup) {
            dup = k[j].i;
            *first = k[start].i;
        }
    }
    return dup;
}

static int fault(px_ref_fault *f, const char *part, size_t index, const char *field, size_t sub,
                 const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

static int fault(px_ref_fault *f, const char *part, size_t index, const char *field, size_t sub,
                 const char *fmt, ...)
{
    va_list ap;
    f->part = part;
    f->index = index;
    f->field = field;
    f->sub = sub;
    f->first = PX_REF_NO_SUB;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* A px_check_* result as a fault (the validators' English, translated). */
#define CHECK(expr, part, index, field, sub)                                                       \
    do {                                                                                           \
        const char *why_ = (expr);                                                                 \
        if (why_)                                                                                  \
            return fault(f, part, index, field, sub, "%s", _(why_));                               \
    } while (0)

static const char *optional_line(const char *s, size_t max)
{
    return s[0] ? px_check_line(s, max) : NULL;
}

/* Index of the domain called code in the sorted keys, or PX_REF_NO_SUB. */
static size_t find_domain(const key *dom, size_t n, const char *code)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(dom[mid].s, code);
        if (c == 0)
            return dom[mid].i;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return PX_REF_NO_SUB;
}

/* Fill k from n elements of a repeated field and report a duplicate. */
#define DUPS(part, arr, n, member, field)                                                          \
    do {                                                                                           \
        size_t first_ = 0, dup_;                                                                   \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                      \
            k[i_].s = (arr)[i_]->member;                                                           \
            k[i_].i = i_;                                                                          \
        }                                                                                          \
        if ((dup_ = first_dup(k, (n), &first_)) != PX_REF_NO_SUB) {                                \
            fault(f, part, dup_, field, PX_REF_NO_SUB, _("'%s' appears twice"),                    \
                  (arr)[dup_]->member);                                                            \
            f->first = first_;                                                                     \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static int check(const Patrol__V1__Reference *ref, int import, px_ref_fault *f, key *k, key *dom)
{
    size_t i, j;

    if (ref->label[0])
        CHECK(px_check_line(ref->label, PX_IDENT_MAX), "", 0, "label", PX_REF_NO_SUB);
    if (ref->note[0])
        CHECK(px_check_text(ref->note, PX_TEXT_MAX), "", 0, "note", PX_REF_NO_SUB);

    for (i = 0; i < ref->n_domains; i++) {
        const Patrol__V1__Domain *d = ref->domains[i];
        CHECK(px_check_ident(d->code), "domains", i, "code", PX_REF_NO_SUB);
        CHECK(px_check_line(d->name, PX_LINE_MAX), "domains", i, "name", PX_REF_NO_SUB);
        if (d->flexible && px_domain_excluded(d->code))
            return fault(f, "domains", i, "flexible", PX_REF_NO_SUB,
                         _("domain '%s' is excluded from flexible enforcement by law and cannot "
                           "be marked flexible"),
                         d->code);
    }
    DUPS("domains", ref->domains, ref->n_domains, code, "code");
    for (i = 0; i < ref->n_domains; i++) {
        dom[i].s = ref->domains[i]->code;
        dom[i].i = i;
    }
    if (ref->n_domains)
        qsort(dom, ref->n_domains, sizeof *dom, key_cmp);

    for (i = 0; i < ref->n_departments; i++) {
        const Patrol__V1__Department *d = ref->departments[i];
        size_t first = 0, dup;
        CHECK(px_check_ident(d->code), "departments", i, "code", PX_REF_NO_SUB);
        CHECK(px_check_line(d->name, PX_LINE_MAX), "departments", i, "name", PX_REF_NO_SUB);
        if (import && d->n_domains == 0)
            return fault(f, "departments", i, "domains", PX_REF_NO_SUB,
                         _("department '%s' holds no domain"), d->code);
        if (d->n_domains > ref->n_domains)
            return fault(f, "departments", i, "domains", PX_REF_NO_SUB,
                         _("names %zu domains, more than the %zu there are"), d->n_domains,
                         ref->n_domains);
        for (j = 0; j < d->n_domains; j++) {
            CHECK(px_check_ident(d->domains[j]), "departments", i, "domains", j);
            if (find_domain(dom, ref->n_domains, d->domains[j]) == PX_REF_NO_SUB)
                return fault(f, "departments", i, "domains", j, _("unknown domain '%s'"),
                             d->domains[j]);
            k[j].s = d->domains[j];
            k[j].i = j;
        }
        if ((dup = first_dup(k, d->n_domains, &first)) != PX_REF_NO_SUB)
            return fault(f, "departments", i, "domains", dup,
                         _("domain '%s' is named twice (also domains[%zu])"), d->domains[dup],
                         first);
    }
    DUPS("departments", ref->departments, ref->n_departments, code, "code");

    for (i = 0; i < ref->n_list_items; i++) {
        const Patrol__V1__ListItem *it = ref->list_items[i];
        size_t d;
        if (strcmp(it->list_type, "no_penalty") && strcmp(it->list_type, "lighter") &&
            strcmp(it->list_type, "reduced"))
            return fault(f, "list_items", i, "list_type", PX_REF_NO_SUB,
                         _("list type must be no_penalty, lighter or reduced"));
        CHECK(px_check_line(it->list_version, PX_IDENT_MAX), "list_items", i, "list_version",
              PX_REF_NO_SUB);
        CHECK(import ? px_check_line(it->list_name, PX_LINE_MAX)
                     : optional_line(it->list_name, PX_LINE_MAX),
              "list_items", i, "list_name", PX_REF_NO_SUB);
        CHECK(import ? px_check_line(it->issuer, PX_LINE_MAX)
                     : optional_line(it->issuer, PX_LINE_MAX),
              "list_items", i, "issuer", PX_REF_NO_SUB);
        CHECK(px_check_ident(it->code), "list_items", i, "code", PX_REF_NO_SUB);
        CHECK(px_check_ident(it->domain), "list_items", i, "domain", PX_REF_NO_SUB);
        if ((d = find_domain(dom, ref->n_domains, it->domain)) == PX_REF_NO_SUB)
            return fault(f, "list_items", i, "domain", PX_REF_NO_SUB, _("unknown domain '%s'"),
                         it->domain);
        if (!ref->domains[d]->flexible)
            return fault(f, "list_items", i, "domain", PX_REF_NO_SUB,
                         _("domain '%s' is not open to flexible enforcement"), it->domain);
        CHECK(px_check_line(it->name, PX_LINE_MAX), "list_items", i, "name", PX_REF_NO_SUB);
        CHECK(px_check_line(it->basis, PX_LINE_MAX), "list_items", i, "basis", PX_REF_NO_SUB);
        if (import || it->category[0])
            CHECK(px_check_ident(it->category), "list_items", i, "category", PX_REF_NO_SUB);
        if (it->n_conditions > PX_CONDITIONS_MAX)
            return fault(f, "list_items", i, "conditions", PX_REF_NO_SUB,
                         _("%zu conditions, at most %d"), it->n_conditions, PX_CONDITIONS_MAX);
        for (j = 0; j < it->n_conditions; j++)
            CHECK(px_check_line(it->conditions[j], PX_LINE_MAX), "list_items", i, "conditions", j);
    }
    DUPS("list_items", ref->list_items, ref->n_list_items, code, "code");

    for (i = 0; i < ref->n_leaflets; i++) {
        CHECK(px_check_ident(ref->leaflets[i]->code), "leaflets", i, "code", PX_REF_NO_SUB);
        CHECK(px_check_line(ref->leaflets[i]->title, PX_LINE_MAX), "leaflets", i, "title",
              PX_REF_NO_SUB);
    }
    DUPS("leaflets", ref->leaflets, ref->n_leaflets, code, "code");

    for (i = 0; i < ref->n_roster; i++) {
        const Patrol__V1__RosterInspector *r = ref->roster[i];
        CHECK(px_check_ident(r->id), "roster", i, "id", PX_REF_NO_SUB);
        CHECK(px_check_line(r->name, PX_LINE_MAX), "roster", i, "name", PX_REF_NO_SUB);
        CHECK(px_check_ident(r->cert_no), "roster", i, "cert_no", PX_REF_NO_SUB);
    }
    DUPS("roster", ref->roster, ref->n_roster, id, "id");

    for (i = 0; i < ref->n_revisits; i++) {
        const Patrol__V1__AssignedRevisit *r = ref->revisits[i];
        int32_t days;
        CHECK(px_check_ident(r->id), "revisits", i, "id", PX_REF_NO_SUB);
        CHECK(px_check_ident(r->matter), "revisits", i, "matter", PX_REF_NO_SUB);
        CHECK(px_parse_date(r->due, &days), "revisits", i, "due", PX_REF_NO_SUB);
        CHECK(px_check_ident(r->department), "revisits", i, "department", PX_REF_NO_SUB);
        CHECK(optional_line(r->subject_name, PX_LINE_MAX), "revisits", i, "subject_name",
              PX_REF_NO_SUB);
        if (r->note[0])
            CHECK(px_check_text(r->note, PX_TEXT_MAX), "revisits", i, "note", PX_REF_NO_SUB);
    }
    DUPS("revisits", ref->revisits, ref->n_revisits, id, "id");
    return 0;
}

int px_reference_check(const Patrol__V1__Reference *ref, int import, px_ref_fault *f)
{
    size_t n = 1;
    key *k, *dom;
    int rc;

    /* One scratch array serves every part: as long as the longest. */
    n = ref->n_domains > n ? ref->n_domains : n;
    n = ref->n_departments > n ? ref->n_departments : n;
    n = ref->n_list_items > n ? ref->n_list_items : n;
    n = ref->n_leaflets > n ? ref->n_leaflets : n;
    n = ref->n_roster > n ? ref->n_roster : n;
    n = ref->n_revisits > n ? ref->n_revisits : n;
    k = calloc(n, sizeof *k);
    dom = calloc(ref->n_domains + 1, sizeof *dom);
    if (!k || !dom)
        rc = fault(f, "", 0, "", PX_REF_NO_SUB, "%s", _("out of memory"));
    else
        rc = check(ref, import, f, k, dom);
    free(k);
    free(dom);
    return rc;
}

void px_ref_fault_where(const px_ref_fault *f, char *buf, size_t len)
{
    int n = 0;
    if (!len)
        return;
    buf[0] = '\0';
    if (f->part[0])
        n = snprintf(buf, len, "%s[%zu]%s", f->part, f->index, f->field[0] ? "." : "");
    if (n >= 0 && (size_t)n < len && f->field[0])
        n += snprintf(buf + n, len - (size_t)n, "%s", f->field);
    if (n >= 0 && (size_t)n < len && f->sub != PX_REF_NO_SUB)
        snprintf(buf + n, len - (size_t)n, "[%zu]", f->sub);
}
