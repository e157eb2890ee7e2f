#!/bin/sh
# Build the benchmarks in Release mode and run them with their defaults
# (capture: 2000 entries x 5 runs; evidence: 200 MiB and 20 MiB files x 3
# runs; sync: 20000 entries x 5 runs against patrold on 127.0.0.1, plus the
# same with random texts x 3; upload: 200 MiB as 1 and as 10 files, and
# 20 MiB, x 3 runs). The figures in docs/bench.md come from this script.
#
#   bench/run.sh [BUILD_DIR]      (default: build-bench beside bench/)
#   bench/run.sh --help           this text
# Extra arguments for the programs: BENCH_CAPTURE_ARGS, BENCH_EVIDENCE_ARGS,
# BENCH_SYNC_ARGS, BENCH_UPLOAD_ARGS, BENCH_VERIFY_ARGS, BENCH_POUCH_ARGS,
# BENCH_SHIFT_ARGS, BENCH_SHAPED_ARGS.
# BENCH_SETS picks what runs (default "capture evidence sync upload verify
# pouch shift shaped"; verify: signature verification alone, mbedtls against patrold's
# OpenSSL verifier, 2000 signatures x 5 rounds; pouch: bench/pouch/run.sh,
# the same 3000 entries replicated by PouchDB to express-pouchdb and synced
# by patrol, batched and one request per entry, 5 runs; it installs
# PouchDB from the npm registry once; shift: bench/shift/shift.py, shift
# change, 100, 200 and 500 terminals, each its own process, store and
# certificate, syncing a day's 300 entries to one patrold at once, 3, 3 and
# 2 runs; the enrolled stores are made once, under $TMPDIR/patrol-bench-shift,
# and reused; shaped: bench/shaped/run.sh, an inspector's day, 40 matters,
# about 300 entries, 60 photos of 1-4 MiB and 10 spoken clips, synced
# through a 1 Mbit/s, 100 ms RTT link, once clean and once cut every 30 s:
# about 45 minutes, the media made once per build directory with
# ImageMagick, espeak-ng and sox). Work files go under $TMPDIR (default
# /tmp): point it at the disk to measure. The sync benchmarks start and stop
# their own patrold (this build's) on 127.0.0.1.
#
# A quick run (a minute or two; the figures mean nothing, but every record
# builder runs, and a refused entry stops its benchmark with the reason):
#   BENCH_CAPTURE_ARGS="--entries 100 --runs 1" \
#   BENCH_EVIDENCE_ARGS="--mb 4 --small-mb 1 --runs 1" \
#   BENCH_SYNC_ARGS="--entries 1000 --runs 1 --no-wire" \
#   BENCH_UPLOAD_ARGS="--mb 8 --files 2 --small-mb 2 --runs 1" \
#   BENCH_VERIFY_ARGS="--sigs 200 --rounds 1" BENCH_POUCH_ARGS=--quick \
#   BENCH_SHIFT_ARGS=--quick BENCH_SHAPED_ARGS=--quick bench/run.sh
set -eu

case ${1:-} in
-h | --help)
  # The comment at the top of this file is the help.
  sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
  exit 0
  ;;
-*)
  echo "usage: $0 [BUILD_DIR]   ($0 --help)" >&2
  exit 2
  ;;
esac

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$src/build-bench"}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
# Only the benchmark programs are built (and patrold, which the sync ones
# start): nothing else is needed to run them.
cmake --build "$build" --target bench_capture bench_evidence bench_sync bench_upload bench_verify patrold \
  patrol_cli shift_term \
  -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
sets=${BENCH_SETS:-capture evidence sync upload verify pouch shift shaped}
want() { case " $sets " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

tmp=${TMPDIR:-/tmp}
echo "== machine"
echo "nproc: $(nproc 2>/dev/null || echo '?')"
echo "cpu: $(grep -m1 -E '^(model name|Hardware|Processor)' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
echo "kernel: $(uname -srm)"
echo "work dir: $tmp on $(df -PT "$tmp" | awk 'NR==2 {print $1 " (" $2 ")"}')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (other work on the machine skews the figures)"
if want capture; then
echo
echo "== capture"
# shellcheck disable=SC2086
"$build/bench/bench_capture" ${BENCH_CAPTURE_ARGS:-}
fi
if want evidence; then
echo
echo "== evidence"
# shellcheck disable=SC2086
"$build/bench/bench_evidence" ${BENCH_EVIDENCE_ARGS:-}
fi
if want sync; then
echo
echo "== sync (patrold on 127.0.0.1)"
# shellcheck disable=SC2086
"$build/bench/bench_sync" --patrold "$build/server/patrold" ${BENCH_SYNC_ARGS:-}
echo
echo "== sync, random texts (worst case for LZ4)"
# shellcheck disable=SC2086
"$build/bench/bench_sync" --patrold "$build/server/patrold" --text random --runs 3 ${BENCH_SYNC_ARGS:-}
fi
if want upload; then
echo
echo "== evidence upload (patrold on 127.0.0.1)"
# shellcheck disable=SC2086
"$build/bench/bench_upload" --patrold "$build/server/patrold" ${BENCH_UPLOAD_ARGS:-}
fi
if want verify; then
echo
echo "== signature verification (mbedtls; patrold's OpenSSL verifier)"
# shellcheck disable=SC2086
"$build/bench/bench_verify" ${BENCH_VERIFY_ARGS:-}
fi
if want pouch; then
echo
echo "== side by side with PouchDB (bench/pouch/run.sh)"
# shellcheck disable=SC2086
"$src/bench/pouch/run.sh" ${BENCH_POUCH_ARGS:-} "$build"
fi
if want shift; then
echo
echo "== shift change (bench/shift/shift.py)"
# shellcheck disable=SC2086
python3 "$src/bench/shift/shift.py" --build "$build" ${BENCH_SHIFT_ARGS:-}
fi
if want shaped; then
echo
echo "== an inspector's day over a shaped link (bench/shaped/run.sh)"
# shellcheck disable=SC2086
"$src/bench/shaped/run.sh" ${BENCH_SHAPED_ARGS:-} "$build"
fi
