/* backup.c -- `patrold --data DIR backup --out DIR2`: a consistent copy
 * of a data directory while patrold serves it (docs/server.md "Backup and
 * restore"). The database is copied through the storage interface's
 * backup operation (SQLite's online backup API: one read transaction, so
 * the copy is the database as of one commit; ingest goes on meanwhile);
 * then every evidence file in the store, each hashed against its name
 * while copied (a blob completed after the database copy is copied too:
 * the restored server holds it and its device is asked to send it once
 * more, which proves possession again); then the keys and certificates.
 * Partial uploads are left out: terminals resume from the restored
 * server's offsets (0). Every file and directory of DIR2 is fsync'd before
 * the command reports success; on failure DIR2 is removed. Its messages
 * are the admin's language (_()); file names and system errors as they are. */
#define _XOPEN_SOURCE 700
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "crypto.h"
#include "i18n.h"
#include "storage.h"
#include "validate.h"

typedef struct bk {
    const char *data, *out;
    uint64_t files, bytes, bad;
} bk;

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC), rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Copy src to a new file dst (mode), fsync'd. With sha (64 hex digits),
 * the bytes must hash to it: 1 if they do not (dst removed). 0 copied,
 * -1 error (errno). */
static int copy_file(const char *src, const char *dst, mode_t mode, const char *sha,
                     uint64_t *bytes)
{
    uint8_t *buf = malloc(256 * 1024), digest[PX_HASH_LEN];
    px_sha256_ctx *h = sha ? px_sha256_new() : NULL;
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1, e = 0;
    char hex[2 * PX_HASH_LEN + 1];
    ssize_t r;

    if (in < 0 || !buf || (sha && !h))
        goto exit;
    if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        goto exit;
    while ((r = read(in, buf, 256 * 1024)) > 0) {
        for (ssize_t done = 0; done < r;) {
            ssize_t w = write(out, buf + done, (size_t)(r - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                goto exit;
            done += w;
        }
        if (h)
            px_sha256_update(h, buf, (size_t)r);
        *bytes += (uint64_t)r;
    }
    if (r < 0 || fsync(out) != 0 || fchmod(out, mode) != 0)
        goto exit;
    rc = 0;
    if (h) {
        px_sha256_final(h, digest);
        h = NULL;
        px_format_hex(digest, PX_HASH_LEN, hex);
        if (strcmp(hex, sha) != 0) {
            unlink(dst);
            rc = 1;
        }
    }
exit:
    e = errno;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = -1;
    if (rc < 0 && out >= 0)
        unlink(dst);
    px_sha256_free(h);
    free(buf);
    errno = e;
    return rc;
}

static int is_sha(const char *s)
{
    uint8_t tmp[PX_HASH_LEN];
    return strlen(s) == 64 && px_parse_hex(s, tmp, sizeof tmp) == NULL;
}

/* DIR/evidence/aa/<sha256>, every one. */
static int copy_evidence(bk *b)
{
    char src[4200], dst[4200], sub[4600], dsub[4600], f1[4900], f2[4900];
    DIR *top, *d;
    struct dirent *e, *f;
    int rc = 0;

    snprintf(src, sizeof src, "%s/evidence", b->data);
    snprintf(dst, sizeof dst, "%s/evidence", b->out);
    if (mkdir(dst, 0700) != 0 ||
        (snprintf(sub, sizeof sub, "%s/partial", dst), mkdir(sub, 0700)) != 0) {
        fprintf(stderr, "patrold: backup: %s: %s\n", dst, strerror(errno));
        return -1;
    }
    if (!(top = opendir(src)))
        return errno == ENOENT ? 0 : (fprintf(stderr, "patrold: backup: %s: %s\n", src,
                                              strerror(errno)),
                                      -1);
    while (rc == 0 && (e = readdir(top))) {
        if (strlen(e->d_name) != 2 || !strchr("0123456789abcdef", e->d_name[0]) ||
            !strchr("0123456789abcdef", e->d_name[1]))
            continue;
        snprintf(sub, sizeof sub, "%s/%s", src, e->d_name);
        snprintf(dsub, sizeof dsub, "%s/%s", dst, e->d_name);
        if (!(d = opendir(sub)))
            continue;
        if (mkdir(dsub, 0700) != 0) {
            fprintf(stderr, "patrold: backup: %s: %s\n", dsub, strerror(errno));
            rc = -1;
        }
        while (rc == 0 && (f = readdir(d))) {
            int k;
            if (!is_sha(f->d_name) || strncmp(f->d_name, e->d_name, 2) != 0)
                continue;
            snprintf(f1, sizeof f1, "%s/%s", sub, f->d_name);
            snprintf(f2, sizeof f2, "%s/%s", dsub, f->d_name);
            k = copy_file(f1, f2, 0400, f->d_name, &b->bytes);
            if (k < 0) {
                fprintf(stderr, "patrold: backup: %s: %s\n", f1, strerror(errno));
                rc = -1;
            } else if (k == 1) {
                /* Damaged in the store: not copied, reported; the copy is
                 * still made of everything else. */
                fprintf(stderr, "patrold: backup: ");
                fprintf(stderr, _("%s does not hash to its name: not copied (run 'patrold audit "
                                  "verify')"),
                        f1);
                fputc('\n', stderr);
                b->bad++;
            } else {
                b->files++;
            }
        }
        closedir(d);
        if (rc == 0 && fsync_path(dsub, 1) != 0)
            rc = -1;
    }
    closedir(top);
    if (rc == 0 && fsync_path(dst, 1) != 0)
        rc = -1;
    snprintf(sub, sizeof sub, "%s/partial", dst);
    if (rc == 0 && fsync_path(sub, 1) != 0)
        rc = -1;
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int count_device(void *ud, const st_device *d)
{
    uint64_t *c = ud;
    c[0]++;
    c[1] += d->entries;
    return 0;
}

int backup_main(const char *data, int argc, char **argv)
{
    static const char *const keep[] = {"server.key", "server.crt", "ca.key", "ca.crt",
                                       "receipt.key"};
    const char *out = NULL;
    char err[256], src[4200], dst[4200];
    st_backend *db = NULL, *copy = NULL;
    uint64_t devices = 0, entries = 0, log = 0, keybytes = 0;
    bk b;
    int rc = 1, made = 0, copied = 0;
    struct timespec t0, t1;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else
            return cl_fail(2, "usage", "backup", _("unexpected argument '%s'"), argv[i]);
    }
    if (!out || !*out)
        return cl_fail(2, "usage", "backup", "%s",
                       _("usage: patrold --data DIR backup --out DIR2"));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(&b, 0, sizeof b);
    b.data = data;
    b.out = out;
    snprintf(src, sizeof src, "%s/patrold.db", data);
    if (access(src, F_OK) != 0)
        return cl_fail(1, "no_server", "backup", _("no server in %s (run 'patrold --data %s init')"),
                       data, data);
    if (mkdir(out, 0700) != 0) {
        fprintf(stderr, "patrold: backup: ");
        fprintf(stderr, _("cannot create %s: %s (it must not exist)"), out, strerror(errno));
        fputc('\n', stderr);
        return 1;
    }
    made = 1;
    if (!(db = st_sqlite_open(src, ST_OPEN_READONLY, err, sizeof err))) {
        fprintf(stderr, "patrold: backup: %s\n", err);
        goto exit;
    }
    /* 1. The database as of one commit. */
    snprintf(dst, sizeof dst, "%s/patrold.db", out);
    if (db->ops->backup(db, dst) != ST_OK || fsync_path(dst, 0) != 0) {
        fprintf(stderr, "patrold: backup: ");
        fprintf(stderr, _("the database: %s"), db->ops->errmsg(db));
        fputc('\n', stderr);
        goto exit;
    }
    db->ops->close(db);
    db = NULL;
    /* 2. The evidence store. */
    if (copy_evidence(&b) != 0)
        goto exit;
    /* 3. Keys and certificates: without receipt.key and ca.key every
     * terminal would have to enrol again. */
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        struct stat st;
        snprintf(src, sizeof src, "%s/%s", data, keep[i]);
        snprintf(dst, sizeof dst, "%s/%s", out, keep[i]);
        if (stat(src, &st) != 0 || copy_file(src, dst, st.st_mode & 0777, NULL, &keybytes) != 0) {
            fprintf(stderr, "patrold: backup: %s: %s\n", src, strerror(errno));
            goto exit;
        }
    }
    if (fsync_path(out, 1) != 0) {
        fprintf(stderr, "patrold: backup: %s: %s\n", out, strerror(errno));
        goto exit;
    }
    /* The copy opens as a patrold database; what it holds. */
    snprintf(dst, sizeof dst, "%s/patrold.db", out);
    if (!(copy = st_sqlite_open(dst, ST_OPEN_READONLY, err, sizeof err)) ||
        copy->ops->log_size(copy, &log) != ST_OK) {
        fprintf(stderr, "patrold: backup: ");
        fprintf(stderr, _("the copy does not open: %s"), copy ? copy->ops->errmsg(copy) : err);
        fputc('\n', stderr);
        goto exit;
    }
    {
        uint64_t c[2] = {0, 0};
        if (copy->ops->device_list(copy, count_device, c) != ST_OK) {
            fprintf(stderr, "patrold: backup: ");
            fprintf(stderr, _("the copy does not open: %s"), copy->ops->errmsg(copy));
            fputc('\n', stderr);
            goto exit;
        }
        devices = c[0];
        entries = c[1];
    }
    copied = 1;
    rc = b.bad ? 1 : 0;
exit:
    if (db)
        db->ops->close(db);
    if (copy)
        copy->ops->close(copy);
    if (copied) {
        /* A damaged evidence file was left out (exit 1) but the rest is a
         * good copy: kept. */
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf(_("backup %s: %llu devices, %llu entries, log size %llu, %llu evidence files "
                 "(%llu bytes), %zu keys and certificates, in %.1f s"),
               out, (unsigned long long)devices, (unsigned long long)entries,
               (unsigned long long)log, (unsigned long long)b.files, (unsigned long long)b.bytes,
               sizeof keep / sizeof keep[0],
               (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        putchar('\n');
        return rc;
    }
    if (made)
        nftw(out, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 1;
}
