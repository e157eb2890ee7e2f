/* store.c -- the store directory: database, schema and migrations, device
 * key, lock. Opening and creating stores (patrol_init, patrol_open). */
#include "internal.h"
#include "i18n.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "entry.h"
#include "validate.h"

#define DB_NAME "patrol.db"
#define KEY_NAME "device.key"
#define LOCK_NAME "LOCK"
#define EVIDENCE_DIR "evidence"
#define BUSY_TIMEOUT_MS 5000

/* Schema migrations: migrations[i] takes the schema from version i to i+1.
 * Never edit a released step; add one. The journal is append-only at the
 * database level too (triggers), so a bug elsewhere cannot rewrite it. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE journal("
    "  seq INTEGER PRIMARY KEY,"
    "  hash BLOB NOT NULL,"
    "  entry BLOB NOT NULL,"
    "  sig BLOB NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  matter TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX journal_matter ON journal(matter);"
    "CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal"
    "  BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;"
    "CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal"
    "  BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;"
    "CREATE TABLE head(one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  seq INTEGER NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE device(one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  device_id BLOB NOT NULL, public_key BLOB NOT NULL,"
    "  department TEXT NOT NULL, name TEXT NOT NULL);"
    "CREATE TABLE inspectors(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    "  cert_no TEXT NOT NULL UNIQUE, seq INTEGER NOT NULL REFERENCES journal(seq));"
    "CREATE TABLE subjects(id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL,"
    "  credit_code TEXT UNIQUE, id_number TEXT UNIQUE,"
    "  seq INTEGER NOT NULL REFERENCES journal(seq));"
    "CREATE TABLE matters(id TEXT PRIMARY KEY,"
    "  subject TEXT NOT NULL REFERENCES subjects(id),"
    "  domain TEXT NOT NULL, summary TEXT NOT NULL, list_item TEXT,"
    "  state TEXT NOT NULL CHECK (state IN ('open', 'completed', 'terminated')),"
    "  inspectors TEXT NOT NULL,"
    "  on_application INTEGER NOT NULL DEFAULT 0,"
    "  consent TEXT NOT NULL DEFAULT '',"
    "  opened_seq INTEGER NOT NULL REFERENCES journal(seq),"
    "  closed_seq INTEGER REFERENCES journal(seq));"
    "CREATE TABLE revisits(id TEXT PRIMARY KEY, matter TEXT NOT NULL REFERENCES matters(id),"
    "  due TEXT NOT NULL, outcome TEXT,"
    "  seq INTEGER NOT NULL REFERENCES journal(seq), outcome_seq INTEGER REFERENCES journal(seq));"
    "CREATE INDEX revisits_due ON revisits(due) WHERE outcome IS NULL;"
    "CREATE TABLE documents(id TEXT PRIMARY KEY, matter TEXT NOT NULL REFERENCES matters(id),"
    "  seq INTEGER NOT NULL REFERENCES journal(seq), delivered_seq INTEGER REFERENCES journal(seq));"
    "CREATE TABLE evidence(sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    "  media_type TEXT NOT NULL);"
    "CREATE TABLE domains(code TEXT PRIMARY KEY, name TEXT NOT NULL,"
    "  flexible INTEGER NOT NULL CHECK (flexible IN (0, 1)));"
    "CREATE TABLE list_items(code TEXT PRIMARY KEY, list_type TEXT NOT NULL"
    "  CHECK (list_type IN ('no_penalty', 'lighter', 'reduced')),"
    "  list_version TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL,"
    "  basis TEXT NOT NULL);",
    /* 1 -> 2: sync (client/lib/sync.c, docs/protocol.md). sync_server holds
     * what enrolment brought: the pinned server key (sha256 of its SPKI),
     * the client certificate the device CA issued for the device key, and
     * the key that signs receipts. sync_state.acked_seq is the highest seq
     * a verified receipt says the server holds. Receipts are kept forever,
     * like the journal (triggers). evidence_uploaded lists the evidence the
     * server confirmed complete (Upload-Complete: 1). The rest is reference
     * data pulled from the server, replaced as a whole. */
    "CREATE TABLE sync_server(one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  url TEXT NOT NULL, pin BLOB NOT NULL CHECK (length(pin) = 32),"
    "  client_cert TEXT NOT NULL, ca_cert TEXT NOT NULL, receipt_key BLOB NOT NULL,"
    "  server_name TEXT NOT NULL, department TEXT NOT NULL, enrolled_ms INTEGER NOT NULL);"
    "CREATE TABLE sync_state(one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  acked_seq INTEGER NOT NULL DEFAULT 0, last_sync_ms INTEGER NOT NULL DEFAULT 0,"
    "  reference_version INTEGER NOT NULL DEFAULT 0,"
    "  rejected_seq INTEGER NOT NULL DEFAULT 0, rejected_reason TEXT NOT NULL DEFAULT '',"
    "  rejected_detail TEXT NOT NULL DEFAULT '');"
    "INSERT INTO sync_state(one) VALUES (1);"
    "CREATE TABLE receipts(id INTEGER PRIMARY KEY, server_pin BLOB NOT NULL,"
    "  batch_id BLOB NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,"
    "  head_hash BLOB NOT NULL, server_time_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    "  body BLOB NOT NULL, sig BLOB NOT NULL);"
    "CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts"
    "  BEGIN SELECT RAISE(ABORT, 'receipts are kept as received'); END;"
    "CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts"
    "  BEGIN SELECT RAISE(ABORT, 'receipts are kept as received'); END;"
    "CREATE TABLE evidence_uploaded(sha256 TEXT PRIMARY KEY REFERENCES evidence(sha256),"
    "  confirmed_ms INTEGER NOT NULL);"
    "CREATE TABLE leaflets(code TEXT PRIMARY KEY, title TEXT NOT NULL);"
    "CREATE TABLE roster(id TEXT PRIMARY KEY, name TEXT NOT NULL, cert_no TEXT NOT NULL);"
    "CREATE TABLE assigned_revisits(id TEXT PRIMARY KEY, matter TEXT NOT NULL,"
    "  subject_name TEXT NOT NULL, due TEXT NOT NULL, note TEXT NOT NULL);",
    /* 2 -> 3: reference data kept whole (docs/record.md "Reference data"):
     * departments and the domains each holds (法无授权不可为), each list's
     * name and issuer, each item's category and conditions (one per line),
     * and the subjects the server says already have a matter citing an
     * item (county-wide first-violation check; subject_key is the
     * lower-case hex SHA-256 of the credit code or identity number). */
    "CREATE TABLE departments(code TEXT PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE department_domains(department TEXT NOT NULL, domain TEXT NOT NULL,"
    "  PRIMARY KEY (department, domain));"
    "ALTER TABLE list_items ADD COLUMN list_name TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE list_items ADD COLUMN issuer TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE list_items ADD COLUMN category TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE list_items ADD COLUMN conditions TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE cited(subject_key TEXT NOT NULL, item TEXT NOT NULL, matter TEXT NOT NULL,"
    "  PRIMARY KEY (subject_key, item, matter));",
    /* 3 -> 4: the matter views are what the matter state machine
     * (proto/matter.c) says of the journal, corrections in effect: state
     * (opened ... escalated), consent, application, major / technical,
     * close reason and case number; revisits with what they follow; the
     * rule findings of each entry (flags); department-level acts; outcomes
     * recorded here of revisits the server assigned (assigned_done). Made
     * anew from the journal by px_views_rebuild (matterview.c) right
     * after this step. */
    "DROP TABLE revisits; DROP TABLE documents; DROP TABLE matters;"
    "CREATE TABLE matters(id TEXT PRIMARY KEY,"
    "  subject TEXT NOT NULL, domain TEXT NOT NULL, summary TEXT NOT NULL,"
    "  list_item TEXT, list_type TEXT, list_version TEXT,"
    "  state TEXT NOT NULL, inspectors TEXT NOT NULL,"
    "  on_application INTEGER NOT NULL DEFAULT 0, application TEXT NOT NULL DEFAULT '',"
    "  consent TEXT NOT NULL DEFAULT '', major INTEGER NOT NULL DEFAULT 0,"
    "  technical INTEGER NOT NULL DEFAULT 0, close_reason TEXT NOT NULL DEFAULT '',"
    "  case_no TEXT NOT NULL DEFAULT '',"
    "  opened_seq INTEGER NOT NULL REFERENCES journal(seq),"
    "  closed_seq INTEGER REFERENCES journal(seq));"
    "CREATE INDEX matters_subject ON matters(subject, list_item);"
    "CREATE TABLE revisits(id TEXT PRIMARY KEY, matter TEXT NOT NULL REFERENCES matters(id),"
    "  follows TEXT NOT NULL, due TEXT NOT NULL, outcome TEXT,"
    "  seq INTEGER NOT NULL REFERENCES journal(seq), outcome_seq INTEGER REFERENCES journal(seq));"
    "CREATE INDEX revisits_due ON revisits(due) WHERE outcome IS NULL;"
    "CREATE TABLE documents(id TEXT PRIMARY KEY, matter TEXT NOT NULL REFERENCES matters(id),"
    "  seq INTEGER NOT NULL REFERENCES journal(seq), delivered_seq INTEGER REFERENCES journal(seq));"
    "CREATE TABLE flags(seq INTEGER NOT NULL REFERENCES journal(seq), matter TEXT NOT NULL,"
    "  rule TEXT NOT NULL, flag_only INTEGER NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX flags_matter ON flags(matter);"
    "CREATE TABLE acts(id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    "  seq INTEGER NOT NULL REFERENCES journal(seq));"
    "CREATE TABLE assigned_done(id TEXT PRIMARY KEY, outcome TEXT NOT NULL,"
    "  seq INTEGER NOT NULL REFERENCES journal(seq));",
    /* 4 -> 5: the cursor of the county-wide citations pull (GET
     * /v1/citations, sync_cited.c): the last citation id stored in cited. */
    "ALTER TABLE sync_state ADD COLUMN cited_since INTEGER NOT NULL DEFAULT 0;",
    /* 5 -> 6: the newest checkpoint of each server's log (docs/log.md), as
     * a batch's Ack brought it, its signature and the inclusion proof of
     * the batch's last entry verified (sync_log.c). */
    "CREATE TABLE log_checkpoint(server_pin TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    "  note TEXT NOT NULL, received_ms INTEGER NOT NULL);",
    /* 6 -> 7: whether the next entry has cited the kept checkpoint yet
     * (journal.c, docs/log.md "Citations"): 0 when a newer one arrives, 1
     * once an entry carries it. */
    "ALTER TABLE log_checkpoint ADD COLUMN cited INTEGER NOT NULL DEFAULT 0"
    "  CHECK (cited IN (0, 1));",
};
#define N_MIGRATIONS (int)(sizeof migrations / sizeof migrations[0])

int px_fail(patrol *p, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->errmsg, sizeof p->errmsg, fmt, ap);
    va_end(ap);
    return err;
}

int px_db_fail(patrol *p, int rc, const char *what)
{
    const char *detail = p->db ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return px_fail(p, PATROL_ELOCKED, _("%s: the store is in use by another process"), what);
    case SQLITE_FULL:
        return px_fail(p, PATROL_ENOSPC, _("%s: the disk is full"), what);
    case SQLITE_NOMEM:
        return px_fail(p, PATROL_ENOMEM, _("%s: out of memory"), what);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return px_fail(p, PATROL_ECORRUPT, _("%s: the database is damaged (%s)"), what, detail);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        /* SQLite reports a full disk during a WAL write as IOERR_WRITE. */
        if (errno == ENOSPC || errno == EFBIG || errno == EDQUOT)
            return px_fail(p, PATROL_ENOSPC, _("%s: the disk is full"), what);
        return px_fail(p, PATROL_EIO, "%s: %s", what, detail);
    default:
        return px_fail(p, PATROL_EIO, "%s: %s", what, detail);
    }
}

int px_exec(patrol *p, const char *sql)
{
    int rc = sqlite3_exec(p->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? PATROL_OK : px_db_fail(p, rc, _("database"));
}

void px_mark(patrol *p, const char *what)
{
    char line[96];
    struct timespec ts;
    int n;
    if (p->mark_fd < 0)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    n = snprintf(line, sizeof line, "%s %lld%09ld\n", what, (long long)ts.tv_sec, ts.tv_nsec);
    if (n > 0 && (size_t)n < sizeof line && px_write_all(p->mark_fd, line, (size_t)n) != 0) {
        /* a test hook: nothing to report */
    }
}

/* Every write transaction is a short BEGIN IMMEDIATE ... COMMIT: another
 * process's write waits for it (busy_timeout), readers never do (WAL). */
int px_begin(patrol *p)
{
    int err = px_exec(p, "BEGIN IMMEDIATE");
    p->appended_seq = 0;
    if (!err)
        px_mark(p, "begin");
    return err;
}

int px_commit(patrol *p)
{
    int rc;
    px_mark(p, "commit");
    rc = sqlite3_exec(p->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int err = px_db_fail(p, rc, _("saving"));
        int xrc = sqlite3_extended_errcode(p->db);
        px_rollback(p);
        /* SQLite can report a failure after the commit reached the WAL (an
         * fsync, or an allocation, that failed once the frames were
         * written; test_fault found both): the entry is then there when
         * the store is opened again, and this connection cannot tell. A
         * failure still, but one that says so, so that nobody records the
         * same act twice. */
        if (p->appended_seq && (xrc == SQLITE_IOERR_FSYNC || xrc == SQLITE_IOERR_DIR_FSYNC ||
                                (xrc & 0xff) == SQLITE_NOMEM)) {
            char why[sizeof p->errmsg];
            snprintf(why, sizeof why, "%s", p->errmsg);
            px_fail(p, err,
                    _("%s; entry #%llu may have been written all the same: check 'patrol log' "
                      "and 'patrol verify' before recording it again"),
                    why, (unsigned long long)p->appended_seq);
        }
        p->appended_seq = 0;
        return err;
    }
    p->appended_seq = 0;
    px_mark(p, "committed");
    return PATROL_OK;
}

void px_rollback(patrol *p)
{
    if (!sqlite3_get_autocommit(p->db)) {
        sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
        px_mark(p, "rolledback");
    }
}

char *px_path(const patrol *p, const char *name)
{
    size_t n = strlen(p->dir) + 1 + strlen(name) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", p->dir, name);
    return s;
}

int px_write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int px_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    int rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

void px_make_id(const patrol *p, char prefix, uint64_t seq, char *out, size_t len)
{
    snprintf(out, len, "%c-%s-%llu", prefix, p->dev8, (unsigned long long)seq);
}

static int pragma_int(patrol *p, const char *sql, int *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the database"));
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? PATROL_OK : px_db_fail(p, rc, _("reading the database"));
}

int px_store_open_db(patrol *p, const char *path, int create)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &p->db, flags, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("opening the database"));
    sqlite3_extended_result_codes(p->db, 0);
    /* Another process's write transaction is short (a record, a receipt):
     * wait for it rather than refuse. */
    sqlite3_busy_timeout(p->db, BUSY_TIMEOUT_MS);
    if (!create) {
        /* Identify before changing anything: a foreign database must be
         * left exactly as it is (not even switched to WAL). */
        int appid = 0;
        int err = pragma_int(p, "PRAGMA application_id", &appid);
        if (err)
            return err;
        if (appid != PX_APPLICATION_ID)
            return px_fail(p, PATROL_ECORRUPT, _("%s is not a patrol store database"), path);
    }
    {
        /* Keep the WAL and shared-memory files when the last connection
         * closes, so that opening the store to read it (verify, log) needs
         * no new disk space: on a full disk the record stays readable. */
        int persist = 1;
        sqlite3_file_control(p->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    }
    /* synchronous=FULL: an entry reported saved survives power loss; with
     * NORMAL the last commits in the WAL may be lost. */
    return px_exec(p, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;");
}

int px_store_migrate(patrol *p)
{
    int version, appid, err;
    char sql[64];

    if ((err = pragma_int(p, "PRAGMA application_id", &appid)) ||
        (err = pragma_int(p, "PRAGMA user_version", &version)))
        return err;
    if (version == 0 && appid == 0) {
        /* new database */
    } else if (appid != PX_APPLICATION_ID) {
        return px_fail(p, PATROL_ECORRUPT, _("the database is not a patrol store"));
    }
    if (version > PX_SCHEMA_VERSION)
        return px_fail(p, PATROL_ESCHEMA,
                       _("the store has schema version %d but this patrol supports up to %d: "
                       "use a newer patrol"),
                       version, PX_SCHEMA_VERSION);
    if (version == PX_SCHEMA_VERSION)
        return PATROL_OK;
    if ((err = px_begin(p)))
        return err;
    /* Steps written in C follow their SQL: after 2 -> 3 the built-in
     * reference data the new tables hold (refdata.c); after 3 -> 4 the
     * matter views made anew from the journal (matterview.c), which needs
     * that reference data. */
    for (int v = version; v < N_MIGRATIONS; v++)
        if ((err = px_exec(p, migrations[v])) ||
            (v == 2 && (err = px_refdata_upgrade(p, version))) ||
            (v == 3 && (err = px_views_rebuild(p)))) {
            px_rollback(p);
            return err;
        }
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d; PRAGMA application_id=%d;",
             PX_SCHEMA_VERSION, PX_APPLICATION_ID);
    if ((err = px_exec(p, sql))) {
        px_rollback(p);
        return err;
    }
    return px_commit(p);
}

/* fcntl locks belong to the process and any close() of the LOCK file drops
 * them, so a second handle on the same store in one process would unlock
 * it for everyone when closed. Stores open in this process are therefore
 * also tracked here, and a second open is refused like another process's. */
#define MAX_OPEN_STORES 64
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    dev_t dev;
    ino_t ino;
    pid_t pid; /* entries a child inherited across fork() are not its own */
} open_stores[MAX_OPEN_STORES];

static int is_open_here(dev_t dev, ino_t ino)
{
    int found = 0;
    pthread_mutex_lock(&open_lock);
    for (int i = 0; i < MAX_OPEN_STORES; i++)
        if (open_stores[i].pid == getpid() && open_stores[i].dev == dev &&
            open_stores[i].ino == ino)
            found = 1;
    pthread_mutex_unlock(&open_lock);
    return found;
}

static int register_open(dev_t dev, ino_t ino)
{
    int rc = -1;
    pthread_mutex_lock(&open_lock);
    for (int i = 0; i < MAX_OPEN_STORES; i++)
        if (open_stores[i].pid != getpid()) {
            open_stores[i].dev = dev;
            open_stores[i].ino = ino;
            open_stores[i].pid = getpid();
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&open_lock);
    return rc;
}

static void unregister_open(dev_t dev, ino_t ino)
{
    pthread_mutex_lock(&open_lock);
    for (int i = 0; i < MAX_OPEN_STORES; i++)
        if (open_stores[i].pid == getpid() && open_stores[i].dev == dev &&
            open_stores[i].ino == ino)
            open_stores[i].pid = 0;
    pthread_mutex_unlock(&open_lock);
}

/* The store's locks: POSIX record locks on LOCK (docs/store.md "Locks").
 * Byte 0: every open handle holds a read lock for its life, so recording,
 * reading and syncing go on side by side (SQLite serialises the writes,
 * each in its own short transaction); patrol_open holds it as a write lock
 * only while it migrates the schema and clears evidence/tmp, which needs
 * no other handle open. Byte 1: the sync lock, a write lock held for the
 * whole of patrol_sync or patrol_enroll, so two syncs exclude each other. */
#define LOCK_STORE_BYTE 0
#define LOCK_SYNC_BYTE 1
#define LOCK_WAIT_MS 1000 /* another patrol_open's exclusive moment */

static int lock_byte(int fd, int type, off_t byte)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = (short)type;
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = 1;
    return fcntl(fd, F_SETLK, &fl);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int take_lock(patrol *p)
{
    struct stat st;
    char *path = px_path(p, LOCK_NAME);

    if (!path)
        return px_fail(p, PATROL_ENOMEM, _("out of memory"));
    /* Check this process's table before opening: opening and closing a
     * second descriptor on LOCK would drop the lock the first handle holds. */
    if (stat(path, &st) == 0 && is_open_here(st.st_dev, st.st_ino)) {
        free(path);
        return px_fail(p, PATROL_ELOCKED, _("the store %s is already open in this process"),
                       p->dir);
    }
    p->lock_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (p->lock_fd >= 0)
        p->lock_created = 1;
    else if (errno == EEXIST)
        p->lock_fd = open(path, O_RDWR | O_CLOEXEC);
    free(path);
    if (p->lock_fd < 0)
        return px_fail(p, errno == ENOSPC ? PATROL_ENOSPC : PATROL_EIO,
                       _("cannot open the store's lock file: %s"), strerror(errno));
    /* Alone with the store: exclusive until the open is done. Otherwise
     * shared, waiting out another open's exclusive moment. */
    if (lock_byte(p->lock_fd, F_WRLCK, LOCK_STORE_BYTE) == 0) {
        p->lock_excl = 1;
    } else {
        int waited = 0;
        while (lock_byte(p->lock_fd, F_RDLCK, LOCK_STORE_BYTE) != 0) {
            if (errno != EACCES && errno != EAGAIN)
                return px_fail(p, PATROL_EIO, _("cannot lock the store: %s"), strerror(errno));
            if (waited >= LOCK_WAIT_MS)
                return px_fail(p, PATROL_ELOCKED,
                               _("the store %s is in use by another patrol process"), p->dir);
            sleep_ms(5);
            waited += 5;
        }
    }
    if (fstat(p->lock_fd, &st) != 0 || register_open(st.st_dev, st.st_ino) != 0)
        return px_fail(p, PATROL_ELOCKED, _("too many stores open in this process"));
    p->lock_dev = st.st_dev;
    p->lock_ino = st.st_ino;
    p->lock_registered = 1;
    return PATROL_OK;
}

/* The end of patrol_open / patrol_init: from exclusive to shared (a POSIX
 * lock changes type in one step: no other opener slips in between). */
static void share_lock(patrol *p)
{
    if (p->lock_excl && lock_byte(p->lock_fd, F_RDLCK, LOCK_STORE_BYTE) == 0)
        p->lock_excl = 0;
}

int px_sync_lock(patrol *p)
{
    if (lock_byte(p->lock_fd, F_WRLCK, LOCK_SYNC_BYTE) == 0)
        return PATROL_OK;
    if (errno == EACCES || errno == EAGAIN)
        return px_fail(p, PATROL_ELOCKED,
                       _("a sync of the store %s is already running in another patrol process"),
                       p->dir);
    return px_fail(p, PATROL_EIO, _("cannot lock the store: %s"), strerror(errno));
}

void px_sync_unlock(patrol *p)
{
    lock_byte(p->lock_fd, F_UNLCK, LOCK_SYNC_BYTE);
}

static patrol *handle_new(const char *dir, char *err, size_t errlen)
{
    patrol *p = calloc(1, sizeof *p);
    if (p)
        p->dir = strdup(dir);
    if (!p || !p->dir) {
        free(p);
        if (err)
            snprintf(err, errlen, "%s", _("out of memory"));
        return NULL;
    }
    p->lock_fd = -1;
    p->mark_fd = -1;
    {
        const char *marks = getenv("PATROL_TEST_MARKS");
        if (marks && *marks)
            p->mark_fd = open(marks, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
    return p;
}

void patrol_close(patrol *p)
{
    if (!p)
        return;
    if (p->db)
        sqlite3_close_v2(p->db);
    px_key_free(p->key);
    if (p->lock_fd >= 0)
        close(p->lock_fd); /* releases the lock */
    if (p->lock_registered)
        unregister_open(p->lock_dev, p->lock_ino);
    if (p->mark_fd >= 0)
        close(p->mark_fd);
    free(p->dir);
    px_wipe(p, sizeof *p);
    free(p);
}

static int fail_out(patrol *p, int err, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", p->errmsg[0] ? p->errmsg : patrol_strerror(err));
    patrol_close(p);
    return err;
}

/* Load the device row and key, and check that they belong together. */
static int load_device(patrol *p)
{
    sqlite3_stmt *st;
    const char *why = NULL;
    char *path;
    uint8_t id[PX_HASH_LEN];
    int rc, err;

    rc = sqlite3_prepare_v2(p->db, "SELECT device_id FROM device WHERE one = 1", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the device"));
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 0) != PX_HASH_LEN) {
        sqlite3_finalize(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE
                   ? px_fail(p, PATROL_ECORRUPT, _("the store has no device record"))
                   : px_db_fail(p, rc, _("reading the device"));
    }
    memcpy(p->device_id, sqlite3_column_blob(st, 0), PX_HASH_LEN);
    sqlite3_finalize(st);
    px_format_hex(p->device_id, 4, p->dev8);

    if (!(path = px_path(p, KEY_NAME)))
        return px_fail(p, PATROL_ENOMEM, _("out of memory"));
    err = px_key_load_private(path, &p->key, &why);
    free(path);
    if (err)
        return px_fail(p, PATROL_ECRYPTO, "%s", why);
    if (px_key_id(p->key, id) != 0 || memcmp(id, p->device_id, PX_HASH_LEN) != 0)
        return px_fail(p, PATROL_ECRYPTO, _("the device key does not belong to this store"));
    return PATROL_OK;
}

/* Imports cut short by a crash leave their copies in evidence/tmp; with
 * the store locked exclusively (no other handle open), none is in
 * progress, so they can go. */
static void clean_tmp(patrol *p)
{
    char *tmp = px_path(p, EVIDENCE_DIR "/tmp");
    DIR *d = tmp ? opendir(tmp) : NULL;
    struct dirent *e;
    char path[4200];
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "import-", 7) == 0) {
            snprintf(path, sizeof path, "%s/%s", tmp, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    free(tmp);
}

/* The store holds ID numbers and interview minutes: its files are the
 * owner's alone (0600, directories 0700) whatever the mode of the directory
 * it lives in. patrol_init creates them so (umask 077); a store made by an
 * older patrol, whose database came out 0644, is tightened here. Errors
 * are ignored (a read-only medium still opens to be read). */
static void tighten_one(const patrol *p, const char *name)
{
    struct stat st;
    char *path = px_path(p, name);
    if (path && lstat(path, &st) == 0 && (st.st_mode & 077) &&
        (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        chmod(path, st.st_mode & 0700);
    free(path);
}

static void tighten_modes(const patrol *p)
{
    static const char *const names[] = {DB_NAME, DB_NAME "-wal", DB_NAME "-shm", KEY_NAME,
                                        "client.crt", LOCK_NAME, EVIDENCE_DIR,
                                        EVIDENCE_DIR "/tmp"};
    char *ev = px_path(p, EVIDENCE_DIR);
    DIR *d = ev ? opendir(ev) : NULL;
    struct dirent *e;
    char name[300];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        tighten_one(p, names[i]);
    while (d && (e = readdir(d)))
        if (strlen(e->d_name) == 2 && e->d_name[0] != '.') {
            snprintf(name, sizeof name, EVIDENCE_DIR "/%s", e->d_name);
            tighten_one(p, name);
        }
    if (d)
        closedir(d);
    free(ev);
}

int patrol_open(const char *dir, patrol **out, char *errbuf, size_t errlen)
{
    patrol *p;
    struct stat st;
    char *db;
    int err;

    *out = NULL;
    if (!dir || !*dir) {
        if (errbuf)
            snprintf(errbuf, errlen, "%s", _("no store directory given"));
        return PATROL_EINVAL;
    }
    if (!(p = handle_new(dir, errbuf, errlen)))
        return PATROL_ENOMEM;
    if (!(db = px_path(p, DB_NAME)))
        return fail_out(p, PATROL_ENOMEM, errbuf, errlen);
    if (stat(db, &st) != 0) {
        free(db);
        px_fail(p, PATROL_ENOSTORE, _("no patrol store in %s (create one with 'patrol init')"),
                dir);
        return fail_out(p, PATROL_ENOSTORE, errbuf, errlen);
    }
    if ((err = take_lock(p)) || (err = px_store_open_db(p, db, 0)) ||
        (err = px_store_migrate(p)) || (err = load_device(p))) {
        free(db);
        if (p->lock_created && err != PATROL_ELOCKED) {
            /* Not a usable store: leave the directory as it was. */
            char *lock = px_path(p, LOCK_NAME);
            if (lock)
                unlink(lock);
            free(lock);
        }
        return fail_out(p, err, errbuf, errlen);
    }
    free(db);
    if (p->lock_excl)
        clean_tmp(p);
    tighten_modes(p);
    share_lock(p);
    *out = p;
    return PATROL_OK;
}

/* Remove what patrol_init created, for a failed init. */
static void init_cleanup(const char *dir, int made_dir)
{
    static const char *const names[] = {DB_NAME, DB_NAME "-wal", DB_NAME "-shm", DB_NAME "-journal",
                                        KEY_NAME, LOCK_NAME, EVIDENCE_DIR "/tmp", EVIDENCE_DIR};
    char path[4096];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (unlink(path) != 0)
            rmdir(path);
    }
    if (made_dir)
        rmdir(dir);
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}


static int init_store(const char *dir, const char *department, const char *device_name,
                      patrol **out, char *errbuf, size_t errlen)
{
    patrol *p;
    struct stat st;
    const char *why;
    char *path = NULL;
    int err, made_dir = 0;

    *out = NULL;
    if (!dir || !*dir || !department || !device_name) {
        if (errbuf)
            snprintf(errbuf, errlen, "%s",
                     _("store directory, department and device name are required"));
        return PATROL_EINVAL;
    }
    if ((why = px_check_ident(department))) {
        if (errbuf)
            snprintf(errbuf, errlen, _("department code '%.64s': %s"), department, _(why));
        return PATROL_EINVAL;
    }
    if ((why = px_check_line(device_name, 128))) {
        if (errbuf)
            snprintf(errbuf, errlen, _("device name: %s"), _(why));
        return PATROL_EINVAL;
    }
    if (!(p = handle_new(dir, errbuf, errlen)))
        return PATROL_ENOMEM;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode) || !dir_is_empty(dir)) {
            px_fail(p, PATROL_EEXIST, _("%s exists and is not an empty directory"), dir);
            return fail_out(p, PATROL_EEXIST, errbuf, errlen);
        }
    } else if (mkdir(dir, 0700) != 0) {
        px_fail(p, errno == ENOSPC ? PATROL_ENOSPC : PATROL_EIO, _("cannot create %s: %s"), dir,
                strerror(errno));
        return fail_out(p, errno == ENOSPC ? PATROL_ENOSPC : PATROL_EIO, errbuf, errlen);
    } else {
        made_dir = 1;
    }

    if ((err = take_lock(p)))
        goto fail;
    if (!(path = px_path(p, EVIDENCE_DIR)) || (mkdir(path, 0700) != 0)) {
        err = px_fail(p, PATROL_EIO, _("cannot create the evidence directory"));
        goto fail;
    }
    free(path);
    if (!(path = px_path(p, EVIDENCE_DIR "/tmp")) || (mkdir(path, 0700) != 0)) {
        err = px_fail(p, PATROL_EIO, _("cannot create the evidence directory"));
        goto fail;
    }
    free(path);
    if (!(path = px_path(p, KEY_NAME))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto fail;
    }
    if (px_key_generate(&p->key, &why) != 0 || px_key_save_private(p->key, path, &why) != 0) {
        err = px_fail(p, PATROL_ECRYPTO, _("device key: %s"), why);
        goto fail;
    }
    free(path);
    if (!(path = px_path(p, DB_NAME))) {
        err = px_fail(p, PATROL_ENOMEM, _("out of memory"));
        goto fail;
    }
    if ((err = px_store_open_db(p, path, 1)) || (err = px_store_migrate(p)) ||
        (err = px_init_genesis(p, department, device_name)))
        goto fail;
    free(path);
    if (px_fsync_dir(dir) != 0) {
        err = px_fail(p, PATROL_EIO, _("cannot sync %s: %s"), dir, strerror(errno));
        path = NULL;
        goto fail;
    }
    share_lock(p);
    *out = p;
    return PATROL_OK;
fail:
    free(path);
    if (p->db) {
        sqlite3_close_v2(p->db);
        p->db = NULL;
    }
    init_cleanup(dir, made_dir);
    return fail_out(p, err, errbuf, errlen);
}

/* Everything the store is made of is created private (umask 077: files
 * 0600, directories 0700; SQLite gives its -wal and -shm the database's
 * mode), whatever the umask of the process and the mode of the directory
 * the store is made in. */
int patrol_init(const char *dir, const char *department, const char *device_name, patrol **out,
                char *errbuf, size_t errlen)
{
    mode_t old = umask(077);
    int err = init_store(dir, department, device_name, out, errbuf, errlen);
    umask(old);
    return err;
}
