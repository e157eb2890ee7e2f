/* audit_export.c -- `patrold --data DIR audit export --matter ID --out FILE
 * [--reveal]`: the archive (归档, seed 二(三)5) of one matter as a tar that
 * checks itself with stock tools. Read-only on DIR; the tar is written
 * beside FILE and linked into place only when complete (an existing FILE
 * is never overwritten).
 *
 * Layout (docs/server.md "Audit: verify and archives"):
 *   catalogue.html, catalogue.json     目录: every item, its path and what it is
 *   documents/<D-id>.html              each 柔性执法意见书 with its delivery
 *   documents/record.html              the full-process record of the matter
 *   entries/<dev>-<seq>.json           every entry decoded (redacted unless --reveal)
 *   entries/<dev>-<seq>.entry, .sig    the signed canonical bytes and r||s signature
 *                                      (entries holding a confidential field: only
 *                                      with --reveal, since signed bytes cannot be
 *                                      redacted; the catalogue lists those left out)
 *   evidence/<sha256>.<ext>            original evidence files
 *   keys/device-<n>.pem, keys/device-ca.crt   device public keys, the CA that
 *                                      issued their certificates
 *   receipts/device-<n>.receipt, .json the server's signed receipt covering them
 *   server-key.pem                     the receipt key (public)
 *   SHA256SUMS, SHA256SUMS.sig         manifest of every other file; DER ECDSA
 *                                      by the receipt key (openssl dgst -verify)
 *
 * This file collects and writes; the HTML and JSON renderings are in
 * audit_export_html.c (audit_export.h), the buffer and escapers it shares
 * with verify-archive in audit_archive.c.
 */
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "i18n.h"
#include "audit_archive.h"
#include "audit_export.h"
#include "crypto.h"
#include "entry.h"
#include "matter.h"
#include "validate.h"

#define CMD "export"
#define MAX_ENTRIES 100000
#define MAX_EVIDENCE_FILE ((uint64_t)4 << 30)


static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t nc;
    void *p;
    if (n < *cap)
        return 0;
    nc = *cap ? *cap * 2 : 32;
    if (nc > SIZE_MAX / elem)
        return -1;
    if (!(p = realloc(*arr, nc * elem)))
        return -1;
    memset((char *)p + *cap * elem, 0, (nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return 0;
}

static member *add_member(exporter *x, const char *path, const char *what)
{
    member *m;
    for (size_t i = 0; i < x->nm; i++)
        if (strcmp(x->ms[i].path, path) == 0)
            return &x->ms[i]; /* the same item again (e.g. one key) */
    if (grow((void **)&x->ms, &x->capm, x->nm, sizeof *x->ms) != 0) {
        x->oom = 1;
        return NULL;
    }
    m = &x->ms[x->nm++];
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    snprintf(m->what, sizeof m->what, "%s", what);
    m->listed = 1;
    return m;
}

/* ---- collecting the matter's entries ----------------------------------- */

static xentry *find_x(exporter *x, int64_t device, uint64_t seq)
{
    for (size_t i = 0; i < x->nx; i++)
        if (x->xs[i].device == device && x->xs[i].seq == seq)
            return &x->xs[i];
    return NULL;
}

static void add_device(exporter *x, int64_t d)
{
    for (size_t i = 0; i < x->ndevs; i++)
        if (x->devs[i] == d)
            return;
    if (x->ndevs < sizeof x->devs / sizeof x->devs[0])
        x->devs[x->ndevs++] = d;
    else
        x->bad = 1, snprintf(x->why, sizeof x->why, "%s", _("more than 64 devices in one matter"));
}

typedef struct add_ctx {
    exporter *x;
    int in_matter;
    const char *kind; /* only entries of this kind (context), NULL: any */
    int known_devices; /* only entries of devices already in the archive */
} add_ctx;

static int add_row(void *ud, const st_audit_entry *row)
{
    add_ctx *c = ud;
    exporter *x = c->x;
    xentry *xe;
    const char *why;
    if (c->kind && strcmp(row->kind, c->kind) != 0)
        return 0;
    if (c->known_devices) {
        size_t i = 0;
        while (i < x->ndevs && x->devs[i] != row->device)
            i++;
        if (i == x->ndevs)
            return 0;
    }
    if ((xe = find_x(x, row->device, row->seq))) {
        xe->in_matter |= c->in_matter;
        return 0;
    }
    if (x->nx >= MAX_ENTRIES) {
        x->bad = 1;
        snprintf(x->why, sizeof x->why, _("the matter has more than %d entries"), MAX_ENTRIES);
        return 1;
    }
    if (grow((void **)&x->xs, &x->capx, x->nx, sizeof *x->xs) != 0 ||
        !(x->xs[x->nx].bytes = malloc(row->entry_len ? row->entry_len : 1))) {
        x->oom = 1;
        return 1;
    }
    xe = &x->xs[x->nx];
    xe->device = row->device;
    xe->seq = row->seq;
    memcpy(xe->bytes, row->entry, row->entry_len);
    xe->len = row->entry_len;
    if (row->sig_len != 64 || !(xe->e = px_entry_decode(row->entry, row->entry_len, &why))) {
        free(xe->bytes);
        x->bad = 1;
        snprintf(x->why, sizeof x->why,
                 _("device %lld entry %" PRIu64 " is damaged (%s): run 'patrold audit verify'"),
                 (long long)row->device, row->seq, row->sig_len != 64 ? "signature" : why);
        return 1;
    }
    memcpy(xe->sig, row->sig, 64);
    px_entry_hash(row->entry, row->entry_len, xe->hash);
    xe->received_ms = row->received_ms;
    xe->in_matter = c->in_matter;
    for (size_t i = 0; i < xe->e->n_fields; i++)
        if (xe->e->fields[i]->confidential != PATROL__V1__CONFIDENTIALITY__CONF_NONE)
            xe->confidential = 1;
    x->nx++;
    add_device(x, row->device);
    return 0;
}

static int matter_cb(void *ud, int64_t device, uint64_t seq, const uint8_t *entry, size_t len)
{
    exporter *x = ud;
    add_ctx c = {x, 1, NULL, 0};
    int rc;
    (void)entry;
    (void)len;
    rc = x->db->ops->audit_entry(x->db, device, seq, add_row, &c);
    if (rc != ST_OK && !x->bad) {
        x->bad = 1;
        snprintf(x->why, sizeof x->why, _("device %lld entry %" PRIu64 ": %s"), (long long)device,
                 seq, rc == ST_NOTFOUND ? "indexed but not stored" : x->db->ops->errmsg(x->db));
    }
    return x->bad || x->oom;
}

static int collect(exporter *x)
{
    size_t n;
    if (x->db->ops->matter_entries(x->db, x->matter, matter_cb, x) != ST_OK) {
        snprintf(x->why, sizeof x->why, _("reading the matter: %s"), x->db->ops->errmsg(x->db));
        return -1;
    }
    if (x->bad || x->oom)
        return -1;
    if (x->nx == 0) {
        snprintf(x->why, sizeof x->why,
                 _("unknown matter '%s': the server holds no entry of it (see 'patrold flags' or"
                 " the terminals' 'patrol log')"),
                 x->matter);
        return -1;
    }
    /* Context: each device's entry 1 (its key), the matter's subject, the
     * inspectors acting, as their devices recorded them. */
    n = x->nx;
    for (size_t i = 0; i < x->ndevs && !x->bad && !x->oom; i++) {
        add_ctx c = {x, 0, "device.init", 1};
        x->db->ops->audit_entry(x->db, x->devs[i], 1, add_row, &c);
    }
    for (size_t i = 0; i < n && !x->bad && !x->oom; i++) {
        Patrol__V1__Entry *e = x->xs[i].e;
        if (strcmp(e->kind, "matter.open") == 0) {
            for (size_t k = 0; k < e->n_fields; k++)
                if (strcmp(e->fields[k]->name, "subject") == 0) {
                    add_ctx c = {x, 0, "subject.add", 1};
                    x->db->ops->audit_object_entries(x->db, e->fields[k]->value, add_row, &c);
                }
        }
        for (size_t k = 0; k < e->n_inspectors; k++) {
            add_ctx c = {x, 0, "inspector.add", 1};
            x->db->ops->audit_object_entries(x->db, e->inspectors[k], add_row, &c);
        }
    }
    return x->bad || x->oom ? -1 : 0;
}

/* ---- receipts ------------------------------------------------------------ */

typedef struct rc_ctx {
    uint64_t need;   /* the device's highest seq in the archive */
    uint8_t *receipt; /* encoded Receipt, malloc'd */
    size_t len;
    Patrol__V1__ReceiptBody *body;
    uint8_t *ack;    /* the whole stored answer (receipt, log checkpoint and
                      * inclusion proof), malloc'd */
    size_t ack_len;
    int has_log;
    char *checkpoint; /* the signed note, malloc'd, or NULL */
} rc_ctx;

static int ack_cb(void *ud, const uint8_t *ack, size_t len, int64_t created_ms)
{
    rc_ctx *c = ud;
    Patrol__V1__Ack *a = patrol__v1__ack__unpack(NULL, len, ack);
    Patrol__V1__ReceiptBody *b;
    (void)created_ms;
    if (!a)
        return 0;
    if (a->receipt &&
        (b = patrol__v1__receipt_body__unpack(NULL, a->receipt->body.len, a->receipt->body.data))) {
        if (b->last_seq >= c->need && !c->receipt) {
            size_t n = patrol__v1__receipt__get_packed_size(a->receipt);
            if ((c->receipt = malloc(n ? n : 1))) {
                c->len = patrol__v1__receipt__pack(a->receipt, c->receipt);
                c->body = b;
                b = NULL;
                if ((c->ack = malloc(len ? len : 1))) {
                    memcpy(c->ack, ack, len);
                    c->ack_len = len;
                }
                if (a->log_checkpoint && a->log_checkpoint[0] && a->log_leaf)
                    c->checkpoint = strdup(a->log_checkpoint);
            }
        }
        if (b)
            patrol__v1__receipt_body__free_unpacked(b, NULL);
    }
    patrol__v1__ack__free_unpacked(a, NULL);
    return c->receipt != NULL;
}

/* ---- building ------------------------------------------------------------ */

static int read_small_file(const char *path, ar_buf *b, size_t max, char *why, size_t wlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char tmp[8192];
    ssize_t n;
    if (fd < 0) {
        snprintf(why, wlen, "%.300s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = read(fd, tmp, sizeof tmp)) > 0) {
        if (b->n + (size_t)n > max) {
            snprintf(why, wlen, "%.300s: over %zu bytes", path, max);
            close(fd);
            return -1;
        }
        ar_put(b, tmp, (size_t)n);
    }
    close(fd);
    if (n < 0) {
        snprintf(why, wlen, "%.300s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int build(exporter *x, px_key *server_key)
{
    char path[AR_PATH_MAX + 1], what[300], pem[1024];
    member *m;

    /* documents */
    for (size_t i = 0; i < x->nx; i++) {
        const xentry *xe = &x->xs[i];
        if (!xe->in_matter || strcmp(xe->e->kind, "document.issue") != 0)
            continue;
        char id[48];
        px_object_id(xe->e, 'D', id, sizeof id);
        snprintf(path, sizeof path, "documents/%s.html", id);
        snprintf(what, sizeof what, "柔性执法意见书 %s（目的、内容、时间、当事人、实施人员、文号、送达）",
                 id);
        if (!(m = add_member(x, path, what)))
            return -1;
        xh_document(x, xe, &m->data);
    }
    if (!(m = add_member(x, "documents/record.html",
                         "执法全过程记录：本事项的每一条记录（时间、终端、执法人员、内容、更正）")))
        return -1;
    xh_record(x, &m->data);

    /* entries */
    for (size_t i = 0; i < x->nx; i++) {
        const xentry *xe = &x->xs[i];
        int raw = !xe->confidential || x->reveal;
        char *js;
        snprintf(path, sizeof path, "entries/%lld-%" PRIu64 ".json", (long long)xe->device,
                 xe->seq);
        snprintf(what, sizeof what, "记录（JSON%s）：终端 %lld 第 %" PRIu64 " 条 %s %s",
                 xe->confidential && !x->reveal ? "，保密字段已隐去" : "", (long long)xe->device,
                 xe->seq, xe->e->kind, xe->in_matter ? "" : "（背景：设备、当事人或执法人员）");
        if (!(m = add_member(x, path, what)) || !(js = xh_entry_json(x, xe, raw)))
            return -1;
        ar_puts(&m->data, js);
        ar_puts(&m->data, "\n");
        free(js);
        if (raw) {
            snprintf(path, sizeof path, "entries/%lld-%" PRIu64 ".entry", (long long)xe->device,
                     xe->seq);
            snprintf(what, sizeof what, "签名的原始记录（规范 protobuf 字节）：终端 %lld 第 %" PRIu64
                                        " 条",
                     (long long)xe->device, xe->seq);
            if (!(m = add_member(x, path, what)))
                return -1;
            ar_put(&m->data, xe->bytes, xe->len);
            snprintf(path, sizeof path, "entries/%lld-%" PRIu64 ".sig", (long long)xe->device,
                     xe->seq);
            snprintf(what, sizeof what,
                     "设备签名（ECDSA P-256 r||s，64 字节，对记录 SHA-256）：终端 %lld 第 %" PRIu64
                     " 条",
                     (long long)xe->device, xe->seq);
            if (!(m = add_member(x, path, what)))
                return -1;
            ar_put(&m->data, xe->sig, 64);
        } else {
            cJSON *o = cJSON_CreateObject();
            if (!o)
                return -1;
            cJSON_AddNumberToObject(o, "device", (double)xe->device);
            cJSON_AddNumberToObject(o, "seq", (double)xe->seq);
            cJSON_AddStringToObject(o, "kind", xe->e->kind);
            cJSON_AddItemToArray(x->omitted, o);
        }
        /* evidence */
        if (xe->in_matter && strcmp(xe->e->kind, "evidence.add") == 0) {
            const char *sha = NULL, *mt = NULL, *cap = NULL, *kind = NULL;
            uint64_t size = 0;
            int complete = 0;
            char t[160];
            for (size_t k = 0; k < xe->e->n_fields; k++) {
                const char *n = xe->e->fields[k]->name;
                if (strcmp(n, "sha256") == 0)
                    sha = xe->e->fields[k]->value;
                else if (strcmp(n, "media_type") == 0)
                    mt = xe->e->fields[k]->value;
                else if (strcmp(n, "kind") == 0)
                    kind = xe->e->fields[k]->value;
            }
            cap = xh_shown(x, xe->e, "caption", t, sizeof t);
            if (!sha || strlen(sha) != 64 || px_parse_hex(sha, (uint8_t[32]){0}, 32) != NULL)
                continue;
            if (x->db->ops->evidence_get(x->db, sha, xe->device, &size, &complete) != ST_OK ||
                !complete)
                continue; /* listed in the catalogue as not received */
            snprintf(path, sizeof path, "evidence/%s.%s", sha, xh_ext_of(mt));
            snprintf(what, sizeof what, "原始证据（%s，%s）%s%s", kind ? kind : "?",
                     mt ? mt : "?", cap ? "：" : "", cap ? cap : "");
            if (!(m = add_member(x, path, what)))
                return -1;
            snprintf(m->file, sizeof m->file, "%s/evidence/%.2s/%s", x->data, sha, sha);
            snprintf(m->sha, sizeof m->sha, "%s", sha);
            m->size = size;
        }
    }

    /* keys, receipts */
    for (size_t i = 0; i < x->ndevs; i++) {
        st_device d;
        px_key *k = NULL;
        const char *why;
        rc_ctx rc;
        if (x->db->ops->device_get(x->db, x->devs[i], &d) != ST_OK ||
            px_key_from_public_der(d.public_key, d.public_key_len, &k, &why) != 0 ||
            px_key_public_pem(k, pem, sizeof pem) != 0) {
            px_key_free(k);
            snprintf(x->why, sizeof x->why, _("device %lld: no usable public key"),
                     (long long)x->devs[i]);
            return -1;
        }
        px_key_free(k);
        memset(&rc, 0, sizeof rc);
        snprintf(path, sizeof path, "keys/device-%lld.pem", (long long)d.id);
        snprintf(what, sizeof what, "设备公钥（PEM）：终端 %lld %s（%s）", (long long)d.id, d.name,
                 d.department);
        if (!(m = add_member(x, path, what)))
            return -1;
        ar_puts(&m->data, pem);
        for (size_t k2 = 0; k2 < x->nx; k2++)
            if (x->xs[k2].device == d.id && x->xs[k2].seq > rc.need)
                rc.need = x->xs[k2].seq;
        if (x->db->ops->audit_acks(x->db, d.id, ack_cb, &rc) != ST_OK) {
            snprintf(x->why, sizeof x->why, _("reading receipts: %s"), x->db->ops->errmsg(x->db));
            return -1;
        }
        if (rc.receipt) {
            cJSON *o = cJSON_CreateObject();
            char h[65], *js;
            snprintf(path, sizeof path, "receipts/device-%lld.receipt", (long long)d.id);
            snprintf(what, sizeof what,
                     "服务器签收回执（protobuf Receipt，服务器密钥签名）：终端 %lld 第 1..%" PRIu64
                     " 条",
                     (long long)d.id, rc.body->last_seq);
            if ((m = add_member(x, path, what)))
                ar_put(&m->data, rc.receipt, rc.len);
            snprintf(path, sizeof path, "receipts/device-%lld.json", (long long)d.id);
            snprintf(what, sizeof what, "签收回执（JSON）：终端 %lld", (long long)d.id);
            if (o && m && (m = add_member(x, path, what))) {
                px_format_hex(rc.body->device.data, rc.body->device.len == 32 ? 32 : 0, h);
                cJSON_AddStringToObject(o, "device_id", h);
                cJSON_AddNumberToObject(o, "first_seq", (double)rc.body->first_seq);
                cJSON_AddNumberToObject(o, "last_seq", (double)rc.body->last_seq);
                px_format_hex(rc.body->head_hash.data,
                              rc.body->head_hash.len == 32 ? 32 : 0, h);
                cJSON_AddStringToObject(o, "head_hash", h);
                cJSON_AddNumberToObject(o, "server_time_ms", (double)rc.body->server_time_ms);
                cJSON_AddStringToObject(o, "server_name", rc.body->server_name);
                if ((js = cJSON_Print(o))) {
                    ar_puts(&m->data, js);
                    ar_puts(&m->data, "\n");
                    free(js);
                }
            }
            cJSON_Delete(o);
            if (rc.ack) {
                snprintf(path, sizeof path, "receipts/device-%lld.ack", (long long)d.id);
                snprintf(what, sizeof what,
                         "服务器的批次应答（protobuf Ack）：回执、服务器日志检查点与包含证明");
                if ((m = add_member(x, path, what)))
                    ar_put(&m->data, rc.ack, rc.ack_len);
            }
            if (rc.checkpoint) {
                snprintf(path, sizeof path, "receipts/device-%lld.checkpoint", (long long)d.id);
                snprintf(what, sizeof what,
                         "服务器日志检查点（C2SP signed note，服务器密钥签名）：终端 %lld 第 %" PRIu64
                         " 条在日志中",
                         (long long)d.id, rc.body->last_seq);
                if ((m = add_member(x, path, what)))
                    ar_puts(&m->data, rc.checkpoint);
            }
            free(rc.ack);
            free(rc.checkpoint);
            free(rc.receipt);
            patrol__v1__receipt_body__free_unpacked(rc.body, NULL);
        }
    }
    if (!(m = add_member(x, "keys/device-ca.crt",
                         "设备证书的签发机构（服务器设备 CA 证书，PEM）；终端证书由它签发")))
        return -1;
    {
        char p[4200];
        snprintf(p, sizeof p, "%s/ca.crt", x->data);
        if (read_small_file(p, &m->data, 64 * 1024, x->why, sizeof x->why) != 0)
            return -1;
    }
    if (px_key_public_pem(server_key, pem, sizeof pem) != 0) {
        snprintf(x->why, sizeof x->why, "%s", _("the receipt key cannot be written as PEM"));
        return -1;
    }
    if (!(m = add_member(x, "server-key.pem",
                         "服务器回执密钥（公钥 PEM）：签署回执与 SHA256SUMS.sig")))
        return -1;
    ar_puts(&m->data, pem);
    return 0;
}

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const member *)a)->path, ((const member *)b)->path);
}

/* catalogue.json and catalogue.html, from the members (which it does not
 * list itself; SHA256SUMS lists everything). */
static int catalogue(exporter *x)
{
    cJSON *root = cJSON_CreateObject(), *items;
    member *mj, *mh;
    char *js, when[32];
    if (!root)
        return -1;
    xh_time(x->now_ms, when, sizeof when);
    cJSON_AddStringToObject(root, "format", AR_FORMAT);
    cJSON_AddStringToObject(root, "matter", x->matter);
    cJSON_AddStringToObject(root, "server_name", x->server_name);
    cJSON_AddNumberToObject(root, "exported_ms", (double)x->now_ms);
    cJSON_AddBoolToObject(root, "revealed", x->reveal);
    cJSON_AddStringToObject(
        root, "confidentiality",
        x->reveal ? "made with --reveal (an authorised role): confidential fields are shown and "
                    "every signed entry is included"
                  : "confidential fields (state secret, trade secret, personal privacy) are "
                    "redacted in HTML and JSON; the signed bytes of entries holding one are left "
                    "out (raw_entries_omitted), since signed bytes cannot be redacted");
    cJSON_AddItemToObject(root, "raw_entries_omitted", x->omitted);
    x->omitted = NULL;
    items = cJSON_AddArrayToObject(root, "items");
    for (size_t i = 0; items && i < x->nm; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "path", x->ms[i].path);
        cJSON_AddStringToObject(o, "what", x->ms[i].what);
        cJSON_AddNumberToObject(o, "size", (double)(x->ms[i].file[0] ? x->ms[i].size
                                                                      : x->ms[i].data.n));
        cJSON_AddItemToArray(items, o);
    }
    /* Evidence named by the matter and never received by the server. */
    for (size_t i = 0; i < x->nx; i++) {
        const xentry *xe = &x->xs[i];
        uint64_t size;
        int complete = 0;
        const char *sha = NULL;
        if (!xe->in_matter || strcmp(xe->e->kind, "evidence.add") != 0)
            continue;
        for (size_t k = 0; k < xe->e->n_fields; k++)
            if (strcmp(xe->e->fields[k]->name, "sha256") == 0)
                sha = xe->e->fields[k]->value;
        if (sha && x->db->ops->evidence_get(x->db, sha, xe->device, &size, &complete) == ST_OK &&
            complete)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "path", "");
            cJSON_AddStringToObject(o, "what", "证据文件未收到（服务器未收到该文件）");
            cJSON_AddStringToObject(o, "sha256", sha ? sha : "");
            cJSON_AddItemToArray(items, o);
        }
    }
    js = cJSON_Print(root);
    if (!js || !(mj = add_member(x, "catalogue.json", "目录（JSON）"))) {
        free(js);
        cJSON_Delete(root);
        return -1;
    }
    ar_puts(&mj->data, js);
    ar_puts(&mj->data, "\n");
    free(js);
    if (!(mh = add_member(x, "catalogue.html", "目录"))) {
        cJSON_Delete(root);
        return -1;
    }
    {
        char title[160];
        ar_buf *b = &mh->data;
        snprintf(title, sizeof title, "归档目录 %s", x->matter);
        xh_head(b, title);
        ar_puts(b, "<h1>柔性执法事项归档目录</h1>\n<table>\n");
        xh_row(b, "事项", x->matter);
        xh_row(b, "服务器", x->server_name);
        xh_row(b, "导出时间（北京时间）", when);
        xh_row(b, "保密", cJSON_GetObjectItem(root, "confidentiality")->valuestring);
        ar_puts(b, "</table>\n<h2>目录</h2>\n<table>\n<tr><th>序号</th><th>文件</th><th>内容</th>"
                   "<th>字节</th></tr>\n");
        {
            int n = 0;
            for (cJSON *it = items ? items->child : NULL; it; it = it->next) {
                const char *p = cJSON_GetObjectItem(it, "path")->valuestring;
                cJSON *sz = cJSON_GetObjectItem(it, "size");
                ar_printf(b, "<tr><td>%d</td><td>", ++n);
                if (p[0]) {
                    ar_puts(b, "<a href=\"");
                    html_attr(b, p);
                    ar_puts(b, "\">");
                    html_text(b, p);
                    ar_puts(b, "</a>");
                } else {
                    html_text(b, cJSON_GetObjectItem(it, "sha256")->valuestring);
                }
                ar_puts(b, "</td><td>");
                html_text(b, cJSON_GetObjectItem(it, "what")->valuestring);
                ar_printf(b, "</td><td>%.0f</td></tr>\n", sz ? sz->valuedouble : 0.0);
            }
        }
        ar_puts(b, "</table>\n<p>完整性：SHA256SUMS 列出每个文件的 SHA-256，SHA256SUMS.sig 是服务器"
                   "回执密钥（server-key.pem）的签名。核验：<code>sha256sum -c SHA256SUMS</code>，"
                   "<code>openssl dgst -sha256 -verify server-key.pem -signature SHA256SUMS.sig "
                   "SHA256SUMS</code>，或 <code>patrold audit verify-archive</code>。</p>\n"
                   "</body>\n</html>\n");
    }
    cJSON_Delete(root);
    return mj->data.oom || mh->data.oom ? -1 : 0;
}

/* Write one member; evidence is streamed from its file, hashed on the way
 * and must hash to its name. */
static int write_member(exporter *x, struct archive *a, member *m, int64_t mtime)
{
    struct archive_entry *ae = archive_entry_new();
    int fd = -1, rc = -1;
    px_sha256_ctx *c = NULL;
    if (!ae)
        return -1;
    if (m->file[0]) {
        struct stat st;
        if ((fd = open(m->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
            !S_ISREG(st.st_mode)) {
            snprintf(x->why, sizeof x->why, _("evidence %s: cannot read %.300s"), m->sha, m->file);
            goto exit;
        }
        if ((uint64_t)st.st_size != m->size || (uint64_t)st.st_size > MAX_EVIDENCE_FILE) {
            snprintf(x->why, sizeof x->why,
                     _("evidence %s on the server is %lld bytes, its entry says %" PRIu64
                     ": run 'patrold audit verify'"),
                     m->sha, (long long)st.st_size, m->size);
            goto exit;
        }
    } else {
        m->size = m->data.n;
        px_sha256(m->data.p ? m->data.p : "", m->data.n, m->hash);
    }
    archive_entry_set_pathname(ae, m->path);
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_size(ae, (la_int64_t)m->size);
    archive_entry_set_mtime(ae, (time_t)mtime, 0);
    if (archive_write_header(a, ae) != ARCHIVE_OK) {
        snprintf(x->why, sizeof x->why, _("writing %s: %s"), m->path, archive_error_string(a));
        goto exit;
    }
    if (fd >= 0) {
        char buf[65536], got[65];
        ssize_t n;
        uint64_t total = 0;
        if (!(c = px_sha256_new()))
            goto exit;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            total += (uint64_t)n;
            if (total > m->size)
                break;
            px_sha256_update(c, buf, (size_t)n);
            if (archive_write_data(a, buf, (size_t)n) != n) {
                snprintf(x->why, sizeof x->why, _("writing %s: %s"), m->path,
                         archive_error_string(a));
                goto exit;
            }
        }
        px_sha256_final(c, m->hash);
        c = NULL;
        px_format_hex(m->hash, 32, got);
        if (n < 0 || total != m->size || strcmp(got, m->sha) != 0) {
            snprintf(x->why, sizeof x->why,
                     _("evidence %s on the server does not hash to its name (got %s): run"
                     " 'patrold audit verify'"),
                     m->sha, got);
            goto exit;
        }
    } else if (m->data.n &&
               archive_write_data(a, m->data.p, m->data.n) != (la_ssize_t)m->data.n) {
        snprintf(x->why, sizeof x->why, _("writing %s: %s"), m->path, archive_error_string(a));
        goto exit;
    }
    rc = 0;
exit:
    px_sha256_free(c);
    if (fd >= 0)
        close(fd);
    archive_entry_free(ae);
    return rc;
}

static int write_tar(exporter *x, px_key *server_key, const char *tmp)
{
    struct archive *a = archive_write_new();
    ar_buf sums = {0};
    member sm, sg;
    uint8_t h[32], der[PX_SIG_DER_MAX];
    size_t derlen;
    int rc = -1;
    int64_t mtime = x->now_ms / 1000;

    memset(&sm, 0, sizeof sm);
    memset(&sg, 0, sizeof sg);
    if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
        snprintf(x->why, sizeof x->why, _("cannot write %.300s: %s"), tmp,
                 a ? archive_error_string(a) : _("out of memory"));
        goto exit;
    }
    /* The catalogue first, then everything else by path. */
    qsort(x->ms, x->nm, sizeof *x->ms, cmp_member);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < x->nm; i++) {
            int cat = strncmp(x->ms[i].path, "catalogue.", 10) == 0;
            if (cat != (pass == 0))
                continue;
            if (write_member(x, a, &x->ms[i], mtime) != 0)
                goto exit;
        }
    for (size_t i = 0; i < x->nm; i++) {
        char hx[65];
        px_format_hex(x->ms[i].hash, 32, hx);
        ar_printf(&sums, "%s  %s\n", hx, x->ms[i].path);
    }
    if (sums.oom)
        goto exit;
    px_sha256(sums.p, sums.n, h);
    memcpy(x->sums_hash, h, sizeof x->sums_hash);
    if (px_sign_der(server_key, h, der, sizeof der, &derlen) != 0) {
        snprintf(x->why, sizeof x->why, "%s", _("signing SHA256SUMS failed"));
        goto exit;
    }
    snprintf(sm.path, sizeof sm.path, AR_SUMS);
    sm.data = sums;
    sums.p = NULL;
    snprintf(sg.path, sizeof sg.path, AR_SUMS_SIG);
    ar_put(&sg.data, der, derlen);
    if (write_member(x, a, &sm, mtime) != 0 || write_member(x, a, &sg, mtime) != 0)
        goto exit;
    if (archive_write_close(a) != ARCHIVE_OK) {
        snprintf(x->why, sizeof x->why, _("writing %.300s: %s"), tmp, archive_error_string(a));
        goto exit;
    }
    rc = 0;
exit:
    ar_free(&sm.data);
    ar_free(&sg.data);
    ar_free(&sums);
    if (a)
        archive_write_free(a);
    return rc;
}

int audit_export(const char *data, int argc, char **argv)
{
    exporter x;
    const char *out = NULL, *why;
    char tmp[4200], keypath[4200];
    px_key *server_key = NULL;
    struct timespec ts;
    int rc = 1;

    memset(&x, 0, sizeof x);
    x.data = data;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--matter") == 0 && i + 1 < argc)
            x.matter = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--reveal") == 0)
            x.reveal = 1;
        else if (strcmp(argv[i], "--web-account") == 0 && i + 1 < argc)
            x.web_account = argv[++i];
        else
            return audit_usage_error(CMD, _("unexpected argument '%s'"), argv[i]);
    }
    if (!x.matter)
        return audit_usage_error(CMD, "%s", _("--matter ID is required"));
    if (!out || !*out)
        return audit_usage_error(CMD, "%s", _("--out FILE is required"));
    if ((why = px_check_ident(x.matter)))
        return audit_fail(CMD, "--matter '%.60s': %s", x.matter, _(why));
    if (x.web_account && (why = px_check_ident(x.web_account)))
        return audit_usage_error(CMD, "--web-account '%.60s': %s", x.web_account, _(why));
    if (access(out, F_OK) == 0)
        return audit_fail(CMD, _("--out %s exists: an archive is never overwritten"), out);
    if (strlen(out) + 32 > sizeof tmp)
        return audit_fail(CMD, "%s", _("--out: path too long"));
    if (!(x.db = audit_open(data, CMD)))
        return 1;
    if (!(x.omitted = cJSON_CreateArray())) {
        audit_fail(CMD, "%s", _("out of memory"));
        goto exit;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    x.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (x.db->ops->meta_get(x.db, "server_name", x.server_name, sizeof x.server_name) != ST_OK)
        x.server_name[0] = 0;
    snprintf(keypath, sizeof keypath, "%s/receipt.key", data);
    if (px_key_load_private(keypath, &server_key, &why) != 0) {
        audit_fail(CMD, _("the receipt key %s: %s"), keypath, why);
        goto exit;
    }
    if (collect(&x) != 0 || build(&x, server_key) != 0 || catalogue(&x) != 0) {
        audit_fail(CMD, "%s", x.oom || !x.why[0] ? _("out of memory") : x.why);
        goto exit;
    }
    for (size_t i = 0; i < x.nm; i++)
        if (x.ms[i].data.oom) {
            audit_fail(CMD, "%s", _("out of memory"));
            goto exit;
        }
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    if (write_tar(&x, server_key, tmp) != 0) {
        unlink(tmp);
        audit_fail(CMD, "%s", x.why[0] ? x.why : _("out of memory"));
        goto exit;
    }
    /* The export is a leaf of the server log (the matter, whether revealed,
     * the SHA-256 of its signed SHA256SUMS) before it is put in place. */
    {
        char body[256], sums[65];
        px_format_hex(x.sums_hash, 32, sums);
        snprintf(body, sizeof body, "%s\n%s\n%s\n", x.matter, x.reveal ? "revealed" : "redacted",
                 sums);
        if (audit_event(data, CMD, "export", body, x.web_account, &x.leaf) != 0) {
            unlink(tmp);
            goto exit;
        }
    }
    /* link(): never replaces a file that appeared meanwhile. */
    if (link(tmp, out) != 0) {
        audit_fail(CMD, _("--out %s: %s"), out, strerror(errno));
        unlink(tmp);
        goto exit;
    }
    unlink(tmp);
    /* TRANSLATORS: the archive written, the matter, how many files and
     * entries it holds, the index of the export's leaf in the server log. */
    fprintf(stderr,
            x.reveal ? _("patrold: audit export: %s: matter %s, %zu files, %zu entries (confidential"
                         " fields revealed), server log leaf %" PRIu64 "\n")
                     : _("patrold: audit export: %s: matter %s, %zu files, %zu entries (confidential"
                         " fields redacted), server log leaf %" PRIu64 "\n"),
            out, x.matter, x.nm + 2, x.nx, x.leaf);
    rc = 0;
exit:
    for (size_t i = 0; i < x.nx; i++) {
        free(x.xs[i].bytes);
        px_entry_free(x.xs[i].e);
    }
    free(x.xs);
    for (size_t i = 0; i < x.nm; i++)
        ar_free(&x.ms[i].data);
    free(x.ms);
    cJSON_Delete(x.omitted);
    px_key_free(server_key);
    x.db->ops->close(x.db);
    return rc;
}
