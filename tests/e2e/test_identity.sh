#!/bin/bash
# test_identity.sh -- a device's identity (department, device name, key) is
# the one its enrolment recorded:
# - `patrol enroll` with a token issued for another device name or another
#   department is refused (403 identity) before a certificate is issued:
#   the token stays unused, the device stays pending, the refusal is logged
#   naming the field, the terminal says what to ask the station for, and a
#   token for its real identity then enrols it and it syncs;
# - a terminal that gets past enrolment all the same (its store's device
#   row edited after init, as an old or modified terminal could) has entry 1
#   (device.init) refused at ingest (reason identity, logged with the device
#   and the field), and nothing of it is stored.
#
# usage: test_identity.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

start_server server

# enrol_refused DESC DIR TOKEN DEVNAME FIELD: patrol enroll of DIR with TOKEN
# (issued for DEVNAME) is refused for its identity; nothing changes on the
# server but the log line naming FIELD.
enrol_refused() {
    local desc=$1 dir=$2 tok=$3 dname=$4 field=$5 num before
    num=$(device_num "$dname")
    before=$(sq "SELECT status, hex(coalesce(key_id, '')), enrolled_ms FROM devices WHERE id = $num;
                 SELECT used_ms FROM tokens WHERE device = $num")
    pt "$dir" enroll --server "$URL" --token "$tok"
    check "$desc: patrol enroll is refused (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 128
    check "$desc: the terminal says the token is for another identity and what to ask for" \
        grep -q "patrold device add --name" "$ERR"
    check "$desc: the device stays pending and its token unused" \
        test "$(sq "SELECT status, hex(coalesce(key_id, '')), enrolled_ms FROM devices WHERE id = $num;
                    SELECT used_ms FROM tokens WHERE device = $num")" = "$before"
    check "$desc: before, the device was pending with an unused token" \
        test "$before" = "$(printf '0||0\n0')"
    check "$desc: the refusal is logged with device and field" \
        test "$(grep -c "event=enrol_identity_refused device=$num field=$field " "$SERVER_LOG")" -ge 1
    pt "$dir" status --json
    jfile_check "$desc: the terminal is not enrolled" "$OUT" "j['enrolled'] is False"
}

section "a token for 终端-甲, a terminal initialised as 终端-乙"
T1=$WORK/t1
TOK=$(add_device 终端-甲 SY-CGJ)
pt "$T1" init --department SY-CGJ --device-name 终端-乙
enrol_refused "another device name" "$T1" "$TOK" 终端-甲 device_name
pt "$T1" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
pt_ok "with a token for 终端-乙 it enrols" "$T1" enroll --server "$URL" --token "$(add_device 终端-乙)"
sync_ok "and syncs" "$T1"
check "its entries are stored" test "$(server_rows "$T1" | wc -l)" -eq "$(journal_head "$T1")"
pt_ok "the first token still enrols the terminal it was for" "$WORK/t1b" init --department SY-CGJ \
    --device-name 终端-甲
pt_ok "(终端-甲 enrolled)" "$WORK/t1b" enroll --server "$URL" --token "$TOK"

section "a token for SY-SCJGJ, a terminal initialised for SY-CGJ"
T2=$WORK/t2
TOK=$(add_device 终端-丙 SY-SCJGJ)
pt "$T2" init --department SY-CGJ --device-name 终端-丙
enrol_refused "another department" "$T2" "$TOK" 终端-丙 department

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

section "past enrolment with an edited store: entry 1 refused at ingest"
T3=$WORK/t3
pt "$T3" init --department SY-CGJ --device-name 终端-戊
sqlite3 -batch "$T3/patrol.db" "UPDATE device SET name = '终端-己'"
pt_ok "a terminal whose store now says 终端-己 enrols with 终端-己's token" "$T3" enroll \
    --server "$URL" --token "$(add_device 终端-己)"
expect_identity "another device name in entry 1" "$T3" device_name
T4=$WORK/t4
pt "$T4" init --department SY-CGJ --device-name 终端-庚
sqlite3 -batch "$T4/patrol.db" "UPDATE device SET department = 'SY-SCJGJ'"
pt_ok "a terminal whose store now says SY-SCJGJ enrols with its token" "$T4" enroll \
    --server "$URL" --token "$(add_device 终端-庚 SY-SCJGJ)"
expect_identity "another department in entry 1" "$T4" department

section "the same identity: accepted"
T5=$WORK/t5
new_terminal "$T5" 终端-丁 "$(add_device 终端-丁)" || finish
pt "$T5" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
sync_ok "a terminal whose first entry matches its enrolment syncs" "$T5"
check "its entries are stored" test "$(server_rows "$T5" | wc -l)" -eq "$(journal_head "$T5")"

stop_server_checked
finish
