/* evidence.h -- patrold's evidence store (server/evidence.c): the
 * tus-style upload routes, the files under DATA/evidence/, the limits
 * (docs/server.md "Evidence limits") and the sweep of partial files. */
#ifndef SRV_EVIDENCE_H
#define SRV_EVIDENCE_H

#include "app.h"

#define EV_DEFAULT_MAX_FILE (UINT64_C(2) << 30)        /* 2 GiB a file */
#define EV_DEFAULT_QUOTA (UINT64_C(50) << 30)          /* 50 GiB a device */
#define EV_DEFAULT_RESERVE (UINT64_C(256) << 20)       /* 256 MiB kept free for entries */
#define EV_DEFAULT_PARTIAL_TTL_S (UINT64_C(7) * 86400) /* an idle upload is kept 7 days */

typedef struct ev_limits {
    uint64_t max_file;      /* bytes an evidence file may have */
    uint64_t quota;         /* bytes a device may hold: received + uploads in progress */
    uint64_t reserve;       /* free bytes on the data volume evidence never takes */
    uint64_t partial_ttl_s; /* seconds an untouched partial upload is kept */
} ev_limits;

void ev_limits_default(ev_limits *l);

/* A `patrold serve` option at argv[*i] (--evidence-max-file SIZE,
 * --evidence-quota SIZE, --evidence-reserve SIZE, --partial-expiry
 * DURATION): 1 if it was one (*i moved past its value), 0 if not, -1 with
 * a sentence in err if its value is wrong. */
int ev_option(ev_limits *l, int argc, char **argv, int *i, char *err, size_t errlen);

/* Each of those options with l's value as the option takes it (sizes in
 * bytes, the expiry in seconds): for `patrold config check`. */
void ev_limits_each(const ev_limits *l, void (*cb)(void *ud, const char *option,
                                                   const char *value), void *ud);

/* After app_open: the limits in force, one sweep of the partial files now
 * (full-length ones finished, expired ones removed) and a thread that
 * sweeps again every quarter of the expiry (at most hourly). -1 with a
 * sentence in err. Without it the routes use the default limits. */
int ev_start(app *a, const ev_limits *l, char *err, size_t errlen);

/* Stop the sweep thread and free what ev_start made; NULL-safe, called by
 * app_close. */
void ev_stop(app *a);

/* HEAD or PATCH /v1/evidence/<sha> for the enrolled, active device dev
 * (docs/protocol.md); sha is the rest of the path, checked here. */
void ev_handle(app *a, const st_device *dev, const srv_request *rq, srv_response *rs,
               const char *sha);

#endif
