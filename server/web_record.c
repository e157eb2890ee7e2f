/* web_record.c -- a matter's record as the console shows it, from the
 * document `patrold audit timeline --matter ID --json` gives
 * (audit_timeline_json: the command's own builder and masking): the
 * 全过程记录 table of the matter's page, with each entry's corrections in
 * effect and the server's rule flags, and the matter's 柔性执法意见书 laid
 * out for printing (GET /matters/ID/documents; console.css's print rules
 * leave only the documents on paper, one a page).
 *
 * Nothing here counts or decides: corrections and flags are those the
 * builder attached to each entry. Every value goes through web_text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "i18n.h"
#include "rules.h"
#include "web_int.h"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (audit timeline's times) as UTC milliseconds; 0
 * if it is not that. */
static int64_t iso_ms(const char *v)
{
    int d[6], at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    int64_t y, m, days;
    if (!v || strlen(v) != 20 || v[19] != 'Z')
        return 0;
    for (int i = 0; i < 6; i++) {
        d[i] = 0;
        for (int k = 0; k < len[i]; k++) {
            char ch = v[at[i] + k];
            if (ch < '0' || ch > '9')
                return 0;
            d[i] = d[i] * 10 + (ch - '0');
        }
    }
    /* days from 1970-01-01 (H. Hinnant's days_from_civil) */
    y = d[0] - (d[1] <= 2);
    m = d[1];
    {
        int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400,
                doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d[2] - 1,
                doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        days = era * 146097 + doe - 719468;
    }
    return ((days * 24 + d[3]) * 60 + d[4]) * 60000 + (int64_t)d[5] * 1000;
}

static void time_text(web_buf *b, const cJSON *o, const char *k)
{
    char t[32];
    web_beijing(iso_ms(cJSON_IsString(get(o, k)) ? get(o, k)->valuestring : NULL), t, sizeof t);
    web_text(b, t);
}

/* The last correction of entry e naming field (the value in effect), or
 * NULL. */
static const cJSON *correction_of(const cJSON *e, const char *field)
{
    const cJSON *c, *found = NULL;
    cJSON_ArrayForEach(c, get(e, "corrections"))
    {
        if (strcmp(str(c, "field"), field) == 0)
            found = c;
    }
    return found;
}

/* One correction as a sentence: 更正（第 N 条）：field：old → new；理由：… */
static void correction_line(web_buf *b, const cJSON *c, const px_kind_rule *kr)
{
    const px_field_rule *fr = kr ? px_rules_field(kr, str(c, "field")) : NULL;
    web_puts(b, "<li class=\"correction\">");
    if (str(c, "field")[0])
        /* TRANSLATORS: a correction (更正) of an entry: the correcting entry's
         * number, the field (a code): old value -> new value, its reason. */
        web_textf(b, _("Correction (entry %.0f): %s: %s -> %s; reason: %s"), num(c, "seq"),
                  fr && fr->help && *fr->help ? _(fr->help) : str(c, "field"),
                  cJSON_IsString(get(c, "original")) ? str(c, "original") : _("(none)"),
                  str(c, "corrected"), str(c, "reason"));
    else
        /* TRANSLATORS: a correction (更正) naming no field: its entry's number, reason. */
        web_textf(b, _("Correction (entry %.0f): reason: %s"), num(c, "seq"), str(c, "reason"));
    web_puts(b, "</li>");
}

/* A flag's sentence, stored in English (reindex_english): "matter ID: WHY"
 * is shown as 事项 ID：WHY translated (the WHY of the state rules is a
 * message of the catalogue); any other sentence through _() as it is. */
static void detail(web_buf *b, const char *d)
{
    const char *sep = strncmp(d, "matter ", 7) == 0 ? strstr(d, ": ") : NULL;
    if (sep && sep[2]) {
        char id[64];
        size_t n = (size_t)(sep - (d + 7));
        snprintf(id, sizeof id, "%.*s", (int)(n < sizeof id ? n : sizeof id - 1), d + 7);
        /* The state rules' own message (proto/matter.c). */
        web_textf(b, _("matter %s: %s"), id, _(sep + 2));
    } else {
        web_text(b, d[0] ? _(d) : "");
    }
}

static void flag_line(web_buf *b, const cJSON *f)
{
    web_puts(b, "<li class=\"flag\">");
    /* TRANSLATORS: before a rule's code (consent_first ...) in code type. */
    web_text(b, _("Rule flag "));
    web_tag(b, "code", str(f, "rule"));
    web_text(b, cJSON_IsTrue(get(f, "flag_only"))
                    ? _(" (flagged only): ")
                    : _(" (the terminal should have refused it; the server kept and flagged it): "));
    detail(b, str(f, "detail"));
    web_puts(b, "</li>");
}

static const char *choice_zh(const char *v)
{
    const char *l = px_choice_label(v);
    return l && *l ? _(l) : v;
}

int web_record_table(web_buf *b, const cJSON *tl)
{
    const cJSON *e;
    size_t ncorr = 0, nflags = 0;
    cJSON_ArrayForEach(e, get(tl, "entries"))
    {
        ncorr += (size_t)cJSON_GetArraySize(get(e, "corrections"));
        nflags += (size_t)cJSON_GetArraySize(get(e, "flags"));
    }
    web_tag(b, "h2", _("Full-process record"));
    web_puts(b, "<p>");
    web_text(b, _("Corrections: "));
    web_printf(b, "<span id=\"tl-corrections\">%zu</span>", ncorr);
    web_text(b, _("; server rule flags: "));
    web_printf(b, "<span id=\"tl-flags\">%zu</span>", nflags);
    /* TRANSLATORS: ends the sentence of the counts of corrections and flags. */
    web_text(b, _(". A correction is a new entry: the entry it corrects is unchanged, and the "
                  "table shows the values in effect."));
    web_puts(b, "</p><table id=\"timeline\">");
    web_thead(b, (const char *const[]){_("Time"), _("Record"), _("Device"), _("Content"), NULL});
    web_puts(b, "<tbody>");
    cJSON_ArrayForEach(e, get(tl, "entries"))
    {
        const cJSON *f, *x;
        const char *label = str(e, "label");
        const px_kind_rule *kr = px_rules_find(str(e, "kind"));
        int flagged = cJSON_GetArraySize(get(e, "flags")) > 0;
        web_puts(b, flagged ? "<tr class=\"flagged\"><td>" : "<tr><td>");
        time_text(b, e, "device_time");
        web_puts(b, "</td><td>");
        web_text(b, label[0] ? _(label) : "");
        web_puts(b, "</td><td>");
        web_text(b, str(e, "device_name"));
        web_printf(b, " #%.0f</td><td><dl>", num(e, "seq"));
        cJSON_ArrayForEach(f, get(e, "fields"))
        {
            const cJSON *c = correction_of(e, str(f, "name"));
            int masked = cJSON_IsTrue(get(f, "masked"));
            const px_field_rule *fr = kr ? px_rules_field(kr, str(f, "name")) : NULL;
            /* The field as the rules table names it, its code on hover. */
            web_puts(b, "<dt title=\"");
            web_attr(b, str(f, "name"));
            web_puts(b, "\">");
            web_text(b, fr && fr->help && *fr->help ? _(fr->help) : str(f, "name"));
            web_puts(b, c ? "</dt><dd class=\"corrected\">" : masked ? "</dt><dd class=\"masked\">"
                                                                      : "</dt><dd>");
            if (!c && !masked && fr && (fr->type == PX_F_CHOICE || fr->type == PX_F_BOOL ||
                                        fr->type == PX_F_TRUE)) {
                const char *v = str(f, "value");
                web_text(b, fr->type == PX_F_CHOICE                           ? choice_zh(v)
                            : strcmp(v, "yes") == 0 || strcmp(v, "no") == 0 ? _(v)
                                                                              : v);
            } else if (c) {
                web_text(b, str(c, "corrected"));
                web_puts(b, " <span class=\"was\">");
                /* TRANSLATORS: after a corrected value: the correcting entry's
                 * number, the value as recorded first. */
                web_textf(b, _("(corrected by entry %.0f; was: %s)"), num(c, "seq"),
                          str(f, "value"));
                web_puts(b, "</span>");
            } else if (masked) {
                /* The builder's mark ("[personal_privacy]"), as the text
                 * timeline shows it: a message of the catalogue. */
                web_text(b, _(str(f, "value")));
            } else {
                web_text(b, str(f, "value"));
            }
            web_puts(b, "</dd>");
        }
        web_puts(b, "</dl>");
        if (cJSON_IsNumber(get(e, "corrects")))
        {
            web_puts(b, "<p class=\"corrects\">");
            web_textf(b, _("corrects entry %.0f of this device"), num(e, "corrects"));
            web_puts(b, "</p>");
        }
        if (cJSON_GetArraySize(get(e, "corrections")) > 0 || flagged) {
            web_puts(b, "<ul class=\"notes\">");
            cJSON_ArrayForEach(x, get(e, "corrections"))
                correction_line(b, x, kr);
            cJSON_ArrayForEach(x, get(e, "flags"))
                flag_line(b, x);
            web_puts(b, "</ul>");
        }
        web_puts(b, "</td></tr>");
    }
    web_puts(b, "</tbody></table>");
    return 0;
}

/* ---- 柔性执法意见书, for printing ------------------------------------------ */

/* A field of a document.issue entry as it stands: its value, or the last
 * correction's, with a note of the original. */
static void doc_field(web_buf *b, const cJSON *e, const char *th, const char *name,
                      const char *none)
{
    const cJSON *f, *v = NULL, *c = correction_of(e, name);
    cJSON_ArrayForEach(f, get(e, "fields"))
    {
        if (strcmp(str(f, "name"), name) == 0)
            v = f;
    }
    web_puts(b, "<tr><th>");
    web_text(b, th);
    web_puts(b, "</th><td>");
    if (c) {
        web_text(b, str(c, "corrected"));
        web_puts(b, "<br><small class=\"was\">");
        /* TRANSLATORS: under a corrected field of a printed document: the
         * correcting entry's number, the value first recorded, the reason. */
        web_textf(b, _("(corrected by entry %.0f; was: %s; reason: %s)"), num(c, "seq"),
                  v ? str(v, "value") : "", str(c, "reason"));
        web_puts(b, "</small>");
    } else {
        web_text(b, v && str(v, "value")[0] ? str(v, "value") : none);
    }
    web_puts(b, "</td></tr>");
}


/* One document (entry e, a document.issue) of matter head. */
static void document(web_buf *b, const cJSON *head, const cJSON *tl, const cJSON *e)
{
    const cJSON *d = get(e, "document"), *x, *in;
    const char *id = str(d, "id");
    int delivered = 0;
    web_puts(b, "<section class=\"document\" id=\"doc-");
    web_attr(b, id);
    web_puts(b, "\">");
    web_tag(b, "h1 class=\"doc-title\"", _("Flexible enforcement opinion"));
    web_puts(b, "<table class=\"doc\"><tbody>");
    doc_field(b, e, _("Document number"), "doc_no", _("(no document number)"));
    web_puts(b, "<tr>");
    web_tag(b, "th", _("Document id"));
    web_tag(b, "td", id);
    web_puts(b, "</tr><tr>");
    web_tag(b, "th", _("Matter"));
    web_tag(b, "td", str(head, "id"));
    web_puts(b, "</tr><tr>");
    web_tag(b, "th", _("Subject"));
    web_puts(b, "<td>");
    /* TRANSLATORS: the subject of a document: its name (its id). */
    web_textf(b, _("%s (%s)"),
              str(get(head, "subject"), "name")[0] ? str(get(head, "subject"), "name")
                                                    : _("(the subject's registration has not "
                                                        "reached the server)"),
              str(get(head, "subject"), "id"));
    web_puts(b, "</td></tr>");
    doc_field(b, e, _("Purpose"), "purpose", "");
    doc_field(b, e, _("Content"), "content", "");
    doc_field(b, e, _("Time"), "time", "");
    doc_field(b, e, _("Implementing personnel"), "personnel", "");
    web_puts(b, "<tr>");
    web_tag(b, "th", _("Inspectors"));
    web_puts(b, "<td>");
    {
        int k = 0;
        cJSON_ArrayForEach(in, get(e, "inspectors"))
        {
            if (k++)
                web_text(b, _("; "));
            /* TRANSLATORS: an inspector: name (id, enforcement certificate number). */
            web_textf(b, _("%s (%s, cert. %s)"),
                      cJSON_IsString(get(in, "name")) ? str(in, "name") : "?", str(in, "id"),
                      cJSON_IsString(get(in, "cert_no")) ? str(in, "cert_no") : "?");
        }
    }
    web_puts(b, "</td></tr><tr>");
    web_tag(b, "th", _("Made"));
    web_puts(b, "<td>");
    time_text(b, e, "device_time");
    web_text(b, _(" (the terminal's clock, Beijing time)"));
    web_puts(b, "</td></tr>");
    /* Its delivery: the document.deliver entries naming it. */
    cJSON_ArrayForEach(x, get(tl, "entries"))
    {
        const cJSON *f, *method = NULL, *recipient = NULL;
        if (strcmp(str(x, "kind"), "document.deliver") != 0 ||
            strcmp(str(get(x, "document"), "id"), id) != 0)
            continue;
        cJSON_ArrayForEach(f, get(x, "fields"))
        {
            if (strcmp(str(f, "name"), "method") == 0)
                method = f;
            else if (strcmp(str(f, "name"), "recipient") == 0)
                recipient = f;
        }
        web_puts(b, "<tr>");
        web_tag(b, "th", _("Delivery"));
        web_puts(b, "<td class=\"delivered\">");
        time_text(b, x, "device_time");
        /* TRANSLATORS: after the time of a delivery: how, to whom. */
        web_textf(b, _("; method: %s; received by: %s"),
                  method ? choice_zh(str(method, "value")) : "?",
                  recipient ? str(recipient, "value") : "?");
        web_puts(b, "</td></tr>");
        delivered = 1;
    }
    if (!delivered)
    {
        web_puts(b, "<tr>");
        web_tag(b, "th", _("Delivery"));
        web_tag(b, "td class=\"undelivered\"",
                _("Not delivered (the server holds no record of its delivery)"));
        web_puts(b, "</tr>");
    }
    web_puts(b, "</tbody></table>");
    web_puts(b, "<p class=\"doc-record\">");
    /* TRANSLATORS: the record behind a printed document: device name, device
     * number, entry number. */
    web_textf(b, _("Recorded by device %s (%.0f) as entry %.0f. The original entry and its "
                   "signature are in the matter's full-process record and its exported archive."),
              str(e, "device_name"), num(e, "device"), num(e, "seq"));
    web_puts(b, "</p></section>");
}

void web_page_documents(web_ctx *c, const char *id)
{
    st_imatter m;
    web_buf b = {0};
    char err[256];
    int notfound;
    size_t n = 0;
    const cJSON *e;
    cJSON *tl;
    memset(&m, 0, sizeof m);
    if (web_matter_open(c, id, 0, &m) != 0)
        return;
    st_imatter_release(&m);
    if (!(tl = audit_timeline_json(c->db, id, 0, &notfound, err, sizeof err))) {
        app_log("error", "event=web_timeline_failed matter=%s reason=\"%s\"", id, err);
        web_refuse(c, notfound ? 404 : 503, _("The matter's record cannot be read."));
        return;
    }
    web_puts(&b, "<div class=\"noprint\"><h1>");
    web_text(&b, _("Documents of matter "));
    web_puts(&b, "<a href=\"/matters/");
    web_url(&b, id);
    web_puts(&b, "\">");
    web_text(&b, id);
    web_puts(&b, "</a></h1>");
    web_tag(&b, "p", _("Print them, or save them as PDF, with the browser's Print (Ctrl+P): one "
                       "opinion a page, without the header, the navigation or the buttons. "
                       "Confidential fields such as personal privacy are masked."));
    web_puts(&b, "</div>");
    cJSON_ArrayForEach(e, get(tl, "entries"))
    {
        if (strcmp(str(e, "kind"), "document.issue") == 0) {
            document(&b, get(tl, "matter"), tl, e);
            n++;
        }
    }
    if (!n)
        web_tag(&b, "p id=\"no-documents\"", _("No document was issued in this matter."));
    cJSON_Delete(tl);
    web_page(c, 200, _("Documents"), &b);
    web_buf_free(&b);
}
