/* ui.h -- patrol ui, the inspector's touch interface: a second front end
 * of libpatrol beside the CLI, serving pages on loopback to the handheld's
 * own browser (docs/ui.md). It uses only include/patrol/patrol.h.
 *
 * Files, one noun each: main.c (options, the launch secret, the daemon),
 * http.c (requests: secret, Origin/Host, CSRF, size caps, headers, bodies),
 * html.c (the output buffer and the escaping helpers), form.c (forms from
 * the rules table, recording), pages.c (home, shift, subjects, matter,
 * evidence, document, verify), sync.c (the sync in a child process and its
 * page), tmp.c (this launch's temporary directory), assets.c (generated: client/ui/assets/
 * compiled in). Prefix ui_.
 */
#ifndef PATROL_UI_H
#define PATROL_UI_H

#include <stddef.h>
#include <stdint.h>

#include "i18n.h"
#include "patrol/patrol.h"

/* ---- limits ------------------------------------------------------------ */
#define UI_FORM_MAX (256u * 1024u)           /* a form without a file */
#define UI_UPLOAD_MAX (64u * 1024u * 1024u)  /* a request carrying a file */
#define UI_FIELDS_MAX 64                     /* fields in one request */
#define UI_VALUE_MAX (192u * 1024u)          /* one field's value (a signature's image) */
#define UI_SECRET_HEX 64                     /* 32 random bytes */

/* ---- html.c: the page buffer and the escaping helpers ------------------- */

typedef struct ubuf {
    char *p;
    size_t len, cap;
    int oom; /* an allocation failed: the page is incomplete, answer 500 */
} ubuf;

void ub_init(ubuf *b);
void ub_free(ubuf *b);
void ub_put(ubuf *b, const char *s, size_t n);
void ub_puts(ubuf *b, const char *s);

/* The three escapers: one for HTML text, one for attribute values (always
 * written in double quotes), one for a URL query component. NULL is "". */
void html_text(ubuf *b, const char *s);
void html_attr(ubuf *b, const char *s);
void html_url(ubuf *b, const char *s);

/* Write fmt, whose directives say how each argument is escaped:
 *   %t  const char *  HTML text        %a  const char *  attribute value
 *   %u  const char *  URL component    %r  const char *  raw markup (only
 *   %d  int           %U  uint64_t     string literals and this file's output)
 *   %%  a percent sign
 * There is no directive that writes a caller's string unescaped except %r. */
void h(ubuf *b, const char *fmt, ...);

/* 1 if s is a path of this site to return to ("/..."): not "//host",
 * "/\\host", nor with control characters or backslashes. */
int ui_local_path(const char *s);

/* A table text (kind label, field help, choice label) in the user's
 * language, "" for NULL. */
const char *ui_tr(const char *s);

/* ms since the epoch as Beijing time "YYYY-MM-DD HH:MM" (UTC+8, no DST). */
void ui_beijing(int64_t ms, char *out, size_t len);
/* Today's date in Beijing, "YYYY-MM-DD". */
void ui_today(char *out, size_t len);

/* ---- http.c: one request ------------------------------------------------ */

typedef struct ui_field {
    char *name;
    char *value;
} ui_field;

typedef struct ui_req {
    const char *method; /* "GET" or "POST" */
    const char *path;
    void *conn;         /* struct MHD_Connection * */
    ui_field fields[UI_FIELDS_MAX];
    size_t n_fields;
    /* A file field of a multipart POST, streamed to a private temp file. */
    char file_path[256];  /* "" if none */
    char file_name[256];
    char file_type[128];
    uint64_t file_size;
} ui_req;

/* A query argument (GET) or a body field (POST); NULL if absent. */
const char *ui_arg(const ui_req *r, const char *name);
/* The request's path with its query (arguments re-encoded), for a
 * return address; the path alone if it does not fit. */
void ui_request_uri(const ui_req *r, char *out, size_t len);
/* The CSRF token every form carries (hidden field "csrf"). */
const char *ui_csrf(void);

/* What a page handler answers: a page in b (status 200, or another
 * status), or a redirect to location. */
typedef struct ui_resp {
    int status;
    ubuf body;
    char location[512]; /* non-empty: 303 See Other */
    int refresh_s;      /* > 0: the page asks to be loaded again after that long */
    /* has_file: answer the file file_fd (file_size bytes, of file_type)
     * instead of the page; the answer closes it. */
    int has_file, file_fd;
    uint64_t file_size;
    char file_type[128];
} ui_resp;

/* ---- main.c: the state of the running server ---------------------------- */
typedef struct ui_app {
    patrol *p;
    const char *store_dir;
} ui_app;
extern ui_app ui_g;

/* ---- pages.c and form.c -------------------------------------------------- */

/* Route one authenticated request (secret, Host, Origin, CSRF checked). */
void ui_route(ui_req *r, ui_resp *out);

/* The page frame: head (title, stylesheet, script) and foot. */
void ui_page_begin(ubuf *b, const char *title);
void ui_page_end(ubuf *b);

/* Forms (form.c). */
void ui_form_page(ui_req *r, ui_resp *out, const char *kind, const char *error);
void ui_record_post(ui_req *r, ui_resp *out);
/* The inspectors on duty (the last shift.start not yet ended): up to max
 * ids copied into ids[i] (PATROL_ID_MAX each); returns how many. */
size_t ui_on_duty(char ids[][PATROL_ID_MAX], size_t max, char *shift, size_t shift_len);

/* sign.c: signatures on the screen (送达回证, the subject's answer to
 * consent, interview minutes): kinds with a "signature" field. */
int ui_kind_signed(const char *kind);
/* The pad (its strokes and image in the hidden fields sig_strokes and
 * sig_png). */
void ui_sign_pad(ubuf *b);
/* Record an entry of a signed kind (in: kind, target -- the matter, or
 * the document delivered --, fields, inspectors, location): check the
 * signature drawn on the pad (strokes and image) or the refusal to sign
 * (its witness, its photo or video), then record the entry and those
 * files as evidence of the matter with patrol_record_with_evidence, which
 * checks the entry before it stores a file and commits the files'
 * entries and the entry (fields signature and signature_image: their
 * SHA-256) in one transaction. 0 and *out, or -1 with a sentence for the
 * person in err: then nothing is recorded. */
int ui_sign_record(const ui_req *r, patrol_record_in *in, patrol_saved *out, char *err,
                   size_t errlen);

/* tmp.c: this launch's private temporary directory ($TMPDIR or /tmp,
 * "patrol-ui.XXXXXX", 0700, held by a lock while the process lives), where
 * uploads and signatures wait for their import. init (at launch): first
 * remove what launches that died (kill -9, power loss) left behind; -1 if
 * no directory can be made. dir: a new private directory in it named
 * WHAT-XXXXXX, written to out; -1 on failure. fini: remove it (at exit). */
int ui_tmp_init(void);
int ui_tmp_dir(char *out, size_t len, const char *what);
void ui_tmp_fini(void);

/* lock.c: the optional PIN after idle. init: pin 4-12 digits (-1 if
 * not), idle in seconds. gate: called for every authenticated request
 * before routing; 1 if it answered (locked: the unlock page; or the
 * unlock itself, which may record a form carried through it). */
int ui_lock_init(const char *pin, unsigned idle_s);
int ui_lock_gate(ui_req *r, ui_resp *out);
void ui_lock_wipe(void);

/* sync.c: the sync, run by a child process beside the pages. init: find
 * this program (at launch). child: the hidden mode "--sync-child --store
 * DIR" (its exit status). page: GET shows progress or the last result,
 * POST starts a sync. */
void ui_sync_init(const char *argv0);
int ui_sync_child(const char *store);
void ui_sync_page(ui_req *r, ui_resp *out);

/* Pages (pages.c). */
void ui_home(ui_req *r, ui_resp *out);
void ui_error_page(ui_resp *out, int status, const char *title, const char *msg);

/* ---- assets.c (generated) ---------------------------------------------- */
typedef struct ui_asset {
    const char *name; /* "style.css" */
    const unsigned char *data;
    size_t size;
} ui_asset;
const ui_asset *ui_asset_find(const char *name);

#endif
