#!/bin/bash
# test_crash.sh -- kill -9 at any moment: in a loop, start `patrol act
# guidance` or `patrol evidence add` (5 MB) in the background, kill -9 it
# after a random delay, then check that `patrol verify` accepts the store
# and that every entry ever reported saved is still there with the same
# hash (and every entry ever seen keeps its hash).
#
# usage: test_crash.sh PATH/TO/patrol [ITERATIONS]
#   environment: CRASH_ITERATIONS (default 200), CRASH_BUDGET_S (default 45):
#   the loop stops early when the budget is spent, and says so.
. "$(dirname "$0")/lib.sh" "$@"

T0=$(date +%s)
ITER=${2:-${CRASH_ITERATIONS:-200}}
BUDGET=${CRASH_BUDGET_S:-45}

new_store crash || finish
expect_ok "inspector add" inspector add --id ZF-001 --name 张建国 --cert-no 35010219001
expect_ok "subject add" subject add --credit-code 91350100M000100Y43 --name 好味道餐饮店
expect_ok "matter open" matter open --subject "$LAST" --inspector ZF-001 --domain urban_management \
    --summary 占道经营
M=$LAST
expect_ok "consent --accept (methods need it)" consent --matter "$M" --accept
# Three different 5 MB videos: the first import of each goes through the
# rename into evidence/, later ones through "stored already".
for k in 0 1 2; do
    { printf '\000\000\000\030ftypmp42'; head -c 5000000 /dev/urandom; } >"$WORK/VID_$k.mp4"
done

STATE=$WORK/state.json
echo '{"seen": {}, "reported": {}}' >"$STATE"
CHECKER=$WORK/check.py
cat >"$CHECKER" <<'EOF'
# check.py LOG STATE OUT OP I: update STATE with what LOG and OUT show,
# print "committed" or "not_committed" (+ " reported" if OUT reports a save)
# for iteration I, and exit 1 (with reasons on stderr) on any loss.
import json, re, sys
log_path, state_path, out_path, op, i = sys.argv[1:6]
log = {e["seq"]: e for e in json.load(open(log_path))}
state = json.load(open(state_path))
bad = []
# every entry ever seen keeps its hash
for s, h in state["seen"].items():
    e = log.get(int(s))
    if e is None:
        bad.append("entry %s, seen earlier, is gone" % s)
    elif e["hash"] != h:
        bad.append("entry %s changed hash: %s -> %s" % (s, h, e["hash"]))
# what this process printed before it died (if anything)
out = open(out_path, encoding="utf-8", errors="replace").read()
reported = None
if out.strip():
    if op == "act":
        m = re.fullmatch(r"saved entry (\d+)\n", out)
        if not m:
            bad.append("unexpected output: %r" % out[:200])
        else:
            reported = {"seq": int(m.group(1)), "hash": None}
    else:
        try:
            d = json.loads(out)
            reported = {"seq": int(d["seq"]), "hash": d["hash"]}
        except Exception:
            bad.append("unexpected output: %r" % out[:200])
if reported:
    state["reported"][str(reported["seq"])] = {"hash": reported["hash"], "i": i, "op": op}
# every entry ever reported saved is there, with the reported hash and content
for s, r in state["reported"].items():
    e = log.get(int(s))
    if e is None:
        bad.append("entry %s reported saved (iteration %s) is missing" % (s, r["i"]))
        continue
    if r["hash"] and e["hash"] != r["hash"]:
        bad.append("entry %s: hash %s, reported %s" % (s, e["hash"], r["hash"]))
    f = e["fields"]
    what = f.get("content") if r["op"] == "act" else f.get("caption")
    if what != "crash %s" % r["i"]:
        bad.append("entry %s holds %r, not what iteration %s saved" % (s, what, r["i"]))
# did this iteration's entry get committed?
mine = [e for e in log.values()
        if (e["fields"].get("content") if op == "act" else e["fields"].get("caption")) == "crash %s" % i]
if len(mine) > 1:
    bad.append("iteration %s saved %d entries" % (i, len(mine)))
if reported and mine and mine[0]["seq"] != reported["seq"]:
    bad.append("iteration %s reported entry %d but saved %d" % (i, reported["seq"], mine[0]["seq"]))
for s, e in log.items():
    state["seen"].setdefault(str(s), e["hash"])
json.dump(state, open(state_path, "w"))
print(("committed" if mine else "not_committed") + (" reported" if reported else ""))
for b in bad:
    print("    " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

# How long does each operation take here (build type, machine)? Kill within
# that time (plus a quarter) so that kills land across the whole run: at
# start-up, mid-write, just after the commit, and after the process ended.
ms_of() { # run patrol ARGS, print the wall time in ms
    local a b
    a=$(date +%s%N)
    "$PATROL" "$@" >/dev/null 2>&1 || fail "calibration run failed: patrol $*"
    b=$(date +%s%N)
    echo $(((b - a) / 1000000))
}
slowest() { local m=0 t; for t in "$@"; do [ "$t" -gt "$m" ] && m=$t; done; echo "$m"; }
A1=$(ms_of act guidance --matter "$M" --content calibration --topic t)
A2=$(ms_of act guidance --matter "$M" --content calibration --topic t)
A3=$(ms_of act guidance --matter "$M" --content calibration --topic t)
E1=$(ms_of evidence add --matter "$M" --kind video --caption calibration "$WORK/VID_0.mp4")
E2=$(ms_of evidence add --matter "$M" --kind video --caption calibration "$WORK/VID_0.mp4")
ACT_MS=$(slowest "$A1" "$A2" "$A3")
EV_MS=$(slowest "$E1" "$E2")
ACT_WIN=$((ACT_MS * 5 / 4 + 1))
EV_WIN=$((EV_MS * 5 / 4 + 1))
[ "$ACT_WIN" -gt 999 ] && ACT_WIN=999
[ "$EV_WIN" -gt 999 ] && EV_WIN=999

n_done=0 n_exited=0 n_after=0 n_mid=0 n_before=0 n_reported=0 n_killed_reported=0
n_act=0 n_ev=0 stopped_early=0 n_mid_act=0 n_vfail=0
SEED=${CRASH_SEED:-$$}
RANDOM=$SEED
note "an act takes ~$ACT_MS ms, an evidence add of 5 MB ~$EV_MS ms here: kill delays 0-$ACT_WIN ms and 0-$EV_WIN ms, random seed $SEED (CRASH_SEED)"
for i in $(seq 1 "$ITER"); do
    if [ $(($(date +%s) - T0)) -ge "$BUDGET" ]; then
        stopped_early=1
        break
    fi
    tmp_before=$(find "$STORE/evidence/tmp" -type f | wc -l)
    # Empty before the start: a process killed before its redirection is
    # set up must not leave the previous iteration's output to be read.
    : >"$WORK/out"
    if [ $((i % 2)) -eq 1 ]; then
        op=act
        n_act=$((n_act + 1))
        delay=$((RANDOM % (ACT_WIN + 1)))
        "$PATROL" act guidance --matter "$M" --content "crash $i" --topic 门前三包 \
            >"$WORK/out" 2>"$WORK/err" &
    else
        op=evidence
        n_ev=$((n_ev + 1))
        delay=$((RANDOM % (EV_WIN + 1)))
        "$PATROL" evidence add --matter "$M" --kind video --caption "crash $i" --json \
            "$WORK/VID_$(((i / 2) % 3)).mp4" >"$WORK/out" 2>"$WORK/err" &
    fi
    pid=$!
    sleep "$(printf '0.%03d' "$delay")"
    kill -9 "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    st=$?
    n_done=$((n_done + 1))
    if [ "$st" -ne 0 ] && [ "$st" -ne 137 ]; then
        fail "iteration $i ($op): patrol failed on its own ($(describe_rc "$st"))"
        show "$WORK/err"
    fi
    wal=-1
    [ -e "$STORE/patrol.db-wal" ] && wal=$(stat -c %s "$STORE/patrol.db-wal")
    tmp_after=$(find "$STORE/evidence/tmp" -type f | wc -l)

    "$PATROL" verify >"$WORK/vout" 2>"$WORK/verr"
    vst=$?
    if [ "$vst" -ne 0 ]; then
        fail "iteration $i ($op, killed after ${delay} ms): verify $(describe_rc "$vst")"
        n_vfail=$((n_vfail + 1))
        if [ "$n_vfail" -le 3 ]; then
            show "$WORK/vout"
            show "$WORK/verr"
        fi
    fi
    if ! "$PATROL" log --json >"$WORK/log.json" 2>"$WORK/lerr"; then
        fail "iteration $i ($op): log --json failed"
        show "$WORK/lerr"
        continue
    fi
    res=$(python3 "$CHECKER" "$WORK/log.json" "$STATE" "$WORK/out" "$op" "$i" 2>"$WORK/cerr")
    cst=$?
    if [ "$cst" -ne 0 ]; then
        fail "iteration $i ($op, killed after ${delay} ms): an entry reported saved is lost or changed"
        sed 's/^/      | /' "$WORK/cerr" | head -n 10
    fi
    case $res in *reported*) n_reported=$((n_reported + 1)) ;; esac
    if [ "$st" -eq 0 ]; then
        n_exited=$((n_exited + 1))
        case $res in
        "committed reported") ;;
        *) fail "iteration $i ($op): patrol exited 0 but its entry is not reported and saved ($res)" ;;
        esac
    elif [ "${res%% *}" = committed ]; then
        n_after=$((n_after + 1))
        case $res in *reported*) n_killed_reported=$((n_killed_reported + 1)) ;; esac
    elif [ "$wal" -gt 0 ] || [ "$tmp_after" -gt "$tmp_before" ]; then
        n_mid=$((n_mid + 1))
        [ "$op" = act ] && n_mid_act=$((n_mid_act + 1))
    else
        n_before=$((n_before + 1))
    fi
done

[ "$stopped_early" -eq 1 ] && note "the ${BUDGET} s budget was spent: stopped after $n_done of $ITER iterations"
MIN=50
[ "$ITER" -lt "$MIN" ] && MIN=$ITER
check "at least $MIN kills were done ($n_done)" test "$n_done" -ge "$MIN"
check "some kills landed mid-write ($n_mid)" test "$n_mid" -gt 0
check "some kills landed after the commit or the process had finished ($((n_after + n_exited)))" \
    test $((n_after + n_exited)) -gt 0

# Leftovers a crash can leave: partial imports in evidence/tmp and stored
# files no entry refers to. Not part of the promise (verify must accept the
# store, nothing reported saved is lost), so only counted here.
LEFT=$(find "$STORE/evidence/tmp" -type f | wc -l)
LEFT_KB=$(du -sk "$STORE/evidence/tmp" | cut -f1)
python3 -c '
import json, os, sys
log = json.load(open(sys.argv[1]))
refd = {e["fields"].get("sha256") for e in log if e["kind"] == "evidence.add"}
blobs = [f for d in os.listdir(sys.argv[2]) if d != "tmp" for f in os.listdir(os.path.join(sys.argv[2], d))]
print(len([b for b in blobs if b not in refd]))' "$WORK/log.json" "$STORE/evidence" >"$WORK/orphans"
N_ENTRIES=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/log.json")
echo "summary: $n_done kills ($n_act act guidance, $n_ev evidence add of 5 MB):" \
    "$n_before before any write, $n_mid mid-write ($n_mid_act act with uncommitted WAL frames, $((n_mid - n_mid_act)) evidence with a partial import or WAL frames)," \
    "$n_after after the commit ($n_killed_reported of them had already printed 'saved')," \
    "$n_exited finished before the kill; $n_reported saves reported, all present;" \
    "journal $N_ENTRIES entries; verify ran $n_done times"
note "left by the kills: $LEFT partial imports in evidence/tmp (${LEFT_KB} KB), $(cat "$WORK/orphans") stored evidence files no entry refers to"
echo "runtime: $(($(date +%s) - T0)) s"
finish
