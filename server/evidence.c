/* evidence.c -- patrold's evidence store: the tus-style upload routes
 * (HEAD and PATCH /v1/evidence/<sha256>, docs/protocol.md), each device's
 * partial files under DATA/evidence/partial/ and their completion into the
 * content-addressed store DATA/evidence/aa/<sha256>. Runs on the worker
 * threads of net.c, with the storage handle of app_db(). */
#include "evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Hash the partial file and, on a match, move it into the store. 0 moved,
 * 1 mismatch (discarded), -1 error. */
static int evidence_finish(app *a, const char *sha, const char *partial)
{
    char dir[4200], final[4300], hex[65];
    uint8_t digest[PX_HASH_LEN], *buf = malloc(256 * 1024);
    px_sha256_ctx *h = px_sha256_new();
    int fd = open(partial, O_RDONLY | O_CLOEXEC), rc = -1;
    ssize_t r;

    if (fd < 0 || !buf || !h)
        goto exit;
    while ((r = read(fd, buf, 256 * 1024)) > 0)
        px_sha256_update(h, buf, (size_t)r);
    if (r < 0)
        goto exit;
    px_sha256_final(h, digest);
    h = NULL;
    px_format_hex(digest, PX_HASH_LEN, hex);
    if (strcmp(hex, sha) != 0) {
        unlink(partial);
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
        /* Another device completed the same content meanwhile. */
        unlink(partial);
        rc = 0;
        goto exit;
    }
    if (chmod(partial, 0400) != 0 || rename(partial, final) != 0 || fsync_dir(dir) != 0)
        goto exit;
    snprintf(dir, sizeof dir, "%s/evidence/partial", a->data_dir);
    fsync_dir(dir);
    rc = 0;
exit:
    if (fd >= 0)
        close(fd);
    px_sha256_free(h);
    free(buf);
    return rc;
}

/* Append the tus headers (after X-Patrol-Reason, if reply_error set it). */
static void offset_headers(srv_response *rs, uint64_t off, uint64_t len, int complete)
{
    size_t used = strlen(rs->extra_headers);
    snprintf(rs->extra_headers + used, sizeof rs->extra_headers - used,
             "Tus-Resumable: 1.0.0\r\nUpload-Offset: %llu\r\nUpload-Length: %llu\r\n%s",
             (unsigned long long)off, (unsigned long long)len,
             complete ? "Upload-Complete: 1\r\n" : "");
}

void ev_handle(app *a, const st_device *dev, const srv_request *rq, srv_response *rs,
               const char *sha)
{
    st_backend *db = app_db(a);
    char partial[4200];
    uint64_t size, off = 0, claimed;
    int complete, rc, fd = -1;
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
    rc = db->ops->evidence_get(db, sha, dev->id, &size, &complete);
    if (rc == ST_NOTFOUND)
        return reply_error(a, rs, 404, "not_expected", 0,
                           "no accepted entry of this device names evidence %s", sha);
    if (rc != ST_OK)
        return storage_error(a, rs, db, "read the evidence index");
    /* Each device uploads into its own partial file: one device cannot
     * append to (and so spoil) another's upload of the same content. */
    snprintf(partial, sizeof partial, "%s/evidence/partial/%lld-%s", a->data_dir,
             (long long)dev->id, sha);
    lock = evidence_lock(a, sha);
    pthread_mutex_lock(lock);
    /* Looked at again under the lock: another upload may have finished. */
    if (db->ops->evidence_get(db, sha, dev->id, &size, &complete) != ST_OK) {
        storage_error(a, rs, db, "read the evidence index");
        goto out;
    }
    if (complete) {
        rs->status = strcmp(rq->method, "HEAD") == 0 ? 200 : 204;
        offset_headers(rs, size, size, 1);
        goto out;
    }
    if (stat(partial, &st) == 0)
        off = (uint64_t)st.st_size;
    if (strcmp(rq->method, "HEAD") == 0) {
        rs->status = 200;
        offset_headers(rs, off, size, 0);
        goto out;
    }
    hv = srv_header_get(rq, "upload-offset");
    if (!hv || px_parse_u64(hv, 0, size, &claimed) != NULL) {
        reply_error(a, rs, 400, "bad_offset", 0, "Upload-Offset is missing or out of range");
        goto out;
    }
    if (claimed != off) {
        reply_error(a, rs, 409, "offset_mismatch", 0, "the server holds %llu bytes, not %llu",
                    (unsigned long long)off, (unsigned long long)claimed);
        offset_headers(rs, off, size, 0);
        goto out;
    }
    data = rq->body;
    datalen = rq->body_len;
    if ((hv = srv_header_get(rq, "upload-encoding")) && strcmp(hv, "lz4") == 0) {
        px_frame_limits lim = {APP_MAX_PATCH_BYTES, APP_MAX_PATCH_BYTES, 255};
        if (px_frame_decode(rq->body, rq->body_len, &lim, &raw, &datalen, &why) != 0) {
            reply_error(a, rs, 400, "bad_frame", 0, "evidence chunk: %s", why);
            goto out;
        }
        data = raw;
    }
    if (datalen > APP_MAX_PATCH_BYTES || off + datalen > size) {
        reply_error(a, rs, 413, "too_large", 0, "the chunk goes past the evidence size %llu",
                    (unsigned long long)size);
        goto out;
    }
    fd = open(partial, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        app_log("error", "event=evidence_open error=\"%s\"", strerror(errno));
        reply_error(a, rs, 503, "storage", 0, "cannot store evidence now");
        goto out;
    }
    if (off == 0) {
        /* A new partial file: its directory entry must be durable before
         * an offset is acknowledged. */
        char pdir[4200];
        snprintf(pdir, sizeof pdir, "%s/evidence/partial", a->data_dir);
        if (fsync_dir(pdir) != 0) {
            reply_error(a, rs, 503, "storage", 0, "cannot sync evidence now");
            goto out;
        }
    }
    for (size_t done = 0; done < datalen;) {
        ssize_t w = write(fd, data + done, datalen - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* Drop the partial write: the offset stays where it was. */
            if (ftruncate(fd, (off_t)off) != 0)
                app_log("error", "event=evidence_truncate error=\"%s\"", strerror(errno));
            reply_error(a, rs, 503, "storage", 0, "cannot store evidence now");
            goto out;
        }
        done += (size_t)w;
    }
    /* Durable before the new offset is acknowledged. */
    if (fsync(fd) != 0) {
        /* Take back what was not made durable: HEAD must not report it. */
        if (ftruncate(fd, (off_t)off) != 0)
            app_log("error", "event=evidence_truncate error=\"%s\"", strerror(errno));
        reply_error(a, rs, 503, "storage", 0, "cannot sync evidence now");
        goto out;
    }
    off += datalen;
    atomic_fetch_add(&a->counters[M_EVIDENCE_BYTES], datalen);
    if (off == size) {
        close(fd);
        fd = -1;
        rc = evidence_finish(a, sha, partial);
        if (rc == 1) {
            app_log("warn", "event=evidence_hash_mismatch device=%lld sha256=%s",
                    (long long)dev->id, sha);
            reply_error(a, rs, 422, "hash_mismatch", 0,
                        "the uploaded bytes do not hash to %s; they were discarded", sha);
            offset_headers(rs, 0, size, 0);
            goto out;
        }
        if (rc != 0 || db->ops->evidence_complete(db, sha, app_now_ms()) != ST_OK) {
            reply_error(a, rs, 503, "storage", 0, "cannot store evidence now");
            goto out;
        }
        atomic_fetch_add(&a->counters[M_EVIDENCE_COMPLETE], 1);
        app_log("info", "event=evidence_complete device=%lld sha256=%s bytes=%llu",
                (long long)dev->id, sha, (unsigned long long)size);
        rs->status = 204;
        offset_headers(rs, size, size, 1);
        goto out;
    }
    rs->status = 204;
    offset_headers(rs, off, size, 0);
out:
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(lock);
    free(raw);
}
