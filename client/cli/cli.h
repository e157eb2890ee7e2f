/* cli.h -- what the files of the patrol tool share: exit statuses, the
 * parsed command line (opts.c), the command functions (cmd_record.c,
 * cmd_list.c, cmd_sync.c), ending badly (main.c) and JSON output (json.c).
 * The tool uses only the public API, include/patrol/patrol.h. */
#ifndef PATROL_CLI_H
#define PATROL_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "i18n.h" /* _() and N_(): every string a person reads */
#include "patrol/patrol.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_VERIFY 3
#define EXIT_OFFLINE 4  /* the server could not be reached: try again later */
#define EXIT_REJECTED 5 /* the server rejected an entry: a supervisor must look */
#define MAX_FIELDS 32
#define MAX_INSPECTORS 8

/* ---- main.c ------------------------------------------------------------ */

/* The command being run ("matter open"), for messages. Static storage. */
extern const char *cli_cmd;

/* 1 when the command line has --json: a usage error or a failure then also
 * prints the JSON error object on stdout (cli_json_error), so that a
 * script reading stdout gets one JSON value whatever happened. */
extern int cli_json;

/* A group of subcommands ("matter": open, close, list) for its help. */
typedef struct cli_sub {
    const char *name;   /* "open" */
    const char *syntax; /* its options, as typed (never translated) */
    const char *what;   /* N_() */
} cli_sub;

/* 'patrol GROUP --help' (asked = 1: on stdout, returns 0) or 'patrol GROUP'
 * with no subcommand (asked = 0: on stderr, returns EXIT_USAGE). */
int cli_group_help(const char *group, const cli_sub *subs, size_t n, int asked);

/* Whether argv[0] asks for help: --help or -h. */
int cli_is_help(const char *arg);

/* One line on stderr: "patrol: CMD: " fmt (with arg) " (see 'patrol CMD
 * --help')", and under --json the error object (code "usage") on stdout.
 * Returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, const char *arg);

/* One line on stderr with p's message (or err's text), and under --json the
 * error object on stdout. Returns EXIT_VERIFY for PATROL_EVERIFY, else
 * EXIT_REFUSED. p may be NULL. */
int cli_failed(patrol *p, int err);

/* A failure reported with a message of the caller's: the line on stderr
 * ("patrol: CMD: msg") and under --json the error object with code (a
 * cli_err_code or "usage"). Returns status. */
int cli_fail_msg(int status, const char *code, const char *msg);

/* A string from the library's tables (a kind's help, a field's help or
 * type) in the user's language: the table marks them N_(), the catalogue
 * translates them. "" for NULL; "" stays "" (gettext would return the
 * catalogue's header). */
const char *cli_tr(const char *s);

/* From now on, messages in English (LC_MESSAGES=C): for --json output that
 * carries a message (verify problems, sync errors), which scripts read. */
void cli_messages_english(void);

/* ---- opts.c ------------------------------------------------------------ */

/* Parsed command line of a command. Every pointer points into argv or into
 * the struct itself. */
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

/* What a command accepts. */
typedef struct spec {
    const char *kind;        /* kind whose fields are options, or NULL */
    const char *target_name; /* "matter", "revisit", "document", "id" */
    unsigned allow;
    /* Extra flags mapped to field values: --accept -> answer=accept. */
    const char *const (*flags)[3];
    size_t n_flags;
} spec;

/* Parse argv into o (zeroed by the caller). 0, or EXIT_USAGE after a
 * message on stderr. */
int opts_parse(int argc, char **argv, const spec *sp, opts *o);

/* Add field name=value (name copied, value not). 0 or EXIT_USAGE. */
int opts_add_field(opts *o, const char *name, const char *value);

/* --store or $PATROL_STORE, NULL if neither. */
const char *opts_store_dir(const opts *o);

/* Open the store into *p. 0, or an exit status after a message. */
int opts_open_store(const opts *o, patrol **p);

/* Print a kind's fields as options (leaving out those sp maps to flags;
 * sp may be NULL). */
void opts_print_kind_fields(const char *kind, const spec *sp);

/* A command's help on stdout: usage line (what one types, as is),
 * description (marked N_(), shown translated), and the fields of kind if
 * not NULL. Returns 0. */
int opts_help(const char *usage, const char *what, const char *kind, const spec *sp);

/* ---- commands: argc/argv after the command word; return the exit status */

int cmd_init(int argc, char **argv);
int cmd_inspector(int argc, char **argv);
int cmd_subject(int argc, char **argv);
int cmd_matter(int argc, char **argv);
int cmd_act(int argc, char **argv);
int cmd_dept(int argc, char **argv);
int cmd_flags(int argc, char **argv);
int cmd_shift(int argc, char **argv);
int cmd_consent(int argc, char **argv);
int cmd_leaflet(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_document(int argc, char **argv);
int cmd_application(int argc, char **argv);
int cmd_expert(int argc, char **argv);
int cmd_hearing(int argc, char **argv);
int cmd_revisit(int argc, char **argv);
int cmd_correct(int argc, char **argv);

int cmd_log(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_revisits(int argc, char **argv);
int cmd_matter_list(int argc, char **argv);
int cmd_lists(int argc, char **argv);
int cmd_domains(int argc, char **argv);
int cmd_departments(int argc, char **argv);
int cmd_leaflets(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_kinds(int argc, char **argv);

int cmd_enroll(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* ---- fmt.c: values shown to people (text output) ------------------------ */

/* Local time "2026-11-29 05:52:07 CST" of ms since the epoch (UTC). */
void fmt_time(int64_t ms, char *buf, size_t len);

/* Bytes as "512 B", "12.3 KiB", "4.0 MiB". */
void fmt_bytes(double b, char *out, size_t len);

/* "26.0745000, 119.2965000 (within 15 m)" in the user's language. */
void fmt_place(const patrol_location *l, char *buf, size_t len);

/* A confidentiality mark in the user's language (static), "" for none. */
const char *fmt_conf(patrol_conf c);

/* A choice value ("in_person") as people read it, in their language
 * ("in person", "直接送达"); the value itself if the rules give it no
 * label. Static, or value. */
const char *fmt_choice(const char *value);

/* A matter state ("accepted") as people read it; likewise. */
const char *fmt_state(const char *state);

/* Columns a UTF-8 string takes on a terminal: East Asian wide characters
 * (CJK, Hangul, fullwidth forms) two, everything else (and each byte that
 * is not UTF-8) one. */
size_t fmt_width(const char *s);

/* Print label and pad it to 12 columns (by display width) on stdout. */
void fmt_row(const char *label);

/* ---- json.c ------------------------------------------------------------ */

/* Print a cJSON value on stdout followed by a newline, then free it. */
void cli_json_print(cJSON *v);

/* The JSON error object, one line on stdout, unless a JSON value was
 * printed already (a command whose own JSON says ok false, as sync's):
 *   {"ok":false,"exit":STATUS,"code":CODE,"error":MESSAGE}
 * CODE is stable for scripts ("usage" or a cli_err_code); MESSAGE is the
 * line a person reads, in their language. */
void cli_json_error(int status, const char *code, const char *msg);

/* The stable name of a PATROL_E* value: "not_found", "state", ... */
const char *cli_err_code(int err);

/* JSON for one journal entry; confidential values replaced by their mark
 * unless reveal. */
cJSON *cli_json_entry(const patrol_entry_view *e, int reveal);

/* Name of a confidentiality mark ("personal_privacy" ...), "" for none. */
const char *cli_conf_name(patrol_conf c);

/* UTC time "YYYY-MM-DDTHH:MM:SS.mmmZ" of ms since the epoch. */
void cli_format_time(int64_t ms, char *buf, size_t len);

#endif
