/* refcsv.h -- the three lists' items from a spreadsheet saved as CSV
 * (refcsv.c; docs/server.md "Reference lists from a spreadsheet"). */
#ifndef SRV_REFCSV_H
#define SRV_REFCSV_H

#include <stddef.h>
#include <stdint.h>

#include "patrol.pb-c.h"

/* A CSV file's bytes (text, n) holding list items, one a row, under a
 * header row naming the columns (any order): list_type, list_version,
 * list_name, issuer, code, domain, name, basis, category, and optionally
 * conditions (one cell, the conditions separated by ';', '；' or line
 * breaks). They replace, in the reference data base (a stored version's
 * encoding, base_len bytes), the items of every list type the file names;
 * the other lists, departments, domains and leaflets stay. The result is
 * checked as `patrold lists import` checks a JSON file (px_reference_check
 * for an import, the size a terminal accepts).
 *
 * Returns 0 with *r (free with patrol__v1__reference__free_unpacked), its
 * encoding *blob (malloc'd) of *len bytes and the number of rows read in
 * *rows; or -1 with a sentence in why naming the row (the header is row
 * 1) and the column, and nothing left allocated. */
int refcsv_load(const char *text, size_t n, const uint8_t *base, size_t base_len,
                Patrol__V1__Reference **r, uint8_t **blob, size_t *len, size_t *rows, char *why,
                size_t cap);

#endif
