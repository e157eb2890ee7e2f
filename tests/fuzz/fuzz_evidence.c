/* fuzz_evidence.c -- libFuzzer harness for patrold's evidence upload (tus
 * 1.0 style: HEAD -> Upload-Offset, PATCH at that offset) through
 * app_handle(): the evidence id in the path, the Upload-Offset header's
 * number, the optional LZ4 chunk, appending to the partial file and
 * completing it only when its SHA-256 matches.
 *
 * The server (fx_server.h) expects one file from its device: FX_EVIDENCE_LEN
 * bytes, byte i = fx_evidence_byte(i). Input layout:
 *   byte 0  bit 0: HEAD (else PATCH)
 *           bit 1: the path's id is the next 64 input bytes (else the
 *                  expected file's id)
 *           bits 2-3: before the request the partial file holds k * 1000
 *                  bytes of the right content (k = 0..3)
 *           bit 4: no client certificate
 *           bit 5: the body is LZ4-framed by the harness (with
 *                  "upload-encoding: lz4" among the headers, the server
 *                  gets a valid frame)
 *           bit 6: the body is replaced by the right content from the
 *                  offset the headers claim (so completion is reachable)
 *   then    header lines "name: value\n" up to an empty line, then the body.
 * The server is put back to its template before each input.
 *
 * Checks beyond sanitizers: every answer carrying Upload-Offset has it
 * within 0..Upload-Length and equal to the partial file's size (what the
 * server says it holds is what it holds); the partial file never holds
 * more than the expected size, whatever the request said; a completed
 * file is the expected content exactly (wrong bytes are caught only at
 * completion: a partial file may hold them until then).
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "fx_server.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 16

static void write_prefix(const char *path, size_t n)
{
    uint8_t buf[FX_EVIDENCE_LEN];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd < 0)
        abort();
    for (size_t i = 0; i < n; i++)
        buf[i] = fx_evidence_byte(i);
    if (write(fd, buf, n) != (ssize_t)n)
        abort();
    close(fd);
}

/* The file at path, if any: never more than the expected size; when
 * whole (a completed file), exactly the expected content. A partial file
 * may hold wrong bytes: the server can tell only once it is complete (tus
 * chunks carry no checksum here), and then discards it. Returns its size,
 * or -1 when there is no file. */
static long check_file(const char *path, int whole)
{
    uint8_t buf[FX_EVIDENCE_LEN + 1];
    int fd = open(path, O_RDONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0 || (size_t)n > FX_EVIDENCE_LEN || (whole && (size_t)n != FX_EVIDENCE_LEN))
        abort();
    for (ssize_t i = 0; whole && i < n; i++)
        if (buf[i] != fx_evidence_byte((size_t)i))
            abort();
    return (long)n;
}

/* A number after "name: " in the extra headers, or -1. */
static long long header_number(const char *extra, const char *name)
{
    const char *p = strstr(extra, name);
    uint64_t v;
    char num[32];
    size_t n = 0;

    if (!p)
        return -1;
    p += strlen(name);
    while (p[n] >= '0' && p[n] <= '9' && n < sizeof num - 1) {
        num[n] = p[n];
        n++;
    }
    num[n] = '\0';
    if (px_parse_u64(num, 0, INT64_MAX, &v) != NULL)
        abort(); /* the server wrote a header it cannot read back */
    return (long long)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fx_server *f = fx_get();
    char path[128], partial[512], final[512], extra[600];
    char text[4096], *names[MAX_HEADERS], *values[MAX_HEADERS];
    srv_header hdrs[MAX_HEADERS];
    size_t nh = 0, tlen, blen;
    const uint8_t *body;
    uint8_t *framed = NULL, right[FX_EVIDENCE_LEN];
    const char *why;
    unsigned mode;
    long long off, len;
    long psize;
    int status;

    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    size--;
    fx_reset(f);
    if (mode & 2) {
        if (size < 64)
            return 0;
        snprintf(path, sizeof path, "/v1/evidence/%.*s", 64, (const char *)data);
        if (memchr(data, '\0', 64))
            return 0; /* a path never holds NUL: the parser ends it there */
        data += 64;
        size -= 64;
    } else {
        snprintf(path, sizeof path, "/v1/evidence/%s", f->evidence_sha);
    }
    snprintf(partial, sizeof partial, "%s/evidence/partial/%lld-%s", f->dir,
             (long long)f->dev_id, f->evidence_sha);
    snprintf(final, sizeof final, "%s/evidence/%.2s/%s", f->dir, f->evidence_sha,
             f->evidence_sha);
    if ((mode >> 2) & 3)
        write_prefix(partial, ((mode >> 2) & 3) * 1000u);

    /* Header lines up to an empty line (or the end of the input). */
    for (tlen = 0; tlen + 1 < size; tlen++)
        if (data[tlen] == '\n' && data[tlen + 1] == '\n')
            break;
    if (tlen + 1 >= size)
        tlen = size;
    if (tlen >= sizeof text)
        return 0;
    memcpy(text, data, tlen);
    text[tlen] = '\0';
    if (strlen(text) != tlen)
        return 0; /* NUL in the header section: http-parser refuses it first */
    body = tlen + 2 <= size ? data + tlen + 2 : data + size;
    blen = tlen + 2 <= size ? size - tlen - 2 : 0;
    for (char *line = text, *next; line && *line && nh < MAX_HEADERS; line = next) {
        char *colon;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!(colon = strchr(line, ':')))
            continue;
        *colon = '\0';
        for (char *c = line; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        names[nh] = line;
        values[nh] = colon + 1 + (colon[1] == ' ');
        hdrs[nh].name = names[nh];
        hdrs[nh].value = values[nh];
        nh++;
    }
    if (mode & 64) {
        /* The right bytes from the claimed offset on, as many as the body had. */
        const char *claimed = srv_header_get(&(srv_request){.headers = hdrs, .n_headers = nh},
                                             "upload-offset");
        uint64_t at;
        if (claimed && px_parse_u64(claimed, 0, FX_EVIDENCE_LEN, &at) == NULL) {
            size_t n = blen < FX_EVIDENCE_LEN - at ? blen : FX_EVIDENCE_LEN - (size_t)at;
            for (size_t i = 0; i < n; i++)
                right[i] = fx_evidence_byte((size_t)at + i);
            body = right;
            blen = n;
        }
    }
    if (mode & 32) {
        size_t flen;
        if (px_frame_encode(body, blen, &framed, &flen, &why) == 0) {
            body = framed;
            blen = flen;
        }
    }
    status = fx_request(f, mode & 1 ? "HEAD" : "PATCH", path, hdrs, nh, body, blen,
                        !(mode & 16), extra, sizeof extra);
    off = header_number(extra, "Upload-Offset: ");
    len = header_number(extra, "Upload-Length: ");
    if (off >= 0 && (len < 0 || off > len))
        abort();
    if (len >= 0 && len != FX_EVIDENCE_LEN)
        abort();
    if (strstr(extra, "Upload-Complete: 1") && access(final, F_OK) != 0)
        abort();
    if (status == 204 && off < 0)
        abort(); /* a PATCH that went through says where the upload stands */
    psize = check_file(partial, 0);
    check_file(final, 1);
    /* What the server says it holds is what it holds. */
    if (off >= 0 && !strstr(extra, "Upload-Complete: 1") && psize != off && !(psize < 0 && off == 0))
        abort();
    free(framed);
    return 0;
}
