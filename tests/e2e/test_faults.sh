#!/bin/bash
# test_faults.sh -- a real terminal syncing to a real patrold through
# faultproxy.py, which injects seeded random network faults: latency, a
# bandwidth cap, a reset or a clean close after N bytes either way, stalls
# and half-open links. Each round records more entries (and evidence), then
# syncs through the faults, retrying until a sync passes clean. After every
# round the server holds every entry exactly once, byte for byte and with
# the hashes `patrol log --json` shows, every evidence file whole, and both
# sides verify (patrol verify; patrold audit verify --json).
#
# usage: test_faults.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire [--long]
# FAULT_SEED=N repeats a run (the seed is printed first). The normal suite
# runs 3 rounds (e2e_faults, 5 to 30 s); --long runs FAULT_ROUNDS (20)
# rounds with more faults (e2e_faults_long, label long).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

LONG=0
[ "${4:-}" = "--long" ] && LONG=1
SEED=${FAULT_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
if [ "$LONG" -eq 1 ]; then
    ROUNDS=${FAULT_ROUNDS:-20} TRIES=12 FIRST=3 RATE=0.6
else
    ROUNDS=${FAULT_ROUNDS:-3} TRIES=6 FIRST=2 RATE=0.5
fi
note "seed=$SEED rounds=$ROUNDS (repeat with FAULT_SEED=$SEED)"
# A half-open link is given up on by the whole sync's deadline: keep it short.
export PATROL_SYNC_TIMEOUT_S=6 PATROL_SYNC_ATTEMPTS=3 PATROL_SYNC_BACKOFF_MS=20
export PATROL_SYNC_BATCH_ENTRIES=6 PATROL_SYNC_CHUNK_BYTES=65536

section "server, fault proxy, terminal"
start_server server
CONTROL=$WORK/faults
PLOG=$WORK/proxy.log
echo off >"$CONTROL"
"$PY" "$E2E_DIR/faultproxy.py" --target "127.0.0.1:$PORT" --port-file "$WORK/proxy.port" \
    --log "$PLOG" --seed "$SEED" --rate "$RATE" --first "$FIRST" --control "$CONTROL" \
    --max-hold 20 2>"$WORK/proxy.err" &
PIDS="$PIDS $!"
if ! PPORT=$(wait_for "$WORK/proxy.port" 's/^\([0-9][0-9]*\)$/\1/p'); then
    fail "faultproxy.py did not start"
    show "$WORK/proxy.err"
    finish
fi
T=$WORK/terminal
# Enrolment is not under test here: it goes through the proxy with faults off.
new_terminal "$T" "终端-故障" "$(add_device 终端-故障)" "https://127.0.0.1:$PPORT" || finish
touch "$PLOG"

rec() { pt "$T" "$@"; [ "$RC" -eq 0 ] || { fail "patrol $*: exit $RC"; show "$ERR"; }; LAST=$(cat "$OUT"); }
rec inspector add --id zhangwei --name 张伟 --cert-no 32132300100
N_EVIDENCE=0

# record_round R: a shop, a matter, consent, a few acts and one evidence file.
record_round() {
    local r=$1 i code
    code=$("$PY" -c "
import sys
cs = '0123456789ABCDEFGHJKLMNPQRTUWXY'; w = [1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28]
body = '9132132%010d' % (int(sys.argv[1]) * 7919 % 10**10)
s = sum(cs.index(c) * w[i] for i, c in enumerate(body))
print(body + cs[(31 - s % 31) % 31])" "$r")
    rec subject add --credit-code "$code" --name "某某商店$r"
    rec matter open --subject "$LAST" --inspector zhangwei --domain urban_management \
        --list-item CG-NP-003 --summary "第${r}家店外摆卖，首次发现"
    local m=$LAST
    rec consent --matter "$m" --accept --form oral
    for i in 1 2 3 4; do
        rec act guidance --matter "$m" --topic "门前三包$i" --content "第$i次现场指导" --materials 告知书
    done
    head -c $((40000 + (r * 7717) % 160000)) /dev/urandom >"$WORK/photo$r.jpg"
    rec evidence add --matter "$m" --kind photo --media-type image/jpeg --caption "现场$r" "$WORK/photo$r.jpg"
    N_EVIDENCE=$((N_EVIDENCE + 1))
}

# sync_through_faults R: syncs with faults on until one exits 0 (at most
# $TRIES), then one with faults off must pass; prints what it took.
sync_through_faults() {
    local r=$1 try=0 rc=1 codes=
    echo "on round$r" >"$CONTROL"
    while [ "$try" -lt "$TRIES" ]; do
        try=$((try + 1))
        "$PATROL" --store "$T" sync --json >"$WORK/sync.json" 2>"$ERR"
        rc=$?
        codes="$codes $rc"
        [ "$rc" -eq 0 ] && break
        if [ "$rc" -ne 4 ]; then
            fail "round $r: sync $try through faults: exit $rc (only 0 or 4, unreachable, are right)"
            show "$ERR"
        fi
    done
    echo off >"$CONTROL"
    if [ "$rc" -ne 0 ]; then
        note "round $r: no clean sync in $TRIES tries through faults (exits:$codes); one more without faults"
        sync_ok "round $r: sync without faults" "$T" || return
    else
        pass "round $r: clean sync after $try tries through faults (exits:$codes)"
    fi
    jfile_check "round $r: nothing pending, nothing rejected" "$WORK/sync.json" \
        "j['evidence_pending'] == 0 and j.get('entries_rejected', 0) == 0"
}

# exactly_once R: the server holds the journal, each entry once, byte for
# byte; the hashes patrol log --json shows are the server's.
exactly_once() {
    local r=$1
    journal_rows "$T" >"$WORK/journal.rows"
    server_rows "$T" >"$WORK/server.rows"
    check "round $r: the terminal's journal is not empty ($(wc -l <"$WORK/journal.rows") rows)" \
        test -s "$WORK/journal.rows"
    if cmp -s "$WORK/journal.rows" "$WORK/server.rows"; then
        pass "round $r: the server holds all $(wc -l <"$WORK/journal.rows") entries once, byte for byte"
    else
        fail "round $r: the server's entries differ ($(wc -l <"$WORK/server.rows") rows for $(wc -l <"$WORK/journal.rows"))"
        diff "$WORK/journal.rows" "$WORK/server.rows" | head -n 4 | cut -c 1-120 | sed 's/^/      | /'
    fi
    check "round $r: no (device, seq) twice on the server" test -z "$(sq "SELECT device, seq FROM entries GROUP BY device, seq HAVING count(*) > 1")"
    "$PATROL" --store "$T" log --json >"$WORK/log.json" 2>"$ERR"
    "$PY" -c "import json,sys; [print(e['seq'], e['hash'].upper()) for e in json.load(open(sys.argv[1]))]" \
        "$WORK/log.json" >"$WORK/log.hashes" 2>>"$ERR"
    cut -d'|' -f1,2 "$WORK/server.rows" | tr '|' ' ' >"$WORK/server.hashes"
    check "round $r: patrol log --json lists $(wc -l <"$WORK/log.hashes") entries" test -s "$WORK/log.hashes"
    check "round $r: the hashes patrol log --json shows are the server's" cmp -s "$WORK/log.hashes" "$WORK/server.hashes"
    # Evidence: every file the journal names is complete on the server and hashes right.
    sqlite3 -batch "$T/patrol.db" "SELECT sha256 FROM evidence ORDER BY sha256" >"$WORK/t.evidence"
    check "round $r: the terminal holds $N_EVIDENCE evidence files ($(wc -l <"$WORK/t.evidence"))" \
        test "$(wc -l <"$WORK/t.evidence")" -eq "$N_EVIDENCE"
    local sha bad=0
    while read -r sha; do
        [ "$(sha256sum "$DATA/evidence/${sha:0:2}/$sha" 2>/dev/null | cut -d' ' -f1)" = "$sha" ] || bad=$((bad + 1))
    done <"$WORK/t.evidence"
    check "round $r: every evidence file is whole on the server ($bad missing or wrong)" test "$bad" -eq 0
    check "round $r: no partial upload is left" test -z "$(ls "$DATA"/evidence/partial/ 2>/dev/null)"
    pt "$T" verify
    check "round $r: patrol verify passes on the terminal (exit $RC)" test "$RC" -eq 0
    srv audit verify --json >"$WORK/audit.json" 2>"$WORK/audit.err"
    RC=$?
    check "round $r: patrold audit verify passes (exit $RC)" test "$RC" -eq 0
    [ "$RC" -eq 0 ] || show "$WORK/audit.json"
}

for r in $(seq "$ROUNDS"); do
    section "round $r"
    record_round "$r"
    sync_through_faults "$r"
    exactly_once "$r"
done

section "the faults injected"
FIRED=$(grep -c 'fired=1' "$PLOG")
KINDS=$(grep 'fired=1' "$PLOG" | sed -n 's/.*fault=\([a-z]*\).*/\1/p' | sort | uniq -c | tr -s ' ' | tr '\n' ',')
note "connections: $(grep -c . "$PLOG"), faults that fired: $FIRED ($KINDS)"
check "faults fired on at least $ROUNDS connections ($FIRED)" test "$FIRED" -ge "$ROUNDS"
[ -n "${VERBOSE:-}" ] && show "$PLOG" 200
stop_server_checked
finish
