/* evidence.c -- test_sync_unit: evidence upload (sync_upload.c) against
 * the fake server: resumable chunks, LZ4 where it helps, a cut after a
 * stored chunk, an offset conflict, a hash mismatch. Moved from
 * test_sync_unit.c. */
#include "sync_unit.h"

/* ---- evidence -------------------------------------------------------------------- */

static void open_matter(patrol *p, char *matter, size_t len)
{
    patrol_field sf[2] = {{"credit_code", CREDIT_A, PATROL_CONF_NONE},
                          {"name", "某某便利店", PATROL_CONF_NONE}};
    patrol_field sf3[3];
    const char *insp[] = {"I-00001"};
    patrol_field mf[2] = {{"domain", "urban_management", PATROL_CONF_NONE},
                          {"summary", "店外摆卖", PATROL_CONF_NONE}};
    patrol_field mf3[3];
    patrol_record_in in;
    patrol_saved s;

    record_inspectors(p, 1, 1);
    memset(&in, 0, sizeof in);
    sf3[0] = sf[0];
    sf3[1] = sf[1];
    sf3[2] = (patrol_field){"type", "business", PATROL_CONF_NONE};
    in.kind = "subject.add";
    in.fields = sf3;
    in.n_fields = 3;
    if (patrol_record(p, &in, &s) != PATROL_OK)
        fail_msg("subject: %s", patrol_errmsg(p));
    mf3[0] = mf[0];
    mf3[1] = (patrol_field){"subject", s.id, PATROL_CONF_NONE};
    mf3[2] = mf[1];
    memset(&in, 0, sizeof in);
    in.kind = "matter.open";
    in.inspectors = insp;
    in.n_inspectors = 1;
    in.fields = mf3;
    in.n_fields = 3;
    if (patrol_record(p, &in, &s) != PATROL_OK)
        fail_msg("matter: %s", patrol_errmsg(p));
    snprintf(matter, len, "%s", s.id);
}

/* Two files: text (LZ4 helps) and random bytes (sent raw). */
static void add_evidence(env *e, const char *matter, uint8_t **text, size_t *tn, uint8_t **rnd,
                         size_t *rn)
{
    char path[400];
    *tn = 300 * 1024 + 17;
    *rn = 200 * 1024 + 3;
    *text = malloc(*tn);
    *rnd = malloc(*rn);
    for (size_t i = 0; i < *tn; i++)
        (*text)[i] = (uint8_t)("inspection record line, repeated\n"[i % 33]);
    {
        /* px_random serves small requests (ids, keys); xorshift for bulk */
        uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
        for (size_t i = 0; i < *rn; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (*rnd)[i] = (uint8_t)(x >> 24);
        }
    }
    snprintf(path, sizeof path, "%s/minutes.txt", e->dir);
    write_file(path, *text, *tn);
    if (patrol_evidence_add(e->p, matter, "document", path, "text/plain", NULL, NULL, NULL) !=
        PATROL_OK)
        fail_msg("evidence: %s", patrol_errmsg(e->p));
    snprintf(path, sizeof path, "%s/photo.jpg", e->dir);
    write_file(path, *rnd, *rn);
    assert_int_equal(
        patrol_evidence_add(e->p, matter, "photo", path, "image/jpeg", NULL, NULL, NULL),
        PATROL_OK);
}

static void check_server_has(fake *f, const uint8_t *data, size_t n)
{
    uint8_t d[PX_HASH_LEN];
    char hex[65];
    fake_ev *ev;
    px_sha256(data, n, d);
    px_format_hex(d, PX_HASH_LEN, hex);
    ev = find_ev(f, hex);
    assert_non_null(ev);
    assert_int_equal(ev->complete, 1);
    assert_int_equal(ev->size, n);
    assert_memory_equal(ev->data, data, n);
}

void test_sync_evidence(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    char matter[64];
    uint8_t *text, *rnd;
    size_t tn, rn;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    open_matter(e.p, matter, sizeof matter);
    add_evidence(&e, matter, &text, &tn, &rnd, &rn);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.pending_evidence_files, 2);
    assert_int_equal(si.pending_evidence_bytes, tn + rn);
    assert_int_equal(si.pending_bytes, si.pending_entry_bytes + tn + rn);

    /* Small chunks; the link drops once right after a chunk was stored
     * (the answer is lost), and the server once claims another offset. */
    fast_opts(&o);
    o.chunk_bytes = 64 * 1024;
    f->drop_after_patch = 1;
    f->conflict_once = 1;
    if (patrol_sync(e.p, &o, &r) != PATROL_OK)
        fail_msg("sync: %s", patrol_errmsg(e.p));
    assert_int_equal(r.evidence_uploaded, 2);
    assert_int_equal(r.evidence_pending, 0);
    /* One HEAD per file, and again after each conflict: the offset is
     * always the server's. (libcurl itself resends a request whose kept
     * connection died before any answer; that resend meets the moved
     * offset: 409, HEAD, go on.) */
    assert_true(f->heads >= 4);
    check_server_has(f, text, tn);
    check_server_has(f, rnd, rn);
    /* Text went as LZ4, the random bytes raw; several chunks each. */
    assert_true(f->lz4_patches >= 1);
    assert_true(f->patches >= 8);
    assert_true(r.bytes_sent < tn + rn + 10000); /* compression paid */
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.pending_evidence_files, 0);
    assert_int_equal(si.pending_bytes, 0);
    /* Nothing more to upload next time: no HEAD, no PATCH. */
    {
        int heads = f->heads, patches = f->patches;
        assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
        assert_int_equal(f->heads, heads);
        assert_int_equal(f->patches, patches);
    }
    /* The server lost a file it had confirmed: the next Ack lists it
     * missing, and the server's word beats this store's record. */
    f->ev[0].complete = 0;
    f->ev[0].off = 0;
    memset(f->ev[0].data, 0, f->ev[0].size);
    record_inspectors(e.p, 50, 1);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.evidence_uploaded, 1);
    check_server_has(f, text, tn);
    check_server_has(f, rnd, rn);
    free(text);
    free(rnd);
    fake_stop(f);
    env_close(&e);
}

/* The test hook cuts the link mid-chunk: resumed from the server's offset. */
void test_sync_evidence_cut(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    char matter[64];
    uint8_t *text, *rnd;
    size_t tn, rn;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    open_matter(e.p, matter, sizeof matter);
    add_evidence(&e, matter, &text, &tn, &rnd, &rn);
    fast_opts(&o);
    o.chunk_bytes = 128 * 1024;
    /* After the batch and most of the first raw chunk. */
    o.test_cut_after_bytes = 100 * 1024;
    if (patrol_sync(e.p, &o, &r) != PATROL_OK)
        fail_msg("sync: %s", patrol_errmsg(e.p));
    assert_true(r.retries >= 1);
    assert_int_equal(r.evidence_uploaded, 2);
    check_server_has(f, text, tn);
    check_server_has(f, rnd, rn);
    free(text);
    free(rnd);
    fake_stop(f);
    env_close(&e);
}

/* The server finds the bytes do not hash to the name: reported, the
 * other file still goes. */
void test_sync_evidence_mismatch(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    char matter[64];
    uint8_t *text, *rnd;
    size_t tn, rn;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    open_matter(e.p, matter, sizeof matter);
    add_evidence(&e, matter, &text, &tn, &rnd, &rn);
    fast_opts(&o);
    f->corrupt_evidence = 1;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ESERVER);
    assert_non_null(strstr(patrol_errmsg(e.p), "hash_mismatch"));
    assert_int_equal(strlen(r.evidence_failed), 64);
    assert_int_equal(r.evidence_uploaded, 0);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.pending_evidence_files, 2);
    /* The entries were acknowledged all the same. */
    assert_int_equal(si.pending_entries, 0);
    f->corrupt_evidence = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.evidence_uploaded, 2);
    free(text);
    free(rnd);
    fake_stop(f);
    env_close(&e);
}
