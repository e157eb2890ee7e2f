/* users.h -- console accounts (docs/console.md): the `patrold user`
 * commands and password checking for the web console.
 *
 * Passwords are hashed with Argon2id (Debian's libargon2, RFC 9106) and a
 * random 16-byte salt per hash; the stored string is Argon2's encoded
 * form, which carries its own parameters, so raising them later leaves
 * old hashes verifiable. A password is never an argument: it is read
 * from the terminal (without echo, twice) or as one line of stdin.
 */
#ifndef SRV_USERS_H
#define SRV_USERS_H

#include <stddef.h>

#include "storage.h"

/* Argon2id cost (OWASP's first recommended setting): 19 MiB, 2 passes,
 * one lane; ≈ 30 ms a hash on the project's machine. */
#define USERS_ARGON2_T 2
#define USERS_ARGON2_M_KIB 19456
#define USERS_ARGON2_P 1
#define USERS_PW_MIN 8    /* bytes */
#define USERS_PW_MAX 256  /* bytes */

/* `patrold --data DIR user add|passwd|disable|list ...`; returns the exit
 * status. */
int users_main(const char *data, int argc, char **argv);

/* Hash pw[0..len) with a fresh salt into out (NUL-terminated, at most
 * outlen bytes; 160 is enough). 0, or -1 (no randomness, too long a
 * password, out too small, out of memory). */
int users_hash(const char *pw, size_t len, char *out, size_t outlen);

/* 0 if pw[0..len) is the password of encoded, -1 otherwise (also for a
 * malformed encoded string). */
int users_check(const char *encoded, const char *pw, size_t len);

enum { USERS_OK = 0, USERS_WRONG = -1, USERS_DISABLED = -2, USERS_ERR = -3 };

/* Check a login. USERS_OK fills *out (pwhash wiped); USERS_WRONG for an
 * unknown name or a wrong password (the same work is done for both, so
 * timing does not tell them apart); USERS_DISABLED for a disabled account
 * with the right password; USERS_ERR if the store failed. */
int users_login(st_backend *db, const char *name, const char *pw, size_t len, st_user *out);

#endif
