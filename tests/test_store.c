/* test_store.c -- libpatrol through its public API only (patrol/patrol.h),
 * with libsqlite3 used directly the way an attacker or a damaged disk
 * would: to look at the store from outside and to tamper with it.
 *
 * What a user would notice, and what this program checks:
 *  - every method and every other kind of entry refuses bad input with
 *    the right code and a message that names the field, id or file;
 *  - a refused request leaves the store exactly as it was: every table,
 *    the schema, and every file under evidence/ (store_snapshot() and
 *    EXPECT_REFUSED, used for every refusal below);
 *  - patrol_verify accepts an honest store and names the entry (or the
 *    evidence file) an attacker edited, deleted, reordered or swapped;
 *  - opening and creating stores fails safely (not a store, newer schema,
 *    key readable by others, open in another process, files private).
 *
 * Every test works in its own directory under $TMPDIR (or /tmp), removed
 * afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "patrol/patrol.h"

/* Valid codes, computed outside this code base (GB 32100 / GB 11643). */
#define CREDIT_A "91321323MA1N4K7P26"
#define CREDIT_B "91320000134757261A"
#define CREDIT_C "91321300MA1Y9XQ116"
#define IDNUM_A "321323198506120038"
#define IDNUM_B "11010519491231002X"

/* A department of the built-in reference data; it holds urban_management
 * only, so a matter in another domain is outside its duties. */
#define DEPT "SY-CGJ"
#define INSP1 "I-001"
#define INSP2 "I-002"

/* ======================================================================
 * Small utilities: growing buffer, files and directories
 * ====================================================================== */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void buf_add(buf *b, const void *d, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void buf_printf(buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void buf_printf(buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    buf_add(b, tmp, (size_t)n);
}

static void buf_hex(buf *b, const void *d, size_t n)
{
    static const char xd[] = "0123456789abcdef";
    const unsigned char *s = d;
    for (size_t i = 0; i < n; i++) {
        char two[2] = {xd[s[i] >> 4], xd[s[i] & 15]};
        buf_add(b, two, 2);
    }
}

static void path_join(char *out, size_t len, const char *a, const char *b)
{
    int n = snprintf(out, len, "%s/%s", a, b);
    assert_true(n > 0 && (size_t)n < len);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Whole file into a malloc'd buffer (NUL-terminated); NULL if absent. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    buf b = {0};
    char chunk[8192];
    size_t n;
    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    if (!b.p)
        buf_add(&b, "", 0);
    if (len)
        *len = b.n;
    return b.p;
}

/* Deterministic pseudo-random bytes (xorshift), so files differ by seed. */
static void fill_bytes(unsigned char *d, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[i] = (unsigned char)x;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (without . and ..); caller frees with free_names. */
static size_t list_names(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t n = 0;
    *out = NULL;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        v = realloc(v, (n + 1) * sizeof *v);
        assert_non_null(v);
        v[n] = strdup(e->d_name);
        assert_non_null(v[n]);
        n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        char **names, child[4096];
        size_t n;
        chmod(path, 0700);
        n = list_names(path, &names);
        for (size_t i = 0; i < n; i++) {
            path_join(child, sizeof child, path, names[i]);
            rm_rf(child);
        }
        free_names(names, n);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Copy a tree, keeping modes (a store copied as an attacker would). */
static void copy_tree(const char *from, const char *to)
{
    struct stat st;
    assert_int_equal(lstat(from, &st), 0);
    if (S_ISDIR(st.st_mode)) {
        char **names, a[4096], b[4096];
        size_t n;
        assert_int_equal(mkdir(to, 0700), 0);
        n = list_names(from, &names);
        for (size_t i = 0; i < n; i++) {
            path_join(a, sizeof a, from, names[i]);
            path_join(b, sizeof b, to, names[i]);
            copy_tree(a, b);
        }
        free_names(names, n);
        assert_int_equal(chmod(to, st.st_mode & 07777), 0);
    } else if (S_ISREG(st.st_mode)) {
        size_t len;
        char *data = read_file(from, &len);
        assert_non_null(data);
        write_file(to, data, len);
        free(data);
        assert_int_equal(chmod(to, st.st_mode & 07777), 0);
    }
}

/* Regular files under dir (recursive), as relative paths, sorted. */
static void walk_files(const char *root, const char *rel, char ***v, size_t *n)
{
    char dir[4096], **names;
    size_t k;
    if (rel[0])
        path_join(dir, sizeof dir, root, rel);
    else
        snprintf(dir, sizeof dir, "%s", root);
    k = list_names(dir, &names);
    for (size_t i = 0; i < k; i++) {
        char child_rel[4096], child[4096];
        struct stat st;
        if (rel[0])
            path_join(child_rel, sizeof child_rel, rel, names[i]);
        else
            snprintf(child_rel, sizeof child_rel, "%s", names[i]);
        path_join(child, sizeof child, root, child_rel);
        if (lstat(child, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            walk_files(root, child_rel, v, n);
        } else {
            *v = realloc(*v, (*n + 1) * sizeof **v);
            assert_non_null(*v);
            (*v)[*n] = strdup(child_rel);
            assert_non_null((*v)[*n]);
            (*n)++;
        }
    }
    free_names(names, k);
}

static size_t count_files(const char *root)
{
    char **v = NULL;
    size_t n = 0;
    walk_files(root, "", &v, &n);
    free_names(v, n);
    return n;
}

/* The running test's temp root (tmp_setup), removed by tmp_teardown even
 * when the test fails; and a handle such a test may leave open. */
static char g_tmp[1024];
static patrol *g_handle;

/* A fresh temp directory (mkdtemp): inside the test's root if it has
 * one, else under $TMPDIR or /tmp. */
static void make_tmpdir(char *out, size_t len)
{
    const char *t = getenv("TMPDIR");
    int n;
    if (g_tmp[0])
        n = snprintf(out, len, "%s/d-XXXXXX", g_tmp);
    else
        n = snprintf(out, len, "%s/test_store-XXXXXX", t && *t ? t : "/tmp");
    assert_true(n > 0 && (size_t)n < len);
    assert_non_null(mkdtemp(out));
}

static int tmp_setup(void **state)
{
    char root[sizeof g_tmp];
    (void)state;
    g_tmp[0] = '\0';
    make_tmpdir(root, sizeof root);
    memcpy(g_tmp, root, sizeof g_tmp);
    return 0;
}

static int tmp_teardown(void **state)
{
    (void)state;
    patrol_close(g_handle);
    g_handle = NULL;
    rm_rf(g_tmp);
    g_tmp[0] = '\0';
    return 0;
}

/* ======================================================================
 * The store seen from outside: snapshot and direct SQL
 * ====================================================================== */

static uint64_t fnv1a(const void *d, size_t n)
{
    const unsigned char *s = d;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void dump_query(buf *b, sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        fail_msg("snapshot: %s: %s", sql, sqlite3_errmsg(db));
    buf_printf(b, "## %s\n", sql);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL:
                buf_printf(b, "N|");
                break;
            case SQLITE_INTEGER:
                buf_printf(b, "I%lld|", (long long)sqlite3_column_int64(st, i));
                break;
            case SQLITE_FLOAT:
                buf_printf(b, "F%.17g|", sqlite3_column_double(st, i));
                break;
            case SQLITE_TEXT:
                buf_printf(b, "T%d:", sqlite3_column_bytes(st, i));
                buf_add(b, sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
                buf_printf(b, "|");
                break;
            default:
                buf_printf(b, "B");
                buf_hex(b, sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i));
                buf_printf(b, "|");
                break;
            }
        }
        buf_printf(b, "\n");
    }
    if (rc != SQLITE_DONE)
        fail_msg("snapshot: %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

/* Everything a refused call must not change: the schema, the user
 * version, every row of every table in a fixed order, and every file of
 * the store (name, mode, size and content hash; the SQLite -wal/-shm
 * files are left out: their bytes are SQLite's business, their content
 * is in the tables). A malloc'd text; compare with strcmp. */
static char *store_snapshot(const char *store)
{
    char path[4096], **names = NULL, **files = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *st;
    buf b = {0};
    size_t n, nf = 0;

    path_join(path, sizeof path, store, "patrol.db");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("snapshot: cannot open %s: %s", path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    dump_query(&b, db, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name");
    dump_query(&b, db, "PRAGMA user_version");
    dump_query(&b, db, "PRAGMA application_id");
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                                        " ORDER BY name",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char *q = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY rowid",
                                  (const char *)sqlite3_column_text(st, 0));
        assert_non_null(q);
        dump_query(&b, db, q);
        sqlite3_free(q);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);

    buf_printf(&b, "## files\n");
    walk_files(store, "", &files, &nf);
    for (size_t i = 0; i < nf; i++) {
        struct stat sb;
        size_t len;
        char *data;
        size_t l = strlen(files[i]);
        if ((l > 4 && strcmp(files[i] + l - 4, "-wal") == 0) ||
            (l > 4 && strcmp(files[i] + l - 4, "-shm") == 0))
            continue;
        path_join(path, sizeof path, store, files[i]);
        assert_int_equal(lstat(path, &sb), 0);
        if (strcmp(files[i], "patrol.db") == 0) { /* pages: in the tables above */
            buf_printf(&b, "%s\n", files[i]);
            continue;
        }
        data = read_file(path, &len);
        assert_non_null(data);
        buf_printf(&b, "%s mode %o size %zu fnv %016llx\n", files[i],
                   (unsigned)(sb.st_mode & 07777), len, (unsigned long long)fnv1a(data, len));
        free(data);
    }
    free_names(files, nf);
    n = list_names(store, &names);
    buf_printf(&b, "## top level:");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, " %s", names[i]);
    free_names(names, n);
    return b.p;
}

/* Fail, showing where two snapshots first differ. */
static void snapshots_equal(const char *before, const char *after, const char *what)
{
    size_t i = 0, from;
    if (strcmp(before, after) == 0)
        return;
    while (before[i] && before[i] == after[i])
        i++;
    from = i > 200 ? i - 200 : 0;
    fail_msg("%s changed the store (first difference at byte %zu):\n--- before: ...%.400s\n"
             "--- after:  ...%.400s",
             what, i, before + from, after + from);
}

static sqlite3 *db_open_rw(const char *store)
{
    char path[4096];
    sqlite3 *db = NULL;
    path_join(path, sizeof path, store, "patrol.db");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("cannot open %s: %s", path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void db_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", err ? err : "?");
        sqlite3_free(err);
        fail_msg("SQL failed: %s: %s", sql, msg);
    }
}

/* One blob column of one row, keyed by an integer. malloc'd. */
static unsigned char *db_get_blob(sqlite3 *db, const char *sql, int64_t key, size_t *len)
{
    sqlite3_stmt *st;
    unsigned char *out;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, key);
    if (sqlite3_step(st) != SQLITE_ROW)
        fail_msg("no row for %s (%lld)", sql, (long long)key);
    *len = (size_t)sqlite3_column_bytes(st, 0);
    out = malloc(*len ? *len : 1);
    assert_non_null(out);
    if (*len)
        memcpy(out, sqlite3_column_blob(st, 0), *len);
    sqlite3_finalize(st);
    return out;
}

/* Run sql with ?1 = blob, ?2 = key. */
static void db_set_blob(sqlite3 *db, const char *sql, const void *blob, size_t len, int64_t key)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, key);
    if (sqlite3_step(st) != SQLITE_DONE)
        fail_msg("SQL failed: %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

static int64_t db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* ======================================================================
 * Building requests
 * ====================================================================== */

#define MAXF 40

typedef struct req {
    const char *kind;
    const char *target;
    const char *insp[10];
    size_t ninsp;
    patrol_field f[MAXF];
    size_t nf;
    uint64_t corrects;
    const patrol_location *loc;
} req;

static void req_add(req *r, const char *name, const char *value)
{
    assert_true(r->nf < MAXF);
    r->f[r->nf].name = name;
    r->f[r->nf].value = value;
    r->f[r->nf].conf = PATROL_CONF_NONE;
    r->nf++;
}

static patrol_field *req_find(req *r, const char *name)
{
    for (size_t i = 0; i < r->nf; i++)
        if (strcmp(r->f[i].name, name) == 0)
            return &r->f[i];
    return NULL;
}

/* Replace a field's value, or add it. */
static void req_set(req *r, const char *name, const char *value)
{
    patrol_field *f = req_find(r, name);
    if (f)
        f->value = value;
    else
        req_add(r, name, value);
}

static void req_del(req *r, const char *name)
{
    for (size_t i = 0; i < r->nf; i++)
        if (strcmp(r->f[i].name, name) == 0) {
            memmove(&r->f[i], &r->f[i + 1], (r->nf - i - 1) * sizeof r->f[0]);
            r->nf--;
            return;
        }
    fail_msg("req_del: no field %s", name);
}

/* Fields from a NULL-terminated list of names and values. */
static void req_fields_v(req *r, const char *const *nv)
{
    for (size_t i = 0; nv && nv[i]; i += 2) {
        assert_non_null(nv[i + 1]);
        req_add(r, nv[i], nv[i + 1]);
    }
}

static void req_init_v(req *r, const char *kind, const char *target, va_list ap)
{
    const char *name;
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->target = target;
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        assert_non_null(value);
        req_add(r, name, value);
    }
}

/* req_init(&r, kind, target, "name", "value", ..., NULL) */
static void req_init(req *r, const char *kind, const char *target, ...)
{
    va_list ap;
    va_start(ap, target);
    req_init_v(r, kind, target, ap);
    va_end(ap);
}

static void req_insp(req *r, const char *id)
{
    assert_true(r->ninsp < 10);
    r->insp[r->ninsp++] = id;
}

static int req_send(patrol *p, const req *r, patrol_saved *out)
{
    patrol_record_in in;
    memset(&in, 0, sizeof in);
    in.kind = r->kind;
    in.target = r->target;
    in.inspectors = r->ninsp ? r->insp : NULL;
    in.n_inspectors = r->ninsp;
    in.fields = r->nf ? r->f : NULL;
    in.n_fields = r->nf;
    in.location = r->loc;
    in.corrects = r->corrects;
    return patrol_record(p, &in, out);
}

/* ======================================================================
 * Assertions
 * ====================================================================== */

/* The call must succeed; otherwise show the library's message. */
#define EXPECT_OK(p, call)                                                              \
    do {                                                                                \
        int rc_ = (call);                                                               \
        if (rc_ != PATROL_OK)                                                           \
            fail_msg("%s: %d (%s): %s", #call, rc_, patrol_strerror(rc_),               \
                     patrol_errmsg(p));                                                 \
    } while (0)

/* patrol_open or patrol_init must succeed; otherwise show err. */
#define EXPECT_OPEN(call, err)                                                          \
    do {                                                                                \
        int rc_ = (call);                                                               \
        if (rc_ != PATROL_OK)                                                           \
            fail_msg("%s: %d (%s): %s", #call, rc_, patrol_strerror(rc_), (err));       \
    } while (0)

/* The call must fail with code, a message containing frag (unless NULL),
 * and leave the store of fixture f exactly as it was. */
#define EXPECT_REFUSED(f, call, code, frag)                                             \
    do {                                                                                \
        char *before_ = store_snapshot((f)->store);                                     \
        int rc_ = (call);                                                               \
        char *after_ = store_snapshot((f)->store);                                      \
        check_refusal((f)->p, rc_, (code), (frag), #call, __LINE__);                    \
        snapshots_equal(before_, after_, #call);                                        \
        free(before_);                                                                  \
        free(after_);                                                                   \
    } while (0)

static void check_refusal(patrol *p, int rc, int code, const char *frag, const char *what,
                          int line)
{
    const char *msg = patrol_errmsg(p);
    if (rc == PATROL_OK)
        fail_msg("line %d: %s: accepted, expected %d (%s)%s%s", line, what, code,
                 patrol_strerror(code), frag ? " naming " : "", frag ? frag : "");
    if (rc != code)
        fail_msg("line %d: %s: got %d (%s: %s), expected %d (%s)", line, what, rc,
                 patrol_strerror(rc), msg, code, patrol_strerror(code));
    if (!msg[0])
        fail_msg("line %d: %s: refused without a message", line, what);
    if (frag && !strstr(msg, frag))
        fail_msg("line %d: %s: message \"%s\" does not name \"%s\"", line, what, msg, frag);
}

/* ======================================================================
 * Reading back
 * ====================================================================== */

typedef struct find_ud {
    uint64_t seq;
    const char *name;
    char value[9000];
    patrol_conf conf;
    int found_entry, found_field;
    char kind[64], object[PATROL_ID_MAX], matter[PATROL_ID_MAX];
    uint64_t corrects;
    size_t n_inspectors;
    char inspectors[2][PATROL_ID_MAX];
    int has_location;
    patrol_location loc;
} find_ud;

static int find_cb(void *ud, const patrol_entry_view *e)
{
    find_ud *u = ud;
    if (e->seq != u->seq)
        return 0;
    u->found_entry = 1;
    snprintf(u->kind, sizeof u->kind, "%s", e->kind);
    snprintf(u->object, sizeof u->object, "%s", e->object);
    snprintf(u->matter, sizeof u->matter, "%s", e->matter);
    u->corrects = e->corrects;
    u->n_inspectors = e->n_inspectors;
    for (size_t i = 0; i < e->n_inspectors && i < 2; i++)
        snprintf(u->inspectors[i], sizeof u->inspectors[i], "%s", e->inspectors[i]);
    if (e->location) {
        u->has_location = 1;
        u->loc = *e->location;
    }
    for (size_t i = 0; u->name && i < e->n_fields; i++)
        if (strcmp(e->fields[i].name, u->name) == 0) {
            u->found_field = 1;
            snprintf(u->value, sizeof u->value, "%s", e->fields[i].value);
            u->conf = e->fields[i].conf;
        }
    return 1;
}

/* Entry seq as patrol_log shows it, with field name (may be NULL). */
static find_ud *entry_field(patrol *p, uint64_t seq, const char *name)
{
    static find_ud u;
    int rc;
    memset(&u, 0, sizeof u);
    u.seq = seq;
    u.name = name;
    rc = patrol_log(p, NULL, find_cb, &u);
    if (rc != 1 || !u.found_entry)
        fail_msg("patrol_log: entry %llu not found (%d: %s)", (unsigned long long)seq, rc,
                 patrol_errmsg(p));
    return &u;
}

/* The value of field name in entry seq; fails if the field is absent. */
static const char *field_of(patrol *p, uint64_t seq, const char *name)
{
    find_ud *u = entry_field(p, seq, name);
    if (!u->found_field)
        fail_msg("entry %llu (%s) has no field %s", (unsigned long long)seq, u->kind, name);
    return u->value;
}

static int count_cb(void *ud, const patrol_entry_view *e)
{
    (void)e;
    (*(size_t *)ud)++;
    return 0;
}

static size_t count_entries(patrol *p, const char *matter)
{
    size_t n = 0;
    EXPECT_OK(p, patrol_log(p, matter, count_cb, &n));
    return n;
}

typedef struct matter_ud {
    const char *id;
    char state[16], list_item[PATROL_ID_MAX], subject[PATROL_ID_MAX];
    int found;
} matter_ud;

static int matter_cb(void *ud, const patrol_matter_view *m)
{
    matter_ud *u = ud;
    if (strcmp(m->id, u->id) != 0)
        return 0;
    u->found = 1;
    snprintf(u->state, sizeof u->state, "%s", m->state);
    snprintf(u->list_item, sizeof u->list_item, "%s", m->list_item);
    snprintf(u->subject, sizeof u->subject, "%s", m->subject);
    return 0;
}

static const char *matter_state(patrol *p, const char *id)
{
    static matter_ud u;
    memset(&u, 0, sizeof u);
    u.id = id;
    EXPECT_OK(p, patrol_matters(p, matter_cb, &u));
    if (!u.found)
        fail_msg("matter %s not listed", id);
    return u.state;
}

/* ======================================================================
 * Fixture: a store with two inspectors, a business, a person and an
 * open matter in urban management whose subject, told of its right to
 * choose, accepted flexible enforcement (the seed 二(三): no method,
 * document or leaflet before that).
 * ====================================================================== */

typedef struct fx {
    char root[1024];
    char store[1100];
    patrol *p;
    char biz[PATROL_ID_MAX];
    char person[PATROL_ID_MAX];
    char matter[PATROL_ID_MAX];
} fx;

static void add_inspector(patrol *p, const char *id, const char *name, const char *cert)
{
    req r;
    req_init(&r, "inspector.add", id, "name", name, "cert_no", cert, NULL);
    EXPECT_OK(p, req_send(p, &r, NULL));
}

static void add_subject(patrol *p, const char *type, const char *name, const char *code,
                        char *id_out)
{
    req r;
    patrol_saved s;
    req_init(&r, "subject.add", NULL, "type", type, "name", name, NULL);
    req_add(&r, strcmp(type, "business") == 0 ? "credit_code" : "id_number", code);
    EXPECT_OK(p, req_send(p, &r, &s));
    snprintf(id_out, PATROL_ID_MAX, "%s", s.id);
}

/* Open a matter on subject by INSP1 (and INSP2); extra fields as
 * name, value pairs ending with NULL. */
static void open_matter(patrol *p, const char *subject, char *id_out, ...)
{
    req r;
    patrol_saved s;
    va_list ap;
    const char *name;
    req_init(&r, "matter.open", NULL, "subject", subject, "domain", "urban_management",
             "summary", "临街商户超出门窗外墙摆卖，占用人行道约2平方米", NULL);
    va_start(ap, id_out);
    while ((name = va_arg(ap, const char *)) != NULL)
        req_set(&r, name, va_arg(ap, const char *));
    va_end(ap);
    req_insp(&r, INSP1);
    req_insp(&r, INSP2);
    EXPECT_OK(p, req_send(p, &r, &s));
    snprintf(id_out, PATROL_ID_MAX, "%s", s.id);
}

/* The subject is told it may choose and accepts. */
static void accept(patrol *p, const char *matter)
{
    req r;
    req_init(&r, "consent", matter, "answer", "accept", "told", "yes", "form", "oral", NULL);
    EXPECT_OK(p, req_send(p, &r, NULL));
}

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[512];
    int rc;
    assert_non_null(f);
    make_tmpdir(f->root, sizeof f->root);
    path_join(f->store, sizeof f->store, f->root, "store");
    rc = patrol_init(f->store, DEPT, "泗阳城管 手持终端 07", &f->p, err, sizeof err);
    if (rc != PATROL_OK)
        fail_msg("patrol_init: %d: %s", rc, err);
    add_inspector(f->p, INSP1, "张伟", "JS-ZF-320001");
    add_inspector(f->p, INSP2, "李娜", "JS-ZF-320002");
    add_subject(f->p, "business", "泗阳县众兴镇老街小吃店", CREDIT_A, f->biz);
    add_subject(f->p, "person", "王建国", IDNUM_A, f->person);
    open_matter(f->p, f->biz, f->matter, NULL);
    accept(f->p, f->matter);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    if (f) {
        patrol_close(f->p);
        rm_rf(f->root);
        free(f);
    }
    return 0;
}

/* Record r on the fixture, expecting success; returns the saved entry. */
static patrol_saved send_ok(fx *f, const req *r)
{
    patrol_saved s;
    memset(&s, 0, sizeof s);
    EXPECT_OK(f->p, req_send(f->p, r, &s));
    return s;
}

static patrol_saved record_ok(fx *f, const char *kind, const char *target, ...)
{
    req r;
    va_list ap;
    va_start(ap, target);
    req_init_v(&r, kind, target, ap);
    va_end(ap);
    return send_ok(f, &r);
}

/* The refusal of kind on target with the given fields. */
#define REFUSE(f, code, frag, kind, target, ...)                                        \
    do {                                                                                \
        req rq_;                                                                        \
        req_init(&rq_, kind, target, __VA_ARGS__);                                      \
        EXPECT_REFUSED(f, req_send((f)->p, &rq_, NULL), code, frag);                    \
    } while (0)

/* The snapshot EXPECT_REFUSED relies on sees a new entry, a changed view
 * row and a changed evidence file (otherwise every "nothing changed"
 * check here could not fail). */
static void snapshot_sees_changes(void **state)
{
    fx *f = *state;
    char *a, *b, src[2048], ev[2048], **files = NULL;
    size_t nf = 0;
    patrol_saved s;

    a = store_snapshot(f->store);
    b = store_snapshot(f->store);
    assert_string_equal(a, b);
    free(b);
    record_ok(f, "leaflet", f->matter, "title", "告知书", "copies", "1", NULL);
    b = store_snapshot(f->store);
    assert_string_not_equal(a, b);
    free(a);
    a = b;
    /* The subject asks to stop: the matter's view row changes. */
    record_ok(f, "consent", f->matter, "answer", "stop", "told", "yes", NULL);
    b = store_snapshot(f->store);
    assert_string_not_equal(a, b);
    free(a);
    free(b);

    path_join(src, sizeof src, f->root, "x.bin");
    write_file(src, "evidence bytes", 14);
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "document", src, NULL, NULL, NULL, &s));
    a = store_snapshot(f->store);
    path_join(ev, sizeof ev, f->store, "evidence");
    walk_files(ev, "", &files, &nf);
    assert_int_equal(nf, 1);
    path_join(src, sizeof src, ev, files[0]);
    free_names(files, nf);
    assert_int_equal(chmod(src, 0600), 0);
    write_file(src, "evidence bytez", 14);
    assert_int_equal(chmod(src, 0400), 0);
    b = store_snapshot(f->store);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

/* ======================================================================
 * 1. The seven methods
 * ====================================================================== */

typedef struct method_case {
    const char *kind;
    const char *fields[24]; /* valid record: name, value, ..., NULL */
    const char *required[12];
} method_case;

static const method_case methods[] = {
    {"action.guidance",
     {"content", "指导店主规范设置外摆区域，明确门前三包责任", "topic", "门前三包与店外经营管理",
      "form", "oral", "materials", "《门前三包责任告知书》1份", NULL},
     {"content", "topic", NULL}},
    /* A follow-up is agreed only if there is one: not required (it was). */
    {"action.suggestion",
     {"content", "建议设置店内等候区，避免顾客在人行道排队", "follow_up",
      "一周内提交整改方案", "form", "written", NULL},
     {"content", NULL}},
    {"action.reminder",
     {"content", "提示店外摆卖属于高发违法行为", "form", "oral", "rules",
      "《江苏省城市市容和环境卫生管理条例》相关规定", "source", "inspection", NULL},
     {"content", "form", "rules", NULL}},
    /* The fourth condition of a 告诫 is that the violation can be corrected
     * promptly (correctable, required by the record's rules); whether it
     * already was is a fact (corrected), no longer required. The deadline
     * may not be before the day it is recorded: far in the future here. */
    {"action.warning",
     {"content", "告诫当事人不得再次超出门窗外墙摆卖", "minor", "yes", "no_harm", "yes",
      "no_intent", "yes", "correctable", "yes", "corrected", "yes", "correction",
      "当场将货架移回店内", "deadline", "2090-03-31", NULL},
     {"content", "correctable", "correction", "deadline", "minor", "no_harm", "no_intent", NULL}},
    {"action.interview",
     {"content", "约谈店铺负责人，说明多次占道经营的后果", "departments", "城管局、众兴镇政府",
      "minutes", "负责人承认问题，承诺整改", "mode", "individual", "participants",
      "张伟、李娜、店主王某", "reason", "complaints", NULL},
     {"content", "departments", "minutes", "mode", "participants", NULL}},
    {"action.publicity",
     {"channel", "泗阳县城管局门户网站", "content", "公示典型案例，引导商户自觉规范经营",
      "redactions", "当事人姓名、身份证号", NULL},
     {"channel", "content", "redactions", NULL}},
    /* After an inspection a revisit with an outcome asks about legality
     * (and always the subject's opinion). */
    {"action.revisit",
     {"content", "回访整改情况", "decision", "2090年3月告诫决定", "due", "2090-04-15", "follows",
      "inspection", "integrity", "no_concern", "legality", "lawful_regular", "opinion", "无意见",
      NULL},
     {"content", "decision", "due", "follows", NULL}},
};
#define N_METHODS (sizeof methods / sizeof methods[0])

static const char *method_value(const method_case *m, const char *name)
{
    for (size_t i = 0; m->fields[i]; i += 2)
        if (strcmp(m->fields[i], name) == 0)
            return m->fields[i + 1];
    fail_msg("%s: no field %s in the test case", m->kind, name);
    return NULL;
}

static void req_method(req *r, const method_case *m, const char *matter)
{
    memset(r, 0, sizeof *r);
    r->kind = m->kind;
    r->target = matter;
    req_fields_v(r, m->fields);
}

/* The test's list of required fields is the library's too (so a field
 * made required later is tested here or this fails). */
static void method_required_match_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_METHODS; i++) {
        patrol_field_info fi;
        size_t nreq = 0, k;
        for (size_t j = 0; patrol_kind_field(methods[i].kind, j, &fi) == PATROL_OK; j++) {
            int listed = 0;
            if (!fi.required)
                continue;
            nreq++;
            for (k = 0; methods[i].required[k]; k++)
                listed |= strcmp(methods[i].required[k], fi.name) == 0;
            if (!listed)
                fail_msg("%s: required field %s not tested", methods[i].kind, fi.name);
        }
        k = 0;
        while (methods[i].required[k])
            k++;
        assert_int_equal(nreq, k);
    }
    for (size_t i = 0; i < 7; i++) {
        char kind[64];
        static const char *const names[] = {"guidance", "suggestion", "reminder", "warning",
                                            "interview", "publicity", "revisit"};
        snprintf(kind, sizeof kind, "action.%s", names[i]);
        assert_non_null(patrol_kind_help(kind));
    }
}

static void method_valid_records_saved(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < N_METHODS; i++) {
        req r;
        patrol_saved s;
        patrol_info info;
        find_ud *u;
        req_method(&r, &methods[i], f->matter);
        s = send_ok(f, &r);
        EXPECT_OK(f->p, patrol_get_info(f->p, &info));
        assert_int_equal(info.entries, s.seq);
        assert_string_equal(info.head_hash, s.hash);
        assert_int_equal(strlen(s.hash), 64);
        u = entry_field(f->p, s.seq, "content");
        assert_string_equal(u->kind, methods[i].kind);
        assert_string_equal(u->matter, f->matter);
        assert_string_equal(u->value, method_value(&methods[i], "content"));
        /* No inspectors given: the matter's two act. */
        assert_int_equal(u->n_inspectors, 2);
        assert_string_equal(u->inspectors[0], INSP1);
        assert_string_equal(u->inspectors[1], INSP2);
        if (strcmp(methods[i].kind, "action.revisit") == 0)
            assert_true(strncmp(s.id, "R-", 2) == 0);
        else
            assert_string_equal(s.id, f->matter);
    }
}

static void method_missing_required_field(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < N_METHODS; i++)
        for (size_t k = 0; methods[i].required[k]; k++) {
            req r;
            char quoted[80];
            req_method(&r, &methods[i], f->matter);
            req_del(&r, methods[i].required[k]);
            snprintf(quoted, sizeof quoted, "'%s'", methods[i].required[k]);
            EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
        }
    /* Nothing at all. */
    for (size_t i = 0; i < N_METHODS; i++) {
        req r;
        memset(&r, 0, sizeof r);
        r.kind = methods[i].kind;
        r.target = f->matter;
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "needs field");
    }
}

/* 告诫: minor, no harm, no intent, and can be corrected promptly. The
 * fourth used to be "already corrected" (corrected=yes); the seed asks
 * that the violation can be corrected, so correctable=yes is required and
 * corrected=no is a lawful warning (checked at the end). */
static void warning_needs_all_four_conditions(void **state)
{
    fx *f = *state;
    static const char *const conds[] = {"minor", "no_harm", "no_intent", "correctable"};
    static const char *const nos[] = {"no", "false", "0"};
    for (size_t c = 0; c < 4; c++) {
        req r;
        char quoted[40];
        snprintf(quoted, sizeof quoted, "'%s'", conds[c]);
        req_method(&r, &methods[3], f->matter);
        req_del(&r, conds[c]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
        for (size_t n = 0; n < 3; n++) {
            req_method(&r, &methods[3], f->matter);
            req_set(&r, conds[c], nos[n]);
            EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
        }
        req_method(&r, &methods[3], f->matter);
        req_set(&r, conds[c], "maybe");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
    }
    /* All four "no" at once: refused, and the message names one. */
    {
        req r;
        req_method(&r, &methods[3], f->matter);
        for (size_t c = 0; c < 4; c++)
            req_set(&r, conds[c], "no");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "must be yes");
    }
    /* "true" and "1" are yes. */
    {
        req r;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "minor", "true");
        req_set(&r, "no_harm", "1");
        send_ok(f, &r);
    }
    /* Not yet corrected, or not saying: a warning all the same. */
    {
        req r;
        patrol_saved s;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "corrected", "no");
        s = send_ok(f, &r);
        assert_string_equal(field_of(f->p, s.seq, "corrected"), "no");
        req_method(&r, &methods[3], f->matter);
        req_del(&r, "corrected");
        send_ok(f, &r);
        req_set(&r, "corrected", "maybe");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'corrected'");
    }
    /* The deadline may not be before the day it is recorded (Beijing
     * time), unless the entry is a paper record entered late. */
    {
        req r;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "deadline", "2001-01-01");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "(rule date_past)");
        req_set(&r, "late", "yes");
        send_ok(f, &r);
    }
}

static void method_bad_choices(void **state)
{
    fx *f = *state;
    static const struct {
        size_t method;
        const char *field, *value;
    } bad[] = {
        {0, "form", "shouting"},   {0, "form", "Oral"},        {0, "form", ""},
        {1, "form", "telegram"},   {2, "form", "email"},       {2, "source", "rumour"},
        {4, "mode", "group"},      {4, "reason", "boredom"},   {6, "follows", "nothing"},
        {6, "integrity", "maybe"}, {6, "outcome", "perfect"},  {6, "follows", "penalty "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req r;
        char quoted[40];
        req_method(&r, &methods[bad[i].method], f->matter);
        req_set(&r, bad[i].field, bad[i].value);
        snprintf(quoted, sizeof quoted, "'%s'", bad[i].field);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
    }
    /* Each allowed value of reminder's form and interview's mode is fine. */
    {
        req r;
        req_method(&r, &methods[2], f->matter);
        req_set(&r, "form", "written");
        send_ok(f, &r);
        req_method(&r, &methods[4], f->matter);
        req_set(&r, "mode", "collective");
        send_ok(f, &r);
    }
}

static void method_bad_dates(void **state)
{
    fx *f = *state;
    static const char *const dates[] = {
        "2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31",
        "2026/03/31", "26-03-31",   "2026-3-31",  "2026-03-31 ", " 2026-03-31",
        "1999-12-31", "2100-01-01", "",           "tomorrow",   "2026-03-3１",
    };
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        req r;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "deadline", dates[i]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'deadline'");
        req_method(&r, &methods[6], f->matter);
        req_set(&r, "due", dates[i]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'due'");
    }
    /* A real leap day is a date (far ahead: a deadline is not past). */
    {
        req r;
        req_method(&r, &methods[3], f->matter);
        req_set(&r, "deadline", "2096-02-29");
        send_ok(f, &r);
    }
}

static void method_bad_text(void **state)
{
    fx *f = *state;
    static const struct {
        const char *value, *why;
    } bad[] = {
        {"\xff\xfe", "UTF-8"},                   /* not UTF-8 at all */
        {"店铺\xe5\xba", "UTF-8"},               /* cut in the middle of 店 */
        {"\xc0\xaf", "overlong"},                /* overlong '/' */
        {"\xed\xa0\x80", "surrogate"},           /* UTF-16 surrogate */
        {"GBK \xb5\xea\xc6\xcc", "UTF-8"},       /* 店铺 in GBK */
        {"bell\x07", "control"},                 /* control character */
        {"   ", "empty"},                        /* blank */
        {"", "empty"},
    };
    char *big = malloc(8002), *cjk = malloc(8002);
    size_t i;
    assert_non_null(big);
    assert_non_null(cjk);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req r;
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "content", bad[i].value);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'content'");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, bad[i].why);
        /* A one-line field too. */
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "topic", bad[i].value);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
    }
    /* A line field refuses line breaks and tabs; a text field keeps them. */
    {
        req r;
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "topic", "门前三包\n店外经营");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
        req_set(&r, "topic", "门前三包\t店外经营");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "content", "第一条：\r\n\t门前三包；\n第二条：店外经营。");
        send_ok(f, &r);
    }
    /* Over-long: 8001 bytes refused, 8000 accepted (ASCII and CJK). */
    memset(big, 'a', 8001);
    big[8001] = '\0';
    for (i = 0; i + 3 <= 8001; i += 3)
        memcpy(cjk + i, "店", 3); /* 2667 characters = 8001 bytes */
    cjk[8001] = '\0';
    {
        req r;
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "content", big);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "too long");
        req_set(&r, "content", cjk);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'content'");
        big[8000] = '\0';
        req_set(&r, "content", big);
        send_ok(f, &r);
        cjk[7998] = '\0'; /* 2666 characters */
        req_set(&r, "content", cjk);
        send_ok(f, &r);
        /* A line is at most 400 bytes. */
        big[401] = '\0';
        req_method(&r, &methods[0], f->matter);
        req_set(&r, "topic", big);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
        big[400] = '\0';
        req_set(&r, "topic", big);
        send_ok(f, &r);
    }
    /* The largest interview, every text at 8000 bytes, is accepted
     * (4 x 8000 bytes stays under the 64 KiB entry limit). */
    {
        req r;
        memset(big, 'b', 8000);
        big[8000] = '\0';
        req_method(&r, &methods[4], f->matter);
        req_set(&r, "content", big);
        req_set(&r, "departments", big);
        req_set(&r, "minutes", big);
        req_set(&r, "participants", big);
        send_ok(f, &r);
    }
    free(big);
    free(cjk);
}

static void method_unknown_and_repeated_fields(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < N_METHODS; i++) {
        req r;
        req_method(&r, &methods[i], f->matter);
        req_add(&r, "colour", "red");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'colour'");
        /* A field of another method. */
        req_method(&r, &methods[i], f->matter);
        req_add(&r, i == 3 ? "topic" : "minor", "yes");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, i == 3 ? "'topic'" : "'minor'");
        /* The same field twice (same or different value). */
        req_method(&r, &methods[i], f->matter);
        req_add(&r, "content", "再说一遍");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "twice");
        req_method(&r, &methods[i], f->matter);
        req_add(&r, r.f[0].name, r.f[0].value);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "twice");
    }
    {
        req r;
        /* Case matters in names; a NULL value is refused, not a crash. */
        req_method(&r, &methods[0], f->matter);
        req_add(&r, "Content", "x");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'Content'");
        req_method(&r, &methods[0], f->matter);
        r.f[0].value = NULL;
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "field 1");
        /* An unknown confidentiality mark. */
        req_method(&r, &methods[0], f->matter);
        r.f[0].conf = (patrol_conf)7;
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "confidentiality");
        /* A known mark is kept. */
        req_method(&r, &methods[0], f->matter);
        req_find(&r, "materials")->conf = PATROL_CONF_TRADE_SECRET;
        {
            patrol_saved s = send_ok(f, &r);
            find_ud *u = entry_field(f->p, s.seq, "materials");
            assert_int_equal(u->conf, PATROL_CONF_TRADE_SECRET);
        }
    }
}

static void method_target_and_kind_checks(void **state)
{
    fx *f = *state;
    req r;
    /* No matter, unknown matter, malformed matter id. */
    req_method(&r, &methods[0], NULL);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "matter");
    req_method(&r, &methods[0], "M-00000000-999");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "M-00000000-999");
    req_method(&r, &methods[0], "../etc/passwd");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "matter id");
    /* A subject id is not a matter. */
    req_method(&r, &methods[0], f->biz);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, f->biz);
    /* Unknown kinds and kinds only the library writes. */
    req_method(&r, &methods[0], f->matter);
    r.kind = "action.scolding";
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "action.scolding");
    r.kind = NULL;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "kind");
    REFUSE(f, PATROL_EINVAL, "device.init", "device.init", NULL, "department", "X",
           "device_name", "Y", NULL);
    REFUSE(f, PATROL_EINVAL, "patrol_evidence_add", "evidence.add", f->matter, "kind", "photo",
           "media_type", "image/jpeg", "sha256",
           "0000000000000000000000000000000000000000000000000000000000000000", "size", "1",
           NULL);
    /* Only a correction names an entry it corrects. */
    req_method(&r, &methods[0], f->matter);
    r.corrects = 2;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "correction");
    /* Inspectors acting must be enrolled, and named once. */
    req_method(&r, &methods[0], f->matter);
    req_insp(&r, "I-404");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "I-404");
    req_method(&r, &methods[0], f->matter);
    req_insp(&r, INSP1);
    req_insp(&r, INSP1);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, INSP1);
    req_method(&r, &methods[0], f->matter);
    req_insp(&r, "张伟");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "inspector");
    /* Given inspectors replace the matter's; the location is kept. */
    {
        patrol_location loc = {337123456, 1186654321, 8};
        patrol_saved s;
        find_ud *u;
        req_method(&r, &methods[0], f->matter);
        req_insp(&r, INSP2);
        r.loc = &loc;
        s = send_ok(f, &r);
        u = entry_field(f->p, s.seq, NULL);
        assert_int_equal(u->n_inspectors, 1);
        assert_string_equal(u->inspectors[0], INSP2);
        assert_true(u->has_location);
        assert_int_equal(u->loc.lat_e7, 337123456);
        assert_int_equal(u->loc.lon_e7, 1186654321);
        assert_int_equal(u->loc.accuracy_m, 8);
    }
}

/* ======================================================================
 * 2. Other kinds
 * ====================================================================== */

static void subject_add_checks_codes(void **state)
{
    fx *f = *state;
    patrol_saved s;
    /* Valid business and person. */
    s = record_ok(f, "subject.add", NULL, "type", "business", "name", "泗阳县某某建材有限公司",
                  "credit_code", CREDIT_B, "address", "泗阳县众兴镇北京路12号", "legal_rep",
                  "陈明", "contact", "陈明 13800000000", NULL);
    assert_true(strncmp(s.id, "S-", 2) == 0);
    /* The contact is personal privacy unless marked otherwise. */
    assert_int_equal(entry_field(f->p, s.seq, "contact")->conf, PATROL_CONF_PERSONAL_PRIVACY);
    s = record_ok(f, "subject.add", NULL, "type", "person", "name", "赵敏", "id_number", IDNUM_B,
                  NULL);
    assert_int_equal(entry_field(f->p, s.seq, "id_number")->conf, PATROL_CONF_PERSONAL_PRIVACY);

    /* Wrong check character, lower case, I/O letters, length, full width. */
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "91321300MA1Y9XQ117", NULL);
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "91321323ma1n4k7p26", NULL);
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "91321323MI1N4K7P26", NULL);
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "91321323MA1N4K7P2", NULL);
    REFUSE(f, PATROL_EINVAL, "'credit_code'", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", "９1321323MA1N4K7P26", NULL);
    /* ID numbers: check digit, lower-case x, impossible birth date. */
    REFUSE(f, PATROL_EINVAL, "'id_number'", "subject.add", NULL, "type", "person", "name", "某人",
           "id_number", "321323198506120039", NULL);
    REFUSE(f, PATROL_EINVAL, "'id_number'", "subject.add", NULL, "type", "person", "name", "某人",
           "id_number", "11010519491231002x", NULL);
    REFUSE(f, PATROL_EINVAL, "'id_number'", "subject.add", NULL, "type", "person", "name", "某人",
           "id_number", "321323198502300038", NULL);
    /* Type and identifier must go together. */
    REFUSE(f, PATROL_EINVAL, "credit code", "subject.add", NULL, "type", "business", "name", "某店",
           NULL);
    REFUSE(f, PATROL_EINVAL, "identity card", "subject.add", NULL, "type", "person", "name", "某人",
           NULL);
    REFUSE(f, PATROL_EINVAL, "credit code", "subject.add", NULL, "type", "person", "name", "某人",
           "credit_code", CREDIT_C, NULL);
    REFUSE(f, PATROL_EINVAL, "identity card", "subject.add", NULL, "type", "business", "name",
           "某店", "credit_code", CREDIT_C, "id_number", "321323200002294413", NULL);
    REFUSE(f, PATROL_EINVAL, "'type'", "subject.add", NULL, "type", "company", "name", "某店",
           "credit_code", CREDIT_C, NULL);
    REFUSE(f, PATROL_EINVAL, "'type'", "subject.add", NULL, "name", "某店", "credit_code", CREDIT_C,
           NULL);
    REFUSE(f, PATROL_EINVAL, "'name'", "subject.add", NULL, "type", "business", "credit_code",
           CREDIT_C, NULL);
    /* Duplicates: the same credit code or ID number again. */
    REFUSE(f, PATROL_EEXIST, CREDIT_A, "subject.add", NULL, "type", "business", "name", "同一家店",
           "credit_code", CREDIT_A, NULL);
    REFUSE(f, PATROL_EEXIST, f->person, "subject.add", NULL, "type", "person", "name", "王建国",
           "id_number", IDNUM_A, NULL);
}

static void inspector_add_checks(void **state)
{
    fx *f = *state;
    patrol_saved s = record_ok(f, "inspector.add", "I-003", "name", "周强", "cert_no",
                               "JS-ZF-320003", NULL);
    assert_string_equal(s.id, "I-003");
    REFUSE(f, PATROL_EEXIST, INSP1, "inspector.add", INSP1, "name", "张伟", "cert_no",
           "JS-ZF-320099", NULL);
    REFUSE(f, PATROL_EEXIST, "JS-ZF-320002", "inspector.add", "I-004", "name", "孙丽", "cert_no",
           "JS-ZF-320002", NULL);
    REFUSE(f, PATROL_EINVAL, "'name'", "inspector.add", "I-004", "cert_no", "JS-ZF-320004", NULL);
    REFUSE(f, PATROL_EINVAL, "'cert_no'", "inspector.add", "I-004", "name", "孙丽", NULL);
    REFUSE(f, PATROL_EINVAL, "'cert_no'", "inspector.add", "I-004", "name", "孙丽", "cert_no",
           "苏执法 0004", NULL);
    REFUSE(f, PATROL_EINVAL, "inspector id", "inspector.add", NULL, "name", "孙丽", "cert_no",
           "JS-ZF-320004", NULL);
    REFUSE(f, PATROL_EINVAL, "inspector id", "inspector.add", "I 004", "name", "孙丽", "cert_no",
           "JS-ZF-320004", NULL);
    REFUSE(f, PATROL_EINVAL, "'name'", "inspector.add", "I-004", "name", "孙丽\n王五", "cert_no",
           "JS-ZF-320004", NULL);
}

#define MATTER_OPEN(rq, subject, domain)                                                 \
    do {                                                                                 \
        req_init(&(rq), "matter.open", NULL, "subject", (subject), "domain", (domain),   \
                 "summary", "店外摆卖", NULL);                                            \
        req_insp(&(rq), INSP1);                                                          \
    } while (0)

/* 二(一): excluded domains and violations that exploit an emergency are
 * outside flexible enforcement: PATROL_EREFUSED (patrol.h), whatever else
 * is wrong with the request. */
static void matter_open_excluded_refused(void **state)
{
    fx *f = *state;
    static const char *const excluded[] = {
        "national_security", "public_safety",       "food_drug_safety",     "production_safety",
        "ecology_environment", "pollution_control", "health_life_property",
    };
    req r;
    for (size_t i = 0; i < sizeof excluded / sizeof excluded[0]; i++) {
        MATTER_OPEN(r, f->biz, excluded[i]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EREFUSED, excluded[i]);
        /* Excluded even with an unknown subject or an emergency "no". */
        MATTER_OPEN(r, "S-00000000-404", excluded[i]);
        req_add(&r, "emergency", "no");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EREFUSED, excluded[i]);
    }
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "emergency", "yes");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EREFUSED, "emergency");
}

static void matter_open_checks(void **state)
{
    fx *f = *state;
    req r;

    MATTER_OPEN(r, "S-00000000-404", "urban_management");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "S-00000000-404");
    MATTER_OPEN(r, f->biz, "urban_management");
    r.insp[0] = "I-404";
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "I-404");
    MATTER_OPEN(r, f->biz, "urban_management");
    r.ninsp = 0;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "inspector");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "emergency", "perhaps");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'emergency'");
    /* A domain the reference data does not know: not found, like an
     * unknown list item (it was invalid input). */
    MATTER_OPEN(r, f->biz, "space_travel");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "space_travel");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "(rule unknown_domain)");
    MATTER_OPEN(r, f->biz, "城市管理");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'domain'");
    /* List items: of another domain, unknown. */
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "SJ-NP-001");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "SJ-NP-001");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "CG-NP-999");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ENOTFOUND, "CG-NP-999");
    /* Missing fields. */
    MATTER_OPEN(r, f->biz, "urban_management");
    req_del(&r, "summary");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'summary'");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_del(&r, "subject");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'subject'");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_del(&r, "domain");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'domain'");

    /* A domain open to flexible enforcement but outside this department's
     * duties (SY-CGJ holds urban management only): no authority, no
     * action (it used to be accepted). */
    MATTER_OPEN(r, f->person, "market_regulation");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EREFUSED, "(rule outside_department)");

    /* Valid: emergency "no", a person as subject; opened, the subject not
     * yet told of its right to choose. */
    MATTER_OPEN(r, f->person, "urban_management");
    req_add(&r, "emergency", "no");
    {
        patrol_saved s = send_ok(f, &r);
        assert_true(strncmp(s.id, "M-", 2) == 0);
        assert_string_equal(matter_state(f->p, s.id), "opened");
        assert_string_equal(field_of(f->p, s.seq, "subject"), f->person);
    }
}

typedef struct item_ud {
    const char *code;
    char type[32], version[128], domain[64];
} item_ud;

static int item_cb(void *ud, const patrol_list_item_view *it)
{
    item_ud *u = ud;
    if (strcmp(it->code, u->code) == 0) {
        snprintf(u->type, sizeof u->type, "%s", it->list_type);
        snprintf(u->version, sizeof u->version, "%s", it->list_version);
        snprintf(u->domain, sizeof u->domain, "%s", it->domain);
    }
    return 0;
}

static void matter_open_list_item_filled_in(void **state)
{
    fx *f = *state;
    item_ud it = {"CG-NP-003", "", "", ""};
    patrol_saved s;
    req r;
    matter_ud m;

    EXPECT_OK(f->p, patrol_list_items(f->p, item_cb, &it));
    assert_string_equal(it.type, "no_penalty");
    assert_string_equal(it.domain, "urban_management");
    assert_true(it.version[0] != '\0');

    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "CG-NP-003");
    s = send_ok(f, &r);
    assert_string_equal(field_of(f->p, s.seq, "list_item"), "CG-NP-003");
    assert_string_equal(field_of(f->p, s.seq, "list_type"), "no_penalty");
    assert_string_equal(field_of(f->p, s.seq, "list_version"), it.version);
    memset(&m, 0, sizeof m);
    m.id = s.id;
    EXPECT_OK(f->p, patrol_matters(f->p, matter_cb, &m));
    assert_string_equal(m.list_item, "CG-NP-003");

    /* A lighter-penalty item keeps its own type. */
    it.code = "CG-LT-001";
    EXPECT_OK(f->p, patrol_list_items(f->p, item_cb, &it));
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "CG-LT-001");
    s = send_ok(f, &r);
    assert_string_equal(field_of(f->p, s.seq, "list_type"), "lighter");
}

/* list_type and list_version are "(filled in)" from the terminal's lists:
 * typed by hand they would let a record claim a list, or a list version,
 * the terminal never held. They must be refused like document.issue's
 * subject, which is filled in the same way. */
static void matter_open_list_fields_not_typed(void **state)
{
    fx *f = *state;
    req r;
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_version", "2099-forged");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'list_version'");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_type", "no_penalty");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'list_type'");
    MATTER_OPEN(r, f->biz, "urban_management");
    req_add(&r, "list_item", "CG-NP-003");
    req_add(&r, "list_type", "reduced");
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'list_type'");
}

static void consent_refusal_blocks_actions(void **state)
{
    fx *f = *state;
    char m[PATROL_ID_MAX];
    req r;

    open_matter(f->p, f->biz, m, NULL);
    /* Before the subject accepted: no method, document or leaflet (they
     * used to be allowed before any answer). */
    for (size_t i = 0; i < N_METHODS; i++) {
        req_method(&r, &methods[i], m);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ESTATE, "(rule consent_first)");
    }
    REFUSE(f, PATROL_ESTATE, "(rule consent_first)", "leaflet", m, "title", "告知书", "copies",
           "1", NULL);
    REFUSE(f, PATROL_EINVAL, "'told'", "consent", m, "answer", "accept", "told", "no", NULL);
    REFUSE(f, PATROL_EINVAL, "'told'", "consent", m, "answer", "accept", NULL);
    REFUSE(f, PATROL_EINVAL, "'answer'", "consent", m, "answer", "maybe", "told", "yes", NULL);
    /* Nothing to stop before it accepted. */
    REFUSE(f, PATROL_ESTATE, "(rule stop_before_accept)", "consent", m, "answer", "stop", "told",
           "yes", NULL);
    record_ok(f, "consent", m, "answer", "refuse", "told", "yes", "form", "oral", NULL);
    assert_string_equal(matter_state(f->p, m), "refused");
    for (size_t i = 0; i < N_METHODS; i++) {
        req_method(&r, &methods[i], m);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ESTATE, "refused");
    }
    REFUSE(f, PATROL_ESTATE, "refused", "document.issue", m, "content", "意见", "personnel",
           "张伟", "purpose", "规范经营", "time", "2026年3月", NULL);
    /* A second answer is not recorded as a new consent (a correction of
     * the first is the way to change it). */
    REFUSE(f, PATROL_ESTATE, "(rule subject_refused)", "consent", m, "answer", "accept", "told",
           "yes", NULL);
    /* Closing it as the subject refused is what is left: with that reason. */
    REFUSE(f, PATROL_ESTATE, "(rule reason_mismatch)", "matter.close", m, "outcome", "terminated",
           "reason", "basis_changed", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule subject_refused)", "matter.close", m, "outcome", "escalated",
           NULL);
    record_ok(f, "matter.close", m, "outcome", "terminated", "reason", "subject_refused", NULL);
    assert_string_equal(matter_state(f->p, m), "terminated");

    /* Accepting leaves actions open (the fixture's matter), and is
     * answered once. */
    req_method(&r, &methods[0], f->matter);
    send_ok(f, &r);
    assert_string_equal(matter_state(f->p, f->matter), "accepted");
    REFUSE(f, PATROL_ESTATE, "(rule consent_answered)", "consent", f->matter, "answer", "refuse",
           "told", "yes", NULL);
}

static void matter_close_and_after(void **state)
{
    fx *f = *state;
    char m2[PATROL_ID_MAX];
    req r;
    patrol_saved s;

    REFUSE(f, PATROL_EINVAL, "reason", "matter.close", f->matter, "outcome", "terminated", NULL);
    REFUSE(f, PATROL_EINVAL, "reason_text", "matter.close", f->matter, "outcome", "terminated",
           "reason", "other", NULL);
    REFUSE(f, PATROL_EINVAL, "reason", "matter.close", f->matter, "outcome", "completed", "reason",
           "basis_changed", NULL);
    REFUSE(f, PATROL_EINVAL, "'reason'", "matter.close", f->matter, "outcome", "terminated",
           "reason", "bored", NULL);
    REFUSE(f, PATROL_EINVAL, "'outcome'", "matter.close", f->matter, "outcome", "abandoned", NULL);
    REFUSE(f, PATROL_EINVAL, "'outcome'", "matter.close", f->matter, NULL);
    REFUSE(f, PATROL_ENOTFOUND, "M-00000000-77", "matter.close", "M-00000000-77", "outcome",
           "completed", NULL);

    /* Completed only after at least one method (it used to be allowed
     * with none). */
    REFUSE(f, PATROL_ESTATE, "(rule no_method)", "matter.close", f->matter, "outcome",
           "completed", NULL);
    req_method(&r, &methods[0], f->matter);
    send_ok(f, &r);
    s = record_ok(f, "matter.close", f->matter, "outcome", "completed", NULL);
    assert_string_equal(s.id, f->matter);
    assert_string_equal(matter_state(f->p, f->matter), "completed");

    /* Nothing more on a closed matter, whatever the kind; the refusal
     * names the matter and the rule. */
    for (size_t i = 0; i < N_METHODS; i++) {
        req_method(&r, &methods[i], f->matter);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ESTATE, "(rule matter_closed)");
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_ESTATE, f->matter);
    }
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "matter.close", f->matter, "outcome",
           "completed", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "leaflet", f->matter, "title", "门前三包",
           "copies", "2", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "consent", f->matter, "answer", "stop",
           "told", "yes", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "application.file", f->matter, "content",
           "申请", NULL);

    /* Terminated with a reason; "other" with its words. */
    open_matter(f->p, f->biz, m2, NULL);
    record_ok(f, "matter.close", m2, "outcome", "terminated", "reason", "other", "reason_text",
              "当事人已搬离", NULL);
    assert_string_equal(matter_state(f->p, m2), "terminated");
    open_matter(f->p, f->biz, m2, NULL);
    record_ok(f, "matter.close", m2, "outcome", "terminated", "reason", "basis_changed", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "action.guidance", m2, "content", "x",
           "topic", "y", NULL);
}

/* A major matter needs a hearing (or symposium, published draft) and one
 * with a technical question an expert opinion before it is completed
 * (二(三)4, new); termination needs neither. The matters view keeps what
 * the replay says. */
static void major_technical_matter_completion(void **state)
{
    fx *f = *state;
    char m[PATROL_ID_MAX];
    req r;
    sqlite3 *db;
    char sql[200];

    open_matter(f->p, f->biz, m, "major", "yes", "technical", "yes", NULL);
    accept(f->p, m);
    req_method(&r, &methods[0], m);
    send_ok(f, &r);
    REFUSE(f, PATROL_ESTATE, "(rule major_without_hearing)", "matter.close", m, "outcome",
           "completed", NULL);
    record_ok(f, "hearing", m, "form", "published_draft", "participants", "社会公众",
              "summary", "征求意见稿公示15日，无异议", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule technical_without_expert)", "matter.close", m, "outcome",
           "completed", NULL);
    record_ok(f, "expert.opinion", m, "expert", "刘工，市政设计院", "opinion", "外摆架未影响盲道通行",
              NULL);
    record_ok(f, "matter.close", m, "outcome", "completed", NULL);
    assert_string_equal(matter_state(f->p, m), "completed");
    db = db_open_rw(f->store);
    snprintf(sql, sizeof sql, "SELECT major = 1 AND technical = 1 FROM matters WHERE id = '%s'", m);
    assert_int_equal(db_int(db, sql), 1);
    sqlite3_close(db);
}

static void leaflet_expert_hearing(void **state)
{
    fx *f = *state;
    static const char *const bad_copies[] = {"0", "-1", "01", "1000001", "ten", "", "2.5", " 3"};
    record_ok(f, "leaflet", f->matter, "title", "《门前三包责任告知书》", "copies", "3", "code",
              "LF-001", NULL);
    /* A code must be in the catalogue (it used to be taken as typed). */
    REFUSE(f, PATROL_ENOTFOUND, "CG-LF-01", "leaflet", f->matter, "title", "告知书", "copies", "3",
           "code", "CG-LF-01", NULL);
    for (size_t i = 0; i < sizeof bad_copies / sizeof bad_copies[0]; i++)
        REFUSE(f, PATROL_EINVAL, "'copies'", "leaflet", f->matter, "title", "告知书", "copies",
               bad_copies[i], NULL);
    REFUSE(f, PATROL_EINVAL, "'title'", "leaflet", f->matter, "copies", "3", NULL);
    record_ok(f, "expert.opinion", f->matter, "expert", "刘工，市政设计院", "opinion",
              "外摆架未影响盲道通行", "topic", "盲道占用认定", NULL);
    REFUSE(f, PATROL_EINVAL, "'opinion'", "expert.opinion", f->matter, "expert", "刘工", NULL);
    record_ok(f, "hearing", f->matter, "form", "symposium", "participants", "商户代表、社区",
              "summary", "同意设置限时外摆区", NULL);
    REFUSE(f, PATROL_EINVAL, "'form'", "hearing", f->matter, "form", "trial", "participants", "x",
           "summary", "y", NULL);
}

typedef struct rv {
    char id[PATROL_ID_MAX], due[16], outcome[32], subject_name[128];
    int32_t overdue;
} rv;

typedef struct rv_ud {
    rv r[16];
    size_t n;
} rv_ud;

static int rv_cb(void *ud, const patrol_revisit_view *r)
{
    rv_ud *u = ud;
    assert_true(u->n < 16);
    snprintf(u->r[u->n].id, sizeof u->r[0].id, "%s", r->id);
    snprintf(u->r[u->n].due, sizeof u->r[0].due, "%s", r->due);
    snprintf(u->r[u->n].outcome, sizeof u->r[0].outcome, "%s", r->outcome);
    snprintf(u->r[u->n].subject_name, sizeof u->r[0].subject_name, "%s", r->subject_name);
    u->r[u->n].overdue = r->days_overdue;
    u->n++;
    return 0;
}

static patrol_saved add_revisit(fx *f, const char *matter, const char *due, const char *outcome)
{
    req r;
    req_method(&r, &methods[6], matter);
    req_set(&r, "due", due);
    if (outcome)
        req_set(&r, "outcome", outcome);
    return send_ok(f, &r);
}

/* The outcome of revisit id (of an inspection), with what it asks. */
static void outcome_ok(fx *f, const char *id, const char *outcome)
{
    record_ok(f, "revisit.outcome", id, "outcome", outcome, "legality", "lawful_regular",
              "opinion", "无意见", NULL);
}

static void revisits_due_listing(void **state)
{
    fx *f = *state;
    rv_ud u;
    patrol_saved late, today, later, done, spot;

    /* Recorded out of due order on purpose. */
    later = add_revisit(f, f->matter, "2030-03-20", NULL);
    late = add_revisit(f, f->matter, "2030-03-10", NULL);
    done = add_revisit(f, f->matter, "2030-03-01", NULL);
    today = add_revisit(f, f->matter, "2030-03-15", NULL);
    spot = add_revisit(f, f->matter, "2030-03-05", "partially_corrected");

    /* Outcomes: unknown revisit, bad value, then done, then twice. */
    REFUSE(f, PATROL_ENOTFOUND, "R-00000000-1", "revisit.outcome", "R-00000000-1", "outcome",
           "corrected", NULL);
    REFUSE(f, PATROL_EINVAL, "'outcome'", "revisit.outcome", done.id, "outcome", "fine", NULL);
    REFUSE(f, PATROL_EINVAL, "'outcome'", "revisit.outcome", done.id, NULL);
    REFUSE(f, PATROL_EINVAL, "revisit id", "revisit.outcome", NULL, "outcome", "corrected", NULL);
    /* An outcome asks the subject's opinion, and after an inspection
     * whether the supervision was lawful and regular (new). */
    REFUSE(f, PATROL_EINVAL, "'opinion'", "revisit.outcome", done.id, "outcome", "corrected",
           "legality", "lawful_regular", NULL);
    REFUSE(f, PATROL_EINVAL, "(rule revisit_legality)", "revisit.outcome", done.id, "outcome",
           "corrected", "opinion", "无意见", "integrity", "no_concern", NULL);
    {
        patrol_saved s = record_ok(f, "revisit.outcome", done.id, "outcome", "corrected",
                                   "integrity", "no_concern", "legality", "lawful_regular",
                                   "opinion", "无意见", NULL);
        assert_string_equal(s.id, done.id);
        assert_string_equal(entry_field(f->p, s.seq, NULL)->matter, f->matter);
    }
    REFUSE(f, PATROL_ESTATE, done.id, "revisit.outcome", done.id, "outcome", "not_corrected",
           "legality", "lawful_regular", "opinion", "无意见", NULL);
    REFUSE(f, PATROL_ESTATE, spot.id, "revisit.outcome", spot.id, "outcome", "corrected",
           "legality", "lawful_regular", "opinion", "无意见", NULL);

    /* Due only, on 2030-03-15: the overdue one (5 days) and today's. */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2030-03-15", rv_cb, &u));
    assert_int_equal(u.n, 2);
    assert_string_equal(u.r[0].id, late.id);
    assert_int_equal(u.r[0].overdue, 5);
    assert_string_equal(u.r[0].outcome, "");
    assert_string_equal(u.r[0].subject_name, "泗阳县众兴镇老街小吃店");
    assert_string_equal(u.r[1].id, today.id);
    assert_int_equal(u.r[1].overdue, 0);
    assert_string_equal(u.r[1].due, "2030-03-15");

    /* All, in due order, with outcomes and the days. */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 0, "2030-03-15", rv_cb, &u));
    assert_int_equal(u.n, 5);
    assert_string_equal(u.r[0].id, done.id);
    assert_string_equal(u.r[0].outcome, "corrected");
    assert_int_equal(u.r[0].overdue, 14);
    assert_string_equal(u.r[1].id, spot.id);
    assert_string_equal(u.r[1].outcome, "partially_corrected");
    assert_string_equal(u.r[2].id, late.id);
    assert_string_equal(u.r[3].id, today.id);
    assert_string_equal(u.r[4].id, later.id);
    assert_int_equal(u.r[4].overdue, -5);

    /* Across a month end and a leap day. */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2030-04-01", rv_cb, &u));
    assert_int_equal(u.n, 3);
    assert_int_equal(u.r[2].overdue, 12); /* 2030-03-20 */
    /* Nothing due yet on 2030-03-09. */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2030-03-09", rv_cb, &u));
    assert_int_equal(u.n, 0);

    /* A bad "today". */
    EXPECT_REFUSED(f, patrol_revisits(f->p, 1, "2030-02-30", rv_cb, &u), PATROL_EINVAL,
                   "2030-02-30");
    EXPECT_REFUSED(f, patrol_revisits(f->p, 1, "15/03/2030", rv_cb, &u), PATROL_EINVAL,
                   "15/03/2030");
    /* The device clock's date works too (all revisits are in 2030). */
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 0, NULL, rv_cb, &u));
    assert_int_equal(u.n, 5);

    /* A revisit pending blocks completion, naming it (the first pending
     * in recording order). */
    REFUSE(f, PATROL_ESTATE, later.id, "matter.close", f->matter, "outcome", "completed", NULL);
    outcome_ok(f, later.id, "corrected");
    REFUSE(f, PATROL_ESTATE, late.id, "matter.close", f->matter, "outcome", "completed", NULL);
    outcome_ok(f, late.id, "corrected");
    outcome_ok(f, today.id, "not_corrected");
    /* A violation found not corrected is not a completed matter: it goes
     * to ordinary case procedure (it used to be completed). */
    REFUSE(f, PATROL_ESTATE, today.id, "matter.close", f->matter, "outcome", "completed", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule not_corrected)", "matter.close", f->matter, "outcome",
           "completed", NULL);
    record_ok(f, "matter.close", f->matter, "outcome", "escalated", "case_no", "泗城管立〔2030〕12号",
              NULL);
    assert_string_equal(matter_state(f->p, f->matter), "escalated");
    {
        /* The case number is kept with the matter (store view). */
        sqlite3 *db = db_open_rw(f->store);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT typeof(case_no), case_no FROM matters"
                                                " WHERE id = ?",
                                            -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, f->matter, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "text");
        assert_string_equal((const char *)sqlite3_column_text(st, 1), "泗城管立〔2030〕12号");
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2031-01-01", rv_cb, &u));
    assert_int_equal(u.n, 0);
}

/* A revisit left pending on a matter that is then terminated: its outcome
 * can no longer be recorded (the matter is closed), so it must not stay
 * "due" for ever in 'patrol revisits --due'. Either refusing the
 * termination or dropping the revisit from the due list would do. */
static void revisit_of_terminated_matter_not_due(void **state)
{
    fx *f = *state;
    patrol_saved r = add_revisit(f, f->matter, "2030-03-10", NULL);
    req close;
    rv_ud u;
    int rc;
    /* The record must say the subject asked to stop before that reason. */
    record_ok(f, "consent", f->matter, "answer", "stop", "told", "yes", NULL);
    req_init(&close, "matter.close", f->matter, "outcome", "terminated", "reason",
             "subject_asked_stop", NULL);
    rc = req_send(f->p, &close, NULL);
    if (rc == PATROL_ESTATE)
        return; /* termination refused while a revisit is pending: fine */
    EXPECT_OK(f->p, rc);
    REFUSE(f, PATROL_ESTATE, "(rule matter_closed)", "revisit.outcome", r.id, "outcome",
           "corrected", "legality", "lawful_regular", "opinion", "无意见", NULL);
    memset(&u, 0, sizeof u);
    EXPECT_OK(f->p, patrol_revisits(f->p, 1, "2030-03-15", rv_cb, &u));
    for (size_t i = 0; i < u.n; i++)
        if (strcmp(u.r[i].id, r.id) == 0)
            fail_msg("revisit %s of terminated matter %s is listed as due (%d days overdue) but "
                     "its outcome can no longer be recorded",
                     r.id, f->matter, u.r[i].overdue);
}

static void document_issue_and_deliver(void **state)
{
    fx *f = *state;
    patrol_saved d;
    req r;
    req_init(&r, "document.issue", f->matter, "content", "责令规范店外经营行为", "purpose",
             "引导当事人自觉守法", "time", "2026年3月12日", "personnel", "张伟、李娜", "doc_no",
             "SYCG-RX-2026-017", NULL);
    d = send_ok(f, &r);
    assert_true(strncmp(d.id, "D-", 2) == 0);
    /* The subject is filled in from the matter. */
    assert_string_equal(field_of(f->p, d.seq, "subject"), f->biz);
    /* ... and may not be typed. */
    req_add(&r, "subject", f->person);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'subject'");
    for (size_t k = 0; k < 4; k++) {
        static const char *const reqd[] = {"content", "purpose", "time", "personnel"};
        char quoted[40];
        req_init(&r, "document.issue", f->matter, "content", "c", "purpose", "p", "time", "t",
                 "personnel", "x", NULL);
        req_del(&r, reqd[k]);
        snprintf(quoted, sizeof quoted, "'%s'", reqd[k]);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, quoted);
    }

    REFUSE(f, PATROL_ENOTFOUND, "D-00000000-5", "document.deliver", "D-00000000-5", "method",
           "in_person", "recipient", "王某", NULL);
    REFUSE(f, PATROL_EINVAL, "'method'", "document.deliver", d.id, "method", "pigeon", "recipient",
           "王某", NULL);
    REFUSE(f, PATROL_EINVAL, "'recipient'", "document.deliver", d.id, "method", "post", NULL);
    REFUSE(f, PATROL_EINVAL, "document id", "document.deliver", NULL, "method", "post",
           "recipient", "王某", NULL);
    /* Not completed while an issued document is not delivered (new). */
    req_method(&r, &methods[0], f->matter);
    send_ok(f, &r);
    REFUSE(f, PATROL_ESTATE, d.id, "matter.close", f->matter, "outcome", "completed", NULL);
    {
        patrol_saved s = record_ok(f, "document.deliver", d.id, "method", "in_person",
                                   "recipient", "店主王某（签收）", NULL);
        assert_string_equal(s.id, d.id);
        assert_string_equal(entry_field(f->p, s.seq, NULL)->matter, f->matter);
    }
    /* Delivered once only. */
    REFUSE(f, PATROL_ESTATE, d.id, "document.deliver", d.id, "method", "post", "recipient", "王某",
           NULL);
}

static void application_withdraw_and_change(void **state)
{
    fx *f = *state;
    char m2[PATROL_ID_MAX];
    /* The fixture's matter was not opened on application. */
    REFUSE(f, PATROL_ESTATE, "application", "application.withdraw", f->matter, "reason", "不需要了",
           NULL);
    REFUSE(f, PATROL_ESTATE, "application", "application.change", f->matter, "content", "改为书面",
           NULL);
    /* Filing one makes both possible; withdrawn, it is gone. */
    record_ok(f, "application.file", f->matter, "content", "申请行政指导", NULL);
    REFUSE(f, PATROL_ESTATE, "(rule application_twice)", "application.file", f->matter, "content",
           "再次申请", NULL);
    record_ok(f, "application.change", f->matter, "content", "申请行政指导并提供示范文本", NULL);
    record_ok(f, "application.withdraw", f->matter, NULL);
    assert_string_equal(matter_state(f->p, f->matter), "withdrawn");
    REFUSE(f, PATROL_ESTATE, "application", "application.withdraw", f->matter, NULL);
    REFUSE(f, PATROL_EINVAL, "'content'", "application.file", f->matter, NULL);

    /* Opened on application. */
    open_matter(f->p, f->biz, m2, "on_application", "yes", NULL);
    record_ok(f, "application.withdraw", m2, "reason", "已自行整改", NULL);
    REFUSE(f, PATROL_ESTATE, "application", "application.change", m2, "content", "x", NULL);
}

static void correction_checks(void **state)
{
    fx *f = *state;
    patrol_saved w, c;
    req r;
    find_ud *u;

    req_method(&r, &methods[3], f->matter);
    w = send_ok(f, &r);

    /* Must name an earlier entry. */
    req_init(&r, "correction", f->matter, "reason", "录入错误", NULL);
    req_insp(&r, INSP1);
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "earlier entry");
    r.corrects = w.seq + 1;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "earlier entry");
    r.corrects = 1000;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "earlier entry");
    /* The reason is required. */
    req_init(&r, "correction", f->matter, NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'reason'");
    /* The field must exist in the corrected kind. */
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "topic", "value", "x",
             NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'topic'");
    /* The value is validated as that field. */
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "deadline", "value",
             "2026-02-30", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "'deadline'");
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "deadline", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "value");
    req_init(&r, "correction", f->matter, "reason", "录入错误", "value", "2090-04-30", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "field");
    /* The inspector who makes it is named (new: the matter's were taken). */
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "deadline", "value",
             "2090-04-30", NULL);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "--inspector");
    /* The matter given must be the corrected entry's. */
    req_init(&r, "correction", f->person, "reason", "录入错误", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, f->person);

    /* Valid, and allowed on a closed matter. */
    record_ok(f, "matter.close", f->matter, "outcome", "completed", NULL);
    req_init(&r, "correction", f->matter, "reason", "整改期限录入错误", "field", "deadline", "value",
             "2090-04-30", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    c = send_ok(f, &r);
    u = entry_field(f->p, c.seq, "value");
    assert_string_equal(u->kind, "correction");
    assert_int_equal(u->corrects, w.seq);
    assert_string_equal(u->matter, f->matter);
    assert_string_equal(u->value, "2090-04-30");
    /* The corrected entry itself is untouched. */
    assert_string_equal(field_of(f->p, w.seq, "deadline"), "2090-03-31");
    /* A correction that would make the entry it corrects break a rule is
     * refused, naming that entry (new: checked in context). */
    req_init(&r, "correction", f->matter, "reason", "录入错误", "field", "deadline", "value",
             "2001-01-01", NULL);
    req_insp(&r, INSP1);
    r.corrects = w.seq;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "(rule date_past)");
    {
        char entry[64];
        snprintf(entry, sizeof entry, "entry %llu (action.warning)", (unsigned long long)w.seq);
        EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, entry);
    }
    /* A correction of an entry outside any matter (an inspector's). */
    req_init(&r, "correction", NULL, "reason", "姓名录入错误", "field", "name", "value", "张威",
             NULL);
    req_insp(&r, INSP1);
    r.corrects = 2;
    c = send_ok(f, &r);
    assert_string_equal(entry_field(f->p, c.seq, NULL)->matter, "");
    /* The device entry binds the key and the department: it cannot be
     * corrected (it used to be). */
    req_init(&r, "correction", NULL, "reason", "终端名称有误", "field", "device_name", "value",
             "泗阳城管 手持终端 08", NULL);
    req_insp(&r, INSP1);
    r.corrects = 1;
    EXPECT_REFUSED(f, req_send(f->p, &r, NULL), PATROL_EINVAL, "device.init");
}

/* ======================================================================
 * 5. Evidence
 * ====================================================================== */

/* A recorded sha256 (64 hex digits) into out. */
static void copy_sha(char out[65], const char *v)
{
    assert_int_equal(strlen(v), 64);
    memcpy(out, v, 65);
}

static void make_jpeg(const char *path, size_t n, uint32_t seed)
{
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_bytes(d, n, seed);
    memcpy(d, "\xff\xd8\xff\xe0\x00\x10JFIF\x00", 11);
    write_file(path, d, n);
    free(d);
}

static void evidence_stored_once(void **state)
{
    fx *f = *state;
    char src[2048], ev[2048];
    patrol_saved a, b;
    patrol_info info;
    find_ud *u;

    path_join(src, sizeof src, f->root, "IMG_0001.jpg");
    path_join(ev, sizeof ev, f->store, "evidence");
    make_jpeg(src, 300000, 7);
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, "店外货架", NULL, &a));
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, "同一张照片", NULL,
                                        &b));
    assert_true(b.seq == a.seq + 1);
    assert_int_equal(count_files(ev), 1);
    EXPECT_OK(f->p, patrol_get_info(f->p, &info));
    assert_int_equal(info.evidence_files, 1);
    assert_int_equal(info.evidence_bytes, 300000);
    u = entry_field(f->p, a.seq, "sha256");
    assert_string_equal(u->kind, "evidence.add");
    assert_string_equal(u->matter, f->matter);
    {
        char sha[65], stored[2048], rel[100];
        copy_sha(sha, u->value);
        assert_string_equal(field_of(f->p, b.seq, "sha256"), sha);
        snprintf(rel, sizeof rel, "evidence/%.2s/%s", sha, sha);
        path_join(stored, sizeof stored, f->store, rel);
        {
            struct stat st;
            assert_int_equal(stat(stored, &st), 0);
            assert_int_equal(st.st_size, 300000);
            assert_int_equal(st.st_mode & 0222, 0); /* stored read-only */
        }
    }
    /* What was guessed and kept. */
    assert_string_equal(field_of(f->p, a.seq, "media_type"), "image/jpeg");
    assert_string_equal(field_of(f->p, a.seq, "size"), "300000");
    assert_string_equal(field_of(f->p, a.seq, "name"), "IMG_0001.jpg");
    assert_string_equal(field_of(f->p, a.seq, "kind"), "photo");
    assert_string_equal(field_of(f->p, a.seq, "caption"), "店外货架");
    /* A given media type wins over the guess. */
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "document", src, "image/x-scan", NULL,
                                        NULL, &b));
    assert_string_equal(field_of(f->p, b.seq, "media_type"), "image/x-scan");
    /* A PDF and an unknown blob. */
    {
        char pdf[2048];
        path_join(pdf, sizeof pdf, f->root, "notice.pdf");
        write_file(pdf, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", 24);
        EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "document", pdf, NULL, NULL, NULL,
                                            &b));
        assert_string_equal(field_of(f->p, b.seq, "media_type"), "application/pdf");
        write_file(pdf, "just some bytes", 15);
        EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "document", pdf, NULL, NULL, NULL,
                                            &b));
        assert_string_equal(field_of(f->p, b.seq, "media_type"), "application/octet-stream");
    }
    assert_int_equal(count_files(ev), 3);
    EXPECT_OK(f->p, patrol_verify(f->p, NULL, NULL, NULL));
}

static void evidence_bad_input(void **state)
{
    fx *f = *state;
    char src[2048], missing[2048], empty[2048], dir[2048], closed[PATROL_ID_MAX];
    patrol_saved s;

    path_join(src, sizeof src, f->root, "IMG_0002.jpg");
    path_join(missing, sizeof missing, f->root, "IMG_9999.jpg");
    path_join(empty, sizeof empty, f->root, "empty.jpg");
    path_join(dir, sizeof dir, f->root, "DCIM");
    make_jpeg(src, 5000, 11);
    write_file(empty, "", 0);
    assert_int_equal(mkdir(dir, 0700), 0);

    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", missing, NULL, NULL, NULL, &s),
                   PATROL_ENOTFOUND, missing);
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", dir, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, dir);
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", empty, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, "empty");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "selfie", src, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, "selfie");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", src, "image/\njpeg", NULL,
                                          NULL, &s),
                   PATROL_EINVAL, "media type");
    /* Refused after the file was copied in: the copy must go again. */
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, "M-00000000-404", "photo", src, NULL, NULL, NULL,
                                          &s),
                   PATROL_ENOTFOUND, "M-00000000-404");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, "\xff\xfe", NULL,
                                          &s),
                   PATROL_EINVAL, "'caption'");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, NULL, src, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, "kind");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, NULL, "photo", src, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, "matter");
    open_matter(f->p, f->biz, closed, NULL);
    record_ok(f, "matter.close", closed, "outcome", "terminated", "reason", "other",
              "reason_text", "当事人已搬离", NULL);
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, closed, "photo", src, NULL, NULL, NULL, &s),
                   PATROL_ESTATE, closed);
    /* Unreadable (not testable as root: root reads everything). */
    if (geteuid() != 0) {
        assert_int_equal(chmod(src, 0), 0);
        EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, NULL, NULL, &s),
                       PATROL_EIO, src);
        assert_int_equal(chmod(src, 0600), 0);
    }
    /* After all that, the file goes in once and the store verifies. */
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, NULL, NULL, &s));
    /* Refused on a closed matter when already stored: the stored copy,
     * which the earlier entry refers to, stays. */
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, closed, "photo", src, NULL, NULL, NULL, &s),
                   PATROL_ESTATE, closed);
    EXPECT_OK(f->p, patrol_verify(f->p, NULL, NULL, NULL));
}

/* ======================================================================
 * 4. Verification
 * ====================================================================== */

typedef struct prob {
    uint64_t seq;
    char ev[65];
    char what[512];
} prob;

typedef struct probs {
    prob v[64];
    size_t n;
} probs;

static void on_problem(void *ud, uint64_t seq, const char *evidence, const char *what)
{
    probs *ps = ud;
    if (ps->n < 64) {
        ps->v[ps->n].seq = seq;
        snprintf(ps->v[ps->n].ev, sizeof ps->v[0].ev, "%s", evidence ? evidence : "");
        snprintf(ps->v[ps->n].what, sizeof ps->v[0].what, "%s", what ? what : "");
    }
    ps->n++;
}

static void print_probs(const probs *ps)
{
    for (size_t i = 0; i < ps->n && i < 64; i++)
        print_message("  problem: seq %llu evidence '%s': %s\n", (unsigned long long)ps->v[i].seq,
                      ps->v[i].ev, ps->v[i].what);
}

static const prob *prob_seq(const probs *ps, uint64_t seq)
{
    for (size_t i = 0; i < ps->n && i < 64; i++)
        if (ps->v[i].seq == seq)
            return &ps->v[i];
    return NULL;
}

static const prob *prob_ev(const probs *ps, const char *sha)
{
    for (size_t i = 0; i < ps->n && i < 64; i++)
        if (strcmp(ps->v[i].ev, sha) == 0)
            return &ps->v[i];
    return NULL;
}

static void expect_problem_at(const probs *ps, uint64_t seq)
{
    if (!prob_seq(ps, seq)) {
        print_probs(ps);
        fail_msg("verify did not name entry %llu", (unsigned long long)seq);
    }
}

/* The realistic store, built once for the verification tests. */
static struct real {
    char root[1024];
    char store[1100];
    uint64_t entries, guidance, warning, photo, pdf, last;
    char photo_sha[65], pdf_sha[65];
    uint64_t photo_size, pdf_size;
    char m1[PATROL_ID_MAX], m2[PATROL_ID_MAX];
} R;

static int real_setup(void **state)
{
    fx f;
    patrol_saved s;
    char err[512], photo[2048], pdf[2048], doc[PATROL_ID_MAX], rvid[PATROL_ID_MAX],
        m2[PATROL_ID_MAX];
    patrol_location loc = {337162100, 1186643500, 5};
    req r;
    (void)state;

    memset(&R, 0, sizeof R);
    memset(&f, 0, sizeof f);
    make_tmpdir(R.root, sizeof R.root);
    path_join(R.store, sizeof R.store, R.root, "store");
    snprintf(f.root, sizeof f.root, "%s", R.root);
    snprintf(f.store, sizeof f.store, "%s", R.store);
    if (patrol_init(R.store, DEPT, "泗阳城管 手持终端 07", &f.p, err, sizeof err) != PATROL_OK)
        fail_msg("patrol_init: %s", err);
    add_inspector(f.p, INSP1, "张伟", "JS-ZF-320001");
    add_inspector(f.p, INSP2, "李娜", "JS-ZF-320002");
    add_subject(f.p, "business", "泗阳县众兴镇老街小吃店", CREDIT_A, f.biz);
    req_init(&r, "matter.open", NULL, "subject", f.biz, "domain", "urban_management", "summary",
             "临街商户超出门窗外墙摆卖，首次被发现", "list_item", "CG-NP-003", NULL);
    req_insp(&r, INSP1);
    req_insp(&r, INSP2);
    r.loc = &loc;
    s = send_ok(&f, &r);
    snprintf(f.matter, sizeof f.matter, "%s", s.id);
    record_ok(&f, "consent", f.matter, "answer", "accept", "told", "yes", "form", "oral", NULL);
    R.guidance = record_ok(&f, "action.guidance", f.matter, "content",
                           "现场指导店主将货架移回店内，标记 ABCDEF 处为外摆禁区", "topic",
                           "门前三包", NULL)
                     .seq;
    path_join(photo, sizeof photo, R.root, "IMG_0001.jpg");
    make_jpeg(photo, 200000, 3);
    EXPECT_OK(f.p, patrol_evidence_add(f.p, f.matter, "photo", photo, NULL, "整改前", &loc, &s));
    R.photo = s.seq;
    copy_sha(R.photo_sha, field_of(f.p, s.seq, "sha256"));
    R.photo_size = 200000;
    req_method(&r, &methods[3], f.matter);
    R.warning = send_ok(&f, &r).seq;
    record_ok(&f, "leaflet", f.matter, "title", "《门前三包责任告知书》", "copies", "2", NULL);
    s = record_ok(&f, "document.issue", f.matter, "content", "责令规范店外经营", "purpose",
                  "引导守法", "time", "2026年3月12日", "personnel", "张伟、李娜", NULL);
    snprintf(doc, sizeof doc, "%s", s.id);
    record_ok(&f, "document.deliver", doc, "method", "in_person", "recipient", "店主", NULL);
    path_join(pdf, sizeof pdf, R.root, "notice.pdf");
    {
        unsigned char d[30000];
        fill_bytes(d, sizeof d, 5);
        memcpy(d, "%PDF-1.7\n", 9);
        write_file(pdf, d, sizeof d);
    }
    EXPECT_OK(f.p, patrol_evidence_add(f.p, f.matter, "document", pdf, NULL, "送达回证", NULL, &s));
    R.pdf = s.seq;
    copy_sha(R.pdf_sha, field_of(f.p, s.seq, "sha256"));
    R.pdf_size = 30000;
    /* The photo again (stored once, recorded twice). */
    EXPECT_OK(f.p, patrol_evidence_add(f.p, f.matter, "photo", photo, NULL, NULL, NULL, &s));
    snprintf(rvid, sizeof rvid, "%s", add_revisit(&f, f.matter, "2090-04-15", NULL).id);
    outcome_ok(&f, rvid, "corrected");
    record_ok(&f, "matter.close", f.matter, "outcome", "completed", NULL);
    req_init(&r, "correction", f.matter, "reason", "整改期限录入错误", "field", "deadline", "value",
             "2090-04-30", NULL);
    req_insp(&r, INSP1);
    r.corrects = R.warning;
    send_ok(&f, &r);
    add_subject(f.p, "person", "王建国", IDNUM_A, f.person);
    open_matter(f.p, f.person, m2, NULL);
    accept(f.p, m2);
    snprintf(R.m1, sizeof R.m1, "%s", f.matter);
    snprintf(R.m2, sizeof R.m2, "%s", m2);
    /* The last entry changes no view (a leaflet): see tail truncation. */
    R.last = record_ok(&f, "leaflet", m2, "title", "《市容环境卫生责任区告知书》", "copies", "1",
                       NULL)
                 .seq;
    R.entries = R.last;
    patrol_close(f.p);
    return 0;
}

static int real_teardown(void **state)
{
    (void)state;
    rm_rf(R.root);
    return 0;
}

/* A copy of the realistic store for one test to damage. */
typedef struct copy {
    char root[1024];
    char store[1100];
} copy;

static void copy_real(copy *c)
{
    make_tmpdir(c->root, sizeof c->root);
    path_join(c->store, sizeof c->store, c->root, "store");
    copy_tree(R.store, c->store);
}

/* Open c, verify, close; problems into ps. Returns verify's result. */
static int verify_copy(const copy *c, probs *ps, patrol_verify_stats *st)
{
    patrol *p;
    char err[512];
    int rc = patrol_open(c->store, &p, err, sizeof err);
    if (rc != PATROL_OK)
        fail_msg("patrol_open %s: %d: %s", c->store, rc, err);
    memset(ps, 0, sizeof *ps);
    rc = patrol_verify(p, on_problem, ps, st);
    if (rc == PATROL_EVERIFY)
        assert_true(strstr(patrol_errmsg(p), "problem") != NULL);
    patrol_close(p);
    return rc;
}

static void verify_realistic_ok(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    patrol *p;
    patrol_info info;
    char err[512];
    (void)state;
    copy_real(&c);
    if (verify_copy(&c, &ps, &st) != PATROL_OK) {
        print_probs(&ps);
        fail_msg("an untouched store does not verify");
    }
    assert_int_equal(ps.n, 0);
    assert_int_equal(st.problems, 0);
    assert_int_equal(st.entries, R.entries);
    assert_int_equal(st.evidence_files, 2);
    assert_int_equal(st.evidence_bytes, R.photo_size + R.pdf_size);
    /* The info agrees, and so does the log. */
    EXPECT_OPEN(patrol_open(c.store, &p, err, sizeof err), err);
    EXPECT_OK(p, patrol_get_info(p, &info));
    assert_int_equal(info.entries, R.entries);
    assert_int_equal(info.evidence_files, 2);
    assert_int_equal(info.evidence_bytes, R.photo_size + R.pdf_size);
    assert_string_equal(info.department, DEPT);
    assert_string_equal(info.device_name, "泗阳城管 手持终端 07");
    assert_int_equal(strlen(info.device_id), 64);
    assert_int_equal(count_entries(p, NULL), R.entries);
    /* Per matter: open .. correction of the first (evidence, revisit
     * outcome and delivery included); open, consent and leaflet of the
     * second. */
    assert_int_equal(count_entries(p, R.m1), 14);
    assert_int_equal(count_entries(p, R.m2), 3);
    assert_string_equal(matter_state(p, R.m1), "completed");
    assert_string_equal(matter_state(p, R.m2), "accepted");
    patrol_close(p);
    rm_rf(c.root);
}

/* Edit one byte of the signed bytes of an entry, as an attacker with the
 * SQLite file would (first dropping the append-only trigger). */
static void verify_detects_edited_entry(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    sqlite3 *db;
    unsigned char *blob;
    size_t len, i;
    (void)state;
    copy_real(&c);
    db = db_open_rw(c.store);
    db_exec(db, "DROP TRIGGER journal_no_update");
    blob = db_get_blob(db, "SELECT entry FROM journal WHERE seq = ?", (int64_t)R.guidance, &len);
    i = 0;
    while (i + 6 <= len && memcmp(blob + i, "ABCDEF", 6) != 0)
        i++;
    assert_true(i + 6 <= len);
    blob[i] = 'X'; /* still valid UTF-8, still decodes: only the signature tells */
    db_set_blob(db, "UPDATE journal SET entry = ?1 WHERE seq = ?2", blob, len,
                (int64_t)R.guidance);
    free(blob);
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, R.guidance);
    /* One altered entry is one problem: its neighbours are fine. */
    if (ps.n != 1) {
        print_probs(&ps);
        fail_msg("expected one problem, got %zu", ps.n);
    }
    assert_int_equal(st.problems, 1);
    assert_int_equal(st.entries, R.entries);
    rm_rf(c.root);

    /* A byte that breaks the encoding itself. */
    copy_real(&c);
    db = db_open_rw(c.store);
    db_exec(db, "DROP TRIGGER journal_no_update");
    blob = db_get_blob(db, "SELECT entry FROM journal WHERE seq = ?", (int64_t)R.warning, &len);
    blob[0] ^= 0xff;
    db_set_blob(db, "UPDATE journal SET entry = ?1 WHERE seq = ?2", blob, len, (int64_t)R.warning);
    free(blob);
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, R.warning);
    if (ps.n != 1) {
        print_probs(&ps);
        fail_msg("expected one problem, got %zu", ps.n);
    }
    rm_rf(c.root);

    /* Edited entry with its hash column recomputed to match: the
     * signature still tells (verify trusts no stored hash). */
    copy_real(&c);
    db = db_open_rw(c.store);
    db_exec(db, "DROP TRIGGER journal_no_update");
    {
        /* Swap in another entry's bytes and hash but keep the signature. */
        unsigned char *other, *oh;
        size_t olen, ohl;
        other = db_get_blob(db, "SELECT entry FROM journal WHERE seq = ?", (int64_t)R.warning,
                            &olen);
        oh = db_get_blob(db, "SELECT hash FROM journal WHERE seq = ?", (int64_t)R.warning, &ohl);
        db_set_blob(db, "UPDATE journal SET entry = ?1 WHERE seq = ?2", other, olen,
                    (int64_t)R.guidance);
        db_set_blob(db, "UPDATE journal SET hash = ?1 WHERE seq = ?2", oh, ohl,
                    (int64_t)R.guidance);
        free(other);
        free(oh);
    }
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, R.guidance);
    rm_rf(c.root);
}

static void verify_detects_deleted_middle_entry(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    sqlite3 *db;
    const prob *pr;
    (void)state;
    copy_real(&c);
    db = db_open_rw(c.store);
    db_exec(db, "DROP TRIGGER journal_no_delete");
    {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM journal WHERE seq = %llu",
                 (unsigned long long)R.warning);
        db_exec(db, sql);
    }
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, R.warning);
    pr = prob_seq(&ps, R.warning);
    assert_non_null(strstr(pr->what, "missing"));
    assert_int_equal(st.entries, R.entries - 1);
    /* The entry after the gap is intact: only the gap is named. */
    if (ps.n != 1) {
        print_probs(&ps);
        fail_msg("expected one problem, got %zu", ps.n);
    }
    rm_rf(c.root);

    /* The first entry (the device's) deleted. */
    copy_real(&c);
    db = db_open_rw(c.store);
    db_exec(db, "DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq = 1");
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, 1);
    rm_rf(c.root);
}

/* Tail truncation. The journal's head row remembers the last seq and
 * hash, so deleting the last entry alone is caught and named. An attacker
 * who also rewrites the head row to the new last entry leaves a chain
 * that is consistent on its own: that truncation can only be detected
 * against the receipts the server gave for synced entries (next issue),
 * and verify on the terminal alone accepts it. */
static void verify_detects_deleted_last_entry(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    sqlite3 *db;
    char sql[256];
    const prob *pr;
    (void)state;

    copy_real(&c);
    db = db_open_rw(c.store);
    snprintf(sql, sizeof sql, "DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq = %llu",
             (unsigned long long)R.last);
    db_exec(db, sql);
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    assert_int_equal(st.entries, R.last - 1);
    /* The message says which entry is missing at the end. */
    {
        char num[32];
        snprintf(num, sizeof num, "%llu", (unsigned long long)R.last);
        if (ps.n != 1 || !strstr(ps.v[0].what, num) || !strstr(ps.v[0].what, "missing")) {
            print_probs(&ps);
            fail_msg("expected one problem about entry %s missing at the end", num);
        }
    }
    /* And, as for a gap (the first missing entry is named), the seq
     * reported is the missing entry's, not that of the intact entry
     * before it. */
    pr = prob_seq(&ps, R.last);
    if (!pr) {
        print_probs(&ps);
        fail_msg("the missing last entry %llu is not the entry named (a gap names the first "
                 "missing entry)",
                 (unsigned long long)R.last);
    }
    rm_rf(c.root);

    /* The attacker also rewrites head: consistent, accepted here. */
    copy_real(&c);
    db = db_open_rw(c.store);
    snprintf(sql, sizeof sql,
             "DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq = %llu;"
             "UPDATE head SET seq = %llu, hash = (SELECT hash FROM journal WHERE seq = %llu)",
             (unsigned long long)R.last, (unsigned long long)(R.last - 1),
             (unsigned long long)(R.last - 1));
    db_exec(db, sql);
    sqlite3_close(db);
    if (verify_copy(&c, &ps, &st) != PATROL_OK) {
        print_probs(&ps);
        fail_msg("a consistently truncated journal: expected verify to accept it (only the "
                 "server's receipts can tell)");
    }
    assert_int_equal(st.entries, R.last - 1);
    rm_rf(c.root);

    /* A head that claims fewer entries than there are. */
    copy_real(&c);
    db = db_open_rw(c.store);
    snprintf(sql, sizeof sql,
             "UPDATE head SET seq = %llu, hash = (SELECT hash FROM journal WHERE seq = %llu)",
             (unsigned long long)(R.last - 1), (unsigned long long)(R.last - 1));
    db_exec(db, sql);
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    rm_rf(c.root);
}

/* Reordering: two entries' signed bytes and signatures swapped (the rows'
 * seq stay). Both places are named, and only those. Then the same with
 * the stored hash column swapped too. */
static void verify_detects_reordered_entries(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    sqlite3 *db;
    (void)state;

    for (int with_hash = 0; with_hash < 2; with_hash++) {
        copy_real(&c);
        db = db_open_rw(c.store);
        db_exec(db, "DROP TRIGGER journal_no_update");
        {
            static const char *const cols[] = {"entry", "sig", "hash"};
            for (int k = 0; k < 2 + with_hash; k++) {
                char get[128], set[128];
                unsigned char *a, *b;
                size_t la, lb;
                snprintf(get, sizeof get, "SELECT %s FROM journal WHERE seq = ?", cols[k]);
                snprintf(set, sizeof set, "UPDATE journal SET %s = ?1 WHERE seq = ?2", cols[k]);
                a = db_get_blob(db, get, (int64_t)R.guidance, &la);
                b = db_get_blob(db, get, (int64_t)R.warning, &lb);
                db_set_blob(db, set, b, lb, (int64_t)R.guidance);
                db_set_blob(db, set, a, la, (int64_t)R.warning);
                free(a);
                free(b);
            }
        }
        sqlite3_close(db);
        assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
        expect_problem_at(&ps, R.guidance);
        expect_problem_at(&ps, R.warning);
        if (!with_hash && ps.n != 2) {
            print_probs(&ps);
            fail_msg("expected exactly entries %llu and %llu named, got %zu problems",
                     (unsigned long long)R.guidance, (unsigned long long)R.warning, ps.n);
        }
        rm_rf(c.root);
    }

    /* Two adjacent entries swapped. */
    copy_real(&c);
    db = db_open_rw(c.store);
    db_exec(db, "DROP TRIGGER journal_no_update");
    {
        unsigned char *a, *b, *sa, *sb;
        size_t la, lb, lsa, lsb;
        int64_t x = (int64_t)R.guidance, y = (int64_t)R.guidance + 1;
        a = db_get_blob(db, "SELECT entry FROM journal WHERE seq = ?", x, &la);
        b = db_get_blob(db, "SELECT entry FROM journal WHERE seq = ?", y, &lb);
        sa = db_get_blob(db, "SELECT sig FROM journal WHERE seq = ?", x, &lsa);
        sb = db_get_blob(db, "SELECT sig FROM journal WHERE seq = ?", y, &lsb);
        db_set_blob(db, "UPDATE journal SET entry = ?1 WHERE seq = ?2", b, lb, x);
        db_set_blob(db, "UPDATE journal SET entry = ?1 WHERE seq = ?2", a, la, y);
        db_set_blob(db, "UPDATE journal SET sig = ?1 WHERE seq = ?2", sb, lsb, x);
        db_set_blob(db, "UPDATE journal SET sig = ?1 WHERE seq = ?2", sa, lsa, y);
        free(a);
        free(b);
        free(sa);
        free(sb);
    }
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, R.guidance);
    expect_problem_at(&ps, R.guidance + 1);
    rm_rf(c.root);
}

static void verify_detects_replaced_signature(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    sqlite3 *db;
    unsigned char *sig;
    size_t len;
    (void)state;

    /* Another entry's (valid-looking) signature. */
    copy_real(&c);
    db = db_open_rw(c.store);
    db_exec(db, "DROP TRIGGER journal_no_update");
    sig = db_get_blob(db, "SELECT sig FROM journal WHERE seq = ?", (int64_t)R.photo, &len);
    assert_int_equal(len, 64);
    db_set_blob(db, "UPDATE journal SET sig = ?1 WHERE seq = ?2", sig, len, (int64_t)R.warning);
    free(sig);
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, R.warning);
    assert_non_null(strstr(prob_seq(&ps, R.warning)->what, "signature"));
    if (ps.n != 1) {
        print_probs(&ps);
        fail_msg("expected one problem, got %zu", ps.n);
    }
    rm_rf(c.root);

    /* One bit of a signature; and a signature cut short. */
    copy_real(&c);
    db = db_open_rw(c.store);
    db_exec(db, "DROP TRIGGER journal_no_update");
    sig = db_get_blob(db, "SELECT sig FROM journal WHERE seq = ?", 1, &len);
    sig[17] ^= 0x01;
    db_set_blob(db, "UPDATE journal SET sig = ?1 WHERE seq = ?2", sig, len, 1);
    db_set_blob(db, "UPDATE journal SET sig = ?1 WHERE seq = ?2", sig, 63, (int64_t)R.last);
    free(sig);
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, 1);
    expect_problem_at(&ps, R.last);
    assert_int_equal(ps.n, 2);
    rm_rf(c.root);
}

static void verify_detects_evidence_tampering(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    char path[4096], rel[200];
    const prob *pr;
    (void)state;
    copy_real(&c);

    /* Overwrite the photo with other bytes of the same size. */
    snprintf(rel, sizeof rel, "evidence/%.2s/%s", R.photo_sha, R.photo_sha);
    path_join(path, sizeof path, c.store, rel);
    assert_int_equal(chmod(path, 0600), 0);
    make_jpeg(path, (size_t)R.photo_size, 99);
    /* Delete the PDF. */
    snprintf(rel, sizeof rel, "evidence/%.2s/%s", R.pdf_sha, R.pdf_sha);
    path_join(path, sizeof path, c.store, rel);
    assert_int_equal(unlink(path), 0);

    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    pr = prob_ev(&ps, R.photo_sha);
    if (!pr) {
        print_probs(&ps);
        fail_msg("the altered photo %s is not named", R.photo_sha);
    }
    assert_true(pr->seq == R.photo || pr->seq > R.pdf); /* one of its two entries */
    pr = prob_ev(&ps, R.pdf_sha);
    if (!pr) {
        print_probs(&ps);
        fail_msg("the deleted PDF %s is not named", R.pdf_sha);
    }
    assert_int_equal(pr->seq, R.pdf);
    assert_non_null(strstr(pr->what, "missing"));
    /* The journal itself is fine: two problems, one per file. */
    if (ps.n != 2) {
        print_probs(&ps);
        fail_msg("expected two problems, got %zu", ps.n);
    }
    rm_rf(c.root);

    /* A stored file cut short by one byte. */
    copy_real(&c);
    snprintf(rel, sizeof rel, "evidence/%.2s/%s", R.pdf_sha, R.pdf_sha);
    path_join(path, sizeof path, c.store, rel);
    {
        size_t len;
        char *d = read_file(path, &len);
        assert_non_null(d);
        assert_int_equal(chmod(path, 0600), 0);
        write_file(path, d, len - 1);
        free(d);
    }
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    assert_non_null(prob_ev(&ps, R.pdf_sha));
    rm_rf(c.root);
}

static void verify_detects_changed_device_key(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    sqlite3 *db;
    char other[1200], err[512];
    unsigned char *pub, *id;
    size_t publen, idlen;
    patrol *p;
    (void)state;

    /* Another terminal's public key. */
    copy_real(&c);
    path_join(other, sizeof other, c.root, "other");
    EXPECT_OPEN(patrol_init(other, DEPT, "另一台终端", &p, err, sizeof err), err);
    patrol_close(p);
    db = db_open_rw(other);
    pub = db_get_blob(db, "SELECT public_key FROM device WHERE one = ?", 1, &publen);
    id = db_get_blob(db, "SELECT device_id FROM device WHERE one = ?", 1, &idlen);
    sqlite3_close(db);

    db = db_open_rw(c.store);
    db_set_blob(db, "UPDATE device SET public_key = ?1 WHERE one = ?2", pub, publen, 1);
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, 0); /* about the store, not one entry */
    assert_non_null(strstr(ps.v[0].what, "key"));

    /* Garbage instead of a key. */
    db = db_open_rw(c.store);
    db_set_blob(db, "UPDATE device SET public_key = ?1 WHERE one = ?2", "not a key", 9, 1);
    sqlite3_close(db);
    assert_int_equal(verify_copy(&c, &ps, &st), PATROL_EVERIFY);
    expect_problem_at(&ps, 0);

    /* The device id changed along with the key: the store's own key no
     * longer belongs to it, and it does not open. */
    db = db_open_rw(c.store);
    db_set_blob(db, "UPDATE device SET public_key = ?1 WHERE one = ?2", pub, publen, 1);
    db_set_blob(db, "UPDATE device SET device_id = ?1 WHERE one = ?2", id, idlen, 1);
    sqlite3_close(db);
    assert_int_equal(patrol_open(c.store, &p, err, sizeof err), PATROL_ECRYPTO);
    assert_null(p);
    assert_non_null(strstr(err, "key"));
    free(pub);
    free(id);
    rm_rf(c.root);
}

/* The matter an entry belongs to, which patrol_log shows and filters on,
 * is kept in the journal's matter column, outside the signed bytes. An
 * attacker who moves an action to another matter by editing that column
 * changes what 'patrol log --matter' shows for both matters; verify must
 * not call that store intact (for an action the signed object names the
 * matter, so the information is there). */
static void verify_detects_entry_moved_to_other_matter(void **state)
{
    copy c;
    probs ps;
    patrol_verify_stats st;
    sqlite3 *db;
    char sql[256];
    int rc;
    (void)state;
    copy_real(&c);
    db = db_open_rw(c.store);
    snprintf(sql, sizeof sql,
             "DROP TRIGGER journal_no_update; UPDATE journal SET matter = '%s' WHERE seq = %llu",
             R.m2, (unsigned long long)R.warning);
    db_exec(db, sql);
    sqlite3_close(db);
    rc = verify_copy(&c, &ps, &st);
    if (rc != PATROL_EVERIFY)
        fail_msg("warning %llu of matter %s moved to matter %s: verify returned %d, the log now "
                 "shows it under %s",
                 (unsigned long long)R.warning, R.m1, R.m2, rc, R.m2);
    expect_problem_at(&ps, R.warning);
    rm_rf(c.root);
}

static void verify_fresh_store(void **state)
{
    fx *f = *state;
    patrol_verify_stats st;
    probs ps;
    memset(&ps, 0, sizeof ps);
    EXPECT_OK(f->p, patrol_verify(f->p, on_problem, &ps, &st));
    assert_int_equal(ps.n, 0);
    assert_int_equal(st.entries, 7); /* device, 2 inspectors, 2 subjects, matter, consent */
    assert_int_equal(st.evidence_files, 0);
    assert_int_equal(entry_field(f->p, 1, "department")->found_field, 1);
    assert_string_equal(field_of(f->p, 1, "department"), DEPT);
    assert_string_equal(entry_field(f->p, 1, NULL)->kind, "device.init");
}

/* ======================================================================
 * 6. Store lifecycle
 * ====================================================================== */

static void init_refuses_non_empty_dir(void **state)
{
    char root[1024], dir[1100], note[1200], err[512], **names;
    patrol *p = (patrol *)1;
    size_t n, len;
    char *data;
    (void)state;
    make_tmpdir(root, sizeof root);
    path_join(dir, sizeof dir, root, "busy");
    assert_int_equal(mkdir(dir, 0755), 0);
    path_join(note, sizeof note, dir, "notes.txt");
    write_file(note, "巡查记录草稿", strlen("巡查记录草稿"));

    err[0] = '\0';
    assert_int_equal(patrol_init(dir, DEPT, "终端", &p, err, sizeof err), PATROL_EEXIST);
    assert_null(p);
    assert_non_null(strstr(err, dir));
    n = list_names(dir, &names);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "notes.txt");
    free_names(names, n);
    data = read_file(note, &len);
    assert_int_equal(len, strlen("巡查记录草稿"));
    assert_memory_equal(data, "巡查记录草稿", len);
    free(data);
    /* A file in the way. */
    p = (patrol *)1;
    assert_int_equal(patrol_init(note, DEPT, "终端", &p, err, sizeof err), PATROL_EEXIST);
    assert_null(p);
    data = read_file(note, &len);
    assert_int_equal(len, strlen("巡查记录草稿"));
    free(data);
    /* An existing store is never re-initialised. */
    {
        char store[1100], *before, *after;
        path_join(store, sizeof store, root, "store");
        EXPECT_OPEN(patrol_init(store, DEPT, "终端", &p, err, sizeof err), err);
        patrol_close(p);
        before = store_snapshot(store);
        assert_int_equal(patrol_init(store, DEPT, "终端", &p, err, sizeof err), PATROL_EEXIST);
        assert_null(p);
        after = store_snapshot(store);
        snapshots_equal(before, after, "patrol_init on an existing store");
        free(before);
        free(after);
    }
    /* An existing empty directory is fine. */
    {
        char empty[1100];
        path_join(empty, sizeof empty, root, "empty");
        assert_int_equal(mkdir(empty, 0700), 0);
        EXPECT_OPEN(patrol_init(empty, DEPT, "终端", &p, err, sizeof err), err);
        patrol_close(p);
    }
    rm_rf(root);
}

static void init_bad_arguments(void **state)
{
    char root[1024], dir[1100], err[512];
    struct stat st;
    patrol *p;
    static const char *const bad_dept[] = {"", "城管局", "JS SY", "-JS", "a/b", NULL};
    (void)state;
    make_tmpdir(root, sizeof root);
    path_join(dir, sizeof dir, root, "store");
    for (size_t i = 0; bad_dept[i]; i++) {
        p = (patrol *)1;
        err[0] = '\0';
        assert_int_equal(patrol_init(dir, bad_dept[i], "终端", &p, err, sizeof err),
                         PATROL_EINVAL);
        assert_null(p);
        if (!strstr(err, "department"))
            fail_msg("department '%s': message \"%s\" does not name it", bad_dept[i], err);
        assert_int_equal(stat(dir, &st), -1); /* nothing created */
    }
    assert_int_equal(patrol_init(dir, DEPT, "终端\n07", &p, err, sizeof err), PATROL_EINVAL);
    assert_non_null(strstr(err, "device name"));
    assert_int_equal(patrol_init(dir, DEPT, "", &p, err, sizeof err), PATROL_EINVAL);
    assert_int_equal(patrol_init(dir, NULL, "终端", &p, err, sizeof err), PATROL_EINVAL);
    assert_int_equal(patrol_init("", DEPT, "终端", &p, err, sizeof err), PATROL_EINVAL);
    assert_int_equal(stat(dir, &st), -1);

    /* A good one: the key is private, a reopened store is the same. */
    EXPECT_OPEN(patrol_init(dir, DEPT, "终端 07", &p, err, sizeof err), err);
    patrol_close(p);
    {
        char key[1200];
        patrol_info info;
        path_join(key, sizeof key, dir, "device.key");
        assert_int_equal(stat(key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 0077, 0);
        EXPECT_OPEN(patrol_open(dir, &p, err, sizeof err), err);
        EXPECT_OK(p, patrol_get_info(p, &info));
        assert_int_equal(info.entries, 1);
        assert_string_equal(info.department, DEPT);
        assert_string_equal(info.device_name, "终端 07");
        assert_true(info.schema_version >= 1);
        EXPECT_OK(p, patrol_verify(p, NULL, NULL, NULL));
        patrol_close(p);
    }
    rm_rf(root);
}

static void open_without_store(void **state)
{
    char root[1024], dir[1100], err[512], **names;
    patrol *p = (patrol *)1;
    size_t n;
    (void)state;
    make_tmpdir(root, sizeof root);
    assert_int_equal(patrol_open(root, &p, err, sizeof err), PATROL_ENOSTORE);
    assert_null(p);
    assert_non_null(strstr(err, root));
    n = list_names(root, &names); /* not even a lock file left */
    assert_int_equal(n, 0);
    free_names(names, n);
    path_join(dir, sizeof dir, root, "nowhere");
    assert_int_equal(patrol_open(dir, &p, err, sizeof err), PATROL_ENOSTORE);
    assert_int_equal(patrol_open("", &p, err, sizeof err), PATROL_EINVAL);
    rm_rf(root);
}

/* A store made by init and closed, in a fresh temp dir. */
static void closed_store(char *root, size_t rootlen, char *store, size_t storelen)
{
    patrol *p;
    char err[512];
    make_tmpdir(root, rootlen);
    path_join(store, storelen, root, "store");
    EXPECT_OPEN(patrol_init(store, DEPT, "终端", &p, err, sizeof err), err);
    add_inspector(p, INSP1, "张伟", "JS-ZF-320001");
    patrol_close(p);
}

static void open_newer_schema(void **state)
{
    char root[1024], store[1100], err[512];
    patrol *p = (patrol *)1;
    sqlite3 *db;
    (void)state;
    closed_store(root, sizeof root, store, sizeof store);
    db = db_open_rw(store);
    db_exec(db, "PRAGMA user_version = 99");
    sqlite3_close(db);
    assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ESCHEMA);
    assert_null(p);
    if (!strstr(err, "99") || !strstr(err, "version"))
        fail_msg("message \"%s\" does not name the versions", err);
    {
        /* The version this patrol supports is named too (as reported in
         * patrol_get_info of a store it just made). */
        char r2[1024], s2[1100], ours[32];
        patrol *q;
        patrol_info info;
        closed_store(r2, sizeof r2, s2, sizeof s2);
        EXPECT_OPEN(patrol_open(s2, &q, err, sizeof err), err);
        EXPECT_OK(q, patrol_get_info(q, &info));
        patrol_close(q);
        rm_rf(r2);
        snprintf(ours, sizeof ours, "up to %d", info.schema_version);
        assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ESCHEMA);
        if (!strstr(err, ours))
            fail_msg("message \"%s\" does not name the supported version (%s)", err, ours);
    }
    /* Refused, not downgraded. */
    db = db_open_rw(store);
    assert_int_equal(db_int(db, "PRAGMA user_version"), 99);
    sqlite3_close(db);
    rm_rf(root);
}

static void open_key_problems(void **state)
{
    char root[1024], store[1100], key[1200], err[512];
    patrol *p = (patrol *)1;
    (void)state;
    closed_store(root, sizeof root, store, sizeof store);
    path_join(key, sizeof key, store, "device.key");
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ECRYPTO);
    assert_null(p);
    assert_non_null(strstr(err, "0600"));
    assert_int_equal(chmod(key, 0640), 0);
    assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ECRYPTO);
    assert_int_equal(chmod(key, 0600), 0);
    EXPECT_OPEN(patrol_open(store, &p, err, sizeof err), err);
    patrol_close(p);
    /* Another store's key. */
    {
        char r2[1024], s2[1100], k2[1200];
        size_t len;
        char *data;
        closed_store(r2, sizeof r2, s2, sizeof s2);
        path_join(k2, sizeof k2, s2, "device.key");
        data = read_file(k2, &len);
        assert_non_null(data);
        rm_rf(r2);
        assert_int_equal(unlink(key), 0);
        assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ECRYPTO);
        assert_null(p);
        write_file(key, data, len);
        free(data);
        assert_int_equal(chmod(key, 0600), 0);
        assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ECRYPTO);
        assert_non_null(strstr(err, "does not belong"));
    }
    /* Not a key at all. */
    write_file(key, "-----BEGIN NONSENSE-----\n", 25);
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ECRYPTO);
    rm_rf(root);
}

/* A foreign SQLite database where patrol.db should be: refused as not a
 * store, and left exactly as it was (it is somebody else's data). */
static void open_foreign_database(void **state)
{
    char root[1024], store[1100], path[1200], err[512];
    patrol *p = (patrol *)1;
    sqlite3 *db;
    char *before, *after;
    size_t lb, la;
    (void)state;
    make_tmpdir(root, sizeof root);
    path_join(store, sizeof store, root, "store");
    assert_int_equal(mkdir(store, 0700), 0);
    path_join(path, sizeof path, store, "patrol.db");
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    db_exec(db, "CREATE TABLE contacts(name TEXT, phone TEXT);"
                "INSERT INTO contacts VALUES ('王建国', '13800000000');");
    sqlite3_close(db);
    before = read_file(path, &lb);
    assert_non_null(before);

    assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ECORRUPT);
    assert_null(p);
    after = read_file(path, &la);
    assert_non_null(after);
    if (la != lb || memcmp(before, after, lb) != 0) {
        db = db_open_rw(store);
        fail_msg("patrol_open (%s) changed a foreign database (%zu -> %zu bytes; user_version "
                 "now %lld, %lld tables, journal_mode %s)",
                 err, lb, la, (long long)db_int(db, "PRAGMA user_version"),
                 (long long)db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"),
                 db_int(db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode") ? "wal"
                                                                                     : "other");
    }
    if (!strstr(err, "not a patrol store"))
        fail_msg("a foreign database: message \"%s\" does not say it is not a patrol store", err);
    free(before);
    free(after);
    rm_rf(root);
}

static void open_not_a_database(void **state)
{
    char root[1024], store[1100], path[1200], err[512];
    patrol *p = (patrol *)1;
    size_t len;
    char *data;
    static const char text[] = "这不是数据库，只是一段文字。This is not a database file at all, "
                               "just some text long enough to fill a header.\n";
    (void)state;
    make_tmpdir(root, sizeof root);
    path_join(store, sizeof store, root, "store");
    assert_int_equal(mkdir(store, 0700), 0);
    path_join(path, sizeof path, store, "patrol.db");
    write_file(path, text, sizeof text - 1);
    assert_int_equal(patrol_open(store, &p, err, sizeof err), PATROL_ECORRUPT);
    assert_null(p);
    data = read_file(path, &len);
    assert_int_equal(len, sizeof text - 1);
    assert_memory_equal(data, text, len);
    free(data);
    rm_rf(root);
}

/* patrol_open(store) in a forked child (fcntl locks are per process).
 * Returns the child's result; its message goes into msg. */
static int open_in_child(const char *store, char *msg, size_t msglen)
{
    int pipefd[2], status;
    pid_t pid;
    ssize_t n;
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        patrol *c = (patrol *)1;
        char cerr[512] = "";
        int rc = patrol_open(store, &c, cerr, sizeof cerr);
        ssize_t w;
        close(pipefd[0]);
        w = write(pipefd[1], cerr, strlen(cerr));
        (void)w;
        /* Exit without closing: the lock goes with the process. */
        _exit(rc == PATROL_OK ? (c != NULL ? 0 : 100) : (c == NULL ? -rc : 101));
    }
    close(pipefd[1]);
    n = read(pipefd[0], msg, msglen - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) >= 100)
        fail_msg("child: *out was %s on %s", WEXITSTATUS(status) == 100 ? "NULL" : "set",
                 WEXITSTATUS(status) == 100 ? "success" : "failure");
    return -WEXITSTATUS(status);
}

/* In a forked child: open the store and record an inspector (id, cert),
 * close. Returns the child's patrol_err; its message goes into msg. */
static int record_in_child(const char *store, const char *id, const char *cert, char *msg,
                           size_t msglen)
{
    int pipefd[2], status;
    pid_t pid;
    ssize_t n;
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        patrol *c = NULL;
        char cerr[512] = "";
        patrol_field f[] = {{"cert_no", cert, PATROL_CONF_NONE}, {"name", "王芳", PATROL_CONF_NONE}};
        patrol_record_in in;
        int rc = patrol_open(store, &c, cerr, sizeof cerr);
        ssize_t w;
        if (rc == PATROL_OK) {
            memset(&in, 0, sizeof in);
            in.kind = "inspector.add";
            in.target = id;
            in.fields = f;
            in.n_fields = 2;
            rc = patrol_record(c, &in, NULL);
            if (rc)
                snprintf(cerr, sizeof cerr, "%s", patrol_errmsg(c));
            patrol_close(c);
        }
        close(pipefd[0]);
        w = write(pipefd[1], cerr, strlen(cerr));
        (void)w;
        _exit(-rc);
    }
    close(pipefd[1]);
    n = read(pipefd[0], msg, msglen - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return -WEXITSTATUS(status);
}

/* A store open in one process (a sync waiting on the network, say) is
 * not locked against another: both record, each entry in its own short
 * transaction, and the journal stays one chain. */
static void open_shared_with_other_process(void **state)
{
    char root[1024], store[1100], err[512], msg[512];
    patrol *p, *q;
    int rc;
    (void)state;
    closed_store(root, sizeof root, store, sizeof store);
    EXPECT_OPEN(patrol_open(store, &p, err, sizeof err), err);
    g_handle = p; /* closed by the teardown if this fails */

    rc = open_in_child(store, msg, sizeof msg);
    if (rc != PATROL_OK)
        fail_msg("second open from another process: %d \"%s\" (expected it to open)", rc, msg);
    rc = record_in_child(store, INSP2, "JS-ZF-320002", msg, sizeof msg);
    if (rc != PATROL_OK)
        fail_msg("recording from another process while the store is open here: %d \"%s\"", rc,
                 msg);
    /* The holder goes on recording after it, on the same chain. */
    add_inspector(p, "JS-ZF-320003", "李娜", "JS-ZF-320003");
    {
        patrol_info info;
        EXPECT_OK(p, patrol_get_info(p, &info));
        assert_int_equal(info.entries, 4);
    }
    EXPECT_OK(p, patrol_verify(p, NULL, NULL, NULL));
    patrol_close(p);
    g_handle = NULL;
    EXPECT_OPEN(patrol_open(store, &q, err, sizeof err), err);
    EXPECT_OK(q, patrol_verify(q, NULL, NULL, NULL));
    patrol_close(q);
    rm_rf(root);
}

/* An import cut short by a crash leaves evidence/tmp/import-*; opening
 * the store clears them, but only when no other handle has it open (one
 * may be importing). Two handles on one store in the same process (the
 * app's screen and its sync service): the second is refused, and closing
 * nothing of the first drops its lock (with fcntl locks, closing any
 * descriptor of the LOCK file releases the process's lock). */
static void open_clears_tmp_only_alone(void **state)
{
    char root[1024], store[1100], err[512], msg[512], tmp[1200];
    patrol *p, *q = NULL;
    struct stat st;
    int rc;
    (void)state;
    closed_store(root, sizeof root, store, sizeof store);
    EXPECT_OPEN(patrol_open(store, &p, err, sizeof err), err);
    g_handle = p;
    rc = patrol_open(store, &q, err, sizeof err);
    assert_int_equal(rc, PATROL_ELOCKED);
    assert_null(q);
    snprintf(tmp, sizeof tmp, "%s/evidence/tmp/import-inprogress", store);
    write_file(tmp, "partial", 7);
    assert_int_equal(open_in_child(store, msg, sizeof msg), PATROL_OK);
    if (stat(tmp, &st) != 0)
        fail_msg("another process's open removed an import in progress here");
    /* The first handle still works. */
    add_inspector(p, INSP2, "李娜", "JS-ZF-320002");
    patrol_close(p);
    g_handle = NULL;
    assert_int_equal(open_in_child(store, msg, sizeof msg), PATROL_OK);
    assert_int_not_equal(stat(tmp, &st), 0); /* alone: the leftover is cleared */
    rm_rf(root);
}

/* The store holds ID numbers and interview minutes: whatever the umask and
 * the mode of the directory it is made in, its files are 0600 (evidence
 * 0400) and its directories 0700; a store an older patrol left readable
 * is tightened when opened. */
static void store_files_private(void **state)
{
    char root[1024], store[1100], err[512], path[1300];
    patrol *p;
    mode_t old;
    DIR *d;
    struct dirent *e;
    int n = 0;
    (void)state;
    make_tmpdir(root, sizeof root);
    path_join(store, sizeof store, root, "store");
    assert_int_equal(mkdir(store, 0755), 0);
    assert_int_equal(chmod(store, 0755), 0);
    old = umask(022);
    EXPECT_OPEN(patrol_init(store, DEPT, "终端", &p, err, sizeof err), err);
    umask(old);
    add_inspector(p, INSP1, "张伟", "JS-ZF-320001");
    add_inspector(p, INSP2, "李娜", "JS-ZF-320002");
    {
        char src[1300], biz[PATROL_ID_MAX], matter[PATROL_ID_MAX];
        patrol_saved sv;
        add_subject(p, "business", "泗阳县众兴镇老街小吃店", CREDIT_A, biz);
        open_matter(p, biz, matter, NULL);
        accept(p, matter);
        path_join(src, sizeof src, root, "scan.bin");
        write_file(src, "interview minutes", 17);
        EXPECT_OK(p, patrol_evidence_add(p, matter, "document", src, NULL, NULL, NULL, &sv));
    }
    patrol_close(p);
    {
        static const char *const files[] = {"patrol.db", "patrol.db-wal", "patrol.db-shm",
                                            "device.key", "LOCK"};
        static const char *const dirs[] = {"evidence", "evidence/tmp"};
        struct stat st;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            path_join(path, sizeof path, store, files[i]);
            assert_int_equal(stat(path, &st), 0);
            if ((st.st_mode & 0777) != 0600)
                fail_msg("%s has mode %03o, expected 0600", files[i], st.st_mode & 0777);
        }
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
            path_join(path, sizeof path, store, dirs[i]);
            assert_int_equal(stat(path, &st), 0);
            if ((st.st_mode & 0777) != 0700)
                fail_msg("%s has mode %03o, expected 0700", dirs[i], st.st_mode & 0777);
        }
        /* An older store: readable by all. Opening it makes it private. */
        path_join(path, sizeof path, store, "patrol.db");
        assert_int_equal(chmod(path, 0644), 0);
        path_join(path, sizeof path, store, "evidence");
        assert_int_equal(chmod(path, 0755), 0);
        EXPECT_OPEN(patrol_open(store, &p, err, sizeof err), err);
        patrol_close(p);
        path_join(path, sizeof path, store, "patrol.db");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        path_join(path, sizeof path, store, "evidence");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    /* The evidence: its directory 0700, the file 0400. */
    path_join(path, sizeof path, store, "evidence");
    d = opendir(path);
    assert_non_null(d);
    while ((e = readdir(d))) {
        char sub[1400], file[1500];
        struct stat st;
        if (e->d_name[0] == '.' || strcmp(e->d_name, "tmp") == 0)
            continue;
        path_join(sub, sizeof sub, path, e->d_name);
        assert_int_equal(stat(sub, &st), 0);
        if ((st.st_mode & 0777) != 0700)
            fail_msg("evidence/%s has mode %03o, expected 0700", e->d_name, st.st_mode & 0777);
        {
            DIR *d2 = opendir(sub);
            struct dirent *e2;
            assert_non_null(d2);
            while ((e2 = readdir(d2)))
                if (e2->d_name[0] != '.') {
                    path_join(file, sizeof file, sub, e2->d_name);
                    assert_int_equal(stat(file, &st), 0);
                    if ((st.st_mode & 0777) != 0400)
                        fail_msg("evidence file has mode %03o, expected 0400", st.st_mode & 0777);
                    n++;
                }
            closedir(d2);
        }
    }
    closedir(d);
    assert_int_equal(n, 1);
    rm_rf(root);
}

static void errors_have_text(void **state)
{
    (void)state;
    for (int e = 0; e >= -15; e--) {
        const char *s = patrol_strerror(e);
        assert_non_null(s);
        assert_true(s[0] != '\0');
        assert_string_not_equal(s, "unknown error");
    }
    assert_string_equal(patrol_strerror(-99), "unknown error");
    assert_string_equal(patrol_errmsg(NULL), "");
    patrol_close(NULL);
    assert_non_null(patrol_version());
}

/* ======================================================================
 * main
 * ====================================================================== */

#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
#define TMP(t) cmocka_unit_test_setup_teardown(t, tmp_setup, tmp_teardown)

int main(void)
{
    const struct CMUnitTest store_tests[] = {
        FX(snapshot_sees_changes),
        /* 1. the seven methods */
        cmocka_unit_test(method_required_match_rules),
        FX(method_valid_records_saved),
        FX(method_missing_required_field),
        FX(warning_needs_all_four_conditions),
        FX(method_bad_choices),
        FX(method_bad_dates),
        FX(method_bad_text),
        FX(method_unknown_and_repeated_fields),
        FX(method_target_and_kind_checks),
        /* 2. other kinds */
        FX(subject_add_checks_codes),
        FX(inspector_add_checks),
        FX(matter_open_checks),
        FX(matter_open_excluded_refused),
        FX(major_technical_matter_completion),
        FX(matter_open_list_item_filled_in),
        FX(matter_open_list_fields_not_typed),
        FX(consent_refusal_blocks_actions),
        FX(matter_close_and_after),
        FX(leaflet_expert_hearing),
        FX(revisits_due_listing),
        FX(revisit_of_terminated_matter_not_due),
        FX(document_issue_and_deliver),
        FX(application_withdraw_and_change),
        FX(correction_checks),
        /* 5. evidence */
        FX(evidence_stored_once),
        FX(evidence_bad_input),
        /* 4. (a fresh store verifies) */
        FX(verify_fresh_store),
        /* 6. lifecycle */
        TMP(init_refuses_non_empty_dir),
        TMP(init_bad_arguments),
        TMP(open_without_store),
        TMP(open_newer_schema),
        TMP(open_key_problems),
        TMP(open_foreign_database),
        TMP(open_not_a_database),
        TMP(open_shared_with_other_process),
        TMP(open_clears_tmp_only_alone),
        TMP(store_files_private),
        cmocka_unit_test(errors_have_text),
    };
    /* 4. verification, on copies of one realistic store */
    const struct CMUnitTest verify_tests[] = {
        TMP(verify_realistic_ok),
        TMP(verify_detects_edited_entry),
        TMP(verify_detects_deleted_middle_entry),
        TMP(verify_detects_deleted_last_entry),
        TMP(verify_detects_reordered_entries),
        TMP(verify_detects_replaced_signature),
        TMP(verify_detects_evidence_tampering),
        TMP(verify_detects_entry_moved_to_other_matter),
        /* last: crashes in patrol_verify before the fix (see the test) */
        TMP(verify_detects_changed_device_key),
    };
    int failed = cmocka_run_group_tests_name("store", store_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("verify", verify_tests, real_setup, real_teardown);
    return failed ? 1 : 0;
}
