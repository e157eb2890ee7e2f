/* web_export.c -- a matter's archive from the console: POST
 * /matters/ID/export (with the session's CSRF token) answers the tar that
 * `patrold audit export --matter ID --out FILE` writes (redacted: privacy
 * fields stay masked), run as a child of this patrold into a private
 * directory of the data directory, read back and removed (web_int.h).
 * The export is one leaf of the server log, audit export's patrol-export
 * leaf, naming the account that asked ("web:NAME", --web-account).
 * A reviewer may export its department's matters only.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "validate.h"
#include "web_int.h"

#define EXPORT_MAX (512u << 20) /* an archive larger than this is refused */

extern char **environ;

static int run_export(const char *data, const char *id, const char *out, const char *account)
{
    char *argv[] = {"patrold",       "--data", (char *)data, "audit",   "export",
                    "--matter",      (char *)id, "--out",    (char *)out, "--web-account",
                    (char *)account, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = 0;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

void web_post_export(web_ctx *c, const char *id)
{
    st_imatter m;
    char dir[4200], path[4300], name[96];
    uint8_t *body = NULL;
    struct stat sb;
    FILE *f;
    int rc, n;
    memset(&m, 0, sizeof m);
    if (px_check_ident(id)) {
        web_refuse(c, 400, _("The matter id is not valid."));
        return;
    }
    rc = c->db->ops->matter_get(c->db, id, &m);
    if (rc != ST_OK) {
        web_refuse(c, rc == ST_NOTFOUND ? 404 : 503, _("There is no such matter."));
        return;
    }
    rc = c->who->department[0] && strcmp(c->who->department, m.department) != 0;
    st_imatter_release(&m);
    if (rc) {
        web_refuse(c, 403, _("A reviewer may only export the matters of its own department."));
        return;
    }
    n = snprintf(dir, sizeof dir, "%s/.web-export-XXXXXX", c->a->data_dir);
    if (n < 0 || (size_t)n >= sizeof dir || !mkdtemp(dir)) {
        web_refuse(c, 503, _("The export directory cannot be made ready."));
        return;
    }
    snprintf(path, sizeof path, "%s/archive.tar", dir);
    if (run_export(c->a->data_dir, id, path, c->who->name) != 0 || stat(path, &sb) != 0 ||
        (uint64_t)sb.st_size > EXPORT_MAX || !(body = malloc((size_t)sb.st_size + 1)) ||
        !(f = fopen(path, "rb"))) {
        free(body);
        unlink(path);
        rmdir(dir);
        web_refuse(c, 500, _("The export failed (patrold audit export did not succeed)."));
        return;
    }
    rc = fread(body, 1, (size_t)sb.st_size, f) == (size_t)sb.st_size ? 0 : -1;
    fclose(f);
    unlink(path);
    rmdir(dir);
    if (rc != 0) {
        free(body);
        web_refuse(c, 500, _("The exported file cannot be read."));
        return;
    }
    snprintf(name, sizeof name, "%s.tar", id);
    web_download(c, "application/x-tar", name, body, (size_t)sb.st_size);
}
