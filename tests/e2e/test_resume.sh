#!/bin/bash
# test_resume.sh -- links that drop. A terminal syncs to a real patrold
# through cutproxy.py, which closes the connection after a chosen number of
# bytes: in the middle of a batch, right after the server handled a batch
# (the answer is lost), in the middle of a 20 MB evidence file. Whatever
# the cut, a later sync ends with the server holding every entry and every
# evidence byte exactly once, and an evidence upload resumes from the
# server's offset instead of starting again.
#
# usage: test_resume.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

CHUNK=1048576 # bytes per PATCH (PATROL_SYNC_CHUNK_BYTES): 20 chunks for 20 MB
export PATROL_SYNC_BACKOFF_MS=20 PATROL_SYNC_BATCH_ENTRIES=8 PATROL_SYNC_CHUNK_BYTES=$CHUNK

section "server, cutting proxy, terminal"
start_server server
CUTS=$WORK/cuts
PLOG=$WORK/proxy.log
"$PY" "$E2E_DIR/cutproxy.py" --target "127.0.0.1:$PORT" --port-file "$WORK/proxy.port" \
    --control "$CUTS" --log "$PLOG" 2>"$WORK/proxy.err" &
PIDS="$PIDS $!"
if ! PPORT=$(wait_for "$WORK/proxy.port" 's/^\([0-9][0-9]*\)$/\1/p'); then
    fail "cutproxy.py did not start"
    show "$WORK/proxy.err"
    finish
fi
PURL=https://127.0.0.1:$PPORT
T=$WORK/terminal
new_terminal "$T" "终端-断线" "$(add_device 终端-断线)" "$PURL" || finish
NUM_T=$(device_num 终端-断线)

# cuts RULE...: the rules for the next connections through the proxy.
PLOG_FROM=1
cuts() { echo "$*" >"$CUTS"; touch "$PLOG"; PLOG_FROM=$(($(wc -l <"$PLOG") + 1)); }
plog() { tail -n "+$PLOG_FROM" "$PLOG"; }
# proxy_sum FIELD [cut=1]: sum of FIELD (up, up_app, down) over the
# connections logged since the last `cuts`; with a second argument, only
# those the proxy cut.
proxy_sum() {
    awk -v f="$1" -v only="${2:-}" '{
        ok = (only == "" || index($0, only) > 0)
        for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f && ok) s += kv[2] }
    } END { print s + 0 }' <(plog)
}
proxy_cut_count() { plog | grep -c 'cut=1'; }

# sync_fails DESC: patrol sync must fail as "server unreachable" (exit 4)
# with one line on stderr.
sync_fails() {
    "$PATROL" --store "$T" sync >"$OUT" 2>"$ERR"
    RC=$?
    if [ "$RC" -eq 4 ] && [ "$(grep -c . "$ERR")" -eq 1 ]; then
        pass "$1: patrol sync gives up with exit 4 (unreachable, nothing lost) and one line"
    else
        fail "$1: patrol sync: exit $RC (expected 4) or not one line on stderr"
        show "$ERR"
    fi
    [ -n "${VERBOSE:-}" ] && show "$ERR"
}

# exactly_once DESC: the server holds the terminal's journal, each entry
# once, byte for byte.
exactly_once() {
    journal_rows "$T" >"$WORK/journal.rows"
    server_rows "$T" >"$WORK/server.rows"
    if [ -s "$WORK/journal.rows" ] && cmp -s "$WORK/journal.rows" "$WORK/server.rows"; then
        pass "$1: the server holds all $(wc -l <"$WORK/journal.rows") entries, byte for byte"
    else
        fail "$1: the server's entries differ from the journal ($(wc -l <"$WORK/server.rows") of $(wc -l <"$WORK/journal.rows") rows)"
    fi
}

rec() { pt "$T" "$@"; [ "$RC" -eq 0 ] || { fail "patrol $*: exit $RC"; show "$ERR"; }; LAST=$(cat "$OUT"); }
record_round() { # record_round CREDIT-CODE NAME N: N+3 more entries
    local i
    rec subject add --credit-code "$1" --name "某某商店$2"
    rec matter open --subject "$LAST" --inspector zhangwei --domain urban_management \
        --list-item CG-NP-003 --summary "第$2家店外摆卖，首次发现"
    M=$LAST
    rec consent --matter "$M" --accept --form oral # before any method
    for i in $(seq "$3"); do
        rec act guidance --matter "$M" --topic "门前三包$i" --content "第$i次现场指导：将商品搬回店内，讲解门前三包责任" \
            --materials 告知书
    done
}

rec inspector add --id zhangwei --name 张伟 --cert-no 32132300100
record_round 91350100M000100Y43 1 24
HEAD0=$(journal_head "$T")
note "the terminal holds $HEAD0 entries (batches of $PATROL_SYNC_BATCH_ENTRIES)"

section "cut in the middle of the first batch, every try"
cuts a600 a600 a600
PATROL_SYNC_ATTEMPTS=3 sync_fails "a cut 600 bytes into each request"
check "three connections were cut, each 600 bytes into the requests ($(proxy_cut_count) cut)" \
    test "$(proxy_cut_count)" -eq 3 -a "$(proxy_sum up_app cut=1)" -eq 1800
check "the server's database answers (entries table readable)" test -n "$(sq 'SELECT count(*) FROM entries')"
check "the server stored nothing of a half-received batch" test -z "$(server_rows "$T")"
pt "$T" status --json
jfile_check "the terminal still counts all $HEAD0 entries as pending" "$OUT" \
    "j['pending_entries'] == $HEAD0 and j['acked_seq'] == 0"

section "a sync that survives cuts at many points, answers lost included"
# a: cut N bytes into the requests; r: let the server handle the request
# that crosses N, then cut before its answer reaches the terminal. (A cut
# on a reused connection before any answer byte may also be retried by
# libcurl itself, on a fresh connection: that takes the next rule too.)
cuts a150 r300 a1100 r1 a2500 r2600
REPLAYS0=$(metric patrold_batch_replays_total)
PATROL_SYNC_ATTEMPTS=10 sync_ok "patrol sync through 6 cuts" "$T"
check "the proxy cut 6 connections during that sync ($(proxy_cut_count)), every rule used" \
    test "$(proxy_cut_count)" -eq 6 -a ! -s "$CUTS"
jfile_check "sync --json: $HEAD0 accepted once, none duplicate, retries counted" "$WORK/sync.json" \
    "j['entries_accepted'] == $HEAD0 and j['entries_duplicate'] == 0 and j['acked_seq'] == $HEAD0 and j['retries'] >= 1"
exactly_once "after the cuts"
check "every entry was accepted once by the server (patrold_entries_accepted_total = $HEAD0)" \
    test "$(metric patrold_entries_accepted_total)" = "$HEAD0"
check "lost answers were given again from the server's store (batch replays: $REPLAYS0 -> $(metric patrold_batch_replays_total))" \
    test "$(metric patrold_batch_replays_total)" -gt "${REPLAYS0:-0}"
check "one stored answer per batch: $(sq "SELECT count(*) FROM acks WHERE device = $NUM_T") for $(((HEAD0 + 7) / 8)) batches" \
    test "$(sq "SELECT count(*) FROM acks WHERE device = $NUM_T")" -eq $(((HEAD0 + 7) / 8))

section "more entries, cut, then a clean sync"
record_round 91320100MA1N4K7P25 2 6
HEAD1=$(journal_head "$T")
cuts r200 r200
PATROL_SYNC_ATTEMPTS=2 sync_fails "the answer to the first batch lost twice"
check "the server handled that batch although its answers were lost ($(sq "SELECT last_seq FROM devices WHERE id = $NUM_T") > $HEAD0)" \
    test "$(sq "SELECT last_seq FROM devices WHERE id = $NUM_T")" -gt "$HEAD0"
pt "$T" status --json
jfile_check "the terminal does not count them as acknowledged without a receipt" "$OUT" \
    "j['acked_seq'] == $HEAD0 and j['pending_entries'] == $((HEAD1 - HEAD0))"
cuts
sync_ok "a clean sync" "$T"
exactly_once "after the lost answers"
check "every entry accepted once by the server ($HEAD1)" \
    test "$(metric patrold_entries_accepted_total)" = "$HEAD1"

section "a 20 MB evidence file, cut in the middle"
BIG=$WORK/bodycam.mp4
head -c 20000000 /dev/urandom >"$BIG"
SIZE=$(stat -c %s "$BIG")
SHA=$(sha256sum "$BIG" | cut -d' ' -f1)
rec evidence add --matter "$M" --kind video --media-type video/mp4 --caption 执法记录仪 "$BIG"
BYTES0=$(metric patrold_evidence_bytes_total)
IN0=$(metric 'patrold_bytes_total{dir="in"}')
# The second rule (a0: cut as soon as the handshake is done) stops the
# fresh connection libcurl opens by itself to retry the cut PATCH.
cuts a6000000 a0 a0
PATROL_SYNC_ATTEMPTS=1 sync_fails "a cut 6 MB into the upload"
UP1=$(proxy_sum up_app)
wire --store "$T" --url "$URL" head "$SHA"
OFF=$(jget "$WOUT" 'j.get("upload_offset", -1)')
jcheck "HEAD after the cut: the server holds part of the file ($OFF of $SIZE bytes)" \
    "j['status'] == 200 and 0 < j['upload_offset'] < $SIZE and j['upload_length'] == $SIZE and not j['upload_complete']"
check "only whole chunks were stored: the offset $OFF is a multiple of $CHUNK" test $((OFF % CHUNK)) -eq 0
# Each device uploads into its own partial file, DEVICEID-SHA256.
PARTIAL=$(ls "$DATA"/evidence/partial/*-"$SHA" 2>/dev/null | head -n 1)
check "the partial file on the server is $OFF bytes" \
    test "$(stat -c %s "$PARTIAL" 2>/dev/null)" = "$OFF"
cmp -s -n "$OFF" "$BIG" "$PARTIAL"
check "the partial file holds the first $OFF bytes of the evidence" test $? -eq 0
check "the server counted the stored bytes once ($(($(metric patrold_evidence_bytes_total) - BYTES0)) = $OFF)" \
    test $(($(metric patrold_evidence_bytes_total) - BYTES0)) -eq "$OFF"

cuts
sync_ok "the next sync" "$T"
jfile_check "it uploads the evidence file" "$WORK/sync.json" "j['evidence_uploaded'] == 1 and j['evidence_pending'] == 0"
UP2=$(proxy_sum up_app)
check "the next sync sent about the rest only: $UP2 bytes for $((SIZE - OFF)) left (at most 512 KiB more)" \
    test "$UP2" -ge $((SIZE - OFF)) -a "$UP2" -le $((SIZE - OFF + 524288))
check "both syncs together sent $((UP1 + UP2)) bytes for $SIZE: at most the file + one chunk + 512 KiB" \
    test $((UP1 + UP2)) -le $((SIZE + CHUNK + 524288))
check "the server stored each byte once (evidence bytes +$(($(metric patrold_evidence_bytes_total) - BYTES0)) = $SIZE)" \
    test $(($(metric patrold_evidence_bytes_total) - BYTES0)) -eq "$SIZE"
IN=$(($(metric 'patrold_bytes_total{dir="in"}') - IN0))
check "the server received $IN bytes in all for $SIZE: at most the file + one chunk + 512 KiB, not twice" \
    test "$IN" -ge "$SIZE" -a "$IN" -le $((SIZE + CHUNK + 524288))
check "the evidence on the server hashes right" \
    test "$(sha256sum "$DATA/evidence/${SHA:0:2}/$SHA" 2>/dev/null | cut -d' ' -f1)" = "$SHA"
check "no partial upload is left" test -d "$DATA/evidence/partial" -a -z "$(ls "$DATA"/evidence/partial/ 2>/dev/null)"
check "its hash came from the chunks as they arrived, across the cut (not a second read of 20 MB)" \
    grep -q "event=evidence_complete device=[0-9]* sha256=$SHA bytes=$SIZE hashed=chunks" "$SERVER_LOG"
exactly_once "after the evidence"

section "an evidence upload that loses answers and is cut, in one sync"
head -c 4500000 /dev/urandom >"$WORK/clip.mp4"
SHA2=$(sha256sum "$WORK/clip.mp4" | cut -d' ' -f1)
rec evidence add --matter "$M" --kind video --media-type video/mp4 --caption 短片 "$WORK/clip.mp4"
BYTES0=$(metric patrold_evidence_bytes_total)
CONFLICTS0=$(metric 'patrold_refusals_total{reason="offset_mismatch"}')
cuts r1600000 a1500000 r2000
sync_ok "patrol sync through a lost PATCH answer and a cut" "$T"
check "the proxy cut 3 connections ($(proxy_cut_count))" test "$(proxy_cut_count)" -eq 3
check "the retried PATCH met the server's newer offset (409) and the terminal went on from it" \
    test "$(metric 'patrold_refusals_total{reason="offset_mismatch"}')" -gt "${CONFLICTS0:-0}"
check "the clip on the server hashes right" \
    test "$(sha256sum "$DATA/evidence/${SHA2:0:2}/$SHA2" 2>/dev/null | cut -d' ' -f1)" = "$SHA2"
check "the server stored each of its bytes once (+$(($(metric patrold_evidence_bytes_total) - BYTES0)) = 4500000)" \
    test $(($(metric patrold_evidence_bytes_total) - BYTES0)) -eq 4500000
exactly_once "at the end"
srv device list --json >"$WORK/devices.json"
jfile_check "device list: every entry, no evidence pending" "$WORK/devices.json" \
    "[(d['last_seq'], d['entries'], d['evidence_pending']) for d in j if d['id'] == $NUM_T] == [($(journal_head "$T"), $(journal_head "$T"), 0)]"
pt "$T" status --json
jfile_check "the terminal: nothing pending" "$OUT" "j['pending_entries'] == 0 and j['pending_evidence_files'] == 0"
stop_server_checked

finish
