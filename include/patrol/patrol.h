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
    PATROL_ENOSTORE = -15 /* no store in that directory */
} patrol_err;

/* Static English text for an error code. Never NULL. */
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
    const char *state; /* "open", "completed", "terminated" */
    const char *list_item; /* "" if none */
    uint64_t opened_seq;
} patrol_matter_view;
typedef int (*patrol_matter_cb)(void *ud, const patrol_matter_view *m);
PATROL_API int patrol_matters(patrol *p, patrol_matter_cb cb, void *ud);

typedef struct patrol_list_item_view {
    const char *list_type; /* no_penalty, lighter, reduced */
    const char *list_version;
    const char *code;
    const char *domain;
    const char *name;
    const char *basis;
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

/* The i-th field of a kind into *out (pointing to static strings).
 * PATROL_EINVAL for an unknown kind, PATROL_ENOTFOUND past the last. */
PATROL_API int patrol_kind_field(const char *kind, size_t i, patrol_field_info *out);

/* Library version string, e.g. "0.1.0". */
PATROL_API const char *patrol_version(void);

#ifdef __cplusplus
}
#endif
#endif
