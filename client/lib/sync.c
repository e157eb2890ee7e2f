/* sync.c -- the terminal side of sync (docs/protocol.md, docs/sync.md):
 * enrolment, batches of signed entries acknowledged by verified receipts,
 * resumable evidence upload (tus style) and the reference data pull.
 *
 * Network: sync_http.c (one pinned libcurl connection a call, timeouts,
 * retries). After enrolment every request presents the client certificate
 * (STORE/client.crt, written from the database) and the device key
 * (STORE/device.key).
 *
 * Invariants:
 *  - sync_state.acked_seq only ever comes from a receipt whose signature
 *    verified with the receipt key from enrolment, that names this device
 *    and this batch, and whose chain head is this journal's hash there.
 *  - The journal is only read. No transaction is open during network I/O.
 *  - Evidence offsets come from the server (HEAD, or the answer to a
 *    PATCH), never from what the terminal believes it sent.
 *  - Memory is bounded by one batch (1 MiB) and one evidence chunk (4 MiB),
 *    whatever the size of the journal or the evidence.
 */
#include "internal.h"
#include "sync_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "entry.h"
#include "frame.h"
#include "i18n.h"
#include "patrol.pb-c.h"
#include "reference.h"
#include "rules.h"
#include "tls.h"
#include "validate.h"

#include "protocol.h"

#define CERT_NAME "client.crt"
#define KEY_NAME "device.key"
#define CERT_MAX ((size_t)16 << 10)

/* What the server may send back, checked while receiving. */
#define MAX_SMALL_ANSWER PX_MAX_SMALL_ANSWER
#define MAX_ACK ((size_t)2 << 20)           /* 1000 statuses + missing evidence */
#define MAX_REFERENCE PX_REFERENCE_MAX_BYTES /* proto/reference.h: patrold imports no more */
#define RECEIPT_BODY_MAX 4096

/* Evidence: bytes per PATCH. The server takes 8 MiB; 4 MiB keeps one
 * request short. On a slow link the chunk shrinks so that one PATCH takes
 * about CHUNK_TARGET_S, well under the server's 120 s request limit. */
#define CHUNK_MAX ((size_t)4 << 20)
#define CHUNK_MIN ((size_t)64 << 10)
#define CHUNK_START ((size_t)1 << 20)
#define CHUNK_TARGET_S 20
#define TRIAL_BYTES ((size_t)64 << 10) /* what px_frame_worthwhile looks at */

#define BATCH_MIN_BYTES ((size_t)64 << 10) /* a batch shrinks to this on timeouts */
#define URL_MAX PX_URL_MAX
#define PROGRESS_EVERY_MS 250

#define DEF_ATTEMPTS 8
#define DEF_BACKOFF_MS 500
#define DEF_BACKOFF_MAX_MS 30000
#define DEF_TIMEOUT_S 3600
#define DEF_CONNECT_S 20
#define DEF_LOW_SPEED 64
#define DEF_LOW_SPEED_S 30

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- store helpers ------------------------------------------------------ */

/* Run one statement; types: 't' text, 'i' int64, 'b' blob (pointer, size_t). */
static int run(patrol *p, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("writing the store"));
    va_start(ap, types);
    for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
        if (types[i] == 't') {
            const char *s = va_arg(ap, const char *);
            rc = sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
        } else if (types[i] == 'i') {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else {
            const void *b = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = sqlite3_bind_blob(st, i + 1, b, (int)n, SQLITE_TRANSIENT);
        }
    }
    va_end(ap);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? PATROL_OK : px_db_fail(p, rc, _("writing the store"));
}

/* The integer columns of the first row of sql (with one optional int64
 * argument) into out[0..n). PATROL_ENOTFOUND without a row. */
static int ints(patrol *p, const char *sql, int has_arg, int64_t arg, int64_t *out, int n)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL), err = PATROL_OK;
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the store"));
    if (has_arg)
        sqlite3_bind_int64(st, 1, arg);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            out[i] = sqlite3_column_int64(st, i);
    } else {
        err = rc == SQLITE_DONE ? PATROL_ENOTFOUND : px_db_fail(p, rc, _("reading the store"));
    }
    sqlite3_finalize(st);
    return err;
}

/* The stored hash of journal entry seq. */
static int journal_hash(patrol *p, uint64_t seq, uint8_t out[PX_HASH_LEN])
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(p->db, "SELECT hash FROM journal WHERE seq = ?", -1, &st, NULL);
    int err = PATROL_OK;
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the journal"));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PX_HASH_LEN)
        memcpy(out, sqlite3_column_blob(st, 0), PX_HASH_LEN);
    else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        err = px_fail(p, PATROL_ECORRUPT, _("journal entry %llu is missing or damaged (run 'patrol "
                                          "verify')"),
                      (unsigned long long)seq);
    else
        err = px_db_fail(p, rc, _("reading the journal"));
    sqlite3_finalize(st);
    return err;
}

/* ---- enrolment token ------------------------------------------------------ */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Exactly `want` bytes of unpadded base64url. */
static int b64url_exact(const char *s, size_t len, uint8_t *out, size_t want)
{
    uint8_t buf[64];
    size_t n = 0;
    int rc = -1;
    if (len == 0 || len > 86 || memchr(s, '=', len))
        return -1;
    if (px_base64url_decode(s, len, buf, sizeof buf, &n) == 0 && n == want) {
        memcpy(out, buf, want);
        rc = 0;
    }
    px_wipe(buf, sizeof buf);
    return rc;
}

int px_token_parse(const char *s, px_token *out, const char **why)
{
    const char *part[4], *end;
    size_t len[4], k = 0;
    uint8_t id[PX_TOKEN_ID_LEN], secret[PX_TOKEN_SECRET_LEN];
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!s) {
        *why = "no token given";
        return -1;
    }
    while (is_space(*s))
        s++;
    end = s + strlen(s);
    while (end > s && is_space(end[-1]))
        end--;
    if (end == s) {
        *why = "the token is empty";
        return -1;
    }
    if (end - s > 200) {
        *why = "the token is too long to be an enrolment token";
        return -1;
    }
    part[0] = s;
    for (const char *q = s; q < end; q++)
        if (*q == '.') {
            if (k == 3) {
                *why = "the token has too many parts (expected PT1.<id>.<secret>.<pin>)";
                return -1;
            }
            len[k] = (size_t)(q - part[k]);
            part[++k] = q + 1;
        }
    if (k != 3) {
        *why = "the token has too few parts (expected PT1.<id>.<secret>.<pin>)";
        return -1;
    }
    len[3] = (size_t)(end - part[3]);
    if (len[0] != 3 || memcmp(part[0], "PT", 2) != 0) {
        *why = "not an enrolment token (it must start with PT1.)";
        return -1;
    }
    if (part[0][2] != '1') {
        *why = "the token is of a newer format than this patrol knows (PT1): update patrol";
        return -1;
    }
    if (b64url_exact(part[1], len[1], id, sizeof id) != 0) {
        *why = "the token's id is not 8 bytes of base64url";
        goto exit;
    }
    if (b64url_exact(part[2], len[2], secret, sizeof secret) != 0) {
        *why = "the token's secret is not 16 bytes of base64url";
        goto exit;
    }
    if (b64url_exact(part[3], len[3], out->pin, sizeof out->pin) != 0) {
        *why = "the token's server key pin is not a SHA-256 in base64url";
        goto exit;
    }
    /* id and secret are sent as they were written (11 and 22 characters). */
    snprintf(out->id_secret, sizeof out->id_secret, "%.*s.%.*s", (int)len[1], part[1],
             (int)len[2], part[2]);
    rc = 0;
exit:
    px_wipe(secret, sizeof secret);
    if (rc != 0)
        px_wipe(out, sizeof *out);
    return rc;
}

/* "https://host[:port][/path]": no user info, query, fragment or escapes;
 * stored without a trailing '/'. Returns NULL or what is wrong. */
static const char *check_url(const char *url, char *out, size_t cap)
{
    size_t n;
    if (!url || strncmp(url, "https://", 8) != 0)
        return "the server URL must start with https://";
    n = strlen(url);
    while (n > 8 && url[n - 1] == '/')
        n--;
    if (n == 8 || url[8] == '/' || url[8] == ':')
        return "the server URL has no host";
    if (n > URL_MAX || n >= cap)
        return "the server URL is too long";
    for (size_t i = 8; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= ' ' || ch >= 0x7f || strchr("@?#%\\\"'<>{}|^`", ch))
            return "the server URL may hold only a host, a port and a path (no spaces, user, "
                   "query or fragment)";
    }
    memcpy(out, url, n);
    out[n] = '\0';
    return NULL;
}

/* ---- receipts ------------------------------------------------------------- */

int px_receipt_check(const px_key *receipt_key, const uint8_t *body, size_t body_len,
                     const uint8_t *sig, size_t sig_len, const uint8_t device[PX_HASH_LEN],
                     const uint8_t *batch_id, size_t batch_id_len, px_receipt *out,
                     const char **why)
{
    Patrol__V1__ReceiptBody *b;
    uint8_t digest[PX_HASH_LEN];
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!receipt_key) {
        *why = "no receipt key (enrol again)";
        return -1;
    }
    if (!body || body_len == 0 || body_len > RECEIPT_BODY_MAX) {
        *why = "the receipt is empty or too large";
        return -1;
    }
    if (!sig || sig_len != PX_SIG_LEN) {
        *why = "the receipt's signature is missing or not 64 bytes";
        return -1;
    }
    /* Signature first: nothing of an unsigned body is looked at. */
    px_sha256(body, body_len, digest);
    if (px_verify(receipt_key, digest, sig) != 0) {
        *why = "the receipt's signature does not verify with the server's receipt key";
        return -1;
    }
    if (!(b = patrol__v1__receipt_body__unpack(NULL, body_len, body))) {
        *why = "the receipt's body is not a ReceiptBody";
        return -1;
    }
    if (b->device.len != PX_HASH_LEN || memcmp(b->device.data, device, PX_HASH_LEN) != 0)
        *why = "the receipt names another device";
    else if (batch_id && (b->batch_id.len != batch_id_len ||
                          memcmp(b->batch_id.data, batch_id, batch_id_len) != 0))
        *why = "the receipt is for another batch";
    else if (b->last_seq > (uint64_t)INT64_MAX || b->first_seq > b->last_seq)
        *why = "the receipt's sequence range is impossible";
    else if (b->last_seq > 0 && b->head_hash.len != PX_HASH_LEN)
        *why = "the receipt has no 32-byte chain head";
    else {
        out->first_seq = b->first_seq;
        out->last_seq = b->last_seq;
        if (b->last_seq > 0)
            memcpy(out->head_hash, b->head_hash.data, PX_HASH_LEN);
        out->server_time_ms = b->server_time_ms;
        px_http_clean(b->server_name, out->server_name, sizeof out->server_name);
        rc = 0;
    }
    patrol__v1__receipt_body__free_unpacked(b, NULL);
    return rc;
}

/* ---- batches -------------------------------------------------------------- */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void px_batch_free(px_batch *b)
{
    if (!b)
        return;
    free(b->frame);
    free(b->sizes);
    memset(b, 0, sizeof *b);
}

int px_batch_build(patrol *p, uint64_t from, size_t max_entries, size_t max_bytes,
                   const uint8_t batch_id[PX_BATCH_ID_LEN], px_batch *out)
{
    Patrol__V1__Batch b = PATROL__V1__BATCH__INIT;
    Patrol__V1__SignedEntry *se = NULL, **sep = NULL;
    uint8_t *arena = NULL, *raw = NULL;
    sqlite3_stmt *st = NULL;
    size_t total, used = 0, n = 0, packed, arena_cap;
    const char *why;
    int rc, err = PATROL_OK;

    memset(out, 0, sizeof *out);
    if (max_entries == 0 || max_entries > PX_SYNC_BATCH_ENTRIES)
        max_entries = PX_SYNC_BATCH_ENTRIES;
    if (max_bytes == 0 || max_bytes > PX_BATCH_MAX_BYTES)
        max_bytes = PX_BATCH_MAX_BYTES;
    /* protocol, batch_id and device; then per entry its SignedEntry. */
    total = 1 + varint_len(PX_PROTOCOL_VERSION) + 2 + PX_BATCH_ID_LEN + 2 + PX_HASH_LEN;
    /* The first entry goes in even if it alone is over max_bytes. */
    arena_cap = max_bytes > PX_ENTRY_MAX + PX_SIG_LEN ? max_bytes : PX_ENTRY_MAX + PX_SIG_LEN;
    se = calloc(max_entries, sizeof *se);
    sep = calloc(max_entries, sizeof *sep);
    out->sizes = calloc(max_entries, sizeof *out->sizes);
    arena = malloc(arena_cap);
    if (!se || !sep || !out->sizes || !arena) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    rc = sqlite3_prepare_v2(p->db, "SELECT seq, entry, sig FROM journal WHERE seq >= ?"
                                   " ORDER BY seq LIMIT ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        err = px_db_fail(p, rc, _("reading the journal"));
        goto exit;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max_entries);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        size_t elen = (size_t)sqlite3_column_bytes(st, 1);
        size_t slen = (size_t)sqlite3_column_bytes(st, 2);
        size_t se_size, add;

        if (seq != from + n) {
            err = px_fail(p, PATROL_ECORRUPT,
                          _("journal entry %llu is missing (run 'patrol verify')"),
                          (unsigned long long)(from + n));
            goto exit;
        }
        if (slen != PX_SIG_LEN || elen == 0 || elen > PX_ENTRY_MAX) {
            err = px_fail(p, PATROL_ECORRUPT,
                          _("journal entry %llu is damaged (run 'patrol verify')"),
                          (unsigned long long)seq);
            goto exit;
        }
        se_size = 1 + varint_len(elen) + elen + 1 + varint_len(PX_SIG_LEN) + PX_SIG_LEN;
        add = 1 + varint_len(se_size) + se_size;
        if (n > 0 && total + add > max_bytes)
            break;
        memcpy(arena + used, sqlite3_column_blob(st, 1), elen);
        memcpy(arena + used + elen, sqlite3_column_blob(st, 2), PX_SIG_LEN);
        patrol__v1__signed_entry__init(&se[n]);
        se[n].entry.data = arena + used;
        se[n].entry.len = elen;
        se[n].sig.data = arena + used + elen;
        se[n].sig.len = PX_SIG_LEN;
        sep[n] = &se[n];
        out->sizes[n] = (uint32_t)(elen + PX_SIG_LEN);
        used += elen + PX_SIG_LEN;
        total += add;
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = px_db_fail(p, rc, _("reading the journal"));
        goto exit;
    }
    if (n == 0) {
        err = px_fail(p, PATROL_ENOTFOUND, _("there is no journal entry %llu to send"),
                      (unsigned long long)from);
        goto exit;
    }
    b.protocol = PX_PROTOCOL_VERSION;
    b.batch_id.data = (uint8_t *)batch_id;
    b.batch_id.len = PX_BATCH_ID_LEN;
    b.device.data = p->device_id;
    b.device.len = PX_HASH_LEN;
    b.entries = sep;
    b.n_entries = n;
    packed = patrol__v1__batch__get_packed_size(&b);
    if (packed != total || !(raw = malloc(packed))) {
        err = packed != total ? px_fail(p, PATROL_EIO,
                                        _("batch size %zu differs from its plan %zu"), packed,
                                        total)
                              : px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    patrol__v1__batch__pack(&b, raw);
    if (px_frame_encode(raw, packed, &out->frame, &out->frame_len, &why) != 0) {
        err = px_fail(p, PATROL_ENOMEM, _("compressing a batch: %s"), why);
        goto exit;
    }
    out->raw_len = packed;
    out->first = from;
    out->last = from + n - 1;
    out->n = n;
exit:
    sqlite3_finalize(st);
    free(raw);
    free(arena);
    free(sep);
    free(se);
    if (err)
        px_batch_free(out);
    return err;
}

/* The HTTP layer (sync_http.c) under the names this file uses. */
typedef px_http_body body_src;
typedef px_http_answer answer;
typedef px_http_request request;
typedef px_http_conn conn;

/* ---- enrolment ------------------------------------------------------------ */

/* STORE/client.crt holds the client certificate of the database for
 * libcurl; (re)written when missing or different. */
static int cert_file(patrol *p, const char *pem, char **path_out)
{
    char *path = px_path(p, CERT_NAME), *tmp = px_path(p, CERT_NAME ".tmp");
    char *cur = NULL;
    size_t n = strlen(pem);
    int fd = -1, err = PATROL_OK, same = 0;

    *path_out = NULL;
    if (!path || !tmp || !(cur = malloc(CERT_MAX + 1))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        ssize_t r = read(fd, cur, CERT_MAX + 1);
        same = r >= 0 && (size_t)r == n && memcmp(cur, pem, n) == 0;
        close(fd);
        fd = -1;
    }
    if (same)
        goto exit;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || px_write_all(fd, pem, n) != 0 || fsync(fd) != 0) {
        err = px_fail(p, errno == ENOSPC ? PATROL_ENOSPC : PATROL_EIO,
                      _("cannot write %s: %s"), tmp, strerror(errno));
        goto exit;
    }
    if (close(fd) != 0 || (fd = -1, rename(tmp, path) != 0) || px_fsync_dir(p->dir) != 0) {
        fd = -1;
        err = px_fail(p, PATROL_EIO, _("cannot write %s: %s"), path, strerror(errno));
        goto exit;
    }
exit:
    if (fd >= 0)
        close(fd);
    if (err && tmp)
        unlink(tmp);
    free(cur);
    free(tmp);
    if (err)
        free(path);
    else
        *path_out = path;
    return err;
}

static const patrol_sync_opts *resolve_opts(const patrol_sync_opts *in, patrol_sync_opts *o)
{
    if (in)
        *o = *in;
    else
        memset(o, 0, sizeof *o);
#define DEF(f, v)                                                                                  \
    if (!o->f)                                                                                     \
    o->f = (v)
    DEF(max_attempts, DEF_ATTEMPTS);
    DEF(backoff_initial_ms, DEF_BACKOFF_MS);
    DEF(backoff_max_ms, DEF_BACKOFF_MAX_MS);
    DEF(timeout_s, DEF_TIMEOUT_S);
    DEF(connect_timeout_s, DEF_CONNECT_S);
    DEF(low_speed_bytes, DEF_LOW_SPEED);
    DEF(low_speed_s, DEF_LOW_SPEED_S);
    DEF(batch_entries, PX_SYNC_BATCH_ENTRIES);
    DEF(batch_bytes, PX_BATCH_MAX_BYTES);
    DEF(chunk_bytes, CHUNK_MAX);
#undef DEF
    if (o->batch_entries > PX_SYNC_BATCH_ENTRIES)
        o->batch_entries = PX_SYNC_BATCH_ENTRIES;
    if (o->batch_bytes > PX_BATCH_MAX_BYTES)
        o->batch_bytes = PX_BATCH_MAX_BYTES;
    if (o->chunk_bytes > CHUNK_MAX)
        o->chunk_bytes = CHUNK_MAX;
    if (o->backoff_max_ms < o->backoff_initial_ms)
        o->backoff_max_ms = o->backoff_initial_ms;
    return o;
}

static int enroll_locked(patrol *p, const char *server_url, const char *token, unsigned flags,
                         patrol_enrolment *out)
{
    Patrol__V1__EnrollRequest rq = PATROL__V1__ENROLL_REQUEST__INIT;
    Patrol__V1__EnrollResponse *rs = NULL;
    patrol_sync_opts o;
    px_token tok;
    px_key *rk = NULL;
    conn c;
    answer a;
    request req;
    char url[URL_MAX + 1], name[256], dept[PATROL_ID_MAX], cn[32], sname[128], rdept[PATROL_ID_MAX];
    char *csr = NULL, *certpath = NULL;
    uint8_t *body = NULL, id[PX_HASH_LEN];
    const char *why;
    int64_t n = 0;
    int err, enrolled;

    memset(&c, 0, sizeof c);
    memset(&a, 0, sizeof a);
    memset(&tok, 0, sizeof tok);
    memset(&req, 0, sizeof req);
    p->errmsg[0] = '\0';
    if (out)
        memset(out, 0, sizeof *out);
    if ((why = check_url(server_url, url, sizeof url)))
        return px_fail(p, PATROL_EINVAL, "%s", why);
    if (px_token_parse(token, &tok, &why) != 0)
        return px_fail(p, PATROL_EINVAL, _("enrolment token: %s"), why);
    if ((err = ints(p, "SELECT count(*) FROM sync_server", 0, 0, &n, 1)))
        goto exit;
    enrolled = n > 0;
    if (enrolled && !(flags & PATROL_ENROLL_FORCE)) {
        char have[URL_MAX + 1] = "";
        px_get_text(p, have, sizeof have, "SELECT url FROM sync_server", "");
        err = px_fail(p, PATROL_EEXIST,
                      _("this terminal is enrolled with %s already; enrolling again (force) "
                      "restarts sync for the new server"),
                      have);
        goto exit;
    }
    if ((err = px_get_text(p, name, sizeof name, "SELECT name FROM device", "")) ||
        (err = px_get_text(p, dept, sizeof dept, "SELECT department FROM device", "")))
        goto exit;
    snprintf(cn, sizeof cn, "patrol-%s", p->dev8);
    if (px_csr_create(p->key, cn, &csr, &why) != 0) {
        err = px_fail(p, PATROL_ECRYPTO, _("certificate request: %s"), why);
        goto exit;
    }
    rq.token = tok.id_secret;
    rq.csr_pem = csr;
    rq.device_name = name;
    rq.department = dept;
    if (!(body = malloc(patrol__v1__enroll_request__get_packed_size(&rq)))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    req.method = "POST";
    req.path = "/v1/enroll";
    req.content_type = "application/x-protobuf";
    req.body = body;
    req.body_len = patrol__v1__enroll_request__pack(&rq, body);
    req.max_answer = MAX_SMALL_ANSWER;
    req.once = 1; /* the token is used up by the server's first answer */
    /* Someone waits at the terminal: fewer tries than a sync. */
    resolve_opts(NULL, &o);
    o.max_attempts = 4;
    o.timeout_s = 120;
    if ((err = px_http_open(&c, p, url, tok.pin, NULL, NULL, &o)))
        goto exit;
    c.enrolling = 1;
    if ((err = px_http_retry(&c, &req, &a, _("enrolling"))))
        goto exit;
    if (a.status != 200) {
        char reason[64];
        err = px_http_refusal(&c, &a, _("enrolling"), PATROL_ESERVER, reason, sizeof reason);
        if (strcmp(reason, "token_used") == 0 || strcmp(reason, "token_expired") == 0 ||
            strcmp(reason, "token_unknown") == 0)
            px_fail(p, err, _("enrolling: the server refused the token (%s): ask the station "
                            "for a new one ('patrold device add')"),
                    reason);
        else if (strcmp(reason, "identity") == 0)
            px_fail(p, err, _("enrolling: this token was issued for another device name or "
                            "department than this terminal's ('%s', %s): ask the station for a "
                            "token for this terminal ('patrold device add --name %s --department %s')"),
                    name, dept, name, dept);
        goto exit;
    }
    if (!(rs = patrol__v1__enroll_response__unpack(NULL, a.len, a.body))) {
        err = px_fail(p, PATROL_ESERVER, _("enrolling: the server's answer is not an "
                                         "EnrollResponse"));
        goto exit;
    }
    /* The answer came over the pinned connection; still, it must be for
     * this key, or the terminal could never sync with it. */
    if (rs->device.len != PX_HASH_LEN || memcmp(rs->device.data, p->device_id, PX_HASH_LEN) != 0 ||
        px_cert_key_id(rs->client_cert_pem, strlen(rs->client_cert_pem), id, &why) != 0 ||
        memcmp(id, p->device_id, PX_HASH_LEN) != 0) {
        err = px_fail(p, PATROL_ETRUST, _("enrolling: the certificate the server issued is not for "
                                        "this terminal's key"));
        goto exit;
    }
    if (strlen(rs->client_cert_pem) > CERT_MAX || strlen(rs->ca_cert_pem) > CERT_MAX ||
        px_cert_key_id(rs->ca_cert_pem, strlen(rs->ca_cert_pem), id, &why) != 0) {
        err = px_fail(p, PATROL_ESERVER, _("enrolling: the server's device CA certificate is "
                                         "unusable"));
        goto exit;
    }
    if (px_key_from_public_der(rs->receipt_key.data, rs->receipt_key.len, &rk, &why) != 0) {
        err = px_fail(p, PATROL_ESERVER, _("enrolling: the server's receipt key: %s"), why);
        goto exit;
    }
    px_http_clean(rs->server_name, sname, sizeof sname);
    if (px_check_ident(rs->department))
        snprintf(rdept, sizeof rdept, "%s", dept);
    else
        snprintf(rdept, sizeof rdept, "%s", rs->department);

    if ((err = px_begin(p)))
        goto exit;
    if ((err = run(p, "INSERT OR REPLACE INTO sync_server(one, url, pin, client_cert, ca_cert,"
                      " receipt_key, server_name, department, enrolled_ms)"
                      " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "tbttbtti", url, tok.pin, (size_t)PX_HASH_LEN, rs->client_cert_pem,
                   rs->ca_cert_pem, rs->receipt_key.data, rs->receipt_key.len, sname, rdept,
                   now_ms())) ||
        /* A new server holds nothing of this terminal yet. */
        (err = run(p, "UPDATE sync_state SET acked_seq = 0, last_sync_ms = 0,"
                      " reference_version = 0, rejected_seq = 0, rejected_reason = '',"
                      " rejected_detail = '', cited_since = 0",
                   "")) ||
        (err = run(p, "DELETE FROM evidence_uploaded", "")) || (err = px_commit(p))) {
        px_rollback(p);
        goto exit;
    }
    /* For libcurl; written again by patrol_sync if this fails now. */
    if (cert_file(p, rs->client_cert_pem, &certpath) != PATROL_OK)
        p->errmsg[0] = '\0';
    if (out) {
        px_format_hex(p->device_id, PX_HASH_LEN, out->device_id);
        snprintf(out->server_url, sizeof out->server_url, "%s", url);
        snprintf(out->server_name, sizeof out->server_name, "%s", sname);
        snprintf(out->department, sizeof out->department, "%s", rdept);
        out->department_differs = strcmp(rdept, dept) != 0;
    }
    err = PATROL_OK;
exit:
    px_http_close(&c);
    px_http_answer_free(&a);
    if (rs)
        patrol__v1__enroll_response__free_unpacked(rs, NULL);
    px_key_free(rk);
    px_wipe(&tok, sizeof tok);
    if (body)
        px_wipe(body, req.body_len); /* it holds the token's secret */
    free(csr);
    free(body);
    free(certpath);
    return err;
}

/* Enrolment and sync hold the sync lock (docs/store.md "Locks") for their
 * whole run: two at once on one store would race on client.crt and on
 * what is marked acknowledged. Recording and reading go on meanwhile. */
int patrol_enroll(patrol *p, const char *server_url, const char *token, unsigned flags,
                  patrol_enrolment *out)
{
    int err;
    p->errmsg[0] = '\0';
    if (out)
        memset(out, 0, sizeof *out);
    if ((err = px_sync_lock(p)))
        return err;
    err = enroll_locked(p, server_url, token, flags, out);
    px_sync_unlock(p);
    return err;
}

/* ---- sync ----------------------------------------------------------------- */

typedef struct syncer {
    patrol *p;
    conn c;
    patrol_sync_opts o;
    patrol_sync_result *r;
    px_key *receipt_key;
    uint8_t pin[PX_HASH_LEN];
    uint64_t head, acked, acked_start;
    /* the first error that did not stop the sync (a rejected entry,
     * refused evidence), returned at the end */
    int deferred;
    char deferred_msg[sizeof ((patrol *)0)->errmsg];
    /* progress */
    patrol_sync_progress pr;
    uint64_t inflight_cap;
    int64_t start_ms, last_emit, rate_ms;
    double rate, rate_bytes;
    /* evidence the server asked for, sha256 hex */
    char (*want)[65];
    size_t n_want, cap_want;
    uint8_t *chunk;
    size_t chunk_cur;
} syncer;

static void defer(syncer *s, int err)
{
    if (!s->deferred) {
        s->deferred = err;
        snprintf(s->deferred_msg, sizeof s->deferred_msg, "%s", s->p->errmsg);
    }
}

static void emit(syncer *s, uint64_t inflight, int force)
{
    patrol_sync_progress v;
    int64_t now = mono_ms();
    double done;

    if (!s->o.progress || (!force && now - s->last_emit < PROGRESS_EVERY_MS))
        return;
    if (inflight > s->inflight_cap)
        inflight = s->inflight_cap;
    if (s->pr.bytes_done + inflight > s->pr.bytes_total)
        s->pr.bytes_total = s->pr.bytes_done + inflight;
    done = (double)(s->pr.bytes_done + inflight);
    /* The rate: a moving average of one-second samples; until the first
     * sample, the average since the start. */
    if (now - s->rate_ms >= 1000) {
        double inst = (done - s->rate_bytes) * 1000.0 / (double)(now - s->rate_ms);
        if (inst < 0)
            inst = 0;
        s->rate = s->rate > 0 ? 0.7 * s->rate + 0.3 * inst : inst;
        s->rate_ms = now;
        s->rate_bytes = done;
    }
    v = s->pr;
    v.rate = s->rate;
    if (v.rate <= 0 && now - s->start_ms >= 100)
        v.rate = done * 1000.0 / (double)(now - s->start_ms);
    v.bytes_done = (uint64_t)done;
    v.entries_done = s->acked > s->acked_start ? s->acked - s->acked_start : 0;
    if (v.entries_done > v.entries_total)
        v.entries_done = v.entries_total;
    s->last_emit = now;
    s->o.progress(s->o.progress_ud, &v);
}

static void on_progress(void *ud, uint64_t sent_now)
{
    emit(ud, sent_now, 0);
}

static void add_done(syncer *s, int64_t delta)
{
    if (delta < 0 && (uint64_t)-delta > s->pr.bytes_done)
        s->pr.bytes_done = 0;
    else
        s->pr.bytes_done += (uint64_t)delta;
}

static int want_add(syncer *s, const char *sha)
{
    if (s->n_want == s->cap_want) {
        size_t cap = s->cap_want ? 2 * s->cap_want : 64;
        char(*n)[65] = realloc(s->want, cap * sizeof *n);
        if (!n)
            return px_fail(s->p, PATROL_ENOMEM, _("out of memory"));
        s->want = n;
        s->cap_want = cap;
    }
    snprintf(s->want[s->n_want++], 65, "%s", sha);
    return PATROL_OK;
}

static int is_sha_hex(const char *s)
{
    uint8_t tmp[PX_HASH_LEN];
    return s && strlen(s) == 64 && px_parse_hex(s, tmp, sizeof tmp) == NULL;
}

static int forget_uploads_after(patrol *p, uint64_t seq);

/* Store a verified receipt and what it acknowledges, in one transaction.
 * A receipt below the acknowledged entry (the server lost entries) also
 * takes the evidence of the lost entries off evidence_uploaded. */
static int store_receipt(syncer *s, const uint8_t id[PX_BATCH_ID_LEN], const px_receipt *rc,
                         const Patrol__V1__Receipt *raw, uint64_t rej_seq, const char *reason,
                         const char *detail)
{
    patrol *p = s->p;
    int err;
    if ((err = px_begin(p)))
        return err;
    if (rc->last_seq < s->acked && (err = forget_uploads_after(p, rc->last_seq))) {
        px_rollback(p);
        return err;
    }
    if ((err = run(p, "INSERT INTO receipts(server_pin, batch_id, first_seq, last_seq, head_hash,"
                      " server_time_ms, received_ms, body, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "bbiibiibb", s->pin, (size_t)PX_HASH_LEN, id, (size_t)PX_BATCH_ID_LEN,
                   (int64_t)rc->first_seq, (int64_t)rc->last_seq, rc->head_hash,
                   (size_t)(rc->last_seq ? PX_HASH_LEN : 0), rc->server_time_ms, now_ms(),
                   raw->body.data, raw->body.len, raw->sig.data, raw->sig.len)) ||
        (err = run(p, "UPDATE sync_state SET acked_seq = ?, rejected_seq = ?,"
                      " rejected_reason = ?, rejected_detail = ?",
                   "iitt", (int64_t)rc->last_seq, (int64_t)rej_seq, reason, detail)) ||
        (err = px_commit(p))) {
        px_rollback(p);
        return err;
    }
    return PATROL_OK;
}

/* The answer to a batch: verify the receipt against this journal, store
 * it, and say where to go on (*next). */
/* Whether a verified receipt speaks of this journal: its chain head is
 * this journal's hash at its last_seq. */
static int receipt_matches(syncer *s, const px_receipt *rc, int *match)
{
    uint8_t ours[PX_HASH_LEN];
    int err;
    *match = 0;
    if (rc->last_seq > s->head)
        return PATROL_OK;
    if (rc->last_seq == 0) {
        *match = 1;
        return PATROL_OK;
    }
    if ((err = journal_hash(s->p, rc->last_seq, ours)))
        return err;
    *match = memcmp(ours, rc->head_hash, PX_HASH_LEN) == 0;
    return PATROL_OK;
}

/* The answer to a batch: verify the receipt against this journal, store
 * it, and say where to go on (*next). */
static int take_ack(syncer *s, const px_batch *b, const uint8_t id[PX_BATCH_ID_LEN],
                    const answer *a, uint64_t *next)
{
    patrol *p = s->p;
    Patrol__V1__Ack *ack = patrol__v1__ack__unpack(NULL, a->len, a->body);
    Patrol__V1__EntryAck *rej = NULL;
    px_receipt rc;
    px_log_checkpoint lc;
    char reason[64] = "", detail[256] = "", other[160] = "";
    uint64_t prev = s->acked, accepted = 0, dup = 0, rej_seq = 0;
    const char *why;
    int err = PATROL_OK, match;

    if (!ack)
        return px_fail(p, PATROL_ESERVER, _("the server's answer to a batch is not an Ack"));
    if (ack->batch_id.len != PX_BATCH_ID_LEN ||
        memcmp(ack->batch_id.data, id, PX_BATCH_ID_LEN) != 0) {
        err = px_fail(p, PATROL_ESERVER, _("the server answered for another batch"));
        goto exit;
    }
    if (!ack->receipt) {
        err = px_fail(p, PATROL_ETRUST,
                      _("the server's answer to entries %llu-%llu has no receipt"),
                      (unsigned long long)b->first, (unsigned long long)b->last);
        goto exit;
    }
    if (px_receipt_check(s->receipt_key, ack->receipt->body.data, ack->receipt->body.len,
                         ack->receipt->sig.data, ack->receipt->sig.len, p->device_id, id,
                         PX_BATCH_ID_LEN, &rc, &why) != 0) {
        err = px_fail(p, PATROL_ETRUST, _("receipt for entries %llu-%llu: %s; nothing was marked "
                                        "synced"),
                      (unsigned long long)b->first, (unsigned long long)b->last, why);
        goto exit;
    }
    /* The server log's checkpoint and proof, when sent: checked before
     * anything is marked synced. */
    if ((err = px_sync_log_check(p, s->receipt_key, ack, &lc)))
        goto exit;
    for (size_t i = 0; i < ack->n_entries; i++) {
        Patrol__V1__EntryAck *e = ack->entries[i];
        if (e->status == PATROL__V1__ENTRY_STATUS__ACCEPTED)
            accepted++;
        else if (e->status == PATROL__V1__ENTRY_STATUS__DUPLICATE)
            dup++;
        else if (!rej)
            rej = e;
    }
    if (rej) {
        px_http_clean(rej->reason, reason, sizeof reason);
        px_http_clean(rej->detail, detail, sizeof detail);
        rej_seq = rej->seq;
    }
    if ((err = receipt_matches(s, &rc, &match)))
        goto exit;
    if (!match && (!rej || strcmp(reason, "gap") == 0)) {
        err = rc.last_seq > s->head
                  ? px_fail(p, PATROL_ETRUST, _("the server's receipt covers entry %llu, but this "
                                              "terminal has only %llu; nothing was marked synced"),
                            (unsigned long long)rc.last_seq, (unsigned long long)s->head)
                  : px_fail(p, PATROL_ETRUST,
                            _("the server's chain head at entry %llu is not this journal's: the "
                            "server holds another history; nothing was marked synced"),
                            (unsigned long long)rc.last_seq);
        goto exit;
    }
    if (rej && strcmp(reason, "gap") == 0) {
        /* The server lacks entries before this batch (it lost data, or this
         * terminal's acknowledged seq is from a receipt it no longer
         * honours): resend from where it says. */
        uint64_t exp = ack->expected_seq;
        if (exp < 1 || exp >= b->first || exp > rc.last_seq + 1) {
            err = px_fail(p, PATROL_ESERVER, _("the server reports a gap before entry %llu but "
                                             "expects entry %llu"),
                          (unsigned long long)b->first, (unsigned long long)exp);
            goto exit;
        }
        rej = NULL;
        rej_seq = 0;
        reason[0] = detail[0] = '\0';
        *next = exp;
        if (rc.last_seq < s->acked) {
            /* Restored from a backup, say: what it lost is resent now. */
            s->r->server_seq = rc.last_seq;
            s->r->server_lost += s->acked - rc.last_seq;
        }
    } else if (!rej && rc.last_seq < b->last) {
        err = px_fail(p, PATROL_ESERVER, _("the server accepted entries %llu-%llu but its receipt "
                                         "covers only up to %llu"),
                      (unsigned long long)b->first, (unsigned long long)b->last,
                      (unsigned long long)rc.last_seq);
        goto exit;
    } else {
        *next = rc.last_seq + 1;
    }
    if (match) {
        if ((err = store_receipt(s, id, &rc, ack->receipt, rej_seq, reason, detail)))
            goto exit;
        if ((err = px_sync_log_keep(p, s->pin, &lc)))
            goto exit;
        s->acked = rc.last_seq;
        s->r->acked_seq = rc.last_seq;
        s->r->receipts++;
        for (size_t i = 0; i < b->n; i++)
            if (b->first + i > prev && b->first + i <= rc.last_seq)
                add_done(s, b->sizes[i]);
    } else {
        /* Rejected, and the server's chain is not this journal's (a fork:
         * its receipt covers its own entries). It proves nothing about
         * this journal: not stored, nothing marked synced. The rejection
         * is kept for 'patrol status'. */
        if ((err = run(p, "UPDATE sync_state SET rejected_seq = ?, rejected_reason = ?,"
                          " rejected_detail = ?",
                       "itt", (int64_t)rej_seq, reason, detail)))
            goto exit;
        snprintf(other, sizeof other, "; the server holds another history up to its entry %llu, "
                                      "so nothing was marked synced",
                 (unsigned long long)rc.last_seq);
    }
    s->r->batches++;
    s->r->entries_accepted += accepted;
    s->r->entries_duplicate += dup;
    for (size_t i = 0; i < ack->n_missing_evidence; i++)
        if (is_sha_hex(ack->missing_evidence[i]) &&
            (err = want_add(s, ack->missing_evidence[i])))
            goto exit;
    if (rej) {
        s->r->rejected_seq = rej_seq;
        snprintf(s->r->rejected_reason, sizeof s->r->rejected_reason, "%s", reason);
        snprintf(s->r->rejected_detail, sizeof s->r->rejected_detail, "%s", detail);
        err = px_fail(p, PATROL_EREJECTED,
                      _("the server rejected entry %llu (%s)%s%s%s; later entries were not sent "
                      "and the journal is unchanged: a supervisor must look at it"),
                      (unsigned long long)rej_seq, reason[0] ? reason : "no reason given",
                      detail[0] ? ": " : "", detail, other);
    }
exit:
    patrol__v1__ack__free_unpacked(ack, NULL);
    return err;
}

/* The evidence named by entries after seq no longer counts as uploaded
 * (inside the caller's transaction): the server lost those entries, and
 * takes evidence only for entries it holds. */
static int forget_uploads_after(patrol *p, uint64_t seq)
{
    sqlite3_stmt *st;
    int rc, err = PATROL_OK;

    rc = sqlite3_prepare_v2(p->db,
                            "SELECT seq, entry FROM journal WHERE kind = 'evidence.add'"
                            " AND seq > ? ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the journal"));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *why;
        Patrol__V1__Entry *e = px_entry_decode(sqlite3_column_blob(st, 1),
                                               (size_t)sqlite3_column_bytes(st, 1), &why);
        if (!e) {
            err = px_fail(p, PATROL_ECORRUPT, _("journal entry %lld: %s (run 'patrol verify')"),
                          (long long)sqlite3_column_int64(st, 0), why);
            break;
        }
        for (size_t i = 0; i < e->n_fields; i++)
            if (strcmp(e->fields[i]->name, "sha256") == 0)
                err = run(p, "DELETE FROM evidence_uploaded WHERE sha256 = ?", "t",
                          e->fields[i]->value);
        px_entry_free(e);
    }
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = px_db_fail(p, rc, _("reading the journal"));
    sqlite3_finalize(st);
    return err;
}

/* Where the server stands, when there is nothing to send (otherwise the
 * first batch's answer tells): an empty Batch (it
 * stores nothing and leaves no trace, docs/protocol.md) is answered with
 * an Ack whose signed receipt covers 1..the server's head for this device
 * and lists the evidence it lacks. A server behind the acknowledged entry
 * (restored from a backup, say) has lost entries it once acknowledged:
 * acked_seq drops to what it holds, in one transaction with its receipt,
 * the evidence of the lost entries no longer counts as uploaded, and the
 * sync resends all of it at once; a chain there that is not this
 * journal's stops the sync, as a batch's receipt would. A server at or
 * ahead of it changes nothing here: the batches settle that. */
static int probe_server(syncer *s)
{
    patrol *p = s->p;
    Patrol__V1__Batch b = PATROL__V1__BATCH__INIT;
    Patrol__V1__Ack *ack = NULL;
    uint8_t id[PX_BATCH_ID_LEN], *raw = NULL, *frame = NULL;
    size_t rawlen, framelen;
    px_receipt rc;
    px_log_checkpoint lc;
    request rq;
    answer a;
    const char *why;
    int err = PATROL_OK, match;

    memset(&a, 0, sizeof a);
    s->pr.phase = "entries";
    if (px_random(id, sizeof id) != 0)
        return px_fail(p, PATROL_ECRYPTO, _("no randomness for a batch id"));
    b.protocol = PX_PROTOCOL_VERSION;
    b.batch_id.data = id;
    b.batch_id.len = PX_BATCH_ID_LEN;
    b.device.data = p->device_id;
    b.device.len = PX_HASH_LEN;
    rawlen = patrol__v1__batch__get_packed_size(&b);
    if (!(raw = malloc(rawlen))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    patrol__v1__batch__pack(&b, raw);
    if (px_frame_encode(raw, rawlen, &frame, &framelen, &why) != 0) {
        err = px_fail(p, PATROL_ENOMEM, _("compressing a batch: %s"), why);
        goto exit;
    }
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = "/v1/batches";
    rq.content_type = "application/x-patrol-batch";
    rq.body = frame;
    rq.body_len = framelen;
    rq.max_answer = MAX_ACK;
    if ((err = px_http_retry(&s->c, &rq, &a, _("asking the server what it holds"))))
        goto exit;
    if (a.status != 200) {
        err = px_http_refusal(&s->c, &a, _("asking the server what it holds"), PATROL_ESERVER, NULL, 0);
        goto exit;
    }
    if (!(ack = patrol__v1__ack__unpack(NULL, a.len, a.body))) {
        err = px_fail(p, PATROL_ESERVER, _("the server's answer to a batch is not an Ack"));
        goto exit;
    }
    if (ack->batch_id.len != PX_BATCH_ID_LEN ||
        memcmp(ack->batch_id.data, id, PX_BATCH_ID_LEN) != 0) {
        err = px_fail(p, PATROL_ESERVER, _("the server answered for another batch"));
        goto exit;
    }
    if (!ack->receipt || px_receipt_check(s->receipt_key, ack->receipt->body.data,
                                          ack->receipt->body.len, ack->receipt->sig.data,
                                          ack->receipt->sig.len, p->device_id, id,
                                          PX_BATCH_ID_LEN, &rc, &why) != 0) {
        err = px_fail(p, PATROL_ETRUST, _("the server's receipt for what it holds: %s; nothing "
                                          "was marked synced"),
                      ack->receipt ? why : _("missing"));
        goto exit;
    }
    if ((err = px_sync_log_check(p, s->receipt_key, ack, &lc)))
        goto exit;
    s->r->server_seq = rc.last_seq;
    if (rc.last_seq >= s->acked) {
        /* Holding all that it acknowledged (or more: the batches settle
         * that, entry by entry, with their receipts and log proofs). */
        for (size_t i = 0; i < ack->n_missing_evidence && !err; i++)
            if (is_sha_hex(ack->missing_evidence[i]))
                err = want_add(s, ack->missing_evidence[i]);
        goto exit;
    }
    if ((err = receipt_matches(s, &rc, &match)))
        goto exit;
    if (!match) {
        err = px_fail(p, PATROL_ETRUST,
                      _("the server's chain head at entry %llu is not this journal's: the "
                        "server holds another history; nothing was marked synced"),
                      (unsigned long long)rc.last_seq);
        goto exit;
    }
    if ((err = px_begin(p)))
        goto exit;
    if ((err = run(p, "INSERT INTO receipts(server_pin, batch_id, first_seq, last_seq,"
                      " head_hash, server_time_ms, received_ms, body, sig)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "bbiibiibb", s->pin, (size_t)PX_HASH_LEN, id, (size_t)PX_BATCH_ID_LEN,
                   (int64_t)rc.first_seq, (int64_t)rc.last_seq, rc.head_hash,
                   (size_t)(rc.last_seq ? PX_HASH_LEN : 0), rc.server_time_ms, now_ms(),
                   ack->receipt->body.data, ack->receipt->body.len, ack->receipt->sig.data,
                   ack->receipt->sig.len)) ||
        (err = run(p, "UPDATE sync_state SET acked_seq = ?", "i", (int64_t)rc.last_seq))) {
        px_rollback(p);
        goto exit;
    }
    /* Evidence the server says it lacks, and that of the entries it lost,
     * is not uploaded whatever this store noted: sent again (HEAD first). */
    for (size_t i = 0; i < ack->n_missing_evidence && !err; i++)
        if (is_sha_hex(ack->missing_evidence[i]))
            err = run(p, "DELETE FROM evidence_uploaded WHERE sha256 = ?", "t",
                      ack->missing_evidence[i]);
    if (!err)
        err = forget_uploads_after(p, rc.last_seq);
    if (err || (err = px_commit(p))) {
        px_rollback(p);
        goto exit;
    }
    if ((err = px_sync_log_keep(p, s->pin, &lc)))
        goto exit;
    for (size_t i = 0; i < ack->n_missing_evidence && !err; i++)
        if (is_sha_hex(ack->missing_evidence[i]))
            err = want_add(s, ack->missing_evidence[i]);
    s->r->server_lost = s->acked - rc.last_seq;
    s->r->receipts++;
    s->acked = s->acked_start = rc.last_seq;
    s->r->acked_seq = rc.last_seq;
exit:
    if (ack)
        patrol__v1__ack__free_unpacked(ack, NULL);
    px_http_answer_free(&a);
    free(raw);
    free(frame);
    return err;
}

static int sync_entries(syncer *s)
{
    patrol *p = s->p;
    uint64_t from = s->acked + 1;
    size_t budget = s->o.batch_bytes;
    unsigned tries = 0;
    uint8_t id[PX_BATCH_ID_LEN];
    px_batch b;
    answer a;
    int err = PATROL_OK;

    memset(&b, 0, sizeof b);
    memset(&a, 0, sizeof a);
    s->pr.phase = "entries";
    emit(s, 0, 1);
    for (;;) {
        request rq;
        int rebuild = 0;
        uint64_t raw = 0;

        if (from > s->head) {
            /* Entries recorded while this sync ran go too: the journal
             * only grows, and each receipt names its own last entry. */
            uint8_t hh[PX_HASH_LEN];
            uint64_t h;
            if ((err = px_journal_head(p, &h, hh)))
                break;
            if (h < from)
                break;
            s->pr.entries_total += h - s->head;
            s->head = h;
            s->r->head_seq = h;
        }

        px_batch_free(&b);
        if (px_random(id, sizeof id) != 0) {
            err = px_fail(p, PATROL_ECRYPTO, _("no randomness for a batch id"));
            break;
        }
        if ((err = px_batch_build(p, from, s->o.batch_entries, budget, id, &b)))
            break;
        for (size_t i = 0; i < b.n; i++)
            raw += b.sizes[i];
        memset(&rq, 0, sizeof rq);
        rq.method = "POST";
        rq.path = "/v1/batches";
        rq.content_type = "application/x-patrol-batch";
        rq.body = b.frame;
        rq.body_len = b.frame_len;
        rq.max_answer = MAX_ACK;
        /* A retry resends the same batch id: the server answers a batch
         * it has seen with its stored answer and stores nothing twice. */
        for (;;) {
            int k;
            s->inflight_cap = raw;
            k = px_http_attempt(&s->c, &rq, &a, &err);
            s->inflight_cap = 0;
            if (k == PX_ATT_FAIL)
                goto exit;
            if (k == PX_ATT_ANSWER && !px_http_retryable(a.status))
                break;
            if (k == PX_ATT_ANSWER)
                snprintf(s->c.why, sizeof s->c.why, "POST /v1/batches: the server answered %ld%s%s",
                         a.status, a.reason[0] ? " " : "", a.reason);
            if ((err = px_http_backoff(&s->c, &tries, _("sending entries"))))
                goto exit;
            /* Too slow a link for this batch in one request: smaller. */
            if ((s->c.timed_out || (k == PX_ATT_ANSWER && a.status == 408)) && b.n > 1 &&
                budget > BATCH_MIN_BYTES) {
                budget /= 2;
                rebuild = 1;
                break;
            }
        }
        if (rebuild)
            continue;
        tries = 0;
        s->r->bytes_sent = s->c.sent;
        if (a.status != 200) {
            err = px_http_refusal(&s->c, &a, _("sending entries"), PATROL_ESERVER, NULL, 0);
            break;
        }
        err = take_ack(s, &b, id, &a, &from);
        emit(s, 0, 1);
        if (err)
            break;
    }
exit:
    s->r->bytes_sent = s->c.sent;
    px_batch_free(&b);
    px_http_answer_free(&a);
    return err;
}

/* Evidence of acknowledged entries the server has not confirmed complete.
 * (What the server's Ack lists as missing is tried whatever this store
 * believes: the server may have lost it.) */
static int local_pending_evidence(syncer *s)
{
    patrol *p = s->p;
    sqlite3_stmt *st;
    int rc, err = PATROL_OK;

    rc = sqlite3_prepare_v2(p->db,
                            "SELECT seq, entry FROM journal WHERE kind = 'evidence.add'"
                            " AND seq <= ? ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the journal"));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)s->acked);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *why;
        Patrol__V1__Entry *e = px_entry_decode(sqlite3_column_blob(st, 1),
                                               (size_t)sqlite3_column_bytes(st, 1), &why);
        if (!e) {
            err = px_fail(p, PATROL_ECORRUPT, _("journal entry %lld: %s (run 'patrol verify')"),
                          (long long)sqlite3_column_int64(st, 0), why);
            break;
        }
        for (size_t i = 0; i < e->n_fields; i++)
            if (strcmp(e->fields[i]->name, "sha256") == 0 && is_sha_hex(e->fields[i]->value)) {
                char one[8];
                err = px_get_text(p, one, sizeof one,
                                  "SELECT 1 FROM evidence_uploaded WHERE sha256 = ?", "t",
                                  e->fields[i]->value);
                if (err == PATROL_ENOTFOUND)
                    err = want_add(s, e->fields[i]->value);
                break;
            }
        px_entry_free(e);
        if (err)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && !err)
        err = px_db_fail(p, rc, _("reading the journal"));
    sqlite3_finalize(st);
    return err;
}

static int cmp_sha(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Upload one file, resuming at the server's offset. PATROL_OK also when
 * the server refused this file (deferred with its reason): the others go
 * on. Other errors stop the sync. */
/* Read exactly n bytes of a stored evidence file at off. */
static int pread_full(patrol *p, int fd, uint8_t *buf, size_t n, uint64_t off, const char *sha)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return px_fail(p, PATROL_EIO, _("reading evidence %s: %s"), sha,
                           r < 0 ? strerror(errno) : "file shorter than recorded");
        got += (size_t)r;
    }
    return PATROL_OK;
}

static int upload_one(syncer *s, const char *sha)
{
    patrol *p = s->p;
    char path[4200], sizebuf[40], upath[96], what[100];
    uint8_t *frame = NULL;
    uint64_t size, off = 0;
    unsigned tries = 0, conflicts = 0;
    int fd = -1, need_head = 1, err = PATROL_OK;
    struct stat st;
    answer a;
    request rq;
    body_src src;
    const char *why;

    memset(&a, 0, sizeof a);
    snprintf(what, sizeof what, _("evidence %.12s"), sha);
    err = px_get_text(p, sizebuf, sizeof sizebuf, "SELECT size FROM evidence WHERE sha256 = ?",
                      "t", sha);
    if (err == PATROL_ENOTFOUND) {
        defer(s, px_fail(p, PATROL_ECORRUPT, _("the server asks for evidence %s, which this store "
                                             "does not hold (run 'patrol verify')"),
                         sha));
        return PATROL_OK;
    }
    if (err)
        return err;
    size = strtoull(sizebuf, NULL, 10);
    snprintf(path, sizeof path, "%s/evidence/%.2s/%s", p->dir, sha, sha);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
        (uint64_t)st.st_size != size) {
        defer(s, px_fail(p, PATROL_ECORRUPT, _("evidence file %s is missing or changed (run "
                                             "'patrol verify')"),
                         sha));
        goto exit;
    }
    for (;;) {
        int k;
        size_t n;
        int64_t t0;

        memset(&src, 0, sizeof src);
        memset(&rq, 0, sizeof rq);
        snprintf(upath, sizeof upath, "/v1/evidence/%s", sha);
        rq.path = upath;
        rq.max_answer = MAX_SMALL_ANSWER;
        if (need_head) {
            rq.method = "HEAD";
            k = px_http_attempt(&s->c, &rq, &a, &err);
            if (k == PX_ATT_FAIL)
                goto exit;
            if (k == PX_ATT_RETRY || px_http_retryable(a.status)) {
                if (k == PX_ATT_ANSWER)
                    snprintf(s->c.why, sizeof s->c.why, "HEAD %s: the server answered %ld", what,
                             a.status);
                if ((err = px_http_backoff(&s->c, &tries, what)))
                    goto exit;
                continue;
            }
            if (a.status == 401 || a.status == 403) {
                err = px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0);
                goto exit;
            }
            if (a.status != 200) {
                defer(s, px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0));
                goto exit;
            }
            if (a.upload_length >= 0 && (uint64_t)a.upload_length != size) {
                defer(s, px_fail(p, PATROL_ESERVER, _("the server expects %lld bytes of evidence "
                                                    "%s; this store holds %llu"),
                                 (long long)a.upload_length, sha, (unsigned long long)size));
                goto exit;
            }
            if (a.upload_complete)
                goto complete;
            if (a.upload_offset < 0 || (uint64_t)a.upload_offset >= size) {
                defer(s, px_fail(p, PATROL_ESERVER, _("the server's offset for evidence %s is "
                                                    "missing or impossible"),
                                 sha));
                goto exit;
            }
            add_done(s, a.upload_offset - (int64_t)off);
            off = (uint64_t)a.upload_offset;
            need_head = 0;
        }
        /* One chunk from the server's offset: LZ4 where it helps (a trial
         * of the first 64 KiB), else streamed from the file. */
        n = s->chunk_cur < size - off ? s->chunk_cur : (size_t)(size - off);
        src.fd = fd;
        src.off = off;
        src.len = n;
        snprintf(sizebuf, sizeof sizebuf, "Upload-Offset: %llu", (unsigned long long)off);
        rq.method = "PATCH";
        rq.content_type = "application/offset+octet-stream";
        rq.src = &src;
        rq.extra[0] = sizebuf;
        rq.extra[1] = "Tus-Resumable: 1.0.0";
        {
            size_t trial = n < TRIAL_BYTES ? n : TRIAL_BYTES;
            if ((err = pread_full(p, fd, s->chunk, trial, off, sha)))
                goto exit;
            if (px_frame_worthwhile(s->chunk, trial)) {
                size_t flen;
                if ((err = pread_full(p, fd, s->chunk + trial, n - trial, off + trial, sha)))
                    goto exit;
                if (px_frame_encode(s->chunk, n, &frame, &flen, &why) == 0) {
                    src.mem = frame;
                    src.len = flen;
                    rq.extra[2] = "Upload-Encoding: lz4";
                }
            }
        }
        s->inflight_cap = n;
        t0 = mono_ms();
        k = px_http_attempt(&s->c, &rq, &a, &err);
        s->inflight_cap = 0;
        free(frame);
        frame = NULL;
        s->r->bytes_sent = s->c.sent;
        if (k == PX_ATT_FAIL)
            goto exit;
        if (k == PX_ATT_RETRY || px_http_retryable(a.status)) {
            if (k == PX_ATT_ANSWER)
                snprintf(s->c.why, sizeof s->c.why, "PATCH %s: the server answered %ld", what,
                         a.status);
            if ((s->c.timed_out || a.status == 408) && s->chunk_cur > CHUNK_MIN)
                s->chunk_cur /= 2;
            if ((err = px_http_backoff(&s->c, &tries, what)))
                goto exit;
            need_head = 1; /* where the server is, not where we think */
            continue;
        }
        if (a.status == 204 || a.status == 200) {
            int64_t dt = mono_ms() - t0;
            if (a.upload_complete)
                goto complete;
            if (a.upload_offset < 0 || (uint64_t)a.upload_offset > size ||
                (uint64_t)a.upload_offset == off) {
                need_head = 1;
                if (++conflicts > s->o.max_attempts) {
                    defer(s, px_fail(p, PATROL_ESERVER, _("evidence %s: the server does not "
                                                        "advance its offset"),
                                     sha));
                    goto exit;
                }
                continue;
            }
            add_done(s, a.upload_offset - (int64_t)off);
            off = (uint64_t)a.upload_offset;
            tries = 0;
            /* Aim at CHUNK_TARGET_S per PATCH on the measured link. */
            if (dt > 0) {
                double next = (double)n * 1000.0 / (double)dt * CHUNK_TARGET_S;
                s->chunk_cur = next > (double)s->o.chunk_bytes ? s->o.chunk_bytes
                               : next < (double)CHUNK_MIN      ? CHUNK_MIN
                                                               : (size_t)next;
                if (s->chunk_cur > s->o.chunk_bytes)
                    s->chunk_cur = s->o.chunk_bytes;
            }
            emit(s, 0, 0);
            continue;
        }
        if (a.status == 409) {
            /* Someone (an earlier try whose answer was lost) moved the
             * offset: ask the server where it is. */
            if (++conflicts > s->o.max_attempts) {
                defer(s, px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0));
                goto exit;
            }
            need_head = 1;
            continue;
        }
        if (a.status == 413 && s->chunk_cur > CHUNK_MIN) {
            s->chunk_cur /= 2;
            continue;
        }
        if (a.status == 422) {
            char msg[sizeof p->errmsg];
            snprintf(s->r->evidence_failed, sizeof s->r->evidence_failed, "%s", sha);
            add_done(s, -(int64_t)off);
            px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0);
            snprintf(msg, sizeof msg, "%s", p->errmsg);
            defer(s, px_fail(p, PATROL_ESERVER, _("%s (the bytes sent do not hash to the file's "
                                                "name: run 'patrol verify')"),
                             msg));
            goto exit;
        }
        if (a.status == 401 || a.status == 403) {
            err = px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0);
            goto exit;
        }
        defer(s, px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0));
        goto exit;
    }
complete:
    add_done(s, (int64_t)(size - off));
    if ((err = run(p, "INSERT OR IGNORE INTO evidence_uploaded(sha256, confirmed_ms)"
                      " VALUES (?, ?)",
                   "ti", sha, now_ms())))
        goto exit;
    s->r->evidence_uploaded++;
    emit(s, 0, 1);
exit:
    free(frame);
    if (fd >= 0)
        close(fd);
    px_http_answer_free(&a);
    return err;
}

static int sync_evidence(syncer *s)
{
    patrol *p = s->p;
    int err;

    s->pr.phase = "evidence";
    emit(s, 0, 1);
    if ((err = local_pending_evidence(s)))
        return err;
    if (s->n_want == 0)
        return PATROL_OK;
    qsort(s->want, s->n_want, sizeof *s->want, cmp_sha);
    if (!(s->chunk = malloc(s->o.chunk_bytes > TRIAL_BYTES ? s->o.chunk_bytes : TRIAL_BYTES)))
        return px_fail(p, PATROL_ENOMEM, _("out of memory"));
    s->chunk_cur = s->o.chunk_bytes < CHUNK_START ? s->o.chunk_bytes : CHUNK_START;
    for (size_t i = 0; i < s->n_want; i++) {
        if (i > 0 && strcmp(s->want[i], s->want[i - 1]) == 0)
            continue;
        if ((err = upload_one(s, s->want[i])))
            return err;
    }
    return PATROL_OK;
}

/* ---- reference data ------------------------------------------------------ */

/* The item's conditions, one per line (malloc'd; NULL if out of memory).
 * px_reference_check made sure none holds a line break. */
static char *join_lines(char *const *v, size_t n)
{
    size_t len = 1, at = 0;
    char *s;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    if (!(s = malloc(len)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(v[i]);
        if (i)
            s[at++] = '\n';
        memcpy(s + at, v[i], k);
        at += k;
    }
    s[at] = '\0';
    return s;
}

/* Apply a Reference in one transaction, once px_reference_check (the
 * rules patrold imports with) accepts all of it. Domains, departments
 * (with the domains each holds) and list items replace the held ones only
 * when the server sends some (an empty set would leave the terminal unable
 * to open a matter; a server of schema 2 sends no departments); leaflets,
 * roster and assigned revisits are replaced as sent. An excluded domain is
 * never stored as flexible, whatever the data says. */
int px_reference_apply(patrol *p, const Patrol__V1__Reference *ref)
{
    px_ref_fault f;
    char where[96], first[128] = "";
    int err;

    if (px_reference_check(ref, 0, &f)) {
        px_ref_fault_where(&f, where, sizeof where);
        if (f.first != PX_REF_NO_SUB) {
            char at[96];
            f.index = f.first;
            px_ref_fault_where(&f, at, sizeof at);
            snprintf(first, sizeof first, _(" (first at %s)"), at);
        }
        return px_fail(p, PATROL_ESERVER,
                       _("reference data version %llu, %s: %s%s; nothing applied"),
                       (unsigned long long)ref->version, where, f.why, first);
    }
    if ((err = px_begin(p)))
        return err;
    if (ref->n_domains) {
        if ((err = run(p, "DELETE FROM domains", "")))
            goto fail;
        for (size_t i = 0; i < ref->n_domains; i++) {
            const Patrol__V1__Domain *d = ref->domains[i];
            int64_t flexible = d->flexible && !px_domain_excluded(d->code);
            if ((err = run(p, "INSERT INTO domains(code, name, flexible) VALUES (?, ?, ?)", "tti",
                           d->code, d->name, flexible)))
                goto fail;
        }
    }
    if (ref->n_departments) {
        if ((err = run(p, "DELETE FROM department_domains", "")) ||
            (err = run(p, "DELETE FROM departments", "")))
            goto fail;
        for (size_t i = 0; i < ref->n_departments; i++) {
            const Patrol__V1__Department *d = ref->departments[i];
            if ((err = run(p, "INSERT INTO departments(code, name) VALUES (?, ?)", "tt", d->code,
                           d->name)))
                goto fail;
            for (size_t j = 0; j < d->n_domains; j++)
                if ((err = run(p,
                               "INSERT INTO department_domains(department, domain)"
                               " VALUES (?, ?)",
                               "tt", d->code, d->domains[j])))
                    goto fail;
        }
    }
    if (ref->n_list_items) {
        if ((err = run(p, "DELETE FROM list_items", "")))
            goto fail;
        for (size_t i = 0; i < ref->n_list_items; i++) {
            const Patrol__V1__ListItem *it = ref->list_items[i];
            char *conditions = join_lines(it->conditions, it->n_conditions);
            if (!conditions) {
                err = px_fail(p, PATROL_ENOMEM, "%s", _("out of memory"));
                goto fail;
            }
            err = run(p,
                      "INSERT INTO list_items(code, list_type, list_version, domain, name,"
                      " basis, list_name, issuer, category, conditions)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      "tttttttttt", it->code, it->list_type, it->list_version, it->domain, it->name,
                      it->basis, it->list_name, it->issuer, it->category, conditions);
            free(conditions);
            if (err)
                goto fail;
        }
    }
    if ((err = run(p, "DELETE FROM leaflets", "")) || (err = run(p, "DELETE FROM roster", "")) ||
        (err = run(p, "DELETE FROM assigned_revisits", "")))
        goto fail;
    for (size_t i = 0; i < ref->n_leaflets; i++)
        if ((err = run(p, "INSERT INTO leaflets(code, title) VALUES (?, ?)", "tt",
                       ref->leaflets[i]->code, ref->leaflets[i]->title)))
            goto fail;
    for (size_t i = 0; i < ref->n_roster; i++)
        if ((err = run(p, "INSERT INTO roster(id, name, cert_no) VALUES (?, ?, ?)", "ttt",
                       ref->roster[i]->id, ref->roster[i]->name, ref->roster[i]->cert_no)))
            goto fail;
    for (size_t i = 0; i < ref->n_revisits; i++) {
        const Patrol__V1__AssignedRevisit *rv = ref->revisits[i];
        if ((err = run(p,
                       "INSERT INTO assigned_revisits(id, matter, subject_name, due, note)"
                       " VALUES (?, ?, ?, ?, ?)",
                       "ttttt", rv->id, rv->matter, rv->subject_name, rv->due, rv->note)))
            goto fail;
    }
    if ((err = run(p, "UPDATE sync_state SET reference_version = ?", "i", (int64_t)ref->version)) ||
        (err = px_commit(p)))
        goto fail;
    return PATROL_OK;
fail:
    px_rollback(p);
    return err;
}

static int sync_reference(syncer *s)
{
    patrol *p = s->p;
    Patrol__V1__Reference *ref = NULL;
    int64_t since = 0;
    char path[64];
    request rq;
    answer a;
    int err;

    s->pr.phase = "reference";
    emit(s, 0, 1);
    memset(&a, 0, sizeof a);
    if ((err = ints(p, "SELECT reference_version FROM sync_state", 0, 0, &since, 1)))
        return err;
    s->r->reference_version = (uint64_t)since;
    snprintf(path, sizeof path, "/v1/reference?since=%llu", (unsigned long long)since);
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = path;
    rq.max_answer = MAX_REFERENCE;
    if ((err = px_http_retry(&s->c, &rq, &a, "pulling reference data")))
        goto exit;
    if (a.status == 304)
        goto exit;
    if (a.status != 200) {
        err = px_http_refusal(&s->c, &a, "pulling reference data", PATROL_ESERVER, NULL, 0);
        if (a.status != 401 && a.status != 403) {
            defer(s, err);
            err = PATROL_OK;
        }
        goto exit;
    }
    if (!(ref = patrol__v1__reference__unpack(NULL, a.len, a.body)) ||
        ref->version <= (uint64_t)since || ref->version > (uint64_t)INT64_MAX) {
        defer(s, px_fail(p, PATROL_ESERVER, "the server's reference data is %s",
                         ref ? "not newer than the version held" : "not a Reference"));
        goto exit;
    }
    if ((err = px_reference_apply(p, ref))) {
        if (err == PATROL_ESERVER) {
            defer(s, err);
            err = PATROL_OK;
        }
        goto exit;
    }
    s->r->reference_version = ref->version;
    s->r->reference_updated = 1;
exit:
    if (ref)
        patrol__v1__reference__free_unpacked(ref, NULL);
    px_http_answer_free(&a);
    return err;
}

/* One GET for the citations pull (sync_cited.c), on the sync's connection. */
static int cited_get(void *ud, const char *path, size_t max, long *status, uint8_t **body,
                     size_t *len)
{
    syncer *s = ud;
    request rq;
    answer a;
    int err;

    memset(&rq, 0, sizeof rq);
    memset(&a, 0, sizeof a);
    rq.method = "GET";
    rq.path = path;
    rq.max_answer = max;
    s->pr.phase = "citations";
    emit(s, 0, 1);
    if ((err = px_http_retry(&s->c, &rq, &a, _("pulling citations"))) == PATROL_OK) {
        *status = a.status;
        *body = a.body;
        *len = a.len;
        a.body = NULL;
    }
    px_http_answer_free(&a);
    return err;
}

/* The enrolment row: URL, pin, receipt key and client certificate. */
static int load_server(syncer *s, char *url, size_t urllen, char **cert)
{
    patrol *p = s->p;
    sqlite3_stmt *st;
    const char *why;
    int rc, err = PATROL_OK;

    *cert = NULL;
    rc = sqlite3_prepare_v2(p->db, "SELECT url, pin, receipt_key, client_cert FROM sync_server",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the enrolment"));
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = px_fail(p, PATROL_ESTATE, _("this terminal is not enrolled with a server: run "
                                          "'patrol enroll --server URL --token TOKEN' first"));
    } else if (rc != SQLITE_ROW) {
        err = px_db_fail(p, rc, _("reading the enrolment"));
    } else if (sqlite3_column_bytes(st, 1) != PX_HASH_LEN ||
               px_key_from_public_der(sqlite3_column_blob(st, 2),
                                      (size_t)sqlite3_column_bytes(st, 2), &s->receipt_key,
                                      &why) != 0 ||
               !sqlite3_column_text(st, 3)) {
        err = px_fail(p, PATROL_ECORRUPT, _("the enrolment record is damaged: enrol again"));
    } else {
        snprintf(url, urllen, "%s", (const char *)sqlite3_column_text(st, 0));
        memcpy(s->pin, sqlite3_column_blob(st, 1), PX_HASH_LEN);
        if (!(*cert = strdup((const char *)sqlite3_column_text(st, 3))))
            err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
    }
    sqlite3_finalize(st);
    return err;
}

static int sync_locked(patrol *p, const patrol_sync_opts *uo, patrol_sync_result *ur)
{
    syncer s;
    patrol_sync_result r;
    uint8_t hash[PX_HASH_LEN];
    char url[URL_MAX + 1], *cert = NULL, *certpath = NULL, *keypath = NULL;
    int64_t t0 = mono_ms(), v[2] = {0, 0};
    uint64_t pulled = 0;
    int err;

    memset(&s, 0, sizeof s);
    memset(&r, 0, sizeof r);
    p->errmsg[0] = '\0';
    s.p = p;
    s.r = &r;
    resolve_opts(uo, &s.o);
    if ((err = load_server(&s, url, sizeof url, &cert)) || (err = cert_file(p, cert, &certpath)))
        goto exit;
    if (!(keypath = px_path(p, KEY_NAME))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    if ((err = px_journal_head(p, &s.head, hash)) ||
        (err = ints(p, "SELECT acked_seq FROM sync_state", 0, 0, v, 1)))
        goto exit;
    s.acked = s.acked_start = (uint64_t)v[0];
    r.head_seq = s.head;
    r.acked_seq = s.acked;
    s.start_ms = s.rate_ms = s.last_emit = mono_ms();
    if ((err = px_http_open(&s.c, p, url, s.pin, certpath, keypath, &s.o)))
        goto exit;
    s.c.on_progress = on_progress;
    s.c.progress_ud = &s;
    /* First what the server holds: after a restore it may hold less than
     * it once acknowledged. With entries to send, the first batch's Ack
     * tells (a "gap" answer names the entry the server expects); with
     * none, an empty batch asks. */
    r.server_seq = s.acked;
    if (s.acked >= s.head && (err = probe_server(&s)))
        goto exit;
    /* What there is to send, for the progress bar. */
    s.pr.entries_total = s.head > s.acked ? s.head - s.acked : 0;
    if ((err = ints(p, "SELECT coalesce(sum(length(entry) + length(sig)), 0) FROM journal"
                       " WHERE seq > ?",
                    1, (int64_t)s.acked, v, 1)))
        goto exit;
    s.pr.bytes_total = (uint64_t)v[0];
    if (!s.o.no_evidence) {
        if ((err = ints(p, "SELECT coalesce(sum(size), 0) FROM evidence WHERE sha256 NOT IN"
                           " (SELECT sha256 FROM evidence_uploaded)",
                        0, 0, v, 1)))
            goto exit;
        s.pr.bytes_total += (uint64_t)v[0];
    }

    err = sync_entries(&s);
    if (err == PATROL_EREJECTED) {
        defer(&s, err);
        err = PATROL_OK;
    }
    if (!err && !s.o.no_evidence)
        err = sync_evidence(&s);
    if (!err && !s.o.no_reference)
        err = sync_reference(&s);
    if (!err && !s.o.no_reference &&
        (err = px_sync_cited(p, cited_get, &s, &pulled)) == PATROL_ESERVER) {
        defer(&s, err); /* county-wide citations: reported, the sync goes on */
        err = PATROL_OK;
    }
    if (!err)
        err = run(p, "UPDATE sync_state SET last_sync_ms = ?", "i", now_ms());
    s.pr.phase = "done";
    emit(&s, 0, 1);
exit:
    r.bytes_sent = s.c.sent;
    r.retries = s.c.retries;
    px_http_close(&s.c);
    if (!err && s.deferred) {
        err = s.deferred;
        snprintf(p->errmsg, sizeof p->errmsg, "%s", s.deferred_msg);
    }
    if (ints(p, "SELECT count(*) FROM evidence WHERE sha256 NOT IN"
                " (SELECT sha256 FROM evidence_uploaded)",
             0, 0, v, 1) == PATROL_OK)
        r.evidence_pending = (uint64_t)v[0];
    if (!r.reference_version &&
        ints(p, "SELECT reference_version FROM sync_state", 0, 0, v, 1) == PATROL_OK)
        r.reference_version = (uint64_t)v[0];
    r.duration_ms = mono_ms() - t0;
    px_key_free(s.receipt_key);
    free(s.want);
    free(s.chunk);
    free(cert);
    free(certpath);
    free(keypath);
    if (ur)
        *ur = r;
    return err;
}

int patrol_sync(patrol *p, const patrol_sync_opts *uo, patrol_sync_result *ur)
{
    int err;
    p->errmsg[0] = '\0';
    if ((err = px_sync_lock(p))) {
        if (ur)
            memset(ur, 0, sizeof *ur);
        return err;
    }
    err = sync_locked(p, uo, ur);
    px_sync_unlock(p);
    return err;
}

static int status_read(patrol *p, patrol_sync_info *out);

/* Read in one read transaction: a sync storing a receipt meanwhile, or an
 * entry recorded, shows whole or not at all (WAL: no writer waits). */
int patrol_sync_status(patrol *p, patrol_sync_info *out)
{
    int err;
    p->errmsg[0] = '\0';
    memset(out, 0, sizeof *out);
    if ((err = px_exec(p, "BEGIN")))
        return err;
    err = status_read(p, out);
    px_rollback(p);
    return err;
}

static int status_read(patrol *p, patrol_sync_info *out)
{
    sqlite3_stmt *st;
    uint8_t hash[PX_HASH_LEN];
    int64_t v[5];
    int rc, err;

    p->errmsg[0] = '\0';
    memset(out, 0, sizeof *out);
    if ((err = px_journal_head(p, &out->head_seq, hash)))
        return err;
    err = px_get_text(p, out->server_url, sizeof out->server_url, "SELECT url FROM sync_server",
                      "");
    if (err == PATROL_OK) {
        out->enrolled = 1;
        if ((err = px_get_text(p, out->server_name, sizeof out->server_name,
                               "SELECT server_name FROM sync_server", "")))
            return err;
    } else if (err != PATROL_ENOTFOUND) {
        return err;
    }
    if ((err = ints(p, "SELECT acked_seq, last_sync_ms, reference_version, rejected_seq"
                       " FROM sync_state",
                    0, 0, v, 4)))
        return err == PATROL_ENOTFOUND ? px_fail(p, PATROL_ECORRUPT, _("the sync state is missing"))
                                       : err;
    out->acked_seq = (uint64_t)v[0];
    out->last_sync_ms = v[1];
    out->reference_version = (uint64_t)v[2];
    out->pending_entries = out->head_seq > out->acked_seq ? out->head_seq - out->acked_seq : 0;
    if (v[3] > 0 && (uint64_t)v[3] > out->acked_seq) {
        out->rejected_seq = (uint64_t)v[3];
        px_get_text(p, out->rejected_reason, sizeof out->rejected_reason,
                    "SELECT rejected_reason FROM sync_state", "");
    }
    if ((err = ints(p, "SELECT coalesce(sum(length(entry) + length(sig)), 0) FROM journal"
                       " WHERE seq > ?",
                    1, (int64_t)out->acked_seq, v, 1)))
        return err;
    out->pending_entry_bytes = (uint64_t)v[0];
    if ((err = ints(p, "SELECT count(*), coalesce(sum(size), 0) FROM evidence WHERE sha256 NOT IN"
                       " (SELECT sha256 FROM evidence_uploaded)",
                    0, 0, v, 2)))
        return err;
    out->pending_evidence_files = (uint64_t)v[0];
    out->pending_evidence_bytes = (uint64_t)v[1];
    out->pending_bytes = out->pending_entry_bytes + out->pending_evidence_bytes;
    if ((err = ints(p, "SELECT count(*) FROM receipts", 0, 0, v, 1)))
        return err;
    out->receipts = (uint64_t)v[0];
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT last_seq, head_hash, server_time_ms FROM receipts"
                            " ORDER BY id DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading receipts"));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->receipt_seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == PX_HASH_LEN)
            px_format_hex(sqlite3_column_blob(st, 1), PX_HASH_LEN, out->receipt_head);
        out->receipt_server_time_ms = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return px_db_fail(p, rc, _("reading receipts"));
    return PATROL_OK;
}
