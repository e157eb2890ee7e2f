/* test_net.c -- patrold's network front (server/net.c) over the crypto
 * module's TLS server (proto/crypto_tls.c) and X.509 (proto/crypto_x509.c),
 * driven by libcurl as a terminal would be, on 127.0.0.1 only.
 *
 * Keys and certificates are made fresh in a temporary directory with the
 * px_ functions: a server key and self-signed certificate (pinned by its
 * key, as the enrolment token does), a device CA, a device certificate
 * issued from a CSR, and a second CA with a device of its own (foreign).
 *
 * One server runs for the whole file in its own thread with small limits
 * (3 MiB body, 8 KiB header section, 1.5 s request timeout, 16
 * connections); the last test stops it with a signal while a request is in
 * flight.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "crypto.h"
#include "net.h"
#include "tls.h"

#define MIB ((size_t)1 << 20)
#define BODY_LIMIT (3 * MIB)
#define HEADER_LIMIT 8192
#define REQUEST_TIMEOUT_MS 1500
#define MAX_CONNS 16
#define SLOW_MS 2000
#define HEADER_TIMEOUT_MS 1000 /* below REQUEST_TIMEOUT_MS: a different deadline */
#define PER_PEER 6
#define BUDGET (4 * MIB)

/* ---- fixture ---------------------------------------------------------- */

static char dir[64];
static char path_srv_crt[128], path_srv_key[128], path_ca_crt[128];
static char path_cli_crt[128], path_cli_key[128], path_for_crt[128], path_for_key[128];
static char pin[128];           /* "sha256//..." of the server key */
static char client_id_hex[65];  /* device id of the enrolled client key */
static px_tls_server *tls;
static srv *server;
static pthread_t server_thread;
static int server_running;
static int64_t server_returned_at;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The test handler: echo, /slow, /peer, /close. */
static void handler(void *ud, const srv_request *rq, srv_response *rs)
{
    char text[512], sha[2 * PX_HASH_LEN + 1];
    uint8_t h[PX_HASH_LEN];
    const char *xt = srv_header_get(rq, "x-test");
    int n;

    (void)ud;
    rs->status = 200;
    rs->content_type = "text/plain";
    if (strcmp(rq->path, "/slow") == 0) {
        sleep_ms(SLOW_MS);
        n = snprintf(text, sizeof text, "slow done");
    } else if (strcmp(rq->path, "/peer") == 0) {
        if (rq->peer_key_id)
            hex(rq->peer_key_id, PX_HASH_LEN, sha);
        n = snprintf(text, sizeof text, "%s", rq->peer_key_id ? sha : "none");
    } else {
        if (strcmp(rq->path, "/close") == 0)
            rs->close = 1;
        if (strcmp(rq->path, "/missing") == 0)
            rs->status = 404;
        if (strcmp(rq->path, "/deny") == 0) {
            rs->status = 401;
            (void)snprintf(rs->extra_headers, sizeof rs->extra_headers,
                           "X-Patrol-Reason: token_unknown\r\n");
        }
        px_sha256(rq->body, rq->body_len, h);
        hex(h, 8, sha);
        n = snprintf(text, sizeof text, "method=%s path=%s query=%s len=%zu sha=%s xtest=%s",
                     rq->method, rq->path, rq->query, rq->body_len, sha, xt ? xt : "-");
        (void)snprintf(rs->extra_headers, sizeof rs->extra_headers, "X-Echo: yes\r\n");
    }
    rs->body = malloc((size_t)n);
    assert_non_null(rs->body);
    memcpy(rs->body, text, (size_t)n);
    rs->body_len = (size_t)n;
}

static void *run_server(void *arg)
{
    (void)arg;
    srv_run(server);
    server_returned_at = now_ms();
    return NULL;
}

static void on_sigusr1(int sig)
{
    (void)sig;
    srv_stop(server); /* async-signal-safe */
}

/* A CA (key + self-signed certificate) and a device certificate it issues
 * from the device's CSR, written under prefix. Returns the device key id. */
static void make_ca_and_device(const char *ca_crt_path, const char *dev_crt_path,
                               const char *dev_key_path, uint8_t dev_id[PX_HASH_LEN])
{
    px_key *ca = NULL, *dev = NULL;
    char *ca_pem = NULL, *csr = NULL, *crt = NULL;
    uint8_t pub[PX_PUBKEY_MAX], id2[PX_HASH_LEN];
    size_t publen;
    const char *why = NULL;

    assert_int_equal(px_key_generate(&ca, &why), 0);
    assert_int_equal(px_x509_self_signed(ca, "patrol device CA", 3650, 1, &ca_pem, &why), 0);
    write_file(ca_crt_path, ca_pem);

    assert_int_equal(px_key_generate(&dev, &why), 0);
    assert_int_equal(px_key_save_private(dev, dev_key_path, &why), 0);
    assert_int_equal(px_csr_create(dev, "terminal-1", &csr, &why), 0);
    assert_int_equal(px_csr_parse(csr, strlen(csr), pub, sizeof pub, &publen, &why), 0);
    assert_int_equal(px_ca_issue(ca, ca_pem, pub, publen, "device 17", 17, 365, &crt, &why), 0);
    write_file(dev_crt_path, crt);

    /* The certificate's key id is the device id (px_key_id of its key). */
    assert_int_equal(px_key_id(dev, dev_id), 0);
    assert_int_equal(px_cert_key_id(crt, strlen(crt), id2, &why), 0);
    assert_memory_equal(dev_id, id2, PX_HASH_LEN);

    free(ca_pem);
    free(csr);
    free(crt);
    px_key_free(ca);
    px_key_free(dev);
}

static int setup(void **state)
{
    px_key *sk = NULL;
    char *pem = NULL, b64[64];
    uint8_t id[PX_HASH_LEN];
    const char *why = NULL;
    char err[256];
    srv_limits lim;
    struct sigaction sa;

    (void)state;
    (void)snprintf(dir, sizeof dir, "/tmp/test_net.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
#define P(var, name) (void)snprintf(var, sizeof var, "%s/%s", dir, name)
    P(path_srv_crt, "server.crt");
    P(path_srv_key, "server.key");
    P(path_ca_crt, "ca.crt");
    P(path_cli_crt, "client.crt");
    P(path_cli_key, "client.key");
    P(path_for_crt, "foreign.crt");
    P(path_for_key, "foreign.key");
#undef P
    if (px_key_generate(&sk, &why) != 0 || px_key_save_private(sk, path_srv_key, &why) != 0 ||
        px_x509_self_signed(sk, "127.0.0.1", 30, 0, &pem, &why) != 0) {
        fprintf(stderr, "server key: %s\n", why);
        return -1;
    }
    write_file(path_srv_crt, pem);
    /* The pin a token carries: SHA-256 of the server key, as curl hashes it. */
    if (px_cert_key_id(pem, strlen(pem), id, &why) != 0 ||
        px_base64_encode(id, sizeof id, b64, sizeof b64) != 0)
        return -1;
    (void)snprintf(pin, sizeof pin, "sha256//%s", b64);
    {
        uint8_t kid[PX_HASH_LEN];
        if (px_key_id(sk, kid) != 0 || memcmp(kid, id, sizeof id) != 0)
            return -1;
    }
    free(pem);
    px_key_free(sk);

    make_ca_and_device(path_ca_crt, path_cli_crt, path_cli_key, id);
    hex(id, sizeof id, client_id_hex);
    {
        char foreign_ca[128];
        (void)snprintf(foreign_ca, sizeof foreign_ca, "%s/foreign_ca.crt", dir);
        make_ca_and_device(foreign_ca, path_for_crt, path_for_key, id);
    }

    if (px_tls_server_new(path_srv_crt, path_srv_key, path_ca_crt, &tls, &why) != 0) {
        fprintf(stderr, "tls server: %s\n", why);
        return -1;
    }
    srv_limits_default(&lim);
    lim.max_body_bytes = BODY_LIMIT;
    lim.max_header_bytes = HEADER_LIMIT;
    lim.request_timeout_ms = REQUEST_TIMEOUT_MS;
    lim.idle_timeout_ms = 5000;
    lim.handshake_timeout_ms = 3000;
    lim.max_connections = MAX_CONNS;
    lim.max_per_peer = PER_PEER;
    lim.reserved_for_devices = 4;
    lim.header_timeout_ms = HEADER_TIMEOUT_MS;
    lim.body_budget_bytes = BUDGET;
    lim.workers = 4;
    if (srv_create(&server, "127.0.0.1", "0", tls, &lim, handler, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "srv_create: %s\n", err);
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    if (pthread_create(&server_thread, NULL, run_server, NULL) != 0)
        return -1;
    server_running = 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int teardown(void **state)
{
    const char *names[] = {"server.crt", "server.key", "ca.crt", "client.crt", "client.key",
                           "foreign.crt", "foreign.key", "foreign_ca.crt"};
    char p[160];
    (void)state;
    if (server_running) {
        srv_stop(server);
        pthread_join(server_thread, NULL);
    }
    srv_free(server);
    px_tls_server_free(tls);
    curl_global_cleanup();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        (void)snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static srv_stats stats(void)
{
    srv_stats st;
    srv_get_stats(server, &st);
    return st;
}

/* A counter of the server's stats once it reaches want (the loop thread
 * updates it just after the client saw the outcome), or after 2 s. */
#define STAT_WAIT(field, want) stat_wait(offsetof(srv_stats, field), (want))
static uint64_t stat_wait(size_t off, uint64_t want)
{
    int64_t end = now_ms() + 2000;
    for (;;) {
        srv_stats st = stats();
        uint64_t v;
        memcpy(&v, (const char *)&st + off, sizeof v);
        if (v >= want || now_ms() >= end)
            return v;
        sleep_ms(5);
    }
}

/* ---- curl helpers ------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t n;
} membuf;

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
    membuf *b = ud;
    size_t n = size * nmemb;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, data, n);
    b->n += n;
    np[b->n] = '\0';
    b->p = np;
    return n;
}

static int debug_collect(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    if (type == CURLINFO_TEXT || type == CURLINFO_HEADER_OUT || type == CURLINFO_HEADER_IN)
        collect(data, 1, size, ud);
    return 0;
}

static void mb_free(membuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* An easy handle for https://127.0.0.1:port/path, pinned to the server
 * key (no CA: the pin is the trust), collecting the body into body and
 * headers plus curl's TLS notes into trace (either may be NULL). */
static CURL *easy(const char *path, membuf *body, membuf *trace)
{
    char url[128];
    CURL *h = curl_easy_init();
    assert_non_null(h);
    (void)snprintf(url, sizeof url, "https://127.0.0.1:%u%s", srv_port(server), path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, pin);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    }
    if (trace) {
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_collect);
        curl_easy_setopt(h, CURLOPT_DEBUGDATA, trace);
    }
    return h;
}

static void use_cert(CURL *h, const char *crt, const char *key)
{
    curl_easy_setopt(h, CURLOPT_SSLCERT, crt);
    curl_easy_setopt(h, CURLOPT_SSLKEY, key);
}

static long status_of(CURL *h)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* GET path with a fresh handle; returns the status, body into *out. */
static long get(const char *path, membuf *out)
{
    CURL *h = easy(path, out, NULL);
    CURLcode rc = curl_easy_perform(h);
    long code = status_of(h);
    curl_easy_cleanup(h);
    assert_int_equal(rc, CURLE_OK);
    return code;
}

/* ---- raw TLS connection through curl (CONNECT_ONLY) ------------------- */

static CURL *raw_connect(void)
{
    CURL *h = easy("/", NULL, NULL);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    return h;
}

static int raw_wait(CURL *h, short ev, int ms)
{
    curl_socket_t sock;
    struct pollfd p;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock), CURLE_OK);
    p.fd = sock;
    p.events = ev;
    return poll(&p, 1, ms);
}

static void raw_send(CURL *h, const char *data, size_t len)
{
    int64_t end = now_ms() + 5000;
    size_t off = 0;
    while (off < len) {
        size_t sent = 0;
        CURLcode rc = curl_easy_send(h, data + off, len - off, &sent);
        if (rc == CURLE_AGAIN) {
            assert_true(now_ms() < end);
            raw_wait(h, POLLOUT, 100);
            continue;
        }
        assert_int_equal(rc, CURLE_OK);
        off += sent;
    }
}

/* Read until the server closes (or ms pass); NUL-terminated into buf. */
static size_t raw_recv_all(CURL *h, char *buf, size_t cap, int ms)
{
    int64_t end = now_ms() + ms;
    size_t off = 0;
    while (off + 1 < cap && now_ms() < end) {
        size_t n = 0;
        CURLcode rc = curl_easy_recv(h, buf + off, cap - 1 - off, &n);
        if (rc == CURLE_AGAIN) {
            raw_wait(h, POLLIN, 50);
            continue;
        }
        if (rc != CURLE_OK || n == 0)
            break;
        off += n;
    }
    buf[off] = '\0';
    return off;
}

/* A plain TCP connection to the server from 127.0.0.src (0: any). */
static int tcp_connect_from(int src)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (src) {
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)src);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)srv_port(server));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int tcp_connect(void)
{
    return tcp_connect_from(0);
}

/* ---- tests ------------------------------------------------------------------ */

/* base64 and base64url round trips, and the strict decoder's refusals. */
static void test_base64(void **state)
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
static void test_x509_refusals(void **state)
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
static void test_tls12_and_pin(void **state)
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
static void test_client_certs(void **state)
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
static void test_keepalive(void **state)
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
static void test_post_expect_continue(void **state)
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
static void test_413(void **state)
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
static void test_431(void **state)
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
static void test_400_garbage(void **state)
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
static void test_plain_tcp(void **state)
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
static void test_slow_client(void **state)
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
static void test_slow_inflight(void **state)
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

/* A second handle sharing the TLS session cache resumes; the resumed
 * session keeps its client identity. (libcurl on OpenSSL resumes by
 * session id -- it disables tickets -- so this exercises the server's
 * session cache; tickets were checked by hand with openssl s_client
 * -reconnect, which uses them.) */
static void test_resumption(void **state)
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
static void test_max_connections(void **state)
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
static void test_per_peer(void **state)
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
static void test_header_deadline(void **state)
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
static void test_refusal_closes(void **state)
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
static void test_body_budget(void **state)
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
static void test_throttle(void **state)
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
static void test_stop_inflight(void **state)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_x509_refusals),
        cmocka_unit_test(test_tls12_and_pin),
        cmocka_unit_test(test_client_certs),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_post_expect_continue),
        cmocka_unit_test(test_413),
        cmocka_unit_test(test_431),
        cmocka_unit_test(test_400_garbage),
        cmocka_unit_test(test_plain_tcp),
        cmocka_unit_test(test_slow_client),
        cmocka_unit_test(test_slow_inflight),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_per_peer),
        cmocka_unit_test(test_header_deadline),
        cmocka_unit_test(test_refusal_closes),
        cmocka_unit_test(test_body_budget),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_stop_inflight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
