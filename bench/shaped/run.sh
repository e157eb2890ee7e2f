#!/bin/sh
# An inspector's day synced over a shaped link (issue 11; docs/bench.md
# "Shaped link (issue 11)"): 1 Mbit/s each way, 100 ms RTT, once on a
# clean link and once on a link cut every 30 s.
#
#   bench/shaped/run.sh [--quick] [--runs N] [--together] [--seed N]
#                       [--rate BITS] [--delay-ms MS] [--cut-every S]
#                       [--keep] [BUILD_DIR]
#   --quick       a small slice: 5 matters, 40 entries, 4 photos, 1 clip
#                 (about 10 MB, a minute and a half a run at 1 Mbit/s)
#   --runs N      pairs of runs (clean, then cut), default 1
#   --together    each pair's clean and cut runs at the same time (each has
#                 its own proxy and server; they barely use the CPU)
#   --seed N      the day's seed (records and media), default 11
#   --rate, --delay-ms, --cut-every: the link (default 1000000, 50, 30)
#   --keep        keep the work directory
#   BUILD_DIR     default: build-bench beside bench/ (as bench/run.sh)
# The full day (default): 40 matters, about 300 entries, 60 photos of
# 1-4 MiB and 10 spoken clips, made by media.sh (ImageMagick, espeak-ng,
# sox) once per build directory and recorded by shaped_day (public API,
# kinds and fields from the rules table) into a store enrolled with a
# patrold, once per invocation. Each run syncs a fresh copy of that store
# (`patrol sync --json`, the whole process timed) to a fresh copy of its
# server (access log on) through shape_proxy, and prints one JSON line:
# seconds, payload bytes (the pending entries' signed bytes and the
# evidence files' bytes, from `patrol status --json`), the physical limit
# (payload x 8 / rate), wire bytes each way and what the proxy dropped,
# connections, cuts, PATCH requests (evidence chunks), retries. The
# summary (summarize.py) gives time / limit, and for the cut runs the
# bytes re-sent (cut run's wire bytes up minus the clean run's), in
# chunks and per cut. Work files go under $TMPDIR (default /tmp).
set -eu

quick=0
runs=1
together=0
seed=11
rate=1000000
delay=50
cut=30
keep=0
build=
while [ $# -gt 0 ]; do
  case $1 in
  -h | --help)
    sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  --quick) quick=1 ;;
  --runs) runs=${2:?--runs N}; shift ;;
  --together) together=1 ;;
  --seed) seed=${2:?--seed N}; shift ;;
  --rate) rate=${2:?--rate BITS}; shift ;;
  --delay-ms) delay=${2:?--delay-ms MS}; shift ;;
  --cut-every) cut=${2:?--cut-every S}; shift ;;
  --keep) keep=1 ;;
  -*) echo "usage: $0 [--quick] [--runs N] [--together] [--seed N] [--rate BITS] [--delay-ms MS] [--cut-every S] [--keep] [BUILD_DIR]" >&2; exit 2 ;;
  *) build=$1 ;;
  esac
  shift
done
case $runs$seed$rate$delay$cut in *[!0-9]*) echo "$0: --runs, --seed, --rate, --delay-ms and --cut-every take numbers" >&2; exit 2 ;; esac
[ "$rate" -gt 0 ] || { echo "$0: --rate must be more than 0" >&2; exit 2; }
if [ "$quick" = 1 ]; then
  matters=5 entries=40 photos=4 audio=1
else
  matters=40 entries=300 photos=60 audio=10
fi

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${build:-"$src/build-bench"}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target patrol_cli patrold shape_proxy shaped_day -j 2 >/dev/null
build=$(cd "$build" && pwd)
patrol=$build/client/patrol
patrold=$build/server/patrold
proxy=$build/bench/shaped/shape_proxy

media=$build/bench/shaped/media-s$seed-p$photos-a$audio
"$here/media.sh" --seed "$seed" --photos "$photos" --audio "$audio" "$media"

work=$(mktemp -d "${TMPDIR:-/tmp}/patrol-bench-shaped.XXXXXX")
pids=
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  if [ "$keep" = 1 ]; then echo "work kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# patrold serve on DIR (127.0.0.1, any port), its log in LOG: sets srv_pid
# and srv_port. Extra arguments go to serve.
start_server() {
  dir=$1 log=$2
  shift 2
  "$patrold" --data "$dir" serve --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  srv_pid=$!
  pids="$pids $srv_pid"
  srv_port=
  for _ in $(seq 300); do
    srv_port=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$srv_port" ] && return 0
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$0: patrold did not start (see $log)" >&2
  exit 1
}
# shape_proxy --listen PORT --target PORT ARGS...: sets px_pid, px_port.
start_proxy() {
  out=$1
  shift
  "$proxy" "$@" >"$out" 2>"$out.err" &
  px_pid=$!
  pids="$pids $px_pid"
  px_port=
  for _ in $(seq 200); do
    px_port=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$out")
    [ -n "$px_port" ] && return 0
    kill -0 "$px_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$0: shape_proxy did not start: $(cat "$out.err")" >&2
  exit 1
}
stop() { # pid: SIGTERM, then wait for it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  pids=$(echo "$pids" | sed "s/ $1\$//; s/ $1 / /")
}

echo "== machine"
echo "nproc: $(nproc 2>/dev/null || echo '?'); $(uname -srm)"
echo "cpu: $(grep -m1 -E '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "work dir: $work on $(df -PT "$work" | awk 'NR==2 {print $1 " (" $2 ")"}')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "link: $rate bit/s each way, $delay ms each way, cut every $cut s (cut runs)"

# The day, recorded into a store enrolled with a patrold of its own: DIR/srv,
# DIR/store, DIR/port (the proxy port in the store's server URL), DIR/day.json,
# DIR/status.json.
make_master() {
  m=$1
  mkdir -p "$m"
  "$patrold" --data "$m/srv" init --name "泗阳县司法局柔性执法采集服务器" >/dev/null 2>>"$m/init.log"
  token=$("$patrold" --data "$m/srv" device add --name "城管执法终端-07" --department SY-CGJ 2>>"$m/init.log")
  "$patrol" --store "$m/store" init --department SY-CGJ --device-name "城管执法终端-07" >/dev/null
  # Enrolled through a proxy on the port the runs' proxy will listen on
  # (the URL is in the store): unshaped here.
  start_server "$m/srv" "$m/enroll-srv.log"
  start_proxy "$m/enroll-proxy.out" --listen 0 --target "$srv_port" --rate 0 --delay-ms 0
  echo "$px_port" >"$m/port"
  "$patrol" --store "$m/store" enroll --server "https://127.0.0.1:$px_port" --token "$token" >/dev/null
  stop "$px_pid"
  stop "$srv_pid"
  "$build/bench/shaped/shaped_day" --store "$m/store" --media "$media" --seed "$seed" \
    --matters "$matters" --entries "$entries" --photos "$photos" --audio "$audio" >"$m/day.json"
  "$patrol" --store "$m/store" status --json >"$m/status.json"
}

echo
echo "== the day (seed $seed: $matters matters, about $entries entries, $photos photos, $audio clips)"
make_master "$work/master"
cat "$work/master/day.json"
if [ "$together" = 1 ]; then
  # The runs at the same time need a port each, so a store each: the same
  # day from the same seed (only keys, times and signatures differ).
  make_master "$work/master-cut"
fi

# One run: MODE (clean or cut) into DIR; its JSON line on stdout.
one_run() {
  mode=$1 r=$2
  m=$work/master
  [ "$together" = 1 ] && [ "$mode" = cut ] && m=$work/master-cut
  port=$(cat "$m/port")
  d=$work/run-$mode-$r
  rm -rf "$d"
  mkdir -p "$d"
  cp -a "$m/srv" "$m/store" "$d/"
  start_server "$d/srv" "$d/srv.log" --access-log
  spid=$srv_pid
  every=0
  [ "$mode" = cut ] && every=$cut
  start_proxy "$d/proxy.out" --listen "$port" --target "$srv_port" --rate "$rate" \
    --delay-ms "$delay" --cut-every "$every" --stats "$d/proxy.json"
  ppid_=$px_pid
  # one_run runs in a subshell (a pipe or &): its own trap stops its own.
  trap 'kill "$spid" "$ppid_" 2>/dev/null || true' EXIT
  t0=$(date +%s.%N)
  set +e
  PATROL_SYNC_TIMEOUT_S=14400 "$patrol" --store "$d/store" sync --json >"$d/sync.json" 2>"$d/sync.err"
  rc=$?
  set -e
  t1=$(date +%s.%N)
  stop "$ppid_"
  stop "$spid"
  python3 "$here/summarize.py" run --mode "$mode" --run "$r" --rc "$rc" --t0 "$t0" --t1 "$t1" \
    --rate "$rate" --dir "$d" --master "$m"
}

results=$work/results.jsonl
: >"$results"
echo
echo "== runs"
i=1
while [ "$i" -le "$runs" ]; do
  echo "-- pair $i, load $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$together" = 1 ]; then
    (one_run clean "$i") >"$work/clean.line" &
    a=$!
    (one_run cut "$i") >"$work/cut.line" &
    b=$!
    wait "$a" || { echo "$0: the clean run failed" >&2; exit 1; }
    wait "$b" || { echo "$0: the cut run failed" >&2; exit 1; }
    cat "$work/clean.line" "$work/cut.line" | tee -a "$results"
  else
    (one_run clean "$i") >"$work/clean.line" || { cat "$work/clean.line"; echo "$0: the clean run failed" >&2; exit 1; }
    tee -a "$results" <"$work/clean.line"
    (one_run cut "$i") >"$work/cut.line" || { cat "$work/cut.line"; echo "$0: the cut run failed" >&2; exit 1; }
    tee -a "$results" <"$work/cut.line"
  fi
  i=$((i + 1))
done

echo
echo "== summary (median, min-max over the runs)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/summarize.py" summary "$results"
