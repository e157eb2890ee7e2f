/* web_int.h -- what the console's files share (web.c: listener, sessions,
 * login; web_pages.c: the pages). Not for the rest of patrold. */
#ifndef SRV_WEB_INT_H
#define SRV_WEB_INT_H

#include "app.h"
#include "i18n.h" /* every label goes through _() (docs/console.md) */
#include "net.h"
#include "storage.h"
#include "web_html.h"

#define WEB_IDLE_MS (30 * 60 * 1000)       /* a session unused this long ends */
#define WEB_ABSOLUTE_MS (12 * 3600 * 1000) /* and any session after this */
#define WEB_FORM_MAX 8192                  /* bytes of a posted form */
#define WEB_UPLOAD_MAX (4u << 20)          /* bytes of a posted 清单 file (POST /lists/import) */

/* The account behind a request, as checked for it (the account is read
 * again on every request: disabling it ends its sessions at once). */
typedef struct web_who {
    char name[72], role[16], department[72];
    char csrf[48]; /* this session's form token */
} web_who;

typedef struct web_ctx {
    app *a;
    st_backend *db;
    const srv_request *rq;
    srv_response *rs;
    const web_who *who; /* NULL before login */
} web_ctx;

/* The page frame: head, navigation for who's role, then body, then the
 * end; answered with status. body is the page's own markup. */
void web_page(web_ctx *c, int status, const char *title, const web_buf *body);
/* A refusal page with one sentence (and the status). */
void web_refuse(web_ctx *c, int status, const char *sentence);
/* 303 to a path of this site, with the security headers. */
void web_redirect(web_ctx *c, const char *to);
/* A hidden input with this session's CSRF token. */
void web_csrf_field(const web_ctx *c, web_buf *b);
/* Append a leaf to the server log in its own transaction (text as
 * docs/console.md "Server log leaves"); 0 or -1. */
int web_leaf(web_ctx *c, const char *text, size_t len);
/* "2026-11-29 11:23" in Beijing time (UTC+8). */
void web_beijing(int64_t ms, char *out, size_t len);

/* The pages (web_pages.c); each answers c->rs. */
void web_page_dashboard(web_ctx *c);
void web_page_users(web_ctx *c);
void web_post_user_disable(web_ctx *c);
/* 事项 (web_matters.c): the list (?department= &state= &domain= &q=
 * &page=) and one matter (id from the path, /matters/ID). */
void web_page_matters(web_ctx *c);
void web_page_matter(web_ctx *c, const char *id);
/* The matter's page with confidential fields shown (POST /matters/ID/reveal,
 * supervisor or admin; the view leaf says "revealed"). */
void web_post_reveal(web_ctx *c, const char *id);
void web_matter_page(web_ctx *c, const char *id, int reveal);
/* Open matter id for the account behind c: refused (answered, -1) when
 * the id is malformed, unknown, or of another department for a reviewer;
 * else its view leaf ("patrol-view", redacted or revealed, "web:" account)
 * is appended before anything is shown (refused if the log cannot) and
 * 0 with *m filled (st_imatter_release). web_matters.c. */
int web_matter_open(web_ctx *c, const char *id, int reveal, st_imatter *m);
/* web_record.c: the 全过程记录 table of audit_timeline_json's document tl,
 * with corrections in effect and rule flags; 0. */
struct cJSON;
int web_record_table(web_buf *b, const struct cJSON *tl);
/* GET /matters/ID/documents: the matter's 柔性执法意见书 for printing. */
void web_page_documents(web_ctx *c, const char *id);
/* 报表 (web_reports.c): the page and GET /reports/download?period=&format=. */
void web_page_reports(web_ctx *c);
void web_report_download(web_ctx *c);
/* A file to download: body (malloc'd, taken over) as filename (an
 * identifier-like name: [A-Za-z0-9._-]). */
void web_download(web_ctx *c, const char *type, const char *filename, uint8_t *body, size_t len);
/* Run this patrold (/proc/self/exe) with argv (argv[0] "patrold", NULL
 * ended) as a child, stderr to /dev/null; its stdout, which must be JSON,
 * into *out (malloc'd). 0, or -1. The console's way of showing what an
 * audit command computes without computing it again (web_integrity.c). */
int web_run_self(char *const argv[], char **out);
/* 完整性 (web_integrity.c): the last audit verify; POST runs it again. */
void web_page_integrity(web_ctx *c);
void web_post_verify(web_ctx *c);
/* GET /matters/ID/evidence/SHA (web_media.c), with byte ranges. */
void web_media(web_ctx *c, const char *matter, const char *sha);
/* Answer status with body (malloc'd, taken over), its type and extra
 * header lines (besides the security headers). */
void web_send(web_ctx *c, int status, const char *type, uint8_t *body, size_t len,
              const char *headers);
/* Append header lines to an answer already made (if they fit). */
void web_add_header(web_ctx *c, const char *lines);
/* POST /matters/ID/export (web_export.c): the matter's archive. */
void web_post_export(web_ctx *c, const char *id);
/* 清单 (web_lists.c): the reference data's versions (?version=N, else
 * the latest); POST /lists/import (admin, multipart): a new version from
 * the file patrold lists import reads, with the same checks. */
void web_page_lists(web_ctx *c);
void web_post_lists_import(web_ctx *c);
/* web_upload.c: the part called name of a multipart/form-data POST: 1
 * with its bytes (*val into rq->body, *len) and its file name (if any,
 * cut to fcap - 1 bytes) in filename; 0 if the form has no such part; -1
 * if the body is not a well-formed form of this console. */
int web_multipart_get(const srv_request *rq, const char *name, const uint8_t **val, size_t *len,
                      char *filename, size_t fcap);
/* 回访/文书 (web_followups.c). */
void web_page_followups(web_ctx *c);
/* 终端 (web_devices.c), admin only. */
void web_page_devices(web_ctx *c);
void web_post_device_add(web_ctx *c);
void web_post_device_revoke(web_ctx *c);

#endif
