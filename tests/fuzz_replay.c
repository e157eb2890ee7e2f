/* fuzz_replay.c -- runs a fuzz harness over committed corpus files without
 * libFuzzer, so the normal (sanitized) test run replays every corpus.
 *
 * Link with any one harness that defines LLVMFuzzerTestOneInput():
 *   fuzz_replay_frame tests/fuzz/corpus_frame [more dirs or files ...]
 * Each argument is a directory (its regular files, not dot-files, in name
 * order) or a single file. Each input is passed in a buffer of exactly its
 * size, so ASan reports any read past its end. A harness finding a bug
 * crashes or aborts; this driver exits 1 on I/O errors or when an argument
 * holds no input at all (a wrong path must not pass silently), else 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small; anything bigger is a mistake, not an input. */
#define REPLAY_MAX_FILE ((size_t)64 << 20)

/* Reads path into a malloc'd buffer of exactly its size (1 byte if empty). */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    struct stat st;
    size_t got = 0, size;
    uint8_t *b = NULL;
    int fd, rc = -1;

    *buf = NULL;
    *len = 0;
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        goto exit;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > REPLAY_MAX_FILE) {
        fprintf(stderr, "fuzz_replay: %s: larger than %zu bytes\n", path,
                REPLAY_MAX_FILE);
        goto exit;
    }
    size = (size_t)st.st_size;
    b = malloc(size ? size : 1);
    if (b == NULL) {
        fprintf(stderr, "fuzz_replay: %s: out of memory\n", path);
        goto exit;
    }
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
            goto exit;
        }
        if (r == 0) {
            fprintf(stderr, "fuzz_replay: %s: shrank while reading\n", path);
            goto exit;
        }
        got += (size_t)r;
    }
    *buf = b;
    *len = size;
    b = NULL;
    rc = 0;
exit:
    free(b);
    close(fd);
    return rc;
}

static int run_file(const char *path)
{
    uint8_t *buf;
    size_t len;

    if (read_file(path, &buf, &len) != 0)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of dir in name order; returns how many, or -1. */
static long run_dir(const char *dir)
{
    char **names = NULL;
    size_t count = 0, cap = 0;
    long done = -1;
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d == NULL) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL)
            break;
        if (de->d_name[0] == '.')
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **n = realloc(names, ncap * sizeof *n);
            if (n == NULL)
                goto oom;
            names = n;
            cap = ncap;
        }
        size_t nlen = strlen(dir) + 1 + strlen(de->d_name) + 1;
        names[count] = malloc(nlen);
        if (names[count] == NULL)
            goto oom;
        snprintf(names[count], nlen, "%s/%s", dir, de->d_name);
        count++;
    }
    if (errno != 0) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", dir, strerror(errno));
        goto exit;
    }
    if (count > 1)
        qsort(names, count, sizeof *names, cmp_names);
    done = 0;
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (stat(names[i], &st) != 0) {
            fprintf(stderr, "fuzz_replay: %s: %s\n", names[i], strerror(errno));
            done = -1;
            goto exit;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        if (run_file(names[i]) != 0) {
            done = -1;
            goto exit;
        }
        done++;
    }
    goto exit;
oom:
    fprintf(stderr, "fuzz_replay: %s: out of memory\n", dir);
    done = -1;
exit:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return done;
}

int main(int argc, char **argv)
{
    long total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long n;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode))
            n = run_dir(argv[i]);
        else
            n = run_file(argv[i]) == 0 ? 1 : -1;
        if (n < 0)
            return 1;
        if (n == 0) {
            fprintf(stderr, "fuzz_replay: %s: no inputs\n", argv[i]);
            return 1;
        }
        total += n;
    }
    printf("fuzz_replay: %ld inputs replayed\n", total);
    return 0;
}
