/* devices.h -- `patrold device ...` and what other commands share about
 * devices (devices.c). */
#ifndef SRV_DEVICES_H
#define SRV_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "storage.h"

/* patrold device add|revoke|list ARGS (argv[0] the subcommand): the exit
 * status, or -1 when argv[0] is none of them. */
int devices_main(const char *data, int argc, char **argv);

/* The server key's pin (its SHA-256, base64 when std, else base64url) into
 * pin: 0, or -1 when the key cannot be read. */
int devices_key_pin(const char *data, char *pin, size_t len, int std);

/* A device named by either id: the server's number (*num), or the 64 hex
 * digits the terminal prints (its key's SHA-256, either case: key_id set,
 * *is_key 1). 0, or -1 when arg is neither. */
int devices_arg(const char *arg, uint64_t *num, uint8_t key_id[32], int *is_key);

/* The number of the device key_id names, or 0 after reporting for cmd that
 * none does. */
uint64_t devices_by_key_arg(st_backend *db, const char *cmd, const uint8_t key_id[32],
                            const char *arg);

#endif
