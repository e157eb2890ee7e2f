/* refjson.h -- reading a reference file (JSON) into a Reference message
 * (refjson.c; docs/record.md "Reference data"). */
#ifndef SRV_REFJSON_H
#define SRV_REFJSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "patrol.pb-c.h"

/* Check and convert the parsed file j into *r (a message from
 * patrol__v1__reference__init whose parts are malloc'd: free it with
 * patrol__v1__reference__free_unpacked, also after a failure). The JSON's
 * shape is checked (every key known, each present with its type) and the
 * values by px_reference_check. Returns 0, or -1 with a sentence in why
 * naming the place in the file ("departments[2].domains[0]: ..."). */
int refjson_build(const cJSON *j, Patrol__V1__Reference *r, char *why, size_t len);

/* A reference file's bytes (text, n; not necessarily NUL-ended) checked
 * as `patrold lists import` checks them, for it and for the console's
 * upload (web_lists.c): valid UTF-8, JSON, refjson_build, and an encoding
 * no larger than a terminal accepts (PX_REFERENCE_MAX_BYTES). Returns 0
 * with *r (free with patrol__v1__reference__free_unpacked), its encoding
 * *blob (malloc'd) of *len bytes and the number of the file's lists in
 * *lists; or -1 with a sentence in why (naming the place in the file, or
 * the byte offset of a JSON error) and nothing left allocated. */
int refjson_load(const char *text, size_t n, Patrol__V1__Reference **r, uint8_t **blob,
                 size_t *len, size_t *lists, char *why, size_t cap);

/* r's encoding into *blob (malloc'd, *len bytes), refused when larger than
 * a terminal accepts (PX_REFERENCE_MAX_BYTES): 0, or -1 with a sentence in
 * why and nothing allocated. For refjson_load and refcsv_load. */
int refjson_pack(const Patrol__V1__Reference *r, uint8_t **blob, size_t *len, char *why,
                 size_t cap);

#endif
