/* http.h -- the libmicrohttpd callbacks of patrol ui (http.c), for main.c. */
#ifndef PATROL_UI_HTTP_H
#define PATROL_UI_HTTP_H

#include <stddef.h>

#include <microhttpd.h>

/* Make the launch secret and CSRF token (from /dev/urandom) and note the
 * Host values answered (host:port, localhost:port). The secret is copied
 * to secret_out for the printed address. -1 if no randomness. */
int http_init(const char *host, unsigned port, char *secret_out, size_t len);

enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **con_cls);
void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe);
#endif
