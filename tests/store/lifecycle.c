/* lifecycle.c -- test_store: the store's lifecycle: init, open, locks, migrations, crashes, disk full. Moved from test_store.c. */
#include "store_test.h"

/* ======================================================================
 * 6. Store lifecycle
 * ====================================================================== */

void init_refuses_non_empty_dir(void **state)
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

void init_bad_arguments(void **state)
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

void open_without_store(void **state)
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

void open_newer_schema(void **state)
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

void open_key_problems(void **state)
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
void open_foreign_database(void **state)
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

void open_not_a_database(void **state)
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
void open_shared_with_other_process(void **state)
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
void open_clears_tmp_only_alone(void **state)
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
void store_files_private(void **state)
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

void errors_have_text(void **state)
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
