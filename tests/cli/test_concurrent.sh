#!/bin/bash
# test_concurrent.sh -- the terminal is never blocked by a sync: while
# `patrol sync` waits on a server that accepts and never answers, and then
# on one that is down (retrying with backoff), recording a leaflet,
# `patrol status`, `patrol log` and `patrol verify` work; a second
# `patrol sync` is refused at once with a clear message; what was recorded
# meanwhile is in the journal, which verifies.
#
# The terminal is made to look enrolled without a server: the sync_server
# row is written with sqlite3 (a self-signed certificate for the device
# key, the device's own public key as the receipt key: nothing here gets
# as far as a receipt).
#
# usage: test_concurrent.sh PATH/TO/patrol
. "$(dirname "$0")/lib.sh" "$@"

new_store conc || finish
expect_ok "inspector add" inspector add --id ZF-001 --name 张建国 --cert-no 35010219001
expect_ok "subject add" subject add --credit-code 91350100M000100Y43 --name 好味道餐饮店
expect_ok "matter open" matter open --subject "$LAST" --inspector ZF-001 --domain urban_management \
    --summary 占道经营
M=$LAST
expect_ok "consent --accept" consent --matter "$M" --accept

# A server that accepts connections and never answers.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
' >"$WORK/staller.port" &
STALLER=$!
at_exit "kill $STALLER 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$WORK/staller.port" ] && break; sleep 0.05; done
SPORT=$(head -n 1 "$WORK/staller.port")
check "the stalling server listens ($SPORT)" test -n "$SPORT"

if ! openssl req -x509 -new -key "$STORE/device.key" -subj /CN=conc -days 2 \
    -out "$WORK/client.pem" 2>"$WORK/openssl.err"; then
    fail "openssl could not make a certificate for the device key"
    show "$WORK/openssl.err"
    finish
fi
enrol_at() { # enrol_at URL: the sync_server row, as enrolment would leave it
    sqlite3 "$STORE/patrol.db" "
        DELETE FROM sync_server;
        INSERT INTO sync_server(one, url, pin, client_cert, ca_cert, receipt_key, server_name,
                                department, enrolled_ms)
        SELECT 1, '$1', zeroblob(32), CAST(readfile('$WORK/client.pem') AS TEXT), '',
               public_key, 'stalls', 'SY-CGJ', 0 FROM device;" 2>"$WORK/sq.err" ||
        { fail "sqlite3 could not write the enrolment"; show "$WORK/sq.err"; }
}
enrol_at "https://127.0.0.1:$SPORT"

# start_sync NAME: patrol sync in the background (PID in SYNC_PID), its
# stdout/stderr in $WORK/NAME.out/.err; returns once it holds the sync
# lock, i.e. when a second sync is refused (at most 5 s).
start_sync() {
    "$PATROL" sync >"$WORK/$1.out" 2>"$WORK/$1.err" &
    SYNC_PID=$!
    SYNC_T0=$(date +%s%N)
    at_exit "kill $SYNC_PID 2>/dev/null"
}

# while_syncing WHAT: what an inspector does while the sync runs.
while_syncing() {
    local what=$1 t0 ms
    check "$what: the sync is still running" kill -0 "$SYNC_PID"
    t0=$(date +%s%N)
    expect_ok "$what: a leaflet is recorded" leaflet --matter "$M" --title "告知书 $what" --copies 1
    ms=$((($(date +%s%N) - t0) / 1000000))
    check "$what: recording took under $((3 * TIME_SCALE)) s ($ms ms)" test "$ms" -lt $((3000 * TIME_SCALE))
    note "$what: the leaflet took $ms ms to record"
    expect_ok "$what: status" status
    check "$what: status names the stalling server" grep -q "127.0.0.1:" "$OUT"
    expect_ok "$what: status --json" status --json
    PENDING=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pending_entries"])' "$OUT" 2>/dev/null)
    check "$what: status counts the new leaflet as not yet acknowledged ($PENDING)" \
        test "${PENDING:-0}" -ge 1
    expect_ok "$what: log" log
    expect_ok "$what: verify" verify
    expect_refused --code 1 --msg "$(L 'sync .*already running' '同步.*正在进行')" "$PATROL" sync
    check "$what: the sync is still running after all that" kill -0 "$SYNC_PID"
}

# ---- a server that never answers --------------------------------------------
section "sync waits on a server that accepts and never answers"
# (TIME_SCALE, tests/cli/lib.sh: longer under an emulator, so that the sync
# still waits when the slower checks below are done.)
export PATROL_SYNC_TIMEOUT_S=$((8 * TIME_SCALE)) PATROL_SYNC_ATTEMPTS=2
export PATROL_SYNC_BACKOFF_MS=$((200 * TIME_SCALE))
start_sync stall
sleep 0.5
while_syncing stalled
wait "$SYNC_PID"
RC_SYNC=$?
ms=$((($(date +%s%N) - SYNC_T0) / 1000000))
note "the stalled sync ended after $ms ms: $(describe_rc "$RC_SYNC"): $(head -c 200 "$WORK/stall.err")"
check "the stalled sync ends with exit 4 (server unreachable), not a lock error (got $RC_SYNC)" \
    test "$RC_SYNC" -eq 4

# ---- a server that is down: retries with backoff -----------------------------
section "sync retries a server that is down"
kill "$STALLER" 2>/dev/null
wait "$STALLER" 2>/dev/null
export PATROL_SYNC_TIMEOUT_S=$((30 * TIME_SCALE)) PATROL_SYNC_ATTEMPTS=5
export PATROL_SYNC_BACKOFF_MS=$((400 * TIME_SCALE))
start_sync down
sleep 0.5
while_syncing down
wait "$SYNC_PID"
RC_SYNC=$?
ms=$((($(date +%s%N) - SYNC_T0) / 1000000))
note "the sync to a server that is down ended after $ms ms: $(describe_rc "$RC_SYNC")"
check "the sync to a server that is down ends with exit 4 (got $RC_SYNC)" test "$RC_SYNC" -eq 4
check "it retried for over $((2 * TIME_SCALE)) s ($ms ms): the checks above ran while it waited" \
    test "$ms" -gt $((2000 * TIME_SCALE))

# ---- afterwards ---------------------------------------------------------------
section "what was recorded meanwhile is kept"
log_json "$WORK/log.json"
check "both leaflets are in the journal, once each" python3 - "$WORK/log.json" <<'EOF'
import json, sys
log = json.load(open(sys.argv[1]))
titles = [e["fields"].get("title") for e in log if e["kind"] == "leaflet"]
assert titles == ["告知书 stalled", "告知书 down"], titles
assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
EOF
expect_ok "verify after both syncs" verify
PATROL_SYNC_ATTEMPTS=1 pt sync
check "a new sync runs (exit 4: server down, not a lock refusal; got $RC)" test "$RC" -eq 4
finish
