#!/bin/bash
# test_conventions.sh -- the conventions every command of `patrol` keeps
# (issue 12 item 7), over every command and group `patrol --help` lists
# (and every subcommand, method and act their own --help lists), so a new
# command is covered without touching this test:
# - `CMD --help` and `CMD -h`: exit 0, the same usage text on stdout
#   (starting "usage:" in the run's language), nothing on stderr;
# - a group without its subcommand: exit 2, its usage on stderr; a group's
#   --help lists subcommands that each have their own --help;
# - an unknown option: exit 2, one line on stderr naming it, nothing on
#   stdout; with --json the same, and stdout is one JSON object
#   {"ok": false, "exit": 2, "code": "usage", "error": "..."};
# - a refusal with --json: stdout is the same object with the status and
#   the library's stable code (no store: "no_store"; no such matter:
#   "not_found");
# - `patrol --version`, `patrol --help`, `patrol -h` exit 0; `patrol` and an
#   unknown command exit 2.
#
# usage: test_conventions.sh PATH/TO/patrol
. "$(dirname "$0")/lib.sh" "$@"

USAGE=$(L 'usage:' '用法：')
new_store conv || finish
export PATROL_STORE=$STORE

# (json_error FILE STATUS CODE: tests/checks.sh)
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

# leaf CMD...: the checks of one command that takes options.
leaf() {
    local name="$*"
    "$PATROL" "$@" --help >"$WORK/h1" 2>"$WORK/e1"
    local r1=$?
    "$PATROL" "$@" -h >"$WORK/h2" 2>"$WORK/e2"
    local r2=$?
    if [ "$r1" -ne 0 ] || [ -s "$WORK/e1" ] || ! head -n 1 "$WORK/h1" | grep -q "^$USAGE"; then
        fail "patrol $name --help: exit $r1, stderr '$(head -c 200 "$WORK/e1")', first line '$(head -n 1 "$WORK/h1")'"
    elif [ "$r2" -ne 0 ] || ! cmp -s "$WORK/h1" "$WORK/h2" || [ -s "$WORK/e2" ]; then
        fail "patrol $name -h: exit $r2, not the same text as --help"
    else
        pass "patrol $name --help and -h"
    fi
    "$PATROL" "$@" --no-such-option >"$WORK/o" 2>"$WORK/e"
    r1=$?
    if [ "$r1" -ne 2 ] || [ -s "$WORK/o" ] || [ "$(wc -l <"$WORK/e")" -ne 1 ] ||
        ! grep -q -- '--no-such-option' "$WORK/e"; then
        fail "patrol $name --no-such-option: exit $r1 (want 2), stderr '$(head -c 200 "$WORK/e")', stdout $(wc -c <"$WORK/o") bytes"
    else
        pass "patrol $name: an unknown option is a usage error"
    fi
    "$PATROL" "$@" --no-such-option --json >"$WORK/o" 2>"$WORK/e"
    r1=$?
    if [ "$r1" -ne 2 ] || ! json_error "$WORK/o" 2 usage 2>"$WORK/pe"; then
        fail "patrol $name --no-such-option --json: exit $r1, stdout '$(head -c 200 "$WORK/o")' $(tail -n 1 "$WORK/pe" 2>/dev/null)"
    else
        pass "patrol $name --json: a usage error is the JSON error object"
    fi
    NLEAVES=$((NLEAVES + 1))
}

# group G: G's --help lists its subcommands (words at the start of an
# indented line); each is checked as a leaf.
group() {
    local g=$1 subs s
    "$PATROL" "$g" >"$WORK/o" 2>"$WORK/e"
    check "patrol $g (no subcommand): exit 2 ($?), its usage on stderr, nothing on stdout" \
        test "$?" -eq 2 -a ! -s "$WORK/o" -a -s "$WORK/e"
    "$PATROL" "$g" >/dev/null 2>&1
    check "patrol $g: exit 2" test "$?" -eq 2
    "$PATROL" "$g" --json >"$WORK/o" 2>/dev/null
    check "patrol $g --json (no subcommand): the JSON error object" json_error "$WORK/o" 2 usage
    "$PATROL" "$g" no-such-sub >"$WORK/o" 2>"$WORK/e"
    check "patrol $g no-such-sub: exit 2 and a line naming it" \
        test "$?" -eq 2 -a "$(grep -c no-such-sub "$WORK/e")" -ge 1
    "$PATROL" "$g" --help >"$WORK/g" 2>"$WORK/e"
    check "patrol $g --help: exit 0, nothing on stderr" test "$?" -eq 0 -a ! -s "$WORK/e"
    subs=$(awk '/^  [a-z]/ { print $1 }' "$WORK/g" | sort -u)
    check "patrol $g --help lists subcommands ($(echo $subs))" test -n "$subs"
    for s in $subs; do
        leaf "$g" "$s"
    done
    NGROUPS=$((NGROUPS + 1))
}

NLEAVES=0 NGROUPS=0
section "every command of 'patrol --help'"
"$PATROL" --help >"$WORK/top" 2>"$WORK/e"
check "patrol --help: exit 0, nothing on stderr" test "$?" -eq 0 -a ! -s "$WORK/e"
"$PATROL" -h >"$WORK/top2" 2>/dev/null
check "patrol -h: exit 0, the same text" cmp -s "$WORK/top" "$WORK/top2"
CMDS=$(awk '/^  [a-z]/ { print $1 }' "$WORK/top" | sort -u)
for c in $CMDS; do
    "$PATROL" "$c" --help >"$WORK/h" 2>/dev/null
    if grep -Eq "^'patrol $c (SUBCOMMAND|METHOD|ACT) --help'" "$WORK/h"; then
        group "$c"
    else
        leaf "$c"
    fi
done
note "$NLEAVES commands and subcommands in $NGROUPS groups"
check "all of them: at least 40 commands in 10 groups ($NLEAVES, $NGROUPS)" \
    test "$NLEAVES" -ge 40 -a "$NGROUPS" -ge 10

section "the tool itself"
"$PATROL" --version >"$WORK/o" 2>"$WORK/e"
check "patrol --version: exit 0, 'patrol X.Y.Z'" grep -Eqx 'patrol [0-9]+\.[0-9]+\.[0-9]+' "$WORK/o"
"$PATROL" >"$WORK/o" 2>"$WORK/e"
check "patrol (no command): exit 2 ($?), usage on stderr" test "$?" -eq 2 -a -s "$WORK/e"
"$PATROL" no-such-command --json >"$WORK/o" 2>"$WORK/e"
check "patrol no-such-command --json: exit 2 ($?)" test "$?" -eq 2
check "... and the JSON error object" json_error "$WORK/o" 2 usage

section "patrol ui: the touch interface missing, or there and not runnable"
if [ -n "${PATROL_EMULATOR:-}" ]; then
    note "skipped under an emulator: the copied tool would need it too"
else
    # A copy of the tool in a directory of its own: it looks for patrol-ui
    # beside itself, then on PATH (empty here).
    mkdir -p "$WORK/uibin"
    cp "$(readlink -f "$PATROL")" "$WORK/uibin/patrol"
    PATH=/nonexistent "$WORK/uibin/patrol" ui --json >"$WORK/o" 2>"$WORK/e"
    check "no patrol-ui anywhere: exit 1 ($?)" test "$?" -eq 1
    check "... code not_installed" json_error "$WORK/o" 1 not_installed
    printf 'not a program\n' >"$WORK/uibin/patrol-ui"
    chmod 755 "$WORK/uibin/patrol-ui"
    PATH=/nonexistent "$WORK/uibin/patrol" ui --json >"$WORK/o" 2>"$WORK/e"
    check "a patrol-ui that cannot run: exit 1 ($?)" test "$?" -eq 1
    check "... code cannot_start, not not_installed" json_error "$WORK/o" 1 cannot_start
    check "... the system's reason named" grep -q 'Exec format error\|可执行文件格式错误\|格式错误' "$WORK/o"
fi

section "refusals under --json"
"$PATROL" --store "$WORK/none" log --json >"$WORK/o" 2>"$WORK/e"
check "log --json on a missing store: exit 1" test "$?" -eq 1
check "... the JSON error object, code no_store" json_error "$WORK/o" 1 no_store
check "... and the message a person reads on stderr" test -s "$WORK/e"
pt act guidance --matter M-none --content x --topic t --json
check "act --json on an unknown matter: exit 1 ($RC)" test "$RC" -eq 1
check "... the JSON error object, code not_found" json_error "$OUT" 1 not_found
pt matter list --json
check "a command that succeeds prints its own JSON, not an error ($RC)" \
    "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(isinstance(j, dict) and j.get("ok") is False)' "$OUT"

section "help says what is required"
pt correct --help
check "correct --help: --inspector is optional ([--inspector ID])" grep -q '\[--inspector ID\]' "$OUT"

finish
