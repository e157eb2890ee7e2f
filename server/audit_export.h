/* audit_export.h -- what the two halves of `audit export` share:
 * audit_export.c collects a matter's entries, receipts, keys and evidence
 * and writes the tar; audit_export_html.c renders (prefix xh_) the
 * documents, the full-process record and each entry's JSON, redacting
 * confidential fields unless --reveal. Not used by other commands
 * (audit_archive.h holds what verify-archive shares). */
#ifndef SRV_AUDIT_EXPORT_H
#define SRV_AUDIT_EXPORT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "audit_archive.h"
#include "patrol.pb-c.h"
#include "storage.h"

typedef struct member {
    char path[AR_PATH_MAX + 1];
    char what[300];     /* for the catalogue */
    ar_buf data;        /* in memory, or */
    char file[4200];    /* streamed from DIR/evidence */
    uint64_t size;
    uint8_t hash[32];
    char sha[65];       /* evidence: the expected SHA-256 */
    int listed;         /* in the catalogue's items */
} member;

typedef struct xentry {
    int64_t device;
    uint64_t seq;
    uint8_t *bytes;
    size_t len;
    uint8_t sig[64];
    uint8_t hash[32];
    int64_t received_ms;
    Patrol__V1__Entry *e;
    int in_matter; /* 0: context (device.init, the subject, the inspectors) */
    int confidential;
} xentry;

typedef struct exporter {
    const char *data, *matter;
    int reveal;
    const char *web_account; /* --web-account: the leaf names web:NAME */
    st_backend *db;
    xentry *xs;
    size_t nx, capx;
    member *ms;
    size_t nm, capm;
    int64_t devs[64];
    size_t ndevs;
    int oom, bad;
    char why[512];
    int64_t now_ms;
    char server_name[256];
    cJSON *omitted; /* raw entries left out (confidential) */
    uint8_t sums_hash[32]; /* SHA-256 of SHA256SUMS, once written */
    uint64_t leaf;         /* the export's leaf in the server log */
} exporter;

/* The code and Chinese name of a confidentiality mark. */
void xh_conf_name(int c, const char **code, const char **zh);
/* The value of field name as it may be shown (redacted unless --reveal,
 * written into tmp); NULL if the entry has no such field. */
const char *xh_shown(exporter *x, const Patrol__V1__Entry *e, const char *name, char *tmp,
                     size_t len);
/* "YYYY-MM-DD HH:MM:SS" Beijing time. */
void xh_time(int64_t ms, char *out, size_t len);
/* The head of an HTML page (title escaped), and one table row. */
void xh_head(ar_buf *b, const char *title);
void xh_row(ar_buf *b, const char *label, const char *value);
/* One 柔性执法意见书 with its delivery and corrections. */
void xh_document(exporter *x, const xentry *doc, ar_buf *b);
/* The file extension of an evidence media type ("png", ... "bin"). */
const char *xh_ext_of(const char *media);
/* The full-process record: every entry of the matter in order. */
void xh_record(exporter *x, ar_buf *b);
/* An entry as JSON (malloc'd text, caller frees; NULL out of memory). */
char *xh_entry_json(exporter *x, const xentry *xe, int raw_included);

#endif
