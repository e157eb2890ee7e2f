/* sync.c -- the sync page of patrol ui, and the sync itself, which runs
 * beside the pages instead of in their way.
 *
 * libpatrol takes one handle per process and a handle is used by one
 * thread at a time, so a sync in the serving thread stopped every page
 * until it ended (minutes on a slow link). Here "Sync now" starts this same
 * program again as a child (patrol-ui --sync-child --store DIR), which
 * opens the store with its own handle and runs patrol_sync. The store's
 * lock is shared by every handle and taken for writing only per write
 * transaction, so the inspector records and reads meanwhile; the store's
 * sync lock still lets one sync run at a time (a second is refused with
 * the library's reason). The child writes its progress and its result as
 * lines on a pipe; a reader thread keeps the latest in sync_state, which
 * the page shows, refreshing itself (an HTTP Refresh header: no script
 * needed) while the sync runs.
 *
 * The pipe's lines, one per event, fields separated by one space:
 *   P PHASE ENTRIES_DONE ENTRIES_TOTAL BYTES_DONE BYTES_TOTAL RATE
 *   R ERR ACKED HEAD ACCEPTED DUPLICATE EV_UPLOADED EV_PENDING REJECTED_SEQ
 *   M MESSAGE   (the library's sentence, newlines made spaces)
 * If the UI is killed the child goes on to the end of its sync (its writes
 * to the broken pipe fail quietly); everything a sync does is safe to cut
 * or repeat. Prefix sync_ (and ui_sync_*). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ui.h"

extern char **environ;

typedef struct sync_state {
    int running;     /* a child is syncing */
    int ended;       /* a sync ended since launch: the fields below are its result */
    int64_t started_ms, ended_ms;
    char phase[16];
    uint64_t entries_done, entries_total, bytes_done, bytes_total;
    double rate;
    int err;         /* PATROL_OK or a patrol_err of the child's sync */
    int have_result; /* the child sent its R line */
    uint64_t acked, head, accepted, duplicate, ev_uploaded, ev_pending, rejected_seq;
    char msg[512];
} sync_state;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static sync_state g_s;
static char g_self[PATH_MAX]; /* this program, for the child */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ui_sync_init(const char *argv0)
{
    ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (n > 0)
        g_self[n] = '\0';
    else
        snprintf(g_self, sizeof g_self, "%s", argv0 && strchr(argv0, '/') ? argv0 : "");
}

/* ---- the child ----------------------------------------------------------- */

/* One line on the pipe; a parent gone away is not the sync's concern. */
static void child_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void child_line(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    for (const char *p = line; n > 0;) {
        ssize_t w = write(STDOUT_FILENO, p, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (int)w;
    }
}

static void child_progress(void *ud, const patrol_sync_progress *pr)
{
    (void)ud;
    child_line("P %.15s %llu %llu %llu %llu %.0f", pr->phase, (unsigned long long)pr->entries_done,
               (unsigned long long)pr->entries_total, (unsigned long long)pr->bytes_done,
               (unsigned long long)pr->bytes_total, pr->rate >= 0 ? pr->rate : 0);
}

/* For tests, as for 'patrol sync': PATROL_SYNC_<NAME> overrides an option.
 * -1 (and a sentence in err) if it is not a number. */
static int env_uint(const char *name, unsigned *out, char *err, size_t len)
{
    const char *v = getenv(name);
    char *end;
    unsigned long x;
    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtoul(v, &end, 10);
    if (errno || *end || x > UINT_MAX || v[0] == '-') {
        snprintf(err, len, _("%s must be a number, not '%s'"), name, v);
        return -1;
    }
    *out = (unsigned)x;
    return 0;
}

int ui_sync_child(const char *store)
{
    patrol *p = NULL;
    patrol_sync_opts o;
    patrol_sync_result r;
    char err[512] = "";
    int rc;

    signal(SIGPIPE, SIG_IGN);
    memset(&o, 0, sizeof o);
    memset(&r, 0, sizeof r);
    /* A handheld at the station: give up within two minutes, three tries
     * of a request; the next sync resumes where this one stopped. */
    o.timeout_s = 120;
    o.max_attempts = 3;
    o.progress = child_progress;
    if (env_uint("PATROL_SYNC_TIMEOUT_S", &o.timeout_s, err, sizeof err) ||
        env_uint("PATROL_SYNC_ATTEMPTS", &o.max_attempts, err, sizeof err) ||
        env_uint("PATROL_SYNC_BACKOFF_MS", &o.backoff_initial_ms, err, sizeof err)) {
        rc = PATROL_EINVAL;
        goto report;
    }
    if ((rc = patrol_open(store, &p, err, sizeof err)) != PATROL_OK)
        goto report;
    rc = patrol_sync(p, &o, &r);
    if (rc)
        snprintf(err, sizeof err, "%s", *patrol_errmsg(p) ? patrol_errmsg(p) : patrol_strerror(rc));
report:
    child_line("M %s", rc ? (*err ? err : patrol_strerror(rc)) : "");
    child_line("R %d %llu %llu %llu %llu %llu %llu %llu", rc, (unsigned long long)r.acked_seq,
               (unsigned long long)r.head_seq, (unsigned long long)r.entries_accepted,
               (unsigned long long)r.entries_duplicate, (unsigned long long)r.evidence_uploaded,
               (unsigned long long)r.evidence_pending, (unsigned long long)r.rejected_seq);
    patrol_close(p);
    return rc ? 1 : 0;
}

/* ---- the parent: the reader thread --------------------------------------- */

/* Up to max numbers after the line's tag; how many were read. */
static size_t numbers(const char *s, uint64_t *v, size_t max)
{
    size_t n = 0;
    while (n < max && *s) {
        char *end;
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        errno = 0;
        v[n] = strtoull(s, &end, 10);
        if (errno || end == s || (*end && *end != ' '))
            break;
        n++;
        s = end;
    }
    return n;
}

static void take_line(char *line)
{
    uint64_t v[8];
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == 'P' && line[1] == ' ') {
        char *ph = line + 2, *sp = strchr(ph, ' ');
        if (!sp || (size_t)(sp - ph) >= sizeof g_s.phase || numbers(sp, v, 5) != 5)
            return;
        memcpy(g_s.phase, ph, (size_t)(sp - ph));
        g_s.phase[sp - ph] = '\0';
        g_s.entries_done = v[0];
        g_s.entries_total = v[1];
        g_s.bytes_done = v[2];
        g_s.bytes_total = v[3];
        g_s.rate = (double)v[4];
    } else if (line[0] == 'M' && line[1] == ' ') {
        snprintf(g_s.msg, sizeof g_s.msg, "%.500s", line + 2);
    } else if (line[0] == 'R' && line[1] == ' ') {
        char *end;
        long e;
        errno = 0;
        e = strtol(line + 2, &end, 10);
        if (errno || end == line + 2 || e > 0 || e < -1000 || numbers(end, v, 7) != 7)
            return;
        g_s.err = (int)e;
        g_s.acked = v[0];
        g_s.head = v[1];
        g_s.accepted = v[2];
        g_s.duplicate = v[3];
        g_s.ev_uploaded = v[4];
        g_s.ev_pending = v[5];
        g_s.rejected_seq = v[6];
        g_s.have_result = 1;
    }
}

typedef struct reader_arg {
    int fd;
    pid_t pid;
} reader_arg;

static void *reader(void *arg)
{
    reader_arg ra = *(reader_arg *)arg;
    FILE *f = fdopen(ra.fd, "r");
    char line[1100];
    int st = 0;
    free(arg);
    if (!f)
        close(ra.fd);
    while (f && fgets(line, sizeof line, f)) {
        pthread_mutex_lock(&g_mu);
        take_line(line);
        pthread_mutex_unlock(&g_mu);
    }
    if (f)
        fclose(f);
    while (waitpid(ra.pid, &st, 0) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&g_mu);
    if (!g_s.have_result) {
        g_s.err = PATROL_EIO;
        if (WIFSIGNALED(st))
            snprintf(g_s.msg, sizeof g_s.msg, _("the sync process ended unexpectedly (signal %d); "
                                                "nothing acknowledged is lost: sync again"),
                     WTERMSIG(st));
        else
            snprintf(g_s.msg, sizeof g_s.msg, "%s",
                     _("the sync process ended without a result; nothing acknowledged is lost: "
                       "sync again"));
    }
    g_s.running = 0;
    g_s.ended = 1;
    g_s.ended_ms = now_ms();
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

/* Start a sync in a child. 0 started, 1 one is running already, -1 it
 * could not be started (the reason is the state's message). */
static int sync_start(void)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    pthread_t th;
    pthread_attr_t ta;
    reader_arg *ra = NULL;
    char *argv[] = {(char *)"patrol-ui", (char *)"--sync-child", (char *)"--store",
                    (char *)ui_g.store_dir, NULL};
    int fds[2] = {-1, -1}, rc, fa_ok = 0, at_ok = 0, ta_ok = 0;
    pid_t pid = 0;
    char lc_all[160], **envp = NULL;

    pthread_mutex_lock(&g_mu);
    if (g_s.running) {
        pthread_mutex_unlock(&g_mu);
        return 1;
    }
    memset(&g_s, 0, sizeof g_s);
    g_s.started_ms = now_ms();
    if (!g_self[0] || pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0 || !(ra = malloc(sizeof *ra)))
        goto fail;
    if (posix_spawn_file_actions_init(&fa) != 0)
        goto fail;
    fa_ok = 1;
    if (posix_spawnattr_init(&at) != 0)
        goto fail;
    at_ok = 1;
    /* The child's stdout is the pipe, its stdin nothing; it takes the
     * signals the serving process blocks (sigwait) as a program should. */
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGHUP);
    if (posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO) != 0 ||
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawnattr_setsigmask(&at, &none) != 0 ||
        posix_spawnattr_setsigdefault(&at, &dflt) != 0 ||
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0)
        goto fail;
    /* The child speaks the pages' language, whatever the environment
     * said (main.c takes 简体中文 when it names none): LC_ALL set to it. */
    {
        const char *cur = setlocale(LC_MESSAGES, NULL);
        size_t n = 0, k = 0;
        while (environ[n])
            n++;
        if (snprintf(lc_all, sizeof lc_all, "LC_ALL=%s", cur ? cur : "C") >= (int)sizeof lc_all ||
            !(envp = calloc(n + 2, sizeof *envp)))
            goto fail;
        for (size_t i = 0; i < n; i++)
            if (strncmp(environ[i], "LC_ALL=", 7) != 0)
                envp[k++] = environ[i];
        envp[k++] = lc_all;
        envp[k] = NULL;
    }
    if ((rc = posix_spawn(&pid, g_self, &fa, &at, argv, envp)) != 0) {
        pid = 0;
        errno = rc;
        goto fail;
    }
    close(fds[1]);
    fds[1] = -1;
    ra->fd = fds[0];
    ra->pid = pid;
    if (pthread_attr_init(&ta) != 0)
        goto fail;
    ta_ok = 1;
    if (pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED) != 0 ||
        pthread_create(&th, &ta, reader, ra) != 0)
        goto fail;
    g_s.running = 1;
    snprintf(g_s.phase, sizeof g_s.phase, "entries");
    free(envp);
    pthread_attr_destroy(&ta);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    pthread_mutex_unlock(&g_mu);
    return 0;
fail:
    snprintf(g_s.msg, sizeof g_s.msg, _("the sync could not be started: %s"), strerror(errno));
    g_s.err = PATROL_EIO;
    g_s.ended = 1;
    g_s.ended_ms = now_ms();
    if (pid > 0) { /* started, but nobody would read it: stop it */
        kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free(ra);
    free(envp);
    if (ta_ok)
        pthread_attr_destroy(&ta);
    if (at_ok)
        posix_spawnattr_destroy(&at);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    pthread_mutex_unlock(&g_mu);
    return -1;
}

/* ---- the page ------------------------------------------------------------ */

static const char *phase_label(const char *phase)
{
    if (strcmp(phase, "entries") == 0)
        return _("entries");
    if (strcmp(phase, "evidence") == 0)
        return _("evidence");
    if (strcmp(phase, "reference") == 0)
        return _("reference data");
    if (strcmp(phase, "done") == 0)
        return _("done");
    return phase;
}

/* n bytes as "12.3 MB" (decimal units, as the CLI's bar). */
static void bytes_text(uint64_t n, char *out, size_t len)
{
    if (n < 1000)
        snprintf(out, len, "%llu B", (unsigned long long)n);
    else if (n < 1000000)
        snprintf(out, len, "%.1f kB", (double)n / 1e3);
    else if (n < 1000000000)
        snprintf(out, len, "%.1f MB", (double)n / 1e6);
    else
        snprintf(out, len, "%.2f GB", (double)n / 1e9);
}

void ui_sync_page(ui_req *r, ui_resp *out)
{
    ubuf *b = &out->body;
    patrol_sync_info si;
    sync_state s;
    char when[32], done[24], total[24];
    int have_si;

    if (strcmp(r->method, "POST") == 0) {
        /* Post, then redirect: a reload of the page does not start another. */
        sync_start();
        snprintf(out->location, sizeof out->location, "/sync");
        return;
    }
    pthread_mutex_lock(&g_mu);
    s = g_s;
    pthread_mutex_unlock(&g_mu);

    memset(&si, 0, sizeof si);
    have_si = patrol_sync_status(ui_g.p, &si) == PATROL_OK;
    if (s.running && !s.entries_total && !s.bytes_total && have_si) {
        /* Before the child's first progress line: what is pending. */
        s.entries_total = si.pending_entries;
        s.bytes_total = si.pending_bytes;
    }
    ui_page_begin(b, _("Sync"));
    h(b, "<h1>%t</h1>", _("Sync"));
    if (s.running) {
        unsigned pct = s.bytes_total ? (unsigned)(s.bytes_done * 100 / s.bytes_total) : 0;
        out->refresh_s = 2;
        ui_beijing(s.started_ms, when, sizeof when);
        bytes_text(s.bytes_done, done, sizeof done);
        bytes_text(s.bytes_total, total, sizeof total);
        h(b, "<section class=\"sync running\" data-sync=\"running\"><p class=\"busy\" "
             "role=\"status\">%t</p><progress max=\"100\" value=\"%d\">%d%%</progress>"
             "<dl><dt>%t</dt><dd>%t</dd><dt>%t</dt><dd>%U / %U</dd><dt>%t</dt><dd>%t / %t</dd>"
             "<dt>%t</dt><dd>%t</dd></dl><p class=\"help\">%t</p></section>",
          _("Syncing: the entries and evidence are being sent."), (int)(pct > 100 ? 100 : pct),
          (int)(pct > 100 ? 100 : pct), _("phase"), phase_label(s.phase),
          _("entries acknowledged"), s.entries_done, s.entries_total, _("sent"), done, total,
          _("started (Beijing time)"), when,
          _("You may go on recording meanwhile: the sync runs beside the pages. This page "
            "refreshes itself until it ends."));
        h(b, "<a class=\"btn primary\" href=\"/\">%t</a>", _("Back to today's work"));
    } else if (s.ended) {
        ui_beijing(s.ended_ms, when, sizeof when);
        if (s.err)
            h(b, "<p class=\"err banner\" role=\"alert\" data-sync=\"failed\">%t</p>",
              s.msg[0] ? s.msg : patrol_strerror(s.err));
        else
            h(b, "<p class=\"ok\" role=\"status\" data-sync=\"done\">%t</p>", _("Synced."));
        if (s.have_result) {
            h(b, "<dl><dt>%t</dt><dd>%t</dd><dt>%t</dt><dd>%U</dd><dt>%t</dt><dd>%U</dd>"
                 "<dt>%t</dt><dd>%U</dd><dt>%t</dt><dd>%U</dd></dl>",
              _("ended (Beijing time)"), when, _("entries the server stored now"), s.accepted,
              _("acknowledged up to entry"), s.acked, _("evidence files uploaded"),
              s.ev_uploaded, _("evidence files still to send"), s.ev_pending);
            if (s.rejected_seq)
                h(b, "<p class=\"err\">%t %U</p>", _("entry the server rejected:"),
                  s.rejected_seq);
        }
    }
    if (have_si) {
        char last[32] = "-";
        if (si.last_sync_ms)
            ui_beijing(si.last_sync_ms, last, sizeof last);
        if (!si.enrolled)
            h(b, "<p>%t</p>", _("This terminal is not enrolled with a server yet (patrol enroll)."));
        h(b, "<dl><dt>%t</dt><dd>%t</dd><dt>%t</dt><dd>%U / %U</dd><dt>%t</dt><dd>%U</dd>"
             "<dt>%t</dt><dd>%t</dd></dl>",
          _("server"), si.server_url, _("entries acknowledged"), si.acked_seq, si.head_seq,
          _("evidence files not yet sent"), si.pending_evidence_files, _("last sync"), last);
    }
    if (!s.running)
        h(b, "<form method=\"post\" action=\"/sync\"><input type=\"hidden\" name=\"csrf\" "
             "value=\"%a\"><button class=\"btn primary\" type=\"submit\">%t</button></form>",
          ui_csrf(), _("Sync now"));
    ui_page_end(b);
}
