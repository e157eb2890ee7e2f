/* test_srv_index.c -- patrold's index and rule flags (server/index.c)
 * through the storage interface (server/storage.h), without the network.
 *
 * What a supervisor would notice, and what this program checks:
 *  - a data directory of schema 1 (as patrold 1 made it) opens, is
 *    upgraded in place, and the entries it already held are indexed and
 *    flagged: exactly the entries that break the rules, with their codes;
 *  - entries that break the rules are indexed like any other at ingest,
 *    across devices (a revisit outcome recorded by another terminal lands
 *    in the matter of the revisit);
 *  - a second matter citing a "first violation" list item for the same
 *    subject (same credit code, on another terminal) is flagged naming
 *    the first; the first is not; /v1/citations' list has both in order;
 *  - a read-only open refuses a database that needs an upgrade, and
 *    nothing is half-upgraded when the re-indexing fails.
 *
 * Works in a directory of its own under $TMPDIR (or /tmp), removed
 * afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "entry.h"
#include "index.h"
#include "patrol.pb-c.h"
#include "storage.h"

#define CREDIT "91350100M000100Y43"
#define T0 1795000000000LL /* 2026-11-18, device time of the first entry */

/* The schema patrold 1 created (server/store_sqlite.c at commit 2dfac2a),
 * frozen here: it is what a data directory of schema 1 holds. */
static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE devices(id INTEGER PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0, key_id BLOB UNIQUE, public_key BLOB,"
    "  last_seq INTEGER NOT NULL DEFAULT 0, head BLOB NOT NULL DEFAULT (zeroblob(32)),"
    "  created_ms INTEGER NOT NULL, enrolled_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_sync_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE tokens(id BLOB PRIMARY KEY, device INTEGER NOT NULL REFERENCES devices(id),"
    "  secret_hash BLOB NOT NULL, expires_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE entries(device INTEGER NOT NULL REFERENCES devices(id), seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL, entry BLOB NOT NULL, sig BLOB NOT NULL, kind TEXT NOT NULL,"
    "  object TEXT NOT NULL, wall_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(device, seq)) WITHOUT ROWID;"
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries"
    "  BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;"
    "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries"
    "  BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;"
    "CREATE TABLE forks(id INTEGER PRIMARY KEY, device INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL, accepted_hash BLOB NOT NULL, entry BLOB NOT NULL, sig BLOB NOT NULL,"
    "  received_ms INTEGER NOT NULL, UNIQUE(device, seq, hash));"
    "CREATE TABLE acks(device INTEGER NOT NULL, batch_id BLOB NOT NULL, ack BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL, PRIMARY KEY(device, batch_id)) WITHOUT ROWID;"
    "CREATE TABLE evidence(sha256 TEXT PRIMARY KEY, complete_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE evidence_refs(sha256 TEXT NOT NULL REFERENCES evidence(sha256),"
    "  device INTEGER NOT NULL REFERENCES devices(id), size INTEGER NOT NULL,"
    "  PRIMARY KEY(sha256, device)) WITHOUT ROWID;"
    "CREATE INDEX evidence_refs_device ON evidence_refs(device);"
    "CREATE TABLE reference(version INTEGER PRIMARY KEY, blob BLOB NOT NULL,"
    "  imported_ms INTEGER NOT NULL);"
    "PRAGMA user_version=1; PRAGMA application_id=1347699761;";

/* ---- a journal for a device ------------------------------------------------ */

typedef struct chain {
    uint8_t device[32];
    uint8_t prev[32];
    uint64_t seq;
    char dev8[9];
} chain;

typedef struct built {
    uint8_t *bytes;
    size_t len;
    uint8_t hash[32];
    uint64_t seq;
    char kind[32], object[72];
    int64_t wall_ms;
} built;

static void chain_init(chain *c, uint8_t fill)
{
    memset(c, 0, sizeof *c);
    memset(c->device, fill, sizeof c->device);
    snprintf(c->dev8, sizeof c->dev8, "%02x%02x%02x%02x", fill, fill, fill, fill);
}

/* The next entry of c: kind, object (NULL: the id this entry makes with
 * prefix), then name/value pairs sorted by name, ending with NULL. */
static built next_entry(chain *c, const char *kind, const char *object, char prefix,
                        uint64_t corrects, ...)
{
    Patrol__V1__Entry e = PATROL__V1__ENTRY__INIT;
    Patrol__V1__Field f[16], *fp[16];
    static char *inspectors[] = {"zhangwei", "lina"};
    const char *why = NULL, *name;
    built b;
    va_list ap;
    size_t n = 0;

    memset(&b, 0, sizeof b);
    c->seq++;
    e.format = 1;
    e.device.data = c->device;
    e.device.len = 32;
    e.seq = c->seq;
    e.prev_hash.data = c->prev;
    e.prev_hash.len = 32;
    e.wall_ms = T0 + (int64_t)c->seq * 60000;
    e.mono_ns = c->seq * 1000;
    e.boot_id = "boot";
    e.kind = (char *)kind;
    if (object)
        snprintf(b.object, sizeof b.object, "%s", object);
    else
        snprintf(b.object, sizeof b.object, "%c-%s-%llu", prefix, c->dev8,
                 (unsigned long long)c->seq);
    e.object = b.object;
    e.corrects = corrects;
    if (strncmp(kind, "action.", 7) == 0 || strcmp(kind, "matter.open") == 0 ||
        strcmp(kind, "correction") == 0) {
        e.inspectors = inspectors;
        e.n_inspectors = 2;
    }
    va_start(ap, corrects);
    while ((name = va_arg(ap, const char *)) != NULL) {
        assert_true(n < 16);
        patrol__v1__field__init(&f[n]);
        f[n].name = (char *)name;
        f[n].value = va_arg(ap, char *);
        fp[n] = &f[n];
        n++;
    }
    va_end(ap);
    e.fields = fp;
    e.n_fields = n;
    if (px_entry_encode(&e, &b.bytes, &b.len, &why) != 0)
        fail_msg("encode %s: %s", kind, why);
    px_entry_hash(b.bytes, b.len, b.hash);
    memcpy(c->prev, b.hash, 32);
    b.seq = c->seq;
    snprintf(b.kind, sizeof b.kind, "%s", kind);
    b.wall_ms = e.wall_ms;
    return b;
}

/* ---- helpers ----------------------------------------------------------------- */

static char dir[256], dbpath[300];

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    (void)state;
    snprintf(dir, sizeof dir, "%s/test_srv_index.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/patrold.db", dir);
    st_set_reindex(idx_rebuild);
    return 0;
}

static int teardown(void **state)
{
    char p[400];
    static const char *const names[] = {"patrold.db", "patrold.db-wal", "patrold.db-shm",
                                        "patrold.db-journal"};
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

typedef struct flagset {
    char rows[32][160]; /* "device:seq:rule" */
    size_t n;
    char other[64];     /* matter named by a not_first_violation detail */
} flagset;

static int flag_cb(void *ud, const st_flag_row *r)
{
    flagset *fs = ud;
    if (fs->n < 32)
        snprintf(fs->rows[fs->n++], sizeof fs->rows[0], "%lld:%llu:%s:%s", (long long)r->f.device,
                 (unsigned long long)r->f.seq, r->kind, r->f.rule);
    if (strcmp(r->f.rule, "not_first_violation") == 0) {
        const char *m = strstr(r->f.detail, "M-");
        snprintf(fs->other, sizeof fs->other, "%.*s", m ? (int)strcspn(m, " ") : 0, m ? m : "");
    }
    return 0;
}

static void flags_of(st_backend *db, int64_t device, const char *matter, flagset *fs)
{
    memset(fs, 0, sizeof *fs);
    assert_int_equal(db->ops->flags_list(db, device, matter, flag_cb, fs), ST_OK);
}

static void expect_flags(const flagset *fs, const char *const *want, size_t n)
{
    for (size_t i = 0; i < fs->n; i++)
        print_message("flag: %s\n", fs->rows[i]);
    assert_int_equal(fs->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(fs->rows[i], want[i]);
}

static sqlite3 *raw_open(void)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    return db;
}

static void raw_put(sqlite3 *db, int64_t device, const built *b, int64_t received_ms)
{
    sqlite3_stmt *st;
    static const uint8_t sig[64];
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO entries(device, seq, hash, entry, sig, kind,"
                                        " object, wall_ms, received_ms) VALUES (?,?,?,?,?,?,?,?,?)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, (int64_t)b->seq);
    sqlite3_bind_blob(st, 3, b->hash, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, b->bytes, (int)b->len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, sig, 64, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, b->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, b->object, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, b->wall_ms);
    sqlite3_bind_int64(st, 9, received_ms);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static int user_version(void)
{
    sqlite3 *db = raw_open();
    sqlite3_stmt *st;
    int v = -1;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The server's time of the batch being stored (its receipt time). */
static int64_t batch_now = T0;

/* Store and index one entry through the interface, as ingest does. */
static void ingest(st_backend *db, idx *x, int64_t device, built *b)
{
    const char *why;
    Patrol__V1__Entry *e = px_entry_decode(b->bytes, b->len, &why);
    static const uint8_t sig[64];
    st_entry se = {b->seq, b->hash, b->bytes, b->len, sig, b->kind, b->object, b->wall_ms};
    assert_non_null(e);
    assert_int_equal(db->ops->entry_put(db, device, &se, batch_now), ST_OK);
    assert_int_equal(idx_entry(x, device, e, batch_now), ST_OK);
    px_entry_free(e);
    free(b->bytes);
    b->bytes = NULL;
}

/* Reference data: one flexible domain, one department holding it, one
 * "first violation" item. */
static void put_reference(st_backend *db)
{
    Patrol__V1__Reference r = PATROL__V1__REFERENCE__INIT;
    Patrol__V1__Domain d = PATROL__V1__DOMAIN__INIT, *dp = &d;
    Patrol__V1__ListItem it = PATROL__V1__LIST_ITEM__INIT, *ip = &it;
    Patrol__V1__Department dep = PATROL__V1__DEPARTMENT__INIT, *depp = &dep;
    static char *held[] = {"urban_management"};
    uint8_t buf[1024];
    uint64_t version;
    d.code = "urban_management";
    d.name = "城市管理";
    d.flexible = 1;
    it.list_type = "no_penalty";
    it.list_version = "2026.1";
    it.code = "CG-NP-003";
    it.domain = "urban_management";
    it.name = "店外摆卖";
    it.basis = "条例";
    it.category = "first_violation";
    dep.code = "SY-CGJ";
    dep.name = "城管局";
    dep.domains = held;
    dep.n_domains = 1;
    r.domains = &dp;
    r.n_domains = 1;
    r.list_items = &ip;
    r.n_list_items = 1;
    r.departments = &depp;
    r.n_departments = 1;
    assert_true(protobuf_c_message_get_packed_size(&r.base) <= sizeof buf);
    assert_int_equal(db->ops->reference_put(db, buf, protobuf_c_message_pack(&r.base, buf), T0,
                                            &version),
                     ST_OK);
}

/* ---- tests -------------------------------------------------------------------- */

/* A schema-1 directory with a chain that breaks the rules three times:
 * upgraded on open, its old entries indexed and flagged. */
static void test_upgrade_indexes_old_entries(void **state)
{
    sqlite3 *raw;
    st_backend *db;
    chain a;
    built b[12];
    char err[256], m1[72], m2[72], subj[72];
    flagset fs;
    size_t n = 0;
    (void)state;

    raw = raw_open();
    assert_int_equal(sqlite3_exec(raw, schema_v1, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "INSERT INTO devices(name, department, created_ms)"
                                       " VALUES ('终端-07', 'SY-CGJ', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    chain_init(&a, 0x11);
    b[n++] = next_entry(&a, "device.init", "SY-CGJ", 0, 0, "department", "SY-CGJ",
                        "device_name", "终端-07", "public_key", "00", NULL);
    b[n++] = next_entry(&a, "subject.add", NULL, 'S', 0, "credit_code", CREDIT, "name", "某某便利店",
                        "type", "business", NULL);
    memcpy(subj, b[n - 1].object, sizeof subj);
    b[n++] = next_entry(&a, "matter.open", NULL, 'M', 0, "domain", "urban_management", "subject",
                        subj, "summary", "店外摆卖", NULL);
    memcpy(m1, b[n - 1].object, sizeof m1);
    /* 4: a method before consent */
    b[n++] = next_entry(&a, "action.guidance", m1, 0, 0, "content", "讲解", "topic", "经营", NULL);
    b[n++] = next_entry(&a, "consent", m1, 0, 0, "answer", "refuse", "told", "yes", NULL);
    /* 6: a method after the subject refused */
    b[n++] = next_entry(&a, "action.guidance", m1, 0, 0, "content", "讲解", "topic", "经营", NULL);
    b[n++] = next_entry(&a, "matter.open", NULL, 'M', 0, "domain", "urban_management", "subject",
                        subj, "summary", "占道", NULL);
    memcpy(m2, b[n - 1].object, sizeof m2);
    b[n++] = next_entry(&a, "consent", m2, 0, 0, "answer", "accept", "told", "yes", NULL);
    /* 9: completed without any method */
    b[n++] = next_entry(&a, "matter.close", m2, 0, 0, "outcome", "completed", NULL);
    for (size_t i = 0; i < n; i++) {
        raw_put(raw, 1, &b[i], T0 + (int64_t)i);
        free(b[i].bytes);
    }
    sqlite3_close(raw);
    assert_int_equal(user_version(), 1);

    /* Read-only: no upgrade, a clear refusal. */
    assert_null(st_sqlite_open(dbpath, ST_OPEN_READONLY, err, sizeof err));
    assert_non_null(strstr(err, "upgrade"));
    assert_int_equal(user_version(), 1);

    db = st_sqlite_open(dbpath, 0, err, sizeof err);
    if (!db)
        fail_msg("open: %s", err);
    assert_true(user_version() >= 3); /* the matter index's step or later */
    flags_of(db, 0, NULL, &fs);
    {
        static const char *const want[] = {"1:4:action.guidance:consent_first",
                                           "1:6:action.guidance:subject_refused",
                                           "1:9:matter.close:no_method"};
        expect_flags(&fs, want, 3);
    }
    flags_of(db, 0, m2, &fs);
    assert_int_equal(fs.n, 1);
    db->ops->close(db);

    /* Opened again: nothing to do, the same flags. */
    db = st_sqlite_open(dbpath, ST_OPEN_READONLY, err, sizeof err);
    if (!db)
        fail_msg("open read-only: %s", err);
    flags_of(db, 1, NULL, &fs);
    assert_int_equal(fs.n, 3);
    db->ops->close(db);
}

static int failing_reindex(st_backend *b, char *err, size_t errlen)
{
    (void)b;
    snprintf(err, errlen, "re-indexing failed on purpose");
    return ST_ERR;
}

/* A failed re-indexing leaves the directory as it was (schema 1). */
static void test_upgrade_is_atomic(void **state)
{
    sqlite3 *raw = raw_open();
    st_backend *db;
    chain a;
    built b;
    char err[256];
    (void)state;

    assert_int_equal(sqlite3_exec(raw, schema_v1, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "INSERT INTO devices(name, department, created_ms)"
                                       " VALUES ('t', 'SY-CGJ', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    chain_init(&a, 0x11);
    b = next_entry(&a, "device.init", "SY-CGJ", 0, 0, "department", "SY-CGJ", "device_name", "t",
                   "public_key", "00", NULL);
    raw_put(raw, 1, &b, T0);
    free(b.bytes);
    sqlite3_close(raw);
    st_set_reindex(failing_reindex);
    db = st_sqlite_open(dbpath, 0, err, sizeof err);
    st_set_reindex(idx_rebuild);
    assert_null(db);
    assert_non_null(strstr(err, "on purpose"));
    assert_int_equal(user_version(), 1);
    raw = raw_open();
    assert_int_equal(sqlite3_exec(raw, "SELECT * FROM objects", NULL, NULL, NULL), SQLITE_ERROR);
    sqlite3_close(raw);
    /* and with the real one it upgrades */
    db = st_sqlite_open(dbpath, 0, err, sizeof err);
    assert_non_null(db);
    db->ops->close(db);
    assert_true(user_version() >= 3); /* the matter index's step or later */
}

typedef struct citeset {
    char rows[8][200];
    size_t n;
    uint64_t last;
} citeset;

static int cite_cb(void *ud, uint64_t id, const char *key, const char *item, const char *matter)
{
    citeset *c = ud;
    if (c->n < 8)
        snprintf(c->rows[c->n++], sizeof c->rows[0], "%s %s %s", key, item, matter);
    c->last = id;
    return 0;
}

/* Two terminals: A opens a matter citing a first-violation item for a
 * shop and plans a revisit; B (same department) records the revisit's
 * outcome, registers the same shop and opens a second matter citing the
 * same item. */
static void test_ingest_across_devices(void **state)
{
    st_backend *db;
    idx *x;
    chain a, bch;
    built e;
    char err[256], subj_a[72], subj_b[72], ma[72], mb[72], rev[72], want[3][200], key[65];
    flagset fs;
    citeset cs;
    int64_t da, dbid;
    size_t nflags;
    (void)state;

    db = st_sqlite_open(dbpath, ST_OPEN_CREATE, err, sizeof err);
    if (!db)
        fail_msg("create: %s", err);
    assert_true(user_version() >= 3); /* the matter index's step or later */
    assert_int_equal(db->ops->begin(db), ST_OK);
    assert_int_equal(db->ops->device_add(db, "终端-A", "SY-CGJ", T0, &da), ST_OK);
    assert_int_equal(db->ops->device_add(db, "终端-B", "SY-CGJ", T0, &dbid), ST_OK);
    put_reference(db);
    assert_int_equal(db->ops->commit(db), ST_OK);

    /* Batch 1, terminal A. */
    chain_init(&a, 0xaa);
    assert_int_equal(db->ops->begin(db), ST_OK);
    assert_non_null(x = idx_new(db));
    e = next_entry(&a, "device.init", "SY-CGJ", 0, 0, "department", "SY-CGJ", "device_name", "A",
                   "public_key", "00", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "subject.add", NULL, 'S', 0, "credit_code", CREDIT, "name", "某某便利店",
                   "type", "business", NULL);
    snprintf(subj_a, sizeof subj_a, "%s", e.object);
    ingest(db, x, da, &e);
    e = next_entry(&a, "matter.open", NULL, 'M', 0, "domain", "urban_management", "list_item",
                   "CG-NP-003", "list_type", "no_penalty", "list_version", "2026.1", "subject",
                   subj_a, "summary", "店外摆卖", NULL);
    snprintf(ma, sizeof ma, "%s", e.object);
    ingest(db, x, da, &e);
    e = next_entry(&a, "consent", ma, 0, 0, "answer", "accept", "told", "yes", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "action.revisit", ma, 0, 0, "content", "回访", "decision", "现场检查",
                   "due", "2026-12-10", "follows", "inspection", NULL);
    snprintf(rev, sizeof rev, "R-%s-%llu", a.dev8, (unsigned long long)e.seq);
    ingest(db, x, da, &e);
    assert_int_equal(idx_finish(x, T0, &nflags), ST_OK);
    assert_int_equal(nflags, 0);
    idx_free(x);
    assert_int_equal(db->ops->commit(db), ST_OK);

    /* Batch 2, terminal B: the revisit's outcome without asking whether
     * the supervision was lawful and regular (flagged in A's matter), then
     * the same shop again. */
    chain_init(&bch, 0xbb);
    assert_int_equal(db->ops->begin(db), ST_OK);
    assert_non_null(x = idx_new(db));
    e = next_entry(&bch, "device.init", "SY-CGJ", 0, 0, "department", "SY-CGJ", "device_name",
                   "B", "public_key", "00", NULL);
    ingest(db, x, dbid, &e);
    e = next_entry(&bch, "revisit.outcome", rev, 0, 0, "opinion", "满意", "outcome", "corrected",
                   NULL);
    ingest(db, x, dbid, &e);
    e = next_entry(&bch, "subject.add", NULL, 'S', 0, "credit_code", CREDIT, "name", "某某便利店",
                   "type", "business", NULL);
    snprintf(subj_b, sizeof subj_b, "%s", e.object);
    ingest(db, x, dbid, &e);
    e = next_entry(&bch, "matter.open", NULL, 'M', 0, "domain", "urban_management", "list_item",
                   "CG-NP-003", "list_type", "no_penalty", "list_version", "2026.1", "subject",
                   subj_b, "summary", "又店外摆卖", NULL);
    snprintf(mb, sizeof mb, "%s", e.object);
    ingest(db, x, dbid, &e);
    assert_int_equal(idx_finish(x, T0 + 1000, &nflags), ST_OK);
    idx_free(x);
    assert_int_equal(db->ops->commit(db), ST_OK);

    flags_of(db, 0, NULL, &fs);
    {
        char w0[64], w1[64];
        const char *want_rows[2];
        snprintf(w0, sizeof w0, "%lld:2:revisit.outcome:revisit_legality", (long long)dbid);
        snprintf(w1, sizeof w1, "%lld:4:matter.open:not_first_violation", (long long)dbid);
        want_rows[0] = w0;
        want_rows[1] = w1;
        expect_flags(&fs, want_rows, 2);
    }
    assert_string_equal(fs.other, ma);
    flags_of(db, 0, ma, &fs);
    assert_int_equal(fs.n, 1); /* the revisit outcome, in A's matter */

    /* The county-wide list: A's matter first, then B's. */
    memset(&cs, 0, sizeof cs);
    assert_int_equal(db->ops->citations_since(db, 0, 100, cite_cb, &cs), ST_OK);
    assert_int_equal(db->ops->subject_key(db, da, subj_a, key), ST_OK);
    /* printf %s 91350100M000100Y43 | sha256sum */
    assert_string_equal(key, "18e746db4fe8b8bd027e02ef4cdc036a5d2574fd488b8a10c7f80caa99921ab0");
    snprintf(want[0], sizeof want[0], "%s CG-NP-003 %s", key, ma);
    snprintf(want[1], sizeof want[1], "%s CG-NP-003 %s", key, mb);
    assert_int_equal(cs.n, 2);
    assert_string_equal(cs.rows[0], want[0]);
    assert_string_equal(cs.rows[1], want[1]);
    memset(&cs, 0, sizeof cs);
    assert_int_equal(db->ops->citations_since(db, 1, 100, cite_cb, &cs), ST_OK);
    assert_int_equal(cs.n, 1);
    assert_string_equal(cs.rows[0], want[1]);
    db->ops->close(db);
}


/* ---- the matter index: rows, and a rebuild equal to the live one ------------ */

typedef struct dump {
    char *s;
    size_t n, cap;
} dump;

static int dump_row(void *ud, int ncol, char **val, char **name)
{
    dump *d = ud;
    (void)name;
    for (int i = 0; i < ncol; i++) {
        const char *v = val[i] ? val[i] : "NULL";
        size_t k = strlen(v) + 2;
        if (d->n + k + 1 > d->cap) {
            d->cap = (d->n + k + 1) * 2;
            assert_non_null(d->s = realloc(d->s, d->cap));
        }
        memcpy(d->s + d->n, v, k - 2);
        d->n += k - 2;
        d->s[d->n++] = i + 1 < ncol ? '|' : '\n';
        d->s[d->n] = '\0';
    }
    return 0;
}

/* Every index table, in a stable order (row ids that only number rows are
 * left out, their order kept). */
static char *dump_index(void)
{
    static const char *const q[] = {
        "SELECT 'objects', * FROM objects ORDER BY id",
        "SELECT 'matter_entries', matter, device, seq FROM matter_entries ORDER BY matter, id",
        "SELECT 'rule_flags', * FROM rule_flags ORDER BY device, seq, rule",
        "SELECT 'subjects', * FROM subjects ORDER BY device, id",
        "SELECT 'citations', subject_key, item, matter, device FROM citations ORDER BY id",
        "SELECT 'idx_inspectors', * FROM idx_inspectors ORDER BY device, id",
        "SELECT 'idx_subjects', * FROM idx_subjects ORDER BY device, id",
        "SELECT 'idx_matters', * FROM idx_matters ORDER BY id",
        "SELECT 'idx_methods', * FROM idx_methods ORDER BY device, seq",
        "SELECT 'idx_documents', * FROM idx_documents ORDER BY id",
        "SELECT 'idx_revisits', * FROM idx_revisits ORDER BY id",
        "SELECT 'idx_evidence', * FROM idx_evidence ORDER BY device, seq",
        "SELECT 'idx_acts', * FROM idx_acts ORDER BY id",
    };
    sqlite3 *raw = raw_open();
    dump d = {NULL, 0, 0};
    assert_non_null(d.s = calloc(1, 1));
    d.cap = 1;
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        if (sqlite3_exec(raw, q[i], dump_row, &d, NULL) != SQLITE_OK)
            fail_msg("%s: %s", q[i], sqlite3_errmsg(raw));
    sqlite3_close(raw);
    return d.s;
}

static void reindex(st_backend *db)
{
    char err[256];
    assert_int_equal(db->ops->begin(db), ST_OK);
    if (idx_rebuild(db, err, sizeof err) != ST_OK)
        fail_msg("rebuild: %s", err);
    assert_int_equal(db->ops->commit(db), ST_OK);
}

#define SHA_PHOTO "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define ID_NUMBER "11010519491231002X"

/* Two terminals record a lawful matter to its completion (warning,
 * opinion issued and delivered, photo, a revisit planned by A whose
 * outcome B records, its due date corrected by A) and a major matter left
 * open; the index holds the effective record, never the ID number; a
 * rebuild from the entries alone gives the same tables, and a row lost
 * from the index shows in the comparison until the rebuild restores it. */
static void test_index_rows_and_reindex(void **state)
{
    st_backend *db;
    idx *x;
    chain a, bch;
    built e;
    char err[256], sb[72], sp[72], m1[72], m2[72], rev[72], doc[72], key[65];
    char *live, *again, *broken;
    uint64_t rev_seq;
    int64_t da, dbid;
    size_t nflags;
    st_imatter m;
    st_iinspector in;
    st_isubject sub;
    sqlite3 *raw;
    (void)state;

    db = st_sqlite_open(dbpath, ST_OPEN_CREATE, err, sizeof err);
    if (!db)
        fail_msg("create: %s", err);
    assert_int_equal(db->ops->begin(db), ST_OK);
    assert_int_equal(db->ops->device_add(db, "终端-A", "SY-CGJ", T0, &da), ST_OK);
    assert_int_equal(db->ops->device_add(db, "终端-B", "SY-CGJ", T0, &dbid), ST_OK);
    put_reference(db);
    assert_int_equal(db->ops->commit(db), ST_OK);

    chain_init(&a, 0xaa);
    batch_now = T0 + 3600000;
    assert_int_equal(db->ops->begin(db), ST_OK);
    assert_non_null(x = idx_new(db));
    e = next_entry(&a, "device.init", "SY-CGJ", 0, 0, "department", "SY-CGJ", "device_name", "A",
                   "public_key", "00", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "inspector.add", "zhangwei", 0, 0, "cert_no", "32132300100", "name",
                   "张伟", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "inspector.add", "lina", 0, 0, "cert_no", "32132300101", "name", "李娜",
                   NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "subject.add", NULL, 'S', 0, "credit_code", CREDIT, "name", "某某便利店",
                   "type", "business", NULL);
    snprintf(sb, sizeof sb, "%s", e.object);
    ingest(db, x, da, &e);
    e = next_entry(&a, "subject.add", NULL, 'S', 0, "id_number", ID_NUMBER, "name", "王某",
                   "type", "person", NULL);
    snprintf(sp, sizeof sp, "%s", e.object);
    ingest(db, x, da, &e);
    e = next_entry(&a, "matter.open", NULL, 'M', 0, "domain", "urban_management", "list_item",
                   "CG-NP-003", "list_type", "no_penalty", "list_version", "2026.1", "subject",
                   sb, "summary", "店外摆卖", NULL);
    snprintf(m1, sizeof m1, "%s", e.object);
    ingest(db, x, da, &e);
    e = next_entry(&a, "consent", m1, 0, 0, "answer", "accept", "told", "yes", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "action.warning", m1, 0, 0, "content", "告诫", "correctable", "yes",
                   "correction", "移回店内", "deadline", "2026-12-01", "minor", "yes", "no_harm",
                   "yes", "no_intent", "yes", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "document.issue", m1, 0, 0, "content", "整改", "personnel", "张伟 李娜",
                   "purpose", "规范经营", "time", "2026-11", NULL);
    snprintf(doc, sizeof doc, "D-%s-%llu", a.dev8, (unsigned long long)e.seq);
    ingest(db, x, da, &e);
    e = next_entry(&a, "evidence.add", m1, 0, 0, "kind", "photo", "media_type", "image/jpeg",
                   "sha256", SHA_PHOTO, "size", "1234", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "action.revisit", m1, 0, 0, "content", "回访", "decision", "现场检查",
                   "due", "2026-12-10", "follows", "inspection", NULL);
    snprintf(rev, sizeof rev, "R-%s-%llu", a.dev8, (unsigned long long)e.seq);
    rev_seq = e.seq;
    ingest(db, x, da, &e);
    assert_int_equal(idx_finish(x, T0, &nflags), ST_OK);
    idx_free(x);
    assert_int_equal(db->ops->commit(db), ST_OK);

    /* B records the revisit's outcome. */
    chain_init(&bch, 0xbb);
    batch_now += 1000;
    assert_int_equal(db->ops->begin(db), ST_OK);
    assert_non_null(x = idx_new(db));
    e = next_entry(&bch, "device.init", "SY-CGJ", 0, 0, "department", "SY-CGJ", "device_name",
                   "B", "public_key", "00", NULL);
    ingest(db, x, dbid, &e);
    e = next_entry(&bch, "inspector.add", "wangfang", 0, 0, "cert_no", "32132300102", "name",
                   "王芳", NULL);
    ingest(db, x, dbid, &e);
    e = next_entry(&bch, "revisit.outcome", rev, 0, 0, "legality", "lawful_regular", "opinion",
                   "满意", "outcome", "corrected", NULL);
    ingest(db, x, dbid, &e);
    assert_int_equal(idx_finish(x, T0 + 1000, &nflags), ST_OK);
    idx_free(x);
    assert_int_equal(db->ops->commit(db), ST_OK);

    /* A: delivery, a correction of the revisit's due date, completion; a
     * major matter left open; a department-level reminder. */
    batch_now += 1000;
    assert_int_equal(db->ops->begin(db), ST_OK);
    assert_non_null(x = idx_new(db));
    e = next_entry(&a, "document.deliver", doc, 0, 0, "method", "in_person", "recipient", "店主",
                   NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "correction", m1, 0, rev_seq, "field", "due", "reason", "笔误", "value",
                   "2026-12-12", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "matter.close", m1, 0, 0, "outcome", "completed", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "matter.open", NULL, 'M', 0, "domain", "urban_management", "major", "yes",
                   "subject", sp, "summary", "占道经营", NULL);
    snprintf(m2, sizeof m2, "%s", e.object);
    ingest(db, x, da, &e);
    e = next_entry(&a, "consent", m2, 0, 0, "answer", "accept", "told", "yes", NULL);
    ingest(db, x, da, &e);
    e = next_entry(&a, "dept.reminder", NULL, 'A', 0, "audience", "沿街商户", "content", "提示",
                   "domain", "urban_management", "form", "written", "rules", "门前三包", NULL);
    ingest(db, x, da, &e);
    assert_int_equal(idx_finish(x, T0 + 2000, &nflags), ST_OK);
    idx_free(x);
    assert_int_equal(db->ops->commit(db), ST_OK);

    /* The completed matter as a supervisor reads it. */
    assert_int_equal(db->ops->matter_get(db, m1, &m), ST_OK);
    assert_string_equal(m.state, "completed");
    assert_string_equal(m.consent, "accept");
    assert_string_equal(m.department, "SY-CGJ");
    assert_string_equal(m.subject, sb);
    assert_string_equal(m.list_item, "CG-NP-003");
    assert_string_equal(m.list_type, "no_penalty");
    assert_string_equal(m.inspectors, "zhangwei,lina");
    assert_int_equal(m.device, da);
    assert_int_equal(m.opened_seq, 6);
    assert_int_equal(m.closed_device, da);
    assert_int_equal(m.closed_seq, 14);
    assert_int_equal(m.closed_ms, T0 + 14 * 60000);
    assert_int_equal(m.nmethods, 2);
    assert_string_equal(m.methods[0].kind, "action.warning");
    assert_string_equal(m.methods[1].kind, "action.revisit");
    assert_int_equal(m.ndocs, 1);
    assert_string_equal(m.docs[0].id, doc);
    assert_true(m.docs[0].delivered);
    assert_string_equal(m.docs[0].method, "in_person");
    assert_int_equal(m.docs[0].delivered_ms - m.docs[0].issued_ms, 3 * 60000);
    assert_int_equal(m.nrevisits, 1);
    assert_string_equal(m.revisits[0].due, "2026-12-12"); /* the correction in effect */
    assert_string_equal(m.revisits[0].outcome, "corrected");
    assert_int_equal(m.revisits[0].outcome_device, dbid);
    assert_false(m.revisits[0].assigned);
    assert_int_equal(m.nevidence, 1);
    assert_string_equal(m.evidence[0].sha256, SHA_PHOTO);
    assert_int_equal(m.evidence[0].size, 1234);
    assert_false(m.evidence[0].complete); /* never uploaded */
    st_imatter_release(&m);
    assert_int_equal(db->ops->matter_get(db, m2, &m), ST_OK);
    assert_string_equal(m.state, "accepted");
    assert_true(m.major);
    assert_int_equal(m.hearings, 0);
    assert_int_equal(m.closed_device, 0);
    st_imatter_release(&m);
    assert_int_equal(db->ops->matter_get(db, "M-aaaaaaaa-999", &m), ST_NOTFOUND);
    assert_int_equal(db->ops->inspector_get(db, dbid, "wangfang", &in), ST_OK);
    assert_string_equal(in.name, "王芳");
    assert_string_equal(in.cert_no, "32132300102");
    assert_int_equal(db->ops->inspector_get(db, dbid, "nobody", &in), ST_NOTFOUND);
    assert_int_equal(db->ops->subject_get(db, da, sp, &sub), ST_OK);
    assert_string_equal(sub.type, "person");
    assert_string_equal(sub.name, "王某");
    /* printf %s 11010519491231002X | sha256sum */
    assert_int_equal(db->ops->subject_key(db, da, sp, key), ST_OK);
    assert_string_equal(sub.key, key);
    assert_int_equal(strlen(sub.key), 64);

    live = dump_index();
    assert_null(strstr(live, ID_NUMBER)); /* the ID number only as its key */
    assert_non_null(strstr(live, "idx_acts|A-aaaaaaaa-17|"));
    reindex(db);
    again = dump_index();
    if (strcmp(live, again) != 0)
        fail_msg("rebuilt index differs:\n--- live\n%s--- rebuilt\n%s", live, again);

    /* A lost row is noticed, and the rebuild brings it back. */
    raw = raw_open();
    assert_int_equal(sqlite3_exec(raw, "DELETE FROM idx_methods WHERE kind = 'action.warning'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    broken = dump_index();
    assert_string_not_equal(live, broken);
    reindex(db);
    free(again);
    again = dump_index();
    assert_string_equal(live, again);
    free(live);
    free(again);
    free(broken);
    batch_now = T0;
    db->ops->close(db);
}

/* test_srv_index --make-v1 DIR N: write DIR/patrold.db as patrold 1 made
 * it (schema 1), one device holding N matters of four entries each (open,
 * consent, a method, close), for tests/e2e/test_upgrade.sh, which kills the
 * upgrade of such a directory part way. */
static int make_v1(const char *d, long n)
{
    sqlite3 *raw;
    chain a;
    char subj[72], m[72];
    int64_t t = T0;
    snprintf(dbpath, sizeof dbpath, "%s/patrold.db", d);
    raw = raw_open();
    if (sqlite3_exec(raw, schema_v1, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(raw, "INSERT INTO devices(name, department, created_ms)"
                          " VALUES ('终端-07', 'SY-CGJ', 0); BEGIN",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "make-v1: %s\n", sqlite3_errmsg(raw));
        return 1;
    }
    chain_init(&a, 0x22);
    {
        built b = next_entry(&a, "device.init", "SY-CGJ", 0, 0, "department", "SY-CGJ",
                             "device_name", "终端-07", "public_key", "00", NULL);
        raw_put(raw, 1, &b, t++);
        free(b.bytes);
        b = next_entry(&a, "subject.add", NULL, 'S', 0, "credit_code", CREDIT, "name",
                       "某某便利店", "type", "business", NULL);
        memcpy(subj, b.object, sizeof subj);
        raw_put(raw, 1, &b, t++);
        free(b.bytes);
    }
    for (long i = 0; i < n; i++) {
        built b[4];
        b[0] = next_entry(&a, "matter.open", NULL, 'M', 0, "domain", "urban_management",
                          "subject", subj, "summary", "店外摆卖", NULL);
        memcpy(m, b[0].object, sizeof m);
        b[1] = next_entry(&a, "consent", m, 0, 0, "answer", "accept", "told", "yes", NULL);
        b[2] = next_entry(&a, "action.guidance", m, 0, 0, "content", "讲解", "topic", "经营",
                          NULL);
        b[3] = next_entry(&a, "matter.close", m, 0, 0, "outcome", "completed", NULL);
        for (int k = 0; k < 4; k++) {
            raw_put(raw, 1, &b[k], t++);
            free(b[k].bytes);
        }
    }
    if (sqlite3_exec(raw, "UPDATE devices SET status = 1, last_seq = (SELECT max(seq) FROM"
                          " entries); COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "make-v1: %s\n", sqlite3_errmsg(raw));
        return 1;
    }
    sqlite3_close(raw);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--make-v1") == 0)
        return make_v1(argv[2], strtol(argv[3], NULL, 10));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upgrade_indexes_old_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_is_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_across_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_rows_and_reindex, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
