/* fx_server.c -- the patrold application the fuzz harnesses talk to (see
 * fx_server.h). */
#include "fx_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage.h"
#include "tls.h"
#include "validate.h"

static fx_server fx;
static int fx_ready;
static uint8_t *template_db;
static size_t template_len;

_Noreturn static void die(const char *what, const char *why)
{
    fprintf(stderr, "fx_server: %s: %s\n", what, why ? why : "failed");
    abort();
}

uint8_t fx_evidence_byte(size_t i)
{
    return (uint8_t)((i * 31u + (i >> 8)) & 0xff);
}

static void path_in(char *out, size_t n, const char *name)
{
    if ((size_t)snprintf(out, n, "%s/%s", fx.dir, name) >= n)
        die(name, "path too long");
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[1024];

    if (!d) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static srv *fx_net;
static px_tls_server *fx_tls;

static void cleanup(void)
{
    if (fx_net) {
        srv_free(fx_net);
        px_tls_server_free(fx_tls);
    }
    if (fx_ready) {
        app_close(&fx.a);
        px_key_free(fx.devkey);
        rm_tree(fx.dir);
        free(template_db);
    }
}

static void make_key(const char *name, px_key **out)
{
    char path[512];
    const char *why = NULL;
    px_key *k = NULL;

    path_in(path, sizeof path, name);
    if (px_key_generate(&k, &why) != 0 || px_key_save_private(k, path, &why) != 0)
        die(name, why);
    if (out)
        *out = k;
    else
        px_key_free(k);
}

static void read_all(const char *path, uint8_t **buf, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    size_t got = 0;

    if (fd < 0 || fstat(fd, &st) != 0 || !(*buf = malloc((size_t)st.st_size + 1)))
        die(path, strerror(errno));
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            die(path, "short read");
        got += (size_t)r;
    }
    close(fd);
    *len = got;
}

static void write_all(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t off = 0;

    if (fd < 0)
        die(path, strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w <= 0)
            die(path, "short write");
        off += (size_t)w;
    }
    close(fd);
}

static void build(void)
{
    const char *base = getenv("TMPDIR"), *why = NULL;
    char path[512], err[256], *pem = NULL;
    px_key *ca = NULL, *srvk = NULL;
    st_backend *db;
    uint8_t pub[PX_PUBKEY_MAX], digest[PX_HASH_LEN], ev[FX_EVIDENCE_LEN];
    size_t publen;
    struct stat st;

    if (!base || !*base)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(fx.dir, sizeof fx.dir, "%s/patrol-fuzz-XXXXXX", base);
    if (!mkdtemp(fx.dir))
        die(fx.dir, strerror(errno));
    fx_ready = 1;
    atexit(cleanup);
    path_in(path, sizeof path, "evidence");
    if (mkdir(path, 0700) != 0)
        die(path, strerror(errno));
    path_in(path, sizeof path, "evidence/partial");
    if (mkdir(path, 0700) != 0)
        die(path, strerror(errno));
    make_key("server.key", &srvk);
    if (px_x509_self_signed(srvk, "patrold", 3650, 0, &pem, &why) != 0)
        die("server.crt", why);
    path_in(path, sizeof path, "server.crt");
    write_all(path, (const uint8_t *)pem, strlen(pem));
    free(pem);
    pem = NULL;
    px_key_free(srvk);
    make_key("receipt.key", NULL);
    make_key("ca.key", &ca);
    if (px_x509_self_signed(ca, "patrold device CA", 3650, 1, &pem, &why) != 0)
        die("ca.crt", why);
    path_in(path, sizeof path, "ca.crt");
    write_all(path, (const uint8_t *)pem, strlen(pem));
    free(pem);
    px_key_free(ca);

    if (px_key_generate(&fx.devkey, &why) != 0)
        die("device key", why);
    if (px_key_public_der(fx.devkey, pub, sizeof pub, &publen) != 0 ||
        px_key_id(fx.devkey, fx.key_id) != 0)
        die("device key", "no public key");
    px_format_hex(pub, publen, fx.pub_hex);
    for (size_t i = 0; i < FX_EVIDENCE_LEN; i++)
        ev[i] = fx_evidence_byte(i);
    px_sha256(ev, sizeof ev, digest);
    px_format_hex(digest, PX_HASH_LEN, fx.evidence_sha);

    path_in(path, sizeof path, "patrold.db");
    if (!(db = st_sqlite_open(path, ST_OPEN_CREATE, err, sizeof err)))
        die("patrold.db", err);
    if (db->ops->meta_set(db, "server_name", "fuzz") != ST_OK ||
        db->ops->device_add(db, FX_DEVICE_NAME, FX_DEPARTMENT, 1, &fx.dev_id) != ST_OK ||
        db->ops->device_enroll(db, fx.dev_id, pub, publen, fx.key_id, 2) != ST_OK ||
        db->ops->evidence_expect(db, fx.evidence_sha, FX_EVIDENCE_LEN, fx.dev_id) != ST_OK)
        die("patrold.db", db->ops->errmsg(db));
    db->ops->close(db);
    read_all(path, &template_db, &template_len);
    if (app_open(&fx.a, fx.dir, err, sizeof err) != 0)
        die("app_open", err);
}

fx_server *fx_get(void)
{
    if (!fx_ready)
        build();
    return &fx;
}

void fx_reset(fx_server *f)
{
    char path[512], sub[1024];
    st_backend *db = pthread_getspecific(f->a.db_key);
    DIR *d;
    struct dirent *e;

    if (db) {
        db->ops->close(db);
        pthread_setspecific(f->a.db_key, NULL);
    }
    path_in(path, sizeof path, "patrold.db-wal");
    unlink(path);
    path_in(path, sizeof path, "patrold.db-shm");
    unlink(path);
    path_in(path, sizeof path, "patrold.db");
    write_all(path, template_db, template_len);
    path_in(path, sizeof path, "evidence/partial");
    if ((d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.') {
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                unlink(sub);
            }
        closedir(d);
    }
    snprintf(sub, sizeof sub, "evidence/%.2s", f->evidence_sha);
    path_in(path, sizeof path, sub);
    rm_tree(path);
}

int fx_request(fx_server *f, const char *method, const char *path, const srv_header *headers,
               size_t n, const uint8_t *body, size_t len, int has_cert, char *extra_out,
               size_t extra_len)
{
    srv_request rq;
    srv_response rs;
    int status;

    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    rq.method = method;
    rq.path = path;
    rq.query = "";
    rq.headers = headers;
    rq.n_headers = n;
    rq.body = body ? body : (const uint8_t *)"";
    rq.body_len = len;
    rq.peer_key_id = has_cert ? f->key_id : NULL;
    rq.peer_addr = "127.0.0.1:40000";
    rs.status = 500;
    app_handle(&f->a, &rq, &rs);
    status = rs.status;
    if (getenv("FUZZ_DEBUG"))
        fprintf(stderr, "fx_request: %s %s -> %d [%s]\n", method, path, status, rs.extra_headers);
    if (status < 200 || status > 599)
        abort();
    if (memchr(rs.extra_headers, '\0', sizeof rs.extra_headers) == NULL)
        abort();
    if (extra_out && extra_len) {
        if ((size_t)snprintf(extra_out, extra_len, "%s", rs.extra_headers) >= extra_len)
            abort();
    }
    free(rs.body);
    return status;
}

srv *fx_srv(fx_server *f)
{
    char crt[512], key[512], ca[512], err[256];
    const char *why = NULL;
    srv_limits lim;

    if (fx_net)
        return fx_net;
    path_in(crt, sizeof crt, "server.crt");
    path_in(key, sizeof key, "server.key");
    path_in(ca, sizeof ca, "ca.crt");
    if (px_tls_server_new(crt, key, ca, &fx_tls, &why) != 0)
        die("px_tls_server_new", why);
    srv_limits_default(&lim);
    lim.workers = 1;
    if (srv_create(&fx_net, "127.0.0.1", "0", fx_tls, &lim, app_handle, &f->a, err,
                   sizeof err) != 0)
        die("srv_create", err);
    srv_set_body_limit(fx_net, app_body_limit);
    f->a.net = fx_net; /* /metrics reads the front's counters */
    return fx_net;
}
