/* evidence.h -- patrold's evidence store (server/evidence.c): the
 * tus-style upload routes and the files under DATA/evidence/. */
#ifndef SRV_EVIDENCE_H
#define SRV_EVIDENCE_H

#include "app.h"

/* HEAD or PATCH /v1/evidence/<sha> for the enrolled, active device dev
 * (docs/protocol.md); sha is the rest of the path, checked here. */
void ev_handle(app *a, const st_device *dev, const srv_request *rq, srv_response *rs,
               const char *sha);

#endif
