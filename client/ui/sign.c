/* sign.c -- signatures on the screen: the recipient's on the 送达回证, the
 * subject's on its answer to consent and on interview minutes (the kinds
 * whose rules have a "signature" field). The pad on the form (app.js draws
 * and keeps the strokes; without script nobody can sign here, and the
 * refusal path or paper remains), and, before the entry is recorded, the
 * strokes (points, order, timing, JSON) and the image (PNG) imported as
 * evidence of the matter and bound to the entry by their SHA-256 (fields
 * signature, signature_image); or, for a refusal to sign, the witness and
 * a photo or video of the scene. Prefix sign_ (and ui_sign_*). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ui.h"

#define SIGN_STROKES_MAX 200
#define SIGN_POINTS_MAX 20000
#define SIGN_PNG_MAX (128u * 1024u)

int ui_kind_signed(const char *kind)
{
    patrol_field_info fi;
    for (size_t i = 0; kind && patrol_kind_field(kind, i, &fi) == PATROL_OK; i++)
        if (strcmp(fi.name, "signature") == 0)
            return 1;
    return 0;
}

void ui_sign_pad(ubuf *b)
{
    h(b, "<div class=\"f sign\" data-field=\"signature signature_image\">"
         "<label>%t</label>"
         "<canvas class=\"sign\" width=\"720\" height=\"440\" data-sign></canvas>"
         "<input type=\"hidden\" name=\"sig_strokes\" value=\"\">"
         "<input type=\"hidden\" name=\"sig_png\" value=\"\">"
         "<button type=\"button\" class=\"btn\" data-sign-clear>%t</button>"
         "<p class=\"help\">%t</p></div>",
      _("Sign here with a finger"), _("Sign again"),
      _("Without script the screen cannot take a signature: sign the paper proof of delivery "
        "and photograph it, or record a refusal to sign with a witness."));
}

/* ---- checks ------------------------------------------------------------- */

/* {"w":W,"h":H,"strokes":[[[x,y,t],...],...]}: numbers finite, inside the
 * pad, t (ms since the first touch) never going back; at least one stroke
 * of two points. Returns the canonical text (caller frees) or NULL. */
static char *strokes_check(const char *s)
{
    cJSON *j = cJSON_Parse(s), *w, *hh, *st, *stroke;
    double last_t = 0, wv, hv;
    size_t points = 0, strokes = 0;
    char *out = NULL;
    if (!j || !cJSON_IsObject(j))
        goto exit;
    w = cJSON_GetObjectItemCaseSensitive(j, "w");
    hh = cJSON_GetObjectItemCaseSensitive(j, "h");
    st = cJSON_GetObjectItemCaseSensitive(j, "strokes");
    if (!cJSON_IsNumber(w) || !cJSON_IsNumber(hh) || !cJSON_IsArray(st))
        goto exit;
    wv = w->valuedouble;
    hv = hh->valuedouble;
    if (!(wv >= 1 && wv <= 4096 && hv >= 1 && hv <= 4096))
        goto exit;
    cJSON_ArrayForEach(stroke, st)
    {
        cJSON *pt;
        size_t n = 0;
        if (!cJSON_IsArray(stroke) || ++strokes > SIGN_STROKES_MAX)
            goto exit;
        cJSON_ArrayForEach(pt, stroke)
        {
            cJSON *x, *y, *t;
            if (!cJSON_IsArray(pt) || cJSON_GetArraySize(pt) != 3 || ++points > SIGN_POINTS_MAX)
                goto exit;
            x = cJSON_GetArrayItem(pt, 0);
            y = cJSON_GetArrayItem(pt, 1);
            t = cJSON_GetArrayItem(pt, 2);
            if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y) || !cJSON_IsNumber(t) ||
                !(x->valuedouble >= -wv && x->valuedouble <= 2 * wv) ||
                !(y->valuedouble >= -hv && y->valuedouble <= 2 * hv) ||
                !(t->valuedouble >= last_t && t->valuedouble <= 3600e3))
                goto exit;
            last_t = t->valuedouble;
            n++;
        }
        if (n == 0)
            goto exit;
    }
    if (strokes == 0 || points < 2)
        goto exit;
    out = cJSON_PrintUnformatted(j);
exit:
    cJSON_Delete(j);
    return out;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* "data:image/png;base64,...": the PNG's bytes (malloc'd) and length, or
 * NULL if it is not a PNG of at most SIGN_PNG_MAX bytes. */
static unsigned char *png_decode(const char *s, size_t *len)
{
    static const char prefix[] = "data:image/png;base64,";
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n, o = 0;
    unsigned char *out;
    unsigned acc = 0;
    int bits = 0;
    if (strncmp(s, prefix, sizeof prefix - 1) != 0)
        return NULL;
    s += sizeof prefix - 1;
    n = strlen(s);
    if (n / 4 * 3 > SIGN_PNG_MAX || !(out = malloc(n / 4 * 3 + 3)))
        return NULL;
    for (; *s && *s != '='; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (o < sizeof magic || memcmp(out, magic, sizeof magic) != 0) {
        free(out);
        return NULL;
    }
    *len = o;
    return out;
}

static int write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const char *p = data;
    if (fd < 0)
        return -1;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

/* ---- import ------------------------------------------------------------- */

typedef struct docm {
    const char *id;
    char matter[PATROL_ID_MAX];
    uint64_t delivered;
    int found;
} docm;

static int docm_cb(void *ud, const patrol_document_view *d)
{
    docm *m = ud;
    if (strcmp(d->id, m->id) != 0)
        return 0;
    snprintf(m->matter, sizeof m->matter, "%s", d->matter);
    m->delivered = d->delivered_seq;
    m->found = 1;
    return 1;
}

typedef struct mstate {
    const char *id;
    char state[32];
    int found;
} mstate;

static int mstate_cb(void *ud, const patrol_matter_view *m)
{
    mstate *ms = ud;
    if (strcmp(m->id, ms->id) != 0)
        return 0;
    snprintf(ms->state, sizeof ms->state, "%s", m->state);
    ms->found = 1;
    return 1;
}

int ui_sign_record(const ui_req *r, patrol_record_in *in, patrol_saved *out, char *err,
                   size_t errlen)
{
    const char *kind = in->kind, *target = in->target;
    const char *strokes = ui_arg(r, "sig_strokes"), *png = ui_arg(r, "sig_png");
    const char *refused = ui_arg(r, "f.refused_sign"), *witness = ui_arg(r, "f.witness");
    const char *method = ui_arg(r, "f.method");
    int deliver = strcmp(kind, "document.deliver") == 0;
    int is_refused = refused && strcmp(refused, "yes") == 0;
    int signed_ = strokes && *strokes;
    char dir[200], path_j[256], path_p[256], cap_j[300], cap_p[300], label[200];
    char *canon = NULL;
    unsigned char *img = NULL;
    size_t img_len = 0, n_ev = 0;
    patrol_evidence_in ev[2];
    docm dm;
    mstate ms;
    int ret = -1, rc;

    dir[0] = path_j[0] = path_p[0] = '\0';
    memset(&dm, 0, sizeof dm);
    memset(&ms, 0, sizeof ms);
    memset(ev, 0, sizeof ev);
    /* What the library refuses anyway is left to it: no target, an
     * unknown or delivered document, an unknown matter, a state that does
     * not allow the kind. */
    if (!target)
        goto record;
    if (deliver) {
        dm.id = target;
        if (patrol_documents(ui_g.p, NULL, docm_cb, &dm) < 0 || !dm.found || dm.delivered)
            goto record;
    } else {
        snprintf(dm.matter, sizeof dm.matter, "%s", target);
    }
    ms.id = dm.matter;
    if (patrol_matters(ui_g.p, mstate_cb, &ms) < 0 || !ms.found ||
        patrol_matter_allows(ms.state, kind))
        goto record;
    snprintf(label, sizeof label, "%s %s", ui_tr(patrol_kind_label(kind)), target);
    if (is_refused && signed_) {
        snprintf(err, errlen, "%s", _("signed or refused to sign: not both (sign again clears "
                                      "the pad)"));
        return -1;
    }
    if (is_refused && !(witness && *witness)) {
        snprintf(err, errlen, "%s", _("witness: a refusal to sign needs a witness"));
        return -1;
    }
    if (deliver && !is_refused && !signed_ && method && strcmp(method, "in_person") == 0) {
        snprintf(err, errlen, "%s", _("signature: delivered in person, the recipient signs on "
                                      "the screen, or the refusal to sign is recorded with a "
                                      "witness"));
        return -1;
    }
    if (signed_) {
        if (!(canon = strokes_check(strokes))) {
            snprintf(err, errlen, "%s", _("signature: the strokes from the screen are not valid"));
            goto exit;
        }
        if (!png || !(img = png_decode(png, &img_len))) {
            snprintf(err, errlen, "%s", _("signature: the image from the screen is not a PNG"));
            goto exit;
        }
        if (ui_tmp_dir(dir, sizeof dir, "sign") != 0) {
            dir[0] = '\0';
            snprintf(err, errlen, "%s",
                     _("The file could not be saved for import (temporary directory)."));
            goto exit;
        }
        snprintf(path_j, sizeof path_j, "%s/signature-%s.json", dir, target);
        snprintf(path_p, sizeof path_p, "%s/signature-%s.png", dir, target);
        if (write_file(path_j, canon, strlen(canon)) || write_file(path_p, img, img_len)) {
            snprintf(err, errlen, "%s", _("The file could not be saved for import (disk full?)."));
            goto exit;
        }
        snprintf(cap_j, sizeof cap_j, _("signature: %s (strokes)"), label);
        snprintf(cap_p, sizeof cap_p, _("signature: %s (image)"), label);
        ev[0] = (patrol_evidence_in){"electronic_data", path_j, "application/json", cap_j,
                                     "signature"};
        ev[1] = (patrol_evidence_in){"document", path_p, "image/png", cap_p, "signature_image"};
        n_ev = 2;
    } else if (is_refused && r->file_path[0] && r->file_size > 0) {
        snprintf(cap_j, sizeof cap_j, _("refusal to sign: %s"), label);
        ev[0] = (patrol_evidence_in){strncmp(r->file_type, "video/", 6) == 0 ? "video" : "photo",
                                     r->file_path, NULL, cap_j, NULL};
        n_ev = 1;
    }
    /* The signature's files (or the refusal's photo) and the entry naming
     * them are recorded together or not at all: the library checks the
     * entry before it copies a file, and commits the files' entries and
     * the entry in one transaction, so neither a refusal nor a kill
     * leaves a signature that no entry names. */
    if (n_ev) {
        rc = patrol_record_with_evidence(ui_g.p, in, dm.matter, ev, n_ev, out);
        goto done;
    }
record:
    rc = patrol_record(ui_g.p, in, out);
done:
    if (rc)
        snprintf(err, errlen, "%s", *patrol_errmsg(ui_g.p) ? patrol_errmsg(ui_g.p)
                                                            : patrol_strerror(rc));
    else
        ret = 0;
exit:
    if (path_j[0])
        unlink(path_j);
    if (path_p[0])
        unlink(path_p);
    if (dir[0])
        rmdir(dir);
    cJSON_free(canon);
    free(img);
    return ret;
}
