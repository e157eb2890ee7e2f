/* net_http.c -- the HTTP/1.1 side of a patrold connection (net.h): the
 * http-parser callbacks that collect a request's line, headers and body
 * within the named limits, and the responses the loop writes by itself
 * (status lines, refusals with an Error body). Runs on the loop thread.
 */
#include "net_int.h"
#include "patrol.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return "Status";
    }
}

/* Serialize a response into a new buffer; NULL when out of memory. HEAD,
 * 1xx, 204 and 304 carry no body; 204 and 304 no Content-Length either. */
uint8_t *net_format_response(int status, const char *ctype, const char *extra,
                                const uint8_t *body, size_t blen, int close_conn,
                                int head_only, size_t *outlen)
{
    char head[1024];
    int no_len = status == 204 || status == 304;
    int hl;
    size_t send_len;
    uint8_t *out;
    char clen[48] = "";

    if (!no_len)
        (void)snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", blen);
    hl = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%s%s%s%sConnection: %s\r\n%s\r\n", status,
                  status_text(status), ctype ? "Content-Type: " : "", ctype ? ctype : "",
                  ctype ? "\r\n" : "", clen, close_conn ? "close" : "keep-alive",
                  extra ? extra : "");
    if (hl < 0 || (size_t)hl >= sizeof head)
        return NULL;
    send_len = head_only || no_len || status < 200 ? 0 : blen;
    if (!(out = malloc((size_t)hl + send_len + 1)))
        return NULL;
    memcpy(out, head, (size_t)hl);
    if (send_len)
        memcpy(out + hl, body, send_len);
    *outlen = (size_t)hl + send_len;
    return out;
}

/* Answer a request the loop refuses by itself (400, 408, 413, 417, 431)
 * and close the connection after. */
void net_respond_error(conn *c, int status, const char *reason, int64_t now)
{
    srv *s = c->s;
    /* Same shape as every other refusal (docs/protocol.md): an Error body
     * and the machine-readable reason in X-Patrol-Reason. */
    Patrol__V1__Error e = PATROL__V1__ERROR__INIT;
    uint8_t body[256];
    char hdr[96];
    const char *code;
    size_t blen, olen;
    uint8_t *out;

    switch (status) {
    case 431: STAT_ADD(s, refused_header_too_large, 1); code = "headers_too_large"; break;
    case 413: STAT_ADD(s, refused_body_too_large, 1); code = "too_large"; break;
    case 408: STAT_ADD(s, timeouts, 1); code = "timeout"; break;
    case 503: STAT_ADD(s, refused_busy, 1); code = "busy"; break;
    default: STAT_ADD(s, refused_bad_request, 1); code = "bad_http"; break;
    }
    net_log_refusal(s, "request_refused", c->peer, code, reason, "status=%d state=%s", status,
                    net_state_name[c->st]);
    e.reason = (char *)code;
    e.message = (char *)reason;
    blen = protobuf_c_message_get_packed_size(&e.base);
    if (blen > sizeof body) {
        e.message = (char *)"";
        blen = protobuf_c_message_get_packed_size(&e.base);
    }
    protobuf_c_message_pack(&e.base, body);
    snprintf(hdr, sizeof hdr, "X-Patrol-Reason: %s\r\n%s", code,
             status == 503 ? "Retry-After: " NET_BUSY_RETRY_S "\r\n" : "");
    out = net_format_response(status, "application/x-protobuf", hdr, body, blen, 1, 0, &olen);
    if (!out) {
        net_conn_kill(c);
        return;
    }
    net_start_write(c, out, olen, AW_CLOSE, now);
}

void net_respond_busy(conn *c, unsigned retry_s, int64_t waited_ms, size_t queued, int64_t now)
{
    srv *s = c->s;
    Patrol__V1__Error e = PATROL__V1__ERROR__INIT;
    uint8_t body[160];
    char hdr[96], msg[96];
    size_t blen, olen;
    uint8_t *out;
    int keep = http_should_keep_alive(&c->hp) && !c->hp.upgrade && c->has_peer && !s->stopping;

    STAT_ADD(s, refused_queue_wait, 1);
    c->nreq++; /* a request was answered: not a connection that never asked */
    net_log_refusal(s, "request_shed", c->peer, "busy", "the workers' queue is too long",
                    "waited_ms=%lld queued=%zu retry_after=%u", (long long)waited_ms, queued,
                    retry_s);
    if (s->access_log)
        net_log("info", "access", c->peer, NULL,
                "method=%s path=%.200s status=503 bytes=0 ms=%lld cert=%s",
                http_method_str((enum http_method)c->hp.method), c->arena + c->url_off,
                (long long)(now - c->req_start), c->has_peer ? "yes" : "no");
    (void)snprintf(msg, sizeof msg, "the server is busy: try again in %u s", retry_s);
    e.reason = (char *)"busy";
    e.message = msg;
    blen = protobuf_c_message_get_packed_size(&e.base);
    protobuf_c_message_pack(&e.base, body);
    (void)snprintf(hdr, sizeof hdr, "X-Patrol-Reason: busy\r\nRetry-After: %u\r\n", retry_s);
    out = net_format_response(503, "application/x-protobuf", hdr, body, blen, !keep, 0, &olen);
    if (!out) {
        net_conn_kill(c);
        return;
    }
    net_start_write(c, out, olen, keep ? AW_NEXT_REQUEST : AW_CLOSE, now);
}

/* ---- HTTP parser callbacks ------------------------------------------- */

/* Append parser data to the arena as part of token kind k. */
static int tok_append(conn *c, enum token k, const char *at, size_t n)
{
    const srv_limits *l = &c->s->lim;

    if (c->headers_done) { /* chunked trailers: counted, not kept */
        if (n > l->max_header_bytes - c->head_bytes) {
            c->err_status = 431;
            c->err_reason = "trailer section over limit";
            return -1;
        }
        c->head_bytes += n;
        return 0;
    }
    if (c->tok != k) {
        if (c->tok != TOK_NONE)
            c->arena[c->arena_len++] = '\0'; /* room reserved in arena_cap */
        if (k == TOK_FIELD) {
            if (c->n_hdrs >= l->max_headers) {
                c->err_status = 431;
                c->err_reason = "too many header fields";
                return -1;
            }
            c->hname[c->n_hdrs] = c->arena_len;
            c->hval[c->n_hdrs] = NO_VALUE;
            c->n_hdrs++;
        } else if (k == TOK_VALUE) {
            if (c->n_hdrs == 0)
                return -1;
            c->hval[c->n_hdrs - 1] = c->arena_len;
        } else {
            c->url_off = c->arena_len;
        }
        c->tok = k;
    }
    if (n > l->max_header_bytes - c->head_bytes) {
        c->err_status = 431;
        c->err_reason = "request header section over limit";
        return -1;
    }
    c->head_bytes += n;
    memcpy(c->arena + c->arena_len, at, n);
    c->arena_len += n;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    conn *c = p->data;
    c->started = 1;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    return tok_append(p->data, TOK_URL, at, n);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    return tok_append(p->data, TOK_FIELD, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    return tok_append(p->data, TOK_VALUE, at, n);
}

/* Header value by case-insensitive name, from the arena (headers done). */
static const char *arena_header(const conn *c, const char *name)
{
    for (size_t i = 0; i < c->n_hdrs; i++)
        if (strcasecmp(c->arena + c->hname[i], name) == 0)
            return c->hval[i] == NO_VALUE ? "" : c->arena + c->hval[i];
    return NULL;
}

static int on_headers_complete(http_parser *p)
{
    conn *c = p->data;
    const srv_limits *l = &c->s->lim;
    const char *expect;

    if (c->tok != TOK_NONE)
        c->arena[c->arena_len++] = '\0';
    c->tok = TOK_NONE;
    c->headers_done = 1;
    if (p->method == HTTP_CONNECT) {
        c->err_status = 400;
        c->err_reason = "CONNECT is not supported";
        return -1;
    }
    c->body_max = l->max_body_bytes;
    c->body_discard = 0;
    c->discarded = 0;
    if (c->s->body_limit && c->url_off < c->arena_len) {
        struct http_parser_url u;
        const char *url = c->arena + c->url_off;
        char path[256];
        http_parser_url_init(&u);
        if (http_parser_parse_url(url, strlen(url), 0, &u) == 0 && (u.field_set & (1 << UF_PATH)) &&
            u.field_data[UF_PATH].len < sizeof path) {
            size_t lim;
            memcpy(path, url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
            path[u.field_data[UF_PATH].len] = '\0';
            lim = c->s->body_limit(c->s->ud, http_method_str((enum http_method)p->method), path,
                                   c->has_peer);
            if (lim == 0)
                c->body_discard = 1; /* the handler refuses it without a body */
            else if (lim < c->body_max)
                c->body_max = lim;
        } else {
            c->body_discard = 1; /* dispatch answers the bad target */
        }
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->body_max) {
        c->err_status = 413;
        c->err_reason = "declared Content-Length over the body limit";
        return -1;
    }
    if (p->flags & F_CONTENTLENGTH)
        c->declared = (size_t)p->content_length;
    /* Bodies held in memory share one budget: a declared body takes its
     * share now, before "100 Continue" and before any byte of it is read,
     * so many large uploads wait their turn (503, Retry-After) instead of
     * growing the server without bound. */
    if (c->declared && !c->body_discard) {
        if (net_budget_take(c->s, c->declared) != 0) {
            c->err_status = 503;
            c->err_reason = "request bodies in memory are at the server's budget; retry later";
            return -1;
        }
        c->body_reserved = c->declared;
    }
    expect = arena_header(c, "expect");
    if (expect) {
        if (strcasecmp(expect, "100-continue") != 0) {
            c->err_status = 417;
            c->err_reason = "unsupported Expect value";
            return -1;
        }
        c->expect_continue = p->http_major == 1 && p->http_minor >= 1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    conn *c = p->data;
    size_t max = c->body_max;

    if (c->body_discard) {
        /* Read (within the limit) but never buffered. */
        if (n > max - c->discarded) {
            c->err_status = 413;
            c->err_reason = "body over limit";
            return -1;
        }
        c->discarded += n;
        return 0;
    }
    if (n > max - c->body_len) {
        c->err_status = 413;
        c->err_reason = "body over limit";
        return -1;
    }
    if (c->body_len + n > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : BODY_INITIAL;
        uint8_t *nb;
        while (cap < c->body_len + n)
            cap *= 2; /* cannot overflow: the target is at most max */
        if (cap > max)
            cap = max;
        if (c->declared && cap > c->declared) /* declared <= max, checked */
            cap = c->declared;
        if (cap > c->body_reserved) { /* chunked: the budget grows with the buffer */
            if (net_budget_take(c->s, cap - c->body_reserved) != 0) {
                c->err_status = 503;
                c->err_reason = "request bodies in memory are at the server's budget; retry later";
                return -1;
            }
            c->body_reserved = cap;
        }
        if (!(nb = realloc(c->body, cap))) {
            c->err_status = 413;
            c->err_reason = "out of memory for body";
            return -1;
        }
        c->body = nb;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, n);
    c->body_len += n;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    conn *c = p->data;
    c->msg_done = 1;
    /* Stop here: bytes of a next (pipelined) request stay in c->in until
     * this one is answered. */
    http_parser_pause(p, 1);
    return 0;
}

const http_parser_settings net_parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};
