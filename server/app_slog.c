/* app_slog.c -- GET /v1/log/ (docs/log.md): the server log's checkpoint
 * (signed now if leaves came since the latest) and its inclusion and
 * consistency proofs, as text. The log itself is slog.c. Moved from
 * app.c, behaviour unchanged. */
#include "app_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slog.h"
#include "validate.h"

/* The value of name=N in a query such as "leaf=3&size=9"; -1 if absent
 * or not a number 0 .. 2^63-1. */
static int query_u64(const char *q, const char *name, uint64_t *v)
{
    size_t n = strlen(name);
    for (const char *p = q; *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > n + 1 && strncmp(p, name, n) == 0 && p[n] == '=') {
            char num[24];
            size_t l = (size_t)(end - p) - n - 1;
            if (l >= sizeof num)
                return -1;
            memcpy(num, p + n + 1, l);
            num[l] = '\0';
            return px_parse_u64(num, 0, (uint64_t)INT64_MAX, v) == NULL ? 0 : -1;
        }
        p = amp ? amp + 1 : end;
    }
    return -1;
}

void app_slog_handle(app *a, const srv_request *rq, srv_response *rs)
{
    st_backend *db = app_db(a);
    char err[256], *body = NULL, note[TLOG_NOTE_MAX], origin[64];
    uint64_t x = 0, y = 0, size;
    uint8_t root[TLOG_HASH_LEN];
    size_t len;
    int rc;

    if (!db)
        return app_storage_error(a, rs, NULL, "open its database");
    if (strcmp(rq->path, "/v1/log/checkpoint") == 0) {
        /* A checkpoint of the log as it is: signed now if leaves came
         * since the latest (enrolments, list imports). */
        slog_origin(a->receipt_pub, a->receipt_pub_len, origin, sizeof origin);
        if (db->ops->begin(db) != ST_OK)
            return app_storage_error(a, rs, db, "start a transaction");
        if (slog_checkpoint(db, a->receipt_key, &a->sign_lock, origin, app_now_ms(), note, &size,
                            root, err, sizeof err) != ST_OK) {
            db->ops->rollback(db);
            app_log("error", "event=log_checkpoint error=\"%s\"", err);
            return app_reply_error(a, rs, 503, "log", 0, "the server log: %s", err);
        }
        if (db->ops->commit(db) != ST_OK)
            return app_storage_error(a, rs, db, "commit the checkpoint");
        len = strlen(note);
        if (!(body = malloc(len + 1)))
            return app_reply_error(a, rs, 503, "busy", 0, "out of memory");
        memcpy(body, note, len + 1);
    } else if (strcmp(rq->path, "/v1/log/proof/inclusion") == 0) {
        if (query_u64(rq->query, "leaf", &x) != 0 ||
            (strstr(rq->query, "size=") && query_u64(rq->query, "size", &y) != 0))
            return app_reply_error(a, rs, 400, "bad_request", 0,
                                   "expected leaf=N[&size=M] (numbers 0 .. 2^63-1)");
        rc = slog_inclusion_text(db, x, y, &body, &len, err, sizeof err);
        if (rc == ST_NOTFOUND)
            return app_reply_error(a, rs, 404, "not_in_log", 0, "%s", err);
        if (rc != ST_OK)
            return app_reply_error(a, rs, 503, "log", 0, "the server log: %s", err);
    } else if (strcmp(rq->path, "/v1/log/proof/consistency") == 0) {
        if (query_u64(rq->query, "from", &x) != 0 ||
            (strstr(rq->query, "to=") && query_u64(rq->query, "to", &y) != 0))
            return app_reply_error(a, rs, 400, "bad_request", 0,
                                   "expected from=A[&to=B] (numbers 0 .. 2^63-1)");
        rc = slog_consistency_text(db, x, y, &body, &len, err, sizeof err);
        if (rc == ST_NOTFOUND)
            return app_reply_error(a, rs, 404, "not_in_log", 0, "%s", err);
        if (rc != ST_OK)
            return app_reply_error(a, rs, 503, "log", 0, "the server log: %s", err);
    } else {
        return app_reply_error(a, rs, 404, "not_found", 0, "no such endpoint");
    }
    app_set_body(rs, 200, "text/plain; charset=utf-8", (uint8_t *)body, strlen(body));
}
