/* sync_token.c -- the enrolment token (docs/protocol.md "Enrolment"):
 * "PT1.<id>.<secret>.<pin>", parsed and checked before anything is sent
 * (px_token_parse, internal.h). Moved from sync.c, behaviour unchanged. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include "tls.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Exactly `want` bytes of unpadded base64url. */
static int b64url_exact(const char *s, size_t len, uint8_t *out, size_t want)
{
    uint8_t buf[64];
    size_t n = 0;
    int rc = -1;
    if (len == 0 || len > 86 || memchr(s, '=', len))
        return -1;
    if (px_base64url_decode(s, len, buf, sizeof buf, &n) == 0 && n == want) {
        memcpy(out, buf, want);
        rc = 0;
    }
    px_wipe(buf, sizeof buf);
    return rc;
}

int px_token_parse(const char *s, px_token *out, const char **why)
{
    const char *part[4], *end;
    size_t len[4], k = 0;
    uint8_t id[PX_TOKEN_ID_LEN], secret[PX_TOKEN_SECRET_LEN];
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!s) {
        *why = "no token given";
        return -1;
    }
    while (is_space(*s))
        s++;
    end = s + strlen(s);
    while (end > s && is_space(end[-1]))
        end--;
    if (end == s) {
        *why = "the token is empty";
        return -1;
    }
    if (end - s > 200) {
        *why = "the token is too long to be an enrolment token";
        return -1;
    }
    part[0] = s;
    for (const char *q = s; q < end; q++)
        if (*q == '.') {
            if (k == 3) {
                *why = "the token has too many parts (expected PT1.<id>.<secret>.<pin>)";
                return -1;
            }
            len[k] = (size_t)(q - part[k]);
            part[++k] = q + 1;
        }
    if (k != 3) {
        *why = "the token has too few parts (expected PT1.<id>.<secret>.<pin>)";
        return -1;
    }
    len[3] = (size_t)(end - part[3]);
    if (len[0] != 3 || memcmp(part[0], "PT", 2) != 0) {
        *why = "not an enrolment token (it must start with PT1.)";
        return -1;
    }
    if (part[0][2] != '1') {
        *why = "the token is of a newer format than this patrol knows (PT1): update patrol";
        return -1;
    }
    if (b64url_exact(part[1], len[1], id, sizeof id) != 0) {
        *why = "the token's id is not 8 bytes of base64url";
        goto exit;
    }
    if (b64url_exact(part[2], len[2], secret, sizeof secret) != 0) {
        *why = "the token's secret is not 16 bytes of base64url";
        goto exit;
    }
    if (b64url_exact(part[3], len[3], out->pin, sizeof out->pin) != 0) {
        *why = "the token's server key pin is not a SHA-256 in base64url";
        goto exit;
    }
    /* id and secret are sent as they were written (11 and 22 characters). */
    snprintf(out->id_secret, sizeof out->id_secret, "%.*s.%.*s", (int)len[1], part[1],
             (int)len[2], part[2]);
    rc = 0;
exit:
    px_wipe(secret, sizeof secret);
    if (rc != 0)
        px_wipe(out, sizeof *out);
    return rc;
}
