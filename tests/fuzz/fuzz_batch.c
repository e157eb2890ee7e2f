/* fuzz_batch.c -- libFuzzer harness for patrold's batch ingest: POST
 * /v1/batches through app_handle() (server/app.c handle_batch): the LZ4
 * frame, the protobuf Batch, each SignedEntry's decoding, canonical form,
 * rules, chain and signature, and what the server stores and answers.
 *
 * The input's first byte chooses what the rest is:
 *   bit 0 set:   the request body as is (the frame decoder's refusals);
 *   bit 0 clear: a protobuf Batch (unframed), which the harness fixes up
 *                so that the fuzzer reaches past the checks it cannot
 *                satisfy by mutation, then packs and frames:
 *     bit 1 clear: the batch's and each entry's device id become the
 *                  enrolled device's, and so do the public_key,
 *                  department and device_name fields (device.init);
 *     bit 2 clear: seq 1, 2, ... and each prev_hash the hash of the entry
 *                  before (a chain the server would accept);
 *     bit 3 clear: each entry is re-encoded canonically (set: its bytes
 *                  are kept as they came, canonical or not);
 *     bit 4 clear: each entry is signed with the device key (set: the
 *                  signature from the input is kept).
 * The server is put back to its template state before every input
 * (fx_server.h), so an input's answer does not depend on the ones before.
 *
 * Checks beyond sanitizers: an answer is always a valid HTTP status; a 200
 * answer is an Ack with one EntryAck per entry sent; the same batch
 * sent again gets the same answer (a replay returns the stored Ack).
 *
 * Build with -DPATROL_FUZZ=ON (tests/fuzz/CMakeLists.txt); run as in
 * tests/fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "frame.h"
#include "fx_server.h"
#include "patrol.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIX_ENTRIES 16 /* signing costs ~1 ms an entry: fix up this many */

/* The server's answer body is not returned by fx_request; post() keeps it. */
static int post(fx_server *f, const uint8_t *body, size_t len, uint8_t **ans, size_t *anslen)
{
    srv_request rq;
    srv_response rs;

    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    rq.method = "POST";
    rq.path = "/v1/batches";
    rq.query = "";
    rq.body = body;
    rq.body_len = len;
    rq.peer_key_id = f->key_id;
    rq.peer_addr = "127.0.0.1:40000";
    rs.status = 500;
    app_handle(&f->a, &rq, &rs);
    if (rs.status < 200 || rs.status > 599 ||
        memchr(rs.extra_headers, '\0', sizeof rs.extra_headers) == NULL)
        abort();
    *ans = rs.body;
    *anslen = rs.body ? rs.body_len : 0;
    return rs.status;
}

/* Fix up b as the first byte says; entry bytes and signatures it makes are
 * kept in keep[] (freed by the caller). */
typedef struct originals {
    ProtobufCBinaryData device, entry[MAX_FIX_ENTRIES], sig[MAX_FIX_ENTRIES];
} originals;

/* Put back the pointers protobuf-c allocated, so that free_unpacked frees
 * its own buffers and none of ours. */
static void restore(Patrol__V1__Batch *b, const originals *o)
{
    b->device = o->device;
    for (size_t i = 0; i < b->n_entries && i < MAX_FIX_ENTRIES; i++) {
        b->entries[i]->entry = o->entry[i];
        b->entries[i]->sig = o->sig[i];
    }
}

static void fix_up(fx_server *f, Patrol__V1__Batch *b, unsigned mode, uint8_t **keep,
                   uint8_t (*sigs)[PX_SIG_LEN], originals *o)
{
    uint8_t prev[PX_HASH_LEN] = {0}, hash[PX_HASH_LEN];
    const char *why;

    o->device = b->device;
    for (size_t i = 0; i < b->n_entries && i < MAX_FIX_ENTRIES; i++) {
        o->entry[i] = b->entries[i]->entry;
        o->sig[i] = b->entries[i]->sig;
    }
    if (!(mode & 2)) {
        b->device.data = f->key_id;
        b->device.len = PX_HASH_LEN;
    }
    for (size_t i = 0; i < b->n_entries && i < MAX_FIX_ENTRIES; i++) {
        Patrol__V1__SignedEntry *se = b->entries[i];
        Patrol__V1__Entry *e;
        uint8_t *bytes = NULL;
        size_t len = 0;

        if (!(mode & 8)) {
            e = patrol__v1__entry__unpack(NULL, se->entry.len, se->entry.data);
            if (e) {
                ProtobufCBinaryData dev = e->device, ph = e->prev_hash;
                /* device.init's identity fields, as the device was enrolled */
                static const char *const ident[3] = {"public_key", "department", "device_name"};
                Patrol__V1__Field *idf[3] = {NULL, NULL, NULL};
                char *idv[3] = {NULL, NULL, NULL};
                if (!(mode & 2)) {
                    const char *want[3] = {f->pub_hex, FX_DEPARTMENT, FX_DEVICE_NAME};
                    e->device.data = f->key_id;
                    e->device.len = PX_HASH_LEN;
                    for (size_t k = 0; k < e->n_fields; k++)
                        for (int m = 0; m < 3; m++)
                            if (!idf[m] && strcmp(e->fields[k]->name, ident[m]) == 0) {
                                idf[m] = e->fields[k];
                                idv[m] = idf[m]->value;
                                idf[m]->value = (char *)want[m];
                            }
                }
                if (!(mode & 4)) {
                    e->seq = i + 1;
                    e->prev_hash.data = prev;
                    e->prev_hash.len = PX_HASH_LEN;
                }
                if (px_entry_encode(e, &bytes, &len, &why) == 0) {
                    keep[i] = bytes;
                    se->entry.data = bytes;
                    se->entry.len = len;
                }
                e->device = dev;
                e->prev_hash = ph;
                for (int m = 0; m < 3; m++)
                    if (idf[m])
                        idf[m]->value = idv[m];
                patrol__v1__entry__free_unpacked(e, NULL);
            }
        }
        px_entry_hash(se->entry.data, se->entry.len, hash);
        memcpy(prev, hash, sizeof prev);
        if (!(mode & 16)) {
            if (px_sign(f->devkey, hash, sigs[i]) != 0)
                abort();
            se->sig.data = sigs[i];
            se->sig.len = PX_SIG_LEN;
        }
    }
}

/* The second answer to the same batch: the stored Ack byte for byte once
 * anything was accepted; otherwise (nothing stored, the Ack is made again)
 * the same verdict for every entry and the same expected sequence. */
static void check_replay(const Patrol__V1__Ack *first, const uint8_t *a1, size_t l1,
                         const uint8_t *a2, size_t l2)
{
    Patrol__V1__Ack *again;
    int stored = 0;

    for (size_t i = 0; i < first->n_entries; i++)
        if (first->entries[i]->status == PATROL__V1__ENTRY_STATUS__ACCEPTED)
            stored = 1;
    if (stored) {
        if (l1 != l2 || memcmp(a1, a2, l1) != 0)
            abort();
        return;
    }
    if (!(again = patrol__v1__ack__unpack(NULL, l2, a2)))
        abort();
    if (again->n_entries != first->n_entries || again->expected_seq != first->expected_seq)
        abort();
    for (size_t i = 0; i < first->n_entries; i++)
        if (again->entries[i]->status != first->entries[i]->status ||
            again->entries[i]->seq != first->entries[i]->seq ||
            strcmp(again->entries[i]->reason, first->entries[i]->reason) != 0)
            abort();
    patrol__v1__ack__free_unpacked(again, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fx_server *f = fx_get();
    uint8_t *body = NULL, *packed = NULL, *ans1 = NULL, *ans2 = NULL;
    uint8_t *keep[MAX_FIX_ENTRIES] = {0}, sigs[MAX_FIX_ENTRIES][PX_SIG_LEN];
    size_t len = 0, plen, alen1, alen2, sent = 0;
    const char *why = NULL;
    Patrol__V1__Batch *b = NULL;
    originals orig;
    unsigned mode;
    int s1, s2;

    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    size--;
    fx_reset(f);
    if (mode & 1) {
        s1 = post(f, data, size, &ans1, &alen1);
        s2 = post(f, data, size, &ans2, &alen2);
    } else {
        if (!(b = patrol__v1__batch__unpack(NULL, size, data)))
            return 0; /* nothing the fix-ups can work on; bit 0 covers raw bodies */
        fix_up(f, b, mode, keep, sigs, &orig);
        sent = b->n_entries;
        plen = patrol__v1__batch__get_packed_size(b);
        if (!(packed = malloc(plen ? plen : 1)))
            abort();
        patrol__v1__batch__pack(b, packed);
        restore(b, &orig);
        if (px_frame_encode(packed, plen, &body, &len, &why) != 0) {
            /* Empty or over the frame's size: the frame decoder's business. */
            s1 = post(f, packed, plen, &ans1, &alen1);
            s2 = post(f, packed, plen, &ans2, &alen2);
            sent = (size_t)-1;
        } else {
            s1 = post(f, body, len, &ans1, &alen1);
            s2 = post(f, body, len, &ans2, &alen2);
        }
    }
    /* A retry of the same bytes gets the same status; an accepted batch's
     * Ack is stored and replayed byte for byte. */
    if (s1 != s2 && !(s1 == 200 && s2 == 200))
        abort();
    if (s1 == 200) {
        Patrol__V1__Ack *ack = patrol__v1__ack__unpack(NULL, alen1, ans1);
        if (!ack)
            abort();
        if (getenv("FUZZ_BATCH_DEBUG"))
            for (size_t i = 0; i < ack->n_entries; i++)
                fprintf(stderr, "fuzz_batch: seq %llu status %d %s: %s\n",
                        (unsigned long long)ack->entries[i]->seq, ack->entries[i]->status,
                        ack->entries[i]->reason, ack->entries[i]->detail);
        if (sent != (size_t)-1 && !(mode & 1) && ack->n_entries != sent)
            abort();
        check_replay(ack, ans1, alen1, ans2, alen2);
        patrol__v1__ack__free_unpacked(ack, NULL);
    }
    free(ans1);
    free(ans2);
    free(body);
    free(packed);
    for (size_t i = 0; i < MAX_FIX_ENTRIES; i++)
        free(keep[i]);
    if (b)
        patrol__v1__batch__free_unpacked(b, NULL);
    return 0;
}
