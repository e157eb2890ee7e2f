/* rules.c -- the record's rules, one table (see rules.h and docs/record.md). */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "i18n.h"
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
static const char *const legality[] = {"lawful_regular", "concern", NULL};
static const char *const dept_interview_modes[] = {"collective", "joint", NULL};
static const char *const delivery[] = {"in_person", "post", "electronic", "left_at_premises",
                                       "announcement", NULL};
static const char *const answers[] = {"accept", "refuse", "stop", NULL};
static const char *const hearing_forms[] = {"hearing", "symposium", "published_draft", NULL};
static const char *const close_outcomes[] = {"completed", "terminated", "escalated", NULL};
static const char *const close_reasons[] = {"subject_refused", "subject_withdrew", "subject_asked_stop",
                                            "basis_changed", "harms_others", "other", NULL};
static const char *const evidence_kinds[] = {"photo", "audio", "video", "document", "electronic_data",
                                             NULL};

/* Field lists are sorted by name: px_rules_field and the entry check rely
 * on it (tests/test_rules.c checks the table). */
static const px_field_rule f_device_init[] = {
    F("department", PX_F_IDENT, REQ, N_("department code")),
    F("device_name", PX_F_LINE, REQ, N_("name of this terminal")),
    F("public_key", PX_F_HEX, REQ | PX_AUTO, N_("device public key, DER, hex")),
    F("software", PX_F_LINE, PX_AUTO, N_("software version")),
};
static const px_field_rule f_inspector_add[] = {
    F("cert_no", PX_F_IDENT, REQ, N_("enforcement certificate number")),
    F("name", PX_F_LINE, REQ, N_("full name")),
};
static const px_field_rule f_subject_add[] = {
    F("address", PX_F_LINE, 0, N_("address of the premises")),
    F("contact", PX_F_LINE, PX_PRIVATE, N_("contact person and telephone")),
    F("credit_code", PX_F_CREDIT, 0, N_("unified social credit code (business)")),
    F("id_number", PX_F_IDNUM, PX_PRIVATE, N_("resident identity card number (person)")),
    F("legal_rep", PX_F_LINE, 0, N_("legal representative or person in charge")),
    F("name", PX_F_LINE, REQ, N_("business or person name")),
    C("type", subject_types, REQ, N_("business or person")),
};
static const px_field_rule f_matter_open[] = {
    F("certificates_shown", PX_F_BOOL, 0,
      N_("the inspectors showed their enforcement certificates and told the subject its rights "
         "(亮证)")),
    F("domain", PX_F_IDENT, REQ, N_("enforcement domain")),
    F("emergency", PX_F_BOOL, 0, N_("violation exploits an emergency (refused if yes)")),
    F("list_item", PX_F_IDENT, 0, N_("three-list item cited")),
    C("list_type", list_types, PX_AUTO, N_("list of the item (filled in)")),
    F("list_version", PX_F_LINE, PX_AUTO, N_("version of the list (filled in)")),
    F("major", PX_F_BOOL, 0, N_("major matter: needs hearing or published draft")),
    F("on_application", PX_F_BOOL, 0, N_("opened on the subject's application")),
    F("subject", PX_F_IDENT, REQ, N_("subject id")),
    F("summary", PX_F_TEXT, REQ, N_("what was found")),
    F("technical", PX_F_BOOL, 0, N_("raises a technical question: needs an expert opinion")),
};
static const px_field_rule f_guidance[] = {
    F("content", PX_F_TEXT, REQ, N_("guidance given")),
    C("form", forms, 0, N_("how it was given")),
    F("materials", PX_F_TEXT, 0, N_("materials handed over")),
    F("topic", PX_F_LINE, REQ, N_("management or quality topic")),
};
static const px_field_rule f_suggestion[] = {
    F("content", PX_F_TEXT, REQ, N_("the suggestion")),
    C("form", forms, 0, N_("how it was given")),
    F("follow_up", PX_F_TEXT, 0, N_("follow-up agreed with the subject, if any")),
};
static const px_field_rule f_reminder[] = {
    F("content", PX_F_TEXT, REQ, N_("what the subject was reminded of")),
    C("form", oral_written, REQ, N_("oral or written")),
    F("rules", PX_F_TEXT, REQ, N_("the rules explained")),
    C("source", reminder_sources, 0, N_("where the frequent violation type was seen")),
};
static const px_field_rule f_warning[] = {
    F("content", PX_F_TEXT, REQ, N_("the warning given")),
    F("correctable", PX_F_TRUE, PX_RULE, N_("condition: can be corrected promptly")),
    F("corrected", PX_F_BOOL, 0, N_("already corrected when warned")),
    F("correction", PX_F_TEXT, REQ, N_("the correction required")),
    F("deadline", PX_F_DATE, REQ, N_("correction deadline (not before today)")),
    F("late", PX_F_BOOL, 0, N_("entered late from a paper record: the date may be past")),
    F("minor", PX_F_TRUE, REQ, N_("condition: the violation is minor")),
    F("no_harm", PX_F_TRUE, REQ, N_("condition: no harmful consequence")),
    F("no_intent", PX_F_TRUE, REQ, N_("condition: no subjective intent")),
};
/* The subject confirms the minutes by signing them on the screen (strokes
 * and image are evidence of the matter, bound here by their SHA-256), or
 * refuses before a witness; the same for its answer to consent and for a
 * delivery's proof (送达回证). */
static const px_field_rule f_interview[] = {
    F("content", PX_F_TEXT, REQ, N_("what was discussed")),
    F("departments", PX_F_TEXT, REQ, N_("departments taking part")),
    F("minutes", PX_F_TEXT, REQ, N_("minutes of the interview")),
    C("mode", interview_modes, REQ, N_("individual or collective")),
    F("participants", PX_F_TEXT, REQ, N_("who took part")),
    C("reason", interview_reasons, 0, N_("hazard, defect, complaints")),
    F("refused_sign", PX_F_BOOL, 0, N_("the person in charge refused to sign the minutes")),
    F("signature", PX_F_SHA256, 0,
      N_("SHA-256 of the signature confirming the minutes: strokes (evidence: points, order, "
         "timing)")),
    F("signature_image", PX_F_SHA256, 0, N_("SHA-256 of the signature's image (evidence)")),
    F("witness", PX_F_LINE, 0, N_("witness of a refusal to sign (name and unit)")),
};
static const px_field_rule f_publicity[] = {
    F("channel", PX_F_LINE, REQ, N_("where it is published")),
    F("content", PX_F_TEXT, REQ, N_("what is published")),
    F("redactions", PX_F_TEXT, REQ, N_("what was withheld (or 'none')")),
};
static const px_field_rule f_revisit[] = {
    F("content", PX_F_TEXT, REQ, N_("purpose of the revisit")),
    F("decision", PX_F_LINE, REQ, N_("decision or finding it follows")),
    F("due", PX_F_DATE, REQ, N_("date of the revisit: the rectification deadline (not before today)")),
    C("follows", revisit_follows, REQ, N_("penalty, coercion or inspection")),
    C("integrity", integrity, 0, N_("officers' integrity (with an outcome after a penalty or coercion)")),
    F("late", PX_F_BOOL, 0, N_("entered late from a paper record: the date may be past")),
    C("legality", legality, 0, N_("was the supervision lawful and regular (with an outcome after an inspection)")),
    F("opinion", PX_F_TEXT, 0, N_("the subject's opinions and suggestions (with an outcome)")),
    C("outcome", revisit_outcomes, 0, N_("outcome, if done on the spot")),
};
static const px_field_rule f_revisit_outcome[] = {
    F("content", PX_F_TEXT, 0, N_("what was found")),
    C("integrity", integrity, 0, N_("officers' integrity (after a penalty or coercion)")),
    C("legality", legality, 0, N_("was the supervision lawful and regular (after an inspection)")),
    F("opinion", PX_F_TEXT, PX_RULE, N_("the subject's opinions and suggestions")),
    C("outcome", revisit_outcomes, REQ, N_("corrected, partially or not")),
};
static const px_field_rule f_leaflet[] = {
    F("code", PX_F_IDENT, 0, N_("catalogue code")),
    F("copies", PX_F_COUNT, REQ, N_("copies handed out")),
    F("title", PX_F_LINE, REQ, N_("leaflet title")),
};
static const px_field_rule f_document_issue[] = {
    F("content", PX_F_TEXT, REQ, N_("content of the opinion")),
    F("doc_no", PX_F_LINE, 0, N_("document number (发文字号)")),
    F("personnel", PX_F_LINE, REQ, N_("implementing personnel")),
    F("purpose", PX_F_TEXT, REQ, N_("purpose")),
    F("subject", PX_F_IDENT, REQ | PX_AUTO, N_("subject id (filled in)")),
    F("time", PX_F_LINE, REQ, N_("time or period of implementation")),
};
/* 送达回证: the recipient signs on the screen (its strokes and its image
 * are evidence of the matter, bound here by their SHA-256), or refuses to
 * sign before a witness. */
static const px_field_rule f_document_deliver[] = {
    C("method", delivery, REQ, N_("delivery method")),
    F("recipient", PX_F_LINE, REQ, N_("who received it")),
    F("refused_sign", PX_F_BOOL, 0, N_("the recipient refused to sign the proof of delivery")),
    F("signature", PX_F_SHA256, 0,
      N_("SHA-256 of the recipient's signature strokes (evidence: points, order, timing)")),
    F("signature_image", PX_F_SHA256, 0, N_("SHA-256 of the signature's image (evidence)")),
    F("witness", PX_F_LINE, 0, N_("witness of a refusal to sign (name and unit)")),
};
static const px_field_rule f_application_file[] = {
    F("content", PX_F_TEXT, REQ, N_("what the subject applied for")),
};
static const px_field_rule f_application_change[] = {
    F("content", PX_F_TEXT, REQ, N_("the application as changed")),
};
static const px_field_rule f_application_withdraw[] = {
    F("reason", PX_F_TEXT, 0, N_("reason given by the subject")),
};
static const px_field_rule f_consent[] = {
    C("answer", answers, 0, N_("accept, refuse, or ask to stop (none yet: only told)")),
    C("form", forms, 0, N_("how the subject was told")),
    F("refused_sign", PX_F_BOOL, 0, N_("the subject refused to sign its answer")),
    F("signature", PX_F_SHA256, 0,
      N_("SHA-256 of the subject's signature confirming its answer: strokes (evidence: points, "
         "order, timing)")),
    F("signature_image", PX_F_SHA256, 0, N_("SHA-256 of the signature's image (evidence)")),
    F("told", PX_F_TRUE, REQ, N_("the subject was told it may choose")),
    F("witness", PX_F_LINE, 0, N_("witness of a refusal to sign (name and unit)")),
};
static const px_field_rule f_expert[] = {
    F("expert", PX_F_LINE, REQ, N_("expert name and affiliation")),
    F("opinion", PX_F_TEXT, REQ, N_("the opinion")),
    F("topic", PX_F_LINE, 0, N_("technical question")),
};
static const px_field_rule f_hearing[] = {
    C("form", hearing_forms, REQ, N_("hearing, symposium or published draft")),
    F("participants", PX_F_TEXT, REQ, N_("who took part")),
    F("summary", PX_F_TEXT, REQ, N_("what was said and decided")),
};
static const px_field_rule f_close[] = {
    F("case_no", PX_F_LINE, 0, N_("case number in the ordinary procedure (escalated)")),
    C("outcome", close_outcomes, REQ, N_("completed, terminated, or escalated to a case")),
    C("reason", close_reasons, 0, N_("termination reason")),
    F("reason_text", PX_F_TEXT, 0, N_("termination reason in words")),
};
static const px_field_rule f_evidence[] = {
    F("caption", PX_F_LINE, 0, N_("what it shows")),
    C("kind", evidence_kinds, REQ, N_("photo, audio, video, document or electronic data")),
    F("media_type", PX_F_LINE, REQ, N_("media type, e.g. image/jpeg")),
    F("name", PX_F_LINE, 0, N_("original file name")),
    F("sha256", PX_F_SHA256, REQ, N_("SHA-256 of the file")),
    F("size", PX_F_SIZE, REQ, N_("size in bytes")),
};
static const px_field_rule f_correction[] = {
    F("field", PX_F_IDENT, 0, N_("field corrected")),
    C("list_type", list_types, PX_AUTO, N_("list of a corrected list item (filled in)")),
    F("list_version", PX_F_LINE, PX_AUTO, N_("version of that list (filled in)")),
    F("reason", PX_F_TEXT, REQ, N_("why the correction is made")),
    F("value", PX_F_TEXT, 0, N_("the correct value")),
};
static const px_field_rule f_dept_interview[] = {
    F("content", PX_F_TEXT, REQ, N_("what was discussed")),
    F("departments", PX_F_IDLIST, REQ, N_("department codes taking part (joint: two or more)")),
    F("domain", PX_F_IDENT, REQ, N_("enforcement domain")),
    F("minutes", PX_F_TEXT, REQ, N_("minutes of the interview")),
    C("mode", dept_interview_modes, REQ, N_("collective (several businesses) or joint (several departments)")),
    F("participants", PX_F_TEXT, REQ, N_("businesses and persons in charge who took part")),
    C("reason", interview_reasons, 0, N_("hazard, defect, complaints")),
    F("subjects", PX_F_IDLIST, 0, N_("subject ids of the businesses, if registered")),
};
static const px_field_rule f_dept_reminder[] = {
    F("audience", PX_F_TEXT, REQ, N_("the class of businesses addressed")),
    F("content", PX_F_TEXT, REQ, N_("what they were reminded of")),
    F("domain", PX_F_IDENT, REQ, N_("enforcement domain")),
    C("form", oral_written, REQ, N_("oral or written")),
    F("rules", PX_F_TEXT, REQ, N_("the rules explained")),
    C("source", reminder_sources, 0, N_("where the frequent violation type was seen")),
};
static const px_field_rule f_dept_publicity[] = {
    F("channel", PX_F_LINE, REQ, N_("where it is published")),
    F("content", PX_F_TEXT, REQ, N_("what is published")),
    F("domain", PX_F_IDENT, REQ, N_("enforcement domain")),
    F("redactions", PX_F_TEXT, REQ, N_("what was withheld (secrets, privacy) or 'none'")),
};

static const px_field_rule f_shift_start[] = {
    F("note", PX_F_LINE, 0, N_("where the shift patrols, vehicle, anything to note")),
};
static const px_field_rule f_shift_end[] = {
    F("note", PX_F_LINE, 0, N_("anything to note at the end of the shift")),
};

#define K(kind, scope, fields, label, help) {kind, label, help, scope, fields, N(fields)}
static const px_kind_rule kinds[] = {
    K("action.guidance", PX_SCOPE_MATTER, f_guidance, N_("administrative guidance"),
      N_("help a business improve its management or product quality")),
    K("action.interview", PX_SCOPE_MATTER, f_interview, N_("administrative interview"),
      N_("meeting with the person in charge about hazards, defects or complaints")),
    K("action.publicity", PX_SCOPE_MATTER, f_publicity, N_("administrative publicity"),
      N_("publish collected information as guidance to the public")),
    K("action.reminder", PX_SCOPE_MATTER, f_reminder, N_("administrative reminder"),
      N_("explain the rules of a frequent kind of violation")),
    K("action.revisit", PX_SCOPE_MATTER, f_revisit, N_("administrative revisit"),
      N_("follow up a decision or finding, asking the subject's opinion")),
    K("action.suggestion", PX_SCOPE_MATTER, f_suggestion, N_("administrative suggestion"),
      N_("advise a business on responsibility, quality, brand and integrity")),
    K("action.warning", PX_SCOPE_MATTER, f_warning, N_("administrative warning"),
      N_("minor, no harm, no intent, can be corrected promptly: warn and urge correction")),
    K("application.change", PX_SCOPE_MATTER, f_application_change, N_("application changed"),
      N_("the subject changes its application")),
    K("application.file", PX_SCOPE_MATTER, f_application_file, N_("application filed"),
      N_("the subject applies for flexible enforcement")),
    K("application.withdraw", PX_SCOPE_MATTER, f_application_withdraw, N_("application withdrawn"),
      N_("the subject withdraws its application: the matter can only be terminated")),
    K("consent", PX_SCOPE_MATTER, f_consent, N_("right to choose"),
      N_("the subject is told it may choose, and its answer")),
    K("correction", PX_SCOPE_ENTRY, f_correction, N_("correction"),
      N_("corrects an earlier entry (nothing is edited)")),
    K("dept.interview", PX_SCOPE_ACT, f_dept_interview, N_("collective or joint interview"),
      N_("one interview of several businesses, or by several departments")),
    K("dept.publicity", PX_SCOPE_ACT, f_dept_publicity, N_("department publicity"),
      N_("information published by the department, not about one subject")),
    K("dept.reminder", PX_SCOPE_ACT, f_dept_reminder, N_("reminder to a class of businesses"),
      N_("the rules of a frequent violation explained to a class of businesses")),
    K("device.init", PX_SCOPE_DEVICE, f_device_init, N_("terminal initialised"),
      N_("the terminal's key and department")),
    K("document.deliver", PX_SCOPE_DOCUMENT, f_document_deliver, N_("document delivered"),
      N_("delivery of an issued document to the subject")),
    K("document.issue", PX_SCOPE_MATTER, f_document_issue, N_("flexible enforcement opinion"),
      N_("a written opinion: purpose, content, time, subject and personnel")),
    K("evidence.add", PX_SCOPE_MATTER, f_evidence, N_("evidence"),
      N_("photo, audio, video, document or electronic data, hashed on import")),
    K("expert.opinion", PX_SCOPE_MATTER, f_expert, N_("expert opinion"),
      N_("expert review of a professional or technical question")),
    K("hearing", PX_SCOPE_MATTER, f_hearing, N_("hearing"),
      N_("hearing, symposium or published draft of a major matter")),
    K("inspector.add", PX_SCOPE_INSPECTOR, f_inspector_add, N_("inspector"),
      N_("an inspector and the enforcement certificate number")),
    K("leaflet", PX_SCOPE_MATTER, f_leaflet, N_("leaflets"),
      N_("leaflets or model texts handed out")),
    K("matter.close", PX_SCOPE_MATTER, f_close, N_("matter closed"),
      N_("completed, terminated with a reason, or escalated to ordinary case procedure")),
    K("matter.open", PX_SCOPE_MATTER, f_matter_open, N_("matter opened"),
      N_("a flexible-enforcement matter about one subject")),
    K("revisit.outcome", PX_SCOPE_REVISIT, f_revisit_outcome, N_("revisit outcome"),
      N_("outcome of a planned revisit and the subject's opinion")),
    K("shift.end", PX_SCOPE_SHIFT, f_shift_end, N_("shift ended"),
      N_("the inspectors' shift on this terminal ends")),
    K("shift.start", PX_SCOPE_SHIFT, f_shift_start, N_("shift started"),
      N_("inspectors go on duty with this terminal: an idle day is told from a lost one")),
    K("subject.add", PX_SCOPE_SUBJECT, f_subject_add, N_("subject"),
      N_("a business (credit code) or a person (identity number)")),
};

/* Labels of choice values: one table, since a value means the same in
 * every list it is in ("concern", "written", ...). */
static const struct {
    const char *value, *label;
} choice_labels[] = {
    {"business", N_("business")},
    {"person", N_("person")},
    {"no_penalty", N_("no-penalty list")},
    {"lighter", N_("lighter-penalty list")},
    {"reduced", N_("reduced-penalty list")},
    {"written", N_("written")},
    {"oral", N_("oral")},
    {"phone", N_("by telephone")},
    {"sms", N_("by text message")},
    {"email", N_("by e-mail")},
    {"materials", N_("materials handed out")},
    {"complaints", N_("complaints and reports")},
    {"monitoring", N_("monitoring data")},
    {"inspection", N_("inspection")},
    {"other", N_("other")},
    {"individual", N_("individual")},
    {"collective", N_("collective")},
    {"joint", N_("joint (several departments)")},
    {"hazard", N_("possible safety hazard")},
    {"defect", N_("possible quality defect")},
    {"penalty", N_("administrative penalty decision")},
    {"coercion", N_("administrative coercion decision")},
    {"corrected", N_("corrected")},
    {"partially_corrected", N_("partially corrected")},
    {"not_corrected", N_("not corrected")},
    {"no_concern", N_("no concern")},
    {"concern", N_("a concern was raised")},
    {"lawful_regular", N_("lawful and regular")},
    {"in_person", N_("in person")},
    {"post", N_("by post")},
    {"electronic", N_("electronically")},
    {"left_at_premises", N_("left at the premises")},
    {"announcement", N_("by public announcement")},
    {"accept", N_("accepts")},
    {"refuse", N_("refuses")},
    {"stop", N_("asks to stop")},
    {"hearing", N_("hearing")},
    {"symposium", N_("symposium")},
    {"published_draft", N_("published draft")},
    {"completed", N_("completed")},
    {"terminated", N_("terminated")},
    {"escalated", N_("handed to ordinary case procedure")},
    {"subject_refused", N_("the subject refused")},
    {"subject_withdrew", N_("the subject withdrew its application")},
    {"subject_asked_stop", N_("the subject asked to stop")},
    {"basis_changed", N_("the legal or policy basis changed")},
    {"harms_others", N_("going on would harm others' rights or the public interest")},
    {"photo", N_("photo")},
    {"audio", N_("audio")},
    {"video", N_("video")},
    {"document", N_("document")},
    {"electronic_data", N_("electronic data")},
};

const char *px_choice_label(const char *value)
{
    for (size_t i = 0; value && i < N(choice_labels); i++)
        if (strcmp(choice_labels[i].value, value) == 0)
            return choice_labels[i].label;
    return NULL;
}

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

/* "a,b,c": identifiers, none twice, at most PX_IDLIST_MAX. */
static const char *check_idlist(const char *v)
{
    char item[PX_IDENT_MAX + 1], seen[PX_IDLIST_MAX][PX_IDENT_MAX + 1];
    size_t n = 0;
    const char *s = v, *why;

    for (;;) {
        size_t len = strcspn(s, ",");
        if (len == 0)
            return N_("an empty item in the list (write codes separated by commas)");
        if (len > PX_IDENT_MAX)
            return N_("an item of the list is too long");
        if (n == PX_IDLIST_MAX)
            return N_("too many items in the list");
        memcpy(item, s, len);
        item[len] = '\0';
        if ((why = px_check_ident(item)))
            return why;
        for (size_t i = 0; i < n; i++)
            if (strcmp(seen[i], item) == 0)
                return N_("an item is named twice in the list");
        memcpy(seen[n++], item, len + 1);
        if (!s[len])
            return NULL;
        s += len + 1;
    }
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
        return N_("not one of the allowed values");
    case PX_F_BOOL:
        return px_parse_bool(v, &b);
    case PX_F_TRUE: {
        const char *why = px_parse_bool(v, &b);
        if (why)
            return why;
        return b ? NULL : N_("must be yes: the law requires this condition");
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
            return N_("not hex of a valid length");
        return px_parse_hex(v, buf, len / 2);
    }
    case PX_F_IDLIST:
        return check_idlist(v);
    }
    return N_("unknown field type");
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
    if (e->location && (e->location->lat_e7 < -900000000LL || e->location->lat_e7 > 900000000LL ||
                        e->location->lon_e7 < -1800000000LL ||
                        e->location->lon_e7 > 1800000000LL)) {
        snprintf(detail, len, "%s",
                 _("the location is outside -90..90 degrees of latitude or -180..180 of"
                   " longitude"));
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
    /* PX_RULE fields are the matter replay's (see PX_RULE). */
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
    }
    /* A signature or a refusal to sign (送达回证, consent, minutes). */
    if (px_rules_field(k, "refused_sign")) {
        int refused = 0;
        if ((v = field_value(e, "refused_sign")))
            px_parse_bool(v, &refused);
        if (refused && !field_value(e, "witness")) {
            snprintf(detail, len, "a refusal to sign needs a witness");
            return -1;
        }
        if (refused && field_value(e, "signature")) {
            snprintf(detail, len, "signed or refused to sign, not both");
            return -1;
        }
    }
    if (strcmp(k->kind, "matter.open") == 0) {
        int b = 0;
        if (px_domain_excluded(field_value(e, "domain"))) {
            snprintf(detail, len, "domain '%s' is excluded from flexible enforcement",
                     field_value(e, "domain"));
            return -2;
        }
        if ((v = field_value(e, "emergency")) && !px_parse_bool(v, &b) && b) {
            snprintf(detail, len, "a violation that exploits an emergency is excluded from "
                                  "flexible enforcement");
            return -2;
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
            snprintf(detail, len, "only a terminated matter has a termination reason");
            return -1;
        }
        if (field_value(e, "case_no") && strcmp(field_value(e, "outcome"), "escalated") != 0) {
            snprintf(detail, len, "a case number goes with an escalated matter only");
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
        if ((field_value(e, "list_type") || field_value(e, "list_version")) &&
            !((v = field_value(e, "field")) && strcmp(v, "list_item") == 0 &&
              field_value(e, "list_type") && field_value(e, "list_version"))) {
            snprintf(detail, len, "a list type and version go with a corrected list item");
            return -1;
        }
    } else if (k->scope == PX_SCOPE_ACT) {
        if (px_domain_excluded(field_value(e, "domain"))) {
            snprintf(detail, len, "domain '%s' is excluded from flexible enforcement",
                     field_value(e, "domain"));
            return -2;
        }
    }
    if (k->scope != PX_SCOPE_ENTRY && e->corrects != 0) {
        snprintf(detail, len, "only a correction may name an entry it corrects");
        return -1;
    }
    return 0;
}
