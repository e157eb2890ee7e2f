#!/bin/bash
# test_log.sh -- the server log (docs/log.md) through a real patrold.
#
# 1. A server (init + lists import: a leaf), a terminal enrols (a leaf) and
#    syncs its entries (a leaf each, in seq order). GET /v1/log/checkpoint:
#    its signature verifies with `openssl dgst -sha256 -verify` (DER), the
#    root equals the RFC 6962 root that tests/tlog_ref.py computes from the
#    leaves in the database, the leaves are the documented encodings.
# 2. GET /v1/log/proof/inclusion for every leaf verifies in Python; the
#    receipt (Ack) of a batch carries a checkpoint and the inclusion proof of
#    its last entry, which verifies; GET /v1/log/proof/consistency between
#    the two checkpoints verifies; `audit log ...` gives the same, while
#    serve runs.
# 3. Refusals: a leaf beyond the checkpoint, a malformed query, no client
#    certificate.
# 4. The terminal checks the checkpoint and proof of each receipt and keeps
#    the newest checkpoint (client/lib/sync_log.c).
# 5. A stored subtree changed under the latest checkpoint: patrold refuses
#    to sign (and so to store the batch).
# 6. Tampering: an edited leaf changes the root (Python) and `audit log
#    checkpoint` names it; a revocation is a leaf.
#
# usage: test_log.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

LV="$PY $E2E_DIR/log_verify.py"
INSP="--inspector zhangwei"

# get PATH FILE: GET PATH as terminal A, body in FILE, JSON in $WOUT.
get() { wire --store "$A" --save-body "$2" get "$1"; }

section "a server, a terminal, entries synced"
start_server server
A=$WORK/terminal-a
new_terminal "$A" "城管执法终端-07" "$(add_device "城管执法终端-07")" || finish
pt_ok "inspector add" "$A" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
pt_ok "subject add" "$A" subject add --credit-code 91350100M000100Y43 --name 泗阳县某某餐馆
pt_ok "sync" "$A" sync

get /v1/log/checkpoint "$WORK/cp1"
jcheck "GET /v1/log/checkpoint answers 200 text" 'j["status"] == 200 and j["content_type"].startswith("text/plain")'
sq "SELECT idx, hex(data) FROM log_leaves ORDER BY idx" -separator ' ' | tr 'A-F' 'a-f' >"$WORK/leaves"
N1=$($LV root "$WORK/cp1" "$WORK/leaves")
check "the checkpoint's root is the RFC 6962 root of the leaves (Python)" test -n "$N1"
# The terminal checked the receipt's checkpoint and proof and kept it: no
# leaf came between its sync and this GET, so it is the same checkpoint.
sqlite3 "$A/patrol.db" "SELECT note FROM log_checkpoint" >"$WORK/kept"
{ cat "$WORK/cp1"; echo; } >"$WORK/cp1.nl" # sqlite3 ends the value with one more newline
check "the terminal keeps the checkpoint of its sync's last receipt" cmp -s "$WORK/kept" "$WORK/cp1.nl"
NE=$(sq "SELECT count(*) FROM entries")
check "the log holds lists import + enrolment + $NE entries ($N1)" test "$N1" -eq $((NE + 2))
check "leaf 0 is the list import" test "$(sq "SELECT CAST(data AS TEXT) FROM log_leaves WHERE idx = 0" | head -1)" = "patrol-lists"
KEYHEX=$(sq "SELECT lower(hex(key_id)) FROM devices WHERE status = 1")
check "leaf 1 is the enrolment of the device" test "$(sq "SELECT CAST(data AS TEXT) FROM log_leaves WHERE idx = 1" | sed -n 2p)" = "$KEYHEX"
# every entry's leaf, in seq order, "patrol-entry\nDEV\nSEQ\nHASH\n"
sq "SELECT lower(hex(CAST('patrol-entry' || char(10) || lower(hex(d.key_id)) || char(10) || e.seq || char(10) || lower(hex(e.hash)) || char(10) AS BLOB))) FROM entries e JOIN devices d ON d.id = e.device ORDER BY e.seq" >"$WORK/want"
sq "SELECT lower(hex(data)) FROM log_leaves WHERE idx >= 2 ORDER BY idx" >"$WORK/got"
check "the entries' leaves are the documented encoding, in seq order" cmp -s "$WORK/want" "$WORK/got"

section "the checkpoint's signature, with openssl"
KEYID=$($LV split "$WORK/cp1" "$WORK/cp1.txt" "$WORK/cp1.sig")
check "the signature line names the origin and a key id" test -n "$KEYID"
openssl pkey -in "$DATA/receipt.key" -pubout -out "$WORK/receipt.pub" 2>/dev/null
check "openssl dgst -sha256 -verify accepts the checkpoint (DER signature)" \
    openssl dgst -sha256 -verify "$WORK/receipt.pub" -signature "$WORK/cp1.sig" "$WORK/cp1.txt"
WANT_ID=$(openssl pkey -pubin -in "$WORK/receipt.pub" -outform DER 2>/dev/null | sha256sum | cut -c1-8)
check "the key id is the first 4 bytes of SHA-256 of the key's SubjectPublicKeyInfo" test "$KEYID" = "$WANT_ID"
sed 's/^\([0-9]*\)$/1\1/' "$WORK/cp1.txt" >"$WORK/cp1.forged"
check "openssl refuses the checkpoint text with another size" \
    bash -c "! openssl dgst -sha256 -verify '$WORK/receipt.pub' -signature '$WORK/cp1.sig' '$WORK/cp1.forged' >/dev/null 2>&1"
check "audit log checkpoint prints the same checkpoint while serve runs" \
    bash -c "'$PATROLD' --data '$DATA' audit log checkpoint | cmp -s - '$WORK/cp1'"

section "inclusion proofs of every leaf (Python verifier)"
ok=0
for i in $(seq 0 $((N1 - 1))); do
    get "/v1/log/proof/inclusion?leaf=$i&size=$N1" "$WORK/inc$i"
    if $LV inclusion "$WORK/cp1" "$WORK/inc$i" >"$WORK/leaf$i"; then ok=$((ok + 1)); else show "$WORK/inc$i"; fi
done
check "all $N1 inclusion proofs verify" test "$ok" -eq "$N1"
"$PATROLD" --data "$DATA" audit log inclusion --leaf 1 --size "$N1" >"$WORK/inc1.cli"
check "audit log inclusion gives the body the server serves" cmp -s "$WORK/inc1.cli" "$WORK/inc1"
cp "$WORK/inc2" "$WORK/inc2.bad"
# The first base64 character of the first hash, changed: A unless it is A
# (then B). (It was A and then B whatever it had been: unchanged, and the
# check failed, when the hash began with B.)
sed -i '4{s/^A/#/;s/^[^#]/A/;s/^#/B/}' "$WORK/inc2.bad"
check "the tampered proof differs from the served one" bash -c "! cmp -s '$WORK/inc2' '$WORK/inc2.bad'"
check "a proof with one hash changed does not verify" bash -c "! $LV inclusion '$WORK/cp1' '$WORK/inc2.bad' >/dev/null 2>&1"

section "a batch's receipt carries the checkpoint and its last entry's proof"
for k in 1 2 3; do
    "$WIRE" --store "$A" $INSP append inspector.add "log$k" name=记录员$k cert_no=3213230020$k >"$WOUT" 2>/dev/null
done
LAST_SEQ=$(jget "$WOUT" 'j["seq"]')
FIRST_SEQ=$((LAST_SEQ - 2))
wire --store "$A" --save-body "$WORK/ack.bin" batch "$FIRST_SEQ" "$LAST_SEQ"
jcheck "the batch is accepted" 'j["status"] == 200 and all(e[1] == "ACCEPTED" for e in entries())'
HASH=$(sq "SELECT lower(hex(hash)) FROM entries WHERE seq = $LAST_SEQ")
R=$($LV ack "$WORK/ack.bin" "$KEYHEX" "$LAST_SEQ" "$HASH" "$WORK/cp2")
check "the Ack's inclusion proof of entry $LAST_SEQ verifies against its checkpoint ($R)" test -n "$R"
N2=$(sed -n 2p "$WORK/cp2")
check "the receipt's checkpoint covers the batch ($N2 = $N1 + 3)" test "$N2" -eq $((N1 + 3))
$LV split "$WORK/cp2" "$WORK/cp2.txt" "$WORK/cp2.sig" >/dev/null
check "openssl verifies the receipt's checkpoint" \
    openssl dgst -sha256 -verify "$WORK/receipt.pub" -signature "$WORK/cp2.sig" "$WORK/cp2.txt"

section "consistency between the two checkpoints"
get "/v1/log/proof/consistency?from=$N1&to=$N2" "$WORK/cons"
check "the consistency proof $N1..$N2 verifies (Python)" $LV consistency "$WORK/cp1" "$WORK/cp2" "$WORK/cons"
"$PATROLD" --data "$DATA" audit log consistency --from "$N1" --to "$N2" >"$WORK/cons.cli"
check "audit log consistency gives the same body" cmp -s "$WORK/cons.cli" "$WORK/cons"
check "the old checkpoint is not consistent with a shortened new one" \
    bash -c "! $LV consistency '$WORK/cp2' '$WORK/cp1' '$WORK/cons' >/dev/null 2>&1"
get /v1/log/checkpoint "$WORK/cp3"
check "GET /v1/log/checkpoint after the batch is the receipt's checkpoint" cmp -s "$WORK/cp3" "$WORK/cp2"

section "refusals"
get "/v1/log/proof/inclusion?leaf=$N2&size=$N2" "$WORK/r1"
jcheck "a leaf beyond the tree: 404 not_in_log" 'j["status"] == 404 and j["error"]["reason"] == "not_in_log"'
get "/v1/log/proof/inclusion?leaf=0&size=$((N2 + 1))" "$WORK/r2"
jcheck "a size beyond the latest checkpoint: 404 not_in_log" 'j["status"] == 404 and j["error"]["reason"] == "not_in_log"'
get "/v1/log/proof/consistency?from=x" "$WORK/r3"
jcheck "a malformed query: 400 bad_request" 'j["status"] == 400 and j["error"]["reason"] == "bad_request"'
get "/v1/log/proof/consistency?from=5&to=2" "$WORK/r4"
jcheck "from > to: 404" 'j["status"] == 404'
wire --store "$A" --no-cert get /v1/log/checkpoint
jcheck "no client certificate: 401" 'j["status"] == 401'
"$PATROLD" --data "$DATA" audit log inclusion >/dev/null 2>"$WORK/u.err"
check "audit log inclusion without --leaf is a usage error (2)" test $? -eq 2

section "a revocation is a leaf"
B_TOKEN=$(add_device "另一台终端")
DEVNUM=$(sq "SELECT max(id) FROM devices")
srv device revoke "$DEVNUM" >/dev/null
check "the revocation is the log's last leaf" test "$(sq "SELECT CAST(data AS TEXT) FROM log_leaves ORDER BY idx DESC LIMIT 1" | head -2 | tr '\n' ' ')" = "patrol-revoke $DEVNUM "
get /v1/log/checkpoint "$WORK/cp4"
N4=$(sed -n 2p "$WORK/cp4")
check "the next checkpoint covers it ($N4 = $N2 + 1)" test "$N4" -eq $((N2 + 1))
get "/v1/log/proof/consistency?from=$N2&to=$N4" "$WORK/cons2"
check "and is consistent with the receipt's" $LV consistency "$WORK/cp2" "$WORK/cp4" "$WORK/cons2"
: "$B_TOKEN"

section "the terminal keeps the newest checkpoint"
pt_ok "inspector add (terminal)" "$A" inspector add --id wangfang --name 王芳 --cert-no 32132300118
pt_ok "sync again" "$A" sync
KEPT=$(sqlite3 "$A/patrol.db" "SELECT size FROM log_checkpoint")
check "the terminal keeps the newer checkpoint ($KEPT = $N4 + 1)" test "$KEPT" -eq $((N4 + 1))
sqlite3 "$A/patrol.db" "SELECT note FROM log_checkpoint" >"$WORK/kept2"
$LV split "$WORK/kept2" "$WORK/kept2.txt" "$WORK/kept2.sig" >/dev/null
check "openssl verifies the kept checkpoint" \
    openssl dgst -sha256 -verify "$WORK/receipt.pub" -signature "$WORK/kept2.sig" "$WORK/kept2.txt"

section "never two inconsistent checkpoints"
NCP=$(sq "SELECT count(*) FROM log_checkpoints")
# the largest stored subtree from leaf 0: in every later proof
TOP=$(sq "SELECT max(level) FROM log_nodes")
SAVED=$(sq "SELECT hex(hash) FROM log_nodes WHERE level = $TOP AND idx = 0")
sq "DROP TRIGGER log_nodes_no_update; UPDATE log_nodes SET hash = zeroblob(32) WHERE level = $TOP AND idx = 0"
pt_ok "inspector add (terminal)" "$A" inspector add --id zhaolei --name 赵磊 --cert-no 32132300119
pt "$A" sync
check "a sync after a stored subtree changed fails (exit $RC)" test "$RC" -ne 0
check "patrold refuses to sign: not consistent with its latest signed checkpoint" \
    grep -q "not consistent with its latest signed checkpoint" "$SERVER_LOG"
check "no checkpoint was signed" test "$(sq "SELECT count(*) FROM log_checkpoints")" -eq "$NCP"
check "and the batch was not stored" test "$(sq "SELECT count(*) FROM entries WHERE kind = 'inspector.add' AND object = 'zhaolei'")" -eq 0
sq "UPDATE log_nodes SET hash = X'$SAVED' WHERE level = $TOP AND idx = 0"

section "tampering"
stop_server "$SERVER_PID"
check "before: audit log checkpoint verifies" "$PATROLD" --data "$DATA" audit log checkpoint
sq "DROP TRIGGER log_leaves_no_update; UPDATE log_leaves SET data = CAST(replace(CAST(data AS TEXT), 'patrol-entry', 'patrol-entrY') AS BLOB) WHERE idx = 3"
sq "SELECT idx, hex(data) FROM log_leaves ORDER BY idx" -separator ' ' | tr 'A-F' 'a-f' >"$WORK/leaves.bad"
check "an edited leaf changes the root (Python)" bash -c "! $LV root '$WORK/cp4' '$WORK/leaves.bad' >/dev/null 2>&1"
"$PATROLD" --data "$DATA" audit log checkpoint >/dev/null 2>"$WORK/t.err"
RC=$?
check "audit log checkpoint fails (exit $RC)" test "$RC" -eq 1
check "and names leaf 3" grep -q "leaf 3" "$WORK/t.err"
show "$WORK/t.err"
finish
