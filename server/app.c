/* app.c -- patrold's request handling (docs/protocol.md): routing
 * (app_handle, app_body_limit), the responses every route uses, the
 * per-worker storage handle, the logger and set-up (app_open, app_close).
 * Runs on the worker threads of net.c; each worker has its own storage
 * handle. The routes are in their own files (app_int.h lists them):
 * enrolment, durable idempotent ingest with signed receipts, resumable
 * evidence upload (evidence.c), reference data and citations, the server
 * log, metrics. */
#include "app_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evidence.h"
#include "frame.h"
#include "patrol.pb-c.h"
#include "slog.h"

int64_t app_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void app_log(const char *level, const char *fmt, ...)
{
    /* The network front's logger (net.c): one write(2) a line, millisecond
     * UTC, control characters replaced; the event is in fmt. */
    va_list ap;
    va_start(ap, fmt);
    srv_vlog(level, fmt, ap);
    va_end(ap);
}

static void db_destroy(void *p)
{
    st_backend *b = p;
    if (b)
        b->ops->close(b);
}

st_backend *app_db(app *a)
{
    st_backend *b = pthread_getspecific(a->db_key);
    char err[256];
    if (b)
        return b;
    if (!(b = st_sqlite_open(a->db_path, 0, err, sizeof err))) {
        app_log("error", "event=storage_open error=\"%s\"", err);
        return NULL;
    }
    pthread_setspecific(a->db_key, b);
    return b;
}

static void count_refusal(app *a, const char *reason)
{
    pthread_mutex_lock(&a->refusal_lock);
    for (size_t i = 0; i < sizeof a->refusals / sizeof a->refusals[0]; i++) {
        if (a->refusals[i].reason[0] == '\0')
            snprintf(a->refusals[i].reason, sizeof a->refusals[i].reason, "%s", reason);
        if (strcmp(a->refusals[i].reason, reason) == 0) {
            a->refusals[i].count++;
            break;
        }
    }
    pthread_mutex_unlock(&a->refusal_lock);
}

/* ---- responses -------------------------------------------------------- */
void app_set_body(srv_response *rs, int status, const char *type, uint8_t *body, size_t len)
{
    rs->status = status;
    rs->content_type = type;
    rs->body = body;
    rs->body_len = len;
}

void app_reply_msg(srv_response *rs, int status, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        rs->status = 503;
        return;
    }
    protobuf_c_message_pack(m, b);
    app_set_body(rs, status, "application/x-protobuf", b, n);
}

void app_reply_verror(app *a, srv_response *rs, int status, const char *reason,
                      uint64_t expected, const char *fmt, va_list ap)
{
    Patrol__V1__Error e = PATROL__V1__ERROR__INIT;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    e.reason = (char *)reason;
    e.message = msg;
    e.expected_seq = expected;
    app_reply_msg(rs, status, &e.base);
    snprintf(rs->extra_headers, sizeof rs->extra_headers, "X-Patrol-Reason: %s\r\n", reason);
    count_refusal(a, reason);
}

void app_reply_error(app *a, srv_response *rs, int status, const char *reason,
                     uint64_t expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    app_reply_verror(a, rs, status, reason, expected, fmt, ap);
    va_end(ap);
}

void app_storage_error(app *a, srv_response *rs, st_backend *db, const char *what)
{
    app_log("error", "event=storage what=%s error=\"%s\"", what, db ? db->ops->errmsg(db) : "");
    app_reply_error(a, rs, 503, "storage", 0, "the server could not %s; try again", what);
}

/* protobuf-c allocates per message and per unknown field: an allocator
 * with a byte budget (a small multiple of the input) stops a small body
 * from unpacking into gigabytes before any count can be checked. */
void *app_budget_alloc(void *d, size_t n)
{
    app_budget *b = d;
    if (n > b->left)
        return NULL;
    b->left -= n;
    return malloc(n);
}

void app_budget_free(void *d, void *p)
{
    (void)d;
    free(p);
}

/* ---- routing ---------------------------------------------------------- */

size_t app_body_limit(void *ud, const char *method, const char *path, int has_client_cert)
{
    (void)ud;
    if (strcmp(path, "/v1/enroll") == 0 && strcmp(method, "POST") == 0)
        return 64 * 1024;
    if (!has_client_cert)
        return 0; /* everything else is for enrolled devices */
    if (strcmp(path, "/v1/batches") == 0 && strcmp(method, "POST") == 0)
        return PX_FRAME_MAX_COMPRESSED + 4096;
    if (strncmp(path, "/v1/evidence/", 13) == 0 && strcmp(method, "PATCH") == 0)
        return APP_MAX_PATCH_BYTES + 65536; /* an LZ4 frame of a full chunk */
    return 0;
}

static void route(app *a, const srv_request *rq, srv_response *rs)
{
    st_backend *db;
    st_device dev;
    int rc;

    /* For the station's supervision (systemd, a load balancer, Prometheus's
     * blackbox): no certificate needed, nothing said but the state. */
    if ((strcmp(rq->path, "/healthz") == 0 || strcmp(rq->path, "/readyz") == 0) &&
        (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0))
        return app_metrics_health(a, rs, rq->path[1] == 'r');
    if (strcmp(rq->path, "/metrics") == 0 && strcmp(rq->method, "GET") == 0) {
        /* Operational data for the station's own monitoring: loopback only
         * (scrape through a local agent or an SSH tunnel). */
        if (strncmp(rq->peer_addr, "127.", 4) != 0 && strncmp(rq->peer_addr, "[::1]", 5) != 0 &&
            strncmp(rq->peer_addr, "::1", 3) != 0)
            return app_reply_error(a, rs, 403, "forbidden", 0, "/metrics is served to loopback only");
        return app_metrics_handle(a, rs);
    }
    if (strcmp(rq->path, "/v1/enroll") == 0) {
        if (strcmp(rq->method, "POST") != 0)
            return app_reply_error(a, rs, 405, "method_not_allowed", 0, "use POST");
        return app_enroll_handle(a, rq, rs);
    }
    if (strncmp(rq->path, "/v1/", 4) != 0)
        return app_reply_error(a, rs, 404, "not_found", 0, "no such endpoint");

    /* Everything else needs an enrolled, active device. */
    if (!rq->peer_key_id)
        return app_reply_error(a, rs, 401, "no_client_cert", 0,
                               "a client certificate from this server's device CA is required");
    if (!(db = app_db(a)))
        return app_storage_error(a, rs, NULL, "open its database");
    rc = db->ops->device_by_key(db, rq->peer_key_id, &dev);
    if (rc == ST_NOTFOUND)
        return app_reply_error(a, rs, 403, "unknown_device", 0, "this certificate's key is not an "
                                                            "enrolled device");
    if (rc != ST_OK)
        return app_storage_error(a, rs, db, "look up the device");
    if (dev.status == DEV_REVOKED)
        return app_reply_error(a, rs, 403, "revoked", 0, "device %lld is revoked", (long long)dev.id);

    if (strcmp(rq->path, "/v1/batches") == 0) {
        if (strcmp(rq->method, "POST") != 0)
            return app_reply_error(a, rs, 405, "method_not_allowed", 0, "use POST");
        return app_ingest_batch(a, &dev, rq, rs);
    }
    if (strncmp(rq->path, "/v1/evidence/", 13) == 0) {
        if (strcmp(rq->method, "HEAD") != 0 && strcmp(rq->method, "PATCH") != 0)
            return app_reply_error(a, rs, 405, "method_not_allowed", 0, "use HEAD or PATCH");
        return ev_handle(a, &dev, rq, rs, rq->path + 13);
    }
    if (strcmp(rq->path, "/v1/reference") == 0 && strcmp(rq->method, "GET") == 0)
        return app_reference_handle(a, &dev, rq, rs);
    if (strcmp(rq->path, "/v1/citations") == 0 && strcmp(rq->method, "GET") == 0)
        return app_reference_citations(a, rq, rs);
    if (strncmp(rq->path, "/v1/log/", 8) == 0 && strcmp(rq->method, "GET") == 0)
        return app_slog_handle(a, rq, rs);
    app_reply_error(a, rs, 404, "not_found", 0, "no such endpoint");
}

void app_handle(void *ud, const srv_request *rq, srv_response *rs)
{
    app *a = ud;
    route(a, rq, rs);
    app_metrics_count(a, rq, rs->status);
}

/* ---- set-up ----------------------------------------------------------- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
        if (fread(s, 1, (size_t)n, f) != (size_t)n) {
            free(s);
            s = NULL;
        } else {
            s[n] = '\0';
        }
    }
    fclose(f);
    return s;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

int app_device_revoke(st_backend *db, int64_t id)
{
    int rc = db->ops->begin(db);
    if (rc != ST_OK)
        return rc;
    rc = db->ops->device_revoke(db, id);
    if (rc == ST_OK)
        rc = slog_revocation(db, id, app_now_ms());
    if (rc == ST_OK)
        rc = db->ops->commit(db);
    if (rc != ST_OK)
        db->ops->rollback(db);
    return rc;
}

int app_open(app *a, const char *data_dir, char *err, size_t errlen)
{
    char *path = NULL;
    const char *why = NULL;
    st_backend *db;

    memset(a, 0, sizeof *a);
    a->started_ms = app_now_ms();
    pthread_mutex_init(&a->refusal_lock, NULL);
    pthread_mutex_init(&a->sign_lock, NULL);
    for (int i = 0; i < 64; i++)
        pthread_mutex_init(&a->evidence_locks[i], NULL);
    pthread_key_create(&a->db_key, db_destroy);
    a->data_dir = strdup(data_dir);
    a->db_path = join(data_dir, "patrold.db");
    if (!a->data_dir || !a->db_path)
        goto nomem;
    path = join(data_dir, "receipt.key");
    if (!path || px_key_load_private(path, &a->receipt_key, &why) != 0) {
        snprintf(err, errlen, "receipt key %s: %s (run 'patrold init')", path ? path : "",
                 why ? why : "out of memory");
        goto fail;
    }
    free(path);
    path = join(data_dir, "ca.key");
    if (!path || px_key_load_private(path, &a->ca_key, &why) != 0) {
        snprintf(err, errlen, "device CA key: %s", why ? why : "out of memory");
        goto fail;
    }
    free(path);
    path = join(data_dir, "ca.crt");
    if (!path || !(a->ca_cert_pem = read_text(path))) {
        snprintf(err, errlen, "cannot read %s", path ? path : "ca.crt");
        goto fail;
    }
    free(path);
    path = NULL;
    if (px_key_public_der(a->receipt_key, a->receipt_pub, sizeof a->receipt_pub,
                          &a->receipt_pub_len) != 0) {
        snprintf(err, errlen, "receipt key unusable");
        goto fail;
    }
    if (!(db = app_db(a))) {
        snprintf(err, errlen, "cannot open %s", a->db_path);
        goto fail;
    }
    if (db->ops->meta_get(db, "server_name", a->server_name, sizeof a->server_name) != ST_OK)
        snprintf(a->server_name, sizeof a->server_name, "patrold");
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    free(path);
    app_close(a);
    return -1;
}

void app_close(app *a)
{
    st_backend *db;
    ev_stop(a);
    db = pthread_getspecific(a->db_key);
    if (db) {
        db->ops->close(db);
        pthread_setspecific(a->db_key, NULL);
    }
    px_key_free(a->receipt_key);
    px_key_free(a->ca_key);
    free(a->ca_cert_pem);
    free(a->data_dir);
    free(a->db_path);
    a->receipt_key = a->ca_key = NULL;
    a->ca_cert_pem = a->data_dir = a->db_path = NULL;
}
