/* test_crypto_rng.c -- px_random (proto/crypto.c) tells its caller when
 * the system gives it no entropy, so nobody uses an unfilled buffer as a
 * batch id, an enrolment token or a session secret.
 *
 * The failure is made real: a seccomp filter makes getrandom(2) fail with
 * EPERM in this process (mbedtls reads the kernel's entropy through
 * getrandom and falls back to /dev/urandom only on ENOSYS). The filter is
 * checked before it is relied on; where it cannot be installed or does
 * not take (an emulator translating system calls), the test says so and
 * is skipped (exit 77, visible in ctest). */
#define _GNU_SOURCE /* syscall(2) */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crypto.h"

#define SKIP 77

static int fails = 0;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        fails++;
}

/* getrandom -> EPERM, everything else allowed. */
static int deny_getrandom(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = (unsigned short)(sizeof f / sizeof f[0]), .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

int main(void)
{
    uint8_t a[32], b[32], zero[32] = {0};
    char probe[8];

    /* With entropy: 0, filled, and two calls differ. */
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    check(px_random(a, sizeof a) == 0 && px_random(b, sizeof b) == 0,
          "px_random succeeds with the kernel's entropy");
    check(memcmp(a, zero, sizeof a) != 0 && memcmp(a, b, sizeof a) != 0,
          "two calls give different, non-zero bytes");

    if (deny_getrandom() != 0) {
        printf("SKIP cannot install a seccomp filter here: %s\n", strerror(errno));
        return SKIP;
    }
    errno = 0;
    if (syscall(SYS_getrandom, probe, sizeof probe, 0) != -1 || errno != EPERM) {
        printf("SKIP the filter does not take (getrandom still answers): an emulator?\n");
        return SKIP;
    }
    /* Without: a failure, never 0 with the buffer left as it was. */
    memset(a, 0, sizeof a);
    check(px_random(a, sizeof a) != 0, "px_random fails when getrandom(2) fails");
    return fails ? 1 : 0;
}
