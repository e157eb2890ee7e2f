/* web_media.c -- a matter's evidence file for the browser:
 * GET /matters/ID/evidence/SHA256, with single HTTP byte ranges (RFC 9110
 * §14) so that <audio> and <video> can seek (web_int.h).
 *
 * The file must be named by an evidence entry of that matter, held whole,
 * and the matter visible to the account (a reviewer: its department). The
 * Content-Type comes from the file's first bytes, never from the request
 * (nosniff is on). A response carries at most WEB_MEDIA_CHUNK bytes: an
 * open range ("bytes=N-") is answered with that much and its
 * Content-Range; a request without Range for a larger file is refused 413
 * (browsers' media elements always ask for ranges). A range beyond the end,
 * a malformed one or several ranges are answered 416 with
 * "Content-Range: bytes * / SIZE". Opening the matter's page was the logged
 * view; reading its files is not logged again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "validate.h"
#include "web_int.h"

#define WEB_MEDIA_CHUNK (4u << 20)
#define WEB_MEDIA_WHOLE (16u << 20)

static const char *type_of(const uint8_t *h, size_t n)
{
    if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff)
        return "image/jpeg";
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WAVE", 4) == 0)
        return "audio/wav";
    if (n >= 4 && memcmp(h, "OggS", 4) == 0)
        return "audio/ogg";
    if (n >= 3 && memcmp(h, "ID3", 3) == 0)
        return "audio/mpeg";
    if (n >= 12 && memcmp(h + 4, "ftyp", 4) == 0)
        return memcmp(h + 8, "M4A", 3) == 0 ? "audio/mp4" : "video/mp4";
    if (n >= 4 && memcmp(h, "\x1a\x45\xdf\xa3", 4) == 0)
        return "video/webm";
    return "application/octet-stream";
}

/* "bytes=A-B", "bytes=A-" or "bytes=-N" against size: the first and last
 * byte. 0, or -1 (malformed, several, unsatisfiable). */
static int parse_range(const char *r, uint64_t size, uint64_t *first, uint64_t *last)
{
    char a[24] = "", b[24] = "";
    const char *dash;
    uint64_t x, y;
    if (strncmp(r, "bytes=", 6) != 0 || strchr(r, ',') || !(dash = strchr(r + 6, '-')))
        return -1;
    if ((size_t)(dash - (r + 6)) >= sizeof a || strlen(dash + 1) >= sizeof b)
        return -1;
    memcpy(a, r + 6, (size_t)(dash - (r + 6)));
    snprintf(b, sizeof b, "%s", dash + 1);
    if (size == 0)
        return -1;
    if (!a[0]) { /* the last N bytes */
        if (!b[0] || px_parse_u64(b, 1, UINT64_MAX, &y))
            return -1;
        *first = y >= size ? 0 : size - y;
        *last = size - 1;
        return 0;
    }
    if (px_parse_u64(a, 0, UINT64_MAX, &x) || x >= size)
        return -1;
    if (!b[0])
        y = size - 1;
    else if (px_parse_u64(b, 0, UINT64_MAX, &y) || y < x)
        return -1;
    *first = x;
    *last = y >= size ? size - 1 : y;
    return 0;
}

void web_media(web_ctx *c, const char *matter, const char *sha)
{
    st_imatter m;
    char path[4200], hdr[200];
    const char *range = srv_header_get(c->rq, "range");
    uint64_t size, first = 0, last, n;
    uint8_t head[16], *body = NULL;
    struct stat sb;
    int fd = -1, found = 0, rc, status = 200;
    ssize_t got;

    memset(&m, 0, sizeof m);
    if (px_check_ident(matter) || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64) {
        web_refuse(c, 400, _("The matter id or the evidence id is not valid."));
        return;
    }
    rc = c->db->ops->matter_get(c->db, matter, &m);
    if (rc != ST_OK) {
        web_refuse(c, rc == ST_NOTFOUND ? 404 : 503, _("There is no such matter."));
        return;
    }
    if (c->who->department[0] && strcmp(c->who->department, m.department) != 0) {
        st_imatter_release(&m);
        web_refuse(c, 403, _("A reviewer may only see the matters of its own department."));
        return;
    }
    for (size_t i = 0; i < m.nevidence; i++)
        if (strcmp(m.evidence[i].sha256, sha) == 0 && m.evidence[i].complete)
            found = 1;
    st_imatter_release(&m);
    if (!found) {
        web_refuse(c, 404, _("This matter names no such evidence file (received whole)."));
        return;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/evidence/%.2s/%s", c->a->data_dir, sha, sha) >=
            sizeof path ||
        (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        web_refuse(c, 404, _("The evidence file is not on the server."));
        return;
    }
    size = (uint64_t)sb.st_size;
    got = pread(fd, head, sizeof head, 0);
    if (range) {
        if (parse_range(range, size, &first, &last) != 0) {
            close(fd);
            snprintf(hdr, sizeof hdr, "Content-Range: bytes */%" PRIu64 "\r\n", size);
            web_refuse(c, 416, _("The byte range asked for is not valid or lies beyond the file."));
            web_add_header(c, hdr);
            return;
        }
        if (last - first + 1 > WEB_MEDIA_CHUNK)
            last = first + WEB_MEDIA_CHUNK - 1;
        status = 206;
    } else {
        if (size > WEB_MEDIA_WHOLE) {
            close(fd);
            web_refuse(c, 413, _("The file is large: open it with a player that reads it in ranges."));
            return;
        }
        last = size ? size - 1 : 0;
    }
    n = size ? last - first + 1 : 0;
    if (!(body = malloc(n ? (size_t)n : 1))) {
        close(fd);
        web_refuse(c, 503, _("out of memory"));
        return;
    }
    for (uint64_t off = 0; off < n;) {
        ssize_t r = pread(fd, body + off, (size_t)(n - off), (off_t)(first + off));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            free(body);
            web_refuse(c, 500, _("The evidence file cannot be read."));
            return;
        }
        off += (uint64_t)r;
    }
    close(fd);
    if (status == 206)
        snprintf(hdr, sizeof hdr, "Accept-Ranges: bytes\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
                                  "/%" PRIu64 "\r\n",
                 first, last, size);
    else
        snprintf(hdr, sizeof hdr, "Accept-Ranges: bytes\r\n");
    web_send(c, status, type_of(head, got > 0 ? (size_t)got : 0), body, (size_t)n, hdr);
}
