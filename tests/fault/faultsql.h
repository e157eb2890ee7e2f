/* faultsql.h -- injected failures under SQLite, in the manner of SQLite's
 * own fault loops (its test_vfs.c and test_malloc.c): a VFS shim over the
 * default VFS, made the default, that fails the Nth xOpen, xWrite or xSync,
 * and an allocator wrapper that fails the Nth allocation.
 *
 * Call faultsql_install() first thing in main, before anything touches
 * SQLite (SQLITE_CONFIG_MALLOC works only before sqlite3_initialize).
 * Then, around each attempt: faultsql_arm(kind, n, persistent) -- the nth
 * call of that kind from now fails, and with persistent every call after
 * it too (a disk that stays full); faultsql_disarm() returns whether the
 * failure was injected (the operation reached the nth call).
 */
#ifndef FAULTSQL_H
#define FAULTSQL_H

typedef enum { FAULT_OPEN, FAULT_WRITE, FAULT_SYNC, FAULT_MALLOC, FAULT_KINDS } fault_kind;

extern const char *const faultsql_kind_name[FAULT_KINDS];

/* 0, or -1 with a message on stderr. */
int faultsql_install(void);
void faultsql_arm(fault_kind kind, unsigned long n, int persistent);
/* 1 if at least one call failed since faultsql_arm, else 0. */
int faultsql_disarm(void);
/* Disarm; how many calls of the armed kind were made since faultsql_arm
 * (arm with n = (unsigned long)-1 to count without failing). */
unsigned long faultsql_disarm_count(void);

#endif
