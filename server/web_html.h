/* web_html.h -- the console's output buffer and its escaping helpers
 * (cgit's html_* model): every byte of data that reaches a page goes
 * through web_text (element text), web_attr (a quoted attribute value) or
 * web_url (a URL component), never a hand-built string. */
#ifndef SRV_WEB_HTML_H
#define SRV_WEB_HTML_H

#include <stddef.h>
#include <stdint.h>

/* A growing buffer. Starts zeroed ({0}); a failed allocation sets oom and
 * later appends do nothing, so callers check once, at the end. */
typedef struct web_buf {
    char *p;
    size_t len, cap;
    int oom;
} web_buf;

void web_put(web_buf *b, const char *s, size_t n);
void web_puts(web_buf *b, const char *s); /* markup written by the program */
void web_printf(web_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Data as element text: & < > " ' escaped; bytes below 0x20 other than
 * tab and newline dropped. */
void web_text(web_buf *b, const char *s);
/* A formatted text (a translated message, _("...%d..."), with its
 * arguments) as element text: formatted, then escaped as web_text. */
void web_textf(web_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* An element with text: "<" open ">" text (escaped) "</" name ">", where
 * open is markup written by the program ("th", "p class=\"x\"") and name
 * its first word. */
void web_tag(web_buf *b, const char *open, const char *text);
/* "<thead><tr>" a th of each label (NULL ended, escaped) "</tr></thead>". */
void web_thead(web_buf *b, const char *const *labels);
/* Data as a double-quoted attribute value: as web_text. */
void web_attr(web_buf *b, const char *s);
/* Data as one URL component: everything but [A-Za-z0-9._~-]
 * percent-encoded. */
void web_url(web_buf *b, const char *s);
void web_buf_free(web_buf *b); /* NULL-safe */

/* From an application/x-www-form-urlencoded body (or a query string):
 * the value of field name, decoded ('+' is a space), into out. 1 found,
 * 0 absent, -1 malformed (bad %XX, a NUL, longer than cap - 1). */
int web_form_get(const char *body, size_t len, const char *name, char *out, size_t cap);

#endif
