/* app_enroll.c -- POST /v1/enroll (docs/protocol.md "Enrolment"): a
 * one-time token and a certificate request give a pending device its
 * certificate from the device CA, in one transaction with the token's use
 * and the enrolment's leaf in the server log; the same terminal asking
 * again gets its certificate again. Throttled per address. Moved from
 * app.c, behaviour unchanged. */
#include "app_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patrol.pb-c.h"
#include "slog.h"
#include "tls.h"

static int ct_equal(const uint8_t *x, const uint8_t *y, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

void app_enroll_handle(app *a, const srv_request *rq, srv_response *rs)
{
    Patrol__V1__EnrollRequest *req;
    Patrol__V1__EnrollResponse res = PATROL__V1__ENROLL_RESPONSE__INIT;
    st_backend *db = app_db(a);
    uint8_t id[8], secret[32], hash[PX_HASH_LEN], pub[PX_PUBKEY_MAX], key_id[PX_HASH_LEN];
    size_t idlen, secretlen, publen;
    const char *dot, *why = NULL;
    char *cert = NULL, cn[64];
    st_token tok;
    st_device dev, other;
    int rc, again = 0;
    unsigned wait_s;
    app_budget bud = {4 * rq->body_len + 16384};
    ProtobufCAllocator al = APP_BUDGET_ALLOCATOR(bud);

    /* A few tries a second from one address (net.h srv_throttle): tokens
     * cannot be guessed at the rate the server can answer. */
    if (srv_throttle(a->net, rq, &wait_s)) {
        size_t n;
        app_reply_error(a, rs, 429, "throttled", 0, "too many enrolment attempts from this "
                        "address; try again in %u s", wait_s);
        n = strlen(rs->extra_headers);
        snprintf(rs->extra_headers + n, sizeof rs->extra_headers - n, "Retry-After: %u\r\n",
                 wait_s);
        return;
    }
    if (!db)
        return app_storage_error(a, rs, NULL, "open its database");
    if (rq->body_len > 65536 ||
        !(req = patrol__v1__enroll_request__unpack(&al, rq->body_len, rq->body)))
        return app_reply_error(a, rs, 400, "bad_request", 0, "the body is not an EnrollRequest");
    dot = strchr(req->token, '.');
    if (!dot || px_base64url_decode(req->token, (size_t)(dot - req->token), id, sizeof id, &idlen) ||
        idlen != 8 ||
        px_base64url_decode(dot + 1, strlen(dot + 1), secret, sizeof secret, &secretlen) ||
        secretlen != 16) {
        app_reply_error(a, rs, 401, "token_unknown", 0, "the enrolment token is malformed");
        goto out;
    }
    if (px_csr_parse(req->csr_pem, strlen(req->csr_pem), pub, sizeof pub, &publen, &why) != 0) {
        app_reply_error(a, rs, 400, "bad_csr", 0, "certificate request: %s", why);
        goto out;
    }
    px_sha256(pub, publen, key_id);
    px_sha256(secret, 16, hash);
    /* The token first, with a read: a wrong one is refused without taking
     * the database's write lock, which ingest needs. It is read again in
     * the transaction below, where it counts. */
    rc = db->ops->token_get(db, id, &tok);
    if (rc == ST_NOTFOUND || (rc == ST_OK && !ct_equal(hash, tok.secret_hash, 32))) {
        app_reply_error(a, rs, 401, "token_unknown", 0, "no such enrolment token");
        goto out;
    }
    if (rc != ST_OK) {
        app_storage_error(a, rs, db, "read the token");
        goto out;
    }
    if (db->ops->begin(db) != ST_OK) {
        app_storage_error(a, rs, db, "start a transaction");
        goto out;
    }
    rc = db->ops->token_get(db, id, &tok);
    if (rc == ST_NOTFOUND || (rc == ST_OK && !ct_equal(hash, tok.secret_hash, 32))) {
        app_reply_error(a, rs, 401, "token_unknown", 0, "no such enrolment token");
        goto rollback;
    }
    if (rc != ST_OK) {
        app_storage_error(a, rs, db, "read the token");
        goto rollback;
    }
    if (tok.used_ms) {
        /* The same terminal asking again (its answer was lost on the way)
         * gets its certificate again; anyone else is refused. The device
         * key is also the journal's signing key, so the terminal cannot
         * simply start over with a new one. */
        if (db->ops->device_get(db, tok.device, &dev) == ST_OK && dev.status == DEV_ACTIVE &&
            memcmp(dev.key_id, key_id, PX_HASH_LEN) == 0) {
            again = 1;
        } else {
            app_reply_error(a, rs, 401, "token_used", 0, "this enrolment token was used already");
            goto rollback;
        }
    }
    if (!again && tok.expires_ms < app_now_ms()) {
        app_reply_error(a, rs, 401, "token_expired", 0, "this enrolment token has expired");
        goto rollback;
    }
    if (!again && db->ops->device_by_key(db, key_id, &other) == ST_OK) {
        app_reply_error(a, rs, 409, "key_enrolled", 0, "this device key is enrolled already as "
                                                   "device %lld", (long long)other.id);
        goto rollback;
    }
    if (!again && (db->ops->device_get(db, tok.device, &dev) != ST_OK || dev.status != DEV_PENDING)) {
        app_reply_error(a, rs, 401, "token_used", 0, "the device of this token is not awaiting "
                                                 "enrolment");
        goto rollback;
    }
    /* The journal's first entry carries the terminal's department and
     * name, and ingest refuses one that is not the enrolment's, for good:
     * refuse here instead, the token left unused, before a terminal is
     * enrolled that could never sync. (A terminal older than this field
     * sends no department; its name is still checked.) */
    if ((req->device_name[0] && strcmp(req->device_name, dev.name) != 0) ||
        (req->department[0] && strcmp(req->department, dev.department) != 0)) {
        int d = req->department[0] && strcmp(req->department, dev.department) != 0;
        app_log("warn", "event=enrol_identity_refused device=%lld field=%s terminal=\"%.60s\" "
                        "enrolled=\"%.60s\"",
                (long long)dev.id, d ? "department" : "device_name",
                d ? req->department : req->device_name, d ? dev.department : dev.name);
        app_reply_error(a, rs, 403, "identity", 0,
                        "this token is for device '%.60s' of department '%.60s'; the terminal is "
                        "'%.60s' of department '%.60s'",
                        dev.name, dev.department, req->device_name,
                        req->department[0] ? req->department : "?");
        goto rollback;
    }
    snprintf(cn, sizeof cn, "patrol-device-%lld", (long long)dev.id);
    pthread_mutex_lock(&a->sign_lock);
    rc = px_ca_issue(a->ca_key, a->ca_cert_pem, pub, publen, cn, (uint64_t)dev.id, 3650, &cert,
                     &why);
    pthread_mutex_unlock(&a->sign_lock);
    if (rc != 0) {
        app_log("error", "event=enroll_issue error=\"%s\"", why);
        app_reply_error(a, rs, 500, "issue_failed", 0, "could not issue a certificate");
        goto rollback;
    }
    if (!again && (db->ops->device_enroll(db, dev.id, pub, publen, key_id, app_now_ms()) != ST_OK ||
                   db->ops->token_use(db, id, app_now_ms()) != ST_OK ||
                   slog_enrolment(db, dev.id, key_id, app_now_ms()) != ST_OK)) {
        app_storage_error(a, rs, db, "record the enrolment");
        goto rollback;
    }
    if (db->ops->commit(db) != ST_OK) {
        app_storage_error(a, rs, db, "commit the enrolment");
        goto out;
    }
    atomic_fetch_add(&a->counters[M_ENROLMENTS], 1);
    app_log("info", "event=%s device=%lld department=%s", again ? "enrolment_repeated" : "enrolled",
            (long long)dev.id, dev.department);
    res.device.data = key_id;
    res.device.len = PX_HASH_LEN;
    res.client_cert_pem = cert;
    res.ca_cert_pem = a->ca_cert_pem;
    res.receipt_key.data = a->receipt_pub;
    res.receipt_key.len = a->receipt_pub_len;
    res.server_name = a->server_name;
    res.department = dev.department;
    app_reply_msg(rs, 200, &res.base);
    goto out;
rollback:
    db->ops->rollback(db);
out:
    free(cert);
    px_wipe(secret, sizeof secret);
    patrol__v1__enroll_request__free_unpacked(req, &al);
}
