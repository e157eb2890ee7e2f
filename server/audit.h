/* audit.h -- `patrold --data DIR audit COMMAND ...`: the supervisor's
 * side of the server (issue 7). Every audit command is read-only: it opens
 * the database with ST_OPEN_READONLY (no lock across the ingest path, so
 * it works while `patrold serve` runs) and changes nothing in DIR, except
 * `audit file`, which records a frozen report, and `audit timeline` and
 * `audit export`, which add a leaf to the server log (audit_event.c).
 *
 * One file a command, prefix audit_: audit.c dispatches and owns the
 * helpers below; each command's file declares its entry point here.
 */
#ifndef SRV_AUDIT_H
#define SRV_AUDIT_H

#include <stddef.h>

#include "storage.h"

/* Dispatch `audit SUB ...` (argv[0] is SUB). Exit status: 0 fine, 1 a
 * refusal or a problem found (named on stderr), 2 a usage error. */
int audit_main(const char *data, int argc, char **argv);

/* Open DIR's database read-only; NULL after a message on stderr naming
 * the command (no server in DIR, unreadable ...). Close with
 * db->ops->close. */
st_backend *audit_open(const char *data, const char *cmd);

/* Print "patrold: audit CMD: ..." on stderr and return 1 (2 for usage).
 * fmt is the message as people read it: the caller translates it, _(). */
int audit_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int audit_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Append a leaf "patrol-KIND\n" BODY (lines ending in '\n') "USER\nTIME\n"
 * to DIR's server log in its own write transaction (audit_event.c): a
 * supervisor's view or export. USER is web_account as "web:NAME" when not
 * NULL (the console's account the command runs for; an identifier), else
 * the operating-system user. 0 with the leaf index, or 1 after a message
 * naming cmd. */
int audit_event(const char *data, const char *cmd, const char *kind, const char *body,
                const char *web_account, uint64_t *leaf);

/* The subcommands (argv[0] is the subcommand's first argument). */
typedef struct audit_cmd {
    const char *name;
    const char *usage; /* its syntax, after "patrold --data DIR audit " */
    const char *what;  /* what it does, English, N_() marked */
    int (*run)(const char *data, int argc, char **argv);
} audit_cmd;

/* audit_verify.c: re-verify everything the server holds. */
int audit_verify(const char *data, int argc, char **argv);
/* audit_export.c: a matter's self-verifying archive, and its offline check
 * (verify-archive needs no data directory). */
int audit_export(const char *data, int argc, char **argv);
int audit_verify_archive(const char *data, int argc, char **argv);

/* audit_timeline.c */
int audit_timeline(const char *data, int argc, char **argv);
/* The document `audit timeline --matter ID --json [--reveal]` prints, read
 * through db (borrowed), with no leaf appended: the caller records the
 * view itself (the console, web_matters.c, whose leaf names its account).
 * A cJSON tree (cJSON_Delete), or NULL with *notfound set when there is
 * no such matter, else a sentence in err. */
struct cJSON;
struct cJSON *audit_timeline_json(st_backend *db, const char *matter, int reveal, int *notfound,
                                  char *err, size_t errlen);

/* audit_problems.c */
int audit_problems(const char *data, int argc, char **argv);

/* audit_log.c: the server log (docs/log.md). */
int audit_log_main(const char *data, int argc, char **argv);

#endif
