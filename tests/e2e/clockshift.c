/* clockshift.c -- libe2e_clockshift.so: an LD_PRELOAD shim that moves the
 * wall clock of a process by E2E_CLOCK_OFFSET_S seconds (clock_gettime
 * with CLOCK_REALTIME, time, gettimeofday), for the end-to-end tests that
 * need entries recorded on past days (test_report.sh records a month on
 * terminals through the real patrol tool). The monotonic clock is left
 * alone. Unset or unparsable: no shift. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long offset_s(void)
{
    const char *s = getenv("E2E_CLOCK_OFFSET_S");
    char *end;
    long long v;
    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    return errno || *end ? 0 : v;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    static int (*real)(clockid_t, struct timespec *);
    int rc;
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
    if (!real)
        return -1;
    rc = real(id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
        ts->tv_sec += (time_t)offset_s();
    return rc;
}

time_t time(time_t *t)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (time_t)-1;
    if (t)
        *t = ts.tv_sec;
    return ts.tv_sec;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    struct timespec ts;
    (void)tz;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}
