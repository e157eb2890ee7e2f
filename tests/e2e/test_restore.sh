#!/bin/bash
# test_restore.sh -- `patrold backup` while a terminal syncs, then a
# restore (docs/server.md "Backup and restore"). The copy is consistent (a
# contiguous chain per device, every evidence file whole and named by its
# hash, the keys), opens as a patrold data directory and passes `audit
# verify`; once restored, the server lacks what was received after the
# copy, and the terminal's next sync sends it again (entries and evidence)
# until the server holds the journal exactly.
#
# usage: test_restore.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

start_server server
T=$WORK/terminal
new_terminal "$T" 终端-备份 "$(add_device 终端-备份)" || finish
rec() { pt "$T" "$@"; [ "$RC" -eq 0 ] || { fail "patrol $*: exit $RC"; show "$ERR"; }; LAST=$(cat "$OUT"); }
rec inspector add --id zhangwei --name 张伟 --cert-no 32132300100
rec subject add --credit-code 91350100M000100Y43 --name 泗阳县某某便利店
rec matter open --subject "$LAST" --inspector zhangwei --domain urban_management \
    --list-item CG-NP-003 --summary 店外摆卖占用人行道
M=$LAST
for i in $(seq 1 3); do
    head -c 400000 /dev/urandom >"$WORK/e$i.bin"
done
for i in 1 2; do
    rec evidence add --matter "$M" --kind document --media-type application/octet-stream "$WORK/e$i.bin"
done
sync_ok "the first entries and two evidence files reach the server" "$T"
for i in $(seq 1 40); do
    rec inspector add --id "ins$i" --name "检查员$i" --cert-no "3213230$((10000 + i))"
done
N1=$(journal_head "$T")

section "backup while the terminal syncs ($N1 entries, 2 a batch)"
PATROL_SYNC_BATCH_ENTRIES=2 "$PATROL" --store "$T" sync --json >"$WORK/sync1.json" 2>"$WORK/sync1.err" &
SYNC_PID=$!
PIDS="$PIDS $SYNC_PID"
# Start the copy once some of the batches are in.
N=0
while [ "$(sq "SELECT count(*) FROM entries")" -lt 8 ] && [ "$N" -lt 100 ]; do sleep 0.05; N=$((N + 1)); done
BK=$WORK/backup
srv backup --out "$BK" >"$WORK/backup.out" 2>"$WORK/backup.err"
BRC=$?
wait "$SYNC_PID"
check "patrold backup exits 0 (got $BRC)" test "$BRC" -eq 0
[ "$BRC" -eq 0 ] || show "$WORK/backup.err"
check "patrold backup says what it copied" grep -Eq '^backup .*: 1 devices, [0-9]+ entries, log size [0-9]+, [0-9]+ evidence files' "$WORK/backup.out"
check "the sync meanwhile succeeded" grep -q '"ok":true' "$WORK/sync1.json"
bq() { sqlite3 -batch "$BK/patrold.db" "$@"; }
K=$(bq "SELECT count(*) FROM entries")
note "the copy holds $K of $N1 entries"
check "the copy holds a contiguous chain 1..$K, its head where the device row says" \
    test "$(bq "SELECT max(seq) = count(*) AND max(seq) = (SELECT last_seq FROM devices) FROM entries")" = 1
check "the copy passes SQLite's integrity check" test "$(bq "PRAGMA integrity_check")" = ok
check "the copy is not in WAL mode (one file)" test "$(bq "PRAGMA journal_mode")" = delete
for f in server.key server.crt ca.key ca.crt receipt.key; do
    check "the copy holds $f, byte for byte, mode $(stat -c %a "$DATA/$f")" \
        test "$(stat -c %a "$BK/$f")" = "$(stat -c %a "$DATA/$f")" -a -n "$(cmp "$DATA/$f" "$BK/$f" && echo same)"
done
BADEV=0
for f in "$BK"/evidence/??/*; do
    [ -e "$f" ] || continue
    [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || BADEV=$((BADEV + 1))
done
check "every evidence file of the copy hashes to its name" test "$BADEV" -eq 0
check "every evidence file the copy's database says complete is in the copy" \
    test -z "$(bq "SELECT sha256 FROM evidence WHERE complete_ms > 0" | while read -r s; do [ -f "$BK/evidence/${s:0:2}/$s" ] || echo "$s"; done)"
"$PATROLD" --data "$BK" audit verify --json >"$WORK/verify.json" 2>"$WORK/verify.err"
check "patrold audit verify passes on the copy (exit $?)" test "$?" -eq 0
check "a second backup into the same directory is refused" \
    test -n "$(srv backup --out "$BK" 2>&1 >/dev/null | grep 'must not exist')"

check "the copy holds the two evidence files" grep -q ', 2 evidence files (800000 bytes)' "$WORK/backup.out"

section "after the copy: more entries and evidence reach the live server"
rec evidence add --matter "$M" --kind document --media-type application/octet-stream "$WORK/e3.bin"
for i in $(seq 41 44); do
    rec inspector add --id "ins$i" --name "检查员$i" --cert-no "3213230$((10000 + i))"
done
sync_ok "the terminal syncs to the live server" "$T"
N2=$(journal_head "$T")
check "the live server holds all $N2 entries" test "$(server_rows "$T" | wc -l)" -eq "$N2"

section "restore the copy"
stop_server "$SERVER_PID"
mv "$DATA" "$DATA.lost"
cp -a "$BK" "$DATA"
"$PATROLD" --data "$DATA" serve --listen "127.0.0.1:$PORT" 2>>"$SERVER_LOG" &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
N=0
while ! "$WIRE" --url "$URL" --no-cert get /metrics 2>/dev/null | grep -q '"status":200' && [ "$N" -lt 100 ]; do
    sleep 0.1
    N=$((N + 1))
done
check "the restored server holds $K entries, fewer than the terminal's receipts cover ($N2)" \
    test "$(sq "SELECT count(*) FROM entries")" -eq "$K" -a "$K" -lt "$N2"
rec inspector add --id ins45 --name 检查员45 --cert-no 321323010045
N3=$(journal_head "$T")
pt "$T" sync --json
cp "$OUT" "$WORK/sync3.json"
if [ "$RC" -ne 0 ]; then
    pt "$T" sync --json # a terminal may need a second sync to learn the server lost entries
    cp "$OUT" "$WORK/sync4.json"
fi
journal_rows "$T" >"$WORK/j.rows"
server_rows "$T" >"$WORK/s.rows"
if cmp -s "$WORK/j.rows" "$WORK/s.rows"; then
    pass "the terminal sent again what the restored server lacked: it holds all $N3 entries, byte for byte"
else
    fail "after restore the server holds $(wc -l <"$WORK/s.rows") of the terminal's $N3 entries"
    show "$WORK/sync3.json"
    show "$ERR"
fi
check "every evidence file is received again" \
    test "$(sq "SELECT count(*) FROM evidence_refs WHERE received_ms > 0")" -eq 3
stop_server_checked
finish
