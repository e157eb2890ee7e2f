/* evidence.c -- patrold's evidence store: the tus-style upload routes
 * (HEAD and PATCH /v1/evidence/<sha256>, docs/protocol.md), each device's
 * partial files under DATA/evidence/partial/ and their completion into the
 * content-addressed store DATA/evidence/aa/<sha256>; the limits (a ceiling
 * per file, a quota per device, a free-space reserve kept for entries),
 * proof of possession, and the sweep that finishes or expires partial
 * files (docs/server.md "Evidence limits"). Runs on the worker threads of
 * net.c with the storage handle of app_db(), and on its own sweep thread. */
#include "evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "validate.h"

static void reply_error(app *a, srv_response *rs, int status, const char *reason,
                        uint64_t expected, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

static void reply_error(app *a, srv_response *rs, int status, const char *reason,
                        uint64_t expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    app_reply_verror(a, rs, status, reason, expected, fmt, ap);
    va_end(ap);
}

static void storage_error(app *a, srv_response *rs, st_backend *db, const char *what)
{
    app_log("error", "event=storage what=%s error=\"%s\"", what, db ? db->ops->errmsg(db) : "");
    reply_error(a, rs, 503, "storage", 0, "the server could not %s; try again", what);
}

static int valid_sha(const char *s)
{
    uint8_t tmp[PX_HASH_LEN];
    return strlen(s) == 64 && px_parse_hex(s, tmp, sizeof tmp) == NULL;
}

static pthread_mutex_t *evidence_lock(app *a, const char *sha)
{
    /* sha is valid lower-case hex (valid_sha): its first digit picks one of
     * 16 locks, spread over the table. */
    unsigned v = (unsigned)(sha[0] >= 'a' ? sha[0] - 'a' + 10 : sha[0] - '0');
    return &a->evidence_locks[(v * 4) % 64];
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* ---- limits and options --------------------------------------------- */

struct ev_state {
    ev_limits lim;
    pthread_mutex_t mu; /* stop, with cv */
    pthread_cond_t cv;
    int stop;
    int thread_started;
    pthread_t thread;
};

/* A device's quota check and the start of its new partial file. */
static pthread_mutex_t quota_lock = PTHREAD_MUTEX_INITIALIZER;

void ev_limits_default(ev_limits *l)
{
    l->max_file = EV_DEFAULT_MAX_FILE;
    l->quota = EV_DEFAULT_QUOTA;
    l->reserve = EV_DEFAULT_RESERVE;
    l->partial_ttl_s = EV_DEFAULT_PARTIAL_TTL_S;
}

static const ev_limits *limits(const app *a)
{
    static const ev_limits dflt = {EV_DEFAULT_MAX_FILE, EV_DEFAULT_QUOTA, EV_DEFAULT_RESERVE,
                                   EV_DEFAULT_PARTIAL_TTL_S};
    return a->ev ? &a->ev->lim : &dflt;
}

/* "123", "64K", "512M", "2G", "1T" (binary multiples) into *v, at most
 * 2^53; NULL or what is wrong. */
static const char *parse_size(const char *s, uint64_t *v)
{
    char num[24];
    size_t n = strlen(s);
    unsigned shift = 0;
    if (n == 0 || n >= sizeof num)
        return "not a size";
    memcpy(num, s, n + 1);
    switch (num[n - 1]) {
    case 'K': case 'k': shift = 10; break;
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    case 'T': case 't': shift = 40; break;
    default: break;
    }
    if (shift)
        num[n - 1] = '\0';
    if (px_parse_u64(num, 0, (UINT64_C(1) << 53) >> shift, v) != NULL)
        return "not a size (bytes, or a number with K, M, G or T; at most 2^53)";
    *v <<= shift;
    return NULL;
}

/* "90", "90s", "30m", "12h", "7d" into seconds. */
static const char *parse_duration(const char *s, uint64_t *v)
{
    char num[24];
    size_t n = strlen(s);
    uint64_t mul = 1;
    if (n == 0 || n >= sizeof num)
        return "not a duration";
    memcpy(num, s, n + 1);
    switch (num[n - 1]) {
    case 's': mul = 1; break;
    case 'm': mul = 60; break;
    case 'h': mul = 3600; break;
    case 'd': mul = 86400; break;
    default: mul = 0; break;
    }
    if (mul)
        num[n - 1] = '\0';
    else
        mul = 1;
    if (px_parse_u64(num, 1, (UINT64_C(10) * 365 * 86400) / mul, v) != NULL)
        return "not a duration (seconds, or a number with s, m, h or d; 1 s to 10 years)";
    *v *= mul;
    return NULL;
}

/* The serve options of the evidence limits: also the keys of the
 * configuration file's [evidence] section (config.c). */
static const struct {
    const char *name;
    int duration;
    size_t off;
} ev_opts[] = {
    {"--evidence-max-file", 0, offsetof(ev_limits, max_file)},
    {"--evidence-quota", 0, offsetof(ev_limits, quota)},
    {"--evidence-reserve", 0, offsetof(ev_limits, reserve)},
    {"--partial-expiry", 1, offsetof(ev_limits, partial_ttl_s)},
};

void ev_limits_each(const ev_limits *l, void (*cb)(void *ud, const char *option,
                                                   const char *value), void *ud)
{
    for (size_t k = 0; k < sizeof ev_opts / sizeof ev_opts[0]; k++) {
        uint64_t v;
        char s[32];
        memcpy(&v, (const char *)l + ev_opts[k].off, sizeof v);
        snprintf(s, sizeof s, "%llu%s", (unsigned long long)v, ev_opts[k].duration ? "s" : "");
        cb(ud, ev_opts[k].name, s);
    }
}

int ev_option(ev_limits *l, int argc, char **argv, int *i, char *err, size_t errlen)
{
    for (size_t k = 0; k < sizeof ev_opts / sizeof ev_opts[0]; k++) {
        uint64_t *v = (uint64_t *)((char *)l + ev_opts[k].off);
        const char *why;
        if (strcmp(argv[*i], ev_opts[k].name) != 0)
            continue;
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "%s needs a value", ev_opts[k].name);
            return -1;
        }
        why = ev_opts[k].duration ? parse_duration(argv[*i + 1], v) : parse_size(argv[*i + 1], v);
        if (why) {
            snprintf(err, errlen, "%s '%s': %s", ev_opts[k].name, argv[*i + 1], why);
            return -1;
        }
        *i += 1;
        return 1;
    }
    return 0;
}

/* ---- files ------------------------------------------------------------ */

static void refused(const st_device *dev, const char *sha, const char *reason, const char *fmt,
                    ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The structured line of an evidence refusal (stable reason codes:
 * too_large, quota, disk_reserve, disk_full). */
static void refused(const st_device *dev, const char *sha, const char *reason, const char *fmt,
                    ...)
{
    char more[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(more, sizeof more, fmt, ap);
    va_end(ap);
    app_log("warn", "event=evidence_refused device=%lld sha256=%s reason=%s %s",
            (long long)dev->id, sha, reason, more);
}

static void partial_path(const app *a, int64_t device, const char *sha, char *out, size_t len)
{
    snprintf(out, len, "%s/evidence/partial/%lld-%s", a->data_dir, (long long)device, sha);
}

/* ---- hashing the chunks as they arrive ---------------------------------- */

/* A partial file's SHA-256 state, updated with each chunk once it is
 * written and fsync'd, so that completing an upload does not read the
 * whole file again (issue 11). Keyed by the hash of the partial file's
 * path; good only while it covers exactly the file's bytes (off). After a
 * restart, or when the state was evicted (the table holds the EV_HASHES
 * most recently used uploads), completion reads the file as before. */
#define EV_HASHES 64
typedef struct ev_hash {
    uint8_t key[PX_HASH_LEN];
    px_sha256_ctx *ctx; /* NULL: a free slot */
    uint64_t off;
    uint64_t used;
} ev_hash;
static ev_hash hashes[EV_HASHES];
static uint64_t hashes_clock;
static pthread_mutex_t hashes_lock = PTHREAD_MUTEX_INITIALIZER;

static ev_hash *hash_find(const uint8_t key[PX_HASH_LEN])
{
    for (int i = 0; i < EV_HASHES; i++)
        if (hashes[i].ctx && memcmp(hashes[i].key, key, PX_HASH_LEN) == 0)
            return &hashes[i];
    return NULL;
}

/* len bytes at off were appended to partial (written and fsync'd). */
static void hash_chunk(const char *partial, uint64_t off, const uint8_t *data, size_t len)
{
    uint8_t key[PX_HASH_LEN];
    ev_hash *e;
    px_sha256(partial, strlen(partial), key);
    pthread_mutex_lock(&hashes_lock);
    e = hash_find(key);
    if (off == 0) { /* a new upload: a new state, in the least recently used slot */
        if (!e) {
            e = &hashes[0];
            for (int i = 1; i < EV_HASHES && e->ctx; i++)
                if (!hashes[i].ctx || hashes[i].used < e->used)
                    e = &hashes[i];
        }
        px_sha256_free(e->ctx);
        memcpy(e->key, key, PX_HASH_LEN);
        e->off = 0;
        e->ctx = px_sha256_new();
    }
    if (e && e->ctx && e->off == off) {
        px_sha256_update(e->ctx, data, len);
        e->off += len;
        e->used = ++hashes_clock;
    } else if (e) { /* not the bytes it covers: useless from now on */
        px_sha256_free(e->ctx);
        e->ctx = NULL;
    }
    pthread_mutex_unlock(&hashes_lock);
}

/* The digest of partial's size bytes if its state covers exactly them (1),
 * else 0; the state is gone either way. */
static int hash_take(const char *partial, uint64_t size, uint8_t digest[PX_HASH_LEN])
{
    uint8_t key[PX_HASH_LEN];
    ev_hash *e;
    int ok = 0;
    px_sha256(partial, strlen(partial), key);
    pthread_mutex_lock(&hashes_lock);
    if ((e = hash_find(key))) {
        if (e->off == size) {
            px_sha256_final(e->ctx, digest);
            ok = 1;
        } else {
            px_sha256_free(e->ctx);
        }
        e->ctx = NULL;
    }
    pthread_mutex_unlock(&hashes_lock);
    return ok;
}

/* Hash the partial file of a full-length upload and, on a match, move it
 * into the store (or drop it if the store holds the blob already) and
 * record that the device sent it whole. 0 done, 1 the bytes do not hash to
 * sha or are not size long (discarded), -1 error (errno-based reason in
 * the log). Called with sha's evidence lock held. */
static int finish(app *a, st_backend *db, int64_t device, const char *sha, const char *partial,
                  uint64_t size)
{
    char dir[4200], final[4300], hex[65];
    uint8_t digest[PX_HASH_LEN];
    int fd = open(partial, O_RDONLY | O_CLOEXEC), rc = -1;
    uint64_t total = 0;
    struct stat st;
    const char *how = "chunks";

    if (fd < 0)
        goto exit;
    /* The state the chunks built when it covers the file's bytes (its
     * length checked here); else the file read again. */
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == size && hash_take(partial, size, digest)) {
        total = size;
    } else {
        how = "file";
        if (px_sha256_fd(fd, digest, &total) != 0)
            goto exit;
    }
    px_format_hex(digest, PX_HASH_LEN, hex);
    if (total != size || strcmp(hex, sha) != 0) {
        unlink(partial);
        app_log("warn", "event=evidence_hash_mismatch device=%lld sha256=%s bytes=%llu",
                (long long)device, sha, (unsigned long long)total);
        rc = 1;
        goto exit;
    }
    snprintf(dir, sizeof dir, "%s/evidence/%.2s", a->data_dir, sha);
    snprintf(final, sizeof final, "%s/%s", dir, sha);
    if (mkdir(dir, 0700) == 0) {
        /* The new directory's entry must be durable too. */
        char top[4200];
        snprintf(top, sizeof top, "%s/evidence", a->data_dir);
        if (fsync_dir(top) != 0)
            goto exit;
    } else if (errno != EEXIST) {
        goto exit;
    }
    if (access(final, F_OK) == 0) {
        /* The store holds it already (another device sent it, or an
         * earlier finish of this one stopped before its commit): this
         * device has now shown it holds the bytes too. */
        unlink(partial);
    } else if (chmod(partial, 0400) != 0 || rename(partial, final) != 0 || fsync_dir(dir) != 0) {
        goto exit;
    }
    snprintf(dir, sizeof dir, "%s/evidence/partial", a->data_dir);
    fsync_dir(dir);
    if (db->ops->begin(db) != ST_OK)
        goto exit;
    if (db->ops->evidence_received(db, sha, device, app_now_ms()) != ST_OK ||
        db->ops->commit(db) != ST_OK) {
        db->ops->rollback(db);
        goto exit;
    }
    atomic_fetch_add(&a->counters[M_EVIDENCE_COMPLETE], 1);
    app_log("info", "event=evidence_complete device=%lld sha256=%s bytes=%llu hashed=%s",
            (long long)device, sha, (unsigned long long)size, how);
    rc = 0;
exit:
    if (rc < 0)
        app_log("error", "event=evidence_finish device=%lld sha256=%s error=\"%s\"",
                (long long)device, sha, db->ops->errmsg(db)[0] ? db->ops->errmsg(db) : strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Bytes free on the data directory's volume for an unprivileged writer. */
static int free_bytes(const app *a, uint64_t *out)
{
    struct statvfs v;
    if (statvfs(a->data_dir, &v) != 0)
        return -1;
    *out = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    return 0;
}

/* What the device holds against its quota: the blobs it sent whole, and
 * the declared sizes of its uploads in progress (other than sha's), each
 * reserved in full from its first byte. */
static int quota_used(app *a, st_backend *db, int64_t device, const char *sha, uint64_t *used)
{
    char dir[4200], prefix[32];
    DIR *d;
    struct dirent *e;
    size_t pl;

    if (db->ops->evidence_usage(db, device, used) != ST_OK)
        return -1;
    snprintf(dir, sizeof dir, "%s/evidence/partial", a->data_dir);
    pl = (size_t)snprintf(prefix, sizeof prefix, "%lld-", (long long)device);
    if (!(d = opendir(dir)))
        return errno == ENOENT ? 0 : -1;
    while ((e = readdir(d))) {
        st_evref r;
        const char *other = e->d_name + pl;
        if (strncmp(e->d_name, prefix, pl) != 0 || strlen(other) != 64 || strcmp(other, sha) == 0 ||
            !valid_sha(other))
            continue;
        if (db->ops->evidence_ref(db, other, device, &r) == ST_OK && !r.received)
            *used += r.size;
    }
    closedir(d);
    return 0;
}

/* ---- the routes -------------------------------------------------------- */

/* Append the tus headers (after X-Patrol-Reason, if reply_error set it). */
static void offset_headers(srv_response *rs, uint64_t off, uint64_t len, int complete)
{
    size_t used = strlen(rs->extra_headers);
    snprintf(rs->extra_headers + used, sizeof rs->extra_headers - used,
             "Tus-Resumable: 1.0.0\r\nUpload-Offset: %llu\r\nUpload-Length: %llu\r\n%s",
             (unsigned long long)off, (unsigned long long)len,
             complete ? "Upload-Complete: 1\r\n" : "");
}

/* An evidence file past the ceiling: the entry naming it is stored (it is
 * signed, and nothing recorded is lost), its upload refused. */
static void refuse_too_large(app *a, srv_response *rs, const st_device *dev, const char *sha,
                             uint64_t size)
{
    const ev_limits *l = limits(a);
    refused(dev, sha, "too_large", "size=%llu limit=%llu", (unsigned long long)size,
            (unsigned long long)l->max_file);
    reply_error(a, rs, 413, "evidence_too_large", 0,
                "evidence %.12s declares %llu bytes; this server takes at most %llu bytes a file",
                sha, (unsigned long long)size, (unsigned long long)l->max_file);
}

/* A new upload (nothing of it held yet) must fit the device's quota.
 * 0 fits, 1 refused (answered), -1 storage error (answered). */
static int check_quota(app *a, st_backend *db, srv_response *rs, const st_device *dev,
                       const char *sha, uint64_t size)
{
    const ev_limits *l = limits(a);
    uint64_t used = 0;
    if (quota_used(a, db, dev->id, sha, &used) != 0) {
        storage_error(a, rs, db, "count the device's evidence");
        return -1;
    }
    if (used > l->quota || size > l->quota - used) {
        refused(dev, sha, "quota", "size=%llu used=%llu quota=%llu", (unsigned long long)size,
                (unsigned long long)used, (unsigned long long)l->quota);
        reply_error(a, rs, 413, "evidence_quota", 0,
                    "this device holds %llu bytes of evidence on the server; %llu more would pass "
                    "its quota of %llu bytes",
                    (unsigned long long)used, (unsigned long long)size,
                    (unsigned long long)l->quota);
        return 1;
    }
    return 0;
}

void ev_handle(app *a, const st_device *dev, const srv_request *rq, srv_response *rs,
               const char *sha)
{
    st_backend *db = app_db(a);
    const ev_limits *l = limits(a);
    char partial[4200];
    uint64_t off = 0, claimed, avail;
    int rc, fd = -1, head = strcmp(rq->method, "HEAD") == 0, quota_locked = 0, have;
    st_evref ref;
    struct stat st;
    const char *hv, *why;
    uint8_t *raw = NULL;
    const uint8_t *data;
    size_t datalen;
    pthread_mutex_t *lock;

    if (!valid_sha(sha))
        return reply_error(a, rs, 400, "bad_blob_id", 0,
                           "evidence id must be 64 lower-case hex digits");
    if (!db)
        return storage_error(a, rs, NULL, "open its database");
    rc = db->ops->evidence_ref(db, sha, dev->id, &ref);
    if (rc == ST_NOTFOUND)
        return reply_error(a, rs, 404, "not_expected", 0,
                           "no accepted entry of this device names evidence %s", sha);
    if (rc != ST_OK)
        return storage_error(a, rs, db, "read the evidence index");
    /* Each device uploads into its own partial file: one device cannot
     * append to (and so spoil) another's upload of the same content. */
    partial_path(a, dev->id, sha, partial, sizeof partial);
    lock = evidence_lock(a, sha);
    pthread_mutex_lock(lock);
    /* Looked at again under the lock: another upload may have finished. */
    if (db->ops->evidence_ref(db, sha, dev->id, &ref) != ST_OK) {
        storage_error(a, rs, db, "read the evidence index");
        goto out;
    }
    /* Complete for this device only once it sent the bytes itself: the
     * server's holding a blob another device sent is not told to one that
     * only knows its hash (possession, docs/server.md). */
    if (ref.received) {
        rs->status = head ? 200 : 204;
        offset_headers(rs, ref.size, ref.size, 1);
        goto out;
    }
    if (ref.size > l->max_file) {
        refuse_too_large(a, rs, dev, sha, ref.size);
        goto out;
    }
    if ((have = stat(partial, &st) == 0))
        off = (uint64_t)st.st_size;
    if (!have && ref.size == 0 && (fd = open(partial, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
        close(fd); /* an empty file: complete as it is */
        fd = -1;
        have = 1;
    }
    if (have && off >= ref.size) {
        /* A full-length partial file that was never finished (a crash
         * between the last chunk's fsync and its completion): finished
         * now, or discarded if its bytes are not the blob. */
        rc = finish(a, db, dev->id, sha, partial, ref.size);
        if (rc < 0) {
            reply_error(a, rs, 503, "storage", 0, "cannot store evidence now");
            goto out;
        }
        if (rc == 0) {
            rs->status = head ? 200 : 204;
            offset_headers(rs, ref.size, ref.size, 1);
            goto out;
        }
        off = 0;
    }
    if (head) {
        if (off == 0 && check_quota(a, db, rs, dev, sha, ref.size) != 0)
            goto out;
        rs->status = 200;
        offset_headers(rs, off, ref.size, 0);
        goto out;
    }
    hv = srv_header_get(rq, "upload-offset");
    if (!hv || px_parse_u64(hv, 0, ref.size, &claimed) != NULL) {
        reply_error(a, rs, 400, "bad_offset", 0, "Upload-Offset is missing or out of range");
        goto out;
    }
    if (claimed != off) {
        reply_error(a, rs, 409, "offset_mismatch", 0, "the server holds %llu bytes, not %llu",
                    (unsigned long long)off, (unsigned long long)claimed);
        offset_headers(rs, off, ref.size, 0);
        goto out;
    }
    data = rq->body;
    datalen = rq->body_len;
    if ((hv = srv_header_get(rq, "upload-encoding")) && strcmp(hv, "lz4") == 0) {
        px_frame_limits fl = {APP_MAX_PATCH_BYTES, APP_MAX_PATCH_BYTES, 255};
        if (px_frame_decode(rq->body, rq->body_len, &fl, &raw, &datalen, &why) != 0) {
            reply_error(a, rs, 400, "bad_frame", 0, "evidence chunk: %s", why);
            goto out;
        }
        data = raw;
    }
    if (datalen > APP_MAX_PATCH_BYTES || off + datalen > ref.size) {
        reply_error(a, rs, 413, "too_large", 0, "the chunk goes past the evidence size %llu",
                    (unsigned long long)ref.size);
        goto out;
    }
    /* The reserve of free space is for entries (small, and never to be
     * refused for want of room): evidence stops before it. */
    if (free_bytes(a, &avail) == 0 && (avail < l->reserve || datalen > avail - l->reserve)) {
        refused(dev, sha, datalen > avail ? "disk_full" : "disk_reserve",
                "free=%llu reserve=%llu chunk=%zu", (unsigned long long)avail,
                (unsigned long long)l->reserve, datalen);
        reply_error(a, rs, 507, "insufficient_storage", 0,
                    "the server keeps its last %llu bytes of disk for entries; evidence waits "
                    "until it has room",
                    (unsigned long long)l->reserve);
        offset_headers(rs, off, ref.size, 0);
        goto out;
    }
    if (off == 0) {
        /* A new upload: within the device's quota, checked and begun
         * under one lock so that two uploads cannot both take the rest. */
        pthread_mutex_lock(&quota_lock);
        quota_locked = 1;
        if (check_quota(a, db, rs, dev, sha, ref.size) != 0)
            goto out;
    }
    fd = open(partial, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        app_log("error", "event=evidence_open device=%lld sha256=%s error=\"%s\"",
                (long long)dev->id, sha, strerror(errno));
        reply_error(a, rs, 503, "storage", 0, "cannot store evidence now");
        goto out;
    }
    if (off == 0) {
        /* A new partial file: its directory entry must be durable before
         * an offset is acknowledged. */
        char pdir[4200];
        snprintf(pdir, sizeof pdir, "%s/evidence/partial", a->data_dir);
        if (fsync_dir(pdir) != 0) {
            app_log("error", "event=evidence_sync device=%lld sha256=%s error=\"%s\"",
                    (long long)dev->id, sha, strerror(errno));
            reply_error(a, rs, 503, "storage", 0, "cannot sync evidence now");
            goto out;
        }
    }
    if (quota_locked) {
        pthread_mutex_unlock(&quota_lock);
        quota_locked = 0;
    }
    for (size_t done = 0; done < datalen;) {
        ssize_t w = write(fd, data + done, datalen - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0 || fsync(fd) != 0) {
            int e = w == 0 ? ENOSPC : errno;
            /* Drop the partial write: the offset stays where it was, and
             * HEAD never reports what was not made durable. */
            if (ftruncate(fd, (off_t)off) != 0)
                app_log("error", "event=evidence_truncate device=%lld sha256=%s error=\"%s\"",
                        (long long)dev->id, sha, strerror(errno));
            if (e == ENOSPC || e == EDQUOT) {
                refused(dev, sha, "disk_full", "error=\"%s\" offset=%llu", strerror(e),
                        (unsigned long long)off);
                reply_error(a, rs, 507, "insufficient_storage", 0,
                            "the server's disk is full; evidence waits until it has room");
            } else {
                app_log("error", "event=evidence_write device=%lld sha256=%s error=\"%s\"",
                        (long long)dev->id, sha, strerror(e));
                reply_error(a, rs, 503, "storage", 0, "cannot store evidence now");
            }
            offset_headers(rs, off, ref.size, 0);
            goto out;
        }
        done += (size_t)w;
        if (done == datalen)
            break;
        /* A short write: the next one comes after its fsync above. */
    }
    hash_chunk(partial, off, data, datalen);
    off += datalen;
    atomic_fetch_add(&a->counters[M_EVIDENCE_BYTES], datalen);
    if (off == ref.size) {
        close(fd);
        fd = -1;
        rc = finish(a, db, dev->id, sha, partial, ref.size);
        if (rc == 1) {
            reply_error(a, rs, 422, "hash_mismatch", 0,
                        "the uploaded bytes do not hash to %s; they were discarded", sha);
            offset_headers(rs, 0, ref.size, 0);
            goto out;
        }
        if (rc != 0) {
            reply_error(a, rs, 503, "storage", 0, "cannot store evidence now");
            goto out;
        }
        rs->status = 204;
        offset_headers(rs, ref.size, ref.size, 1);
        goto out;
    }
    rs->status = 204;
    offset_headers(rs, off, ref.size, 0);
out:
    if (quota_locked)
        pthread_mutex_unlock(&quota_lock);
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(lock);
    free(raw);
}

/* ---- the sweep: partial files finished, orphaned or expired ------------- */

/* One pass over DATA/evidence/partial: a full-length file is finished (or
 * discarded if its bytes are not the blob), a file no entry of its device
 * names or whose blob the device already sent is removed, and one left
 * untouched longer than the expiry is removed (the upload then starts
 * again from 0). */
static void sweep(app *a)
{
    char dir[4200], path[4500];
    st_backend *db = app_db(a);
    int64_t now = (int64_t)time(NULL);
    unsigned n_done = 0, n_expired = 0, n_dropped = 0;
    DIR *d;
    struct dirent *e;

    if (!db)
        return;
    snprintf(dir, sizeof dir, "%s/evidence/partial", a->data_dir);
    if (!(d = opendir(dir))) {
        if (errno != ENOENT)
            app_log("error", "event=partial_sweep error=\"%s\"", strerror(errno));
        return;
    }
    while ((e = readdir(d))) {
        char sha[65];
        const char *dash = strchr(e->d_name, '-');
        uint64_t dev;
        char num[24];
        st_evref ref;
        struct stat st;
        pthread_mutex_t *lock;
        int rc;

        if (e->d_name[0] == '.' || !dash || (size_t)(dash - e->d_name) >= sizeof num ||
            strlen(dash + 1) != 64)
            continue;
        memcpy(num, e->d_name, (size_t)(dash - e->d_name));
        num[dash - e->d_name] = '\0';
        snprintf(sha, sizeof sha, "%s", dash + 1);
        if (px_parse_u64(num, 1, (uint64_t)INT64_MAX, &dev) != NULL || !valid_sha(sha))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        lock = evidence_lock(a, sha);
        pthread_mutex_lock(lock);
        rc = db->ops->evidence_ref(db, sha, (int64_t)dev, &ref);
        if (stat(path, &st) != 0) {
            /* finished or removed meanwhile */
        } else if (rc == ST_NOTFOUND || (rc == ST_OK && ref.received)) {
            if (unlink(path) == 0)
                n_dropped++;
            app_log("info", "event=partial_removed device=%llu sha256=%s bytes=%lld why=%s",
                    (unsigned long long)dev, sha, (long long)st.st_size,
                    rc == ST_NOTFOUND ? "not_expected" : "received");
        } else if (rc == ST_OK && (uint64_t)st.st_size >= ref.size) {
            if (finish(a, db, (int64_t)dev, sha, path, ref.size) == 0)
                n_done++;
        } else if (rc == ST_OK && now - (int64_t)st.st_mtime >= (int64_t)limits(a)->partial_ttl_s) {
            if (unlink(path) == 0)
                n_expired++;
            app_log("info", "event=partial_expired device=%llu sha256=%s bytes=%lld idle_s=%lld",
                    (unsigned long long)dev, sha, (long long)st.st_size,
                    (long long)(now - (int64_t)st.st_mtime));
        } else if (rc != ST_OK) {
            app_log("error", "event=partial_sweep error=\"%s\"", db->ops->errmsg(db));
        }
        pthread_mutex_unlock(lock);
    }
    closedir(d);
    if (n_done || n_expired || n_dropped) {
        fsync_dir(dir);
        app_log("info", "event=partial_sweep finished=%u expired=%u removed=%u", n_done, n_expired,
                n_dropped);
    }
}

static void *sweeper(void *p)
{
    app *a = p;
    ev_state *s = a->ev;
    uint64_t every = s->lim.partial_ttl_s / 4;
    if (every < 1)
        every = 1;
    if (every > 3600)
        every = 3600;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)every;
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0 || s->stop)
            continue;
        pthread_mutex_unlock(&s->mu);
        sweep(a);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int ev_start(app *a, const ev_limits *l, char *err, size_t errlen)
{
    ev_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->lim = *l;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    a->ev = s;
    app_log("info", "event=evidence_limits max_file=%llu quota=%llu reserve=%llu partial_expiry_s=%llu",
            (unsigned long long)l->max_file, (unsigned long long)l->quota,
            (unsigned long long)l->reserve, (unsigned long long)l->partial_ttl_s);
    sweep(a);
    if (pthread_create(&s->thread, NULL, sweeper, a) != 0) {
        snprintf(err, errlen, "cannot start the evidence sweep: %s", strerror(errno));
        ev_stop(a);
        return -1;
    }
    s->thread_started = 1;
    return 0;
}

void ev_stop(app *a)
{
    ev_state *s = a->ev;
    if (!s)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    a->ev = NULL;
}
