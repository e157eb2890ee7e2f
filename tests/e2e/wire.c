/* wire.c -- e2e_wire: a terminal that misbehaves on purpose, for the
 * end-to-end tests of patrold (tests/e2e/test_*.sh).
 *
 * It speaks to a real patrold over real TLS 1.2 (libcurl) as the terminal
 * whose store it is given: the server key pin, client certificate and
 * receipt key come from the store's sync_server row (written by
 * `patrol enroll`), the TLS key is STORE/device.key, and batches are built
 * from the store's journal rows. Each run makes one request and prints one
 * JSON line on stdout:
 *
 *   {"status":403,"reason":"foreign_device","curl_code":0,"curl_error":"",
 *    "body_len":..,"body_sha256":"..","error":{"reason":..,"message":..,
 *    "expected_seq":..},"ack":{"expected_seq":..,"accepted":..,"duplicate":..,
 *    "rejected":..,"entries":[{"seq":1,"status":"ACCEPTED","reason":"",
 *    "detail":""}],"missing":[..],"receipt":{"verified":true,"first_seq":..,
 *    "last_seq":..,"head":".."}},"upload_offset":..,"upload_length":..,
 *    "upload_complete":false}
 *
 * status 0 means no HTTP answer (curl_code/curl_error say why: a refused
 * handshake, a timeout). Exit status: 0 when the line was printed, 2 when
 * the tool itself could not do what it was asked (bad arguments, a store
 * it cannot read), so a broken tool never passes for a refusal.
 *
 * usage: e2e_wire [options] COMMAND ARGS...   (e2e_wire --help)
 */
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

static const char usage_text[] =
    "usage: e2e_wire [options] COMMAND ARGS...\n"
    "\n"
    "Who and where (the terminal is --store; every request is one new TLS connection):\n"
    "  --store DIR          terminal store: pin, client certificate, receipt key, journal\n"
    "  --url URL            server base URL (default: the URL the store enrolled with)\n"
    "  --cert-from DIR      present DIR's client certificate and DIR/device.key instead\n"
    "                       (DIR is a store, or a directory with client.crt + device.key)\n"
    "  --no-cert            present no client certificate\n"
    "  --timeout S          give up after S seconds (default 20)\n"
    "  --save-body FILE     write the answer's body to FILE\n"
    "  --header 'N: V'      add a request header (repeatable)\n"
    "  --pad-header BYTES   add one X-Pad header of BYTES bytes\n"
    "  --many-headers N     add N small X-H-i headers\n"
    "  --content-length N   declare Content-Length N whatever the body size\n"
    "\n"
    "Commands:\n"
    "  batch FROM TO        POST /v1/batches with the journal's entries FROM..TO\n"
    "     --batch-id HEX    the 16-byte batch id (default: random)\n"
    "     --skip SEQ        leave entry SEQ out (a gap)\n"
    "     --edit SEQ        backdate entry SEQ by an hour, re-encode, keep its old signature\n"
    "     --flip SEQ        flip one bit of a character of SEQ's object id in its bytes\n"
    "     --resign          with --edit: re-hash and re-sign with the device key (a fork)\n"
    "     --bad-sig SEQ     flip one bit of entry SEQ's signature\n"
    "     --suite SEQ       entry SEQ names suite 1 (a future SM2/SM3 suite), re-signed\n"
    "                       with the device key: properly signed, in no suite we have\n"
    "     --device HEX      Batch.device (default: the store's device id)\n"
    "     --device-of DIR   Batch.device = the device id of store DIR\n"
    "     --protocol N      Batch.protocol (default 1)\n"
    "     --fill N          send N entries, cycling FROM..TO, each with a random signature\n"
    "     --body MODE       frame (default) | plain (protobuf, no LZ4) | truncate | corrupt\n"
    "  raw KIND             POST /v1/batches with a made-up body: garbage (random bytes),\n"
    "                       text-frame (a valid LZ4 frame of text), bomb (16 MiB of zeros in\n"
    "                       one frame), huge-declared (frame declaring 1 TiB), empty,\n"
    "                       big:N (N random bytes)\n"
    "  head ID              HEAD /v1/evidence/ID\n"
    "  patch ID OFFSET FILE [FROM [LEN]]\n"
    "                       PATCH /v1/evidence/ID, Upload-Offset OFFSET, body bytes\n"
    "                       FROM..FROM+LEN of FILE (default: all from FROM); --lz4 sends\n"
    "                       them as one LZ4 frame (Upload-Encoding: lz4)\n"
    "  get PATH             GET PATH\n"
    "  request METHOD PATH [FILE]   any method, optional body from FILE\n"
    "  mkcert DATA OUTDIR   a new key (OUTDIR/device.key) and a client certificate\n"
    "                       (OUTDIR/client.crt) from DATA's device CA, for a key that\n"
    "                       no device enrolled\n"
    "  append KIND OBJECT [NAME=VALUE...]\n"
    "                       no request: append one entry to --store's journal, signed\n"
    "                       with its device key and chained, WITHOUT the record's rules\n"
    "                       across entries (a terminal that breaks them); OBJECT 'M@'\n"
    "                       (any letter) is the id the entry makes, 'M-<dev8>-<seq>';\n"
    "                       prints {\"seq\":..,\"object\":..}\n"
    "     --corrects SEQ    Entry.corrects\n"
    "     --inspector ID    Entry.inspectors (repeatable)\n";

/* ---- small helpers ------------------------------------------------------ */

static void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("e2e_wire: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static uint64_t parse_num(const char *s, const char *what)
{
    uint64_t v;
    const char *why = px_parse_u64(s, 0, UINT64_MAX, &v);
    if (why)
        die("%s: '%s': %s", what, s, why);
    return v;
}

/* Whole file into a malloc'd buffer (NUL-terminated; *len without it). */
static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    for (;;) {
        size_t r;
        if (n + 65536 + 1 > cap) {
            uint8_t *nb;
            cap = cap ? cap * 2 : 131072;
            if (!(nb = realloc(buf, cap)))
                die("out of memory reading %s", path);
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f))
        die("cannot read %s", path);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Write a new file (never over an existing one). */
static void write_all_file(const char *path, const void *data, size_t n, int mode)
{
    const uint8_t *p = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        die("cannot create %s: %s", path, strerror(errno));
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("cannot write %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    if (close(fd) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

/* px_random serves at most 1 KiB per call (a CTR-DRBG request limit). */
static void random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        size_t k = n < 1024 ? n : 1024;
        if (px_random(p, k) != 0)
            die("no randomness");
        p += k;
        n -= k;
    }
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    px_format_hex(b, n, out);
}

/* ---- the terminal's store ---------------------------------------------- */

typedef struct store {
    sqlite3 *db;
    char *dir;
} store;

static void store_open(store *s, const char *dir)
{
    char *path = path_join(dir, "patrol.db");
    struct stat st;
    if (stat(path, &st) != 0)
        die("%s: no store there (%s missing)", dir, path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("%s: %s", path, sqlite3_errmsg(s->db));
    sqlite3_busy_timeout(s->db, 5000);
    s->dir = xstrdup(dir);
    free(path);
}

static void store_close(store *s)
{
    if (s->db)
        sqlite3_close(s->db);
    free(s->dir);
    s->db = NULL;
    s->dir = NULL;
}

/* Column 0 of the one row of sql (with an optional int64 parameter) as a
 * malloc'd blob (NUL-terminated); dies without a row. */
static uint8_t *store_value(store *s, const char *sql, int has_arg, int64_t arg, size_t *len)
{
    sqlite3_stmt *st;
    uint8_t *out;
    const void *p;
    int n;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        die("%s: %s: %s", s->dir, sql, sqlite3_errmsg(s->db));
    if (has_arg)
        sqlite3_bind_int64(st, 1, arg);
    if (sqlite3_step(st) != SQLITE_ROW)
        die("%s: no row for %s (%lld)%s", s->dir, sql, (long long)arg,
            strstr(sql, "sync_server") ? " -- is the store enrolled?" : "");
    p = sqlite3_column_blob(st, 0);
    n = sqlite3_column_bytes(st, 0);
    out = xmalloc((size_t)n + 1);
    if (n)
        memcpy(out, p, (size_t)n);
    out[n] = '\0';
    if (len)
        *len = (size_t)n;
    sqlite3_finalize(st);
    return out;
}

/* ---- one request ------------------------------------------------------- */

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

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    answer *a = ud;
    size_t n = size * nmemb;
    if (a->len + n > MAX_BODY_ANSWER) {
        a->overflow = 1;
        return 0;
    }
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        uint8_t *nb;
        while (cap < a->len + n + 1)
            cap *= 2;
        if (!(nb = realloc(a->body, cap)))
            return 0;
        a->body = nb;
        a->cap = cap;
    }
    memcpy(a->body + a->len, buf, n);
    a->len += n;
    a->body[a->len] = '\0';
    return n;
}

/* "Name: value\r\n" -> value (trimmed) into out if the name matches. */
static int header_is(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t k = strlen(name), j = 0;
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return 0;
    line += k + 1;
    n -= k + 1;
    while (n && (*line == ' ' || *line == '\t'))
        line++, n--;
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
        n--;
    for (; j < n && j + 1 < cap; j++)
        out[j] = line[j];
    out[j] = '\0';
    return 1;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
    answer *a = ud;
    size_t n = size * nmemb;
    char v[128];
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue): forget the last one's. */
        a->reason[0] = a->content_type[0] = '\0';
        a->upload_offset = a->upload_length = -1;
        a->upload_complete = 0;
    } else if (header_is(buf, n, "X-Patrol-Reason", v, sizeof v)) {
        snprintf(a->reason, sizeof a->reason, "%s", v);
    } else if (header_is(buf, n, "Content-Type", v, sizeof v)) {
        snprintf(a->content_type, sizeof a->content_type, "%s", v);
    } else if (header_is(buf, n, "Upload-Offset", v, sizeof v)) {
        a->upload_offset = strtoll(v, NULL, 10);
    } else if (header_is(buf, n, "Upload-Length", v, sizeof v)) {
        a->upload_length = strtoll(v, NULL, 10);
    } else if (header_is(buf, n, "Upload-Complete", v, sizeof v)) {
        a->upload_complete = strcmp(v, "1") == 0;
    }
    return n;
}

typedef struct peer {
    char *url;
    uint8_t pin[PX_HASH_LEN];
    int have_pin;
    char *cert_pem;
    size_t cert_len;
    char *key_path;
} peer;

/* The identity to present: a store's (sync_server.client_cert and
 * device.key), or client.crt + device.key of a plain directory. */
static void load_identity(peer *pr, const char *dir)
{
    char *crt = path_join(dir, "client.crt"), *db = path_join(dir, "patrol.db");
    struct stat st;
    if (stat(db, &st) == 0) {
        store s;
        store_open(&s, dir);
        pr->cert_pem = (char *)store_value(&s, "SELECT client_cert FROM sync_server", 0, 0,
                                           &pr->cert_len);
        store_close(&s);
    } else {
        pr->cert_pem = (char *)read_all(crt, &pr->cert_len);
    }
    pr->key_path = path_join(dir, "device.key");
    free(crt);
    free(db);
}

static void peer_load(peer *pr, const opts *o, store *s)
{
    memset(pr, 0, sizeof *pr);
    if (s->db) {
        size_t n;
        uint8_t *pin = store_value(s, "SELECT pin FROM sync_server", 0, 0, &n);
        if (n != PX_HASH_LEN)
            die("%s: the stored pin is %zu bytes", s->dir, n);
        memcpy(pr->pin, pin, PX_HASH_LEN);
        pr->have_pin = 1;
        free(pin);
        if (!o->url)
            pr->url = (char *)store_value(s, "SELECT url FROM sync_server", 0, 0, NULL);
    }
    if (o->url)
        pr->url = xstrdup(o->url);
    if (!pr->url)
        die("no server: give --url or an enrolled --store");
    if (!o->no_cert) {
        if (o->cert_from)
            load_identity(pr, o->cert_from);
        else if (s->db)
            load_identity(pr, s->dir);
    }
}

static void peer_free(peer *pr)
{
    free(pr->url);
    if (pr->cert_pem)
        px_wipe(pr->cert_pem, pr->cert_len);
    free(pr->cert_pem);
    free(pr->key_path);
}

typedef struct result {
    CURLcode cc;
    char errbuf[CURL_ERROR_SIZE];
    answer a;
} result;

/* One request on a new connection. body may be NULL (no body). */
static void perform(const opts *o, const peer *pr, const char *method, const char *path,
                    const uint8_t *body, size_t blen, const char *ctype, result *r)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    char url[4096], line[256], pinopt[128], *pad = NULL;
    char pin64[64];

    memset(r, 0, sizeof *r);
    r->a.upload_offset = r->a.upload_length = -1;
    if (!h)
        die("curl_easy_init failed");
    snprintf(url, sizeof url, "%s%s", pr->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    /* As the terminal does: the pin is the whole trust. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    if (pr->have_pin) {
        if (px_base64_encode(pr->pin, PX_HASH_LEN, pin64, sizeof pin64) != 0)
            die("cannot encode the pin");
        snprintf(pinopt, sizeof pinopt, "sha256//%s", pin64);
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, pinopt);
    }
    if (pr->cert_pem) {
        struct curl_blob blob = {pr->cert_pem, pr->cert_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY, pr->key_path);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->a);
    hl = curl_slist_append(hl, "Expect:");
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        hl = curl_slist_append(hl, line);
    }
    if (o->content_length >= 0) {
        snprintf(line, sizeof line, "Content-Length: %lld", o->content_length);
        hl = curl_slist_append(hl, line);
    }
    for (int i = 0; i < o->n_extra; i++)
        hl = curl_slist_append(hl, o->extra[i]);
    if (o->pad_header) {
        size_t n = o->pad_header + 8;
        pad = xmalloc(n + 1);
        memcpy(pad, "X-Pad: ", 7);
        memset(pad + 7, 'a', n - 7);
        pad[n] = '\0';
        hl = curl_slist_append(hl, pad);
    }
    for (unsigned i = 0; i < o->many_headers; i++) {
        snprintf(line, sizeof line, "X-H-%u: %u", i, i);
        hl = curl_slist_append(hl, line);
    }
    if (!hl)
        die("out of memory for headers");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0 || body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    r->cc = curl_easy_perform(h);
    if (r->cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->a.status);
    else
        r->a.status = 0;
    curl_easy_cleanup(h);
    curl_slist_free_all(hl);
    free(pad);
}

/* ---- the JSON line ----------------------------------------------------- */

static const char *status_name(Patrol__V1__EntryStatus s)
{
    switch (s) {
    case PATROL__V1__ENTRY_STATUS__ACCEPTED: return "ACCEPTED";
    case PATROL__V1__ENTRY_STATUS__DUPLICATE: return "DUPLICATE";
    case PATROL__V1__ENTRY_STATUS__REJECTED: return "REJECTED";
    default: return "UNSPECIFIED";
    }
}

static void add_hex(cJSON *o, const char *name, const uint8_t *b, size_t n)
{
    char *hex = xmalloc(2 * n + 1);
    hex_of(b, n, hex);
    cJSON_AddStringToObject(o, name, hex);
    free(hex);
}

/* The Ack of a batch, its receipt checked with the store's receipt key. */
static void add_ack(cJSON *j, const answer *a, store *s, const uint8_t batch_id[16])
{
    Patrol__V1__Ack *ack = patrol__v1__ack__unpack(NULL, a->len, a->body);
    cJSON *o, *arr, *rc;
    unsigned counts[4] = {0, 0, 0, 0};
    if (!ack) {
        cJSON_AddStringToObject(j, "ack_error", "the 200 body is not an Ack");
        return;
    }
    o = cJSON_AddObjectToObject(j, "ack");
    cJSON_AddNumberToObject(o, "expected_seq", (double)ack->expected_seq);
    cJSON_AddBoolToObject(o, "batch_id_matches",
                          ack->batch_id.len == 16 && memcmp(ack->batch_id.data, batch_id, 16) == 0);
    arr = cJSON_AddArrayToObject(o, "entries");
    for (size_t i = 0; i < ack->n_entries; i++) {
        cJSON *e = cJSON_CreateObject();
        unsigned st = (unsigned)ack->entries[i]->status;
        cJSON_AddNumberToObject(e, "seq", (double)ack->entries[i]->seq);
        cJSON_AddStringToObject(e, "status", status_name(ack->entries[i]->status));
        cJSON_AddStringToObject(e, "reason", ack->entries[i]->reason);
        cJSON_AddStringToObject(e, "detail", ack->entries[i]->detail);
        cJSON_AddItemToArray(arr, e);
        counts[st < 4 ? st : 0]++;
    }
    cJSON_AddNumberToObject(o, "accepted", counts[PATROL__V1__ENTRY_STATUS__ACCEPTED]);
    cJSON_AddNumberToObject(o, "duplicate", counts[PATROL__V1__ENTRY_STATUS__DUPLICATE]);
    cJSON_AddNumberToObject(o, "rejected", counts[PATROL__V1__ENTRY_STATUS__REJECTED]);
    arr = cJSON_AddArrayToObject(o, "missing");
    for (size_t i = 0; i < ack->n_missing_evidence; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(ack->missing_evidence[i]));
    rc = cJSON_AddObjectToObject(o, "receipt");
    if (ack->receipt && s->db) {
        Patrol__V1__ReceiptBody *rb =
            patrol__v1__receipt_body__unpack(NULL, ack->receipt->body.len, ack->receipt->body.data);
        size_t klen;
        uint8_t *kder = store_value(s, "SELECT receipt_key FROM sync_server", 0, 0, &klen);
        px_key *k = NULL;
        const char *why;
        uint8_t h[PX_HASH_LEN];
        int ok = 0;
        if (px_key_from_public_der(kder, klen, &k, &why) != 0)
            die("the store's receipt key is unusable: %s", why);
        px_sha256(ack->receipt->body.data, ack->receipt->body.len, h);
        ok = ack->receipt->sig.len == PX_SIG_LEN && px_verify(k, h, ack->receipt->sig.data) == 0;
        cJSON_AddBoolToObject(rc, "verified", ok && rb);
        if (rb) {
            cJSON_AddNumberToObject(rc, "first_seq", (double)rb->first_seq);
            cJSON_AddNumberToObject(rc, "last_seq", (double)rb->last_seq);
            add_hex(rc, "head", rb->head_hash.data, rb->head_hash.len);
            add_hex(rc, "device", rb->device.data, rb->device.len);
            cJSON_AddBoolToObject(rc, "batch_id_matches", rb->batch_id.len == 16 &&
                                                              memcmp(rb->batch_id.data, batch_id,
                                                                     16) == 0);
            patrol__v1__receipt_body__free_unpacked(rb, NULL);
        }
        px_key_free(k);
        free(kder);
    } else {
        cJSON_AddBoolToObject(rc, "verified", 0);
    }
    patrol__v1__ack__free_unpacked(ack, NULL);
}

static void print_result(const opts *o, const result *r, store *s, const uint8_t *batch_id,
                         cJSON *extra)
{
    cJSON *j = cJSON_CreateObject();
    char *line;
    uint8_t h[PX_HASH_LEN];

    cJSON_AddNumberToObject(j, "status", (double)r->a.status);
    cJSON_AddStringToObject(j, "reason", r->a.reason);
    cJSON_AddNumberToObject(j, "curl_code", (double)r->cc);
    cJSON_AddStringToObject(j, "curl_error",
                            r->cc == CURLE_OK ? ""
                            : r->errbuf[0]    ? r->errbuf
                                              : curl_easy_strerror(r->cc));
    cJSON_AddStringToObject(j, "content_type", r->a.content_type);
    cJSON_AddNumberToObject(j, "body_len", (double)r->a.len);
    px_sha256(r->a.body ? r->a.body : (const uint8_t *)"", r->a.len, h);
    add_hex(j, "body_sha256", h, PX_HASH_LEN);
    if (r->a.status >= 400 && r->a.len > 0 &&
        strstr(r->a.content_type, "application/x-protobuf")) {
        Patrol__V1__Error *e = patrol__v1__error__unpack(NULL, r->a.len, r->a.body);
        cJSON *eo = cJSON_AddObjectToObject(j, "error");
        if (e) {
            cJSON_AddStringToObject(eo, "reason", e->reason);
            cJSON_AddStringToObject(eo, "message", e->message);
            cJSON_AddNumberToObject(eo, "expected_seq", (double)e->expected_seq);
            patrol__v1__error__free_unpacked(e, NULL);
        } else {
            cJSON_AddStringToObject(eo, "reason", "(the body is not an Error message)");
        }
    } else if (r->a.status >= 400) {
        char text[200];
        size_t n = r->a.len < sizeof text - 1 ? r->a.len : sizeof text - 1;
        for (size_t i = 0; i < n; i++)
            text[i] = (r->a.body[i] >= ' ' && r->a.body[i] < 0x7f) ? (char)r->a.body[i] : ' ';
        text[n] = '\0';
        cJSON_AddStringToObject(j, "text", text);
    }
    if (batch_id && r->a.status == 200)
        add_ack(j, &r->a, s, batch_id);
    if (r->a.upload_offset >= 0)
        cJSON_AddNumberToObject(j, "upload_offset", (double)r->a.upload_offset);
    if (r->a.upload_length >= 0)
        cJSON_AddNumberToObject(j, "upload_length", (double)r->a.upload_length);
    cJSON_AddBoolToObject(j, "upload_complete", r->a.upload_complete);
    if (extra)
        cJSON_AddItemToObject(j, "sent", extra);
    if (o->save_body)
        write_all_file(o->save_body, r->a.body ? r->a.body : (const uint8_t *)"", r->a.len, 0644);
    if (!(line = cJSON_PrintUnformatted(j)))
        die("out of memory printing");
    puts(line);
    fflush(stdout);
    free(line);
    cJSON_Delete(j);
}

/* ---- batches ----------------------------------------------------------- */

typedef struct built {
    uint8_t *entry;
    size_t len;
    uint8_t sig[PX_SIG_LEN];
} built;

/* Backdate (edit) an entry by an hour; re-encode. Signs it again with the
 * device key when resign (a fork), else keeps the old signature. */
/* Sign b's bytes again with the store's device key. */
static void resign_entry(built *b, const char *store_dir)
{
    const char *why = NULL;
    char *kp = path_join(store_dir, "device.key");
    px_key *k = NULL;
    uint8_t h[PX_HASH_LEN];
    if (px_key_load_private(kp, &k, &why) != 0)
        die("%s: %s", kp, why);
    px_entry_hash(b->entry, b->len, h);
    if (px_sign(k, h, b->sig) != 0)
        die("cannot sign");
    px_key_free(k);
    free(kp);
}

static void edit_entry(built *b, const char *store_dir, int resign)
{
    const char *why = NULL;
    Patrol__V1__Entry *e = px_entry_decode(b->entry, b->len, &why);
    uint8_t *out = NULL;
    size_t n;
    if (!e)
        die("journal entry does not decode: %s", why);
    e->wall_ms -= 3600000;
    if (px_entry_encode(e, &out, &n, &why) != 0)
        die("cannot re-encode the edited entry: %s", why);
    px_entry_free(e);
    free(b->entry);
    b->entry = out;
    b->len = n;
    if (resign)
        resign_entry(b, store_dir);
}

/* Entry.suite = 1 (field 15, the last, so appending keeps field order),
 * signed again: a terminal from a future with an SM2 suite. The encoder
 * refuses such an entry, so the bytes are made here. */
static void suite_entry(built *b, const char *store_dir)
{
    uint8_t *more = realloc(b->entry, b->len + 2);
    if (!more)
        die("out of memory");
    more[b->len] = 0x78; /* field 15, varint */
    more[b->len + 1] = 0x01;
    b->entry = more;
    b->len += 2;
    resign_entry(b, store_dir);
}

static int alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Flip one bit of one character of the entry's object id, in place in the
 * encoded bytes: the entry still decodes, but its bytes are not what the
 * device signed. */
static void flip_entry(built *b)
{
    const char *why = NULL;
    Patrol__V1__Entry *e = px_entry_decode(b->entry, b->len, &why);
    size_t olen;
    if (!e)
        die("journal entry does not decode: %s", why);
    olen = strlen(e->object);
    for (size_t at = 0; olen && at + olen <= b->len; at++) {
        if (memcmp(b->entry + at, e->object, olen) != 0)
            continue;
        for (size_t i = olen; i-- > 0;) {
            int c = b->entry[at + i];
            if (alnum(c) && alnum(c ^ 1)) {
                b->entry[at + i] = (uint8_t)(c ^ 1);
                px_entry_free(e);
                return;
            }
        }
    }
    die("entry has no object id with a character to flip");
}

static void parse_hex_arg(const char *s, uint8_t *out, size_t n, const char *what)
{
    if (strlen(s) != 2 * n || px_parse_hex(s, out, n) != NULL)
        die("%s must be %zu lower-case hex digits", what, 2 * n);
}

static int cmd_batch(const opts *o, store *s, const peer *pr, int argc, char **argv)
{
    Patrol__V1__Batch b = PATROL__V1__BATCH__INIT;
    Patrol__V1__SignedEntry *se = NULL, **sep = NULL;
    uint64_t from, to, count = 0;
    uint8_t batch_id[16], device[PX_HASH_LEN], *raw = NULL, *frame = NULL, *body;
    size_t rawlen, flen, blen, nbuilt = 0;
    built *bl = NULL;
    const char *why;
    result r;
    cJSON *sent;

    if (argc != 2)
        die("batch FROM TO");
    if (!s->db)
        die("batch needs --store");
    from = parse_num(argv[0], "FROM");
    to = parse_num(argv[1], "TO");
    if (from < 1 || to < from)
        die("batch: need 1 <= FROM <= TO");
    if (o->batch_id_hex)
        parse_hex_arg(o->batch_id_hex, batch_id, 16, "--batch-id");
    else
        random_bytes(batch_id, sizeof batch_id);
    if (o->device_hex) {
        parse_hex_arg(o->device_hex, device, PX_HASH_LEN, "--device");
    } else {
        store other, *src = s;
        uint8_t *d;
        size_t n;
        if (o->device_of) {
            store_open(&other, o->device_of);
            src = &other;
        }
        d = store_value(src, "SELECT device_id FROM device", 0, 0, &n);
        if (n != PX_HASH_LEN)
            die("device id of %zu bytes", n);
        memcpy(device, d, PX_HASH_LEN);
        free(d);
        if (o->device_of)
            store_close(&other);
    }

    bl = calloc((size_t)(to - from + 1), sizeof *bl);
    if (!bl)
        die("out of memory");
    for (uint64_t q = from; q <= to; q++) {
        built *x;
        uint8_t *sig;
        size_t siglen;
        if (q == o->skip)
            continue;
        x = &bl[nbuilt++];
        x->entry = store_value(s, "SELECT entry FROM journal WHERE seq = ?", 1, (int64_t)q, &x->len);
        sig = store_value(s, "SELECT sig FROM journal WHERE seq = ?", 1, (int64_t)q, &siglen);
        if (siglen != PX_SIG_LEN)
            die("journal entry %llu has a %zu-byte signature", (unsigned long long)q, siglen);
        memcpy(x->sig, sig, PX_SIG_LEN);
        free(sig);
        if (q == o->edit)
            edit_entry(x, s->dir, o->resign);
        if (q == o->flip)
            flip_entry(x);
        if (q == o->bad_sig)
            x->sig[PX_SIG_LEN / 2] ^= 0x01;
        if (q == o->suite)
            suite_entry(x, s->dir);
    }
    if ((o->edit && (o->edit < from || o->edit > to)) ||
        (o->flip && (o->flip < from || o->flip > to)) ||
        (o->bad_sig && (o->bad_sig < from || o->bad_sig > to)) ||
        (o->suite && (o->suite < from || o->suite > to)))
        die("a mutated entry is outside FROM..TO");
    if (nbuilt == 0)
        die("batch: no entry left to send");
    count = o->fill ? o->fill : nbuilt;
    se = calloc((size_t)count, sizeof *se);
    sep = calloc((size_t)count, sizeof *sep);
    if (!se || !sep)
        die("out of memory");
    for (uint64_t i = 0; i < count; i++) {
        built *x = &bl[i % nbuilt];
        patrol__v1__signed_entry__init(&se[i]);
        se[i].entry.data = x->entry;
        se[i].entry.len = x->len;
        if (o->fill) {
            /* Random signatures keep the frame incompressible enough to
             * stay within the ratio limit: the count is what is tested. */
            se[i].sig.data = xmalloc(PX_SIG_LEN);
            random_bytes(se[i].sig.data, PX_SIG_LEN);
        } else {
            se[i].sig.data = x->sig;
        }
        se[i].sig.len = PX_SIG_LEN;
        sep[i] = &se[i];
    }
    b.protocol = (uint32_t)o->protocol;
    b.batch_id.data = batch_id;
    b.batch_id.len = sizeof batch_id;
    b.device.data = device;
    b.device.len = PX_HASH_LEN;
    b.entries = sep;
    b.n_entries = (size_t)count;
    rawlen = protobuf_c_message_get_packed_size(&b.base);
    raw = xmalloc(rawlen);
    protobuf_c_message_pack(&b.base, raw);
    if (px_frame_encode(raw, rawlen, &frame, &flen, &why) != 0)
        die("cannot frame the batch: %s", why);
    body = frame;
    blen = flen;
    if (!o->body_mode || strcmp(o->body_mode, "frame") == 0) {
    } else if (strcmp(o->body_mode, "plain") == 0) {
        body = raw;
        blen = rawlen;
    } else if (strcmp(o->body_mode, "truncate") == 0) {
        blen = flen / 2;
    } else if (strcmp(o->body_mode, "corrupt") == 0) {
        /* A bit in the middle of the compressed data (past the 7..15
         * header bytes): block or content checksum no longer match. */
        frame[flen / 2 > 20 ? flen / 2 : 20] ^= 0x10;
    } else {
        die("--body: frame, plain, truncate or corrupt");
    }
    perform(o, pr, "POST", "/v1/batches", body, blen, "application/x-patrol-batch", &r);
    sent = cJSON_CreateObject();
    add_hex(sent, "batch_id", batch_id, sizeof batch_id);
    cJSON_AddNumberToObject(sent, "entries", (double)count);
    cJSON_AddNumberToObject(sent, "body_len", (double)blen);
    print_result(o, &r, s, batch_id, sent);

    free(r.a.body);
    if (o->fill)
        for (uint64_t i = 0; i < count; i++)
            free(se[i].sig.data);
    for (size_t i = 0; i < nbuilt; i++)
        free(bl[i].entry);
    free(bl);
    free(se);
    free(sep);
    free(raw);
    free(frame);
    return 0;
}

/* ---- made-up bodies ---------------------------------------------------- */

/* The header of an LZ4 frame that declares 1 TiB of content, then one
 * small block and the end mark: a decoder that trusted the declared size
 * would allocate it. */
static uint8_t *huge_declared(size_t *len)
{
    LZ4F_cctx *cx = NULL;
    LZ4F_preferences_t pr;
    uint8_t src[1024], *out;
    size_t cap = LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(sizeof src, NULL) + 16, n, k;
    memset(&pr, 0, sizeof pr);
    memset(src, 'x', sizeof src);
    pr.frameInfo.contentSize = (unsigned long long)1 << 40;
    pr.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    out = xmalloc(cap);
    if (LZ4F_isError(LZ4F_createCompressionContext(&cx, LZ4F_VERSION)))
        die("lz4 context");
    n = LZ4F_compressBegin(cx, out, cap, &pr);
    if (LZ4F_isError(n))
        die("LZ4F_compressBegin: %s", LZ4F_getErrorName(n));
    k = LZ4F_compressUpdate(cx, out + n, cap - n, src, sizeof src, NULL);
    if (LZ4F_isError(k))
        die("LZ4F_compressUpdate: %s", LZ4F_getErrorName(k));
    n += k;
    k = LZ4F_flush(cx, out + n, cap - n, NULL);
    if (LZ4F_isError(k))
        die("LZ4F_flush: %s", LZ4F_getErrorName(k));
    n += k;
    memset(out + n, 0, 8); /* end mark and a (wrong) content checksum */
    n += 8;
    LZ4F_freeCompressionContext(cx);
    *len = n;
    return out;
}

static int cmd_raw(const opts *o, store *s, const peer *pr, int argc, char **argv)
{
    uint8_t *body = NULL;
    size_t blen = 0;
    const char *why, *kind;
    result r;
    cJSON *sent;

    if (argc != 1)
        die("raw KIND");
    kind = argv[0];
    if (strcmp(kind, "garbage") == 0) {
        blen = 4096;
        body = xmalloc(blen);
        random_bytes(body, blen);
        body[0] = 0x00; /* never the LZ4 magic by chance */
    } else if (strcmp(kind, "text-frame") == 0) {
        static const char text[] = "this is not a protobuf Batch, only text in an LZ4 frame\n";
        if (px_frame_encode(text, sizeof text - 1, &body, &blen, &why) != 0)
            die("frame: %s", why);
    } else if (strcmp(kind, "bomb") == 0) {
        size_t n = (size_t)16 << 20;
        uint8_t *zeros = calloc(1, n);
        if (!zeros)
            die("out of memory");
        if (px_frame_encode(zeros, n, &body, &blen, &why) != 0)
            die("frame: %s", why);
        free(zeros);
    } else if (strcmp(kind, "huge-declared") == 0) {
        body = huge_declared(&blen);
    } else if (strcmp(kind, "empty") == 0) {
        body = xmalloc(1);
        blen = 0;
    } else if (strncmp(kind, "big:", 4) == 0) {
        blen = (size_t)parse_num(kind + 4, "big:N");
        body = xmalloc(blen);
        random_bytes(body, blen);
    } else {
        die("raw: unknown KIND '%s'", kind);
    }
    perform(o, pr, "POST", "/v1/batches", body, blen, "application/x-patrol-batch", &r);
    sent = cJSON_CreateObject();
    cJSON_AddNumberToObject(sent, "body_len", (double)blen);
    print_result(o, &r, s, NULL, sent);
    free(r.a.body);
    free(body);
    return 0;
}

/* ---- evidence and the rest --------------------------------------------- */

static int cmd_head(const opts *o, store *s, const peer *pr, int argc, char **argv)
{
    char path[4200];
    result r;
    if (argc != 1)
        die("head ID");
    snprintf(path, sizeof path, "/v1/evidence/%s", argv[0]);
    perform(o, pr, "HEAD", path, NULL, 0, NULL, &r);
    print_result(o, &r, s, NULL, NULL);
    free(r.a.body);
    return 0;
}

static int cmd_patch(const opts *o, store *s, const peer *pr, int argc, char **argv)
{
    char path[4200], hdr[64];
    uint8_t *data, *frame = NULL;
    size_t len, from = 0, n;
    const uint8_t *body;
    size_t blen;
    opts o2 = *o;
    result r;
    const char *why;
    cJSON *sent;

    if (argc < 3 || argc > 5)
        die("patch ID OFFSET FILE [FROM [LEN]]");
    snprintf(path, sizeof path, "/v1/evidence/%s", argv[0]);
    snprintf(hdr, sizeof hdr, "Upload-Offset: %llu",
             (unsigned long long)parse_num(argv[1], "OFFSET"));
    data = read_all(argv[2], &len);
    if (argc >= 4)
        from = (size_t)parse_num(argv[3], "FROM");
    if (from > len)
        die("FROM %zu is past the end of %s (%zu bytes)", from, argv[2], len);
    n = len - from;
    if (argc == 5) {
        uint64_t want = parse_num(argv[4], "LEN");
        if (want < n)
            n = (size_t)want;
    }
    body = data + from;
    blen = n;
    if (o->lz4) {
        if (px_frame_encode(body, blen, &frame, &blen, &why) != 0)
            die("frame: %s", why);
        body = frame;
    }
    if (o2.n_extra + 3 > MAX_EXTRA)
        die("too many headers");
    o2.extra[o2.n_extra++] = hdr;
    o2.extra[o2.n_extra++] = "Tus-Resumable: 1.0.0";
    if (o->lz4)
        o2.extra[o2.n_extra++] = "Upload-Encoding: lz4";
    perform(&o2, pr, "PATCH", path, body, blen, "application/offset+octet-stream", &r);
    sent = cJSON_CreateObject();
    cJSON_AddNumberToObject(sent, "bytes", (double)n);
    cJSON_AddNumberToObject(sent, "body_len", (double)blen);
    print_result(o, &r, s, NULL, sent);
    free(r.a.body);
    free(frame);
    free(data);
    return 0;
}

static int cmd_request(const opts *o, store *s, const peer *pr, const char *method, int argc,
                       char **argv)
{
    uint8_t *body = NULL;
    size_t blen = 0;
    result r;
    if (argc < 1 || argc > 2)
        die("%s PATH [FILE]", method);
    if (argc == 2)
        body = read_all(argv[1], &blen);
    perform(o, pr, method, argv[0], body, blen, body ? "application/octet-stream" : NULL, &r);
    print_result(o, &r, s, NULL, NULL);
    free(r.a.body);
    free(body);
    return 0;
}

static int cmd_mkcert(int argc, char **argv)
{
    char *cak = NULL, *cac = NULL, *keyp = NULL, *crtp = NULL, *ca_pem, *pem = NULL;
    px_key *ca = NULL, *k = NULL;
    uint8_t pub[PX_PUBKEY_MAX];
    size_t publen, calen;
    uint64_t serial;
    const char *why = NULL;

    if (argc != 2)
        die("mkcert DATA OUTDIR");
    cak = path_join(argv[0], "ca.key");
    cac = path_join(argv[0], "ca.crt");
    keyp = path_join(argv[1], "device.key");
    crtp = path_join(argv[1], "client.crt");
    if (mkdir(argv[1], 0700) != 0 && errno != EEXIST)
        die("cannot create %s: %s", argv[1], strerror(errno));
    if (px_key_load_private(cak, &ca, &why) != 0)
        die("%s: %s", cak, why);
    ca_pem = (char *)read_all(cac, &calen);
    if (px_key_generate(&k, &why) != 0 || px_key_save_private(k, keyp, &why) != 0)
        die("%s: %s", keyp, why);
    if (px_key_public_der(k, pub, sizeof pub, &publen) != 0)
        die("public key");
    random_bytes(&serial, sizeof serial);
    serial = (serial >> 2) | 1;
    if (px_ca_issue(ca, ca_pem, pub, publen, "patrol-device-stray", serial, 30, &pem, &why) != 0)
        die("px_ca_issue: %s", why);
    write_all_file(crtp, pem, strlen(pem), 0644);
    printf("{\"key\":\"%s\",\"cert\":\"%s\"}\n", keyp, crtp);
    free(pem);
    free(ca_pem);
    px_key_free(ca);
    px_key_free(k);
    free(cak);
    free(cac);
    free(keyp);
    free(crtp);
    return 0;
}

/* ---- main -------------------------------------------------------------- */

/* ---- entries that break the record's rules ---------------------------- */

static int cmp_field(const void *a, const void *b)
{
    return strcmp((*(Patrol__V1__Field *const *)a)->name, (*(Patrol__V1__Field *const *)b)->name);
}

/* Append one entry to the store's journal as libpatrol would (chained,
 * signed by the device key), but without libpatrol's checks across
 * entries: the server must take it and flag it. */
static int cmd_append(const opts *o, int argc, char **argv)
{
    Patrol__V1__Entry e = PATROL__V1__ENTRY__INIT;
    Patrol__V1__Field f[32], *fp[32];
    sqlite3 *db;
    sqlite3_stmt *st;
    char *dbpath, *kp, object[80], dev8[9], matter[80];
    uint8_t device[PX_HASH_LEN], prev[PX_HASH_LEN], hash[PX_HASH_LEN], sig[PX_SIG_LEN], *buf;
    size_t n = 0, len;
    uint64_t seq = 0;
    const char *why = NULL;
    const px_kind_rule *k;
    px_key *key = NULL;
    struct timespec now;

    if (argc < 2)
        die("append KIND OBJECT [NAME=VALUE...]");
    if (!o->store)
        die("append needs --store");
    if (!(k = px_rules_find(argv[0])))
        die("append: unknown kind '%s'", argv[0]);
    dbpath = path_join(o->store, "patrol.db");
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    if (sqlite3_prepare_v2(db, "SELECT d.device_id, h.seq, h.hash FROM device d, head h", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != PX_HASH_LEN ||
        sqlite3_column_bytes(st, 2) != PX_HASH_LEN)
        die("%s: no device or journal head", dbpath);
    memcpy(device, sqlite3_column_blob(st, 0), PX_HASH_LEN);
    seq = (uint64_t)sqlite3_column_int64(st, 1) + 1;
    memcpy(prev, sqlite3_column_blob(st, 2), PX_HASH_LEN);
    sqlite3_finalize(st);
    px_format_hex(device, 4, dev8);
    if (strlen(argv[1]) == 2 && argv[1][1] == '@')
        snprintf(object, sizeof object, "%c-%s-%llu", argv[1][0], dev8, (unsigned long long)seq);
    else
        snprintf(object, sizeof object, "%s", argv[1]);
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || n >= 32)
            die("append: '%s' is not NAME=VALUE (at most 32)", argv[i]);
        *eq = '\0';
        patrol__v1__field__init(&f[n]);
        f[n].name = argv[i];
        f[n].value = eq + 1;
        fp[n] = &f[n];
        n++;
    }
    qsort(fp, n, sizeof fp[0], cmp_field);
    clock_gettime(CLOCK_REALTIME, &now);
    e.format = 1;
    e.device.data = device;
    e.device.len = PX_HASH_LEN;
    e.seq = seq;
    e.prev_hash.data = prev;
    e.prev_hash.len = PX_HASH_LEN;
    e.wall_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    e.mono_ns = (uint64_t)now.tv_sec * 1000000000u;
    e.boot_id = "e2e_wire";
    e.inspectors = (char **)o->inspectors;
    e.n_inspectors = o->n_inspectors;
    e.kind = argv[0];
    e.object = object;
    e.fields = fp;
    e.n_fields = n;
    e.corrects = o->corrects;
    if (px_entry_encode(&e, &buf, &len, &why) != 0)
        die("append: cannot encode: %s", why);
    px_entry_hash(buf, len, hash);
    kp = path_join(o->store, "device.key");
    if (px_key_load_private(kp, &key, &why) != 0)
        die("%s: %s", kp, why);
    if (px_sign(key, hash, sig) != 0)
        die("append: cannot sign");
    snprintf(matter, sizeof matter, "%s",
             k->scope == PX_SCOPE_MATTER || k->scope == PX_SCOPE_ENTRY ? object : "");
    if (sqlite3_prepare_v2(db, "INSERT INTO journal(seq, hash, entry, sig, kind, object, matter)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(st, 2, hash, PX_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, buf, (int)len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, sig, PX_SIG_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, argv[0], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, object, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, matter, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "UPDATE head SET seq = ?, hash = ?", -1, &st, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(st, 2, hash, PX_HASH_LEN, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    printf("{\"seq\":%llu,\"object\":\"%s\"}\n", (unsigned long long)seq, object);
    px_key_free(key);
    free(buf);
    free(kp);
    free(dbpath);
    sqlite3_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    store s;
    peer pr;
    int i, rc;
    const char *cmd;

    memset(&o, 0, sizeof o);
    memset(&s, 0, sizeof s);
    o.timeout_s = 20;
    o.content_length = -1;
    o.protocol = 1;
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int npos = 0;
    if (!pos)
        die("out of memory");
    /* Options may come before or after the command and its arguments. */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            pos[npos++] = argv[i];
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VAL() (v ? (i++, v) : (die("%s needs a value", a), ""))
        if (strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "--store") == 0) {
            o.store = VAL();
        } else if (strcmp(a, "--url") == 0) {
            o.url = VAL();
        } else if (strcmp(a, "--cert-from") == 0) {
            o.cert_from = VAL();
        } else if (strcmp(a, "--no-cert") == 0) {
            o.no_cert = 1;
        } else if (strcmp(a, "--timeout") == 0) {
            o.timeout_s = (long)parse_num(VAL(), a);
        } else if (strcmp(a, "--save-body") == 0) {
            o.save_body = VAL();
        } else if (strcmp(a, "--header") == 0) {
            if (o.n_extra >= MAX_EXTRA - 4)
                die("too many --header");
            o.extra[o.n_extra++] = VAL();
        } else if (strcmp(a, "--pad-header") == 0) {
            o.pad_header = (size_t)parse_num(VAL(), a);
        } else if (strcmp(a, "--many-headers") == 0) {
            o.many_headers = (unsigned)parse_num(VAL(), a);
        } else if (strcmp(a, "--content-length") == 0) {
            o.content_length = (long long)parse_num(VAL(), a);
        } else if (strcmp(a, "--batch-id") == 0) {
            o.batch_id_hex = VAL();
        } else if (strcmp(a, "--device") == 0) {
            o.device_hex = VAL();
        } else if (strcmp(a, "--device-of") == 0) {
            o.device_of = VAL();
        } else if (strcmp(a, "--skip") == 0) {
            o.skip = parse_num(VAL(), a);
        } else if (strcmp(a, "--edit") == 0) {
            o.edit = parse_num(VAL(), a);
        } else if (strcmp(a, "--flip") == 0) {
            o.flip = parse_num(VAL(), a);
        } else if (strcmp(a, "--resign") == 0) {
            o.resign = 1;
        } else if (strcmp(a, "--bad-sig") == 0) {
            o.bad_sig = parse_num(VAL(), a);
        } else if (strcmp(a, "--suite") == 0) {
            o.suite = parse_num(VAL(), a);
        } else if (strcmp(a, "--protocol") == 0) {
            o.protocol = parse_num(VAL(), a);
        } else if (strcmp(a, "--fill") == 0) {
            o.fill = parse_num(VAL(), a);
        } else if (strcmp(a, "--body") == 0) {
            o.body_mode = VAL();
        } else if (strcmp(a, "--lz4") == 0) {
            o.lz4 = 1;
        } else if (strcmp(a, "--corrects") == 0) {
            o.corrects = parse_num(VAL(), a);
        } else if (strcmp(a, "--inspector") == 0) {
            if (o.n_inspectors >= sizeof o.inspectors / sizeof o.inspectors[0])
                die("too many --inspector");
            o.inspectors[o.n_inspectors++] = (char *)VAL();
        } else {
            die("unknown option %s (see --help)", a);
        }
#undef VAL
    }
    if (npos == 0) {
        fputs(usage_text, stderr);
        free(pos);
        return 2;
    }
    argc = npos;
    argv = pos;
    i = 0;
    cmd = argv[i++];
    if (strcmp(cmd, "mkcert") == 0) {
        rc = cmd_mkcert(argc - i, argv + i);
        free(pos);
        return rc;
    }
    if (strcmp(cmd, "append") == 0) {
        rc = cmd_append(&o, argc - i, argv + i);
        free(pos);
        return rc;
    }
    if (o.resign && !o.edit)
        die("--resign goes with --edit");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init failed");
    if (o.store)
        store_open(&s, o.store);
    peer_load(&pr, &o, &s);
    if (strcmp(cmd, "batch") == 0)
        rc = cmd_batch(&o, &s, &pr, argc - i, argv + i);
    else if (strcmp(cmd, "raw") == 0)
        rc = cmd_raw(&o, &s, &pr, argc - i, argv + i);
    else if (strcmp(cmd, "head") == 0)
        rc = cmd_head(&o, &s, &pr, argc - i, argv + i);
    else if (strcmp(cmd, "patch") == 0)
        rc = cmd_patch(&o, &s, &pr, argc - i, argv + i);
    else if (strcmp(cmd, "get") == 0)
        rc = cmd_request(&o, &s, &pr, "GET", argc - i, argv + i);
    else if (strcmp(cmd, "request") == 0 && argc - i >= 2)
        rc = cmd_request(&o, &s, &pr, argv[i], argc - i - 1, argv + i + 1);
    else
        die("unknown command '%s' (see --help)", cmd);
    peer_free(&pr);
    store_close(&s);
    curl_global_cleanup();
    free(pos);
    return rc;
}
