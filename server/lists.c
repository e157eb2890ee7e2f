/* lists.c -- `patrold lists import FILE`: reference data from a JSON file
 * (refjson.c) or a list sheet saved as CSV (refcsv.c), stored as the next
 * version with its leaf in the server log (docs/server.md). */
#include "lists.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "cmdline.h"
#include "i18n.h"
#include "refcsv.h"
#include "refjson.h"
#include "slog.h"
#include "storage.h"

/* lists import FILE.csv: the items of the lists the sheet names replace
 * theirs in the newest stored version (refcsv.h); a new version, with its
 * leaf, as for a JSON file. */
static int lists_import_csv(const char *data, const char *file, const char *text, size_t n)
{
    Patrol__V1__Reference *r = NULL;
    st_backend *db;
    uint8_t *base = NULL, *blob = NULL;
    size_t base_len = 0, len = 0, rows = 0;
    uint64_t version = 0, newv;
    char why[600];
    int rc = 1;

    if (!(db = cl_open_db(data, "lists import")))
        return 1;
    if (db->ops->reference_latest(db, &version, &base, &base_len) != ST_OK || !version) {
        cl_fail(1, "failed", "lists import", _("%s: a spreadsheet holds only the lists' items: import the whole "
                              "reference file (JSON) once first; nothing imported"),
            file);
        goto out;
    }
    if (refcsv_load(text, n, base, base_len, &r, &blob, &len, &rows, why, sizeof why)) {
        cl_fail(1, "failed", "lists import", _("%s: %s; nothing imported"), file, why);
        goto out;
    }
    if (db->ops->begin(db) != ST_OK ||
        db->ops->reference_put(db, blob, len, app_now_ms(), &newv) != ST_OK ||
        slog_lists_import(db, newv, blob, len, app_now_ms()) != ST_OK ||
        db->ops->commit(db) != ST_OK) {
        cl_fail(1, "failed", "lists import", _("%s; nothing imported"), db->ops->errmsg(db));
        db->ops->rollback(db);
        goto out;
    }
    /* TRANSLATORS: the new version, the file, its rows, the version whose
     * departments, domains, leaflets and other lists it kept, the items now. */
    printf(_("reference version %llu: %zu list items from %s replace their lists in version "
             "%llu; %zu list items in all\n"),
           (unsigned long long)newv, rows, file, (unsigned long long)version, r->n_list_items);
    rc = 0;
out:
    if (r)
        patrol__v1__reference__free_unpacked(r, NULL);
    free(base);
    free(blob);
    db->ops->close(db);
    return rc;
}

int lists_main(const char *data, int argc, char **argv)
{
    Patrol__V1__Reference *r = NULL;
    FILE *f;
    char *text = NULL, why[512];
    long n;
    st_backend *db = NULL;
    uint8_t *blob = NULL;
    size_t len, lists = 0;
    uint64_t version;
    int rc = 1;

    if (argc != 2 || strcmp(argv[0], "import") != 0)
        return cl_fail(2, "usage", "lists", "%s", _("usage: patrold --data DIR lists import FILE"));
    if (argv[1][0] == '-' && argv[1][1] == '-') /* a file named so: ./--x */
        return cl_fail(2, "usage", "lists import", _("unexpected argument '%s'"), argv[1]);
    if (!(f = fopen(argv[1], "rb")))
        return cl_fail(1, "failed", "lists import", _("cannot open %s: %s"), argv[1], strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (8 << 20) ||
        fseek(f, 0, SEEK_SET) != 0 || !(text = malloc((size_t)n + 1)) ||
        fread(text, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(text);
        return cl_fail(1, "failed", "lists import", _("cannot read %s (at most 8 MiB)"), argv[1]);
    }
    fclose(f);
    text[n] = '\0';
    {
        size_t fl = strlen(argv[1]);
        if (fl > 4 && strcasecmp(argv[1] + fl - 4, ".csv") == 0) {
            rc = lists_import_csv(data, argv[1], text, (size_t)n);
            free(text);
            return rc;
        }
    }
    /* The checks the console's upload makes too (refjson_load). */
    if (refjson_load(text, (size_t)n, &r, &blob, &len, &lists, why, sizeof why)) {
        cl_fail(1, "failed", "lists import", _("%s: %s; nothing imported"), argv[1], why);
        goto out;
    }
    if (!(db = cl_open_db(data, "lists import")))
        goto out;
    /* The import and its leaf in the server log (docs/log.md), together. */
    if (db->ops->begin(db) != ST_OK ||
        db->ops->reference_put(db, blob, len, app_now_ms(), &version) != ST_OK ||
        slog_lists_import(db, version, blob, len, app_now_ms()) != ST_OK ||
        db->ops->commit(db) != ST_OK) {
        cl_fail(1, "failed", "lists import", _("%s; nothing imported"), db->ops->errmsg(db));
        db->ops->rollback(db);
        goto out;
    }
    printf(_("reference version %llu (%s): %zu departments, %zu domains, %zu lists with %zu items, "
             "%zu leaflets, %zu inspectors, %zu revisits\n"),
           (unsigned long long)version, r->label[0] ? r->label : "-", r->n_departments,
           r->n_domains, lists, r->n_list_items, r->n_leaflets, r->n_roster, r->n_revisits);
    rc = 0;
out:
    if (r)
        patrol__v1__reference__free_unpacked(r, NULL);
    if (db)
        db->ops->close(db);
    free(blob);
    free(text);
    return rc;
}
