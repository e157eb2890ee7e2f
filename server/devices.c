/* devices.c -- `patrold device add|revoke|list` (docs/server.md
 * "Commands"): a device awaiting enrolment and its one-time token, a
 * revocation with its log leaf, the list; and what other commands share
 * about devices: the server key's pin the token carries, a device named by
 * either id. Moved from main.c. */
#include "devices.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cmdline.h"
#include "crypto.h"
#include "i18n.h"
#include "tls.h"
#include "validate.h"

/* A reason from proto/validate.c (English, N_() marked), as people read it. */
static const char *tr(const char *why)
{
    return why && *why ? _(why) : "";
}

/* The server key's pin: SHA-256 of its SubjectPublicKeyInfo, in standard
 * base64 (std: curl's "sha256//" form) or base64url (in tokens). */
int devices_key_pin(const char *data, char *pin, size_t len, int std)
{
    char path[4200];
    px_key *k = NULL;
    const char *why;
    uint8_t id[PX_HASH_LEN];
    int rc = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/server.key", data) < sizeof path &&
        px_key_load_private(path, &k, &why) == 0 && px_key_id(k, id) == 0 &&
        (std ? px_base64_encode(id, sizeof id, pin, len)
             : px_base64url_encode(id, sizeof id, pin, len)) == 0)
        rc = 0;
    px_key_free(k);
    return rc;
}

static int cmd_device_add(const char *data, int argc, char **argv)
{
    const char *name = NULL, *dept = NULL, *why;
    uint64_t days = 7;
    st_backend *db;
    uint8_t id[8], secret[16];
    char sid[16], ssecret[32], pin[64];
    st_token t;
    int64_t dev;
    int rc = 1;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--department") == 0 && i + 1 < argc)
            dept = argv[++i];
        else if (strcmp(argv[i], "--valid-days") == 0 && i + 1 < argc) {
            if ((why = px_parse_u64(argv[++i], 1, 365, &days)))
                return cl_usage("device add", _("--valid-days: %s (1..365)"), tr(why));
        } else
            return cl_usage("device add", _("unexpected argument '%s'"), argv[i]);
    }
    if (!name || !dept)
        return cl_usage("device add", "%s", _("--name and --department are required"));
    if ((why = px_check_line(name, 120)))
        return cl_usage("device add", _("device name: %s"), tr(why));
    if ((why = px_check_ident(dept)))
        return cl_usage("device add", _("department code: %s"), tr(why));
    if (devices_key_pin(data, pin, sizeof pin, 0) != 0)
        return cl_die("device add", _("cannot read the server key in %s"), data);
    if (!(db = cl_open_db(data, "device add")))
        return 1;
    if (px_random(id, sizeof id) || px_random(secret, sizeof secret)) {
        cl_die("device add", "%s", _("no randomness"));
        goto out;
    }
    memset(&t, 0, sizeof t);
    px_sha256(secret, sizeof secret, t.secret_hash);
    t.expires_ms = app_now_ms() + (int64_t)days * 86400000;
    if (db->ops->begin(db) != ST_OK ||
        db->ops->device_add(db, name, dept, app_now_ms(), &dev) != ST_OK ||
        (t.device = dev, db->ops->token_add(db, id, &t)) != ST_OK || db->ops->commit(db) != ST_OK) {
        fprintf(stderr, "patrold: device add: %s\n", db->ops->errmsg(db));
        db->ops->rollback(db);
        goto out;
    }
    px_base64url_encode(id, sizeof id, sid, sizeof sid);
    px_base64url_encode(secret, sizeof secret, ssecret, sizeof ssecret);
    /* TRANSLATORS: device number, its name, its department code; the token
     * (printed on the next line) is valid this many days, for one use. */
    fprintf(stderr, _("device %lld (%s, %s) awaits enrolment; token valid %llu days, once:\n"),
            (long long)dev, name, dept, (unsigned long long)days);
    printf("PT1.%s.%s.%s\n", sid, ssecret, pin);
    rc = 0;
out:
    px_wipe(secret, sizeof secret);
    db->ops->close(db);
    return rc;
}

/* A device named on the command line by either id: the server's number
 * (*num set), or the 64 hex digits the terminal prints (patrol init,
 * patrol info: its key's SHA-256, either case; key_id set, *is_key 1).
 * 0, or -1 when arg is neither. */
int devices_arg(const char *arg, uint64_t *num, uint8_t key_id[32], int *is_key)
{
    *is_key = 0;
    if (strlen(arg) == 64) {
        char lower[65];
        for (int k = 0; k < 64; k++)
            lower[k] = (char)(arg[k] >= 'A' && arg[k] <= 'F' ? arg[k] + 32 : arg[k]);
        lower[64] = '\0';
        if (!px_parse_hex(lower, key_id, 32)) {
            *is_key = 1;
            return 0;
        }
    }
    return px_parse_u64(arg, 1, INT64_MAX, num) ? -1 : 0;
}

/* The number of the device key_id names (its key's SHA-256), or 0 after
 * reporting that none does. */
uint64_t devices_by_key_arg(st_backend *db, const char *cmd, const uint8_t key_id[32],
                                  const char *arg)
{
    st_device d;
    if (db->ops->device_by_key(db, key_id, &d) != ST_OK) {
        cl_fail(1, "not_found", cmd, _("no device %s"), arg);
        return 0;
    }
    return (uint64_t)d.id;
}

static int cmd_device_revoke(const char *data, int argc, char **argv)
{
    uint64_t id = 0;
    uint8_t key_id[32];
    int is_key = 0;
    st_backend *db;
    int rc;
    /* --json: only for the error object (cmdline.h); it prints no JSON. */
    if (argc == 2 && strcmp(argv[1], "--json") == 0)
        argc = 1;
    if (argc >= 1 && argv[0][0] == '-')
        return cl_usage("device revoke", _("unexpected argument '%s'"), argv[0]);
    if (argc > 1)
        return cl_usage("device revoke", _("unexpected argument '%s'"), argv[1]);
    if (argc != 1 || devices_arg(argv[0], &id, key_id, &is_key))
        return cl_usage("device revoke", "%s",
                           _("needs one device id: its number or the terminal's 64 hex digits "
                             "(see 'patrold device list')"));
    if (!(db = cl_open_db(data, "device revoke")))
        return 1;
    if (is_key && !(id = devices_by_key_arg(db, "device revoke", key_id, argv[0]))) {
        db->ops->close(db);
        return 1;
    }
    /* The revocation and its leaf in the server log, together. */
    rc = app_device_revoke(db, (int64_t)id);
    if (rc == ST_NOTFOUND)
        cl_fail(1, "not_found", "device revoke", _("no device %s"), argv[0]);
    else if (rc != ST_OK)
        fprintf(stderr, "patrold: device revoke: %s\n", db->ops->errmsg(db));
    else
        printf(_("device %s revoked: its certificate is refused from now on\n"), argv[0]);
    db->ops->close(db);
    return rc == ST_OK ? 0 : 1;
}

static int list_cb(void *ud, const st_device *d)
{
    cJSON *arr = ud;
    static const char *const st[] = {"pending", "active", "revoked"};
    /* The status as people read it (the codes above are --json's). */
    static const char *const st_text[] = {N_("not enrolled"), N_("active"), N_("revoked")};
    char head[65];
    px_format_hex(d->head, 32, head);
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        char kid[65];
        px_format_hex(d->key_id, 32, kid);
        cJSON_AddNumberToObject(o, "id", (double)d->id);
        cJSON_AddStringToObject(o, "name", d->name);
        cJSON_AddStringToObject(o, "department", d->department);
        cJSON_AddStringToObject(o, "status", st[d->status % 3]);
        cJSON_AddStringToObject(o, "device_id", d->status == DEV_PENDING ? "" : kid);
        cJSON_AddNumberToObject(o, "last_seq", (double)d->last_seq);
        cJSON_AddStringToObject(o, "head", d->last_seq ? head : "");
        cJSON_AddNumberToObject(o, "entries", (double)d->entries);
        cJSON_AddNumberToObject(o, "evidence_pending", (double)d->evidence_pending);
        cJSON_AddNumberToObject(o, "forks", (double)d->forks);
        cJSON_AddNumberToObject(o, "last_sync_ms", (double)d->last_sync_ms);
        {
            char t[40];
            cl_iso_time(d->last_sync_ms, t, sizeof t);
            cJSON_AddStringToObject(o, "last_sync", t); /* "" before the first sync */
        }
        cJSON_AddItemToArray(arr, o);
    } else {
        /* TRANSLATORS: one device of 'device list': number, name, department,
         * status, last sequence number, entries held, evidence files not yet
         * received whole, forks (quarantined second versions), chain head. */
        printf(_("%-4lld %-24s %-10s %-12s seq %-8llu entries %-8llu evidence pending %-4llu forks "
                 "%llu  head %.16s\n"),
               (long long)d->id, d->name, d->department, _(st_text[d->status % 3]),
               (unsigned long long)d->last_seq, (unsigned long long)d->entries,
               (unsigned long long)d->evidence_pending, (unsigned long long)d->forks,
               d->last_seq ? head : "-");
    }
    return 0;
}

static int each_device(st_backend *db, void *arr)
{
    return db->ops->device_list(db, list_cb, arr);
}

static int cmd_device_list(const char *data, int argc, char **argv)
{
    return cl_list_command(data, "device list", argc, argv, cl_open_db, each_device);
}

int devices_main(const char *data, int argc, char **argv)
{
    if (argc < 1)
        return -1;
    if (strcmp(argv[0], "add") == 0)
        return cmd_device_add(data, argc - 1, argv + 1);
    if (strcmp(argv[0], "revoke") == 0)
        return cmd_device_revoke(data, argc - 1, argv + 1);
    if (strcmp(argv[0], "list") == 0)
        return cmd_device_list(data, argc - 1, argv + 1);
    return -1;
}
