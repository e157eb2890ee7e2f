#!/bin/bash
# test_refusals.sh -- every bad input of issue 3 against a real patrold over
# real TLS, sent by e2e_wire as terminal A: bodies that are not a batch
# (non-protobuf, truncated, bad LZ4, decompression bombs, oversized,
# wrong Content-Length, oversized headers), certificates that must not get
# in (none, revoked, unknown key, foreign CA, another device's batch),
# entries that must not be stored (edited, wrong signature, gap, fork, a bad
# one in the middle of a batch), replays, and evidence uploads (wrong
# offset, hash mismatch, path characters in the blob id, evidence of
# another device). Each refusal: the right status and machine-readable
# reason, nothing stored, and the server still serves terminal B.
#
# usage: test_refusals.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

MEDIA=$WORK/media
"$PY" "$E2E_DIR/../../scripts/make-media.py" "$MEDIA" >/dev/null ||
    { fail "scripts/make-media.py"; finish; }

section "server and terminals"
start_server server
A=$WORK/terminal-a
B=$WORK/terminal-b
R=$WORK/terminal-r
new_terminal "$A" "终端A" "$(add_device 终端A)" || finish
new_terminal "$B" "终端B" "$(add_device 终端B)" || finish
new_terminal "$R" "终端R" "$(add_device 终端R)" || finish
NUM_A=$(device_num 终端A)

N_OTHER=0
serves_others() {
    N_OTHER=$((N_OTHER + 1))
    pt "$B" inspector add --id "b-$N_OTHER" --name "王$N_OTHER" --cert-no "3213230090$N_OTHER"
    "$PATROL" --store "$B" sync --json >"$WORK/other.json" 2>"$ERR"
    RC=$?
    if [ "$RC" -eq 0 ] && [ "$(jget "$WORK/other.json" 'j["entries_accepted"]')" = 1 ]; then
        pass "$1: the server still serves terminal B"
    else
        fail "$1: terminal B could not sync afterwards (exit $RC)"
        show "$ERR"
        show "$WORK/other.json"
    fi
}

# The stored data without the answers stored for replays: what a batch
# answered 200 with rejected entries must leave unchanged (its answer is
# kept under its batch id, by design).
data_state() { server_state | grep -v '^ack|'; }

# same_nonempty A B: A holds something and B is byte-equal to it (two
# empty files, e.g. from queries that failed, are not "the same").
same_nonempty() { [ -s "$1" ] && cmp -s "$1" "$2"; }

# refused DESC STATUS REASON WIRE-ARGS...: the request must be answered
# STATUS with the machine-readable REASON (X-Patrol-Reason, and the Error
# body's reason when there is a body; REASON '+' means any non-empty one),
# nothing stored, and B still served.
refused() {
    local desc=$1 status=$2 reason=$3 before=$WORK/.state.before
    shift 3
    server_state >"$before"
    wire "$@"
    if [ "$reason" = + ]; then
        jchecks "$desc: answered $status" "j.get('status') == $status" \
            "$desc: has a machine-readable reason (X-Patrol-Reason)" "j.get('reason', '') != ''"
    else
        jchecks "$desc: answered $status" "j.get('status') == $status" \
            "$desc: X-Patrol-Reason: $reason" "j.get('reason') == '$reason'" \
            "$desc: Error body with reason $reason" \
            "j.get('body_len') == 0 or j.get('error', {}).get('reason') == '$reason'"
    fi
    expect_unchanged "$desc" "$before"
    serves_others "$desc"
}

# entries_refused DESC EXPECTED-STATUSES WIRE-ARGS...: a batch answered 200
# whose per-entry (seq, status, reason) list is EXPECTED (Python), with
# nothing stored.
entries_refused() {
    local desc=$1 expected=$2 before=$WORK/.data.before after=$WORK/.data.after
    shift 2
    data_state >"$before"
    wire "$@"
    jchecks "$desc: 200 with a verified receipt" "j.get('status') == 200 and j['ack']['receipt']['verified']" \
        "$desc: per entry $expected" "entries() == $expected"
    data_state >"$after"
    if same_nonempty "$before" "$after"; then
        pass "$desc: nothing stored"
    else
        fail "$desc: the server's stored data changed"
        diff "$before" "$after" | head -n 6 | cut -c 1-200 | sed 's/^/      | /'
    fi
    serves_others "$desc"
}

server_last() { sq "SELECT last_seq FROM devices WHERE id = $NUM_A"; }
jhash() { sqlite3 -batch "$A/patrol.db" "SELECT lower(hex(hash)) FROM journal WHERE seq = $1"; }
shash() { sq "SELECT lower(hex(hash)) FROM entries WHERE device = $NUM_A AND seq = $1"; }

section "terminal A records a patrol (not synced: e2e_wire sends it)"
rec() { pt "$A" "$@"; [ "$RC" -eq 0 ] || { fail "patrol $*: exit $RC"; show "$ERR"; }; LAST=$(cat "$OUT"); }
rec inspector add --id zhangwei --name 张伟 --cert-no 32132300100
rec inspector add --id liuna --name 刘娜 --cert-no 32132300117
rec subject add --credit-code 91350100M000100Y43 --name 泗阳县某某便利店
SHOP=$LAST
rec matter open --subject "$SHOP" --inspector zhangwei --inspector liuna --domain urban_management \
    --list-item CG-NP-003 --summary 店外摆卖占用人行道
M1=$LAST
rec consent --matter "$M1" --accept --form oral
rec act reminder --matter "$M1" --form oral --source inspection --rules 相关规定 --content 说明规定
rec act guidance --matter "$M1" --topic 门前三包 --content 现场指导 --materials 告知书
rec leaflet --matter "$M1" --title 门前三包责任告知书 --code LF-001 --copies 1
rec act suggestion --matter "$M1" --content 建议设置室内陈列区 --form written --follow-up 三日内整改
rec act warning --matter "$M1" --minor --no-harm --no-intent --correctable --corrected --content 告诫 \
    --correction 当场整改 --deadline "$(TZ=Asia/Shanghai date -d '+10 days' +%F)"
rec act reminder --matter "$M1" --form written --source complaints --rules 条例 --content 再次提示
rec act guidance --matter "$M1" --topic 规范经营 --content 指导陈列 --materials 示范文本
rec act suggestion --matter "$M1" --content 建议张贴告示 --form oral --follow-up 无
rec act reminder --matter "$M1" --form oral --source inspection --rules 规定 --content 第三次提示
rec evidence add --matter "$M1" --kind photo --caption 现场 "$MEDIA/storefront.png"
rec evidence add --matter "$M1" --kind audio --caption 录音 "$MEDIA/interview.wav"
rec act guidance --matter "$M1" --topic 回访 --content 约定回访 --materials 无
HEAD_A=$(journal_head "$A")
check "terminal A holds $HEAD_A entries (at least 17)" test "$HEAD_A" -ge 17
PHOTO=$(sha256sum "$MEDIA/storefront.png" | cut -d' ' -f1)
AUDIO=$(sha256sum "$MEDIA/interview.wav" | cut -d' ' -f1)
PHOTO_SIZE=$(stat -c %s "$MEDIA/storefront.png")
sync_ok "terminal B syncs" "$B"
sync_ok "terminal R syncs" "$R"

section "a batch, and its replay"
X1=00112233445566778899aabbccddeeff
server_state >"$WORK/state0"
wire --store "$A" batch 1 5 --batch-id "$X1"
cp "$WOUT" "$WORK/first.json"
jcheck "batch 1..5: 200, all 5 accepted, next expected 6" \
    "j['status'] == 200 and [s for _, s, _ in entries()] == ['ACCEPTED'] * 5 and j['ack']['expected_seq'] == 6"
jcheck "the receipt verifies with the receipt key from enrolment and covers 1..5 with A's head" \
    "j['ack']['receipt']['verified'] and j['ack']['receipt']['first_seq'] == 1 and \
    j['ack']['receipt']['last_seq'] == 5 and j['ack']['receipt']['head'] == '$(jhash 5)' and \
    j['ack']['receipt']['batch_id_matches']"
check "the server holds entries 1..5 of A" test "$(server_last)" = 5
server_state >"$WORK/state1"
wire --store "$A" batch 1 5 --batch-id "$X1" --save-body "$WORK/replay.body"
cp "$WOUT" "$WORK/replay.json"
check "the replayed batch gets the same answer, byte for byte (sha256 of the bodies)" \
    test "$(jget "$WORK/first.json" 'j["body_sha256"]')" = "$(jget "$WORK/replay.json" 'j["body_sha256"]')"
expect_unchanged "replay of batch $X1" "$WORK/state1"
check "entries 1..5 are stored once" \
    test "$(sq "SELECT count(*) FROM entries WHERE device = $NUM_A")" = 5
check "the replay is counted in /metrics" test "$(metric patrold_batch_replays_total)" -ge 1
data_state >"$WORK/data1"
wire --store "$A" batch 1 5
jcheck "the same entries in a new batch: all DUPLICATE" \
    "j['status'] == 200 and [s for _, s, _ in entries()] == ['DUPLICATE'] * 5"
data_state >"$WORK/data2"
check "duplicates store nothing" same_nonempty "$WORK/data1" "$WORK/data2"

section "bodies that are not a batch"
refused "LZ4 frame holding text, not protobuf" 400 bad_protobuf --store "$A" raw text-frame
refused "protobuf Batch without the LZ4 frame" 400 bad_frame --store "$A" batch 6 8 --body plain
refused "random bytes" 400 bad_frame --store "$A" raw garbage
refused "truncated frame" 400 bad_frame --store "$A" batch 6 8 --body truncate
refused "frame with a flipped bit (bad LZ4 data)" 400 bad_frame --store "$A" batch 6 8 --body corrupt
refused "empty body" 400 bad_frame --store "$A" raw empty
refused "decompression bomb (16 MiB of zeros in one frame)" 413 too_large --store "$A" raw bomb
refused "frame declaring 1 TiB of content" 413 too_large --store "$A" raw huge-declared
refused "unknown protocol version" 400 bad_protocol --store "$A" batch 6 8 --protocol 2
refused "1001 entries in one batch" 400 too_many_entries --store "$A" batch 6 8 --fill 1001
# 500000 tiny entries, each with an unknown field: 2 MB of protobuf that
# protobuf-c would unpack into some 100 MB before the entry count could be
# looked at. The unpack budget refuses it (before the fix: too_many_entries
# after the allocation).
python3 -c '
import os, sys
b = bytearray(b"\x08\x01\x12\x10" + os.urandom(16) + b"\x1a\x20" + bytes(32))
for x in os.urandom(500000):
    b += bytes([0x22, 2, 0x78, x & 0x7f])
sys.stdout.buffer.write(b)' >"$WORK/amplify.pb"
lz4 -f -q --content-size "$WORK/amplify.pb" "$WORK/amplify.lz4"
refused "a batch that would unpack into far more memory than its size" 400 bad_protobuf \
    --store "$A" request POST /v1/batches "$WORK/amplify.lz4"
refused "a 10 MiB body" 413 too_large --store "$A" raw big:10485760
refused "20 KiB of headers" 431 + --store "$A" batch 6 8 --pad-header 20480
refused "70 headers" 431 + --store "$A" batch 6 8 --many-headers 70
refused "Content-Length shorter than the body" 400 bad_frame --store "$A" batch 6 8 --content-length 60
server_state >"$WORK/.cl"
wire --store "$A" batch 6 8 --content-length 100000 --timeout 2
jcheck "Content-Length longer than the body: no answer, the server waits for the rest" \
    "j['status'] == 0 and j['curl_code'] == 28"
expect_unchanged "Content-Length longer than the body" "$WORK/.cl"
serves_others "Content-Length longer than the body"

section "certificates and devices"
refused "no client certificate" 401 no_client_cert --store "$A" --no-cert batch 6 8
# A client without a certificate sending 9 MB: refused without the body
# ever being held in memory (before: buffered whole, then refused). The
# server's peak RSS is reset first (clear_refs 5, Linux 4.0), so bodies
# buffered by the requests before cannot hide a new peak; a peak that
# cannot be reset or read fails the check.
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status" 2>/dev/null; }
HWM0=
if echo 5 2>/dev/null >"/proc/$SERVER_PID/clear_refs"; then HWM0=$(hwm); fi
refused "no client certificate, 9 MB body" 401 no_client_cert --store "$A" --no-cert raw big:9000000
HWM1=$(hwm)
# Buffering it would add at least 8.6 MiB; under AddressSanitizer the
# server's peak moves by a few MiB anyway, hence 8 MiB.
if [ -z "$HWM0" ] || [ -z "$HWM1" ]; then
    fail "the server's peak RSS could not be reset or read (/proc/$SERVER_PID/clear_refs, status)"
else
    check "the refused 9 MB body was not buffered (server peak RSS reset to $HWM0, then $HWM1 kB)" \
        test "$((HWM1 - HWM0))" -lt 8192
fi
refused "HEAD evidence without a client certificate" 401 no_client_cert --store "$A" --no-cert head "$PHOTO"
refused "a batch naming another device (B) sent with A's certificate" 403 foreign_device \
    --store "$A" --device-of "$B" batch 6 8
entries_refused "A's entries sent with B's certificate as B's batch" \
    "[(6, 'REJECTED', 'wrong_device'), (7, 'REJECTED', 'after_rejected')]" \
    --store "$A" --cert-from "$B" --device-of "$B" batch 6 7
wire mkcert "$DATA" "$WORK/stray"
refused "a certificate of this device CA for a key no device enrolled" 403 unknown_device \
    --store "$A" --cert-from "$WORK/stray" batch 6 8
"$PATROLD" --data "$WORK/other-server" init --name other >/dev/null 2>&1
wire mkcert "$WORK/other-server" "$WORK/foreign"
FAILED0=$(metric 'patrold_handshakes_total{type="failed"}')
server_state >"$WORK/.fc"
wire --store "$A" --cert-from "$WORK/foreign" batch 6 8
jcheck "a certificate from another CA fails the TLS handshake" \
    "j['status'] == 0 and j['curl_code'] not in (0, 28)"
expect_unchanged "a certificate from another CA" "$WORK/.fc"
check "the failed handshake is counted in /metrics" \
    test "$(metric 'patrold_handshakes_total{type="failed"}')" -gt "${FAILED0:-0}"
serves_others "a certificate from another CA"

pt "$R" inspector add --id late --name 迟到 --cert-no 32132300555
srv device revoke "$(device_num 终端R)" >/dev/null
refused "a revoked device's batch" 403 revoked --store "$R" batch 2 2
refused "a revoked device's HEAD" 403 revoked --store "$R" head "$PHOTO"

section "entries that must not be stored"
entries_refused "a gap (7..9 while the server holds 1..5)" \
    "[(7, 'REJECTED', 'gap'), (8, 'REJECTED', 'after_rejected'), (9, 'REJECTED', 'after_rejected')]" \
    --store "$A" batch 7 9
jcheck "the gap names the expected sequence (6)" \
    "j['ack']['expected_seq'] == 6 and 'expected entry 6' in j['ack']['entries'][0]['detail']"
entries_refused "entry 6 edited (backdated an hour), its old signature kept" \
    "[(6, 'REJECTED', 'bad_signature')]" --store "$A" batch 6 6 --edit 6
entries_refused "entry 6 with one flipped bit in a field" \
    "[(6, 'REJECTED', 'bad_signature')]" --store "$A" batch 6 6 --flip 6
entries_refused "entry 6 with a wrong signature" \
    "[(6, 'REJECTED', 'bad_signature')]" --store "$A" batch 6 6 --bad-sig 6
# An entry that does not decode has no sequence number the server can trust: seq 0.
entries_refused "entry 6 naming a suite this server does not implement, properly signed" \
    "[(0, 'REJECTED', 'bad_encoding')]" --store "$A" batch 6 6 --suite 6
jcheck "the refusal names the suite" "'suite' in j['ack']['entries'][0]['detail']"

data_state >"$WORK/.d"
wire --store "$A" batch 6 9 --skip 7
jcheck "a gap inside a batch: 6 accepted, 8 REJECTED gap, 9 after_rejected" \
    "entries() == [(6, 'ACCEPTED', ''), (8, 'REJECTED', 'gap'), (9, 'REJECTED', 'after_rejected')]"
check "the server holds up to 6, with A's hash" test "$(server_last):$(shash 6)" = "6:$(jhash 6)"
serves_others "a gap inside a batch"

wire --store "$A" batch 7 9 --bad-sig 8
jcheck "a wrong signature on entry 8 inside batch 7..9: 7 accepted, 8 REJECTED bad_signature, 9 after_rejected" \
    "entries() == [(7, 'ACCEPTED', ''), (8, 'REJECTED', 'bad_signature'), (9, 'REJECTED', 'after_rejected')]"
check "an entry whose signature does not verify is not stored (server holds up to 7, found $(server_last))" \
    test "$(server_last)" = 7
serves_others "a wrong signature inside a batch"

L=$(server_last)
wire --store "$A" batch $((L + 1)) $((L + 4)) --edit $((L + 2))
jcheck "a bad entry in the middle ($((L + 2)) of $((L + 1))..$((L + 4))): the one before accepted, it and the ones after rejected" \
    "[s for _, s, _ in entries()] == ['ACCEPTED', 'REJECTED', 'REJECTED', 'REJECTED'] and entries()[1][2] == 'bad_signature'"
jcheck "the entries after the bad one are REJECTED/after_rejected" \
    "[r for _, _, r in entries()[2:]] == ['after_rejected', 'after_rejected']"
check "the server holds up to $((L + 1)), with A's hash" \
    test "$(server_last):$(shash $((L + 1)))" = "$((L + 1)):$(jhash $((L + 1)))"
serves_others "a bad entry in the middle of a batch"

section "a fork"
FORKS0=$(sq "SELECT count(*) FROM forks")
data_state | grep -v '^fork|' >"$WORK/.f0"
wire --store "$A" batch 3 3 --edit 3 --resign
jcheck "another entry 3, signed by A's key: REJECTED fork" "entries() == [(3, 'REJECTED', 'fork')]"
data_state | grep -v '^fork|' >"$WORK/.f1"
check "the accepted entry 3 is not overwritten (entries unchanged)" same_nonempty "$WORK/.f0" "$WORK/.f1"
check "entry 3 on the server is still A's original" test "$(shash 3)" = "$(jhash 3)"
check "the fork is quarantined with both hashes" \
    test "$(sq "SELECT count(*) FROM forks WHERE device = $NUM_A AND seq = 3 AND lower(hex(accepted_hash)) = '$(jhash 3)' AND lower(hex(hash)) != '$(jhash 3)'")" = 1
srv device list --json >"$WORK/devices.json"
jfile_check "device list flags the fork for supervisors" "$WORK/devices.json" \
    "[d['forks'] for d in j if d['id'] == $NUM_A] == [1]"
check "patrold logged the fork" grep -q "event=fork device=$NUM_A seq=3" "$SERVER_LOG"
wire --store "$A" batch 3 3 --edit 3 --resign
jcheck "the same fork sent again: REJECTED fork" "entries() == [(3, 'REJECTED', 'fork')]"
check "the same fork is quarantined once (forks: $FORKS0 -> 1)" test "$(sq "SELECT count(*) FROM forks")" = $((FORKS0 + 1))
serves_others "a fork"

section "the rest of the journal, then evidence"
L=$(server_last)
wire --store "$A" batch $((L + 1)) "$HEAD_A"
jcheck "entries $((L + 1))..$HEAD_A: all accepted, the photo and the audio are missing on the server" \
    "[s for _, s, _ in entries()] == ['ACCEPTED'] * $((HEAD_A - L)) and \
    sorted(j['ack']['missing']) == sorted(['$PHOTO', '$AUDIO'])"
# After every refusal above, the server holds exactly A's journal: the
# entries (seq, hash, bytes), and the signatures as the device made them.
journal_rows "$A" >"$WORK/journal.rows"
server_rows "$A" >"$WORK/server.rows"
check "A's journal is not empty ($(wc -l <"$WORK/journal.rows") rows)" test -s "$WORK/journal.rows"
check "the server's entries of A = A's journal (seq, hash, entry bytes)" \
    cmp -s <(cut -d'|' -f1-3 "$WORK/journal.rows") <(cut -d'|' -f1-3 "$WORK/server.rows")
if cmp -s <(cut -d'|' -f1,4 "$WORK/journal.rows") <(cut -d'|' -f1,4 "$WORK/server.rows"); then
    pass "the server stored every entry of A with the signature A made"
else
    fail "the server stored signatures A did not make, for entries: $(diff <(cut -d'|' -f1,4 "$WORK/journal.rows") \
        <(cut -d'|' -f1,4 "$WORK/server.rows") | sed -n 's/^> \([0-9]*\)|.*/\1/p' | tr '\n' ' ')"
fi

wire --store "$A" head "$PHOTO"
jcheck "HEAD of the photo: 200, offset 0, length $PHOTO_SIZE" \
    "j['status'] == 200 and j['upload_offset'] == 0 and j['upload_length'] == $PHOTO_SIZE and not j['upload_complete']"
HALF=$((PHOTO_SIZE / 2))
refused "PATCH at offset 100 while the server holds 0" 409 offset_mismatch \
    --store "$A" patch "$PHOTO" 100 "$MEDIA/storefront.png" 100 1000
jcheck "the 409 tells the server's offset (0)" "j['upload_offset'] == 0"
wire --store "$A" patch "$PHOTO" 0 "$MEDIA/storefront.png" 0 "$HALF"
jcheck "PATCH of the first half: 204, offset $HALF" "j['status'] == 204 and j['upload_offset'] == $HALF"
wire --store "$A" head "$PHOTO"
jcheck "HEAD after half: offset $HALF" "j['status'] == 200 and j['upload_offset'] == $HALF"
refused "PATCH at 0 again" 409 offset_mismatch --store "$A" patch "$PHOTO" 0 "$MEDIA/storefront.png" 0 1000
jcheck "the 409 tells the server's offset ($HALF)" "j['upload_offset'] == $HALF"
{ cat "$MEDIA/storefront.png"; printf '0123456789'; } >"$WORK/long.bin"
refused "PATCH going 10 bytes past the evidence size" 413 too_large \
    --store "$A" patch "$PHOTO" "$HALF" "$WORK/long.bin" "$HALF"
head -c $((PHOTO_SIZE - HALF)) /dev/urandom >"$WORK/wrong.bin"
wire --store "$A" patch "$PHOTO" "$HALF" "$WORK/wrong.bin"
jchecks "PATCH completing with wrong bytes: 422" "j['status'] == 422" \
    "PATCH completing with wrong bytes: Error body with reason hash_mismatch" "j['error']['reason'] == 'hash_mismatch'" \
    "PATCH completing with wrong bytes: X-Patrol-Reason: hash_mismatch" "j['reason'] == 'hash_mismatch'"
check "the mismatching upload is discarded (no partial, no stored file)" \
    test ! -e "$DATA/evidence/partial/$PHOTO" -a ! -e "$DATA/evidence/${PHOTO:0:2}/$PHOTO"
wire --store "$A" head "$PHOTO"
jcheck "HEAD after the mismatch: the upload starts again from 0" "j['status'] == 200 and j['upload_offset'] == 0"
serves_others "a hash mismatch"

for id in '..%2F..%2Fetc' '../../../etc/passwd' '%2e%2e%2f%2e%2e%2fpatrold.db' "${PHOTO:0:63}" "${PHOTO}0" \
    "$(tr a-f A-F <<<"$PHOTO")" "$PHOTO/../../patrold.db" "partial%2F$PHOTO"; do
    refused "HEAD with blob id '$id'" 400 bad_blob_id --store "$A" head "$id"
    refused "PATCH with blob id '$id'" 400 bad_blob_id --store "$A" patch "$id" 0 "$MEDIA/storefront.png"
done
check "no blob id wrote a file anywhere (no etc, passwd or new file beside the data directory)" \
    test -f "$DATA/receipt.key" -a -d "$WORK" -a -z "$(find "$WORK" \( -name etc -o -name passwd \) -print; find "$DATA" -type f -newer "$DATA/receipt.key" \
        ! -name 'patrold.db*' ! -path "$DATA/evidence/*")"
check "the database is intact after the path games" test "$(sq 'PRAGMA quick_check')" = ok
RANDOM_SHA=$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1)
refused "HEAD of evidence no entry names" 404 not_expected --store "$A" head "$RANDOM_SHA"
refused "PATCH of evidence no entry names" 404 not_expected --store "$A" patch "$RANDOM_SHA" 0 "$MEDIA/storefront.png"
refused "B uploading A's photo" 404 not_expected --store "$B" patch "$PHOTO" 0 "$MEDIA/storefront.png"

wire --store "$A" patch "$PHOTO" 0 "$MEDIA/storefront.png" 0 "$HALF"
jcheck "the photo again: first half 204" "j['status'] == 204 and j['upload_offset'] == $HALF"
wire --store "$A" patch "$PHOTO" "$HALF" "$MEDIA/storefront.png" "$HALF"
jcheck "second half: 204 Upload-Complete" \
    "j['status'] == 204 and j['upload_complete'] and j['upload_offset'] == $PHOTO_SIZE"
check "the stored photo is byte-equal to the original" \
    same_nonempty "$MEDIA/storefront.png" "$DATA/evidence/${PHOTO:0:2}/$PHOTO"
wire --store "$A" --lz4 patch "$AUDIO" 0 "$MEDIA/interview.wav"
jcheck "the audio in one LZ4-encoded PATCH: 204 Upload-Complete" \
    "j['status'] == 204 and j['upload_complete']"
check "the stored audio is byte-equal to the original" \
    same_nonempty "$MEDIA/interview.wav" "$DATA/evidence/${AUDIO:0:2}/$AUDIO"
server_state >"$WORK/.done"
wire --store "$A" patch "$PHOTO" 0 "$MEDIA/storefront.png"
jcheck "PATCH of a complete file: answered complete, nothing re-stored" \
    "j['status'] in (200, 204) and j['upload_complete']"
expect_unchanged "PATCH of a complete file" "$WORK/.done"
srv device list --json >"$WORK/devices.json"
jfile_check "device list: A at $HEAD_A, 0 evidence pending" "$WORK/devices.json" \
    "[(d['last_seq'], d['evidence_pending']) for d in j if d['id'] == $NUM_A] == [($HEAD_A, 0)]"

section "the first batch replayed at the end"
wire --store "$A" batch 1 5 --batch-id "$X1"
jcheck "still the same answer, byte for byte" \
    "j['body_sha256'] == '$(jget "$WORK/first.json" 'j["body_sha256"]')'"

section "the server's log and metrics"
check "refusals are counted by reason in /metrics (bad_frame >= 5)" \
    test "$(metric 'patrold_refusals_total{reason="bad_frame"}')" -ge 5
check "patrold is still running" kill -0 "$SERVER_PID"
stop_server_checked

finish
