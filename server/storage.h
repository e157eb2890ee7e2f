/* storage.h -- patrold's storage interface. The server calls only these
 * functions; store_sqlite.c is the embedded default backend (SQLite, WAL,
 * synchronous=FULL). Another backend implements st_ops and an opener.
 *
 * A backend handle is used by one thread at a time: each worker opens its
 * own. All functions return ST_OK or a negative ST_* code; on failure
 * st_errmsg() names the problem.
 */
#ifndef SRV_STORAGE_H
#define SRV_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

enum { ST_OK = 0, ST_ERR = -1, ST_NOTFOUND = -2, ST_EXISTS = -3, ST_BUSY = -4 };

enum { DEV_PENDING = 0, DEV_ACTIVE = 1, DEV_REVOKED = 2 };

typedef struct st_device {
    int64_t id;
    char name[128];
    char department[64];
    int status;                 /* DEV_* */
    uint8_t key_id[32];         /* SHA-256 of the public key DER (enrolled only) */
    uint8_t public_key[160];
    size_t public_key_len;
    uint64_t last_seq;          /* highest contiguous accepted seq */
    uint8_t head[32];           /* hash of entry last_seq */
    int64_t created_ms, enrolled_ms, last_sync_ms;
    uint64_t entries;           /* for listings */
    uint64_t evidence_pending;  /* for listings */
    uint64_t forks;             /* quarantined entries, for listings */
} st_device;

/* A console account (server/users.c, docs/console.md). role is "admin",
 * "supervisor" or "reviewer"; department "" means the county. pwhash is
 * Argon2id's encoded string ($argon2id$v=19$m=...,t=...,p=...$salt$hash). */
typedef struct st_user {
    int64_t id;
    char name[72];       /* an identifier (px_check_ident), at most 64 bytes */
    char role[16];
    char department[72];
    char pwhash[160];
    int64_t created_ms, changed_ms; /* account made; password last set */
    int64_t disabled_ms;            /* 0: enabled */
} st_user;

typedef struct st_token {
    int64_t device;
    uint8_t secret_hash[32];
    int64_t expires_ms;
    int64_t used_ms; /* 0: unused */
} st_token;

typedef struct st_entry {
    uint64_t seq;
    const uint8_t *hash; /* 32 */
    const uint8_t *entry;
    size_t entry_len;
    const uint8_t *sig;  /* 64 */
    const char *kind;
    const char *object;
    int64_t wall_ms;
} st_entry;

/* A rule flag (server/index.c): an accepted entry that breaks a rule of
 * the matter state machine (proto/matter.h) or of department-level acts.
 * The entry stays stored and acknowledged; the flag is for supervisors. */
typedef struct st_flag {
    int64_t device;
    uint64_t seq;
    const char *rule;   /* stable code, e.g. "consent_first" */
    int flag_only;      /* 1: a terminal records it too; 0: a terminal would refuse it */
    const char *detail; /* a sentence for people */
    const char *matter; /* "" for entries outside a matter */
} st_flag;

/* A flag as listed, with what a reader needs beside it. */
typedef struct st_flag_row {
    st_flag f;
    const char *device_name;
    const char *kind;
    int64_t flagged_ms; /* when the server first flagged it */
} st_flag_row;

/* A stored entry or quarantined fork as the audit reads it
 * (server/store_sqlite_audit.c): every column as stored, unchecked, so
 * lengths are the stored ones (a tampered row may hold a short hash). */
typedef struct st_audit_entry {
    int64_t device;
    uint64_t seq; /* the seq column (not the one inside the bytes) */
    const uint8_t *hash;
    size_t hash_len;
    const uint8_t *entry;
    size_t entry_len;
    const uint8_t *sig;
    size_t sig_len;
    const char *kind, *object;
    int64_t wall_ms;     /* column; the signed one is inside entry */
    int64_t received_ms; /* when the server stored it */
    const uint8_t *accepted_hash; /* forks: the accepted entry's hash (else NULL) */
    size_t accepted_hash_len;
} st_audit_entry;

typedef int (*st_audit_entry_cb)(void *ud, const st_audit_entry *e);

/* ---- the matter index (schema 3; server/index.c fills it from the
 * effective record px_matter_replay gives, docs/server.md "Audit: index,
 * timeline, problems") ---- */

/* An entry of a matter that is one of the seven methods (action.*). */
typedef struct st_imethod {
    char kind[32];
    int64_t device;
    uint64_t seq;
    int64_t wall_ms;
} st_imethod;

/* A document issued in a matter, and its delivery. */
typedef struct st_idoc {
    char id[32];
    int64_t device; /* issued by (device, seq) at device time issued_ms */
    uint64_t seq;
    int64_t issued_ms;
    int delivered;
    int64_t deliver_device; /* valid if delivered */
    uint64_t deliver_seq;
    int64_t delivered_ms;
    char method[32]; /* delivery method, "" if not delivered */
} st_idoc;

/* A revisit of a matter: planned (action.revisit) or assigned by the
 * server (reference data; then follows and due are ""). */
typedef struct st_irevisit {
    char id[32];
    int assigned;
    int64_t device; /* the entry that planned it (or the outcome, assigned) */
    uint64_t seq;
    char follows[16];
    char due[11];     /* effective YYYY-MM-DD, "" unknown */
    char outcome[24]; /* effective, "" none yet */
    int64_t outcome_device;
    uint64_t outcome_seq;
    int64_t outcome_ms;
} st_irevisit;

/* An evidence file named by an evidence.add entry of the matter. */
typedef struct st_ievidence {
    char sha256[65];
    char kind[24];
    uint64_t size;
    int64_t device;
    uint64_t seq;
    int64_t wall_ms;
    int complete; /* read only: the server holds the whole file */
} st_ievidence;

/* One matter as its replay leaves it. Arrays belong to whoever filled
 * the struct: st_imatter_release frees what matter_get / matters_each
 * allocated. */
typedef struct st_imatter {
    char id[32];
    int64_t device;        /* that opened it */
    char department[64];   /* of that device */
    char subject[32];
    int64_t subject_device;
    char domain[64];
    char list_item[64], list_type[16], list_version[128];
    char state[16];        /* px_mstate_code */
    char consent[16];      /* accept, refuse, stop, "" */
    int application;       /* 0 none, 1 filed, 2 changed, 3 withdrawn */
    int on_application, major, technical;
    uint64_t hearings, experts, leaflets;
    char close_reason[32];
    char case_no[64];
    uint64_t opened_seq;
    int64_t opened_ms;
    int64_t closed_device; /* 0: open */
    uint64_t closed_seq;
    int64_t closed_ms;
    char inspectors[256];  /* ids acting in its entries, comma-separated */
    st_imethod *methods;
    size_t nmethods;
    st_idoc *docs;
    size_t ndocs;
    st_irevisit *revisits;
    size_t nrevisits;
    st_ievidence *evidence;
    size_t nevidence;
} st_imatter;

static inline void st_imatter_release(st_imatter *m)
{
    free(m->methods);
    free(m->docs);
    free(m->revisits);
    free(m->evidence);
    m->methods = NULL;
    m->docs = NULL;
    m->revisits = NULL;
    m->evidence = NULL;
    m->nmethods = m->ndocs = m->nrevisits = m->nevidence = 0;
}

/* An inspector as a device's inspector.add recorded it. */
typedef struct st_iinspector {
    int64_t device;
    char id[64];
    char name[128];
    char cert_no[64];
    uint64_t seq;
} st_iinspector;

/* A subject as a device's subject.add recorded it. Its ID number is
 * never stored, only the subject key; a name marked confidential is
 * stored as its mark ("[personal_privacy]"). */
typedef struct st_isubject {
    int64_t device;
    char id[32];
    char type[24]; /* business, person (or a confidentiality mark) */
    char name[256];
    char key[65];
    uint64_t seq;
} st_isubject;

/* A department-level act (dept.*). */
typedef struct st_iact {
    char id[32];
    int64_t device;
    uint64_t seq;
    char kind[32];
    char domain[64];
    char department[64];
    int64_t wall_ms;
} st_iact;

/* A report frozen for filing (备案, server/audit_file.c): the report's
 * JSON as filed, signed with the server's receipt key. Append-only. */
typedef struct st_filing {
    int64_t id;
    const char *period;     /* "2026-10" or "2026" */
    const char *department; /* "" for the county */
    int64_t version;        /* 1, 2, ... per period and department */
    const char *report;     /* JSON text */
    size_t report_len;
    uint8_t sha256[32];     /* of report */
    uint8_t sig[64];        /* r||s by the receipt key over sha256 */
    uint8_t key_id[32];     /* SHA-256 of the signing key's public DER */
    int64_t filed_ms;
} st_filing;

/* One stored entry as a report reads it. */
typedef struct st_report_row {
    int64_t device;
    uint64_t seq;
    int64_t wall_ms, received_ms;
    const uint8_t *entry;
    size_t len;
} st_report_row;

/* One device's reference to an evidence blob (docs/server.md "Evidence
 * limits"). */
typedef struct st_evref {
    uint64_t size; /* as this device's entry declared it */
    int stored;    /* the server holds the whole blob (sent by any device) */
    int received;  /* this device sent every byte of it: possession proven */
} st_evref;

typedef struct st_backend st_backend;

/* Entry callback: one stored entry (bytes as signed). Return non-zero to
 * stop (the call then returns ST_OK). */
typedef int (*st_entry_cb)(void *ud, int64_t device, uint64_t seq, const uint8_t *entry,
                           size_t len);

typedef struct st_ops {
    void (*close)(st_backend *b);
    const char *(*errmsg)(st_backend *b);
    int (*begin)(st_backend *b); /* write transaction */
    int (*commit)(st_backend *b);
    void (*rollback)(st_backend *b);

    int (*meta_get)(st_backend *b, const char *key, char *out, size_t len);
    int (*meta_set)(st_backend *b, const char *key, const char *value);

    int (*device_add)(st_backend *b, const char *name, const char *department, int64_t now,
                      int64_t *id);
    int (*device_get)(st_backend *b, int64_t id, st_device *out);
    int (*device_by_key)(st_backend *b, const uint8_t key_id[32], st_device *out);
    int (*device_enroll)(st_backend *b, int64_t id, const uint8_t *pub, size_t publen,
                         const uint8_t key_id[32], int64_t now);
    int (*device_revoke)(st_backend *b, int64_t id);
    int (*device_set_head)(st_backend *b, int64_t id, uint64_t seq, const uint8_t head[32],
                           int64_t now);
    int (*device_list)(st_backend *b, int (*cb)(void *ud, const st_device *d), void *ud);

    int (*token_add)(st_backend *b, const uint8_t id[8], const st_token *t);
    int (*token_get)(st_backend *b, const uint8_t id[8], st_token *out);
    int (*token_use)(st_backend *b, const uint8_t id[8], int64_t now);

    /* Hash of the stored entry (device, seq); ST_NOTFOUND if none. */
    int (*entry_hash)(st_backend *b, int64_t device, uint64_t seq, uint8_t hash[32]);
    int (*entry_put)(st_backend *b, int64_t device, const st_entry *e, int64_t now);
    /* Entry bytes and signature (malloc'd, caller frees). */
    int (*entry_get)(st_backend *b, int64_t device, uint64_t seq, uint8_t **entry, size_t *len,
                     uint8_t sig[64]);
    int (*fork_put)(st_backend *b, int64_t device, const st_entry *e, const uint8_t accepted[32],
                    int64_t now);

    int (*ack_get)(st_backend *b, int64_t device, const uint8_t batch_id[16], uint8_t **ack,
                   size_t *len);
    int (*ack_put)(st_backend *b, int64_t device, const uint8_t batch_id[16], const uint8_t *ack,
                   size_t len, int64_t now);

    /* Evidence: expected once an accepted entry names it. */
    int (*evidence_expect)(st_backend *b, const char *sha, uint64_t size, int64_t device);
    /* size and complete flag; ST_NOTFOUND unless this device named it. */
    int (*evidence_get)(st_backend *b, const char *sha, int64_t device, uint64_t *size,
                        int *complete);
    int (*evidence_complete)(st_backend *b, const char *sha, int64_t now);
    /* The blobs this device's entries name that it has not sent whole. */
    int (*evidence_missing)(st_backend *b, int64_t device, size_t max,
                            int (*cb)(void *ud, const char *sha), void *ud);

    int (*reference_put)(st_backend *b, const uint8_t *blob, size_t len, int64_t now,
                         uint64_t *version);
    /* Latest version and its blob (malloc'd); ST_NOTFOUND if none. */
    int (*reference_latest)(st_backend *b, uint64_t *version, uint8_t **blob, size_t *len);

    /* ---- the index (schema 2; server/index.c keeps it in the transaction
     * that stores the entries, so it is never behind them) ---- */
    /* A document or revisit id and its matter; the first one stays. */
    int (*object_put)(st_backend *b, const char *id, const char *matter);
    /* The matter of a document or revisit id; ST_NOTFOUND if none. */
    int (*object_matter)(st_backend *b, const char *id, char *matter, size_t len);
    int (*matter_entry_add)(st_backend *b, const char *matter, int64_t device, uint64_t seq);
    /* The entries of a matter, every device's, in the order they were
     * indexed (received order). */
    int (*matter_entries)(st_backend *b, const char *matter, st_entry_cb cb, void *ud);
    /* Replace the flags of a matter by flags[0..n); a flag that was there
     * before keeps its first flagged time. */
    int (*flags_replace)(st_backend *b, const char *matter, const st_flag *flags, size_t n,
                         int64_t now);
    /* Add one flag (entries outside any matter); an existing one stays. */
    int (*flag_add)(st_backend *b, const st_flag *f, int64_t now);
    /* Flags, by device and seq; device 0 and matter NULL: all. */
    int (*flags_list)(st_backend *b, int64_t device, const char *matter,
                      int (*cb)(void *ud, const st_flag_row *r), void *ud);
    /* A subject id as named by device's entries, with its subject key
     * (lower-case hex SHA-256 of the credit code or ID number; "" none). */
    int (*subject_put)(st_backend *b, int64_t device, const char *id, const char *key);
    /* ST_NOTFOUND if the device named no such subject. */
    int (*subject_key)(st_backend *b, int64_t device, const char *id, char key[65]);
    /* A matter cites item for the subject key (once per triple). */
    int (*citation_add)(st_backend *b, const char *key, const char *item, const char *matter,
                        int64_t device);
    /* The first matter other than `matter` that cited item for key before
     * `matter` did (any, if `matter` cited nothing); ST_NOTFOUND if none. */
    int (*citation_other)(st_backend *b, const char *key, const char *item, const char *matter,
                          char *other, size_t len);
    /* Citations with id > since, ascending, at most max. */
    int (*citations_since)(st_backend *b, uint64_t since, size_t max,
                           int (*cb)(void *ud, uint64_t id, const char *key, const char *item,
                                     const char *matter),
                           void *ud);
    /* Every stored entry in the order received (re-indexing). */
    int (*entries_each)(st_backend *b, st_entry_cb cb, void *ud);
    /* ---- audit reads (server/store_sqlite_audit.c); read-only, for
     * `patrold audit verify` and `audit export` ---- */
    /* A device's stored entries by the seq column, ascending. */
    int (*audit_entries)(st_backend *b, int64_t device, st_audit_entry_cb cb, void *ud);
    /* One stored entry; ST_NOTFOUND if none. */
    int (*audit_entry)(st_backend *b, int64_t device, uint64_t seq, st_audit_entry_cb cb,
                       void *ud);
    /* Stored entries whose object column is `object`, every device's, by
     * device and seq (the subject.add of a matter's subject ...). */
    int (*audit_object_entries)(st_backend *b, const char *object, st_audit_entry_cb cb,
                                void *ud);
    /* A device's quarantined forks, in the order received. */
    int (*audit_forks)(st_backend *b, int64_t device, st_audit_entry_cb cb, void *ud);
    /* Every evidence reference: blob, the device naming it, the size its
     * entry declared, when the blob completed (0: never received). */
    int (*audit_evidence)(st_backend *b,
                          int (*cb)(void *ud, const char *sha, int64_t device, uint64_t size,
                                    int64_t complete_ms),
                          void *ud);
    /* A device's stored batch answers (encoded Ack), oldest first. */
    int (*audit_acks)(st_backend *b, int64_t device,
                      int (*cb)(void *ud, const uint8_t *ack, size_t len, int64_t created_ms),
                      void *ud);

    /* ---- the matter index (schema 3) ---- */
    /* Re-indexing: empty every index table (citations keep their ids, the
     * terminals' cursor; rule flags' first-flagged times are kept aside),
     * then, once every entry is indexed again, index_rebuilt puts the
     * kept times back on the flags found again. */
    int (*index_clear)(st_backend *b);
    int (*index_rebuilt)(st_backend *b);
    int (*inspector_put)(st_backend *b, const st_iinspector *in);
    int (*subject_info_put)(st_backend *b, const st_isubject *sub);
    int (*act_put)(st_backend *b, const st_iact *act);
    /* Replace the matter's rows (matter, methods, documents, revisits,
     * evidence) by m's. */
    int (*matter_put)(st_backend *b, const st_imatter *m);
    /* The matter's rows into *out (arrays malloc'd: st_imatter_release);
     * ST_NOTFOUND if no entry opened or named it. */
    int (*matter_get)(st_backend *b, const char *id, st_imatter *out);
    /* Every matter (department NULL: all), by id; each as matter_get
     * gives it, released after cb returns. */
    int (*matters_each)(st_backend *b, const char *department,
                        int (*cb)(void *ud, const st_imatter *m), void *ud);
    /* An inspector a device recorded (device 0: the first of any device);
     * ST_NOTFOUND if none. */
    int (*inspector_get)(st_backend *b, int64_t device, const char *id, st_iinspector *out);
    int (*subject_get)(st_backend *b, int64_t device, const char *id, st_isubject *out);
    /* When the server received a stored entry (its receipt time). */
    int (*entry_received)(st_backend *b, int64_t device, uint64_t seq, int64_t *received_ms);

    /* ---- reports (server/audit_report.c, store_sqlite_report.c) ---- */
    /* Every stored entry with its device time and the time the server
     * received it, in the order received. cb returns non-zero to stop. */
    int (*report_entries)(st_backend *b, int (*cb)(void *ud, const st_report_row *r), void *ud);
    /* Store a filing as the next version of its period and department
     * (f->version and f->id ignored; the version given is written to
     * *version). Inside a write transaction (begin/commit). */
    int (*filing_put)(st_backend *b, const st_filing *f, int64_t *version);
    /* The filings, by period, department, version (period NULL: all;
     * else that period and department). Strings valid during cb only. */
    int (*filings_list)(st_backend *b, const char *period, const char *department,
                        int (*cb)(void *ud, const st_filing *f), void *ud);
    /* ---- the server log (server/slog.c, docs/log.md): an append-only
     * RFC 6962 Merkle tree of leaves, kept in the transaction that stores
     * what the leaf records ---- */
    /* Number of leaves. */
    int (*log_size)(st_backend *b, uint64_t *n);
    /* Append leaf `index` (which must be log_size) with its data and its
     * leaf hash (also node (0, index)); ST_EXISTS if index is taken. */
    int (*log_leaf_add)(st_backend *b, uint64_t index, const uint8_t *data, size_t len,
                        const uint8_t hash[32], int64_t now);
    /* Leaf data (malloc'd, caller frees); ST_NOTFOUND beyond the log. */
    int (*log_leaf_get)(st_backend *b, uint64_t index, uint8_t **data, size_t *len);
    /* The hash of the complete subtree of 2^level leaves from leaf
     * index << level (level 0: the leaf hash); ST_NOTFOUND if not stored. */
    int (*log_node_get)(st_backend *b, unsigned level, uint64_t index, uint8_t hash[32]);
    int (*log_node_put)(st_backend *b, unsigned level, uint64_t index, const uint8_t hash[32]);
    /* The latest signed checkpoint: its size, root and signed note
     * (malloc'd, caller frees); ST_NOTFOUND if none was signed yet. */
    int (*log_checkpoint_latest)(st_backend *b, uint64_t *size, uint8_t root[32], char **note);
    /* Keep a signed checkpoint (sizes only grow; ST_EXISTS otherwise). */
    int (*log_checkpoint_put)(st_backend *b, uint64_t size, const uint8_t root[32],
                              const char *note, int64_t now);
    /* Every leaf in order, with its data and stored leaf hash; return
     * non-zero from cb to stop. */
    int (*log_leaves_each)(st_backend *b,
                           int (*cb)(void *ud, uint64_t index, const uint8_t *data, size_t len,
                                     const uint8_t hash[32]),
                           void *ud);
    /* Every signed checkpoint, ascending size: size, root, signed note and
     * the server time it was signed; return non-zero from cb to stop. */
    int (*log_checkpoints_each)(st_backend *b,
                                int (*cb)(void *ud, uint64_t size, const uint8_t root[32],
                                          const char *note, int64_t signed_ms),
                                void *ud);
    /* ---- evidence possession and quotas (schema 6; server/evidence.c) ---- */
    /* This device's reference to sha; ST_NOTFOUND unless its entry named it. */
    int (*evidence_ref)(st_backend *b, const char *sha, int64_t device, st_evref *out);
    /* The blob is held whole and this device sent every byte of it: marks
     * both (earlier times stay). */
    int (*evidence_received)(st_backend *b, const char *sha, int64_t device, int64_t now);
    /* Sum of the declared sizes of the blobs this device sent whole (what
     * counts against its quota, with its uploads in progress). */
    int (*evidence_usage)(st_backend *b, int64_t device, uint64_t *bytes);
    /* ---- backup (server/backup.c) ---- */
    /* A consistent copy of the whole database, as of one moment, written
     * to a new file at path and synced; serving goes on meanwhile. */
    int (*backup)(st_backend *b, const char *path);
    /* ---- console accounts (schema 7; server/users.c) ---- */
    /* A new account (u->id, disabled_ms ignored; the id given written to
     * *id); ST_EXISTS if the name is taken. */
    int (*user_add)(st_backend *b, const st_user *u, int64_t *id);
    /* The account of that name; ST_NOTFOUND if none. */
    int (*user_get)(st_backend *b, const char *name, st_user *out);
    /* Replace its password hash; ST_NOTFOUND if no such account. */
    int (*user_set_password)(st_backend *b, const char *name, const char *pwhash, int64_t now);
    /* Disable it (an earlier disabling time stays); ST_NOTFOUND if none. */
    int (*user_disable)(st_backend *b, const char *name, int64_t now);
    /* Every account by name; cb returns non-zero to stop. */
    int (*users_each)(st_backend *b, int (*cb)(void *ud, const st_user *u), void *ud);
    /* ---- reference versions (the console's 清单, server/web_lists.c) ---- */
    /* Version `version`: its blob (malloc'd) and when it was imported;
     * ST_NOTFOUND if there is no such version. */
    int (*reference_get)(st_backend *b, uint64_t version, uint8_t **blob, size_t *len,
                         int64_t *imported_ms);
    /* Every stored version, newest first: number, import time, blob size;
     * cb returns non-zero to stop. ST_OK with none. */
    int (*references_each)(st_backend *b,
                           int (*cb)(void *ud, uint64_t version, int64_t imported_ms, size_t len),
                           void *ud);
} st_ops;

struct st_backend {
    const st_ops *ops;
};

/* Re-indexing at an upgrade: called inside the upgrade's transaction,
 * after the schema steps, when a database older than schema 2 is opened
 * (server/index.c idx_rebuild indexes and flags the entries it holds).
 * Returns ST_OK, or an error with a sentence in err: the upgrade is then
 * rolled back and the open fails. Set once, before any open. Without a
 * hook, a database that holds entries is not upgraded. */
typedef int (*st_reindex_fn)(st_backend *b, char *err, size_t errlen);
void st_set_reindex(st_reindex_fn fn);

enum {
    ST_OPEN_CREATE = 1,  /* create an empty database if there is none */
    ST_OPEN_READONLY = 2 /* read only (listings while serve runs); no upgrade */
};

/* Open the SQLite backend at path (flags ST_OPEN_*; 0: read-write, must
 * exist), upgrading its schema if it is older. NULL on failure with a
 * message in err. */
st_backend *st_sqlite_open(const char *path, int flags, char *err, size_t errlen);

#endif
