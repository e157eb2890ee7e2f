/* fixture.c -- test_net's server (one for the whole program, in its own
 * thread, small limits), its keys and certificates made fresh with the px_
 * functions, and the curl and raw-socket helpers the tests use. Moved from
 * test_net.c (1,263 lines), unchanged. */
#include "net_test.h"

/* ---- fixture ---------------------------------------------------------- */

char dir[64];
char path_srv_crt[128], path_srv_key[128], path_ca_crt[128];
char path_cli_crt[128], path_cli_key[128], path_for_crt[128], path_for_key[128];
char pin[128];           /* "sha256//..." of the server key */
char client_id_hex[65];  /* device id of the enrolled client key */
px_tls_server *tls;
srv *server;
pthread_t server_thread;
int server_running;
int64_t server_returned_at;

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

volatile int release_blocked;

/* The test handler: echo, /slow, /block, /peer, /close. */
void handler(void *ud, const srv_request *rq, srv_response *rs)
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
    } else if (strcmp(rq->path, "/block") == 0) {
        for (int waited = 0; !__atomic_load_n(&release_blocked, __ATOMIC_ACQUIRE) && waited < 10000;
             waited += 10)
            sleep_ms(10);
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

void *run_server(void *arg)
{
    (void)arg;
    srv_run(server);
    server_returned_at = now_ms();
    return NULL;
}

void on_sigusr1(int sig)
{
    (void)sig;
    srv_stop(server); /* async-signal-safe */
}

/* A CA (key + self-signed certificate) and a device certificate it issues
 * from the device's CSR, written under prefix. Returns the device key id. */
void make_ca_and_device(const char *ca_crt_path, const char *dev_crt_path,
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

int setup(void **state)
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
    lim.max_queue_wait_ms = QUEUE_WAIT_MS;
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

int teardown(void **state)
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

srv_stats stats(void)
{
    srv_stats st;
    srv_get_stats(server, &st);
    return st;
}

/* A counter of the server's stats once it reaches want (the loop thread
 * updates it just after the client saw the outcome), or after 2 s. */
uint64_t stat_wait(size_t off, uint64_t want)
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

size_t collect(char *data, size_t size, size_t nmemb, void *ud)
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

int debug_collect(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    if (type == CURLINFO_TEXT || type == CURLINFO_HEADER_OUT || type == CURLINFO_HEADER_IN)
        collect(data, 1, size, ud);
    return 0;
}

void mb_free(membuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* An easy handle for https://127.0.0.1:port/path, pinned to the server
 * key (no CA: the pin is the trust), collecting the body into body and
 * headers plus curl's TLS notes into trace (either may be NULL). */
CURL *easy(const char *path, membuf *body, membuf *trace)
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

void use_cert(CURL *h, const char *crt, const char *key)
{
    curl_easy_setopt(h, CURLOPT_SSLCERT, crt);
    curl_easy_setopt(h, CURLOPT_SSLKEY, key);
}

long status_of(CURL *h)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* GET path with a fresh handle; returns the status, body into *out. */
long get(const char *path, membuf *out)
{
    CURL *h = easy(path, out, NULL);
    CURLcode rc = curl_easy_perform(h);
    long code = status_of(h);
    curl_easy_cleanup(h);
    assert_int_equal(rc, CURLE_OK);
    return code;
}

/* ---- raw TLS connection through curl (CONNECT_ONLY) ------------------- */

CURL *raw_connect(void)
{
    CURL *h = easy("/", NULL, NULL);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    return h;
}

int raw_wait(CURL *h, short ev, int ms)
{
    curl_socket_t sock;
    struct pollfd p;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock), CURLE_OK);
    p.fd = sock;
    p.events = ev;
    return poll(&p, 1, ms);
}

void raw_send(CURL *h, const char *data, size_t len)
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
size_t raw_recv_all(CURL *h, char *buf, size_t cap, int ms)
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
int tcp_connect_from(int src)
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

int tcp_connect(void)
{
    return tcp_connect_from(0);
}
