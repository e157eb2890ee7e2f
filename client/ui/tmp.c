/* tmp.c -- this launch's private temporary directory, where an upload
 * is streamed and a signature written before libpatrol imports them into
 * the store (which copies them; the temporary files are then removed).
 *
 * A process killed mid-upload (kill -9, the battery) cannot remove its
 * files, and a partial photo left in /tmp is a copy of evidence nobody
 * looks after. So every launch works in its own directory
 * $TMPDIR/patrol-ui.XXXXXX (0700) holding a file "lock" on which it keeps
 * a write lock for its life; at launch, every such directory of this user
 * whose lock nobody holds is what a dead launch left, and is removed (its
 * lock, and its WHAT-XXXXXX directories with the files in them; nothing
 * else is touched). Another patrol ui running with the same TMPDIR holds
 * its lock, and its directory is left alone. Prefix tmp_ (and ui_tmp_*). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui.h"

#define TMP_PREFIX "patrol-ui."

static char g_dir[200]; /* this launch's directory, "" before init */
static int g_lock_fd = -1;

static int lock_fd(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_SETLK, &fl);
}

/* Remove dir/name if it is a directory of this user holding only regular
 * files (an upload's or a signature's); depth one, no links followed. */
static void remove_work_dir(int dfd, const char *name)
{
    struct stat st;
    int fd;
    DIR *d;
    struct dirent *e;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != getuid())
        return;
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    unlinkat(dfd, name, AT_REMOVEDIR);
}

/* A launch's directory whose lock nobody holds: remove what it holds. */
static void sweep_one(int basefd, const char *name)
{
    struct stat st;
    int fd, lfd;
    DIR *d;
    struct dirent *e;
    if (fstatat(basefd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != getuid())
        return;
    fd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    lfd = openat(fd, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (lfd < 0 || lock_fd(lfd) != 0) { /* alive (or not ours to judge) */
        if (lfd >= 0)
            close(lfd);
        close(fd);
        return;
    }
    if (!(d = fdopendir(fd))) {
        close(lfd);
        close(fd);
        return;
    }
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strcmp(e->d_name, "lock") != 0)
            remove_work_dir(dirfd(d), e->d_name);
    unlinkat(dirfd(d), "lock", 0);
    closedir(d);
    close(lfd);
    unlinkat(basefd, name, AT_REMOVEDIR);
}

int ui_tmp_init(void)
{
    const char *base = getenv("TMPDIR");
    int basefd, fd;
    DIR *d;
    struct dirent *e;
    char lock[256];

    if (!base || !*base)
        base = "/tmp";
    basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (basefd >= 0 && (fd = dup(basefd)) >= 0) {
        if ((d = fdopendir(fd))) {
            while ((e = readdir(d)))
                if (strncmp(e->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) == 0)
                    sweep_one(basefd, e->d_name);
            closedir(d);
        } else {
            close(fd);
        }
    }
    if (basefd >= 0)
        close(basefd);
    if (snprintf(g_dir, sizeof g_dir, "%s/" TMP_PREFIX "XXXXXX", base) >= (int)sizeof g_dir ||
        !mkdtemp(g_dir)) {
        g_dir[0] = '\0';
        return -1;
    }
    if (snprintf(lock, sizeof lock, "%s/lock", g_dir) >= (int)sizeof lock ||
        (g_lock_fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
        lock_fd(g_lock_fd) != 0) {
        if (g_lock_fd >= 0) {
            close(g_lock_fd);
            g_lock_fd = -1;
        }
        unlink(lock);
        rmdir(g_dir);
        g_dir[0] = '\0';
        return -1;
    }
    return 0;
}

int ui_tmp_dir(char *out, size_t len, const char *what)
{
    if (!g_dir[0] || snprintf(out, len, "%s/%s-XXXXXX", g_dir, what) >= (int)len ||
        !mkdtemp(out)) {
        if (len)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

void ui_tmp_fini(void)
{
    char lock[256];
    int basefd;
    if (!g_dir[0])
        return;
    /* Whatever a request still held (the daemon is stopped): as a sweep. */
    basefd = open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (basefd >= 0) {
        DIR *d;
        int fd = dup(basefd);
        if (fd >= 0 && (d = fdopendir(fd))) {
            struct dirent *e;
            while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                    strcmp(e->d_name, "lock") != 0)
                    remove_work_dir(basefd, e->d_name);
            closedir(d);
        } else if (fd >= 0) {
            close(fd);
        }
        close(basefd);
    }
    if (snprintf(lock, sizeof lock, "%s/lock", g_dir) < (int)sizeof lock)
        unlink(lock);
    if (g_lock_fd >= 0)
        close(g_lock_fd);
    g_lock_fd = -1;
    rmdir(g_dir);
    g_dir[0] = '\0';
}
