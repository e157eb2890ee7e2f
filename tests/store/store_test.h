/* store_test.h -- what the files of test_store share: includes, the
 * helpers and the fixture (fixture.c), and the tests main() in
 * test_store.c runs. The files, by what they test: methods.c, kinds.c,
 * evidence.c, verify.c, lifecycle.c. */
#ifndef STORE_TEST_H
#define STORE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>
#include "patrol/patrol.h"
#define CREDIT_A "91321323MA1N4K7P26"
#define CREDIT_B "91320000134757261A"
#define CREDIT_C "91321300MA1Y9XQ116"
#define IDNUM_A "321323198506120038"
#define IDNUM_B "11010519491231002X"
#define DEPT "SY-CGJ"
#define INSP1 "I-001"
#define INSP2 "I-002"
typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

#define MAXF 40

typedef struct req {
    const char *kind;
    const char *target;
    const char *insp[10];
    size_t ninsp;
    patrol_field f[MAXF];
    size_t nf;
    uint64_t corrects;
    const patrol_location *loc;
} req;

/* The call must succeed; otherwise show the library's message. */
#define EXPECT_OK(p, call)                                                              \
    do {                                                                                \
        int rc_ = (call);                                                               \
        if (rc_ != PATROL_OK)                                                           \
            fail_msg("%s: %d (%s): %s", #call, rc_, patrol_strerror(rc_),               \
                     patrol_errmsg(p));                                                 \
    } while (0)

/* patrol_open or patrol_init must succeed; otherwise show err. */
#define EXPECT_OPEN(call, err)                                                          \
    do {                                                                                \
        int rc_ = (call);                                                               \
        if (rc_ != PATROL_OK)                                                           \
            fail_msg("%s: %d (%s): %s", #call, rc_, patrol_strerror(rc_), (err));       \
    } while (0)

/* The call must fail with code, a message containing frag (unless NULL),
 * and leave the store of fixture f exactly as it was. */
#define EXPECT_REFUSED(f, call, code, frag)                                             \
    do {                                                                                \
        char *before_ = store_snapshot((f)->store);                                     \
        int rc_ = (call);                                                               \
        char *after_ = store_snapshot((f)->store);                                      \
        check_refusal((f)->p, rc_, (code), (frag), #call, __LINE__);                    \
        snapshots_equal(before_, after_, #call);                                        \
        free(before_);                                                                  \
        free(after_);                                                                   \
    } while (0)

typedef struct find_ud {
    uint64_t seq;
    const char *name;
    char value[9000];
    patrol_conf conf;
    int found_entry, found_field;
    char kind[64], object[PATROL_ID_MAX], matter[PATROL_ID_MAX];
    uint64_t corrects;
    size_t n_inspectors;
    char inspectors[2][PATROL_ID_MAX];
    int has_location;
    patrol_location loc;
} find_ud;

typedef struct matter_ud {
    const char *id;
    char state[16], list_item[PATROL_ID_MAX], subject[PATROL_ID_MAX];
    int found;
} matter_ud;

typedef struct fx {
    char root[1024];
    char store[1100];
    patrol *p;
    char biz[PATROL_ID_MAX];
    char person[PATROL_ID_MAX];
    char matter[PATROL_ID_MAX];
} fx;

/* The refusal of kind on target with the given fields. */
#define REFUSE(f, code, frag, kind, target, ...)                                        \
    do {                                                                                \
        req rq_;                                                                        \
        req_init(&rq_, kind, target, __VA_ARGS__);                                      \
        EXPECT_REFUSED(f, req_send((f)->p, &rq_, NULL), code, frag);                    \
    } while (0)

extern char g_tmp[1024];
extern patrol *g_handle;

/* fixture.c */
void buf_add(buf *b, const void *d, size_t n);
void buf_printf(buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void buf_printf(buf *b, const char *fmt, ...);
void buf_hex(buf *b, const void *d, size_t n);
void path_join(char *out, size_t len, const char *a, const char *b);
void write_file(const char *path, const void *data, size_t n);
char *read_file(const char *path, size_t *len);
void fill_bytes(unsigned char *d, size_t n, uint32_t seed);
int cmp_str(const void *a, const void *b);
size_t list_names(const char *dir, char ***out);
void free_names(char **v, size_t n);
void rm_rf(const char *path);
void copy_tree(const char *from, const char *to);
void walk_files(const char *root, const char *rel, char ***v, size_t *n);
size_t count_files(const char *root);
void make_tmpdir(char *out, size_t len);
int tmp_setup(void **state);
int tmp_teardown(void **state);
uint64_t fnv1a(const void *d, size_t n);
void dump_query(buf *b, sqlite3 *db, const char *sql);
char *store_snapshot(const char *store);
void snapshots_equal(const char *before, const char *after, const char *what);
sqlite3 *db_open_rw(const char *store);
void db_exec(sqlite3 *db, const char *sql);
unsigned char *db_get_blob(sqlite3 *db, const char *sql, int64_t key, size_t *len);
void db_set_blob(sqlite3 *db, const char *sql, const void *blob, size_t len, int64_t key);
int64_t db_int(sqlite3 *db, const char *sql);
void req_add(req *r, const char *name, const char *value);
patrol_field *req_find(req *r, const char *name);
void req_set(req *r, const char *name, const char *value);
void req_del(req *r, const char *name);
void req_fields_v(req *r, const char *const *nv);
void req_init_v(req *r, const char *kind, const char *target, va_list ap);
void req_init(req *r, const char *kind, const char *target, ...);
void req_insp(req *r, const char *id);
int req_send(patrol *p, const req *r, patrol_saved *out);
void check_refusal(patrol *p, int rc, int code, const char *frag, const char *what,
                   int line);
int find_cb(void *ud, const patrol_entry_view *e);
find_ud *entry_field(patrol *p, uint64_t seq, const char *name);
const char *field_of(patrol *p, uint64_t seq, const char *name);
int count_cb(void *ud, const patrol_entry_view *e);
size_t count_entries(patrol *p, const char *matter);
int matter_cb(void *ud, const patrol_matter_view *m);
const char *matter_state(patrol *p, const char *id);
void add_inspector(patrol *p, const char *id, const char *name, const char *cert);
void add_subject(patrol *p, const char *type, const char *name, const char *code,
                 char *id_out);
void open_matter(patrol *p, const char *subject, char *id_out, ...);
void accept(patrol *p, const char *matter);
int fx_setup(void **state);
int fx_teardown(void **state);
patrol_saved send_ok(fx *f, const req *r);
patrol_saved record_ok(fx *f, const char *kind, const char *target, ...);
void snapshot_sees_changes(void **state);

/* methods.c: the seven methods, each with a valid set of fields */
typedef struct method_case {
    const char *kind;
    const char *fields[24]; /* valid record: name, value, ..., NULL */
    const char *required[12];
} method_case;
extern const method_case methods[];
extern const size_t n_methods;
#define N_METHODS n_methods
void req_method(req *r, const method_case *m, const char *matter);
/* evidence.c */
void copy_sha(char out[65], const char *v);
void make_jpeg(const char *path, size_t n, uint32_t seed);
/* kinds.c */
patrol_saved add_revisit(fx *f, const char *matter, const char *due, const char *outcome);
void outcome_ok(fx *f, const char *id, const char *outcome);

/* the tests */
void method_required_match_rules(void **state);
void method_valid_records_saved(void **state);
void method_missing_required_field(void **state);
void warning_needs_all_four_conditions(void **state);
void method_bad_choices(void **state);
void method_bad_dates(void **state);
void method_bad_text(void **state);
void method_unknown_and_repeated_fields(void **state);
void method_target_and_kind_checks(void **state);
void subject_add_checks_codes(void **state);
void inspector_add_checks(void **state);
void matter_open_excluded_refused(void **state);
void matter_open_checks(void **state);
void matter_open_list_item_filled_in(void **state);
void matter_open_list_fields_not_typed(void **state);
void consent_refusal_blocks_actions(void **state);
void matter_close_and_after(void **state);
void major_technical_matter_completion(void **state);
void leaflet_expert_hearing(void **state);
void revisits_due_listing(void **state);
void revisit_of_terminated_matter_not_due(void **state);
void document_issue_and_deliver(void **state);
void application_withdraw_and_change(void **state);
void correction_checks(void **state);
void evidence_stored_once(void **state);
void evidence_bad_input(void **state);
int real_setup(void **state);
int real_teardown(void **state);
void verify_realistic_ok(void **state);
void verify_detects_edited_entry(void **state);
void verify_detects_deleted_middle_entry(void **state);
void verify_detects_deleted_last_entry(void **state);
void verify_detects_reordered_entries(void **state);
void verify_detects_replaced_signature(void **state);
void verify_detects_evidence_tampering(void **state);
void verify_detects_changed_device_key(void **state);
void verify_detects_entry_moved_to_other_matter(void **state);
void verify_fresh_store(void **state);
void init_refuses_non_empty_dir(void **state);
void init_bad_arguments(void **state);
void open_without_store(void **state);
void open_newer_schema(void **state);
void open_key_problems(void **state);
void open_foreign_database(void **state);
void open_not_a_database(void **state);
void open_shared_with_other_process(void **state);
void open_clears_tmp_only_alone(void **state);
void store_files_private(void **state);
void errors_have_text(void **state);

#endif
