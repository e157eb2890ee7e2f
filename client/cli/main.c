/* patrol -- the inspector's command-line tool. Uses only the public API
 * in include/patrol/patrol.h.
 *
 * main.c owns the dispatch from a command word to its cmd_ function, the
 * overall usage text, and the two ways a command ends badly (usage error,
 * refusal). The commands live by noun: cmd_record.c (entries), cmd_list.c
 * (reading), cmd_sync.c (the server); opts.c parses options from the rules
 * table; json.c prints JSON.
 *
 * Exit status: 0 success, 1 refused or failed (one line on stderr says
 * why), 2 usage error, 3 verification found problems; sync also 4 (server
 * unreachable: try again later) and 5 (the server rejected an entry). */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char *cli_cmd = "patrol";
int cli_json;

int cli_usage_error(const char *fmt, const char *arg)
{
    char msg[600];
    size_t n;
    snprintf(msg, sizeof msg, fmt, arg);
    n = strlen(msg);
    /* TRANSLATORS: ends a usage error, space included (a Chinese text
     * needs none before its full-width bracket); %s is the command. */
    snprintf(msg + n, sizeof msg - n, _(" (see 'patrol %s --help')"), cli_cmd);
    return cli_fail_msg(EXIT_USAGE, "usage", msg);
}

int cli_fail_msg(int status, const char *code, const char *msg)
{
    fprintf(stderr, "patrol: %s: %s\n", cli_cmd, msg);
    if (cli_json)
        cli_json_error(status, code, msg);
    return status;
}

int cli_failed(patrol *p, int err)
{
    const char *msg = p ? patrol_errmsg(p) : "";
    return cli_fail_msg(err == PATROL_EVERIFY ? EXIT_VERIFY : EXIT_REFUSED, cli_err_code(err),
                        msg[0] ? msg : patrol_strerror(err));
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_group_help(const char *group, const cli_sub *subs, size_t n, int asked)
{
    FILE *f = asked ? stdout : stderr;
    fprintf(f, "%s patrol %s SUBCOMMAND [options]\n\n", _("usage:"), group);
    for (size_t i = 0; i < n; i++) {
        char syn[200];
        snprintf(syn, sizeof syn, "%s %s", subs[i].name, subs[i].syntax);
        if (strlen(syn) <= 44)
            fprintf(f, "  %-44s %s\n", syn, _(subs[i].what));
        else
            fprintf(f, "  %s\n  %-44s %s\n", syn, "", _(subs[i].what));
    }
    fputs("\n", f);
    /* TRANSLATORS: %s is the group ("matter"); SUBCOMMAND is typed as is. */
    fprintf(f, _("'patrol %s SUBCOMMAND --help' lists its options."), group);
    fputs("\n", f);
    if (asked)
        return 0;
    if (cli_json) {
        char msg[200];
        snprintf(msg, sizeof msg, _("'patrol %s' needs a subcommand"), group);
        cli_json_error(EXIT_USAGE, "usage", msg);
    }
    return EXIT_USAGE;
}

const char *cli_tr(const char *s)
{
    return !s ? "" : !*s ? s : _(s);
}

/* Messages in the user's language: LANG / LC_ALL / LC_MESSAGES / LANGUAGE
 * as usual (LANG=C keeps English), catalogues from $PATROL_LOCALEDIR if set
 * (the tests point it at the build tree's locale/), else the compiled-in
 * install directory. Numbers stay in the C locale: --location is parsed
 * with strtod and JSON is printed with printf, both with a '.' whatever the
 * user's locale says. */
static void i18n_init(void)
{
    const char *dir = getenv("PATROL_LOCALEDIR");
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    tzset(); /* times for people are local: TZ, else /etc/localtime */
    bindtextdomain(PX_TEXTDOMAIN, dir && *dir ? dir : PATROL_LOCALEDIR);
    bind_textdomain_codeset(PX_TEXTDOMAIN, "UTF-8");
}

void cli_messages_english(void)
{
    setlocale(LC_MESSAGES, "C");
}

/* The overview of 'patrol --help': a heading (syntax NULL), or a command's
 * syntax (never translated: it is what one types) and what it does. */
static const struct usage_line {
    const char *syntax, *what;
} usage_lines[] = {
    {NULL, N_("setting up")},
    {"init --department CODE --device-name NAME", N_("create a store and device key")},
    {"inspector add --id ID --name N --cert-no C", N_("enrol an inspector")},
    {"shift start --inspector ID | shift end", N_("go on duty, end the shift")},
    {"subject add (--credit-code C | --id-number N) --name N",
     N_("record a business or a person")},
    {NULL, N_("recording")},
    {"matter open --subject ID --inspector ID --domain D --summary TEXT", N_("open a matter")},
    {"consent --matter ID [--accept | --refuse | --stop]", N_("the subject's choice")},
    {"act METHOD --matter ID --content TEXT ...",
     N_("guidance suggestion reminder warning interview publicity revisit")},
    {"dept interview|reminder|publicity --inspector ID ...",
     N_("an act of the department, not about one subject")},
    {"leaflet --matter ID --title T --copies N", N_("leaflets handed out")},
    {"evidence add --matter ID --kind K FILE", N_("photo, audio, video, document or electronic data")},
    {"document issue|deliver ...", N_("柔性执法意见书 and its delivery")},
    {"application file|withdraw|change --matter ID", N_("the subject's application")},
    {"expert --matter ID ...", N_("an expert's review")},
    {"hearing --matter ID ...", N_("hearing, symposium or published draft")},
    {"revisit done --revisit ID --outcome O", N_("outcome of a revisit")},
    {"matter close --matter ID (--completed | --terminated --reason R | --escalated)",
     N_("close a matter")},
    {"correct --entry SEQ --reason TEXT", N_("correct an earlier entry")},
    {NULL, N_("reading")},
    {"log [--matter ID] [--json]", N_("the full-process record")},
    {"verify", N_("check hashes, chain and signatures")},
    {"revisits --due", N_("revisits due or overdue")},
    {"matter list", N_("the matters on this terminal")},
    {"flags [--matter ID]", N_("rules that recorded entries break")},
    {"lists", N_("the three lists: names, issuers, items, bases, conditions")},
    {"domains", N_("domains: flexible or excluded, held by this department")},
    {"departments", N_("departments and the domains each holds")},
    {"leaflets", N_("the leaflet catalogue")},
    {"info", N_("this terminal")},
    {"kinds [KIND]", N_("the record's rules")},
    {NULL, N_("syncing with the server (patrold)")},
    {"enroll --server https://HOST:PORT --token TOKEN", N_("once per terminal")},
    {"sync [--progress] [--json]", N_("send entries and evidence, pull reference data")},
    {"status [--json]", N_("what is not yet acknowledged, last sync, receipt")},
    {NULL, N_("on the handheld")},
    {"ui [--listen 127.0.0.1:PORT]", N_("the touch interface, in the handheld's browser")},
};

static void usage(FILE *f)
{
    fprintf(f, "%s patrol [--store DIR] COMMAND [options]\n\n%s\n", _("usage:"),
            _("The offline full-process record of flexible law enforcement (柔性执法)."));
    for (size_t i = 0; i < sizeof usage_lines / sizeof usage_lines[0]; i++) {
        const struct usage_line *u = &usage_lines[i];
        if (!u->syntax)
            fprintf(f, "\n%s\n", _(u->what));
        else if (strlen(u->syntax) <= 44)
            fprintf(f, "  %-44s %s\n", u->syntax, _(u->what));
        else
            fprintf(f, "  %s\n  %-44s %s\n", u->syntax, "", _(u->what));
    }
    fprintf(f, "\n%s\n",
            _("'patrol COMMAND --help' describes a command. The store is --store DIR or "
              "$PATROL_STORE."));
}

/* patrol ui: the touch interface is its own program (client/ui, linked
 * with libmicrohttpd), patrol-ui beside this one, as git runs git-foo.
 * Returns only if it cannot be started. */
static int cmd_ui(int nargs, char **args)
{
    char self[4096], prog[4096 + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char **av = calloc((size_t)nargs + 2, sizeof *av);
    int e = ENOENT; /* why the one beside this program did not start */
    if (!av)
        return EXIT_REFUSED;
    av[0] = (char *)"patrol-ui";
    for (int k = 0; k < nargs; k++)
        av[k + 1] = args[k];
    if (n > 0) {
        char *slash;
        self[n] = '\0';
        if ((slash = strrchr(self, '/'))) {
            *slash = '\0';
            snprintf(prog, sizeof prog, "%s/patrol-ui", self);
            execv(prog, av);
            e = errno;
        }
    }
    execvp("patrol-ui", av);
    if (e == ENOENT)
        e = errno;
    cli_cmd = "ui";
    if (e == ENOENT)
        cli_fail_msg(EXIT_REFUSED, "not_installed",
                     _("patrol-ui is not installed (build it with libmicrohttpd)"));
    else {
        char msg[512];
        /* TRANSLATORS: %s is the system's reason (e.g. "Exec format error"). */
        snprintf(msg, sizeof msg, _("patrol-ui is there but cannot be started: %s"), strerror(e));
        cli_fail_msg(EXIT_REFUSED, "cannot_start", msg);
    }
    free(av);
    return EXIT_REFUSED;
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
    i18n_init();
    /* A global --store before the command is passed on to it. */
    if (argc >= 3 && strcmp(argv[1], "--store") == 0) {
        store = argv[2];
        i = 3;
    }
    for (int k = i; k < argc; k++)
        cli_json |= strcmp(argv[k], "--json") == 0;
    /* --json is for scripts: its messages, and the error object's, stay
     * English (README "Languages"); the code is what a script tests. */
    if (cli_json)
        cli_messages_english();
    if (i >= argc) {
        usage(stderr);
        if (cli_json)
            cli_json_error(EXIT_USAGE, "usage", _("no command given"));
        return EXIT_USAGE;
    }
    cmd = argv[i];
    if (cli_is_help(cmd) || strcmp(cmd, "help") == 0) {
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
    cli_cmd = cmd;

    if (strcmp(cmd, "init") == 0)
        rc = cmd_init(nargs, args);
    else if (strcmp(cmd, "inspector") == 0)
        rc = cmd_inspector(nargs, args);
    else if (strcmp(cmd, "subject") == 0)
        rc = cmd_subject(nargs, args);
    else if (strcmp(cmd, "matter") == 0) {
        if (nargs >= 1 && strcmp(args[0], "list") == 0) {
            cli_cmd = "matter list";
            rc = cmd_matter_list(nargs - 1, args + 1);
        } else {
            rc = cmd_matter(nargs, args);
        }
    } else if (strcmp(cmd, "act") == 0)
        rc = cmd_act(nargs, args);
    else if (strcmp(cmd, "dept") == 0)
        rc = cmd_dept(nargs, args);
    else if (strcmp(cmd, "flags") == 0)
        rc = cmd_flags(nargs, args);
    else if (strcmp(cmd, "shift") == 0)
        rc = cmd_shift(nargs, args);
    else if (strcmp(cmd, "leaflet") == 0)
        rc = cmd_leaflet(nargs, args);
    else if (strcmp(cmd, "consent") == 0)
        rc = cmd_consent(nargs, args);
    else if (strcmp(cmd, "evidence") == 0)
        rc = cmd_evidence(nargs, args);
    else if (strcmp(cmd, "document") == 0)
        rc = cmd_document(nargs, args);
    else if (strcmp(cmd, "application") == 0)
        rc = cmd_application(nargs, args);
    else if (strcmp(cmd, "expert") == 0)
        rc = cmd_expert(nargs, args);
    else if (strcmp(cmd, "hearing") == 0)
        rc = cmd_hearing(nargs, args);
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
    else if (strcmp(cmd, "domains") == 0)
        rc = cmd_domains(nargs, args);
    else if (strcmp(cmd, "departments") == 0)
        rc = cmd_departments(nargs, args);
    else if (strcmp(cmd, "leaflets") == 0)
        rc = cmd_leaflets(nargs, args);
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
    else if (strcmp(cmd, "ui") == 0)
        rc = cmd_ui(nargs, args);
    else {
        char msg[200];
        snprintf(msg, sizeof msg, _("unknown command '%s'"), cmd);
        fprintf(stderr, "patrol: %s\n", msg);
        usage(stderr);
        if (cli_json)
            cli_json_error(EXIT_USAGE, "usage", msg);
        rc = EXIT_USAGE;
    }
    free(args);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "patrol: %s\n", _("cannot write output"));
        rc = EXIT_REFUSED;
    }
    return rc;
}
