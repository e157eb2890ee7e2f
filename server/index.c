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

/* The mark shown instead of a confidential value. */
static const char *conf_mark(Patrol__V1__Confidentiality c)
{
    switch (c) {
    case PATROL__V1__CONFIDENTIALITY__CONF_STATE_SECRET:
        return "[state_secret]";
    case PATROL__V1__CONFIDENTIALITY__CONF_TRADE_SECRET:
        return "[trade_secret]";
    case PATROL__V1__CONFIDENTIALITY__CONF_PERSONAL_PRIVACY:
        return "[personal_privacy]";
    default:
        return NULL;
    }
}

/* A field's value, or its confidentiality mark if it has one; "" if
 * absent. */
static const char *open_value(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0) {
            const char *mark = conf_mark(e->fields[i]->confidential);
            return mark ? mark : e->fields[i]->value;
        }
    return "";
}

/* subject.add: its type and name as recorded (a confidential name as its
 * mark); the ID number never, only the key. */
static int index_subject(idx *x, int64_t device, const Patrol__V1__Entry *e, const char *key)
{
    st_isubject sub;
    memset(&sub, 0, sizeof sub);
    sub.device = device;
    sub.seq = e->seq;
    snprintf(sub.id, sizeof sub.id, "%s", e->object);
    snprintf(sub.type, sizeof sub.type, "%s", open_value(e, "type"));
    snprintf(sub.name, sizeof sub.name, "%s", open_value(e, "name"));
    snprintf(sub.key, sizeof sub.key, "%s", key);
    if (x->db->ops->subject_info_put(x->db, &sub) != ST_OK)
        return storage_fail(x, "index a subject");
    return ST_OK;
}

static int index_inspector(idx *x, int64_t device, const Patrol__V1__Entry *e)
{
    st_iinspector in;
    memset(&in, 0, sizeof in);
    in.device = device;
    in.seq = e->seq;
    snprintf(in.id, sizeof in.id, "%s", e->object);
    snprintf(in.name, sizeof in.name, "%s", open_value(e, "name"));
    snprintf(in.cert_no, sizeof in.cert_no, "%s", open_value(e, "cert_no"));
    if (x->db->ops->inspector_put(x->db, &in) != ST_OK)
        return storage_fail(x, "index an inspector");
    return ST_OK;
}

static int index_act_row(idx *x, int64_t device, const Patrol__V1__Entry *e)
{
    const char *dept = department_of(x, device);
    st_iact a;
    if (!dept)
        return ST_ERR;
    memset(&a, 0, sizeof a);
    snprintf(a.id, sizeof a.id, "%s", e->object);
    a.device = device;
    a.seq = e->seq;
    snprintf(a.kind, sizeof a.kind, "%s", e->kind);
    snprintf(a.domain, sizeof a.domain, "%s", open_value(e, "domain"));
    snprintf(a.department, sizeof a.department, "%s", dept);
    a.wall_ms = e->wall_ms;
    if (x->db->ops->act_put(x->db, &a) != ST_OK)
        return storage_fail(x, "index a department-level act");
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
        return index_subject(x, device, e, key);
    case PX_SCOPE_INSPECTOR:
        return index_inspector(x, device, e);
    case PX_SCOPE_ACT:
        if ((rc = index_act(x, device, e, now)) != ST_OK)
            return rc;
        return index_act_row(x, device, e);
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

/* The value of field `name` of entry i with the corrections of its
 * device that name it applied (the last one wins); NULL if none. */
static const char *eff_field(const loaded *l, size_t i, const char *name)
{
    const char *v = field_of(l->es[i], name);
    for (size_t j = i + 1; j < l->n; j++) {
        const Patrol__V1__Entry *c = l->es[j];
        const char *f;
        if (c->corrects == l->es[i]->seq && l->dev[j] == l->dev[i] &&
            strcmp(c->kind, "correction") == 0 && (f = field_of(c, "field")) &&
            strcmp(f, name) == 0 && field_of(c, "value"))
            v = field_of(c, "value");
    }
    return v;
}

/* Add id to the comma-separated list (once; what does not fit is left
 * out). */
static void add_inspector(char *list, size_t len, const char *id)
{
    size_t n = strlen(list), k = strlen(id);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t m = q ? (size_t)(q - p) : strlen(p);
        if (m == k && strncmp(p, id, k) == 0)
            return;
        p += m + (q != NULL);
    }
    if (n + k + 2 > len)
        return;
    if (n)
        list[n++] = ',';
    memcpy(list + n, id, k + 1);
}

/* The matter's index rows from its replay m over the entries l. */
static int put_matter(idx *x, const char *matter, const loaded *l, const px_matter *m)
{
    st_imatter im;
    size_t nmeth = 0, nev = 0, first = m->state == PX_MS_NEW ? 0 : m->open_index;
    const char *dept;
    int rc = ST_ERR;

    memset(&im, 0, sizeof im);
    if (!l->n)
        return ST_OK;
    for (size_t i = 0; i < l->n; i++) {
        nmeth += strncmp(l->es[i]->kind, "action.", 7) == 0;
        nev += strcmp(l->es[i]->kind, "evidence.add") == 0;
    }
    if ((nmeth && !(im.methods = calloc(nmeth, sizeof *im.methods))) ||
        (m->ndocs && !(im.docs = calloc(m->ndocs, sizeof *im.docs))) ||
        (m->nrevisits && !(im.revisits = calloc(m->nrevisits, sizeof *im.revisits))) ||
        (nev && !(im.evidence = calloc(nev, sizeof *im.evidence)))) {
        nomem(x);
        goto exit;
    }
    if (!(dept = department_of(x, l->dev[first])))
        goto exit;
    snprintf(im.id, sizeof im.id, "%s", matter);
    im.device = l->dev[first];
    snprintf(im.department, sizeof im.department, "%s", dept);
    snprintf(im.subject, sizeof im.subject, "%s", m->subject);
    im.subject_device = m->subject[0] ? m->subject_dev : 0;
    snprintf(im.domain, sizeof im.domain, "%s", m->domain);
    snprintf(im.list_item, sizeof im.list_item, "%s", m->list_item);
    snprintf(im.list_type, sizeof im.list_type, "%s", m->list_type);
    snprintf(im.list_version, sizeof im.list_version, "%s", m->list_version);
    snprintf(im.state, sizeof im.state, "%s", px_mstate_code(m->state));
    snprintf(im.consent, sizeof im.consent, "%s", m->consent);
    im.application = m->application;
    im.on_application = m->on_application;
    im.major = m->major;
    im.technical = m->technical;
    im.hearings = m->hearings;
    im.experts = m->experts;
    im.leaflets = m->leaflets;
    snprintf(im.close_reason, sizeof im.close_reason, "%s", m->close_reason);
    snprintf(im.case_no, sizeof im.case_no, "%s", m->case_no);
    if (m->state != PX_MS_NEW) {
        im.opened_seq = l->es[m->open_index]->seq;
        im.opened_ms = l->es[m->open_index]->wall_ms;
    }
    for (size_t i = 0; i < l->n; i++) {
        const Patrol__V1__Entry *e = l->es[i];
        for (size_t k = 0; k < e->n_inspectors; k++)
            add_inspector(im.inspectors, sizeof im.inspectors, e->inspectors[k]);
        if (px_mstate_closed(m->state) && !im.closed_device &&
            strcmp(e->kind, "matter.close") == 0) {
            im.closed_device = l->dev[i];
            im.closed_seq = e->seq;
            im.closed_ms = e->wall_ms;
        }
        if (strncmp(e->kind, "action.", 7) == 0) {
            st_imethod *t = &im.methods[im.nmethods++];
            snprintf(t->kind, sizeof t->kind, "%s", e->kind);
            t->device = l->dev[i];
            t->seq = e->seq;
            t->wall_ms = e->wall_ms;
        } else if (strcmp(e->kind, "evidence.add") == 0) {
            st_ievidence *v = &im.evidence[im.nevidence++];
            const char *size = field_of(e, "size"), *kind = eff_field(l, i, "kind");
            snprintf(v->sha256, sizeof v->sha256, "%s", field_of(e, "sha256") ? field_of(e, "sha256") : "");
            snprintf(v->kind, sizeof v->kind, "%s", kind ? kind : "");
            v->size = size ? strtoull(size, NULL, 10) : 0;
            v->device = l->dev[i];
            v->seq = e->seq;
            v->wall_ms = e->wall_ms;
        }
    }
    for (size_t i = 0; i < m->ndocs; i++) {
        const px_mdoc *d = &m->docs[i];
        st_idoc *t = &im.docs[im.ndocs++];
        snprintf(t->id, sizeof t->id, "%s", d->id);
        t->device = l->dev[d->index];
        t->seq = l->es[d->index]->seq;
        t->issued_ms = l->es[d->index]->wall_ms;
        if ((t->delivered = d->delivered)) {
            const char *method = eff_field(l, d->delivered_index, "method");
            t->deliver_device = l->dev[d->delivered_index];
            t->deliver_seq = l->es[d->delivered_index]->seq;
            t->delivered_ms = l->es[d->delivered_index]->wall_ms;
            snprintf(t->method, sizeof t->method, "%s", method ? method : "");
        }
    }
    for (size_t i = 0; i < m->nrevisits; i++) {
        const px_mrevisit *r = &m->revisits[i];
        st_irevisit *t = &im.revisits[im.nrevisits++];
        snprintf(t->id, sizeof t->id, "%s", r->id);
        t->assigned = strcmp(l->es[r->index]->kind, "action.revisit") != 0;
        t->device = l->dev[r->index];
        t->seq = l->es[r->index]->seq;
        snprintf(t->follows, sizeof t->follows, "%s", r->follows);
        snprintf(t->due, sizeof t->due, "%s", r->due);
        snprintf(t->outcome, sizeof t->outcome, "%s", r->outcome);
        if (r->outcome[0]) {
            t->outcome_device = l->dev[r->outcome_index];
            t->outcome_seq = l->es[r->outcome_index]->seq;
            t->outcome_ms = l->es[r->outcome_index]->wall_ms;
        }
    }
    if (x->db->ops->matter_put(x->db, &im) != ST_OK)
        storage_fail(x, "index a matter");
    else
        rc = ST_OK;
exit:
    st_imatter_release(&im);
    return rc;
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
    rc = put_matter(x, matter, &l, &m);
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
    if ((rc = db->ops->index_clear(db)) != ST_OK) {
        storage_fail(x, "empty the index");
        goto exit;
    }
    rc = db->ops->entries_each(db, rebuild_cb, &r);
    if (rc != ST_OK)
        storage_fail(x, "read the entries");
    else if ((rc = r.rc) == ST_OK)
        rc = idx_finish(x, r.now, &nflags);
    if (rc == ST_OK && (rc = db->ops->index_rebuilt(db)) != ST_OK)
        storage_fail(x, "keep the flags' first times");
exit:
    if (rc != ST_OK)
        snprintf(err, errlen, "re-indexing the entries held: %s", x->err);
    idx_free(x);
    return rc;
}

/* ---- patrold --data DIR reindex ---------------------------------------------- */

int idx_reindex_main(const char *data, int argc, char **argv)
{
    char err[512], *path;
    size_t n;
    st_backend *db = NULL;
    struct timespec t0, t1;
    int rc = 1;

    if (argc > 0) {
        fprintf(stderr, "patrold: reindex: unexpected argument '%s' (it takes none)\n", argv[0]);
        return 2;
    }
    n = strlen(data) + sizeof "/patrold.db";
    if (!(path = malloc(n))) {
        fprintf(stderr, "patrold: reindex: out of memory\n");
        return 1;
    }
    snprintf(path, n, "%s/patrold.db", data);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Not ST_OPEN_CREATE: reindexing an empty directory is a mistake. An
     * older schema is upgraded (and so indexed) by the open itself. */
    if (!(db = st_sqlite_open(path, 0, err, sizeof err))) {
        fprintf(stderr, "patrold: reindex: %s\n", err);
        goto exit;
    }
    if (db->ops->begin(db) != ST_OK) {
        fprintf(stderr, "patrold: reindex: %s\n", db->ops->errmsg(db));
        goto exit;
    }
    if (idx_rebuild(db, err, sizeof err) != ST_OK) {
        db->ops->rollback(db);
        fprintf(stderr, "patrold: reindex: %s; the index is as it was\n", err);
        goto exit;
    }
    if (db->ops->commit(db) != ST_OK) {
        fprintf(stderr, "patrold: reindex: commit: %s; the index is as it was\n",
                db->ops->errmsg(db));
        goto exit;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("index rebuilt from the entries in %lld ms\n",
           (long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    rc = 0;
exit:
    if (db)
        db->ops->close(db);
    free(path);
    return rc;
}
