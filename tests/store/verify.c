/* verify.c -- test_store: verification: hashes, chain, signatures, sequence, evidence re-hashed, tampering found. Moved from test_store.c. */
#include "store_test.h"

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

int real_setup(void **state)
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

int real_teardown(void **state)
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

void verify_realistic_ok(void **state)
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
void verify_detects_edited_entry(void **state)
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

void verify_detects_deleted_middle_entry(void **state)
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
void verify_detects_deleted_last_entry(void **state)
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
void verify_detects_reordered_entries(void **state)
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

void verify_detects_replaced_signature(void **state)
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

void verify_detects_evidence_tampering(void **state)
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

void verify_detects_changed_device_key(void **state)
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
void verify_detects_entry_moved_to_other_matter(void **state)
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

void verify_fresh_store(void **state)
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
