/* rules.h -- what each kind of journal entry must and may hold.
 *
 * One table, shared by the terminal (which refuses a bad record before it
 * is signed) and the server (which refuses a bad entry in a batch). The
 * rules here are those that can be checked on one entry alone; rules that
 * need the rest of the record (the matter is open, the subject exists)
 * are the store's.
 */
#ifndef PX_RULES_H
#define PX_RULES_H

#include <stddef.h>

typedef enum px_ftype {
    PX_F_TEXT,   /* free text, multi-line, <= PX_TEXT_MAX bytes */
    PX_F_LINE,   /* one line, <= PX_LINE_MAX bytes */
    PX_F_IDENT,  /* identifier / code (px_check_ident) */
    PX_F_CHOICE, /* one of rule->choices */
    PX_F_BOOL,   /* yes / no */
    PX_F_TRUE,   /* must be "yes": a condition the law requires */
    PX_F_COUNT,  /* whole number 1 .. 1000000 */
    PX_F_SIZE,   /* whole number 0 .. 2^53 */
    PX_F_DATE,   /* YYYY-MM-DD */
    PX_F_SHA256, /* 64 lower-case hex digits */
    PX_F_CREDIT, /* unified social credit code */
    PX_F_IDNUM,  /* resident identity card number */
    PX_F_HEX,    /* lower-case hex, even length, <= 2*PX_PUBKEY_MAX */
    PX_F_IDLIST  /* identifiers separated by commas, 1 .. PX_IDLIST_MAX, none twice */
} px_ftype;

#define PX_IDLIST_MAX 32

enum {
    PX_REQ = 1u << 0,     /* must be present */
    PX_PRIVATE = 1u << 1, /* personal privacy unless marked otherwise */
    PX_AUTO = 1u << 2,    /* filled in by the library, not typed by a user */
    /* Required by the record's rules (rules 2): the terminal refuses an
     * entry without it, the server flags one (older entries lack it).
     * Checked by the matter replay (proto/matter.c), not by
     * px_rules_check_entry, so an old chain still verifies. */
    PX_RULE = 1u << 3
};

typedef struct px_field_rule {
    const char *name;
    px_ftype type;
    unsigned flags;
    const char *const *choices; /* PX_F_CHOICE: NULL-terminated */
    const char *help;
} px_field_rule;

/* Where an entry's object points. */
typedef enum px_scope {
    PX_SCOPE_DEVICE,    /* object: the department code */
    PX_SCOPE_INSPECTOR, /* object: the new inspector's id */
    PX_SCOPE_SUBJECT,   /* object: the new subject's id */
    PX_SCOPE_MATTER,    /* object: a matter id */
    PX_SCOPE_REVISIT,   /* object: a revisit id */
    PX_SCOPE_DOCUMENT,  /* object: a document id */
    PX_SCOPE_ENTRY,     /* a correction: object is the matter, corrects set */
    PX_SCOPE_ACT,       /* a department-level act: object is its new id (A-...) */
    PX_SCOPE_SHIFT      /* a shift on duty: object is the shift's id (T-...) */
} px_scope;

typedef struct px_kind_rule {
    const char *kind;
    const char *label; /* short English name, N_() marked: show through _() */
    const char *help;  /* one line, N_() marked */
    px_scope scope;
    const px_field_rule *fields; /* sorted by name */
    size_t nfields;
} px_kind_rule;

/* NULL if kind is unknown. */
const px_kind_rule *px_rules_find(const char *kind);

/* All kinds, for listings: returns the table and its size. */
const px_kind_rule *px_rules_all(size_t *n);

/* NULL if kind has no field of that name. */
const px_field_rule *px_rules_field(const px_kind_rule *k, const char *name);

/* Check one value against its rule. NULL if fine, else a static reason. */
const char *px_rules_check_value(const px_field_rule *f, const char *value);

/* English label of a choice value (N_() marked: show it through _()),
 * or NULL for a value no choice list has. */
const char *px_choice_label(const char *value);

/* The seven methods of flexible enforcement (二(二)), in the brief's order. */
extern const char *const px_methods[7];

/* 1 if a domain may not be handled by flexible enforcement (二(一)). */
int px_domain_excluded(const char *domain);
extern const char *const px_excluded_domains[];



#include "patrol.pb-c.h"

/* Check a decoded entry against its kind's rules: known kind, every
 * field known and valid, required ones present, fields sorted by name and
 * unique, cross-field rules (a business needs a credit code, ...).
 * Returns 0, or -1 with a sentence naming the field in detail; -2 (with
 * the sentence) when the law excludes the entry whatever its form (an
 * excluded domain, a violation exploiting an emergency). */
int px_rules_check_entry(const Patrol__V1__Entry *e, char *detail, size_t len);
#endif
