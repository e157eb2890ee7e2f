/* sync_enroll.c -- enrolment (patrol_enroll, docs/protocol.md
 * "Enrolment"): the server URL checked, the token parsed (sync_token.c), a
 * certificate request sent over the pinned connection, and the answer
 * (client certificate, device CA, receipt key) stored in one transaction;
 * STORE/client.crt written for libcurl (px_enroll_cert_file, also before
 * each sync). Moved from sync.c, behaviour unchanged. */
#include "sync_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "tls.h"
#include "validate.h"

#define CERT_NAME "client.crt"
#define CERT_MAX ((size_t)16 << 10)

/* "https://host[:port][/path]": no user info, query, fragment or escapes;
 * stored without a trailing '/'. Returns NULL or what is wrong. */
static const char *check_url(const char *url, char *out, size_t cap)
{
    size_t n;
    if (!url || strncmp(url, "https://", 8) != 0)
        return "the server URL must start with https://";
    n = strlen(url);
    while (n > 8 && url[n - 1] == '/')
        n--;
    if (n == 8 || url[8] == '/' || url[8] == ':')
        return "the server URL has no host";
    if (n > URL_MAX || n >= cap)
        return "the server URL is too long";
    for (size_t i = 8; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= ' ' || ch >= 0x7f || strchr("@?#%\\\"'<>{}|^`", ch))
            return "the server URL may hold only a host, a port and a path (no spaces, user, "
                   "query or fragment)";
    }
    memcpy(out, url, n);
    out[n] = '\0';
    return NULL;
}

/* STORE/client.crt holds the client certificate of the database for
 * libcurl; (re)written when missing or different. */
int px_enroll_cert_file(patrol *p, const char *pem, char **path_out)
{
    char *path = px_path(p, CERT_NAME), *tmp = px_path(p, CERT_NAME ".tmp");
    char *cur = NULL;
    size_t n = strlen(pem);
    int fd = -1, err = PATROL_OK, same = 0;

    *path_out = NULL;
    if (!path || !tmp || !(cur = malloc(CERT_MAX + 1))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        ssize_t r = read(fd, cur, CERT_MAX + 1);
        same = r >= 0 && (size_t)r == n && memcmp(cur, pem, n) == 0;
        close(fd);
        fd = -1;
    }
    if (same)
        goto exit;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || px_write_all(fd, pem, n) != 0 || fsync(fd) != 0) {
        err = px_fail(p, errno == ENOSPC ? PATROL_ENOSPC : PATROL_EIO,
                      _("cannot write %s: %s"), tmp, strerror(errno));
        goto exit;
    }
    if (close(fd) != 0 || (fd = -1, rename(tmp, path) != 0) || px_fsync_dir(p->dir) != 0) {
        fd = -1;
        err = px_fail(p, PATROL_EIO, _("cannot write %s: %s"), path, strerror(errno));
        goto exit;
    }
exit:
    if (fd >= 0)
        close(fd);
    if (err && tmp)
        unlink(tmp);
    free(cur);
    free(tmp);
    if (err)
        free(path);
    else
        *path_out = path;
    return err;
}

static int enroll_locked(patrol *p, const char *server_url, const char *token, unsigned flags,
                         patrol_enrolment *out)
{
    Patrol__V1__EnrollRequest rq = PATROL__V1__ENROLL_REQUEST__INIT;
    Patrol__V1__EnrollResponse *rs = NULL;
    patrol_sync_opts o;
    px_token tok;
    px_key *rk = NULL;
    conn c;
    answer a;
    request req;
    char url[URL_MAX + 1], name[256], dept[PATROL_ID_MAX], cn[32], sname[128], rdept[PATROL_ID_MAX];
    char *csr = NULL, *certpath = NULL;
    uint8_t *body = NULL, id[PX_HASH_LEN];
    const char *why;
    int64_t n = 0;
    int err, enrolled;

    memset(&c, 0, sizeof c);
    memset(&a, 0, sizeof a);
    memset(&tok, 0, sizeof tok);
    memset(&req, 0, sizeof req);
    p->errmsg[0] = '\0';
    if (out)
        memset(out, 0, sizeof *out);
    if ((why = check_url(server_url, url, sizeof url)))
        return px_fail(p, PATROL_EINVAL, "%s", why);
    if (px_token_parse(token, &tok, &why) != 0)
        return px_fail(p, PATROL_EINVAL, _("enrolment token: %s"), why);
    if ((err = px_sync_ints(p, "SELECT count(*) FROM sync_server", 0, 0, &n, 1)))
        goto exit;
    enrolled = n > 0;
    if (enrolled && !(flags & PATROL_ENROLL_FORCE)) {
        char have[URL_MAX + 1] = "";
        px_get_text(p, have, sizeof have, "SELECT url FROM sync_server", "");
        err = px_fail(p, PATROL_EEXIST,
                      _("this terminal is enrolled with %s already; enrolling again (force) "
                      "restarts sync for the new server"),
                      have);
        goto exit;
    }
    if ((err = px_get_text(p, name, sizeof name, "SELECT name FROM device", "")) ||
        (err = px_get_text(p, dept, sizeof dept, "SELECT department FROM device", "")))
        goto exit;
    snprintf(cn, sizeof cn, "patrol-%s", p->dev8);
    if (px_csr_create(p->key, cn, &csr, &why) != 0) {
        err = px_fail(p, PATROL_ECRYPTO, _("certificate request: %s"), why);
        goto exit;
    }
    rq.token = tok.id_secret;
    rq.csr_pem = csr;
    rq.device_name = name;
    rq.department = dept;
    if (!(body = malloc(patrol__v1__enroll_request__get_packed_size(&rq)))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    req.method = "POST";
    req.path = "/v1/enroll";
    req.content_type = "application/x-protobuf";
    req.body = body;
    req.body_len = patrol__v1__enroll_request__pack(&rq, body);
    req.max_answer = MAX_SMALL_ANSWER;
    req.once = 1; /* the token is used up by the server's first answer */
    /* Someone waits at the terminal: fewer tries than a sync. */
    px_sync_resolve_opts(NULL, &o);
    o.max_attempts = 4;
    o.timeout_s = 120;
    if ((err = px_http_open(&c, p, url, tok.pin, NULL, NULL, &o)))
        goto exit;
    c.enrolling = 1;
    if ((err = px_http_retry(&c, &req, &a, _("enrolling"))))
        goto exit;
    if (a.status != 200) {
        char reason[64];
        err = px_http_refusal(&c, &a, _("enrolling"), PATROL_ESERVER, reason, sizeof reason);
        if (strcmp(reason, "token_used") == 0 || strcmp(reason, "token_expired") == 0 ||
            strcmp(reason, "token_unknown") == 0)
            px_fail(p, err, _("enrolling: the server refused the token (%s): ask the station "
                            "for a new one ('patrold device add')"),
                    reason);
        else if (strcmp(reason, "identity") == 0)
            px_fail(p, err, _("enrolling: this token was issued for another device name or "
                            "department than this terminal's ('%s', %s): ask the station for a "
                            "token for this terminal ('patrold device add --name %s --department %s')"),
                    name, dept, name, dept);
        goto exit;
    }
    if (!(rs = patrol__v1__enroll_response__unpack(NULL, a.len, a.body))) {
        err = px_fail(p, PATROL_ESERVER, _("enrolling: the server's answer is not an "
                                         "EnrollResponse"));
        goto exit;
    }
    /* The answer came over the pinned connection; still, it must be for
     * this key, or the terminal could never sync with it. */
    if (rs->device.len != PX_HASH_LEN || memcmp(rs->device.data, p->device_id, PX_HASH_LEN) != 0 ||
        px_cert_key_id(rs->client_cert_pem, strlen(rs->client_cert_pem), id, &why) != 0 ||
        memcmp(id, p->device_id, PX_HASH_LEN) != 0) {
        err = px_fail(p, PATROL_ETRUST, _("enrolling: the certificate the server issued is not for "
                                        "this terminal's key"));
        goto exit;
    }
    if (strlen(rs->client_cert_pem) > CERT_MAX || strlen(rs->ca_cert_pem) > CERT_MAX ||
        px_cert_key_id(rs->ca_cert_pem, strlen(rs->ca_cert_pem), id, &why) != 0) {
        err = px_fail(p, PATROL_ESERVER, _("enrolling: the server's device CA certificate is "
                                         "unusable"));
        goto exit;
    }
    if (px_key_from_public_der(rs->receipt_key.data, rs->receipt_key.len, &rk, &why) != 0) {
        err = px_fail(p, PATROL_ESERVER, _("enrolling: the server's receipt key: %s"), why);
        goto exit;
    }
    px_http_clean(rs->server_name, sname, sizeof sname);
    if (px_check_ident(rs->department))
        snprintf(rdept, sizeof rdept, "%s", dept);
    else
        snprintf(rdept, sizeof rdept, "%s", rs->department);

    if ((err = px_begin(p)))
        goto exit;
    if ((err = px_sync_run(p, "INSERT OR REPLACE INTO sync_server(one, url, pin, client_cert, ca_cert,"
                      " receipt_key, server_name, department, enrolled_ms)"
                      " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                           "tbttbtti", url, tok.pin, (size_t)PX_HASH_LEN, rs->client_cert_pem,
                           rs->ca_cert_pem, rs->receipt_key.data, rs->receipt_key.len, sname, rdept,
                           px_sync_now_ms())) ||
        /* A new server holds nothing of this terminal yet. */
        (err = px_sync_run(p, "UPDATE sync_state SET acked_seq = 0, last_sync_ms = 0,"
                      " reference_version = 0, rejected_seq = 0, rejected_reason = '',"
                      " rejected_detail = '', cited_since = 0",
                           "")) ||
        (err = px_sync_run(p, "DELETE FROM evidence_uploaded", "")) || (err = px_commit(p))) {
        px_rollback(p);
        goto exit;
    }
    /* For libcurl; written again by patrol_sync if this fails now. */
    if (px_enroll_cert_file(p, rs->client_cert_pem, &certpath) != PATROL_OK)
        p->errmsg[0] = '\0';
    if (out) {
        px_format_hex(p->device_id, PX_HASH_LEN, out->device_id);
        snprintf(out->server_url, sizeof out->server_url, "%s", url);
        snprintf(out->server_name, sizeof out->server_name, "%s", sname);
        snprintf(out->department, sizeof out->department, "%s", rdept);
        out->department_differs = strcmp(rdept, dept) != 0;
    }
    err = PATROL_OK;
exit:
    px_http_close(&c);
    px_http_answer_free(&a);
    if (rs)
        patrol__v1__enroll_response__free_unpacked(rs, NULL);
    px_key_free(rk);
    px_wipe(&tok, sizeof tok);
    if (body)
        px_wipe(body, req.body_len); /* it holds the token's secret */
    free(csr);
    free(body);
    free(certpath);
    return err;
}

/* Enrolment and sync hold the sync lock (docs/store.md "Locks") for their
 * whole run: two at once on one store would race on client.crt and on
 * what is marked acknowledged. Recording and reading go on meanwhile. */
int patrol_enroll(patrol *p, const char *server_url, const char *token, unsigned flags,
                  patrol_enrolment *out)
{
    int err;
    p->errmsg[0] = '\0';
    if (out)
        memset(out, 0, sizeof *out);
    if ((err = px_sync_lock(p)))
        return err;
    err = enroll_locked(p, server_url, token, flags, out);
    px_sync_unlock(p);
    return err;
}
