/* store_sqlite_report.h -- the SQLite backend's operations for reports
 * (storage.h "reports"), in store_sqlite_report.c; the connection comes
 * from store_sqlite.c through store_sqlite_index.h (sq_db, sq_fail). */
#ifndef SRV_STORE_SQLITE_REPORT_H
#define SRV_STORE_SQLITE_REPORT_H

#include "storage.h"

int sqr_report_entries(st_backend *b, int (*cb)(void *ud, const st_report_row *r), void *ud);
int sqr_filing_put(st_backend *b, const st_filing *f, int64_t *version);
int sqr_filings_list(st_backend *b, const char *period, const char *department,
                     int (*cb)(void *ud, const st_filing *f), void *ud);

#endif
