/* patrol -- the inspector's command-line tool. Uses only the public API
 * in include/patrol/patrol.h.
 *
 * Exit status: 0 success, 1 refused or failed (one line on stderr says
 * why), 2 usage error, 3 verification found problems; sync also 4 (server
 * unreachable: try again later) and 5 (the server rejected an entry). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_VERIFY 3
#define MAX_FIELDS 32
#define MAX_INSPECTORS 8

static const char *prog_cmd = "patrol";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "patrol: %s: ", prog_cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'patrol %s --help')\n", prog_cmd);
    return EXIT_USAGE;
}

static int failed(patrol *p, int err)
{
    const char *msg = p ? patrol_errmsg(p) : "";
    fprintf(stderr, "patrol: %s: %s\n", prog_cmd, msg[0] ? msg : patrol_strerror(err));
    return err == PATROL_EVERIFY ? EXIT_VERIFY : EXIT_REFUSED;
}

/* ---- options ---------------------------------------------------------- */

/* Parsed command line of a recording command. */
typedef struct opts {
    const char *store;
    const char *target;
    const char *inspectors[MAX_INSPECTORS];
    size_t n_inspectors;
    patrol_field fields[MAX_FIELDS];
    size_t n_fields;
    char names[MAX_FIELDS][40]; /* storage for field names */
    patrol_location loc;
    int has_loc;
    int json, help, reveal, due;
    const char *today, *matter_filter, *file, *kind_arg, *media_type;
    uint64_t corrects;
    struct {
        const char *name;
        patrol_conf conf;
    } conf[MAX_FIELDS];
    size_t n_conf;
} opts;

static int parse_location(const char *s, patrol_location *out)
{
    double v[3] = {0, 0, 0};
    int n = 0;
    const char *c = s;
    while (n < 3) {
        char *end;
        errno = 0;
        v[n] = strtod(c, &end);
        if (end == c || errno)
            return -1;
        n++;
        if (*end == '\0')
            break;
        if (*end != ',')
            return -1;
        c = end + 1;
    }
    if (n < 2 || v[0] < -90 || v[0] > 90 || v[1] < -180 || v[1] > 180 || v[2] < 0 || v[2] > 1e6)
        return -1;
    out->lat_e7 = (int64_t)(v[0] * 1e7 + (v[0] < 0 ? -0.5 : 0.5));
    out->lon_e7 = (int64_t)(v[1] * 1e7 + (v[1] < 0 ? -0.5 : 0.5));
    out->accuracy_m = (uint32_t)v[2];
    return 0;
}

static int parse_conf(opts *o, const char *s)
{
    const char *eq = strchr(s, '=');
    static char names[MAX_FIELDS][40];
    size_t n;
    patrol_conf c;
    if (!eq || (n = (size_t)(eq - s)) == 0 || n >= sizeof names[0] || o->n_conf >= MAX_FIELDS)
        return -1;
    if (strcmp(eq + 1, "state") == 0 || strcmp(eq + 1, "state_secret") == 0)
        c = PATROL_CONF_STATE_SECRET;
    else if (strcmp(eq + 1, "trade") == 0 || strcmp(eq + 1, "trade_secret") == 0)
        c = PATROL_CONF_TRADE_SECRET;
    else if (strcmp(eq + 1, "privacy") == 0 || strcmp(eq + 1, "personal_privacy") == 0)
        c = PATROL_CONF_PERSONAL_PRIVACY;
    else
        return -1;
    memcpy(names[o->n_conf], s, n);
    names[o->n_conf][n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (names[o->n_conf][i] == '-')
            names[o->n_conf][i] = '_';
    o->conf[o->n_conf].name = names[o->n_conf];
    o->conf[o->n_conf].conf = c;
    o->n_conf++;
    return 0;
}

static int add_field(opts *o, const char *name, const char *value)
{
    if (o->n_fields >= MAX_FIELDS)
        return usage_error("too many options%s", "");
    for (size_t i = 0; i < o->n_fields; i++)
        if (strcmp(o->fields[i].name, name) == 0) {
            char opt[40];
            snprintf(opt, sizeof opt, "%s", name);
            for (char *c = opt; *c; c++)
                if (*c == '_')
                    *c = '-';
            return usage_error("option --%s given twice", opt);
        }
    snprintf(o->names[o->n_fields], sizeof o->names[0], "%s", name);
    o->fields[o->n_fields].name = o->names[o->n_fields];
    o->fields[o->n_fields].value = value;
    o->fields[o->n_fields].conf = PATROL_CONF_NONE;
    o->n_fields++;
    return 0;
}

/* Is name (with '_') a field of kind, and of a yes/no type? */
static int kind_field(const char *kind, const char *name, int *is_flag)
{
    patrol_field_info fi;
    for (size_t i = 0; kind && patrol_kind_field(kind, i, &fi) == PATROL_OK; i++)
        if (strcmp(fi.name, name) == 0 && !fi.automatic) {
            *is_flag = strcmp(fi.type, "yes/no") == 0 || strcmp(fi.type, "yes") == 0;
            return 1;
        }
    return 0;
}

/* Special options a command accepts besides its kind's fields. */
enum {
    O_TARGET = 1 << 0,   /* --matter / --revisit / --document / --id (see target_name) */
    O_INSPECTOR = 1 << 1,
    O_LOCATION = 1 << 2,
    O_JSON = 1 << 3,
    O_REVEAL = 1 << 4,
    O_DUE = 1 << 5,
    O_TODAY = 1 << 6,
    O_FILE = 1 << 7,
    O_ENTRY = 1 << 8
};

typedef struct spec {
    const char *kind;        /* kind whose fields are options, or NULL */
    const char *target_name; /* "matter", "revisit", "document", "id" */
    unsigned allow;
    /* Extra flags mapped to field values: --accept -> answer=accept. */
    const char *const (*flags)[3];
    size_t n_flags;
} spec;

static int parse(int argc, char **argv, const spec *sp, opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        char name[40];
        size_t n;
        int is_flag = 0;

        if (a[0] != '-' || a[1] != '-') {
            if ((sp->allow & O_FILE) && !o->file) {
                o->file = a;
                continue;
            }
            return usage_error("unexpected argument '%s'", a);
        }
        a += 2;
        eq = strchr(a, '=');
        n = eq ? (size_t)(eq - a) : strlen(a);
        if (n == 0 || n >= sizeof name)
            return usage_error("unknown option '%s'", argv[i]);
        memcpy(name, a, n);
        name[n] = '\0';
        if (eq)
            val = eq + 1;

#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (!val) {                                                                                \
            if (i + 1 >= argc)                                                                     \
                return usage_error("option --%s needs a value", name);                             \
            val = argv[++i];                                                                       \
        }                                                                                          \
    } while (0)

        if (strcmp(name, "help") == 0) {
            o->help = 1;
            continue;
        }
        if (strcmp(name, "store") == 0) {
            NEED_VALUE();
            o->store = val;
            continue;
        }
        if ((sp->allow & O_JSON) && strcmp(name, "json") == 0) {
            o->json = 1;
            continue;
        }
        if ((sp->allow & O_REVEAL) && strcmp(name, "reveal") == 0) {
            o->reveal = 1;
            continue;
        }
        if ((sp->allow & O_DUE) && strcmp(name, "due") == 0) {
            o->due = 1;
            continue;
        }
        if ((sp->allow & O_TODAY) && strcmp(name, "today") == 0) {
            NEED_VALUE();
            o->today = val;
            continue;
        }
        if ((sp->allow & O_TARGET) && strcmp(name, sp->target_name) == 0) {
            NEED_VALUE();
            if (o->target)
                return usage_error("option --%s given twice", name);
            o->target = val;
            continue;
        }
        if ((sp->allow & O_ENTRY) && strcmp(name, "entry") == 0) {
            char *end;
            NEED_VALUE();
            errno = 0;
            o->corrects = strtoull(val, &end, 10);
            if (errno || *end || val[0] < '1' || val[0] > '9')
                return usage_error("--entry needs an entry number, not '%s'", val);
            continue;
        }
        if ((sp->allow & O_INSPECTOR) && strcmp(name, "inspector") == 0) {
            NEED_VALUE();
            if (o->n_inspectors >= MAX_INSPECTORS)
                return usage_error("at most 8 inspectors%s", "");
            o->inspectors[o->n_inspectors++] = val;
            continue;
        }
        if ((sp->allow & O_LOCATION) && strcmp(name, "location") == 0) {
            NEED_VALUE();
            if (parse_location(val, &o->loc) != 0)
                return usage_error("--location needs LAT,LON[,ACCURACY_M] in degrees, not '%s'",
                                   val);
            o->has_loc = 1;
            continue;
        }
        if (sp->kind && strcmp(name, "confidential") == 0) {
            NEED_VALUE();
            if (parse_conf(o, val) != 0)
                return usage_error("--confidential needs FIELD=state|trade|privacy, not '%s'", val);
            continue;
        }
        for (size_t k = 0; k < sp->n_flags; k++)
            if (strcmp(name, sp->flags[k][0]) == 0) {
                int rc = add_field(o, sp->flags[k][1], sp->flags[k][2]);
                if (rc)
                    return rc;
                goto next;
            }
        for (size_t k = 0; k < n; k++)
            if (name[k] == '-')
                name[k] = '_';
        if (kind_field(sp->kind, name, &is_flag)) {
            int rc;
            if (is_flag && !val)
                val = "yes";
            NEED_VALUE();
            if ((rc = add_field(o, name, val)))
                return rc;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            if (name[k] == '_')
                name[k] = '-';
        return usage_error("unknown option '--%s'", name);
    next:;
#undef NEED_VALUE
    }
    for (size_t c = 0; c < o->n_conf; c++) {
        size_t i;
        for (i = 0; i < o->n_fields; i++)
            if (strcmp(o->fields[i].name, o->conf[c].name) == 0) {
                o->fields[i].conf = o->conf[c].conf;
                break;
            }
        if (i == o->n_fields)
            return usage_error("--confidential names '%s', which is not given", o->conf[c].name);
    }
    return 0;
}

static const char *store_dir(const opts *o)
{
    const char *s = o->store ? o->store : getenv("PATROL_STORE");
    return s && *s ? s : NULL;
}

static int open_store(const opts *o, patrol **p)
{
    char err[512];
    const char *dir = store_dir(o);
    int rc;
    if (!dir) {
        fprintf(stderr, "patrol: %s: no store: give --store DIR or set PATROL_STORE\n", prog_cmd);
        return EXIT_USAGE;
    }
    if ((rc = patrol_open(dir, p, err, sizeof err)) != PATROL_OK) {
        fprintf(stderr, "patrol: %s: %s\n", prog_cmd, err);
        return EXIT_REFUSED;
    }
    return 0;
}

/* ---- help ------------------------------------------------------------- */

static void print_kind_fields(const char *kind, const spec *sp)
{
    patrol_field_info fi;
    for (size_t i = 0; patrol_kind_field(kind, i, &fi) == PATROL_OK; i++) {
        char opt[48];
        int mapped = 0;
        if (fi.automatic)
            continue;
        for (size_t k = 0; sp && k < sp->n_flags; k++)
            if (strcmp(sp->flags[k][1], fi.name) == 0)
                mapped = 1;
        if (mapped)
            continue;
        snprintf(opt, sizeof opt, "--%s", fi.name);
        for (char *c = opt; *c; c++)
            if (*c == '_')
                *c = '-';
        printf("  %-22s %s%s (%s", opt, fi.required ? "" : "[optional] ", fi.help, fi.type);
        if (fi.choices) {
            printf(": ");
            for (size_t c = 0; fi.choices[c]; c++)
                printf("%s%s", c ? "|" : "", fi.choices[c]);
        }
        printf(")\n");
    }
}

static int help(const char *usage, const char *what, const char *kind, const spec *sp)
{
    printf("usage: patrol [--store DIR] %s\n\n%s\n", usage, what);
    if (kind) {
        printf("\nfields of %s (%s):\n", kind, patrol_kind_help(kind));
        print_kind_fields(kind, sp);
        printf("\n  --confidential F=state|trade|privacy   mark field F confidential\n"
               "  --location LAT,LON[,ACC]               where it happened (degrees, metres)\n");
    }
    printf("\nThe store is --store DIR or $PATROL_STORE. Exit status: 0 saved, 1 refused (the "
           "reason is on stderr), 2 usage error.\n");
    return 0;
}

/* ---- recording commands ----------------------------------------------- */

static int record(const opts *o, const char *kind, int prints_id)
{
    patrol *p = NULL;
    patrol_record_in in;
    patrol_saved s;
    int rc, err;

    if ((rc = open_store(o, &p)))
        return rc;
    memset(&in, 0, sizeof in);
    in.kind = kind;
    in.target = o->target;
    in.inspectors = o->inspectors;
    in.n_inspectors = o->n_inspectors;
    in.fields = o->fields;
    in.n_fields = o->n_fields;
    in.location = o->has_loc ? &o->loc : NULL;
    in.corrects = o->corrects;
    err = patrol_record(p, &in, &s);
    if (err) {
        rc = failed(p, err);
    } else if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", s.id);
        cJSON_AddNumberToObject(j, "seq", (double)s.seq);
        cJSON_AddStringToObject(j, "hash", s.hash);
        cli_json_print(j);
    } else if (prints_id) {
        printf("%s\n", s.id);
    } else {
        printf("saved entry %llu\n", (unsigned long long)s.seq);
    }
    patrol_close(p);
    return rc;
}

#define REC_ALLOW (O_TARGET | O_INSPECTOR | O_LOCATION | O_JSON)

static int cmd_kind(int argc, char **argv, const char *usage, const char *what, const spec *sp,
                    int prints_id, const char *required_target)
{
    opts o;
    int rc;
    memset(&o, 0, sizeof o);
    if ((rc = parse(argc, argv, sp, &o)))
        return rc;
    if (o.help)
        return help(usage, what, sp->kind, sp);
    if (required_target && !o.target)
        return usage_error("--%s is required", required_target);
    return record(&o, sp->kind, prints_id);
}

static int cmd_init(int argc, char **argv)
{
    opts o;
    const char *dept = NULL, *name = NULL, *dir;
    char err[512];
    patrol *p;
    int rc;

    memset(&o, 0, sizeof o);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--department") == 0 && i + 1 < argc)
            dept = argv[++i];
        else if (strcmp(argv[i], "--device-name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            o.store = argv[++i];
        else if (strcmp(argv[i], "--help") == 0)
            o.help = 1;
        else
            return usage_error("unexpected argument '%s'", argv[i]);
    }
    if (o.help)
        return help("init --department CODE --device-name NAME",
                    "Create a new store: database, device key (P-256, mode 0600) and the first "
                    "journal entry.", NULL, NULL);
    if (!dept || !name)
        return usage_error("--department and --device-name are required%s", "");
    if (!(dir = store_dir(&o)))
        return usage_error("no store: give --store DIR or set PATROL_STORE%s", "");
    if ((rc = patrol_init(dir, dept, name, &p, err, sizeof err)) != PATROL_OK) {
        fprintf(stderr, "patrol: init: %s\n", err);
        return EXIT_REFUSED;
    }
    {
        patrol_info info;
        if (patrol_get_info(p, &info) == PATROL_OK)
            printf("%s\n", info.device_id);
    }
    patrol_close(p);
    return 0;
}

static int cmd_inspector(int argc, char **argv)
{
    spec sp = {"inspector.add", "id", O_TARGET | O_JSON, NULL, 0};
    if (argc < 1 || strcmp(argv[0], "add") != 0)
        return usage_error("expected 'inspector add'%s", "");
    prog_cmd = "inspector add";
    return cmd_kind(argc - 1, argv + 1, "inspector add --id ID --name NAME --cert-no CERT",
                    "Enrol an inspector (with enforcement certificate number) on this terminal.",
                    &sp, 1, "id");
}

static int cmd_subject(int argc, char **argv)
{
    opts o;
    spec sp = {"subject.add", NULL, O_JSON | O_LOCATION, NULL, 0};
    char idnum[24];
    int rc;
    if (argc < 1 || strcmp(argv[0], "add") != 0)
        return usage_error("expected 'subject add'%s", "");
    prog_cmd = "subject add";
    memset(&o, 0, sizeof o);
    if ((rc = parse(argc - 1, argv + 1, &sp, &o)))
        return rc;
    if (o.help)
        return help("subject add (--credit-code CODE | --id-number N) --name NAME",
                    "Record a business (unified social credit code) or a person (identity card "
                    "number). Prints the subject id.",
                    "subject.add", &sp);
    {
        int business = 0, person = 0;
        for (size_t i = 0; i < o.n_fields; i++) {
            business |= strcmp(o.fields[i].name, "credit_code") == 0;
            person |= strcmp(o.fields[i].name, "id_number") == 0;
            if (strcmp(o.fields[i].name, "type") == 0)
                return usage_error("the type follows from --credit-code or --id-number%s", "");
        }
        if (business == person)
            return usage_error("give exactly one of --credit-code and --id-number%s", "");
        /* The check character X is often typed in lower case. */
        for (size_t i = 0; i < o.n_fields; i++)
            if (strcmp(o.fields[i].name, "id_number") == 0 && strlen(o.fields[i].value) == 18 &&
                o.fields[i].value[17] == 'x') {
                snprintf(idnum, sizeof idnum, "%.17sX", o.fields[i].value);
                o.fields[i].value = idnum;
            }
        if ((rc = add_field(&o, "type", business ? "business" : "person")))
            return rc;
    }
    return record(&o, "subject.add", 1);
}

static int cmd_matter(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "open") == 0) {
        spec sp = {"matter.open", NULL, O_INSPECTOR | O_LOCATION | O_JSON, NULL, 0};
        prog_cmd = "matter open";
        return cmd_kind(argc - 1, argv + 1,
                        "matter open --subject ID --inspector ID [--inspector ID] --domain D "
                        "--summary TEXT [--list-item ITEM] [--on-application]",
                        "Open a flexible-enforcement matter. Prints the matter id. Excluded "
                        "domains and violations exploiting an emergency are refused.",
                        &sp, 1, NULL);
    }
    if (argc >= 1 && strcmp(argv[0], "close") == 0) {
        static const char *const flags[][3] = {{"completed", "outcome", "completed"},
                                               {"terminated", "outcome", "terminated"}};
        spec sp = {"matter.close", "matter", REC_ALLOW, flags, 2};
        prog_cmd = "matter close";
        return cmd_kind(argc - 1, argv + 1,
                        "matter close --matter ID (--completed | --terminated --reason R)",
                        "Close a matter: completed, or terminated with a reason.", &sp, 0,
                        "matter");
    }
    return usage_error("expected 'matter open', 'matter close' or 'matter list'%s", "");
}

static const char *const methods[] = {"guidance", "suggestion", "reminder", "warning",
                                      "interview", "publicity", "revisit"};

static int cmd_act(int argc, char **argv)
{
    char kind[32];
    spec sp = {NULL, "matter", REC_ALLOW, NULL, 0};
    size_t i;
    if (argc < 1 || strcmp(argv[0], "--help") == 0) {
        printf("usage: patrol act METHOD --matter ID --content TEXT [method options]\n\n"
               "Record one of the seven methods of flexible enforcement:\n");
        for (i = 0; i < 7; i++) {
            snprintf(kind, sizeof kind, "action.%s", methods[i]);
            printf("  %-11s %s\n", methods[i], patrol_kind_help(kind));
        }
        printf("\n'patrol act METHOD --help' lists a method's options.\n");
        return argc < 1 ? EXIT_USAGE : 0;
    }
    for (i = 0; i < 7; i++)
        if (strcmp(argv[0], methods[i]) == 0)
            break;
    prog_cmd = "act";
    if (i == 7)
        return usage_error("unknown method '%s' (guidance, suggestion, reminder, warning, "
                           "interview, publicity, revisit)", argv[0]);
    snprintf(kind, sizeof kind, "action.%s", methods[i]);
    sp.kind = kind;
    return cmd_kind(argc - 1, argv + 1, "act METHOD --matter ID --content TEXT [options]",
                    "Record a flexible-enforcement method on a matter. A revisit prints its id.",
                    &sp, i == 6, "matter");
}

static int cmd_consent(int argc, char **argv)
{
    static const char *const flags[][3] = {{"accept", "answer", "accept"},
                                           {"refuse", "answer", "refuse"}};
    opts o;
    spec sp = {"consent", "matter", REC_ALLOW, flags, 2};
    int rc;
    memset(&o, 0, sizeof o);
    if ((rc = parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return help("consent --matter ID (--accept | --refuse)",
                    "Record that the subject was told it may choose flexible enforcement, and "
                    "its answer.",
                    "consent", &sp);
    if (!o.target)
        return usage_error("--matter is required%s", "");
    for (size_t i = 0; i < o.n_fields; i++)
        if (strcmp(o.fields[i].name, "told") == 0)
            return usage_error("--told is implied%s", "");
    if ((rc = add_field(&o, "told", "yes")))
        return rc;
    return record(&o, "consent", 0);
}

static int cmd_document(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "issue") == 0) {
        spec sp = {"document.issue", "matter", REC_ALLOW, NULL, 0};
        prog_cmd = "document issue";
        return cmd_kind(argc - 1, argv + 1,
                        "document issue --matter ID --purpose P --content C --time T --personnel P",
                        "Issue a flexible enforcement opinion (柔性执法意见书). Prints its id.",
                        &sp, 1, "matter");
    }
    if (argc >= 1 && strcmp(argv[0], "deliver") == 0) {
        spec sp = {"document.deliver", "document", REC_ALLOW, NULL, 0};
        prog_cmd = "document deliver";
        return cmd_kind(argc - 1, argv + 1, "document deliver --document ID --method M --recipient R",
                        "Record the delivery (送达) of an issued document.", &sp, 0, "document");
    }
    return usage_error("expected 'document issue' or 'document deliver'%s", "");
}

static int cmd_application(int argc, char **argv)
{
    static const char *const subs[] = {"file", "withdraw", "change"};
    char kind[32];
    for (size_t i = 0; argc >= 1 && i < 3; i++)
        if (strcmp(argv[0], subs[i]) == 0) {
            spec sp = {kind, "matter", REC_ALLOW, NULL, 0};
            snprintf(kind, sizeof kind, "application.%s", subs[i]);
            prog_cmd = kind;
            return cmd_kind(argc - 1, argv + 1, "application file|withdraw|change --matter ID ...",
                            "Record the subject's application, its withdrawal or change.", &sp, 0,
                            "matter");
        }
    return usage_error("expected 'application file', 'withdraw' or 'change'%s", "");
}

static int cmd_revisit(int argc, char **argv)
{
    spec sp = {"revisit.outcome", "revisit", REC_ALLOW, NULL, 0};
    if (argc < 1 || strcmp(argv[0], "done") != 0)
        return usage_error("expected 'revisit done'%s", "");
    prog_cmd = "revisit done";
    return cmd_kind(argc - 1, argv + 1, "revisit done --revisit ID --outcome O",
                    "Record the outcome of a planned revisit.", &sp, 0, "revisit");
}

static int cmd_correct(int argc, char **argv)
{
    opts o;
    spec sp = {"correction", "matter", O_TARGET | O_INSPECTOR | O_JSON | O_ENTRY, NULL, 0};
    int rc;
    memset(&o, 0, sizeof o);
    if ((rc = parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return help("correct --entry SEQ --reason TEXT [--field NAME --value V] --inspector ID",
                    "Correct an earlier entry. Nothing is edited: the correction is a new "
                    "entry that refers to the old one.",
                    "correction", &sp);
    if (!o.corrects)
        return usage_error("--entry is required%s", "");
    return record(&o, "correction", 0);
}

static int cmd_evidence(int argc, char **argv)
{
    opts o;
    spec sp = {"evidence.add", "matter", O_TARGET | O_LOCATION | O_JSON | O_FILE, NULL, 0};
    const char *kind = NULL, *caption = NULL, *media = NULL;
    patrol *p = NULL;
    patrol_saved s;
    int rc, err;

    if (argc < 1 || strcmp(argv[0], "add") != 0)
        return usage_error("expected 'evidence add'%s", "");
    prog_cmd = "evidence add";
    memset(&o, 0, sizeof o);
    if ((rc = parse(argc - 1, argv + 1, &sp, &o)))
        return rc;
    if (o.help)
        return help("evidence add --matter ID --kind photo|audio|video|document [--caption C] "
                    "[--media-type T] FILE",
                    "Import an evidence file: hashed while copied into the store, synced, then "
                    "recorded. The file itself is never modified.",
                    NULL, NULL);
    for (size_t i = 0; i < o.n_fields; i++) {
        if (strcmp(o.fields[i].name, "kind") == 0)
            kind = o.fields[i].value;
        else if (strcmp(o.fields[i].name, "caption") == 0)
            caption = o.fields[i].value;
        else if (strcmp(o.fields[i].name, "media_type") == 0)
            media = o.fields[i].value;
        else
            return usage_error("unknown option '--%s'", o.fields[i].name);
    }
    if (!o.target || !kind || !o.file)
        return usage_error("--matter, --kind and a FILE are required%s", "");
    if ((rc = open_store(&o, &p)))
        return rc;
    err = patrol_evidence_add(p, o.target, kind, o.file, media, caption,
                              o.has_loc ? &o.loc : NULL, &s);
    if (err) {
        rc = failed(p, err);
    } else if (o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "seq", (double)s.seq);
        cJSON_AddStringToObject(j, "hash", s.hash);
        cli_json_print(j);
    } else {
        printf("saved entry %llu\n", (unsigned long long)s.seq);
    }
    patrol_close(p);
    return rc;
}

/* ---- reading commands ------------------------------------------------- */

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
    if ((rc = parse(argc, argv, sp, &o)))
        return rc;
    if (o.help)
        return help(usage, what, NULL, NULL);
    if ((rc = open_store(&o, &p)))
        return rc;
    if (o.json)
        l.arr = cJSON_CreateArray();
    err = call(p, &l);
    if (err) {
        cJSON_Delete(l.arr);
        rc = failed(p, err);
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

static int cmd_log(int argc, char **argv)
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

static int cmd_verify(int argc, char **argv)
{
    opts o;
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    verify_ctx c = {0, NULL};
    patrol_verify_stats st;
    patrol *p;
    int rc, err;
    memset(&o, 0, sizeof o);
    if ((rc = parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return help("verify [--json]",
                    "Check every entry's hash, chain link and signature and every evidence "
                    "file's hash. Exit 0 only if all are right; otherwise each problem is named "
                    "and the exit status is 3.",
                    NULL, NULL);
    if ((rc = open_store(&o, &p)))
        return rc;
    c.json = o.json;
    if (c.json)
        c.arr = cJSON_CreateArray();
    err = patrol_verify(p, problem_cb, &c, &st);
    if (err && err != PATROL_EVERIFY) {
        cJSON_Delete(c.arr);
        rc = failed(p, err);
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

static int cmd_revisits(int argc, char **argv)
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

static int cmd_matter_list(int argc, char **argv)
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

static int cmd_lists(int argc, char **argv)
{
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    return run_listing(argc, argv, &sp, "lists [--json]",
                       "Show the three lists (no-penalty, lighter, reduced) held on this terminal.",
                       call_lists);
}

static int cmd_info(int argc, char **argv)
{
    opts o;
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    patrol_info in;
    patrol *p;
    int rc, err;
    memset(&o, 0, sizeof o);
    if ((rc = parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return help("info [--json]", "Show this terminal's device id, department and journal "
                                     "head.", NULL, NULL);
    if ((rc = open_store(&o, &p)))
        return rc;
    if ((err = patrol_get_info(p, &in))) {
        rc = failed(p, err);
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

static int cmd_kinds(int argc, char **argv)
{
    const char *k;
    if (argc >= 1 && argv[0][0] != '-') {
        if (!patrol_kind_help(argv[0]))
            return usage_error("unknown kind '%s'", argv[0]);
        printf("%s: %s\n", argv[0], patrol_kind_help(argv[0]));
        print_kind_fields(argv[0], NULL);
        return 0;
    }
    for (size_t i = 0; (k = patrol_kind_name(i)); i++)
        printf("%-22s %s\n", k, patrol_kind_help(k));
    return 0;
}

static int simple_kind(int argc, char **argv, const char *kind, const char *usage, const char *what)
{
    spec sp = {kind, "matter", REC_ALLOW, NULL, 0};
    return cmd_kind(argc, argv, usage, what, &sp, 0, "matter");
}

/* ---- sync commands ---------------------------------------------------- */

/* "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past a
 * separate value. 1 if it matched (value in *val), 0 if not, -1 if the
 * value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
        return 0;
    if (a[2 + n] == '=') {
        *val = a + 3 + n;
        return 1;
    }
    if (a[2 + n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

#define EXIT_OFFLINE 4  /* the server could not be reached: try again later */
#define EXIT_REJECTED 5 /* the server rejected an entry: a supervisor must look */

/* Help of the sync commands (their exit statuses differ from recording's). */
static int sync_help(const char *usage_line, const char *what)
{
    printf("usage: patrol [--store DIR] %s\n\n%s\n\nThe store is --store DIR or $PATROL_STORE.\n",
           usage_line, what);
    return 0;
}

static int sync_failed(patrol *p, int err)
{
    failed(p, err);
    return err == PATROL_ENET ? EXIT_OFFLINE : err == PATROL_EREJECTED ? EXIT_REJECTED : EXIT_REFUSED;
}

static int cmd_enroll(int argc, char **argv)
{
    opts o;
    const char *server = NULL, *token = NULL;
    char line[512];
    int force = 0, rc, err;
    patrol_enrolment e;
    patrol *p;

    memset(&o, 0, sizeof o);
    for (int i = 0; i < argc; i++) {
        int m;
        if ((m = opt_value(argc, argv, &i, "server", &server)) ||
            (m = opt_value(argc, argv, &i, "token", &token)) ||
            (m = opt_value(argc, argv, &i, "store", &o.store))) {
            if (m < 0)
                return usage_error("option %s needs a value", argv[i]);
        } else if (strcmp(argv[i], "--force") == 0) {
            force = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            o.json = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            o.help = 1;
        } else {
            return usage_error("unexpected argument '%s'", argv[i]);
        }
    }
    if (o.help) {
        sync_help("enroll --server https://HOST:PORT --token TOKEN [--force] [--json]",
             "Enrol this terminal with the collection server (patrold). TOKEN is the one-time\n"
             "token 'PT1.<id>.<secret>.<pin>' printed by 'patrold device add'; '-' reads it\n"
             "from standard input (a token on the command line shows in the process list).\n"
             "The server is trusted only through the key pin the token carries. The device\n"
             "key never leaves the terminal: the server certifies it, and later syncs present\n"
             "that certificate. A terminal enrolled already is refused unless --force, which\n"
             "enrols with the new server and starts sync over for it (receipts are kept).\n"
             "Exit status: 0 enrolled, 1 refused or failed, 2 usage error, 4 server\n"
             "unreachable.");
        return 0;
    }
    if (!server || !token)
        return usage_error("--server and --token are required%s", "");
    if (strcmp(token, "-") == 0) {
        if (!fgets(line, sizeof line, stdin))
            return usage_error("no token on standard input%s", "");
        token = line;
    }
    if ((rc = open_store(&o, &p)))
        return rc;
    err = patrol_enroll(p, server, token, force ? PATROL_ENROLL_FORCE : 0, &e);
    memset(line, 0, sizeof line);
    if (err) {
        rc = sync_failed(p, err);
    } else {
        if (e.department_differs)
            fprintf(stderr, "patrol: enroll: warning: the server enrolled this terminal in "
                            "department %s, not the store's own\n",
                    e.department);
        if (o.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "device_id", e.device_id);
            cJSON_AddStringToObject(j, "server_url", e.server_url);
            cJSON_AddStringToObject(j, "server_name", e.server_name);
            cJSON_AddStringToObject(j, "department", e.department);
            cli_json_print(j);
        } else {
            printf("enrolled with %s (%s) as device %s, department %s\n", e.server_url,
                   e.server_name[0] ? e.server_name : "unnamed server", e.device_id,
                   e.department);
        }
    }
    patrol_close(p);
    return rc;
}

/* Bytes as "512 B", "12.3 KiB", "4.0 MiB". */
static void fmt_bytes(double b, char *out, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, len, "%.0f %s", b, unit[u]);
    else
        snprintf(out, len, "%.1f %s", b, unit[u]);
}

typedef struct bar {
    int tty;    /* redraw one line in place */
    int drawn;  /* something is on the line */
    time_t last; /* for a non-TTY: one line per second at most */
} bar;

static void progress_cb(void *ud, const patrol_sync_progress *pr)
{
    bar *b = ud;
    char done[24], total[24], rate[24], eta[24] = "--:--";
    time_t now = time(NULL);
    if (!b->tty && now == b->last && strcmp(pr->phase, "done") != 0)
        return;
    b->last = now;
    fmt_bytes((double)pr->bytes_done, done, sizeof done);
    fmt_bytes((double)pr->bytes_total, total, sizeof total);
    fmt_bytes(pr->rate, rate, sizeof rate);
    if (pr->rate > 1 && pr->bytes_total > pr->bytes_done) {
        double s = (double)(pr->bytes_total - pr->bytes_done) / pr->rate;
        if (s < 360000)
            snprintf(eta, sizeof eta, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60,
                     (int)s % 60);
    } else if (pr->bytes_total <= pr->bytes_done) {
        snprintf(eta, sizeof eta, "0:00:00");
    }
    fprintf(stderr, "%sentries %llu/%llu  %s/%s  %s/s  ETA %s  [%s]%s", b->tty ? "\r" : "",
            (unsigned long long)pr->entries_done, (unsigned long long)pr->entries_total, done,
            total, rate, eta, pr->phase, b->tty ? "    " : "\n");
    fflush(stderr);
    b->drawn = b->tty;
}

/* Test hooks: PATROL_SYNC_<NAME> in the environment overrides an option. */
static int env_uint(const char *name, unsigned *out)
{
    const char *v = getenv(name);
    char *end;
    unsigned long x;
    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtoul(v, &end, 10);
    if (errno || *end || x > UINT_MAX) {
        fprintf(stderr, "patrol: %s: %s must be a number, not '%s'\n", prog_cmd, name, v);
        return -1;
    }
    *out = (unsigned)x;
    return 0;
}

static int cmd_sync(int argc, char **argv)
{
    opts o;
    patrol_sync_opts so;
    patrol_sync_result r;
    bar b = {0, 0, 0};
    int show = 0, rc, err;
    unsigned cut = 0;
    patrol *p;

    memset(&o, 0, sizeof o);
    memset(&so, 0, sizeof so);
    for (int i = 0; i < argc; i++) {
        int m = opt_value(argc, argv, &i, "store", &o.store);
        if (m < 0)
            return usage_error("option %s needs a value", argv[i]);
        if (m)
            continue;
        if (strcmp(argv[i], "--progress") == 0)
            show = 1;
        else if (strcmp(argv[i], "--json") == 0)
            o.json = 1;
        else if (strcmp(argv[i], "--help") == 0)
            o.help = 1;
        else
            return usage_error("unexpected argument '%s'", argv[i]);
    }
    if (o.help) {
        sync_help("sync [--progress] [--json]",
             "Send every entry not yet acknowledged to the enrolled server, in batches, and\n"
             "mark entries synced only when the server's signed receipt verifies; upload the\n"
             "evidence the server lacks, resuming after a cut from the server's offset; pull\n"
             "newer reference data. Network errors are retried with backoff. A progress bar\n"
             "(entries, bytes, rate, ETA) is drawn on stderr when it is a terminal, or with\n"
             "--progress; --json prints a summary on stdout. Exit status: 0 synced, 1 refused\n"
             "or failed, 4 server unreachable (nothing lost: sync again later), 5 the server\n"
             "rejected an entry (a fork or a bad entry: a supervisor must look at it).\n"
             "For tests, PATROL_SYNC_TIMEOUT_S, _ATTEMPTS, _BACKOFF_MS, _BATCH_ENTRIES,\n"
             "_BATCH_BYTES, _CHUNK_BYTES and _CUT_AFTER (cut the link once after that many\n"
             "bytes) override the defaults.");
        return 0;
    }
    if (env_uint("PATROL_SYNC_TIMEOUT_S", &so.timeout_s) ||
        env_uint("PATROL_SYNC_ATTEMPTS", &so.max_attempts) ||
        env_uint("PATROL_SYNC_BACKOFF_MS", &so.backoff_initial_ms) ||
        env_uint("PATROL_SYNC_BATCH_ENTRIES", &so.batch_entries) ||
        env_uint("PATROL_SYNC_BATCH_BYTES", &so.batch_bytes) ||
        env_uint("PATROL_SYNC_CHUNK_BYTES", &so.chunk_bytes) ||
        env_uint("PATROL_SYNC_CUT_AFTER", &cut))
        return EXIT_USAGE;
    so.test_cut_after_bytes = cut;
    b.tty = isatty(STDERR_FILENO);
    if (show || b.tty) {
        so.progress = progress_cb;
        so.progress_ud = &b;
    }
    if ((rc = open_store(&o, &p)))
        return rc;
    err = patrol_sync(p, &so, &r);
    if (b.drawn)
        fputc('\n', stderr);
    if (o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "ok", err == PATROL_OK);
        if (err)
            cJSON_AddStringToObject(j, "error", patrol_errmsg(p));
        cJSON_AddNumberToObject(j, "acked_seq", (double)r.acked_seq);
        cJSON_AddNumberToObject(j, "head_seq", (double)r.head_seq);
        cJSON_AddNumberToObject(j, "entries_accepted", (double)r.entries_accepted);
        cJSON_AddNumberToObject(j, "entries_duplicate", (double)r.entries_duplicate);
        cJSON_AddNumberToObject(j, "batches", (double)r.batches);
        cJSON_AddNumberToObject(j, "receipts", (double)r.receipts);
        cJSON_AddNumberToObject(j, "evidence_uploaded", (double)r.evidence_uploaded);
        cJSON_AddNumberToObject(j, "evidence_pending", (double)r.evidence_pending);
        cJSON_AddNumberToObject(j, "bytes_sent", (double)r.bytes_sent);
        cJSON_AddNumberToObject(j, "retries", (double)r.retries);
        cJSON_AddNumberToObject(j, "reference_version", (double)r.reference_version);
        cJSON_AddBoolToObject(j, "reference_updated", r.reference_updated);
        if (r.rejected_seq) {
            cJSON *rej = cJSON_CreateObject();
            cJSON_AddNumberToObject(rej, "seq", (double)r.rejected_seq);
            cJSON_AddStringToObject(rej, "reason", r.rejected_reason);
            cJSON_AddStringToObject(rej, "detail", r.rejected_detail);
            cJSON_AddItemToObject(j, "rejected", rej);
        } else {
            cJSON_AddNullToObject(j, "rejected");
        }
        if (r.evidence_failed[0])
            cJSON_AddStringToObject(j, "evidence_failed", r.evidence_failed);
        cJSON_AddNumberToObject(j, "duration_ms", (double)r.duration_ms);
        cli_json_print(j);
    } else if (!err) {
        printf("synced: entries up to %llu acknowledged (%llu new, %llu already held), %llu "
               "evidence file(s) uploaded, reference data %s%llu\n",
               (unsigned long long)r.acked_seq, (unsigned long long)r.entries_accepted,
               (unsigned long long)r.entries_duplicate, (unsigned long long)r.evidence_uploaded,
               r.reference_updated ? "updated to version " : "version ",
               (unsigned long long)r.reference_version);
    }
    rc = err ? sync_failed(p, err) : 0;
    patrol_close(p);
    return rc;
}

static int cmd_status(int argc, char **argv)
{
    opts o;
    spec sp = {NULL, NULL, O_JSON, NULL, 0};
    patrol_sync_info s;
    char when[80] = "never", rtime[40] = "", eb[24], pb[24], tb[24];
    patrol *p;
    int rc, err;

    memset(&o, 0, sizeof o);
    if ((rc = parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return sync_help("status [--json]",
                         "Where sync stands, from the store alone (no network): the server,\n"
                         "entries and bytes not yet acknowledged, the last sync, the last receipt\n"
                         "and an entry the server rejected, if any.");
    if ((rc = open_store(&o, &p)))
        return rc;
    if ((err = patrol_sync_status(p, &s))) {
        rc = failed(p, err);
        patrol_close(p);
        return rc;
    }
    if (s.last_sync_ms)
        cli_format_time(s.last_sync_ms, when, sizeof when);
    if (s.receipt_server_time_ms)
        cli_format_time(s.receipt_server_time_ms, rtime, sizeof rtime);
    if (o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "enrolled", s.enrolled);
        cJSON_AddStringToObject(j, "server_url", s.server_url);
        cJSON_AddStringToObject(j, "server_name", s.server_name);
        cJSON_AddNumberToObject(j, "head_seq", (double)s.head_seq);
        cJSON_AddNumberToObject(j, "acked_seq", (double)s.acked_seq);
        cJSON_AddNumberToObject(j, "pending_entries", (double)s.pending_entries);
        cJSON_AddNumberToObject(j, "pending_entry_bytes", (double)s.pending_entry_bytes);
        cJSON_AddNumberToObject(j, "pending_evidence_files", (double)s.pending_evidence_files);
        cJSON_AddNumberToObject(j, "pending_evidence_bytes", (double)s.pending_evidence_bytes);
        cJSON_AddNumberToObject(j, "pending_bytes", (double)s.pending_bytes);
        if (s.last_sync_ms)
            cJSON_AddStringToObject(j, "last_sync", when);
        else
            cJSON_AddNullToObject(j, "last_sync");
        cJSON_AddNumberToObject(j, "receipts", (double)s.receipts);
        if (s.receipts) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "seq", (double)s.receipt_seq);
            cJSON_AddStringToObject(r, "head_hash", s.receipt_head);
            cJSON_AddStringToObject(r, "server_time", rtime);
            cJSON_AddItemToObject(j, "last_receipt", r);
        } else {
            cJSON_AddNullToObject(j, "last_receipt");
        }
        cJSON_AddNumberToObject(j, "reference_version", (double)s.reference_version);
        if (s.rejected_seq) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "seq", (double)s.rejected_seq);
            cJSON_AddStringToObject(r, "reason", s.rejected_reason);
            cJSON_AddItemToObject(j, "rejected", r);
        } else {
            cJSON_AddNullToObject(j, "rejected");
        }
        cli_json_print(j);
    } else {
        fmt_bytes((double)s.pending_entry_bytes, eb, sizeof eb);
        fmt_bytes((double)s.pending_evidence_bytes, pb, sizeof pb);
        fmt_bytes((double)s.pending_bytes, tb, sizeof tb);
        if (s.enrolled)
            printf("server      %s%s%s%s\n", s.server_url, s.server_name[0] ? " (" : "",
                   s.server_name, s.server_name[0] ? ")" : "");
        else
            printf("server      not enrolled ('patrol enroll --server URL --token TOKEN')\n");
        printf("entries     %llu of %llu acknowledged, %llu pending (%s)\n"
               "evidence    %llu file(s) pending (%s)\n"
               "pending     %s in all\n"
               "last sync   %s\n",
               (unsigned long long)s.acked_seq, (unsigned long long)s.head_seq,
               (unsigned long long)s.pending_entries, eb,
               (unsigned long long)s.pending_evidence_files, pb, tb, when);
        if (s.receipts)
            printf("receipt     entries 1-%llu, head %s, server time %s\n",
                   (unsigned long long)s.receipt_seq, s.receipt_head, rtime);
        else
            printf("receipt     none\n");
        if (s.reference_version)
            printf("reference   version %llu\n", (unsigned long long)s.reference_version);
        else
            printf("reference   built-in\n");
        if (s.rejected_seq)
            printf("REJECTED    entry %llu (%s): a supervisor must look at it\n",
                   (unsigned long long)s.rejected_seq, s.rejected_reason);
    }
    patrol_close(p);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: patrol [--store DIR] COMMAND [options]\n\n"
            "The offline full-process record of flexible law enforcement (柔性执法).\n\n"
            "setting up\n"
            "  init --department CODE --device-name NAME   create a store and device key\n"
            "  inspector add --id ID --name N --cert-no C    enrol an inspector\n"
            "  subject add (--credit-code C | --id-number N) --name N\n"
            "recording\n"
            "  matter open --subject ID --inspector ID --domain D --summary TEXT\n"
            "  consent --matter ID (--accept | --refuse)\n"
            "  act METHOD --matter ID --content TEXT ...   guidance suggestion reminder warning\n"
            "                                              interview publicity revisit\n"
            "  leaflet --matter ID --title T --copies N\n"
            "  evidence add --matter ID --kind K FILE\n"
            "  document issue|deliver ...                  柔性执法意见书 and its delivery\n"
            "  application file|withdraw|change --matter ID\n"
            "  expert --matter ID ...   hearing --matter ID ...\n"
            "  revisit done --revisit ID --outcome O\n"
            "  matter close --matter ID (--completed | --terminated --reason R)\n"
            "  correct --entry SEQ --reason TEXT\n"
            "reading\n"
            "  log [--matter ID] [--json]   verify   revisits --due   matter list   lists   info\n"
            "  kinds [KIND]                 the record's rules\n"
            "syncing with the server (patrold)\n"
            "  enroll --server https://HOST:PORT --token TOKEN   once per terminal\n"
            "  sync [--progress] [--json]   send entries and evidence, pull reference data\n"
            "  status [--json]              what is not yet acknowledged, last sync, receipt\n\n"
            "'patrol COMMAND --help' describes a command. The store is --store DIR or "
            "$PATROL_STORE.\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *cmd;
    static char store_opt[] = "--store";
    char *store = NULL;
    char **args;
    int nargs, rc;

    /* A write over the file-size limit must fail with EFBIG and a clear
     * message ("the disk is full"), not kill the tool mid-record. */
#ifdef SIGXFSZ
    signal(SIGXFSZ, SIG_IGN);
#endif
    /* A global --store before the command is passed on to it. */
    if (argc >= 3 && strcmp(argv[1], "--store") == 0) {
        store = argv[2];
        i = 3;
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[i];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("patrol %s\n", patrol_version());
        return 0;
    }
    nargs = argc - i - 1;
    if (!(args = calloc((size_t)nargs + 3, sizeof *args)))
        return EXIT_REFUSED;
    for (int k = 0; k < nargs; k++)
        args[k] = argv[i + 1 + k];
    if (store) {
        args[nargs++] = store_opt;
        args[nargs++] = store;
    }
    prog_cmd = cmd;

    if (strcmp(cmd, "init") == 0)
        rc = cmd_init(nargs, args);
    else if (strcmp(cmd, "inspector") == 0)
        rc = cmd_inspector(nargs, args);
    else if (strcmp(cmd, "subject") == 0)
        rc = cmd_subject(nargs, args);
    else if (strcmp(cmd, "matter") == 0) {
        if (nargs >= 1 && strcmp(args[0], "list") == 0) {
            prog_cmd = "matter list";
            rc = cmd_matter_list(nargs - 1, args + 1);
        } else {
            rc = cmd_matter(nargs, args);
        }
    } else if (strcmp(cmd, "act") == 0)
        rc = cmd_act(nargs, args);
    else if (strcmp(cmd, "leaflet") == 0)
        rc = simple_kind(nargs, args, "leaflet", "leaflet --matter ID --title T --copies N",
                         "Record leaflets handed out (a simple form of 二(三)2).");
    else if (strcmp(cmd, "consent") == 0)
        rc = cmd_consent(nargs, args);
    else if (strcmp(cmd, "evidence") == 0)
        rc = cmd_evidence(nargs, args);
    else if (strcmp(cmd, "document") == 0)
        rc = cmd_document(nargs, args);
    else if (strcmp(cmd, "application") == 0)
        rc = cmd_application(nargs, args);
    else if (strcmp(cmd, "expert") == 0)
        rc = simple_kind(nargs, args, "expert.opinion",
                         "expert --matter ID --expert NAME --opinion TEXT [--topic T]",
                         "Record an expert's review of a technical question.");
    else if (strcmp(cmd, "hearing") == 0)
        rc = simple_kind(nargs, args, "hearing",
                         "hearing --matter ID --form F --participants P --summary S",
                         "Record a hearing, symposium or published draft (major matters).");
    else if (strcmp(cmd, "revisit") == 0)
        rc = cmd_revisit(nargs, args);
    else if (strcmp(cmd, "correct") == 0)
        rc = cmd_correct(nargs, args);
    else if (strcmp(cmd, "log") == 0)
        rc = cmd_log(nargs, args);
    else if (strcmp(cmd, "verify") == 0)
        rc = cmd_verify(nargs, args);
    else if (strcmp(cmd, "revisits") == 0)
        rc = cmd_revisits(nargs, args);
    else if (strcmp(cmd, "lists") == 0)
        rc = cmd_lists(nargs, args);
    else if (strcmp(cmd, "info") == 0)
        rc = cmd_info(nargs, args);
    else if (strcmp(cmd, "kinds") == 0)
        rc = cmd_kinds(nargs, args);
    else if (strcmp(cmd, "enroll") == 0)
        rc = cmd_enroll(nargs, args);
    else if (strcmp(cmd, "sync") == 0)
        rc = cmd_sync(nargs, args);
    else if (strcmp(cmd, "status") == 0)
        rc = cmd_status(nargs, args);
    else {
        fprintf(stderr, "patrol: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = EXIT_USAGE;
    }
    free(args);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "patrol: cannot write output\n");
        rc = EXIT_REFUSED;
    }
    return rc;
}
