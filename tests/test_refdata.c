/* test_refdata.c -- the reference data a terminal holds, kept whole:
 * departments and the domains each holds, each list's name and issuer,
 * each item's category and conditions, the leaflet catalogue.
 *
 * What a user would notice, and what this program checks:
 *  - a new store holds the built-in set, and it is the sample reference
 *    data (tests/data/reference-sample.json) item for item;
 *  - a store of schema 2 that never synced gets the same departments,
 *    leaflets and item metadata when it is opened (migrated); one that
 *    holds the server's data keeps it until the next sync;
 *  - reference data from the server is applied whole (departments, their
 *    domains, conditions), and bad reference data (a department naming an
 *    unknown domain, an over-long condition, a duplicate code, an excluded
 *    domain marked flexible) is refused whole with a message naming the
 *    place, the store unchanged (every table compared before and after).
 *
 * Every test works in its own directory under $TMPDIR (or /tmp). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "internal.h"

#include "patrol.pb-c.h"
#include "validate.h"

#ifndef REF_SAMPLE
#error "REF_SAMPLE: path of tests/data/reference-sample.json"
#endif

#define DEPT "SY-CGJ"

/* ---- files, stores, snapshots ---------------------------------------------- */

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    if (d) {
        while ((e = readdir(d))) {
            char sub[4096];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

typedef struct fx {
    char dir[600];
    char db[700];
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    const char *t = getenv("TMPDIR");
    patrol *p = NULL;
    char err[512];
    char base[400];
    assert_non_null(f);
    snprintf(base, sizeof base, "%s/patrol-refdata-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(base));
    snprintf(f->dir, sizeof f->dir, "%s/store", base);
    snprintf(f->db, sizeof f->db, "%s/patrol.db", f->dir);
    assert_int_equal(patrol_init(f->dir, DEPT, "终端-01", &p, err, sizeof err), PATROL_OK);
    patrol_close(p);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    char *slash = strrchr(f->dir, '/');
    *slash = '\0';
    rm_rf(f->dir);
    free(f);
    return 0;
}

static patrol *open_store(const fx *f)
{
    patrol *p = NULL;
    char err[512];
    int rc = patrol_open(f->dir, &p, err, sizeof err);
    if (rc != PATROL_OK)
        fail_msg("patrol_open: %s", err);
    return p;
}

/* Run SQL on the store's database from outside libpatrol. */
static void sql(const fx *f, const char *text)
{
    sqlite3 *db;
    char *err = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", text, err);
    sqlite3_close(db);
}

/* Every table's schema and rows, as text (malloc'd). */
static char *snapshot(const fx *f)
{
    sqlite3 *db;
    sqlite3_stmt *tables, *rows;
    size_t n = 0, cap = 1 << 16;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
                                        " ORDER BY name",
                                        -1, &tables, NULL),
                     SQLITE_OK);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        char q[256];
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        const char *schema = (const char *)sqlite3_column_text(tables, 1);
        size_t k = strlen(name) + strlen(schema) + 4;
        if (n + k + 1 > cap) {
            while (n + k + 1 > cap)
                cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        n += (size_t)snprintf(out + n, cap - n, "%s\n%s\n", name, schema);
        snprintf(q, sizeof q, "SELECT * FROM \"%s\" ORDER BY rowid", name);
        if (sqlite3_prepare_v2(db, q, -1, &rows, NULL) != SQLITE_OK) /* WITHOUT ROWID */ {
            snprintf(q, sizeof q, "SELECT * FROM \"%s\"", name);
            assert_int_equal(sqlite3_prepare_v2(db, q, -1, &rows, NULL), SQLITE_OK);
        }
        while (sqlite3_step(rows) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(rows); c++) {
                const unsigned char *v = sqlite3_column_text(rows, c);
                size_t vl = (size_t)sqlite3_column_bytes(rows, c);
                if (n + vl + 3 > cap) {
                    while (n + vl + 3 > cap)
                        cap *= 2;
                    out = realloc(out, cap);
                    assert_non_null(out);
                }
                if (v)
                    memcpy(out + n, v, vl);
                n += vl;
                out[n++] = c + 1 < sqlite3_column_count(rows) ? '|' : '\n';
                out[n] = '\0';
            }
        sqlite3_finalize(rows);
    }
    sqlite3_finalize(tables);
    sqlite3_close(db);
    return out;
}

/* ---- what the store lists ---------------------------------------------------- */

#define MAX_ROWS 64

typedef struct rows {
    size_t n;
    char *col[MAX_ROWS][10];
    int flag[MAX_ROWS][2];
} rows;

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        for (int c = 0; c < 10; c++)
            free(r->col[i][c]);
    memset(r, 0, sizeof *r);
}

static char *sdup(const char *s)
{
    char *d = strdup(s ? s : "(null)");
    assert_non_null(d);
    return d;
}

static int dept_cb(void *ud, const patrol_department_view *d)
{
    rows *r = ud;
    assert_true(r->n < MAX_ROWS);
    r->col[r->n][0] = sdup(d->code);
    r->col[r->n][1] = sdup(d->name);
    r->col[r->n][2] = sdup(d->domains);
    r->flag[r->n][0] = d->own;
    r->n++;
    return 0;
}

static int domain_cb(void *ud, const patrol_domain_view *d)
{
    rows *r = ud;
    assert_true(r->n < MAX_ROWS);
    r->col[r->n][0] = sdup(d->code);
    r->col[r->n][1] = sdup(d->name);
    r->flag[r->n][0] = d->flexible;
    r->flag[r->n][1] = d->held;
    r->n++;
    return 0;
}

static int leaflet_cb(void *ud, const patrol_leaflet_view *l)
{
    rows *r = ud;
    assert_true(r->n < MAX_ROWS);
    r->col[r->n][0] = sdup(l->code);
    r->col[r->n][1] = sdup(l->title);
    r->n++;
    return 0;
}

static int item_cb(void *ud, const patrol_list_item_view *it)
{
    rows *r = ud;
    assert_true(r->n < MAX_ROWS);
    r->col[r->n][0] = sdup(it->code);
    r->col[r->n][1] = sdup(it->list_type);
    r->col[r->n][2] = sdup(it->list_version);
    r->col[r->n][3] = sdup(it->domain);
    r->col[r->n][4] = sdup(it->name);
    r->col[r->n][5] = sdup(it->basis);
    r->col[r->n][6] = sdup(it->list_name);
    r->col[r->n][7] = sdup(it->issuer);
    r->col[r->n][8] = sdup(it->category);
    r->col[r->n][9] = sdup(it->conditions);
    r->n++;
    return 0;
}

static size_t find(const rows *r, const char *code)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->col[i][0], code) == 0)
            return i;
    fail_msg("no row '%s'", code);
    return 0;
}

static cJSON *load_sample(void)
{
    FILE *fp = fopen(REF_SAMPLE, "rb");
    static char text[1 << 16];
    size_t n;
    cJSON *j;
    assert_non_null(fp);
    n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    assert_non_null(j = cJSON_Parse(text));
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* The store's reference data is the sample's, except that the built-in
 * lists carry their own version (a matter citing one says so). */
static void expect_sample(patrol *p)
{
    cJSON *j = load_sample(), *x, *y, *z;
    rows depts = {0}, doms = {0}, lfs = {0}, items = {0};
    size_t n;

    assert_int_equal(patrol_departments(p, dept_cb, &depts), PATROL_OK);
    assert_int_equal(patrol_domains(p, domain_cb, &doms), PATROL_OK);
    assert_int_equal(patrol_leaflets(p, leaflet_cb, &lfs), PATROL_OK);
    assert_int_equal(patrol_list_items(p, item_cb, &items), PATROL_OK);

    n = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "departments"))
    {
        char joined[256] = "";
        /* the view joins them in code order; the sample's are already */
        cJSON_ArrayForEach(y, cJSON_GetObjectItemCaseSensitive(x, "domains"))
        {
            size_t k = strlen(joined);
            snprintf(joined + k, sizeof joined - k, "%s%s", k ? "," : "", y->valuestring);
        }
        assert_true(n < depts.n);
        assert_string_equal(depts.col[n][0], jstr(x, "code"));
        assert_string_equal(depts.col[n][1], jstr(x, "name"));
        if (strcmp(jstr(x, "code"), "SY-SCJGJ") == 0)
            assert_string_equal(depts.col[n][2], "food_drug_safety,market_regulation");
        else
            assert_string_equal(depts.col[n][2], joined);
        assert_int_equal(depts.flag[n][0], strcmp(jstr(x, "code"), DEPT) == 0);
        n++;
    }
    assert_int_equal(depts.n, 4);
    assert_int_equal(n, depts.n);

    n = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "domains"))
    {
        assert_true(n < doms.n);
        assert_string_equal(doms.col[n][0], jstr(x, "code"));
        assert_string_equal(doms.col[n][1], jstr(x, "name"));
        assert_int_equal(doms.flag[n][0],
                         cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "flexible")));
        /* SY-CGJ holds urban management only */
        assert_int_equal(doms.flag[n][1], strcmp(jstr(x, "code"), "urban_management") == 0);
        n++;
    }
    assert_int_equal(n, doms.n);

    n = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "leaflets"))
    {
        size_t i = find(&lfs, jstr(x, "code"));
        assert_string_equal(lfs.col[i][1], jstr(x, "title"));
        n++;
    }
    assert_int_equal(lfs.n, 5);
    assert_int_equal(n, lfs.n);

    n = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "lists"))
    {
        cJSON_ArrayForEach(y, cJSON_GetObjectItemCaseSensitive(x, "items"))
        {
            size_t i = find(&items, jstr(y, "code"));
            char cond[2048] = "";
            cJSON_ArrayForEach(z, cJSON_GetObjectItemCaseSensitive(y, "conditions"))
            {
                size_t k = strlen(cond);
                snprintf(cond + k, sizeof cond - k, "%s%s", k ? "\n" : "", z->valuestring);
            }
            assert_string_equal(items.col[i][1], jstr(x, "type"));
            assert_string_equal(items.col[i][2], "builtin-2026-01");
            assert_string_equal(items.col[i][3], jstr(y, "domain"));
            assert_string_equal(items.col[i][4], jstr(y, "name"));
            assert_string_equal(items.col[i][5], jstr(y, "basis"));
            assert_string_equal(items.col[i][6], jstr(x, "name"));
            assert_string_equal(items.col[i][7], jstr(x, "issuer"));
            assert_string_equal(items.col[i][8], jstr(y, "category"));
            assert_string_equal(items.col[i][9], cond);
            n++;
        }
    }
    assert_int_equal(items.n, 9);
    assert_int_equal(n, items.n);

    rows_free(&depts);
    rows_free(&doms);
    rows_free(&lfs);
    rows_free(&items);
    cJSON_Delete(j);
}

/* ---- tests --------------------------------------------------------------------- */

static void new_store_holds_the_sample(void **state)
{
    fx *f = *state;
    patrol *p = open_store(f);
    rows items = {0};
    expect_sample(p);
    /* one case spelled out, in case the sample and the code drift together */
    assert_int_equal(patrol_list_items(p, item_cb, &items), PATROL_OK);
    assert_string_equal(items.col[find(&items, "CG-NP-003")][9],
                        "初次违法\n当场改正\n没有造成危害后果");
    rows_free(&items);
    patrol_close(p);
}

/* Make the store look like one patrol of schema 2 left: the tables and
 * columns later schemas added gone, no leaflets (schema 2 had none built
 * in). The columns are those of migrations 0 -> 1 and 1 -> 2
 * (client/lib/store.c); matters, revisits and documents are left as they
 * are, since migration 3 -> 4 makes them anew. */
static void downgrade_to_schema_2(const fx *f, const char *extra)
{
    static const struct {
        const char *table, *columns; /* " name name ... " */
    } schema_2[] = {
        {"journal", " seq hash entry sig kind object matter "},
        {"head", " one seq hash "},
        {"device", " one device_id public_key department name "},
        {"inspectors", " id name cert_no seq "},
        {"subjects", " id type name credit_code id_number seq "},
        {"matters", NULL},
        {"revisits", NULL},
        {"documents", NULL},
        {"evidence", " sha256 size media_type "},
        {"domains", " code name flexible "},
        {"list_items", " code list_type list_version domain name basis "},
        {"sync_server", " one url pin client_cert ca_cert receipt_key server_name department"
                        " enrolled_ms "},
        {"sync_state", " one acked_seq last_sync_ms reference_version rejected_seq"
                       " rejected_reason rejected_detail "},
        {"receipts", " id server_pin batch_id first_seq last_seq head_hash server_time_ms"
                     " received_ms body sig "},
        {"evidence_uploaded", " sha256 confirmed_ms "},
        {"leaflets", " code title "},
        {"roster", " id name cert_no "},
        {"assigned_revisits", " id matter subject_name due note "},
    };
    const size_t n_schema_2 = sizeof schema_2 / sizeof schema_2[0];
    char text[2048], drop[64][160], last_dropped[64] = "";
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t n = 0, tables = 0;

    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT m.name, c.name FROM sqlite_master m"
                                        " JOIN pragma_table_info(m.name) c"
                                        " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
                                        " ORDER BY m.name, c.cid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *table = (const char *)sqlite3_column_text(st, 0);
        const char *col = (const char *)sqlite3_column_text(st, 1);
        char word[80];
        size_t i = 0;
        while (i < n_schema_2 && strcmp(schema_2[i].table, table) != 0)
            i++;
        snprintf(word, sizeof word, " %s ", col);
        if (i == n_schema_2) { /* a table of a later schema */
            if (strcmp(last_dropped, table) != 0) {
                assert_true(n < 64);
                snprintf(drop[n++], sizeof drop[0], "DROP TABLE \"%s\";", table);
                snprintf(last_dropped, sizeof last_dropped, "%s", table);
                tables++;
            }
        } else if (schema_2[i].columns && !strstr(schema_2[i].columns, word)) {
            assert_true(n < 64);
            snprintf(drop[n++], sizeof drop[0], "ALTER TABLE \"%s\" DROP COLUMN \"%s\";", table,
                     col);
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(tables >= 3); /* departments, department_domains, cited at least */
    for (size_t i = 0; i < n; i++)
        sql(f, drop[i]);
    snprintf(text, sizeof text,
             "DELETE FROM leaflets;"
             "UPDATE list_items SET basis = 'old basis';"
             "%s"
             "PRAGMA user_version = 2;",
             extra);
    sql(f, text);
}

static void schema_2_store_gets_builtin_data(void **state)
{
    fx *f = *state;
    patrol *p;
    patrol_info info;
    rows depts = {0};

    downgrade_to_schema_2(f, "");
    p = open_store(f);
    assert_int_equal(patrol_get_info(p, &info), PATROL_OK);
    assert_int_equal(info.schema_version, PX_SCHEMA_VERSION);
    expect_sample(p);
    patrol_close(p);
    /* opened again: nothing doubled */
    p = open_store(f);
    assert_int_equal(patrol_departments(p, dept_cb, &depts), PATROL_OK);
    assert_int_equal(depts.n, 4);
    rows_free(&depts);
    patrol_close(p);
}

static void schema_2_store_with_server_data_keeps_it(void **state)
{
    fx *f = *state;
    patrol *p;
    rows depts = {0}, lfs = {0}, items = {0};

    downgrade_to_schema_2(f, "UPDATE sync_state SET reference_version = 7;"
                             "INSERT INTO leaflets(code, title) VALUES ('LF-X', 'from the server');");
    p = open_store(f);
    assert_int_equal(patrol_departments(p, dept_cb, &depts), PATROL_OK);
    assert_int_equal(depts.n, 0);
    assert_int_equal(patrol_leaflets(p, leaflet_cb, &lfs), PATROL_OK);
    assert_int_equal(lfs.n, 1);
    assert_string_equal(lfs.col[0][1], "from the server");
    assert_int_equal(patrol_list_items(p, item_cb, &items), PATROL_OK);
    assert_string_equal(items.col[find(&items, "CG-NP-001")][5], "old basis");
    assert_string_equal(items.col[find(&items, "CG-NP-001")][9], "");
    rows_free(&depts);
    rows_free(&lfs);
    rows_free(&items);
    patrol_close(p);
}

/* A small Reference as a server sends it. Strings point into static
 * storage; only the arrays are the caller's. */
typedef struct refmsg {
    Patrol__V1__Reference ref;
    Patrol__V1__Domain dom[3], *domp[3];
    Patrol__V1__Department dep[2], *depp[2];
    char *dep0_domains[2], *dep1_domains[1];
    Patrol__V1__ListItem item[2], *itemp[2];
    char *cond0[2], *cond1[1];
    Patrol__V1__Leaflet lf[1], *lfp[1];
} refmsg;

static void refmsg_init(refmsg *m)
{
    static const Patrol__V1__Reference ref0 = PATROL__V1__REFERENCE__INIT;
    static const Patrol__V1__Domain dom0 = PATROL__V1__DOMAIN__INIT;
    static const Patrol__V1__Department dep0 = PATROL__V1__DEPARTMENT__INIT;
    static const Patrol__V1__ListItem item0 = PATROL__V1__LIST_ITEM__INIT;
    static const Patrol__V1__Leaflet lf0 = PATROL__V1__LEAFLET__INIT;
    static char *dom_code[3] = {"urban_management", "transport", "food_drug_safety"};
    static char *dom_name[3] = {"城市管理", "交通运输", "食品药品安全"};

    memset(m, 0, sizeof *m);
    m->ref = ref0;
    m->ref.version = 3;
    for (int i = 0; i < 3; i++) {
        m->dom[i] = dom0;
        m->dom[i].code = dom_code[i];
        m->dom[i].name = dom_name[i];
        m->dom[i].flexible = i < 2;
        m->domp[i] = &m->dom[i];
    }
    m->ref.n_domains = 3;
    m->ref.domains = m->domp;

    m->dep0_domains[0] = "urban_management";
    m->dep0_domains[1] = "transport";
    m->dep1_domains[0] = "food_drug_safety";
    for (int i = 0; i < 2; i++) {
        m->dep[i] = dep0;
        m->depp[i] = &m->dep[i];
    }
    m->dep[0].code = DEPT;
    m->dep[0].name = "城管局";
    m->dep[0].n_domains = 2;
    m->dep[0].domains = m->dep0_domains;
    m->dep[1].code = "SY-SCJGJ";
    m->dep[1].name = "市场监管局";
    m->dep[1].n_domains = 1;
    m->dep[1].domains = m->dep1_domains;
    m->ref.n_departments = 2;
    m->ref.departments = m->depp;

    m->cond0[0] = "初次违法";
    m->cond0[1] = "及时改正";
    m->cond1[0] = "主动改正";
    for (int i = 0; i < 2; i++) {
        m->item[i] = item0;
        m->item[i].list_version = "2027-01";
        m->item[i].list_name = "城市管理领域清单";
        m->item[i].issuer = "宿迁市城市管理局";
        m->item[i].domain = i ? "transport" : "urban_management";
        m->item[i].name = i ? "运输车辆污染道路" : "店外摆卖";
        m->item[i].basis = "某条例第三条";
        m->itemp[i] = &m->item[i];
    }
    m->item[0].list_type = "no_penalty";
    m->item[0].code = "X-NP-001";
    m->item[0].category = "first_violation";
    m->item[0].n_conditions = 2;
    m->item[0].conditions = m->cond0;
    m->item[1].list_type = "reduced";
    m->item[1].code = "X-RD-001";
    m->item[1].category = "reduced";
    m->item[1].n_conditions = 1;
    m->item[1].conditions = m->cond1;
    m->ref.n_list_items = 2;
    m->ref.list_items = m->itemp;

    m->lf[0] = lf0;
    m->lf[0].code = "LF-9";
    m->lf[0].title = "告知书";
    m->lfp[0] = &m->lf[0];
    m->ref.n_leaflets = 1;
    m->ref.leaflets = m->lfp;
}

static void reference_applied_whole(void **state)
{
    fx *f = *state;
    patrol *p = open_store(f);
    refmsg m;
    rows depts = {0}, doms = {0}, lfs = {0}, items = {0};
    patrol_sync_info si;
    size_t i;

    refmsg_init(&m);
    assert_int_equal(px_reference_apply(p, &m.ref), PATROL_OK);

    assert_int_equal(patrol_departments(p, dept_cb, &depts), PATROL_OK);
    assert_int_equal(depts.n, 2);
    assert_string_equal(depts.col[0][0], DEPT);
    assert_string_equal(depts.col[0][1], "城管局");
    assert_string_equal(depts.col[0][2], "transport,urban_management");
    assert_int_equal(depts.flag[0][0], 1);
    assert_string_equal(depts.col[1][2], "food_drug_safety");
    assert_int_equal(depts.flag[1][0], 0);

    assert_int_equal(patrol_domains(p, domain_cb, &doms), PATROL_OK);
    assert_int_equal(doms.n, 3);
    i = find(&doms, "transport");
    assert_int_equal(doms.flag[i][0], 1);
    assert_int_equal(doms.flag[i][1], 1);
    i = find(&doms, "food_drug_safety");
    assert_int_equal(doms.flag[i][0], 0);
    assert_int_equal(doms.flag[i][1], 0);

    assert_int_equal(patrol_list_items(p, item_cb, &items), PATROL_OK);
    assert_int_equal(items.n, 2);
    i = find(&items, "X-NP-001");
    assert_string_equal(items.col[i][2], "2027-01");
    assert_string_equal(items.col[i][6], "城市管理领域清单");
    assert_string_equal(items.col[i][7], "宿迁市城市管理局");
    assert_string_equal(items.col[i][8], "first_violation");
    assert_string_equal(items.col[i][9], "初次违法\n及时改正");
    assert_string_equal(items.col[find(&items, "X-RD-001")][9], "主动改正");

    assert_int_equal(patrol_leaflets(p, leaflet_cb, &lfs), PATROL_OK);
    assert_int_equal(lfs.n, 1);
    assert_string_equal(lfs.col[0][0], "LF-9");

    assert_int_equal(patrol_sync_status(p, &si), PATROL_OK);
    assert_int_equal(si.reference_version, 3);
    rows_free(&depts);
    rows_free(&doms);
    rows_free(&lfs);
    rows_free(&items);
    patrol_close(p);
}

/* A server of schema 2 sends no departments and no list names: the
 * departments held stay, the items are taken with what they have. */
static void old_server_reference_accepted(void **state)
{
    fx *f = *state;
    patrol *p = open_store(f);
    refmsg m;
    rows depts = {0}, items = {0};

    refmsg_init(&m);
    m.ref.n_departments = 0;
    for (int i = 0; i < 2; i++) {
        m.item[i].list_name = "";
        m.item[i].issuer = "";
        m.item[i].category = "";
        m.item[i].n_conditions = 0;
    }
    assert_int_equal(px_reference_apply(p, &m.ref), PATROL_OK);
    assert_int_equal(patrol_departments(p, dept_cb, &depts), PATROL_OK);
    assert_int_equal(depts.n, 4); /* the built-in ones */
    assert_int_equal(patrol_list_items(p, item_cb, &items), PATROL_OK);
    assert_int_equal(items.n, 2);
    assert_string_equal(items.col[0][6], "");
    assert_string_equal(items.col[0][9], "");
    rows_free(&depts);
    rows_free(&items);
    patrol_close(p);
}

/* Apply m (made bad by the caller): refused, the message names where and
 * holds what, the store unchanged. */
static void expect_refused(const fx *f, refmsg *m, const char *where, const char *what)
{
    patrol *p = open_store(f);
    char *before, *after;
    const char *msg;

    before = snapshot(f);
    assert_int_equal(px_reference_apply(p, &m->ref), PATROL_ESERVER);
    msg = patrol_errmsg(p);
    if (!strstr(msg, where) || !strstr(msg, what) || !strstr(msg, "nothing applied"))
        fail_msg("message '%s' should name '%s' and '%s'", msg, where, what);
    after = snapshot(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
    patrol_close(p);
}

static void bad_reference_refused_whole(void **state)
{
    fx *f = *state;
    refmsg m;
    char long_line[PX_LINE_MAX + 2];

    /* a department naming an unknown domain */
    refmsg_init(&m);
    m.dep1_domains[0] = "xyz";
    expect_refused(f, &m, "departments[1].domains[0]", "unknown domain 'xyz'");

    /* an over-long condition */
    refmsg_init(&m);
    memset(long_line, 'a', sizeof long_line - 1);
    long_line[sizeof long_line - 1] = '\0';
    m.cond0[1] = long_line;
    expect_refused(f, &m, "list_items[0].conditions[1]", "too long");

    /* a condition of two lines (they are stored one per line) */
    refmsg_init(&m);
    m.cond1[0] = "主动改正\n危害后果轻微";
    expect_refused(f, &m, "list_items[1].conditions[0]", "line break");

    /* an item in a domain the reference data does not hold */
    refmsg_init(&m);
    m.item[1].domain = "agriculture";
    expect_refused(f, &m, "list_items[1].domain", "unknown domain 'agriculture'");

    /* an item in a domain excluded from flexible enforcement */
    refmsg_init(&m);
    m.item[1].domain = "food_drug_safety";
    expect_refused(f, &m, "list_items[1].domain", "not open to flexible enforcement");

    /* an excluded domain marked flexible */
    refmsg_init(&m);
    m.dom[2].flexible = 1;
    expect_refused(f, &m, "domains[2].flexible", "excluded");

    /* the same department twice */
    refmsg_init(&m);
    m.dep[1].code = DEPT;
    expect_refused(f, &m, "departments[1].code", "first at departments[0]");

    /* a category that is not a code */
    refmsg_init(&m);
    m.item[0].category = "first violation";
    expect_refused(f, &m, "list_items[0].category", "identifier");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_store_holds_the_sample, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(schema_2_store_gets_builtin_data, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(schema_2_store_with_server_data_keeps_it, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(reference_applied_whole, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(old_server_reference_accepted, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_reference_refused_whole, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
