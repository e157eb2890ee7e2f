/* app_int.h -- what the files of patrold's request handling share: the
 * responses (app_reply_*, app_set_body, app_storage_error), the byte
 * budget for unpacking a request, and each route's handler. The files, one
 * noun a file:
 *   app.c            routing, responses, the per-worker storage handle,
 *                    set-up (app_)
 *   app_enroll.c     POST /v1/enroll (app_enroll_)
 *   app_ingest.c     POST /v1/batches: ingest with signed receipts (app_ingest_)
 *   evidence.c       HEAD and PATCH /v1/evidence/ (ev_, evidence.h)
 *   app_reference.c  GET /v1/reference and /v1/citations (app_reference_)
 *   app_slog.c       GET /v1/log/: the server log's checkpoint and proofs (app_slog_)
 *   app_metrics.c    GET /metrics, /healthz, /readyz, requests counted by
 *                    route and status (app_metrics_)
 * Divided from app.c (1,401 lines) by noun; behaviour unchanged. */
#ifndef SRV_APP_INT_H
#define SRV_APP_INT_H

#include <protobuf-c/protobuf-c.h>

#include "app.h"
#include "net.h"

/* Set rs's status and body (rs takes body). */
void app_set_body(srv_response *rs, int status, const char *type, uint8_t *body, size_t len);

/* Answer rs with message m packed (503 if out of memory). */
void app_reply_msg(srv_response *rs, int status, const ProtobufCMessage *m);

/* app_reply_verror (app.h) with its arguments. */
void app_reply_error(app *a, srv_response *rs, int status, const char *reason,
                     uint64_t expected, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* A storage failure: logged, and answered 503 "storage" naming what the
 * server could not do. */
void app_storage_error(app *a, srv_response *rs, st_backend *db, const char *what);

/* protobuf-c allocates per message and per unknown field: an allocator
 * with a byte budget (a small multiple of the input) stops a small body
 * from unpacking into gigabytes before any count can be checked. */
typedef struct app_budget {
    size_t left;
} app_budget;
void *app_budget_alloc(void *d, size_t n);
void app_budget_free(void *d, void *p);

#define APP_BUDGET_ALLOCATOR(b) {app_budget_alloc, app_budget_free, &(b)}

/* The routes (app_handle calls them once the device is known, where one
 * is needed). */
void app_enroll_handle(app *a, const srv_request *rq, srv_response *rs);
void app_ingest_batch(app *a, const st_device *dev, const srv_request *rq, srv_response *rs);
void app_reference_handle(app *a, const st_device *dev, const srv_request *rq,
                          srv_response *rs);
void app_reference_citations(app *a, const srv_request *rq, srv_response *rs);
void app_slog_handle(app *a, const srv_request *rq, srv_response *rs);
void app_metrics_handle(app *a, srv_response *rs);
/* GET /healthz (ready = 0: the process answers) and /readyz (1: it can
 * store: its database answers and its disk is not full). */
void app_metrics_health(app *a, srv_response *rs, int ready);
/* One request answered with status: counted by route and status. */
void app_metrics_count(app *a, const srv_request *rq, int status);

#endif
