/* refjson.h -- reading a reference file (JSON) into a Reference message
 * (refjson.c; docs/record.md "Reference data"). */
#ifndef SRV_REFJSON_H
#define SRV_REFJSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "patrol.pb-c.h"

/* Check and convert the parsed file j into *r (a message from
 * patrol__v1__reference__init whose parts are malloc'd: free it with
 * patrol__v1__reference__free_unpacked, also after a failure). The JSON's
 * shape is checked (every key known, each present with its type) and the
 * values by px_reference_check. Returns 0, or -1 with a sentence in why
 * naming the place in the file ("departments[2].domains[0]: ..."). */
int refjson_build(const cJSON *j, Patrol__V1__Reference *r, char *why, size_t len);

#endif
