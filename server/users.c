/* users.c -- console accounts: `patrold user ...` and password checks
 * (users.h, docs/console.md).
 *
 * libargon2 is called here rather than behind proto/crypto*.c: only
 * patrold checks passwords (the terminal never does), proto/ is shared
 * with libpatrol, which must not link libargon2, and Argon2 is a single
 * self-contained call (no keys, no state) that a port to another TLS
 * library does not touch.
 */
#include <argon2.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "crypto.h"
#include "i18n.h"
#include "cmdline.h"
#include "users.h"
#include "validate.h"

#define SALT_LEN 16
#define HASH_LEN 32

int users_hash(const char *pw, size_t len, char *out, size_t outlen)
{
    uint8_t salt[SALT_LEN];
    int rc;
    if (len > USERS_PW_MAX ||
        argon2_encodedlen(USERS_ARGON2_T, USERS_ARGON2_M_KIB, USERS_ARGON2_P, SALT_LEN, HASH_LEN,
                          Argon2_id) > outlen ||
        px_random(salt, sizeof salt) != 0)
        return -1;
    rc = argon2id_hash_encoded(USERS_ARGON2_T, USERS_ARGON2_M_KIB, USERS_ARGON2_P, pw, len, salt,
                               sizeof salt, HASH_LEN, out, outlen);
    px_wipe(salt, sizeof salt);
    return rc == ARGON2_OK ? 0 : -1;
}

int users_check(const char *encoded, const char *pw, size_t len)
{
    if (strncmp(encoded, "$argon2id$", 10) != 0 || len > USERS_PW_MAX)
        return -1;
    return argon2id_verify(encoded, pw, len) == ARGON2_OK ? 0 : -1;
}

int users_login(st_backend *db, const char *name, const char *pw, size_t len, st_user *out)
{
    /* Checked against when the name is unknown, so an unknown name costs
     * what a wrong password does (the hash of a random 32 bytes: nothing
     * matches it). */
    static char dummy[160];
    static int have_dummy;
    st_user u;
    int rc, ok;

    rc = px_check_ident(name) ? ST_NOTFOUND : db->ops->user_get(db, name, &u);
    if (rc != ST_OK && rc != ST_NOTFOUND)
        return USERS_ERR;
    if (rc == ST_NOTFOUND) {
        if (!have_dummy) {
            uint8_t r[32];
            if (px_random(r, sizeof r) == 0 &&
                users_hash((const char *)r, sizeof r, dummy, sizeof dummy) == 0)
                have_dummy = 1;
            px_wipe(r, sizeof r);
        }
        if (have_dummy)
            (void)users_check(dummy, pw, len);
        return USERS_WRONG;
    }
    ok = users_check(u.pwhash, pw, len) == 0;
    px_wipe(u.pwhash, sizeof u.pwhash);
    if (!ok)
        return USERS_WRONG;
    if (u.disabled_ms)
        return USERS_DISABLED;
    *out = u;
    return USERS_OK;
}

/* ---- the commands --------------------------------------------------- */

static st_backend *open_store(const char *data, const char *cmd)
{
    char err[256], path[4096];
    st_backend *db;
    if ((size_t)snprintf(path, sizeof path, "%s/patrold.db", data) >= sizeof path) {
        cl_die(cmd, "%s", _("data directory name too long"));
        return NULL;
    }
    if (access(path, F_OK) != 0) {
        cl_die(cmd, _("no server in %s (run 'patrold --data %s init')"), data, data);
        return NULL;
    }
    if (!(db = st_sqlite_open(path, 0, err, sizeof err)))
        cl_die(cmd, "%s", err);
    return db;
}

/* One line of stdin into buf (at most USERS_PW_MAX bytes, without the
 * line end); on a terminal, echo is off while it is typed. The length, or
 * -1 (nothing read, too long). */
static long read_line(const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO), restore = 0;
    size_t n;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            quiet.c_lflag |= ECHONL;
            restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
    }
    if (!fgets(buf, (int)size, stdin))
        buf[0] = '\0', n = SIZE_MAX;
    else
        n = strlen(buf);
    if (restore)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (n == SIZE_MAX)
        return -1;
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (n + 1 >= size)
        return -1; /* no line end within the buffer: too long */
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return (long)n;
}

/* The new password into out (hashed); 0 or 1 (said why). */
static int new_password(const char *cmd, char *out, size_t outlen)
{
    char a[USERS_PW_MAX + 2], b[USERS_PW_MAX + 2];
    long n = read_line(_("New password: "), a, sizeof a), m;
    int rc = 1;
    if (n < 0)
        cl_die(cmd, _("no password on standard input (one line, at most %d bytes)"), USERS_PW_MAX);
    else if (n < USERS_PW_MIN)
        cl_die(cmd, _("the password must have at least %d characters"), USERS_PW_MIN);
    else if (memchr(a, '\0', (size_t)n))
        cl_die(cmd, "%s", _("the password holds a NUL byte"));
    else if (isatty(STDIN_FILENO) &&
             ((m = read_line(_("Again: "), b, sizeof b)) != n || memcmp(a, b, (size_t)n) != 0))
        cl_die(cmd, "%s", _("the two passwords differ"));
    else if (users_hash(a, (size_t)n, out, outlen) != 0)
        cl_die(cmd, "%s", _("cannot hash the password (no randomness or out of memory)"));
    else
        rc = 0;
    px_wipe(a, sizeof a);
    px_wipe(b, sizeof b);
    return rc;
}

static int is_role(const char *r)
{
    return strcmp(r, "admin") == 0 || strcmp(r, "supervisor") == 0 || strcmp(r, "reviewer") == 0;
}

static int cmd_add(const char *data, int argc, char **argv)
{
    const char *cmd = "user add", *name = NULL, *role = NULL, *dept = "", *why;
    st_user u;
    st_backend *db;
    int64_t id;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp(argv[i], "--department") == 0 && i + 1 < argc)
            dept = argv[++i];
        else if (strcmp(argv[i], "--password") == 0)
            return cl_usage(cmd, "%s", _("a password is never an argument (others can read a "
                                     "command line): type it when asked, or give it on "
                                     "standard input"));
        else
            return cl_usage(cmd, _("unexpected argument '%s'"), argv[i]);
    }
    if (!name || !role)
        return cl_usage(cmd, "%s", _("--name and --role are required"));
    if ((why = px_check_ident(name)))
        return cl_usage(cmd, _("account name: %s"), _(why));
    if (!is_role(role))
        return cl_usage(cmd, _("role '%s': must be admin, supervisor or reviewer"), role);
    if (strcmp(role, "reviewer") == 0 && !*dept)
        return cl_usage(cmd, "%s",
                           _("a reviewer sees one department: --department is required"));
    if (strcmp(role, "reviewer") != 0 && *dept)
        return cl_usage(cmd, _("an %s sees the whole county: no --department"), role);
    if (*dept && (why = px_check_ident(dept)))
        return cl_usage(cmd, _("department code: %s"), _(why));
    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.role, sizeof u.role, "%s", role);
    snprintf(u.department, sizeof u.department, "%s", dept);
    if (!(db = open_store(data, cmd)))
        return 1;
    /* Refuse a taken name before asking for a password. */
    rc = db->ops->user_get(db, name, &(st_user){0});
    if (rc == ST_OK) {
        db->ops->close(db);
        return cl_die(cmd, _("an account named '%s' exists"), name);
    }
    if (new_password(cmd, u.pwhash, sizeof u.pwhash) != 0) {
        db->ops->close(db);
        return 1;
    }
    u.created_ms = app_now_ms();
    rc = db->ops->user_add(db, &u, &id);
    if (rc == ST_EXISTS)
        cl_die(cmd, _("an account named '%s' exists"), name);
    else if (rc != ST_OK)
        cl_die(cmd, "%s", db->ops->errmsg(db));
    else
        /* TRANSLATORS: account number, name, role code, department ("" for
         * the county: then the parentheses hold only the role). */
        fprintf(stderr, _("account %lld '%s' added (%s%s%s)\n"), (long long)id, name, role,
                *dept ? ", " : "", dept);
    px_wipe(u.pwhash, sizeof u.pwhash);
    db->ops->close(db);
    return rc == ST_OK ? 0 : 1;
}

/* --name N, the only argument of passwd and disable. */
static const char *only_name(const char *cmd, int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[0], "--name") == 0 && !px_check_ident(argv[1]))
        return argv[1];
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--name") == 0)
            i++;
        else {
            cl_usage(cmd, _("unexpected argument '%s'; usage: patrold --data DIR %s --name NAME"),
                        argv[i], cmd);
            return NULL;
        }
    cl_usage(cmd, _("usage: patrold --data DIR %s --name NAME"), cmd);
    return NULL;
}

static int cmd_passwd(const char *data, int argc, char **argv)
{
    const char *cmd = "user passwd", *name = only_name(cmd, argc, argv);
    char hash[160];
    st_user u;
    st_backend *db;
    int rc;
    if (!name)
        return 2;
    if (!(db = open_store(data, cmd)))
        return 1;
    if ((rc = db->ops->user_get(db, name, &u)) == ST_NOTFOUND) {
        db->ops->close(db);
        return cl_die(cmd, _("no account named '%s'"), name);
    }
    px_wipe(u.pwhash, sizeof u.pwhash);
    if (rc != ST_OK || new_password(cmd, hash, sizeof hash) != 0) {
        if (rc != ST_OK)
            cl_die(cmd, "%s", db->ops->errmsg(db));
        db->ops->close(db);
        return 1;
    }
    rc = db->ops->user_set_password(db, name, hash, app_now_ms());
    if (rc != ST_OK)
        cl_die(cmd, "%s", db->ops->errmsg(db));
    else
        fprintf(stderr, _("password of '%s' changed\n"), name);
    px_wipe(hash, sizeof hash);
    db->ops->close(db);
    return rc == ST_OK ? 0 : 1;
}

static int cmd_disable(const char *data, int argc, char **argv)
{
    const char *cmd = "user disable", *name = only_name(cmd, argc, argv);
    st_backend *db;
    int rc;
    if (!name)
        return 2;
    if (!(db = open_store(data, cmd)))
        return 1;
    rc = db->ops->user_disable(db, name, app_now_ms());
    if (rc == ST_NOTFOUND)
        cl_die(cmd, _("no account named '%s'"), name);
    else if (rc != ST_OK)
        cl_die(cmd, "%s", db->ops->errmsg(db));
    else
        fprintf(stderr, _("account '%s' disabled: it can no longer log in\n"), name);
    db->ops->close(db);
    return rc == ST_OK ? 0 : 1;
}

static void when(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    snprintf(buf, len, "-");
    if (ms && localtime_r(&t, &tm))
        strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

static int list_cb(void *ud, const st_user *u)
{
    cJSON *arr = ud;
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)u->id);
        cJSON_AddStringToObject(o, "name", u->name);
        cJSON_AddStringToObject(o, "role", u->role);
        cJSON_AddStringToObject(o, "department", u->department);
        cJSON_AddBoolToObject(o, "disabled", u->disabled_ms != 0);
        cJSON_AddNumberToObject(o, "created_ms", (double)u->created_ms);
        cJSON_AddNumberToObject(o, "password_changed_ms", (double)u->changed_ms);
        cJSON_AddNumberToObject(o, "disabled_ms", (double)u->disabled_ms);
        {
            char t[40];
            cl_iso_time(u->created_ms, t, sizeof t);
            cJSON_AddStringToObject(o, "created", t);
            cl_iso_time(u->changed_ms, t, sizeof t);
            cJSON_AddStringToObject(o, "password_changed", t);
            cl_iso_time(u->disabled_ms, t, sizeof t);
            cJSON_AddStringToObject(o, "disabled_at", t); /* "" while enabled */
        }
        cJSON_AddItemToArray(arr, o);
    } else {
        char c[32], d[32];
        when(u->changed_ms, c, sizeof c);
        when(u->disabled_ms, d, sizeof d);
        /* TRANSLATORS: one account of 'user list': number, name, role code,
         * department ("-": the county), when its password was set, and
         * "disabled" with its time, or "enabled". */
        printf(_("%-4lld %-20s %-10s %-10s password set %s  %s %s\n"), (long long)u->id, u->name,
               u->role, *u->department ? u->department : "-", c,
               u->disabled_ms ? _("disabled") : _("enabled"), u->disabled_ms ? d : "");
    }
    return 0;
}

static int each_user(st_backend *db, void *arr)
{
    return db->ops->users_each(db, list_cb, arr);
}

static int cmd_list(const char *data, int argc, char **argv)
{
    return cl_list_command(data, "user list", argc, argv, open_store, each_user);
}

int users_main(const char *data, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "add") == 0)
        return cmd_add(data, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "passwd") == 0)
        return cmd_passwd(data, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "disable") == 0)
        return cmd_disable(data, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "list") == 0)
        return cmd_list(data, argc - 1, argv + 1);
    return cl_usage("user", "%s",
                       _("usage: patrold --data DIR user add|passwd|disable|list ..."));
}
