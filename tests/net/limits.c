/* limits.c -- test_net's tests of what holds a hostile client back: a
 * slow request in flight, session resumption, the connection limits (in
 * all, per address), the header deadline, a refusal closing its
 * connection, the body budget, enrolment throttling, a stop with a
 * request in flight (the last test: it stops the server). Moved from
 * test_net.c, unchanged. */
#include "net_test.h"

static int64_t multi_until_done(CURLM *m, CURL *h, int ms, CURLcode *result)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        int running = 0, q = 0;
        CURLMsg *msg;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &q)) != NULL)
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) {
                *result = msg->data.result;
                return now_ms();
            }
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    fail_msg("transfer not done in %d ms", ms);
    return 0;
}

/* Drive m until the server has dispatched one more request. */
static void multi_until_dispatched(CURLM *m, uint64_t requests_before)
{
    int64_t end = now_ms() + 5000;
    while (stats().requests <= requests_before) {
        int running = 0;
        assert_true(now_ms() < end);
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 10, NULL);
    }
}

/* /slow in flight on one connection while others complete. */
void test_slow_inflight(void **state)
{
    membuf sbody = {0}, body = {0};
    CURLM *m = curl_multi_init();
    CURL *s = easy("/slow", &sbody, NULL);
    int64_t t0 = now_ms(), others_done, slow_done;
    CURLcode rc = CURLE_OK;
    (void)state;

    curl_multi_add_handle(m, s);
    multi_until_dispatched(m, stats().requests);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(get("/echo", &body), 200);
        mb_free(&body);
    }
    others_done = now_ms();
    slow_done = multi_until_done(m, s, 5000, &rc);
    assert_int_equal(rc, CURLE_OK);
    assert_string_equal(sbody.p, "slow done");
    assert_true(others_done < slow_done);
    assert_true(others_done - t0 < SLOW_MS - 500);
    assert_true(slow_done - t0 >= SLOW_MS);
    curl_multi_remove_handle(m, s);
    curl_easy_cleanup(s);
    curl_multi_cleanup(m);
    mb_free(&sbody);
}

/* Admission: the four workers held by /block and a fifth /block queued
 * behind them; once it has waited QUEUE_WAIT_MS, a new request is not
 * queued but answered 503 busy with a Retry-After at once, on a connection
 * that stays open; the queued one still completes, and when the queue is
 * gone requests are served again. */
void test_queue_shed(void **state)
{
    membuf sb[5] = {{0}}, body = {0}, hdrs = {0};
    CURLM *m = curl_multi_init();
    CURL *s[5], *h;
    int done = 0;
    long status = 0;
    long conns_after = -1;
    srv_stats before = stats();
    int64_t t0;
    (void)state;

    __atomic_store_n(&release_blocked, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < 5; i++) {
        s[i] = easy("/block", &sb[i], NULL);
        curl_multi_add_handle(m, s[i]);
        multi_until_dispatched(m, stats().requests);
    }
    t0 = now_ms();
    while (now_ms() - t0 < QUEUE_WAIT_MS + 300) { /* the fifth waits in the queue */
        int running = 0;
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    h = easy("/echo", &body, NULL);
    use_cert(h, path_cli_crt, path_cli_key);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hdrs);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 503);
    assert_non_null(strstr(hdrs.p, "X-Patrol-Reason: busy"));
    assert_non_null(strstr(hdrs.p, "Retry-After: "));
    assert_null(strstr(hdrs.p, "Connection: close"));
    assert_int_equal(stats().refused_queue_wait, before.refused_queue_wait + 1);
    assert_int_equal(stats().requests, before.requests + 5); /* not handed to a worker */
    __atomic_store_n(&release_blocked, 1, __ATOMIC_RELEASE);
    for (int64_t end = now_ms() + 10000; done < 5;) { /* all five, in any order */
        int running = 0, q = 0;
        CURLMsg *msg;
        assert_true(now_ms() < end);
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &q)) != NULL)
            if (msg->msg == CURLMSG_DONE) {
                assert_int_equal(msg->data.result, CURLE_OK);
                done++;
            }
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    for (int i = 0; i < 5; i++) {
        assert_string_equal(sb[i].p, "slow done");
        curl_multi_remove_handle(m, s[i]);
        curl_easy_cleanup(s[i]);
        mb_free(&sb[i]);
    }
    /* The queue is empty: the same connection is served again. */
    mb_free(&body);
    mb_free(&hdrs);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns_after);
    assert_int_equal(conns_after, 0); /* no new connection: the busy answer kept it open */
    curl_easy_cleanup(h);
    curl_multi_cleanup(m);
    mb_free(&body);
    mb_free(&hdrs);
}

/* A second handle sharing the TLS session cache resumes; the resumed
 * session keeps its client identity. (libcurl on OpenSSL resumes by
 * session id -- it disables tickets -- so this exercises the server's
 * session cache; tickets were checked by hand with openssl s_client
 * -reconnect, which uses them.) */
void test_resumption(void **state)
{
    CURLSH *sh = curl_share_init();
    membuf body = {0};
    curl_off_t c0[2], a0[2];
    srv_stats before = stats(), after;
    (void)state;

    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    for (int i = 0; i < 2; i++) {
        CURL *h = easy("/peer", &body, NULL);
        use_cert(h, path_cli_crt, path_cli_key);
        curl_easy_setopt(h, CURLOPT_SHARE, sh);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        assert_string_equal(body.p, client_id_hex);
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &c0[i]);
        curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &a0[i]);
        curl_easy_cleanup(h);
        mb_free(&body);
    }
    STAT_WAIT(handshakes_resumed, before.handshakes_resumed + 1);
    after = stats();
    assert_int_equal(after.handshakes_full, before.handshakes_full + 1);
    assert_int_equal(after.handshakes_resumed, before.handshakes_resumed + 1);
    printf("TLS handshake seen by the client (loopback): full %.2f ms, resumed %.2f ms\n",
           (double)(a0[0] - c0[0]) / 1000.0, (double)(a0[1] - c0[1]) / 1000.0);
    curl_share_cleanup(sh);
}

/* Sockets that never send a request, from many addresses, fill the
 * server: each new connection drops the oldest of them, so a client with
 * a request is served while they are all still held. */
void test_max_connections(void **state)
{
    enum { N = MAX_CONNS + 6 };
    int fds[N], n = 0, closed = 0;
    srv_stats before = stats(), after;
    membuf body = {0};
    (void)state;

    for (int i = 0; i < N; i++) {
        fds[n] = tcp_connect_from(2 + i % 4); /* 4 addresses: within PER_PEER each */
        assert_true(fds[n] >= 0);
        n++;
    }
    sleep_ms(300);
    assert_int_equal(get("/echo", &body), 200); /* the silent ones still open */
    mb_free(&body);
    for (int i = 0; i < n; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        char b;
        if (poll(&p, 1, 0) == 1 && recv(fds[i], &b, 1, 0) <= 0)
            closed++;
    }
    after = stats();
    assert_true(closed >= 7); /* 6 over the limit, one for the GET */
    /* each closed one counted once: dropped for room, or refused (over the
     * total, or over what connections without a certificate may hold) */
    assert_int_equal(after.connections_evicted + after.connections_refused + after.refused_unauth,
                     before.connections_evicted + before.connections_refused +
                         before.refused_unauth + (uint64_t)closed);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    sleep_ms(100);
}

/* One address holds PER_PEER connections at most; another is served. */
void test_per_peer(void **state)
{
    enum { N = PER_PEER + 4 };
    int fds[N], closed = 0;
    srv_stats before = stats();
    membuf body = {0};
    (void)state;

    for (int i = 0; i < N; i++)
        assert_true((fds[i] = tcp_connect_from(9)) >= 0);
    sleep_ms(300);
    for (int i = 0; i < N; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        char b;
        if (poll(&p, 1, 0) == 1 && recv(fds[i], &b, 1, 0) <= 0)
            closed++;
    }
    assert_int_equal(closed, N - PER_PEER);
    /* counted as over the per-address cap (/metrics per_peer_limit), not
     * as over the total */
    assert_int_equal(stats().refused_per_peer, before.refused_per_peer + (N - PER_PEER));
    assert_int_equal(stats().connections_refused, before.connections_refused);
    assert_int_equal(get("/echo", &body), 200);
    mb_free(&body);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    sleep_ms(100);
}

/* Headers trickled a byte at a time get a 408 at header_timeout_ms, well
 * before the request timeout; a TLS connection that sends nothing after
 * its handshake is closed at the same deadline, not the idle one. */
void test_header_deadline(void **state)
{
    char buf[1024];
    CURL *slow = raw_connect(), *silent = raw_connect();
    int64_t t0 = now_ms();
    size_t n;
    (void)state;

    raw_send(slow, "GET /echo HTTP/1.1\r\nX-Pad: ", 28);
    while (now_ms() - t0 < HEADER_TIMEOUT_MS + 300) {
        CURLcode rc;
        size_t sent = 0;
        rc = curl_easy_send(slow, "a", 1, &sent);
        if (rc != CURLE_OK && rc != CURLE_AGAIN)
            break;
        if (raw_wait(slow, POLLIN, 100) == 1)
            break;
    }
    n = raw_recv_all(slow, buf, sizeof buf, 3000);
    assert_true(n > 13);
    assert_memory_equal(buf, "HTTP/1.1 408 ", 13);
    assert_true(now_ms() - t0 >= HEADER_TIMEOUT_MS - 100);
    assert_true(now_ms() - t0 < REQUEST_TIMEOUT_MS + 500);
    n = raw_recv_all(silent, buf, sizeof buf, 3000);
    assert_int_equal(n, 0);
    assert_true(now_ms() - t0 < HEADER_TIMEOUT_MS + 2500); /* not the 5 s idle timeout */
    curl_easy_cleanup(slow);
    curl_easy_cleanup(silent);
}

/* A refused request without a client certificate ends its connection;
 * with one, the connection is kept for the next request. */
void test_refusal_closes(void **state)
{
    static const char req[] = "GET /deny HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[1024];
    CURL *h = raw_connect();
    int64_t t0 = now_ms();
    membuf body = {0}, trace = {0};
    (void)state;

    raw_send(h, req, sizeof req - 1);
    (void)raw_recv_all(h, buf, sizeof buf, 3000);
    assert_memory_equal(buf, "HTTP/1.1 401 ", 13);
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    assert_true(now_ms() - t0 < 2000); /* closed by the server, not by the wait */
    curl_easy_cleanup(h);

    h = easy("/deny", &body, &trace);
    use_cert(h, path_cli_crt, path_cli_key);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_int_equal(status_of(h), 401);
    assert_non_null(strstr(trace.p, "Connection: keep-alive"));
    curl_easy_cleanup(h);
    mb_free(&body);
    mb_free(&trace);
}

/* Bodies in memory share BUDGET: while one 3 MiB upload is held, a 2 MiB
 * one is answered 503 with Retry-After before its body is read; once the
 * first is done, the second goes through. */
void test_body_budget(void **state)
{
    char head[256], buf[2048];
    CURL *big = raw_connect(), *second = raw_connect();
    size_t len = 3 * MIB, n;
    char *body = malloc(len);
    srv_stats before = stats();
    (void)state;

    assert_non_null(body);
    memset(body, 'b', len);
    n = (size_t)snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                              "Content-Length: %zu\r\n\r\n", len);
    raw_send(big, head, n);
    raw_send(big, body, len - 10);
    sleep_ms(200);
    n = (size_t)snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                              "Content-Length: %zu\r\n\r\n", 2 * MIB);
    raw_send(second, head, n);
    (void)raw_recv_all(second, buf, sizeof buf, 3000);
    assert_memory_equal(buf, "HTTP/1.1 503 ", 13);
    assert_non_null(strstr(buf, "Retry-After: "));
    assert_int_equal(STAT_WAIT(refused_busy, before.refused_busy + 1), before.refused_busy + 1);
    raw_send(big, body + len - 10, 10);
    n = raw_recv_all(big, buf, 14, 3000);
    assert_memory_equal(buf, "HTTP/1.1 200 ", 13);
    curl_easy_cleanup(big);
    curl_easy_cleanup(second);
    second = raw_connect();
    raw_send(second, head, strlen(head));
    raw_send(second, body, 2 * MIB);
    n = raw_recv_all(second, buf, 14, 3000);
    assert_memory_equal(buf, "HTTP/1.1 200 ", 13);
    curl_easy_cleanup(second);
    free(body);
}

/* srv_throttle: throttle_burst tries at once from one address, then
 * refused with a wait; another address is not affected. */
void test_throttle(void **state)
{
    srv_request a = {.peer_addr = "10.1.2.3:4000"}, b = {.peer_addr = "[2001:db8::1]:5"};
    srv_request a2 = {.peer_addr = "10.1.2.3:4001"};
    unsigned retry = 0;
    (void)state;

    for (int i = 0; i < 5; i++)
        assert_int_equal(srv_throttle(server, i % 2 ? &a2 : &a, &retry), 0);
    assert_int_equal(srv_throttle(server, &a, &retry), 1);
    assert_true(retry >= 1 && retry <= 2);
    assert_int_equal(srv_throttle(server, &b, &retry), 0);
    assert_int_equal(srv_throttle(NULL, &a, &retry), 0);
}

/* srv_stop from a signal handler while /slow runs: its response is still
 * written (with Connection: close), then srv_run returns and the port is
 * closed. */
void test_stop_inflight(void **state)
{
    membuf sbody = {0}, trace = {0};
    CURLM *m = curl_multi_init();
    CURL *s = easy("/slow", &sbody, &trace);
    CURLcode rc = CURLE_OK;
    int64_t t_stop;
    (void)state;

    curl_multi_add_handle(m, s);
    multi_until_dispatched(m, stats().requests);
    t_stop = now_ms();
    raise(SIGUSR1);
    multi_until_done(m, s, 5000, &rc);
    assert_int_equal(rc, CURLE_OK);
    assert_int_equal(status_of(s), 200);
    assert_string_equal(sbody.p, "slow done");
    assert_non_null(strstr(trace.p, "Connection: close"));
    pthread_join(server_thread, NULL);
    server_running = 0;
    assert_true(server_returned_at - t_stop < SLOW_MS + 2500);
    assert_int_equal(tcp_connect(), -1);
    curl_multi_remove_handle(m, s);
    curl_easy_cleanup(s);
    curl_multi_cleanup(m);
    mb_free(&sbody);
    mb_free(&trace);
}
