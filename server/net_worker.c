/* net_worker.c -- patrold's handler threads (net.h): a complete request
 * becomes a job on the FIFO the workers take from, the handler runs on a
 * worker, the finished job comes back through a mutex-protected list and
 * one byte on the wake-up pipe, and the loop writes its response (logging
 * the security refusals among them). Only the loop thread touches a conn;
 * a job points to its conn, which stays DISPATCHED until the loop takes
 * the job back.
 *
 * Admission: while the oldest queued job has waited more than
 * max_queue_wait_ms, a new request is not queued behind it but answered
 * 503 busy with a Retry-After from the queue's length and the handlers'
 * recent time (net_dispatch). A terminal that waits that long comes back
 * to a shorter queue; one left queued would time out on its side while
 * the server still did the work, then send it again.
 */
#include "net_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void net_job_free(job *j)
{
    if (!j)
        return;
    free(j->rs.body);
    free(j->hdrs);
    free(j->strings);
    free(j->body);
    if (j->body_reserved)
        net_budget_give(j->s, j->body_reserved);
    free(j);
}

void *net_worker_main(void *arg)
{
    srv *s = arg;
    for (;;) {
        job *j;
        int64_t t0;
        double took;
        pthread_mutex_lock(&s->mu);
        while (!s->q_head && !s->quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->quit) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        j = s->q_head;
        s->q_head = j->next;
        if (!s->q_head)
            s->q_tail = NULL;
        s->q_len--;
        pthread_mutex_unlock(&s->mu);

        j->next = NULL;
        t0 = net_now_ms();
        s->handler(s->ud, &j->rq, &j->rs);
        took = (double)(net_now_ms() - t0);

        pthread_mutex_lock(&s->mu);
        s->svc_ms = s->svc_ms > 0 ? s->svc_ms + (took - s->svc_ms) / 16 : took + 1e-3;
        if (s->d_tail)
            s->d_tail->next = j;
        else
            s->d_head = j;
        s->d_tail = j;
        pthread_mutex_unlock(&s->mu);
        net_wake(s);
    }
}

/* Hand the complete request of c to the workers. */
void net_dispatch(conn *c, int64_t now)
{
    srv *s = c->s;
    struct http_parser_url u;
    const char *url = c->arena + c->url_off;
    size_t path_len, query_len, strings_len;
    job *j;
    char *p;

    http_parser_url_init(&u);
    if (c->url_off >= c->arena_len ||
        http_parser_parse_url(url, strlen(url), 0, &u) != 0 || !(u.field_set & (1 << UF_PATH))) {
        net_respond_error(c, 400, "bad request target", now);
        return;
    }
    path_len = u.field_data[UF_PATH].len;
    if (!(path_len == 8 && memcmp(url + u.field_data[UF_PATH].off, "/healthz", 8) == 0)) {
        int64_t waited = 0;
        size_t queued;
        double svc;
        pthread_mutex_lock(&s->mu);
        if (s->q_head)
            waited = now - s->q_head->queued_ms;
        queued = s->q_len;
        svc = s->svc_ms;
        pthread_mutex_unlock(&s->mu);
        if (waited > (int64_t)s->lim.max_queue_wait_ms) {
            /* What the queue holds, spread over the workers; 1..60 s. */
            double wait_s = (double)queued * svc / (s->n_workers ? s->n_workers : 1) / 1000.0;
            unsigned retry = wait_s < 1 ? 1 : wait_s > 60 ? 60 : (unsigned)(wait_s + 0.999);
            net_respond_busy(c, retry, waited, queued, now);
            return;
        }
    }
    query_len = (u.field_set & (1 << UF_QUERY)) ? u.field_data[UF_QUERY].len : 0;
    strings_len = c->arena_len + path_len + query_len + 2;

    if (!(j = calloc(1, sizeof *j)) || !(j->strings = malloc(strings_len)) ||
        (c->n_hdrs && !(j->hdrs = calloc(c->n_hdrs, sizeof *j->hdrs)))) {
        net_job_free(j);
        net_log("error", "out_of_memory", c->peer, "cannot queue request", NULL);
        net_conn_kill(c);
        return;
    }
    memcpy(j->strings, c->arena, c->arena_len);
    p = j->strings + c->arena_len;
    memcpy(p, url + u.field_data[UF_PATH].off, path_len);
    p[path_len] = '\0';
    j->rq.path = p;
    p += path_len + 1;
    if (query_len)
        memcpy(p, url + u.field_data[UF_QUERY].off, query_len);
    p[query_len] = '\0';
    j->rq.query = p;
    for (size_t i = 0; i < c->n_hdrs; i++) {
        char *name = j->strings + c->hname[i];
        for (char *q = name; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        j->hdrs[i].name = name;
        j->hdrs[i].value = c->hval[i] == NO_VALUE ? "" : j->strings + c->hval[i];
    }
    j->rq.headers = j->hdrs;
    j->rq.n_headers = c->n_hdrs;
    j->rq.method = http_method_str((enum http_method)c->hp.method);
    j->s = s;
    j->body = c->body; /* moved, with its share of the budget */
    j->body_reserved = c->body_reserved;
    c->body_reserved = 0;
    c->nreq++;
    j->rq.body = j->body ? j->body : (const uint8_t *)"";
    j->rq.body_len = c->body_len;
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    if (c->has_peer) {
        memcpy(j->peer_id, c->peer_id, sizeof j->peer_id);
        j->rq.peer_key_id = j->peer_id;
    }
    memcpy(j->peer, c->peer, sizeof j->peer);
    j->rq.peer_addr = j->peer;
    j->rs.status = 500;
    j->keep_alive = http_should_keep_alive(&c->hp) && !c->hp.upgrade;
    j->head_only = c->hp.method == HTTP_HEAD;
    j->c = c;

    c->st = ST_DISPATCHED;
    c->deadline = 0;
    c->ready = 0;
    STAT_ADD(s, requests, 1);

    pthread_mutex_lock(&s->mu);
    j->queued_ms = now;
    if (s->q_tail)
        s->q_tail->next = j;
    else
        s->q_head = j;
    s->q_tail = j;
    s->q_len++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* The code of a refusal: X-Patrol-Reason's value from the response's
 * extra headers, or "" (at most cap - 1 bytes). */
static void reason_of(const char *extra, char *out, size_t cap)
{
    static const char name[] = "X-Patrol-Reason: ";
    const char *p = strstr(extra, name);
    size_t n = 0;
    if (p)
        for (p += sizeof name - 1; n + 1 < cap && *p && *p != '\r' && *p != '\n'; p++)
            out[n++] = *p;
    out[n] = '\0';
}

/* A handler finished: write its response on the job's connection. */
static void complete(srv *s, job *j, int64_t now)
{
    conn *c = j->c;
    srv_response *rs = &j->rs;
    int status = rs->status, close_conn;
    size_t elen = strnlen(rs->extra_headers, sizeof rs->extra_headers), olen;
    const char *extra = rs->extra_headers;
    uint8_t *out;

    if (status < 200 || status > 599 || elen == sizeof rs->extra_headers) {
        net_log("error", "handler_bug", c->peer, "bad status or unterminated extra_headers",
                  "status=%d path=%s", status, j->rq.path);
        status = 500;
        extra = "";
        rs->body_len = 0;
    }
    if (!rs->body)
        rs->body_len = 0;
    {
        char code[40];
        reason_of(extra, code, sizeof code);
        if (status == 401 || status == 403 || status == 429 || strstr(code, "quota"))
            net_log_refusal(s, "refused", c->peer, code[0] ? code : "refused", NULL,
                            "status=%d method=%s path=%s cert=%s", status, j->rq.method,
                            j->rq.path, c->has_peer ? "yes" : "no");
    }
    if (s->access_log)
        net_log("info", "access", c->peer, NULL,
                "method=%s path=%.200s status=%d bytes=%zu ms=%lld cert=%s", j->rq.method,
                j->rq.path, status, rs->body_len, (long long)(now - c->req_start),
                c->has_peer ? "yes" : "no");
    /* A refused request without a certificate ends its connection: it
     * cannot hold a slot by asking again and again. */
    close_conn = !j->keep_alive || rs->close || s->stopping || (!c->has_peer && status >= 400);
    out = net_format_response(status, rs->content_type, extra, rs->body, rs->body_len, close_conn,
                          j->head_only, &olen);
    if (!out) {
        net_log("error", "response_failed", c->peer, "response head too long or no memory",
                  "status=%d", status);
        net_conn_kill(c);
        return;
    }
    net_start_write(c, out, olen, close_conn ? AW_CLOSE : AW_NEXT_REQUEST, now);
}


void net_take_completed(srv *s, int64_t now)
{
    job *list;
    char buf[256];

    while (read(s->wake_r, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&s->mu);
    list = s->d_head;
    s->d_head = s->d_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (list) {
        job *j = list;
        list = j->next;
        complete(s, j, now);
        net_job_free(j);
    }
}
