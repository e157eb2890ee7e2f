/* fixture.c -- test_store's helpers: a growing buffer, files and
 * directories, the store seen from outside (snapshots, direct SQL),
 * requests, assertions, reading back, and the fixture (a store with two
 * inspectors, a business, a person and an open matter). Moved from
 * test_store.c. */
#include "store_test.h"

/* Valid codes, computed outside this code base (GB 32100 / GB 11643). */

/* A department of the built-in reference data; it holds urban_management
 * only, so a matter in another domain is outside its duties. */

/* ======================================================================
 * Small utilities: growing buffer, files and directories
 * ====================================================================== */

void buf_add(buf *b, const void *d, size_t n)
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

void buf_printf(buf *b, const char *fmt, ...)
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

void buf_hex(buf *b, const void *d, size_t n)
{
    static const char xd[] = "0123456789abcdef";
    const unsigned char *s = d;
    for (size_t i = 0; i < n; i++) {
        char two[2] = {xd[s[i] >> 4], xd[s[i] & 15]};
        buf_add(b, two, 2);
    }
}

void path_join(char *out, size_t len, const char *a, const char *b)
{
    int n = snprintf(out, len, "%s/%s", a, b);
    assert_true(n > 0 && (size_t)n < len);
}

void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Whole file into a malloc'd buffer (NUL-terminated); NULL if absent. */
char *read_file(const char *path, size_t *len)
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
void fill_bytes(unsigned char *d, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[i] = (unsigned char)x;
    }
}

int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (without . and ..); caller frees with free_names. */
size_t list_names(const char *dir, char ***out)
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

void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void rm_rf(const char *path)
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
void copy_tree(const char *from, const char *to)
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
void walk_files(const char *root, const char *rel, char ***v, size_t *n)
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

size_t count_files(const char *root)
{
    char **v = NULL;
    size_t n = 0;
    walk_files(root, "", &v, &n);
    free_names(v, n);
    return n;
}

/* The running test's temp root (tmp_setup), removed by tmp_teardown even
 * when the test fails; and a handle such a test may leave open. */
char g_tmp[1024];
patrol *g_handle;

/* A fresh temp directory (mkdtemp): inside the test's root if it has
 * one, else under $TMPDIR or /tmp. */
void make_tmpdir(char *out, size_t len)
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

int tmp_setup(void **state)
{
    char root[sizeof g_tmp];
    (void)state;
    g_tmp[0] = '\0';
    make_tmpdir(root, sizeof root);
    memcpy(g_tmp, root, sizeof g_tmp);
    return 0;
}

int tmp_teardown(void **state)
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

uint64_t fnv1a(const void *d, size_t n)
{
    const unsigned char *s = d;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

void dump_query(buf *b, sqlite3 *db, const char *sql)
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
char *store_snapshot(const char *store)
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
void snapshots_equal(const char *before, const char *after, const char *what)
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

sqlite3 *db_open_rw(const char *store)
{
    char path[4096];
    sqlite3 *db = NULL;
    path_join(path, sizeof path, store, "patrol.db");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("cannot open %s: %s", path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    return db;
}

void db_exec(sqlite3 *db, const char *sql)
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
unsigned char *db_get_blob(sqlite3 *db, const char *sql, int64_t key, size_t *len)
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
void db_set_blob(sqlite3 *db, const char *sql, const void *blob, size_t len, int64_t key)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, key);
    if (sqlite3_step(st) != SQLITE_DONE)
        fail_msg("SQL failed: %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

int64_t db_int(sqlite3 *db, const char *sql)
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

void req_add(req *r, const char *name, const char *value)
{
    assert_true(r->nf < MAXF);
    r->f[r->nf].name = name;
    r->f[r->nf].value = value;
    r->f[r->nf].conf = PATROL_CONF_NONE;
    r->nf++;
}

patrol_field *req_find(req *r, const char *name)
{
    for (size_t i = 0; i < r->nf; i++)
        if (strcmp(r->f[i].name, name) == 0)
            return &r->f[i];
    return NULL;
}

/* Replace a field's value, or add it. */
void req_set(req *r, const char *name, const char *value)
{
    patrol_field *f = req_find(r, name);
    if (f)
        f->value = value;
    else
        req_add(r, name, value);
}

void req_del(req *r, const char *name)
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
void req_fields_v(req *r, const char *const *nv)
{
    for (size_t i = 0; nv && nv[i]; i += 2) {
        assert_non_null(nv[i + 1]);
        req_add(r, nv[i], nv[i + 1]);
    }
}

void req_init_v(req *r, const char *kind, const char *target, va_list ap)
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
void req_init(req *r, const char *kind, const char *target, ...)
{
    va_list ap;
    va_start(ap, target);
    req_init_v(r, kind, target, ap);
    va_end(ap);
}

void req_insp(req *r, const char *id)
{
    assert_true(r->ninsp < 10);
    r->insp[r->ninsp++] = id;
}

int req_send(patrol *p, const req *r, patrol_saved *out)
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

void check_refusal(patrol *p, int rc, int code, const char *frag, const char *what,
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

int find_cb(void *ud, const patrol_entry_view *e)
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
find_ud *entry_field(patrol *p, uint64_t seq, const char *name)
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
const char *field_of(patrol *p, uint64_t seq, const char *name)
{
    find_ud *u = entry_field(p, seq, name);
    if (!u->found_field)
        fail_msg("entry %llu (%s) has no field %s", (unsigned long long)seq, u->kind, name);
    return u->value;
}

int count_cb(void *ud, const patrol_entry_view *e)
{
    (void)e;
    (*(size_t *)ud)++;
    return 0;
}

size_t count_entries(patrol *p, const char *matter)
{
    size_t n = 0;
    EXPECT_OK(p, patrol_log(p, matter, count_cb, &n));
    return n;
}

int matter_cb(void *ud, const patrol_matter_view *m)
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

const char *matter_state(patrol *p, const char *id)
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

void add_inspector(patrol *p, const char *id, const char *name, const char *cert)
{
    req r;
    req_init(&r, "inspector.add", id, "name", name, "cert_no", cert, NULL);
    EXPECT_OK(p, req_send(p, &r, NULL));
}

void add_subject(patrol *p, const char *type, const char *name, const char *code,
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
void open_matter(patrol *p, const char *subject, char *id_out, ...)
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
void accept(patrol *p, const char *matter)
{
    req r;
    req_init(&r, "consent", matter, "answer", "accept", "told", "yes", "form", "oral", NULL);
    EXPECT_OK(p, req_send(p, &r, NULL));
}

int fx_setup(void **state)
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

int fx_teardown(void **state)
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
patrol_saved send_ok(fx *f, const req *r)
{
    patrol_saved s;
    memset(&s, 0, sizeof s);
    EXPECT_OK(f->p, req_send(f->p, r, &s));
    return s;
}

patrol_saved record_ok(fx *f, const char *kind, const char *target, ...)
{
    req r;
    va_list ap;
    va_start(ap, target);
    req_init_v(&r, kind, target, ap);
    va_end(ap);
    return send_ok(f, &r);
}

/* The snapshot EXPECT_REFUSED relies on sees a new entry, a changed view
 * row and a changed evidence file (otherwise every "nothing changed"
 * check here could not fail). */
void snapshot_sees_changes(void **state)
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
