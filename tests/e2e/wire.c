/* wire.c -- e2e_wire: a terminal that misbehaves on purpose, for the
 * end-to-end tests of patrold (tests/e2e/test_*.sh).
 *
 * It speaks to a real patrold over real TLS 1.2 (libcurl) as the terminal
 * whose store it is given: the server key pin, client certificate and
 * receipt key come from the store's sync_server row (written by
 * `patrol enroll`), the TLS key is STORE/device.key, and batches are built
 * from the store's journal rows. Each run makes one request and prints one
 * JSON line on stdout:
 *
 *   {"status":403,"reason":"foreign_device","curl_code":0,"curl_error":"",
 *    "body_len":..,"body_sha256":"..","error":{"reason":..,"message":..,
 *    "expected_seq":..},"ack":{"expected_seq":..,"accepted":..,"duplicate":..,
 *    "rejected":..,"entries":[{"seq":1,"status":"ACCEPTED","reason":"",
 *    "detail":""}],"missing":[..],"receipt":{"verified":true,"first_seq":..,
 *    "last_seq":..,"head":".."}},"upload_offset":..,"upload_length":..,
 *    "upload_complete":false}
 *
 * status 0 means no HTTP answer (curl_code/curl_error say why: a refused
 * handshake, a timeout). Exit status: 0 when the line was printed, 2 when
 * the tool itself could not do what it was asked (bad arguments, a store
 * it cannot read), so a broken tool never passes for a refusal.
 *
 * usage: e2e_wire [options] COMMAND ARGS...   (e2e_wire --help)
 */
#include "wire.h"

static const char usage_text[] =
    "usage: e2e_wire [options] COMMAND ARGS...\n"
    "\n"
    "Who and where (the terminal is --store; every request is one new TLS connection):\n"
    "  --store DIR          terminal store: pin, client certificate, receipt key, journal\n"
    "  --url URL            server base URL (default: the URL the store enrolled with)\n"
    "  --cert-from DIR      present DIR's client certificate and DIR/device.key instead\n"
    "                       (DIR is a store, or a directory with client.crt + device.key)\n"
    "  --no-cert            present no client certificate\n"
    "  --timeout S          give up after S seconds (default 20)\n"
    "  --save-body FILE     write the answer's body to FILE\n"
    "  --header 'N: V'      add a request header (repeatable)\n"
    "  --pad-header BYTES   add one X-Pad header of BYTES bytes\n"
    "  --many-headers N     add N small X-H-i headers\n"
    "  --content-length N   declare Content-Length N whatever the body size\n"
    "\n"
    "Commands:\n"
    "  batch FROM TO        POST /v1/batches with the journal's entries FROM..TO\n"
    "     --batch-id HEX    the 16-byte batch id (default: random)\n"
    "     --skip SEQ        leave entry SEQ out (a gap)\n"
    "     --edit SEQ        backdate entry SEQ by an hour, re-encode, keep its old signature\n"
    "     --flip SEQ        flip one bit of a character of SEQ's object id in its bytes\n"
    "     --resign          with --edit: re-hash and re-sign with the device key (a fork)\n"
    "     --bad-sig SEQ     flip one bit of entry SEQ's signature\n"
    "     --suite SEQ       entry SEQ names suite 1 (a future SM2/SM3 suite), re-signed\n"
    "                       with the device key: properly signed, in no suite we have\n"
    "     --device HEX      Batch.device (default: the store's device id)\n"
    "     --device-of DIR   Batch.device = the device id of store DIR\n"
    "     --protocol N      Batch.protocol (default 1)\n"
    "     --fill N          send N entries, cycling FROM..TO, each with a random signature\n"
    "     --body MODE       frame (default) | plain (protobuf, no LZ4) | truncate | corrupt\n"
    "  raw KIND             POST /v1/batches with a made-up body: garbage (random bytes),\n"
    "                       text-frame (a valid LZ4 frame of text), bomb (16 MiB of zeros in\n"
    "                       one frame), huge-declared (frame declaring 1 TiB), empty,\n"
    "                       big:N (N random bytes)\n"
    "  head ID              HEAD /v1/evidence/ID\n"
    "  patch ID OFFSET FILE [FROM [LEN]]\n"
    "                       PATCH /v1/evidence/ID, Upload-Offset OFFSET, body bytes\n"
    "                       FROM..FROM+LEN of FILE (default: all from FROM); --lz4 sends\n"
    "                       them as one LZ4 frame (Upload-Encoding: lz4)\n"
    "  get PATH             GET PATH\n"
    "  request METHOD PATH [FILE]   any method, optional body from FILE\n"
    "  mkcert DATA OUTDIR   a new key (OUTDIR/device.key) and a client certificate\n"
    "                       (OUTDIR/client.crt) from DATA's device CA, for a key that\n"
    "                       no device enrolled\n"
    "  append KIND OBJECT [NAME=VALUE...]\n"
    "                       no request: append one entry to --store's journal, signed\n"
    "                       with its device key and chained, WITHOUT the record's rules\n"
    "                       across entries (a terminal that breaks them); OBJECT 'M@'\n"
    "                       (any letter) is the id the entry makes, 'M-<dev8>-<seq>';\n"
    "                       prints {\"seq\":..,\"object\":..}\n"
    "     --corrects SEQ    Entry.corrects\n"
    "     --inspector ID    Entry.inspectors (repeatable)\n";


/* ---- evidence and the rest --------------------------------------------- */

static int cmd_head(const opts *o, store *s, const peer *pr, int argc, char **argv)
{
    char path[4200];
    result r;
    if (argc != 1)
        die("head ID");
    snprintf(path, sizeof path, "/v1/evidence/%s", argv[0]);
    perform(o, pr, "HEAD", path, NULL, 0, NULL, &r);
    print_result(o, &r, s, NULL, NULL);
    free(r.a.body);
    return 0;
}

static int cmd_patch(const opts *o, store *s, const peer *pr, int argc, char **argv)
{
    char path[4200], hdr[64];
    uint8_t *data, *frame = NULL;
    size_t len, from = 0, n;
    const uint8_t *body;
    size_t blen;
    opts o2 = *o;
    result r;
    const char *why;
    cJSON *sent;

    if (argc < 3 || argc > 5)
        die("patch ID OFFSET FILE [FROM [LEN]]");
    snprintf(path, sizeof path, "/v1/evidence/%s", argv[0]);
    snprintf(hdr, sizeof hdr, "Upload-Offset: %llu",
             (unsigned long long)parse_num(argv[1], "OFFSET"));
    data = read_all(argv[2], &len);
    if (argc >= 4)
        from = (size_t)parse_num(argv[3], "FROM");
    if (from > len)
        die("FROM %zu is past the end of %s (%zu bytes)", from, argv[2], len);
    n = len - from;
    if (argc == 5) {
        uint64_t want = parse_num(argv[4], "LEN");
        if (want < n)
            n = (size_t)want;
    }
    body = data + from;
    blen = n;
    if (o->lz4) {
        if (px_frame_encode(body, blen, &frame, &blen, &why) != 0)
            die("frame: %s", why);
        body = frame;
    }
    if (o2.n_extra + 3 > MAX_EXTRA)
        die("too many headers");
    o2.extra[o2.n_extra++] = hdr;
    o2.extra[o2.n_extra++] = "Tus-Resumable: 1.0.0";
    if (o->lz4)
        o2.extra[o2.n_extra++] = "Upload-Encoding: lz4";
    perform(&o2, pr, "PATCH", path, body, blen, "application/offset+octet-stream", &r);
    sent = cJSON_CreateObject();
    cJSON_AddNumberToObject(sent, "bytes", (double)n);
    cJSON_AddNumberToObject(sent, "body_len", (double)blen);
    print_result(o, &r, s, NULL, sent);
    free(r.a.body);
    free(frame);
    free(data);
    return 0;
}

static int cmd_request(const opts *o, store *s, const peer *pr, const char *method, int argc,
                       char **argv)
{
    uint8_t *body = NULL;
    size_t blen = 0;
    result r;
    if (argc < 1 || argc > 2)
        die("%s PATH [FILE]", method);
    if (argc == 2)
        body = read_all(argv[1], &blen);
    perform(o, pr, method, argv[0], body, blen, body ? "application/octet-stream" : NULL, &r);
    print_result(o, &r, s, NULL, NULL);
    free(r.a.body);
    free(body);
    return 0;
}

static int cmd_mkcert(int argc, char **argv)
{
    char *cak = NULL, *cac = NULL, *keyp = NULL, *crtp = NULL, *ca_pem, *pem = NULL;
    px_key *ca = NULL, *k = NULL;
    uint8_t pub[PX_PUBKEY_MAX];
    size_t publen, calen;
    uint64_t serial;
    const char *why = NULL;

    if (argc != 2)
        die("mkcert DATA OUTDIR");
    cak = path_join(argv[0], "ca.key");
    cac = path_join(argv[0], "ca.crt");
    keyp = path_join(argv[1], "device.key");
    crtp = path_join(argv[1], "client.crt");
    if (mkdir(argv[1], 0700) != 0 && errno != EEXIST)
        die("cannot create %s: %s", argv[1], strerror(errno));
    if (px_key_load_private(cak, &ca, &why) != 0)
        die("%s: %s", cak, why);
    ca_pem = (char *)read_all(cac, &calen);
    if (px_key_generate(&k, &why) != 0 || px_key_save_private(k, keyp, &why) != 0)
        die("%s: %s", keyp, why);
    if (px_key_public_der(k, pub, sizeof pub, &publen) != 0)
        die("public key");
    random_bytes(&serial, sizeof serial);
    serial = (serial >> 2) | 1;
    if (px_ca_issue(ca, ca_pem, pub, publen, "patrol-device-stray", serial, 30, &pem, &why) != 0)
        die("px_ca_issue: %s", why);
    write_all_file(crtp, pem, strlen(pem), 0644);
    printf("{\"key\":\"%s\",\"cert\":\"%s\"}\n", keyp, crtp);
    free(pem);
    free(ca_pem);
    px_key_free(ca);
    px_key_free(k);
    free(cak);
    free(cac);
    free(keyp);
    free(crtp);
    return 0;
}

/* ---- entries that break the record's rules ---------------------------- */

static int cmp_field(const void *a, const void *b)
{
    return strcmp((*(Patrol__V1__Field *const *)a)->name, (*(Patrol__V1__Field *const *)b)->name);
}

/* Append one entry to the store's journal as libpatrol would (chained,
 * signed by the device key), but without libpatrol's checks across
 * entries: the server must take it and flag it. */
static int cmd_append(const opts *o, int argc, char **argv)
{
    Patrol__V1__Entry e = PATROL__V1__ENTRY__INIT;
    Patrol__V1__Field f[32], *fp[32];
    sqlite3 *db;
    sqlite3_stmt *st;
    char *dbpath, *kp, object[80], dev8[9], matter[80];
    uint8_t device[PX_HASH_LEN], prev[PX_HASH_LEN], hash[PX_HASH_LEN], sig[PX_SIG_LEN], *buf;
    size_t n = 0, len;
    uint64_t seq = 0;
    const char *why = NULL;
    const px_kind_rule *k;
    px_key *key = NULL;
    struct timespec now;

    if (argc < 2)
        die("append KIND OBJECT [NAME=VALUE...]");
    if (!o->store)
        die("append needs --store");
    if (!(k = px_rules_find(argv[0])))
        die("append: unknown kind '%s'", argv[0]);
    dbpath = path_join(o->store, "patrol.db");
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    if (sqlite3_prepare_v2(db, "SELECT d.device_id, h.seq, h.hash FROM device d, head h", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != PX_HASH_LEN ||
        sqlite3_column_bytes(st, 2) != PX_HASH_LEN)
        die("%s: no device or journal head", dbpath);
    memcpy(device, sqlite3_column_blob(st, 0), PX_HASH_LEN);
    seq = (uint64_t)sqlite3_column_int64(st, 1) + 1;
    memcpy(prev, sqlite3_column_blob(st, 2), PX_HASH_LEN);
    sqlite3_finalize(st);
    px_format_hex(device, 4, dev8);
    if (strlen(argv[1]) == 2 && argv[1][1] == '@')
        snprintf(object, sizeof object, "%c-%s-%llu", argv[1][0], dev8, (unsigned long long)seq);
    else
        snprintf(object, sizeof object, "%s", argv[1]);
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || n >= 32)
            die("append: '%s' is not NAME=VALUE (at most 32)", argv[i]);
        *eq = '\0';
        patrol__v1__field__init(&f[n]);
        f[n].name = argv[i];
        f[n].value = eq + 1;
        fp[n] = &f[n];
        n++;
    }
    qsort(fp, n, sizeof fp[0], cmp_field);
    clock_gettime(CLOCK_REALTIME, &now);
    e.format = 1;
    e.device.data = device;
    e.device.len = PX_HASH_LEN;
    e.seq = seq;
    e.prev_hash.data = prev;
    e.prev_hash.len = PX_HASH_LEN;
    e.wall_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    e.mono_ns = (uint64_t)now.tv_sec * 1000000000u;
    e.boot_id = "e2e_wire";
    e.inspectors = (char **)o->inspectors;
    e.n_inspectors = o->n_inspectors;
    e.kind = argv[0];
    e.object = object;
    e.fields = fp;
    e.n_fields = n;
    e.corrects = o->corrects;
    if (px_entry_encode(&e, &buf, &len, &why) != 0)
        die("append: cannot encode: %s", why);
    px_entry_hash(buf, len, hash);
    kp = path_join(o->store, "device.key");
    if (px_key_load_private(kp, &key, &why) != 0)
        die("%s: %s", kp, why);
    if (px_sign(key, hash, sig) != 0)
        die("append: cannot sign");
    snprintf(matter, sizeof matter, "%s",
             k->scope == PX_SCOPE_MATTER || k->scope == PX_SCOPE_ENTRY ? object : "");
    if (sqlite3_prepare_v2(db, "INSERT INTO journal(seq, hash, entry, sig, kind, object, matter)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(st, 2, hash, PX_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, buf, (int)len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, sig, PX_SIG_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, argv[0], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, object, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, matter, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "UPDATE head SET seq = ?, hash = ?", -1, &st, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(st, 2, hash, PX_HASH_LEN, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    printf("{\"seq\":%llu,\"object\":\"%s\"}\n", (unsigned long long)seq, object);
    px_key_free(key);
    free(buf);
    free(kp);
    free(dbpath);
    sqlite3_close(db);
    return 0;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
    opts o;
    store s;
    peer pr;
    int i, rc;
    const char *cmd;

    memset(&o, 0, sizeof o);
    memset(&s, 0, sizeof s);
    o.timeout_s = 20;
    o.content_length = -1;
    o.protocol = 1;
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int npos = 0;
    if (!pos)
        die("out of memory");
    /* Options may come before or after the command and its arguments. */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            pos[npos++] = argv[i];
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VAL() (v ? (i++, v) : (die("%s needs a value", a), ""))
        if (strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "--store") == 0) {
            o.store = VAL();
        } else if (strcmp(a, "--url") == 0) {
            o.url = VAL();
        } else if (strcmp(a, "--cert-from") == 0) {
            o.cert_from = VAL();
        } else if (strcmp(a, "--no-cert") == 0) {
            o.no_cert = 1;
        } else if (strcmp(a, "--timeout") == 0) {
            o.timeout_s = (long)parse_num(VAL(), a);
        } else if (strcmp(a, "--save-body") == 0) {
            o.save_body = VAL();
        } else if (strcmp(a, "--header") == 0) {
            if (o.n_extra >= MAX_EXTRA - 4)
                die("too many --header");
            o.extra[o.n_extra++] = VAL();
        } else if (strcmp(a, "--pad-header") == 0) {
            o.pad_header = (size_t)parse_num(VAL(), a);
        } else if (strcmp(a, "--many-headers") == 0) {
            o.many_headers = (unsigned)parse_num(VAL(), a);
        } else if (strcmp(a, "--content-length") == 0) {
            o.content_length = (long long)parse_num(VAL(), a);
        } else if (strcmp(a, "--batch-id") == 0) {
            o.batch_id_hex = VAL();
        } else if (strcmp(a, "--device") == 0) {
            o.device_hex = VAL();
        } else if (strcmp(a, "--device-of") == 0) {
            o.device_of = VAL();
        } else if (strcmp(a, "--skip") == 0) {
            o.skip = parse_num(VAL(), a);
        } else if (strcmp(a, "--edit") == 0) {
            o.edit = parse_num(VAL(), a);
        } else if (strcmp(a, "--flip") == 0) {
            o.flip = parse_num(VAL(), a);
        } else if (strcmp(a, "--resign") == 0) {
            o.resign = 1;
        } else if (strcmp(a, "--bad-sig") == 0) {
            o.bad_sig = parse_num(VAL(), a);
        } else if (strcmp(a, "--suite") == 0) {
            o.suite = parse_num(VAL(), a);
        } else if (strcmp(a, "--protocol") == 0) {
            o.protocol = parse_num(VAL(), a);
        } else if (strcmp(a, "--fill") == 0) {
            o.fill = parse_num(VAL(), a);
        } else if (strcmp(a, "--body") == 0) {
            o.body_mode = VAL();
        } else if (strcmp(a, "--lz4") == 0) {
            o.lz4 = 1;
        } else if (strcmp(a, "--corrects") == 0) {
            o.corrects = parse_num(VAL(), a);
        } else if (strcmp(a, "--inspector") == 0) {
            if (o.n_inspectors >= sizeof o.inspectors / sizeof o.inspectors[0])
                die("too many --inspector");
            o.inspectors[o.n_inspectors++] = (char *)VAL();
        } else {
            die("unknown option %s (see --help)", a);
        }
#undef VAL
    }
    if (npos == 0) {
        fputs(usage_text, stderr);
        free(pos);
        return 2;
    }
    argc = npos;
    argv = pos;
    i = 0;
    cmd = argv[i++];
    if (strcmp(cmd, "mkcert") == 0) {
        rc = cmd_mkcert(argc - i, argv + i);
        free(pos);
        return rc;
    }
    if (strcmp(cmd, "append") == 0) {
        rc = cmd_append(&o, argc - i, argv + i);
        free(pos);
        return rc;
    }
    if (o.resign && !o.edit)
        die("--resign goes with --edit");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init failed");
    if (o.store)
        store_open(&s, o.store);
    peer_load(&pr, &o, &s);
    if (strcmp(cmd, "batch") == 0)
        rc = cmd_batch(&o, &s, &pr, argc - i, argv + i);
    else if (strcmp(cmd, "raw") == 0)
        rc = cmd_raw(&o, &s, &pr, argc - i, argv + i);
    else if (strcmp(cmd, "head") == 0)
        rc = cmd_head(&o, &s, &pr, argc - i, argv + i);
    else if (strcmp(cmd, "patch") == 0)
        rc = cmd_patch(&o, &s, &pr, argc - i, argv + i);
    else if (strcmp(cmd, "get") == 0)
        rc = cmd_request(&o, &s, &pr, "GET", argc - i, argv + i);
    else if (strcmp(cmd, "request") == 0 && argc - i >= 2)
        rc = cmd_request(&o, &s, &pr, argv[i], argc - i - 1, argv + i + 1);
    else
        die("unknown command '%s' (see --help)", cmd);
    peer_free(&pr);
    store_close(&s);
    curl_global_cleanup();
    free(pos);
    return rc;
}
