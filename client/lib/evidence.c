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

#include "entry.h"
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

/* A file being stored: where it is and what to undo if its entry is not
 * recorded. */
typedef struct stored {
    char sha[65], sizebuf[24], name[PX_LINE_MAX];
    char final[4200], dir[4096];
    uint8_t head[16];
    size_t headlen;
    int created, made_dir;
} stored;

/* Refuse before copying a 200 MB video for a matter that cannot take it
 * (the record's rules check again, in the transaction). */
static int evidence_allowed(patrol *p, const char *matter)
{
    char state[16];
    const char *why;
    px_mstate ms;
    int err;
    if ((why = px_check_ident(matter)))
        return px_fail(p, PATROL_EINVAL, _("matter id: %s"), _(why));
    err = px_get_text(p, state, sizeof state, "SELECT state FROM matters WHERE id = ?", "t",
                      matter);
    if (err == PATROL_ENOTFOUND)
        return px_fail(p, PATROL_ENOTFOUND, _("no matter '%s' on this terminal"), matter);
    if (err)
        return err;
    if (px_mstate_parse(state, &ms) != 0)
        return px_fail(p, PATROL_ECORRUPT, _("matter %s has an unknown state '%s'"), matter,
                       state);
    if (px_matter_allows(ms, "evidence.add"))
        return px_fail(p, PATROL_ESTATE, _("matter %s is %s: evidence can no longer be added to "
                                           "it"),
                       matter, _(px_mstate_label(ms)));
    return PATROL_OK;
}

static int check_kind(patrol *p, const char *kind, const char *media_type)
{
    const char *why;
    if ((why = px_check_line(kind, 32)) ||
        px_rules_check_value(px_rules_field(px_rules_find("evidence.add"), "kind"), kind))
        return px_fail(p, PATROL_EINVAL, _("evidence kind '%.32s': must be photo, audio, video, "
                                         "document or electronic_data"), kind);
    if (media_type && (why = px_check_line(media_type, 100)))
        return px_fail(p, PATROL_EINVAL, _("media type: %s"), _(why));
    return PATROL_OK;
}

/* Copy path into evidence/<aa>/<sha256> (hashing, synced), or find it
 * there already. */
static int store_file(patrol *p, const char *path, stored *sf)
{
    char tmp[4096];
    uint64_t size = 0;
    struct stat st;
    const char *base;
    int err;

    memset(sf, 0, sizeof *sf);
    if ((err = import_to_tmp(p, path, tmp, sizeof tmp, sf->sha, &size, sf->head, &sf->headlen)))
        return err;
    snprintf(sf->dir, sizeof sf->dir, "%s/evidence/%.2s", p->dir, sf->sha);
    snprintf(sf->final, sizeof sf->final, "%s/%s", sf->dir, sf->sha);
    if (mkdir(sf->dir, 0700) == 0)
        sf->made_dir = 1;
    else if (errno != EEXIST) {
        err = px_fail(p, io_err(errno), _("cannot create %s: %s"), sf->dir, strerror(errno));
        unlink(tmp);
        return err;
    }
    if (stat(sf->final, &st) == 0) {
        /* Stored already: keep the old copy untouched. */
        unlink(tmp);
    } else {
        if (chmod(tmp, 0400) != 0 || rename(tmp, sf->final) != 0) {
            err = px_fail(p, io_err(errno), _("cannot store evidence: %s"), strerror(errno));
            unlink(tmp);
            return err;
        }
        sf->created = 1;
        if (px_fsync_dir(sf->dir) != 0)
            return px_fail(p, io_err(errno), _("cannot sync %s: %s"), sf->dir, strerror(errno));
    }
    px_mark(p, "stored");
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(sf->name, sizeof sf->name, "%s", base);
    snprintf(sf->sizebuf, sizeof sf->sizebuf, "%llu", (unsigned long long)size);
    return PATROL_OK;
}

/* The entry was not recorded: remove what store_file created. */
static void unstore(stored *sf)
{
    if (sf->created)
        unlink(sf->final);
    if (sf->made_dir)
        rmdir(sf->dir);
}

/* The commit may have reached the disk although SQLite reported a failure
 * (an fsync that failed after the commit was written: the entry is there
 * when the store is opened again). The file is then what the entry names:
 * keep it. An unreferenced, content-addressed file is harmless; a missing
 * one loses evidence (test_fault's KNOWN_EVIDENCE_FSYNC). */
static int keep_files(int err)
{
    return err == PATROL_EIO || err == PATROL_ENOSPC || err == PATROL_ENOMEM ||
           err == PATROL_ECORRUPT;
}

/* The evidence.add entry of a stored file: user fields (kind, media type,
 * caption) in user[3], the library's (sha256, size, name) in extra[3]. */
static void evidence_in(const char *matter, const char *kind, const char *media_type,
                        const char *caption, const patrol_location *location, stored *sf,
                        patrol_record_in *in, patrol_field user[3], patrol_field extra[3],
                        size_t *n_extra)
{
    size_t nuser = 0;
    user[nuser++] = (patrol_field){"kind", kind, PATROL_CONF_NONE};
    user[nuser++] = (patrol_field){"media_type",
                                   media_type ? media_type
                                              : guess_media_type(sf->head, sf->headlen),
                                   PATROL_CONF_NONE};
    if (caption)
        user[nuser++] = (patrol_field){"caption", caption, PATROL_CONF_NONE};
    extra[0] = (patrol_field){"sha256", sf->sha, PATROL_CONF_NONE};
    extra[1] = (patrol_field){"size", sf->sizebuf, PATROL_CONF_NONE};
    /* A file name that is not a valid line (odd bytes) is left out rather
     * than refusing the evidence. */
    extra[2] = (patrol_field){"name", sf->name, PATROL_CONF_NONE};
    *n_extra = px_check_line(sf->name, PX_LINE_MAX) ? 2 : 3;
    memset(in, 0, sizeof *in);
    in->kind = "evidence.add";
    in->target = matter;
    in->fields = user;
    in->n_fields = nuser;
    in->location = location;
}

int patrol_evidence_add(patrol *p, const char *matter, const char *kind, const char *path,
                        const char *media_type, const char *caption,
                        const patrol_location *location, patrol_saved *out)
{
    stored sf;
    patrol_field user[3], extra[3];
    size_t n_extra;
    patrol_record_in in;
    int err;

    p->errmsg[0] = '\0';
    if (!matter || !kind || !path)
        return px_fail(p, PATROL_EINVAL, _("matter, kind and file are required"));
    if ((err = check_kind(p, kind, media_type)))
        return err;
    if (strlen(p->dir) > 3000)
        return px_fail(p, PATROL_EINVAL, _("store path too long"));
    if ((err = evidence_allowed(p, matter)))
        return err;
    if ((err = store_file(p, path, &sf))) {
        if (sf.created)
            unstore(&sf); /* stored, but its directory could not be synced */
        return err;
    }
    evidence_in(matter, kind, media_type, caption, location, &sf, &in, user, extra, &n_extra);
    err = px_record_fields(p, &in, extra, n_extra, out);
    if (err && !keep_files(err))
        unstore(&sf); /* refused before any write: leave the store as it was */
    return err;
}

int patrol_record_with_evidence(patrol *p, const patrol_record_in *in, const char *matter,
                                const patrol_evidence_in *ev, size_t n_ev, patrol_saved *out)
{
    stored sf[PATROL_EVIDENCE_WITH_MAX];
    patrol_field fields[PX_ENTRY_MAX_FIELDS];
    patrol_field user[3], extra[3];
    patrol_record_in ein, main_in;
    patrol_saved s, es;
    size_t n_extra, nf, n_stored = 0;
    int err;

    p->errmsg[0] = '\0';
    if (!in || !in->kind || !matter || (n_ev && !ev))
        return px_fail(p, PATROL_EINVAL, _("%s"), _("the entry, its matter and its files are "
                                                    "required"));
    if (n_ev > PATROL_EVIDENCE_WITH_MAX)
        return px_fail(p, PATROL_EINVAL, _("at most %d files with one entry"),
                       PATROL_EVIDENCE_WITH_MAX);
    if (in->n_fields + n_ev > PX_ENTRY_MAX_FIELDS - 2 || (in->n_fields && !in->fields))
        return px_fail(p, PATROL_EINVAL, _("too many fields"));
    if (strlen(p->dir) > 3000)
        return px_fail(p, PATROL_EINVAL, _("store path too long"));
    for (size_t i = 0; i < n_ev; i++) {
        if (!ev[i].kind || !ev[i].path)
            return px_fail(p, PATROL_EINVAL, _("matter, kind and file are required"));
        if ((err = check_kind(p, ev[i].kind, ev[i].media_type)))
            return err;
    }
    /* Everything patrol_record would refuse is refused before a file is
     * copied (the files' hashes are not known yet: zeros stand in). */
    memcpy(fields, in->fields, in->n_fields * sizeof fields[0]);
    nf = in->n_fields;
    for (size_t i = 0; i < n_ev; i++)
        if (ev[i].field)
            fields[nf++] = (patrol_field){
                ev[i].field, "0000000000000000000000000000000000000000000000000000000000000000",
                PATROL_CONF_NONE};
    main_in = *in;
    main_in.fields = fields;
    main_in.n_fields = nf;
    if (n_ev && (err = evidence_allowed(p, matter)))
        return err;
    if ((err = patrol_record_check(p, &main_in)))
        return err;
    for (; n_stored < n_ev; n_stored++)
        if ((err = store_file(p, ev[n_stored].path, &sf[n_stored]))) {
            if (sf[n_stored].created)
                unstore(&sf[n_stored]);
            goto undo;
        }
    /* The files' entries and the entry naming them: one transaction, so a
     * crash leaves all of them or none. */
    nf = in->n_fields;
    for (size_t i = 0; i < n_ev; i++)
        if (ev[i].field)
            fields[nf++] = (patrol_field){ev[i].field, sf[i].sha, PATROL_CONF_NONE};
    if ((err = px_begin(p)))
        goto undo;
    for (size_t i = 0; i < n_ev; i++) {
        evidence_in(matter, ev[i].kind, ev[i].media_type, ev[i].caption, in->location, &sf[i],
                    &ein, user, extra, &n_extra);
        if ((err = px_append_entry(p, &ein, extra, n_extra, &es))) {
            px_rollback(p);
            goto undo;
        }
    }
    if ((err = px_append_entry(p, &main_in, NULL, 0, &s))) {
        px_rollback(p);
        goto undo;
    }
    if ((err = px_commit(p))) {
        if (keep_files(err))
            return err;
        goto undo;
    }
    if (out)
        *out = s;
    return PATROL_OK;
undo:
    /* A file another entry already names was not created here: it stays. */
    for (size_t i = 0; i < n_stored; i++)
        unstore(&sf[i]);
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
