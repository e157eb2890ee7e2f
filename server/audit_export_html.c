/* audit_export_html.c -- the renderings of `audit export`
 * (audit_export.h): each 柔性执法意见书 with every field of the seed and
 * its delivery, the full-process record of the matter, each entry as
 * JSON; a confidential field (state secret, trade secret, personal
 * privacy) is shown as "[已隐去：… / redacted: …]" unless --reveal. Every
 * text goes through html_text / html_attr (audit_archive.c). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_export.h"
#include "crypto.h"
#include "entry.h"
#include "matter.h"
#include "validate.h"

void xh_conf_name(int c, const char **code, const char **zh)
{
    switch (c) {
    case PATROL__V1__CONFIDENTIALITY__CONF_STATE_SECRET:
        *code = "state_secret", *zh = "国家秘密";
        break;
    case PATROL__V1__CONFIDENTIALITY__CONF_TRADE_SECRET:
        *code = "trade_secret", *zh = "商业秘密";
        break;
    case PATROL__V1__CONFIDENTIALITY__CONF_PERSONAL_PRIVACY:
        *code = "personal_privacy", *zh = "个人隐私";
        break;
    default:
        *code = "none", *zh = "";
        break;
    }
}

/* The value of field name as it may be shown (redacted unless --reveal);
 * NULL if the entry has no such field. */
const char *xh_shown(exporter *x, const Patrol__V1__Entry *e, const char *name, char *tmp,
                     size_t len)
{
    for (size_t i = 0; e && i < e->n_fields; i++) {
        const Patrol__V1__Field *f = e->fields[i];
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->confidential != PATROL__V1__CONFIDENTIALITY__CONF_NONE && !x->reveal) {
            const char *code, *zh;
            xh_conf_name(f->confidential, &code, &zh);
            snprintf(tmp, len, "[已隐去：%s / redacted: %s]", zh, code);
            return tmp;
        }
        return f->value;
    }
    return NULL;
}

void xh_time(int64_t ms, char *out, size_t len)
{
    ar_beijing(ms, out, len, 1);
}


/* ---- renderings ---------------------------------------------------------- */

static const struct {
    const char *kind, *zh;
} kinds[] = {
    {"matter.open", "立案（启动柔性执法）"}, {"consent", "告知与当事人选择"},
    {"action.guidance", "行政辅导"}, {"action.suggestion", "行政建议"},
    {"action.reminder", "行政提示"}, {"action.warning", "行政告诫"},
    {"action.interview", "行政约谈"}, {"action.publicity", "行政公示"},
    {"action.revisit", "行政回访（安排）"}, {"revisit.outcome", "行政回访（结果）"},
    {"document.issue", "柔性执法意见书"}, {"document.deliver", "文书送达"},
    {"evidence.add", "证据（照片、录音、录像、电子数据）"}, {"leaflet", "发放宣传资料"},
    {"hearing", "听证、座谈或公开征求意见"}, {"expert.opinion", "专家意见"},
    {"application", "当事人申请"}, {"correction", "更正"}, {"matter.close", "结案"},
    {"subject.add", "当事人登记"}, {"inspector.add", "执法人员登记"},
    {"device.init", "终端初始化（设备公钥）"},
};

static const char *kind_zh(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return kinds[i].zh;
    return kind;
}

void xh_head(ar_buf *b, const char *title)
{
    ar_puts(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
               "style-src 'unsafe-inline'; img-src 'self'\">\n<title>");
    html_text(b, title);
    ar_puts(b, "</title>\n<style>body{font-family:serif;max-width:60em;margin:2em auto}"
               "table{border-collapse:collapse;width:100%}td,th{border:1px solid #444;"
               "padding:.3em;vertical-align:top;text-align:left}th{width:10em}"
               "code{font-size:.85em;word-break:break-all}"
               "@media print{a{color:inherit;text-decoration:none}}</style>\n</head>\n<body>\n");
}

void xh_row(ar_buf *b, const char *label, const char *value)
{
    ar_puts(b, "<tr><th>");
    html_text(b, label);
    ar_puts(b, "</th><td>");
    html_text(b, value ? value : "—");
    ar_puts(b, "</td></tr>\n");
}

static const xentry *context_entry(exporter *x, const char *kind, const char *object,
                                   int64_t prefer_device)
{
    const xentry *any = NULL;
    for (size_t i = 0; i < x->nx; i++) {
        const xentry *xe = &x->xs[i];
        if (strcmp(xe->e->kind, kind) == 0 && strcmp(xe->e->object, object) == 0) {
            if (xe->device == prefer_device)
                return xe;
            if (!any)
                any = xe;
        }
    }
    return any;
}

/* The matter's subject: its subject.add entry (NULL if not stored). */
static const xentry *subject_of(exporter *x)
{
    for (size_t i = 0; i < x->nx; i++)
        if (strcmp(x->xs[i].e->kind, "matter.open") == 0) {
            for (size_t k = 0; k < x->xs[i].e->n_fields; k++)
                if (strcmp(x->xs[i].e->fields[k]->name, "subject") == 0)
                    return context_entry(x, "subject.add", x->xs[i].e->fields[k]->value,
                                         x->xs[i].device);
        }
    return NULL;
}

static void subject_text(exporter *x, ar_buf *out)
{
    const xentry *s = subject_of(x);
    char t1[128], t2[128], t3[128];
    const char *name, *code, *idn;
    if (!s) {
        ar_puts(out, "（当事人登记未同步到服务器）");
        return;
    }
    name = xh_shown(x, s->e, "name", t1, sizeof t1);
    code = xh_shown(x, s->e, "credit_code", t2, sizeof t2);
    idn = xh_shown(x, s->e, "id_number", t3, sizeof t3);
    ar_printf(out, "%s", name ? name : s->e->object);
    if (code)
        ar_printf(out, "（统一社会信用代码 %s）", code);
    if (idn)
        ar_printf(out, "（身份证号 %s）", idn);
}

static void inspectors_text(exporter *x, const xentry *xe, ar_buf *out)
{
    for (size_t k = 0; k < xe->e->n_inspectors; k++) {
        const xentry *ins = context_entry(x, "inspector.add", xe->e->inspectors[k], xe->device);
        char t1[128], t2[128];
        const char *name = ins ? xh_shown(x, ins->e, "name", t1, sizeof t1) : NULL;
        const char *no = ins ? xh_shown(x, ins->e, "cert_no", t2, sizeof t2) : NULL;
        ar_printf(out, "%s%s（%s，执法证号 %s）", k ? "；" : "", name ? name : "?",
                  xe->e->inspectors[k], no ? no : "?");
    }
}

static void fields_cell(exporter *x, ar_buf *b, const xentry *xe)
{
    for (size_t k = 0; k < xe->e->n_fields; k++) {
        const Patrol__V1__Field *f = xe->e->fields[k];
        char tmp[160];
        const char *v = xh_shown(x, xe->e, f->name, tmp, sizeof tmp);
        ar_puts(b, "<div><b>");
        html_text(b, f->name);
        ar_puts(b, "</b>: ");
        if (strcmp(xe->e->kind, "evidence.add") == 0 && strcmp(f->name, "sha256") == 0) {
            ar_puts(b, "<code>");
            html_text(b, v);
            ar_puts(b, "</code>");
        } else {
            html_text(b, v);
        }
        ar_puts(b, "</div>");
    }
    if (xe->e->corrects)
        ar_printf(b, "<div><b>corrects</b>: #%" PRIu64 "</div>", xe->e->corrects);
}

/* Corrections of entry (device, seq) held in the archive. */
static void corrections(exporter *x, ar_buf *b, const xentry *of)
{
    for (size_t i = 0; i < x->nx; i++) {
        const xentry *c = &x->xs[i];
        char t1[160], t2[160], t3[160], when[32];
        const char *fld, *val, *why;
        if (c->device != of->device || c->e->corrects != of->seq ||
            strcmp(c->e->kind, "correction") != 0)
            continue;
        fld = xh_shown(x, c->e, "field", t1, sizeof t1);
        val = xh_shown(x, c->e, "value", t2, sizeof t2);
        why = xh_shown(x, c->e, "reason", t3, sizeof t3);
        xh_time(c->e->wall_ms, when, sizeof when);
        ar_puts(b, "<p>更正（第 ");
        ar_printf(b, "%" PRIu64, c->seq);
        ar_puts(b, " 条，");
        html_text(b, when);
        ar_puts(b, "）：");
        if (fld) {
            html_text(b, fld);
            ar_puts(b, " → ");
            html_text(b, val ? val : "");
            ar_puts(b, "；");
        }
        ar_puts(b, "理由：");
        html_text(b, why ? why : "");
        ar_puts(b, "</p>\n");
    }
}

void xh_document(exporter *x, const xentry *doc, ar_buf *b)
{
    char t[6][200], when[32], title[160], id[48];
    ar_buf s = {0}, p = {0};
    const char *docno = xh_shown(x, doc->e, "doc_no", t[0], sizeof t[0]);
    int delivered = 0;

    px_object_id(doc->e, 'D', id, sizeof id);
    snprintf(title, sizeof title, "柔性执法意见书 %s", id);
    xh_head(b, title);
    ar_puts(b, "<h1>柔性执法意见书</h1>\n<p>");
    html_text(b, docno ? docno : "（未编文号）");
    ar_puts(b, "</p>\n<table>\n");
    xh_row(b, "文书编号（发文字号）", docno ? docno : "（未编文号）");
    xh_row(b, "文书标识", id);
    xh_row(b, "事项", x->matter);
    subject_text(x, &s);
    xh_row(b, "当事人", s.p ? s.p : "");
    xh_row(b, "目的", xh_shown(x, doc->e, "purpose", t[1], sizeof t[1]));
    xh_row(b, "内容", xh_shown(x, doc->e, "content", t[2], sizeof t[2]));
    xh_row(b, "时间", xh_shown(x, doc->e, "time", t[3], sizeof t[3]));
    {
        const char *pers = xh_shown(x, doc->e, "personnel", t[4], sizeof t[4]);
        ar_puts(&p, pers ? pers : "");
        ar_puts(&p, "；执法人员：");
        inspectors_text(x, doc, &p);
    }
    xh_row(b, "实施人员", p.p ? p.p : "");
    xh_time(doc->e->wall_ms, when, sizeof when);
    xh_row(b, "制作时间（北京时间，终端时钟）", when);
    ar_free(&s);
    ar_free(&p);
    for (size_t i = 0; i < x->nx; i++) {
        const xentry *d = &x->xs[i];
        char line[600], w2[32];
        const char *m, *r;
        if (strcmp(d->e->kind, "document.deliver") != 0 || strcmp(d->e->object, id) != 0)
            continue;
        m = xh_shown(x, d->e, "method", t[0], sizeof t[0]);
        r = xh_shown(x, d->e, "recipient", t[5], sizeof t[5]);
        xh_time(d->e->wall_ms, w2, sizeof w2);
        snprintf(line, sizeof line, "%s；方式：%s；签收人：%s（终端 %lld 第 %" PRIu64 " 条）", w2,
                 m ? m : "?", r ? r : "?", (long long)d->device, d->seq);
        xh_row(b, "送达", line);
        delivered = 1;
    }
    if (!delivered)
        xh_row(b, "送达", "未送达（服务器未收到送达记录）");
    ar_puts(b, "</table>\n");
    corrections(x, b, doc);
    ar_printf(b, "<p>记录：终端 %lld 第 %" PRIu64 " 条，哈希 <code>", (long long)doc->device,
              doc->seq);
    {
        char h[65];
        px_format_hex(doc->hash, 32, h);
        html_text(b, h);
    }
    ar_puts(b, "</code>（见 <a href=\"../entries/");
    ar_printf(b, "%lld-%" PRIu64, (long long)doc->device, doc->seq);
    ar_puts(b, ".json\">entries/");
    ar_printf(b, "%lld-%" PRIu64, (long long)doc->device, doc->seq);
    ar_puts(b, ".json</a>）。</p>\n</body>\n</html>\n");
}

const char *xh_ext_of(const char *media)
{
    static const struct {
        const char *type, *ext;
    } map[] = {{"image/jpeg", "jpg"}, {"image/png", "png"},  {"audio/wav", "wav"},
               {"audio/x-wav", "wav"}, {"audio/mpeg", "mp3"}, {"audio/mp4", "m4a"},
               {"audio/ogg", "ogg"},  {"video/mp4", "mp4"},  {"application/pdf", "pdf"},
               {"text/plain", "txt"}};
    for (size_t i = 0; media && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].type, media) == 0)
            return map[i].ext;
    return "bin";
}

void xh_record(exporter *x, ar_buf *b)
{
    char title[160];
    snprintf(title, sizeof title, "执法全过程记录 %s", x->matter);
    xh_head(b, title);
    ar_puts(b, "<h1>执法全过程记录</h1>\n<p>事项 ");
    html_text(b, x->matter);
    ar_puts(b, x->reveal ? "（含保密内容：经授权导出）" : "（保密内容已隐去）");
    ar_puts(b, "</p>\n<table>\n<tr><th>时间（北京，终端）</th><th>终端/序号</th><th>类型</th>"
               "<th>执法人员</th><th>内容</th></tr>\n");
    for (size_t i = 0; i < x->nx; i++) {
        const xentry *xe = &x->xs[i];
        char when[32];
        ar_buf ins = {0};
        if (!xe->in_matter)
            continue;
        xh_time(xe->e->wall_ms, when, sizeof when);
        ar_puts(b, "<tr><td>");
        html_text(b, when);
        ar_printf(b, "</td><td>%lld / %" PRIu64 "</td><td>", (long long)xe->device, xe->seq);
        html_text(b, kind_zh(xe->e->kind));
        ar_puts(b, "<br><code>");
        html_text(b, xe->e->kind);
        ar_puts(b, " ");
        html_text(b, xe->e->object);
        ar_puts(b, "</code></td><td>");
        inspectors_text(x, xe, &ins);
        html_text(b, ins.p ? ins.p : "");
        ar_free(&ins);
        ar_puts(b, "</td><td>");
        fields_cell(x, b, xe);
        if (strcmp(xe->e->kind, "evidence.add") == 0) {
            char t[80], href[120];
            const char *sha = xh_shown(x, xe->e, "sha256", t, sizeof t);
            const char *mt = NULL;
            for (size_t k = 0; k < xe->e->n_fields; k++)
                if (strcmp(xe->e->fields[k]->name, "media_type") == 0)
                    mt = xe->e->fields[k]->value;
            if (sha && strlen(sha) == 64) {
                snprintf(href, sizeof href, "../evidence/%s.%s", sha, xh_ext_of(mt));
                ar_puts(b, "<div><a href=\"");
                html_attr(b, href);
                ar_puts(b, "\">原始文件</a></div>");
            }
        }
        corrections(x, b, xe);
        ar_puts(b, "</td></tr>\n");
    }
    ar_puts(b, "</table>\n</body>\n</html>\n");
}

/* An entry as JSON (redacted unless --reveal). */
char *xh_entry_json(exporter *x, const xentry *xe, int raw_included)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    char h[2 * PX_HASH_LEN + 1], sig[2 * PX_SIG_LEN + 1], when[32], *s;
    if (!o)
        return NULL;
    px_format_hex(xe->e->device.data, xe->e->device.len == 32 ? 32 : 0, h);
    cJSON_AddStringToObject(o, "device_id", h);
    cJSON_AddNumberToObject(o, "device", (double)xe->device);
    cJSON_AddNumberToObject(o, "seq", (double)xe->seq);
    px_format_hex(xe->e->prev_hash.data, xe->e->prev_hash.len == 32 ? 32 : 0, h);
    cJSON_AddStringToObject(o, "prev_hash", h);
    px_format_hex(xe->hash, 32, h);
    cJSON_AddStringToObject(o, "hash", h);
    px_format_hex(xe->sig, 64, sig);
    cJSON_AddStringToObject(o, "sig", sig);
    cJSON_AddNumberToObject(o, "wall_ms", (double)xe->e->wall_ms);
    xh_time(xe->e->wall_ms, when, sizeof when);
    cJSON_AddStringToObject(o, "time_beijing", when);
    cJSON_AddNumberToObject(o, "mono_ns", (double)xe->e->mono_ns);
    cJSON_AddStringToObject(o, "boot_id", xe->e->boot_id);
    if (xe->e->location) {
        cJSON *l = cJSON_AddObjectToObject(o, "location");
        if (l) {
            cJSON_AddNumberToObject(l, "lat_e7", (double)xe->e->location->lat_e7);
            cJSON_AddNumberToObject(l, "lon_e7", (double)xe->e->location->lon_e7);
            cJSON_AddNumberToObject(l, "accuracy_m", xe->e->location->accuracy_m);
        }
    }
    arr = cJSON_AddArrayToObject(o, "inspectors");
    for (size_t k = 0; arr && k < xe->e->n_inspectors; k++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(xe->e->inspectors[k]));
    cJSON_AddStringToObject(o, "kind", xe->e->kind);
    cJSON_AddStringToObject(o, "object", xe->e->object);
    arr = cJSON_AddArrayToObject(o, "fields");
    for (size_t k = 0; arr && k < xe->e->n_fields; k++) {
        const Patrol__V1__Field *f = xe->e->fields[k];
        cJSON *fo = cJSON_CreateObject();
        const char *code, *zh;
        char tmp[160];
        if (!fo)
            break;
        xh_conf_name(f->confidential, &code, &zh);
        cJSON_AddStringToObject(fo, "name", f->name);
        cJSON_AddStringToObject(fo, "value", xh_shown(x, xe->e, f->name, tmp, sizeof tmp));
        cJSON_AddStringToObject(fo, "confidential", code);
        cJSON_AddBoolToObject(fo, "redacted",
                              f->confidential != PATROL__V1__CONFIDENTIALITY__CONF_NONE &&
                                  !x->reveal);
        cJSON_AddItemToArray(arr, fo);
    }
    cJSON_AddNumberToObject(o, "corrects", (double)xe->e->corrects);
    cJSON_AddNumberToObject(o, "received_ms", (double)xe->received_ms);
    cJSON_AddBoolToObject(o, "in_matter", xe->in_matter);
    cJSON_AddBoolToObject(o, "signed_bytes_included", raw_included);
    s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

