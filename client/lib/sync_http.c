/* sync_http.c -- the HTTP layer of sync (sync_http.h): requests over one
 * pinned libcurl connection. The server is trusted through its pinned key
 * alone (CURLOPT_PINNEDPUBLICKEY): its certificate is self-signed, so chain
 * and host name checks are off and the pin is the whole trust. After
 * enrolment every request presents the client certificate and the device
 * key. Only backend-neutral libcurl options are used, so curl built on
 * mbedtls needs no change here. Every request has a connect timeout, a
 * low-speed abort and an overall timeout; retries use exponential backoff
 * with jitter, bounded in attempts and by the deadline of the whole call.
 * Moved from sync.c (2,563 lines), behaviour unchanged. */
#include "sync_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "i18n.h"
#include "patrol.pb-c.h"
#include "tls.h"
#include "validate.h"

#ifndef PATROL_VERSION_STRING
#define PATROL_VERSION_STRING "0.0.0"
#endif

#define REQUEST_MAX_MS 150000L /* one request (the server allows 120 s) */

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

void px_http_clean(const char *in, char *out, size_t cap)
{
    size_t j = 0;
    if (!cap)
        return;
    if (in && !px_check_line(in, cap - 1)) {
        snprintf(out, cap, "%s", in);
        return;
    }
    for (size_t i = 0; in && in[i] && j + 1 < cap; i++)
        out[j++] = (in[i] >= ' ' && in[i] < 0x7f) ? in[i] : '?';
    out[j] = '\0';
}

static void answer_reset(px_http_answer *a, size_t max)
{
    a->status = 0;
    a->len = 0;
    a->max = max;
    a->overflow = 0;
    a->reason[0] = '\0';
    a->upload_offset = -1;
    a->upload_length = -1;
    a->upload_complete = 0;
    a->retry_after_s = 0;
}

void px_http_answer_free(px_http_answer *a)
{
    free(a->body);
    memset(a, 0, sizeof *a);
}

static size_t write_cb(char *buf, size_t size, size_t n, void *ud)
{
    px_http_answer *a = ud;
    size_t len = size * n;
    if (len > a->max - a->len) {
        a->overflow = 1;
        return 0;
    }
    if (a->len + len > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        uint8_t *nb;
        while (cap < a->len + len)
            cap *= 2;
        if (cap > a->max)
            cap = a->max;
        if (!(nb = realloc(a->body, cap)))
            return 0;
        a->body = nb;
        a->cap = cap;
    }
    memcpy(a->body + a->len, buf, len);
    a->len += len;
    return len;
}

static size_t header_cb(char *buf, size_t size, size_t n, void *ud)
{
    px_http_answer *a = ud;
    size_t len = size * n, nl, vl;
    const char *colon, *v;
    char val[64];
    uint64_t x;

    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after an interim one): forget what came before. */
        a->reason[0] = '\0';
        a->upload_offset = a->upload_length = -1;
        a->upload_complete = 0;
        a->retry_after_s = 0;
        return len;
    }
    if (!(colon = memchr(buf, ':', len)))
        return len;
    nl = (size_t)(colon - buf);
    v = colon + 1;
    vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    if (vl >= sizeof val)
        return len;
    memcpy(val, v, vl);
    val[vl] = '\0';
#define IS(name) (nl == sizeof name - 1 && strncasecmp(buf, name, nl) == 0)
    if (IS("Upload-Offset"))
        a->upload_offset = px_parse_u64(val, 0, (uint64_t)INT64_MAX, &x) ? -2 : (int64_t)x;
    else if (IS("Upload-Length"))
        a->upload_length = px_parse_u64(val, 0, (uint64_t)INT64_MAX, &x) ? -2 : (int64_t)x;
    else if (IS("Upload-Complete"))
        a->upload_complete = strcmp(val, "1") == 0;
    else if (IS("X-Patrol-Reason"))
        px_http_clean(val, a->reason, sizeof a->reason);
    else if (IS("Retry-After")) /* seconds; an HTTP date is not used by patrold */
        a->retry_after_s = px_parse_u64(val, 1, 3600, &x) ? 0 : (unsigned)x;
#undef IS
    return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ud)
{
    px_http_body *b = ud;
    size_t want = size * n, left = b->len - b->pos;
    if (want > left)
        want = left;
    if (want == 0)
        return 0;
    if (b->mem) {
        memcpy(buf, b->mem + b->pos, want);
    } else {
        ssize_t r;
        do
            r = pread(b->fd, buf, want, (off_t)(b->off + b->pos));
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
            b->io_errno = r < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)r;
    }
    b->pos += want;
    return want;
}

/* libcurl rewinds the body when it resends on a fresh connection (a kept
 * connection the server had closed). */
static int seek_cb(void *ud, curl_off_t off, int origin)
{
    px_http_body *b = ud;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > b->len)
        return CURL_SEEKFUNC_FAIL;
    b->pos = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static int xfer_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    px_http_conn *c = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    if (c->cut_after && !c->cut_done && ulnow > 0 && c->sent + (uint64_t)ulnow >= c->cut_after) {
        c->cut_done = c->cut_now = 1;
        return 1; /* test hook: as if the link dropped here */
    }
    if (c->on_progress)
        c->on_progress(c->progress_ud, ulnow > 0 ? (uint64_t)ulnow : 0);
    return 0;
}

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (curl_easy_setopt(c->h, opt, val) != CURLE_OK)                                          \
            ok = 0;                                                                                \
    } while (0)

/* Open the handle: pinned key, timeouts, and (cert not NULL) the client
 * certificate and device key. Nothing is sent yet. */
int px_http_open(px_http_conn *c, patrol *p, const char *url, const uint8_t pin[PX_HASH_LEN],
                 const char *cert, const char *key, const patrol_sync_opts *o)
{
    char b64[64];
    int ok = 1;

    memset(c, 0, sizeof *c);
    c->p = p;
    snprintf(c->url, sizeof c->url, "%s", url);
    c->deadline = mono_ms() + (int64_t)o->timeout_s * 1000;
    c->max_attempts = o->max_attempts;
    c->backoff_ms = o->backoff_initial_ms;
    c->backoff_max_ms = o->backoff_max_ms;
    c->cut_after = o->test_cut_after_bytes;
    if (px_base64_encode(pin, PX_HASH_LEN, b64, sizeof b64) != 0)
        return px_fail(p, PATROL_EINVAL, _("cannot encode the server key pin"));
    snprintf(c->pinopt, sizeof c->pinopt, "sha256//%s", b64);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return px_fail(p, PATROL_ENOMEM, _("cannot initialise libcurl"));
    c->global = 1;
    if (!(c->h = curl_easy_init()))
        return px_fail(p, PATROL_ENOMEM, _("cannot initialise libcurl"));
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "https");
#else
    SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    /* The pin is the trust: the certificate is self-signed, so chain and
     * name checks are off, and libcurl still refuses any other key. */
    SET(CURLOPT_PINNEDPUBLICKEY, c->pinopt);
    SET(CURLOPT_SSL_VERIFYPEER, 0L);
    SET(CURLOPT_SSL_VERIFYHOST, 0L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cert) {
        SET(CURLOPT_SSLCERT, cert);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
        SET(CURLOPT_SSLKEY, key);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_s * 1000L);
    SET(CURLOPT_LOW_SPEED_LIMIT, (long)o->low_speed_bytes);
    SET(CURLOPT_LOW_SPEED_TIME, (long)o->low_speed_s);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_USERAGENT, "patrol/" PATROL_VERSION_STRING);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_READFUNCTION, read_cb);
    SET(CURLOPT_SEEKFUNCTION, seek_cb);
    SET(CURLOPT_XFERINFOFUNCTION, xfer_cb);
    SET(CURLOPT_XFERINFODATA, c);
    SET(CURLOPT_NOPROGRESS, 0L);
    if (!ok)
        return px_fail(p, PATROL_EINVAL, _("this libcurl lacks an option patrol needs (%s)"),
                       curl_version());
    return PATROL_OK;
}

void px_http_close(px_http_conn *c)
{
    if (c->h)
        curl_easy_cleanup(c->h);
    if (c->global)
        curl_global_cleanup();
    c->h = NULL;
    c->global = 0;
}

int px_http_retryable(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

/* One try of a request. PX_ATT_ANSWER: a->status holds the server's answer;
 * PX_ATT_RETRY: a transient failure described in c->why; PX_ATT_FAIL: *err
 * holds the error (already reported with px_fail). */
int px_http_attempt(px_http_conn *c, const px_http_request *rq, px_http_answer *a, int *err)
{
    char url[PX_URL_MAX + 128], line[96];
    struct curl_slist *hl = NULL, *t;
    curl_off_t up = 0, pre = 0;
    int64_t left = c->deadline - mono_ms();
    CURLcode rc;
    int ok = 1;

    answer_reset(a, rq->max_answer);
    c->timed_out = c->not_sent = c->cut_now = 0;
    c->errbuf[0] = '\0';
    px_mark(c->p, "request");
    if (left <= 0) {
        *err = px_fail(c->p, PATROL_ENET, _("gave up: the time limit of the sync is reached%s%s"),
                       c->why[0] ? "; last failure: " : "", c->why);
        return PX_ATT_FAIL;
    }
    snprintf(url, sizeof url, "%s%s", c->url, rq->path);
    if (rq->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", rq->content_type);
        if (!(t = curl_slist_append(hl, line)))
            goto nomem;
        hl = t;
    }
    /* No "Expect: 100-continue" and its 1 s wait: the body goes at once. */
    if (!(t = curl_slist_append(hl, "Expect:")))
        goto nomem;
    hl = t;
    for (int i = 0; i < 3 && rq->extra[i]; i++) {
        if (!(t = curl_slist_append(hl, rq->extra[i])))
            goto nomem;
        hl = t;
    }
    SET(CURLOPT_URL, url);
    SET(CURLOPT_HTTPHEADER, hl);
    SET(CURLOPT_TIMEOUT_MS, left < REQUEST_MAX_MS ? (long)left : REQUEST_MAX_MS);
    SET(CURLOPT_WRITEDATA, a);
    SET(CURLOPT_HEADERDATA, a);
    /* Back to a plain GET, then the method (the order matters to libcurl). */
    SET(CURLOPT_POSTFIELDS, (char *)NULL);
    SET(CURLOPT_NOBODY, 0L);
    SET(CURLOPT_UPLOAD, 0L);
    SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
    SET(CURLOPT_HTTPGET, 1L);
    if (strcmp(rq->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "POST") == 0) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        SET(CURLOPT_POSTFIELDS, (const char *)rq->body);
    } else if (strcmp(rq->method, "PATCH") == 0) {
        rq->src->pos = 0;
        rq->src->io_errno = 0;
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_CUSTOMREQUEST, "PATCH");
        SET(CURLOPT_READDATA, rq->src);
        SET(CURLOPT_SEEKDATA, rq->src);
        SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->src->len);
    }
    if (!ok) {
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
        curl_slist_free_all(hl);
        *err = px_fail(c->p, PATROL_EINVAL, _("libcurl refused an option for %s %s"), rq->method,
                       rq->path);
        return PX_ATT_FAIL;
    }
    rc = curl_easy_perform(c->h);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_slist_free_all(hl);
    curl_easy_getinfo(c->h, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(c->h, CURLINFO_PRETRANSFER_TIME_T, &pre);
    if (up > 0)
        c->sent += (uint64_t)up;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &a->status);
        return PX_ATT_ANSWER;
    }
    switch (rc) {
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        *err = px_fail(c->p, PATROL_ETRUST,
                       c->enrolling ? _("the server at %s does not hold the pinned key: it is not "
                                        "the server the token names")
                                    : _("the server at %s does not hold the pinned key: it is not "
                                        "the server this terminal enrolled with"),
                       c->url);
        return PX_ATT_FAIL;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
        *err = px_fail(c->p, PATROL_ECRYPTO,
                       _("the client certificate or the device key cannot be used: %s"),
                       c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        return PX_ATT_FAIL;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        *err = px_fail(c->p, PATROL_EINVAL, _("the server URL %s cannot be used: %s"), c->url,
                       c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        return PX_ATT_FAIL;
    case CURLE_OUT_OF_MEMORY:
        *err = px_fail(c->p, PATROL_ENOMEM, _("out of memory"));
        return PX_ATT_FAIL;
    case CURLE_WRITE_ERROR:
        *err = a->overflow ? px_fail(c->p, PATROL_ESERVER,
                                     _("the server's answer to %s %s is larger than %zu bytes"),
                                     rq->method, rq->path, rq->max_answer)
                           : px_fail(c->p, PATROL_ENOMEM, _("out of memory"));
        return PX_ATT_FAIL;
    default:
        break;
    }
    if (rq->src && rq->src->io_errno) {
        *err = px_fail(c->p, PATROL_EIO, _("reading evidence from the store: %s"),
                       strerror(rq->src->io_errno));
        return PX_ATT_FAIL;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK && c->cut_now) {
        snprintf(c->why, sizeof c->why, "%s %s: link cut by the test hook", rq->method, rq->path);
    } else {
        snprintf(c->why, sizeof c->why, "%s %s: %s%s%s", rq->method, rq->path,
                 curl_easy_strerror(rc), c->errbuf[0] ? ": " : "", c->errbuf);
    }
    c->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    c->not_sent = up == 0 && (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
                              rc == CURLE_COULDNT_RESOLVE_PROXY ||
                              rc == CURLE_SSL_CONNECT_ERROR ||
                              (rc == CURLE_OPERATION_TIMEDOUT && pre == 0));
    return PX_ATT_RETRY;
nomem:
    curl_slist_free_all(hl);
    *err = px_fail(c->p, PATROL_ENOMEM, _("out of memory"));
    return PX_ATT_FAIL;
}

#undef SET

/* Wait before trying again; *tries counts the tries made. Exponential
 * backoff with jitter (a random delay in [d/2, d]). PATROL_ENET once the
 * tries or the time are used up. */
int px_http_backoff(px_http_conn *c, unsigned *tries, const px_http_answer *a, const char *what)
{
    uint64_t d = c->backoff_ms;
    uint32_t rnd = 0;

    if (a && (a->status == 503 || a->status == 429) && a->retry_after_s) {
        d = (uint64_t)a->retry_after_s * 1000;
        (void)px_random(&rnd, sizeof rnd);
        d += rnd % (d / 2 + 1);
        if (mono_ms() + (int64_t)d >= c->deadline)
            return px_fail(c->p, PATROL_ENET,
                           _("%s: gave up (the time limit of the sync is reached); last "
                           "failure: %s"),
                           what, c->why);
        sleep_ms((int64_t)d);
        return PATROL_OK;
    }
    if (++*tries >= c->max_attempts)
        return px_fail(c->p, PATROL_ENET, _("%s: gave up after %u tries; last failure: %s"), what,
                       *tries, c->why);
    for (unsigned i = 1; i < *tries && d < c->backoff_max_ms; i++)
        d *= 2;
    if (d > c->backoff_max_ms)
        d = c->backoff_max_ms;
    (void)px_random(&rnd, sizeof rnd);
    d = d / 2 + rnd % (d / 2 + 1);
    if (mono_ms() + (int64_t)d >= c->deadline)
        return px_fail(c->p, PATROL_ENET,
                       _("%s: gave up (the time limit of the sync is reached); last failure: %s"),
                       what, c->why);
    sleep_ms((int64_t)d);
    c->retries++;
    return PATROL_OK;
}

/* A request, repeated after network errors and 5xx answers. PATROL_OK:
 * a->status is the server's final answer (2xx, 3xx or 4xx). */
int px_http_retry(px_http_conn *c, const px_http_request *rq, px_http_answer *a,
                  const char *what)
{
    unsigned tries = 0;
    int err = PATROL_OK;
    for (;;) {
        int k = px_http_attempt(c, rq, a, &err);
        if (k == PX_ATT_FAIL)
            return err;
        if (k == PX_ATT_ANSWER && !px_http_retryable(a->status))
            return PATROL_OK;
        if (k == PX_ATT_ANSWER)
            snprintf(c->why, sizeof c->why, "%s %s: the server answered %ld%s%s", rq->method,
                     rq->path, a->status, a->reason[0] ? " " : "", a->reason);
        else if (rq->once && !c->not_sent)
            return px_fail(c->p, PATROL_ENET,
                           _("%s: the link failed after the request was sent (%s); if trying "
                           "again says token_used, ask for a new token"),
                           what, c->why);
        if ((err = px_http_backoff(c, &tries, k == PX_ATT_ANSWER ? a : NULL, what)))
            return err;
    }
}

/* A refusal (4xx): the reason from the Error body or the X-Patrol-Reason
 * header, and the server's sentence. reason_out (may be NULL) receives the
 * reason. Returns err. */
int px_http_refusal(px_http_conn *c, const px_http_answer *a, const char *what, int err,
                    char *reason_out, size_t reason_len)
{
    Patrol__V1__Error *e = NULL;
    char reason[64], msg[300];

    if (a->len > 0 && a->len <= PX_MAX_SMALL_ANSWER)
        e = patrol__v1__error__unpack(NULL, a->len, a->body);
    px_http_clean(e && e->reason[0] ? e->reason : a->reason, reason, sizeof reason);
    px_http_clean(e ? e->message : "", msg, sizeof msg);
    if (e)
        patrol__v1__error__free_unpacked(e, NULL);
    if (reason_out)
        snprintf(reason_out, reason_len, "%s", reason);
    if (a->status == 401 || a->status == 403)
        return px_fail(c->p, err, _("%s: the server refused this terminal (%ld %s)%s%s"), what,
                       a->status, reason[0] ? reason : "no reason given", msg[0] ? ": " : "",
                       msg);
    return px_fail(c->p, err, _("%s: the server refused (%ld %s)%s%s"), what, a->status,
                   reason[0] ? reason : "no reason given", msg[0] ? ": " : "", msg);
}

