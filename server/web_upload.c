/* web_upload.c -- a posted multipart/form-data body (RFC 7578), as a
 * browser sends a form with a file (清单's import): the one part of a given
 * name, found without copying. Only what a form of this console sends is
 * accepted: a boundary of 1..70 bytes, at most WEB_PARTS parts, part
 * headers of at most 1 KiB with a Content-Disposition of form-data and a
 * quoted name; anything else is malformed. Nothing is decoded: a part is
 * its bytes (Content-Transfer-Encoding is not used by browsers).
 */
#include <string.h>
#include <strings.h>

#include "web_int.h"

#define WEB_PARTS 8
#define WEB_PART_HEADERS 1024

/* The first n-byte needle in hay (len bytes) at or after from; NULL if none. */
static const char *find(const char *hay, size_t len, size_t from, const char *needle, size_t n)
{
    for (size_t i = from; n <= len && i + n <= len; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* The boundary of a Content-Type "multipart/form-data; boundary=B" into
 * out ("--" B); 0, or -1. */
static int boundary(const char *type, char *out, size_t cap)
{
    const char *p;
    size_t n;
    if (!type || strncasecmp(type, "multipart/form-data", 19) != 0 ||
        !(p = strstr(type, "boundary=")))
        return -1;
    p += 9;
    if (*p == '"') {
        const char *e = strchr(++p, '"');
        if (!e)
            return -1;
        n = (size_t)(e - p);
    } else {
        n = strcspn(p, "; \t");
    }
    if (n < 1 || n > 70 || n + 3 > cap)
        return -1;
    out[0] = out[1] = '-';
    memcpy(out + 2, p, n);
    out[n + 2] = '\0';
    return 0;
}

/* The quoted value of attribute attr (name=, filename=) in a
 * Content-Disposition line [h, end) into out; 1 found, 0 absent, -1 bad. */
static int disp_attr(const char *h, const char *end, const char *attr, char *out, size_t cap)
{
    size_t al = strlen(attr);
    for (const char *p = h; p + al + 1 < end; p++) {
        const char *v, *e;
        if ((p != h && p[-1] != ' ' && p[-1] != ';') || strncasecmp(p, attr, al) != 0 ||
            p[al] != '=')
            continue;
        v = p + al + 1;
        if (v >= end || *v != '"')
            return -1;
        for (e = ++v; e < end && *e != '"'; e++)
            if ((unsigned char)*e < 0x20)
                return -1;
        if (e >= end || (size_t)(e - v) >= cap)
            return -1;
        memcpy(out, v, (size_t)(e - v));
        out[e - v] = '\0';
        return 1;
    }
    return 0;
}

int web_multipart_get(const srv_request *rq, const char *name, const uint8_t **val, size_t *len,
                      char *filename, size_t fcap)
{
    char delim[80];
    const char *body = (const char *)rq->body, *p;
    size_t blen = rq->body_len, dl, at;
    int parts = 0;

    if (boundary(srv_header_get(rq, "content-type"), delim, sizeof delim))
        return -1;
    dl = strlen(delim);
    /* The body starts with the first delimiter line. */
    if (blen < dl + 2 || memcmp(body, delim, dl) != 0)
        return -1;
    at = dl;
    for (;;) {
        const char *hend, *next, *line;
        char pname[128], fname[256];
        int got_name = 0;
        if (blen - at >= 2 && memcmp(body + at, "--", 2) == 0)
            return 0; /* the closing delimiter: not found */
        if (blen - at < 2 || memcmp(body + at, "\r\n", 2) != 0 || ++parts > WEB_PARTS)
            return -1;
        at += 2;
        if (!(hend = find(body, blen, at, "\r\n\r\n", 4)) ||
            (size_t)(hend - (body + at)) > WEB_PART_HEADERS)
            return -1;
        fname[0] = '\0';
        /* Each header line of the part. */
        for (line = body + at; line < hend;) {
            const char *le = find(body, (size_t)(hend - body), (size_t)(line - body), "\r\n", 2);
            if (!le)
                le = hend;
            if ((size_t)(le - line) > 20 && strncasecmp(line, "content-disposition:", 20) == 0) {
                const char *v = line + 20;
                while (v < le && *v == ' ')
                    v++;
                if ((size_t)(le - v) < 9 || strncasecmp(v, "form-data", 9) != 0 ||
                    disp_attr(v, le, "name", pname, sizeof pname) != 1 ||
                    disp_attr(v, le, "filename", fname, sizeof fname) < 0)
                    return -1;
                got_name = 1;
            }
            line = le + 2;
        }
        if (!got_name)
            return -1;
        at = (size_t)(hend - body) + 4;
        /* The content ends at CRLF and the next delimiter. */
        p = NULL;
        for (size_t from = at; (next = find(body, blen, from, "\r\n", 2)); from = (size_t)(next - body) + 2)
            if (blen - (size_t)(next - body) - 2 >= dl && memcmp(next + 2, delim, dl) == 0) {
                p = next;
                break;
            }
        if (!p)
            return -1;
        if (strcmp(pname, name) == 0) {
            *val = (const uint8_t *)body + at;
            *len = (size_t)(p - (body + at));
            if (filename && fcap) {
                size_t n = strlen(fname);
                if (n >= fcap)
                    n = fcap - 1;
                memcpy(filename, fname, n);
                filename[n] = '\0';
            }
            return 1;
        }
        at = (size_t)(p - body) + 2 + dl;
    }
}
