#!/bin/bash
# test_evidence.sh -- the evidence limits of patrold (docs/server.md
# "Evidence limits"): a ceiling per file and a quota per device refuse the
# upload (413, logged with device and reason) but never the signed entry
# naming it; a partial file of full length that was never finished (a crash
# after the last chunk's fsync) is finished on HEAD and at start-up, or
# discarded if its bytes are wrong; an untouched partial file expires; a
# device naming a hash another device sent is not told the server holds it
# until it sent the bytes itself (no oracle, possession proven).
#
# usage: test_evidence.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

# serve_again OPTIONS...: patrold serve on $DATA at the same port, with the
# evidence options given; sets SERVER_PID.
LIMITS="--evidence-max-file 2M --evidence-quota 4M --evidence-reserve 1M --partial-expiry 3s"
serve_again() {
    "$PATROLD" --data "$DATA" serve --listen "127.0.0.1:$PORT" "$@" 2>>"$SERVER_LOG" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    local n=100
    while [ "$n" -gt 0 ] && ! "$WIRE" --url "$URL" --no-cert get /metrics 2>/dev/null | grep -q '"status":200'; do
        sleep 0.1
        n=$((n - 1))
    done
}
logged() { grep -c -- "$1" "$SERVER_LOG"; }
received() { sq "SELECT count(*) FROM evidence_refs WHERE sha256 = '$1' AND device = $2 AND received_ms > 0"; }

section "a server with small limits: 2 MiB a file, 4 MiB a device, partial files kept 3 s"
start_server server
stop_server "$SERVER_PID"
serve_again $LIMITS
check "the limits in force are logged at start" \
    test "$(logged 'event=evidence_limits max_file=2097152 quota=4194304 reserve=1048576 partial_expiry_s=3')" -eq 1
A=$WORK/terminal-a
B=$WORK/terminal-b
new_terminal "$A" "终端A" "$(add_device 终端A)" || finish
new_terminal "$B" "终端B" "$(add_device 终端B)" || finish
NUM_A=$(device_num 终端A)
NUM_B=$(device_num 终端B)

rec() { local d=$1; shift; pt "$d" "$@"; [ "$RC" -eq 0 ] || { fail "patrol $*: exit $RC"; show "$ERR"; }; LAST=$(cat "$OUT"); }
matter() { # matter DIR CREDIT: a matter to add evidence to; its id in $LAST
    rec "$1" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
    rec "$1" subject add --credit-code "$2" --name 泗阳县某某便利店
    rec "$1" matter open --subject "$LAST" --inspector zhangwei --domain urban_management \
        --list-item CG-NP-003 --summary 店外摆卖占用人行道
}
F=$WORK/files
mkdir -p "$F"
for f in s1:1500000 s2:1500000 s3:1500000 big:2200000 g1:300000 g2:300000 g3:300000 g4:300000 junk:300000; do
    head -c "${f#*:}" /dev/urandom >"$F/${f%%:*}"
done
sha() { sha256sum "$F/$1" | cut -d' ' -f1; }

section "terminal A: three 1.5 MB files and one of 2.2 MB"
matter "$A" 91350100M000100Y43
MA=$LAST
for f in s1 s2 s3 big; do
    rec "$A" evidence add --matter "$MA" --kind document --media-type application/octet-stream "$F/$f"
done
pt "$A" sync --json
check "patrol sync reports the refused files (exit $RC, not 0)" test "$RC" -ne 0 -a "$RC" -lt 128
journal_rows "$A" >"$WORK/j.rows"
server_rows "$A" >"$WORK/s.rows"
check "every entry is stored, the evidence.add of refused files too ($(wc -l <"$WORK/s.rows") of $(wc -l <"$WORK/j.rows"))" \
    cmp -s "$WORK/j.rows" "$WORK/s.rows"
N_OK=0
for f in s1 s2 s3; do
    [ "$(received "$(sha $f)" "$NUM_A")" = 1 ] && N_OK=$((N_OK + 1))
done
check "two of the three 1.5 MB files are received, the third passes the 4 MiB quota (got $N_OK)" test "$N_OK" -eq 2
check "the 2.2 MB file is not received" test "$(received "$(sha big)" "$NUM_A")" = 0
check "the 2.2 MB file is not on the server's disk at all" \
    test -z "$(find "$DATA/evidence" -name "*$(sha big)*")"
check "the ceiling refusal is logged with device, hash and reason" \
    test "$(logged "event=evidence_refused device=$NUM_A sha256=$(sha big) reason=too_large size=2200000 limit=2097152")" -ge 1
check "the quota refusal is logged with device and reason" \
    test "$(grep -c "event=evidence_refused device=$NUM_A sha256=[0-9a-f]* reason=quota size=1500000 used=3000000 quota=4194304" "$SERVER_LOG")" -ge 1
for f in s1 s2 s3; do
    [ "$(received "$(sha $f)" "$NUM_A")" = 0 ] && QSHA=$(sha $f)
done
wire --store "$A" head "$QSHA"
jcheck "HEAD of the file over quota: 413 evidence_quota, before any byte is sent" \
    "j['status'] == 413 and j['reason'] == 'evidence_quota'"
wire --store "$A" patch "$QSHA" 0 "$F/s1" 0 1000
jcheck "PATCH of the file over quota: 413 evidence_quota" \
    "j['status'] == 413 and j['error']['reason'] == 'evidence_quota'"
wire --store "$A" head "$(sha big)"
jcheck "HEAD of the file over the ceiling: 413 evidence_too_large" \
    "j['status'] == 413 and j['reason'] == 'evidence_too_large'"

section "terminal B: an entry declaring 2^53 bytes is stored, its upload refused"
matter "$B" 91321323MA1N4K7P26
MB=$LAST
HUGE=$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1)
wire --store "$B" append evidence.add "$MB" kind=document media_type=application/octet-stream \
    sha256="$HUGE" size=9007199254740992
wire --store "$B" append evidence.add "$MB" kind=document media_type=application/octet-stream \
    sha256="$(sha s1)" size=1500000
HB=$(journal_head "$B")
wire --store "$B" batch 1 "$HB"
jcheck "the batch naming 2^53 bytes and A's file is accepted whole" \
    "j['status'] == 200 and [s for _, s, _ in entries()] == ['ACCEPTED'] * $HB"
jcheck "the answer lists both as missing for B (A's upload of s1 proves nothing for B)" \
    "sorted(j['ack']['missing']) == sorted(['$HUGE', '$(sha s1)'])"
wire --store "$B" head "$HUGE"
jcheck "HEAD of the 2^53-byte file: 413 evidence_too_large" \
    "j['status'] == 413 and j['reason'] == 'evidence_too_large'"

section "possession: B names a hash A sent"
wire --store "$B" head "$(sha s1)"
jcheck "HEAD answers offset 0, not complete: the server does not tell what it holds" \
    "j['status'] == 200 and j['upload_offset'] == 0 and j['upload_length'] == 1500000 and not j['upload_complete']"
head -c 1500000 /dev/urandom >"$F/fake"
wire --store "$B" patch "$(sha s1)" 0 "$F/fake"
jcheck "other bytes of the right length: 422 hash_mismatch" "j['status'] == 422 and j['error']['reason'] == 'hash_mismatch'"
check "B has not received s1" test "$(received "$(sha s1)" "$NUM_B")" = 0
wire --store "$B" patch "$(sha s1)" 0 "$F/s1"
jcheck "the real bytes: complete" "j['status'] == 204 and j['upload_complete']"
check "B has received s1 now" test "$(received "$(sha s1)" "$NUM_B")" = 1
check "the store holds s1 once, unchanged" cmp -s "$F/s1" "$DATA/evidence/$(sha s1 | cut -c1-2)/$(sha s1)"

section "a full-length partial file never finished"
for g in g1 g2 g3 g4; do
    wire --store "$B" append evidence.add "$MB" kind=document media_type=application/octet-stream \
        sha256="$(sha $g)" size=300000
done
HB2=$(journal_head "$B")
wire --store "$B" batch "$((HB + 1))" "$HB2"
jcheck "four more evidence.add accepted" "j['status'] == 200 and j['ack']['accepted'] == 4"
PART=$DATA/evidence/partial/$NUM_B
cp "$F/g1" "$PART-$(sha g1)"
cp "$F/junk" "$PART-$(sha g2)"
wire --store "$B" head "$(sha g1)"
jcheck "HEAD of a full-length partial file: finished, complete" \
    "j['status'] == 200 and j['upload_complete'] and j['upload_offset'] == 300000"
check "g1 is in the store and its partial file is gone" \
    test -f "$DATA/evidence/$(sha g1 | cut -c1-2)/$(sha g1)" -a ! -e "$PART-$(sha g1)"
check "... its hash read from the file (no chunk came through this server)" \
    test "$(logged "event=evidence_complete device=$NUM_B sha256=$(sha g1) bytes=300000 hashed=file")" -eq 1
wire --store "$B" head "$(sha g2)"
jcheck "HEAD of a full-length partial file of wrong bytes: discarded, offset 0" \
    "j['status'] == 200 and not j['upload_complete'] and j['upload_offset'] == 0"
check "the wrong bytes are gone" test ! -e "$PART-$(sha g2)"

section "at start-up: full-length partial finished, idle partial expired"
stop_server "$SERVER_PID"
cp "$F/g3" "$PART-$(sha g3)"
head -c 1000 "$F/g4" >"$PART-$(sha g4)"
touch -d '1 hour ago' "$PART-$(sha g4)"
echo "not an upload" >"$DATA/evidence/partial/$NUM_A-$(sha g4)"
serve_again $LIMITS
check "g3 was finished at start-up" test "$(received "$(sha g3)" "$NUM_B")" = 1
check "the idle partial of g4 expired at start-up" test ! -e "$PART-$(sha g4)"
check "a partial file no entry of its device names was removed" \
    test ! -e "$DATA/evidence/partial/$NUM_A-$(sha g4)"
check "the expiry is logged" test "$(logged "event=partial_expired device=$NUM_B sha256=$(sha g4) bytes=1000")" -eq 1

section "while serving: an upload left idle expires"
wire --store "$B" patch "$(sha g4)" 0 "$F/g4" 0 1000
jcheck "1000 bytes of g4 taken" "j['status'] == 204 and j['upload_offset'] == 1000"
N=0
while [ -e "$PART-$(sha g4)" ] && [ "$N" -lt 80 ]; do sleep 0.1; N=$((N + 1)); done
check "the idle partial file is removed by the sweep within 8 s (3 s expiry)" test ! -e "$PART-$(sha g4)"
wire --store "$B" head "$(sha g4)"
jcheck "HEAD then answers offset 0: the upload starts again" \
    "j['status'] == 200 and j['upload_offset'] == 0"
wire --store "$B" patch "$(sha g4)" 0 "$F/g4"
jcheck "and completes" "j['status'] == 204 and j['upload_complete']"

wire --store "$B" head "$HUGE"
check "refusals by reason in /metrics" test "$(metric 'patrold_refusals_total{reason="evidence_too_large"}')" = 1
stop_server_checked
finish
