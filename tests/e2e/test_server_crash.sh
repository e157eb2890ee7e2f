#!/bin/bash
# test_server_crash.sh -- kill -9 of patrold during ingest while several
# terminals sync (issue 8 items 9 and 10).
#
# Three terminals record between trials and sync at the same time in small
# batches; patrold is killed with SIGKILL at a random moment of those syncs
# and started again on the same port. After every kill, before the restart,
# each terminal's acknowledged entries must be on the server with the very
# bytes of its journal (nothing acknowledged is lost; an entry is stored
# once by the schema). At the end one sync each completes, the server holds
# every journal exactly, and audit verify passes.
#
# SERVER_CRASH_TRIALS (default 12) kills; the seed is printed.
#
# usage: test_server_crash.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

TRIALS=${SERVER_CRASH_TRIALS:-12}
SEED=${SERVER_CRASH_SEED:-$(date +%s)}
RANDOM=$SEED
echo "# seed $SEED (SERVER_CRASH_SEED=$SEED reproduces the kill times)"

start_server server
T=()
for i in 1 2 3; do
    T[$i]=$WORK/terminal-$i
    new_terminal "${T[$i]}" "城管执法终端-0$i" "$(add_device "城管执法终端-0$i")" || finish
    pt_ok "terminal $i: inspector" "${T[$i]}" inspector add --id zhangwei --name 张伟 \
        --cert-no 32132300100 >/dev/null
done

# record I N: N entries on terminal I (a shift started and ended, in turn).
ON_DUTY=(0 0 0 0)
record() {
    local t=${T[$1]} k
    for ((k = 0; k < $2; k++)); do
        if [ "${ON_DUTY[$1]}" = 1 ]; then
            "$PATROL" --store "$t" shift end >/dev/null 2>&1 || fail "terminal $1: shift end"
            ON_DUTY[$1]=0
        else
            "$PATROL" --store "$t" shift start --inspector zhangwei >/dev/null 2>&1 ||
                fail "terminal $1: shift start"
            ON_DUTY[$1]=1
        fi
    done
}

# The server's (seq, hash) rows for terminal I, and the terminal's own for
# 1..ACKED.
server_hashes() {
    local dev
    dev=$(sqlite3 -batch "${T[$1]}/patrol.db" "SELECT hex(device_id) FROM device")
    sq "SELECT e.seq, hex(e.hash) FROM entries e JOIN devices d ON d.id = e.device
        WHERE hex(d.key_id) = '$dev' ORDER BY e.seq"
}
journal_hashes() {
    sqlite3 -batch "${T[$1]}/patrol.db" "SELECT seq, hex(hash) FROM journal WHERE seq <= $2 ORDER BY seq"
}
acked() {
    sqlite3 -batch "${T[$1]}/patrol.db" "SELECT acked_seq FROM sync_state"
}

for i in 1 2 3; do record "$i" 30; done
kills_in_sync=0
lost=0
for ((trial = 1; trial <= TRIALS; trial++)); do
    for i in 1 2 3; do record "$i" $((8 + RANDOM % 8)); done
    SPIDS=""
    for i in 1 2 3; do
        PATROL_SYNC_ATTEMPTS=1 PATROL_SYNC_BATCH_ENTRIES=2 PATROL_SYNC_TIMEOUT_S=20 \
            "$PATROL" --store "${T[$i]}" sync --json >"$WORK/sync-$trial-$i.json" 2>&1 &
        SPIDS="$SPIDS $!"
    done
    # A random moment of the syncs (a sync of 8-15 entries in batches of 2
    # takes some 50-300 ms here).
    sleep "0.$(printf '%03d' $((RANDOM % 150 + 10)))"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
    cut=0
    for p in $SPIDS; do
        wait "$p" 2>/dev/null || cut=1
    done
    kills_in_sync=$((kills_in_sync + cut))
    # Before the restart: what each terminal holds as acknowledged is on
    # the server, byte for byte (the entry hashes of 1..acked).
    for i in 1 2 3; do
        a=$(acked "$i")
        server_hashes "$i" | head -n "$a" >"$WORK/srv.txt"
        journal_hashes "$i" "$a" >"$WORK/jnl.txt"
        if [ "$(wc -l <"$WORK/jnl.txt")" -ne "$a" ] || ! cmp -s "$WORK/srv.txt" "$WORK/jnl.txt"; then
            fail "trial $trial: terminal $i has $a entries acknowledged, the server holds $(wc -l <"$WORK/srv.txt") of them"
            lost=$((lost + 1))
        fi
    done
    # patrold again, on the port the terminals were enrolled with.
    SERVER_LOG=$WORK/server-$trial.log
    "$PATROLD" --data "$DATA" serve --listen "127.0.0.1:$PORT" 2>"$SERVER_LOG" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    if ! wait_for "$SERVER_LOG" "s/.*event=listening addr=127\.0\.0\.1:\($PORT\).*/\1/p" >/dev/null; then
        fail "trial $trial: patrold did not start again on port $PORT"
        show "$SERVER_LOG"
        finish
    fi
done
echo "# $TRIALS kills, $kills_in_sync of them cut a sync short, $lost with an acknowledged entry missing"
check "$TRIALS kills, every one with nothing acknowledged lost ($lost losses)" test "$lost" -eq 0
check "kills cut a sync short ($kills_in_sync of $TRIALS: a sync failed)" \
    test "$kills_in_sync" -ge $((TRIALS / 3))

for i in 1 2 3; do
    sync_ok "terminal $i: a sync completes after the last restart" "${T[$i]}" || continue
    server_hashes "$i" >"$WORK/srv.txt"
    journal_hashes "$i" 999999 >"$WORK/jnl.txt"
    check "terminal $i: the server holds its whole journal exactly ($(wc -l <"$WORK/jnl.txt") entries)" \
        sh -c "test -s '$WORK/jnl.txt' && cmp -s '$WORK/srv.txt' '$WORK/jnl.txt'"
done
srv audit verify --json >"$WORK/verify.json" 2>"$WORK/verify.err"
RC=$?
check "audit verify passes after $TRIALS kills (exit $RC)" test "$RC" -eq 0
jfile_check "audit verify: no integrity failure, every entry a log leaf" "$WORK/verify.json" \
    "j['ok'] is True and j['integrity_failures'] == 0 and j['log']['leaves_without_entry'] == 0"
check "no sanitizer report in any of patrold's logs" \
    sh -c "! grep -Eq 'Sanitizer|runtime error:' '$WORK'/server*.log"
stop_server_checked
finish
