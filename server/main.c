/* patrold -- the collection server.
 *
 *   patrold --data DIR init [--name NAME]
 *   patrold --data DIR serve --listen HOST:PORT [--workers N]
 *   patrold --data DIR device add --name NAME --department CODE [--valid-days N]
 *   patrold --data DIR device revoke ID
 *   patrold --data DIR device list [--json]
 *   patrold --data DIR lists import FILE
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "entry.h"
#include "patrol.pb-c.h"
#include "rules.h"
#include "storage.h"
#include "tls.h"
#include "validate.h"

static int die(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "patrold: %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
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

/* The server key's pin: SHA-256 of its SubjectPublicKeyInfo, in standard
 * base64 (std: curl's "sha256//" form) or base64url (in tokens). */
static int key_pin(const char *data, char *pin, size_t len, int std)
{
    char *path = join(data, "server.key");
    px_key *k = NULL;
    const char *why;
    uint8_t id[PX_HASH_LEN];
    int rc = -1;
    if (path && px_key_load_private(path, &k, &why) == 0 && px_key_id(k, id) == 0 &&
        (std ? px_base64_encode(id, sizeof id, pin, len)
             : px_base64url_encode(id, sizeof id, pin, len)) == 0)
        rc = 0;
    px_key_free(k);
    free(path);
    return rc;
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
        fprintf(stderr, "patrold: init: %s: %s\n", name, why ? why : "out of memory");
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
            return die("init", "unexpected argument '%s'", argv[i]);
    }
    if (px_check_line(name, 100))
        return die("init", "server name '%s' is not a valid one-line name", name);
    if (mkdir(data, 0700) != 0) {
        DIR *d = errno == EEXIST ? opendir(data) : NULL;
        struct dirent *e;
        int empty = d != NULL;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = 0;
        if (d)
            closedir(d);
        if (!empty)
            return die("init", "%s exists and is not an empty directory; nothing changed", data);
    }
    if (chmod(data, 0700) != 0)
        return die("init", "cannot restrict %s to its owner", data);
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
            return die("init", "cannot create the evidence directory in %s", data);
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
    if (key_pin(data, pin, sizeof pin, 1) != 0)
        goto out;
    {
        int dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0) {
            if (dfd >= 0)
                close(dfd);
            fprintf(stderr, "patrold: init: cannot sync %s\n", data);
            goto out;
        }
        close(dfd);
    }
    printf("server %s initialised in %s\nserver key pin sha256//%s\n", name, data, pin);
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

static st_backend *open_db(const char *data, const char *cmd)
{
    char err[256], *path = join(data, "patrold.db");
    st_backend *db = NULL;
    if (path && access(path, F_OK) != 0)
        fprintf(stderr, "patrold: %s: no server in %s (run 'patrold --data %s init')\n", cmd, data,
                data);
    else if (path && !(db = st_sqlite_open(path, 0, err, sizeof err)))
        fprintf(stderr, "patrold: %s: %s\n", cmd, err);
    free(path);
    return db;
}

/* ---- devices ---------------------------------------------------------- */

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
                return die("device add", "--valid-days: %s (1..365)", why);
        } else
            return die("device add", "unexpected argument '%s'", argv[i]);
    }
    if (!name || !dept)
        return die("device add", "--name and --department are required%s", "");
    if ((why = px_check_line(name, 120)))
        return die("device add", "device name: %s", why);
    if ((why = px_check_ident(dept)))
        return die("device add", "department code: %s", why);
    if (key_pin(data, pin, sizeof pin, 0) != 0)
        return die("device add", "cannot read the server key in %s", data);
    if (!(db = open_db(data, "device add")))
        return 1;
    if (px_random(id, sizeof id) || px_random(secret, sizeof secret)) {
        fprintf(stderr, "patrold: device add: no randomness\n");
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
    fprintf(stderr, "device %lld (%s, %s) awaits enrolment; token valid %llu days, once:\n",
            (long long)dev, name, dept, (unsigned long long)days);
    printf("PT1.%s.%s.%s\n", sid, ssecret, pin);
    rc = 0;
out:
    px_wipe(secret, sizeof secret);
    db->ops->close(db);
    return rc;
}

static int cmd_device_revoke(const char *data, int argc, char **argv)
{
    uint64_t id;
    st_backend *db;
    int rc;
    if (argc != 1 || px_parse_u64(argv[0], 1, INT64_MAX, &id))
        return die("device revoke", "needs one device id (see 'patrold device list')%s", "");
    if (!(db = open_db(data, "device revoke")))
        return 1;
    rc = db->ops->device_revoke(db, (int64_t)id);
    if (rc == ST_NOTFOUND)
        fprintf(stderr, "patrold: device revoke: no device %s\n", argv[0]);
    else if (rc != ST_OK)
        fprintf(stderr, "patrold: device revoke: %s\n", db->ops->errmsg(db));
    else
        printf("device %s revoked: its certificate is refused from now on\n", argv[0]);
    db->ops->close(db);
    return rc == ST_OK ? 0 : 1;
}

static int list_cb(void *ud, const st_device *d)
{
    cJSON *arr = ud;
    static const char *const st[] = {"pending", "active", "revoked"};
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
        cJSON_AddItemToArray(arr, o);
    } else {
        printf("%-4lld %-24s %-10s %-8s seq %-8llu entries %-8llu evidence pending %-4llu forks "
               "%llu  head %.16s\n",
               (long long)d->id, d->name, d->department, st[d->status % 3],
               (unsigned long long)d->last_seq, (unsigned long long)d->entries,
               (unsigned long long)d->evidence_pending, (unsigned long long)d->forks,
               d->last_seq ? head : "-");
    }
    return 0;
}

static int cmd_device_list(const char *data, int argc, char **argv)
{
    cJSON *arr = NULL;
    st_backend *db;
    int rc;
    if (argc == 1 && strcmp(argv[0], "--json") == 0)
        arr = cJSON_CreateArray();
    else if (argc != 0)
        return die("device list", "unexpected argument '%s'", argv[0]);
    if (!(db = open_db(data, "device list"))) {
        cJSON_Delete(arr);
        return 1;
    }
    rc = db->ops->device_list(db, list_cb, arr);
    if (rc != ST_OK)
        fprintf(stderr, "patrold: device list: %s\n", db->ops->errmsg(db));
    if (arr) {
        char *s = cJSON_PrintUnformatted(arr);
        if (s)
            puts(s);
        free(s);
        cJSON_Delete(arr);
    }
    db->ops->close(db);
    return rc == ST_OK ? 0 : 1;
}

/* ---- reference lists -------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Check and convert a reference file (shape of shared/domain/
 * reference-sample.json) into a Reference message. Returns a sentence
 * naming the problem, or NULL. */
static const char *build_reference(const cJSON *j, Patrol__V1__Reference *r, char *why, size_t len)
{
    const cJSON *domains = cJSON_GetObjectItemCaseSensitive(j, "domains");
    const cJSON *lists = cJSON_GetObjectItemCaseSensitive(j, "lists");
    const cJSON *leaflets = cJSON_GetObjectItemCaseSensitive(j, "leaflets");
    const cJSON *roster = cJSON_GetObjectItemCaseSensitive(j, "inspectors");
    const cJSON *revisits = cJSON_GetObjectItemCaseSensitive(j, "revisits");
    const cJSON *x, *y;
    size_t n;

    if (!cJSON_IsObject(j))
        return snprintf(why, len, "the file is not a JSON object"), why;
    if (!cJSON_IsArray(domains) || !cJSON_IsArray(lists))
        return snprintf(why, len, "\"domains\" and \"lists\" arrays are required"), why;

    r->domains = calloc((size_t)cJSON_GetArraySize(domains) + 1, sizeof *r->domains);
    n = 0;
    cJSON_ArrayForEach(x, domains)
    {
        const char *code = jstr(x, "code"), *name = jstr(x, "name");
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(x, "flexible");
        Patrol__V1__Domain *d;
        if (!code || px_check_ident(code) || !name || px_check_line(name, PX_LINE_MAX) ||
            !cJSON_IsBool(fl))
            return snprintf(why, len, "domain %zu needs a code, a name and \"flexible\"", n + 1),
                   why;
        if (cJSON_IsTrue(fl) && px_domain_excluded(code))
            return snprintf(why, len, "domain %s is excluded from flexible enforcement by law and "
                                      "cannot be marked flexible", code),
                   why;
        d = calloc(1, sizeof *d);
        patrol__v1__domain__init(d);
        d->code = strdup(code);
        d->name = strdup(name);
        d->flexible = cJSON_IsTrue(fl);
        r->domains[n++] = d;
    }
    r->n_domains = n;

    n = 0;
    cJSON_ArrayForEach(x, lists)
    {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(x, "items");
        n += cJSON_IsArray(items) ? (size_t)cJSON_GetArraySize(items) : 0;
    }
    r->list_items = calloc(n + 1, sizeof *r->list_items);
    n = 0;
    cJSON_ArrayForEach(x, lists)
    {
        const char *type = jstr(x, "type"), *version = jstr(x, "version");
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(x, "items");
        if (!type || (strcmp(type, "no_penalty") && strcmp(type, "lighter") && strcmp(type, "reduced")))
            return snprintf(why, len, "a list's type must be no_penalty, lighter or reduced"), why;
        if (!version || px_check_line(version, 64) || !cJSON_IsArray(items))
            return snprintf(why, len, "list of type %s needs a version and items", type), why;
        cJSON_ArrayForEach(y, items)
        {
            const char *code = jstr(y, "code"), *domain = jstr(y, "domain"), *name = jstr(y, "name");
            const char *basis = jstr(y, "basis");
            int known = 0;
            Patrol__V1__ListItem *it;
            if (!code || px_check_ident(code) || !domain || !name || px_check_line(name, PX_LINE_MAX) ||
                !basis || px_check_line(basis, PX_LINE_MAX))
                return snprintf(why, len, "an item of list %s lacks a valid code, domain, name or "
                                          "basis", version),
                       why;
            for (size_t k = 0; k < r->n_domains; k++)
                known |= strcmp(r->domains[k]->code, domain) == 0 && r->domains[k]->flexible;
            if (!known)
                return snprintf(why, len, "item %s names domain %s, which is not a flexible "
                                          "domain of this file", code, domain),
                       why;
            for (size_t k = 0; k < n; k++)
                if (strcmp(r->list_items[k]->code, code) == 0)
                    return snprintf(why, len, "item code %s appears twice", code), why;
            it = calloc(1, sizeof *it);
            patrol__v1__list_item__init(it);
            it->list_type = strdup(type);
            it->list_version = strdup(version);
            it->code = strdup(code);
            it->domain = strdup(domain);
            it->name = strdup(name);
            it->basis = strdup(basis);
            r->list_items[n++] = it;
        }
    }
    r->n_list_items = n;

    if (cJSON_IsArray(leaflets)) {
        r->leaflets = calloc((size_t)cJSON_GetArraySize(leaflets) + 1, sizeof *r->leaflets);
        n = 0;
        cJSON_ArrayForEach(x, leaflets)
        {
            const char *code = jstr(x, "code"), *title = jstr(x, "title");
            Patrol__V1__Leaflet *l;
            if (!code || px_check_ident(code) || !title || px_check_line(title, PX_LINE_MAX))
                return snprintf(why, len, "leaflet %zu needs a code and a title", n + 1), why;
            l = calloc(1, sizeof *l);
            patrol__v1__leaflet__init(l);
            l->code = strdup(code);
            l->title = strdup(title);
            r->leaflets[n++] = l;
        }
        r->n_leaflets = n;
    }
    if (cJSON_IsArray(roster)) {
        r->roster = calloc((size_t)cJSON_GetArraySize(roster) + 1, sizeof *r->roster);
        n = 0;
        cJSON_ArrayForEach(x, roster)
        {
            const char *id = jstr(x, "id"), *name = jstr(x, "name"), *cert = jstr(x, "cert_no");
            Patrol__V1__RosterInspector *p;
            if (!id || px_check_ident(id) || !name || px_check_line(name, PX_LINE_MAX) || !cert ||
                px_check_ident(cert))
                return snprintf(why, len, "inspector %zu needs an id, a name and a cert_no", n + 1),
                       why;
            p = calloc(1, sizeof *p);
            patrol__v1__roster_inspector__init(p);
            p->id = strdup(id);
            p->name = strdup(name);
            p->cert_no = strdup(cert);
            r->roster[n++] = p;
        }
        r->n_roster = n;
    }
    if (cJSON_IsArray(revisits)) {
        r->revisits = calloc((size_t)cJSON_GetArraySize(revisits) + 1, sizeof *r->revisits);
        n = 0;
        cJSON_ArrayForEach(x, revisits)
        {
            const char *id = jstr(x, "id"), *matter = jstr(x, "matter"), *due = jstr(x, "due");
            const char *dept = jstr(x, "department"), *sname = jstr(x, "subject_name");
            const char *note = jstr(x, "note");
            int32_t days;
            Patrol__V1__AssignedRevisit *v;
            if (!id || px_check_ident(id) || !matter || px_check_ident(matter) || !due ||
                px_parse_date(due, &days) || !dept || px_check_ident(dept))
                return snprintf(why, len, "revisit %zu needs id, matter, due (YYYY-MM-DD) and "
                                          "department", n + 1),
                       why;
            v = calloc(1, sizeof *v);
            patrol__v1__assigned_revisit__init(v);
            v->id = strdup(id);
            v->matter = strdup(matter);
            v->due = strdup(due);
            v->department = strdup(dept);
            v->subject_name = strdup(sname && !px_check_line(sname, PX_LINE_MAX) ? sname : "");
            v->note = strdup(note && !px_check_text(note, PX_TEXT_MAX) ? note : "");
            r->revisits[n++] = v;
        }
        r->n_revisits = n;
    }
    return NULL;
}

static int cmd_lists_import(const char *data, int argc, char **argv)
{
    Patrol__V1__Reference r = PATROL__V1__REFERENCE__INIT;
    FILE *f;
    char *text = NULL, why[256];
    long n;
    cJSON *j = NULL;
    st_backend *db = NULL;
    uint8_t *blob = NULL;
    size_t len;
    uint64_t version;
    int rc = 1;

    if (argc != 2 || strcmp(argv[0], "import") != 0)
        return die("lists", "usage: patrold --data DIR lists import FILE%s", "");
    if (!(f = fopen(argv[1], "rb")))
        return die("lists import", "cannot open %s", argv[1]);
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (8 << 20) ||
        fseek(f, 0, SEEK_SET) != 0 || !(text = malloc((size_t)n + 1)) ||
        fread(text, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(text);
        return die("lists import", "cannot read %s (at most 8 MiB)", argv[1]);
    }
    fclose(f);
    text[n] = '\0';
    if (px_check_utf8(text, (size_t)n)) {
        fprintf(stderr, "patrold: lists import: %s is not valid UTF-8 text\n", argv[1]);
        goto out;
    }
    if (!(j = cJSON_ParseWithLength(text, (size_t)n))) {
        fprintf(stderr, "patrold: lists import: %s is not valid JSON (near byte %ld)\n", argv[1],
                (long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - text : 0));
        goto out;
    }
    if (build_reference(j, &r, why, sizeof why)) {
        fprintf(stderr, "patrold: lists import: %s: %s; nothing imported\n", argv[1], why);
        goto out;
    }
    len = protobuf_c_message_get_packed_size(&r.base);
    if (!(blob = malloc(len ? len : 1)))
        goto out;
    protobuf_c_message_pack(&r.base, blob);
    if (!(db = open_db(data, "lists import")))
        goto out;
    if (db->ops->reference_put(db, blob, len, app_now_ms(), &version) != ST_OK) {
        fprintf(stderr, "patrold: lists import: %s\n", db->ops->errmsg(db));
        goto out;
    }
    printf("reference version %llu: %zu domains, %zu list items, %zu leaflets, %zu inspectors, "
           "%zu revisits\n",
           (unsigned long long)version, r.n_domains, r.n_list_items, r.n_leaflets, r.n_roster,
           r.n_revisits);
    rc = 0;
out:
    /* r's arrays were built with calloc/strdup: free them as protobuf-c would. */
    for (size_t i = 0; i < r.n_domains; i++) {
        free(r.domains[i]->code);
        free(r.domains[i]->name);
        free(r.domains[i]);
    }
    for (size_t i = 0; i < r.n_list_items; i++) {
        Patrol__V1__ListItem *it = r.list_items[i];
        free(it->list_type), free(it->list_version), free(it->code);
        free(it->domain), free(it->name), free(it->basis), free(it);
    }
    for (size_t i = 0; i < r.n_leaflets; i++)
        free(r.leaflets[i]->code), free(r.leaflets[i]->title), free(r.leaflets[i]);
    for (size_t i = 0; i < r.n_roster; i++)
        free(r.roster[i]->id), free(r.roster[i]->name), free(r.roster[i]->cert_no), free(r.roster[i]);
    for (size_t i = 0; i < r.n_revisits; i++) {
        Patrol__V1__AssignedRevisit *v = r.revisits[i];
        free(v->id), free(v->matter), free(v->due), free(v->department);
        free(v->subject_name), free(v->note), free(v);
    }
    free(r.domains), free(r.list_items), free(r.leaflets), free(r.roster), free(r.revisits);
    if (db)
        db->ops->close(db);
    free(blob);
    cJSON_Delete(j);
    free(text);
    return rc;
}

/* ---- serve ------------------------------------------------------------ */

static srv *volatile running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        srv_stop(running);
}

static int cmd_serve(const char *data, int argc, char **argv)
{
    const char *listen = NULL, *why = NULL;
    char host[256], err[256], *crt = join(data, "server.crt"), *key = join(data, "server.key"),
                             *ca = join(data, "ca.crt");
    uint64_t workers = 4;
    srv_limits lim;
    px_tls_server *tls = NULL;
    app a;
    srv *s = NULL;
    const char *colon;
    struct sigaction sa;
    int rc = 1, app_ok = 0;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen = argv[++i];
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            if (px_parse_u64(argv[++i], 1, 64, &workers)) {
                rc = die("serve", "--workers must be 1..64%s", "");
                goto out;
            }
        } else {
            rc = die("serve", "unexpected argument '%s'", argv[i]);
            goto out;
        }
    }
    if (!listen || !(colon = strrchr(listen, ':')) || colon == listen ||
        (size_t)(colon - listen) >= sizeof host) {
        rc = die("serve", "--listen HOST:PORT is required%s", "");
        goto out;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (app_open(&a, data, err, sizeof err) != 0) {
        fprintf(stderr, "patrold: serve: %s\n", err);
        goto out;
    }
    app_ok = 1;
    if (px_tls_server_new(crt, key, ca, &tls, &why) != 0) {
        fprintf(stderr, "patrold: serve: TLS: %s\n", why);
        goto out;
    }
    srv_limits_default(&lim);
    lim.workers = (unsigned)workers;
    if (srv_create(&s, host, colon + 1, tls, &lim, app_handle, &a, err, sizeof err) != 0) {
        fprintf(stderr, "patrold: serve: %s\n", err);
        goto out;
    }
    a.net = s;
    srv_set_body_limit(s, app_body_limit);
    running = s;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    app_log("info", "event=listening addr=%s:%u server=\"%s\" workers=%u", host, srv_port(s),
            a.server_name, lim.workers);
    rc = srv_run(s) == 0 ? 0 : 1;
    running = NULL;
    app_log("info", "event=exit");
out:
    srv_free(s);
    px_tls_server_free(tls);
    if (app_ok)
        app_close(&a);
    free(crt);
    free(key);
    free(ca);
    return rc;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: patrold --data DIR COMMAND\n\n"
               "  init [--name NAME]                          keys, certificates, database\n"
               "  serve --listen HOST:PORT [--workers N]      run the collection server\n"
               "  device add --name NAME --department CODE [--valid-days N]\n"
               "                                              prints a one-time enrolment token\n"
               "  device revoke ID                            refuse a device from now on\n"
               "  device list [--json]                        devices and what the server holds\n"
               "  lists import FILE                           three lists, leaflets, roster (JSON)\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *data = getenv("PATROLD_DATA");
    int i = 1;
    /* Keys, the database (ID numbers, confidential fields) and evidence are
     * for the server's user only, whatever the caller's umask. */
    umask(077);
    if (argc >= 3 && strcmp(argv[1], "--data") == 0) {
        data = argv[2];
        i = 3;
    }
    if (i < argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0))
        return usage(stdout);
    if (i >= argc || !data || !*data)
        return usage(stderr);
    if (strcmp(argv[i], "init") == 0)
        return cmd_init(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "serve") == 0)
        return cmd_serve(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "lists") == 0)
        return cmd_lists_import(data, argc - i - 1, argv + i + 1);
    if (strcmp(argv[i], "device") == 0 && i + 1 < argc) {
        if (strcmp(argv[i + 1], "add") == 0)
            return cmd_device_add(data, argc - i - 2, argv + i + 2);
        if (strcmp(argv[i + 1], "revoke") == 0)
            return cmd_device_revoke(data, argc - i - 2, argv + i + 2);
        if (strcmp(argv[i + 1], "list") == 0)
            return cmd_device_list(data, argc - i - 2, argv + i + 2);
    }
    fprintf(stderr, "patrold: unknown command '%s'\n", argv[i]);
    return usage(stderr);
}
