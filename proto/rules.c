/* rules.c -- the record's rules, one table (see rules.h and docs/record.md). */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "validate.h"

const char *const px_methods[7] = {
    "guidance", "suggestion", "reminder", "warning", "interview", "publicity", "revisit",
};

/* 二(一): flexible enforcement does not apply to these domains. */
const char *const px_excluded_domains[] = {
    "national_security", "public_safety",       "food_drug_safety",     "production_safety",
    "ecology_environment", "pollution_control", "health_life_property", NULL,
};

int px_domain_excluded(const char *domain)
{
    for (size_t i = 0; px_excluded_domains[i]; i++)
        if (strcmp(domain, px_excluded_domains[i]) == 0)
            return 1;
    return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define REQ PX_REQ
#define F(name, type, flags, help) {name, type, flags, NULL, help}
#define C(name, choices, flags, help) {name, PX_F_CHOICE, flags, choices, help}

static const char *const subject_types[] = {"business", "person", NULL};
static const char *const list_types[] = {"no_penalty", "lighter", "reduced", NULL};
static const char *const forms[] = {"written", "oral", "phone", "sms", "email", "materials", NULL};
static const char *const oral_written[] = {"oral", "written", NULL};
static const char *const reminder_sources[] = {"complaints", "monitoring", "inspection", "other", NULL};
static const char *const interview_modes[] = {"individual", "collective", NULL};
static const char *const interview_reasons[] = {"hazard", "defect", "complaints", "other", NULL};
static const char *const revisit_follows[] = {"penalty", "coercion", "inspection", NULL};
static const char *const revisit_outcomes[] = {"corrected", "partially_corrected", "not_corrected", NULL};
static const char *const integrity[] = {"no_concern", "concern", NULL};
static const char *const delivery[] = {"in_person", "post", "electronic", "left_at_premises",
                                       "announcement", NULL};
static const char *const answers[] = {"accept", "refuse", NULL};
static const char *const hearing_forms[] = {"hearing", "symposium", "published_draft", NULL};
static const char *const close_outcomes[] = {"completed", "terminated", NULL};
static const char *const close_reasons[] = {"subject_refused", "subject_withdrew", "subject_asked_stop",
                                            "basis_changed", "other", NULL};
static const char *const evidence_kinds[] = {"photo", "audio", "video", "document", NULL};

/* Field lists are sorted by name: px_rules_field and the entry check rely
 * on it (tests/test_rules.c checks the table). */
static const px_field_rule f_device_init[] = {
    F("department", PX_F_IDENT, REQ, "department code"),
    F("device_name", PX_F_LINE, REQ, "name of this terminal"),
    F("public_key", PX_F_HEX, REQ | PX_AUTO, "device public key, DER, hex"),
    F("software", PX_F_LINE, PX_AUTO, "software version"),
};
static const px_field_rule f_inspector_add[] = {
    F("cert_no", PX_F_IDENT, REQ, "enforcement certificate number"),
    F("name", PX_F_LINE, REQ, "full name"),
};
static const px_field_rule f_subject_add[] = {
    F("address", PX_F_LINE, 0, "address of the premises"),
    F("contact", PX_F_LINE, PX_PRIVATE, "contact person and telephone"),
    F("credit_code", PX_F_CREDIT, 0, "unified social credit code (business)"),
    F("id_number", PX_F_IDNUM, PX_PRIVATE, "resident identity card number (person)"),
    F("legal_rep", PX_F_LINE, 0, "legal representative or person in charge"),
    F("name", PX_F_LINE, REQ, "business or person name"),
    C("type", subject_types, REQ, "business or person"),
};
static const px_field_rule f_matter_open[] = {
    F("domain", PX_F_IDENT, REQ, "enforcement domain"),
    F("emergency", PX_F_BOOL, 0, "violation exploits an emergency (refused if yes)"),
    F("list_item", PX_F_IDENT, 0, "three-list item cited"),
    C("list_type", list_types, PX_AUTO, "list of the item (filled in)"),
    F("list_version", PX_F_LINE, PX_AUTO, "version of the list (filled in)"),
    F("major", PX_F_BOOL, 0, "major matter: needs hearing or published draft"),
    F("on_application", PX_F_BOOL, 0, "opened on the subject's application"),
    F("subject", PX_F_IDENT, REQ, "subject id"),
    F("summary", PX_F_TEXT, REQ, "what was found"),
};
static const px_field_rule f_guidance[] = {
    F("content", PX_F_TEXT, REQ, "guidance given"),
    C("form", forms, 0, "how it was given"),
    F("materials", PX_F_TEXT, 0, "materials handed over"),
    F("topic", PX_F_LINE, REQ, "management or quality topic"),
};
static const px_field_rule f_suggestion[] = {
    F("content", PX_F_TEXT, REQ, "the suggestion"),
    C("form", forms, 0, "how it was given"),
    F("follow_up", PX_F_TEXT, REQ, "follow-up expected of the subject"),
};
static const px_field_rule f_reminder[] = {
    F("content", PX_F_TEXT, REQ, "what the subject was reminded of"),
    C("form", oral_written, REQ, "oral or written"),
    F("rules", PX_F_TEXT, REQ, "the rules explained"),
    C("source", reminder_sources, 0, "where the frequent violation type was seen"),
};
static const px_field_rule f_warning[] = {
    F("content", PX_F_TEXT, REQ, "the warning given"),
    F("corrected", PX_F_TRUE, REQ, "condition: corrected promptly"),
    F("correction", PX_F_TEXT, REQ, "the correction made or required"),
    F("deadline", PX_F_DATE, REQ, "correction deadline"),
    F("minor", PX_F_TRUE, REQ, "condition: the violation is minor"),
    F("no_harm", PX_F_TRUE, REQ, "condition: no harmful consequence"),
    F("no_intent", PX_F_TRUE, REQ, "condition: no subjective intent"),
};
static const px_field_rule f_interview[] = {
    F("content", PX_F_TEXT, REQ, "what was discussed"),
    F("departments", PX_F_TEXT, REQ, "departments taking part"),
    F("minutes", PX_F_TEXT, REQ, "minutes of the interview"),
    C("mode", interview_modes, REQ, "individual or collective"),
    F("participants", PX_F_TEXT, REQ, "who took part"),
    C("reason", interview_reasons, 0, "hazard, defect, complaints"),
};
static const px_field_rule f_publicity[] = {
    F("channel", PX_F_LINE, REQ, "where it is published"),
    F("content", PX_F_TEXT, REQ, "what is published"),
    F("redactions", PX_F_TEXT, REQ, "what was withheld (or 'none')"),
};
static const px_field_rule f_revisit[] = {
    F("content", PX_F_TEXT, REQ, "purpose of the revisit"),
    F("decision", PX_F_LINE, REQ, "decision or finding it follows"),
    F("due", PX_F_DATE, REQ, "rectification deadline"),
    C("follows", revisit_follows, REQ, "penalty, coercion or inspection"),
    C("integrity", integrity, 0, "did officers act with integrity"),
    F("opinion", PX_F_TEXT, 0, "the subject's opinion"),
    C("outcome", revisit_outcomes, 0, "outcome, if done on the spot"),
};
static const px_field_rule f_revisit_outcome[] = {
    F("content", PX_F_TEXT, 0, "what was found"),
    C("integrity", integrity, 0, "did officers act with integrity"),
    F("opinion", PX_F_TEXT, 0, "the subject's opinion"),
    C("outcome", revisit_outcomes, REQ, "corrected, partially or not"),
};
static const px_field_rule f_leaflet[] = {
    F("code", PX_F_IDENT, 0, "catalogue code"),
    F("copies", PX_F_COUNT, REQ, "copies handed out"),
    F("title", PX_F_LINE, REQ, "leaflet title"),
};
static const px_field_rule f_document_issue[] = {
    F("content", PX_F_TEXT, REQ, "content of the opinion"),
    F("doc_no", PX_F_LINE, 0, "document number (发文字号)"),
    F("personnel", PX_F_LINE, REQ, "implementing personnel"),
    F("purpose", PX_F_TEXT, REQ, "purpose"),
    F("subject", PX_F_IDENT, REQ | PX_AUTO, "subject id (filled in)"),
    F("time", PX_F_LINE, REQ, "time or period of implementation"),
};
static const px_field_rule f_document_deliver[] = {
    C("method", delivery, REQ, "delivery method"),
    F("recipient", PX_F_LINE, REQ, "who received it"),
};
static const px_field_rule f_application_file[] = {
    F("content", PX_F_TEXT, REQ, "what the subject applied for"),
};
static const px_field_rule f_application_change[] = {
    F("content", PX_F_TEXT, REQ, "the application as changed"),
};
static const px_field_rule f_application_withdraw[] = {
    F("reason", PX_F_TEXT, 0, "reason given by the subject"),
};
static const px_field_rule f_consent[] = {
    C("answer", answers, REQ, "accept or refuse flexible enforcement"),
    C("form", forms, 0, "how the subject was told"),
    F("told", PX_F_TRUE, REQ, "the subject was told it may choose"),
};
static const px_field_rule f_expert[] = {
    F("expert", PX_F_LINE, REQ, "expert name and affiliation"),
    F("opinion", PX_F_TEXT, REQ, "the opinion"),
    F("topic", PX_F_LINE, 0, "technical question"),
};
static const px_field_rule f_hearing[] = {
    C("form", hearing_forms, REQ, "hearing, symposium or published draft"),
    F("participants", PX_F_TEXT, REQ, "who took part"),
    F("summary", PX_F_TEXT, REQ, "what was said and decided"),
};
static const px_field_rule f_close[] = {
    C("outcome", close_outcomes, REQ, "completed or terminated"),
    C("reason", close_reasons, 0, "termination reason"),
    F("reason_text", PX_F_TEXT, 0, "termination reason in words"),
};
static const px_field_rule f_evidence[] = {
    F("caption", PX_F_LINE, 0, "what it shows"),
    C("kind", evidence_kinds, REQ, "photo, audio, video or document"),
    F("media_type", PX_F_LINE, REQ, "media type, e.g. image/jpeg"),
    F("name", PX_F_LINE, 0, "original file name"),
    F("sha256", PX_F_SHA256, REQ, "SHA-256 of the file"),
    F("size", PX_F_SIZE, REQ, "size in bytes"),
};
static const px_field_rule f_correction[] = {
    F("field", PX_F_IDENT, 0, "field corrected"),
    F("reason", PX_F_TEXT, REQ, "why the correction is made"),
    F("value", PX_F_TEXT, 0, "the correct value"),
};

#define K(kind, scope, fields, help) {kind, help, scope, fields, N(fields)}
static const px_kind_rule kinds[] = {
    K("action.guidance", PX_SCOPE_MATTER, f_guidance, "行政辅导: help improve management or quality"),
    K("action.interview", PX_SCOPE_MATTER, f_interview, "行政约谈: meeting with the person in charge"),
    K("action.publicity", PX_SCOPE_MATTER, f_publicity, "行政公示: publish as public guidance"),
    K("action.reminder", PX_SCOPE_MATTER, f_reminder, "行政提示: explain the rules of a frequent violation"),
    K("action.revisit", PX_SCOPE_MATTER, f_revisit, "行政回访: follow up a decision or finding"),
    K("action.suggestion", PX_SCOPE_MATTER, f_suggestion, "行政建议: advise on responsibility, quality, brand"),
    K("action.warning", PX_SCOPE_MATTER, f_warning, "行政告诫: minor, no harm, no intent, corrected"),
    K("application.change", PX_SCOPE_MATTER, f_application_change, "the subject changes its application"),
    K("application.file", PX_SCOPE_MATTER, f_application_file, "the subject applies"),
    K("application.withdraw", PX_SCOPE_MATTER, f_application_withdraw, "the subject withdraws its application"),
    K("consent", PX_SCOPE_MATTER, f_consent, "subject told of its right to choose, and its answer"),
    K("correction", PX_SCOPE_ENTRY, f_correction, "corrects an earlier entry"),
    K("device.init", PX_SCOPE_DEVICE, f_device_init, "terminal initialised"),
    K("document.deliver", PX_SCOPE_DOCUMENT, f_document_deliver, "delivery of a document (送达)"),
    K("document.issue", PX_SCOPE_MATTER, f_document_issue, "柔性执法意见书 issued"),
    K("evidence.add", PX_SCOPE_MATTER, f_evidence, "evidence file (photo, audio, video, document)"),
    K("expert.opinion", PX_SCOPE_MATTER, f_expert, "expert review of a technical question"),
    K("hearing", PX_SCOPE_MATTER, f_hearing, "hearing, symposium or published draft"),
    K("inspector.add", PX_SCOPE_INSPECTOR, f_inspector_add, "inspector enrolled on this terminal"),
    K("leaflet", PX_SCOPE_MATTER, f_leaflet, "leaflets handed out"),
    K("matter.close", PX_SCOPE_MATTER, f_close, "matter completed or terminated"),
    K("matter.open", PX_SCOPE_MATTER, f_matter_open, "flexible-enforcement matter opened"),
    K("revisit.outcome", PX_SCOPE_REVISIT, f_revisit_outcome, "outcome of a planned revisit"),
    K("subject.add", PX_SCOPE_SUBJECT, f_subject_add, "business or person"),
};

const px_kind_rule *px_rules_all(size_t *n)
{
    *n = N(kinds);
    return kinds;
}

const px_kind_rule *px_rules_find(const char *kind)
{
    for (size_t i = 0; i < N(kinds); i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    return NULL;
}

const px_field_rule *px_rules_field(const px_kind_rule *k, const char *name)
{
    for (size_t i = 0; i < k->nfields; i++)
        if (strcmp(k->fields[i].name, name) == 0)
            return &k->fields[i];
    return NULL;
}

const char *px_rules_check_value(const px_field_rule *f, const char *v)
{
    uint64_t u;
    int32_t days;
    int b;
    size_t len = strlen(v);

    switch (f->type) {
    case PX_F_TEXT:
        return px_check_text(v, PX_TEXT_MAX);
    case PX_F_LINE:
        return px_check_line(v, PX_LINE_MAX);
    case PX_F_IDENT:
        return px_check_ident(v);
    case PX_F_CHOICE:
        for (size_t i = 0; f->choices[i]; i++)
            if (strcmp(v, f->choices[i]) == 0)
                return NULL;
        return "not one of the allowed values";
    case PX_F_BOOL:
        return px_parse_bool(v, &b);
    case PX_F_TRUE: {
        const char *why = px_parse_bool(v, &b);
        if (why)
            return why;
        return b ? NULL : "must be yes: the law requires this condition";
    }
    case PX_F_COUNT:
        return px_parse_u64(v, 1, 1000000, &u);
    case PX_F_SIZE:
        return px_parse_u64(v, 0, (uint64_t)1 << 53, &u);
    case PX_F_DATE:
        return px_parse_date(v, &days);
    case PX_F_SHA256: {
        uint8_t h[PX_HASH_LEN];
        return px_parse_hex(v, h, sizeof h);
    }
    case PX_F_CREDIT:
        return px_check_credit_code(v, NULL, 0);
    case PX_F_IDNUM:
        return px_check_id_number(v, NULL, 0);
    case PX_F_HEX: {
        uint8_t buf[PX_PUBKEY_MAX];
        if (len == 0 || len % 2 || len > 2 * sizeof buf)
            return "not hex of a valid length";
        return px_parse_hex(v, buf, len / 2);
    }
    }
    return "unknown field type";
}

static const char *field_value(const Patrol__V1__Entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i]->name, name) == 0)
            return e->fields[i]->value;
    return NULL;
}

int px_rules_check_entry(const Patrol__V1__Entry *e, char *detail, size_t len)
{
    const px_kind_rule *k = px_rules_find(e->kind);
    const char *why, *v;

    if (!k) {
        snprintf(detail, len, "unknown entry kind '%.64s'", e->kind);
        return -1;
    }
    for (size_t i = 0; i < e->n_fields; i++) {
        const Patrol__V1__Field *fd = e->fields[i];
        const px_field_rule *r = px_rules_field(k, fd->name);
        if (!r) {
            snprintf(detail, len, "%s has no field '%.64s'", k->kind, fd->name);
            return -1;
        }
        if (i > 0 && strcmp(e->fields[i - 1]->name, fd->name) >= 0) {
            snprintf(detail, len, "field '%s' is out of order or repeated", fd->name);
            return -1;
        }
        if ((why = px_rules_check_value(r, fd->value))) {
            snprintf(detail, len, "field '%s': %s", fd->name, why);
            return -1;
        }
        if (fd->confidential < 0 || fd->confidential > PATROL__V1__CONFIDENTIALITY__CONF_PERSONAL_PRIVACY) {
            snprintf(detail, len, "field '%s': unknown confidentiality mark", fd->name);
            return -1;
        }
    }
    for (size_t i = 0; i < k->nfields; i++)
        if ((k->fields[i].flags & PX_REQ) && !field_value(e, k->fields[i].name)) {
            snprintf(detail, len, "%s needs field '%s' (%s)", k->kind, k->fields[i].name,
                     k->fields[i].help);
            return -1;
        }
    if ((why = px_check_ident(e->object)) != NULL) {
        snprintf(detail, len, "object id: %s", why);
        return -1;
    }
    for (size_t i = 0; i < e->n_inspectors; i++)
        if ((why = px_check_ident(e->inspectors[i])) != NULL) {
            snprintf(detail, len, "inspector id: %s", why);
            return -1;
        }
    if (e->boot_id[0] && (why = px_check_ident(e->boot_id)) != NULL) {
        snprintf(detail, len, "boot id: %s", why);
        return -1;
    }
    /* Rules across fields. */
    if (strcmp(k->kind, "subject.add") == 0) {
        int business = strcmp(field_value(e, "type"), "business") == 0;
        if (business && !field_value(e, "credit_code")) {
            snprintf(detail, len, "a business needs its unified social credit code");
            return -1;
        }
        if (!business && !field_value(e, "id_number")) {
            snprintf(detail, len, "a person needs an identity card number");
            return -1;
        }
    } else if (strcmp(k->kind, "matter.open") == 0) {
        int b = 0;
        if (px_domain_excluded(field_value(e, "domain"))) {
            snprintf(detail, len, "domain '%s' is excluded from flexible enforcement",
                     field_value(e, "domain"));
            return -1;
        }
        if ((v = field_value(e, "emergency")) && !px_parse_bool(v, &b) && b) {
            snprintf(detail, len, "a violation that exploits an emergency is excluded from "
                                  "flexible enforcement");
            return -1;
        }
        if (field_value(e, "list_item") &&
            (!field_value(e, "list_version") || !field_value(e, "list_type"))) {
            snprintf(detail, len, "a cited list item needs its list's type and version");
            return -1;
        }
        if (!field_value(e, "list_item") &&
            (field_value(e, "list_version") || field_value(e, "list_type"))) {
            snprintf(detail, len, "a list type or version needs a cited list item");
            return -1;
        }
    } else if (strcmp(k->kind, "matter.close") == 0) {
        int terminated = strcmp(field_value(e, "outcome"), "terminated") == 0;
        if (terminated && !field_value(e, "reason")) {
            snprintf(detail, len, "a terminated matter needs a reason");
            return -1;
        }
        if (!terminated && field_value(e, "reason")) {
            snprintf(detail, len, "a completed matter has no termination reason");
            return -1;
        }
        if ((v = field_value(e, "reason")) && strcmp(v, "other") == 0 && !field_value(e, "reason_text")) {
            snprintf(detail, len, "termination reason 'other' needs reason_text");
            return -1;
        }
    } else if (strcmp(k->kind, "correction") == 0) {
        if (e->corrects == 0 || e->corrects >= e->seq) {
            snprintf(detail, len, "a correction must name an earlier entry");
            return -1;
        }
    }
    if (k->scope != PX_SCOPE_ENTRY && e->corrects != 0) {
        snprintf(detail, len, "only a correction may name an entry it corrects");
        return -1;
    }
    return 0;
}
