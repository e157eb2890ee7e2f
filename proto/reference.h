/* reference.h -- the reference data's rules (docs/record.md "Reference
 * data"), one set for both sides: patrold checks a file it imports with
 * them (server/main.c), the terminal checks what the server sends before
 * it applies any of it (client/lib/sync.c).
 */
#ifndef PX_REFERENCE_H
#define PX_REFERENCE_H

#include <stddef.h>

#include "patrol.pb-c.h"

/* An encoded Reference larger than this is refused by the terminal, so
 * patrold refuses to import one. */
#define PX_REFERENCE_MAX_BYTES ((size_t)8 << 20)
/* Conditions of one list item. */
#define PX_CONDITIONS_MAX 32

#define PX_REF_NO_SUB ((size_t)-1)

/* Where a Reference is wrong, in the message's own terms. */
typedef struct px_ref_fault {
    const char *part;  /* "domains", "departments", "list_items", "leaflets", "roster",
                        * "revisits", or "" for a field of the Reference itself */
    size_t index;      /* element of part (0-based) */
    const char *field; /* field of that element ("code", "conditions" ...), "" for the
                        * element as a whole */
    size_t sub;        /* element of a repeated field, or PX_REF_NO_SUB */
    size_t first;      /* a duplicate code: the element of part that had it first,
                        * else PX_REF_NO_SUB */
    char why[192];     /* what is wrong: a translated phrase ("unknown domain 'xyz'") */
} px_ref_fault;

/* Check a whole Reference: identifiers, single lines, dates, list types,
 * duplicate codes, that every domain a department holds and every list
 * item's domain is a domain of the same Reference (an item's must be open
 * to flexible enforcement), and that no domain the law excludes
 * (px_domain_excluded) is marked flexible.
 *
 * import = 1 (patrold lists import): every department holds at least one
 * domain, and each list item has its list's name, issuer and a category.
 * import = 0 (a terminal receiving it): those may be empty, as a server of
 * schema 2 sends them.
 *
 * Returns 0 when acceptable; otherwise -1 with *f filled (the first fault
 * found, in message order). Allocates nothing that outlives the call. */
int px_reference_check(const Patrol__V1__Reference *ref, int import, px_ref_fault *f);

/* Format f's place as a path, e.g. "departments[2].domains[0]" or
 * "list_items[4].category" (always NUL-terminated). */
void px_ref_fault_where(const px_ref_fault *f, char *buf, size_t len);

#endif
