/* web_integrity.c -- 完整性: `patrold audit verify` run on demand and its
 * last result (web_int.h). The check is the command itself, run as a child
 * process of this patrold (/proc/self/exe ... audit verify --json): the
 * same code, its own read-only database handle, and a worker of the console
 * waits for it (the device port's workers are not involved). The last
 * result is kept in memory (one console per process) with who ran it and
 * when; a supervisor or an admin may run it, every account may read it.
 * Each run is a leaf: "patrol-web-verify\n" ok|fail "\n" integrity
 * failures "\n" anomalies "\nweb:" account "\n" time "\n".
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "web_int.h"

#define VERIFY_OUT_MAX (32u << 20) /* bytes of JSON read from the child */

extern char **environ;

static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char *last_json;       /* malloc'd; NULL before the first run */
static char last_who[72];
static int64_t last_ms;
static int running;           /* one run at a time */

int web_run_self(char *const argv[], char **out)
{
    posix_spawn_file_actions_t fa;
    int p[2], st = 0;
    pid_t pid;
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    *out = NULL;
    if (!buf || pipe(p) != 0) {
        free(buf);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        close(p[0]);
        close(p[1]);
        free(buf);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    for (;;) {
        ssize_t n;
        if (len + 1 >= cap) {
            char *nb;
            if (cap >= VERIFY_OUT_MAX || !(nb = realloc(buf, cap * 2)))
                break;
            buf = nb;
            cap *= 2;
        }
        n = read(p[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(p[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    buf[len] = '\0';
    if (len == 0 || (buf[0] != '{' && buf[0] != '[')) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

void web_post_verify(web_ctx *c)
{
    char *json = NULL, text[300];
    cJSON *j;
    int busy, n;
    if (strcmp(c->who->role, "reviewer") == 0) {
        web_refuse(c, 403, _("The integrity check covers the county: a reviewer cannot start it."));
        return;
    }
    pthread_mutex_lock(&last_lock);
    busy = running;
    running = 1;
    pthread_mutex_unlock(&last_lock);
    if (busy) {
        web_refuse(c, 409, _("An integrity check is already running: reload later."));
        return;
    }
    char *argv[] = {"patrold", "--data", c->a->data_dir, "audit", "verify", "--json", NULL};
    if (web_run_self(argv, &json) != 0 || !(j = cJSON_Parse(json))) {
        free(json);
        pthread_mutex_lock(&last_lock);
        running = 0;
        pthread_mutex_unlock(&last_lock);
        web_refuse(c, 500, _("patrold audit verify could not be run."));
        return;
    }
    n = snprintf(text, sizeof text, "patrol-web-verify\n%s\n%.0f\n%.0f\nweb:%s\n%" PRId64 "\n",
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")) ? "ok" : "fail",
                 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "integrity_failures")),
                 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "anomalies")),
                 c->who->name, app_now_ms());
    cJSON_Delete(j);
    if (n > 0 && (size_t)n < sizeof text)
        web_leaf(c, text, (size_t)n);
    pthread_mutex_lock(&last_lock);
    free(last_json);
    last_json = json;
    snprintf(last_who, sizeof last_who, "%s", c->who->name);
    last_ms = app_now_ms();
    running = 0;
    pthread_mutex_unlock(&last_lock);
    web_redirect(c, "/integrity");
}

static void num_row(web_buf *b, const char *label, const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    web_puts(b, "<tr><th>");
    web_text(b, label);
    web_printf(b, "</th><td class=\"num\" id=\"v-%s\">%.0f</td></tr>", key,
               cJSON_IsNumber(v) ? v->valuedouble : 0.0);
}

void web_page_integrity(web_ctx *c)
{
    web_buf b = {0};
    char *json = NULL, who[72], t[32];
    int64_t ms;
    cJSON *j = NULL;
    pthread_mutex_lock(&last_lock);
    if (last_json)
        json = strdup(last_json);
    snprintf(who, sizeof who, "%s", last_who);
    ms = last_ms;
    pthread_mutex_unlock(&last_lock);
    web_tag(&b, "h1", _("Integrity"));
    web_puts(&b, "<p>");
    web_text(&b, _("As given by "));
    web_puts(&b, "<code>patrold audit verify</code>: ");
    web_text(&b, _("every device's hash chain and signatures, the evidence files, the server "
                   "log."));
    web_puts(&b, "</p>");
    if (strcmp(c->who->role, "reviewer") != 0) {
        web_puts(&b, "<form method=\"post\" action=\"/integrity/run\">");
        web_csrf_field(c, &b);
        web_tag(&b, "button type=\"submit\" id=\"verify\"", _("Check now"));
        web_puts(&b, "</form>");
    }
    if (!json || !(j = cJSON_Parse(json))) {
        web_tag(&b, "p id=\"verify-none\"", _("Not checked since the server started."));
    } else {
        const cJSON *probs = cJSON_GetObjectItemCaseSensitive(j, "problems"), *p;
        web_beijing(ms, t, sizeof t);
        web_puts(&b, "<p>");
        /* TRANSLATORS: the last check: when (Beijing time), by which account. */
        web_textf(&b, _("Last check: %s, started by %s. Result: "), t, who);
        web_tag(&b, "strong id=\"verify-result\"",
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")) ? _("passed")
                                                                       : _("failed"));
        web_puts(&b, "</p><table><tbody>");
        num_row(&b, _("Entries"), j, "entries");
        num_row(&b, _("Integrity failures"), j, "integrity_failures");
        num_row(&b, _("Anomalies"), j, "anomalies");
        num_row(&b, _("Notices"), j, "notices");
        num_row(&b, _("Rule flags"), j, "rule_flags");
        web_puts(&b, "</tbody></table>");
        web_tag(&b, "h2", _("Problems found"));
        web_puts(&b, "<table>");
        web_thead(&b, (const char *const[]){_("Severity"), _("Code"), _("Device"), _("Detail"),
                                            NULL});
        web_puts(&b, "<tbody>");
        cJSON_ArrayForEach(p, probs)
        {
            const cJSON *sev = cJSON_GetObjectItemCaseSensitive(p, "severity"),
                        *code = cJSON_GetObjectItemCaseSensitive(p, "code"),
                        *dev = cJSON_GetObjectItemCaseSensitive(p, "device"),
                        *det = cJSON_GetObjectItemCaseSensitive(p, "detail");
            web_puts(&b, "<tr><td>");
            web_text(&b, cJSON_IsString(sev) ? sev->valuestring : "");
            web_puts(&b, "</td><td><code>");
            web_text(&b, cJSON_IsString(code) ? code->valuestring : "");
            web_printf(&b, "</code></td><td>%.0f</td><td>", cJSON_IsNumber(dev) ? dev->valuedouble : 0.0);
            web_text(&b, cJSON_IsString(det) ? det->valuestring : "");
            web_puts(&b, "</td></tr>");
        }
        web_puts(&b, "</tbody></table>");
    }
    cJSON_Delete(j);
    free(json);
    web_page(c, 200, _("Integrity"), &b);
    web_buf_free(&b);
}
