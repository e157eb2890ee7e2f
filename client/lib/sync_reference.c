/* sync_reference.c -- reference data (docs/protocol.md "GET
 * /v1/reference"): the domains, departments, list items, leaflets, roster
 * and assigned revisits newer than the held version, pulled
 * (px_reference_pull) and applied whole in one transaction once
 * px_reference_check accepts all of it (px_reference_apply). Moved from
 * sync.c, behaviour unchanged. */
#include "sync_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "patrol.pb-c.h"
#include "rules.h"

/* The item's conditions, one per line (malloc'd; NULL if out of memory).
 * px_reference_check made sure none holds a line break. */
static char *join_lines(char *const *v, size_t n)
{
    size_t len = 1, at = 0;
    char *s;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    if (!(s = malloc(len)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(v[i]);
        if (i)
            s[at++] = '\n';
        memcpy(s + at, v[i], k);
        at += k;
    }
    s[at] = '\0';
    return s;
}

/* Apply a Reference in one transaction, once px_reference_check (the
 * rules patrold imports with) accepts all of it. Domains, departments
 * (with the domains each holds) and list items replace the held ones only
 * when the server sends some (an empty set would leave the terminal unable
 * to open a matter; a server of schema 2 sends no departments); leaflets,
 * roster and assigned revisits are replaced as sent. An excluded domain is
 * never stored as flexible, whatever the data says. */
int px_reference_apply(patrol *p, const Patrol__V1__Reference *ref)
{
    px_ref_fault f;
    char where[96], first[128] = "";
    int err;

    if (px_reference_check(ref, 0, &f)) {
        px_ref_fault_where(&f, where, sizeof where);
        if (f.first != PX_REF_NO_SUB) {
            char at[96];
            f.index = f.first;
            px_ref_fault_where(&f, at, sizeof at);
            snprintf(first, sizeof first, _(" (first at %s)"), at);
        }
        return px_fail(p, PATROL_ESERVER,
                       _("reference data version %llu, %s: %s%s; nothing applied"),
                       (unsigned long long)ref->version, where, f.why, first);
    }
    if ((err = px_begin(p)))
        return err;
    if (ref->n_domains) {
        if ((err = px_sync_run(p, "DELETE FROM domains", "")))
            goto fail;
        for (size_t i = 0; i < ref->n_domains; i++) {
            const Patrol__V1__Domain *d = ref->domains[i];
            int64_t flexible = d->flexible && !px_domain_excluded(d->code);
            if ((err = px_sync_run(p, "INSERT INTO domains(code, name, flexible) VALUES (?, ?, ?)", "tti",
                                   d->code, d->name, flexible)))
                goto fail;
        }
    }
    if (ref->n_departments) {
        if ((err = px_sync_run(p, "DELETE FROM department_domains", "")) ||
            (err = px_sync_run(p, "DELETE FROM departments", "")))
            goto fail;
        for (size_t i = 0; i < ref->n_departments; i++) {
            const Patrol__V1__Department *d = ref->departments[i];
            if ((err = px_sync_run(p, "INSERT INTO departments(code, name) VALUES (?, ?)", "tt", d->code,
                                   d->name)))
                goto fail;
            for (size_t j = 0; j < d->n_domains; j++)
                if ((err = px_sync_run(p,
                                       "INSERT INTO department_domains(department, domain)"
                                       " VALUES (?, ?)",
                                       "tt", d->code, d->domains[j])))
                    goto fail;
        }
    }
    if (ref->n_list_items) {
        if ((err = px_sync_run(p, "DELETE FROM list_items", "")))
            goto fail;
        for (size_t i = 0; i < ref->n_list_items; i++) {
            const Patrol__V1__ListItem *it = ref->list_items[i];
            char *conditions = join_lines(it->conditions, it->n_conditions);
            if (!conditions) {
                err = px_fail(p, PATROL_ENOMEM, "%s", _("out of memory"));
                goto fail;
            }
            err = px_sync_run(p,
                              "INSERT INTO list_items(code, list_type, list_version, domain, name,"
                              " basis, list_name, issuer, category, conditions)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              "tttttttttt", it->code, it->list_type, it->list_version, it->domain, it->name,
                              it->basis, it->list_name, it->issuer, it->category, conditions);
            free(conditions);
            if (err)
                goto fail;
        }
    }
    if ((err = px_sync_run(p, "DELETE FROM leaflets", "")) || (err = px_sync_run(p, "DELETE FROM roster", "")) ||
        (err = px_sync_run(p, "DELETE FROM assigned_revisits", "")))
        goto fail;
    for (size_t i = 0; i < ref->n_leaflets; i++)
        if ((err = px_sync_run(p, "INSERT INTO leaflets(code, title) VALUES (?, ?)", "tt",
                               ref->leaflets[i]->code, ref->leaflets[i]->title)))
            goto fail;
    for (size_t i = 0; i < ref->n_roster; i++)
        if ((err = px_sync_run(p, "INSERT INTO roster(id, name, cert_no) VALUES (?, ?, ?)", "ttt",
                               ref->roster[i]->id, ref->roster[i]->name, ref->roster[i]->cert_no)))
            goto fail;
    for (size_t i = 0; i < ref->n_revisits; i++) {
        const Patrol__V1__AssignedRevisit *rv = ref->revisits[i];
        if ((err = px_sync_run(p,
                               "INSERT INTO assigned_revisits(id, matter, subject_name, due, note)"
                               " VALUES (?, ?, ?, ?, ?)",
                               "ttttt", rv->id, rv->matter, rv->subject_name, rv->due, rv->note)))
            goto fail;
    }
    if ((err = px_sync_run(p, "UPDATE sync_state SET reference_version = ?", "i", (int64_t)ref->version)) ||
        (err = px_commit(p)))
        goto fail;
    return PATROL_OK;
fail:
    px_rollback(p);
    return err;
}

int px_reference_pull(syncer *s)
{
    patrol *p = s->p;
    Patrol__V1__Reference *ref = NULL;
    int64_t since = 0;
    char path[64];
    request rq;
    answer a;
    int err;

    s->pr.phase = "reference";
    px_sync_emit(s, 0, 1);
    memset(&a, 0, sizeof a);
    if ((err = px_sync_ints(p, "SELECT reference_version FROM sync_state", 0, 0, &since, 1)))
        return err;
    s->r->reference_version = (uint64_t)since;
    snprintf(path, sizeof path, "/v1/reference?since=%llu", (unsigned long long)since);
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = path;
    rq.max_answer = MAX_REFERENCE;
    if ((err = px_http_retry(&s->c, &rq, &a, "pulling reference data")))
        goto exit;
    if (a.status == 304)
        goto exit;
    if (a.status != 200) {
        err = px_http_refusal(&s->c, &a, "pulling reference data", PATROL_ESERVER, NULL, 0);
        if (a.status != 401 && a.status != 403) {
            px_sync_defer(s, err);
            err = PATROL_OK;
        }
        goto exit;
    }
    if (!(ref = patrol__v1__reference__unpack(NULL, a.len, a.body)) ||
        ref->version <= (uint64_t)since || ref->version > (uint64_t)INT64_MAX) {
        px_sync_defer(s, px_fail(p, PATROL_ESERVER, "the server's reference data is %s",
                         ref ? "not newer than the version held" : "not a Reference"));
        goto exit;
    }
    if ((err = px_reference_apply(p, ref))) {
        if (err == PATROL_ESERVER) {
            px_sync_defer(s, err);
            err = PATROL_OK;
        }
        goto exit;
    }
    s->r->reference_version = ref->version;
    s->r->reference_updated = 1;
exit:
    if (ref)
        patrol__v1__reference__free_unpacked(ref, NULL);
    px_http_answer_free(&a);
    return err;
}
