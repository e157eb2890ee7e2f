/* cmd_record.c -- the commands that add entries to the journal: init,
 * inspector add, subject add, matter open/close, consent, act METHOD,
 * leaflet, evidence add, document issue/deliver, application, expert,
 * hearing, revisit done, correct. Each one parses its options from its
 * kind's rules and calls patrol_record (or patrol_evidence_add). Prefix cmd_. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
    if ((rc = opts_parse(argc, argv, sp, &o)))
        return rc;
    if (o.help)
        return opts_help(usage, what, sp->kind, sp);
    if (required_target && !o.target)
        return cli_usage_error("--%s is required", required_target);
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
        else if (strcmp(argv[i], "--help") == 0)
            o.help = 1;
        else
            return cli_usage_error("unexpected argument '%s'", argv[i]);
    }
    if (o.help)
        return opts_help("init --department CODE --device-name NAME",
                    "Create a new store: database, device key (P-256, mode 0600) and the first "
                    "journal entry.", NULL, NULL);
    if (!dept || !name)
        return cli_usage_error("--department and --device-name are required%s", "");
    if (!(dir = opts_store_dir(&o)))
        return cli_usage_error("no store: give --store DIR or set PATROL_STORE%s", "");
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

int cmd_inspector(int argc, char **argv)
{
    spec sp = {"inspector.add", "id", O_TARGET | O_JSON, NULL, 0};
    if (argc < 1 || strcmp(argv[0], "add") != 0)
        return cli_usage_error("expected 'inspector add'%s", "");
    cli_cmd = "inspector add";
    return cmd_kind(argc - 1, argv + 1, "inspector add --id ID --name NAME --cert-no CERT",
                    "Enrol an inspector (with enforcement certificate number) on this terminal.",
                    &sp, 1, "id");
}

int cmd_subject(int argc, char **argv)
{
    opts o;
    spec sp = {"subject.add", NULL, O_JSON | O_LOCATION, NULL, 0};
    char idnum[24];
    int rc;
    if (argc < 1 || strcmp(argv[0], "add") != 0)
        return cli_usage_error("expected 'subject add'%s", "");
    cli_cmd = "subject add";
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc - 1, argv + 1, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("subject add (--credit-code CODE | --id-number N) --name NAME",
                    "Record a business (unified social credit code) or a person (identity card "
                    "number). Prints the subject id.",
                    "subject.add", &sp);
    {
        int business = 0, person = 0;
        for (size_t i = 0; i < o.n_fields; i++) {
            business |= strcmp(o.fields[i].name, "credit_code") == 0;
            person |= strcmp(o.fields[i].name, "id_number") == 0;
            if (strcmp(o.fields[i].name, "type") == 0)
                return cli_usage_error("the type follows from --credit-code or --id-number%s", "");
        }
        if (business == person)
            return cli_usage_error("give exactly one of --credit-code and --id-number%s", "");
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
    if (argc >= 1 && strcmp(argv[0], "open") == 0) {
        spec sp = {"matter.open", NULL, O_INSPECTOR | O_LOCATION | O_JSON, NULL, 0};
        cli_cmd = "matter open";
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
        cli_cmd = "matter close";
        return cmd_kind(argc - 1, argv + 1,
                        "matter close --matter ID (--completed | --terminated --reason R)",
                        "Close a matter: completed, or terminated with a reason.", &sp, 0,
                        "matter");
    }
    return cli_usage_error("expected 'matter open', 'matter close' or 'matter list'%s", "");
}

static const char *const methods[] = {"guidance", "suggestion", "reminder", "warning",
                                      "interview", "publicity", "revisit"};

int cmd_act(int argc, char **argv)
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
    cli_cmd = "act";
    if (i == 7)
        return cli_usage_error("unknown method '%s' (guidance, suggestion, reminder, warning, "
                           "interview, publicity, revisit)", argv[0]);
    snprintf(kind, sizeof kind, "action.%s", methods[i]);
    sp.kind = kind;
    return cmd_kind(argc - 1, argv + 1, "act METHOD --matter ID --content TEXT [options]",
                    "Record a flexible-enforcement method on a matter. A revisit prints its id.",
                    &sp, i == 6, "matter");
}

int cmd_consent(int argc, char **argv)
{
    static const char *const flags[][3] = {{"accept", "answer", "accept"},
                                           {"refuse", "answer", "refuse"}};
    opts o;
    spec sp = {"consent", "matter", REC_ALLOW, flags, 2};
    int rc;
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc, argv, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("consent --matter ID (--accept | --refuse)",
                    "Record that the subject was told it may choose flexible enforcement, and "
                    "its answer.",
                    "consent", &sp);
    if (!o.target)
        return cli_usage_error("--matter is required%s", "");
    for (size_t i = 0; i < o.n_fields; i++)
        if (strcmp(o.fields[i].name, "told") == 0)
            return cli_usage_error("--told is implied%s", "");
    if ((rc = opts_add_field(&o, "told", "yes")))
        return rc;
    return record(&o, "consent", 0);
}

int cmd_document(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "issue") == 0) {
        spec sp = {"document.issue", "matter", REC_ALLOW, NULL, 0};
        cli_cmd = "document issue";
        return cmd_kind(argc - 1, argv + 1,
                        "document issue --matter ID --purpose P --content C --time T --personnel P",
                        "Issue a flexible enforcement opinion (柔性执法意见书). Prints its id.",
                        &sp, 1, "matter");
    }
    if (argc >= 1 && strcmp(argv[0], "deliver") == 0) {
        spec sp = {"document.deliver", "document", REC_ALLOW, NULL, 0};
        cli_cmd = "document deliver";
        return cmd_kind(argc - 1, argv + 1, "document deliver --document ID --method M --recipient R",
                        "Record the delivery (送达) of an issued document.", &sp, 0, "document");
    }
    return cli_usage_error("expected 'document issue' or 'document deliver'%s", "");
}

int cmd_application(int argc, char **argv)
{
    static const char *const subs[] = {"file", "withdraw", "change"};
    char kind[32];
    for (size_t i = 0; argc >= 1 && i < 3; i++)
        if (strcmp(argv[0], subs[i]) == 0) {
            spec sp = {kind, "matter", REC_ALLOW, NULL, 0};
            snprintf(kind, sizeof kind, "application.%s", subs[i]);
            cli_cmd = kind;
            return cmd_kind(argc - 1, argv + 1, "application file|withdraw|change --matter ID ...",
                            "Record the subject's application, its withdrawal or change.", &sp, 0,
                            "matter");
        }
    return cli_usage_error("expected 'application file', 'withdraw' or 'change'%s", "");
}

int cmd_revisit(int argc, char **argv)
{
    spec sp = {"revisit.outcome", "revisit", REC_ALLOW, NULL, 0};
    if (argc < 1 || strcmp(argv[0], "done") != 0)
        return cli_usage_error("expected 'revisit done'%s", "");
    cli_cmd = "revisit done";
    return cmd_kind(argc - 1, argv + 1, "revisit done --revisit ID --outcome O",
                    "Record the outcome of a planned revisit.", &sp, 0, "revisit");
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
        return opts_help("correct --entry SEQ --reason TEXT [--field NAME --value V] --inspector ID",
                    "Correct an earlier entry. Nothing is edited: the correction is a new "
                    "entry that refers to the old one.",
                    "correction", &sp);
    if (!o.corrects)
        return cli_usage_error("--entry is required%s", "");
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

    if (argc < 1 || strcmp(argv[0], "add") != 0)
        return cli_usage_error("expected 'evidence add'%s", "");
    cli_cmd = "evidence add";
    memset(&o, 0, sizeof o);
    if ((rc = opts_parse(argc - 1, argv + 1, &sp, &o)))
        return rc;
    if (o.help)
        return opts_help("evidence add --matter ID --kind photo|audio|video|document [--caption C] "
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
            return cli_usage_error("unknown option '--%s'", o.fields[i].name);
    }
    if (!o.target || !kind || !o.file)
        return cli_usage_error("--matter, --kind and a FILE are required%s", "");
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
        printf("saved entry %llu\n", (unsigned long long)s.seq);
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
                       "Record leaflets handed out (a simple form of 二(三)2).");
}

int cmd_expert(int argc, char **argv)
{
    return simple_kind(argc, argv, "expert.opinion",
                       "expert --matter ID --expert NAME --opinion TEXT [--topic T]",
                       "Record an expert's review of a technical question.");
}

int cmd_hearing(int argc, char **argv)
{
    return simple_kind(argc, argv, "hearing",
                       "hearing --matter ID --form F --participants P --summary S",
                       "Record a hearing, symposium or published draft (major matters).");
}
