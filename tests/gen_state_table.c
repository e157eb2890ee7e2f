/* gen_state_table.c -- the matter state machine's table (proto/matter.c,
 * px_matter_allows) as Markdown, for docs/record.md: one row per kind of
 * px_matter_kinds(), one column per state (px_mstate_code), a cell "✓"
 * when the state allows the kind, else the code of the rule that refuses
 * it. Prints to standard output; tests/state_table.cmake puts it between
 * the markers in docs/record.md (target state-table) or checks that it is
 * there (test state_table). */
#include <stdio.h>

#include "matter.h"

int main(void)
{
    size_t n;
    const char *const *kinds = px_matter_kinds(&n);

    printf("| kind |");
    for (int s = 0; s < PX_MS_COUNT; s++)
        printf(" %s |", px_mstate_code((px_mstate)s));
    printf("\n|---|");
    for (int s = 0; s < PX_MS_COUNT; s++)
        printf("---|");
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        printf("| `%s` |", kinds[i]);
        for (int s = 0; s < PX_MS_COUNT; s++) {
            const char *rule = px_matter_allows((px_mstate)s, kinds[i]);
            if (rule)
                printf(" `%s` |", rule);
            else
                printf(" ✓ |");
        }
        printf("\n");
    }
    return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
