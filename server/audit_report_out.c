/* audit_report_out.c -- the report of `patrold audit report` for people:
 * text with aligned columns (display width), CSV (RFC 4180) and XLSX
 * through libxlsxwriter (a sheet per table), all made from the report's
 * JSON (audit_report.c) and the tables' Chinese headings (rpt_tables).
 * docs/report.md has the layouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "audit.h"
#include "audit_report.h"

#define CMD "report"

/* Display width of UTF-8 text: CJK and full-width forms take two columns. */
static size_t width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        int n;
        if (*p < 0x80) {
            cp = *p;
            n = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1F;
            n = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0F;
            n = 3;
        } else {
            cp = *p & 0x07;
            n = 4;
        }
        for (int i = 1; i < n; i++)
            cp = p[i] ? (cp << 6) | (p[i] & 0x3F) : cp;
        for (int i = 0; i < n && *p; i++)
            p++;
        w += (cp >= 0x1100 && (cp <= 0x115F || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                               (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                               (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                               (cp >= 0xFFE0 && cp <= 0xFFE6)))
                 ? 2
                 : 1;
    }
    return w;
}

/* A table laid out as cells: cells[r * ncols + c] (strings), numbers
 * where is_num. Row 0 is the header. */
typedef struct grid {
    char **cells;
    int *is_num;
    size_t rows, cols;
} grid;

static void grid_free(grid *g)
{
    for (size_t i = 0; g->cells && i < g->rows * g->cols; i++)
        free(g->cells[i]);
    free(g->cells);
    free(g->is_num);
}

static int grid_set(grid *g, size_t r, size_t c, const char *s, int num)
{
    if (!(g->cells[r * g->cols + c] = strdup(s)))
        return -1;
    g->is_num[r * g->cols + c] = num;
    return 0;
}

static const char *unit_header(const cJSON *u, char *buf, size_t len)
{
    const char *code = cJSON_GetObjectItemCaseSensitive(u, "code")->valuestring;
    const char *name = cJSON_GetObjectItemCaseSensitive(u, "name")->valuestring;
    snprintf(buf, len, "%s(%s)", name && *name ? name : code, code);
    return buf;
}

/* The grid of table td from the report's JSON. */
static int make_grid(const cJSON *j, const rpt_tabdef *td, grid *g)
{
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(j, "units");
    const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(j, "scopes");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "labels"), td->key);
    const cJSON *first = NULL, *k, *u;
    size_t nunits = (size_t)cJSON_GetArraySize(units), nfig = 0, i = 0;
    char buf[400];

    memset(g, 0, sizeof *g);
    u = cJSON_GetArrayItem(units, 0);
    if (u)
        first = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(scopes,
                                             cJSON_GetObjectItemCaseSensitive(u, "code")->valuestring),
            td->key);
    nfig = first ? (size_t)cJSON_GetArraySize(first) : 0;
    /* figures x units (+ label and code columns), or units x figures */
    g->rows = td->transposed ? nunits + 1 : nfig + 1;
    g->cols = td->transposed ? nfig + 1 : nunits + 2;
    if (!(g->cells = calloc(g->rows * g->cols, sizeof *g->cells)) ||
        !(g->is_num = calloc(g->rows * g->cols, sizeof *g->is_num)))
        return -1;
    if (td->transposed) {
        if (grid_set(g, 0, 0, "填报单位", 0))
            return -1;
    } else if (grid_set(g, 0, 0, "项目", 0) || grid_set(g, 0, 1, "代码", 0)) {
        return -1;
    }
    i = 0;
    cJSON_ArrayForEach(k, first)
    {
        const char *zh = k->string;
        for (const rpt_rowdef *rd = td->rows; rd && rd->key; rd++)
            if (strcmp(rd->key, k->string) == 0)
                zh = rd->zh;
        if (td->dynamic) {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, k->string);
            zh = cJSON_IsString(l) && *l->valuestring ? l->valuestring : k->string;
        }
        if (td->transposed ? grid_set(g, 0, i + 1, zh, 0)
                           : (grid_set(g, i + 1, 0, zh, 0) || grid_set(g, i + 1, 1, k->string, 0)))
            return -1;
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(u, units)
    {
        const char *code = cJSON_GetObjectItemCaseSensitive(u, "code")->valuestring;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(scopes, code), td->key);
        size_t f = 0;
        unit_header(u, buf, sizeof buf);
        if (td->transposed ? grid_set(g, i + 1, 0, buf, 0) : grid_set(g, 0, i + 2, buf, 0))
            return -1;
        cJSON_ArrayForEach(k, t)
        {
            char v[32];
            int num = cJSON_IsNumber(k);
            if (num)
                snprintf(v, sizeof v, "%lld", (long long)k->valuedouble);
            else
                snprintf(v, sizeof v, "—");
            if (f < nfig && (td->transposed ? grid_set(g, i + 1, f + 1, v, num)
                                            : grid_set(g, f + 1, i + 2, v, num)))
                return -1;
            f++;
        }
        i++;
    }
    for (size_t c = 0; c < g->rows * g->cols; c++)
        if (!g->cells[c] && !(g->cells[c] = strdup("")))
            return -1;
    return 0;
}

static void title_of(const cJSON *j, char *out, size_t len)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "period");
    const char *type = cJSON_GetObjectItemCaseSensitive(p, "type")->valuestring;
    const char *per = cJSON_GetObjectItemCaseSensitive(p, "period")->valuestring;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "department");
    if (strcmp(type, "month") == 0)
        snprintf(out, len, "柔性执法统计月报 %.4s年%.2s月（%s）", per, per + 5,
                 cJSON_IsString(d) ? d->valuestring : "全县");
    else
        snprintf(out, len, "柔性执法统计年报 %.4s年（%s）", per,
                 cJSON_IsString(d) ? d->valuestring : "全县");
}

/* A value of the reporter block for people: the county unit is 全县. */
static const char *block_value(const cJSON *b, const char *key)
{
    const char *v = cJSON_GetObjectItemCaseSensitive(b, key)->valuestring;
    return strcmp(key, "unit") == 0 && strcmp(v, "county") == 0 ? "全县" : v;
}

static void block_text(const cJSON *j, FILE *f, int csv)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "filing_block");
    const char *k[] = {"unit", "reporter", "phone", "date"};
    const char *zh[] = {"填报单位", "报表人", "联系电话", "填报日期"};
    for (int i = 0; i < 4; i++) {
        const char *v = block_value(b, k[i]);
        if (csv)
            fprintf(f, "%s,\"%s\"\n", zh[i], v); /* values are checked to hold no quote */
        else
            fprintf(f, "%s：%s%s", zh[i], v, i == 3 ? "\n" : "    ");
    }
}

int rpt_print_text(const cJSON *j, FILE *f)
{
    char title[200];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "period");
    int month = strcmp(cJSON_GetObjectItemCaseSensitive(p, "type")->valuestring, "month") == 0;
    title_of(j, title, sizeof title);
    fprintf(f, "%s\n统计期间：%s 至 %s（设备时间，北京时间）  统计日：%s\n\n", title,
            cJSON_GetObjectItemCaseSensitive(p, "from")->valuestring,
            cJSON_GetObjectItemCaseSensitive(p, "to")->valuestring,
            cJSON_GetObjectItemCaseSensitive(j, "as_of")->valuestring);
    for (size_t t = 0; rpt_tables[t].key; t++) {
        grid g;
        size_t *w;
        if (rpt_tables[t].annual && month)
            continue;
        if (make_grid(j, &rpt_tables[t], &g) != 0 || !(w = calloc(g.cols, sizeof *w))) {
            grid_free(&g);
            return audit_fail(CMD, "out of memory");
        }
        fprintf(f, "表%d %s\n", rpt_table_number(&rpt_tables[t], month), rpt_tables[t].zh);
        for (size_t r = 0; r < g.rows; r++)
            for (size_t c = 0; c < g.cols; c++)
                if (width(g.cells[r * g.cols + c]) > w[c])
                    w[c] = width(g.cells[r * g.cols + c]);
        for (size_t r = 0; r < g.rows; r++) {
            for (size_t c = 0; c < g.cols; c++) {
                const char *s = g.cells[r * g.cols + c];
                size_t pad = w[c] - width(s);
                if (g.is_num[r * g.cols + c])
                    fprintf(f, "%*s%s", (int)pad, "", s);
                else
                    fprintf(f, "%s%*s", s, c + 1 < g.cols ? (int)pad : 0, "");
                if (c + 1 < g.cols)
                    fputs("  ", f);
            }
            fputc('\n', f);
        }
        fputc('\n', f);
        free(w);
        grid_free(&g);
        if (rpt_tables[t].key && strcmp(rpt_tables[t].key, "annual_flexible") == 0) {
            block_text(j, f, 0);
            fputc('\n', f);
        }
    }
    if (month)
        block_text(j, f, 0);
    return 0;
}

static void csv_cell(FILE *f, const char *s)
{
    int quote = strpbrk(s, ",\"\n\r") != NULL;
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int rpt_print_csv(const cJSON *j, FILE *f)
{
    char title[200];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "period");
    int month = strcmp(cJSON_GetObjectItemCaseSensitive(p, "type")->valuestring, "month") == 0;
    title_of(j, title, sizeof title);
    csv_cell(f, title);
    fputs("\r\n\r\n", f);
    for (size_t t = 0; rpt_tables[t].key; t++) {
        grid g;
        char head[200];
        if (rpt_tables[t].annual && month)
            continue;
        if (make_grid(j, &rpt_tables[t], &g) != 0) {
            grid_free(&g);
            return audit_fail(CMD, "out of memory");
        }
        snprintf(head, sizeof head, "表%d %s", rpt_table_number(&rpt_tables[t], month), rpt_tables[t].zh);
        csv_cell(f, head);
        fputc(',', f);
        csv_cell(f, rpt_tables[t].key);
        fputs("\r\n", f);
        for (size_t r = 0; r < g.rows; r++) {
            for (size_t c = 0; c < g.cols; c++) {
                if (c)
                    fputc(',', f);
                csv_cell(f, g.cells[r * g.cols + c]);
            }
            fputs("\r\n", f);
        }
        fputs("\r\n", f);
        grid_free(&g);
    }
    {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "filing_block");
        const char *k[] = {"unit", "reporter", "phone", "date"};
        const char *zh[] = {"填报单位", "报表人", "联系电话", "填报日期"};
        for (int i = 0; i < 4; i++) {
            csv_cell(f, zh[i]);
            fputc(',', f);
            csv_cell(f, block_value(b, k[i]));
            fputs("\r\n", f);
        }
    }
    return 0;
}

int rpt_write_xlsx(const cJSON *j, const char *path)
{
    lxw_workbook *wb = workbook_new(path);
    lxw_format *bold;
    char title[200];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "period");
    int month = strcmp(cJSON_GetObjectItemCaseSensitive(p, "type")->valuestring, "month") == 0;
    int sheets = 0;
    lxw_error e;

    if (!wb)
        return audit_fail(CMD, "cannot create %s", path);
    bold = workbook_add_format(wb);
    format_set_bold(bold);
    title_of(j, title, sizeof title);
    for (size_t t = 0; rpt_tables[t].key; t++) {
        grid g;
        char head[200];
        lxw_worksheet *ws;
        if (rpt_tables[t].annual && month)
            continue;
        if (!(ws = workbook_add_worksheet(wb, rpt_tables[t].sheet)) ||
            make_grid(j, &rpt_tables[t], &g) != 0) {
            grid_free(&g);
            workbook_close(wb);
            remove(path);
            return audit_fail(CMD, "out of memory writing %s", path);
        }
        sheets++;
        snprintf(head, sizeof head, "表%d %s", rpt_table_number(&rpt_tables[t], month), rpt_tables[t].zh);
        worksheet_write_string(ws, 0, 0, title, bold);
        worksheet_write_string(ws, 1, 0, head, bold);
        worksheet_write_string(ws, 1, 1, rpt_tables[t].key, NULL);
        for (size_t r = 0; r < g.rows; r++)
            for (size_t c = 0; c < g.cols; c++) {
                const char *s = g.cells[r * g.cols + c];
                if (g.is_num[r * g.cols + c])
                    worksheet_write_number(ws, (lxw_row_t)(r + 2), (lxw_col_t)c, strtod(s, NULL),
                                           NULL);
                else
                    worksheet_write_string(ws, (lxw_row_t)(r + 2), (lxw_col_t)c, s,
                                           r == 0 ? bold : NULL);
            }
        worksheet_set_column(ws, 0, 0, 30, NULL);
        worksheet_set_column(ws, 1, (lxw_col_t)(g.cols > 1 ? g.cols - 1 : 1), 16, NULL);
        if (!month ? strcmp(rpt_tables[t].key, "annual_flexible") == 0
                   : strcmp(rpt_tables[t].key, "rule_flags") == 0) {
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "filing_block");
            const char *k[] = {"unit", "reporter", "phone", "date"};
            const char *zh[] = {"填报单位", "报表人", "联系电话", "填报日期"};
            for (int i = 0; i < 4; i++) {
                worksheet_write_string(ws, (lxw_row_t)(g.rows + 3 + (size_t)i), 0, zh[i], bold);
                worksheet_write_string(ws, (lxw_row_t)(g.rows + 3 + (size_t)i), 1,
                                       block_value(b, k[i]),
                                       NULL);
            }
        }
        grid_free(&g);
    }
    if ((e = workbook_close(wb)) != LXW_NO_ERROR) {
        remove(path);
        return audit_fail(CMD, "writing %s: %s", path, lxw_strerror(e));
    }
    printf("wrote %s: %d sheets\n", path, sheets);
    return 0;
}

