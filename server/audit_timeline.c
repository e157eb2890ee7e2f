/* audit_timeline.c -- `patrold --data DIR audit timeline --matter ID
 * [--json] [--reveal]`: the full-process record (执法全过程记录) of one
 * matter, every device's entries in order, read from the stored entries
 * and the matter index (docs/server.md "Audit: index, timeline,
 * problems"). Read-only: works while serve runs.
 *
 * Order: device time, then the order the server received them (a clock
 * that ran wrong shows as a receipt time before the device time).
 * Confidential fields (state secret, trade secret, personal privacy) are
 * shown as their mark unless --reveal: a decision the supervisor makes
 * explicitly, and said so on stderr. */
#include "audit.h"
#include "cmdline.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "entry.h"
#include "i18n.h"
#include "matter.h"
#include "rules.h"
#include "validate.h"

#define CMD "timeline"
#define DAY_MS 86400000LL
#define BEHIND_MS (5LL * 60 * 1000) /* as audit verify's clock_behind */

typedef struct tl_entry {
    int64_t device;
    uint64_t seq;
    int64_t received_ms;
    size_t order; /* received order */
    Patrol__V1__Entry *e;
    /* The lower server bound: the signing time of the newest log
     * checkpoint this device had cited at or before this entry (docs/log.md
     * "Citations"), and that checkpoint's size; 0 when none. */
    int64_t not_before_ms;
    uint64_t cite_size;
} tl_entry;

typedef struct tl_flag {
    int64_t device;
    uint64_t seq;
    char rule[64];
    int flag_only;
    char detail[256];
} tl_flag;

typedef struct timeline {
    st_backend *db;
    int json, reveal;
    st_imatter m;
    tl_entry *es;
    size_t n, cap;
    tl_flag *flags;
    size_t nflags, capflags;
    st_device *devs; /* names, cached */
    size_t ndevs;
    int failed;
    char err[256];
} timeline;

/* ---- times ---------------------------------------------------------------- */

/* Beijing time (UTC+8 all year, as Asia/Shanghai since 1991) for people. */
static void fmt_bj(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000) + 8 * 3600;
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "-");
        return;
    }
    strftime(buf, len, "%Y-%m-%d %H:%M:%S CST", &tm);
}

/* ISO 8601 UTC for --json. */
static void fmt_iso(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, len, "?");
        return;
    }
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *json_time(int64_t ms)
{
    char b[32];
    if (ms <= 0)
        return cJSON_CreateNull();
    fmt_iso(ms, b, sizeof b);
    return cJSON_CreateString(b);
}

/* ---- look-ups ------------------------------------------------------------- */

static const char *device_name(timeline *t, int64_t id)
{
    st_device *d;
    for (size_t i = 0; i < t->ndevs; i++)
        if (t->devs[i].id == id)
            return t->devs[i].name;
    if (!(d = realloc(t->devs, (t->ndevs + 1) * sizeof *d)))
        return "?";
    t->devs = d;
    d = &t->devs[t->ndevs++];
    if (t->db->ops->device_get(t->db, id, d) != ST_OK) {
        memset(d, 0, sizeof *d);
        d->id = id;
        snprintf(d->name, sizeof d->name, "?");
    }
    return d->name;
}

static const char *conf_code(Patrol__V1__Confidentiality c)
{
    switch (c) {
    case PATROL__V1__CONFIDENTIALITY__CONF_STATE_SECRET:
        return "state_secret";
    case PATROL__V1__CONFIDENTIALITY__CONF_TRADE_SECRET:
        return "trade_secret";
    case PATROL__V1__CONFIDENTIALITY__CONF_PERSONAL_PRIVACY:
        return "personal_privacy";
    default:
        return NULL;
    }
}

static const Patrol__V1__Field *field_get(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; e && i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0)
            return e->fields[i];
    return NULL;
}

static const char *field_value(const Patrol__V1__Entry *e, const char *name)
{
    const Patrol__V1__Field *f = field_get(e, name);
    return f ? f->value : NULL;
}

/* The mark a confidential value is shown as: "[code]" in --json, in the
 * reader's language in the text. */
static const char *conf_mark(const timeline *t, Patrol__V1__Confidentiality c, char *buf,
                             size_t len)
{
    const char *code = conf_code(c);
    if (!t->json) {
        /* TRANSLATORS: shown in place of a confidential value the supervisor
         * did not ask to see (--reveal); the English keeps the code. */
        const char *text = c == PATROL__V1__CONFIDENTIALITY__CONF_STATE_SECRET ? _("[state_secret]")
                           : c == PATROL__V1__CONFIDENTIALITY__CONF_TRADE_SECRET
                               ? _("[trade_secret]")
                               : _("[personal_privacy]");
        snprintf(buf, len, "%s", text);
    } else {
        snprintf(buf, len, "[%s]", code);
    }
    return buf;
}

/* What a reader is shown of a field: its value, or its mark unless
 * revealing. */
static const char *shown(const timeline *t, const Patrol__V1__Field *f, char *buf, size_t len)
{
    if (!conf_code(f->confidential) || t->reveal)
        return f->value;
    return conf_mark(t, f->confidential, buf, len);
}

/* A choice value (a code) as people read it: its label, translated. */
static const char *choice_text(const char *value)
{
    const char *label = px_choice_label(value);
    return label && *label ? _(label) : value;
}

/* One indented line of an entry in the text timeline. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void line(const char *fmt, ...)
{
    va_list ap;
    fputs("    ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* ---- loading -------------------------------------------------------------- */

static int entry_cb(void *ud, int64_t device, uint64_t seq, const uint8_t *bytes, size_t len)
{
    timeline *t = ud;
    const char *why;
    tl_entry *x;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        tl_entry *p = realloc(t->es, cap * sizeof *p);
        if (!p) {
            snprintf(t->err, sizeof t->err, "%s", _("out of memory"));
            t->failed = 1;
            return 1;
        }
        t->es = p;
        t->cap = cap;
    }
    x = &t->es[t->n];
    memset(x, 0, sizeof *x);
    x->device = device;
    x->seq = seq;
    x->order = t->n;
    if (!(x->e = px_entry_decode(bytes, len, &why))) {
        /* TRANSLATORS: device number/entry number; %s says why (English). */
        snprintf(t->err, sizeof t->err, _("stored entry %lld/%llu does not decode: %s (run 'audit verify')"),
                 (long long)device, (unsigned long long)seq, why);
        t->failed = 1;
        return 1;
    }
    t->n++;
    if (t->db->ops->entry_received(t->db, device, seq, &x->received_ms) != ST_OK)
        x->received_ms = 0;
    return 0;
}

static int flag_cb(void *ud, const st_flag_row *r)
{
    timeline *t = ud;
    tl_flag *f;
    if (t->nflags == t->capflags) {
        size_t cap = t->capflags ? 2 * t->capflags : 16;
        tl_flag *p = realloc(t->flags, cap * sizeof *p);
        if (!p)
            return 1;
        t->flags = p;
        t->capflags = cap;
    }
    f = &t->flags[t->nflags++];
    f->device = r->f.device;
    f->seq = r->f.seq;
    f->flag_only = r->f.flag_only;
    snprintf(f->rule, sizeof f->rule, "%s", r->f.rule);
    snprintf(f->detail, sizeof f->detail, "%s", r->f.detail);
    return 0;
}

/* ---- the lower bound: the log checkpoint each device cited ------------------- */

typedef struct cite_walk {
    timeline *t;
    int64_t device;
    uint64_t max_seq, size; /* walk to max_seq; the newest cited size so far */
} cite_walk;

static int cite_row(void *ud, const st_audit_entry *row)
{
    cite_walk *w = ud;
    Patrol__V1__Entry *e;
    const char *why;
    if (row->seq > w->max_seq)
        return 1; /* past the matter's last entry of this device */
    if ((e = px_entry_decode(row->entry, row->entry_len, &why))) {
        if (e->log && e->log->size > w->size)
            w->size = e->log->size;
        px_entry_free(e);
    }
    for (size_t i = 0; i < w->t->n; i++)
        if (w->t->es[i].device == w->device && w->t->es[i].seq == row->seq)
            w->t->es[i].cite_size = w->size;
    return 0;
}

typedef struct cp_list {
    uint64_t *size;
    int64_t *ms;
    size_t n, cap;
    int oom;
} cp_list;

static int cp_row(void *ud, uint64_t size, const uint8_t root[32], const char *note,
                  int64_t signed_ms)
{
    cp_list *l = ud;
    (void)root;
    (void)note;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        uint64_t *s = realloc(l->size, nc * sizeof *s);
        int64_t *m = s ? realloc(l->ms, nc * sizeof *m) : NULL;
        if (s)
            l->size = s;
        if (!s || !m) {
            l->oom = 1;
            return 1;
        }
        l->ms = m;
        l->cap = nc;
    }
    l->size[l->n] = size;
    l->ms[l->n++] = signed_ms;
    return 0;
}

/* Each entry's lower bound (not_before_ms): walk each device of the
 * matter up to its last entry in the matter, noting the newest checkpoint
 * cited so far, then look its signing time up. The citation is checked
 * by audit verify (bad_citation); a size the log does not hold gives no
 * bound here. */
static void lower_bounds(timeline *t)
{
    cp_list cps = {NULL, NULL, 0, 0, 0};
    for (size_t i = 0; i < t->n; i++) {
        cite_walk w = {t, t->es[i].device, 0, 0};
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= t->es[k].device == w.device;
        if (seen)
            continue;
        for (size_t k = i; k < t->n; k++)
            if (t->es[k].device == w.device && t->es[k].seq > w.max_seq)
                w.max_seq = t->es[k].seq;
        if (t->db->ops->audit_entries(t->db, w.device, cite_row, &w) != ST_OK)
            return;
    }
    if (t->db->ops->log_checkpoints_each(t->db, cp_row, &cps) == ST_OK && !cps.oom)
        for (size_t i = 0; i < t->n; i++) {
            size_t lo = 0, hi = cps.n;
            if (!t->es[i].cite_size)
                continue;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cps.size[mid] < t->es[i].cite_size)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < cps.n && cps.size[lo] == t->es[i].cite_size)
                t->es[i].not_before_ms = cps.ms[lo];
        }
    free(cps.size);
    free(cps.ms);
}

static int by_time(const void *a, const void *b)
{
    const tl_entry *x = a, *y = b;
    if (x->e->wall_ms != y->e->wall_ms)
        return x->e->wall_ms < y->e->wall_ms ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- what each entry shows ----------------------------------------------------- */

static const st_idoc *doc_of(const timeline *t, const char *id)
{
    for (size_t i = 0; i < t->m.ndocs; i++)
        if (strcmp(t->m.docs[i].id, id) == 0)
            return &t->m.docs[i];
    return NULL;
}

static const st_irevisit *revisit_of(const timeline *t, const char *id)
{
    for (size_t i = 0; i < t->m.nrevisits; i++)
        if (strcmp(t->m.revisits[i].id, id) == 0)
            return &t->m.revisits[i];
    return NULL;
}

static const st_ievidence *evidence_of(const timeline *t, int64_t device, uint64_t seq)
{
    for (size_t i = 0; i < t->m.nevidence; i++)
        if (t->m.evidence[i].device == device && t->m.evidence[i].seq == seq)
            return &t->m.evidence[i];
    return NULL;
}

/* Calendar days (Beijing) from issue to delivery. */
static long delivery_days(const st_idoc *d)
{
    return (long)px_beijing_day(d->delivered_ms) - (long)px_beijing_day(d->issued_ms);
}

/* The id an entry of this kind created (document, revisit), in buf. */
static const char *created_id(const tl_entry *x, char prefix, char *buf, size_t len)
{
    px_object_id(x->e, prefix, buf, len);
    return buf;
}

static cJSON *json_inspectors(timeline *t, const tl_entry *x)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t k = 0; arr && k < x->e->n_inspectors; k++) {
        st_iinspector in;
        cJSON *o = cJSON_CreateObject();
        int found = t->db->ops->inspector_get(t->db, x->device, x->e->inspectors[k], &in) == ST_OK;
        cJSON_AddStringToObject(o, "id", x->e->inspectors[k]);
        if (found) {
            cJSON_AddStringToObject(o, "name", in.name);
            cJSON_AddStringToObject(o, "cert_no", in.cert_no);
        } else {
            cJSON_AddNullToObject(o, "name");
            cJSON_AddNullToObject(o, "cert_no");
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static void text_inspectors(timeline *t, const char *const *ids, size_t n, int64_t device)
{
    for (size_t k = 0; k < n; k++) {
        st_iinspector in;
        fputs(k ? _(", ") : "", stdout);
        if (t->db->ops->inspector_get(t->db, device, ids[k], &in) == ST_OK)
            /* TRANSLATORS: an inspector: name (id, enforcement certificate number). */
            printf(_("%s (%s, cert. %s)"), in.name, ids[k], in.cert_no);
        else
            /* TRANSLATORS: an inspector id the server has no record of. */
            printf(_("%s (not on record)"), ids[k]);
    }
}

/* The corrections of entry x (same device, naming its seq). */
typedef struct corr {
    const tl_entry *c;
    const char *field, *value, *reason;
} corr;

static size_t corrections_of(const timeline *t, const tl_entry *x, corr *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n && n < max; i++) {
        const tl_entry *c = &t->es[i];
        if (c->device == x->device && c->e->corrects == x->e->seq &&
            strcmp(c->e->kind, "correction") == 0) {
            out[n].c = c;
            out[n].field = field_value(c->e, "field");
            out[n].value = field_value(c->e, "value");
            out[n].reason = field_value(c->e, "reason");
            n++;
        }
    }
    return n;
}

/* A corrected value, masked like the field it replaces or like itself. */
static const char *shown_corr(const timeline *t, const tl_entry *x, const corr *c, char *buf,
                              size_t len)
{
    const Patrol__V1__Field *orig = c->field ? field_get(x->e, c->field) : NULL;
    const Patrol__V1__Field *v = field_get(c->c->e, "value");
    if (!v)
        return "";
    if (!t->reveal && orig && conf_code(orig->confidential))
        return conf_mark(t, orig->confidential, buf, len);
    return shown(t, v, buf, len);
}

static cJSON *json_entry(timeline *t, const tl_entry *x)
{
    const px_kind_rule *k = px_rules_find(x->e->kind);
    cJSON *o = cJSON_CreateObject(), *fields, *corrs, *flags;
    char buf[64], id[64];
    corr cs[16];
    size_t nc;

    cJSON_AddNumberToObject(o, "device", (double)x->device);
    cJSON_AddStringToObject(o, "device_name", device_name(t, x->device));
    cJSON_AddNumberToObject(o, "seq", (double)x->seq);
    cJSON_AddStringToObject(o, "kind", x->e->kind);
    cJSON_AddStringToObject(o, "label", k ? k->label : x->e->kind);
    cJSON_AddItemToObject(o, "device_time", json_time(x->e->wall_ms));
    cJSON_AddItemToObject(o, "received", json_time(x->received_ms));
    /* The receipt bounds the device time: a clock ahead of the server's. */
    cJSON_AddBoolToObject(o, "after_receipt", x->received_ms > 0 && x->e->wall_ms > x->received_ms);
    /* And the log checkpoint the device had cited bounds it from below. */
    if (x->not_before_ms) {
        cJSON_AddItemToObject(o, "not_before", json_time(x->not_before_ms));
        cJSON_AddNumberToObject(o, "not_before_checkpoint", (double)x->cite_size);
    } else {
        cJSON_AddNullToObject(o, "not_before");
    }
    cJSON_AddBoolToObject(o, "before_checkpoint",
                          x->not_before_ms > 0 && x->e->wall_ms + BEHIND_MS < x->not_before_ms);
    if (x->e->location) {
        cJSON *p = cJSON_AddObjectToObject(o, "place");
        cJSON_AddNumberToObject(p, "lat", (double)x->e->location->lat_e7 / 1e7);
        cJSON_AddNumberToObject(p, "lon", (double)x->e->location->lon_e7 / 1e7);
        cJSON_AddNumberToObject(p, "accuracy_m", x->e->location->accuracy_m);
    } else {
        cJSON_AddNullToObject(o, "place");
    }
    cJSON_AddItemToObject(o, "inspectors", json_inspectors(t, x));
    fields = cJSON_AddArrayToObject(o, "fields");
    for (size_t i = 0; i < x->e->n_fields; i++) {
        const Patrol__V1__Field *f = x->e->fields[i];
        const char *c = conf_code(f->confidential);
        cJSON *fo = cJSON_CreateObject();
        cJSON_AddStringToObject(fo, "name", f->name);
        cJSON_AddStringToObject(fo, "value", shown(t, f, buf, sizeof buf));
        if (c)
            cJSON_AddStringToObject(fo, "confidential", c);
        else
            cJSON_AddNullToObject(fo, "confidential");
        cJSON_AddBoolToObject(fo, "masked", c && !t->reveal);
        cJSON_AddItemToArray(fields, fo);
    }
    if (x->e->corrects)
        cJSON_AddNumberToObject(o, "corrects", (double)x->e->corrects);
    corrs = cJSON_AddArrayToObject(o, "corrections");
    nc = corrections_of(t, x, cs, sizeof cs / sizeof cs[0]);
    for (size_t i = 0; i < nc; i++) {
        const Patrol__V1__Field *orig = cs[i].field ? field_get(x->e, cs[i].field) : NULL;
        char b2[64];
        cJSON *co = cJSON_CreateObject();
        cJSON_AddNumberToObject(co, "seq", (double)cs[i].c->seq);
        cJSON_AddStringToObject(co, "field", cs[i].field ? cs[i].field : "");
        if (orig)
            cJSON_AddStringToObject(co, "original", shown(t, orig, b2, sizeof b2));
        else
            cJSON_AddNullToObject(co, "original");
        cJSON_AddStringToObject(co, "corrected", shown_corr(t, x, &cs[i], buf, sizeof buf));
        cJSON_AddStringToObject(co, "reason", cs[i].reason ? cs[i].reason : "");
        cJSON_AddItemToArray(corrs, co);
    }
    if (strcmp(x->e->kind, "document.issue") == 0 || strcmp(x->e->kind, "document.deliver") == 0) {
        const char *did = x->e->kind[9] == 'i' ? created_id(x, 'D', id, sizeof id) : x->e->object;
        const st_idoc *d = doc_of(t, did);
        cJSON *dj = cJSON_AddObjectToObject(o, "document");
        cJSON_AddStringToObject(dj, "id", did);
        cJSON_AddBoolToObject(dj, "delivered", d && d->delivered);
        cJSON_AddItemToObject(dj, "issued", json_time(d ? d->issued_ms : 0));
        cJSON_AddItemToObject(dj, "delivered_time", json_time(d && d->delivered ? d->delivered_ms : 0));
        if (d && d->delivered) {
            cJSON_AddStringToObject(dj, "method", d->method);
            cJSON_AddNumberToObject(dj, "delivery_days", (double)delivery_days(d));
        } else {
            cJSON_AddNullToObject(dj, "method");
            cJSON_AddNullToObject(dj, "delivery_days");
        }
    } else if (strcmp(x->e->kind, "evidence.add") == 0) {
        const st_ievidence *v = evidence_of(t, x->device, x->seq);
        cJSON *ej = cJSON_AddObjectToObject(o, "evidence");
        cJSON_AddStringToObject(ej, "sha256", v ? v->sha256 : "");
        cJSON_AddStringToObject(ej, "kind", v ? v->kind : "");
        cJSON_AddNumberToObject(ej, "size", v ? (double)v->size : 0);
        cJSON_AddBoolToObject(ej, "held", v && v->complete);
    } else if (strcmp(x->e->kind, "action.revisit") == 0 ||
               strcmp(x->e->kind, "revisit.outcome") == 0) {
        const char *rid = x->e->kind[0] == 'a' ? created_id(x, 'R', id, sizeof id) : x->e->object;
        const st_irevisit *r = revisit_of(t, rid);
        cJSON *rj = cJSON_AddObjectToObject(o, "revisit");
        cJSON_AddStringToObject(rj, "id", rid);
        cJSON_AddBoolToObject(rj, "assigned", r && r->assigned);
        cJSON_AddStringToObject(rj, "due", r ? r->due : "");
        cJSON_AddStringToObject(rj, "outcome", r ? r->outcome : "");
    }
    flags = cJSON_AddArrayToObject(o, "flags");
    for (size_t i = 0; i < t->nflags; i++)
        if (t->flags[i].device == x->device && t->flags[i].seq == x->seq) {
            cJSON *fj = cJSON_CreateObject();
            cJSON_AddStringToObject(fj, "rule", t->flags[i].rule);
            cJSON_AddBoolToObject(fj, "flag_only", t->flags[i].flag_only);
            cJSON_AddStringToObject(fj, "detail", t->flags[i].detail);
            cJSON_AddItemToArray(flags, fj);
        }
    return o;
}

static void text_entry(timeline *t, const tl_entry *x)
{
    const px_kind_rule *k = px_rules_find(x->e->kind);
    char b1[40], b2[40], buf[64], id[64];
    corr cs[16];
    size_t nc;

    fmt_bj(x->e->wall_ms, b1, sizeof b1);
    fmt_bj(x->received_ms, b2, sizeof b2);
    putchar('\n');
    /* TRANSLATORS: an entry's head: device time (Beijing), device name
     * (device number) #entry number, kind code: what the kind is. */
    printf(_("%s  %s (device %lld) #%llu  %s: %s\n"), b1, device_name(t, x->device),
           (long long)x->device, (unsigned long long)x->seq, x->e->kind, k ? _(k->label) : "");
    if (x->received_ms > 0 && x->e->wall_ms > x->received_ms)
        line(_("received by the server %s (BEFORE the device time: the device clock was ahead)"),
             b2);
    else
        line(_("received by the server %s"), b2);
    if (x->not_before_ms) {
        char b3[40];
        fmt_bj(x->not_before_ms, b3, sizeof b3);
        if (x->e->wall_ms + BEHIND_MS < x->not_before_ms)
            /* TRANSLATORS: a time (Beijing), the size of the server log. */
            line(_("written after the server signed its log of %llu leaves at %s (BEFORE the "
                   "device time: the device clock was behind)"),
                 (unsigned long long)x->cite_size, b3);
        else
            line(_("written after the server signed its log of %llu leaves at %s"),
                 (unsigned long long)x->cite_size, b3);
    }
    if (x->e->location)
        /* TRANSLATORS: latitude, longitude (degrees), accuracy in metres. */
        line(_("place %.7f, %.7f (within %u m)"), (double)x->e->location->lat_e7 / 1e7,
             (double)x->e->location->lon_e7 / 1e7, x->e->location->accuracy_m);
    if (x->e->n_inspectors) {
        /* TRANSLATORS: before the list of an entry's inspectors. */
        printf("    %s", _("inspectors "));
        text_inspectors(t, (const char *const *)x->e->inspectors, x->e->n_inspectors, x->device);
        printf("\n");
    }
    for (size_t i = 0; i < x->e->n_fields; i++)
        line("%s: %s", x->e->fields[i]->name, shown(t, x->e->fields[i], buf, sizeof buf));
    if (x->e->corrects)
        line(_("corrects entry #%llu of this device"), (unsigned long long)x->e->corrects);
    nc = corrections_of(t, x, cs, sizeof cs / sizeof cs[0]);
    for (size_t i = 0; i < nc; i++) {
        const Patrol__V1__Field *orig = cs[i].field ? field_get(x->e, cs[i].field) : NULL;
        char b3[64];
        /* TRANSLATORS: a correction (补正) of this entry: the correcting
         * entry's number, the field (a code): old value -> new value, reason. */
        line(_("CORRECTED by #%llu: %s: %s -> %s (reason: %s)"), (unsigned long long)cs[i].c->seq,
             cs[i].field ? cs[i].field : "?", orig ? shown(t, orig, b3, sizeof b3) : _("(none)"),
             shown_corr(t, x, &cs[i], buf, sizeof buf), cs[i].reason ? cs[i].reason : "");
    }
    if (strcmp(x->e->kind, "document.issue") == 0) {
        const st_idoc *d = doc_of(t, created_id(x, 'D', id, sizeof id));
        if (d && d->delivered) {
            fmt_bj(d->delivered_ms, b1, sizeof b1);
            /* TRANSLATORS: document id, delivered at (Beijing time), how
             * (delivery method), calendar days from issue to delivery. */
            line(_("document %s delivered %s (%s), %ld day(s) after issue"), id, b1,
                 choice_text(d->method), delivery_days(d));
        } else {
            line(_("document %s NOT DELIVERED"), id);
        }
    } else if (strcmp(x->e->kind, "document.deliver") == 0) {
        const st_idoc *d = doc_of(t, x->e->object);
        if (d && d->delivered && d->deliver_device == x->device && d->deliver_seq == x->seq)
            line(_("delivers %s, %ld day(s) after issue"), d->id, delivery_days(d));
    } else if (strcmp(x->e->kind, "evidence.add") == 0) {
        const st_ievidence *v = evidence_of(t, x->device, x->seq);
        if (v)
            /* TRANSLATORS: kind of evidence (photo, audio ...), its size,
             * its SHA-256, whether the server holds the file. */
            line(_("evidence %s, %llu bytes, sha256 %s: %s"), choice_text(v->kind),
                 (unsigned long long)v->size, v->sha256,
                 v->complete ? _("held by the server") : _("NOT RECEIVED by the server"));
    } else if (strcmp(x->e->kind, "action.revisit") == 0 ||
               strcmp(x->e->kind, "revisit.outcome") == 0) {
        const char *rid = x->e->kind[0] == 'a' ? created_id(x, 'R', id, sizeof id) : x->e->object;
        const st_irevisit *r = revisit_of(t, rid);
        if (r)
            /* TRANSLATORS: revisit id, " (assigned)" or nothing, its due
             * date, its outcome (a code) or "none yet". */
            line(_("revisit %s%s: due %s, outcome %s"), rid, r->assigned ? _(" (assigned)") : "",
                 r->due[0] ? r->due : "-", r->outcome[0] ? choice_text(r->outcome) : _("none yet"));
    }
    for (size_t i = 0; i < t->nflags; i++)
        if (t->flags[i].device == x->device && t->flags[i].seq == x->seq)
            /* TRANSLATORS: a rule flag (规则标记) on this entry: the rule's
             * code, " (flag only)" or nothing, what it says (English). */
            line(_("FLAG %s%s: %s"), t->flags[i].rule,
                 t->flags[i].flag_only ? _(" (flag only)") : "",
                 t->flags[i].detail[0] ? _(t->flags[i].detail) : "");
}

/* ---- the matter's head ------------------------------------------------------- */

/* The next id of a comma-separated list at *p into out; 0 at the end. */
static int next_id(const char **p, char *out, size_t len)
{
    size_t k;
    if (!**p)
        return 0;
    k = strcspn(*p, ",");
    snprintf(out, len, "%.*s", (int)k, *p);
    *p += k + ((*p)[k] == ',');
    return 1;
}

static const char *application_code(int a)
{
    static const char *const codes[] = {"none", "filed", "changed", "withdrawn"};
    return a >= 0 && a <= 3 ? codes[a] : "?";
}

static cJSON *json_head(timeline *t, const st_isubject *sub, int have_sub)
{
    const st_imatter *m = &t->m;
    cJSON *o = cJSON_CreateObject(), *s, *ins;
    const char *p = m->inspectors;
    char id[64];

    cJSON_AddStringToObject(o, "id", m->id);
    cJSON_AddStringToObject(o, "state", m->state);
    cJSON_AddStringToObject(o, "department", m->department);
    cJSON_AddNumberToObject(o, "device", (double)m->device);
    cJSON_AddStringToObject(o, "device_name", device_name(t, m->device));
    s = cJSON_AddObjectToObject(o, "subject");
    cJSON_AddStringToObject(s, "id", m->subject);
    cJSON_AddStringToObject(s, "type", have_sub ? sub->type : "");
    cJSON_AddStringToObject(s, "name", have_sub ? sub->name : "");
    cJSON_AddStringToObject(o, "domain", m->domain);
    cJSON_AddStringToObject(o, "list_item", m->list_item);
    cJSON_AddStringToObject(o, "list_type", m->list_type);
    cJSON_AddStringToObject(o, "list_version", m->list_version);
    cJSON_AddStringToObject(o, "consent", m->consent);
    cJSON_AddStringToObject(o, "application", application_code(m->application));
    cJSON_AddBoolToObject(o, "on_application", m->on_application);
    cJSON_AddBoolToObject(o, "major", m->major);
    cJSON_AddBoolToObject(o, "technical", m->technical);
    cJSON_AddNumberToObject(o, "hearings", (double)m->hearings);
    cJSON_AddNumberToObject(o, "expert_opinions", (double)m->experts);
    cJSON_AddNumberToObject(o, "methods", (double)m->nmethods);
    cJSON_AddNumberToObject(o, "leaflets", (double)m->leaflets);
    cJSON_AddStringToObject(o, "close_reason", m->close_reason);
    cJSON_AddStringToObject(o, "case_no", m->case_no);
    cJSON_AddItemToObject(o, "opened", json_time(m->opened_ms));
    cJSON_AddItemToObject(o, "closed", json_time(m->closed_ms));
    ins = cJSON_AddArrayToObject(o, "inspectors");
    while (next_id(&p, id, sizeof id)) {
        st_iinspector in;
        cJSON *io = cJSON_CreateObject();
        cJSON_AddStringToObject(io, "id", id);
        if (t->db->ops->inspector_get(t->db, m->device, id, &in) == ST_OK) {
            cJSON_AddStringToObject(io, "name", in.name);
            cJSON_AddStringToObject(io, "cert_no", in.cert_no);
        } else {
            cJSON_AddNullToObject(io, "name");
            cJSON_AddNullToObject(io, "cert_no");
        }
        cJSON_AddItemToArray(ins, io);
    }
    return o;
}

static const char *yes_no(int b)
{
    return b ? _("yes") : _("no");
}

static void text_head(timeline *t, const st_isubject *sub, int have_sub)
{
    const st_imatter *m = &t->m;
    char b1[40], b2[40], idbuf[32][64];
    const char *ids[32], *p = m->inspectors;
    px_mstate st;
    size_t n = 0;

    fmt_bj(m->opened_ms, b1, sizeof b1);
    fmt_bj(m->closed_ms, b2, sizeof b2);
    /* TRANSLATORS: matter id: its state as people read it (its code). */
    printf(_("Matter %s: %s (%s)\n"), m->id,
           px_mstate_parse(m->state, &st) == 0 ? _(px_mstate_label(st)) : m->state, m->state);
    /* TRANSLATORS: department code, the device's name (device number), the
     * time it was opened (Beijing). */
    printf("  ");
    printf(_("department %s, opened on %s (device %lld) %s\n"), m->department,
           device_name(t, m->device), (long long)m->device, b1);
    if (m->closed_device) {
        printf("  ");
        printf(_("closed %s"), b2);
        if (m->close_reason[0])
            printf(_(", reason %s"), choice_text(m->close_reason));
        if (m->case_no[0])
            printf(_(", case %s"), m->case_no);
        putchar('\n');
    }
    printf("  ");
    /* TRANSLATORS: subject id, its name, its type (business, person). */
    printf(_("subject %s %s (%s)\n"), m->subject, have_sub ? sub->name : _("(not on record)"),
           have_sub ? choice_text(sub->type) : "?");
    printf("  ");
    printf(_("domain %s"), m->domain);
    if (m->list_item[0])
        /* TRANSLATORS: an item of the three lists (清单): its code, the
         * list's type (a code), the lists' version. */
        printf(_(", list item %s (%s, version %s)"), m->list_item, m->list_type, m->list_version);
    printf("\n  ");
    /* TRANSLATORS: the subject's answer (a choice value), whether an
     * application was filed (a code), major, technical (yes/no). */
    printf(_("consent %s, application %s, major %s, technical %s\n"),
           m->consent[0] ? choice_text(m->consent) : _("not answered"),
           application_code(m->application), yes_no(m->major), yes_no(m->technical));
    printf("  ");
    printf(_("methods %zu, documents %zu, revisits %zu, evidence files %zu, hearings %llu, expert"
             " opinions %llu, leaflets %llu\n"),
           m->nmethods, m->ndocs, m->nrevisits, m->nevidence, (unsigned long long)m->hearings,
           (unsigned long long)m->experts, (unsigned long long)m->leaflets);
    while (n < 32 && next_id(&p, idbuf[n], sizeof idbuf[n])) {
        ids[n] = idbuf[n];
        n++;
    }
    printf("  %s", _("inspectors "));
    text_inspectors(t, ids, n, m->device);
    printf("\n");
}

/* ---- the command --------------------------------------------------------------- */

/* Read matter's index row, its entries (in order, with their bounds) and
 * flags into t (t->db set). 0, 1 when there is no such matter, or -1 with
 * a sentence in t->err. */
static int load(timeline *t, const char *matter)
{
    switch (t->db->ops->matter_get(t->db, matter, &t->m)) {
    case ST_OK:
        break;
    case ST_NOTFOUND:
        return 1;
    default:
        snprintf(t->err, sizeof t->err, "%s", t->db->ops->errmsg(t->db));
        return -1;
    }
    if (t->db->ops->matter_entries(t->db, matter, entry_cb, t) != ST_OK) {
        snprintf(t->err, sizeof t->err, "%s", t->db->ops->errmsg(t->db));
        return -1;
    }
    if (t->failed)
        return -1;
    if (t->db->ops->flags_list(t->db, 0, matter, flag_cb, t) != ST_OK) {
        snprintf(t->err, sizeof t->err, "%s", t->db->ops->errmsg(t->db));
        return -1;
    }
    lower_bounds(t);
    if (t->n)
        qsort(t->es, t->n, sizeof *t->es, by_time);
    return 0;
}

static void release(timeline *t)
{
    for (size_t i = 0; i < t->n; i++)
        px_entry_free(t->es[i].e);
    free(t->es);
    free(t->flags);
    free(t->devs);
    st_imatter_release(&t->m);
}

/* The --json document: {matter, revealed, entries}. NULL if out of memory. */
static cJSON *json_doc(timeline *t, const st_isubject *sub, int have_sub)
{
    cJSON *root = cJSON_CreateObject(), *arr;
    if (!root)
        return NULL;
    cJSON_AddItemToObject(root, "matter", json_head(t, sub, have_sub));
    cJSON_AddBoolToObject(root, "revealed", t->reveal);
    arr = cJSON_AddArrayToObject(root, "entries");
    for (size_t i = 0; arr && i < t->n; i++)
        cJSON_AddItemToArray(arr, json_entry(t, &t->es[i]));
    if (!arr) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

cJSON *audit_timeline_json(st_backend *db, const char *matter, int reveal, int *notfound,
                           char *err, size_t errlen)
{
    timeline t;
    st_isubject sub;
    cJSON *root = NULL;
    int rc, have_sub;

    memset(&t, 0, sizeof t);
    t.db = db;
    t.json = 1;
    t.reveal = reveal;
    *notfound = 0;
    rc = load(&t, matter);
    if (rc == 0) {
        have_sub = t.m.subject[0] &&
                   db->ops->subject_get(db, t.m.subject_device, t.m.subject, &sub) == ST_OK;
        if (!(root = json_doc(&t, &sub, have_sub)))
            snprintf(err, errlen, "%s", _("out of memory"));
    } else if (rc == 1) {
        *notfound = 1;
        snprintf(err, errlen, _("no matter '%s' on this server"), matter);
    } else {
        snprintf(err, errlen, "%s", t.err);
    }
    release(&t);
    return root;
}

int audit_timeline(const char *data, int argc, char **argv)
{
    const char *matter = NULL, *why;
    timeline t;
    st_isubject sub;
    int rc = 1, have_sub = 0, loaded;

    memset(&t, 0, sizeof t);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            t.json = 1;
        else if (strcmp(argv[i], "--reveal") == 0)
            t.reveal = 1;
        else if (strcmp(argv[i], "--matter") == 0 && i + 1 < argc)
            matter = argv[++i];
        else if (strcmp(argv[i], "--matter") == 0)
            return audit_usage_error(CMD, "%s", _("--matter needs a matter id (M-<device>-<seq>)"));
        else
            return audit_usage_error(CMD, _("unexpected argument '%s'"), argv[i]);
    }
    if (!matter)
        return audit_usage_error(CMD, "%s", _("--matter ID is required"));
    if ((why = px_check_ident(matter)) || strncmp(matter, "M-", 2) != 0)
        return audit_fail(CMD, "--matter '%s': %s", matter,
                          why ? _(why) : _("not a matter id (M-<device>-<seq>, e.g. M-869d358d-5)"));
    if (!(t.db = audit_open(data, CMD)))
        return 1;
    loaded = load(&t, matter);
    if (loaded == 1) {
        audit_fail(CMD, _("no matter '%s' on this server"), matter);
        goto exit;
    }
    if (loaded != 0) {
        audit_fail(CMD, "%s", t.err);
        goto exit;
    }
    have_sub = t.m.subject[0] &&
               t.db->ops->subject_get(t.db, t.m.subject_device, t.m.subject, &sub) == ST_OK;
    /* The view is a leaf of the server log before anything is shown. */
    {
        char body[160];
        uint64_t leaf;
        snprintf(body, sizeof body, "%s\n%s\n", matter, t.reveal ? "revealed" : "redacted");
        if (audit_event(data, CMD, "view", body, NULL, &leaf) != 0)
            goto exit;
    }
    if (t.reveal)
        fprintf(stderr, _("patrold: audit timeline: confidential fields of %s are shown (--reveal)\n"),
                matter);
    if (t.json) {
        cJSON *root = json_doc(&t, &sub, have_sub);
        char *s = root ? cJSON_PrintUnformatted(root) : NULL;
        if (!s) {
            cJSON_Delete(root);
            audit_fail(CMD, "%s", _("out of memory"));
            goto exit;
        }
        cl_json_out(s);
        free(s);
        cJSON_Delete(root);
    } else {
        text_head(&t, &sub, have_sub);
        for (size_t i = 0; i < t.n; i++)
            text_entry(&t, &t.es[i]);
    }
    rc = 0;
exit:
    release(&t);
    t.db->ops->close(t.db);
    return rc;
}
