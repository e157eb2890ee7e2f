/* refjson.c -- a reference file (JSON, the shape of
 * tests/data/reference-sample.json) converted into the Reference message
 * that `patrold lists import` stores and terminals pull. Prefix conv_ inside,
 * refjson_ outside (refjson.h). */
#include "refjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "reference.h"
#include "validate.h"

/* Converting a reference file (the shape of tests/data/reference-sample.json,
 * docs/record.md "Reference data") into a Reference message. The JSON's
 * shape is checked here (every key known, each present with its type) and
 * the values by px_reference_check, the rules the terminal applies too.
 * A problem is a sentence naming its place in the file, e.g.
 * "departments[2].domains[0]: unknown domain 'xyz'". */
typedef struct refconv {
    char *why;
    size_t len;
    size_t *item_list, *item_index; /* list_items[k] came from lists[..].items[..] */
} refconv;

static int conv_fail(refconv *c, const char *path, const char *what)
{
    if (path[0])
        snprintf(c->why, c->len, "%s: %s", path, what);
    else
        snprintf(c->why, c->len, "%s", what);
    return -1;
}

static int conv_nomem(refconv *c)
{
    snprintf(c->why, c->len, "%s", _("out of memory"));
    return -1;
}

/* o must be an object whose keys are all in allowed (NULL-terminated),
 * each at most once. */
static int conv_keys(refconv *c, const cJSON *o, const char *path, const char *const *allowed)
{
    const cJSON *x, *y;
    char what[160];
    if (!cJSON_IsObject(o))
        return conv_fail(c, path, _("not a JSON object"));
    cJSON_ArrayForEach(x, o)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], x->string) != 0)
            i++;
        if (!allowed[i]) {
            snprintf(what, sizeof what, _("unknown key '%.64s'"), x->string);
            return conv_fail(c, path, what);
        }
        for (y = o->child; y != x; y = y->next)
            if (strcmp(y->string, x->string) == 0) {
                snprintf(what, sizeof what, _("key '%.64s' appears twice"), x->string);
                return conv_fail(c, path, what);
            }
    }
    return 0;
}

/* Copy the string o[k] (malloc'd) into *out. Absent: an error if
 * required, else *out stays as it is (protobuf-c's empty default). */
static int conv_str(refconv *c, const cJSON *o, const char *path, const char *k, int required,
                    char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    char where[128];
    snprintf(where, sizeof where, "%s%s%s", path, path[0] ? "." : "", k);
    if (!v && !required)
        return 0;
    if (!v)
        return conv_fail(c, where, _("missing"));
    if (!cJSON_IsString(v))
        return conv_fail(c, where, _("not a string"));
    if (!required && !v->valuestring[0]) /* an optional value, when given, is not empty */
        return conv_fail(c, where, _("empty (leave the key out instead)"));
    if (!(*out = strdup(v->valuestring)))
        return conv_nomem(c);
    return 0;
}

/* o[k] must be an array (or absent, when not required: *n = 0). */
static int conv_array(refconv *c, const cJSON *o, const char *path, const char *k, int required,
                      const cJSON **arr, size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    char where[128];
    snprintf(where, sizeof where, "%s%s%s", path, path[0] ? "." : "", k);
    *arr = NULL;
    *n = 0;
    if (!v && !required)
        return 0;
    if (!v)
        return conv_fail(c, where, _("missing (an array is required)"));
    if (!cJSON_IsArray(v))
        return conv_fail(c, where, _("not an array"));
    *arr = v;
    *n = (size_t)cJSON_GetArraySize(v);
    return 0;
}

/* A repeated string field from the array o[k] (required). */
static int conv_strings(refconv *c, const cJSON *o, const char *path, const char *k, char ***out,
                        size_t *n_out)
{
    const cJSON *arr, *x;
    size_t n, i = 0;
    char where[128];
    if (conv_array(c, o, path, k, 1, &arr, &n))
        return -1;
    if (!(*out = calloc(n + 1, sizeof **out)))
        return conv_nomem(c);
    cJSON_ArrayForEach(x, arr)
    {
        snprintf(where, sizeof where, "%s.%s[%zu]", path, k, i);
        if (!cJSON_IsString(x))
            return conv_fail(c, where, _("not a string"));
        if (!((*out)[i] = strdup(x->valuestring)))
            return conv_nomem(c);
        *n_out = ++i;
    }
    return 0;
}

/* Allocate a repeated message field of n elements (counted as they are
 * added, so a half-built message frees cleanly). */
#define CONV_ALLOC(arr, n)                                                                         \
    do {                                                                                           \
        if (!((arr) = calloc((n) + 1, sizeof *(arr))))                                             \
            return conv_nomem(c);                                                                  \
    } while (0)
#define CONV_NEW(var, init)                                                                        \
    do {                                                                                           \
        if (!((var) = malloc(sizeof *(var))))                                                      \
            return conv_nomem(c);                                                                  \
        init(var);                                                                                 \
    } while (0)

static int conv_domains(refconv *c, const cJSON *j, Patrol__V1__Reference *r)
{
    static const char *const keys[] = {"code", "name", "flexible", NULL};
    const cJSON *arr, *x;
    size_t n;
    char path[64];
    if (conv_array(c, j, "", "domains", 1, &arr, &n))
        return -1;
    CONV_ALLOC(r->domains, n);
    cJSON_ArrayForEach(x, arr)
    {
        Patrol__V1__Domain *d;
        const cJSON *fl;
        snprintf(path, sizeof path, "domains[%zu]", r->n_domains);
        if (conv_keys(c, x, path, keys))
            return -1;
        CONV_NEW(d, patrol__v1__domain__init);
        r->domains[r->n_domains++] = d;
        if (conv_str(c, x, path, "code", 1, &d->code) || conv_str(c, x, path, "name", 1, &d->name))
            return -1;
        fl = cJSON_GetObjectItemCaseSensitive(x, "flexible");
        if (!cJSON_IsBool(fl)) {
            snprintf(path, sizeof path, "domains[%zu].flexible", r->n_domains - 1);
            return conv_fail(c, path, fl ? _("not true or false") : _("missing"));
        }
        d->flexible = cJSON_IsTrue(fl);
    }
    return 0;
}

static int conv_departments(refconv *c, const cJSON *j, Patrol__V1__Reference *r)
{
    static const char *const keys[] = {"code", "name", "domains", NULL};
    const cJSON *arr, *x;
    size_t n;
    char path[64];
    if (conv_array(c, j, "", "departments", 1, &arr, &n))
        return -1;
    CONV_ALLOC(r->departments, n);
    cJSON_ArrayForEach(x, arr)
    {
        Patrol__V1__Department *d;
        snprintf(path, sizeof path, "departments[%zu]", r->n_departments);
        if (conv_keys(c, x, path, keys))
            return -1;
        CONV_NEW(d, patrol__v1__department__init);
        r->departments[r->n_departments++] = d;
        if (conv_str(c, x, path, "code", 1, &d->code) ||
            conv_str(c, x, path, "name", 1, &d->name) ||
            conv_strings(c, x, path, "domains", &d->domains, &d->n_domains))
            return -1;
    }
    return 0;
}

static int conv_lists(refconv *c, const cJSON *j, Patrol__V1__Reference *r)
{
    static const char *const list_keys[] = {"type", "name", "issuer", "version", "items", NULL};
    static const char *const item_keys[] = {"code",     "domain",     "name", "basis",
                                            "category", "conditions", NULL};
    const cJSON *lists, *x, *items, *y;
    size_t n_lists, n = 0, li = 0;
    char lpath[64], path[96];

    if (conv_array(c, j, "", "lists", 1, &lists, &n_lists))
        return -1;
    cJSON_ArrayForEach(x, lists)
    {
        items = cJSON_GetObjectItemCaseSensitive(x, "items");
        n += cJSON_IsArray(items) ? (size_t)cJSON_GetArraySize(items) : 0;
    }
    CONV_ALLOC(r->list_items, n);
    if (!(c->item_list = calloc(n + 1, sizeof *c->item_list)) ||
        !(c->item_index = calloc(n + 1, sizeof *c->item_index)))
        return conv_nomem(c);
    cJSON_ArrayForEach(x, lists)
    {
        size_t n_items, ii = 0;
        snprintf(lpath, sizeof lpath, "lists[%zu]", li);
        if (conv_keys(c, x, lpath, list_keys) ||
            conv_array(c, x, lpath, "items", 1, &items, &n_items))
            return -1;
        if (n_items == 0) {
            /* A list's name and issuer travel with its items: an empty
             * list would be dropped without a word. */
            snprintf(path, sizeof path, "%s.items", lpath);
            return conv_fail(c, path, _("a list holds at least one item"));
        }
        /* Each list's type, version, name and issuer must be strings
         * before they are copied into its items. */
        for (size_t k = 0; k < 4; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, list_keys[k]);
            if (!cJSON_IsString(v)) {
                snprintf(path, sizeof path, "%s.%s", lpath, list_keys[k]);
                return conv_fail(c, path, v ? _("not a string") : _("missing"));
            }
        }
        cJSON_ArrayForEach(y, items)
        {
            Patrol__V1__ListItem *it;
            snprintf(path, sizeof path, "%s.items[%zu]", lpath, ii);
            if (conv_keys(c, y, path, item_keys))
                return -1;
            CONV_NEW(it, patrol__v1__list_item__init);
            c->item_list[r->n_list_items] = li;
            c->item_index[r->n_list_items] = ii++;
            r->list_items[r->n_list_items++] = it;
            if (conv_str(c, x, lpath, "type", 1, &it->list_type) ||
                conv_str(c, x, lpath, "version", 1, &it->list_version) ||
                conv_str(c, x, lpath, "name", 1, &it->list_name) ||
                conv_str(c, x, lpath, "issuer", 1, &it->issuer) ||
                conv_str(c, y, path, "code", 1, &it->code) ||
                conv_str(c, y, path, "domain", 1, &it->domain) ||
                conv_str(c, y, path, "name", 1, &it->name) ||
                conv_str(c, y, path, "basis", 1, &it->basis) ||
                conv_str(c, y, path, "category", 1, &it->category) ||
                conv_strings(c, y, path, "conditions", &it->conditions, &it->n_conditions))
                return -1;
        }
        li++;
    }
    return 0;
}

static int conv_rest(refconv *c, const cJSON *j, Patrol__V1__Reference *r)
{
    static const char *const leaflet_keys[] = {"code", "title", NULL};
    static const char *const inspector_keys[] = {"id", "name", "cert_no", NULL};
    static const char *const revisit_keys[] = {"id",           "matter", "due", "department",
                                               "subject_name", "note",   NULL};
    const cJSON *arr, *x;
    size_t n;
    char path[64];

    if (conv_array(c, j, "", "leaflets", 0, &arr, &n))
        return -1;
    CONV_ALLOC(r->leaflets, n);
    cJSON_ArrayForEach(x, arr)
    {
        Patrol__V1__Leaflet *l;
        snprintf(path, sizeof path, "leaflets[%zu]", r->n_leaflets);
        if (conv_keys(c, x, path, leaflet_keys))
            return -1;
        CONV_NEW(l, patrol__v1__leaflet__init);
        r->leaflets[r->n_leaflets++] = l;
        if (conv_str(c, x, path, "code", 1, &l->code) ||
            conv_str(c, x, path, "title", 1, &l->title))
            return -1;
    }
    if (conv_array(c, j, "", "inspectors", 0, &arr, &n))
        return -1;
    CONV_ALLOC(r->roster, n);
    cJSON_ArrayForEach(x, arr)
    {
        Patrol__V1__RosterInspector *p;
        snprintf(path, sizeof path, "inspectors[%zu]", r->n_roster);
        if (conv_keys(c, x, path, inspector_keys))
            return -1;
        CONV_NEW(p, patrol__v1__roster_inspector__init);
        r->roster[r->n_roster++] = p;
        if (conv_str(c, x, path, "id", 1, &p->id) || conv_str(c, x, path, "name", 1, &p->name) ||
            conv_str(c, x, path, "cert_no", 1, &p->cert_no))
            return -1;
    }
    if (conv_array(c, j, "", "revisits", 0, &arr, &n))
        return -1;
    CONV_ALLOC(r->revisits, n);
    cJSON_ArrayForEach(x, arr)
    {
        Patrol__V1__AssignedRevisit *v;
        snprintf(path, sizeof path, "revisits[%zu]", r->n_revisits);
        if (conv_keys(c, x, path, revisit_keys))
            return -1;
        CONV_NEW(v, patrol__v1__assigned_revisit__init);
        r->revisits[r->n_revisits++] = v;
        if (conv_str(c, x, path, "id", 1, &v->id) ||
            conv_str(c, x, path, "matter", 1, &v->matter) ||
            conv_str(c, x, path, "due", 1, &v->due) ||
            conv_str(c, x, path, "department", 1, &v->department) ||
            conv_str(c, x, path, "subject_name", 0, &v->subject_name) ||
            conv_str(c, x, path, "note", 0, &v->note))
            return -1;
    }
    return 0;
}

/* A fault found by px_reference_check, named by its place in the file. */
static void conv_where(const refconv *c, const px_ref_fault *f, char *buf, size_t len)
{
    static const struct {
        const char *field, *key;
    } list_level[] = {{"list_type", "type"},
                      {"list_version", "version"},
                      {"list_name", "name"},
                      {"issuer", "issuer"}};
    char sub[32] = "";
    if (f->sub != PX_REF_NO_SUB)
        snprintf(sub, sizeof sub, "[%zu]", f->sub);
    if (strcmp(f->part, "list_items") == 0) {
        size_t li = c->item_list[f->index], ii = c->item_index[f->index];
        for (size_t k = 0; k < sizeof list_level / sizeof list_level[0]; k++)
            if (strcmp(f->field, list_level[k].field) == 0) {
                snprintf(buf, len, "lists[%zu].%s", li, list_level[k].key);
                return;
            }
        snprintf(buf, len, "lists[%zu].items[%zu]%s%s%s", li, ii, f->field[0] ? "." : "", f->field,
                 sub);
    } else if (f->part[0] == '\0') {
        snprintf(buf, len, "%s", strcmp(f->field, "label") == 0 ? "version" : f->field);
    } else {
        snprintf(buf, len, "%s[%zu]%s%s%s", strcmp(f->part, "roster") == 0 ? "inspectors" : f->part,
                 f->index, f->field[0] ? "." : "", f->field, sub);
    }
}

int refjson_build(const cJSON *j, Patrol__V1__Reference *r, char *why, size_t len)
{
    static const char *const keys[] = {"note",     "version",    "departments", "domains", "lists",
                                       "leaflets", "inspectors", "revisits",    NULL};
    refconv c = {why, len, NULL, NULL};
    px_ref_fault f;
    char where[128];
    int rc = -1;

    if (!cJSON_IsObject(j)) {
        snprintf(why, len, "%s", _("the file is not a JSON object"));
        return -1;
    }
    if (conv_keys(&c, j, "", keys) || conv_str(&c, j, "", "version", 0, &r->label) ||
        conv_str(&c, j, "", "note", 0, &r->note) || conv_domains(&c, j, r) ||
        conv_departments(&c, j, r) || conv_lists(&c, j, r) || conv_rest(&c, j, r))
        goto out;
    if (px_reference_check(r, 1, &f)) {
        char first[160] = "";
        conv_where(&c, &f, where, sizeof where);
        if (f.first != PX_REF_NO_SUB) {
            char at[128];
            f.index = f.first;
            conv_where(&c, &f, at, sizeof at);
            snprintf(first, sizeof first, _(" (first at %s)"), at);
        }
        snprintf(why, len, "%s: %s%s", where, f.why, first);
        goto out;
    }
    rc = 0;
out:
    free(c.item_list);
    free(c.item_index);
    return rc;
}

int refjson_pack(const Patrol__V1__Reference *r, uint8_t **blob, size_t *len, char *why,
                 size_t cap)
{
    *blob = NULL;
    *len = protobuf_c_message_get_packed_size(&r->base);
    if (*len > PX_REFERENCE_MAX_BYTES) {
        snprintf(why, cap, _("the reference data encodes to %zu bytes, more than the %zu a terminal accepts"),
                 *len, PX_REFERENCE_MAX_BYTES);
        return -1;
    }
    if (!(*blob = malloc(*len ? *len : 1))) {
        snprintf(why, cap, "%s", _("out of memory"));
        return -1;
    }
    protobuf_c_message_pack(&r->base, *blob);
    return 0;
}

int refjson_load(const char *text, size_t n, Patrol__V1__Reference **r, uint8_t **blob,
                 size_t *len, size_t *lists, char *why, size_t cap)
{
    const char *end = NULL;
    cJSON *j = NULL;
    Patrol__V1__Reference *ref = NULL;
    int rc = -1;

    *r = NULL;
    *blob = NULL;
    if (px_check_utf8(text, n)) {
        snprintf(why, cap, "%s", _("not valid UTF-8 text"));
        return -1;
    }
    /* The error's place from return_parse_end, not cJSON_GetErrorPtr's
     * global: the console parses on two threads. */
    if (!(j = cJSON_ParseWithLengthOpts(text, n, &end, 0))) {
        snprintf(why, cap, _("not valid JSON (near byte %ld)"),
                 (long)(end && end >= text ? end - text : 0));
        return -1;
    }
    if (!(ref = malloc(sizeof *ref))) {
        snprintf(why, cap, "%s", _("out of memory"));
        goto out;
    }
    patrol__v1__reference__init(ref);
    if (refjson_build(j, ref, why, cap) || refjson_pack(ref, blob, len, why, cap))
        goto out;
    *lists = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "lists"));
    *r = ref;
    ref = NULL;
    rc = 0;
out:
    if (ref)
        patrol__v1__reference__free_unpacked(ref, NULL);
    cJSON_Delete(j);
    return rc;
}
