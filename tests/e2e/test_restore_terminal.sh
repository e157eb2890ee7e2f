#!/bin/bash
# test_restore_terminal.sh -- a server restored from a backup holds less
# than it once acknowledged: the terminal's next `patrol sync` finds that
# out by itself (it asks the server what it holds before sending), says
# so, and resends every lost entry and its evidence at once, without a
# new entry having to be recorded first; the server then holds every
# entry and evidence file exactly once, and `patrol status` claims no more
# than the server holds.
#
#   sync (entries 1..N1, one photo) -> stop the server, copy its data
#   directory (the backup) -> start -> record more (a second photo) ->
#   sync (1..N2) -> stop -> put the copy back -> start -> patrol sync
#
# usage: test_restore_terminal.sh PATROLD PATROL E2E_WIRE
. "$(dirname "$0")/lib.sh" "$@"

# serve_again: patrold on $DATA on the same port as before (the terminal
# keeps the URL it enrolled with).
serve_again() {
    "$PATROLD" --data "$DATA" serve --listen "127.0.0.1:$PORT" 2>>"$SERVER_LOG" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    local n=100
    while [ "$n" -gt 0 ]; do
        [ "$(grep -c "event=listening addr=127.0.0.1:$PORT" "$SERVER_LOG")" -ge "$1" ] && break
        sleep 0.1
        n=$((n - 1))
    done
    check "patrold serves $DATA again on port $PORT" test "$n" -gt 0
}
jget() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

start_server srv
TOKEN=$(add_device t1)
T=$WORK/t1
new_terminal "$T" t1 "$TOKEN" || finish
DEV=$(device_num t1)

section "recorded and synced before the backup"
pt_ok "inspector add" "$T" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
pt_ok "subject add" "$T" subject add --credit-code 91350100M000100Y43 --name 泗阳县某某便利店
pt_ok "matter open" "$T" matter open --subject "$LAST" --inspector zhangwei --domain urban_management \
    --summary 店外摆卖
M=$LAST
pt_ok "consent" "$T" consent --matter "$M" --accept --form oral
{ printf '\211PNG\r\n\032\n'; head -c 40000 /dev/urandom; } >"$WORK/before.png"
pt_ok "evidence add (before the backup)" "$T" evidence add --matter "$M" --kind photo "$WORK/before.png"
sync_ok "first sync" "$T"
N1=$(jget "$WORK/sync.json" 'j["acked_seq"]')
check "first sync: all acknowledged ($N1)" test "$N1" -ge 6

section "the backup: the data directory copied while patrold is stopped"
stop_server "$SERVER_PID"
cp -a "$DATA" "$WORK/backup"
serve_again 2

section "recorded and synced after the backup"
pt_ok "act reminder" "$T" act reminder --matter "$M" --form oral --source inspection \
    --rules 城市市容和环境卫生管理条例 --content 说明占道经营的规定
pt_ok "leaflet" "$T" leaflet --matter "$M" --title 门前三包责任告知书 --copies 1
{ printf '\211PNG\r\n\032\n'; head -c 60000 /dev/urandom; } >"$WORK/after.png"
pt_ok "evidence add (after the backup)" "$T" evidence add --matter "$M" --kind photo "$WORK/after.png"
SHA_AFTER=$(sha256sum "$WORK/after.png" | cut -d' ' -f1)
sync_ok "second sync" "$T"
N2=$(jget "$WORK/sync.json" 'j["acked_seq"]')
check "second sync: entries up to $N2 acknowledged, 3 more than $N1" test "$N2" -eq $((N1 + 3))
check "the server has the photo recorded after the backup" test -n "$(find "$DATA/evidence" -name "$SHA_AFTER")"

section "the server is restored from the backup"
stop_server "$SERVER_PID"
rm -rf "$DATA"
cp -a "$WORK/backup" "$DATA"
serve_again 3
check "the restored server holds entries 1-$N1 of the terminal" \
    test "$(sq "SELECT count(*) || '/' || max(seq) FROM entries WHERE device = $DEV")" = "$N1/$N1"
check "the restored server lacks the photo recorded after the backup" \
    test -z "$(find "$DATA/evidence" -name "$SHA_AFTER")"
pt_ok "status before the sync" "$T" status --json
cp "$OUT" "$WORK/status.before.json"
HEAD=$(jget "$WORK/status.before.json" 'j["head_seq"]')

section "patrol sync, nothing new recorded"
pt_ok "patrol sync after the restore" "$T" sync
check "the sync says the server holds less than it acknowledged, and resends it" \
    grep -Eq "only up to $N1, not up to $N2 .*3 entries" "$OUT"
check "the sync then reports entries up to $N2 acknowledged, 3 new" \
    grep -q "synced: entries up to $N2 acknowledged (3 new, 0 already held), 1 evidence" "$OUT"
show "$OUT" 3
pt_ok "status after the sync" "$T" status --json
jfile_check "status: head $HEAD (no entry recorded), all $N2 acknowledged, no evidence pending" \
    "$OUT" "j['head_seq'] == $HEAD == $N2 and j['acked_seq'] == $N2 and j['pending_entries'] == 0 and j['pending_evidence_files'] == 0"
check "the server holds every entry of the terminal exactly once (1-$N2)" \
    test "$(sq "SELECT count(*) || '/' || count(DISTINCT seq) || '/' || max(seq) FROM entries WHERE device = $DEV")" = "$N2/$N2/$N2"
check "the server holds the photo recorded after the backup again, complete" \
    test "$(sq "SELECT complete_ms > 0 FROM evidence WHERE sha256 = '$SHA_AFTER'")" = 1
check "the file's bytes are the photo's" \
    cmp "$(find "$DATA/evidence" -name "$SHA_AFTER" | head -n 1)" "$WORK/after.png"
check "no quarantined fork" test "$(sq "SELECT count(*) FROM forks")" = 0
sync_ok "a further sync" "$T"
jfile_check "a further sync finds nothing lost and sends nothing" "$WORK/sync.json" \
    "j['server_lost'] == 0 and j['server_seq'] == $N2 and j['entries_accepted'] == 0 and j['evidence_uploaded'] == 0"

section "restored again, and the sync cannot finish: status claims only what the server holds"
stop_server "$SERVER_PID"
rm -rf "$DATA"
cp -a "$WORK/backup" "$DATA"
serve_again 4
# The sync learns what the server holds, then its first batch cannot get
# through (the link is cut once, 100 bytes into the request bodies, and
# there is no second try).
PATROL_SYNC_ATTEMPTS=1 PATROL_SYNC_CUT_AFTER=100 "$PATROL" --store "$T" sync --json \
    >"$WORK/cut.json" 2>"$ERR"
RC=$?
check "that sync fails as a network failure (exit 4, got $RC)" test "$RC" -eq 4
jfile_check "the sync reports what the server lost" "$WORK/cut.json" \
    "j['server_lost'] == 3 and j['server_seq'] == $N1"
pt_ok "status" "$T" status --json
# (The cut may come after the server has the batch: it may hold more than
# the terminal knows, never less.)
SRV_MAX=$(sq "SELECT max(seq) FROM entries WHERE device = $DEV")
jfile_check "status: acknowledged up to what the server said it holds ($N1), not $N2; 3 pending" "$OUT" \
    "j['acked_seq'] == $N1 <= $SRV_MAX and j['pending_entries'] == 3 and j['pending_evidence_files'] == 1"
sync_ok "sync once more" "$T"
check "and the server holds everything exactly once again" \
    test "$(sq "SELECT count(*) || '/' || count(DISTINCT seq) FROM entries WHERE device = $DEV")" = "$N2/$N2"

section "restored again, with an entry recorded since: the first batch's answer tells"
stop_server "$SERVER_PID"
rm -rf "$DATA"
cp -a "$WORK/backup" "$DATA"
serve_again 5
pt_ok "leaflet recorded after the restore" "$T" leaflet --matter "$M" --title 整改通知 --copies 1
sync_ok "sync with the new entry" "$T"
jfile_check "it reports what the server lost and resends it with the new entry" "$WORK/sync.json" \
    "j['server_lost'] == $N2 - $N1 and j['server_seq'] == $N1 and j['acked_seq'] == $N2 + 1 and j['entries_accepted'] == $N2 + 1 - $N1 and j['evidence_uploaded'] == 1"
check "the server holds every entry exactly once (1-$((N2 + 1)))" \
    test "$(sq "SELECT count(*) || '/' || count(DISTINCT seq) || '/' || max(seq) FROM entries WHERE device = $DEV")" = "$((N2 + 1))/$((N2 + 1))/$((N2 + 1))"
check "and the photo recorded after the backup, complete" \
    test "$(sq "SELECT complete_ms > 0 FROM evidence WHERE sha256 = '$SHA_AFTER'")" = 1

stop_server_checked
finish
