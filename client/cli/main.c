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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_cmd = "patrol";

int cli_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "patrol: %s: ", cli_cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'patrol %s --help')\n", cli_cmd);
    return EXIT_USAGE;
}

int cli_failed(patrol *p, int err)
{
    const char *msg = p ? patrol_errmsg(p) : "";
    fprintf(stderr, "patrol: %s: %s\n", cli_cmd, msg[0] ? msg : patrol_strerror(err));
    return err == PATROL_EVERIFY ? EXIT_VERIFY : EXIT_REFUSED;
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
