/* cli.h -- shared pieces of the patrol command-line tool. */
#ifndef PATROL_CLI_H
#define PATROL_CLI_H

#include <cjson/cJSON.h>

#include "patrol/patrol.h"

/* Print a cJSON value on stdout followed by a newline, then free it. */
void cli_json_print(cJSON *v);

/* JSON for one journal entry; confidential values replaced by their mark
 * unless reveal. */
cJSON *cli_json_entry(const patrol_entry_view *e, int reveal);

/* Name of a confidentiality mark ("personal_privacy" ...), "" for none. */
const char *cli_conf_name(patrol_conf c);

/* UTC time "YYYY-MM-DDTHH:MM:SS.mmmZ" of ms since the epoch. */
void cli_format_time(int64_t ms, char *buf, size_t len);

#endif
