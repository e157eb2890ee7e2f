#!/bin/sh
# Side by side in the same run (issue 11, docs/bench.md "Side by side with
# PouchDB"): the same journal entries
#   - replicated by PouchDB 9 to express-pouchdb 4 (plain HTTP, one
#     document per entry: its fields, hash and signature as JSON),
#   - synced by patrol to patrold (mutual TLS 1.2, protobuf batches in LZ4
#     frames, the terminal's default of 500 entries a batch),
#   - synced by patrol one request per entry (PATROL_SYNC_BATCH_ENTRIES=1),
# each through the same byte-counting TCP relay (relay.js) on 127.0.0.1.
# Prints one line per run and side, then medians with min-max and the
# ratios against the issue's targets (>= 20x PouchDB's records/s with
# <= 1/3 of its wire bytes).
#
#   bench/pouch/run.sh [--quick] [--runs N] [--entries N] [--no-per-entry]
#                      [--keep] [BUILD_DIR]
#   --quick         1 run of 300 entries (checks that everything works)
#   --runs N        runs, each side once per run, in turn (default 5)
#   --entries N     journal entries (default 3000)
#   --no-per-entry  skip the one-request-per-entry mode (the slow one)
#   --keep          keep the work directory
#   BUILD_DIR       default: build-bench beside bench/ (as bench/run.sh)
#
# Needs node (20) and npm: the PouchDB side is installed from the npm
# registry with `npm ci` (package.json and package-lock.json here, exact
# versions) into BUILD_DIR/bench/pouch/node, once. The records are made
# once per invocation by pouch_records (bench_sync's record builder, a
# fresh store); every run syncs a fresh copy of that store to a fresh copy
# of its server. Work files go under $TMPDIR (default /tmp).
set -eu

runs=5
entries=3000
per_entry=1
keep=0
build=
while [ $# -gt 0 ]; do
  case $1 in
  -h | --help)
    sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  --quick) runs=1 entries=300 ;;
  --runs) runs=${2:?--runs N}; shift ;;
  --entries) entries=${2:?--entries N}; shift ;;
  --no-per-entry) per_entry=0 ;;
  --keep) keep=1 ;;
  -*) echo "usage: $0 [--quick] [--runs N] [--entries N] [--no-per-entry] [--keep] [BUILD_DIR]" >&2; exit 2 ;;
  *) build=$1 ;;
  esac
  shift
done
case $runs$entries in *[!0-9]*) echo "$0: --runs and --entries take numbers" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${build:-"$src/build-bench"}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target patrol_cli patrold pouch_records -j 2 >/dev/null
build=$(cd "$build" && pwd)
patrol=$build/client/patrol
patrold=$build/server/patrold

# The PouchDB side, from the npm registry, once per build directory (again
# when package.json or the lock file changes).
node_dir=$build/bench/pouch/node
if ! cmp -s "$here/package.json" "$node_dir/package.json" ||
  ! cmp -s "$here/package-lock.json" "$node_dir/package-lock.json" ||
  [ ! -d "$node_dir/node_modules/express-pouchdb" ]; then
  echo "installing pouchdb and express-pouchdb into $node_dir (npm ci)" >&2
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
NODE_PATH=$node_dir/node_modules
export NODE_PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/patrol-bench-pouch.XXXXXX")
cleanup() { if [ "$keep" = 1 ]; then echo "work kept in $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== machine"
echo "nproc: $(nproc 2>/dev/null || echo '?'); $(uname -srm); node $(node --version)"
echo "cpu: $(grep -m1 -E '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "work dir: $work"
echo "uptime before: $(uptime)"

echo
echo "== records ($entries entries, bench_sync's record builder)"
"$build/bench/pouch/pouch_records" --patrold "$patrold" --dir "$work/master" \
  --entries "$entries" >"$work/info.json"
mv "$work/info.json" "$work/master/info.json"
cat "$work/master/info.json"
"$patrol" --store "$work/master/store" log --json --reveal >"$work/log.json"
echo "patrol log --json --reveal: $(wc -c <"$work/log.json") bytes"

results=$work/results.jsonl
: >"$results"
side() { # run, command...: its JSON line, with the run's number, to $results
  r=$1
  shift
  if ! "$@" >"$work/line"; then
    echo "$0: failed: $*" >&2
    exit 1
  fi
  sed "s/^{/{\"run\":$r,/" "$work/line" | tee -a "$results"
  rm -rf "$work/run"
}
echo
echo "== runs (each: PouchDB, patrol batched$([ $per_entry = 1 ] && echo ', patrol one request per entry'))"
i=1
while [ "$i" -le "$runs" ]; do
  echo "-- run $i, load $(cut -d' ' -f1-3 /proc/loadavg)"
  side "$i" node "$here/pouch_side.js" --log "$work/log.json" --sigs "$work/master/sigs.json" \
    --dir "$work/run"
  side "$i" node "$here/patrol_side.js" --master "$work/master" --dir "$work/run" \
    --patrol "$patrol" --patrold "$patrold"
  if [ "$per_entry" = 1 ]; then
    side "$i" node "$here/patrol_side.js" --master "$work/master" --dir "$work/run" \
      --patrol "$patrol" --patrold "$patrold" --batch-entries 1
  fi
  i=$((i + 1))
done

echo
echo "== summary (medians, min-max over the runs; ratios within each run)"
echo "uptime after: $(uptime)"
node "$here/summarize.js" "$results"
