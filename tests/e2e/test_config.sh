#!/bin/bash
# test_config.sh -- patrold's configuration file (issue 12 item 2;
# server/config.c, docs/server.md "Configuration"):
# - `patrold config check` prints the effective settings: the defaults;
#   a file's values; options on the command line over the file; the file
#   from $PATROLD_CONFIG; its output read back gives the same output;
# - every kind of bad file is refused with exit 2 and one line naming the
#   file and line: unknown key, unknown section, a value out of range (the
#   option's own sentence), a line that is not `key = value`, a missing
#   file; under --json the JSON error object;
# - `serve` runs with the file's settings (its listening line shows them,
#   the option given beside overrides one) and refuses to start on a bad
#   file, serving nothing.
#
# usage: test_config.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

unset PATROLD_CONFIG
C=$WORK/conf
mkdir -p "$C"

# value FILE KEY: the value of KEY in config check's output FILE.
value() { sed -n "s/^$2 = //p" "$1" | head -n 1; }

section "config check: defaults, a file, options over the file"
"$PATROLD" config check >"$WORK/def" 2>"$WORK/e"
check "with no file: exit 0 ($?)" test "$?" -eq 0
check "... listen on the device port of every address by default (0.0.0.0:8443)" \
    test "$(value "$WORK/def" listen)" = "0.0.0.0:8443"
check "... the defaults (max_per_peer 32, evidence_quota 50 GiB, partial_expiry 7 d)" \
    test "$(value "$WORK/def" max_per_peer)/$(value "$WORK/def" evidence_quota)/$(value "$WORK/def" partial_expiry)" \
    = "32/53687091200/604800s"
cat >"$C/a.conf" <<'CONF'
; the station's settings
[serve]
listen = 127.0.0.1:0
workers = 3

[limits]
max_per_peer = 7
handshake_timeout = 4

[evidence]
evidence_quota = 10G
partial_expiry = 2d
CONF
"$PATROLD" config check --config "$C/a.conf" >"$WORK/a" 2>"$WORK/e"
check "a file: exit 0 ($(head -c 200 "$WORK/e"))" test -s "$WORK/a" -a ! -s "$WORK/e"
check "... its values (listen, workers 3, max_per_peer 7, 10 GiB, 2 d)" \
    test "$(value "$WORK/a" listen)/$(value "$WORK/a" workers)/$(value "$WORK/a" max_per_peer)/$(value "$WORK/a" evidence_quota)/$(value "$WORK/a" partial_expiry)" \
    = "127.0.0.1:0/3/7/10737418240/172800s"
check "... and the defaults for the rest (max_connections 512)" \
    test "$(value "$WORK/a" max_connections)" = 512
"$PATROLD" config check --config "$C/a.conf" --max-per-peer 9 --workers 5 >"$WORK/b" 2>/dev/null
check "options override the file (max_per_peer 9, workers 5)" \
    test "$(value "$WORK/b" max_per_peer)/$(value "$WORK/b" workers)" = "9/5"
PATROLD_CONFIG=$C/a.conf "$PATROLD" config check >"$WORK/env" 2>/dev/null
check "PATROLD_CONFIG names the file" test "$(value "$WORK/env" max_per_peer)" = 7
grep -v '^#' "$WORK/b" >"$C/round.conf"
"$PATROLD" config check --config "$C/round.conf" >"$WORK/round" 2>"$WORK/e"
check "config check's output read back gives the same settings ($(head -c 200 "$WORK/e"))" \
    cmp -s <(grep -v '^#' "$WORK/b") <(grep -v '^#' "$WORK/round")

section "bad files: exit 2, file and line named"
# bad NAME CONTENT LINE WHAT: a file NAME holding CONTENT is refused naming LINE and WHAT.
bad() {
    local f=$C/$1 rc
    printf '%b' "$2" >"$f"
    "$PATROLD" config check --config "$f" >"$WORK/o" 2>"$WORK/e"
    rc=$?
    if [ "$rc" -eq 2 ] && [ ! -s "$WORK/o" ] && [ "$(wc -l <"$WORK/e")" -eq 1 ] &&
        grep -q "$f:$3: .*$4" "$WORK/e"; then
        pass "$1: refused at line $3"
    else
        fail "$1: exit $rc, stderr '$(head -c 300 "$WORK/e")' (want '$f:$3: ...$4')"
    fi
}
bad unknown-key.conf '[limits]\nmax_per_peer = 3\nmax_per_peers = 3\n' 3 "unknown key 'max_per_peers' in \[limits\]"
bad key-elsewhere.conf '[serve]\nmax_per_peer = 3\n' 2 "unknown key 'max_per_peer' in \[serve\]"
bad unknown-section.conf '[limits]\nmax_per_peer = 3\n[tls]\ncipher = x\n' 4 "unknown section \[tls\]"
bad out-of-range.conf '[limits]\nmax_per_peer = 0\n' 2 "1..1000000"
bad bad-size.conf '[evidence]\nevidence_quota = lots\n' 2 "not a size"
bad bad-workers.conf '[serve]\nworkers = 100\n' 2 "1..64"
bad not-key-value.conf '[serve]\nlisten 8443\n' 2 "not a 'key = value' line"
bad dash-key.conf '[limits]\nmax-per-peer = 3\n' 2 "unknown key"
bad log-format.conf '[serve]\nlog_format = xml\n' 2 "log_format 'xml': logfmt or json"
"$PATROLD" config check --config "$C/none.conf" >"$WORK/o" 2>"$WORK/e"
check "a missing file: exit 2 ($?), named" grep -q "$C/none.conf: cannot read it" "$WORK/e"
"$PATROLD" config check --config "$C/unknown-key.conf" --json >"$WORK/o" 2>/dev/null
jfile_check "under --json: the JSON error object" "$WORK/o" \
    "j == {'ok': False, 'exit': 2, 'code': 'usage', 'error': j['error']} and 'unknown-key.conf:3' in j['error']"

section "serve runs with the file's settings"
DATA=$WORK/srv
srv init --name config >/dev/null 2>&1
SERVER_LOG=$WORK/serve.log
"$PATROLD" --data "$DATA" serve --config "$C/a.conf" --max-connections 300 2>"$SERVER_LOG" &
SPID=$!
PIDS="$PIDS $SPID"
L=$(wait_for "$SERVER_LOG" '/event=listening/p')
check "serve --config: listening with workers=3 max_per_peer=7 and the option's max_connections=300" \
    sh -c "echo '$L' | grep -q 'workers=3 max_connections=300 max_per_peer=7 '"
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
printf '[serve]\nlisten = 127.0.0.1:0\nlog_format = json\n' >"$C/json.conf"
SERVER_LOG=$WORK/json.log
"$PATROLD" --data "$DATA" serve --config "$C/json.conf" 2>"$SERVER_LOG" &
SPID=$!
PIDS="$PIDS $SPID"
L=$(wait_for "$SERVER_LOG" '/listening/p')
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
check "log_format = json: every line one JSON object with ts, level and event ($(head -c 160 "$SERVER_LOG"))" \
    "$PY" -c '
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
sys.exit(not (ls and all({"ts", "level"} <= set(l) for l in ls) and
              any(l.get("event") == "listening" and l.get("server") == "config" for l in ls)))' "$SERVER_LOG"
"$PATROLD" --data "$DATA" serve --config "$C/out-of-range.conf" --listen 127.0.0.1:0 \
    >"$WORK/o" 2>"$WORK/e" &
SPID=$!
sleep 1
if kill -0 "$SPID" 2>/dev/null; then
    kill "$SPID"
    fail "serve with a bad file is still running"
else
    wait "$SPID"
    check "serve with a bad file: exit 2 ($?), nothing served" test "$?" -eq 2
    check "... the file and line named" grep -q "out-of-range.conf:2:" "$WORK/e"
fi

finish
