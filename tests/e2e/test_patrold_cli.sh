#!/bin/bash
# test_patrold_cli.sh -- the conventions every patrold command keeps (issue
# 12 item 7, the server's half), over every command `patrold --help` lists
# and every audit command `patrold audit --help` lists (a new command is
# covered without touching this test):
# - `CMD --help` and `CMD -h`: exit 0, usage on stdout, nothing on stderr
#   (`lists import --help` is help, not a file to open);
# - an unknown option: exit 2, one line on stderr naming it, nothing on
#   stdout; with --json, stdout is one JSON object
#   {"ok": false, "exit": 2, "code": "usage", "error": "..."};
# - a failure under --json: the same object with exit 1 (a missing data
#   directory: code "no_server"; an unknown device: "not_found");
# - `patrold --version`, `--help`, `-h` exit 0; no command and an unknown
#   command exit 2;
# - `device revoke` and `flags --device` take the terminal's own device id
#   (64 hex digits, as `patrol init` and `patrol info` print it) as well as
#   the number;
# - `device list --json` and `user list --json` give ISO 8601 times;
# - as another user (root only; SKIP of that part otherwise): a data
#   directory it cannot read is "cannot read and write", not "no server".
#
# usage: test_patrold_cli.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

start_server server

# (json_error FILE STATUS CODE: tests/checks.sh)

# conventions CMD...: the checks of one command.
NCMDS=0
conventions() {
    local name="$*" r1 r2
    srv "$@" --help >"$WORK/h1" 2>"$WORK/e1"
    r1=$?
    srv "$@" -h >"$WORK/h2" 2>"$WORK/e2"
    r2=$?
    if [ "$r1" -ne 0 ] || [ -s "$WORK/e1" ] || ! head -n 1 "$WORK/h1" | grep -q '^usage:'; then
        fail "patrold $name --help: exit $r1, stderr '$(head -c 200 "$WORK/e1")', first line '$(head -n 1 "$WORK/h1")'"
    elif [ "$r2" -ne 0 ] || ! cmp -s "$WORK/h1" "$WORK/h2" || [ -s "$WORK/e2" ]; then
        fail "patrold $name -h: exit $r2, not the same as --help"
    else
        pass "patrold $name --help and -h"
    fi
    srv "$@" --no-such-option >"$WORK/o" 2>"$WORK/e"
    r1=$?
    if [ "$r1" -ne 2 ] || [ -s "$WORK/o" ] || [ "$(wc -l <"$WORK/e")" -ne 1 ] ||
        ! grep -q -- '--no-such-option' "$WORK/e"; then
        fail "patrold $name --no-such-option: exit $r1 (want 2), stderr '$(head -c 200 "$WORK/e")', stdout $(wc -c <"$WORK/o") bytes"
    else
        pass "patrold $name: an unknown option is a usage error"
    fi
    srv "$@" --no-such-option --json >"$WORK/o" 2>/dev/null
    r1=$?
    if [ "$r1" -ne 2 ] || ! json_error "$WORK/o" 2 usage 2>"$WORK/pe"; then
        fail "patrold $name --no-such-option --json: exit $r1, stdout '$(head -c 200 "$WORK/o")' $(tail -n 1 "$WORK/pe")"
    else
        pass "patrold $name --json: a usage error is the JSON error object"
    fi
    NCMDS=$((NCMDS + 1))
}

section "every command of 'patrold --help' and 'patrold audit --help'"
srv --help >"$WORK/top" 2>"$WORK/e"
check "patrold --help: exit 0, nothing on stderr" test "$?" -eq 0 -a ! -s "$WORK/e"
"$PATROLD" -h >"$WORK/top2" 2>/dev/null
check "patrold -h: the same text" cmp -s "$WORK/top" "$WORK/top2"
# "  device add --name ..." -> "device add"; "user passwd|disable" -> both;
# "audit COMMAND" -> audit's own list.
CMDS=$(awk '/^  [a-z]/ {
    if ($1 == "device" || $1 == "user" || $1 == "lists" || $1 == "config") {
        n = split($2, s, "|"); for (k = 1; k <= n; k++) print $1 " " s[k]
    } else if ($1 != "audit") print $1 }' "$WORK/top" | sort -u)
while IFS= read -r c; do
    # shellcheck disable=SC2086
    conventions $c
done <<<"$CMDS"
srv audit --help >"$WORK/audit" 2>/dev/null
check "patrold audit --help: exit 0" test "$?" -eq 0
for c in $(awk '/^  [a-z]/ { print $1 }' "$WORK/audit"); do
    conventions audit "$c"
done
note "$NCMDS commands"
check "at least 20 commands covered ($NCMDS)" test "$NCMDS" -ge 20

section "the tool itself"
"$PATROLD" --version >"$WORK/o" 2>"$WORK/e"
check "patrold --version: exit 0, 'patrold X.Y.Z'" grep -Eqx 'patrold [0-9]+\.[0-9]+\.[0-9]+' "$WORK/o"
"$PATROLD" >/dev/null 2>"$WORK/e"
check "patrold (no command): exit 2" test "$?" -eq 2
srv no-such-command --json >"$WORK/o" 2>/dev/null
check "patrold no-such-command --json: exit 2 ($?)" test "$?" -eq 2
check "... and the JSON error object" json_error "$WORK/o" 2 usage
"$PATROLD" --data "$WORK/none" device list --json >"$WORK/o" 2>"$WORK/e"
check "device list --json on a missing data directory: exit 1" test "$?" -eq 1
check "... the JSON error object, code no_server" json_error "$WORK/o" 1 no_server

section "device revoke takes either id"
T1=$WORK/t1
new_terminal "$T1" 终端-甲 "$(add_device 终端-甲)" || finish
DEVID=$(sqlite3 -batch "$T1/patrol.db" "SELECT lower(hex(device_id)) FROM device")
NUM=$(device_num 终端-甲)
srv device revoke ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff --json \
    >"$WORK/o" 2>/dev/null
check "an unknown 64-hex id: exit 1, code not_found" json_error "$WORK/o" 1 not_found
srv device revoke "$(echo "$DEVID" | tr a-f A-F)" >"$WORK/o" 2>"$WORK/e"
check "revoked by the terminal's id (upper case too): exit 0 ($(head -c 200 "$WORK/e"))" test "$?" -eq 0
check "... device $NUM is revoked" test "$(sq "SELECT status FROM devices WHERE id = $NUM")" = 2
check "... and no other" test "$(sq "SELECT count(*) FROM devices WHERE status = 2")" = 1

section "ISO 8601 in JSON"
T2=$WORK/t2
new_terminal "$T2" 终端-乙 "$(add_device 终端-乙)" || finish
sync_ok "a sync, so that the device has a last sync" "$T2"
srv device list --json >"$WORK/devs.json" 2>"$WORK/e"
jfile_check "device list --json: last_sync is ISO 8601 UTC, the same instant as last_sync_ms" \
    "$WORK/devs.json" \
    "all((d['last_sync'] == '') == (d['last_sync_ms'] == 0) and (d['last_sync'] == '' or __import__('datetime').datetime.strptime(d['last_sync'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=__import__('datetime').timezone.utc).timestamp() * 1000 == d['last_sync_ms']) for d in j) and any(d['last_sync'] for d in j)"
DEVID2=$(sqlite3 -batch "$T2/patrol.db" "SELECT hex(device_id) FROM device")
srv flags --device "$(device_num 终端-乙)" --json >"$WORK/f1" 2>/dev/null
srv flags --device "$DEVID2" --json >"$WORK/f2" 2>"$WORK/e"
check "flags --device takes the terminal's id too (the same answer as its number)" \
    sh -c "test -s '$WORK/f2' && cmp -s '$WORK/f1' '$WORK/f2'"
srv flags --device 0123 --json >"$WORK/o" 2>/dev/null
check "flags --device with neither id: a usage error" json_error "$WORK/o" 2 usage
echo 'pw-for-the-test-123' | srv user add --name zhao --role supervisor >/dev/null 2>&1
srv user list --json >"$WORK/users.json" 2>"$WORK/e"
jfile_check "user list --json: created and password_changed are ISO 8601" "$WORK/users.json" \
    "all(u['created'].endswith('Z') and 'T' in u['created'] and u['disabled_at'] == '' for u in j) and len(j) == 1"

section "permissions are named"
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
    runuser -u nobody -- "$PATROLD" --data "$DATA" device list >"$WORK/o" 2>"$WORK/e"
    check "another user: exit 1" test "$?" -eq 1
    check "... 'cannot read and write', not 'no server' ($(head -c 200 "$WORK/e"))" \
        grep -q 'cannot read and write.*Permission denied' "$WORK/e"
else
    note "not root: the other-user check is skipped"
fi

stop_server_checked
finish
