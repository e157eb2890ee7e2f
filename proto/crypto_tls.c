/* crypto_tls.c -- the TLS 1.2 server of patrold over mbedtls 2.28 (see
 * tls.h). Part of the crypto module: mbedtls is called from crypto*.c only.
 *
 * Non-blocking use follows mbedtls' rules: after WANT_READ/WANT_WRITE the
 * same call is repeated (a write with the same arguments), writes may be
 * partial, and mbedtls_ssl_check_pending() is consulted before waiting on
 * the socket, since a whole record may already sit in mbedtls' buffer.
 */
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h> /* MBEDTLS_ERR_NET_* codes only */
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

/* send() must not raise SIGPIPE where the platform lets us say so per
 * call; elsewhere the server ignores SIGPIPE (see server/net.c). */
#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0
#endif

struct px_tls_server {
    mbedtls_ssl_config conf;
    mbedtls_x509_crt cert; /* own certificate (chain) */
    mbedtls_x509_crt ca;   /* device CA */
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg; /* locks itself (MBEDTLS_THREADING_C) */
    mbedtls_ssl_ticket_context ticket;
    mbedtls_ssl_cache_context cache;
};

struct px_tls_conn {
    mbedtls_ssl_context ssl;
    int fd;
    int done;          /* handshake completed */
    int full;          /* the server sent its certificate: not a resumption */
    int has_peer;
    uint32_t vrfy_flags; /* why a presented client certificate was refused */
    uint8_t peer_id[PX_HASH_LEN];
    int sys_errno;     /* errno of the last failed send/recv */
    char err[200];
};

static const int suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    0,
};
static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE};
static const int sig_hashes[] = {MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA512,
                                 MBEDTLS_MD_NONE};

/* Client certificates (and their CA): ECDSA P-256, SHA-2 signatures. */
static const mbedtls_x509_crt_profile cert_profile = {
    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
        MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECKEY) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECDSA),
    MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP256R1),
    2048,
};

/* ---- server ------------------------------------------------------------ */

void px_tls_server_free(px_tls_server *s)
{
    if (!s)
        return;
    mbedtls_ssl_config_free(&s->conf);
    mbedtls_ssl_ticket_free(&s->ticket); /* zeroizes the ticket keys */
    mbedtls_ssl_cache_free(&s->cache);
    mbedtls_x509_crt_free(&s->cert);
    mbedtls_x509_crt_free(&s->ca);
    mbedtls_pk_free(&s->key);
    mbedtls_ctr_drbg_free(&s->drbg);
    mbedtls_entropy_free(&s->entropy);
    free(s);
}

static int load_key(mbedtls_pk_context *pk, const char *path, const char **why)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        *why = "cannot read server key file";
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        *why = "server key file is readable by others (must be mode 0600)";
        return -1;
    }
    if (mbedtls_pk_parse_keyfile(pk, path, NULL) != 0 || mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(*pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        *why = "server key file is not a P-256 private key";
        return -1;
    }
    return 0;
}

int px_tls_server_new(const char *cert_file, const char *key_file, const char *device_ca_file,
                      px_tls_server **out, const char **why)
{
    static const char pers[] = "patrold-tls";
    px_tls_server *s = calloc(1, sizeof *s);
    int rc = -1;

    *out = NULL;
    if (!s) {
        *why = "out of memory";
        return -1;
    }
    mbedtls_ssl_config_init(&s->conf);
    mbedtls_ssl_ticket_init(&s->ticket);
    mbedtls_ssl_cache_init(&s->cache);
    mbedtls_x509_crt_init(&s->cert);
    mbedtls_x509_crt_init(&s->ca);
    mbedtls_pk_init(&s->key);
    mbedtls_entropy_init(&s->entropy);
    mbedtls_ctr_drbg_init(&s->drbg);

    if (mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
                              (const unsigned char *)pers, sizeof pers - 1) != 0) {
        *why = "no entropy source";
        goto exit;
    }
    if (mbedtls_x509_crt_parse_file(&s->cert, cert_file) != 0) {
        *why = "cannot read server certificate file (PEM)";
        goto exit;
    }
    if (load_key(&s->key, key_file, why) != 0)
        goto exit;
    if (mbedtls_pk_check_pair(&s->cert.pk, &s->key) != 0) {
        *why = "server certificate does not match the server key";
        goto exit;
    }
    if (device_ca_file) {
        if (mbedtls_x509_crt_parse_file(&s->ca, device_ca_file) != 0) {
            *why = "cannot read device CA certificate file (PEM)";
            goto exit;
        }
        if (!s->ca.ca_istrue) {
            *why = "device CA certificate is not a CA certificate";
            goto exit;
        }
    }
    if (mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        *why = "cannot set up TLS configuration";
        goto exit;
    }
    mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &s->drbg);
    mbedtls_ssl_conf_min_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_ciphersuites(&s->conf, suites);
    mbedtls_ssl_conf_curves(&s->conf, curves);
    mbedtls_ssl_conf_sig_hashes(&s->conf, sig_hashes);
    mbedtls_ssl_conf_cert_profile(&s->conf, &cert_profile);
    mbedtls_ssl_conf_renegotiation(&s->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    if (mbedtls_ssl_conf_own_cert(&s->conf, &s->cert, &s->key) != 0) {
        *why = "cannot use server certificate";
        goto exit;
    }
    if (device_ca_file) {
        mbedtls_ssl_conf_ca_chain(&s->conf, &s->ca, NULL);
        mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    } else {
        mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_NONE);
    }
    /* Tickets: the key rotates every lifetime; a ticket made with the
     * previous key still parses, so tickets live up to two lifetimes. */
    if (mbedtls_ssl_ticket_setup(&s->ticket, mbedtls_ctr_drbg_random, &s->drbg,
                                 MBEDTLS_CIPHER_AES_256_GCM, PX_TLS_TICKET_LIFETIME_S) != 0) {
        *why = "cannot set up session tickets";
        goto exit;
    }
    mbedtls_ssl_conf_session_tickets_cb(&s->conf, mbedtls_ssl_ticket_write,
                                        mbedtls_ssl_ticket_parse, &s->ticket);
    mbedtls_ssl_cache_set_max_entries(&s->cache, PX_TLS_CACHE_ENTRIES);
    mbedtls_ssl_cache_set_timeout(&s->cache, PX_TLS_TICKET_LIFETIME_S);
    mbedtls_ssl_conf_session_cache(&s->conf, &s->cache, mbedtls_ssl_cache_get,
                                   mbedtls_ssl_cache_set);
    *out = s;
    s = NULL;
    rc = 0;
exit:
    px_tls_server_free(s);
    return rc;
}

/* ---- connection I/O ------------------------------------------------------ */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    px_tls_conn *c = ctx;
    ssize_t n;

    if (len > INT_MAX)
        len = INT_MAX;
    do
        n = send(c->fd, buf, len, SEND_FLAGS);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    c->sys_errno = errno;
    return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                 : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    px_tls_conn *c = ctx;
    ssize_t n;

    if (len > INT_MAX)
        len = INT_MAX;
    do
        n = recv(c->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (int)n; /* 0: EOF, which mbedtls reports as CONN_EOF */
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return MBEDTLS_ERR_SSL_WANT_READ;
    c->sys_errno = errno;
    return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* Record every flag of a refused client certificate and fail the
 * verification with an error that VERIFY_OPTIONAL does not forgive: a
 * terminal presenting a foreign, expired or damaged certificate gets a
 * handshake failure, not a silent downgrade to "no certificate". */
static int vrfy_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    px_tls_conn *c = ctx;
    (void)crt;
    (void)depth;
    if (*flags == 0)
        return 0;
    c->vrfy_flags |= *flags;
    return MBEDTLS_ERR_X509_FATAL_ERROR;
}

static const char *flags_text(uint32_t f)
{
    if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        return "not issued by the device CA";
    if (f & MBEDTLS_X509_BADCERT_EXPIRED)
        return "expired";
    if (f & MBEDTLS_X509_BADCERT_FUTURE)
        return "not yet valid";
    if (f & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
             MBEDTLS_X509_BADCERT_BAD_KEY))
        return "not an ECDSA P-256 SHA-2 certificate";
    if (f & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE))
        return "not usable for client authentication";
    return "does not verify";
}

/* Map an mbedtls result to PX_TLS_*, keeping a message for ERR/CLOSED. */
static int fail(px_tls_conn *c, int ret, const char *what)
{
    char buf[120];

    switch (ret) {
    case MBEDTLS_ERR_SSL_WANT_READ:
        return PX_TLS_WANT_READ;
    case MBEDTLS_ERR_SSL_WANT_WRITE:
        return PX_TLS_WANT_WRITE;
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
        (void)snprintf(c->err, sizeof c->err, "%s: peer sent close_notify", what);
        return PX_TLS_CLOSED;
    case MBEDTLS_ERR_SSL_CONN_EOF:
        (void)snprintf(c->err, sizeof c->err, "%s: peer closed the connection", what);
        return PX_TLS_CLOSED;
    case MBEDTLS_ERR_NET_CONN_RESET:
        (void)snprintf(c->err, sizeof c->err, "%s: connection reset by peer", what);
        return PX_TLS_CLOSED;
    default:
        break;
    }
    if (c->vrfy_flags) {
        (void)snprintf(c->err, sizeof c->err, "client certificate rejected: %s",
                       flags_text(c->vrfy_flags));
        return PX_TLS_ERR;
    }
    switch (ret) {
    case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO:
    case MBEDTLS_ERR_SSL_INVALID_RECORD:
        (void)snprintf(c->err, sizeof c->err, "%s: not a TLS ClientHello (plain HTTP?)", what);
        break;
    case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
        (void)snprintf(c->err, sizeof c->err, "%s: client does not offer TLS 1.2", what);
        break;
    case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
        (void)snprintf(c->err, sizeof c->err,
                       "%s: no shared cipher suite (ECDHE-ECDSA with AEAD on P-256 required)",
                       what);
        break;
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
        (void)snprintf(c->err, sizeof c->err, "%s: peer sent a fatal alert", what);
        break;
    case MBEDTLS_ERR_NET_SEND_FAILED:
    case MBEDTLS_ERR_NET_RECV_FAILED:
        if (strerror_r(c->sys_errno, buf, sizeof buf) != 0)
            (void)snprintf(buf, sizeof buf, "errno %d", c->sys_errno);
        (void)snprintf(c->err, sizeof c->err, "%s: %s", what, buf);
        break;
    default:
        mbedtls_strerror(ret, buf, sizeof buf);
        (void)snprintf(c->err, sizeof c->err, "%s: %s (-0x%04x)", what, buf, (unsigned)-ret);
        break;
    }
    return PX_TLS_ERR;
}

int px_tls_conn_new(px_tls_server *s, int fd, px_tls_conn **out, const char **why)
{
    px_tls_conn *c = calloc(1, sizeof *c);

    *out = NULL;
    if (!c) {
        *why = "out of memory";
        return -1;
    }
    mbedtls_ssl_init(&c->ssl);
    c->fd = fd;
    if (mbedtls_ssl_setup(&c->ssl, &s->conf) != 0) {
        *why = "out of memory for TLS buffers";
        px_tls_conn_free(c);
        return -1;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    mbedtls_ssl_set_verify(&c->ssl, vrfy_cb, c);
    *out = c;
    return 0;
}

int px_tls_conn_handshake(px_tls_conn *c)
{
    const mbedtls_x509_crt *peer;

    if (c->done)
        return PX_TLS_OK;
    /* Step by hand to see whether the server certificate is sent: mbedtls
     * 2.28 has no public "was this resumed" query, and a resumed handshake
     * is exactly one that skips the Certificate message. */
    while (c->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
        int ret;
        if (c->ssl.state == MBEDTLS_SSL_SERVER_CERTIFICATE)
            c->full = 1;
        ret = mbedtls_ssl_handshake_step(&c->ssl);
        if (ret != 0)
            return fail(c, ret, "handshake");
    }
    peer = mbedtls_ssl_get_peer_cert(&c->ssl);
    if (peer) {
        /* VERIFY_OPTIONAL forgives a failed key-usage check; we do not. */
        uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
        if (flags != 0) {
            c->vrfy_flags = flags;
            (void)mbedtls_ssl_send_alert_message(&c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                                 MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
            return fail(c, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, "handshake");
        }
        px_sha256(peer->pk_raw.p, peer->pk_raw.len, c->peer_id);
        c->has_peer = 1;
    }
    c->done = 1;
    return PX_TLS_OK;
}

int px_tls_conn_read(px_tls_conn *c, void *buf, size_t n)
{
    int ret;
    if (n > INT_MAX)
        n = INT_MAX;
    ret = mbedtls_ssl_read(&c->ssl, buf, n);
    if (ret > 0)
        return ret;
    if (ret == 0) {
        (void)snprintf(c->err, sizeof c->err, "read: peer closed the connection");
        return PX_TLS_CLOSED;
    }
    return fail(c, ret, "read");
}

int px_tls_conn_write(px_tls_conn *c, const void *buf, size_t n)
{
    int ret;
    if (n > INT_MAX)
        n = INT_MAX;
    ret = mbedtls_ssl_write(&c->ssl, buf, n);
    if (ret >= 0)
        return ret;
    ret = fail(c, ret, "write");
    return ret == PX_TLS_CLOSED ? PX_TLS_ERR : ret;
}

int px_tls_conn_pending(const px_tls_conn *c)
{
    return mbedtls_ssl_check_pending(&c->ssl) || mbedtls_ssl_get_bytes_avail(&c->ssl) > 0;
}

int px_tls_conn_close_notify(px_tls_conn *c)
{
    int ret = mbedtls_ssl_close_notify(&c->ssl);
    if (ret == 0)
        return PX_TLS_OK;
    ret = fail(c, ret, "close_notify");
    return ret == PX_TLS_CLOSED ? PX_TLS_ERR : ret;
}

int px_tls_conn_resumed(const px_tls_conn *c)
{
    return c->done && !c->full;
}

const uint8_t *px_tls_conn_peer_key_id(const px_tls_conn *c)
{
    return c->done && c->has_peer ? c->peer_id : NULL;
}

const char *px_tls_conn_version(const px_tls_conn *c)
{
    return mbedtls_ssl_get_version(&c->ssl);
}

const char *px_tls_conn_ciphersuite(const px_tls_conn *c)
{
    const char *s = mbedtls_ssl_get_ciphersuite(&c->ssl);
    return s ? s : "none";
}

const char *px_tls_conn_error(const px_tls_conn *c)
{
    return c->err[0] ? c->err : "no error";
}

void px_tls_conn_free(px_tls_conn *c)
{
    if (!c)
        return;
    mbedtls_ssl_free(&c->ssl); /* zeroizes keys and buffers */
    px_wipe(c->peer_id, sizeof c->peer_id);
    free(c);
}
