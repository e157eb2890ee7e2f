#!/bin/bash
# test_observe.sh -- what the station's monitoring reads (issue 12 item 3;
# server/app_metrics.c, docs/server.md "Observability"):
# - GET /healthz: 200 "ok" without a client certificate; GET /readyz: 200
#   while the database answers and the disk has room, 503 naming why when
#   the data directory's disk is full (a 4 MB tmpfs: root only; without
#   root that one check is skipped and says so);
# - serve --access-log: a line per request answered;
# - serve --metrics-listen --metrics-allow: the same /metrics, /healthz and
#   /readyz over plain HTTP, to the allowed addresses only (others refused
#   at the connection and logged), nothing else (404, 405);
# - GET /metrics is valid Prometheus text (parsed by Debian's
#   python3-prometheus-client), every family with HELP and TYPE, and says
#   what happened: the build, the process, devices by status, evidence
#   pending, free disk, the database's size, requests by route and status.
#
# usage: test_observe.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

start_server server
# get PATH: GET PATH without a certificate; e2e_wire's JSON line (status)
# in $WOUT, the body in $WORK/body.
get() {
    rm -f "$WORK/body"
    "$WIRE" --url "$URL" --no-cert --save-body "$WORK/body" get "$1" >"$WOUT" 2>"$WORK/.wire.err"
}

section "health"
get /healthz
jfile_check "GET /healthz without a certificate: 200" "$WOUT" "j['status'] == 200"
check "... body 'ok'" test "$(cat "$WORK/body")" = ok
get /readyz
jfile_check "GET /readyz: 200 (the database answers, the disk has room)" "$WOUT" "j['status'] == 200"

section "one terminal enrolled and synced, another device pending"
T=$WORK/t1
new_terminal "$T" 终端-甲 "$(add_device 终端-甲)" || finish
add_device 终端-乙 >/dev/null # pending: never enrolled
pt "$T" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
sync_ok "a first sync" "$T"

section "/metrics"
"$WIRE" --url "$URL" --no-cert --save-body "$WORK/metrics.txt" get /metrics >/dev/null 2>&1
check "/metrics answers" test -s "$WORK/metrics.txt"
"$PY" - "$WORK/metrics.txt" >"$WORK/metrics.json" 2>"$WORK/parse.err" <<'PYEOF'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
fams = {}
for f in text_string_to_metric_families(text):
    fams[f.name] = {"type": f.type, "help": f.documentation,
                    "samples": [[s.name, s.labels, s.value] for s in f.samples]}
helps = [l.split()[2] for l in text.splitlines() if l.startswith("# HELP ")]
types = [l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")]
print(json.dumps({"fams": fams, "helps": helps, "types": types}))
PYEOF
check "parsed by prometheus_client ($(head -c 300 "$WORK/parse.err"))" test -s "$WORK/metrics.json"
# v NAME LABELS: the value of the sample NAME{LABELS} (LABELS a Python dict).
jfile_checks "$WORK/metrics.json" \
    "every family has HELP and TYPE, once each" \
    "sorted(j['helps']) == sorted(j['types']) and len(set(j['types'])) == len(j['types']) and all(f['help'] for f in j['fams'].values())" \
    "patrold_build_info names the version" \
    "any(s[1].get('version', '').count('.') == 2 and s[2] == 1 for s in j['fams']['patrold_build_info']['samples'])" \
    "process metrics: resident memory, CPU seconds, open descriptors" \
    "j['fams']['process_resident_memory_bytes']['samples'][0][2] > 1e6 and 'process_cpu_seconds' in j['fams'] and j['fams']['process_open_fds']['samples'][0][2] > 3" \
    "devices by status: 1 active, 1 pending, 0 revoked" \
    "{s[1]['status']: s[2] for s in j['fams']['patrold_devices']['samples']} == {'active': 1, 'pending': 1, 'revoked': 0}" \
    "evidence pending: 0 files" \
    "j['fams']['patrold_evidence_pending_files']['samples'][0][2] == 0" \
    "free disk and database size are there and positive" \
    "j['fams']['patrold_disk_free_bytes']['samples'][0][2] > 0 and j['fams']['patrold_database_bytes']['samples'][0][2] > 10000" \
    "requests by route and status: batches 200, enroll 200, healthz 200, readyz 200" \
    "all(any(s[1] == {'route': r, 'status': '200'} and s[2] >= 1 for s in j['fams']['patrold_http_requests']['samples']) for r in ('batches', 'enroll', 'healthz', 'readyz'))" \
    "the ingest histogram counts the sync's batches" \
    "any(s[0] == 'patrold_ingest_seconds_count' and s[2] >= 1 for s in j['fams']['patrold_ingest_seconds']['samples'])"
get /v1/reference
jfile_check "a request without a certificate: 401" "$WOUT" "j['status'] == 401"
check "... counted by route and status (reference, 401)" \
    sh -c "\"$WIRE\" --url '$URL' --no-cert --save-body '$WORK/m2' get /metrics >/dev/null 2>&1 && grep -q 'patrold_http_requests_total{route=\"reference\",status=\"401\"} 1' '$WORK/m2'"

section "/metrics over plain HTTP, for the addresses allowed"
stop_server_checked
SERVER_LOG=$WORK/mh.log
"$PATROLD" --data "$DATA" serve --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --metrics-allow 127.0.0.2,10.0.0.0/8 --access-log 2>"$SERVER_LOG" &
MHPID=$!
PIDS="$PIDS $MHPID"
MPORT=$(wait_for "$SERVER_LOG" 's/.*event=metrics_listening .* port=\([0-9]*\).*/\1/p')
URL=https://127.0.0.1:$(wait_for "$SERVER_LOG" 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p')
get /healthz
check "--access-log: a line for the request (peer, method, path, status, bytes, ms, cert)" \
    grep -Eq 'event=access peer=127\.0\.0\.1:[0-9]+ method=GET path=/healthz status=200 bytes=3 ms=[0-9]+ cert=no' "$SERVER_LOG"
check "serve --metrics-listen: listening (port ${MPORT:-?})" test -n "$MPORT"
# plain FROM METHOD PATH: a plain HTTP request from address FROM; prints
# the status (or "closed" when the server refused the connection).
plain() {
    "$PY" - "$1" "$MPORT" "$2" "$3" <<'PYEOF'
import socket, sys
src, port, method, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket()
s.settimeout(10)
s.bind((src, 0))
s.connect(("127.0.0.1", port))
s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % (method, path)).encode())
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except (ConnectionResetError, socket.timeout):
    pass
if not data:
    print("closed")
else:
    head, _, body = data.partition(b"\r\n\r\n")
    sys.stdout.write(head.split(b" ")[1].decode() + "\n")
    with open("BODY", "wb") as f:
        f.write(body)
PYEOF
}
(cd "$WORK" && plain 127.0.0.2 GET /metrics >"$WORK/st")
check "from an allowed address: GET /metrics 200" test "$(cat "$WORK/st")" = 200
check "... the same families as on the device port" grep -q '^# HELP patrold_devices ' "$WORK/BODY"
(cd "$WORK" && plain 127.0.0.2 GET /readyz >"$WORK/st")
check "... GET /readyz 200" test "$(cat "$WORK/st")" = 200
(cd "$WORK" && plain 127.0.0.2 GET /v1/reference >"$WORK/st")
check "... anything else 404 (nothing of the device API)" test "$(cat "$WORK/st")" = 404
(cd "$WORK" && plain 127.0.0.2 POST /metrics >"$WORK/st")
check "... POST 405" test "$(cat "$WORK/st")" = 405
(cd "$WORK" && plain 127.0.0.3 GET /metrics >"$WORK/st")
check "from an address not allowed: the connection is refused, no answer" test "$(cat "$WORK/st")" = closed
check "... and logged" grep -q 'event=refused peer=127.0.0.3 code=metrics_not_allowed' "$SERVER_LOG"
kill "$MHPID"
wait "$MHPID" 2>/dev/null
"$PATROLD" --data "$DATA" serve --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 >/dev/null 2>"$WORK/e"
check "--metrics-listen without an allow list: refused, exit 2 ($?)" grep -q "needs --metrics-allow" "$WORK/e"
"$PATROLD" --data "$DATA" serve --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --metrics-allow 300.1.2.3 >/dev/null 2>"$WORK/e"
check "a bad address in the allow list: refused, named" grep -q "'300.1.2.3' is not an IPv4 or IPv6 address" "$WORK/e"

section "not ready on a full disk"
if [ "$(id -u)" -ne 0 ]; then
    note "not root: the full-disk readiness check is skipped"
    finish
fi
VOL=$WORK/vol
mkdir -p "$VOL"
if ! mount -t tmpfs -o size=4m tmpfs "$VOL" 2>"$WORK/mount.err"; then
    note "cannot mount a tmpfs here ($(head -c 200 "$WORK/mount.err")): the full-disk readiness check is skipped"
    finish
fi
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; umount "$VOL" 2>/dev/null || umount -l "$VOL"; cleanup' EXIT
DATA=$VOL/data
SERVER_LOG=$WORK/vol.log
srv init --name vol >/dev/null 2>&1
"$PATROLD" --data "$DATA" serve --listen 127.0.0.1:0 2>"$SERVER_LOG" &
PIDS="$PIDS $!"
PORT=$(wait_for "$SERVER_LOG" 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p')
URL=https://127.0.0.1:$PORT
get /readyz
jfile_check "with room: ready" "$WOUT" "j['status'] == 200"
dd if=/dev/zero of="$VOL/filler" bs=64k 2>/dev/null
get /readyz
jfile_check "the disk full: /readyz 503" "$WOUT" "j['status'] == 503"
check "... saying the disk is full ($(head -c 200 "$WORK/body"))" grep -q "disk is full" "$WORK/body"
get /healthz
jfile_check "... while /healthz still answers 200 (the process is alive)" "$WOUT" "j['status'] == 200"
rm -f "$VOL/filler"
get /readyz
jfile_check "room again: ready again" "$WOUT" "j['status'] == 200"
finish
