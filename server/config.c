/* config.c -- patrold's configuration file (config.h): INI through libinih,
 * each key handed to the same parser as its serve option, so that a value
 * the command line refuses is refused in the file with the same sentence,
 * with the file and line in front. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "metrics_http.h"
#include "validate.h"

typedef struct load_ctx {
    cfg *c;
    char err[512]; /* the first problem, without its line */
} load_ctx;

/* "max_per_peer" -> "--max-per-peer" */
static int option_of(const char *key, char *out, size_t len)
{
    size_t n = strlen(key);
    if (n == 0 || n + 3 > len)
        return -1;
    out[0] = out[1] = '-';
    for (size_t i = 0; i <= n; i++)
        out[i + 2] = key[i] == '_' ? '-' : key[i];
    return 0;
}

static int set_text(load_ctx *x, char *dst, size_t len, const char *key, const char *value)
{
    if (!*value) { /* "key =": not set */
        dst[0] = '\0';
        return 1;
    }
    if (strlen(value) >= len || px_check_line(value, len - 1)) {
        snprintf(x->err, sizeof x->err, _("%s: not a one-line value of at most %zu bytes"), key,
                 len - 1);
        return 0;
    }
    snprintf(dst, len, "%s", value);
    return 1;
}

/* libinih calls this for each key: 1 taken, 0 refused (the first refusal
 * is kept in x->err; ini_parse returns its line). */
static int on_key(void *ud, const char *section, const char *key, const char *value)
{
    load_ctx *x = ud;
    char opt[64], *argv[2];
    int i = 0, k;
    if (x->err[0])
        return 0; /* one problem at a time: the first is the one named */
    if (strcmp(section, "serve") == 0) {
        if (strcmp(key, "listen") == 0)
            return set_text(x, x->c->listen, sizeof x->c->listen, key, value);
        if (strcmp(key, "web_listen") == 0)
            return set_text(x, x->c->web_listen, sizeof x->c->web_listen, key, value);
        if (strcmp(key, "log") == 0)
            return set_text(x, x->c->log, sizeof x->c->log, key, value);
        if (strcmp(key, "log_format") == 0) {
            if (strcmp(value, "logfmt") != 0 && strcmp(value, "json") != 0) {
                snprintf(x->err, sizeof x->err, _("log_format '%.60s': logfmt or json"), value);
                return 0;
            }
            x->c->log_json = value[0] == 'j';
            return 1;
        }
        if (strcmp(key, "access_log") == 0) {
            if (px_parse_bool(value, &x->c->access_log)) {
                snprintf(x->err, sizeof x->err, _("access_log '%.60s': yes or no"), value);
                return 0;
            }
            return 1;
        }
        if (strcmp(key, "metrics_listen") == 0)
            return set_text(x, x->c->metrics_listen, sizeof x->c->metrics_listen, key, value);
        if (strcmp(key, "metrics_allow") == 0) {
            char e[300];
            if (*value && mh_check_allow(value, e, sizeof e)) {
                snprintf(x->err, sizeof x->err, "%s", e);
                return 0;
            }
            return set_text(x, x->c->metrics_allow, sizeof x->c->metrics_allow, key, value);
        }
        if (strcmp(key, "workers") == 0) {
            uint64_t w;
            if (px_parse_u64(value, 1, 64, &w)) {
                snprintf(x->err, sizeof x->err, _("workers '%.60s': a whole number 1..64 is "
                                                  "expected"), value);
                return 0;
            }
            x->c->workers = (unsigned)w;
            return 1;
        }
    } else if ((strcmp(section, "limits") == 0 || strcmp(section, "evidence") == 0) &&
               strchr(key, '-') == NULL && option_of(key, opt, sizeof opt) == 0) {
        char err[300];
        argv[0] = opt;
        argv[1] = (char *)value;
        k = strcmp(section, "limits") == 0
                ? srv_limits_option(&x->c->lim, 2, argv, &i, err, sizeof err)
                : ev_option(&x->c->evl, 2, argv, &i, err, sizeof err);
        if (k > 0)
            return 1;
        if (k < 0) {
            snprintf(x->err, sizeof x->err, "%s", err);
            return 0;
        }
    } else if (strcmp(section, "serve") != 0 && strcmp(section, "limits") != 0 &&
               strcmp(section, "evidence") != 0) {
        snprintf(x->err, sizeof x->err, _("unknown section [%.60s] (serve, limits, evidence)"),
                 section);
        return 0;
    }
    snprintf(x->err, sizeof x->err, _("unknown key '%.60s' in [%.60s]"), key, section);
    return 0;
}

int cfg_load(cfg *c, const char *path, char *err, size_t errlen)
{
    load_ctx x;
    int rc;
    memset(c, 0, sizeof *c);
    /* The device port every terminal is enrolled with, on every address. */
    snprintf(c->listen, sizeof c->listen, "%s", CFG_DEFAULT_LISTEN);
    srv_limits_default(&c->lim);
    ev_limits_default(&c->evl);
    if (!path || !*path)
        path = getenv("PATROLD_CONFIG");
    if (!path || !*path) {
        if (access(CFG_DEFAULT_PATH, F_OK) != 0 && errno == ENOENT)
            return 0; /* no file: the defaults */
        path = CFG_DEFAULT_PATH;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    memset(&x, 0, sizeof x);
    x.c = c;
    rc = ini_parse(path, on_key, &x);
    if (rc == -1) {
        snprintf(err, errlen, _("%s: cannot read it: %s"), path, strerror(errno));
        return -1;
    }
    if (rc == -2) {
        snprintf(err, errlen, _("%s: out of memory"), path);
        return -1;
    }
    if (rc > 0) {
        snprintf(err, errlen, "%s:%d: %s", path, rc,
                 x.err[0] ? x.err : _("not a 'key = value' line or a [section]"));
        return -1;
    }
    return 0;
}

static void print_opt(void *ud, const char *option, const char *value)
{
    FILE *f = ud;
    for (const char *p = option + 2; *p; p++)
        fputc(*p == '-' ? '_' : *p, f);
    fprintf(f, " = %s\n", value);
}

void cfg_print(const cfg *c, FILE *f)
{
    srv_limits lim = c->lim;
    fprintf(f, "# patrold's effective configuration (%s, then the command line)\n",
            c->path[0] ? c->path : "no file");
    fprintf(f, "[serve]\nlisten = %s\nweb_listen = %s\nworkers = %u\nlog = %s\n", c->listen,
            c->web_listen, c->workers ? c->workers : lim.workers, c->log);
    fprintf(f, "log_format = %s\n", c->log_json ? "json" : "logfmt");
    fprintf(f, "access_log = %s\nmetrics_listen = %s\nmetrics_allow = %s\n\n",
            c->access_log ? "yes" : "no", c->metrics_listen, c->metrics_allow);
    fputs("[limits]\n", f);
    srv_limits_each(&c->lim, print_opt, f);
    fputs("\n[evidence]\n", f);
    ev_limits_each(&c->evl, print_opt, f);
}
