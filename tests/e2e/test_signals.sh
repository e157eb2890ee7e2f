#!/usr/bin/env bash
# test_signals.sh -- patrold's signals (docs/server.md "Limits, signals and
# logs"): SIGHUP keeps serving and reopens the log file (serve --log FILE,
# for rotation), SIGTERM drains: a request in flight is answered and
# acknowledged, then patrold exits 0 with nothing abandoned.
. "$(dirname "$0")/lib.sh" "$@"

section "server with --log FILE, and a terminal"
start_server server
TOKEN=$(add_device "城管执法终端-21")
T=$WORK/terminal
new_terminal "$T" "城管执法终端-21" "$TOKEN" || finish
stop_server "$SERVER_PID"
LOG=$WORK/patrold.log
"$PATROLD" --data "$DATA" serve --listen "127.0.0.1:$PORT" --log "$LOG" 2>"$WORK/serve.stderr" &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_for "$LOG" '/event=listening/p' >/dev/null || { fail "patrold serve --log did not start"; show "$WORK/serve.stderr"; finish; }
pass "patrold serves with --log $LOG"
N=0
entry_and_sync() {
    N=$((N + 1))
    pt "$T" inspector add --id "sig-$N" --name "赵$N" --cert-no "3213230091$N"
    sync_ok "$1" "$T" &&
        jfile_check "$1: the entry was accepted" "$WORK/sync.json" 'j["entries_accepted"] >= 1'
}
entry_and_sync "a sync with the log in a file"
check "the batch is logged in the file" grep -q 'event=batch' "$LOG"
check "nothing of the log went to stderr" test ! -s "$WORK/serve.stderr"

section "SIGHUP: the log is reopened, the server keeps serving"
mv "$LOG" "$LOG.1"
kill -HUP "$SERVER_PID"
if wait_for "$LOG" '/event=reloaded/p' 50 >/dev/null; then
    pass "after mv and SIGHUP, patrold writes a new $LOG (event=reloaded)"
else
    fail "no new log file after SIGHUP"
fi
check "patrold still runs after SIGHUP" kill -0 "$SERVER_PID"
check "the rotated file holds what came before" grep -q 'event=listening' "$LOG.1"
entry_and_sync "a sync after SIGHUP"
check "... logged in the new file" grep -q 'event=batch' "$LOG"
kill -HUP "$SERVER_PID"
sleep 0.3
check "a second SIGHUP without rotation: still running" kill -0 "$SERVER_PID"
check "... and still logging to $LOG" test "$(grep -c 'event=reloaded' "$LOG")" -eq 2

section "SIGTERM drains a request in flight"
# Hold the database's write lock so that the next batch waits inside its
# handler (SQLite busy timeout 10 s), then stop the server.
pt "$T" inspector add --id sig-drain --name 钱多 --cert-no 32132300919
"$PY" - "$DATA/patrold.db" 4 >"$WORK/lock.out" 2>&1 <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")
EOF
LOCK=$!
PIDS="$PIDS $LOCK"
wait_for "$WORK/lock.out" '/locked/p' 50 >/dev/null || fail "could not take the database's write lock"
"$PATROL" --store "$T" sync --json >"$WORK/drain.json" 2>"$WORK/drain.err" &
SYNC=$!
PIDS="$PIDS $SYNC"
sleep 1.5 # its batch is in flight: the handler waits for the lock
kill -TERM "$SERVER_PID"
sleep 0.3
check "patrold is still running while a request is in flight (draining)" kill -0 "$SERVER_PID"
wait "$SYNC"
wait "$SERVER_PID"
STOP_RC=$?
check "patrold exits 0 after draining (got $STOP_RC)" test "$STOP_RC" -eq 0
check "the drain is logged with the request in flight" grep -Eq 'event=stopping .*dispatched=1' "$LOG"
check "the request in flight was answered before the exit (a batch between stopping and stopped)" \
    test "$(sed -n '/event=stopping/,/event=stopped/p' "$LOG" | grep -c 'event=batch')" -eq 1
check "nothing was abandoned" grep -q 'event=stopped abandoned_requests=0' "$LOG"
check "no connection was accepted while draining" \
    test "$(sed -n '/event=stopping/,/event=stopped/p' "$LOG" | grep -c 'event=enrolled\|peer=')" -eq 0
N_LISTEN=$(grep -c 'event=listening' "$LOG")
"$PATROLD" --data "$DATA" serve --listen "127.0.0.1:$PORT" --log "$LOG" 2>>"$WORK/serve.stderr" &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
for _ in $(seq 1 100); do
    [ "$(grep -c 'event=listening' "$LOG")" -gt "$N_LISTEN" ] && break
    sleep 0.1
done
sync_ok "after a restart, the terminal's next sync" "$T"
check "the terminal's whole journal is on the server" test "$(server_rows "$T")" = "$(journal_rows "$T")"
kill -INT "$SERVER_PID"
wait "$SERVER_PID"
STOP_RC=$?
check "SIGINT drains and stops the same way: exit 0 (got $STOP_RC)" test "$STOP_RC" -eq 0
check "... logged" test "$(grep -c 'event=stopped abandoned_requests=0' "$LOG")" -eq 2
check "patrold logged no error" test "$(grep -c 'level=error' "$LOG")" -eq 0
finish
