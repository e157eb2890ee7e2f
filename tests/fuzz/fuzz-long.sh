#!/bin/bash
# fuzz-long.sh -- every libFuzzer harness of tests/fuzz, one after another,
# each for SECONDS (default 3600: one CPU-hour each), one process at a time
# at nice 10 (tests/fuzz/run.sh), then a summary: executions, coverage and
# what was found per harness.
#
#   tests/fuzz/fuzz-long.sh BUILD_DIR [SECONDS] [NAME...]
#   cmake --build BUILD_DIR --target fuzz-long      (the same, all, an hour each)
#
# BUILD_DIR was configured with CC=clang -DPATROL_FUZZ=ON. Exit status 1
# when any harness found something (crash-*, leak-*, oom-*, timeout-* in
# BUILD_DIR/fuzz-work/NAME), else 0.
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [SECONDS] [NAME...]" >&2; exit 2; }
build=$1 secs=${2:-3600}
shift $(($# >= 2 ? 2 : 1))
src=$(cd "$(dirname "$0")" && pwd)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$src"/fuzz_*.c; do n=$(basename "$f" .c); names+=("${n#fuzz_}"); done
fi
found=0
for n in "${names[@]}"; do
    [ -x "$build/tests/fuzz/fuzz_$n" ] || { echo "$n: not built, skipped"; continue; }
    echo "== $n: $secs s ($(date -u +%H:%M:%S) UTC)"
    "$src/run.sh" "$build" "$n" "$secs" || found=1
done
exit $found
