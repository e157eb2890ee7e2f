/* sync_upload.c -- resumable evidence upload (tus style, docs/protocol.md
 * "Evidence"): each file the server asked for, or that of an acknowledged
 * entry not confirmed complete, is sent in chunks from the server's offset
 * (HEAD, or the answer to a PATCH), never from what the terminal believes
 * it sent; a chunk is LZ4 where that helps and shrinks on a slow link.
 * A file the server refuses is deferred, the others go on. Moved from
 * sync.c, behaviour unchanged. */
#include "sync_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entry.h"
#include "frame.h"
#include "i18n.h"

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
            if (strcmp(e->fields[i]->name, "sha256") == 0 && px_sync_is_sha_hex(e->fields[i]->value)) {
                char one[8];
                err = px_get_text(p, one, sizeof one,
                                  "SELECT 1 FROM evidence_uploaded WHERE sha256 = ?", "t",
                                  e->fields[i]->value);
                if (err == PATROL_ENOTFOUND)
                    err = px_sync_want_add(s, e->fields[i]->value);
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
        px_sync_defer(s, px_fail(p, PATROL_ECORRUPT, _("the server asks for evidence %s, which this store "
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
        px_sync_defer(s, px_fail(p, PATROL_ECORRUPT, _("evidence file %s is missing or changed (run "
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
                if ((err = px_http_backoff(&s->c, &tries, k == PX_ATT_ANSWER ? &a : NULL, what)))
                    goto exit;
                continue;
            }
            if (a.status == 401 || a.status == 403) {
                err = px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0);
                goto exit;
            }
            if (a.status != 200) {
                px_sync_defer(s, px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0));
                goto exit;
            }
            if (a.upload_length >= 0 && (uint64_t)a.upload_length != size) {
                px_sync_defer(s, px_fail(p, PATROL_ESERVER, _("the server expects %lld bytes of evidence "
                                                    "%s; this store holds %llu"),
                                 (long long)a.upload_length, sha, (unsigned long long)size));
                goto exit;
            }
            if (a.upload_complete)
                goto complete;
            if (a.upload_offset < 0 || (uint64_t)a.upload_offset >= size) {
                px_sync_defer(s, px_fail(p, PATROL_ESERVER, _("the server's offset for evidence %s is "
                                                    "missing or impossible"),
                                 sha));
                goto exit;
            }
            px_sync_add_done(s, a.upload_offset - (int64_t)off);
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
        t0 = px_sync_mono_ms();
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
            if ((err = px_http_backoff(&s->c, &tries, k == PX_ATT_ANSWER ? &a : NULL, what)))
                goto exit;
            need_head = 1; /* where the server is, not where we think */
            continue;
        }
        if (a.status == 204 || a.status == 200) {
            int64_t dt = px_sync_mono_ms() - t0;
            if (a.upload_complete)
                goto complete;
            if (a.upload_offset < 0 || (uint64_t)a.upload_offset > size ||
                (uint64_t)a.upload_offset == off) {
                need_head = 1;
                if (++conflicts > s->o.max_attempts) {
                    px_sync_defer(s, px_fail(p, PATROL_ESERVER, _("evidence %s: the server does not "
                                                        "advance its offset"),
                                     sha));
                    goto exit;
                }
                continue;
            }
            px_sync_add_done(s, a.upload_offset - (int64_t)off);
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
            px_sync_emit(s, 0, 0);
            continue;
        }
        if (a.status == 409) {
            /* Someone (an earlier try whose answer was lost) moved the
             * offset: ask the server where it is. */
            if (++conflicts > s->o.max_attempts) {
                px_sync_defer(s, px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0));
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
            px_sync_add_done(s, -(int64_t)off);
            px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0);
            snprintf(msg, sizeof msg, "%s", p->errmsg);
            px_sync_defer(s, px_fail(p, PATROL_ESERVER, _("%s (the bytes sent do not hash to the file's "
                                                "name: run 'patrol verify')"),
                             msg));
            goto exit;
        }
        if (a.status == 401 || a.status == 403) {
            err = px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0);
            goto exit;
        }
        px_sync_defer(s, px_http_refusal(&s->c, &a, what, PATROL_ESERVER, NULL, 0));
        goto exit;
    }
complete:
    px_sync_add_done(s, (int64_t)(size - off));
    if ((err = px_sync_run(p, "INSERT OR IGNORE INTO evidence_uploaded(sha256, confirmed_ms)"
                      " VALUES (?, ?)",
                           "ti", sha, px_sync_now_ms())))
        goto exit;
    s->r->evidence_uploaded++;
    px_sync_emit(s, 0, 1);
exit:
    free(frame);
    if (fd >= 0)
        close(fd);
    px_http_answer_free(&a);
    return err;
}

int px_upload_evidence(syncer *s)
{
    patrol *p = s->p;
    int err;

    s->pr.phase = "evidence";
    px_sync_emit(s, 0, 1);
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
