/* audit_report.c -- `patrold audit report (--month YYYY-MM | --year YYYY)
 * [--department CODE] [--json | --csv | --xlsx FILE]`: the monthly and
 * annual statistics of flexible law enforcement (seed 二(四)3), counted
 * from the stored entries by device time in Beijing time, with each
 * matter's effective record from the state machine (px_matter_replay:
 * corrections in effect). docs/report.md has every figure. */
#include "audit_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cmdline.h"
#include "entry.h"
#include "matter.h"
#include "patrol.pb-c.h"

#define CMD "report"

/* ---- counting --------------------------------------------------------------- */

typedef struct cnt {
    char table[24];
    char row[80];
    int64_t v;
} cnt;

typedef struct i64v {
    int64_t *v;
    size_t n, cap;
} i64v;

typedef struct scope {
    char code[64];
    cnt *c;
    size_t n, cap;
    i64v delivery, sync;
} scope;

typedef struct devdept {
    int64_t id;
    char dept[64];
} devdept;

typedef struct entwall {
    int64_t device;
    uint64_t seq;
    int64_t wall;
} entwall;

typedef struct rep {
    st_backend *db;
    const rpt_opts *o;
    Patrol__V1__Reference *ref;
    int32_t d0, d1, today; /* Beijing days: the period [d0, d1), today */
    scope *sc;             /* sc[0]: the county */
    size_t nsc;
    devdept *devs;
    size_t ndevs;
    entwall *walls;
    size_t nwalls, capwalls;
    char **matters;
    size_t nmatters, capmatters;
    int failed; /* 1: out of memory or storage (message printed) */
} rep;

static int oom(rep *r)
{
    if (!r->failed)
        audit_fail(CMD, "out of memory");
    r->failed = 1;
    return -1;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 16;
    void *n;
    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    if (!(n = realloc(*p, c * size)))
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

static scope *scope_get(rep *r, const char *code)
{
    scope *s;
    for (size_t i = 0; i < r->nsc; i++)
        if (strcmp(r->sc[i].code, code) == 0)
            return &r->sc[i];
    if (!(s = realloc(r->sc, (r->nsc + 1) * sizeof *s))) {
        oom(r);
        return NULL;
    }
    r->sc = s;
    s = &r->sc[r->nsc++];
    memset(s, 0, sizeof *s);
    snprintf(s->code, sizeof s->code, "%s", code);
    return s;
}

static int64_t *counter(rep *r, scope *s, const char *table, const char *row)
{
    cnt *c;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->c[i].row, row) == 0 && strcmp(s->c[i].table, table) == 0)
            return &s->c[i].v;
    if (grow((void **)&s->c, &s->cap, s->n + 1, sizeof *s->c) != 0) {
        oom(r);
        return NULL;
    }
    c = &s->c[s->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->table, sizeof c->table, "%s", table);
    snprintf(c->row, sizeof c->row, "%s", row);
    return &c->v;
}

static int64_t counted(const scope *s, const char *table, const char *row)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->c[i].row, row) == 0 && strcmp(s->c[i].table, table) == 0)
            return s->c[i].v;
    return 0;
}

/* Count delta for the department and the county (with --department, only
 * that department's). */
static void add(rep *r, const char *dept, const char *table, const char *row, int64_t delta)
{
    scope *s;
    int64_t *v;
    if (r->o->department && strcmp(dept, r->o->department) != 0)
        return;
    for (int k = 0; k < 2; k++) {
        if (!(s = k ? scope_get(r, dept) : &r->sc[0]) || !(v = counter(r, s, table, row)))
            return;
        *v += delta;
    }
}

static void sample(rep *r, const char *dept, int sync, int64_t value)
{
    scope *s;
    if (r->o->department && strcmp(dept, r->o->department) != 0)
        return;
    for (int k = 0; k < 2; k++) {
        i64v *x;
        if (!(s = k ? scope_get(r, dept) : &r->sc[0]))
            return;
        x = sync ? &s->sync : &s->delivery;
        if (grow((void **)&x->v, &x->cap, x->n + 1, sizeof *x->v) != 0) {
            oom(r);
            return;
        }
        x->v[x->n++] = value;
    }
}

static const char *dept_of(rep *r, int64_t device)
{
    st_device d;
    devdept *n;
    for (size_t i = 0; i < r->ndevs; i++)
        if (r->devs[i].id == device)
            return r->devs[i].dept;
    if (!(n = realloc(r->devs, (r->ndevs + 1) * sizeof *n))) {
        oom(r);
        return "";
    }
    r->devs = n;
    n = &r->devs[r->ndevs++];
    n->id = device;
    n->dept[0] = '\0';
    if (r->db->ops->device_get(r->db, device, &d) == ST_OK)
        snprintf(n->dept, sizeof n->dept, "%s", d.department);
    return n->dept;
}

static int in_period(const rep *r, int64_t wall_ms)
{
    int32_t d = px_beijing_day(wall_ms);
    return d >= r->d0 && d < r->d1;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static int32_t days_from_civil(int y, int m, int d)
{
    int era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    int era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* "YYYY-MM-DD" as a day number; -1 if it is not one. */
static int32_t parse_day(const char *s)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    return days_from_civil(y, m, d);
}

static void format_day(int32_t day, char out[11])
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

static const char *field_of(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0)
            return e->fields[i]->value;
    return NULL;
}

/* ---- pass 1: every entry (sync delay, department-level acts, matters) ---- */

static int pass1_cb(void *ud, const st_report_row *row)
{
    rep *r = ud;
    const char *why, *dept;
    Patrol__V1__Entry *e = px_entry_decode(row->entry, row->len, &why);
    if (!e) {
        audit_fail(CMD, "stored entry %lld/%llu does not decode: %s", (long long)row->device,
                   (unsigned long long)row->seq, why);
        r->failed = 1;
        return 1;
    }
    if (grow((void **)&r->walls, &r->capwalls, r->nwalls + 1, sizeof *r->walls) != 0) {
        px_entry_free(e);
        oom(r);
        return 1;
    }
    r->walls[r->nwalls++] = (entwall){row->device, row->seq, row->wall_ms};
    dept = dept_of(r, row->device);
    if (in_period(r, row->wall_ms)) {
        int64_t d = row->received_ms - row->wall_ms;
        /* whole seconds, rounded down */
        int64_t sec = d >= 0 ? d / 1000 : -((-d + 999) / 1000);
        sample(r, dept, 1, sec);
        if (strncmp(e->kind, "dept.", 5) == 0)
            add(r, dept, "dept_acts", e->kind + 5, 1);
    }
    if (strcmp(e->kind, "matter.open") == 0 && e->object && e->object[0]) {
        char *m = strdup(e->object);
        if (!m || grow((void **)&r->matters, &r->capmatters, r->nmatters + 1,
                       sizeof *r->matters) != 0) {
            free(m);
            px_entry_free(e);
            oom(r);
            return 1;
        }
        r->matters[r->nmatters++] = m;
    }
    px_entry_free(e);
    return r->failed;
}

/* ---- pass 2: each matter's effective record -------------------------------- */

typedef struct mload {
    rep *r;
    px_mentry *me;
    Patrol__V1__Entry **es;
    size_t n, cap;
} mload;

static int mload_cb(void *ud, int64_t device, uint64_t seq, const uint8_t *entry, size_t len)
{
    mload *l = ud;
    const char *why;
    Patrol__V1__Entry *e;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        px_mentry *me = realloc(l->me, cap * sizeof *me);
        Patrol__V1__Entry **es;
        if (me)
            l->me = me;
        if (!me || !(es = realloc(l->es, cap * sizeof *es))) {
            oom(l->r);
            return 1;
        }
        l->es = es;
        l->cap = cap;
    }
    if (!(e = px_entry_decode(entry, len, &why))) {
        audit_fail(CMD, "stored entry %lld/%llu does not decode: %s", (long long)device,
                   (unsigned long long)seq, why);
        l->r->failed = 1;
        return 1;
    }
    l->es[l->n] = e;
    l->me[l->n] = (px_mentry){e, (int)device, dept_of(l->r, device)};
    l->n++;
    return 0;
}

/* The value of an entry's field with the corrections of the matter in
 * effect (the last correction of that field wins, as in the replay). */
static const char *effective(const mload *l, size_t i, const char *name)
{
    const char *v = field_of(l->es[i], name);
    for (size_t j = i + 1; j < l->n; j++) {
        const Patrol__V1__Entry *c = l->es[j];
        const char *f;
        if (strcmp(c->kind, "correction") != 0 || l->me[j].dev != l->me[i].dev ||
            c->corrects != l->es[i]->seq || !(f = field_of(c, "field")) || strcmp(f, name) != 0)
            continue;
        v = field_of(c, "value");
    }
    return v;
}

static int64_t number(const char *s)
{
    int64_t v = 0;
    if (!s)
        return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return *s ? 0 : v;
}

static void count_matter(rep *r, const mload *l, const px_matter *m)
{
    const char *dept;
    size_t close = l->n;

    for (size_t i = 0; i < l->n; i++) {
        const Patrol__V1__Entry *e = l->es[i];
        const char *k = e->kind, *v;
        dept = l->me[i].department;
        if (strcmp(k, "matter.close") == 0 && close == l->n)
            close = i;
        if (!in_period(r, e->wall_ms))
            continue;
        if (strncmp(k, "action.", 7) == 0) {
            add(r, dept, "methods", k + 7, 1);
        } else if (strcmp(k, "leaflet") == 0) {
            int64_t copies = number(effective(l, i, "copies"));
            v = effective(l, i, "code");
            if (!v || !*v)
                v = "-";
            add(r, dept, "leaflets", "handouts", 1);
            add(r, dept, "leaflets", "copies", copies);
            add(r, dept, "leaflet_handouts", v, 1);
            add(r, dept, "leaflet_copies", v, copies);
        } else if (strcmp(k, "consent") == 0) {
            v = effective(l, i, "answer");
            add(r, dept, "consent", "told", 1);
            if (v && strcmp(v, "accept") == 0)
                add(r, dept, "consent", "accepted", 1);
            else if (v && strcmp(v, "refuse") == 0)
                add(r, dept, "consent", "refused", 1);
            else if (v && strcmp(v, "stop") == 0)
                add(r, dept, "consent", "stop", 1);
        } else if (strcmp(k, "application.file") == 0) {
            add(r, dept, "applications", "filed", 1);
        } else if (strcmp(k, "application.change") == 0) {
            add(r, dept, "applications", "changed", 1);
        } else if (strcmp(k, "application.withdraw") == 0) {
            add(r, dept, "applications", "withdrawn", 1);
        } else if (strcmp(k, "evidence.add") == 0) {
            v = effective(l, i, "kind");
            if (!v || !*v)
                v = "-";
            add(r, dept, "evidence_count", v, 1);
            add(r, dept, "evidence_bytes", v, number(field_of(e, "size")));
        }
    }
    if (m->state == PX_MS_NEW)
        return;
    /* opened: the matter.open entry */
    if (in_period(r, l->es[m->open_index]->wall_ms)) {
        dept = l->me[m->open_index].department;
        add(r, dept, "matters", "opened", 1);
        if (m->on_application)
            add(r, dept, "matters", "on_application", 1);
        add(r, dept, "domains", m->domain[0] ? m->domain : "-", 1);
        if (m->list_item[0]) {
            add(r, dept, "lists", m->list_type[0] ? m->list_type : "-", 1);
            add(r, dept, "list_items", m->list_item, 1);
        }
    }
    /* closed: the first matter.close, with the effective outcome */
    if (close < l->n && in_period(r, l->es[close]->wall_ms) && px_mstate_closed(m->state)) {
        dept = l->me[close].department;
        if (m->state == PX_MS_COMPLETED) {
            add(r, dept, "matters", "completed", 1);
        } else if (m->state == PX_MS_ESCALATED) {
            add(r, dept, "matters", "escalated", 1);
        } else {
            add(r, dept, "matters", "terminated", 1);
            add(r, dept, "terminated_by_reason", m->close_reason[0] ? m->close_reason : "other",
                1);
        }
    }
    for (size_t j = 0; j < m->ndocs; j++) {
        const px_mdoc *d = &m->docs[j];
        if (in_period(r, l->es[d->index]->wall_ms))
            add(r, l->me[d->index].department, "documents", "issued", 1);
        if (d->delivered && in_period(r, l->es[d->delivered_index]->wall_ms)) {
            dept = l->me[d->delivered_index].department;
            add(r, dept, "documents", "delivered", 1);
            sample(r, dept, 0,
                   px_beijing_day(l->es[d->delivered_index]->wall_ms) -
                       px_beijing_day(l->es[d->index]->wall_ms));
        }
    }
    for (size_t j = 0; j < m->nrevisits; j++) {
        const px_mrevisit *v = &m->revisits[j];
        int32_t due = parse_day(v->due);
        dept = l->me[v->index].department;
        if (due >= r->d0 && due < r->d1) {
            add(r, dept, "revisits", "due", 1);
            if (v->outcome[0])
                add(r, dept, "revisits",
                    px_beijing_day(l->es[v->outcome_index]->wall_ms) <= due ? "on_time" : "late",
                    1);
            else
                add(r, dept, "revisits", due < r->today ? "overdue" : "pending", 1);
        }
        if (v->outcome[0] && in_period(r, l->es[v->outcome_index]->wall_ms))
            add(r, l->me[v->outcome_index].department, "revisits", v->outcome, 1);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void pass2(rep *r)
{
    if (r->nmatters)
        qsort(r->matters, r->nmatters, sizeof *r->matters, cmp_str);
    for (size_t i = 0; i < r->nmatters && !r->failed; i++) {
        mload l;
        px_matter m;
        px_mref ref;
        if (i && strcmp(r->matters[i], r->matters[i - 1]) == 0)
            continue;
        memset(&l, 0, sizeof l);
        memset(&ref, 0, sizeof ref);
        l.r = r;
        px_matter_init(&m);
        if (r->db->ops->matter_entries(r->db, r->matters[i], mload_cb, &l) != ST_OK) {
            audit_fail(CMD, "reading matter %s: %s", r->matters[i], r->db->ops->errmsg(r->db));
            r->failed = 1;
        } else if (!r->failed) {
            if (px_matter_replay(&m, l.me, l.n, &ref) != 0)
                oom(r);
            else
                count_matter(r, &l, &m);
        }
        px_matter_free(&m);
        for (size_t j = 0; j < l.n; j++)
            px_entry_free(l.es[j]);
        free(l.es);
        free(l.me);
    }
}

/* ---- rule flags ------------------------------------------------------------- */

static int cmp_wall(const void *a, const void *b)
{
    const entwall *x = a, *y = b;
    if (x->device != y->device)
        return x->device < y->device ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int flag_cb(void *ud, const st_flag_row *f)
{
    rep *r = ud;
    entwall key = {f->f.device, f->f.seq, 0}, *w;
    w = r->nwalls ? bsearch(&key, r->walls, r->nwalls, sizeof *r->walls, cmp_wall) : NULL;
    if (w && in_period(r, w->wall))
        add(r, dept_of(r, f->f.device), "rule_flags", f->f.rule, 1);
    return r->failed;
}

/* ---- distributions ---------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p percent of the values
 * at or below it; 0 for none. */
static int64_t rank(const i64v *x, int p)
{
    size_t k;
    if (!x->n)
        return 0;
    k = (x->n * (size_t)p + 99) / 100;
    return x->v[k ? k - 1 : 0];
}

static void finish_scope(rep *r, scope *s)
{
    int64_t *v;
    /* qsort's array may not be NULL, even for no elements */
    if (s->delivery.n)
        qsort(s->delivery.v, s->delivery.n, sizeof *s->delivery.v, cmp_i64);
    if (s->sync.n)
        qsort(s->sync.v, s->sync.n, sizeof *s->sync.v, cmp_i64);
    if ((v = counter(r, s, "documents", "delay_median_days")))
        *v = rank(&s->delivery, 50);
    if ((v = counter(r, s, "documents", "delay_max_days")))
        *v = rank(&s->delivery, 100);
    if ((v = counter(r, s, "sync_delay", "entries")))
        *v = (int64_t)s->sync.n;
    if ((v = counter(r, s, "sync_delay", "median_s")))
        *v = rank(&s->sync, 50);
    if ((v = counter(r, s, "sync_delay", "p90_s")))
        *v = rank(&s->sync, 90);
    if ((v = counter(r, s, "sync_delay", "max_s")))
        *v = rank(&s->sync, 100);
}

/* ---- the report as JSON -------------------------------------------------------- */

static int known_department(rep *r, const char *code)
{
    for (size_t i = 0; r->ref && i < r->ref->n_departments; i++)
        if (strcmp(r->ref->departments[i]->code, code) == 0)
            return 1;
    for (size_t i = 0; i < r->ndevs; i++)
        if (strcmp(r->devs[i].dept, code) == 0)
            return 1;
    return 0;
}

static int cmp_scope(const void *a, const void *b)
{
    return strcmp(((const scope *)a)->code, ((const scope *)b)->code);
}

/* The rows of a dynamic table: every key counted in any scope, sorted. */
static cJSON *dynamic_rows(const rep *r, const char *table)
{
    const char **k = NULL;
    size_t n = 0, cap = 0;
    cJSON *keys = cJSON_CreateArray();
    if (!keys)
        return NULL;
    for (size_t i = 0; i < r->nsc; i++)
        for (size_t j = 0; j < r->sc[i].n; j++) {
            if (strcmp(r->sc[i].c[j].table, table) != 0)
                continue;
            if (grow((void **)&k, &cap, n + 1, sizeof *k) != 0) {
                free(k);
                cJSON_Delete(keys);
                return NULL;
            }
            k[n++] = r->sc[i].c[j].row;
        }
    if (n)
        qsort(k, n, sizeof *k, cmp_str);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(k[i], k[i - 1]) != 0)
            cJSON_AddItemToArray(keys, cJSON_CreateString(k[i]));
    free(k);
    return keys;
}

static const char *dynamic_label(const rep *r, const char *table, const char *key)
{
    const Patrol__V1__Reference *f = r->ref;
    for (size_t i = 0; f && i < f->n_domains && strcmp(table, "domains") == 0; i++)
        if (strcmp(f->domains[i]->code, key) == 0)
            return f->domains[i]->name;
    for (size_t i = 0; f && i < f->n_list_items && strcmp(table, "list_items") == 0; i++)
        if (strcmp(f->list_items[i]->code, key) == 0)
            return f->list_items[i]->name;
    for (size_t i = 0; f && i < f->n_leaflets && strncmp(table, "leaflet_", 8) == 0; i++)
        if (strcmp(f->leaflets[i]->code, key) == 0)
            return f->leaflets[i]->title;
    return "";
}

static const char *department_name(const rep *r, const char *code)
{
    for (size_t i = 0; r->ref && i < r->ref->n_departments; i++)
        if (strcmp(r->ref->departments[i]->code, code) == 0)
            return r->ref->departments[i]->name;
    return strcmp(code, "county") == 0 ? "全县合计" : "";
}

static cJSON *build_json(rep *r, int64_t now_ms)
{
    cJSON *j = cJSON_CreateObject(), *p, *sc, *units, *labels, *block;
    char from[11], to[11], today[11];
    if (!j)
        return NULL;
    format_day(r->d0, from);
    format_day(r->d1 - 1, to);
    format_day(px_beijing_day(now_ms), today);
    cJSON_AddStringToObject(j, "report", "patrol.flexible_enforcement_statistics");
    cJSON_AddNumberToObject(j, "format", 1);
    p = cJSON_AddObjectToObject(j, "period");
    cJSON_AddStringToObject(p, "type", r->o->month ? "month" : "year");
    cJSON_AddStringToObject(p, "period", r->o->period);
    cJSON_AddStringToObject(p, "from", from);
    cJSON_AddStringToObject(p, "to", to);
    cJSON_AddStringToObject(p, "time", "device time, Beijing (UTC+8)");
    if (r->o->department)
        cJSON_AddStringToObject(j, "department", r->o->department);
    else
        cJSON_AddNullToObject(j, "department");
    cJSON_AddStringToObject(j, "as_of", today);
    units = cJSON_AddArrayToObject(j, "units");
    for (size_t i = 0; i < r->nsc; i++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "code", r->sc[i].code);
        cJSON_AddStringToObject(u, "name", department_name(r, r->sc[i].code));
        cJSON_AddItemToArray(units, u);
    }
    labels = cJSON_AddObjectToObject(j, "labels");
    sc = cJSON_AddObjectToObject(j, "scopes");
    for (size_t t = 0; rpt_tables[t].key; t++) {
        const rpt_tabdef *td = &rpt_tables[t];
        cJSON *keys = NULL, *k;
        if (td->annual && r->o->month)
            continue;
        if (td->dynamic) {
            cJSON *lab = cJSON_AddObjectToObject(labels, td->key);
            keys = dynamic_rows(r, td->key);
            cJSON_ArrayForEach(k, keys)
                cJSON_AddStringToObject(lab, k->valuestring,
                                        dynamic_label(r, td->key, k->valuestring));
        }
        for (size_t i = 0; i < r->nsc; i++) {
            cJSON *s = cJSON_GetObjectItemCaseSensitive(sc, r->sc[i].code), *o;
            if (!s)
                s = cJSON_AddObjectToObject(sc, r->sc[i].code);
            o = cJSON_AddObjectToObject(s, td->key);
            if (td->dynamic) {
                cJSON_ArrayForEach(k, keys)
                    cJSON_AddNumberToObject(o, k->valuestring,
                                            (double)counted(&r->sc[i], td->key, k->valuestring));
                continue;
            }
            for (const rpt_rowdef *rd = td->rows; rd->key; rd++) {
                if (rd->src_table && strcmp(rd->src_table, "-") == 0)
                    cJSON_AddNullToObject(o, rd->key);
                else
                    cJSON_AddNumberToObject(
                        o, rd->key,
                        (double)counted(&r->sc[i], rd->src_table ? rd->src_table : td->key,
                                        rd->src_row ? rd->src_row : rd->key));
            }
        }
        cJSON_Delete(keys);
    }
    block = cJSON_AddObjectToObject(j, "filing_block");
    cJSON_AddStringToObject(block, "unit", r->o->department ? r->o->department : "county");
    cJSON_AddStringToObject(block, "reporter", r->o->reporter ? r->o->reporter : "");
    cJSON_AddStringToObject(block, "phone", r->o->phone ? r->o->phone : "");
    cJSON_AddStringToObject(block, "date", today);
    return j;
}

cJSON *rpt_build(st_backend *db, const rpt_opts *o, int64_t now_ms, const char *cmd,
                 int *status)
{
    rep r;
    uint64_t version;
    uint8_t *blob = NULL;
    size_t len;
    cJSON *j = NULL;
    int rc;

    memset(&r, 0, sizeof r);
    r.db = db;
    r.o = o;
    *status = 1;
    if (o->month) {
        r.d0 = days_from_civil(o->year, o->month, 1);
        r.d1 = o->month == 12 ? days_from_civil(o->year + 1, 1, 1)
                              : days_from_civil(o->year, o->month + 1, 1);
    } else {
        r.d0 = days_from_civil(o->year, 1, 1);
        r.d1 = days_from_civil(o->year + 1, 1, 1);
    }
    r.today = px_beijing_day(now_ms);
    rc = db->ops->reference_latest(db, &version, &blob, &len);
    if (rc == ST_OK) {
        r.ref = patrol__v1__reference__unpack(NULL, len, blob);
        free(blob);
        if (!r.ref) {
            audit_fail(cmd, "stored reference data version %llu is damaged",
                       (unsigned long long)version);
            goto exit;
        }
    } else if (rc != ST_NOTFOUND) {
        audit_fail(cmd, "reading reference data: %s", db->ops->errmsg(db));
        goto exit;
    }
    if (!scope_get(&r, "county"))
        goto exit;
    if (db->ops->report_entries(db, pass1_cb, &r) != ST_OK) {
        if (!r.failed)
            audit_fail(cmd, "reading the entries: %s", db->ops->errmsg(db));
        goto exit;
    }
    if (r.failed)
        goto exit;
    if (o->department && !known_department(&r, o->department)) {
        audit_fail(cmd, "unknown department '%s': not in the reference data and no device"
                        " belongs to it",
                   o->department);
        goto exit;
    }
    /* every department of the reference data has its column */
    for (size_t i = 0; r.ref && i < r.ref->n_departments && !o->department; i++)
        scope_get(&r, r.ref->departments[i]->code);
    for (size_t i = 0; i < r.ndevs && !o->department; i++)
        if (r.devs[i].dept[0])
            scope_get(&r, r.devs[i].dept);
    if (o->department)
        scope_get(&r, o->department);
    pass2(&r);
    if (r.failed)
        goto exit;
    if (r.nwalls)
        qsort(r.walls, r.nwalls, sizeof *r.walls, cmp_wall);
    if (db->ops->flags_list(db, 0, NULL, flag_cb, &r) != ST_OK) {
        if (!r.failed)
            audit_fail(cmd, "reading rule flags: %s", db->ops->errmsg(db));
        goto exit;
    }
    if (r.failed)
        goto exit;
    for (size_t i = 0; i < r.nsc; i++)
        finish_scope(&r, &r.sc[i]);
    if (o->department) {
        /* one unit: the department (the county column is the same data) */
        scope county = r.sc[0];
        memmove(r.sc, r.sc + 1, (r.nsc - 1) * sizeof *r.sc);
        r.nsc--;
        free(county.c);
        free(county.delivery.v);
        free(county.sync.v);
    } else if (r.nsc > 1) {
        /* departments by code, the county last */
        scope county = r.sc[0];
        memmove(r.sc, r.sc + 1, (r.nsc - 1) * sizeof *r.sc);
        qsort(r.sc, r.nsc - 1, sizeof *r.sc, cmp_scope); /* nsc > 1 */
        r.sc[r.nsc - 1] = county;
    }
    if (r.failed)
        goto exit;
    if (!(j = build_json(&r, now_ms)))
        oom(&r);
    else
        *status = 0;
exit:
    if (r.ref)
        patrol__v1__reference__free_unpacked(r.ref, NULL);
    for (size_t i = 0; i < r.nsc; i++) {
        free(r.sc[i].c);
        free(r.sc[i].delivery.v);
        free(r.sc[i].sync.v);
    }
    free(r.sc);
    free(r.devs);
    free(r.walls);
    for (size_t i = 0; i < r.nmatters; i++)
        free(r.matters[i]);
    free(r.matters);
    return j;
}

/* ---- options ------------------------------------------------------------------ */

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int rpt_parse(const char *cmd, int argc, char **argv, rpt_opts *o,
              int (*other)(void *ud, int argc, char **argv), void *ud)
{
    const char *month = NULL, *year = NULL;
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        int took;
        if (strcmp(a, "--month") == 0)
            dst = &month;
        else if (strcmp(a, "--year") == 0)
            dst = &year;
        else if (strcmp(a, "--department") == 0)
            dst = &o->department;
        else if (strcmp(a, "--reporter") == 0)
            dst = &o->reporter;
        else if (strcmp(a, "--phone") == 0)
            dst = &o->phone;
        if (dst) {
            if (i + 1 >= argc)
                return audit_usage_error(cmd, "%s needs a value", a);
            if (*dst)
                return audit_usage_error(cmd, "%s given twice", a);
            *dst = argv[++i];
            continue;
        }
        if (other && (took = other(ud, argc - i, argv + i)) != 0) {
            if (took < 0)
                return 2;
            i += took - 1;
            continue;
        }
        return audit_usage_error(cmd, "unknown argument '%s'", a);
    }
    if (!month == !year)
        return audit_usage_error(cmd, "give one of --month YYYY-MM or --year YYYY");
    if (month) {
        if (strlen(month) != 7 || month[4] != '-' || !digits(month, 4) || !digits(month + 5, 2))
            return audit_usage_error(cmd, "--month '%s' is not YYYY-MM (e.g. 2026-10)", month);
        o->year = (month[0] - '0') * 1000 + (month[1] - '0') * 100 + (month[2] - '0') * 10 +
                  (month[3] - '0');
        o->month = (month[5] - '0') * 10 + (month[6] - '0');
        if (o->month < 1 || o->month > 12)
            return audit_usage_error(cmd, "--month '%s': month %02d is out of range (01-12)",
                                     month, o->month);
    } else {
        if (strlen(year) != 4 || !digits(year, 4))
            return audit_usage_error(cmd, "--year '%s' is not a year YYYY (e.g. 2026)", year);
        o->year = (year[0] - '0') * 1000 + (year[1] - '0') * 100 + (year[2] - '0') * 10 +
                  (year[3] - '0');
    }
    if (o->year < 1970)
        return audit_usage_error(cmd, "year %04d is out of range (1970-9999)", o->year);
    if (o->department) {
        size_t n = strlen(o->department);
        if (n == 0 || n >= 64)
            return audit_usage_error(cmd, "--department '%s' is not a department code",
                                     o->department);
        for (size_t i = 0; i < n; i++) {
            char c = o->department[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.'))
                return audit_usage_error(cmd, "--department '%s' is not a department code",
                                         o->department);
        }
    }
    if (o->month)
        snprintf(o->period, sizeof o->period, "%04d-%02d", o->year, o->month);
    else
        snprintf(o->period, sizeof o->period, "%04d", o->year);
    return 0;
}

/* ---- the command ----------------------------------------------------------------- */

typedef struct out_opts {
    int json, csv;
    const char *xlsx;
    int n;
} out_opts;

static int out_option(void *ud, int argc, char **argv)
{
    out_opts *o = ud;
    if (strcmp(argv[0], "--json") == 0) {
        o->json = 1;
        o->n++;
        return 1;
    }
    if (strcmp(argv[0], "--csv") == 0) {
        o->csv = 1;
        o->n++;
        return 1;
    }
    if (strcmp(argv[0], "--xlsx") == 0) {
        if (argc < 2) {
            audit_usage_error(CMD, "--xlsx needs a file");
            return -1;
        }
        o->xlsx = argv[1];
        o->n++;
        return 2;
    }
    return 0;
}

static int text_ok(const char *what, const char *s)
{
    if (!s)
        return 1;
    if (strlen(s) > 100 || strpbrk(s, "\"\n\r\t")) {
        audit_usage_error(CMD, "%s: at most 100 bytes on one line, without quotes", what);
        return 0;
    }
    return 1;
}

int audit_report_run(const char *data, int argc, char **argv)
{
    rpt_opts o;
    out_opts out = {0, 0, NULL, 0};
    st_backend *db;
    cJSON *j;
    struct timespec now;
    int rc, status;

    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: patrold --data DIR audit report (--month YYYY-MM | --year YYYY)\n"
               "       [--department CODE] [--reporter NAME] [--phone PHONE]\n"
               "       [--json | --csv | --xlsx FILE]\n"
               "Statistics by device time in Beijing time (docs/report.md).\n");
        return 0;
    }
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--xlsx") == 0 && i + 1 >= argc)
            return audit_usage_error(CMD, "--xlsx needs a file");
    if ((rc = rpt_parse(CMD, argc, argv, &o, out_option, &out)) != 0)
        return rc;
    if (out.n > 1)
        return audit_usage_error(CMD, "give at most one of --json, --csv, --xlsx FILE");
    if (!text_ok("--reporter", o.reporter) || !text_ok("--phone", o.phone))
        return 2;
    if (!(db = audit_open(data, CMD)))
        return 1;
    clock_gettime(CLOCK_REALTIME, &now);
    j = rpt_build(db, &o, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, CMD, &status);
    db->ops->close(db);
    if (!j)
        return status;
    if (out.json) {
        char *s = cJSON_Print(j);
        if (!s)
            rc = audit_fail(CMD, "out of memory");
        else
            cl_json_out(s);
        free(s);
    } else if (out.csv) {
        rc = rpt_print_csv(j, stdout);
    } else if (out.xlsx) {
        rc = rpt_write_xlsx(j, out.xlsx);
    } else {
        rc = rpt_print_text(j, stdout);
    }
    cJSON_Delete(j);
    if (fflush(stdout) != 0 && rc == 0)
        rc = audit_fail(CMD, "writing the report failed");
    return rc;
}
