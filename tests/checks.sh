# checks.sh -- the check/report helpers shared by the shell tests
# (tests/cli/lib.sh, tests/e2e/lib.sh). Sourced; $TEST_NAME names the test.
# A test calls check/pass/fail as it goes and finish at the end: exit 0 only
# if no check failed, with the failed checks listed.

N_PASS=0
N_FAIL=0
FAILED_CHECKS=
T_START=$(date +%s%N)

pass() {
    N_PASS=$((N_PASS + 1))
    [ -n "${VERBOSE:-}" ] && echo "ok   - $*"
    return 0
}

fail() {
    N_FAIL=$((N_FAIL + 1))
    FAILED_CHECKS="$FAILED_CHECKS
  - $1"
    echo "FAIL - $*"
    return 1
}

note() { echo "# $*"; }

section() { echo "== $*"; }

# check DESC CMD...: a test that must succeed.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

finish() {
    local ms=$((($(date +%s%N) - T_START) / 1000000))
    echo "$TEST_NAME: $N_PASS checks passed, $N_FAIL failed ($ms ms)"
    if [ "$N_FAIL" -gt 0 ]; then
        echo "failed checks:$FAILED_CHECKS"
        exit 1
    fi
    exit 0
}

# show FILE [LINES]: a file's content for a failure message (at most LINES,
# default 5, of 400 bytes).
show() {
    if [ -s "$1" ]; then
        head -n "${2:-5}" "$1" | cut -c 1-400 | sed 's/^/      | /'
    else
        echo "      | (empty)"
    fi
}

# json_error FILE STATUS CODE: FILE holds exactly one line, the JSON error
# object both tools print under --json: {"ok": false, "exit": STATUS,
# "code": CODE, "error": "..."} (README "Using the terminal tool",
# docs/server.md "Commands").
json_error() {
    "${PY:-python3}" - "$1" "$2" "$3" <<'PYEOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 1, "%d lines on stdout" % len(lines)
j = json.loads(lines[0])
assert set(j) == {"ok", "exit", "code", "error"}, sorted(j)
assert j["ok"] is False and j["exit"] == int(sys.argv[2]) and j["code"] == sys.argv[3], j
assert isinstance(j["error"], str) and j["error"], j
PYEOF
}
