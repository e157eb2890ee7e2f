/* wire.h -- what the files of e2e_wire share (tests/e2e/wire.c has the
 * whole story and the usage). The files, by what they own:
 *   wire_util.c   small helpers and the terminal's store, read only
 *   wire_http.c   one request over TLS as the terminal, and the JSON line
 *   wire_batch.c  batches built from the journal, mutated on purpose, and
 *                 made-up bodies
 *   wire.c        evidence, other requests, mkcert, append, main */
#ifndef E2E_WIRE_H
#define E2E_WIRE_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <lz4frame.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "entry.h"
#include "frame.h"
#include "patrol.pb-c.h"
#include "rules.h"
#include "tls.h"
#include "validate.h"

#define MAX_EXTRA 16
#define MAX_BODY_ANSWER ((size_t)16 << 20)

typedef struct store {
    sqlite3 *db;
    char *dir;
} store;

typedef struct opts {
    const char *store, *url, *cert_from, *save_body;
    int no_cert;
    long timeout_s;
    const char *extra[MAX_EXTRA];
    int n_extra;
    size_t pad_header;
    unsigned many_headers;
    long long content_length; /* -1: let curl say */
    /* batch */
    const char *batch_id_hex, *device_hex, *device_of, *body_mode;
    uint64_t skip, edit, flip, bad_sig, suite, fill;
    int resign;
    uint64_t protocol;
    int lz4;
    /* append */
    uint64_t corrects;
    char *inspectors[8];
    size_t n_inspectors;
} opts;

typedef struct answer {
    long status;
    char reason[128];
    char content_type[128];
    long long upload_offset, upload_length;
    int upload_complete;
    uint8_t *body;
    size_t len, cap;
    int overflow;
} answer;

/* Who the tool is on the wire: the server pin, client certificate and key. */
typedef struct peer {
    char *url;
    uint8_t pin[PX_HASH_LEN];
    int have_pin;
    char *cert_pem;
    size_t cert_len;
    char *key_path;
} peer;

/* One request's outcome: curl's code and error, and the answer. */
typedef struct result {
    CURLcode cc;
    char errbuf[CURL_ERROR_SIZE];
    answer a;
} result;

/* One signed entry as sent: its bytes and signature. */
typedef struct built {
    uint8_t *entry;
    size_t len;
    uint8_t sig[PX_SIG_LEN];
} built;

void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* wire_util.c */
void die(const char *fmt, ...);
void *xmalloc(size_t n);
char *xstrdup(const char *s);
char *path_join(const char *dir, const char *name);
uint64_t parse_num(const char *s, const char *what);
uint8_t *read_all(const char *path, size_t *len);
void write_all_file(const char *path, const void *data, size_t n, int mode);
void random_bytes(void *buf, size_t n);
void hex_of(const uint8_t *b, size_t n, char *out);
void store_open(store *s, const char *dir);
void store_close(store *s);
uint8_t *store_value(store *s, const char *sql, int has_arg, int64_t arg, size_t *len);

/* wire_http.c */
void peer_load(peer *pr, const opts *o, store *s);
void peer_free(peer *pr);
void perform(const opts *o, const peer *pr, const char *method, const char *path,
                    const uint8_t *body, size_t blen, const char *ctype, result *r);
void add_hex(cJSON *o, const char *name, const uint8_t *b, size_t n);
void print_result(const opts *o, const result *r, store *s, const uint8_t *batch_id,
                         cJSON *extra);

/* wire_batch.c */
int cmd_batch(const opts *o, store *s, const peer *pr, int argc, char **argv);
int cmd_raw(const opts *o, store *s, const peer *pr, int argc, char **argv);

#endif
