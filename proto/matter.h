/* matter.h -- the matter state machine (seed 二(三)): which entry may come
 * when in the life of one flexible-enforcement matter, and the record as
 * it stands once corrections take effect.
 *
 * One machine for both sides: libpatrol replays a matter before it signs
 * a new entry and refuses what breaks a rule; patrold replays it at ingest
 * and flags, never drops, an entry that breaks one (a signed record is
 * evidence even when it is wrong). The machine is pure: the caller hands
 * in the matter's entries in recording order and answers look-ups of
 * reference data through px_mref.
 *
 * Replay: every correction (kind "correction" with field and value) is
 * applied to the entry it names first, so each entry is checked with its
 * effective values, in the state the entries before it left; an entry
 * that breaks a rule is still applied. Findings name the entry (its index
 * in the array given), a stable rule code and a sentence.
 *
 * A caller decides whether a new entry may be recorded by replaying the
 * matter with and without it: a refusing finding that is only in the
 * replay with it (px_matter_new_refusal) is the reason to refuse. That one
 * test covers new entries and corrections alike (a correction that makes
 * an earlier entry unlawful is refused too).
 *
 * docs/record.md has the table of states x kinds, generated from
 * px_matter_allows (tests/gen_state_table.c checks it).
 */
#ifndef PX_MATTER_H
#define PX_MATTER_H

#include <stddef.h>
#include <stdint.h>

#include "patrol.pb-c.h"

typedef enum px_mstate {
    PX_MS_NEW = 0,    /* no matter.open yet */
    PX_MS_OPENED,     /* opened; the subject not yet told it may choose */
    PX_MS_TOLD,       /* told of its right to choose; no answer yet */
    PX_MS_ACCEPTED,   /* accepted flexible enforcement */
    PX_MS_REFUSED,    /* refused: only termination (subject_refused) */
    PX_MS_WITHDRAWN,  /* withdrew its application: only termination */
    PX_MS_STOP_ASKED, /* asked to stop: only termination */
    PX_MS_COMPLETED,
    PX_MS_TERMINATED,
    PX_MS_ESCALATED,  /* handed to ordinary case procedure (移交立案查处) */
    PX_MS_COUNT
} px_mstate;

/* Stable code ("accepted") and English label (N_() marked: show it
 * through _()). */
const char *px_mstate_code(px_mstate s);
const char *px_mstate_label(px_mstate s);
int px_mstate_closed(px_mstate s);
/* The state of a code; -1 if there is none. */
int px_mstate_parse(const char *code, px_mstate *out);

/* Pseudo-kinds of the state table for the three ways to close. */
#define PX_CLOSE_COMPLETED "matter.close completed"
#define PX_CLOSE_TERMINATED "matter.close terminated"
#define PX_CLOSE_ESCALATED "matter.close escalated"

/* The state table: NULL if an entry of kind (or one of the pseudo-kinds
 * above) may come in state s, else the code of the rule that refuses it.
 * The conditions beyond the table (completion needs a method, ...) are
 * checked by the replay. px_matter_kinds lists the table's rows. */
const char *px_matter_allows(px_mstate s, const char *kind);
const char *const *px_matter_kinds(size_t *n);

/* A three-list item as the reference data gives it. */
typedef struct px_mitem {
    char domain[64];
    char category[64];  /* "first_violation", "minor", ... ("" unknown) */
    char list_type[16]; /* no_penalty, lighter, reduced */
    char list_version[128];
} px_mitem;

/* Reference data and cross-matter look-ups. Any hook may be NULL: that
 * check is skipped (e.g. a terminal that has never been told). */
typedef struct px_mref {
    void *ud;
    /* 1 known and flexible, 0 unknown, -1 marked not flexible. */
    int (*domain)(void *ud, const char *code);
    /* 1 the department holds the domain, 0 it does not, -1 the
     * department is not in the reference data. */
    int (*holds)(void *ud, const char *department, const char *domain);
    /* 1 the department code is in the reference data. */
    int (*department_known)(void *ud, const char *code);
    /* 0 and *out filled, or -1 if there is no such item. */
    int (*item)(void *ud, const char *code, px_mitem *out);
    /* 1 the leaflet code is in the catalogue. */
    int (*leaflet)(void *ud, const char *code);
    /* 1 the subject id (as named by entries of device dev) exists. */
    int (*subject)(void *ud, int dev, const char *subject);
    /* 1 if a matter other than `matter` cites item for the same subject
     * (subject as named by device dev), with that matter's id in other. */
    int (*cited)(void *ud, int dev, const char *matter, const char *subject, const char *item,
                 char *other, size_t len);
    /* 1 if the server assigned a revisit of that id in that matter to a
     * department's terminals (reference data), though no entry of the
     * matter planned it: its outcome may then be recorded. */
    int (*assigned)(void *ud, const char *revisit, const char *matter);
} px_mref;

/* One entry of the matter as the caller hands it in. */
typedef struct px_mentry {
    const Patrol__V1__Entry *e;
    int dev;                /* caller's number of the device that signed it */
    const char *department; /* that device's department (scope checks) */
} px_mentry;

typedef struct px_finding {
    size_t index;     /* of the entry in the array given to px_matter_replay */
    const char *rule; /* stable code, e.g. "consent_first" */
    int flag_only;    /* 1: recorded and flagged, never refused */
    char detail[256]; /* a sentence for people (translated with _()) */
} px_finding;

typedef struct px_mrevisit {
    char id[32];      /* R-<dev8>-<seq> */
    char follows[16]; /* penalty, coercion, inspection */
    char due[11];     /* effective YYYY-MM-DD */
    char outcome[24]; /* effective; "" none yet */
    size_t index, outcome_index; /* entries; outcome_index valid if outcome[0] */
} px_mrevisit;

typedef struct px_mdoc {
    char id[32]; /* D-<dev8>-<seq> */
    size_t index;
    int delivered;
    size_t delivered_index;
} px_mdoc;

/* The effective record of one matter. Strings are copies; arrays are
 * owned by the struct (px_matter_free). */
typedef struct px_matter {
    char id[32];
    px_mstate state;
    char subject[32];
    int subject_dev;
    char domain[64];
    const char *summary;   /* effective; points into the entries given */
    char list_item[64], list_type[16], list_version[128];
    int major, technical, on_application;
    int application;     /* 0 none, 1 filed, 2 changed, 3 withdrawn */
    char consent[16];    /* effective answer: accept, refuse, stop, "" */
    char close_reason[32];
    char case_no[64];
    size_t methods, leaflets, hearings, experts;
    int warned_corrected;  /* a 告诫 said the violation was already corrected */
    px_mrevisit *revisits;
    size_t nrevisits;
    px_mdoc *docs;
    size_t ndocs;
    px_finding *findings;
    size_t nfindings;
    size_t open_index;     /* entry of matter.open (valid unless state NEW) */
    int64_t opened_ms;
} px_matter;

void px_matter_init(px_matter *m);
void px_matter_free(px_matter *m);

/* Replay entries[0..n) of one matter (see the top of this file) into m,
 * which must be freshly initialised. Returns 0, or -1 if memory ran out
 * (m is then incomplete; free it). */
int px_matter_replay(px_matter *m, const px_mentry *entries, size_t n, const px_mref *ref);

/* The first refusing finding of `with` (a replay of the entries plus one
 * more) that `without` (a replay of the same entries) does not have;
 * NULL if none. Findings compare by entry index and rule. */
const px_finding *px_matter_new_refusal(const px_matter *without, const px_matter *with);

/* Department-level acts (dept.interview, dept.reminder, dept.publicity):
 * not about one subject, so outside any matter. Checks one such entry
 * (scope, departments, subjects) with the same hooks; returns the number
 * of findings written to out (0 or 1). Given an entry of another kind (a
 * terminal recording the outcome of a revisit of a matter it does not
 * hold), checks only the fields the rules require of its kind. */
int px_act_check(const px_mentry *me, const px_mref *ref, px_finding *out);

/* Calendar day in Beijing time (UTC+8, no daylight saving) of a device
 * time, as days since 1970-01-01: the day a deadline is compared with. */
int32_t px_beijing_day(int64_t wall_ms);

/* The id an entry creates: "<prefix>-<first 4 bytes of device, hex>-<seq>". */
void px_object_id(const Patrol__V1__Entry *e, char prefix, char *out, size_t len);

#endif
