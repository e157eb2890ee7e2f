/* matter_unit.h -- what the files of test_matter share: the includes,
 * hand-built entries (ent, rec and the add_* helpers), the fake reference
 * data (px_mref hooks), replay and the EXPECT_* checks on findings, and
 * the tests main() in test_matter.c runs. The files, by what they test:
 *   fixture.c  entries of each kind, the fake reference data, replay
 *   table.c    the state table, row by row, and its shape
 *   rules.c    each rule beyond the table (seed 二(三))
 *   refs.c     reference data at matter.open, leaflets, department-level
 *              acts, Beijing days */
#ifndef MATTER_UNIT_H
#define MATTER_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matter.h"
#include "rules.h"
#include "validate.h"

#define MAXF 16
#define MAXE 48
#define DEPT "SY-CGJ"
#define MATTER "M-abcdef01-1" /* the matter.open is always entry 0, seq 1 */
#define SUBJECT "S-abcdef01-7"

typedef struct ent {
    Patrol__V1__Entry e;
    Patrol__V1__Field f[MAXF];
    Patrol__V1__Field *fp[MAXF];
    char *insp[2];
} ent;

/* A matter's entries in recording order (seq = index + 1). */
typedef struct rec {
    ent x[MAXE];
    px_mentry me[MAXE];
    size_t n;
    int64_t wall; /* wall_ms of the next entry */
} rec;

typedef struct fake {
    int cited;           /* the cited hook answers yes */
    const char *cited_by; /* ... naming this matter */
} fake;

/* Entry index has a finding of rule (refusing, not flag only). */
#define EXPECT_FINDING(m, index, rule)                                                   \
    do {                                                                                 \
        const px_finding *f_ = finding((m), (index), (rule));                            \
        if (!f_ || f_->flag_only) {                                                      \
            print_findings(m);                                                           \
            fail_msg("line %d: entry %zu: no refusing finding %s", __LINE__,             \
                     (size_t)(index), (rule));                                           \
        }                                                                                \
        assert_true(f_->detail[0] != '\0');                                              \
    } while (0)

/* Entry index has no finding of rule. */
#define EXPECT_NO_FINDING(m, index, rule)                                                \
    do {                                                                                 \
        if (finding((m), (index), (rule))) {                                             \
            print_findings(m);                                                           \
            fail_msg("line %d: entry %zu: unexpected finding %s", __LINE__,              \
                     (size_t)(index), (rule));                                           \
        }                                                                                \
    } while (0)

/* No finding at all (on the whole record). */
#define EXPECT_CLEAN(m)                                                                  \
    do {                                                                                 \
        if ((m)->nfindings) {                                                            \
            print_findings(m);                                                           \
            fail_msg("line %d: %zu unexpected findings", __LINE__, (m)->nfindings);      \
        }                                                                                \
    } while (0)

/* What the row's conditions need before the entry (only for a cell the
 * table allows): an issued document to deliver, a revisit to record the
 * outcome of, a method before completion. */
typedef enum need { NEED_NONE, NEED_DOC, NEED_REVISIT, NEED_METHOD } need;

extern uint8_t g_dev[32];
extern fake g_fake;

/* fixture.c */
int64_t utc_ms(const char *date, int h, int m, int s, int ms);
int in(const char *s, const char *const *set);
void rec_init(rec *r);
void ent_set(ent *t, const char *name, const char *value);
size_t add_v(rec *r, const char *kind, const char *object, va_list ap);
size_t add(rec *r, const char *kind, const char *object, ...);
const char *id_of(rec *r, size_t i, char prefix, char *buf, size_t len);
size_t add_open(rec *r, const char *domain);
size_t add_consent(rec *r, const char *answer);
size_t add_guidance(rec *r);
size_t add_warning(rec *r, const char *deadline);
size_t add_revisit(rec *r, const char *follows);
size_t add_doc(rec *r);
size_t add_deliver(rec *r, const char *doc);
size_t add_outcome(rec *r, const char *revisit, const char *outcome);
size_t add_close(rec *r, const char *outcome, const char *reason);
size_t add_correction(rec *r, size_t target, const char *field, const char *value);
void accepted(rec *r);
px_mref fake_ref(void);
void replay_ref(rec *r, px_matter *m, const px_mref *ref);
void replay(rec *r, px_matter *m);
void print_findings(const px_matter *m);
const px_finding *finding(const px_matter *m, size_t index, const char *rule);
size_t count_at(const px_matter *m, size_t index);

/* table.c */
size_t reach(rec *r, px_mstate s, need nd);
void table_row(void **state);
void states_reached_lawfully(void **state);
void table_shape(void **state);

/* rules.c */
void consent_answered_once(void **state);
void stop_before_accept(void **state);
void applications(void **state);
void completion_needs_method(void **state);
void completion_needs_delivery(void **state);
void major_and_technical(void **state);
void revisit_pending_and_not_corrected(void **state);
void reason_mismatch(void **state);
void date_past_and_late(void **state);
void revisit_outcome_asks(void **state);
void warning_contradicted_flag_only(void **state);
void warning_needs_correctable(void **state);
void documents_and_revisits_by_id(void **state);
void bad_corrections(void **state);
void correction_names_inspector(void **state);
void corrections_take_effect(void **state);
void new_refusal(void **state);

/* refs.c */
void reference_hooks_at_open(void **state);
void leaflets_from_catalogue(void **state);
void dept_acts(void **state);
void beijing_day(void **state);

#endif
