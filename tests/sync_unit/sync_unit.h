/* sync_unit.h -- what the files of test_sync_unit share: the includes,
 * the store fixture (env), enrolment tokens, the fake server (fake), and
 * the tests main() in test_sync_unit.c runs. The files, by what they test:
 *   pieces.c    the token, batches, receipts, alone
 *   enrol.c     patrol_enroll against the fake server
 *   run.c       patrol_sync's run against the fake server
 *   evidence.c  evidence upload against the fake server
 *   fixture.c   the fixtures and the fake server */
#ifndef SYNC_UNIT_H
#define SYNC_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#include "entry.h"
#include "frame.h"
#include "patrol.pb-c.h"
#include "tlog.h"
#include "tls.h"
#include "validate.h"

#define DEPT "SY-CGJ"
#define CREDIT_A "91321323MA1N4K7P26"

typedef struct env {
    char dir[256];
    char store[300];
    patrol *p;
} env;

#define MAX_EV 4

typedef struct fake_req {
    char method[16], path[512];
    char headers[8192];
    const uint8_t *body;
    size_t body_len;
    const uint8_t *peer;
} fake_req;

typedef struct fake_resp {
    int status;
    char headers[512];
    uint8_t *body;
    size_t body_len;
    int drop; /* close without answering */
} fake_resp;

typedef struct fake_ev {
    char sha[65];
    uint64_t size, off;
    uint8_t *data;
    int complete;
} fake_ev;

typedef struct fake {
    char dir[256];
    int lfd;
    unsigned port;
    px_tls_server *tls;
    pthread_t th;
    int running;
    volatile int stop;
    pthread_mutex_t mu;
    px_key *server_key, *ca_key, *receipt_key;
    char *ca_pem;
    uint8_t pin[PX_HASH_LEN];
    uint64_t serial;
    /* what happened */
    int requests, enrolls, batches, probes, heads, patches, lz4_patches, refs, peer_ok, peer_bad;
    int connections;
    /* knobs */
    const char *enroll_refuse;
    int no_error_body; /* refusals carry only the X-Patrol-Reason header */
    int fail_5xx;
    int busy_batches; /* answer this many batches 503 busy, Retry-After: 1 (patrold's
                       * answer when its workers' queue is too long) */
    int corrupt_receipt;
    int wrong_head; /* sign a receipt whose chain head is not the journal's */
    uint64_t reject_seq;
    const char *reject_reason;
    int drop_after_patch; /* store the chunk, then close without answering */
    int conflict_once;    /* answer 409 to the first PATCH */
    int corrupt_evidence; /* flip a stored byte: the hash will not match */
    uint64_t ref_version;
    int ref_excluded_flexible; /* reference data that marks public_safety flexible */
    /* the server log in Acks (docs/log.md): 0 none (an older server), 1 an
     * honest one-leaf log of the batch's last entry, 2 a proof for another
     * leaf, 3 a checkpoint signed by another key than the receipt key */
    int log_mode;
    char log_note[TLOG_NOTE_MAX];
    /* the device's journal as the server holds it */
    uint8_t device[PX_HASH_LEN];
    uint64_t head;
    uint8_t head_hash[PX_HASH_LEN];
    fake_ev ev[MAX_EV];
    int n_ev;
    /* cmocka's asserts may not run on this thread: the first broken
     * expectation is kept here and checked by fake_stop */
    char failed[256];
} fake;

/* fixture.c; sign_body and the receipt fixture are pieces.c's */
void rm_rf(const char *path);
void make_tmpdir(char *out, size_t len);
void write_file(const char *path, const void *data, size_t n);
void env_open(env *e);
void env_close(env *e);
void record_inspectors(patrol *p, int first, int n);
uint64_t head_seq(patrol *p);
void b64url(const void *in, size_t n, char *out, size_t cap);
void make_token(const uint8_t pin[PX_HASH_LEN], char *out, size_t cap);
fake_ev *find_ev(fake *f, const char *sha);
fake *fake_start(int with_ca);
void fake_stop(fake *f);
void fake_url(const fake *f, char *out, size_t len);
void fast_opts(patrol_sync_opts *o);
void enroll(env *e, fake *f);
void sign_body(px_key *k, const uint8_t *body, size_t len, uint8_t sig[PX_SIG_LEN]);
int receipt_setup(void **state);
int receipt_teardown(void **state);

/* the tests */
void test_token_good(void **state);
void test_token_expired_looking(void **state);
void test_token_bad(void **state);
void test_batch_limits(void **state);
void test_batch_byte_cap(void **state);
void test_receipt_good(void **state);
void test_receipt_tampered(void **state);
void test_receipt_wrong_key(void **state);
void test_receipt_wrong_content(void **state);
void test_enroll_wrong_pin(void **state);
void test_enroll_and_again(void **state);
void test_enroll_refused(void **state);
void test_sync_not_enrolled(void **state);
void test_sync_roundtrip(void **state);
void test_sync_log(void **state);
void test_sync_forged_receipt(void **state);
void test_sync_foreign_head(void **state);
void test_sync_server_lost_data(void **state);
void test_sync_fork(void **state);
void test_sync_rejected(void **state);
void test_sync_unreachable(void **state);
void test_sync_busy_server(void **state);
void test_sync_evidence(void **state);
void test_sync_evidence_cut(void **state);
void test_sync_evidence_mismatch(void **state);

#endif
