/* fuzz_frame.c -- libFuzzer harness for px_frame_decode (default limits).
 *
 * Checks, beyond "no crash, no leak, no overread": a refusal leaves *out
 * NULL and gives a reason; an accepted frame yields exactly its declared,
 * capped size, and re-encoding that content decodes back to the same bytes.
 *
 * Build and run (clang 14; the first directory collects new inputs, so keep
 * the committed corpus second and read-only):
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iproto \
 *       proto/frame.c tests/fuzz/fuzz_frame.c -llz4 -o /tmp/fuzz_frame
 *   mkdir -p /tmp/fuzz_frame.work
 *   /tmp/fuzz_frame -max_total_time=60 -max_len=65536 -rss_limit_mb=1024 \
 *       -timeout=10 /tmp/fuzz_frame.work tests/fuzz/corpus_frame
 * Without libFuzzer, tests/fuzz_replay.c runs the committed corpus through
 * the same function as part of the normal test run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out = (uint8_t *)"sentinel", *again = NULL, *back = NULL;
    size_t outlen = 1, againlen = 0, backlen = 0;
    const char *why = NULL;

    if (px_frame_decode(data, size, NULL, &out, &outlen, &why) != 0) {
        if (out != NULL || outlen != 0 || why == NULL)
            abort();
        return 0;
    }
    if (out == NULL || why != NULL || outlen == 0 || outlen > PX_FRAME_MAX_RAW ||
        outlen / PX_FRAME_MAX_RATIO > size)
        abort();
    if (px_frame_encode(out, outlen, &again, &againlen, &why) != 0)
        abort();
    if (px_frame_decode(again, againlen, NULL, &back, &backlen, &why) != 0 ||
        backlen != outlen || memcmp(back, out, outlen) != 0)
        abort();
    free(back);
    free(again);
    free(out);
    return 0;
}
