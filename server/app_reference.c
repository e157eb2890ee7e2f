/* app_reference.c -- what a terminal pulls besides its own record: GET
 * /v1/reference (the reference data newer than the terminal's version,
 * revisits only for its department) and GET /v1/citations (the matters
 * citing a list item for a subject, county-wide, page by page). Moved from
 * app.c, behaviour unchanged. */
#include "app_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patrol.pb-c.h"
#include "validate.h"

void app_reference_handle(app *a, const st_device *dev, const srv_request *rq, srv_response *rs)
{
    st_backend *db = app_db(a);
    uint64_t since = 0, version;
    uint8_t *blob = NULL;
    size_t len;
    Patrol__V1__Reference *ref;
    int rc;

    if (!db)
        return app_storage_error(a, rs, NULL, "open its database");
    if (strncmp(rq->query, "since=", 6) == 0 &&
        px_parse_u64(rq->query + 6, 0, UINT64_MAX / 2, &since) != NULL)
        return app_reply_error(a, rs, 400, "bad_request", 0, "since must be a version number");
    rc = db->ops->reference_latest(db, &version, &blob, &len);
    if (rc == ST_NOTFOUND || (rc == ST_OK && version <= since)) {
        free(blob);
        rs->status = 304;
        return;
    }
    if (rc != ST_OK)
        return app_storage_error(a, rs, db, "read reference data");
    if (!(ref = patrol__v1__reference__unpack(NULL, len, blob))) {
        free(blob);
        return app_reply_error(a, rs, 500, "reference_damaged", 0, "stored reference data is damaged");
    }
    /* Revisits only for the device's department. */
    {
        size_t k = 0;
        for (size_t i = 0; i < ref->n_revisits; i++) {
            if (strcmp(ref->revisits[i]->department, dev->department) == 0)
                ref->revisits[k++] = ref->revisits[i];
            else
                patrol__v1__assigned_revisit__free_unpacked(ref->revisits[i], NULL);
        }
        ref->n_revisits = k;
    }
    ref->version = version;
    app_reply_msg(rs, 200, &ref->base);
    patrol__v1__reference__free_unpacked(ref, NULL);
    free(blob);
}

/* ---- county-wide citations ------------------------------------------- */
typedef struct cite_ctx {
    Patrol__V1__Citation *items;
    Patrol__V1__Citation **ptrs;
    char *strings; /* the three strings of each, copied */
    size_t n, max;
    uint64_t next;
} cite_ctx;

static int cite_cb(void *ud, uint64_t id, const char *key, const char *item, const char *matter)
{
    cite_ctx *c = ud;
    Patrol__V1__Citation *ct = &c->items[c->n];
    char *p = c->strings + c->n * (3 * APP_CITATION_FIELD);
    patrol__v1__citation__init(ct);
    snprintf(p, APP_CITATION_FIELD, "%s", key);
    snprintf(p + APP_CITATION_FIELD, APP_CITATION_FIELD, "%s", item);
    snprintf(p + 2 * APP_CITATION_FIELD, APP_CITATION_FIELD, "%s", matter);
    ct->subject_key = p;
    ct->item = p + APP_CITATION_FIELD;
    ct->matter = p + 2 * APP_CITATION_FIELD;
    c->ptrs[c->n++] = ct;
    c->next = id;
    return c->n >= c->max;
}

/* GET /v1/citations?since=N: matters citing a list item for a subject,
 * county-wide, id > N, at most APP_CITATIONS_MAX per answer. */
void app_reference_citations(app *a, const srv_request *rq, srv_response *rs)
{
    st_backend *db = app_db(a);
    Patrol__V1__Citations res = PATROL__V1__CITATIONS__INIT;
    cite_ctx c;
    uint64_t since = 0;

    if (!db)
        return app_storage_error(a, rs, NULL, "open its database");
    if (rq->query[0] && (strncmp(rq->query, "since=", 6) != 0 ||
                         px_parse_u64(rq->query + 6, 0, (uint64_t)INT64_MAX, &since) != NULL))
        return app_reply_error(a, rs, 400, "bad_request", 0,
                               "since must be a citation cursor (0 .. 2^63-1)");
    memset(&c, 0, sizeof c);
    c.max = APP_CITATIONS_MAX;
    c.next = since;
    c.items = calloc(c.max, sizeof *c.items);
    c.ptrs = calloc(c.max, sizeof *c.ptrs);
    c.strings = malloc(c.max * 3 * APP_CITATION_FIELD);
    if (!c.items || !c.ptrs || !c.strings) {
        app_reply_error(a, rs, 503, "busy", 0, "out of memory");
        goto out;
    }
    if (db->ops->citations_since(db, since, c.max, cite_cb, &c) != ST_OK) {
        app_storage_error(a, rs, db, "read citations");
        goto out;
    }
    res.citations = c.ptrs;
    res.n_citations = c.n;
    res.next = c.next;
    app_reply_msg(rs, 200, &res.base);
out:
    free(c.items);
    free(c.ptrs);
    free(c.strings);
}
