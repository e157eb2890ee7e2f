/* tls.h -- X.509 certificates, base64 and the TLS server: the part of the
 * crypto module (crypto_x509.c, crypto_tls.c) that patrold's enrolment and
 * network front use. Like crypto.h, nothing here exposes an mbedtls type,
 * so a port to mbedtls 3.x touches the crypto_*.c files only.
 *
 * Conventions (as crypto.h): functions return 0 on success and -1 on
 * failure; a `why` pointer, where taken, receives a static string naming
 * the problem. PEM strings returned through `char **pem` are NUL-terminated,
 * malloc'd, and freed by the caller with free(); on failure *pem is NULL.
 *
 * Certificates are ECDSA P-256 with SHA-256. A common name (cn) is 1..64
 * characters from [A-Za-z0-9 ._:@-]; anything else is refused, so a name
 * never needs escaping in a distinguished name.
 */
#ifndef PX_TLS_H
#define PX_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define PX_CN_MAX 64
#define PX_CERT_DAYS_MAX 36500 /* 100 years */

/* ---- base64 (RFC 4648) -------------------------------------------------- */

/* Size of the buffer px_base64_encode needs for n bytes, NUL included
 * (0 if that size does not fit in size_t). */
size_t px_base64_encoded_size(size_t n);

/* Standard alphabet with '=' padding. out receives a NUL-terminated string;
 * -1 if cap < px_base64_encoded_size(n). */
int px_base64_encode(const void *in, size_t n, char *out, size_t cap);

/* Strict decoder: no whitespace, padding required, unused bits zero (so
 * every byte string has exactly one accepted encoding). *outlen gets the
 * decoded size; -1 on any bad character, bad length or cap too small. */
int px_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* URL-safe alphabet ('-', '_'), no padding written. The decoder accepts the
 * encoding with or without correct '=' padding, nothing else. */
int px_base64url_encode(const void *in, size_t n, char *out, size_t cap);
int px_base64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* ---- X.509 ---------------------------------------------------------------- */

/* A self-signed certificate for key (the server's TLS certificate, is_ca 0,
 * or the device CA, is_ca 1: basicConstraints CA with path length 0 and
 * keyCertSign). Random 127-bit serial, valid from one hour ago for `days`
 * days (1..PX_CERT_DAYS_MAX). No subjectAltName: terminals trust the
 * server by its key pin (px_cert_key_id), not by name, so clients must
 * not verify the host name (curl: CURLOPT_SSL_VERIFYPEER/HOST 0 plus
 * CURLOPT_PINNEDPUBLICKEY, which curl checks regardless). */
int px_x509_self_signed(px_key *key, const char *cn, int days, int is_ca, char **pem,
                        const char **why);

/* A PKCS#10 request (CN=cn) signed by key: what a terminal sends to enrol. */
int px_csr_create(px_key *key, const char *cn, char **pem, const char **why);

/* Server side of enrolment: parse a PEM request of len bytes (a trailing NUL
 * is allowed but not required), verify its self-signature (SHA-256 only),
 * require a P-256 key, and write the key's DER SubjectPublicKeyInfo to
 * pub_der (cap >= PX_PUBKEY_MAX is always enough); *publen gets its size.
 * The requested name is ignored: the server names devices itself. */
int px_csr_parse(const char *pem, size_t len, uint8_t *pub_der, size_t cap, size_t *publen,
                 const char **why);

/* A client certificate for the device key pub_der (DER SubjectPublicKeyInfo,
 * P-256), subject CN=cn, issued by the CA whose key is ca_key and whose
 * certificate is ca_cert_pem (checked to be a CA matching ca_key). serial
 * must be non-zero and unique per CA (the caller's device table provides
 * it). Extensions: basicConstraints CA:false, keyUsage digitalSignature,
 * extendedKeyUsage clientAuth, subject and authority key identifiers. */
int px_ca_issue(px_key *ca_key, const char *ca_cert_pem, const uint8_t *pub_der, size_t publen,
                const char *cn, uint64_t serial, int days, char **pem, const char **why);

/* SHA-256 of the certificate's SubjectPublicKeyInfo DER as it appears in
 * the certificate: equal to px_key_id() of its key, and exactly what curl's
 * CURLOPT_PINNEDPUBLICKEY "sha256//<base64>" pins. cert is PEM (len bytes,
 * trailing NUL optional) or DER. */
int px_cert_key_id(const char *cert, size_t len, uint8_t id[PX_HASH_LEN], const char **why);

/* ---- TLS server ------------------------------------------------------------
 *
 * TLS 1.2 only; ECDHE-ECDSA with AES-128-GCM, AES-256-GCM or
 * CHACHA20-POLY1305; P-256 only; no renegotiation. Resumption (~30x less
 * server CPU than a full handshake) two ways:
 *  - session tickets (AES-256-GCM, keys generated at start and rotated
 *    every day, so a ticket lives at most two days and none survives a
 *    restart): what curl on mbedtls and most other clients use;
 *  - a session-id cache of PX_TLS_CACHE_ENTRIES (one day, oldest evicted):
 *    needed because libcurl on OpenSSL, Debian's build, turns tickets off
 *    (SSL_OP_NO_TICKET) and resumes TLS 1.2 by session id only.
 *
 * Client certificates are optional, because a terminal enrols before it has
 * one. One that is presented must chain to the device CA and be valid now,
 * else the handshake fails (alert bad_certificate / unknown_ca); so after a
 * successful handshake, px_tls_conn_peer_key_id() is either NULL (no
 * certificate) or the id of a key the device CA certified. A resumed session
 * keeps the identity established by its full handshake.
 *
 * Threads: a px_tls_server may be shared by threads (its RNG, ticket keys
 * and cache lock themselves); one px_tls_conn is used by one thread at a
 * time.
 */
#define PX_TLS_CACHE_ENTRIES 4096
#define PX_TLS_TICKET_LIFETIME_S 86400

typedef struct px_tls_server px_tls_server;
typedef struct px_tls_conn px_tls_conn;

/* Return codes of the px_tls_conn_* functions below. */
enum {
    PX_TLS_OK = 0,
    PX_TLS_ERR = -1,        /* fatal for this connection; px_tls_conn_error() says why */
    PX_TLS_WANT_READ = -2,  /* wait until the fd is readable, then call again */
    PX_TLS_WANT_WRITE = -3, /* wait until the fd is writable, then call again */
    PX_TLS_CLOSED = -4      /* the peer closed (close_notify or EOF) */
};

/* cert_file: PEM server certificate (chain allowed), key_file: its P-256
 * private key (PEM, mode 0600 like px_key_save_private writes),
 * device_ca_file: PEM certificate of the device CA, or NULL to never ask
 * for client certificates. *out is freed with px_tls_server_free. */
int px_tls_server_new(const char *cert_file, const char *key_file, const char *device_ca_file,
                      px_tls_server **out, const char **why);
void px_tls_server_free(px_tls_server *s); /* NULL-safe; every conn must be freed first */

/* A server-side connection over fd, which must be a connected, non-blocking
 * socket. The fd stays the caller's (px_tls_conn_free does not close it). */
int px_tls_conn_new(px_tls_server *s, int fd, px_tls_conn **out, const char **why);

/* Drive the handshake: PX_TLS_OK when done, WANT_READ/WANT_WRITE, ERR or
 * CLOSED. */
int px_tls_conn_handshake(px_tls_conn *c);

/* Read up to n decrypted bytes: > 0 bytes read, or WANT_READ/WANT_WRITE,
 * CLOSED, ERR. */
int px_tls_conn_read(px_tls_conn *c, void *buf, size_t n);

/* Write up to n bytes: > 0 bytes taken (possibly fewer than n: a record
 * carries at most 16 KiB), or WANT_READ/WANT_WRITE, ERR. After a WANT_*,
 * call again with the SAME buf and n (mbedtls may already have encrypted
 * part of them). */
int px_tls_conn_write(px_tls_conn *c, const void *buf, size_t n);

/* Non-zero if decrypted or undecrypted bytes are buffered inside the TLS
 * layer, i.e. a read may succeed although the fd is not readable. Check
 * this before waiting on the fd. */
int px_tls_conn_pending(const px_tls_conn *c);

/* Send close_notify: PX_TLS_OK, WANT_READ/WANT_WRITE, or ERR. */
int px_tls_conn_close_notify(px_tls_conn *c);

/* After a completed handshake: 1 if it resumed a session (ticket or cache). */
int px_tls_conn_resumed(const px_tls_conn *c);

/* After a completed handshake: SHA-256 of the verified client certificate's
 * public key DER (the device id; valid until px_tls_conn_free), or NULL. */
const uint8_t *px_tls_conn_peer_key_id(const px_tls_conn *c);

/* Negotiated protocol ("TLSv1.2") and suite, for logs. */
const char *px_tls_conn_version(const px_tls_conn *c);
const char *px_tls_conn_ciphersuite(const px_tls_conn *c);

/* Text of the last PX_TLS_ERR (e.g. "client certificate rejected: not
 * issued by the device CA", "not a TLS connection"); owned by c. */
const char *px_tls_conn_error(const px_tls_conn *c);

void px_tls_conn_free(px_tls_conn *c); /* NULL-safe; does not close the fd */

#endif
