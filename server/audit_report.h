/* audit_report.h -- what `audit report` (audit_report.c: counting, the
 * report's tables, text, CSV and XLSX) shares with `audit file` and
 * `audit filed` (audit_file.c: freezing a report for filing, 备案).
 * docs/report.md has every figure and how it is counted. */
#ifndef SRV_AUDIT_REPORT_H
#define SRV_AUDIT_REPORT_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "storage.h"

/* The period and scope a report is asked for. */
typedef struct rpt_opts {
    int year, month;        /* month 0: the year report */
    char period[16];        /* "2026-10" or "2026" */
    const char *department; /* NULL: every department and the county */
    const char *reporter, *phone;
} rpt_opts;

/* Parse the options shared by report and file from argv (--month,
 * --year, --department, --reporter, --phone); any other option starting
 * with "--" is handed to `other` (NULL: refused), which returns the number
 * of arguments it took (1 or 2) or 0 if it does not know it. Returns 0,
 * or the exit status after a message on stderr naming cmd (2: usage). */
int rpt_parse(const char *cmd, int argc, char **argv, rpt_opts *o,
              int (*other)(void *ud, int argc, char **argv), void *ud);

/* Count the report over db's entries. Returns the report as JSON (caller
 * frees with cJSON_Delete; keys in docs/report.md), or NULL after a
 * message on stderr naming cmd, with *status the exit status (1, or 1 for
 * an unknown department). `now_ms` is the time the report is made (the
 * day revisits are overdue from). */
cJSON *rpt_build(st_backend *db, const rpt_opts *o, int64_t now_ms, const char *cmd,
                 int *status);

/* The label of a figure for people: "表3 柔性执法方式 / 行政告诫". */
void rpt_figure_label(const char *table, const char *row, char *out, size_t len);

/* A row of a table: its key, its Chinese label, and where its value comes
 * from (src NULL: the table's own counter of that key; src "-": a figure
 * this system does not hold, null / "—"). */
typedef struct rpt_rowdef {
    const char *key, *zh, *src_table, *src_row;
} rpt_rowdef;

typedef struct rpt_tabdef {
    const char *key, *zh, *sheet;
    int dynamic;    /* rows are the keys counted (domains, items ...) */
    int annual;     /* only in the year report */
    int transposed; /* rows are the units, columns the figures (年报) */
    const rpt_rowdef *rows;
} rpt_tabdef;

/* The tables in the order printed, ending with a NULL key (audit_report.c). */
extern const rpt_tabdef rpt_tables[];
/* The number a table is printed with (表N): a month's report has no annual
 * tables. */
int rpt_table_number(const rpt_tabdef *t, int month);

/* The report for people (audit_report_out.c), from rpt_build's JSON: text
 * on f, CSV on f, or an XLSX file at path (removed again on failure). 0,
 * or 1 after a message on stderr. */
int rpt_print_text(const cJSON *j, FILE *f);
int rpt_print_csv(const cJSON *j, FILE *f);
int rpt_write_xlsx(const cJSON *j, const char *path);

int audit_report_run(const char *data, int argc, char **argv);
int audit_file_run(const char *data, int argc, char **argv);
int audit_filed_run(const char *data, int argc, char **argv);

#endif
