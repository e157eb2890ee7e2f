#!/bin/bash
# test_observe.sh -- what the station's monitoring reads (issue 12 item 3;
# server/app_metrics.c, docs/server.md "Observability"):
# - GET /healthz: 200 "ok" without a client certificate; GET /readyz: 200
#   while the database answers and the disk has room, 503 naming why when
#   the data directory's disk is full (a 4 MB tmpfs: root only; without
#   root that one check is skipped and says so);
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

section "not ready on a full disk"
stop_server_checked
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
