/* audit_archive.h -- what `audit export` (audit_export.c) and `audit
 * verify-archive` (audit_verify_archive.c) share: the archive's fixed
 * names and limits, a growable buffer, the two HTML escapers, Beijing
 * dates. The layout is described at the top of audit_export.c and in
 * docs/server.md "Audit: verify and archives". */
#ifndef SRV_AUDIT_ARCHIVE_H
#define SRV_AUDIT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#define AR_FORMAT "patrol-archive-1"
#define AR_SUMS "SHA256SUMS"
#define AR_SUMS_SIG "SHA256SUMS.sig"
#define AR_SERVER_KEY "server-key.pem"
#define AR_PATH_MAX 160 /* bytes of a member's path */

/* A growable NUL-terminated buffer; zero-initialise it. On allocation
 * failure oom is set and further appends do nothing. Free with ar_free. */
typedef struct ar_buf {
    char *p;
    size_t n, cap;
    int oom;
} ar_buf;

void ar_put(ar_buf *b, const void *s, size_t n);
void ar_puts(ar_buf *b, const char *s);
void ar_printf(ar_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void ar_free(ar_buf *b);

/* Append s escaped for HTML text (& < > " ') / for a double-quoted
 * attribute value (anything but letters, digits, - _ . / and UTF-8 as
 * &#N;). Every text an archive's HTML shows goes through one of them. */
void html_text(ar_buf *b, const char *s);
void html_attr(ar_buf *b, const char *s);

/* "YYYY-MM-DD" (with_time 0) or "YYYY-MM-DD HH:MM:SS" in Beijing time
 * (UTC+8) of ms since 1970 UTC. */
void ar_beijing(int64_t ms, char *out, size_t len, int with_time);

#endif
