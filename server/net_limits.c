/* net_limits.c -- patrold's connection limits (net.h srv_limits): their
 * defaults and the serve options that change them (docs/server.md,
 * "Limits, signals and logs"). */
#include "net.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

void srv_limits_default(srv_limits *l)
{
    l->max_header_bytes = 16 << 10;
    l->max_headers = 64;
    l->max_body_bytes = (size_t)9 << 20;
    l->idle_timeout_ms = 30000;
    l->request_timeout_ms = 120000;
    l->header_timeout_ms = 10000;
    l->handshake_timeout_ms = 5000;
    l->max_connections = 512;
    l->max_per_peer = 32;
    l->reserved_for_devices = 64;
    l->body_budget_bytes = (size_t)64 << 20;
    l->throttle_burst = 5;
    l->throttle_per_min = 60;
    l->workers = 4;
    l->max_queue_wait_ms = 10000;
}

enum kind { K_COUNT, K_SECONDS, K_MIB };

/* The serve options that set a limit: also the keys of the configuration
 * file's [limits] section (config.c: --max-per-peer is max_per_peer). */
static const struct {
    const char *name;
    enum kind kind;
    uint64_t min, max;
    size_t off;
} opts[] = {
    {"--max-connections", K_COUNT, 1, 1000000, offsetof(srv_limits, max_connections)},
    {"--max-per-peer", K_COUNT, 1, 1000000, offsetof(srv_limits, max_per_peer)},
    {"--reserved-for-devices", K_COUNT, 0, 999999,
     offsetof(srv_limits, reserved_for_devices)},
    {"--handshake-timeout", K_SECONDS, 1, 600, offsetof(srv_limits, handshake_timeout_ms)},
    {"--header-timeout", K_SECONDS, 1, 600, offsetof(srv_limits, header_timeout_ms)},
    {"--body-budget", K_MIB, 9, 65536, offsetof(srv_limits, body_budget_bytes)},
    {"--throttle-burst", K_COUNT, 1, 1000, offsetof(srv_limits, throttle_burst)},
    {"--throttle-per-min", K_COUNT, 1, 60000, offsetof(srv_limits, throttle_per_min)},
    {"--max-queue-wait", K_SECONDS, 1, 600, offsetof(srv_limits, max_queue_wait_ms)},
};

void srv_limits_each(const srv_limits *l, void (*cb)(void *ud, const char *option,
                                                     const char *value), void *ud)
{
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        const char *field = (const char *)l + opts[k].off;
        char v[32];
        if (opts[k].kind == K_MIB) {
            size_t b;
            memcpy(&b, field, sizeof b);
            (void)snprintf(v, sizeof v, "%zu", b >> 20);
        } else {
            unsigned u;
            memcpy(&u, field, sizeof u);
            (void)snprintf(v, sizeof v, "%u", opts[k].kind == K_SECONDS ? u / 1000 : u);
        }
        cb(ud, opts[k].name, v);
    }
}

int srv_limits_option(srv_limits *l, int argc, char **argv, int *i, char *err, size_t errlen)
{
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        char *field = (char *)l + opts[k].off;
        uint64_t v;
        if (strcmp(argv[*i], opts[k].name) != 0)
            continue;
        if (*i + 1 >= argc) {
            (void)snprintf(err, errlen, "%s needs a value", opts[k].name);
            return -1;
        }
        if (px_parse_u64(argv[*i + 1], opts[k].min, opts[k].max, &v) != NULL) {
            (void)snprintf(err, errlen, "%s '%s': a whole number %llu..%llu%s is expected",
                           opts[k].name, argv[*i + 1], (unsigned long long)opts[k].min,
                           (unsigned long long)opts[k].max,
                           opts[k].kind == K_SECONDS ? " (seconds)"
                           : opts[k].kind == K_MIB  ? " (MiB)"
                                                    : "");
            return -1;
        }
        if (opts[k].kind == K_MIB) {
            size_t b = (size_t)v << 20;
            memcpy(field, &b, sizeof b);
        } else {
            unsigned u = (unsigned)(opts[k].kind == K_SECONDS ? v * 1000 : v);
            memcpy(field, &u, sizeof u);
        }
        *i += 1;
        return 1;
    }
    return 0;
}
