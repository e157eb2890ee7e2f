/* cmdline.h -- what every patrold command shares on its command line
 * (cmdline.c): --help/-h, the --json mode with its error object, failures
 * (exit 1) and usage errors (exit 2), ISO 8601 times for JSON. The same
 * conventions as the patrol tool (client/cli, README "Using the terminal
 * tool"). */
#ifndef PATROLD_CMDLINE_H
#define PATROLD_CMDLINE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* 1 when the command line has --json (main sets it before dispatching):
 * a failure then also prints the JSON error object on stdout. */
extern int cl_json;

/* Whether arg asks for help: --help or -h. */
int cl_is_help(const char *arg);

/* The line "patrold: CMD: message" on stderr and, under --json, the error
 * object on stdout, one line, unless JSON was printed already:
 *   {"ok":false,"exit":STATUS,"code":CODE,"error":MESSAGE}
 * CODE: "usage" (status 2), "no_server", "not_found" or "failed". The
 * message is already in the user's language (fmt from _()). Returns
 * status. */
int cl_fail(int status, const char *code, const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int cl_vfail(int status, const char *code, const char *cmd, const char *fmt, va_list ap);

/* cl_fail(1, "failed", ...) and cl_fail(2, "usage", ...): a failure, a
 * command line that is wrong. */
int cl_die(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int cl_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Print s and a newline on stdout as a command's JSON result, and note
 * that JSON was printed (so a later failure adds no error object). */
void cl_json_out(const char *s);

/* The data directory's database, opened read-write (an older schema is
 * upgraded), or NULL after the failure was reported for cmd: no server
 * there (code no_server), not readable and writable by this user, or what
 * the open said. */
struct st_backend;
struct st_backend *cl_open_db(const char *data, const char *cmd);

/* A list command (device list, user list): only --json is taken; the
 * database opened with open_db (reporting its own failure); each(db, arr)
 * runs the listing, arr a JSON array to fill under --json, else NULL (its
 * callback prints lines); the array printed if all went well. Returns the
 * exit status. */
int cl_list_command(const char *data, const char *cmd, int argc, char **argv,
                    struct st_backend *(*open_db)(const char *data, const char *cmd),
                    int (*each)(struct st_backend *db, void *arr));

/* ms since the epoch as ISO 8601 UTC with milliseconds
 * ("2026-11-29T05:52:07.123Z"); "" for 0. */
void cl_iso_time(int64_t ms, char *buf, size_t len);

#endif
