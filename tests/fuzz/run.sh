#!/bin/bash
# run.sh -- run one libFuzzer harness for a while, one process, niced.
#
#   tests/fuzz/run.sh BUILD_DIR NAME SECONDS [libFuzzer options...]
#
# BUILD_DIR was configured with CC=clang -DPATROL_FUZZ=ON and has
# tests/fuzz/fuzz_NAME built. New inputs go to $FUZZ_WORK/NAME/corpus
# (default $BUILD_DIR/fuzz-work), the committed corpus tests/fuzz/corpus_NAME
# is read but never written; crashing inputs go to $FUZZ_WORK/NAME/ as
# crash-*, leak-*, timeout-*, oom-*. libFuzzer's output is in
# $FUZZ_WORK/NAME/log; the last lines say how far it got:
#   #EXECS DONE cov: EDGES ft: FEATURES corp: N/SIZE exec/s: R rss: MB
# tests/fuzz/NAME.dict, if there is one, is passed as -dict.
# FUZZ_CPU=1 makes SECONDS the process's CPU time (user + system, read from
# /proc every 5 s) instead of wall time: on a shared machine a harness then
# gets its hour of CPU however long that takes. FUZZ_NICE sets the nice
# level (default 10; 19 lets it take only what other work leaves idle).
# The last line printed is the CPU time the run used.
# Exit status: libFuzzer's (0 when nothing was found in the time).
set -u
if [ $# -lt 3 ]; then
    echo "usage: $0 BUILD_DIR NAME SECONDS [libFuzzer options...]" >&2
    exit 2
fi
build=$1 name=$2 secs=$3
shift 3
src=$(cd "$(dirname "$0")" && pwd)
bin=$build/tests/fuzz/fuzz_$name
[ -x "$bin" ] || { echo "$0: $bin is not built (-DPATROL_FUZZ=ON, target fuzz_$name)" >&2; exit 2; }
work=${FUZZ_WORK:-$build/fuzz-work}/$name
mkdir -p "$work/corpus"
case $name in
    batch|reference) maxlen=65536 ;;
    frame) maxlen=65536 ;;
    *) maxlen=8192 ;;
esac
# Caps: 2 GiB of memory, 10 s an input; stderr of the code under test is
# dropped (patrold logs every request), libFuzzer's own report is kept.
dict=
[ -f "$src/$name.dict" ] && dict=-dict=$src/$name.dict
wall=$secs
[ "${FUZZ_CPU:-0}" = 1 ] && wall=$((secs * 50))
nice -n "${FUZZ_NICE:-10}" "$bin" $dict -max_total_time="$wall" -max_len="$maxlen" -rss_limit_mb=2048 -timeout=10 \
    -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$work/" "$@" \
    "$work/corpus" "$src/corpus_$name" >"$work/log" 2>&1 &
pid=$!
tck=$(getconf CLK_TCK)
cpu_of() {   # utime + stime of $pid in seconds, empty once it is gone
    local f
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
    f=${f##*) }
    set -- $f
    echo $(( (${12} + ${13}) / tck ))
}
cpu=0
while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    c=$(cpu_of)
    [ -n "$c" ] && cpu=$c
    if [ "${FUZZ_CPU:-0}" = 1 ] && [ "$cpu" -ge "$secs" ]; then
        kill -INT "$pid" 2>/dev/null
        break
    fi
done
wait "$pid"
rc=$?
# libFuzzer exits 72 after SIGINT (-interrupted_exitcode): the time was up.
[ "${FUZZ_CPU:-0}" = 1 ] && [ $rc -eq 72 ] && rc=0
grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$work/log" | tail -n 1 | sed "s/^/$name: /"
grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work/log" | sed "s/^/$name: /"
ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sed "s|^|$name: found $work/|"
echo "$name: cpu ${cpu} s (at the last 5 s reading), wall $SECONDS s, exit $rc"
exit $rc
