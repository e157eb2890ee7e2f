/* config.h -- patrold's configuration file (config.c): an INI file read
 * with Debian's libinih, whose keys are the serve options (one source of
 * truth: the option tables of net_limits.c and evidence.c):
 *
 *   [serve]      listen, web_listen, workers, log, log_format, access_log,
 *                metrics_listen, metrics_allow
 *   [limits]     max_connections, max_per_peer, ... (srv_limits_option)
 *   [evidence]   evidence_max_file, evidence_quota, evidence_reserve,
 *                partial_expiry (ev_option)
 *
 * A key is an option's name without its "--", '-' written '_'. The file is
 * --config FILE, else $PATROLD_CONFIG, else /etc/patrold/patrold.conf if
 * it exists. Options on the command line override the file. */
#ifndef PATROLD_CONFIG_H
#define PATROLD_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "evidence.h"
#include "net.h"

#define CFG_DEFAULT_PATH "/etc/patrold/patrold.conf"
#define CFG_DEFAULT_LISTEN "0.0.0.0:8443"

typedef struct cfg {
    char listen[256], web_listen[256], log[1024];
    char metrics_listen[256], metrics_allow[1024]; /* the plain-HTTP monitoring listener */
    unsigned workers; /* 0: the default (srv_limits_default) */
    int access_log;   /* serve --access-log, [serve] access_log = yes */
    int log_json;     /* serve --log-format json, [serve] log_format = json */
    srv_limits lim;
    ev_limits evl;
    char path[1024]; /* the file read, "" if none */
} cfg;

/* Defaults, then the file: path (must exist), else $PATROLD_CONFIG (must
 * exist), else CFG_DEFAULT_PATH if it exists. 0, or -1 with a sentence in
 * err naming the file and line ("FILE:LINE: unknown key 'x' in [limits]"). */
int cfg_load(cfg *c, const char *path, char *err, size_t errlen);

/* The effective configuration, as a file that cfg_load reads back. */
void cfg_print(const cfg *c, FILE *f);

#endif
