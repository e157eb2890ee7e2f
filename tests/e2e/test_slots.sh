#!/usr/bin/env bash
# test_slots.sh -- one host cannot stop every terminal (issue 8 item 1,
# docs/RELIABILITY.md "Connections"): patrold keeps syncing a real,
# behaving terminal while hostile clients from other loopback addresses
# (127.0.0.2 ...) hold every socket they can; trickled headers are dropped
# at the header deadline; a refusal without a certificate closes its
# connection; refusals are logged, rate-limited per address with a count
# of what was held back; enrolment is throttled per address.
#
# With SLOTS_PHASE=memory (ctest e2e_slots_memory) it checks the memory
# half of item 2 instead: 40 large bodies at once take patrold's peak RSS
# (VmHWM) up by no more than the body budget and some slack. That check
# is skipped (exit 77) under the sanitizers, whose allocator keeps freed
# memory.
. "$(dirname "$0")/lib.sh" "$@"

ATTACK=$E2E_DIR/slots_attack.py
PHASE=${SLOTS_PHASE:-slots}

# restart_server ARGS...: patrold again on the same port, with ARGS.
restart_server() {
    stop_server "$SERVER_PID"
    : >"$SERVER_LOG"
    "$PATROLD" --data "$DATA" serve --listen "127.0.0.1:$PORT" "$@" 2>>"$SERVER_LOG" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    if ! wait_for "$SERVER_LOG" '/event=listening/p' >/dev/null; then
        fail "patrold serve $* did not start"
        show "$SERVER_LOG"
        finish
    fi
}

# timed_sync DESC: one entry, then a sync that must succeed; its wall time
# in milliseconds is appended to $SYNC_MS.
N_ENTRY=0
SYNC_MS=
timed_sync() {
    local t0 t1
    N_ENTRY=$((N_ENTRY + 1))
    pt "$T" inspector add --id "slot-$N_ENTRY" --name "李$N_ENTRY" --cert-no "3213230090$N_ENTRY"
    t0=$(date +%s%N)
    sync_ok "$1" "$T" || return 1
    t1=$(date +%s%N)
    SYNC_MS="$SYNC_MS $(((t1 - t0) / 1000000))"
    jfile_check "$1: the entry was accepted" "$WORK/sync.json" 'j["entries_accepted"] >= 1'
}

section "server and terminal"
start_server server
TOKEN=$(add_device "城管执法终端-11")
T=$WORK/terminal
new_terminal "$T" "城管执法终端-11" "$TOKEN" || finish

if [ "$PHASE" = memory ]; then
    if grep -aq __asan_init "$PATROLD"; then
        echo "SKIP: peak RSS under the sanitizers' allocator says nothing about the budget"
        exit 77
    fi
    section "40 large bodies at once stay within the body budget"
    # SLOTS_SERVE_ARGS: other serve options, for measuring (docs/RELIABILITY.md
    # has the figures with --body-budget 65536, i.e. no budget).
    [ -n "${SLOTS_SERVE_ARGS:-}" ] && restart_server $SLOTS_SERVE_ARGS
    check "a client certificate from the device CA (e2e_wire mkcert)" \
        "$WIRE" mkcert "$DATA" "$WORK/cert"
    "$PY" "$ATTACK" bodies "$PORT" "$WORK/cert/client.crt" "$WORK/cert/device.key" 40 \
        $((8 << 20)) "$SERVER_PID" 1 >"$WORK/bodies.json" 2>"$WORK/bodies.err"
    jfile_checks "$WORK/bodies.json" \
        "the peak RSS of patrold could be read (/proc/PID/status VmHWM)" \
        'j["hwm_before_kib"] is not None and j["hwm_peak_kib"] is not None' \
        "some bodies were held (not all refused)" 'j["held"] >= 1' \
        "the others were answered 503 before their body was read" 'j["busy"] >= 1' \
        "peak RSS grew by at most the 64 MiB budget + 40 MiB (40 x 8 MiB were sent)" \
        'j["hwm_peak_kib"] - j["hwm_before_kib"] <= (64 + 40) * 1024'
    note "bodies: $(cat "$WORK/bodies.json")"
    timed_sync "the terminal syncs after the large bodies"
    stop_server_checked
    finish
fi

timed_sync "a sync before any attack"
BASE_MS=$SYNC_MS
SYNC_MS=
# Short deadlines so that the test stays short; the connection limits
# are the defaults (512 in all, 32 an address, 64 kept for devices).
restart_server --header-timeout 3 --handshake-timeout 2

section "one host holds every socket it can (127.0.0.2)"
"$PY" "$ATTACK" hold "$PORT" 5 127.0.0.2 --bare 600 --tls 40 --trickle 40 \
    >"$WORK/hold1.json" 2>"$WORK/hold1.err" &
HOLD=$!
PIDS="$PIDS $HOLD"
"$PY" "$ATTACK" trickle "$PORT" 127.0.0.3 10 >"$WORK/trickle.json" 2>"$WORK/trickle.err" &
TRICKLE=$!
PIDS="$PIDS $TRICKLE"
sleep 2
for i in 1 2 3; do
    timed_sync "sync $i while 127.0.0.2 holds every socket it can"
done
wait "$HOLD" "$TRICKLE"
jfile_checks "$WORK/hold1.json" \
    "the attacker's connections were closed by the server (per-address cap, deadlines)" \
    'j["closed_by_server"] >= 100' \
    "127.0.0.2 held no more than 32 connections at the end" 'j["held_at_end"] <= 32'
note "one host: $(cat "$WORK/hold1.json"); syncs under attack (ms):$SYNC_MS (before:$BASE_MS)"
N1=$(grep -c 'peer=127\.0\.0\.2:' "$SERVER_LOG")
check "refusals of 127.0.0.2 are logged rate-limited ($N1 lines for 5 s of attack)" \
    test "$N1" -ge 1 -a "$N1" -le 20
# The count rides on the next line the rate limit lets through for that
# address, whatever its code (1 run in 4 under load it was not a
# per_peer_limit line, and the check failed).
check "a logged refusal counts those held back (suppressed=N)" \
    grep -Eq 'peer=127\.0\.0\.2:.* suppressed=[1-9]' "$SERVER_LOG"

jfile_checks "$WORK/trickle.json" \
    "headers trickled a byte at a time: the server ended it" 'j["end"] in ("closed", "reset")' \
    "... at the 3 s header deadline (+ the 2 s close linger), not 120 s" \
    '2.5 <= j["after_s"] <= 6.5' \
    "... with 408" 'j["status"] == 408'

section "20 hosts fill the server (127.0.0.10-29, 30 sockets each)"
SRCS=$(seq -s, -f '127.0.0.%g' 10 29)
SYNC_MS=
"$PY" "$ATTACK" hold "$PORT" 5 "$SRCS" --bare 30 >"$WORK/hold2.json" 2>"$WORK/hold2.err" &
HOLD=$!
PIDS="$PIDS $HOLD"
sleep 2
for i in 1 2 3; do
    timed_sync "sync $i while 600 sockets from 20 hosts fill the server"
done
wait "$HOLD"
note "20 hosts: $(cat "$WORK/hold2.json"); syncs (ms):$SYNC_MS"
check "silent connections were dropped to make room (code=make_room)" \
    grep -q 'event=connection_dropped.*code=make_room' "$SERVER_LOG"
section "a refusal without a certificate ends its connection"
"$PY" "$ATTACK" refuse "$PORT" 127.0.0.4 /v1/reference >"$WORK/refuse.json" 2>"$WORK/refuse.err"
jfile_checks "$WORK/refuse.json" \
    "GET /v1/reference without a certificate: 401" 'j["status"] == 401' \
    "... with Connection: close" 'j["connection_close"]' \
    "... and the server closed the connection at once" 'j["closed"] and j["after_s"] < 2'

section "refusals logged: one line each, rate-limited per address"
"$PY" "$ATTACK" flood "$PORT" 127.0.0.5 40 GET /v1/reference >"$WORK/flood.json" 2>&1
jfile_check "40 requests without a certificate from 127.0.0.5: all 401" "$WORK/flood.json" \
    'j["statuses"] == {"401": 40}'
L1=$(grep -c 'event=refused peer=127\.0\.0\.5:.*code=no_client_cert' "$SERVER_LOG")
check "at most 10 of them logged at once ($L1)" test "$L1" -ge 5 -a "$L1" -le 11
sleep 2.2
"$PY" "$ATTACK" refuse "$PORT" 127.0.0.5 /v1/reference >/dev/null 2>&1
sleep 0.2
L2=$(grep -c 'event=refused peer=127\.0\.0\.5:.*code=no_client_cert' "$SERVER_LOG")
SUP=$(grep -o 'event=refused peer=127\.0\.0\.5:.* suppressed=[0-9]*' "$SERVER_LOG" |
    sed 's/.*suppressed=//' | awk '{s += $1} END {print s + 0}')
check "the next line gets through with suppressed=N: $L2 lines + $SUP held back = 41 refusals" \
    test $((L2 + SUP)) -eq 41
check "each line has the peer, the code, the path and whether a certificate came" \
    grep -Eq 'level=warn event=refused peer=127\.0\.0\.5:[0-9]+ code=no_client_cert status=401 method=GET path=/v1/reference cert=no' \
    "$SERVER_LOG"

section "enrolment throttled per address"
"$PY" "$ATTACK" flood "$PORT" 127.0.0.6 20 POST /v1/enroll >"$WORK/enrol.json" 2>&1
jfile_checks "$WORK/enrol.json" \
    "20 enrolment tries at once from 127.0.0.6: the first few are looked at (400)" \
    '4 <= j["statuses"].get("400", 0) <= 7' \
    "... the rest are refused 429 with Retry-After" \
    'j["statuses"].get("429", 0) >= 13 and j["retry_after"] >= 13'
check "throttled tries are logged (code=throttled)" \
    grep -q 'event=refused peer=127\.0\.0\.6:.*code=throttled status=429' "$SERVER_LOG"
TOKEN2=$(add_device "城管执法终端-12")
new_terminal "$WORK/terminal2" "城管执法终端-12" "$TOKEN2"

section "what the attacks did, in /metrics"
"$WIRE" --url "$URL" --no-cert --save-body "$WORK/metrics.txt" get /metrics >/dev/null 2>&1
check "/metrics answers" test -s "$WORK/metrics.txt"
# Every sample once (Prometheus refuses a scrape that repeats a series),
# each with a number, each family with its TYPE.
"$PY" - "$WORK/metrics.txt" >"$WORK/metrics.check" 2>&1 <<'PYEOF'
import re, sys
seen, types, bad = set(), set(), []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        types.add(line.split()[2])
        continue
    if not line or line.startswith("#"):
        continue
    m = re.fullmatch(r'([a-z_]+)(\{[^}]*\})? (\S+)', line)
    if not m:
        bad.append("unparsed: " + line)
        continue
    float(m.group(3))
    if line.rsplit(" ", 1)[0] in seen:
        bad.append("repeated: " + line)
    seen.add(line.rsplit(" ", 1)[0])
    fam = re.sub(r'_(bucket|sum|count)$', '', m.group(1))
    if m.group(1) not in types and fam not in types:
        bad.append("no TYPE: " + line)
print("\n".join(bad) if bad else "ok")
PYEOF
check "every series once, each parsed, each with its TYPE: $(head -c 300 "$WORK/metrics.check")" \
    test "$(cat "$WORK/metrics.check")" = ok
PER_PEER=$(grep -c 'code=per_peer_limit' "$SERVER_LOG")
check "connections over the per-address cap counted (logged $PER_PEER, suppressed beside)" \
    test "$(metric 'patrold_refusals_total{reason="per_peer_limit"}')" -ge "$PER_PEER" -a "$PER_PEER" -ge 1
check "silent connections dropped to make room counted" \
    test "$(metric patrold_connections_evicted_total)" -ge 1
check "refusal lines held back by the rate limit counted (at least the $SUP above)" \
    test "$(metric patrold_log_lines_suppressed_total)" -ge "$SUP" -a "$SUP" -ge 1

stop_server_checked
finish
