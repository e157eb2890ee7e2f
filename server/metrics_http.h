/* metrics_http.h -- the optional plain-HTTP listener for the station's
 * monitoring (metrics_http.c; `serve --metrics-listen HOST:PORT
 * --metrics-allow ADDR[/BITS],...`, docs/server.md "Observability"). */
#ifndef SRV_METRICS_HTTP_H
#define SRV_METRICS_HTTP_H

#include <stddef.h>

#include "app.h"

typedef struct mh mh;

/* Serve GET /metrics, /healthz and /readyz of a over plain HTTP on
 * listen ("HOST:PORT", "[V6]:PORT"), to the client addresses of allow only
 * (a comma-separated list of addresses or networks, "10.1.2.3,
 * 192.168.0.0/24, ::1"; never empty: there is no "everyone"); anything
 * else is answered 404 or refused at the connection. 0, or -1 with a
 * sentence in err. */
int mh_start(mh **out, app *a, const char *listen, const char *allow, char *err, size_t errlen);

/* The port bound (for ":0"). */
unsigned mh_port(const mh *m);

void mh_stop(mh *m);

/* Parse an allow list as mh_start does: 0, or -1 with a sentence in err
 * (for `config check`). */
int mh_check_allow(const char *allow, char *err, size_t errlen);

#endif
