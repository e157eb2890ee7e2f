/* cmd_list.c -- the commands that read the store and change nothing:
 * log, verify, revisits, matter list, lists, info, kinds. Text for people,
 * or --json for scripts. Prefix cmd_. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A read-only listing: parse, open, call the API with a callback, print
 * (JSON: one array at the end, so a refusal half-way prints nothing). */
typedef struct listing {
    const opts *o;
    cJSON *arr; /* non-NULL with --json */
} listing;

static int run_listing(int argc, char **argv, const spec *sp, const char *usage, const char *what,
                       int (*call)(patrol *p, listing *l))
{
    opts o;
    listing l = {&o, NULL};
    patrol *p;
    int rc, err;
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc, argv, sp, &o)))
        return rc;
    if (o.help)
        return opts_help(usage, what, NULL, NULL);
    if ((rc = opts_open_store(&o, &p)))
        return rc;
    if (o.json)
        l.arr = cJSON_CreateArray();
    err = call(p, &l);
    if (err) {
        cJSON_Delete(l.arr);
        rc = cli_failed(p, err);
    } else if (l.arr) {
        cli_json_print(l.arr);
    }
    patrol_close(p);
    return rc;
}

static int log_cb(void *ud, const patrol_entry_view *e)
{
    listing *c = ud;
    char when[80];
    if (c->arr) {
        cJSON_AddItemToArray(c->arr, cli_json_entry(e, c->o->reveal));
        return 0;
    }
    cli_format_time(e->wall_ms, when, sizeof when);
    printf("#%llu %s %s %s", (unsigned long long)e->seq, when, e->kind, e->object);
    if (e->n_inspectors) {
        printf(" by ");
        for (size_t i = 0; i < e->n_inspectors; i++)
            printf("%s%s", i ? "," : "", e->inspectors[i]);
    }
    if (e->corrects)
        printf(" corrects #%llu", (unsigned long long)e->corrects);
    printf("\n");
    for (size_t i = 0; i < e->n_fields; i++) {
        const patrol_field *f = &e->fields[i];
        if (f->conf != PATROL_CONF_NONE && !c->o->reveal)
            printf("    %s: [%s]\n", f->name, cli_conf_name(f->conf));
        else
            printf("    %s: %s\n", f->name, f->value);
    }
    return 0;
}

static int call_log(patrol *p, listing *l)
{
    return patrol_log(p, l->o->target, log_cb, l);
}

int cmd_log(int argc, char **argv)
{
    spec sp = {NULL, "matter", O_TARGET | O_JSON | O_REVEAL, NULL, 0};
    return run_listing(argc, argv, &sp, "log [--matter ID] [--json] [--reveal]",
                       "Show the journal (the full-process record), or one matter's entries. "
                       "Confidential values are hidden unless --reveal.",
                       call_log);
}

typedef struct verify_ctx {
    int json;
    cJSON *arr;
} verify_ctx;

static void problem_cb(void *ud, uint64_t seq, const char *evidence, const char *what)
{
    verify_ctx *c = ud;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        if (seq)
            cJSON_AddNumberToObject(o, "entry", (double)seq);
        if (evidence)
            cJSON_AddStringToObject(o, "evidence", evidence);
        cJSON_AddStringToObject(o, "problem", what);
        cJSON_AddItemToArray(c->arr, o);
    } else {
        printf("FAIL %s\n", what);
    }
}

int cmd_verify(int argc, char **argv)
{
    opts o;
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    verify_ctx c = {0, NULL};
    patrol_verify_stats st;
    patrol *p;
    int rc, err;
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("verify [--json]",
                    "Check every entry's hash, chain link and signature and every evidence "
                    "file's hash. Exit 0 only if all are right; otherwise each problem is named "
                    "and the exit status is 3.",
                    NULL, NULL);
    if ((rc = opts_open_store(&o, &p)))
        return rc;
    c.json = o.json;
    if (c.json)
        c.arr = cJSON_CreateArray();
    err = patrol_verify(p, problem_cb, &c, &st);
    if (err && err != PATROL_EVERIFY) {
        cJSON_Delete(c.arr);
        rc = cli_failed(p, err);
    } else {
        if (c.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddBoolToObject(j, "ok", err == PATROL_OK);
            cJSON_AddNumberToObject(j, "entries", (double)st.entries);
            cJSON_AddNumberToObject(j, "evidence_files", (double)st.evidence_files);
            cJSON_AddNumberToObject(j, "evidence_bytes", (double)st.evidence_bytes);
            cJSON_AddItemToObject(j, "problems", c.arr);
            cli_json_print(j);
        } else if (err == PATROL_OK) {
            printf("OK %llu entries, %llu evidence files (%llu bytes): hashes, chain and "
                   "signatures verified\n",
                   (unsigned long long)st.entries, (unsigned long long)st.evidence_files,
                   (unsigned long long)st.evidence_bytes);
        } else {
            fprintf(stderr, "patrol: verify: %llu problem(s) in %llu entries\n",
                    (unsigned long long)st.problems, (unsigned long long)st.entries);
        }
        rc = err == PATROL_OK ? 0 : EXIT_VERIFY;
    }
    patrol_close(p);
    return rc;
}

static int revisit_cb(void *ud, const patrol_revisit_view *r)
{
    listing *c = ud;
    if (c->arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddStringToObject(o, "matter", r->matter);
        cJSON_AddStringToObject(o, "subject", r->subject_name);
        cJSON_AddStringToObject(o, "due", r->due);
        cJSON_AddNumberToObject(o, "days_overdue", r->days_overdue);
        cJSON_AddStringToObject(o, "outcome", r->outcome);
        cJSON_AddItemToArray(c->arr, o);
    } else {
        const char *state = r->outcome[0] ? r->outcome
                            : r->days_overdue > 0 ? "OVERDUE"
                            : r->days_overdue == 0 ? "DUE TODAY" : "planned";
        printf("%-22s due %s  %-12s %s  %s", r->id, r->due, state, r->matter, r->subject_name);
        if (!r->outcome[0] && r->days_overdue > 0)
            printf("  (%d days overdue)", (int)r->days_overdue);
        printf("\n");
    }
    return 0;
}

static int call_revisits(patrol *p, listing *l)
{
    return patrol_revisits(p, l->o->due, l->o->today, revisit_cb, l);
}

int cmd_revisits(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON | O_DUE | O_TODAY, NULL, 0};
    return run_listing(argc, argv, &sp, "revisits [--due] [--today YYYY-MM-DD] [--json]",
                       "List revisits; with --due only those without an outcome that are due "
                       "today or overdue.",
                       call_revisits);
}

static int matter_cb(void *ud, const patrol_matter_view *m)
{
    cJSON *arr = ((listing *)ud)->arr;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", m->id);
        cJSON_AddStringToObject(o, "subject", m->subject);
        cJSON_AddStringToObject(o, "subject_name", m->subject_name);
        cJSON_AddStringToObject(o, "domain", m->domain);
        cJSON_AddStringToObject(o, "summary", m->summary);
        cJSON_AddStringToObject(o, "state", m->state);
        cJSON_AddStringToObject(o, "list_item", m->list_item);
        cJSON_AddItemToArray(arr, o);
    } else {
        printf("%-22s %-10s %-18s %s  %s\n", m->id, m->state, m->domain, m->subject_name,
               m->list_item);
    }
    return 0;
}

static int call_matters(patrol *p, listing *l)
{
    return patrol_matters(p, matter_cb, l);
}

int cmd_matter_list(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "matter list [--json]",
                       "List the matters on this terminal.", call_matters);
}

static int item_cb(void *ud, const patrol_list_item_view *it)
{
    cJSON *arr = ((listing *)ud)->arr;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "list_type", it->list_type);
        cJSON_AddStringToObject(o, "list_version", it->list_version);
        cJSON_AddStringToObject(o, "code", it->code);
        cJSON_AddStringToObject(o, "domain", it->domain);
        cJSON_AddStringToObject(o, "name", it->name);
        cJSON_AddStringToObject(o, "basis", it->basis);
        cJSON_AddItemToArray(arr, o);
    } else {
        printf("%-10s %-10s %-16s %s  [%s]\n", it->code, it->list_type, it->domain, it->name,
               it->list_version);
    }
    return 0;
}

static int call_lists(patrol *p, listing *l)
{
    return patrol_list_items(p, item_cb, l);
}

int cmd_lists(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "lists [--json]",
                       "Show the three lists (no-penalty, lighter, reduced) held on this terminal.",
                       call_lists);
}

int cmd_info(int argc, char **argv)
{
    opts o;
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    patrol_info in;
    patrol *p;
    int rc, err;
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("info [--json]", "Show this terminal's device id, department and journal "
                                     "head.", NULL, NULL);
    if ((rc = opts_open_store(&o, &p)))
        return rc;
    if ((err = patrol_get_info(p, &in))) {
        rc = cli_failed(p, err);
    } else if (o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "device_id", in.device_id);
        cJSON_AddStringToObject(j, "department", in.department);
        cJSON_AddStringToObject(j, "device_name", in.device_name);
        cJSON_AddNumberToObject(j, "entries", (double)in.entries);
        cJSON_AddStringToObject(j, "head_hash", in.head_hash);
        cJSON_AddNumberToObject(j, "evidence_files", (double)in.evidence_files);
        cJSON_AddNumberToObject(j, "evidence_bytes", (double)in.evidence_bytes);
        cJSON_AddNumberToObject(j, "schema_version", in.schema_version);
        cli_json_print(j);
    } else {
        printf("device      %s (%s)\ndepartment  %s\nentries     %llu\nhead        %s\n"
               "evidence    %llu files, %llu bytes\n",
               in.device_id, in.device_name, in.department, (unsigned long long)in.entries,
               in.head_hash, (unsigned long long)in.evidence_files,
               (unsigned long long)in.evidence_bytes);
    }
    patrol_close(p);
    return rc;
}

int cmd_kinds(int argc, char **argv)
{
    const char *k;
    if (argc >= 1 && argv[0][0] != '-') {
        if (!patrol_kind_help(argv[0]))
            return cli_usage_error("unknown kind '%s'", argv[0]);
        printf("%s: %s\n", argv[0], patrol_kind_help(argv[0]));
        opts_print_kind_fields(argv[0], NULL);
        return 0;
    }
    for (size_t i = 0; (k = patrol_kind_name(i)); i++)
        printf("%-22s %s\n", k, patrol_kind_help(k));
    return 0;
}

