/* opts.c -- the command line of the patrol tool: options of a command
 * from the record's rules table (a kind's fields become --options, yes/no
 * fields become flags), --location, --confidential, the store, and the help
 * text that lists a kind's fields. Prefix opts_. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int parse_location(const char *s, patrol_location *out)
{
    double v[3] = {0, 0, 0};
    int n = 0;
    const char *c = s;
    while (n < 3) {
        char *end;
        errno = 0;
        v[n] = strtod(c, &end);
        if (end == c || errno)
            return -1;
        n++;
        if (*end == '\0')
            break;
        if (*end != ',')
            return -1;
        c = end + 1;
    }
    /* Written so that NaN (which compares false with everything) fails:
     * strtod takes "nan" and "inf" (fuzz_parsers found --location nan,nan
     * recorded as latitude -922337203685). */
    if (n < 2 || !(v[0] >= -90 && v[0] <= 90) || !(v[1] >= -180 && v[1] <= 180) ||
        !(v[2] >= 0 && v[2] <= 1e6))
        return -1;
    out->lat_e7 = (int64_t)(v[0] * 1e7 + (v[0] < 0 ? -0.5 : 0.5));
    out->lon_e7 = (int64_t)(v[1] * 1e7 + (v[1] < 0 ? -0.5 : 0.5));
    out->accuracy_m = (uint32_t)v[2];
    return 0;
}

static int parse_conf(opts *o, const char *s)
{
    const char *eq = strchr(s, '=');
    static char names[MAX_FIELDS][40];
    size_t n;
    patrol_conf c;
    if (!eq || (n = (size_t)(eq - s)) == 0 || n >= sizeof names[0] || o->n_conf >= MAX_FIELDS)
        return -1;
    if (strcmp(eq + 1, "state") == 0 || strcmp(eq + 1, "state_secret") == 0)
        c = PATROL_CONF_STATE_SECRET;
    else if (strcmp(eq + 1, "trade") == 0 || strcmp(eq + 1, "trade_secret") == 0)
        c = PATROL_CONF_TRADE_SECRET;
    else if (strcmp(eq + 1, "privacy") == 0 || strcmp(eq + 1, "personal_privacy") == 0)
        c = PATROL_CONF_PERSONAL_PRIVACY;
    else
        return -1;
    memcpy(names[o->n_conf], s, n);
    names[o->n_conf][n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (names[o->n_conf][i] == '-')
            names[o->n_conf][i] = '_';
    o->conf[o->n_conf].name = names[o->n_conf];
    o->conf[o->n_conf].conf = c;
    o->n_conf++;
    return 0;
}

int opts_add_field(opts *o, const char *name, const char *value)
{
    if (o->n_fields >= MAX_FIELDS)
        return cli_usage_error("%s", _("too many options"));
    for (size_t i = 0; i < o->n_fields; i++)
        if (strcmp(o->fields[i].name, name) == 0) {
            char opt[40];
            snprintf(opt, sizeof opt, "%s", name);
            for (char *c = opt; *c; c++)
                if (*c == '_')
                    *c = '-';
            return cli_usage_error(_("option --%s given twice"), opt);
        }
    snprintf(o->names[o->n_fields], sizeof o->names[0], "%s", name);
    o->fields[o->n_fields].name = o->names[o->n_fields];
    o->fields[o->n_fields].value = value;
    o->fields[o->n_fields].conf = PATROL_CONF_NONE;
    o->n_fields++;
    return 0;
}

/* Is name (with '_') a field of kind, and of a yes/no type? */
static int kind_field(const char *kind, const char *name, int *is_flag)
{
    patrol_field_info fi;
    for (size_t i = 0; kind && patrol_kind_field(kind, i, &fi) == PATROL_OK; i++)
        if (strcmp(fi.name, name) == 0 && !fi.automatic) {
            *is_flag = strcmp(fi.type, "yes/no") == 0 || strcmp(fi.type, "yes") == 0;
            return 1;
        }
    return 0;
}

int opts_parse(int argc, char **argv, const spec *sp, opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        char name[40];
        size_t n;
        int is_flag = 0;

        if (strcmp(a, "-h") == 0) {
            o->help = 1;
            continue;
        }
        if (a[0] != '-' || a[1] != '-') {
            if ((sp->allow & O_FILE) && !o->file) {
                o->file = a;
                continue;
            }
            return cli_usage_error(_("unexpected argument '%s'"), a);
        }
        a += 2;
        eq = strchr(a, '=');
        n = eq ? (size_t)(eq - a) : strlen(a);
        if (n == 0 || n >= sizeof name)
            return cli_usage_error(_("unknown option '%s'"), argv[i]);
        memcpy(name, a, n);
        name[n] = '\0';
        if (eq)
            val = eq + 1;

#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (!val) {                                                                                \
            if (i + 1 >= argc)                                                                     \
                return cli_usage_error(_("option --%s needs a value"), name);                      \
            val = argv[++i];                                                                       \
        }                                                                                          \
    } while (0)

        if (strcmp(name, "help") == 0) {
            o->help = 1;
            continue;
        }
        if (strcmp(name, "store") == 0) {
            NEED_VALUE();
            o->store = val;
            continue;
        }
        if ((sp->allow & O_JSON) && strcmp(name, "json") == 0) {
            o->json = 1;
            continue;
        }
        if ((sp->allow & O_REVEAL) && strcmp(name, "reveal") == 0) {
            o->reveal = 1;
            continue;
        }
        if ((sp->allow & O_DUE) && strcmp(name, "due") == 0) {
            o->due = 1;
            continue;
        }
        if ((sp->allow & O_TODAY) && strcmp(name, "today") == 0) {
            NEED_VALUE();
            o->today = val;
            continue;
        }
        if ((sp->allow & O_TARGET) && strcmp(name, sp->target_name) == 0) {
            NEED_VALUE();
            if (o->target)
                return cli_usage_error(_("option --%s given twice"), name);
            o->target = val;
            continue;
        }
        if ((sp->allow & O_ENTRY) && strcmp(name, "entry") == 0) {
            char *end;
            NEED_VALUE();
            errno = 0;
            o->corrects = strtoull(val, &end, 10);
            if (errno || *end || val[0] < '1' || val[0] > '9')
                return cli_usage_error(_("--entry needs an entry number, not '%s'"), val);
            continue;
        }
        if ((sp->allow & O_INSPECTOR) && strcmp(name, "inspector") == 0) {
            NEED_VALUE();
            if (o->n_inspectors >= MAX_INSPECTORS)
                return cli_usage_error("%s", _("at most 8 inspectors"));
            o->inspectors[o->n_inspectors++] = val;
            continue;
        }
        if ((sp->allow & O_LOCATION) && strcmp(name, "location") == 0) {
            NEED_VALUE();
            if (parse_location(val, &o->loc) != 0)
                return cli_usage_error(
                    _("--location needs LAT,LON[,ACCURACY_M] in degrees, not '%s'"), val);
            o->has_loc = 1;
            continue;
        }
        if (sp->kind && strcmp(name, "confidential") == 0) {
            NEED_VALUE();
            if (parse_conf(o, val) != 0)
                return cli_usage_error(
                    _("--confidential needs FIELD=state|trade|privacy, not '%s'"), val);
            continue;
        }
        for (size_t k = 0; k < sp->n_flags; k++)
            if (strcmp(name, sp->flags[k][0]) == 0) {
                int rc = opts_add_field(o, sp->flags[k][1], sp->flags[k][2]);
                if (rc)
                    return rc;
                goto next;
            }
        for (size_t k = 0; k < n; k++)
            if (name[k] == '-')
                name[k] = '_';
        if (kind_field(sp->kind, name, &is_flag)) {
            int rc;
            if (is_flag && !val)
                val = "yes";
            NEED_VALUE();
            if ((rc = opts_add_field(o, name, val)))
                return rc;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            if (name[k] == '_')
                name[k] = '-';
        return cli_usage_error(_("unknown option '--%s'"), name);
    next:;
#undef NEED_VALUE
    }
    for (size_t c = 0; c < o->n_conf; c++) {
        size_t i;
        for (i = 0; i < o->n_fields; i++)
            if (strcmp(o->fields[i].name, o->conf[c].name) == 0) {
                o->fields[i].conf = o->conf[c].conf;
                break;
            }
        if (i == o->n_fields)
            return cli_usage_error(_("--confidential names '%s', which is not given"),
                                   o->conf[c].name);
    }
    return 0;
}

const char *opts_store_dir(const opts *o)
{
    const char *s = o->store ? o->store : getenv("PATROL_STORE");
    return s && *s ? s : NULL;
}

int opts_open_store(const opts *o, patrol **p)
{
    char err[512];
    const char *dir = opts_store_dir(o);
    int rc;
    if (!dir)
        return cli_fail_msg(EXIT_USAGE, "usage",
                            _("no store: give --store DIR or set PATROL_STORE"));
    if ((rc = patrol_open(dir, p, err, sizeof err)) != PATROL_OK)
        return cli_fail_msg(EXIT_REFUSED, cli_err_code(rc), err);
    return 0;
}

/* ---- help ------------------------------------------------------------- */

void opts_print_kind_fields(const char *kind, const spec *sp)
{
    patrol_field_info fi;
    for (size_t i = 0; patrol_kind_field(kind, i, &fi) == PATROL_OK; i++) {
        char opt[48];
        int mapped = 0;
        if (fi.automatic)
            continue;
        for (size_t k = 0; sp && k < sp->n_flags; k++)
            if (strcmp(sp->flags[k][1], fi.name) == 0)
                mapped = 1;
        if (mapped)
            continue;
        snprintf(opt, sizeof opt, "--%s", fi.name);
        for (char *c = opt; *c; c++)
            if (*c == '_')
                *c = '-';
        /* The option, its help and type in the user's language; choice
         * values are what one types, never translated. */
        printf("  %-22s %s%s%s (%s", opt, fi.required ? "" : _("[optional]"),
               fi.required ? "" : " ", cli_tr(fi.help), fi.type ? cli_tr(fi.type) : "?");
        if (fi.choices) {
            printf(": ");
            for (size_t c = 0; fi.choices[c]; c++)
                printf("%s%s", c ? "|" : "", fi.choices[c]);
        }
        printf(")\n");
    }
}

int opts_help(const char *usage, const char *what, const char *kind, const spec *sp)
{
    printf("%s patrol [--store DIR] %s\n\n%s\n", _("usage:"), usage, cli_tr(what));
    if (kind) {
        const char *kh = patrol_kind_help(kind);
        printf("\n");
        /* TRANSLATORS: heading of a command's options: the kind's code
         * ("action.warning") and its description. */
        printf(_("fields of %s (%s):"), kind, cli_tr(kh));
        printf("\n");
        opts_print_kind_fields(kind, sp);
        printf("\n  %-38s %s\n  %-38s %s\n", "--confidential F=state|trade|privacy",
               _("mark field F confidential"), "--location LAT,LON[,ACC]",
               _("where it happened (degrees, metres)"));
    }
    printf("\n%s\n", _("The store is --store DIR or $PATROL_STORE. Exit status: 0 saved, 1 refused "
                        "(the reason is on stderr), 2 usage error."));
    return 0;
}

