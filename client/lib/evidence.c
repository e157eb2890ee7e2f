/* evidence.c -- evidence files: streamed into evidence/<aa>/<sha256> while
 * hashed, synced, then recorded. Content-addressed, so the same file is
 * stored once; stored files are read-only and never modified. */
#include "internal.h"
#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "matter.h"
#include "rules.h"
#include "validate.h"

#define CHUNK (256u * 1024) /* memory used whatever the file size */


static const char *guess_media_type(const uint8_t *b, size_t n)
{
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "image/jpeg";
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVE", 4) == 0)
        return "audio/wav";
    if (n >= 4 && memcmp(b, "OggS", 4) == 0)
        return "audio/ogg";
    if (n >= 6 && memcmp(b, "#!AMR\n", 6) == 0)
        return "audio/amr";
    if (n >= 3 && memcmp(b, "ID3", 3) == 0)
        return "audio/mpeg";
    if (n >= 12 && memcmp(b + 4, "ftypM4A", 7) == 0)
        return "audio/mp4";
    if (n >= 12 && memcmp(b + 4, "ftypqt", 6) == 0)
        return "video/quicktime";
    if (n >= 8 && memcmp(b + 4, "ftyp", 4) == 0)
        return "video/mp4";
    if (n >= 5 && memcmp(b, "%PDF-", 5) == 0)
        return "application/pdf";
    return "application/octet-stream";
}

static int io_err(int e)
{
    return e == ENOSPC || e == EFBIG || e == EDQUOT ? PATROL_ENOSPC : PATROL_EIO;
}

/* Copy src into a temp file under evidence/tmp, hashing on the way.
 * Fills sha (hex), size and the first bytes for the media type. */
static int import_to_tmp(patrol *p, const char *src, char *tmp, size_t tmplen, char sha[65],
                         uint64_t *size, uint8_t *head, size_t *headlen)
{
    struct stat before, after;
    uint8_t *buf = NULL, digest[PX_HASH_LEN];
    px_sha256_ctx *h = NULL;
    uint64_t total = 0;
    int in = -1, out = -1, err = PATROL_OK;

    *headlen = 0;
    tmp[0] = '\0';
    in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (in < 0) {
        err = px_fail(p, errno == ENOENT ? PATROL_ENOTFOUND : PATROL_EIO,
                      _("cannot open evidence file %s: %s"), src, strerror(errno));
        goto exit;
    }
    if (fstat(in, &before) != 0 || !S_ISREG(before.st_mode)) {
        err = px_fail(p, PATROL_EINVAL, _("evidence file %s is not a regular file"), src);
        goto exit;
    }
    if (!(buf = malloc(CHUNK)) || !(h = px_sha256_new())) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto exit;
    }
    snprintf(tmp, tmplen, "%s/evidence/tmp/import-XXXXXX", p->dir);
    if ((out = mkstemp(tmp)) < 0) {
        err = px_fail(p, io_err(errno), _("cannot create a file in the store: %s"),
                      strerror(errno));
        tmp[0] = '\0';
        goto exit;
    }
    px_mark(p, "import");
    for (;;) {
        ssize_t n = read(in, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = px_fail(p, PATROL_EIO, _("reading %s: %s"), src, strerror(errno));
            goto exit;
        }
        if (n == 0)
            break;
        if (*headlen == 0) {
            *headlen = (size_t)n < 16 ? (size_t)n : 16;
            memcpy(head, buf, *headlen);
        }
        px_sha256_update(h, buf, (size_t)n);
        if (px_write_all(out, buf, (size_t)n) != 0) {
            err = px_fail(p, io_err(errno), _("writing evidence into the store: %s"),
                          errno == ENOSPC || errno == EFBIG ? _("the disk is full")
                                                            : strerror(errno));
            goto exit;
        }
        total += (uint64_t)n;
    }
    /* A file still being written by the camera or recorder would give a
     * hash of something that never existed: refuse it. */
    if (fstat(in, &after) != 0 || after.st_size != before.st_size ||
        after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
        after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
        after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
        after.st_ctim.tv_nsec != before.st_ctim.tv_nsec || total != (uint64_t)before.st_size) {
        err = px_fail(p, PATROL_ECHANGED, _("evidence file %s changed while it was being read; "
                                          "add it again when it is complete"), src);
        goto exit;
    }
    if (total == 0) {
        err = px_fail(p, PATROL_EINVAL, _("evidence file %s is empty"), src);
        goto exit;
    }
    if (fsync(out) != 0) {
        err = px_fail(p, io_err(errno), _("syncing evidence: %s"), strerror(errno));
        goto exit;
    }
    px_sha256_final(h, digest);
    h = NULL;
    px_format_hex(digest, PX_HASH_LEN, sha);
    *size = total;
exit:
    px_sha256_free(h);
    free(buf);
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && err == PATROL_OK)
        err = px_fail(p, io_err(errno), _("writing evidence: %s"), strerror(errno));
    if (err != PATROL_OK && tmp[0]) {
        unlink(tmp);
        tmp[0] = '\0';
    }
    return err;
}

int patrol_evidence_add(patrol *p, const char *matter, const char *kind, const char *path,
                        const char *media_type, const char *caption,
                        const patrol_location *location, patrol_saved *out)
{
    char tmp[4096], final[4200], dir[4096], sha[65], sizebuf[24], name[PX_LINE_MAX];
    uint8_t head[16];
    size_t headlen;
    uint64_t size = 0;
    struct stat st;
    patrol_field user[3], extra[3];
    size_t nuser = 0;
    patrol_record_in in;
    const char *base, *why;
    int err, created = 0, made_dir = 0;

    p->errmsg[0] = '\0';
    if (!matter || !kind || !path)
        return px_fail(p, PATROL_EINVAL, _("matter, kind and file are required"));
    if ((why = px_check_line(kind, 32)) ||
        px_rules_check_value(px_rules_field(px_rules_find("evidence.add"), "kind"), kind))
        return px_fail(p, PATROL_EINVAL, _("evidence kind '%.32s': must be photo, audio, video, "
                                         "document or electronic_data"), kind);
    if (media_type && (why = px_check_line(media_type, 100)))
        return px_fail(p, PATROL_EINVAL, _("media type: %s"), _(why));
    if (strlen(p->dir) > 3000)
        return px_fail(p, PATROL_EINVAL, _("store path too long"));

    /* Refuse before copying a 200 MB video for a matter that cannot take it
     * (patrol_record checks again, in its transaction). */
    {
        char state[16];
        if ((why = px_check_ident(matter)))
            return px_fail(p, PATROL_EINVAL, _("matter id: %s"), _(why));
        err = px_get_text(p, state, sizeof state, "SELECT state FROM matters WHERE id = ?", "t",
                          matter);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ENOTFOUND, _("no matter '%s' on this terminal"), matter);
        if (err)
            return err;
        {
            px_mstate ms;
            if (px_mstate_parse(state, &ms) != 0)
                return px_fail(p, PATROL_ECORRUPT, _("matter %s has an unknown state '%s'"),
                               matter, state);
            if (px_matter_allows(ms, "evidence.add"))
                return px_fail(p, PATROL_ESTATE, _("matter %s is %s: evidence can no longer be "
                                                   "added to it"),
                               matter, _(px_mstate_label(ms)));
        }
    }
    if ((err = import_to_tmp(p, path, tmp, sizeof tmp, sha, &size, head, &headlen)))
        return err;
    snprintf(dir, sizeof dir, "%s/evidence/%.2s", p->dir, sha);
    snprintf(final, sizeof final, "%s/%s", dir, sha);
    if (mkdir(dir, 0700) == 0)
        made_dir = 1;
    else if (errno != EEXIST) {
        err = px_fail(p, io_err(errno), _("cannot create %s: %s"), dir, strerror(errno));
        unlink(tmp);
        return err;
    }
    if (stat(final, &st) == 0) {
        /* Stored already: keep the old copy untouched. */
        unlink(tmp);
    } else {
        if (chmod(tmp, 0400) != 0 || rename(tmp, final) != 0) {
            err = px_fail(p, io_err(errno), _("cannot store evidence: %s"), strerror(errno));
            unlink(tmp);
            return err;
        }
        created = 1;
        if (px_fsync_dir(dir) != 0) {
            err = px_fail(p, io_err(errno), _("cannot sync %s: %s"), dir, strerror(errno));
            goto undo;
        }
    }
    px_mark(p, "stored");

    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(name, sizeof name, "%s", base);
    user[nuser++] = (patrol_field){"kind", kind, PATROL_CONF_NONE};
    user[nuser++] = (patrol_field){"media_type",
                                   media_type ? media_type : guess_media_type(head, headlen),
                                   PATROL_CONF_NONE};
    if (caption)
        user[nuser++] = (patrol_field){"caption", caption, PATROL_CONF_NONE};
    snprintf(sizebuf, sizeof sizebuf, "%llu", (unsigned long long)size);
    extra[0] = (patrol_field){"sha256", sha, PATROL_CONF_NONE};
    extra[1] = (patrol_field){"size", sizebuf, PATROL_CONF_NONE};
    /* A file name that is not a valid line (odd bytes) is left out rather
     * than refusing the evidence. */
    extra[2] = (patrol_field){"name", name, PATROL_CONF_NONE};
    memset(&in, 0, sizeof in);
    in.kind = "evidence.add";
    in.target = matter;
    in.fields = user;
    in.n_fields = nuser;
    in.location = location;
    err = px_record_fields(p, &in, extra, px_check_line(name, PX_LINE_MAX) ? 2 : 3, out);
    if (err == PATROL_EIO || err == PATROL_ENOSPC || err == PATROL_ENOMEM ||
        err == PATROL_ECORRUPT)
        /* The commit may have reached the disk although SQLite reported a
         * failure (an fsync that failed after the commit was written: the
         * entry is there when the store is opened again). The file is then
         * what the entry names: keep it. An unreferenced, content-addressed
         * file is harmless; a missing one loses evidence (test_fault's
         * KNOWN_EVIDENCE_FSYNC). */
        return err;
    if (err)
        goto undo;
    return PATROL_OK;
undo:
    if (created)
        unlink(final); /* refused before any write: leave the store as it was */
    if (made_dir)
        rmdir(dir);
    return err;
}

int patrol_evidence_open(patrol *p, const char *sha256, int *fd, uint64_t *size,
                         char *media_type, size_t len)
{
    uint8_t h[PX_HASH_LEN];
    char type[128], path[4200], sizebuf[24];
    struct stat st;
    unsigned long long want;
    int err, f;

    p->errmsg[0] = '\0';
    if (!fd)
        return px_fail(p, PATROL_EINVAL, _("%s"), _("no place for the file descriptor"));
    *fd = -1;
    if (!sha256 || strlen(sha256) != 2 * PX_HASH_LEN || px_parse_hex(sha256, h, sizeof h))
        return px_fail(p, PATROL_EINVAL, _("%s"), _("not a SHA-256 (64 hex digits)"));
    err = px_get_text(p, type, sizeof type, "SELECT media_type FROM evidence WHERE sha256 = ?",
                      "t", sha256);
    if (!err)
        err = px_get_text(p, sizebuf, sizeof sizebuf,
                          "SELECT size FROM evidence WHERE sha256 = ?", "t", sha256);
    if (err == PATROL_ENOTFOUND)
        return px_fail(p, PATROL_ENOTFOUND, _("no evidence %.64s on this terminal"), sha256);
    if (err)
        return err;
    want = strtoull(sizebuf, NULL, 10);
    snprintf(path, sizeof path, "%s/evidence/%.2s/%s", p->dir, sha256, sha256);
    if ((f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
        return px_fail(p, errno == ENOENT ? PATROL_ECORRUPT : PATROL_EIO,
                       _("cannot open evidence file %s: %s"), path, strerror(errno));
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size != want) {
        close(f);
        return px_fail(p, PATROL_ECORRUPT, _("evidence file %s is not as recorded (size)"),
                       path);
    }
    *fd = f;
    if (size)
        *size = (uint64_t)st.st_size;
    if (media_type && len)
        snprintf(media_type, len, "%s", type);
    return PATROL_OK;
}
