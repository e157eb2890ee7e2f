#!/bin/bash
# test_crash.sh -- kill -9 at any moment. Three loops, each starting one
# patrol process and killing it after a random delay:
#   act       `patrol act guidance`
#   evidence  `patrol evidence add` of a 2 MB video
#   sync      `patrol sync` to a real patrold (PATROLD in the environment),
#             after one more entry (and, every fourth trial, a photo)
# After each kill: `patrol verify` accepts the store; every entry ever
# reported saved is there with the same hash (and every entry ever seen
# keeps its hash); for sync, the terminal never counts as acknowledged
# more than the server holds, and what the server holds is this journal.
# After the sync loop one clean sync leaves everything on the server
# exactly once.
#
# Each kill is classified by what it interrupted, from the marks the
# library writes with PATROL_TEST_MARKS (docs/store.md "Hooks for tests"):
# "before" (no write begun), "inside" (a write transaction begun and not
# committed, or an evidence copy in progress; for sync, a receipt being
# stored), "waiting" (sync: a request out, no answer stored yet),
# "after" (the last write committed, the process not finished) and
# "finished" (exited before the kill). Half of the kills come a random
# time after the start (over the whole run), half a random time after the
# process's first mark of a write (over the calibrated length of one
# write); each loop must put 15 % of its kills inside a write (for sync,
# inside or waiting).
#
# usage: test_crash.sh PATH/TO/patrol
#   CRASH_SCALE (default 1): trials per loop are 100 x SCALE (act,
#   evidence, sync), within 25, 30 and 50 x SCALE seconds (CRASH_BUDGET_S:
#   the same for every loop); a loop stops early when its time is spent
#   and says so. CRASH_RESET (default 25): trials on one store before a new
#   one. CRASH_SEED: the random seed. PATROLD: the patrold binary (ctest
#   sets it). The long run (cli_crash_long, label long,
#   -DPATROL_LONG_TESTS=ON, not in the default run) is CRASH_SCALE=10 with
#   CRASH_BUDGET_S=400.
#
# What a trial costs is mostly its checks: `patrol verify` checks every
# signature of the journal (mbedtls, ~2 ms an entry on this machine), so
# the stores are kept short (a new one every CRASH_RESET trials; for sync
# a new terminal, enrolled, after a clean sync that must leave everything
# on the server exactly once), and the checker that compares the journal
# with what every trial reported saved runs once per store over all its
# trials (one Python start instead of one a trial), in the trials' order.
. "$(dirname "$0")/lib.sh" "$@"

T0=$(date +%s)
SCALE=${CRASH_SCALE:-1}
ACT_N=$((100 * SCALE))
EV_N=$((100 * SCALE))
SYNC_N=$((100 * SCALE))
# seconds per loop at most (a loaded machine does fewer trials, and says so)
B_ACT=${CRASH_BUDGET_S:-$((25 * SCALE))}
B_EV=${CRASH_BUDGET_S:-$((30 * SCALE))}
B_SYNC=${CRASH_BUDGET_S:-$((50 * SCALE))}
RESET=${CRASH_RESET:-25}
MIN_SHARE=15 # per cent of a loop's kills that must land inside a write
MARKS=$WORK/marks
# The system's Python when there is one: version-manager shims cost 100 ms
# and more a start, and every trial starts it.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
# A kill delay is waited with bash's own `read -t` on a pipe that never
# delivers (no sleep process to start: that took ms on a loaded machine).
exec {NEVER}<> <(:)
SEED=${CRASH_SEED:-$$}
RANDOM=$SEED
note "random seed $SEED (CRASH_SEED), trials: $ACT_N act, $EV_N evidence, $SYNC_N sync, within $B_ACT, $B_EV and $B_SYNC s"

# setup_store NAME: a new store with a matter to record on ($M); the
# loops start a new one every $RESET trials (patrol verify checks every
# signature of the journal after each kill: a journal growing without end
# would make the later trials slower and slower).
setup_store() {
    new_store "$1" || finish
    expect_ok "inspector add" inspector add --id ZF-001 --name 张建国 --cert-no 35010219001
    expect_ok "subject add" subject add --credit-code 91350100M000100Y43 --name 好味道餐饮店
    expect_ok "matter open" matter open --subject "$LAST" --inspector ZF-001 --domain urban_management \
        --summary 占道经营
    M=$LAST
    expect_ok "consent --accept (methods need it)" consent --matter "$M" --accept
    : >"$TRIALS"
}
TRIALS=$WORK/trials # one line a trial of the current store, for the checker
# Three different 2 MB videos: the first import of each goes through the
# rename into evidence/, later ones through "stored already".
for k in 0 1 2; do
    { printf '\000\000\000\030ftypmp42'; head -c 2000000 /dev/urandom; } >"$WORK/VID_$k.mp4"
done

CHECKER=$WORK/check.py
cat >"$CHECKER" <<'EOF'
# check.py TRIALS: the trials of one store, in order, one line each:
#   I OP ST KIND LOG OUT
# (I the trial's name, OP act or evidence, ST patrol's exit status, KIND
# what the kill interrupted, LOG `patrol log --json` after the kill, OUT
# what patrol printed before it died). Prints one line per failure,
#   FAIL I (KIND): reason
# and exits 1 if there was any.
import json, re, sys
seen, reported, fails = {}, {}, []
for line in open(sys.argv[1], encoding="utf-8"):
    i, op, st, kind, log_path, out_path = line.split()
    def bad(why):
        fails.append("FAIL %s (%s): %s" % (i, kind, why))
    try:
        log = {e["seq"]: e for e in json.load(open(log_path))}
    except Exception as x:
        bad("patrol log --json is unreadable: %s" % x)
        continue
    # every entry ever seen keeps its hash
    for s, h in seen.items():
        e = log.get(s)
        if e is None:
            bad("entry %s, seen earlier, is gone" % s)
        elif e["hash"] != h:
            bad("entry %s changed hash: %s -> %s" % (s, h, e["hash"]))
    # what this process printed before it died (if anything)
    out = open(out_path, encoding="utf-8", errors="replace").read()
    rep = None
    if out.strip():
        if op == "act":
            m = re.fullmatch(r"saved entry (\d+)\n", out)
            if not m:
                bad("unexpected output: %r" % out[:200])
            else:
                rep = {"seq": int(m.group(1)), "hash": None}
        else:
            try:
                d = json.loads(out)
                rep = {"seq": int(d["seq"]), "hash": d["hash"]}
            except Exception:
                bad("unexpected output: %r" % out[:200])
    if rep:
        reported[rep["seq"]] = dict(rep, i=i, op=op)
    # every entry ever reported saved is there, with the reported hash and content
    for s, r in reported.items():
        e = log.get(s)
        if e is None:
            bad("entry %s reported saved (trial %s) is missing" % (s, r["i"]))
            continue
        if r["hash"] and e["hash"] != r["hash"]:
            bad("entry %s: hash %s, reported %s" % (s, e["hash"], r["hash"]))
        f = e["fields"]
        what = f.get("content") if r["op"] == "act" else f.get("caption")
        if what != "crash %s" % r["i"]:
            bad("entry %s holds %r, not what trial %s saved" % (s, what, r["i"]))
    # did this trial's entry get committed?
    field = "content" if op == "act" else "caption"
    mine = [e for e in log.values() if e["fields"].get(field) == "crash %s" % i]
    if len(mine) > 1:
        bad("trial %s saved %d entries" % (i, len(mine)))
    if rep and mine and mine[0]["seq"] != rep["seq"]:
        bad("trial %s reported entry %d but saved %d" % (i, rep["seq"], mine[0]["seq"]))
    if st == "0" and not (mine and rep):
        bad("patrol exited 0 but its entry is not reported and saved")
    if kind == "before" and mine:
        bad("killed before any write, yet its entry is there")
    for s, e in log.items():
        seen.setdefault(s, e["hash"])
print("\n".join(fails))
sys.exit(1 if fails else 0)
EOF

# check_trials: run the checker over the current store's trials; each
# failure it prints is counted.
check_trials() {
    local l n
    [ -s "$TRIALS" ] || return 0
    n=$(wc -l <"$TRIALS")
    "$PY" "$CHECKER" "$TRIALS" >"$WORK/cres" 2>&1
    if [ $? -ne 0 ] && ! grep -q '^FAIL ' "$WORK/cres"; then
        fail "the checker itself failed over $n trials"
        show "$WORK/cres"
    fi
    while IFS= read -r l; do
        case $l in FAIL*) fail "${l#FAIL }" ;; esac
    done <"$WORK/cres"
    CHECKED=$((CHECKED + n))
}
CHECKED=0

# ---- what a kill interrupted ---------------------------------------------------

# classify OP: from the marks of the killed process, into $KIND.
classify() {
    local last
    last=$(tail -n 1 "$MARKS" 2>/dev/null | cut -d' ' -f1)
    case $1:$last in
    *:) KIND=before ;;
    sync:request) KIND=waiting ;;
    *:begin | *:commit | *:import | *:stored) KIND=inside ;;
    *:committed | *:rolledback) KIND=after ;;
    *) KIND="unknown($last)" ;;
    esac
}

# calibrate OP CMD...: run CMD three times with marks (no kill); sets
# END_MS (the slowest run), W0 and W1 (ms after the start: the earliest
# first write mark and the latest last mark of a write). Every run must
# succeed: a failure is counted here, not lost in a subshell.
calibrate() {
    local op=$1 k a b end first last
    shift
    END_MS=0 W0=999999 W1=0 WLEN=0
    for k in 1 2 3; do
        [ -n "${CAL_PRE:-}" ] && $CAL_PRE "cal$k"
        : >"$MARKS"
        a=$(date +%s%N)
        if ! PATROL_TEST_MARKS=$MARKS "$@" >/dev/null 2>"$WORK/cal.err"; then
            fail "calibration run of $op failed: $*"
            show "$WORK/cal.err"
        fi
        b=$(date +%s%N)
        end=$(((b - a) / 1000000))
        [ "$end" -gt "$END_MS" ] && END_MS=$end
        first=$(awk '$1 == "begin" || $1 == "import" { print $2; exit }' "$MARKS")
        if [ "$op" = sync ]; then # one receipt's transaction
            last=$(awk '$1 == "committed" { print $2; exit }' "$MARKS")
        else
            last=$(awk '$1 == "committed" || $1 == "commit" { t = $2 } END { print t }' "$MARKS")
        fi
        if [ -z "$first" ] || [ -z "$last" ]; then
            fail "calibration run of $op wrote no marks (PATROL_TEST_MARKS): $(head -c 200 "$MARKS")"
            continue
        fi
        [ $(((last - first) / 1000000 + 1)) -gt "$WLEN" ] && WLEN=$(((last - first) / 1000000 + 1))
        first=$(((first - a) / 1000000))
        last=$(((last - a) / 1000000 + 1))
        [ "$first" -lt "$W0" ] && W0=$first
        [ "$last" -gt "$W1" ] && W1=$last
    done
    [ "$W0" -gt "$W1" ] && W0=0 W1=$END_MS
    note "$op: a run takes ~$END_MS ms, writes between $W0 and $W1 ms after the start, for $WLEN ms at most"
}

# delay_ms: how the next kill is timed: half of them DELAY ms after the
# start, over the whole run (TRIGGER empty); half DELAY ms after the
# process wrote its first mark of a write (TRIGGER: begin or import), over
# the calibrated length of its writes (for sync: of one receipt's). Timing from the mark itself keeps
# those kills on the write however long the start-up took this time.
delay_ms() {
    if [ $((RANDOM % 2)) -eq 0 ]; then
        TRIGGER=
        DELAY=$((RANDOM * (END_MS * 5 / 4 + 1) / 32768))
    else
        TRIGGER=$1
        DELAY=$((RANDOM * (WLEN + 1) / 32768))
    fi
}

sleep_ms() { read -r -t "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))" -u "$NEVER"; }

# seen_mark WORD: the marks file has a line starting with WORD (bash only:
# no process is started while polling).
seen_mark() {
    local l
    while read -r l; do
        [ "${l%% *}" = "$1" ] && return 0
    done <"$MARKS"
    return 1
}

# run_killed CMD...: start CMD with marks, kill -9 it as delay_ms said; its
# exit status in ST, stdout in $WORK/out.
run_killed() {
    : >"$MARKS"
    # Empty before the start: a process killed before its redirection is
    # set up must not leave the previous iteration's output to be read.
    : >"$WORK/out"
    PATROL_TEST_MARKS=$MARKS "$@" >"$WORK/out" 2>"$WORK/err" &
    local pid=$! n=0
    if [ -n "$TRIGGER" ]; then
        # at most 3 runs' time waiting for the mark (it may never come)
        while ! seen_mark "$TRIGGER" && kill -0 "$pid" 2>/dev/null && [ "$n" -lt $((3 * END_MS)) ]; do
            sleep_ms 1
            n=$((n + 1))
        done
    fi
    sleep_ms "$DELAY"
    kill -9 "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    ST=$?
}

# summary LOOP: counts of the loop's kills by kind, and the share check.
# For sync the write is the batch in flight and its receipt being stored:
# "waiting" counts with "inside" (a receipt's own transaction is a
# millisecond of a run that waits on the network).
declare -A COUNT
summary() {
    local loop=$1 n=$2 inside=${COUNT[$1:inside]:-0} k line=""
    [ "$loop" = sync ] && inside=$((inside + ${COUNT[$1:waiting]:-0}))
    for k in before waiting inside after finished; do
        [ -n "${COUNT[$loop:$k]:-}" ] && line="$line ${COUNT[$loop:$k]} $k,"
    done
    echo "summary $loop: $n kills:${line%,}"
    check "$loop: at least $((n * MIN_SHARE / 100 + 1)) of $n kills landed inside a write ($inside)" \
        test "$inside" -gt $((n * MIN_SHARE / 100))
    check "$loop: some kills landed after the write or the end ($((${COUNT[$loop:after]:-0} + ${COUNT[$loop:finished]:-0})))" \
        test $((${COUNT[$loop:after]:-0} + ${COUNT[$loop:finished]:-0})) -gt 0
    check "$loop: every kill was classified" test -z "${COUNT[$loop:unknown]:-}"
}

# ---- act and evidence ----------------------------------------------------------

# kill_loop OP N BUDGET: N trials of OP (act or evidence), BUDGET s at most.
kill_loop() {
    local op=$1 n=$2 budget=$3 i t0 done=0 res cst vst
    t0=$(date +%s)
    section "kill -9 during $op ($n trials, ${budget} s at most)"
    setup_store "$op"
    if [ "$op" = act ]; then
        calibrate act "$PATROL" act guidance --matter "$M" --content calibration --topic t
    else
        calibrate evidence "$PATROL" evidence add --matter "$M" --kind video --caption calibration "$WORK/VID_0.mp4"
    fi
    for i in $(seq 1 "$n"); do
        if [ $(($(date +%s) - t0)) -ge "$budget" ]; then
            note "$op: the ${budget} s budget was spent: stopped after $done of $n trials"
            break
        fi
        if [ $((i % RESET)) -eq 0 ]; then
            check_trials
            setup_store "$op$i"
        fi
        if [ "$op" = act ]; then delay_ms begin; else delay_ms import; fi
        if [ "$op" = act ]; then
            run_killed "$PATROL" act guidance --matter "$M" --content "crash $op$i" --topic 门前三包
        else
            run_killed "$PATROL" evidence add --matter "$M" --kind video --caption "crash $op$i" --json \
                "$WORK/VID_$((i % 3)).mp4"
        fi
        done=$((done + 1))
        if [ "$ST" -ne 0 ] && [ "$ST" -ne 137 ]; then
            fail "$op $i: patrol failed on its own ($(describe_rc "$ST"))"
            show "$WORK/err"
        fi
        classify "$op"
        [ "$ST" -eq 0 ] && KIND=finished
        COUNT[$op:$KIND]=$((${COUNT[$op:$KIND]:-0} + 1))
        "$PATROL" verify >"$WORK/vout" 2>"$WORK/verr"
        vst=$?
        if [ "$vst" -ne 0 ]; then
            fail "$op $i (killed after ${DELAY} ms, $KIND): verify $(describe_rc "$vst")"
            show "$WORK/vout"
            show "$WORK/verr"
        fi
        if ! "$PATROL" log --json >"$WORK/log.$i.json" 2>"$WORK/lerr"; then
            fail "$op $i: log --json failed"
            show "$WORK/lerr"
            continue
        fi
        cp "$WORK/out" "$WORK/out.$i"
        echo "$op$i $op $ST $KIND $WORK/log.$i.json $WORK/out.$i" >>"$TRIALS"
    done
    check_trials
    check "$op: at least $((12 * SCALE)) trials were done ($done)" test "$done" -ge $((12 * SCALE))
    check "$op: the checker saw every trial ($CHECKED of $done)" test "$CHECKED" -eq "$done"
    CHECKED=0
    rm -f "$WORK"/log.*.json "$WORK"/out.*
    summary "$op" "$done"
}

kill_loop act "$ACT_N" "$B_ACT"
kill_loop evidence "$EV_N" "$B_EV"
LEFT=$(find "$STORE/evidence/tmp" -type f | wc -l)
note "left by the kills in the last evidence store: $LEFT partial imports in evidence/tmp (cleared at the next open with no other handle)"

# ---- sync ------------------------------------------------------------------------
section "kill -9 during sync ($SYNC_N trials, ${B_SYNC} s at most)"
if [ -z "${PATROLD:-}" ] || [ ! -x "${PATROLD:-}" ]; then
    fail "PATROLD (the patrold binary) is not set: the sync loop cannot run"
    finish
fi
DATA=$WORK/server
REF=$(cd "$(dirname "$0")/../data" && pwd)/reference-sample.json
if ! "$PATROLD" --data "$DATA" init --name crash >"$WORK/srv.init" 2>&1 ||
    ! "$PATROLD" --data "$DATA" lists import "$REF" >>"$WORK/srv.init" 2>&1; then
    fail "patrold init"
    show "$WORK/srv.init"
    finish
fi
"$PATROLD" --data "$DATA" serve --listen 127.0.0.1:0 2>"$WORK/srv.log" &
SRV=$!
at_exit "kill $SRV 2>/dev/null"
PORT=
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$WORK/srv.log" | head -n 1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
check "patrold serves on 127.0.0.1:${PORT:-?}" test -n "$PORT"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY='*' PATROL_SYNC_ATTEMPTS=2 PATROL_SYNC_BACKOFF_MS=20 PATROL_SYNC_TIMEOUT_S=20
sq_srv() { sqlite3 -batch "$DATA/patrold.db" "$@"; }
# sync_store NAME: a new terminal store, enrolled as device NAME, synced once.
sync_store() {
    local token
    setup_store "$1"
    # setup_store initialises the device as "crash"; the token must name it so
    sqlite3 -batch "$STORE/patrol.db" "SELECT name, department FROM device" >"$WORK/ident"
    token=$("$PATROLD" --data "$DATA" device add --name "$(cut -d'|' -f1 "$WORK/ident")" \
        --department "$(cut -d'|' -f2 "$WORK/ident")" 2>"$WORK/err")
    [ -n "$token" ] || { fail "patrold device add for $1"; show "$WORK/err"; }
    expect_ok "enrol store $1 with patrold" enroll --server "https://127.0.0.1:$PORT" --token "$token"
    DEV=$(sq_srv "SELECT d.id FROM devices d WHERE hex(d.key_id) =
        '$(sqlite3 -batch "$STORE/patrol.db" "SELECT hex(device_id) FROM device")'")
    expect_ok "a first clean sync of store $1" sync
}

rows_term() { sqlite3 -batch "$STORE/patrol.db" "SELECT seq, lower(hex(hash)) FROM journal ORDER BY seq"; }
rows_srv() { sq_srv "SELECT seq, lower(hex(hash)) FROM entries WHERE device = $DEV ORDER BY seq"; }
# one trial's new work: an entry, and every fourth trial a 200 KB photo
sync_work() {
    "$PATROL" act guidance --matter "$M" --content "sync $1" --topic t >/dev/null 2>"$WORK/err" ||
        { fail "sync $1: act failed"; show "$WORK/err"; }
    if [ $((${1#cal} % 4)) -eq 0 ]; then
        { printf '\211PNG\r\n\032\n'; head -c 200000 /dev/urandom; } >"$WORK/p.png"
        "$PATROL" evidence add --matter "$M" --kind photo "$WORK/p.png" >/dev/null 2>"$WORK/err" ||
            { fail "sync $1: evidence add failed"; show "$WORK/err"; }
    fi
}
# sync_store_done: one clean sync after the kills leaves everything of this
# store on the server exactly once, the journal's, with no evidence pending.
sync_store_done() {
    local head
    expect_ok "a clean sync after the kills" sync
    head=$(rows_term | wc -l)
    check "the server holds all $head entries of device $DEV exactly once, the journal's" \
        test "$(sq_srv "SELECT count(*) || '/' || count(DISTINCT seq) FROM entries WHERE device = $DEV")" = "$head/$head"
    rows_term >"$WORK/rt"
    rows_srv >"$WORK/rs"
    check "the server's entries are the journal's, hash for hash" cmp -s "$WORK/rt" "$WORK/rs"
    check "... and not both empty ($head entries)" test "$head" -gt 5
    expect_ok "status" status --json
    check "status: all acknowledged, no evidence pending" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(not (j["pending_entries"] == 0 and j["pending_evidence_files"] == 0))' "$OUT"
}
sync_store sync
CAL_PRE=sync_work calibrate sync "$PATROL" sync
t0=$(date +%s)
done=0
for i in $(seq 1 "$SYNC_N"); do
    if [ $(($(date +%s) - t0)) -ge "$B_SYNC" ]; then
        note "sync: the ${B_SYNC} s budget was spent: stopped after $done of $SYNC_N trials"
        break
    fi
    if [ $((i % RESET)) -eq 0 ]; then
        sync_store_done
        sync_store "sync$i"
    fi
    sync_work "$i"
    delay_ms begin
    run_killed "$PATROL" sync
    done=$((done + 1))
    if [ "$ST" -ne 0 ] && [ "$ST" -ne 137 ]; then
        fail "sync $i: patrol sync failed on its own ($(describe_rc "$ST"))"
        show "$WORK/err"
    fi
    classify sync
    [ "$ST" -eq 0 ] && KIND=finished
    COUNT[sync:$KIND]=$((${COUNT[sync:$KIND]:-0} + 1))
    "$PATROL" verify >"$WORK/vout" 2>"$WORK/verr" ||
        { fail "sync $i (killed after ${DELAY} ms, $KIND): verify failed"; show "$WORK/verr"; }
    "$PATROL" status --json >"$WORK/st.json" 2>"$WORK/err" ||
        { fail "sync $i: status failed"; show "$WORK/err"; }
    ACKED=$(sed -n 's/.*"acked_seq":\([0-9]*\).*/\1/p' "$WORK/st.json")
    rows_term >"$WORK/rt"
    rows_srv >"$WORK/rs"
    SRV_HEAD=$(wc -l <"$WORK/rs")
    if [ -z "$ACKED" ] || [ "$ACKED" -gt "$SRV_HEAD" ]; then
        fail "sync $i (killed after ${DELAY} ms, $KIND): the terminal counts ${ACKED:-?} acknowledged, the server holds $SRV_HEAD"
    fi
    if ! head -n "$SRV_HEAD" "$WORK/rt" | cmp -s - "$WORK/rs"; then
        fail "sync $i (killed after ${DELAY} ms, $KIND): the server's entries are not this journal's first $SRV_HEAD"
    fi
done
check "sync: at least $((12 * SCALE)) trials were done ($done)" test "$done" -ge $((12 * SCALE))
summary sync "$done"
sync_store_done
check "no evidence the server expects is incomplete" \
    test "$(sq_srv "SELECT count(*) FROM evidence WHERE complete_ms IS NULL OR complete_ms = 0")" = 0
kill "$SRV" 2>/dev/null
wait "$SRV" 2>/dev/null

echo "runtime: $(($(date +%s) - T0)) s"
finish
