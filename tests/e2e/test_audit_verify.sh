#!/bin/bash
# test_audit_verify.sh -- `patrold audit verify` (issue 7 item 3).
#
# A real patrold, two terminals syncing lawful records with a photo and a
# recording; `audit verify` passes while serve runs and names each device
# and day. Then every kind of tampering, each on its own copy of the data
# directory (the entries' triggers dropped in the copy), and verify must
# name the problem (code, device, seq): an entry's bytes edited; edited
# and re-hashed; deleted in the middle (gap) and at the end; two rows
# swapped (reordered); a row duplicated; evidence swapped, truncated,
# removed; a device clock ahead of the receipt time; a late sync. On the
# live server: a fork signed by the device key, evidence never received,
# a rule flag. verify of the untouched copy still passes, and verify
# changes nothing in the data directory.
#
# usage: test_audit_verify.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

INSP="--inspector zhangwei --inspector liuna"
DUE=$(TZ=Asia/Shanghai date -d '+10 days' +%F)
TODAY=$(TZ=Asia/Shanghai date +%F)
"$PY" "$E2E_DIR/../../scripts/make-media.py" "$WORK/media" >/dev/null 2>&1 ||
    { fail "make-media.py"; finish; }

section "two terminals record and sync"
start_server server
A=$WORK/terminal-a
B=$WORK/terminal-b
new_terminal "$A" "城管执法终端-07" "$(add_device "城管执法终端-07")" || finish
new_terminal "$B" "城管执法终端-08" "$(add_device "城管执法终端-08")" || finish
for t in "$A" "$B"; do
    pt_ok "inspector add zhangwei" "$t" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
    pt_ok "inspector add liuna" "$t" inspector add --id liuna --name 刘娜 --cert-no 32132300117
done
pt_ok "A: subject" "$A" subject add --credit-code 91350100M000100Y43 --name 泗阳县某某便利店
SA=$LAST
# shellcheck disable=SC2086
pt_ok "A: matter open" "$A" matter open --subject "$SA" $INSP --domain urban_management \
    --summary "店外摆卖占用人行道" --location 33.7213,118.6942,8
MA=$LAST
pt_ok "A: consent" "$A" consent --matter "$MA" --accept --form oral
pt_ok "A: photo" "$A" evidence add --matter "$MA" --kind photo --caption 店外摆卖现场 \
    "$WORK/media/storefront.png"
pt_ok "A: warning" "$A" act warning --matter "$MA" --minor --no-harm --no-intent --correctable \
    --content "告诫不得占道经营" --correction "将商品移回店内" --deadline "$DUE"
pt_ok "A: document issue" "$A" document issue --matter "$MA" --purpose "督促规范经营" \
    --content "请落实门前三包责任" --time "$TODAY 至 $DUE" --personnel "张伟、刘娜"
DOC=$LAST
pt_ok "A: document deliver" "$A" document deliver --document "$DOC" --method in_person \
    --recipient "王某（店主）"
pt_ok "A: photo after" "$A" evidence add --matter "$MA" --kind photo --caption 整改后 \
    "$WORK/media/corrected.png"
pt_ok "B: subject" "$B" subject add --credit-code 91321323MA1N4K7P26 --name 泗阳县某某餐馆
SB=$LAST
# shellcheck disable=SC2086
pt_ok "B: matter open" "$B" matter open --subject "$SB" $INSP --domain urban_management \
    --summary "店外堆放杂物"
MB=$LAST
pt_ok "B: consent" "$B" consent --matter "$MB" --accept --form written
pt_ok "B: recording" "$B" evidence add --matter "$MB" --kind audio --caption 约谈录音 \
    "$WORK/media/interview.wav"
pt_ok "B: reminder" "$B" act reminder --matter "$MB" --form oral --source inspection \
    --rules "门前三包" --content "说明规定"
sync_ok "sync A" "$A" || finish
sync_ok "sync B" "$B" || finish
HA=$(journal_head "$A")
HB=$(journal_head "$B")
DEV_A=$(device_num "城管执法终端-07")
DEV_B=$(device_num "城管执法终端-08")
check "the server holds the three evidence files" \
    test "$(sq "SELECT count(*) FROM evidence WHERE complete_ms > 0")" = 3

# verify DIR NAME [--json]: run audit verify on DIR; exit in $RC, output in
# $WORK/NAME.out, stderr in $WORK/NAME.err.
verify() {
    local dir=$1 name=$2
    shift 2
    "$PATROLD" --data "$dir" audit verify "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
}

section "verify passes, while serve runs"
sq .dump >"$WORK/dump.before"
verify "$DATA" ok --json
check "audit verify --json exits 0 (got $RC)" test "$RC" -eq 0
[ "$RC" -eq 0 ] || { show "$WORK/ok.err"; head -c 1500 "$WORK/ok.out"; }
jfile_checks "$WORK/ok.out" \
    "ok, no integrity failure" "j['ok'] is True and j['integrity_failures'] == 0" \
    "every entry verified ($HA + $HB)" "j['entries'] == $HA + $HB" \
    "per device: entries, last seq" \
    "sorted((d['device'], d['entries'], d['last_seq']) for d in j['devices']) == sorted([($DEV_A, $HA, $HA), ($DEV_B, $HB, $HB)])" \
    "per day (Beijing date): today's entries counted" \
    "all(sum(x['entries'] for x in d['days']) == d['entries'] and any(x['date'] == '$TODAY' for x in d['days']) for d in j['devices'])" \
    "the evidence hashed again" "j['evidence']['complete'] == 3 and j['evidence']['not_received'] == 0 and j['evidence']['bytes_hashed'] > 100000" \
    "no rule flag" "j['rule_flags'] == 0"
verify "$DATA" ok-text
check "audit verify (text) exits 0 and says OK" grep -q "^result: OK: $((HA + HB)) entries of 2 devices" "$WORK/ok-text.out"
check "the text names each device with its days" grep -q "^device $DEV_A 城管执法终端-07 (SY-CGJ): $HA entries" "$WORK/ok-text.out"
sq .dump >"$WORK/dump.after"
check "audit verify changed nothing in the database" cmp -s "$WORK/dump.before" "$WORK/dump.after"

section "the terminal cites the server log; the log is rebuilt and held against its checkpoints"
# After the sync, A holds the checkpoint its last Ack brought: its next
# entry cites it (size and root, as the server signed it), the one after
# does not (cited once).
CP_SIZE=$(sqlite3 -batch "$A/patrol.db" "SELECT size FROM log_checkpoint")
CP_ROOT=$("$PY" -c 'import base64,sys; print(base64.b64decode(sys.argv[1]).hex())' \
    "$(sq "SELECT note FROM log_checkpoints WHERE size = ${CP_SIZE:-0}" | sed -n 3p)")
pt_ok "A: shift start after the sync" "$A" shift start --inspector zhangwei
pt_ok "A: shift end" "$A" shift end
"$PATROL" --store "$A" log --json >"$WORK/a-log.json" 2>/dev/null
CITE_SEQ=$(jget "$WORK/a-log.json" "j[-2]['seq']")
jfile_checks "$WORK/a-log.json" \
    "A's entry after the sync cites the server's checkpoint ($CP_SIZE leaves, root ${CP_ROOT:0:16}...)" \
    "j[-2].get('log') == {'size': $CP_SIZE, 'root': '$CP_ROOT'} and len('$CP_ROOT') == 64" \
    "the entry after it cites nothing (a checkpoint is cited once)" \
    "'log' not in j[-1] and sum(1 for e in j if 'log' in e) == 1"
"$PATROL" --store "$A" log >"$WORK/a-log.txt" 2>/dev/null
check "patrol log shows the citation" grep -q "cites the server log at leaves: $CP_SIZE" "$WORK/a-log.txt"
{ cat "$WORK/media/storefront.png"; echo cited; } >"$WORK/media/cited.png"
pt_ok "A: a photo of the matter after the citation" "$A" evidence add --matter "$MA" --kind photo \
    --caption 引用之后 "$WORK/media/cited.png"
sync_ok "sync A again" "$A" || finish
HA=$(journal_head "$A")
# The timeline bounds each entry by the checkpoint its device had cited:
# the entries before the citation have no lower bound, the photo after it
# is "not before" the checkpoint's signing time.
CP_MS=$(sq "SELECT signed_ms FROM log_checkpoints WHERE size = ${CP_SIZE:-0}")
"$PATROLD" --data "$DATA" audit timeline --matter "$MA" --json >"$WORK/tl-cited.json" 2>"$ERR"
jfile_checks "$WORK/tl-cited.json" \
    "timeline: the photo after the citation is not before the signing of checkpoint $CP_SIZE" \
    "[(e['not_before_checkpoint'], e['not_before'][:19]) for e in j['entries'] if e['kind'] == 'evidence.add' and e['not_before']] == [($CP_SIZE, __import__('datetime').datetime.utcfromtimestamp($CP_MS / 1000).strftime('%Y-%m-%dT%H:%M:%S'))]" \
    "timeline: the entries before it have no lower bound, none is before its bound" \
    "sum(1 for e in j['entries'] if e['not_before'] is None) == len(j['entries']) - 1 and not any(e['before_checkpoint'] for e in j['entries'])"
LANG=C "$PATROLD" --data "$DATA" audit timeline --matter "$MA" >"$WORK/tl-cited.txt" 2>"$ERR"
check "timeline (text): the lower bound is shown" \
    grep -q "written after the server signed its log of $CP_SIZE leaves at" "$WORK/tl-cited.txt"
verify "$DATA" cited --json
check "verify with a citation exits 0 (got $RC)" test "$RC" -eq 0
jfile_checks "$WORK/cited.out" \
    "verify rebuilt the log from its leaves and counts the citation" \
    "j['log']['citations'] == 1 and j['log']['leaves'] >= $HA + $HB and j['log']['checkpoints'] >= 3 and j['log']['entries_before_log'] == 0 and j['log']['leaves_without_entry'] == 0"

# snap NAME: a consistent copy of the data directory (SQLite backup API,
# so it is safe while serve runs); its path in $COPY.
snap() {
    COPY=$WORK/copy-$1
    mkdir -p "$COPY"
    sqlite3 -batch "$DATA/patrold.db" ".backup '$COPY/patrold.db'" || fail "backup $1"
    cp -a "$DATA/evidence" "$COPY/evidence"
    cp -a "$DATA"/*.key "$DATA"/*.crt "$COPY/"
}

# tamper NAME PYTHON: a copy with PYTHON run on it (db: a sqlite3
# connection with the triggers dropped; ev(sha): the evidence file path).
tamper() {
    snap "$1"
    "$PY" - "$COPY" "$2" <<'EOF' || fail "tampering $1"
import hashlib, os, sqlite3, sys
d = sys.argv[1]
db = sqlite3.connect(os.path.join(d, "patrold.db"))
db.execute("DROP TRIGGER entries_no_update")
db.execute("DROP TRIGGER entries_no_delete")
def ev(sha):
    return os.path.join(d, "evidence", sha[:2], sha)
def row(dev, seq):
    return db.execute("SELECT entry, hash, sig FROM entries WHERE device=? AND seq=?", (dev, seq)).fetchone()
def put(dev, seq, r):
    db.execute("UPDATE entries SET entry=?, hash=?, sig=? WHERE device=? AND seq=?", (r[0], r[1], r[2], dev, seq))
exec(sys.argv[2])
db.commit()
EOF
}

# expect_problem NAME CODE DEV SEQ: verify of copy NAME fails (exit 1)
# and names CODE for DEV (SEQ, or - for any).
expect_problem() {
    local name=$1 code=$2 dev=$3 seq=$4
    verify "$WORK/copy-$name" "$name" --json
    check "$name: verify exits 1 (got $RC)" test "$RC" -eq 1
    local cond="p['code'] == '$code' and p['device'] == $dev and p['severity'] == 'integrity'"
    [ "$seq" != - ] && cond="$cond and p['seq'] == $seq"
    jfile_checks "$WORK/$name.out" "$name: verify names $code (device $dev, seq $seq)" \
        "j['ok'] is False and any($cond for p in j['problems'])"
    check "$name: stderr names the first failure" grep -q "integrity failures; first: device" "$WORK/$name.err"
}

section "tampering, each on its own copy"
SHA_A1=$(sqlite3 -batch "$A/patrol.db" "SELECT sha256 FROM evidence ORDER BY rowid LIMIT 1" 2>/dev/null)
[ -n "$SHA_A1" ] || SHA_A1=$(sq "SELECT sha256 FROM evidence_refs WHERE device = $DEV_A ORDER BY sha256 LIMIT 1")
SHA_B1=$(sq "SELECT sha256 FROM evidence_refs WHERE device = $DEV_B LIMIT 1")

tamper edit "r = row($DEV_A, 4); e = bytearray(r[0]); e[-3] ^= 0x01; put($DEV_A, 4, (bytes(e), r[1], r[2]))"
expect_problem edit hash_mismatch "$DEV_A" 4

tamper edit-rehash "r = row($DEV_A, 4); e = bytearray(r[0]); e[-3] ^= 0x01; put($DEV_A, 4, (bytes(e), hashlib.sha256(bytes(e)).digest(), r[2]))"
expect_problem edit-rehash bad_signature "$DEV_A" 4
jfile_checks "$WORK/edit-rehash.out" "edit-rehash: the next entry's link is named too" \
    "any(p['code'] == 'chain_broken' and p['seq'] == 5 for p in j['problems'])"

tamper delete "db.execute('DELETE FROM entries WHERE device=$DEV_A AND seq=5')"
expect_problem delete gap "$DEV_A" 5

tamper delete-last "db.execute('DELETE FROM entries WHERE device=$DEV_B AND seq=$HB')"
expect_problem delete-last truncated "$DEV_B" "$HB"

tamper reorder "r4 = row($DEV_A, 4); r5 = row($DEV_A, 5); put($DEV_A, 4, r5); put($DEV_A, 5, r4)"
expect_problem reorder seq_mismatch "$DEV_A" 4

tamper duplicate "put($DEV_B, 3, row($DEV_B, 2))"
expect_problem duplicate seq_mismatch "$DEV_B" 3

tamper ev-swap "
a, b = ev('$SHA_A1'), ev('$SHA_B1')
da, dbb = open(a, 'rb').read(), open(b, 'rb').read()
os.chmod(a, 0o600); os.chmod(b, 0o600)
open(a, 'wb').write(dbb); open(b, 'wb').write(da)"
verify "$WORK/copy-ev-swap" ev-swap --json
check "ev-swap: verify exits 1 (got $RC)" test "$RC" -eq 1
jfile_checks "$WORK/ev-swap.out" "ev-swap: both files named as altered" \
    "all(any(p['code'] in ('evidence_hash_mismatch', 'evidence_size_mismatch') and s in p['detail'] for p in j['problems']) for s in ('$SHA_A1', '$SHA_B1'))"

tamper ev-truncate "p = ev('$SHA_B1'); os.chmod(p, 0o600); os.truncate(p, 1000)"
expect_problem ev-truncate evidence_size_mismatch "$DEV_B" -

tamper ev-remove "os.remove(ev('$SHA_A1'))"
expect_problem ev-remove evidence_file_missing "$DEV_A" -

tamper ev-unindexed "db.execute(\"DELETE FROM evidence_refs WHERE device=$DEV_B AND sha256='$SHA_B1'\")"
expect_problem ev-unindexed evidence_unindexed "$DEV_B" -

tamper clock "db.execute('UPDATE entries SET received_ms = wall_ms - 3600000 WHERE device=$DEV_B AND seq=3')"
verify "$WORK/copy-clock" clock --json
check "clock: a clock anomaly is not an integrity failure (exit $RC)" test "$RC" -eq 0
jfile_checks "$WORK/clock.out" "clock: device time after the receipt time is named (clock_ahead, device $DEV_B seq 3)" \
    "any(p['code'] == 'clock_ahead' and p['device'] == $DEV_B and p['seq'] == 3 and p['severity'] == 'anomaly' for p in j['problems'])" \
    "clock: counted under its day" \
    "[sum(x['clock_anomalies'] for x in d['days']) for d in j['devices'] if d['device'] == $DEV_B] == [1]"

tamper late "db.execute('UPDATE entries SET received_ms = wall_ms + 3 * 86400000 WHERE device=$DEV_A AND seq=2')"
verify "$WORK/copy-late" late --json
jfile_checks "$WORK/late.out" "late: an entry synced 72 h after capture is named (late_sync)" \
    "any(p['code'] == 'late_sync' and p['device'] == $DEV_A and p['seq'] == 2 for p in j['problems'])" \
    "late: counted under its day" \
    "[sum(x['late_sync'] for x in d['days']) for d in j['devices'] if d['device'] == $DEV_A] == [1]"

# expect_log_problem NAME CODE: verify of copy NAME fails naming CODE for
# the server log (device 0).
expect_log_problem() {
    verify "$WORK/copy-$1" "$1" --json
    check "$1: verify exits 1 (got $RC)" test "$RC" -eq 1
    jfile_checks "$WORK/$1.out" "$1: verify names $2 (the server log)" \
        "any(p['code'] == '$2' and p['device'] == 0 and p['severity'] == 'integrity' for p in j['problems'])"
}
LOGPY="db.execute('DROP TRIGGER log_leaves_no_update'); db.execute('DROP TRIGGER log_leaves_no_delete'); db.execute('DROP TRIGGER log_nodes_no_update'); db.execute('DROP TRIGGER log_checkpoints_no_update'); db.execute('DROP TRIGGER log_checkpoints_no_delete')"
tamper log-drop "$LOGPY; db.execute('DELETE FROM log_leaves WHERE idx = 2')"
expect_log_problem log-drop log_leaf_missing
tamper log-edit "$LOGPY; db.execute(\"UPDATE log_leaves SET data = data || X'0a' WHERE idx = 3\")"
expect_log_problem log-edit log_leaf_edited
# An entry leaf rewritten with its leaf hash (and the subtree above it)
# made anew: the leaf hashes agree, the signed roots do not, and the entry
# is no longer among the leaves.
tamper log-rewrite "$LOGPY
idx, data = [r for r in db.execute('SELECT idx, data FROM log_leaves ORDER BY idx') if bytes(r[1]).startswith(b'patrol-entry')][-1]
lines = bytes(data).split(b'\\n')
lines[3] = b'0' * 64
nd = b'\\n'.join(lines)
db.execute('UPDATE log_leaves SET data = ? WHERE idx = ?', (nd, idx))
db.execute('UPDATE log_nodes SET hash = ? WHERE level = 0 AND idx = ?', (hashlib.sha256(b'\\x00' + nd).digest(), idx))"
expect_log_problem log-rewrite log_root_mismatch
jfile_checks "$WORK/log-rewrite.out" \
    "log-rewrite: the entry it recorded is named not_in_log, the leaf log_entry_missing" \
    "any(p['code'] == 'not_in_log' and p['device'] > 0 for p in j['problems']) and any(p['code'] == 'log_entry_missing' for p in j['problems'])"
tamper cite-unsigned "$LOGPY; db.execute('DELETE FROM log_checkpoints WHERE size = $CP_SIZE')"
expect_problem cite-unsigned bad_citation "$DEV_A" "$CITE_SEQ"
tamper cite-clock "$LOGPY; db.execute('UPDATE log_checkpoints SET signed_ms = signed_ms + 86400000 WHERE size = $CP_SIZE')"
verify "$WORK/copy-cite-clock" cite-clock --json
jfile_checks "$WORK/cite-clock.out" \
    "cite-clock: device time before the signing of the checkpoint it cites is a clock anomaly (clock_behind, device $DEV_A seq $CITE_SEQ)" \
    "any(p['code'] == 'clock_behind' and p['device'] == $DEV_A and p['seq'] == $CITE_SEQ and p['severity'] == 'anomaly' for p in j['problems'])" \
    "cite-clock: and for the entry after it" \
    "any(p['code'] == 'clock_behind' and p['seq'] == $CITE_SEQ + 1 for p in j['problems'])"

section "on the live server: a fork, evidence never received, a rule flag"
snap pristine
wire --store "$A" batch 3 3 --edit 3 --resign
jcheck "a second signed entry 3 from A: REJECTED fork" "entries() == [(3, 'REJECTED', 'fork')]"
{ cat "$WORK/media/corrected.png"; echo "another photo"; } >"$WORK/media/third.png"
pt_ok "A: evidence whose file is never sent" "$A" evidence add --matter "$MA" --kind photo \
    --caption 第三张 "$WORK/media/third.png"
H=$(journal_head "$A")
wire --store "$A" batch "$H" "$H"
jcheck "the entry alone is accepted (no upload)" "entries() == [($H, 'ACCEPTED', '')]"
"$WIRE" --store "$B" $INSP append action.guidance "$MB" content=讲解 topic=门前三包 >/dev/null 2>&1 ||
    fail "e2e_wire append"
"$WIRE" --store "$B" $INSP append consent "$MB" answer=refuse told=yes >/dev/null 2>&1 ||
    fail "e2e_wire append"
"$WIRE" --store "$B" $INSP append action.guidance "$MB" content=再次讲解 topic=门前三包 >/dev/null 2>&1 ||
    fail "e2e_wire append"
FLAGGED=$(journal_head "$B")
H2=$((HB + 1))
wire --store "$B" batch "$H2" "$FLAGGED"
"$PATROLD" --data "$DATA" flags --json >"$WORK/flags.json" 2>/dev/null
FLAGS_BY_RULE=$(jget "$WORK/flags.json" 'dict(__import__("collections").Counter(f["rule"] for f in j))')
FLAGS_B=$(jget "$WORK/flags.json" "len([f for f in j if f['device'] == $DEV_B])")
check "the rule-breaking entries of B are flagged ($FLAGS_BY_RULE)" test "${FLAGS_B:-0}" -ge 1
verify "$DATA" live --json
check "live: verify exits 1: the fork is an integrity failure (got $RC)" test "$RC" -eq 1
jfile_checks "$WORK/live.out" \
    "live: the fork is named (device $DEV_A seq 3)" \
    "any(p['code'] == 'fork' and p['device'] == $DEV_A and p['seq'] == 3 for p in j['problems'])" \
    "live: counted as a fork of its day" \
    "[sum(x['forks'] for x in d['days']) for d in j['devices'] if d['device'] == $DEV_A] == [1]" \
    "live: the evidence never received is named" \
    "any(p['code'] == 'evidence_not_received' and p['device'] == $DEV_A and p['seq'] == $H for p in j['problems']) and j['evidence']['not_received'] == 1" \
    "live: the rule flags are counted by rule and by device and day (as patrold flags lists them)" \
    "j['rule_flags'] == $FLAGS_B and j['rule_flags_by_rule'] == $FLAGS_BY_RULE and [sum(x['rule_flags'] for x in d['days']) for d in j['devices'] if d['device'] == $DEV_B] == [$FLAGS_B]" \
    "live: nothing else is an integrity failure" \
    "j['integrity_failures'] == 1"
verify "$DATA" live-text
check "live (text): the fork is a FAIL line naming device and seq" \
    grep -q "^FAIL fork: device $DEV_A (城管执法终端-07) seq 3" "$WORK/live-text.out"
check "live (text): evidence never received is a WARN line" \
    grep -q "^WARN evidence_not_received: device $DEV_A" "$WORK/live-text.out"

section "the untouched copy still passes; bad input"
verify "$WORK/copy-pristine" pristine
check "verify of the untouched copy exits 0 (got $RC)" test "$RC" -eq 0
[ "$RC" -eq 0 ] || show "$WORK/pristine.err"
verify "$WORK/nowhere" nowhere
check "verify of a directory with no server exits 1 naming it" \
    sh -c "test $RC -eq 1 && grep -q 'no server in' '$WORK/nowhere.err'"
# A new server: a device enrolled that never synced, no evidence, no log.
# (qsort and bsearch were handed NULL arrays: UBSan stopped verify.)
"$PATROLD" --data "$WORK/empty" init --name 新服务器 >/dev/null 2>&1 &&
    "$PATROLD" --data "$WORK/empty" device add --name 终端-01 --department SY-CGJ >/dev/null 2>&1 ||
    fail "a new server"
verify "$WORK/empty" empty --json
check "verify of a new server (a device that never synced, nothing else) exits 0 (got $RC)" \
    test "$RC" -eq 0
jfile_check "the new server: ok, one device, no entries" "$WORK/empty.out" \
    "j['ok'] is True and len(j['devices']) == 1 and j['entries'] == 0 and j['log']['leaves'] == 0"
verify "$DATA" badarg --bogus
check "verify --bogus is a usage error (exit 2, got $RC)" test "$RC" -eq 2

stop_server_checked
finish
