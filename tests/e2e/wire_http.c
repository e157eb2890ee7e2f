/* wire_http.c -- e2e_wire: one request to patrold as the terminal
 * (libcurl, TLS with the store's pin and certificate) and the JSON line
 * that reports it. Moved from wire.c. */
#include "wire.h"

/* ---- one request ------------------------------------------------------- */

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    answer *a = ud;
    size_t n = size * nmemb;
    if (a->len + n > MAX_BODY_ANSWER) {
        a->overflow = 1;
        return 0;
    }
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        uint8_t *nb;
        while (cap < a->len + n + 1)
            cap *= 2;
        if (!(nb = realloc(a->body, cap)))
            return 0;
        a->body = nb;
        a->cap = cap;
    }
    memcpy(a->body + a->len, buf, n);
    a->len += n;
    a->body[a->len] = '\0';
    return n;
}

/* "Name: value\r\n" -> value (trimmed) into out if the name matches. */
static int header_is(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t k = strlen(name), j = 0;
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return 0;
    line += k + 1;
    n -= k + 1;
    while (n && (*line == ' ' || *line == '\t'))
        line++, n--;
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
        n--;
    for (; j < n && j + 1 < cap; j++)
        out[j] = line[j];
    out[j] = '\0';
    return 1;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
    answer *a = ud;
    size_t n = size * nmemb;
    char v[128];
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue): forget the last one's. */
        a->reason[0] = a->content_type[0] = '\0';
        a->upload_offset = a->upload_length = -1;
        a->upload_complete = 0;
    } else if (header_is(buf, n, "X-Patrol-Reason", v, sizeof v)) {
        snprintf(a->reason, sizeof a->reason, "%s", v);
    } else if (header_is(buf, n, "Content-Type", v, sizeof v)) {
        snprintf(a->content_type, sizeof a->content_type, "%s", v);
    } else if (header_is(buf, n, "Upload-Offset", v, sizeof v)) {
        a->upload_offset = strtoll(v, NULL, 10);
    } else if (header_is(buf, n, "Upload-Length", v, sizeof v)) {
        a->upload_length = strtoll(v, NULL, 10);
    } else if (header_is(buf, n, "Upload-Complete", v, sizeof v)) {
        a->upload_complete = strcmp(v, "1") == 0;
    }
    return n;
}

/* The identity to present: a store's (sync_server.client_cert and
 * device.key), or client.crt + device.key of a plain directory. */
static void load_identity(peer *pr, const char *dir)
{
    char *crt = path_join(dir, "client.crt"), *db = path_join(dir, "patrol.db");
    struct stat st;
    if (stat(db, &st) == 0) {
        store s;
        store_open(&s, dir);
        pr->cert_pem = (char *)store_value(&s, "SELECT client_cert FROM sync_server", 0, 0,
                                           &pr->cert_len);
        store_close(&s);
    } else {
        pr->cert_pem = (char *)read_all(crt, &pr->cert_len);
    }
    pr->key_path = path_join(dir, "device.key");
    free(crt);
    free(db);
}

void peer_load(peer *pr, const opts *o, store *s)
{
    memset(pr, 0, sizeof *pr);
    if (s->db) {
        size_t n;
        uint8_t *pin = store_value(s, "SELECT pin FROM sync_server", 0, 0, &n);
        if (n != PX_HASH_LEN)
            die("%s: the stored pin is %zu bytes", s->dir, n);
        memcpy(pr->pin, pin, PX_HASH_LEN);
        pr->have_pin = 1;
        free(pin);
        if (!o->url)
            pr->url = (char *)store_value(s, "SELECT url FROM sync_server", 0, 0, NULL);
    }
    if (o->url)
        pr->url = xstrdup(o->url);
    if (!pr->url)
        die("no server: give --url or an enrolled --store");
    if (!o->no_cert) {
        if (o->cert_from)
            load_identity(pr, o->cert_from);
        else if (s->db)
            load_identity(pr, s->dir);
    }
}

void peer_free(peer *pr)
{
    free(pr->url);
    if (pr->cert_pem)
        px_wipe(pr->cert_pem, pr->cert_len);
    free(pr->cert_pem);
    free(pr->key_path);
}

/* One request on a new connection. body may be NULL (no body). */
void perform(const opts *o, const peer *pr, const char *method, const char *path,
                    const uint8_t *body, size_t blen, const char *ctype, result *r)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    char url[4096], line[256], pinopt[128], *pad = NULL;
    char pin64[64];

    memset(r, 0, sizeof *r);
    r->a.upload_offset = r->a.upload_length = -1;
    if (!h)
        die("curl_easy_init failed");
    snprintf(url, sizeof url, "%s%s", pr->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    /* As the terminal does: the pin is the whole trust. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    if (pr->have_pin) {
        if (px_base64_encode(pr->pin, PX_HASH_LEN, pin64, sizeof pin64) != 0)
            die("cannot encode the pin");
        snprintf(pinopt, sizeof pinopt, "sha256//%s", pin64);
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, pinopt);
    }
    if (pr->cert_pem) {
        struct curl_blob blob = {pr->cert_pem, pr->cert_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY, pr->key_path);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->a);
    hl = curl_slist_append(hl, "Expect:");
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        hl = curl_slist_append(hl, line);
    }
    if (o->content_length >= 0) {
        snprintf(line, sizeof line, "Content-Length: %lld", o->content_length);
        hl = curl_slist_append(hl, line);
    }
    for (int i = 0; i < o->n_extra; i++)
        hl = curl_slist_append(hl, o->extra[i]);
    if (o->pad_header) {
        size_t n = o->pad_header + 8;
        pad = xmalloc(n + 1);
        memcpy(pad, "X-Pad: ", 7);
        memset(pad + 7, 'a', n - 7);
        pad[n] = '\0';
        hl = curl_slist_append(hl, pad);
    }
    for (unsigned i = 0; i < o->many_headers; i++) {
        snprintf(line, sizeof line, "X-H-%u: %u", i, i);
        hl = curl_slist_append(hl, line);
    }
    if (!hl)
        die("out of memory for headers");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0 || body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    r->cc = curl_easy_perform(h);
    if (r->cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->a.status);
    else
        r->a.status = 0;
    curl_easy_cleanup(h);
    curl_slist_free_all(hl);
    free(pad);
}

/* ---- the JSON line ----------------------------------------------------- */

static const char *status_name(Patrol__V1__EntryStatus s)
{
    switch (s) {
    case PATROL__V1__ENTRY_STATUS__ACCEPTED: return "ACCEPTED";
    case PATROL__V1__ENTRY_STATUS__DUPLICATE: return "DUPLICATE";
    case PATROL__V1__ENTRY_STATUS__REJECTED: return "REJECTED";
    default: return "UNSPECIFIED";
    }
}

void add_hex(cJSON *o, const char *name, const uint8_t *b, size_t n)
{
    char *hex = xmalloc(2 * n + 1);
    hex_of(b, n, hex);
    cJSON_AddStringToObject(o, name, hex);
    free(hex);
}

/* The Ack of a batch, its receipt checked with the store's receipt key. */
static void add_ack(cJSON *j, const answer *a, store *s, const uint8_t batch_id[16])
{
    Patrol__V1__Ack *ack = patrol__v1__ack__unpack(NULL, a->len, a->body);
    cJSON *o, *arr, *rc;
    unsigned counts[4] = {0, 0, 0, 0};
    if (!ack) {
        cJSON_AddStringToObject(j, "ack_error", "the 200 body is not an Ack");
        return;
    }
    o = cJSON_AddObjectToObject(j, "ack");
    cJSON_AddNumberToObject(o, "expected_seq", (double)ack->expected_seq);
    cJSON_AddBoolToObject(o, "batch_id_matches",
                          ack->batch_id.len == 16 && memcmp(ack->batch_id.data, batch_id, 16) == 0);
    arr = cJSON_AddArrayToObject(o, "entries");
    for (size_t i = 0; i < ack->n_entries; i++) {
        cJSON *e = cJSON_CreateObject();
        unsigned st = (unsigned)ack->entries[i]->status;
        cJSON_AddNumberToObject(e, "seq", (double)ack->entries[i]->seq);
        cJSON_AddStringToObject(e, "status", status_name(ack->entries[i]->status));
        cJSON_AddStringToObject(e, "reason", ack->entries[i]->reason);
        cJSON_AddStringToObject(e, "detail", ack->entries[i]->detail);
        cJSON_AddItemToArray(arr, e);
        counts[st < 4 ? st : 0]++;
    }
    cJSON_AddNumberToObject(o, "accepted", counts[PATROL__V1__ENTRY_STATUS__ACCEPTED]);
    cJSON_AddNumberToObject(o, "duplicate", counts[PATROL__V1__ENTRY_STATUS__DUPLICATE]);
    cJSON_AddNumberToObject(o, "rejected", counts[PATROL__V1__ENTRY_STATUS__REJECTED]);
    arr = cJSON_AddArrayToObject(o, "missing");
    for (size_t i = 0; i < ack->n_missing_evidence; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(ack->missing_evidence[i]));
    rc = cJSON_AddObjectToObject(o, "receipt");
    if (ack->receipt && s->db) {
        Patrol__V1__ReceiptBody *rb =
            patrol__v1__receipt_body__unpack(NULL, ack->receipt->body.len, ack->receipt->body.data);
        size_t klen;
        uint8_t *kder = store_value(s, "SELECT receipt_key FROM sync_server", 0, 0, &klen);
        px_key *k = NULL;
        const char *why;
        uint8_t h[PX_HASH_LEN];
        int ok = 0;
        if (px_key_from_public_der(kder, klen, &k, &why) != 0)
            die("the store's receipt key is unusable: %s", why);
        px_sha256(ack->receipt->body.data, ack->receipt->body.len, h);
        ok = ack->receipt->sig.len == PX_SIG_LEN && px_verify(k, h, ack->receipt->sig.data) == 0;
        cJSON_AddBoolToObject(rc, "verified", ok && rb);
        if (rb) {
            cJSON_AddNumberToObject(rc, "first_seq", (double)rb->first_seq);
            cJSON_AddNumberToObject(rc, "last_seq", (double)rb->last_seq);
            add_hex(rc, "head", rb->head_hash.data, rb->head_hash.len);
            add_hex(rc, "device", rb->device.data, rb->device.len);
            cJSON_AddBoolToObject(rc, "batch_id_matches", rb->batch_id.len == 16 &&
                                                              memcmp(rb->batch_id.data, batch_id,
                                                                     16) == 0);
            patrol__v1__receipt_body__free_unpacked(rb, NULL);
        }
        px_key_free(k);
        free(kder);
    } else {
        cJSON_AddBoolToObject(rc, "verified", 0);
    }
    patrol__v1__ack__free_unpacked(ack, NULL);
}

void print_result(const opts *o, const result *r, store *s, const uint8_t *batch_id,
                         cJSON *extra)
{
    cJSON *j = cJSON_CreateObject();
    char *line;
    uint8_t h[PX_HASH_LEN];

    cJSON_AddNumberToObject(j, "status", (double)r->a.status);
    cJSON_AddStringToObject(j, "reason", r->a.reason);
    cJSON_AddNumberToObject(j, "curl_code", (double)r->cc);
    cJSON_AddStringToObject(j, "curl_error",
                            r->cc == CURLE_OK ? ""
                            : r->errbuf[0]    ? r->errbuf
                                              : curl_easy_strerror(r->cc));
    cJSON_AddStringToObject(j, "content_type", r->a.content_type);
    cJSON_AddNumberToObject(j, "body_len", (double)r->a.len);
    px_sha256(r->a.body ? r->a.body : (const uint8_t *)"", r->a.len, h);
    add_hex(j, "body_sha256", h, PX_HASH_LEN);
    if (r->a.status >= 400 && r->a.len > 0 &&
        strstr(r->a.content_type, "application/x-protobuf")) {
        Patrol__V1__Error *e = patrol__v1__error__unpack(NULL, r->a.len, r->a.body);
        cJSON *eo = cJSON_AddObjectToObject(j, "error");
        if (e) {
            cJSON_AddStringToObject(eo, "reason", e->reason);
            cJSON_AddStringToObject(eo, "message", e->message);
            cJSON_AddNumberToObject(eo, "expected_seq", (double)e->expected_seq);
            patrol__v1__error__free_unpacked(e, NULL);
        } else {
            cJSON_AddStringToObject(eo, "reason", "(the body is not an Error message)");
        }
    } else if (r->a.status >= 400) {
        char text[200];
        size_t n = r->a.len < sizeof text - 1 ? r->a.len : sizeof text - 1;
        for (size_t i = 0; i < n; i++)
            text[i] = (r->a.body[i] >= ' ' && r->a.body[i] < 0x7f) ? (char)r->a.body[i] : ' ';
        text[n] = '\0';
        cJSON_AddStringToObject(j, "text", text);
    }
    if (batch_id && r->a.status == 200)
        add_ack(j, &r->a, s, batch_id);
    if (r->a.upload_offset >= 0)
        cJSON_AddNumberToObject(j, "upload_offset", (double)r->a.upload_offset);
    if (r->a.upload_length >= 0)
        cJSON_AddNumberToObject(j, "upload_length", (double)r->a.upload_length);
    cJSON_AddBoolToObject(j, "upload_complete", r->a.upload_complete);
    if (extra)
        cJSON_AddItemToObject(j, "sent", extra);
    if (o->save_body)
        write_all_file(o->save_body, r->a.body ? r->a.body : (const uint8_t *)"", r->a.len, 0644);
    if (!(line = cJSON_PrintUnformatted(j)))
        die("out of memory printing");
    puts(line);
    fflush(stdout);
    free(line);
    cJSON_Delete(j);
}
