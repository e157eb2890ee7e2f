/* web.h -- 监督平台, the supervisors' and administrators' web console
 * (docs/console.md), on its own listener: `serve --web-listen HOST:PORT`.
 *
 * HTTPS with the server certificate and net.h's TLS settings, no client
 * certificate asked; the device port is unchanged. Pages are rendered on
 * the server (web_pages.c) from what the audit commands compute; sessions
 * live in memory (a restart logs everyone out).
 */
#ifndef SRV_WEB_H
#define SRV_WEB_H

#include "app.h"

typedef struct web web;

/* Listen on host:port for browsers, serving from the app a (borrowed; it
 * outlives the console) with the certificate and key of data_dir, on a
 * thread of its own. 0, or -1 with a sentence in err. */
int web_start(web **out, app *a, const char *data_dir, const char *host, const char *port,
              char *err, size_t errlen);
unsigned web_port(const web *w);
/* Ask it to stop (async-signal-safe, like srv_stop). */
void web_stop(web *w);
/* Stop, wait for its thread, free. NULL-safe. */
void web_free(web *w);

#endif
