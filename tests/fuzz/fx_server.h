/* fx_server.h -- a patrold application (server/app.h) for the fuzz
 * harnesses: a data directory made once per process (keys, a database with
 * one enrolled device and one expected evidence file), a request handed to
 * app_handle() as the network front would, and the database put back to
 * that state before each input so every input sees the same server.
 *
 * The directory lives under $TMPDIR, else /dev/shm (fsync is cheap there),
 * else /tmp, and is removed at exit. Any set-up failure aborts: a harness
 * that cannot build its server must not report "no crash".
 */
#ifndef FX_SERVER_H
#define FX_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "crypto.h"

/* The enrolled device's department and name: a device.init entry must
 * carry them (the server refuses another identity). */
#define FX_DEPARTMENT "SY-CGJ"
#define FX_DEVICE_NAME "fuzz terminal"

/* The evidence the template database expects from the device: FX_EVIDENCE_LEN
 * bytes, byte i = fx_evidence_byte(i); fx_evidence_sha is its SHA-256 in hex. */
#define FX_EVIDENCE_LEN 3000u
uint8_t fx_evidence_byte(size_t i);

typedef struct fx_server {
    app a;
    px_key *devkey;            /* the enrolled device's private key */
    uint8_t key_id[PX_HASH_LEN];
    char pub_hex[2 * PX_PUBKEY_MAX + 1]; /* its public key DER in hex (device.init) */
    int64_t dev_id;
    char dir[256];
    char evidence_sha[65];
} fx_server;

/* The process's server, made on first call. */
fx_server *fx_get(void);

/* Back to the template state: the database as made, no partial or
 * completed evidence files. */
void fx_reset(fx_server *f);

/* Call app_handle with a request from the enrolled device (has_cert 1) or
 * from a client without a certificate. headers: n pairs, names lower-case.
 * Checks what any answer must satisfy (a status in 200..599, a body only
 * with its length, extra_headers NUL-terminated) and aborts otherwise.
 * Returns the status; *rs is freed. */
int fx_request(fx_server *f, const char *method, const char *path, const srv_header *headers,
               size_t n, const uint8_t *body, size_t len, int has_cert, char *extra_out,
               size_t extra_len);

/* A network front (net.h) for the app, made on first call with the
 * default limits and one worker, listening on 127.0.0.1:0 but never run:
 * the HTTP harness drives its connections' parsing itself. Freed at exit. */
srv *fx_srv(fx_server *f);

#endif
