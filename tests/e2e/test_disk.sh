#!/bin/bash
# test_disk.sh -- patrold on a 20 MB data volume (a tmpfs: root only; SKIP,
# exit 77, otherwise). A device uploading 30 MB of evidence must not stop
# every device's entries: evidence stops at the free-space reserve (507
# insufficient_storage, logged with device and reason) while batches of
# entries are still accepted. With no reserve evidence takes the disk up
# to the last chunk that fits: the next is refused (507, logged with reason
# disk_full), and the partial file expires, giving the space back.
#
# usage: test_disk.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: mounting a 20 MB tmpfs needs root"
    exit 77
fi
VOL=$WORK/vol
mkdir -p "$VOL"
if ! mount -t tmpfs -o size=20m tmpfs "$VOL" 2>"$WORK/mount.err"; then
    echo "SKIP: cannot mount a tmpfs here: $(head -c 200 "$WORK/mount.err")"
    exit 77
fi
umount_vol() { umount "$VOL" 2>/dev/null || umount -l "$VOL" 2>/dev/null; }
# The servers stop, the volume goes, then lib.sh's cleanup.
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; umount_vol; cleanup' EXIT

DATA=$VOL/data
SERVER_LOG=$WORK/server.log
srv init --name "e2e disk" >"$WORK/init.log" 2>&1 && srv lists import "$REFERENCE" >>"$WORK/init.log" 2>&1 ||
    { fail "patrold init on the tmpfs"; show "$WORK/init.log"; finish; }
serve() { # serve OPTIONS...: patrold on $DATA, port in $PORT (0 at first)
    "$PATROLD" --data "$DATA" serve --listen "127.0.0.1:${PORT:-0}" "$@" 2>>"$SERVER_LOG" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    PORT=$(wait_for "$SERVER_LOG" 's/.*event=listening addr=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p') ||
        { fail "patrold did not start"; show "$SERVER_LOG"; finish; }
    URL=https://127.0.0.1:$PORT
}
free_kb() { df -k --output=avail "$VOL" | tail -n 1 | tr -d ' '; }
serve --evidence-max-file 64M --evidence-reserve 4M
pass "patrold serving a 20 MB tmpfs with a 4 MiB reserve"

A=$WORK/terminal-a
B=$WORK/terminal-b
new_terminal "$A" 终端A "$(add_device 终端A)" || finish
new_terminal "$B" 终端B "$(add_device 终端B)" || finish
NUM_A=$(device_num 终端A)
rec() { local d=$1; shift; pt "$d" "$@"; [ "$RC" -eq 0 ] || { fail "patrol $*: exit $RC"; show "$ERR"; }; LAST=$(cat "$OUT"); }
rec "$A" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
rec "$A" subject add --credit-code 91350100M000100Y43 --name 泗阳县某某便利店
rec "$A" matter open --subject "$LAST" --inspector zhangwei --domain urban_management \
    --list-item CG-NP-003 --summary 店外摆卖占用人行道
M=$LAST
head -c 30000000 /dev/urandom >"$WORK/video.bin"
rec "$A" evidence add --matter "$M" --kind video --media-type video/mp4 "$WORK/video.bin"
SHA=$(sha256sum "$WORK/video.bin" | cut -d' ' -f1)

section "30 MB of evidence on 20 MB, with the reserve"
pt "$A" sync --json
check "the sync reports the evidence not taken (exit $RC, not 0)" test "$RC" -ne 0 -a "$RC" -lt 128
check "A's entries are all stored" test "$(server_rows "$A" | wc -l)" -eq "$(journal_head "$A")"
check "the reserve is kept: $(free_kb) KiB free (at least 3 MiB)" test "$(free_kb)" -ge 3072
check "the refusal is logged with device, hash and reason disk_reserve" \
    test "$(grep -c "event=evidence_refused device=$NUM_A sha256=$SHA reason=disk_reserve" "$SERVER_LOG")" -ge 1
check "no storage error was logged" test "$(grep -c 'level=error' "$SERVER_LOG")" -eq 0
rec "$B" inspector add --id liuna --name 刘娜 --cert-no 32132300117
rec "$B" inspector add --id wangwu --name 王五 --cert-no 32132300199
sync_ok "another device's entries are still accepted" "$B"
check "B's entries are stored" test "$(server_rows "$B" | wc -l)" -eq "$(journal_head "$B")"
rec "$A" inspector add --id liuna --name 刘娜 --cert-no 32132300117
pt "$A" sync --json
check "and A's new entry too" test "$(server_rows "$A" | wc -l)" -eq "$(journal_head "$A")"

section "no reserve: the disk fills, the refusal is logged, the partial file expires"
stop_server "$SERVER_PID"
serve --evidence-max-file 64M --evidence-reserve 0 --partial-expiry 2s
pt "$A" sync --json
check "the sync fails on the full disk (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 128
check "the full disk is logged with device, hash and reason disk_full" \
    test "$(grep -c "event=evidence_refused device=$NUM_A sha256=$SHA reason=disk_full" "$SERVER_LOG")" -ge 1
N=0
while [ -n "$(find "$DATA/evidence/partial" -type f)" ] && [ "$N" -lt 80 ]; do sleep 0.1; N=$((N + 1)); done
check "the idle partial file expired within 8 s" test -z "$(find "$DATA/evidence/partial" -type f)"
# The file is gone from the directory; its blocks come back once no
# handler holds it open any more (a PATCH still failing on it under load).
N=0
while [ "$(free_kb)" -lt 15360 ] && [ "$N" -lt 80 ]; do sleep 0.1; N=$((N + 1)); done
check "the space is back within 8 s more: $(free_kb) KiB free (at least 15 MiB)" test "$(free_kb)" -ge 15360
rec "$B" inspector add --id zhaoliu --name 赵六 --cert-no 32132300200
sync_ok "entries are accepted again" "$B"
check "B's entries are stored" test "$(server_rows "$B" | wc -l)" -eq "$(journal_head "$B")"
stop_server_checked
finish
