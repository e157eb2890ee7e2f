/* crypto_verify.c -- the server's verifier: every OpenSSL call of the
 * project lives here (see crypto_verify.h). */
#include "crypto_verify.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct px_verifier {
    EVP_PKEY *pkey; /* read-only once parsed: shared by the threads */
};

int px_verifier_new(const uint8_t *der, size_t n, px_verifier **out, const char **why)
{
    const unsigned char *p = der;
    char group[32];
    size_t glen = 0;
    EVP_PKEY *pk;
    px_verifier *v;

    *out = NULL;
    if (n == 0 || n > PX_PUBKEY_MAX) {
        *why = "public key has an impossible length";
        return -1;
    }
    pk = d2i_PUBKEY(NULL, &p, (long)n);
    if (!pk || p != der + n || !EVP_PKEY_is_a(pk, "EC") ||
        EVP_PKEY_get_group_name(pk, group, sizeof group, &glen) != 1 ||
        strcmp(group, "prime256v1") != 0) {
        *why = "not a P-256 public key";
        EVP_PKEY_free(pk);
        return -1;
    }
    if (!(v = malloc(sizeof *v))) {
        *why = "out of memory";
        EVP_PKEY_free(pk);
        return -1;
    }
    v->pkey = pk;
    *out = v;
    return 0;
}

void px_verifier_free(px_verifier *v)
{
    if (!v)
        return;
    EVP_PKEY_free(v->pkey);
    free(v);
}

/* A verification context of v's key: one per thread (an EVP_PKEY_CTX is
 * not shared), reused for any number of signatures. NULL if out of memory. */
static EVP_PKEY_CTX *ctx_new(const px_verifier *v)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(v->pkey, NULL);
    if (ctx && EVP_PKEY_verify_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

static int check_ctx(EVP_PKEY_CTX *ctx, const uint8_t hash[PX_HASH_LEN],
                     const uint8_t sig[PX_SIG_LEN])
{
    uint8_t der[PX_SIG_DER_MAX];
    size_t n = px_sig_to_der(sig, der);
    /* EVP_PKEY_verify: 1 valid, 0 invalid, < 0 error. r or s of 0 or not
     * below the group order is invalid, as for mbedtls. */
    return EVP_PKEY_verify(ctx, der, n, hash, PX_HASH_LEN) == 1 ? 0 : -1;
}

int px_verifier_check(const px_verifier *v, const uint8_t hash[PX_HASH_LEN],
                      const uint8_t sig[PX_SIG_LEN])
{
    EVP_PKEY_CTX *ctx = ctx_new(v);
    int rc = ctx ? check_ctx(ctx, hash, sig) : -1;
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

typedef struct {
    const px_verifier *v;
    const uint8_t (*hash)[PX_HASH_LEN];
    const uint8_t *const *sig;
    uint8_t *ok;
    size_t from, to;
} slice;

static void *check_slice(void *arg)
{
    slice *s = arg;
    EVP_PKEY_CTX *ctx = ctx_new(s->v);
    for (size_t i = s->from; i < s->to; i++)
        s->ok[i] = ctx && s->sig[i] && check_ctx(ctx, s->hash[i], s->sig[i]) == 0;
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

unsigned px_verifier_check_many(const px_verifier *v, size_t n, const uint8_t (*hash)[PX_HASH_LEN],
                                const uint8_t *const *sig, uint8_t *ok, unsigned threads)
{
    slice sl[PX_VERIFY_MAX_THREADS];
    pthread_t tid[PX_VERIFY_MAX_THREADS];
    int started[PX_VERIFY_MAX_THREADS];
    unsigned used = 0;

    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (unsigned)c : 1;
    }
    if (threads > PX_VERIFY_MAX_THREADS)
        threads = PX_VERIFY_MAX_THREADS;
    /* At least two signatures a thread: below that, starting a thread
     * (tens of microseconds) costs about what it saves. */
    if (threads > (n + 1) / 2)
        threads = (unsigned)((n + 1) / 2);
    if (threads <= 1) {
        slice one = {v, hash, sig, ok, 0, n};
        check_slice(&one);
        return 1;
    }
    for (unsigned t = 0; t < threads; t++) {
        sl[t] = (slice){v, hash, sig, ok, n * t / threads, n * (t + 1) / threads};
        /* The calling thread takes slice 0 itself. */
        started[t] = t > 0 && pthread_create(&tid[t], NULL, check_slice, &sl[t]) == 0;
        used += t == 0 || started[t];
    }
    check_slice(&sl[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            check_slice(&sl[t]);
    }
    return used;
}
