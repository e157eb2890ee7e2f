/* fuzz_http.c -- libFuzzer harness for patrold's HTTP side (server/
 * net_http.c): the http-parser callbacks that collect a request's line,
 * headers and body within the named limits (header bytes and count, body
 * limit per route, the body budget, Expect), the refusals the loop writes
 * itself (net_respond_error), and, for a request that completes, the
 * application's answer (app_handle, server/app.c) as net.c would hand it
 * over. The bytes are what a TLS connection would yield; the connection is
 * one of a real srv (fx_srv: srv_create with the default limits), driven
 * here the way net.c's parse_buffered and dispatch drive it (both static
 * there, so their few lines are mirrored below).
 *
 * Byte 0: bits 0-5 pick the size of the pieces the input arrives in (0:
 * all at once, else 1..63 bytes, so every state of the parser meets a
 * piece boundary); bit 6: the client presented the enrolled device's
 * certificate; bit 7: hand complete requests to the application (else
 * only parse). The rest: the bytes of one or more pipelined requests (at
 * most 4 are handled).
 *
 * Checks beyond sanitizers: the header arena and the header count stay
 * within the limits; a body never outgrows its limit nor the budget it
 * reserved; a refusal is a complete response with a 4xx/5xx status line;
 * a complete request has a non-empty path; a Content-Length body is handed
 * over whole; the body budget is back to zero after every input.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fx_server.h"
#include "net_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 4

static conn *conn_new(srv *s, int has_peer, const uint8_t *key_id)
{
    conn *c = calloc(1, sizeof *c);

    if (!c)
        abort();
    c->s = s;
    c->fd = -1;
    c->pe = -1;
    snprintf(c->peer, sizeof c->peer, "127.0.0.1:40000");
    c->arena_cap = s->lim.max_header_bytes + s->lim.max_headers * 2 + 2;
    if (!(c->arena = malloc(c->arena_cap)) ||
        !(c->hname = calloc(s->lim.max_headers, sizeof *c->hname)) ||
        !(c->hval = calloc(s->lim.max_headers, sizeof *c->hval)))
        abort();
    if (has_peer) {
        memcpy(c->peer_id, key_id, sizeof c->peer_id);
        c->has_peer = 1;
    }
    return c;
}

/* As net.c's request_reset: ready for the next request. */
static void request_reset(conn *c)
{
    if (c->body_reserved) {
        net_budget_give(c->s, c->body_reserved);
        c->body_reserved = 0;
    }
    http_parser_init(&c->hp, HTTP_REQUEST);
    c->hp.data = c;
    c->arena_len = c->head_bytes = c->url_off = c->n_hdrs = 0;
    c->tok = TOK_NONE;
    c->headers_done = c->msg_done = c->expect_continue = c->continue_sent = 0;
    c->err_status = 0;
    c->err_reason = NULL;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = c->declared = c->discarded = 0;
    c->body_discard = 0;
    c->st = ST_READ_HEAD;
}

static void conn_done(conn *c)
{
    request_reset(c);
    free(c->arena);
    free(c->hname);
    free(c->hval);
    free(c->body);
    free(c->out);
    free(c);
}

static void check_limits(const conn *c)
{
    const srv_limits *l = &c->s->lim;

    if (c->arena_len > c->arena_cap || c->n_hdrs > l->max_headers ||
        c->head_bytes > l->max_header_bytes)
        abort();
    if (c->body_len > c->body_cap || (c->body_cap && c->body_len > c->body_max))
        abort();
    if (!c->body_discard && c->body_cap > c->body_reserved)
        abort(); /* a body buffer beyond what it took from the budget */
    if (c->body_discard && (c->body || c->discarded > c->body_max))
        abort();
}

static int has_blank_line(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(b + i, "\r\n\r\n", 4) == 0)
            return 1;
    return 0;
}

/* The refusal net_respond_error queued: a whole response, 4xx or 5xx. */
static void check_refusal(const conn *c)
{
    if (c->st != ST_WRITE || !c->out || c->out_len < 12 || c->after != AW_CLOSE ||
        memcmp(c->out, "HTTP/1.1 ", 9) != 0 || (c->out[9] != '4' && c->out[9] != '5') ||
        !has_blank_line(c->out, c->out_len))
        abort();
}

/* As net.c's dispatch, then the handler, then the response. Returns 0 to
 * go on with the next request, -1 when the connection would close. */
static int handle(fx_server *f, conn *c, int call_app)
{
    struct http_parser_url u;
    const char *url = c->arena + c->url_off;
    char *strings, *p, path[2048];
    srv_header hdrs[128];
    srv_request rq;
    srv_response rs;
    size_t path_len, query_len, olen;
    uint8_t *out;
    int keep;

    http_parser_url_init(&u);
    if (c->url_off >= c->arena_len ||
        http_parser_parse_url(url, strlen(url), 0, &u) != 0 || !(u.field_set & (1 << UF_PATH))) {
        net_respond_error(c, 400, "bad request target", 0);
        check_refusal(c);
        return -1;
    }
    path_len = u.field_data[UF_PATH].len;
    query_len = (u.field_set & (1 << UF_QUERY)) ? u.field_data[UF_QUERY].len : 0;
    if (path_len >= sizeof path || c->n_hdrs > sizeof hdrs / sizeof hdrs[0])
        abort(); /* the header limit keeps both far below */
    if (!(strings = malloc(c->arena_len + path_len + query_len + 2)))
        abort();
    memcpy(strings, c->arena, c->arena_len);
    p = strings + c->arena_len;
    memcpy(p, url + u.field_data[UF_PATH].off, path_len);
    p[path_len] = '\0';
    memset(&rq, 0, sizeof rq);
    rq.path = p;
    p += path_len + 1;
    if (query_len)
        memcpy(p, url + u.field_data[UF_QUERY].off, query_len);
    p[query_len] = '\0';
    rq.query = p;
    /* http-parser takes targets like "*v1/batches" as a path: the routes
     * compare whole paths, so such a path is only ever "not found". */
    if (rq.path[0] == '\0')
        abort();
    for (size_t i = 0; i < c->n_hdrs; i++) {
        char *name = strings + c->hname[i];
        for (char *q = name; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        hdrs[i].name = name;
        hdrs[i].value = c->hval[i] == NO_VALUE ? "" : strings + c->hval[i];
    }
    rq.headers = hdrs;
    rq.n_headers = c->n_hdrs;
    rq.method = http_method_str((enum http_method)c->hp.method);
    rq.body = c->body ? c->body : (const uint8_t *)"";
    rq.body_len = c->body_len;
    rq.peer_key_id = c->has_peer ? c->peer_id : NULL;
    rq.peer_addr = c->peer;
    memset(&rs, 0, sizeof rs);
    rs.status = 500;
    if (call_app) {
        fx_reset(f);
        app_handle(&f->a, &rq, &rs);
    } else {
        rs.status = 204;
    }
    if (rs.status < 200 || rs.status > 599 ||
        !memchr(rs.extra_headers, '\0', sizeof rs.extra_headers))
        abort();
    keep = http_should_keep_alive(&c->hp) && !c->hp.upgrade && !rs.close;
    out = net_format_response(rs.status, rs.content_type, rs.extra_headers, rs.body,
                              rs.body ? rs.body_len : 0, !keep, c->hp.method == HTTP_HEAD, &olen);
    if (out && (olen < 12 || memcmp(out, "HTTP/1.1 ", 9) != 0))
        abort();
    free(out);
    free(rs.body);
    free(strings);
    return keep ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fx_server *f = fx_get();
    srv *s = fx_srv(f);
    size_t piece, off = 0, requests = 0;
    unsigned mode;
    conn *c;

    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    size--;
    piece = mode & 63 ? mode & 63 : size;
    c = conn_new(s, (mode & 64) != 0, f->key_id);
    request_reset(c);
    while (off < size && requests < MAX_REQUESTS) {
        size_t n = size - off < piece ? size - off : piece, used;
        enum http_errno e;

        used = http_parser_execute(&c->hp, &net_parser_settings, (const char *)data + off, n);
        check_limits(c);
        e = HTTP_PARSER_ERRNO(&c->hp);
        if (e != HPE_OK && e != HPE_PAUSED) {
            int status = c->err_status ? c->err_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
            net_respond_error(c, status, c->err_reason ? c->err_reason : http_errno_description(e),
                              0);
            check_refusal(c);
            break;
        }
        off += used > n ? n : used;
        if (c->msg_done) {
            requests++;
            if (c->declared && !c->body_discard && c->body_len != c->declared)
                abort(); /* a Content-Length body handed over short or long */
            if (handle(f, c, (mode & 128) != 0) != 0)
                break;
            request_reset(c);
            continue;
        }
        if (used < n && e != HPE_PAUSED)
            abort(); /* the parser stopped without an error or a message */
    }
    conn_done(c);
    if (atomic_load(&s->body_used) != 0)
        abort(); /* the body budget leaked */
    return 0;
}
