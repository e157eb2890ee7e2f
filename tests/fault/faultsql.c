/* faultsql.c -- see faultsql.h. */
#include "faultsql.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

const char *const faultsql_kind_name[FAULT_KINDS] = {"xOpen", "xWrite", "xSync", "malloc"};

static struct {
    int armed;
    fault_kind kind;
    unsigned long n, seen;
    int persistent, fired;
} F;

/* Called at every operation of kind k: 1 if this one must fail. */
static int fault_now(fault_kind k)
{
    if (!F.armed || F.kind != k)
        return 0;
    F.seen++;
    if (F.seen == F.n || (F.persistent && F.seen > F.n)) {
        F.fired = 1;
        return 1;
    }
    return 0;
}

void faultsql_arm(fault_kind kind, unsigned long n, int persistent)
{
    F.kind = kind;
    F.n = n;
    F.seen = 0;
    F.persistent = persistent;
    F.fired = 0;
    F.armed = 1;
}

unsigned long faultsql_disarm_count(void)
{
    F.armed = 0;
    return F.seen;
}

int faultsql_disarm(void)
{
    F.armed = 0;
    return F.fired;
}

/* ---- the allocator ----------------------------------------------------- */

static sqlite3_mem_methods real_mem;

static void *m_malloc(int n)
{
    return fault_now(FAULT_MALLOC) ? NULL : real_mem.xMalloc(n);
}

static void *m_realloc(void *p, int n)
{
    return fault_now(FAULT_MALLOC) ? NULL : real_mem.xRealloc(p, n);
}

static void m_free(void *p)
{
    real_mem.xFree(p);
}

static int m_size(void *p)
{
    return real_mem.xSize(p);
}

static int m_roundup(int n)
{
    return real_mem.xRoundup(n);
}

static int m_init(void *ud)
{
    return real_mem.xInit(ud);
}

static void m_shutdown(void *ud)
{
    real_mem.xShutdown(ud);
}

/* ---- the VFS shim -------------------------------------------------------- */

typedef struct shim_file {
    sqlite3_file base;
    sqlite3_file *real; /* right after this struct, szOsFile of the real VFS */
} shim_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;

#define REAL(f) (((shim_file *)(f))->real)

static int f_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}

static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    if (fault_now(FAULT_WRITE))
        return SQLITE_IOERR_WRITE;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    if (fault_now(FAULT_SYNC))
        return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int f_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int f_check_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods shim_io = {
    3,           f_close,      f_read,          f_write,     f_truncate, f_sync,
    f_size,      f_lock,       f_unlock,        f_check_lock, f_control, f_sector,
    f_device,    f_shm_map,    f_shm_lock,      f_shm_barrier, f_shm_unmap, f_fetch,
    f_unfetch,
};

static int v_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    shim_file *s = (shim_file *)f;
    int rc;

    (void)v;
    s->base.pMethods = NULL;
    s->real = (sqlite3_file *)(s + 1);
    if (fault_now(FAULT_OPEN))
        return SQLITE_CANTOPEN;
    rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out);
    if (rc == SQLITE_OK && s->real->pMethods)
        s->base.pMethods = &shim_io;
    return rc;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return real_vfs->xDelete(real_vfs, name, sync);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int v_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void v_dlerror(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    real_vfs->xDlError(real_vfs, n, out);
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void v_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    real_vfs->xDlClose(real_vfs, h);
}

static int v_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return real_vfs->xSleep(real_vfs, us);
}

static int v_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int v_lasterr(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int faultsql_install(void)
{
    static sqlite3_mem_methods shim_mem = {m_malloc, m_free, m_realloc, m_size,
                                           m_roundup, m_init, m_shutdown, NULL};
    int rc;

    if ((rc = sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem)) != SQLITE_OK ||
        (rc = sqlite3_config(SQLITE_CONFIG_MALLOC, &shim_mem)) != SQLITE_OK) {
        fprintf(stderr, "faultsql: sqlite3_config: %s (SQLite initialised already?)\n",
                sqlite3_errstr(rc));
        return -1;
    }
    if ((rc = sqlite3_initialize()) != SQLITE_OK || !(real_vfs = sqlite3_vfs_find(NULL))) {
        fprintf(stderr, "faultsql: sqlite3_initialize: %s\n", sqlite3_errstr(rc));
        return -1;
    }
    if (real_vfs->iVersion < 2) {
        fprintf(stderr, "faultsql: the default VFS is too old (version %d)\n", real_vfs->iVersion);
        return -1;
    }
    memset(&shim_vfs, 0, sizeof shim_vfs);
    shim_vfs.iVersion = 2;
    shim_vfs.szOsFile = (int)sizeof(shim_file) + real_vfs->szOsFile;
    shim_vfs.mxPathname = real_vfs->mxPathname;
    shim_vfs.zName = "faultsql";
    shim_vfs.xOpen = v_open;
    shim_vfs.xDelete = v_delete;
    shim_vfs.xAccess = v_access;
    shim_vfs.xFullPathname = v_full;
    shim_vfs.xDlOpen = v_dlopen;
    shim_vfs.xDlError = v_dlerror;
    shim_vfs.xDlSym = v_dlsym;
    shim_vfs.xDlClose = v_dlclose;
    shim_vfs.xRandomness = v_random;
    shim_vfs.xSleep = v_sleep;
    shim_vfs.xCurrentTime = v_time;
    shim_vfs.xGetLastError = v_lasterr;
    shim_vfs.xCurrentTimeInt64 = v_time64;
    if ((rc = sqlite3_vfs_register(&shim_vfs, 1)) != SQLITE_OK) {
        fprintf(stderr, "faultsql: sqlite3_vfs_register: %s\n", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}
