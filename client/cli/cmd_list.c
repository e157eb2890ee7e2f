/* cmd_list.c -- the commands that read the store and change nothing:
 * log, verify, revisits, matter list, lists, info, kinds. Text for people,
 * or --json for scripts. Prefix cmd_. */
#include <stdio.h>
#include <stdlib.h>
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

/* Who each matter is about, for the text log: subject.add entries give a
 * subject's name (and whether it was marked confidential), matter.open
 * entries the matter's subject. Learnt from the whole journal in a first
 * pass, so `log --matter M` names the subject too; sorted for bsearch. */
typedef struct id_pair {
    char *key, *val;
    patrol_conf conf;
} id_pair;

typedef struct id_map {
    id_pair *v;
    size_t n, cap;
} id_map;

static int id_map_add(id_map *m, const char *key, const char *val, patrol_conf conf)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        id_pair *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return -1;
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n].key = strdup(key);
    m->v[m->n].val = strdup(val);
    m->v[m->n].conf = conf;
    if (!m->v[m->n].key || !m->v[m->n].val) {
        free(m->v[m->n].key);
        free(m->v[m->n].val);
        return -1;
    }
    m->n++;
    return 0;
}

static int id_pair_cmp(const void *a, const void *b)
{
    return strcmp(((const id_pair *)a)->key, ((const id_pair *)b)->key);
}

/* The value recorded for key (ids are unique in a journal), or NULL. */
static const id_pair *id_map_get(const id_map *m, const char *key)
{
    id_pair k = {(char *)key, NULL, PATROL_CONF_NONE};
    return m->n ? bsearch(&k, m->v, m->n, sizeof *m->v, id_pair_cmp) : NULL;
}

static void id_map_sort(id_map *m)
{
    if (m->n)
        qsort(m->v, m->n, sizeof *m->v, id_pair_cmp);
}

static void id_map_free(id_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].val);
    }
    free(m->v);
}

typedef struct subjects {
    id_map names;   /* subject id -> name */
    id_map matters; /* matter id -> subject id */
} subjects;

static const patrol_field *entry_field(const patrol_entry_view *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i].name, name) == 0)
            return &e->fields[i];
    return NULL;
}

static int subjects_cb(void *ud, const patrol_entry_view *e)
{
    subjects *s = ud;
    const patrol_field *f;
    if (strcmp(e->kind, "subject.add") == 0 && (f = entry_field(e, "name")))
        return id_map_add(&s->names, e->object, f->value, f->conf) ? PATROL_ENOMEM : 0;
    if (strcmp(e->kind, "matter.open") == 0 && (f = entry_field(e, "subject")))
        return id_map_add(&s->matters, e->object, f->value, PATROL_CONF_NONE) ? PATROL_ENOMEM : 0;
    return 0;
}

/* Is field name of kind a choice (its value a code with a label)? */
static int is_choice(const char *kind, const char *name)
{
    patrol_field_info fi;
    for (size_t i = 0; patrol_kind_field(kind, i, &fi) == PATROL_OK; i++)
        if (strcmp(fi.name, name) == 0)
            return fi.choices != NULL;
    return 0;
}

typedef struct log_ctx {
    listing *l;
    subjects subj;
} log_ctx;

static int log_cb(void *ud, const patrol_entry_view *e)
{
    log_ctx *c = ud;
    int reveal = c->l->o->reveal;
    char when[80];
    const id_pair *m, *name;
    const char *label;
    if (c->l->arr) {
        cJSON_AddItemToArray(c->l->arr, cli_json_entry(e, reveal));
        return 0;
    }
    fmt_time(e->wall_ms, when, sizeof when);
    /* The kind's code (for scripts and grep), then its name for people. */
    printf("#%llu %s %s %s", (unsigned long long)e->seq, when, e->kind, e->object);
    if ((label = patrol_kind_label(e->kind)) && *label)
        printf("  %s", _(label));
    printf("\n");
    /* TRANSLATORS: the labels of the text log ("subject", "inspectors",
     * "corrects", "place") are padded to line up with the field names. */
    if (e->matter[0] && (m = id_map_get(&c->subj.matters, e->matter)) &&
        (name = id_map_get(&c->subj.names, m->val))) {
        if (name->conf != PATROL_CONF_NONE && !reveal)
            printf("    %s: [%s]\n", _("subject"), fmt_conf(name->conf));
        else
            printf("    %s: %s\n", _("subject"), name->val);
    }
    if (e->n_inspectors) {
        printf("    %s: ", _("inspectors"));
        for (size_t i = 0; i < e->n_inspectors; i++)
            printf("%s%s", i ? "," : "", e->inspectors[i]);
        printf("\n");
    }
    if (e->corrects)
        printf("    %s: #%llu\n", _("corrects"), (unsigned long long)e->corrects);
    if (e->log_root)
        /* TRANSLATORS: the server log checkpoint this entry cites, by its
         * number of leaves. */
        printf("    %s: %llu\n", _("cites the server log at leaves"),
               (unsigned long long)e->log_size);
    if (e->location) {
        char place[96];
        fmt_place(e->location, place, sizeof place);
        printf("    %s: %s\n", _("place"), place);
    }
    for (size_t i = 0; i < e->n_fields; i++) {
        const patrol_field *f = &e->fields[i];
        if (f->conf != PATROL_CONF_NONE && !reveal)
            printf("    %s: [%s]\n", f->name, fmt_conf(f->conf));
        else if (is_choice(e->kind, f->name) && strcmp(fmt_choice(f->value), f->value) != 0)
            printf("    %s: %s (%s)\n", f->name, f->value, fmt_choice(f->value));
        else
            printf("    %s: %s\n", f->name, f->value);
    }
    return 0;
}

static int call_log(patrol *p, listing *l)
{
    log_ctx c;
    int err = 0;
    memset(&c, 0, sizeof c);
    c.l = l;
    if (!l->arr) {
        err = patrol_log(p, NULL, subjects_cb, &c.subj);
        id_map_sort(&c.subj.names);
        id_map_sort(&c.subj.matters);
    }
    if (!err)
        err = patrol_log(p, l->o->target, log_cb, &c);
    id_map_free(&c.subj.names);
    id_map_free(&c.subj.matters);
    return err;
}

int cmd_log(int argc, char **argv)
{
    spec sp = {NULL, "matter", O_TARGET | O_JSON | O_REVEAL, NULL, 0};
    return run_listing(argc, argv, &sp, "log [--matter ID] [--json] [--reveal]",
                       N_("Show the journal (the full-process record), or one matter's entries, "
                          "with local times, the subject's name and the place. Confidential "
                          "values are hidden unless --reveal."),
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
        /* TRANSLATORS: a problem verify found; %s says what (from libpatrol). */
        printf(_("FAIL %s"), what);
        printf("\n");
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
    /* JSON is for scripts: the problems it names stay in English. */
    if (o.json)
        cli_messages_english();
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
            printf(_("OK %llu entries, %llu evidence files (%llu bytes): hashes, chain and "
                     "signatures verified"),
                   (unsigned long long)st.entries, (unsigned long long)st.evidence_files,
                   (unsigned long long)st.evidence_bytes);
            printf("\n");
        } else {
            fprintf(stderr, "patrol: verify: ");
            fprintf(stderr, _("%llu problem(s) in %llu entries"), (unsigned long long)st.problems,
                    (unsigned long long)st.entries);
            fputs("\n", stderr);
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
        /* The state last: its width varies with the language. */
        printf("%-22s ", r->id);
        /* TRANSLATORS: %s is a due date, 2026-12-10. */
        printf(_("due %s"), r->due);
        printf("  %s  %s  ", r->matter, r->subject_name);
        if (r->outcome[0])
            printf("%s", fmt_choice(r->outcome));
        else if (r->days_overdue > 0)
            printf(_("OVERDUE (%d days overdue)"), (int)r->days_overdue);
        else if (r->days_overdue == 0)
            printf("%s", _("DUE TODAY"));
        else
            printf("%s", _("planned"));
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
                       N_("List revisits; with --due only those without an outcome that are due "
                          "today (the local date) or overdue."),
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
        cJSON_AddStringToObject(o, "list_type", m->list_type);
        cJSON_AddStringToObject(o, "consent", m->consent);
        cJSON_AddStringToObject(o, "application", m->application);
        cJSON_AddBoolToObject(o, "major", m->major);
        cJSON_AddBoolToObject(o, "technical", m->technical);
        cJSON_AddStringToObject(o, "close_reason", m->close_reason);
        cJSON_AddStringToObject(o, "case_no", m->case_no);
        cJSON_AddNumberToObject(o, "flags", m->flags);
        cJSON_AddItemToArray(arr, o);
    } else {
        printf("%-22s %-18s %s  %s  %s\n", m->id, m->domain, m->list_item[0] ? m->list_item : "-",
               m->subject_name, fmt_state(m->state));
    }
    return 0;
}

static int flag_cb(void *ud, const patrol_flag_view *f)
{
    cJSON *arr = ((listing *)ud)->arr;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "seq", (double)f->seq);
        cJSON_AddStringToObject(o, "matter", f->matter);
        cJSON_AddStringToObject(o, "kind", f->kind);
        cJSON_AddStringToObject(o, "rule", f->rule);
        cJSON_AddBoolToObject(o, "flag_only", f->flag_only);
        cJSON_AddStringToObject(o, "detail", f->detail);
        cJSON_AddItemToArray(arr, o);
    } else {
        printf("#%llu %s %s [%s] %s\n", (unsigned long long)f->seq, f->matter,
               cli_tr(patrol_kind_label(f->kind)), f->rule, f->detail);
    }
    return 0;
}

static int call_flags(patrol *p, listing *l)
{
    return patrol_flags(p, l->o->target, flag_cb, l);
}

int cmd_flags(int argc, char **argv)
{
    spec sp = {NULL, "matter", O_TARGET | O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "flags [--matter ID] [--json]",
                       N_("Show the rules that recorded entries break, as the matter state "
                          "machine finds them: entries recorded before a rule was stricter, "
                          "and facts flagged for a supervisor (a revisit contradicting a "
                          "warning)."),
                       call_flags);
}

static int call_matters(patrol *p, listing *l)
{
    return patrol_matters(p, matter_cb, l);
}

int cmd_matter_list(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "matter list [--json]",
                       N_("List the matters on this terminal."), call_matters);
}

/* Print s and pad it to width columns (at least two spaces after it). */
static void padded(const char *s, size_t width)
{
    size_t w = fmt_width(s);
    printf("%s%*s", s, (int)(w + 2 > width ? 2 : width - w), "");
}

/* Print label, padded to 12 columns, indented by 4. */
static void sub_row(const char *label)
{
    printf("    ");
    fmt_row(label);
}

/* The lines of s (one per '\n') as a JSON array of strings. */
static cJSON *json_lines(const char *s)
{
    cJSON *a = cJSON_CreateArray();
    while (a && *s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        char *line = malloc(n + 1);
        if (line) {
            memcpy(line, s, n);
            line[n] = '\0';
            cJSON_AddItemToArray(a, cJSON_CreateString(line));
            free(line);
        }
        s += n + (nl ? 1 : 0);
    }
    return a;
}

/* `patrol lists`: a heading for each list (type, name, issuer, version),
 * then its items with their legal basis, category and conditions. */
typedef struct lists_ctx {
    listing *l;
    char *prev; /* the list of the previous item (malloc'd key) */
} lists_ctx;

static int item_cb(void *ud, const patrol_list_item_view *it)
{
    lists_ctx *c = ud;
    cJSON *arr = c->l->arr;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "list_type", it->list_type);
        cJSON_AddStringToObject(o, "list_version", it->list_version);
        cJSON_AddStringToObject(o, "list_name", it->list_name);
        cJSON_AddStringToObject(o, "issuer", it->issuer);
        cJSON_AddStringToObject(o, "code", it->code);
        cJSON_AddStringToObject(o, "domain", it->domain);
        cJSON_AddStringToObject(o, "name", it->name);
        cJSON_AddStringToObject(o, "basis", it->basis);
        cJSON_AddStringToObject(o, "category", it->category);
        cJSON_AddItemToObject(o, "conditions", json_lines(it->conditions));
        cJSON_AddItemToArray(arr, o);
    } else {
        size_t n = strlen(it->list_type) + strlen(it->list_name) + strlen(it->issuer) +
                   strlen(it->list_version) + 4;
        char *key = malloc(n);
        if (!key)
            return PATROL_ENOMEM;
        snprintf(key, n, "%s\n%s\n%s\n%s", it->list_type, it->list_name, it->issuer,
                 it->list_version);
        if (!c->prev || strcmp(c->prev, key) != 0) {
            printf("%s%s: %s\n", c->prev ? "\n" : "", fmt_choice(it->list_type),
                   it->list_name[0] ? it->list_name : _("(no name)"));
            printf("  ");
            if (it->issuer[0])
                printf(_("issued by %s, version %s"), it->issuer, it->list_version);
            else
                printf(_("version %s"), it->list_version);
            printf("\n");
            free(c->prev);
            c->prev = key;
        } else {
            free(key);
        }
        printf("  ");
        padded(it->code, 11);
        padded(it->domain, 18);
        printf("%s\n", it->name);
        sub_row(_("basis"));
        printf("%s\n", it->basis);
        if (it->category[0]) {
            sub_row(_("category"));
            printf("%s\n", it->category); /* a code of the list, not a choice */
        }
        if (it->conditions[0]) {
            const char *s = it->conditions;
            sub_row(_("conditions"));
            while (*s) {
                const char *nl = strchr(s, '\n');
                int len = nl ? (int)(nl - s) : (int)strlen(s);
                printf("%.*s\n", len, s);
                s += len + (nl ? 1 : 0);
                if (*s)
                    printf("    %12s", "");
            }
        }
    }
    return 0;
}

static int call_lists(patrol *p, listing *l)
{
    lists_ctx c = {l, NULL};
    int rc = patrol_list_items(p, item_cb, &c);
    free(c.prev);
    return rc;
}

int cmd_lists(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "lists [--json]",
                       N_("Show the three lists (no-penalty, lighter, reduced) held on this "
                          "terminal: each list's name, issuer and version, and each item's "
                          "legal basis, category and conditions."),
                       call_lists);
}

static int domain_cb(void *ud, const patrol_domain_view *d)
{
    cJSON *arr = ((listing *)ud)->arr;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "code", d->code);
        cJSON_AddStringToObject(o, "name", d->name);
        cJSON_AddBoolToObject(o, "flexible", d->flexible);
        cJSON_AddBoolToObject(o, "held", d->held);
        cJSON_AddItemToArray(arr, o);
    } else {
        padded(d->code, 22);
        padded(d->name, 26);
        if (!d->flexible)
            printf("%s\n", _("excluded from flexible enforcement"));
        else if (d->held)
            printf("%s\n", _("flexible, held by this terminal's department"));
        else
            printf("%s\n", _("flexible"));
    }
    return 0;
}

static int call_domains(patrol *p, listing *l)
{
    return patrol_domains(p, domain_cb, l);
}

int cmd_domains(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "domains [--json]",
                       N_("Show the enforcement domains: which are open to flexible enforcement "
                          "and which this terminal's department holds."),
                       call_domains);
}

static int department_cb(void *ud, const patrol_department_view *d)
{
    cJSON *arr = ((listing *)ud)->arr;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON *doms = cJSON_CreateArray();
        const char *s = d->domains;
        while (doms && *s) {
            const char *comma = strchr(s, ',');
            size_t n = comma ? (size_t)(comma - s) : strlen(s);
            char code[128];
            snprintf(code, sizeof code, "%.*s", (int)n, s);
            cJSON_AddItemToArray(doms, cJSON_CreateString(code));
            s += n + (comma ? 1 : 0);
        }
        cJSON_AddStringToObject(o, "code", d->code);
        cJSON_AddStringToObject(o, "name", d->name);
        cJSON_AddItemToObject(o, "domains", doms);
        cJSON_AddBoolToObject(o, "own", d->own);
        cJSON_AddItemToArray(arr, o);
    } else {
        padded(d->code, 12);
        padded(d->name, 26);
        printf("%s%s\n", d->domains[0] ? d->domains : "-",
               d->own ? _(" (this terminal's department)") : "");
    }
    return 0;
}

static int call_departments(patrol *p, listing *l)
{
    return patrol_departments(p, department_cb, l);
}

int cmd_departments(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "departments [--json]",
                       N_("Show the departments and the domains each holds."), call_departments);
}

static int leaflet_cb(void *ud, const patrol_leaflet_view *lf)
{
    cJSON *arr = ((listing *)ud)->arr;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "code", lf->code);
        cJSON_AddStringToObject(o, "title", lf->title);
        cJSON_AddItemToArray(arr, o);
    } else {
        printf("%-10s %s\n", lf->code, lf->title);
    }
    return 0;
}

static int call_leaflets(patrol *p, listing *l)
{
    return patrol_leaflets(p, leaflet_cb, l);
}

int cmd_leaflets(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "leaflets [--json]",
                       N_("Show the leaflet catalogue (for 'patrol leaflet --title')."),
                       call_leaflets);
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
        return opts_help("info [--json]",
                         N_("Show this terminal's device id, department and journal head."), NULL,
                         NULL);
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
        char bytes[24];
        fmt_bytes((double)in.evidence_bytes, bytes, sizeof bytes);
        fmt_row(_("device"));
        printf("%s (%s)\n", in.device_id, in.device_name);
        fmt_row(_("department"));
        printf("%s\n", in.department);
        fmt_row(_("entries"));
        printf("%llu\n", (unsigned long long)in.entries);
        fmt_row(_("head"));
        printf("%s\n", in.head_hash);
        fmt_row(_("evidence"));
        printf(_("%llu files, %llu bytes (%s)"), (unsigned long long)in.evidence_files,
               (unsigned long long)in.evidence_bytes, bytes);
        printf("\n");
    }
    patrol_close(p);
    return rc;
}

int cmd_kinds(int argc, char **argv)
{
    const char *k, *kind = NULL;
    for (int i = 0; i < argc; i++) {
        if (cli_is_help(argv[i]))
            return opts_help("kinds [KIND]",
                             N_("The record's rules: every kind of entry with what it records, "
                                "or one kind with its fields (required, type, choices)."),
                             NULL, NULL);
        if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) { /* main's global --store */
            i++;
            continue;
        }
        if (argv[i][0] == '-')
            return cli_usage_error(_("unknown option '%s'"), argv[i]);
        if (kind)
            return cli_usage_error(_("unexpected argument '%s'"), argv[i]);
        kind = argv[i];
    }
    if (kind) {
        if (!patrol_kind_help(kind))
            return cli_usage_error(_("unknown kind '%s'"), kind);
        printf("%s: %s\n", kind, cli_tr(patrol_kind_help(kind)));
        opts_print_kind_fields(kind, NULL);
        return 0;
    }
    for (size_t i = 0; (k = patrol_kind_name(i)); i++)
        printf("%-22s %s\n", k, cli_tr(patrol_kind_help(k)));
    return 0;
}

