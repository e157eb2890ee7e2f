#!/bin/bash
# test_crash_verify.sh -- kill -9 of patrold while it ingests batches (issue
# 11): the entries' signatures are verified on every core before the checks
# in order and the batch's commit; a kill at any moment of that (the kills
# are timed at random from the sync's start, so they land in verification,
# the index, the log or the commit) loses nothing the server acknowledged.
# After each kill: every entry the terminal holds as acknowledged is on the
# server, byte for byte, the server's entries are a prefix of the journal,
# and the database passes its integrity check. patrold is then started
# again on the same data and port; a last sync completes and `patrold audit
# verify` finds every signature and chain link good.
#
# usage: test_crash_verify.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

KILLS=${KILLS:-8}
# Small batches: many batch commits, each verified on several threads.
export PATROL_SYNC_BATCH_ENTRIES=40 PATROL_SYNC_ATTEMPTS=2 PATROL_SYNC_BACKOFF_MS=20

section "server, terminal, a journal of several batches"
start_server server
T=$WORK/terminal
new_terminal "$T" "终端-崩溃" "$(add_device 终端-崩溃)" || finish
NUM_T=$(device_num 终端-崩溃)

rec() { pt "$T" "$@"; [ "$RC" -eq 0 ] || { fail "patrol $*: exit $RC"; show "$ERR"; }; LAST=$(cat "$OUT"); }
rec inspector add --id zhangwei --name 张伟 --cert-no 32132300100
rec subject add --credit-code 91350100M000100Y43 --name 某某商店
rec matter open --subject "$LAST" --inspector zhangwei --domain urban_management \
    --list-item CG-NP-003 --summary "店外摆卖，首次发现"
M=$LAST
rec consent --matter "$M" --accept --form oral
for i in $(seq 240); do
    rec act guidance --matter "$M" --topic "门前三包$i" \
        --content "第$i次现场指导：将商品搬回店内，讲解门前三包责任" --materials 告知书
done
HEAD0=$(journal_head "$T")
note "the terminal holds $HEAD0 entries (batches of $PATROL_SYNC_BATCH_ENTRIES)"

# The terminal's acknowledged seq (what it will never send again).
acked() { pt "$T" status --json; "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["acked_seq"])' "$OUT"; }

serve_again() {
    "$PATROLD" --data "$DATA" serve --listen "127.0.0.1:$PORT" 2>>"$SERVER_LOG" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    local n=100
    while [ "$n" -gt 0 ] && ! "$WIRE" --url "$URL" --no-cert get /metrics >/dev/null 2>&1; do
        sleep 0.1
        n=$((n - 1))
    done
    [ "$n" -gt 0 ]
}

section "$KILLS kills during syncs"
for k in $(seq "$KILLS"); do
    "$PATROL" --store "$T" sync >"$WORK/sync.$k.out" 2>&1 &
    SYNC_PID=$!
    # 20-400 ms into the sync: a batch is being verified or committed.
    sleep "0.$(printf '%03d' $((20 + RANDOM % 380)))"
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    wait "$SYNC_PID"
    A=$(acked)
    S=$(sq "SELECT last_seq FROM devices WHERE id = $NUM_T")
    note "kill $k: terminal acked $A, server head $S"
    check "kill $k: the server holds every entry the terminal has as acknowledged ($S >= $A)" \
        test "${S:-0}" -ge "${A:-999999}"
    journal_rows "$T" | head -n "${S:-0}" >"$WORK/journal.rows"
    server_rows "$T" >"$WORK/server.rows"
    check "kill $k: the server's $S entries are the journal's first, byte for byte" \
        cmp -s "$WORK/journal.rows" "$WORK/server.rows"
    check "kill $k: the server's database passes its integrity check" \
        test "$(sq 'PRAGMA integrity_check')" = ok
    serve_again || { fail "patrold did not serve again after kill $k"; show "$SERVER_LOG"; finish; }
done

section "a last sync, then audit verify"
# More attempts than the killed syncs had: a server just restarted under a
# sanitizer on a loaded machine may refuse a first connection.
PATROL_SYNC_ATTEMPTS=6 PATROL_SYNC_BACKOFF_MS=200 sync_ok "patrol sync after the kills" "$T"
journal_rows "$T" >"$WORK/journal.rows"
server_rows "$T" >"$WORK/server.rows"
check "the server holds all $HEAD0 entries, byte for byte" cmp -s "$WORK/journal.rows" "$WORK/server.rows"
check "the terminal's acknowledged seq is its head ($(acked) = $HEAD0)" test "$(acked)" = "$HEAD0"
stop_server_checked
if srv audit verify >"$WORK/verify.out" 2>&1; then
    pass "patrold audit verify: every signature and link good"
else
    fail "patrold audit verify after the kills"
    show "$WORK/verify.out"
fi
finish
