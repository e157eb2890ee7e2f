#!/bin/bash
# test_identity.sh -- a device's first entry (device.init: department,
# device name, key) must be what its enrolment recorded: a terminal
# initialised as another department or under another name than the one
# `patrold device add` registered is refused at entry 1 (reason identity,
# logged with the device and the field), and nothing of it is stored.
#
# usage: test_identity.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

start_server server

# expect_identity DESC DIR FIELD: patrol sync of DIR fails, entry 1 is
# rejected with reason identity, the server stores nothing of the device
# and logs the refusal naming FIELD.
expect_identity() {
    local desc=$1 dir=$2 field=$3 num
    num=$(sq "SELECT id FROM devices WHERE hex(key_id) = '$(sqlite3 -batch "$dir/patrol.db" "SELECT hex(device_id) FROM device")'")
    pt "$dir" sync --json
    check "$desc: patrol sync fails (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 128
    pt "$dir" status --json
    jfile_check "$desc: the terminal shows entry 1 rejected for its identity" "$OUT" \
        "j['rejected']['seq'] == 1 and j['rejected']['reason'] == 'identity'"
    check "$desc: the server stores no entry of device $num" \
        test "$(sq "SELECT count(*) FROM entries WHERE device = $num")" -eq 0
    check "$desc: the refusal is logged with device and field" \
        test "$(grep -c "event=identity_refused device=$num field=$field " "$SERVER_LOG")" -ge 1
}

section "enrolled as 终端-甲, initialised as 终端-乙"
T1=$WORK/t1
TOK=$(add_device 终端-甲 SY-CGJ)
pt "$T1" init --department SY-CGJ --device-name 终端-乙
pt "$T1" enroll --server "$URL" --token "$TOK"
check "the terminal enrols (the server cannot see its journal yet)" test "$RC" -eq 0
expect_identity "another device name" "$T1" device_name

section "enrolled for SY-SCJGJ, initialised for SY-CGJ"
T2=$WORK/t2
TOK=$(add_device 终端-丙 SY-SCJGJ)
pt "$T2" init --department SY-CGJ --device-name 终端-丙
pt "$T2" enroll --server "$URL" --token "$TOK"
check "the terminal enrols, warned that the department differs" test "$RC" -eq 0
expect_identity "another department" "$T2" department

section "the same identity: accepted"
T3=$WORK/t3
new_terminal "$T3" 终端-丁 "$(add_device 终端-丁)" || finish
pt "$T3" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
sync_ok "a terminal whose first entry matches its enrolment syncs" "$T3"
check "its entries are stored" test "$(server_rows "$T3" | wc -l)" -eq "$(journal_head "$T3")"

stop_server_checked
finish
