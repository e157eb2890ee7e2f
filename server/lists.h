/* lists.h -- `patrold lists import` (lists.c). */
#ifndef SRV_LISTS_H
#define SRV_LISTS_H

/* patrold --data DIR lists import FILE (.json, or .csv: a list sheet).
 * Returns the exit status (0, 1 failed, 2 usage). */
int lists_main(const char *data, int argc, char **argv);

#endif
