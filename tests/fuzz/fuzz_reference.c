/* fuzz_reference.c -- libFuzzer harness for the reference data on both
 * sides: the file `patrold lists import` reads (JSON -> server/refjson.c
 * -> a Reference checked by px_reference_check) and the Reference message
 * a terminal receives (protobuf -> px_reference_check -> applied to the
 * store by px_reference_apply, client/lib/sync.c).
 *
 * Byte 0, bit 0 clear: the rest is a reference file, handled as
 * server/main.c's lists import does (UTF-8 check, cJSON, refjson_build).
 * A file it accepts must encode within PX_REFERENCE_MAX_BYTES or be refused
 * for that, must pass px_reference_check for import and for a terminal
 * (import is the stricter), and must apply to a terminal's store.
 * Bit 0 set: the rest is an encoded Reference as the server sends it. The
 * terminal applies it exactly when px_reference_check(ref, 0) accepts it,
 * and a Reference accepted for import is accepted by a terminal.
 * Either way the store must verify afterwards (patrol_verify).
 *
 * The terminal's store is made once per process in a directory under
 * $TMPDIR (else /dev/shm, else /tmp) and removed at exit.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "internal.h" /* px_reference_apply */
#include "patrol/patrol.h"
#include "reference.h"
#include "refjson.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static patrol *store;
static char store_dir[256];

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[1024];

    if (!d) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static void close_store(void)
{
    patrol_close(store);
    store = NULL;
    rm_tree(store_dir); /* the directory mkdtemp made */
}

static patrol *get_store(void)
{
    const char *base = getenv("TMPDIR");
    char err[256];
    struct stat st;

    if (store)
        return store;
    if (!base || !*base)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(store_dir, sizeof store_dir, "%s/patrol-fuzzref-XXXXXX", base);
    if (!mkdtemp(store_dir))
        abort();
    {
        char dir[300];
        snprintf(dir, sizeof dir, "%s/store", store_dir);
        if (patrol_init(dir, "SY-CGJ", "fuzz", &store, err, sizeof err) != PATROL_OK) {
            fprintf(stderr, "fuzz_reference: patrol_init: %s\n", err);
            abort();
        }
    }
    atexit(close_store);
    return store;
}

static void check_applies(const Patrol__V1__Reference *r, int expect_ok)
{
    patrol *p = get_store();
    int rc = px_reference_apply(p, r);

    if ((rc == PATROL_OK) != (expect_ok != 0)) {
        fprintf(stderr, "fuzz_reference: apply gave %d (%s), check said %s\n", rc,
                patrol_errmsg(p), expect_ok ? "acceptable" : "refused");
        abort();
    }
    if (patrol_verify(p, NULL, NULL, NULL) != PATROL_OK)
        abort();
}

static void from_json(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), why[512];
    cJSON *j = NULL;
    Patrol__V1__Reference *r = NULL, *back = NULL;
    px_ref_fault f;
    uint8_t *blob = NULL;
    size_t len;

    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    if (px_check_utf8(text, size) || !(j = cJSON_ParseWithLength(text, size)))
        goto out;
    if (!(r = malloc(sizeof *r)))
        abort();
    patrol__v1__reference__init(r);
    why[0] = '\0';
    if (refjson_build(j, r, why, sizeof why) != 0) {
        if (!why[0] || !memchr(why, '\0', sizeof why))
            abort(); /* a refusal always says why */
        goto out;
    }
    len = protobuf_c_message_get_packed_size(&r->base);
    if (len > PX_REFERENCE_MAX_BYTES)
        goto out;
    if (!(blob = malloc(len ? len : 1)))
        abort();
    protobuf_c_message_pack(&r->base, blob);
    if (!(back = patrol__v1__reference__unpack(NULL, len, blob)))
        abort();
    if (px_reference_check(back, 1, &f) != 0 || px_reference_check(back, 0, &f) != 0) {
        char where[128];
        px_ref_fault_where(&f, where, sizeof where);
        fprintf(stderr, "fuzz_reference: imported, then refused at %s: %s\n", where, f.why);
        abort();
    }
    check_applies(back, 1);
out:
    if (back)
        patrol__v1__reference__free_unpacked(back, NULL);
    if (r)
        patrol__v1__reference__free_unpacked(r, NULL);
    free(blob);
    cJSON_Delete(j);
    free(text);
}

static void from_wire(const uint8_t *data, size_t size)
{
    Patrol__V1__Reference *r;
    px_ref_fault f;
    char where[128];
    int terminal_ok, import_ok;

    if (size > PX_REFERENCE_MAX_BYTES || !(r = patrol__v1__reference__unpack(NULL, size, data)))
        return;
    memset(&f, 0, sizeof f);
    terminal_ok = px_reference_check(r, 0, &f) == 0;
    if (!terminal_ok) {
        px_ref_fault_where(&f, where, sizeof where);
        if (!memchr(where, '\0', sizeof where) || !f.why[0])
            abort();
    }
    import_ok = px_reference_check(r, 1, &f) == 0;
    if (import_ok && !terminal_ok)
        abort();
    check_applies(r, terminal_ok);
    patrol__v1__reference__free_unpacked(r, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        from_wire(data + 1, size - 1);
    else
        from_json(data + 1, size - 1);
    return 0;
}
