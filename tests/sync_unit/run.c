/* run.c -- test_sync_unit: patrol_sync's run (sync.c, sync_batch.c,
 * sync_receipt.c, sync_log.c) against the fake server: a round trip with
 * progress, the server log in receipts, forged and foreign receipts, forks,
 * rejected entries, a server that lost data, a server that is gone. Moved
 * from test_sync_unit.c. */
#include "sync_unit.h"

/* ---- sync ------------------------------------------------------------------------ */

void test_sync_not_enrolled(void **state)
{
    env e;
    patrol_sync_result r;
    (void)state;
    env_open(&e);
    assert_int_equal(patrol_sync(e.p, NULL, &r), PATROL_ESTATE);
    assert_non_null(strstr(patrol_errmsg(e.p), "enroll"));
    env_close(&e);
}

typedef struct prog {
    int calls;
    uint64_t last_entries, entries_total, last_bytes, bytes_total;
    int went_back;
} prog;

static void prog_cb(void *ud, const patrol_sync_progress *pr)
{
    prog *g = ud;
    g->calls++;
    if (pr->entries_done < g->last_entries)
        g->went_back = 1;
    g->last_entries = pr->entries_done;
    g->entries_total = pr->entries_total;
    g->last_bytes = pr->bytes_done;
    g->bytes_total = pr->bytes_total;
    assert_true(pr->entries_done <= pr->entries_total);
    assert_true(pr->bytes_done <= pr->bytes_total);
}

static int64_t db_int(patrol *p, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(p->db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

void test_sync_roundtrip(void **state)
{
    env e;
    fake *f = fake_start(1); /* mutual TLS */
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    patrol_info in;
    uint8_t hh[PX_HASH_LEN];
    prog g;
    int conns;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 30);
    f->ref_version = 5;
    conns = f->connections;
    fast_opts(&o);
    o.batch_entries = 7;
    memset(&g, 0, sizeof g);
    o.progress = prog_cb;
    o.progress_ud = &g;
    if (patrol_sync(e.p, &o, &r) != PATROL_OK)
        fail_msg("sync: %s", patrol_errmsg(e.p));
    assert_int_equal(r.head_seq, 31);
    assert_int_equal(r.acked_seq, 31);
    assert_int_equal(r.entries_accepted, 31);
    assert_int_equal(r.entries_duplicate, 0);
    assert_int_equal(r.batches, 5); /* 7+7+7+7+3 */
    assert_int_equal(r.receipts, 5);
    assert_int_equal(r.rejected_seq, 0);
    assert_true(r.bytes_sent > 0);
    assert_int_equal(r.reference_version, 5);
    assert_int_equal(r.reference_updated, 1);
    /* The server was reached with the client certificate of this key, on
     * one connection (with entries to send, no empty batch asks first). */
    assert_int_equal(f->probes, 0);
    assert_int_equal(f->peer_ok, 5);
    assert_int_equal(f->peer_bad, 0);
    assert_int_equal(f->connections, conns + 1);
    /* What the server holds is this journal. */
    assert_int_equal(patrol_get_info(e.p, &in), PATROL_OK);
    assert_int_equal(f->head, 31);
    assert_null(px_parse_hex(in.head_hash, hh, sizeof hh));
    assert_memory_equal(f->head_hash, hh, PX_HASH_LEN);
    /* The status says so. */
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 31);
    assert_int_equal(si.pending_entries, 0);
    assert_int_equal(si.pending_bytes, 0);
    assert_int_equal(si.receipts, 5);
    assert_int_equal(si.receipt_seq, 31);
    assert_string_equal(si.receipt_head, in.head_hash);
    assert_int_equal(si.receipt_server_time_ms, 1790000000000LL);
    assert_true(si.last_sync_ms > 0);
    assert_int_equal(si.reference_version, 5);
    /* Progress went forward only and ended at the totals. */
    assert_true(g.calls > 0);
    assert_int_equal(g.went_back, 0);
    assert_int_equal(g.entries_total, 31);
    assert_int_equal(g.last_entries, 31);
    assert_int_equal(g.last_bytes, g.bytes_total);
    /* Reference data: applied as sent (the excluded domain not flexible). */
    assert_int_equal(db_int(e.p, "SELECT flexible FROM domains WHERE code = 'public_safety'"), 0);
    assert_int_equal(db_int(e.p, "SELECT flexible FROM domains WHERE code = 'urban_management'"),
                     1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM domains"), 2);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM department_domains WHERE department = '"
                                 DEPT "' AND domain = 'urban_management'"),
                     1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM department_domains"), 1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM list_items"), 1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM leaflets"), 1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM roster"), 1);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM assigned_revisits"), 1);
    /* Receipts cannot be removed. */
    assert_int_not_equal(sqlite3_exec(e.p->db, "DELETE FROM receipts", NULL, NULL, NULL),
                         SQLITE_OK);

    /* Again: nothing to send, reference not modified (304). */
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.batches, 0);
    assert_int_equal(r.reference_updated, 0);
    assert_int_equal(r.reference_version, 5);
    assert_int_equal(f->batches, 5);
    assert_int_equal(f->refs, 2);

    /* More entries, a 503 on the way: retried, same result. */
    record_inspectors(e.p, 100, 3);
    f->fail_5xx = 2;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 34);
    assert_true(r.retries >= 2);

    /* Data that marks an excluded domain flexible (二(一)): before, the
     * terminal stored it as not flexible and applied the rest; now the
     * whole version is refused, naming the place, and nothing of it is
     * applied (proto/reference.c, the import's rules). Entries still go. */
    record_inspectors(e.p, 200, 1);
    f->ref_version = 6;
    f->ref_excluded_flexible = 1;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ESERVER);
    assert_non_null(strstr(patrol_errmsg(e.p), "domains[1].flexible"));
    assert_non_null(strstr(patrol_errmsg(e.p), "nothing applied"));
    assert_int_equal(r.acked_seq, 35);
    assert_int_equal(r.reference_updated, 0);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.reference_version, 5);
    assert_int_equal(db_int(e.p, "SELECT flexible FROM domains WHERE code = 'public_safety'"), 0);
    assert_int_equal(db_int(e.p, "SELECT count(*) FROM department_domains"), 1);
    /* Corrected on the server: applied at the next sync. */
    f->ref_excluded_flexible = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.reference_updated, 1);
    assert_int_equal(r.reference_version, 6);
    fake_stop(f);
    env_close(&e);
}

/* A receipt that does not verify marks nothing synced. */
/* The server log in Acks: an honest checkpoint is kept (the newest), a
 * proof that does not give the checkpoint's root or a checkpoint signed by
 * another key fails the sync before anything is marked synced. */
static int64_t kept_size(patrol *p)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    assert_int_equal(sqlite3_prepare_v2(p->db, "SELECT size FROM log_checkpoint", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

void test_sync_log(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 2);
    fast_opts(&o);
    /* an older server: no checkpoint, nothing kept, the sync as before */
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(kept_size(e.p), -1);
    f->log_mode = 1;
    record_inspectors(e.p, 3, 2);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 5);
    assert_int_equal(kept_size(e.p), 1);
    f->log_mode = 2;
    record_inspectors(e.p, 5, 2);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "does not prove entry 7"));
    assert_int_equal(r.acked_seq, 5);
    f->log_mode = 3;
    record_inspectors(e.p, 7, 1); /* the fake stored 6 and 7: a new entry */
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "not signed by its receipt key"));
    assert_int_equal(r.acked_seq, 5);
    f->log_mode = 1;
    record_inspectors(e.p, 8, 1);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 9);
    assert_int_equal(kept_size(e.p), 1);
    fake_stop(f);
    env_close(&e);
}

void test_sync_forged_receipt(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 5);
    f->corrupt_receipt = 1;
    fast_opts(&o);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "signature"));
    assert_int_equal(r.acked_seq, 0);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 0);
    assert_int_equal(si.pending_entries, 6);
    assert_int_equal(si.receipts, 0);
    assert_int_equal(si.last_sync_ms, 0);
    /* Honest again: the same entries go through (the server answers
     * DUPLICATE for those it stored). */
    f->corrupt_receipt = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 6);
    assert_int_equal(r.entries_duplicate, 6);
    fake_stop(f);
    env_close(&e);
}

/* A receipt that verifies, but for another chain head: the server holds a
 * different history. Nothing is marked synced. */
void test_sync_foreign_head(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 3);
    f->wrong_head = 1;
    fast_opts(&o);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_non_null(strstr(patrol_errmsg(e.p), "another history"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 0);
    assert_int_equal(si.receipts, 0);
    fake_stop(f);
    env_close(&e);
}

/* The server lost what it had acknowledged (restored from a backup): its
 * gap answer names the entry it expects, and the terminal sends again
 * from there. */
void test_sync_server_lost_data(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 9);
    fast_opts(&o);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 10);
    {
        /* entries 5..10 lost on the server */
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(e.p->db, "SELECT hash FROM journal WHERE seq = 4", -1,
                                            &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        memcpy(f->head_hash, sqlite3_column_blob(st, 0), PX_HASH_LEN);
        sqlite3_finalize(st);
        f->head = 4;
    }
    /* Nothing new was recorded: the sync still finds the server behind
     * (it asks first) and resends 5-10 at once, evidence and all. */
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.server_seq, 4);
    assert_int_equal(r.server_lost, 6);
    assert_int_equal(r.batches, 1);
    assert_int_equal(r.entries_accepted, 6);
    assert_int_equal(r.acked_seq, 10);
    assert_int_equal(f->head, 10);
    {
        patrol_sync_info si;
        assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
        assert_int_equal(si.acked_seq, 10);
    }
    /* Lost again, and a sync that cannot finish (the server refuses every
     * batch's receipt): the status no longer claims what the server lost. */
    f->head = 4;
    {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(e.p->db, "SELECT hash FROM journal WHERE seq = 4", -1,
                                            &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        memcpy(f->head_hash, sqlite3_column_blob(st, 0), PX_HASH_LEN);
        sqlite3_finalize(st);
    }
    f->corrupt_receipt = 1;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ETRUST);
    assert_int_equal(r.server_lost, 6);
    {
        patrol_sync_info si;
        assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
        assert_int_equal(si.acked_seq, 4);
        assert_int_equal(si.pending_entries, 6);
    }
    f->corrupt_receipt = 0;
    record_inspectors(e.p, 100, 2);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 12);
    assert_int_equal(r.server_lost, 0);
    assert_int_equal(r.batches, 1); /* 5-12: the server kept 5-10 from the refused try */
    assert_int_equal(r.entries_duplicate, 6);
    assert_int_equal(f->head, 12);
    assert_int_equal(f->probes, 2); /* the two syncs with nothing new */
    /* Lost again, and an entry recorded since: the first batch (13) is
     * answered "gap, expected 5", and 5-13 go at once, reported so. */
    f->head = 4;
    {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(e.p->db, "SELECT hash FROM journal WHERE seq = 4", -1,
                                            &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        memcpy(f->head_hash, sqlite3_column_blob(st, 0), PX_HASH_LEN);
        sqlite3_finalize(st);
    }
    record_inspectors(e.p, 200, 1);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.server_seq, 4);
    assert_int_equal(r.server_lost, 8);
    assert_int_equal(r.acked_seq, 13);
    assert_int_equal(f->head, 13);
    assert_int_equal(f->probes, 2);
    fake_stop(f);
    env_close(&e);
}

/* A fork: the server holds other entries 4 and 5 of this device (a copy
 * of the store recorded them). It rejects entry 4 and its receipt covers
 * its own chain: reported as a rejection, nothing marked, not stored. */
void test_sync_fork(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 2);
    fast_opts(&o);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 3);
    record_inspectors(e.p, 10, 3); /* 4, 5, 6 */
    f->head = 5;
    assert_int_equal(px_random(f->head_hash, PX_HASH_LEN), 0);
    f->reject_seq = 4;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_EREJECTED);
    assert_int_equal(r.rejected_seq, 4);
    assert_string_equal(r.rejected_reason, "fork");
    assert_int_equal(r.acked_seq, 3);
    assert_int_equal(r.receipts, 0);
    assert_non_null(strstr(patrol_errmsg(e.p), "another history"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 3);
    assert_int_equal(si.receipts, 1);
    assert_int_equal(si.receipt_seq, 3);
    assert_int_equal(si.rejected_seq, 4);
    assert_string_equal(si.rejected_reason, "fork");
    assert_int_equal(si.pending_entries, 3);
    /* The server runs further ahead than this terminal: the same. */
    f->head = 9;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_EREJECTED);
    assert_int_equal(r.rejected_seq, 4);
    fake_stop(f);
    env_close(&e);
}

/* A rejected entry stops the entries, is reported, and changes nothing. */
void test_sync_rejected(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    patrol_info before, after;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 20);
    assert_int_equal(patrol_get_info(e.p, &before), PATROL_OK);
    f->reject_seq = 9;
    fast_opts(&o);
    o.batch_entries = 5;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_EREJECTED);
    assert_int_equal(r.rejected_seq, 9);
    assert_string_equal(r.rejected_reason, "fork");
    assert_non_null(strstr(r.rejected_detail, "sequence"));
    assert_int_equal(r.acked_seq, 8);
    assert_non_null(strstr(patrol_errmsg(e.p), "entry 9"));
    assert_non_null(strstr(patrol_errmsg(e.p), "fork"));
    assert_int_equal(f->batches, 2); /* 1-5, 6-10: nothing after the rejection */
    assert_int_equal(patrol_get_info(e.p, &after), PATROL_OK);
    assert_int_equal(after.entries, before.entries);
    assert_string_equal(after.head_hash, before.head_hash);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 8);
    assert_int_equal(si.rejected_seq, 9);
    assert_string_equal(si.rejected_reason, "fork");
    /* Resolved on the server: the next sync clears it. */
    f->reject_seq = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 21);
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.rejected_seq, 0);
    fake_stop(f);
    env_close(&e);
}

/* A busy server (patrold's 503 with Retry-After when its queue is long)
 * is waited out, as long as it asks, and its answers are not tries: a
 * terminal at shift change must not give up on a server that answers.
 * Only the sync's time limit ends the waiting. A 503 without Retry-After
 * is still a failed try. */
void test_sync_busy_server(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    struct timespec t0, t1;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    record_inspectors(e.p, 1, 10);
    fast_opts(&o);
    o.max_attempts = 2;
    f->busy_batches = 3;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (patrol_sync(e.p, &o, &r) != PATROL_OK)
        fail_msg("sync with a busy server: %s", patrol_errmsg(e.p));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.acked_seq, 11);
    assert_int_equal(f->busy_batches, 0);
    assert_true(t1.tv_sec - t0.tv_sec >= 3); /* three Retry-After: 1, each waited out */

    /* Busy for longer than the sync may take: the time limit, nothing marked. */
    record_inspectors(e.p, 100, 2);
    o.timeout_s = 3;
    f->busy_batches = 1000;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ENET);
    assert_non_null(strstr(patrol_errmsg(e.p), "time limit"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 11);

    /* A 503 without Retry-After is a try like any failure. */
    f->busy_batches = 0;
    f->fail_5xx = 3;
    o.timeout_s = 60;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ENET);
    assert_non_null(strstr(patrol_errmsg(e.p), "2 tries"));
    f->fail_5xx = 0;
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_OK);
    assert_int_equal(r.acked_seq, 13);
    fake_stop(f);
    env_close(&e);
}

/* The server is gone: bounded retries, then PATROL_ENET, nothing marked. */
void test_sync_unreachable(void **state)
{
    env e;
    fake *f = fake_start(1);
    patrol_sync_opts o;
    patrol_sync_result r;
    patrol_sync_info si;
    struct timespec t0, t1;
    (void)state;

    env_open(&e);
    enroll(&e, f);
    fake_stop(f); /* the port is closed now */
    fast_opts(&o);
    o.max_attempts = 3;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(patrol_sync(e.p, &o, &r), PATROL_ENET);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 10);
    assert_int_equal(r.retries, 2);
    assert_non_null(strstr(patrol_errmsg(e.p), "3 tries"));
    assert_int_equal(patrol_sync_status(e.p, &si), PATROL_OK);
    assert_int_equal(si.acked_seq, 0);
    assert_int_equal(si.last_sync_ms, 0);
    env_close(&e);
}
