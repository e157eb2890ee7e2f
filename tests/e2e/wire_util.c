/* wire_util.c -- e2e_wire: small helpers (die, allocation, files,
 * numbers, hex) and the terminal's store, read only. Moved from wire.c. */
#include "wire.h"

/* ---- small helpers ------------------------------------------------------ */

void die(const char *fmt, ...)
{
    va_list ap;
    fputs("e2e_wire: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

uint64_t parse_num(const char *s, const char *what)
{
    uint64_t v;
    const char *why = px_parse_u64(s, 0, UINT64_MAX, &v);
    if (why)
        die("%s: '%s': %s", what, s, why);
    return v;
}

/* Whole file into a malloc'd buffer (NUL-terminated; *len without it). */
uint8_t *read_all(const char *path, size_t *len)
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
void write_all_file(const char *path, const void *data, size_t n, int mode)
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
void random_bytes(void *buf, size_t n)
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

void hex_of(const uint8_t *b, size_t n, char *out)
{
    px_format_hex(b, n, out);
}

/* ---- the terminal's store ---------------------------------------------- */

void store_open(store *s, const char *dir)
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

void store_close(store *s)
{
    if (s->db)
        sqlite3_close(s->db);
    free(s->dir);
    s->db = NULL;
    s->dir = NULL;
}

/* Column 0 of the one row of sql (with an optional int64 parameter) as a
 * malloc'd blob (NUL-terminated); dies without a row. */
uint8_t *store_value(store *s, const char *sql, int has_arg, int64_t arg, size_t *len)
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
