/* refcsv.c -- the three lists' items from a spreadsheet saved as CSV
 * (refcsv.h): Debian's libcsv reads the records (quotes, doubled quotes,
 * line breaks inside a quoted cell, CRLF); here the header is matched to
 * the ListItem fields, each row becomes an item, and the items replace
 * their lists in the newest stored reference data before the same checks
 * as a JSON import. A refusal names the row and the column. */
#include "refcsv.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "reference.h"
#include "refjson.h"
#include "validate.h"

/* The columns, named as the ListItem fields they fill. */
enum { C_TYPE, C_VERSION, C_LIST_NAME, C_ISSUER, C_CODE, C_DOMAIN, C_NAME, C_BASIS,
       C_CATEGORY, C_CONDITIONS, N_COLS };
static const char *const col_names[N_COLS] = {"list_type", "list_version", "list_name", "issuer",
                                              "code",      "domain",       "name",      "basis",
                                              "category",  "conditions"};

typedef struct sheet {
    char **cells;  /* row-major, ncells of them */
    size_t ncells, cap;
    size_t *row_end; /* index in cells after each record */
    size_t nrows, rcap;
    int nomem;
} sheet;

static void on_cell(void *s, size_t len, void *ud)
{
    sheet *sh = ud;
    char *c;
    if (sh->nomem)
        return;
    if (sh->ncells == sh->cap) {
        size_t ncap = sh->cap ? 2 * sh->cap : 64;
        char **nc = realloc(sh->cells, ncap * sizeof *nc);
        if (!nc) {
            sh->nomem = 1;
            return;
        }
        sh->cells = nc;
        sh->cap = ncap;
    }
    if (!(c = malloc(len + 1))) {
        sh->nomem = 1;
        return;
    }
    if (len)
        memcpy(c, s, len);
    c[len] = '\0';
    sh->cells[sh->ncells++] = c;
}

static void on_row(int term, void *ud)
{
    sheet *sh = ud;
    (void)term;
    if (sh->nomem)
        return;
    if (sh->nrows == sh->rcap) {
        size_t ncap = sh->rcap ? 2 * sh->rcap : 64;
        size_t *nr = realloc(sh->row_end, ncap * sizeof *nr);
        if (!nr) {
            sh->nomem = 1;
            return;
        }
        sh->row_end = nr;
        sh->rcap = ncap;
    }
    sh->row_end[sh->nrows++] = sh->ncells;
}

static void sheet_free(sheet *sh)
{
    for (size_t i = 0; i < sh->ncells; i++)
        free(sh->cells[i]);
    free(sh->cells);
    free(sh->row_end);
}

static size_t row_start(const sheet *sh, size_t r)
{
    return r ? sh->row_end[r - 1] : 0;
}

/* Whether every cell of record r is empty (a spreadsheet's trailing lines). */
static int row_empty(const sheet *sh, size_t r)
{
    for (size_t i = row_start(sh, r); i < sh->row_end[r]; i++)
        if (sh->cells[i][0])
            return 0;
    return 1;
}

static char *dup_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Split a conditions cell at ';', '；' and line breaks, each part trimmed
 * of spaces; empty parts dropped. */
static int split_conditions(const char *cell, char ***out, size_t *n)
{
    size_t cap = 1;
    char *copy = dup_text(cell), *p, *start;
    *out = NULL;
    *n = 0;
    if (!copy)
        return -1;
    for (p = copy; *p; p++)
        cap += *p == ';' || *p == '\n';
    for (p = copy; (p = strstr(p, "；")); p += 3)
        cap++;
    if (!(*out = calloc(cap, sizeof **out))) {
        free(copy);
        return -1;
    }
    for (start = p = copy;; p++) {
        size_t sep = 0;
        if (*p == ';' || *p == '\n' || *p == '\0')
            sep = 1;
        else if (strncmp(p, "；", 3) == 0)
            sep = 3;
        if (!sep)
            continue;
        {
            char *a = start, *b = p;
            while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
                b--;
            if (b > a) {
                char *c = malloc((size_t)(b - a) + 1);
                if (!c)
                    break;
                memcpy(c, a, (size_t)(b - a));
                c[b - a] = '\0';
                (*out)[(*n)++] = c;
            }
        }
        if (*p == '\0')
            break;
        p += sep - 1;
        start = p + 1;
    }
    free(copy);
    return 0;
}

int refcsv_load(const char *text, size_t n, const uint8_t *base, size_t base_len,
                Patrol__V1__Reference **r, uint8_t **blob, size_t *len, size_t *rows, char *why,
                size_t cap)
{
    struct csv_parser p;
    sheet sh = {0};
    Patrol__V1__Reference *ref = NULL;
    Patrol__V1__ListItem **items = NULL;
    size_t *row_of = NULL, ncols, col_of[N_COLS], kept = 0, nitems = 0;
    int rc = -1;
    px_ref_fault f;

    *r = NULL;
    *blob = NULL;
    *rows = 0;
    if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* the BOM spreadsheets write */
        text += 3;
        n -= 3;
    }
    if (px_check_utf8(text, n)) {
        snprintf(why, cap, "%s", _("not valid UTF-8 text (save the sheet as CSV UTF-8)"));
        return -1;
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        snprintf(why, cap, "%s", _("out of memory"));
        return -1;
    }
    if (csv_parse(&p, text, n, on_cell, on_row, &sh) != n ||
        csv_fini(&p, on_cell, on_row, &sh) != 0) {
        /* TRANSLATORS: %zu: the row (the header is row 1); %s: libcsv's
         * reason ("error parsing data while strict checking enabled"). */
        snprintf(why, cap, _("row %zu: not CSV: %s (a quote inside a cell is written twice)"),
                 sh.nrows + 1, csv_strerror(csv_error(&p)));
        csv_free(&p);
        goto out;
    }
    csv_free(&p);
    if (sh.nomem) {
        snprintf(why, cap, "%s", _("out of memory"));
        goto out;
    }
    if (sh.nrows == 0) {
        snprintf(why, cap, "%s", _("the file is empty: a header row and one row per list item "
                                   "are expected"));
        goto out;
    }
    /* The header: each column once, every required one there. */
    ncols = sh.row_end[0];
    for (size_t k = 0; k < N_COLS; k++)
        col_of[k] = (size_t)-1;
    for (size_t i = 0; i < ncols; i++) {
        size_t k;
        for (k = 0; k < N_COLS && strcmp(sh.cells[i], col_names[k]) != 0; k++)
            ;
        if (k == N_COLS) {
            snprintf(why, cap, _("row 1, column %zu: '%.60s' is not a column of a list item "
                                 "(list_type, list_version, list_name, issuer, code, domain, "
                                 "name, basis, category, conditions)"),
                     i + 1, sh.cells[i]);
            goto out;
        }
        if (col_of[k] != (size_t)-1) {
            snprintf(why, cap, _("row 1: column '%s' appears twice"), col_names[k]);
            goto out;
        }
        col_of[k] = i;
    }
    for (size_t k = 0; k < N_COLS; k++)
        if (col_of[k] == (size_t)-1 && k != C_CONDITIONS) {
            snprintf(why, cap, _("row 1: the column '%s' is missing"), col_names[k]);
            goto out;
        }
    /* The stored reference data the rows go into. */
    if (!(ref = patrol__v1__reference__unpack(NULL, base_len, base))) {
        snprintf(why, cap, "%s", _("the stored reference data cannot be read"));
        goto out;
    }
    if (!(items = calloc(ref->n_list_items + sh.nrows, sizeof *items)) ||
        !(row_of = calloc(sh.nrows, sizeof *row_of))) {
        snprintf(why, cap, "%s", _("out of memory"));
        goto out;
    }
    for (size_t r0 = 1; r0 < sh.nrows; r0++) {
        size_t s = row_start(&sh, r0), cells = sh.row_end[r0] - s;
        Patrol__V1__ListItem *it;
        char **v;
        if (row_empty(&sh, r0))
            continue;
        if (cells != ncols) {
            snprintf(why, cap, _("row %zu: %zu cells, the header has %zu"), r0 + 1, cells, ncols);
            goto out;
        }
        if (!(it = malloc(sizeof *it))) {
            snprintf(why, cap, "%s", _("out of memory"));
            goto out;
        }
        patrol__v1__list_item__init(it);
        items[nitems] = it;
        row_of[nitems++] = r0 + 1;
        v = sh.cells + s;
        if (!(it->list_type = dup_text(v[col_of[C_TYPE]])) ||
            !(it->list_version = dup_text(v[col_of[C_VERSION]])) ||
            !(it->list_name = dup_text(v[col_of[C_LIST_NAME]])) ||
            !(it->issuer = dup_text(v[col_of[C_ISSUER]])) ||
            !(it->code = dup_text(v[col_of[C_CODE]])) ||
            !(it->domain = dup_text(v[col_of[C_DOMAIN]])) ||
            !(it->name = dup_text(v[col_of[C_NAME]])) ||
            !(it->basis = dup_text(v[col_of[C_BASIS]])) ||
            !(it->category = dup_text(v[col_of[C_CATEGORY]])) ||
            (col_of[C_CONDITIONS] != (size_t)-1 &&
             split_conditions(v[col_of[C_CONDITIONS]], &it->conditions, &it->n_conditions))) {
            snprintf(why, cap, "%s", _("out of memory"));
            goto out;
        }
        for (size_t k = 0; k < C_CONDITIONS; k++)
            if (!v[col_of[k]][0]) {
                snprintf(why, cap, _("row %zu, column '%s': empty"), r0 + 1, col_names[k]);
                goto out;
            }
    }
    *rows = nitems;
    if (nitems == 0) {
        snprintf(why, cap, "%s", _("no list item: one row per item is expected under the header"));
        goto out;
    }
    /* The stored items of the list types the file does not name stay,
     * first, in their order; the file's rows follow. */
    {
        Patrol__V1__ListItem **all = calloc(ref->n_list_items + nitems, sizeof *all);
        if (!all) {
            snprintf(why, cap, "%s", _("out of memory"));
            goto out;
        }
        for (size_t i = 0; i < ref->n_list_items; i++) {
            Patrol__V1__ListItem *old = ref->list_items[i];
            int named = 0;
            for (size_t k = 0; k < nitems && !named; k++)
                named = strcmp(items[k]->list_type, old->list_type) == 0;
            if (named)
                patrol__v1__list_item__free_unpacked(old, NULL);
            else
                all[kept++] = old;
        }
        for (size_t k = 0; k < nitems; k++) {
            all[kept + k] = items[k];
            items[k] = NULL;
        }
        free(ref->list_items);
        ref->list_items = all;
        ref->n_list_items = kept + nitems;
    }
    if (px_reference_check(ref, 1, &f)) {
        if (strcmp(f.part, "list_items") == 0 && f.index >= kept) {
            char first[80] = "";
            if (f.first != PX_REF_NO_SUB && f.first >= kept)
                snprintf(first, sizeof first, _(" (first at row %zu)"), row_of[f.first - kept]);
            if (f.field[0])
                snprintf(why, cap, _("row %zu, column '%s': %s%s"), row_of[f.index - kept],
                         f.field, f.why, first);
            else
                snprintf(why, cap, _("row %zu: %s%s"), row_of[f.index - kept], f.why, first);
        } else {
            char where[128];
            px_ref_fault_where(&f, where, sizeof where);
            /* TRANSLATORS: a fault of the stored data the rows join (the
             * departments, domains or another list): its place and why. */
            snprintf(why, cap, _("with the stored reference data: %s: %s"), where, f.why);
        }
        goto out;
    }
    if (refjson_pack(ref, blob, len, why, cap))
        goto out;
    *r = ref;
    ref = NULL;
    rc = 0;
out:
    if (items)
        for (size_t k = 0; k < nitems; k++)
            if (items[k])
                patrol__v1__list_item__free_unpacked(items[k], NULL);
    free(items);
    free(row_of);
    if (ref)
        patrol__v1__reference__free_unpacked(ref, NULL);
    sheet_free(&sh);
    return rc;
}
