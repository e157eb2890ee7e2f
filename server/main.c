/* patrold -- the collection server.
 *
 *   patrold --data DIR init [--name NAME]
 *   patrold --data DIR serve --listen HOST:PORT [--workers N] [--web-listen HOST:PORT]
 *   patrold --data DIR device add --name NAME --department CODE [--valid-days N]
 *   patrold --data DIR device revoke ID
 *   patrold --data DIR device list [--json]
 *   patrold --data DIR lists import FILE
 *   patrold --data DIR flags [--device ID] [--matter ID] [--json]
 *   patrold --data DIR user add --name N --role ROLE [--department CODE]
 *   patrold --data DIR user passwd|disable --name N;  user list [--json]
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "cmdline.h"
#include "config.h"
#include "entry.h"
#include "audit.h"
#include "backup.h"
#include "devices.h"
#include "evidence.h"
#include "index.h"
#include "i18n.h"
#include "patrol.pb-c.h"
#include "reference.h"
#include "lists.h"
#include "metrics_http.h"
#include "rules.h"
#include "slog.h"
#include "storage.h"
#include "tls.h"
#include "users.h"
#include "web.h"
#include "validate.h"

/* A reason from proto/validate.c (English, N_() marked), as people read it. */
static const char *tr(const char *why)
{
    return why && *why ? _(why) : "";
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}


/* ---- init ------------------------------------------------------------- */

static int make_key(const char *data, const char *name, px_key **out)
{
    char *path = join(data, name);
    const char *why = NULL;
    int rc = path && px_key_generate(out, &why) == 0 && px_key_save_private(*out, path, &why) == 0
                 ? 0
                 : -1;
    if (rc)
        fprintf(stderr, "patrold: init: %s: %s\n", name, why ? why : _("out of memory"));
    free(path);
    return rc;
}

static int make_cert(const char *data, const char *name, px_key *k, const char *cn, int is_ca)
{
    char *path = join(data, name), *pem = NULL;
    const char *why = NULL;
    int rc = -1;
    if (path && px_x509_self_signed(k, cn, 3650, is_ca, &pem, &why) == 0 &&
        write_file(path, pem, 0644) == 0)
        rc = 0;
    else
        fprintf(stderr, "patrold: init: %s: %s\n", name, why ? why : strerror(errno));
    free(pem);
    free(path);
    return rc;
}

static int cmd_init(const char *data, int argc, char **argv)
{
    const char *name = "patrold";
    px_key *srvk = NULL, *cak = NULL, *rk = NULL;
    st_backend *db = NULL;
    char err[256], *path = NULL, pin[64], cn[160];
    int rc = 1;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else
            return cl_usage("init", _("unexpected argument '%s'"), argv[i]);
    }
    if (px_check_line(name, 100))
        return cl_usage("init", _("server name '%s' is not a valid one-line name"), name);
    if (mkdir(data, 0700) != 0) {
        DIR *d = errno == EEXIST ? opendir(data) : NULL;
        struct dirent *e;
        int empty = d != NULL;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = 0;
        if (d)
            closedir(d);
        if (errno != EEXIST || (!d && errno != ENOENT))
            return cl_die("init", _("cannot create or read %s: %s; nothing changed"), data,
                       strerror(errno));
        if (!empty)
            return cl_die("init", _("%s exists and is not an empty directory; nothing changed"),
                       data);
    }
    if (chmod(data, 0700) != 0)
        return cl_die("init", _("cannot restrict %s to its owner"), data);
    path = join(data, "patrold.db");
    if (!path)
        return 1;
    {
        char *d1 = join(data, "evidence"), *d2 = join(data, "evidence/partial");
        int ok = d1 && d2 && (mkdir(d1, 0700) == 0 || errno == EEXIST) &&
                 (mkdir(d2, 0700) == 0 || errno == EEXIST);
        free(d1);
        free(d2);
        if (!ok) {
            free(path);
            return cl_die("init", _("cannot create the evidence directory in %s"), data);
        }
    }
    /* Certificate names are fixed ASCII: the server's own name (any
     * language) goes into receipts, and terminals trust the key pin. */
    snprintf(cn, sizeof cn, "patrold");
    if (make_key(data, "server.key", &srvk) || make_cert(data, "server.crt", srvk, cn, 0) ||
        make_key(data, "ca.key", &cak))
        goto out;
    snprintf(cn, sizeof cn, "patrold device CA");
    if (make_cert(data, "ca.crt", cak, cn, 1) || make_key(data, "receipt.key", &rk))
        goto out;
    if (!(db = st_sqlite_open(path, 1, err, sizeof err))) {
        fprintf(stderr, "patrold: init: %s\n", err);
        goto out;
    }
    if (db->ops->meta_set(db, "server_name", name) != ST_OK) {
        fprintf(stderr, "patrold: init: %s\n", db->ops->errmsg(db));
        goto out;
    }
    if (devices_key_pin(data, pin, sizeof pin, 1) != 0)
        goto out;
    {
        int dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0) {
            if (dfd >= 0)
                close(dfd);
            cl_die("init", _("cannot sync %s"), data);
            goto out;
        }
        close(dfd);
    }
    /* TRANSLATORS: the server's name, its data directory; the pin line is
     * what terminals are given (keep "sha256//%s" as it is). */
    printf(_("server %s initialised in %s\nserver key pin sha256//%s\n"), name, data, pin);
    rc = 0;
out:
    if (rc != 0) {
        /* Leave nothing half-made: the directory was empty or new. */
        static const char *const made[] = {"patrold.db", "patrold.db-wal", "patrold.db-shm",
                                           "server.key", "server.crt", "ca.key", "ca.crt",
                                           "receipt.key", "evidence/partial", "evidence"};
        for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
            char *f = join(data, made[i]);
            if (f && unlink(f) != 0)
                rmdir(f);
            free(f);
        }
    }
    if (db)
        db->ops->close(db);
    px_key_free(srvk);
    px_key_free(cak);
    px_key_free(rk);
    free(path);
    return rc;
}

/* ---- rule flags --------------------------------------------------------- */

static int flag_cb(void *ud, const st_flag_row *r)
{
    cJSON *arr = ud;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "device", (double)r->f.device);
        cJSON_AddStringToObject(o, "device_name", r->device_name);
        cJSON_AddNumberToObject(o, "seq", (double)r->f.seq);
        cJSON_AddStringToObject(o, "kind", r->kind);
        cJSON_AddStringToObject(o, "matter", r->f.matter);
        cJSON_AddStringToObject(o, "rule", r->f.rule);
        cJSON_AddBoolToObject(o, "flag_only", r->f.flag_only);
        cJSON_AddStringToObject(o, "detail", r->f.detail);
        cJSON_AddNumberToObject(o, "flagged_ms", (double)r->flagged_ms);
        cJSON_AddItemToArray(arr, o);
    } else {
        time_t t = (time_t)(r->flagged_ms / 1000);
        struct tm tm;
        char when[32] = "?";
        if (localtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        /* TRANSLATORS: a rule flag: time, device name (number) #entry, kind,
         * matter, rule code: what the rule says (detail, English). */
        printf(_("%s  %s (%lld) #%llu  %s  %s  %s: %s\n"), when, r->device_name,
               (long long)r->f.device, (unsigned long long)r->f.seq, r->kind,
               r->f.matter[0] ? r->f.matter : "-", r->f.rule, tr(r->f.detail));
    }
    return 0;
}

/* Rule flags (server/index.c): read only, so it works while serve runs. */
static int cmd_flags(const char *data, int argc, char **argv)
{
    const char *matter = NULL, *why, *device_s = NULL;
    uint64_t device = 0;
    uint8_t key_id[32];
    cJSON *arr = NULL;
    char err[256], *path;
    st_backend *db = NULL;
    int rc = 1, json = 0, is_key = 0;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device_s = argv[++i];
            if (devices_arg(device_s, &device, key_id, &is_key))
                return cl_usage("flags", _("--device '%s': a device number or the terminal's 64 "
                                           "hex digits (see 'device list')"),
                                device_s);
        } else if (strcmp(argv[i], "--matter") == 0 && i + 1 < argc) {
            matter = argv[++i];
            if ((why = px_check_ident(matter)))
                return cl_usage("flags", "--matter: %s", tr(why));
        } else {
            return cl_usage("flags", _("unexpected argument '%s'"), argv[i]);
        }
    }
    if (!(path = join(data, "patrold.db")))
        return cl_die("flags", "%s", _("out of memory"));
    if (access(path, F_OK) != 0)
        cl_die("flags", _("no server in %s (run 'patrold --data %s init')"), data, data);
    else if (!(db = st_sqlite_open(path, ST_OPEN_READONLY, err, sizeof err)))
        cl_die("flags", "%s", err);
    free(path);
    if (!db)
        return 1;
    if (is_key && !(device = devices_by_key_arg(db, "flags", key_id, device_s))) {
        db->ops->close(db);
        return 1;
    }
    if (json && !(arr = cJSON_CreateArray())) {
        db->ops->close(db);
        return cl_die("flags", "%s", _("out of memory"));
    }
    if (db->ops->flags_list(db, (int64_t)device, matter, flag_cb, arr) != ST_OK)
        cl_die("flags", "%s", db->ops->errmsg(db));
    else
        rc = 0;
    if (arr) {
        char *s = rc == 0 ? cJSON_PrintUnformatted(arr) : NULL;
        if (s)
            cl_json_out(s);
        free(s);
        cJSON_Delete(arr);
    }
    db->ops->close(db);
    return rc;
}

/* ---- serve ------------------------------------------------------------ */

static srv *volatile running;
static const char *log_path; /* serve --log FILE */

/* SIGTERM, SIGINT: drain and stop; SIGHUP: reload (the loop calls
 * on_reload on its own thread). */
static web *web_running; /* the console's listener (--web-listen), if any */

static void on_signal(int sig)
{
    if (sig != SIGHUP && web_running)
        web_stop(web_running);
    if (!running)
        return;
    if (sig == SIGHUP)
        srv_reload(running);
    else
        srv_stop(running);
}

/* Point stderr (every log line) at the log file, opened again: after a
 * rotation (mv; kill -HUP) the new file starts. 0, or -1 with errno. */
static int log_open(void)
{
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (fd != STDERR_FILENO && dup2(fd, STDERR_FILENO) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (fd != STDERR_FILENO)
        close(fd);
    return 0;
}

/* SIGHUP. What else a reload could pick up is read per request already:
 * revocations and devices, reference lists, evidence limits' usage. */
static void on_reload(void *ud)
{
    (void)ud;
    /* systemd (Type=notify, docs/server.md): reloading, then ready again. */
    sd_notify(0, "RELOADING=1");
    if (!log_path)
        app_log("info", "event=reloaded log=stderr");
    else if (log_open() != 0) /* the old file stays in use */
        app_log("warn", "event=log_reopen_failed file=\"%s\" error=\"%s\"", log_path,
                strerror(errno));
    else
        app_log("info", "event=reloaded log=\"%s\"", log_path);
    sd_notify(0, "READY=1\nSTATUS=serving");
}

/* serve's settings into c: the defaults, then the configuration file
 * (--config FILE, $PATROLD_CONFIG or /etc/patrold/patrold.conf; config.h),
 * then the options, which override it. 0, or the exit status of a usage
 * error, already reported. */
static int serve_options(cfg *c, int argc, char **argv, const char *cmd)
{
    const char *path = NULL;
    char err[1400];
    int k;
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0)
            path = argv[++i];
    if (cfg_load(c, path, err, sizeof err) != 0)
        return cl_usage(cmd, "%s", err);
    for (int i = 0; i < argc; i++) {
        char *dst = NULL;
        size_t len = 0;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--listen") == 0)
            dst = c->listen, len = sizeof c->listen;
        else if (strcmp(argv[i], "--web-listen") == 0)
            dst = c->web_listen, len = sizeof c->web_listen;
        else if (strcmp(argv[i], "--log") == 0)
            dst = c->log, len = sizeof c->log;
        else if (strcmp(argv[i], "--metrics-listen") == 0)
            dst = c->metrics_listen, len = sizeof c->metrics_listen;
        else if (strcmp(argv[i], "--metrics-allow") == 0) {
            if (i + 1 < argc && mh_check_allow(argv[i + 1], err, sizeof err))
                return cl_usage(cmd, "%s", err);
            dst = c->metrics_allow, len = sizeof c->metrics_allow;
        }
        if (dst && i + 1 < argc) {
            if (strlen(argv[++i]) >= len)
                return cl_usage(cmd, _("%s: at most %zu bytes"), argv[i - 1], len - 1);
            snprintf(dst, len, "%s", argv[i]);
        } else if (strcmp(argv[i], "--access-log") == 0) {
            c->access_log = 1;
        } else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "logfmt") != 0 && strcmp(argv[i], "json") != 0)
                return cl_usage(cmd, _("--log-format '%s': logfmt or json"), argv[i]);
            c->log_json = argv[i][0] == 'j';
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            uint64_t workers;
            if (px_parse_u64(argv[++i], 1, 64, &workers))
                return cl_usage(cmd, "%s", _("--workers must be 1..64"));
            c->workers = (unsigned)workers;
        } else if ((k = srv_limits_option(&c->lim, argc, argv, &i, err, sizeof err)) != 0) {
            if (k < 0) /* connection limits (net.h) */
                return cl_usage(cmd, "%s", err);
        } else if ((k = ev_option(&c->evl, argc, argv, &i, err, sizeof err)) != 0) {
            if (k < 0) /* evidence limits (evidence.h) */
                return cl_usage(cmd, "%s", err);
        } else {
            return cl_usage(cmd, _("unexpected argument '%s'"), argv[i]);
        }
    }
    return 0;
}

/* patrold config check [--config FILE] [serve options]: the effective
 * configuration serve would run with, or what is wrong with it. */
static int cmd_config(int argc, char **argv)
{
    static cfg c;
    int rc;
    if (argc < 1 || strcmp(argv[0], "check") != 0)
        return cl_usage("config", _("unknown subcommand '%s'; usage: patrold config check "
                                       "[--config FILE] [serve options]"),
                           argc ? argv[0] : "");
    if ((rc = serve_options(&c, argc - 1, argv + 1, "config check")) != 0)
        return rc;
    cfg_print(&c, stdout);
    return 0;
}

static int cmd_serve(const char *data, int argc, char **argv)
{
    const char *listen = NULL, *why = NULL, *web_listen = NULL, *wcolon = NULL;
    web *w = NULL;
    char host[256], err[256], *crt = join(data, "server.crt"), *key = join(data, "server.key"),
                             *ca = join(data, "ca.crt");
    uint64_t workers = 4;
    static cfg conf; /* log_path points into it for the whole run */
    mh *mhd = NULL;
    srv_limits lim;
    px_tls_server *tls = NULL;
    app a;
    srv *s = NULL;
    const char *colon;
    struct sigaction sa;
    int rc = 1, app_ok = 0;
    ev_limits evl;

    if ((rc = serve_options(&conf, argc, argv, "serve")) != 0)
        goto out;
    srv_set_log_json(conf.log_json);
    rc = 1;
    lim = conf.lim;
    evl = conf.evl;
    listen = conf.listen[0] ? conf.listen : NULL;
    web_listen = conf.web_listen[0] ? conf.web_listen : NULL;
    log_path = conf.log[0] ? conf.log : NULL;
    if (conf.workers)
        workers = conf.workers;
    if (!listen || !(colon = strrchr(listen, ':')) || colon == listen ||
        (size_t)(colon - listen) >= sizeof host) {
        rc = cl_usage("serve", "%s", _("--listen HOST:PORT is required"));
        goto out;
    }
    if (web_listen && (!(wcolon = strrchr(web_listen, ':')) || wcolon == web_listen ||
                       (size_t)(wcolon - web_listen) >= sizeof host)) {
        rc = cl_usage("serve", "%s", _("--web-listen HOST:PORT: the console's address"));
        goto out;
    }
    /* From here on what serve writes is its log: stable English for the
     * machines that read it (strerror() too), whatever the locale. */
    setlocale(LC_ALL, "C");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (log_path && log_open() != 0) {
        rc = cl_die("serve", "--log %s: %s", log_path, strerror(errno));
        goto out;
    }
    if (app_open(&a, data, err, sizeof err) != 0) {
        fprintf(stderr, "patrold: serve: %s\n", err);
        goto out;
    }
    app_ok = 1;
    if (ev_start(&a, &evl, err, sizeof err) != 0) {
        fprintf(stderr, "patrold: serve: %s\n", err);
        goto out;
    }
    if (px_tls_server_new(crt, key, ca, &tls, &why) != 0) {
        fprintf(stderr, "patrold: serve: TLS: %s\n", why);
        goto out;
    }
    lim.workers = (unsigned)workers;
    if (srv_create(&s, host, colon + 1, tls, &lim, app_handle, &a, err, sizeof err) != 0) {
        fprintf(stderr, "patrold: serve: %s\n", err);
        goto out;
    }
    a.net = s;
    if (web_listen) {
        /* The console (server/web.c): its own listener and thread; the
         * device port above is unchanged. */
        char whost[256];
        memcpy(whost, web_listen, (size_t)(wcolon - web_listen));
        whost[wcolon - web_listen] = '\0';
        if (web_start(&w, &a, data, whost, wcolon + 1, err, sizeof err) != 0) {
            fprintf(stderr, "patrold: serve: %s\n", err);
            goto out;
        }
        web_running = w;
        app_log("info", "event=web_listening addr=%s:%u", whost, web_port(w));
    }
    if (conf.metrics_listen[0]) {
        /* Monitoring from another host (metrics_http.c): plain HTTP, the
         * allow list only. */
        if (!conf.metrics_allow[0]) {
            rc = cl_usage("serve", "%s", _("--metrics-listen needs --metrics-allow: the addresses "
                                           "that may read it"));
            goto out;
        }
        if (mh_start(&mhd, &a, conf.metrics_listen, conf.metrics_allow, err, sizeof err) != 0) {
            rc = cl_usage("serve", "%s", err);
            goto out;
        }
        app_log("info", "event=metrics_listening addr=%s port=%u allow=\"%s\"",
                conf.metrics_listen, mh_port(mhd), conf.metrics_allow);
    }
    srv_set_body_limit(s, app_body_limit);
    srv_set_access_log(s, conf.access_log);
    srv_set_reload(s, on_reload, NULL);
    running = s;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    app_log("info", "event=listening addr=%s:%u server=\"%s\" workers=%u max_connections=%u "
            "max_per_peer=%u reserved_for_devices=%u body_budget_mib=%zu", host, srv_port(s),
            a.server_name, lim.workers, lim.max_connections, lim.max_per_peer,
            lim.reserved_for_devices, lim.body_budget_bytes >> 20);
    /* Under systemd (Type=notify; NOTIFY_SOCKET unset elsewhere, and then
     * this does nothing): ready once the listener is bound and the data
     * directory open, so that units ordered after patrold start on a
     * server that answers. */
    sd_notifyf(0, "READY=1\nSTATUS=serving on %s:%u", host, srv_port(s));
    rc = srv_run(s) == 0 ? 0 : 1;
    sd_notify(0, "STOPPING=1");
    running = NULL;
    app_log("info", "event=exit");
out:
    mh_stop(mhd);
    web_running = NULL;
    web_free(w);
    srv_free(s);
    px_tls_server_free(tls);
    if (app_ok)
        app_close(&a);
    free(crt);
    free(key);
    free(ca);
    return rc;
}

/* The overview of 'patrold --help': a command's syntax (never translated:
 * it is what one types) and what it does. */
static const struct usage_line {
    const char *syntax, *what;
} usage_lines[] = {
    {"init [--name NAME]", N_("keys, certificates, database")},
    {"serve [--listen HOST:PORT] [--workers N]", N_("run the collection server (0.0.0.0:8443)")},
    {"      [--web-listen HOST:PORT]", N_("and the web console (监督平台)")},
    {"      [--config FILE] [--access-log] [--log-format logfmt|json] [limits]",
     N_("settings from a file, options override (server.md)")},
    {"      [--metrics-listen HOST:PORT --metrics-allow ADDR[/BITS],...]", NULL},
    {"", N_("/metrics over plain HTTP for the addresses allowed")},
    {"config check [--config FILE] [serve options]", NULL},
    {"", N_("the settings serve would run with, or what is wrong")},
    {"device add --name NAME --department CODE [--valid-days N]", NULL},
    {"", N_("prints a one-time enrolment token")},
    {"device revoke ID", N_("refuse a device from now on")},
    {"device list [--json]", N_("devices and what the server holds")},
    {"lists import FILE", N_("three lists, leaflets, roster (JSON)")},
    {"flags [--device ID] [--matter ID] [--json]", N_("entries that break the record's rules")},
    {"backup --out DIR2", N_("a consistent copy of the data directory, while serving")},
    {"reindex", N_("rebuild the index from the entries")},
    {"audit COMMAND", N_("the supervisor's commands (see 'patrold audit --help')")},
    {"user add --name N --role admin|supervisor|reviewer", NULL},
    {"         [--department CODE]", N_("a console account (password from stdin)")},
    {"user passwd|disable --name N", N_("new password; end an account and its sessions")},
    {"user list [--json]", N_("console accounts")},
};

/* Whether an overview line's syntax is that of the command words: its
 * first word ("init"), or its first two, the second being one of the
 * alternatives it lists ("user passwd|disable --name N" is the line of
 * "user passwd" and of "user disable"). */
static int syntax_names(const char *syn, const char *words)
{
    size_t f = strcspn(syn, " "), wl = strlen(words);
    const char *end;
    if (wl == f && strncmp(syn, words, f) == 0)
        return 1;
    if (wl <= f + 1 || strncmp(syn, words, f) != 0 || words[f] != ' ' || syn[f] != ' ')
        return 0;
    words += f + 1;
    wl -= f + 1;
    syn += f + 1;
    end = syn + strcspn(syn, " ");
    for (const char *a = syn; a < end;) {
        size_t n = strcspn(a, "| ");
        if (wl == n && strncmp(a, words, n) == 0)
            return 1;
        a += n;
        if (*a != '|')
            break;
        a++;
    }
    return 0;
}

/* 'patrold CMD --help' (and -h anywhere among a command's arguments): the
 * overview's lines of that command (one word, or two for device, user and
 * lists), on stdout. 0 if it has lines, else -1. */
static int command_help(int argc, char **argv)
{
    char words[64];
    int found = 0, mine = 0;
    if (argc < 1)
        return -1;
    snprintf(words, sizeof words, "%s", argv[0]);
    if (argc >= 2 && !cl_is_help(argv[1]) &&
        (!strcmp(argv[0], "device") || !strcmp(argv[0], "user") || !strcmp(argv[0], "lists") ||
         !strcmp(argv[0], "config")))
        snprintf(words, sizeof words, "%s %s", argv[0], argv[1]);
    for (size_t i = 0; i < sizeof usage_lines / sizeof usage_lines[0]; i++) {
        const struct usage_line *u = &usage_lines[i];
        if (u->syntax[0] != ' ' && u->syntax[0] != '\0')
            mine = syntax_names(u->syntax, words);
        if (!mine)
            continue;
        if (!found)
            printf("%s\n\n", _("usage: patrold --data DIR COMMAND"));
        found = 1;
        if (!u->what)
            printf("  %s\n", u->syntax);
        else
            printf("  %-43s %s\n", u->syntax, _(u->what));
    }
    if (found) {
        printf("\n%s\n", _("The data directory is --data DIR or $PATROLD_DATA; 'patrold --help' "
                             "lists every command."));
        return 0;
    }
    return -1;
}

static int usage(FILE *f)
{
    fprintf(f, "%s\n\n", _("usage: patrold --data DIR COMMAND"));
    for (size_t i = 0; i < sizeof usage_lines / sizeof usage_lines[0]; i++) {
        const struct usage_line *u = &usage_lines[i];
        if (!u->what)
            fprintf(f, "  %s\n", u->syntax);
        else
            fprintf(f, "  %-43s %s\n", u->syntax, _(u->what));
    }
    fprintf(f, "\n%s\n", _("The data directory is --data DIR or $PATROLD_DATA. 'patrold COMMAND "
                            "--help' (or -h) shows one command; 'patrold --version' the version."));
    return f == stdout ? 0 : 2;
}

/* The index stores each rule flag's sentence (server/index.c, written by
 * proto/matter.c through _()): in English, as serve stores it, whatever
 * the locale of a command that opens an older data directory and so
 * rebuilds the index. The display translates it back (tr()). */
static int reindex_english(st_backend *db, char *err, size_t errlen)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0), old;
    int rc;
    if (c == (locale_t)0) {
        setlocale(LC_MESSAGES, "C"); /* English from here on, rather than a mixed index */
        return idx_rebuild(db, err, errlen);
    }
    old = uselocale(c);
    rc = idx_rebuild(db, err, errlen);
    uselocale(old);
    freelocale(c);
    return rc;
}

/* Messages in the supervisor's language, as the patrol tool does
 * (client/cli/main.c): LANG / LC_ALL / LC_MESSAGES / LANGUAGE as usual
 * (LANG=C keeps English), catalogues of the text domain "patrol" from
 * $PATROL_LOCALEDIR if set (the tests point it at the build tree's
 * locale/), else the compiled-in install directory. Numbers stay in the C
 * locale: JSON and the reports print them with a '.'. Codes, --json and
 * serve's log stay English. */
static void i18n_init(void)
{
    const char *dir = getenv("PATROL_LOCALEDIR");
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    bindtextdomain(PX_TEXTDOMAIN, dir && *dir ? dir : PATROL_LOCALEDIR);
    bind_textdomain_codeset(PX_TEXTDOMAIN, "UTF-8");
}

int main(int argc, char **argv)
{
    const char *data = getenv("PATROLD_DATA");
    int i = 1;
    /* Keys, the database (ID numbers, confidential fields) and evidence are
     * for the server's user only, whatever the caller's umask. */
    umask(077);
    i18n_init();
    /* An older data directory is upgraded when it is opened: the index
     * of its entries is built in the same transaction. */
    st_set_reindex(reindex_english);
    if (argc >= 3 && strcmp(argv[1], "--data") == 0) {
        data = argv[2];
        i = 3;
    }
    for (int k = i; k < argc; k++)
        cl_json |= strcmp(argv[k], "--json") == 0;
    if (i < argc && (cl_is_help(argv[i]) || strcmp(argv[i], "help") == 0))
        return usage(stdout);
    if (i < argc && strcmp(argv[i], "--version") == 0) {
        printf("patrold %s\n", PATROLD_VERSION);
        return 0;
    }
    /* A command's help, before anything reads its arguments (lists import
     * --help is not a file to open); audit's own commands answer theirs. */
    if (i < argc && strcmp(argv[i], "audit") != 0)
        for (int k = i + 1; k < argc; k++)
            if (cl_is_help(argv[k])) {
                if (command_help(argc - i, argv + i) == 0)
                    return 0;
                break;
            }
    /* config check reads a configuration, not a data directory. */
    if (i < argc && strcmp(argv[i], "config") == 0)
        return cmd_config(argc - i - 1, argv + i + 1);
    /* audit verify-archive checks an archive offline: no data directory. */
    if (!data && i + 1 < argc && strcmp(argv[i], "audit") == 0 &&
        strcmp(argv[i + 1], "verify-archive") == 0)
        return audit_main("", argc - i - 1, argv + i + 1);
    if (i >= argc || !data || !*data) {
        if (i < argc && cl_json)
            cl_fail(2, "usage", argv[i], "%s", _("no data directory: give --data DIR or set "
                                                 "PATROLD_DATA"));
        return usage(stderr);
    }
    if (strcmp(argv[i], "init") == 0)
        return cmd_init(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "serve") == 0)
        return cmd_serve(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "lists") == 0)
        return lists_main(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "flags") == 0)
        return cmd_flags(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "backup") == 0)
        return backup_main(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "reindex") == 0) {
        if (argc - i - 1 > 0)
            return cl_usage("reindex", _("unexpected argument '%s' (it takes none)"),
                               argv[i + 1]);
        /* It stores the rule flags' sentences: English (reindex_english). */
        setlocale(LC_ALL, "C");
        return idx_reindex_main(data, argc - i - 1, argv + i + 1);
    }
    if (strcmp(argv[i], "audit") == 0)
        return audit_main(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "user") == 0)
        return users_main(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "device") == 0 && i + 1 < argc) {
        int rc = devices_main(data, argc - i - 1, argv + i + 1);
        if (rc >= 0)
            return rc;
    }
    cl_fail(2, "usage", argv[i], "%s", _("unknown command"));
    return usage(stderr);
}
