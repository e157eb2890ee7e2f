/* entry.c -- canonical entry encoding, hashing and checks (see entry.h). */
#include "entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

static int check_shape(const Patrol__V1__Entry *e, const char **why)
{
    static const uint8_t zero[PX_HASH_LEN];
    if (e->format != PX_ENTRY_FORMAT)
        return *why = "unsupported entry format", -1;
    if (e->suite != PX_SUITE_P256_SHA256)
        return *why = "entry names a signature suite this version does not implement "
                      "(only suite 0: ECDSA P-256 over SHA-256)",
               -1;
    if (e->device.len != PX_HASH_LEN)
        return *why = "device id is not 32 bytes", -1;
    if (e->seq == 0)
        return *why = "sequence number 0", -1;
    if (e->prev_hash.len != PX_HASH_LEN)
        return *why = "previous hash is not 32 bytes", -1;
    if (e->seq == 1 && memcmp(e->prev_hash.data, zero, PX_HASH_LEN) != 0)
        return *why = "first entry links to a previous one", -1;
    if (e->n_fields > PX_ENTRY_MAX_FIELDS)
        return *why = "too many fields", -1;
    if (e->n_inspectors > PX_ENTRY_MAX_INSPECTORS)
        return *why = "too many inspectors", -1;
    if (e->kind[0] == '\0')
        return *why = "entry has no kind", -1;
    if (e->log && (e->log->size == 0 || e->log->root.len != PX_HASH_LEN))
        return *why = "cited log checkpoint is not a size and a 32-byte root", -1;
    return 0;
}

int px_entry_encode(const Patrol__V1__Entry *e, uint8_t **out, size_t *len, const char **why)
{
    size_t n;
    uint8_t *buf;

    *out = NULL;
    if (check_shape(e, why) != 0)
        return -1;
    n = protobuf_c_message_get_packed_size(&e->base);
    if (n > PX_ENTRY_MAX)
        return *why = "entry is larger than 64 KiB", -1;
    if (!(buf = malloc(n ? n : 1)))
        return *why = "out of memory", -1;
    if (protobuf_c_message_pack(&e->base, buf) != n) {
        free(buf);
        return *why = "entry encoding failed", -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

Patrol__V1__Entry *px_entry_decode(const uint8_t *buf, size_t len, const char **why)
{
    Patrol__V1__Entry *e;
    uint8_t *again = NULL;
    size_t n;

    if (len == 0 || len > PX_ENTRY_MAX)
        return *why = "entry size out of range", NULL;
    if (!(e = patrol__v1__entry__unpack(NULL, len, buf)))
        return *why = "entry is not a valid protobuf Entry", NULL;
    if (check_shape(e, why) != 0)
        goto bad;
    /* protobuf-c keeps unknown fields and writes them back out, so the
     * byte comparison below would not see them: refuse them here. */
    if (e->base.n_unknown_fields || (e->location && e->location->base.n_unknown_fields) ||
        (e->log && e->log->base.n_unknown_fields)) {
        *why = "entry has unknown fields";
        goto bad;
    }
    for (size_t i = 0; i < e->n_fields; i++)
        if (e->fields[i]->base.n_unknown_fields) {
            *why = "entry has unknown fields";
            goto bad;
        }
    /* Canonical: exactly one encoding per entry. */
    n = protobuf_c_message_get_packed_size(&e->base);
    if (n != len) {
        *why = "entry is not canonically encoded";
        goto bad;
    }
    if (!(again = malloc(n))) {
        *why = "out of memory";
        goto bad;
    }
    if (protobuf_c_message_pack(&e->base, again) != n || memcmp(again, buf, n) != 0) {
        *why = "entry is not canonically encoded";
        goto bad;
    }
    free(again);
    return e;
bad:
    free(again);
    px_entry_free(e);
    return NULL;
}

void px_entry_free(Patrol__V1__Entry *e)
{
    if (e)
        patrol__v1__entry__free_unpacked(e, NULL);
}

void px_entry_hash(const uint8_t *buf, size_t len, uint8_t out[PX_HASH_LEN])
{
    px_sha256(buf, len, out);
}

int px_entry_verify(const px_key *device_key, const uint8_t *buf, size_t len,
                    const uint8_t sig[PX_SIG_LEN], const uint8_t *prev,
                    uint8_t hash_out[PX_HASH_LEN], Patrol__V1__Entry **out,
                    char *detail, size_t detail_len)
{
    const char *why = NULL;
    uint8_t id[PX_HASH_LEN];
    Patrol__V1__Entry *e;

    if (out)
        *out = NULL;
    if (!(e = px_entry_decode(buf, len, &why))) {
        snprintf(detail, detail_len, "%s", why);
        return -1;
    }
    px_entry_hash(buf, len, hash_out);
    if (px_key_id(device_key, id) != 0 || memcmp(id, e->device.data, PX_HASH_LEN) != 0) {
        snprintf(detail, detail_len, "entry names another device");
        goto bad;
    }
    if (prev && memcmp(prev, e->prev_hash.data, PX_HASH_LEN) != 0) {
        snprintf(detail, detail_len, "chain broken: previous hash does not match entry %llu",
                 (unsigned long long)(e->seq - 1));
        goto bad;
    }
    if (px_verify(device_key, hash_out, sig) != 0) {
        snprintf(detail, detail_len, "signature does not verify");
        goto bad;
    }
    if (px_rules_check_entry(e, detail, detail_len) != 0)
        goto bad;
    if (out)
        *out = e;
    else
        px_entry_free(e);
    return 0;
bad:
    px_entry_free(e);
    return -1;
}
