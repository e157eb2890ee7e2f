/* index.c -- patrold's index of matters and its rule flags (index.h,
 * docs/server.md "Index and rule flags"). Storage only through st_ops. */
#include "index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "entry.h"
#include "matter.h"
#include "rules.h"
#include "validate.h"

#define ID_MAX (PX_IDENT_MAX + 1) /* an object id ("M-<dev8>-<seq>", at most an identifier) */

typedef struct dev_dept {
    int64_t id;
    char department[64];
} dev_dept;

struct idx {
    st_backend *db;
    /* reference data: the latest Reference, decoded on first need */
    int ref_loaded;
    Patrol__V1__Reference *ref;
    px_mref mref;
    /* departments of the devices seen (each allocated once: px_mentry
     * keeps pointers to them) */
    dev_dept **devs;
    size_t ndevs, capdevs;
    /* matters touched since the last idx_finish */
    char **touched;
    size_t ntouched, captouched;
    /* a storage error met inside a px_mref hook */
    int hook_failed;
    char err[256];
};

/* ---- helpers ------------------------------------------------------------- */

static const char *field_of(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0)
            return e->fields[i]->value;
    return NULL;
}

static int storage_fail(idx *x, const char *what)
{
    snprintf(x->err, sizeof x->err, "%s: %s", what, x->db->ops->errmsg(x->db));
    return ST_ERR;
}

static int nomem(idx *x)
{
    snprintf(x->err, sizeof x->err, "out of memory");
    return ST_ERR;
}

void idx_subject_key(const Patrol__V1__Entry *e, char key[65])
{
    const char *v = field_of(e, "credit_code");
    uint8_t h[PX_HASH_LEN];
    if (!v || !*v)
        v = field_of(e, "id_number");
    if (!v || !*v) {
        key[0] = '\0';
        return;
    }
    px_sha256(v, strlen(v), h);
    px_format_hex(h, PX_HASH_LEN, key);
}

/* The department of a device (cached; valid until idx_free); "" if the
 * device is unknown; NULL with x->err set on failure. */
static const char *department_of(idx *x, int64_t device)
{
    st_device d;
    dev_dept *dd;
    int rc;
    for (size_t i = 0; i < x->ndevs; i++)
        if (x->devs[i]->id == device)
            return x->devs[i]->department;
    if (x->ndevs == x->capdevs) {
        size_t cap = x->capdevs ? 2 * x->capdevs : 8;
        dev_dept **n = realloc(x->devs, cap * sizeof *n);
        if (!n) {
            nomem(x);
            return NULL;
        }
        x->devs = n;
        x->capdevs = cap;
    }
    if (!(dd = calloc(1, sizeof *dd))) {
        nomem(x);
        return NULL;
    }
    dd->id = device;
    if ((rc = x->db->ops->device_get(x->db, device, &d)) == ST_OK) {
        snprintf(dd->department, sizeof dd->department, "%s", d.department);
    } else if (rc != ST_NOTFOUND) {
        free(dd);
        storage_fail(x, "read a device");
        return NULL;
    }
    x->devs[x->ndevs++] = dd;
    return dd->department;
}

static int touch(idx *x, const char *matter)
{
    char *s;
    /* A batch's entries mostly come matter by matter: skip the repeat of
     * the last one here; idx_finish drops the other repeats. */
    if (x->ntouched && strcmp(x->touched[x->ntouched - 1], matter) == 0)
        return ST_OK;
    if (x->ntouched == x->captouched) {
        size_t cap = x->captouched ? 2 * x->captouched : 16;
        char **n = realloc(x->touched, cap * sizeof *n);
        if (!n)
            return nomem(x);
        x->touched = n;
        x->captouched = cap;
    }
    if (!(s = strdup(matter)))
        return nomem(x);
    x->touched[x->ntouched++] = s;
    return ST_OK;
}

/* ---- reference data hooks (px_mref) --------------------------------------- */

static int ref_domain(void *ud, const char *code)
{
    const Patrol__V1__Reference *r = ((idx *)ud)->ref;
    for (size_t i = 0; i < r->n_domains; i++)
        if (strcmp(r->domains[i]->code, code) == 0)
            return r->domains[i]->flexible && !px_domain_excluded(code) ? 1 : -1;
    return 0;
}

static const Patrol__V1__Department *department_find(const Patrol__V1__Reference *r,
                                                     const char *code)
{
    for (size_t i = 0; i < r->n_departments; i++)
        if (strcmp(r->departments[i]->code, code) == 0)
            return r->departments[i];
    return NULL;
}

static int ref_holds(void *ud, const char *department, const char *domain)
{
    const Patrol__V1__Department *d = department_find(((idx *)ud)->ref, department);
    if (!d)
        return -1;
    for (size_t i = 0; i < d->n_domains; i++)
        if (strcmp(d->domains[i], domain) == 0)
            return 1;
    return 0;
}

static int ref_department_known(void *ud, const char *code)
{
    return department_find(((idx *)ud)->ref, code) != NULL;
}

static int ref_item(void *ud, const char *code, px_mitem *out)
{
    const Patrol__V1__Reference *r = ((idx *)ud)->ref;
    for (size_t i = 0; i < r->n_list_items; i++) {
        const Patrol__V1__ListItem *it = r->list_items[i];
        if (strcmp(it->code, code) != 0)
            continue;
        memset(out, 0, sizeof *out);
        snprintf(out->domain, sizeof out->domain, "%s", it->domain);
        snprintf(out->category, sizeof out->category, "%s", it->category);
        snprintf(out->list_type, sizeof out->list_type, "%s", it->list_type);
        snprintf(out->list_version, sizeof out->list_version, "%s", it->list_version);
        return 0;
    }
    return -1;
}

static int ref_leaflet(void *ud, const char *code)
{
    const Patrol__V1__Reference *r = ((idx *)ud)->ref;
    for (size_t i = 0; i < r->n_leaflets; i++)
        if (strcmp(r->leaflets[i]->code, code) == 0)
            return 1;
    return 0;
}

/* The matter of a revisit the server assigned (reference data), or NULL. */
static const char *assigned_matter(const Patrol__V1__Reference *r, const char *revisit)
{
    for (size_t i = 0; r && i < r->n_revisits; i++)
        if (strcmp(r->revisits[i]->id, revisit) == 0)
            return r->revisits[i]->matter;
    return NULL;
}

static int ref_assigned(void *ud, const char *revisit, const char *matter)
{
    const char *m = assigned_matter(((idx *)ud)->ref, revisit);
    return m && strcmp(m, matter) == 0;
}

/* A storage error inside a hook cannot be returned through px_mref: it is
 * noted, the hook answers so that nothing is flagged for it, and
 * idx_finish fails the batch. */
static int hook_error(idx *x, const char *what)
{
    if (!x->hook_failed) {
        x->hook_failed = 1;
        storage_fail(x, what);
    }
    return 1;
}

static int ref_subject(void *ud, int dev, const char *subject)
{
    idx *x = ud;
    char key[65];
    int rc = x->db->ops->subject_key(x->db, dev, subject, key);
    if (rc == ST_OK)
        return 1;
    if (rc == ST_NOTFOUND)
        return 0;
    return hook_error(x, "look up a subject");
}

static int ref_cited(void *ud, int dev, const char *matter, const char *subject, const char *item,
                     char *other, size_t len)
{
    idx *x = ud;
    char key[65];
    int rc = x->db->ops->subject_key(x->db, dev, subject, key);
    if (rc == ST_NOTFOUND || (rc == ST_OK && !key[0]))
        return 0;
    if (rc != ST_OK) {
        hook_error(x, "look up a subject");
        return 0;
    }
    rc = x->db->ops->citation_other(x->db, key, item, matter, other, len);
    if (rc == ST_OK)
        return 1;
    if (rc != ST_NOTFOUND)
        hook_error(x, "look up citations");
    return 0;
}

/* The hooks, from the latest Reference (decoded once per idx). A hook
 * whose data the Reference lacks (no departments yet, say) stays NULL:
 * that check is skipped rather than failing every entry. */
static int load_reference(idx *x)
{
    uint64_t version;
    uint8_t *blob = NULL;
    size_t len;
    int rc;

    if (x->ref_loaded)
        return ST_OK;
    memset(&x->mref, 0, sizeof x->mref);
    x->mref.ud = x;
    x->mref.subject = ref_subject;
    x->mref.cited = ref_cited;
    rc = x->db->ops->reference_latest(x->db, &version, &blob, &len);
    if (rc == ST_OK) {
        x->ref = patrol__v1__reference__unpack(NULL, len, blob);
        free(blob);
        if (!x->ref) {
            snprintf(x->err, sizeof x->err, "stored reference data version %llu is damaged",
                     (unsigned long long)version);
            return ST_ERR;
        }
    } else if (rc != ST_NOTFOUND) {
        return storage_fail(x, "read reference data");
    }
    if (x->ref) {
        if (x->ref->n_domains)
            x->mref.domain = ref_domain;
        if (x->ref->n_departments) {
            x->mref.holds = ref_holds;
            x->mref.department_known = ref_department_known;
        }
        if (x->ref->n_list_items)
            x->mref.item = ref_item;
        if (x->ref->n_leaflets)
            x->mref.leaflet = ref_leaflet;
        if (x->ref->n_revisits)
            x->mref.assigned = ref_assigned;
    }
    x->ref_loaded = 1;
    return ST_OK;
}

/* ---- the index ------------------------------------------------------------ */

idx *idx_new(st_backend *db)
{
    idx *x = calloc(1, sizeof *x);
    if (x)
        x->db = db;
    return x;
}

void idx_free(idx *x)
{
    if (!x)
        return;
    if (x->ref)
        patrol__v1__reference__free_unpacked(x->ref, NULL);
    for (size_t i = 0; i < x->ntouched; i++)
        free(x->touched[i]);
    free(x->touched);
    for (size_t i = 0; i < x->ndevs; i++)
        free(x->devs[i]);
    free(x->devs);
    free(x);
}

const char *idx_errmsg(const idx *x)
{
    return x->err;
}

/* A department-level act: checked alone, its flag kept as found. */
static int index_act(idx *x, int64_t device, const Patrol__V1__Entry *e, int64_t now)
{
    px_mentry me = {e, (int)device, department_of(x, device)};
    px_finding f;
    st_flag fl;
    int rc;

    if (!me.department)
        return ST_ERR;
    if ((rc = load_reference(x)) != ST_OK)
        return rc;
    if (px_act_check(&me, &x->mref, &f) != 1)
        return x->hook_failed ? ST_ERR : ST_OK;
    if (x->hook_failed)
        return ST_ERR;
    fl = (st_flag){device, e->seq, f.rule, f.flag_only, f.detail, ""};
    if (x->db->ops->flag_add(x->db, &fl, now) != ST_OK)
        return storage_fail(x, "store a rule flag");
    return ST_OK;
}

int idx_entry(idx *x, int64_t device, const Patrol__V1__Entry *e, int64_t now)
{
    const st_ops *o = x->db->ops;
    const px_kind_rule *k = px_rules_find(e->kind);
    char matter[ID_MAX], id[ID_MAX], key[65];
    int rc;

    if (!k)
        return ST_OK; /* not stored: the rules table refused it */
    switch (k->scope) {
    case PX_SCOPE_SUBJECT:
        idx_subject_key(e, key);
        if (o->subject_put(x->db, device, e->object, key) != ST_OK)
            return storage_fail(x, "index a subject");
        return ST_OK;
    case PX_SCOPE_ACT:
        return index_act(x, device, e, now);
    case PX_SCOPE_MATTER:
    case PX_SCOPE_ENTRY:
        snprintf(matter, sizeof matter, "%s", e->object);
        break;
    case PX_SCOPE_DOCUMENT:
    case PX_SCOPE_REVISIT:
        rc = o->object_matter(x->db, e->object, matter, sizeof matter);
        if (rc == ST_NOTFOUND && k->scope == PX_SCOPE_REVISIT &&
            load_reference(x) == ST_OK && assigned_matter(x->ref, e->object)) {
            /* A revisit the server assigned: its matter is the assignment's. */
            snprintf(matter, sizeof matter, "%s", assigned_matter(x->ref, e->object));
            rc = ST_OK;
        }
        if (rc == ST_NOTFOUND) {
            /* No stored entry created it: there is no matter to replay
             * this entry in. Flagged on its own. */
            char detail[200];
            st_flag fl;
            snprintf(detail, sizeof detail, "%s names %s %s, which no stored entry created",
                     e->kind, k->scope == PX_SCOPE_DOCUMENT ? "document" : "revisit", e->object);
            fl = (st_flag){device, e->seq, "unknown_object", 0, detail, ""};
            if (o->flag_add(x->db, &fl, now) != ST_OK)
                return storage_fail(x, "store a rule flag");
            return ST_OK;
        }
        if (rc != ST_OK)
            return storage_fail(x, "look up a document or revisit");
        break;
    default:
        return ST_OK; /* device.init, inspector.add: no matter */
    }
    if (o->matter_entry_add(x->db, matter, device, e->seq) != ST_OK)
        return storage_fail(x, "index an entry of a matter");
    if (strcmp(e->kind, "document.issue") == 0 || strcmp(e->kind, "action.revisit") == 0) {
        px_object_id(e, e->kind[0] == 'd' ? 'D' : 'R', id, sizeof id);
        if (o->object_put(x->db, id, matter) != ST_OK)
            return storage_fail(x, "index a document or revisit");
    }
    if (strcmp(e->kind, "matter.open") == 0) {
        /* County-wide first violation: who cited which item for whom, in
         * the order the server learnt it (GET /v1/citations). */
        const char *item = field_of(e, "list_item"), *subject = field_of(e, "subject");
        if (item && subject) {
            rc = o->subject_key(x->db, device, subject, key);
            if (rc != ST_OK && rc != ST_NOTFOUND)
                return storage_fail(x, "look up a subject");
            if (rc == ST_OK && key[0] &&
                o->citation_add(x->db, key, item, matter, device) != ST_OK)
                return storage_fail(x, "record a citation");
        }
    }
    return touch(x, matter);
}

/* One matter's entries, decoded. */
typedef struct loaded {
    idx *x;
    px_mentry *me;
    Patrol__V1__Entry **es;
    int64_t *dev;
    size_t n, cap;
    int failed;
} loaded;

static int load_cb(void *ud, int64_t device, uint64_t seq, const uint8_t *entry, size_t len)
{
    loaded *l = ud;
    const char *why;
    Patrol__V1__Entry *e;
    (void)seq;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        px_mentry *me = realloc(l->me, cap * sizeof *me);
        Patrol__V1__Entry **es = me ? realloc(l->es, cap * sizeof *es) : NULL;
        int64_t *dev = es ? realloc(l->dev, cap * sizeof *dev) : NULL;
        if (me)
            l->me = me;
        if (es)
            l->es = es;
        if (!dev) {
            l->failed = nomem(l->x);
            return 1;
        }
        l->dev = dev;
        l->cap = cap;
    }
    if (!(e = px_entry_decode(entry, len, &why))) {
        /* Stored entries decoded when they came in: this is damage. */
        snprintf(l->x->err, sizeof l->x->err, "stored entry %lld/%llu does not decode: %s",
                 (long long)device, (unsigned long long)seq, why);
        l->failed = ST_ERR;
        return 1;
    }
    l->es[l->n] = e;
    l->dev[l->n] = device;
    l->me[l->n] = (px_mentry){e, (int)device, department_of(l->x, device)};
    l->n++;
    if (!l->me[l->n - 1].department) {
        l->failed = ST_ERR;
        return 1;
    }
    return 0;
}

/* Replay one matter and replace its flags. */
static int replay_matter(idx *x, const char *matter, int64_t now, size_t *nflags)
{
    loaded l;
    px_matter m;
    st_flag *fl = NULL;
    int rc;

    memset(&l, 0, sizeof l);
    l.x = x;
    px_matter_init(&m);
    if (x->db->ops->matter_entries(x->db, matter, load_cb, &l) != ST_OK) {
        rc = storage_fail(x, "read a matter's entries");
        goto exit;
    }
    if ((rc = l.failed) != ST_OK)
        goto exit;
    if (px_matter_replay(&m, l.me, l.n, &x->mref) != 0) {
        rc = nomem(x);
        goto exit;
    }
    if (x->hook_failed) {
        rc = ST_ERR;
        goto exit;
    }
    if (m.nfindings && !(fl = calloc(m.nfindings, sizeof *fl))) {
        rc = nomem(x);
        goto exit;
    }
    for (size_t i = 0; i < m.nfindings; i++) {
        const px_finding *f = &m.findings[i];
        fl[i] = (st_flag){l.dev[f->index], l.es[f->index]->seq, f->rule, f->flag_only, f->detail,
                          matter};
    }
    if (x->db->ops->flags_replace(x->db, matter, fl, m.nfindings, now) != ST_OK) {
        rc = storage_fail(x, "store rule flags");
        goto exit;
    }
    *nflags += m.nfindings;
    rc = ST_OK;
exit:
    free(fl);
    px_matter_free(&m);
    for (size_t i = 0; i < l.n; i++)
        px_entry_free(l.es[i]);
    free(l.es);
    free(l.me);
    free(l.dev);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int idx_finish(idx *x, int64_t now, size_t *flags)
{
    size_t nflags = 0;
    int rc = ST_OK;

    if (x->ntouched == 0) {
        if (flags)
            *flags = 0;
        return ST_OK; /* a batch of subjects or inspectors only: no matter */
    }
    if ((rc = load_reference(x)) != ST_OK)
        return rc;
    qsort(x->touched, x->ntouched, sizeof *x->touched, cmp_str);
    for (size_t i = 0; i < x->ntouched && rc == ST_OK; i++)
        if (i == 0 || strcmp(x->touched[i], x->touched[i - 1]) != 0)
            rc = replay_matter(x, x->touched[i], now, &nflags);
    for (size_t i = 0; i < x->ntouched; i++)
        free(x->touched[i]);
    x->ntouched = 0;
    if (flags)
        *flags = nflags;
    return rc;
}

/* ---- re-indexing ----------------------------------------------------------- */

typedef struct rebuild {
    idx *x;
    int64_t now;
    int rc;
    uint64_t entries;
} rebuild;

static int rebuild_cb(void *ud, int64_t device, uint64_t seq, const uint8_t *entry, size_t len)
{
    rebuild *r = ud;
    const char *why;
    Patrol__V1__Entry *e = px_entry_decode(entry, len, &why);
    if (!e) {
        snprintf(r->x->err, sizeof r->x->err, "stored entry %lld/%llu does not decode: %s",
                 (long long)device, (unsigned long long)seq, why);
        r->rc = ST_ERR;
        return 1;
    }
    r->rc = idx_entry(r->x, device, e, r->now);
    px_entry_free(e);
    r->entries++;
    return r->rc != ST_OK;
}

int idx_rebuild(st_backend *db, char *err, size_t errlen)
{
    idx *x = idx_new(db);
    rebuild r;
    size_t nflags = 0;
    struct timespec t;
    int rc;

    if (!x) {
        snprintf(err, errlen, "re-indexing: out of memory");
        return ST_ERR;
    }
    /* The flags' time: when the upgrade found them. */
    clock_gettime(CLOCK_REALTIME, &t);
    r = (rebuild){x, (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000, ST_OK, 0};
    rc = db->ops->entries_each(db, rebuild_cb, &r);
    if (rc != ST_OK)
        storage_fail(x, "read the entries");
    else if ((rc = r.rc) == ST_OK)
        rc = idx_finish(x, r.now, &nflags);
    if (rc != ST_OK)
        snprintf(err, errlen, "re-indexing the entries held: %s", x->err);
    idx_free(x);
    return rc;
}
