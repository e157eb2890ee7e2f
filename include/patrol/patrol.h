/* patrol.h -- libpatrol, the handheld's offline full-process record.
 *
 * A store is a directory holding an SQLite database (the journal and the
 * views derived from it), the device key and the evidence files. Every
 * change is a journal entry: hash-chained, signed by the device key at
 * capture, never updated or deleted. A correction is a new entry.
 *
 * Conventions for every function here:
 *  - Functions return PATROL_OK (0) or a negative patrol_err.
 *  - On failure the store is exactly as before the call, and
 *    patrol_errmsg() names the problem (which field, file or id).
 *  - Strings passed in are borrowed for the duration of the call only.
 *  - Views passed to callbacks are valid only during the callback.
 *  - A handle is used by one thread at a time.
 *  - Messages for people (patrol_errmsg, patrol_strerror, verification
 *    problems) come through GNU gettext, text domain "patrol": they are in
 *    the language of the caller's LC_MESSAGES once it has called
 *    setlocale() and, for catalogues outside the system's locale
 *    directory, bindtextdomain("patrol", dir); English otherwise. Texts
 *    from the rules tables (patrol_kind_help, patrol_field_info help and
 *    type) are English, marked for the catalogue: show them through
 *    dgettext("patrol", s). Codes (kinds, field names, choice values) are
 *    never translated.
 */
#ifndef PATROL_H
#define PATROL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PATROL_API __attribute__((visibility("default")))
#else
#define PATROL_API
#endif

typedef enum patrol_err {
    PATROL_OK = 0,
    PATROL_EINVAL = -1,    /* an argument or field is missing or malformed */
    PATROL_ENOTFOUND = -2, /* no such matter, subject, inspector, revisit ... */
    PATROL_ESTATE = -3,    /* not allowed now (matter closed, revisit done) */
    PATROL_EREFUSED = -4,  /* outside flexible enforcement (excluded domain) */
    PATROL_EEXIST = -5,    /* already exists (store, inspector, subject) */
    PATROL_EIO = -6,       /* a read, write or sync failed */
    PATROL_ENOSPC = -7,    /* the disk is full */
    PATROL_ELOCKED = -8,   /* another process has the store open */
    PATROL_ESCHEMA = -9,   /* the store is from a newer patrol */
    PATROL_ECORRUPT = -10, /* not a store, or damaged */
    PATROL_ECHANGED = -11, /* a file changed while it was being read */
    PATROL_ENOMEM = -12,
    PATROL_ECRYPTO = -13, /* key missing or unusable */
    PATROL_EVERIFY = -14, /* verification found a problem */
    PATROL_ENOSTORE = -15, /* no store in that directory */
    PATROL_ENET = -16,     /* the server could not be reached or the link failed (after
                            * retries); nothing was lost: sync again later */
    PATROL_ESERVER = -17,  /* the server refused a request; patrol_errmsg() names its reason */
    PATROL_ETRUST = -18,   /* the server is not the one enrolled with (key pin mismatch), or
                            * its answer failed verification (receipt signature, device) */
    PATROL_EREJECTED = -19 /* the server rejected a journal entry (fork, bad entry): a person
                            * must look; patrol_sync_result names the entry and reason */
} patrol_err;

/* Static text for an error code, in the user's language (see above).
 * Never NULL. */
PATROL_API const char *patrol_strerror(int err);

typedef struct patrol patrol;

/* Create a store in dir (created if missing; must be empty or absent):
 * database, device key (P-256, file mode 0600), first journal entry.
 * department is a department code, device_name a label for this terminal.
 * On success *out is an open handle the caller closes with patrol_close.
 * On failure *out is NULL, nothing is left in dir, and err (if not NULL)
 * receives a sentence. */
PATROL_API int patrol_init(const char *dir, const char *department, const char *device_name,
                           patrol **out, char *err, size_t errlen);

/* Open an existing store, taking an exclusive lock on it (a second
 * process gets PATROL_ELOCKED). Migrates an older schema; refuses a newer
 * one. On failure *out is NULL and err receives a sentence. */
PATROL_API int patrol_open(const char *dir, patrol **out, char *err, size_t errlen);

/* Close and unlock. NULL-safe. */
PATROL_API void patrol_close(patrol *p);

/* The message of the last failed call on p (empty if none). Owned by p,
 * valid until the next call on p. */
PATROL_API const char *patrol_errmsg(const patrol *p);

/* ---- recording ------------------------------------------------------ */

typedef enum patrol_conf {
    PATROL_CONF_NONE = 0,
    PATROL_CONF_STATE_SECRET = 1,    /* 国家秘密 */
    PATROL_CONF_TRADE_SECRET = 2,    /* 商业秘密 */
    PATROL_CONF_PERSONAL_PRIVACY = 3 /* 个人隐私 */
} patrol_conf;

typedef struct patrol_field {
    const char *name;
    const char *value;
    patrol_conf conf;
} patrol_field;

typedef struct patrol_location {
    int64_t lat_e7; /* degrees * 1e7, WGS-84 */
    int64_t lon_e7;
    uint32_t accuracy_m; /* 0: unknown */
} patrol_location;

#define PATROL_ID_MAX 64

/* What one record asks for. kind is one of patrol_kinds(): "inspector.add",
 * "subject.add", "matter.open", "action.warning", "leaflet", "consent",
 * "document.issue", "revisit.outcome", "matter.close", "correction", ...
 * target: for inspector.add the new inspector's id; for kinds about a
 * matter the matter id; for revisit.outcome the revisit id; for
 * document.deliver the document id; for correction the matter the
 * corrected entry belongs to (or NULL); NULL for subject.add.
 * inspectors: who acts; NULL/0 takes the matter's inspectors.
 * corrects: for a correction, the seq of the entry it corrects. */
typedef struct patrol_record_in {
    const char *kind;
    const char *target;
    const char *const *inspectors;
    size_t n_inspectors;
    const patrol_field *fields;
    size_t n_fields;
    const patrol_location *location; /* NULL: unknown */
    uint64_t corrects;
} patrol_record_in;

/* What was saved: the entry's sequence number and hash, and the id of what
 * it created (subject, matter, revisit, document) or acted on. */
typedef struct patrol_saved {
    uint64_t seq;
    char id[PATROL_ID_MAX];
    char hash[65];
} patrol_saved;

/* Check, sign and durably commit one entry. Returns only after the entry
 * is on disk (SQLite WAL, synchronous=FULL). out may be NULL. */
PATROL_API int patrol_record(patrol *p, const patrol_record_in *in, patrol_saved *out);

/* Check one entry exactly as patrol_record would, against the store as it
 * is now, and record nothing: PATROL_OK if patrol_record would take it
 * now, else its error with patrol_errmsg() naming the problem. For a
 * front end that must store something first only if the entry will be
 * taken (the signature's evidence files before the delivery that names
 * them). The store is left as it was either way. */
PATROL_API int patrol_record_check(patrol *p, const patrol_record_in *in);

/* Import an evidence file for a matter: streamed into the store's
 * content-addressed directory while hashing (constant memory), synced,
 * then recorded as an "evidence.add" entry. The same file twice is stored
 * once (but recorded each time it is added). A file that changes while
 * being read gives PATROL_ECHANGED and nothing is recorded.
 * kind: "photo", "audio", "video" or "document"; media_type may be NULL
 * (then it is guessed from the file's first bytes); caption may be NULL. */
PATROL_API int patrol_evidence_add(patrol *p, const char *matter, const char *kind,
                                   const char *path, const char *media_type,
                                   const char *caption, const patrol_location *location,
                                   patrol_saved *out);

/* Open a stored evidence file to read it (a front end showing a photo or
 * a signature): *fd, opened read-only, is the caller's to close; size and
 * media_type (as recorded, copied into the caller's buffer of len bytes)
 * may be NULL. Errors: PATROL_EINVAL (not 64 hex digits), PATROL_ENOTFOUND
 * (no evidence with that SHA-256 in this store), PATROL_ECORRUPT (the file
 * is missing or not of the recorded size), PATROL_EIO; *fd is then -1. */
PATROL_API int patrol_evidence_open(patrol *p, const char *sha256, int *fd, uint64_t *size,
                                    char *media_type, size_t len);

/* A file recorded together with an entry that names it. kind, path,
 * media_type and caption as for patrol_evidence_add; field: the field of
 * the entry that takes the file's SHA-256 (e.g. "signature"), or NULL. */
typedef struct patrol_evidence_in {
    const char *kind;
    const char *path;
    const char *media_type;
    const char *caption;
    const char *field;
} patrol_evidence_in;
#define PATROL_EVIDENCE_WITH_MAX 4

/* Record an entry and the evidence files it rests on (a delivery and its
 * recipient's signature: strokes and image; a refusal to sign and its
 * photo) together: the entry is checked first, as patrol_record would
 * (the files' hashes not yet known), then each file is stored as
 * patrol_evidence_add stores it, and the files' evidence.add entries
 * (evidence of matter, in order, with the entry's location) and the entry,
 * with each file's SHA-256 in its field, are committed in one
 * transaction: all of them are recorded, or none (a crash included; a
 * file already stored by another entry is never removed). At most
 * PATROL_EVIDENCE_WITH_MAX files. out (may be NULL): the entry's. On
 * failure the store is as before; patrol_errmsg() names the problem. */
PATROL_API int patrol_record_with_evidence(patrol *p, const patrol_record_in *in,
                                           const char *matter, const patrol_evidence_in *ev,
                                           size_t n_ev, patrol_saved *out);

/* ---- reading --------------------------------------------------------- */

typedef struct patrol_entry_view {
    uint64_t seq;
    int64_t wall_ms;
    uint64_t mono_ns;
    const char *boot_id;
    const char *kind;
    const char *object;
    const char *matter; /* matter the entry belongs to, "" if none */
    uint64_t corrects;
    const char *hash;   /* hex */
    const char *prev;   /* hex */
    const char *const *inspectors;
    size_t n_inspectors;
    const patrol_field *fields;
    size_t n_fields;
    const patrol_location *location; /* NULL if unknown */
    /* The server log checkpoint the entry cites (docs/log.md "Citations"):
     * its size and root (hex); 0 and NULL when it cites none. */
    uint64_t log_size;
    const char *log_root;
} patrol_entry_view;

/* Return non-zero from a callback to stop early (the function then
 * returns that value). */
typedef int (*patrol_entry_cb)(void *ud, const patrol_entry_view *e);

/* Entries in journal order; matter NULL for all, else only that matter's. */
PATROL_API int patrol_log(patrol *p, const char *matter, patrol_entry_cb cb, void *ud);

typedef struct patrol_info {
    char device_id[65];
    char department[PATROL_ID_MAX];
    char device_name[256];
    uint64_t entries;
    char head_hash[65];
    int schema_version;
    uint64_t evidence_files;
    uint64_t evidence_bytes;
} patrol_info;

PATROL_API int patrol_get_info(patrol *p, patrol_info *out);

typedef struct patrol_revisit_view {
    const char *id;
    const char *matter;
    const char *subject_name;
    const char *due;        /* YYYY-MM-DD */
    const char *outcome;    /* "" until recorded */
    int32_t days_overdue;   /* > 0 overdue, 0 due today, < 0 not yet due */
    int assigned;           /* 1: assigned to this terminal by the server (a matter of
                             * another terminal; its outcome names the inspectors) */
} patrol_revisit_view;
typedef int (*patrol_revisit_cb)(void *ud, const patrol_revisit_view *r);

/* Revisits in due-date order. due_only: only those without an outcome
 * whose due date is today or earlier. today: "YYYY-MM-DD" or NULL for the
 * device clock's local date. */
PATROL_API int patrol_revisits(patrol *p, int due_only, const char *today,
                               patrol_revisit_cb cb, void *ud);

typedef struct patrol_matter_view {
    const char *id;
    const char *subject;
    const char *subject_name;
    const char *domain;
    const char *summary;
    const char *state;     /* a state of the matter state machine: "opened", "told",
                            * "accepted", "refused", "withdrawn", "stop_asked",
                            * "completed", "terminated", "escalated"
                            * (patrol_state_label; docs/record.md) */
    const char *list_item; /* "" if none */
    uint64_t opened_seq;
    /* The effective record (corrections in effect): */
    const char *list_type;    /* "" if no item */
    const char *consent;      /* "accept", "refuse", "stop" or "" */
    const char *application;  /* "filed", "changed", "withdrawn" or "" */
    int major, technical;
    const char *close_reason; /* termination reason, or "" */
    const char *case_no;      /* escalated: case number, or "" */
    unsigned flags;           /* rule findings on its entries (patrol_flags) */
} patrol_matter_view;
typedef int (*patrol_matter_cb)(void *ud, const patrol_matter_view *m);
/* The matters on this terminal, in the order they were opened. */
PATROL_API int patrol_matters(patrol *p, patrol_matter_cb cb, void *ud);

/* A rule an entry of a matter breaks, as the matter state machine finds
 * on a replay of the record: entries recorded before the rules were
 * stricter, and facts flagged rather than refused (a revisit that
 * contradicts a warning). rule is a stable code (docs/record.md); detail
 * a sentence in the user's language. Valid only during the callback. */
typedef struct patrol_flag_view {
    uint64_t seq;
    const char *matter;
    const char *kind;
    const char *rule;
    int flag_only; /* 1: a fact to look at, never refused */
    const char *detail;
} patrol_flag_view;
typedef int (*patrol_flag_cb)(void *ud, const patrol_flag_view *f);
/* The flags of one matter (matter not NULL) or of all, in entry order.
 * PATROL_ENOTFOUND for an unknown matter. */
PATROL_API int patrol_flags(patrol *p, const char *matter, patrol_flag_cb cb, void *ud);

typedef struct patrol_list_item_view {
    const char *list_type; /* no_penalty, lighter, reduced */
    const char *list_version;
    const char *code;
    const char *domain;
    const char *name;
    const char *basis;       /* the legal basis */
    const char *list_name;   /* the list's title, as issued ("" if the server sent none) */
    const char *issuer;      /* who issued the list ("" likewise) */
    const char *category;    /* code: first_violation, minor, lighter ... ("" likewise) */
    const char *conditions;  /* the conditions, one per line ("" if none) */
} patrol_list_item_view;
typedef int (*patrol_list_item_cb)(void *ud, const patrol_list_item_view *it);
/* The three lists the terminal holds (built-in defaults until the server
 * pushes real ones). */
PATROL_API int patrol_list_items(patrol *p, patrol_list_item_cb cb, void *ud);

/* ---- verification ---------------------------------------------------- */

/* One problem: seq of the entry concerned (0 if none) and/or the
 * evidence file's sha256 (NULL if none), and what is wrong. */
typedef void (*patrol_problem_cb)(void *ud, uint64_t seq, const char *evidence,
                                  const char *what);

typedef struct patrol_verify_stats {
    uint64_t entries;
    uint64_t evidence_files;
    uint64_t evidence_bytes;
    uint64_t problems;
} patrol_verify_stats;

/* Check every entry's encoding, hash, chain link and signature, the
 * sequence (no gap, no reordering, nothing missing at the end), and
 * re-hash every evidence file. Reports each problem to cb (may be NULL).
 * Returns PATROL_OK if there is none, PATROL_EVERIFY otherwise. */
PATROL_API int patrol_verify(patrol *p, patrol_problem_cb cb, void *ud,
                             patrol_verify_stats *stats);

/* ---- the record's rules, for forms and --help ------------------------ */

typedef struct patrol_field_info {
    const char *name;
    const char *help;
    int required;
    int automatic;                 /* filled in by the library */
    const char *const *choices;    /* NULL-terminated, or NULL */
    const char *type;              /* "text", "line", "date", "yes/no" ... */
} patrol_field_info;

/* The i-th kind of entry (0-based), or NULL past the last. */
PATROL_API const char *patrol_kind_name(size_t i);

/* One line of help for a kind, or NULL for an unknown kind. */
PATROL_API const char *patrol_kind_help(const char *kind);

/* Texts of the rules table for people. Each is the English message id
 * (static; NULL when unknown): a front end shows it through the "patrol"
 * message catalogue (dgettext), so CLI and forms read one table.
 * patrol_kind_label: short name of a kind ("administrative warning").
 * patrol_choice_label: a choice value's meaning ("in_person" -> "in person").
 * patrol_state_label: a matter state code of patrol_matter_view.state
 * ("accepted" -> "subject accepted flexible enforcement"). */
PATROL_API const char *patrol_kind_label(const char *kind);
PATROL_API const char *patrol_choice_label(const char *value);
PATROL_API const char *patrol_state_label(const char *state);

/* The i-th field of a kind into *out (pointing to static strings).
 * PATROL_EINVAL for an unknown kind, PATROL_ENOTFOUND past the last. */
PATROL_API int patrol_kind_field(const char *kind, size_t i, patrol_field_info *out);

/* Library version string, e.g. "0.1.0". */
PATROL_API const char *patrol_version(void);

/* ---- sync ------------------------------------------------------------ */

/* The terminal side of the sync protocol (docs/protocol.md): enrolment
 * with the collection server (patrold), then batches of signed journal
 * entries, evidence files and reference data over one pinned, mutually
 * authenticated TLS connection. Every network operation is bounded in
 * time; nothing in the journal is changed by syncing. An entry counts as
 * synced only after the server's receipt for it verified with the receipt
 * key obtained at enrolment; receipts are kept in the store forever. */

/* What enrolment brought (all NUL-terminated). */
typedef struct patrol_enrolment {
    char device_id[65];   /* hex; the server's name for this terminal */
    char server_url[256]; /* "https://host:port" */
    char server_name[128];
    char department[PATROL_ID_MAX]; /* the department the server enrolled the device in */
    int department_differs;         /* 1: not the store's own department (a warning) */
} patrol_enrolment;

/* patrol_enroll flags. */
#define PATROL_ENROLL_FORCE 1u /* replace an existing enrolment (see below) */

/* Enrol this terminal with the server at server_url ("https://HOST:PORT",
 * no user info, query or fragment) using a one-time token
 * "PT1.<id>.<secret>.<pin>" from `patrold device add`. The connection is
 * trusted only through the pin (SHA-256 of the server key) the token
 * carries: no CA store is consulted. Sends a certificate request for the
 * device key and stores the answer (client certificate, device CA
 * certificate, receipt key, server URL and pin) in the store.
 *
 * A store that is enrolled already is refused with PATROL_EEXIST unless
 * flags has PATROL_ENROLL_FORCE. A forced enrolment starts sync over for
 * the new server: the acknowledged sequence, the reference version and the
 * list of evidence confirmed uploaded are reset (the new server holds
 * nothing yet); receipts from the old server are kept.
 *
 * A token is used up by the server's first answer. If the answer is lost
 * on the way (PATROL_ENET after the request was sent), the next attempt
 * gets "token_used": ask for a new token.
 *
 * Errors: PATROL_EINVAL (bad URL or token; nothing was sent), PATROL_EEXIST,
 * PATROL_ETRUST (the server's key does not match the pin, or its answer is
 * for another key), PATROL_ENET, PATROL_ESERVER (token unknown, used or
 * expired ... the reason is in patrol_errmsg()), PATROL_ECRYPTO (no
 * certificate request could be made), PATROL_EIO/ENOSPC.
 * On error the store is unchanged. out (caller's storage, may be NULL) is
 * filled only on success. The token is wiped from memory before return. */
PATROL_API int patrol_enroll(patrol *p, const char *server_url, const char *token,
                             unsigned flags, patrol_enrolment *out);

/* Progress of a sync, for a progress bar. Totals are known at the start
 * and may grow when the server asks for evidence it lacks. */
typedef struct patrol_sync_progress {
    const char *phase;      /* "entries", "evidence", "reference", "done" (static) */
    uint64_t entries_done;  /* entries the server has acknowledged */
    uint64_t entries_total; /* entries pending when the sync started */
    uint64_t bytes_done;    /* entry and evidence bytes the server holds (of bytes_total) */
    uint64_t bytes_total;   /* pending entry bytes + evidence bytes not confirmed */
    double rate;            /* bytes per second, smoothed; 0 while unknown */
} patrol_sync_progress;

/* Called from inside patrol_sync, at most a few times per second and once
 * at the end of each phase. The view is valid during the call only; the
 * callback must not call into libpatrol with the same handle. */
typedef void (*patrol_progress_cb)(void *ud, const patrol_sync_progress *pr);

/* Options of patrol_sync. Zero in any field means its default, so a
 * zeroed struct (or NULL) gives the defaults. */
typedef struct patrol_sync_opts {
    patrol_progress_cb progress; /* may be NULL */
    void *progress_ud;
    unsigned max_attempts;       /* tries of one request before giving up: 8 */
    unsigned backoff_initial_ms; /* first retry delay, doubled each time, with jitter: 500 */
    unsigned backoff_max_ms;     /* cap of one retry delay: 30000 */
    unsigned timeout_s;          /* the whole sync, all retries included: 3600 */
    unsigned connect_timeout_s;  /* TCP + TLS handshake: 20 */
    unsigned low_speed_bytes;    /* abort a transfer slower than this (bytes/s) ... : 64 */
    unsigned low_speed_s;        /* ... for this long (seconds): 30 */
    unsigned batch_entries;      /* entries per batch, at most 500: 500 */
    unsigned batch_bytes;        /* raw bytes per batch, at most 1 MiB: 1 MiB */
    unsigned chunk_bytes;        /* largest evidence PATCH, at most 4 MiB: 4 MiB (it shrinks
                                  * on a slow link so one request stays well under a minute) */
    int no_evidence;             /* 1: entries and reference data only */
    int no_reference;            /* 1: do not pull reference data */
    /* For tests of resumption: after this many request body bytes have
     * been sent in total, cut the transfer once as if the link dropped. */
    uint64_t test_cut_after_bytes;
} patrol_sync_opts;

/* What a sync did. Filled in also when patrol_sync fails (as far as it got). */
typedef struct patrol_sync_result {
    uint64_t acked_seq;          /* highest seq the server's verified receipt covers */
    uint64_t head_seq;           /* this terminal's last entry */
    uint64_t entries_accepted;   /* stored by the server now */
    uint64_t entries_duplicate;  /* the server had them already */
    uint64_t batches;            /* batches acknowledged */
    uint64_t receipts;           /* receipts verified and stored */
    uint64_t evidence_uploaded;  /* files the server confirmed complete in this sync */
    uint64_t evidence_pending;   /* files still not confirmed at the end */
    uint64_t bytes_sent;         /* request body bytes on the wire (after LZ4) */
    uint64_t retries;            /* requests repeated after a network error or 5xx */
    uint64_t reference_version;  /* version held after the sync (0: none) */
    int reference_updated;       /* 1: new reference data was applied */
    uint64_t rejected_seq;       /* 0, or the first entry the server rejected */
    char rejected_reason[64];    /* machine-readable ("fork", "bad_signature", ...) */
    char rejected_detail[256];   /* the server's sentence */
    char evidence_failed[65];    /* "", or the sha256 of evidence the server refused */
    int64_t duration_ms;
    uint64_t server_seq;         /* the server's head for this device as the sync found it
                                  * (an empty batch asks when nothing is to be sent, else the
                                  * first batch's answer); acked_seq when nothing said less */
    uint64_t server_lost;        /* entries the server had acknowledged but no longer holds
                                  * (restored from a backup): resent in this sync */
} patrol_sync_result;

/* Sync with the enrolled server: send every entry after the acknowledged
 * one in batches (at most 500 entries and 1 MiB each), verify each
 * receipt (signature, device, chain head equal to this journal's) and only
 * then mark the entries synced; upload the evidence the server lacks,
 * resuming from the server's offset after a cut; pull reference data newer
 * than the version held and apply it in one transaction. Network errors
 * and 5xx answers are retried with exponential backoff and jitter, within
 * o->max_attempts and o->timeout_s. Memory use does not grow with the size
 * of the evidence. o may be NULL; r may be NULL.
 *
 * If the server rejects an entry (a fork, a bad entry), no later entry is
 * sent; the evidence of the entries the server accepted is still uploaded
 * and reference data still pulled, then PATROL_EREJECTED is returned with
 * r->rejected_* naming the entry. The journal is never changed.
 *
 * Errors: PATROL_ESTATE (not enrolled), PATROL_ENET, PATROL_ETRUST (pin
 * mismatch, receipt does not verify or does not match this journal),
 * PATROL_ECRYPTO (the client certificate or device key is unusable),
 * PATROL_ESERVER (a refusal such as "revoked"; also evidence refused with
 * "hash_mismatch", named in r->evidence_failed), PATROL_EREJECTED,
 * PATROL_EIO/ENOSPC/ECORRUPT. Whatever was acknowledged before the error
 * stays acknowledged. */
PATROL_API int patrol_sync(patrol *p, const patrol_sync_opts *o, patrol_sync_result *r);

/* Where sync stands, from the store alone (no network). */
typedef struct patrol_sync_info {
    int enrolled;                     /* 0: the fields below about the server are empty */
    char server_url[256];
    char server_name[128];
    uint64_t head_seq;                /* this terminal's last entry */
    uint64_t acked_seq;               /* highest entry covered by a verified receipt */
    uint64_t pending_entries;         /* head_seq - acked_seq */
    uint64_t pending_entry_bytes;     /* their signed bytes */
    uint64_t pending_evidence_files;  /* evidence not confirmed complete by the server */
    uint64_t pending_evidence_bytes;
    uint64_t pending_bytes;           /* pending_entry_bytes + pending_evidence_bytes */
    int64_t last_sync_ms;             /* end of the last sync that ran all its steps (a
                                       * rejected entry included), 0: never */
    uint64_t receipts;                /* receipts stored */
    uint64_t receipt_seq;             /* last receipt: last_seq it covers (0: none) */
    char receipt_head[65];            /* ... its chain head hash (hex) */
    int64_t receipt_server_time_ms;   /* ... and the server's time */
    uint64_t reference_version;       /* 0: built-in reference data only */
    uint64_t rejected_seq;            /* an entry the server rejected and that is still
                                       * not acknowledged (0: none) */
    char rejected_reason[64];
} patrol_sync_info;

/* Fill *out (caller's storage; nothing is allocated) from the store alone,
 * without any network access. Works on a store that was never enrolled
 * (enrolled = 0). Errors: PATROL_EIO, PATROL_ECORRUPT (the sync tables
 * are damaged); *out is then zeroed or partly filled. */
PATROL_API int patrol_sync_status(patrol *p, patrol_sync_info *out);

/* ---- reference data -------------------------------------------------- */

/* The reference data the terminal holds: built in until the server sends
 * the county's (docs/record.md "Reference data"). Each function calls cb
 * once per row; the view and its strings belong to libpatrol and are valid
 * only during the callback (copy what you keep). Return non-zero from cb
 * to stop early: the function then returns that value. Errors:
 * PATROL_EIO, PATROL_ECORRUPT (patrol_errmsg says which table). */

typedef struct patrol_department_view {
    const char *code;
    const char *name;
    const char *domains; /* the domain codes it holds, comma-joined, in code order */
    int own;             /* 1: this terminal's department (patrol_info.department) */
} patrol_department_view;
typedef int (*patrol_department_cb)(void *ud, const patrol_department_view *d);
/* Departments in the order the reference data gives them. */
PATROL_API int patrol_departments(patrol *p, patrol_department_cb cb, void *ud);

typedef struct patrol_domain_view {
    const char *code;
    const char *name;
    int flexible; /* 0: excluded from flexible enforcement (by law or by the data) */
    int held;     /* 1: this terminal's department holds the domain */
} patrol_domain_view;
typedef int (*patrol_domain_cb)(void *ud, const patrol_domain_view *d);
/* Domains in the order the reference data gives them. */
PATROL_API int patrol_domains(patrol *p, patrol_domain_cb cb, void *ud);

typedef struct patrol_leaflet_view {
    const char *code;
    const char *title;
} patrol_leaflet_view;
typedef int (*patrol_leaflet_cb)(void *ud, const patrol_leaflet_view *l);
/* The leaflet catalogue, in code order. */
PATROL_API int patrol_leaflets(patrol *p, patrol_leaflet_cb cb, void *ud);

/* ---- for front ends with forms (patrol ui) --------------------------- */

/* The rows of the matter state table (docs/record.md): the kinds an entry
 * of a matter may have, and the pseudo-kinds "matter.close completed",
 * "matter.close terminated", "matter.close escalated". The i-th row
 * (static), or NULL past the last. */
PATROL_API const char *patrol_matter_row(size_t i);

/* May an entry of kind (a row of patrol_matter_row) come next in a matter
 * in state (patrol_matter_view.state)? NULL if the state table allows it,
 * else the stable code of the rule that refuses it ("consent_first",
 * "matter_closed", "not_a_matter_kind" ...; static). The state table only:
 * the conditions beyond it (a document delivered once, completion needs a
 * method ...) are checked when the entry is recorded. */
PATROL_API const char *patrol_matter_allows(const char *state, const char *kind);

/* What patrol_record_in.target names for a kind (static), NULL for an
 * unknown kind: "matter", "revisit", "document" (an existing object);
 * "inspector" (the new inspector's id, chosen by the caller); "entry" (a
 * correction: the matter, with corrects); "subject", "act", "shift",
 * "device" (no target: the library makes the id). */
PATROL_API const char *patrol_kind_target(const char *kind);

typedef struct patrol_inspector_view {
    const char *id;
    const char *name;
    const char *cert_no; /* enforcement certificate number */
} patrol_inspector_view;
typedef int (*patrol_inspector_cb)(void *ud, const patrol_inspector_view *i);
/* The inspectors enrolled on this terminal, in the order they were added.
 * Views valid during the callback only; non-zero from cb stops (returned). */
PATROL_API int patrol_inspectors(patrol *p, patrol_inspector_cb cb, void *ud);

typedef struct patrol_subject_view {
    const char *id;
    const char *type; /* "business" or "person" */
    const char *name;
    const char *credit_code; /* "" if none */
    const char *id_number;   /* "" if none (personal privacy: show it masked) */
} patrol_subject_view;
typedef int (*patrol_subject_cb)(void *ud, const patrol_subject_view *s);
/* The subjects recorded on this terminal, in the order they were added. */
PATROL_API int patrol_subjects(patrol *p, patrol_subject_cb cb, void *ud);

typedef struct patrol_document_view {
    const char *id;         /* "D-..." */
    const char *matter;
    uint64_t issued_seq;    /* the document.issue entry */
    uint64_t delivered_seq; /* the document.deliver entry, 0 until delivered */
} patrol_document_view;
typedef int (*patrol_document_cb)(void *ud, const patrol_document_view *d);
/* The documents issued on this terminal (matter NULL) or in one matter, in
 * the order they were issued. */
PATROL_API int patrol_documents(patrol *p, const char *matter, patrol_document_cb cb, void *ud);

#ifdef __cplusplus
}
#endif
#endif
