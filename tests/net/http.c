/* http.c -- test_net's tests of TLS, certificates and HTTP: base64,
 * X.509 refusals, TLS 1.2 and the key pin, client certificates,
 * keep-alive, Expect: 100-continue, 413, 431, 400, plain TCP, a slow
 * client. Moved from test_net.c, unchanged. */
#include "net_test.h"

/* base64 and base64url round trips, and the strict decoder's refusals. */
void test_base64(void **state)
{
    uint8_t in[40], out[40];
    char enc[64];
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 37 + 250);
    for (size_t len = 0; len <= sizeof in; len++) {
        assert_int_equal(px_base64_encode(in, len, enc, sizeof enc), 0);
        assert_int_equal(strlen(enc), px_base64_encoded_size(len) - 1);
        assert_int_equal(px_base64_decode(enc, strlen(enc), out, sizeof out, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(in, out, len);
        assert_int_equal(px_base64url_encode(in, len, enc, sizeof enc), 0);
        assert_null(strchr(enc, '='));
        assert_null(strchr(enc, '+'));
        assert_null(strchr(enc, '/'));
        assert_int_equal(px_base64url_decode(enc, strlen(enc), out, sizeof out, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(in, out, len);
    }
    assert_int_equal(px_base64_encode("foob", 4, enc, sizeof enc), 0);
    assert_string_equal(enc, "Zm9vYg==");
    assert_int_equal(px_base64_encode("foob", 4, enc, 8), -1); /* no room for NUL */
    assert_int_equal(px_base64_decode("Zm9vYg", 6, out, sizeof out, &n), -1);   /* unpadded */
    assert_int_equal(px_base64_decode("Zm9vYh==", 8, out, sizeof out, &n), -1); /* bits */
    assert_int_equal(px_base64_decode("Zm9v Yg=", 8, out, sizeof out, &n), -1);
    assert_int_equal(px_base64_decode("Zm9vYg==", 8, out, 3, &n), -1); /* cap */
    assert_int_equal(px_base64url_decode("Zm9vYg", 6, out, sizeof out, &n), 0);
    assert_int_equal(px_base64url_decode("Zm9vYg==", 8, out, sizeof out, &n), 0);
    assert_int_equal(px_base64url_decode("Zm9vY", 5, out, sizeof out, &n), -1);
    assert_int_equal(px_base64url_decode("+/", 2, out, sizeof out, &n), -1);
}

/* CSR and issuing refuse what they must. */
void test_x509_refusals(void **state)
{
    px_key *k = NULL, *pubonly = NULL;
    char *pem = NULL, *ca = NULL;
    uint8_t pub[PX_PUBKEY_MAX];
    size_t publen;
    const char *why = NULL;
    (void)state;

    assert_int_equal(px_key_generate(&k, &why), 0);
    assert_int_equal(px_x509_self_signed(k, "bad,cn", 1, 0, &pem, &why), -1);
    assert_null(pem);
    assert_int_equal(px_x509_self_signed(k, "ok", 0, 0, &pem, &why), -1);
    assert_int_equal(px_csr_create(k, "terminal", &pem, &why), 0);
    /* A byte flipped inside the signed part: the self-signature fails. */
    {
        char *p = strstr(pem, "\n") + 30;
        *p = *p == 'A' ? 'B' : 'A';
        assert_int_equal(px_csr_parse(pem, strlen(pem), pub, sizeof pub, &publen, &why), -1);
    }
    free(pem);
    assert_int_equal(px_csr_parse("garbage", 7, pub, sizeof pub, &publen, &why), -1);
    /* Issuing with a non-CA certificate, or a key that is not the CA's. */
    assert_int_equal(px_x509_self_signed(k, "leaf", 1, 0, &ca, &why), 0);
    assert_int_equal(px_key_public_der(k, pub, sizeof pub, &publen), 0);
    assert_int_equal(px_ca_issue(k, ca, pub, publen, "dev", 1, 1, &pem, &why), -1);
    assert_string_equal(why, "issuer certificate is not a CA");
    free(ca);
    assert_int_equal(px_x509_self_signed(k, "ca", 1, 1, &ca, &why), 0);
    assert_int_equal(px_ca_issue(k, ca, pub, publen, "dev", 0, 1, &pem, &why), -1);
    assert_int_equal(px_key_from_public_der(pub, publen, &pubonly, &why), 0);
    assert_int_equal(px_ca_issue(pubonly, ca, pub, publen, "dev", 1, 1, &pem, &why), -1);
    {
        px_key *other = NULL;
        assert_int_equal(px_key_generate(&other, &why), 0);
        assert_int_equal(px_ca_issue(other, ca, pub, publen, "dev", 1, 1, &pem, &why), -1);
        assert_string_equal(why, "CA key does not match the CA certificate");
        px_key_free(other);
    }
    /* Far validity still round-trips (GeneralizedTime after 2049). */
    assert_int_equal(px_ca_issue(k, ca, pub, publen, "dev", UINT64_MAX, PX_CERT_DAYS_MAX, &pem,
                                 &why), 0);
    {
        uint8_t a[PX_HASH_LEN], b[PX_HASH_LEN];
        assert_int_equal(px_cert_key_id(pem, strlen(pem), a, &why), 0);
        assert_int_equal(px_key_id(k, b), 0);
        assert_memory_equal(a, b, PX_HASH_LEN);
    }
    free(pem);
    free(ca);
    px_key_free(pubonly);
    px_key_free(k);
}

/* TLS 1.2 is what gets negotiated, with an ECDHE-ECDSA AEAD suite; a
 * TLS 1.3-only client is refused; the key pin is checked. */
void test_tls12_and_pin(void **state)
{
    membuf body = {0}, trace = {0};
    CURL *h;
    CURLcode rc;
    srv_stats before = stats();
    (void)state;

    h = easy("/echo?x=1", &body, &trace);
    rc = curl_easy_perform(h);
    assert_int_equal(rc, CURLE_OK);
    assert_int_equal(status_of(h), 200);
    assert_string_equal(body.p, "method=GET path=/echo query=x=1 len=0 sha=e3b0c44298fc1c14 xtest=-");
    assert_non_null(strstr(trace.p, "X-Echo: yes"));
    if (strncmp(curl_version_info(CURLVERSION_NOW)->ssl_version, "OpenSSL", 7) == 0) {
        assert_non_null(strstr(trace.p, "SSL connection using TLSv1.2 / ECDHE-ECDSA-"));
        assert_true(strstr(trace.p, "GCM") || strstr(trace.p, "CHACHA20"));
    }
    curl_easy_cleanup(h);
    mb_free(&body);
    mb_free(&trace);

    h = easy("/echo", NULL, NULL);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    assert_int_not_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);

    h = easy("/echo", NULL, NULL);
    curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY,
                     "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_int_equal(curl_easy_perform(h), CURLE_SSL_PINNEDPUBKEYNOTMATCH);
    curl_easy_cleanup(h);

    /* The TLS 1.3-only client; the pin failure is the client's own. */
    assert_true(STAT_WAIT(handshakes_failed, before.handshakes_failed + 1) >=
                before.handshakes_failed + 1);
    assert_int_equal(get("/echo", &body), 200); /* still serving */
    mb_free(&body);
}

/* The client certificate maps to the device id; none gives NULL; one from
 * another CA fails the handshake. */
void test_client_certs(void **state)
{
    membuf body = {0};
    CURL *h;
    srv_stats before;
    (void)state;

    h = easy("/peer", &body, NULL);
    use_cert(h, path_cli_crt, path_cli_key);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_string_equal(body.p, client_id_hex);
    curl_easy_cleanup(h);
    mb_free(&body);

    assert_int_equal(get("/peer", &body), 200);
    assert_string_equal(body.p, "none");
    mb_free(&body);

    before = stats();
    h = easy("/peer", &body, NULL);
    use_cert(h, path_for_crt, path_for_key);
    assert_int_not_equal(curl_easy_perform(h), CURLE_OK);
    assert_null(body.p);
    curl_easy_cleanup(h);
    assert_int_equal(STAT_WAIT(handshakes_failed, before.handshakes_failed + 1),
                     before.handshakes_failed + 1);
    assert_int_equal(stats().requests, before.requests);
}

/* Several requests on one connection; Connection: close is honoured. */
void test_keepalive(void **state)
{
    membuf body = {0};
    CURL *h = easy("/echo", &body, NULL);
    long conns = -1;
    (void)state;

    use_cert(h, path_cli_crt, path_cli_key); /* a refusal without one closes */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        assert_int_equal(status_of(h), 200);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
        assert_int_equal(conns, i == 0 ? 1 : 0);
    }
    /* A handler status other than 200 keeps a device's connection too. */
    {
        char url[96];
        (void)snprintf(url, sizeof url, "https://127.0.0.1:%u/missing", srv_port(server));
        curl_easy_setopt(h, CURLOPT_URL, url);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        assert_int_equal(status_of(h), 404);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
        assert_int_equal(conns, 0);
        (void)snprintf(url, sizeof url, "https://127.0.0.1:%u/close", srv_port(server));
        curl_easy_setopt(h, CURLOPT_URL, url);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
        assert_int_equal(conns, 0);
        (void)snprintf(url, sizeof url, "https://127.0.0.1:%u/echo", srv_port(server));
        curl_easy_setopt(h, CURLOPT_URL, url);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
        assert_int_equal(conns, 1); /* the server closed after /close */
    }
    curl_easy_cleanup(h);
    mb_free(&body);
}

/* A 2 MiB POST: curl sends Expect: 100-continue and must not sit out its
 * 1 s wait; the body arrives intact. */
void test_post_expect_continue(void **state)
{
    size_t n = 2 * MIB;
    char *data = malloc(n), want[96], sha[17];
    uint8_t h32[PX_HASH_LEN];
    membuf body = {0}, trace = {0};
    CURL *h;
    int64_t t0;
    (void)state;

    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    px_sha256(data, n, h32);
    hex(h32, 8, sha);
    (void)snprintf(want, sizeof want, "method=POST path=/up query= len=%zu sha=%s xtest=-", n, sha);

    h = easy("/up", &body, &trace);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    t0 = now_ms();
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    printf("2 MiB POST with Expect: 100-continue: %lld ms\n", (long long)(now_ms() - t0));
    assert_true(now_ms() - t0 < 900);
    assert_int_equal(status_of(h), 200);
    assert_non_null(strstr(trace.p, "Expect: 100-continue"));
    assert_non_null(strstr(trace.p, "HTTP/1.1 100 Continue"));
    assert_string_equal(body.p, want);
    curl_easy_cleanup(h);
    mb_free(&body);
    mb_free(&trace);
    free(data);
}

static size_t read_x(char *buf, size_t size, size_t nmemb, void *ud)
{
    size_t *left = ud, n = size * nmemb;
    if (n > *left)
        n = *left;
    memset(buf, 'x', n);
    *left -= n;
    return n;
}

/* Bodies over the limit: a declared length gets 413 before the body is
 * sent; a chunked body gets 413 when it crosses the limit. */
void test_413(void **state)
{
    size_t n = 4 * MIB, left;
    char *data = calloc(1, n);
    membuf body = {0};
    CURL *h;
    curl_off_t up = 0;
    int64_t t0;
    srv_stats before = stats();
    struct curl_slist *hdrs = NULL;
    (void)state;

    assert_non_null(data);
    h = easy("/up", &body, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    t0 = now_ms();
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_true(now_ms() - t0 < 900);
    assert_int_equal(status_of(h), 413);
    curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
    assert_true(up < (curl_off_t)MIB); /* the body was not sent */
    curl_easy_cleanup(h);
    mb_free(&body);
    free(data);

    left = n;
    h = easy("/up", &body, NULL);
    hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_x);
    curl_easy_setopt(h, CURLOPT_READDATA, &left);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_int_equal(status_of(h), 413);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    mb_free(&body);
    assert_int_equal(STAT_WAIT(refused_body_too_large, before.refused_body_too_large + 2),
                     before.refused_body_too_large + 2);
    assert_int_equal(stats().requests, before.requests);
}

/* Oversized header section, and too many header fields: 431. */
void test_431(void **state)
{
    size_t n = 2 * HEADER_LIMIT;
    char *big = malloc(n + 16);
    membuf body = {0};
    struct curl_slist *hdrs = NULL;
    CURL *h;
    srv_stats before = stats();
    (void)state;

    assert_non_null(big);
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'b', n);
    big[7 + n] = '\0';
    hdrs = curl_slist_append(hdrs, big);
    h = easy("/echo", &body, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_int_equal(status_of(h), 431);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    mb_free(&body);

    hdrs = NULL;
    for (int i = 0; i < 80; i++) {
        char line[32];
        (void)snprintf(line, sizeof line, "X-H%d: v", i);
        hdrs = curl_slist_append(hdrs, line);
    }
    h = easy("/echo", &body, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_int_equal(status_of(h), 431);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    mb_free(&body);
    free(big);
    assert_int_equal(STAT_WAIT(refused_header_too_large, before.refused_header_too_large + 2),
                     before.refused_header_too_large + 2);

    /* Within limits, header names and an empty value reach the handler. */
    hdrs = curl_slist_append(NULL, "X-Test: hello");
    hdrs = curl_slist_append(hdrs, "X-Empty;");
    h = easy("/echo", &body, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_int_equal(status_of(h), 200);
    assert_non_null(strstr(body.p, "xtest=hello"));
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    mb_free(&body);
}

/* Garbage over TLS: 400 with Connection: close, then the server closes. */
void test_400_garbage(void **state)
{
    char buf[2048];
    CURL *h = raw_connect();
    srv_stats before = stats();
    (void)state;

    {
        static const char junk[] = "\x01\x02 NOT HTTP\r\n\r\n";
        raw_send(h, junk, sizeof junk - 1);
    }
    raw_recv_all(h, buf, sizeof buf, 3000);
    assert_memory_equal(buf, "HTTP/1.1 400 ", 13);
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    assert_non_null(strstr(buf, "Content-Length: "));
    curl_easy_cleanup(h);
    assert_int_equal(STAT_WAIT(refused_bad_request, before.refused_bad_request + 1),
                     before.refused_bad_request + 1);

    /* Pipelined requests on one connection are answered in order. */
    h = raw_connect();
    {
        static const char three[] =
            "GET /echo?n=1 HTTP/1.1\r\nHost: t\r\n\r\n"
            "POST /echo?n=2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
            "GET /close HTTP/1.1\r\nHost: t\r\n\r\n";
        raw_send(h, three, sizeof three - 1);
    }
    raw_recv_all(h, buf, sizeof buf, 3000);
    {
        char *a = strstr(buf, "query=n=1 len=0"), *b = strstr(buf, "query=n=2 len=3"),
             *c = strstr(buf, "path=/close");
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        assert_true(a < b && b < c);
    }
    curl_easy_cleanup(h);
}

/* A plain TCP client speaking HTTP to the TLS port fails the handshake;
 * nothing HTTP comes back; the server keeps serving. */
void test_plain_tcp(void **state)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[256];
    membuf body = {0};
    int fd = tcp_connect();
    srv_stats before = stats();
    struct pollfd p;
    ssize_t n = -1;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(send(fd, req, sizeof req - 1, 0), (ssize_t)sizeof req - 1);
    p.fd = fd;
    p.events = POLLIN;
    for (int64_t end = now_ms() + 3000; now_ms() < end;) {
        assert_int_equal(poll(&p, 1, 3000), 1);
        n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        assert_int_not_equal(memcmp(buf, "HTTP", 4), 0);
    }
    assert_true(n <= 0); /* closed */
    close(fd);
    assert_int_equal(STAT_WAIT(handshakes_failed, before.handshakes_failed + 1),
                     before.handshakes_failed + 1);
    assert_int_equal(get("/echo", &body), 200);
    mb_free(&body);
}

/* A client that sends half a request and stalls blocks nobody, and gets a
 * 408 when the request timeout runs out. */
void test_slow_client(void **state)
{
    char buf[1024];
    membuf body = {0};
    CURL *slow = raw_connect();
    int64_t t0;
    srv_stats before;
    (void)state;

    {
        static const char half[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc";
        raw_send(slow, half, sizeof half - 1);
    }
    before = stats();
    t0 = now_ms();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get("/echo", &body), 200);
        mb_free(&body);
    }
    assert_true(now_ms() - t0 < REQUEST_TIMEOUT_MS);
    raw_recv_all(slow, buf, sizeof buf, REQUEST_TIMEOUT_MS + 2000);
    assert_memory_equal(buf, "HTTP/1.1 408 ", 13);
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    assert_true(now_ms() - t0 >= REQUEST_TIMEOUT_MS - 200);
    assert_int_equal(STAT_WAIT(timeouts, before.timeouts + 1), before.timeouts + 1);
    curl_easy_cleanup(slow);
}

/* Drive m until h is done or ms pass; returns the time it finished. */
