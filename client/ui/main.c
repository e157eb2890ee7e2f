/* main.c -- patrol ui [--listen ADDR:PORT] [--store DIR]: open the store,
 * listen on loopback only, print the address with the per-launch secret
 * once, serve until SIGINT or SIGTERM. Prefix main_ (and ui_g). */
#include <arpa/inet.h>
#include <errno.h>
#include <locale.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "http.h"
#include "ui.h"

ui_app ui_g;

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f, "%s patrol ui [--store DIR] [--listen 127.0.0.1:PORT] [--lock-after SECONDS]\n\n%s\n",
            _("usage:"),
            _("Serve the inspector's touch interface to this handheld's own browser. Only a "
              "loopback address is accepted (127.0.0.0/8 or [::1]); PORT 0 or none picks a "
              "free port. The address printed carries a secret for this launch: open it once. "
              "--lock-after: after that long without use the pages ask for the inspector's PIN, "
              "read from standard input at launch."));
}

/* "127.0.0.1:8080", "[::1]:8080", "localhost:8080", or just an address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl, char *host,
                        size_t hostlen)
{
    char addr[64];
    const char *port_s = NULL;
    unsigned long port = 0;
    memset(ss, 0, sizeof *ss);
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        if (!e || (size_t)(e - s - 1) >= sizeof addr)
            return -1;
        memcpy(addr, s + 1, (size_t)(e - s - 1));
        addr[e - s - 1] = '\0';
        if (e[1] == ':')
            port_s = e + 2;
        else if (e[1])
            return -1;
    } else {
        const char *c = strrchr(s, ':');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        if (n >= sizeof addr)
            return -1;
        memcpy(addr, s, n);
        addr[n] = '\0';
        if (c)
            port_s = c + 1;
    }
    if (port_s) {
        char *end;
        errno = 0;
        port = strtoul(port_s, &end, 10);
        if (errno || *end || end == port_s || port > 65535)
            return -1;
    }
    if (strcmp(addr, "localhost") == 0)
        snprintf(addr, sizeof addr, "127.0.0.1");
    {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
            /* 127.0.0.0/8 only: anything else is reachable from elsewhere. */
            if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
                return -2;
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)port);
            *sl = sizeof *a4;
            snprintf(host, hostlen, "%s", addr);
            return 0;
        }
        if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
            if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
                return -2;
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            *sl = sizeof *a6;
            snprintf(host, hostlen, "[%s]", addr);
            return 0;
        }
    }
    return -2; /* a name other than localhost, or not an address */
}

static void locale_init(void)
{
    const char *dir = getenv("PATROL_LOCALEDIR");
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    bindtextdomain(PX_TEXTDOMAIN, dir && *dir ? dir : PATROL_LOCALEDIR);
    bind_textdomain_codeset(PX_TEXTDOMAIN, "UTF-8");
}

/* The pages are for inspectors in 简体中文: unless the environment names a
 * language, take zh_CN's catalogue. Called once the command line is read:
 * its help and usage errors follow the environment, as patrol's do. */
static void locale_pages(void)
{
    const char *msgs = setlocale(LC_MESSAGES, NULL);
    if (!msgs || strcmp(msgs, "C") == 0 || strcmp(msgs, "POSIX") == 0 ||
        strncmp(msgs, "C.", 2) == 0) {
        if (!setlocale(LC_ALL, "zh_CN.UTF-8"))
            setlocale(LC_ALL, "C.UTF-8");
        setlocale(LC_NUMERIC, "C");
    }
}

/* A usage error, as patrol's (client/cli): one line on stderr, exit 2, and
 * under --json the error object on stdout. msg is already formatted. */
static int usage_error(int json, const char *msg)
{
    fprintf(stderr, "patrol: ui: %s", msg);
    /* TRANSLATORS: ends a usage error, space included (a Chinese text
     * needs none before its full-width bracket); %s is the command. */
    fprintf(stderr, _(" (see 'patrol %s --help')"), "ui");
    fputs("\n", stderr);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        char *s;
        cJSON_AddBoolToObject(j, "ok", 0);
        cJSON_AddNumberToObject(j, "exit", EXIT_USAGE);
        cJSON_AddStringToObject(j, "code", "usage");
        cJSON_AddStringToObject(j, "error", msg);
        if ((s = cJSON_PrintUnformatted(j)))
            puts(s);
        free(s);
        cJSON_Delete(j);
    }
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *listen_s = "127.0.0.1:0", *store = getenv("PATROL_STORE");
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    char host[80], err[512], secret[UI_SECRET_HEX + 1];
    struct MHD_Daemon *d = NULL;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    int sig, rc, ret = EXIT_REFUSED;
    unsigned port;
    unsigned long lock_after = 0;
    int json = 0;

    locale_init();
    /* The hidden mode in which this program runs a sync for the pages
     * (sync.c): argv is exactly --sync-child --store DIR. */
    if (argc == 4 && strcmp(argv[1], "--sync-child") == 0 && strcmp(argv[2], "--store") == 0) {
        locale_pages(); /* what it reports is shown on the pages */
        return ui_sync_child(argv[3]);
    }
    ui_sync_init(argv[0]);
    for (int i = 1; i < argc; i++)
        json |= strcmp(argv[i], "--json") == 0;
    /* --json is for scripts: English, as patrol's (README "Languages"). */
    if (json)
        setlocale(LC_MESSAGES, "C");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen_s = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            store = argv[++i];
        else if (strcmp(argv[i], "--lock-after") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            lock_after = strtoul(argv[++i], &end, 10);
            if (errno || *end || lock_after == 0 || lock_after > 86400) {
                char msg[300];
                snprintf(msg, sizeof msg, _("--lock-after needs seconds (1 to 86400), not '%s'"),
                         argv[i]);
                return usage_error(json, msg);
            }
        }
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            char msg[300];
            snprintf(msg, sizeof msg, _("unexpected argument '%s'"), argv[i]);
            return usage_error(json, msg);
        }
    }
    locale_pages();
    rc = parse_listen(listen_s, &ss, &sl, host, sizeof host);
    if (rc == -2) {
        fprintf(stderr, _("patrol: ui: --listen %s refused: only a loopback address "
                          "(127.0.0.1, [::1], localhost) may serve the record"),
                listen_s);
        fputs("\n", stderr);
        return EXIT_USAGE;
    }
    if (rc) {
        fprintf(stderr, _("patrol: ui: --listen needs ADDRESS:PORT, not '%s'"), listen_s);
        fputs("\n", stderr);
        return EXIT_USAGE;
    }
    if (!store || !*store) {
        fprintf(stderr, "patrol: ui: %s\n", _("no store: give --store DIR or set PATROL_STORE"));
        return EXIT_USAGE;
    }
    if (lock_after) {
        /* The PIN is the first line of standard input (the launcher's, or
         * typed without echo), never an argument other users can read. */
        char pin[64];
        struct termios t0, t1;
        int tty = isatty(0) && tcgetattr(0, &t0) == 0;
        if (tty) {
            fputs(_("PIN (4 to 12 digits): "), stderr);
            t1 = t0;
            t1.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(0, TCSANOW, &t1);
        }
        if (!fgets(pin, sizeof pin, stdin))
            pin[0] = '\0';
        if (tty) {
            tcsetattr(0, TCSANOW, &t0);
            fputs("\n", stderr);
        }
        pin[strcspn(pin, "\r\n")] = '\0';
        rc = ui_lock_init(pin, (unsigned)lock_after);
        memset(pin, 0, sizeof pin);
        if (rc) {
            fprintf(stderr, "patrol: ui: %s\n",
                    _("--lock-after needs a PIN of 4 to 12 digits on standard input"));
            return EXIT_USAGE;
        }
    }
    if (patrol_open(store, &ui_g.p, err, sizeof err) != PATROL_OK) {
        fprintf(stderr, "patrol: ui: %s\n", err);
        return EXIT_REFUSED;
    }
    ui_g.store_dir = store;
    /* Uploads wait in this launch's own directory; what a killed launch
     * left there is removed first (tmp.c). */
    if (ui_tmp_init() != 0) {
        fprintf(stderr, "patrol: ui: %s: %s\n",
                _("cannot make a private temporary directory (TMPDIR)"), strerror(errno));
        goto exit;
    }

    /* Signals are taken by sigwait below; the daemon's thread inherits the
     * mask. SIGPIPE: a browser that goes away is a failed write. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* One thread answers every request in turn: the store handle is used
     * by one thread at a time, as libpatrol asks. */
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                             (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         0, NULL, NULL, http_handler, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                         MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                         MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, _("patrol: ui: cannot listen on %s (in use?)"), listen_s);
        fputs("\n", stderr);
        goto exit;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info ? info->port : 0;
    if (http_init(host, port, secret, sizeof secret)) {
        fprintf(stderr, "patrol: ui: %s\n", _("no random numbers for the launch secret"));
        goto exit;
    }
    /* The one line a launcher reads: the address to open, with the secret. */
    printf("http://%s:%u/?k=%s\n", host, port, secret);
    fflush(stdout);
    memset(secret, 0, sizeof secret);
    sigwait(&set, &sig);
    ret = 0;
exit:
    if (d)
        MHD_stop_daemon(d);
    ui_tmp_fini();
    patrol_close(ui_g.p);
    ui_lock_wipe();
    return ret;
}
