/* cmd_record.c -- the commands that add entries to the journal: init,
 * inspector add, subject add, matter open/close, consent, act METHOD,
 * leaflet, evidence add, document issue/deliver, application, expert,
 * hearing, revisit done, correct. Each one parses its options from its
 * kind's rules and calls patrol_record (or patrol_evidence_add). Prefix cmd_. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The conditions of the list item a matter cites (二(四)1: the inspector
 * reads them before applying the list). */
typedef struct item_find {
    const char *code;
    cJSON *json; /* array to fill, or NULL */
    int shown;
} item_find;

static int item_cb(void *ud, const patrol_list_item_view *it)
{
    item_find *f = ud;
    const char *s;
    if (strcmp(it->code, f->code) != 0)
        return 0;
    if (!f->json)
        fprintf(stderr, _("%s %s: conditions of the list item, to read to the subject:\n"),
                it->code, it->name);
    for (s = it->conditions; *s;) {
        size_t n = strcspn(s, "\n");
        if (f->json) {
            char buf[512];
            snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf ? n : sizeof buf - 1), s);
            cJSON_AddItemToArray(f->json, cJSON_CreateString(buf));
        } else {
            fprintf(stderr, "  - %.*s\n", (int)n, s);
        }
        s += n + (s[n] == '\n');
    }
    f->shown = 1;
    return 1;
}

static const char *field_given(const opts *o, const char *name)
{
    for (size_t i = 0; i < o->n_fields; i++)
        if (strcmp(o->fields[i].name, name) == 0)
            return o->fields[i].value;
    return NULL;
}

static int record(const opts *o, const char *kind, int prints_id)
{
    patrol *p = NULL;
    patrol_record_in in;
    patrol_saved s;
    int rc, err;

    if ((rc = opts_open_store(o, &p)))
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
        rc = cli_failed(p, err);
    } else if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", s.id);
        cJSON_AddNumberToObject(j, "seq", (double)s.seq);
        cJSON_AddStringToObject(j, "hash", s.hash);
        if (strcmp(kind, "matter.open") == 0 && field_given(o, "list_item")) {
            item_find f = {field_given(o, "list_item"), cJSON_AddArrayToObject(j, "conditions"), 0};
            patrol_list_items(p, item_cb, &f);
        }
        cli_json_print(j);
    } else if (prints_id) {
        printf("%s\n", s.id);
        /* The conditions go to a person at a terminal, not into $(...). */
        if (strcmp(kind, "matter.open") == 0 && field_given(o, "list_item") && isatty(2)) {
            item_find f = {field_given(o, "list_item"), NULL, 0};
            patrol_list_items(p, item_cb, &f);
        }
    } else {
        printf(_("saved entry %llu"), (unsigned long long)s.seq);
        printf("\n");
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
    if ((rc = opts_parse(argc, argv, sp, &o)))
        return rc;
    if (o.help)
        return opts_help(usage, what, sp->kind, sp);
    if (required_target && !o.target)
        return cli_usage_error(_("--%s is required"), required_target);
    return record(&o, sp->kind, prints_id);
}

int cmd_init(int argc, char **argv)
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
        else if (cli_is_help(argv[i]))
            o.help = 1;
        else
            return cli_usage_error(_("unexpected argument '%s'"), argv[i]);
    }
    if (o.help)
        return opts_help("init --department CODE --device-name NAME",
                    N_("Create a new store: database, device key (P-256, mode 0600) and the first "
                    "journal entry."), NULL, NULL);
    if (!dept || !name)
        return cli_usage_error("%s", _("--department and --device-name are required"));
    if (!(dir = opts_store_dir(&o)))
        return cli_usage_error("%s", _("no store: give --store DIR or set PATROL_STORE"));
    if ((rc = patrol_init(dir, dept, name, &p, err, sizeof err)) != PATROL_OK)
        return cli_fail_msg(EXIT_REFUSED, cli_err_code(rc), err);
    {
        patrol_info info;
        if (patrol_get_info(p, &info) == PATROL_OK)
            printf("%s\n", info.device_id);
    }
    patrol_close(p);
    return 0;
}

/* The groups' subcommands, for 'patrol GROUP --help' (main.c
 * cli_group_help); each subcommand's own --help has its options. */
static const cli_sub inspector_subs[] = {
    {"add", "--id ID --name NAME --cert-no CERT", N_("enrol an inspector")}};
static const cli_sub subject_subs[] = {
    {"add", "(--credit-code CODE | --id-number N) --name NAME",
     N_("record a business or a person")}};
static const cli_sub matter_subs[] = {
    {"open", "--subject ID --inspector ID --domain D --summary TEXT", N_("open a matter")},
    {"close", "--matter ID (--completed | --terminated --reason R | --escalated)",
     N_("close a matter")},
    {"list", "[--json]", N_("the matters on this terminal")}};
static const cli_sub shift_subs[] = {
    {"start", "--inspector ID [--inspector ID]", N_("go on duty with this terminal")},
    {"end", "", N_("end the open shift")}};
static const cli_sub document_subs[] = {
    {"issue", "--matter ID --purpose P --content C --time T --personnel P",
     N_("issue a flexible enforcement opinion (柔性执法意见书)")},
    {"deliver", "--document ID --method M --recipient R", N_("record its delivery (送达)")}};
static const cli_sub application_subs[] = {
    {"file", "--matter ID ...", N_("the subject's application")},
    {"withdraw", "--matter ID ...", N_("its withdrawal")},
    {"change", "--matter ID ...", N_("its change")}};
static const cli_sub revisit_subs[] = {
    {"done", "--revisit ID --outcome O", N_("outcome of a revisit")}};
static const cli_sub evidence_subs[] = {
    {"add", "--matter ID --kind K FILE", N_("photo, audio, video, document or electronic data")}};
#define GROUP_HELP(g, subs)                                                                        \
    do {                                                                                           \
        if (argc < 1 || cli_is_help(argv[0]))                                                      \
            return cli_group_help(g, subs, sizeof subs / sizeof subs[0], argc >= 1);               \
    } while (0)

int cmd_inspector(int argc, char **argv)
{
    spec sp = {"inspector.add", "id", O_TARGET | O_JSON, NULL, 0};
    GROUP_HELP("inspector", inspector_subs);
    if (strcmp(argv[0], "add") != 0)
        return cli_usage_error(_("unknown subcommand '%s': expected 'inspector add'"), argv[0]);
    cli_cmd = "inspector add";
    return cmd_kind(argc - 1, argv + 1, "inspector add --id ID --name NAME --cert-no CERT",
                    N_("Enrol an inspector (with enforcement certificate number) on this "
                       "terminal."),
                    &sp, 1, "id");
}

int cmd_subject(int argc, char **argv)
{
    opts o;
    spec sp = {"subject.add", NULL, O_JSON | O_LOCATION, NULL, 0};
    char idnum[24];
    int rc;
    GROUP_HELP("subject", subject_subs);
    if (strcmp(argv[0], "add") != 0)
        return cli_usage_error(_("unknown subcommand '%s': expected 'subject add'"), argv[0]);
    cli_cmd = "subject add";
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc - 1, argv + 1, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("subject add (--credit-code CODE | --id-number N) --name NAME",
                    N_("Record a business (unified social credit code) or a person (identity card "
                    "number). Prints the subject id."),
                    "subject.add", &sp);
    {
        int business = 0, person = 0;
        for (size_t i = 0; i < o.n_fields; i++) {
            business |= strcmp(o.fields[i].name, "credit_code") == 0;
            person |= strcmp(o.fields[i].name, "id_number") == 0;
            if (strcmp(o.fields[i].name, "type") == 0)
                return cli_usage_error("%s",
                                       _("the type follows from --credit-code or --id-number"));
        }
        if (business == person)
            return cli_usage_error("%s", _("give exactly one of --credit-code and --id-number"));
        /* The check character X is often typed in lower case. */
        for (size_t i = 0; i < o.n_fields; i++)
            if (strcmp(o.fields[i].name, "id_number") == 0 && strlen(o.fields[i].value) == 18 &&
                o.fields[i].value[17] == 'x') {
                snprintf(idnum, sizeof idnum, "%.17sX", o.fields[i].value);
                o.fields[i].value = idnum;
            }
        if ((rc = opts_add_field(&o, "type", business ? "business" : "person")))
            return rc;
    }
    return record(&o, "subject.add", 1);
}

int cmd_matter(int argc, char **argv)
{
    GROUP_HELP("matter", matter_subs);
    if (strcmp(argv[0], "open") == 0) {
        spec sp = {"matter.open", NULL, O_INSPECTOR | O_LOCATION | O_JSON, NULL, 0};
        cli_cmd = "matter open";
        return cmd_kind(argc - 1, argv + 1,
                        "matter open --subject ID --inspector ID [--inspector ID] --domain D "
                        "--summary TEXT [--list-item ITEM] [--on-application]",
                        N_("Open a flexible-enforcement matter. Prints the matter id. Excluded "
                        "domains and violations exploiting an emergency are refused."),
                        &sp, 1, NULL);
    }
    if (argc >= 1 && strcmp(argv[0], "close") == 0) {
        static const char *const flags[][3] = {{"completed", "outcome", "completed"},
                                               {"terminated", "outcome", "terminated"},
                                               {"escalated", "outcome", "escalated"}};
        spec sp = {"matter.close", "matter", REC_ALLOW, flags, 3};
        cli_cmd = "matter close";
        return cmd_kind(argc - 1, argv + 1,
                        "matter close --matter ID (--completed | --terminated --reason R | "
                        "--escalated [--case-no N])",
                        N_("Close a matter: completed, terminated with a reason, or handed to "
                           "ordinary case procedure (escalated)."),
                        &sp, 0, "matter");
    }
    return cli_usage_error(_("unknown subcommand '%s': expected "
                             "'matter open', 'matter close' or 'matter list'"),
                           argv[0]);
}

/* `patrol act METHOD` and `patrol dept ACT`: the kinds "action.*" and
 * "dept.*" of the rules table, whose fields are the options. */
static int kind_group(int argc, char **argv, const char *group, const char *prefix,
                      const char *target, const char *usage_line, const char *intro,
                      const char *what)
{
    char kind[48];
    const char *k;
    size_t plen = strlen(prefix);
    spec sp = {NULL, target, target ? REC_ALLOW : (REC_ALLOW & ~O_TARGET), NULL, 0};
    if (argc < 1 || cli_is_help(argv[0])) {
        FILE *f = argc < 1 ? stderr : stdout; /* help asked for, or a usage error */
        fprintf(f, "%s patrol %s\n\n%s\n", _("usage:"), usage_line, _(intro));
        for (size_t i = 0; (k = patrol_kind_name(i)); i++)
            if (strncmp(k, prefix, plen) == 0)
                fprintf(f, "  %-11s %s: %s\n", k + plen, cli_tr(patrol_kind_label(k)),
                        cli_tr(patrol_kind_help(k)));
        fprintf(f, "\n'patrol %s %s --help' %s\n", group,
                strcmp(group, "act") == 0 ? "METHOD" : "ACT", _("lists its options."));
        if (argc < 1 && cli_json) {
            char msg[200];
            snprintf(msg, sizeof msg, _("'patrol %s' needs a subcommand"), group);
            cli_json_error(EXIT_USAGE, "usage", msg);
        }
        return argc < 1 ? EXIT_USAGE : 0;
    }
    cli_cmd = group;
    snprintf(kind, sizeof kind, "%s%s", prefix, argv[0]);
    if (strlen(argv[0]) > 32 || !patrol_kind_help(kind))
        return cli_usage_error(strcmp(group, "act") == 0
                                   ? _("unknown method '%s'")
                                   : _("unknown act '%s'"),
                               argv[0]);
    sp.kind = kind;
    return cmd_kind(argc - 1, argv + 1, usage_line, what, &sp,
                    strcmp(kind, "action.revisit") == 0 || !target, target);
}

int cmd_act(int argc, char **argv)
{
    return kind_group(argc, argv, "act", "action.", "matter",
                      "act METHOD --matter ID --content TEXT [method options]",
                      N_("Record one of the seven methods of flexible enforcement:"),
                      N_("Record a flexible-enforcement method on a matter. A revisit prints "
                         "its id."));
}

int cmd_dept(int argc, char **argv)
{
    return kind_group(argc, argv, "dept", "dept.", NULL,
                      "dept ACT --inspector ID --domain D [act options]",
                      N_("Record an act of the department that is not about one subject "
                         "(a collective or joint interview, a reminder to a class of "
                         "businesses, a publication):"),
                      N_("Record a department-level act. Prints its id."));
}

int cmd_shift(int argc, char **argv)
{
    GROUP_HELP("shift", shift_subs);
    if (strcmp(argv[0], "start") == 0 || strcmp(argv[0], "end") == 0) {
        int start = strcmp(argv[0], "start") == 0;
        spec sp = {start ? "shift.start" : "shift.end", NULL, O_INSPECTOR | O_JSON | O_LOCATION,
                   NULL, 0};
        cli_cmd = start ? "shift start" : "shift end";
        return cmd_kind(argc - 1, argv + 1,
                        start ? "shift start --inspector ID [--inspector ID] [--note TEXT]"
                              : "shift end [--note TEXT]",
                        start ? N_("Go on duty with this terminal (the inspectors of the shift). "
                                   "Prints the shift's id.")
                              : N_("End the open shift."),
                        &sp, start, NULL);
    }
    return cli_usage_error(_("unknown subcommand '%s': expected "
                             "'shift start' or 'shift end'"),
                           argv[0]);
}

int cmd_consent(int argc, char **argv)
{
    static const char *const flags[][3] = {{"accept", "answer", "accept"},
                                           {"refuse", "answer", "refuse"},
                                           {"stop", "answer", "stop"}};
    opts o;
    spec sp = {"consent", "matter", REC_ALLOW, flags, 3};
    int rc;
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("consent --matter ID [--accept | --refuse | --stop]",
                    N_("Record that the subject was told it may choose flexible enforcement, and "
                    "its answer (none yet: only told; --stop: it asks to stop after accepting)."),
                    "consent", &sp);
    if (!o.target)
        return cli_usage_error("%s", _("--matter is required"));
    for (size_t i = 0; i < o.n_fields; i++)
        if (strcmp(o.fields[i].name, "told") == 0)
            return cli_usage_error("%s", _("--told is implied"));
    if ((rc = opts_add_field(&o, "told", "yes")))
        return rc;
    return record(&o, "consent", 0);
}

int cmd_document(int argc, char **argv)
{
    GROUP_HELP("document", document_subs);
    if (strcmp(argv[0], "issue") == 0) {
        spec sp = {"document.issue", "matter", REC_ALLOW, NULL, 0};
        cli_cmd = "document issue";
        return cmd_kind(argc - 1, argv + 1,
                        "document issue --matter ID --purpose P --content C --time T --personnel P",
                        N_("Issue a flexible enforcement opinion (柔性执法意见书). Prints its id."),
                        &sp, 1, "matter");
    }
    if (strcmp(argv[0], "deliver") == 0) {
        spec sp = {"document.deliver", "document", REC_ALLOW, NULL, 0};
        cli_cmd = "document deliver";
        return cmd_kind(argc - 1, argv + 1, "document deliver --document ID --method M --recipient R",
                        N_("Record the delivery (送达) of an issued document."), &sp, 0, "document");
    }
    return cli_usage_error(_("unknown subcommand '%s': expected "
                             "'document issue' or 'document deliver'"),
                           argv[0]);
}

int cmd_application(int argc, char **argv)
{
    static const char *const subs[] = {"file", "withdraw", "change"};
    char kind[32];
    GROUP_HELP("application", application_subs);
    for (size_t i = 0; i < 3; i++)
        if (strcmp(argv[0], subs[i]) == 0) {
            spec sp = {kind, "matter", REC_ALLOW, NULL, 0};
            snprintf(kind, sizeof kind, "application.%s", subs[i]);
            cli_cmd = kind;
            return cmd_kind(argc - 1, argv + 1, "application file|withdraw|change --matter ID ...",
                            N_("Record the subject's application, its withdrawal or change."),
                            &sp, 0, "matter");
        }
    return cli_usage_error(_("unknown subcommand '%s': expected "
                             "'application file', 'withdraw' or 'change'"),
                           argv[0]);
}

int cmd_revisit(int argc, char **argv)
{
    spec sp = {"revisit.outcome", "revisit", REC_ALLOW, NULL, 0};
    GROUP_HELP("revisit", revisit_subs);
    if (strcmp(argv[0], "done") != 0)
        return cli_usage_error(_("unknown subcommand '%s': expected 'revisit done'"), argv[0]);
    cli_cmd = "revisit done";
    return cmd_kind(argc - 1, argv + 1, "revisit done --revisit ID --outcome O",
                    N_("Record the outcome of a planned revisit."), &sp, 0, "revisit");
}

int cmd_correct(int argc, char **argv)
{
    opts o;
    spec sp = {"correction", "matter", O_TARGET | O_INSPECTOR | O_JSON | O_ENTRY, NULL, 0};
    int rc;
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("correct --entry SEQ --reason TEXT [--field NAME --value V] [--inspector ID]",
                    N_("Correct an earlier entry. Nothing is edited: the correction is a new "
                    "entry that refers to the old one."),
                    "correction", &sp);
    if (!o.corrects)
        return cli_usage_error("%s", _("--entry is required"));
    return record(&o, "correction", 0);
}

int cmd_evidence(int argc, char **argv)
{
    opts o;
    spec sp = {"evidence.add", "matter", O_TARGET | O_LOCATION | O_JSON | O_FILE, NULL, 0};
    const char *kind = NULL, *caption = NULL, *media = NULL;
    patrol *p = NULL;
    patrol_saved s;
    int rc, err;

    GROUP_HELP("evidence", evidence_subs);
    if (strcmp(argv[0], "add") != 0)
        return cli_usage_error(_("unknown subcommand '%s': expected 'evidence add'"), argv[0]);
    cli_cmd = "evidence add";
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc - 1, argv + 1, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("evidence add --matter ID --kind photo|audio|video|document [--caption C] "
                    "[--media-type T] FILE",
                    N_("Import an evidence file: hashed while copied into the store, synced, then "
                    "recorded. The file itself is never modified."),
                    NULL, NULL);
    for (size_t i = 0; i < o.n_fields; i++) {
        if (strcmp(o.fields[i].name, "kind") == 0)
            kind = o.fields[i].value;
        else if (strcmp(o.fields[i].name, "caption") == 0)
            caption = o.fields[i].value;
        else if (strcmp(o.fields[i].name, "media_type") == 0)
            media = o.fields[i].value;
        else
            return cli_usage_error(_("unknown option '--%s'"), o.fields[i].name);
    }
    if (!o.target || !kind || !o.file)
        return cli_usage_error("%s", _("--matter, --kind and a FILE are required"));
    if ((rc = opts_open_store(&o, &p)))
        return rc;
    err = patrol_evidence_add(p, o.target, kind, o.file, media, caption,
                              o.has_loc ? &o.loc : NULL, &s);
    if (err) {
        rc = cli_failed(p, err);
    } else if (o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "seq", (double)s.seq);
        cJSON_AddStringToObject(j, "hash", s.hash);
        cli_json_print(j);
    } else {
        printf(_("saved entry %llu"), (unsigned long long)s.seq);
        printf("\n");
    }
    patrol_close(p);
    return rc;
}


static int simple_kind(int argc, char **argv, const char *kind, const char *usage, const char *what)
{
    spec sp = {kind, "matter", REC_ALLOW, NULL, 0};
    return cmd_kind(argc, argv, usage, what, &sp, 0, "matter");
}


int cmd_leaflet(int argc, char **argv)
{
    return simple_kind(argc, argv, "leaflet", "leaflet --matter ID --title T --copies N",
                       N_("Record leaflets handed out (a simple form of 二(三)2)."));
}

int cmd_expert(int argc, char **argv)
{
    return simple_kind(argc, argv, "expert.opinion",
                       "expert --matter ID --expert NAME --opinion TEXT [--topic T]",
                       N_("Record an expert's review of a technical question."));
}

int cmd_hearing(int argc, char **argv)
{
    return simple_kind(argc, argv, "hearing",
                       "hearing --matter ID --form F --participants P --summary S",
                       N_("Record a hearing, symposium or published draft (major matters)."));
}
