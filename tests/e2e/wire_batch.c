/* wire_batch.c -- e2e_wire: batches built from the journal's rows
 * (mutated on purpose: edited, flipped, re-signed, in another suite, bad signatures) and
 * made-up bodies. Moved from wire.c. */
#include "wire.h"

/* ---- batches ----------------------------------------------------------- */

/* Sign b's bytes again with the store's device key. */
static void resign_entry(built *b, const char *store_dir)
{
    const char *why = NULL;
    char *kp = path_join(store_dir, "device.key");
    px_key *k = NULL;
    uint8_t h[PX_HASH_LEN];
    if (px_key_load_private(kp, &k, &why) != 0)
        die("%s: %s", kp, why);
    px_entry_hash(b->entry, b->len, h);
    if (px_sign(k, h, b->sig) != 0)
        die("cannot sign");
    px_key_free(k);
    free(kp);
}

/* Backdate (edit) an entry by an hour; re-encode. Signs it again with the
 * device key when resign (a fork), else keeps the old signature. */
static void edit_entry(built *b, const char *store_dir, int resign)
{
    const char *why = NULL;
    Patrol__V1__Entry *e = px_entry_decode(b->entry, b->len, &why);
    uint8_t *out = NULL;
    size_t n;
    if (!e)
        die("journal entry does not decode: %s", why);
    e->wall_ms -= 3600000;
    if (px_entry_encode(e, &out, &n, &why) != 0)
        die("cannot re-encode the edited entry: %s", why);
    px_entry_free(e);
    free(b->entry);
    b->entry = out;
    b->len = n;
    if (resign)
        resign_entry(b, store_dir);
}

/* Entry.suite = 1 (field 15, the last, so appending keeps field order),
 * signed again: a terminal from a future with an SM2 suite. The encoder
 * refuses such an entry, so the bytes are made here. */
static void suite_entry(built *b, const char *store_dir)
{
    uint8_t *more = realloc(b->entry, b->len + 2);
    if (!more)
        die("out of memory");
    more[b->len] = 0x78; /* field 15, varint */
    more[b->len + 1] = 0x01;
    b->entry = more;
    b->len += 2;
    resign_entry(b, store_dir);
}

static int alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Flip one bit of one character of the entry's object id, in place in the
 * encoded bytes: the entry still decodes, but its bytes are not what the
 * device signed. */
static void flip_entry(built *b)
{
    const char *why = NULL;
    Patrol__V1__Entry *e = px_entry_decode(b->entry, b->len, &why);
    size_t olen;
    if (!e)
        die("journal entry does not decode: %s", why);
    olen = strlen(e->object);
    for (size_t at = 0; olen && at + olen <= b->len; at++) {
        if (memcmp(b->entry + at, e->object, olen) != 0)
            continue;
        for (size_t i = olen; i-- > 0;) {
            int c = b->entry[at + i];
            if (alnum(c) && alnum(c ^ 1)) {
                b->entry[at + i] = (uint8_t)(c ^ 1);
                px_entry_free(e);
                return;
            }
        }
    }
    die("entry has no object id with a character to flip");
}

static void parse_hex_arg(const char *s, uint8_t *out, size_t n, const char *what)
{
    if (strlen(s) != 2 * n || px_parse_hex(s, out, n) != NULL)
        die("%s must be %zu lower-case hex digits", what, 2 * n);
}

int cmd_batch(const opts *o, store *s, const peer *pr, int argc, char **argv)
{
    Patrol__V1__Batch b = PATROL__V1__BATCH__INIT;
    Patrol__V1__SignedEntry *se = NULL, **sep = NULL;
    uint64_t from, to, count = 0;
    uint8_t batch_id[16], device[PX_HASH_LEN], *raw = NULL, *frame = NULL, *body;
    size_t rawlen, flen, blen, nbuilt = 0;
    built *bl = NULL;
    const char *why;
    result r;
    cJSON *sent;

    if (argc != 2)
        die("batch FROM TO");
    if (!s->db)
        die("batch needs --store");
    from = parse_num(argv[0], "FROM");
    to = parse_num(argv[1], "TO");
    if (from < 1 || to < from)
        die("batch: need 1 <= FROM <= TO");
    if (o->batch_id_hex)
        parse_hex_arg(o->batch_id_hex, batch_id, 16, "--batch-id");
    else
        random_bytes(batch_id, sizeof batch_id);
    if (o->device_hex) {
        parse_hex_arg(o->device_hex, device, PX_HASH_LEN, "--device");
    } else {
        store other, *src = s;
        uint8_t *d;
        size_t n;
        if (o->device_of) {
            store_open(&other, o->device_of);
            src = &other;
        }
        d = store_value(src, "SELECT device_id FROM device", 0, 0, &n);
        if (n != PX_HASH_LEN)
            die("device id of %zu bytes", n);
        memcpy(device, d, PX_HASH_LEN);
        free(d);
        if (o->device_of)
            store_close(&other);
    }

    bl = calloc((size_t)(to - from + 1), sizeof *bl);
    if (!bl)
        die("out of memory");
    for (uint64_t q = from; q <= to; q++) {
        built *x;
        uint8_t *sig;
        size_t siglen;
        if (q == o->skip)
            continue;
        x = &bl[nbuilt++];
        x->entry = store_value(s, "SELECT entry FROM journal WHERE seq = ?", 1, (int64_t)q, &x->len);
        sig = store_value(s, "SELECT sig FROM journal WHERE seq = ?", 1, (int64_t)q, &siglen);
        if (siglen != PX_SIG_LEN)
            die("journal entry %llu has a %zu-byte signature", (unsigned long long)q, siglen);
        memcpy(x->sig, sig, PX_SIG_LEN);
        free(sig);
        if (q == o->edit)
            edit_entry(x, s->dir, o->resign);
        if (q == o->flip)
            flip_entry(x);
        if (q == o->bad_sig)
            x->sig[PX_SIG_LEN / 2] ^= 0x01;
        if (q == o->suite)
            suite_entry(x, s->dir);
    }
    if ((o->edit && (o->edit < from || o->edit > to)) ||
        (o->flip && (o->flip < from || o->flip > to)) ||
        (o->bad_sig && (o->bad_sig < from || o->bad_sig > to)) ||
        (o->suite && (o->suite < from || o->suite > to)))
        die("a mutated entry is outside FROM..TO");
    if (nbuilt == 0)
        die("batch: no entry left to send");
    count = o->fill ? o->fill : nbuilt;
    se = calloc((size_t)count, sizeof *se);
    sep = calloc((size_t)count, sizeof *sep);
    if (!se || !sep)
        die("out of memory");
    for (uint64_t i = 0; i < count; i++) {
        built *x = &bl[i % nbuilt];
        patrol__v1__signed_entry__init(&se[i]);
        se[i].entry.data = x->entry;
        se[i].entry.len = x->len;
        if (o->fill) {
            /* Random signatures keep the frame incompressible enough to
             * stay within the ratio limit: the count is what is tested. */
            se[i].sig.data = xmalloc(PX_SIG_LEN);
            random_bytes(se[i].sig.data, PX_SIG_LEN);
        } else {
            se[i].sig.data = x->sig;
        }
        se[i].sig.len = PX_SIG_LEN;
        sep[i] = &se[i];
    }
    b.protocol = (uint32_t)o->protocol;
    b.batch_id.data = batch_id;
    b.batch_id.len = sizeof batch_id;
    b.device.data = device;
    b.device.len = PX_HASH_LEN;
    b.entries = sep;
    b.n_entries = (size_t)count;
    rawlen = protobuf_c_message_get_packed_size(&b.base);
    raw = xmalloc(rawlen);
    protobuf_c_message_pack(&b.base, raw);
    if (px_frame_encode(raw, rawlen, &frame, &flen, &why) != 0)
        die("cannot frame the batch: %s", why);
    body = frame;
    blen = flen;
    if (!o->body_mode || strcmp(o->body_mode, "frame") == 0) {
    } else if (strcmp(o->body_mode, "plain") == 0) {
        body = raw;
        blen = rawlen;
    } else if (strcmp(o->body_mode, "truncate") == 0) {
        blen = flen / 2;
    } else if (strcmp(o->body_mode, "corrupt") == 0) {
        /* A bit in the middle of the compressed data (past the 7..15
         * header bytes): block or content checksum no longer match. */
        frame[flen / 2 > 20 ? flen / 2 : 20] ^= 0x10;
    } else {
        die("--body: frame, plain, truncate or corrupt");
    }
    perform(o, pr, "POST", "/v1/batches", body, blen, "application/x-patrol-batch", &r);
    sent = cJSON_CreateObject();
    add_hex(sent, "batch_id", batch_id, sizeof batch_id);
    cJSON_AddNumberToObject(sent, "entries", (double)count);
    cJSON_AddNumberToObject(sent, "body_len", (double)blen);
    print_result(o, &r, s, batch_id, sent);

    free(r.a.body);
    if (o->fill)
        for (uint64_t i = 0; i < count; i++)
            free(se[i].sig.data);
    for (size_t i = 0; i < nbuilt; i++)
        free(bl[i].entry);
    free(bl);
    free(se);
    free(sep);
    free(raw);
    free(frame);
    return 0;
}

/* ---- made-up bodies ---------------------------------------------------- */

/* The header of an LZ4 frame that declares 1 TiB of content, then one
 * small block and the end mark: a decoder that trusted the declared size
 * would allocate it. */
static uint8_t *huge_declared(size_t *len)
{
    LZ4F_cctx *cx = NULL;
    LZ4F_preferences_t pr;
    uint8_t src[1024], *out;
    size_t cap = LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(sizeof src, NULL) + 16, n, k;
    memset(&pr, 0, sizeof pr);
    memset(src, 'x', sizeof src);
    pr.frameInfo.contentSize = (unsigned long long)1 << 40;
    pr.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    out = xmalloc(cap);
    if (LZ4F_isError(LZ4F_createCompressionContext(&cx, LZ4F_VERSION)))
        die("lz4 context");
    n = LZ4F_compressBegin(cx, out, cap, &pr);
    if (LZ4F_isError(n))
        die("LZ4F_compressBegin: %s", LZ4F_getErrorName(n));
    k = LZ4F_compressUpdate(cx, out + n, cap - n, src, sizeof src, NULL);
    if (LZ4F_isError(k))
        die("LZ4F_compressUpdate: %s", LZ4F_getErrorName(k));
    n += k;
    k = LZ4F_flush(cx, out + n, cap - n, NULL);
    if (LZ4F_isError(k))
        die("LZ4F_flush: %s", LZ4F_getErrorName(k));
    n += k;
    memset(out + n, 0, 8); /* end mark and a (wrong) content checksum */
    n += 8;
    LZ4F_freeCompressionContext(cx);
    *len = n;
    return out;
}

int cmd_raw(const opts *o, store *s, const peer *pr, int argc, char **argv)
{
    uint8_t *body = NULL;
    size_t blen = 0;
    const char *why, *kind;
    result r;
    cJSON *sent;

    if (argc != 1)
        die("raw KIND");
    kind = argv[0];
    if (strcmp(kind, "garbage") == 0) {
        blen = 4096;
        body = xmalloc(blen);
        random_bytes(body, blen);
        body[0] = 0x00; /* never the LZ4 magic by chance */
    } else if (strcmp(kind, "text-frame") == 0) {
        static const char text[] = "this is not a protobuf Batch, only text in an LZ4 frame\n";
        if (px_frame_encode(text, sizeof text - 1, &body, &blen, &why) != 0)
            die("frame: %s", why);
    } else if (strcmp(kind, "bomb") == 0) {
        size_t n = (size_t)16 << 20;
        uint8_t *zeros = calloc(1, n);
        if (!zeros)
            die("out of memory");
        if (px_frame_encode(zeros, n, &body, &blen, &why) != 0)
            die("frame: %s", why);
        free(zeros);
    } else if (strcmp(kind, "huge-declared") == 0) {
        body = huge_declared(&blen);
    } else if (strcmp(kind, "empty") == 0) {
        body = xmalloc(1);
        blen = 0;
    } else if (strncmp(kind, "big:", 4) == 0) {
        blen = (size_t)parse_num(kind + 4, "big:N");
        body = xmalloc(blen);
        random_bytes(body, blen);
    } else {
        die("raw: unknown KIND '%s'", kind);
    }
    perform(o, pr, "POST", "/v1/batches", body, blen, "application/x-patrol-batch", &r);
    sent = cJSON_CreateObject();
    cJSON_AddNumberToObject(sent, "body_len", (double)blen);
    print_result(o, &r, s, NULL, sent);
    free(r.a.body);
    free(body);
    return 0;
}
