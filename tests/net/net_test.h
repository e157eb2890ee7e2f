/* net_test.h -- what the files of test_net share (tests/net/): the one
 * server the whole program runs, its keys and certificates, curl and
 * raw-socket helpers (fixture.c); the tests of http.c (TLS, certificates,
 * HTTP and its refusals) and limits.c (deadlines, connection limits, the
 * body budget, throttling, a stop with a request in flight). test_net.c
 * runs them in order. */
#ifndef NET_TEST_H
#define NET_TEST_H

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

#define MIB ((size_t)1 << 20)
#define BODY_LIMIT (3 * MIB)
#define HEADER_LIMIT 8192
#define REQUEST_TIMEOUT_MS 1500
#define MAX_CONNS 16
#define SLOW_MS 2000
#define HEADER_TIMEOUT_MS 1000 /* below REQUEST_TIMEOUT_MS: a different deadline */
#define PER_PEER 6
#define BUDGET (4 * MIB)
#define QUEUE_WAIT_MS 500 /* the workers' queue this long: new requests are shed */

typedef struct {
    char *p;
    size_t n;
} membuf;

extern char dir[64];
extern char path_srv_crt[128], path_srv_key[128], path_ca_crt[128];
extern char path_cli_crt[128], path_cli_key[128], path_for_crt[128], path_for_key[128];
extern char pin[128];          /* "sha256//..." of the server key */
extern char client_id_hex[65]; /* device id of the enrolled client key */
extern px_tls_server *tls;
extern srv *server;
extern pthread_t server_thread;
extern int server_running;
extern volatile int release_blocked; /* /block returns once set (or after 10 s) */
extern int64_t server_returned_at;
int64_t now_ms(void);
void sleep_ms(int ms);
void hex(const uint8_t *b, size_t n, char *out);
void write_file(const char *path, const char *text);
void handler(void *ud, const srv_request *rq, srv_response *rs);
void *run_server(void *arg);
void on_sigusr1(int sig);
void make_ca_and_device(const char *ca_crt_path, const char *dev_crt_path,
                        const char *dev_key_path, uint8_t dev_id[PX_HASH_LEN]);
int setup(void **state);
int teardown(void **state);
srv_stats stats(void);
uint64_t stat_wait(size_t off, uint64_t want);
/* The counter field of srv_stats once it reaches want (2 s at most: then its value). */
#define STAT_WAIT(field, want) stat_wait(offsetof(srv_stats, field), (want))
size_t collect(char *data, size_t size, size_t nmemb, void *ud);
int debug_collect(CURL *h, curl_infotype type, char *data, size_t size, void *ud);
void mb_free(membuf *b);
CURL *easy(const char *path, membuf *body, membuf *trace);
void use_cert(CURL *h, const char *crt, const char *key);
long status_of(CURL *h);
long get(const char *path, membuf *out);
CURL *raw_connect(void);
int raw_wait(CURL *h, short ev, int ms);
void raw_send(CURL *h, const char *data, size_t len);
size_t raw_recv_all(CURL *h, char *buf, size_t cap, int ms);
int tcp_connect_from(int src);
int tcp_connect(void);

void test_base64(void **state);
void test_x509_refusals(void **state);
void test_tls12_and_pin(void **state);
void test_client_certs(void **state);
void test_keepalive(void **state);
void test_post_expect_continue(void **state);
void test_413(void **state);
void test_431(void **state);
void test_400_garbage(void **state);
void test_plain_tcp(void **state);
void test_slow_client(void **state);
void test_slow_inflight(void **state);
void test_queue_shed(void **state);
void test_resumption(void **state);
void test_max_connections(void **state);
void test_per_peer(void **state);
void test_header_deadline(void **state);
void test_refusal_closes(void **state);
void test_body_budget(void **state);
void test_throttle(void **state);
void test_stop_inflight(void **state);

#endif
