# shellcheck shell=bash
# lib.sh -- helpers for the end-to-end sync tests (a real patrold on
# 127.0.0.1, real TLS, the patrol CLI and e2e_wire).
#
# A test script starts with
#     . "$(dirname "$0")/lib.sh" "$@"      # PATROLD PATROL WIRE, as ctest passes them
# and ends with `finish`. Checks do not stop the script: every failure is
# reported with what was seen, and the exit status says whether any failed.
#
#   start_server NAME            init a server data dir $WORK/NAME (reference
#                                lists imported), serve it on 127.0.0.1:0;
#                                sets DATA, URL, PORT, SERVER_PID
#   srv ARGS...                  patrold --data $DATA ARGS...
#   add_device NAME [DEPT]       prints a one-time enrolment token
#   new_terminal DIR NAME TOKEN [URL]
#                                patrol init + enroll (URL defaults to $URL)
#   pt DIR ARGS...               patrol --store DIR ARGS: $OUT, $ERR, $RC
#   wire ARGS...                 e2e_wire ARGS: the JSON line in $WOUT, exit in $RC
#   jcheck DESC PYEXPR           PYEXPR (Python, `j` is the JSON of $WOUT) must be true
#   jfile_check DESC FILE PYEXPR the same for a JSON file
#   server_state                 what a refused request must not change
#   expect_unchanged DESC BEFORE the server state equals BEFORE
#   check DESC CMD...            CMD must succeed
#   sq SQL                       sqlite3 on the server database
#   metric NAME                  a value from /metrics
#
# Every process started here is killed by its PID at exit.

set -u

if [ $# -lt 3 ] || [ ! -x "$1" ] || [ ! -x "$2" ] || [ ! -x "$3" ]; then
    echo "usage: $0 PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire" >&2
    exit 2
fi
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
PATROLD=$(abs "$1")
PATROL=$(abs "$2")
WIRE=$(abs "$3")
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REFERENCE=$E2E_DIR/../data/reference-sample.json
TEST_NAME=$(basename "$0" .sh)
. "$(dirname "${BASH_SOURCE[0]}")/../checks.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/patrol-e2e-$TEST_NAME.XXXXXX") || exit 1
export LC_ALL=C.UTF-8
# English messages from patrol and patrold, which the checks grep: gettext
# reads LANGUAGE before LC_ALL unless the locale is plain C.
unset LANGUAGE
unset PATROL_STORE
# No proxy from the environment may stand between the tools and 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY='*'
# The system's Python when there is one: version-manager shims cost 100 ms
# a start, and the checks start it often. Standard library only.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
# A sync that cannot reach the server gives up in seconds, not minutes.
export PATROL_SYNC_ATTEMPTS=${PATROL_SYNC_ATTEMPTS:-4} PATROL_SYNC_BACKOFF_MS=${PATROL_SYNC_BACKOFF_MS:-50}
export PATROL_SYNC_TIMEOUT_S=${PATROL_SYNC_TIMEOUT_S:-60}

PIDS=

cleanup() {
    local pid
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null
    done
    for pid in $PIDS; do
        wait "$pid" 2>/dev/null
    done
    if [ -n "${KEEP_WORK:-}" ]; then
        echo "# work directory kept: $WORK"
    else
        [ "$N_FAIL" -gt 0 ] && echo "# (KEEP_WORK=1 keeps the work directory for a look)"
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the server -----------------------------------------------------------

srv() { "$PATROLD" --data "$DATA" "$@"; }
sq() { sqlite3 -batch "$DATA/patrold.db" "$@"; }

# wait_for FILE SED-EXPR [TENTHS]: print the first match of SED-EXPR in FILE
# (sed -n with p), waiting up to TENTHS tenths of a second (default 100).
wait_for() {
    local file=$1 expr=$2 n=${3:-100} v=
    while [ "$n" -gt 0 ]; do
        v=$(sed -n "$expr" "$file" 2>/dev/null | head -n 1)
        [ -n "$v" ] && { echo "$v"; return 0; }
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

start_server() {
    DATA=$WORK/$1
    SERVER_LOG=$WORK/$1.log
    if ! srv init --name "e2e $1" >"$WORK/$1.init" 2>&1; then
        fail "patrold init $1"
        show "$WORK/$1.init"
        finish
    fi
    if ! srv lists import "$REFERENCE" >>"$WORK/$1.init" 2>&1; then
        fail "patrold lists import $REFERENCE"
        show "$WORK/$1.init"
        finish
    fi
    # patrold itself in the background (not a shell function), so that
    # $! is its PID.
    "$PATROLD" --data "$DATA" serve --listen 127.0.0.1:0 2>"$SERVER_LOG" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    if ! PORT=$(wait_for "$SERVER_LOG" 's/.*event=listening addr=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p'); then
        fail "patrold serve did not report listening within 10 s"
        show "$SERVER_LOG"
        finish
    fi
    URL=https://127.0.0.1:$PORT
    pass "patrold $1 serving on 127.0.0.1:$PORT"
}

# stop_server PID: SIGTERM, then wait (bounded: 10 s, then SIGKILL) for it
# to exit; its exit status in STOP_RC.
stop_server() {
    local pid=$1 n=100
    kill "$pid" 2>/dev/null
    while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
        sleep 0.1
        n=$((n - 1))
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    STOP_RC=$?
}

# stop_server_checked: stop patrold and check what an admin would see: a
# clean exit on SIGTERM, no error and no sanitizer report in its log.
stop_server_checked() {
    stop_server "$SERVER_PID"
    check "patrold exits with status 0 on SIGTERM (got $STOP_RC)" test "$STOP_RC" -eq 0
    check "patrold logged no error" test "$(grep -c 'level=error' "$SERVER_LOG")" -eq 0
    if grep -Eq 'Sanitizer|runtime error:' "$SERVER_LOG"; then
        fail "patrold's log holds a sanitizer report"
        grep -E -m 3 'Sanitizer|runtime error:' "$SERVER_LOG" | cut -c 1-200 | sed 's/^/      | /'
    else
        pass "no sanitizer report in patrold's log"
    fi
}

add_device() {
    srv device add --name "$1" --department "${2:-SY-CGJ}" 2>/dev/null
}

# Device id (integer) of the server's device named NAME.
device_num() {
    sq "SELECT id FROM devices WHERE name = '$1'"
}

# Everything a refused request must leave as it was: stored entries (with
# their bytes), quarantined forks, stored answers, the evidence index,
# devices and tokens, and the evidence files (complete and partial).
server_state() {
    # A query that fails would make every snapshot equal: that is a failure.
    sq -bail "SELECT 'entry', device, seq, hex(hash), length(entry), hex(sig) FROM entries ORDER BY device, seq;
        SELECT 'fork', device, seq, hex(hash), hex(accepted_hash) FROM forks ORDER BY id;
        SELECT 'ack', device, hex(batch_id), hex(ack) FROM acks ORDER BY device, batch_id;
        SELECT 'evidence', sha256, complete_ms > 0 FROM evidence ORDER BY sha256;
        SELECT 'ref', sha256, device, size FROM evidence_refs ORDER BY sha256, device;
        SELECT 'device', id, status, hex(key_id), last_seq, hex(head) FROM devices ORDER BY id;
        SELECT 'token', hex(id), device, used_ms > 0 FROM tokens ORDER BY id;" ||
        echo "SERVER-STATE-QUERY-FAILED $RANDOM"
    (cd "$DATA/evidence" && find . -type f -printf '%P %s\n' | sort)
}

expect_unchanged() {
    local desc=$1 before=$2 after
    after=$WORK/.state.after
    server_state >"$after"
    if cmp -s "$before" "$after"; then
        pass "$desc: nothing stored"
    else
        fail "$desc: the server's stored state changed"
        diff "$before" "$after" | head -n 8 | cut -c 1-200 | sed 's/^/      | /'
    fi
}

# metric NAME: the value of the first /metrics line starting with NAME
# (NAME may include a {label}).
metric() {
    local m
    m=$("$WIRE" --url "$URL" --no-cert --save-body "$WORK/.metrics.$$" get /metrics >/dev/null 2>&1 &&
        awk -v n="$1" 'index($0, n " ") == 1 { print $2; exit }' "$WORK/.metrics.$$")
    rm -f "$WORK/.metrics.$$"
    echo "${m:-}"
}

# ---- terminals --------------------------------------------------------------

OUT=$WORK/.out
ERR=$WORK/.err
WOUT=$WORK/.wout
RC=0

pt() {
    local dir=$1
    shift
    "$PATROL" --store "$dir" "$@" >"$OUT" 2>"$ERR"
    RC=$?
    return 0
}

# pt_ok DESC DIR ARGS...: patrol must succeed; its stdout (trimmed) in $LAST.
pt_ok() {
    local desc=$1
    shift
    pt "$@"
    LAST=$(cat "$OUT") # read by the test scripts
    export LAST
    if [ "$RC" -ne 0 ]; then
        fail "$desc: exit $RC: patrol $*"
        show "$ERR"
        return 1
    fi
    pass "$desc"
}

new_terminal() {
    local dir=$1 name=$2 token=$3 url=${4:-$URL}
    pt "$dir" init --department SY-CGJ --device-name "$name"
    if [ "$RC" -ne 0 ]; then
        fail "patrol init $name: exit $RC"
        show "$ERR"
        return 1
    fi
    pt "$dir" enroll --server "$url" --token "$token"
    if [ "$RC" -ne 0 ]; then
        fail "patrol enroll $name: exit $RC"
        show "$ERR"
        return 1
    fi
    pass "terminal $name enrolled"
}

# A sync that must succeed; its --json summary is left in $WORK/sync.json.
sync_ok() {
    local desc=$1 dir=$2
    shift 2
    "$PATROL" --store "$dir" sync --json "$@" >"$WORK/sync.json" 2>"$ERR"
    RC=$?
    if [ "$RC" -ne 0 ]; then
        fail "$desc: patrol sync exit $RC"
        show "$ERR"
        show "$WORK/sync.json"
        return 1
    fi
    pass "$desc"
}

# The terminal's journal, one line per entry: seq, hash, entry bytes and
# signature in hex.
journal_rows() {
    sqlite3 -batch "$1/patrol.db" \
        "SELECT seq, hex(hash), hex(entry), hex(sig) FROM journal ORDER BY seq"
}

# The server's rows for the device whose key id is the terminal's device id.
server_rows() {
    local dev
    dev=$(sqlite3 -batch "$1/patrol.db" "SELECT hex(device_id) FROM device")
    sq "SELECT e.seq, hex(e.hash), hex(e.entry), hex(e.sig) FROM entries e
        JOIN devices d ON d.id = e.device WHERE hex(d.key_id) = '$dev' ORDER BY e.seq"
}

journal_head() { sqlite3 -batch "$1/patrol.db" "SELECT max(seq) FROM journal"; }

wire() {
    "$WIRE" "$@" >"$WOUT" 2>"$WORK/.wire.err"
    RC=$?
    if [ "$RC" -ne 0 ]; then
        fail "e2e_wire $* failed (exit $RC): $(head -c 300 "$WORK/.wire.err")"
        echo '{}' >"$WOUT"
    fi
    return 0
}

# jcheck DESC PYEXPR: evaluate PYEXPR with j = the JSON line of the last wire.
jcheck() { jfile_checks "$WOUT" "$1" "$2"; }
jfile_check() { jfile_checks "$2" "$1" "$3"; }

# jchecks DESC PYEXPR [DESC PYEXPR]...: several checks on $WOUT, one Python.
jchecks() { jfile_checks "$WOUT" "$@"; }

# jfile_checks FILE DESC PYEXPR [DESC PYEXPR]...: each PYEXPR (j = the JSON
# in FILE; entries() = its ack's (seq, status, reason) list) must be true.
jfile_checks() {
    local file=$1 res r shown=0
    shift
    res=$("$PY" - "$file" "$@" <<'EOF' 2>"$WORK/.py.err"
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    j = {}
    print("cannot read %s: %s" % (sys.argv[1], e), file=sys.stderr)
def entries(j=j):
    return [(e["seq"], e["status"], e["reason"]) for e in j.get("ack", {}).get("entries", [])]
out = []
for expr in sys.argv[3::2]:
    try:
        out.append("1" if eval(expr) else "0")
    except Exception as e:
        print("%s: %r" % (expr[:80], e), file=sys.stderr)
        out.append("0")
print(" ".join(out))
EOF
)
    if [ -z "$res" ]; then
        fail "$1: could not evaluate the check (python)"
        show "$WORK/.py.err"
        return 0
    fi
    for r in $res; do
        if [ "$r" = 1 ]; then
            pass "$1"
        else
            fail "$1  [$(tr -s ' ' <<<"$2" | cut -c 1-300)]"
            if [ "$shown" -eq 0 ]; then
                cut -c 1-700 "$file" | head -n 3 | sed 's/^/      | /'
                [ -s "$WORK/.py.err" ] && tail -n 2 "$WORK/.py.err" | sed 's/^/      | /'
            fi
            shown=1
        fi
        shift 2
    done
}

# jget FILE PYEXPR: print a value.
jget() {
    "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
