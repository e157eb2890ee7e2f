#!/bin/bash
# test_audit_index.sh -- the supervisor reads the matter index (issue 7,
# items 1, 4, 6): two terminals record lawful matters through a real
# patrold (a warning with a confidential field, an opinion issued and
# delivered, a photo, a revisit planned on A whose due date A corrects and
# whose outcome B records as an assigned revisit; a major matter with an
# undelivered opinion and a revisit left open); B then sends, as a
# terminal with a bug would, a matter that cites a first-violation item
# again, closes without a method and names a photo it never uploads.
#
# Checked against what the test itself recorded (its own tally of ids,
# seqs and dates, and `patrol log --json` of each terminal), never against
# patrold's own answers:
#  - the index rows of each matter (state, consent, methods, documents,
#    revisits with the corrected due date and B's outcome, evidence);
#  - `reindex` rebuilds tables equal to the live ones, and the comparison
#    notices a lost row;
#  - `audit timeline`: every entry of the matter from both devices in
#    order, inspectors with certificate numbers, Beijing times, the
#    confidential field masked unless --reveal, the correction with its
#    original value, delivery days, evidence held, flags; refusals;
#  - `audit problems` on a day 12 days ahead: exactly the expected set.
#
# usage: test_audit_index.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

SHOP=91350100M000100Y43
PERSON=11010519491231002X
TODAY=$(TZ=Asia/Shanghai date +%F)
DUE1=$(TZ=Asia/Shanghai date -d '+10 days' +%F)
DUE1C=$(TZ=Asia/Shanghai date -d '+11 days' +%F)
DUE2=$(TZ=Asia/Shanghai date -d '+10 days' +%F)
LATER=$(TZ=Asia/Shanghai date -d '+12 days' +%F)

section "two terminals record"
start_server server
A=$WORK/terminal-a
B=$WORK/terminal-b
new_terminal "$A" "城管执法终端-31" "$(add_device "城管执法终端-31")" || finish
new_terminal "$B" "城管执法终端-32" "$(add_device "城管执法终端-32")" || finish
NUM_A=$(device_num "城管执法终端-31")
NUM_B=$(device_num "城管执法终端-32")
pt_ok "A: inspector zhangwei" "$A" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
pt_ok "A: inspector liuna" "$A" inspector add --id liuna --name 刘娜 --cert-no 32132300101
pt_ok "B: inspector wangfang" "$B" inspector add --id wangfang --name 王芳 --cert-no 32132300102
pt_ok "A: shop" "$A" subject add --credit-code "$SHOP" --name 泗阳县某某便利店
S1=$LAST
pt_ok "A: person" "$A" subject add --id-number "$PERSON" --name 王某
S2=$LAST
pt_ok "A: matter 1" "$A" matter open --subject "$S1" --inspector zhangwei --inspector liuna \
    --domain urban_management --summary "店外摆卖" --list-item CG-NP-003 --location 33.7212345,118.6712345,8
M1=$LAST
pt_ok "A: consent" "$A" consent --matter "$M1" --accept
pt_ok "A: warning (content confidential)" "$A" act warning --matter "$M1" --minor --no-harm \
    --no-intent --correctable --content "告诫：涉及个人隐私的陈述" --correction "将商品移回店内" \
    --deadline "$DUE1" --confidential content=privacy
pt_ok "A: opinion issued" "$A" document issue --matter "$M1" --purpose 规范经营 --content 整改意见 \
    --time "$TODAY" --personnel "张伟 刘娜"
D1=$LAST
head -c 3000 /dev/urandom >"$WORK/shop.jpg"
PHOTO_SHA=$(sha256sum "$WORK/shop.jpg" | cut -d' ' -f1)
pt_ok "A: photo" "$A" evidence add --matter "$M1" --kind photo --media-type image/jpeg "$WORK/shop.jpg"
pt_ok "A: revisit planned" "$A" act revisit --matter "$M1" --follows inspection \
    --decision 现场检查 --due "$DUE1" --content 回访整改情况
R1=$LAST
R1_SEQ=${R1##*-}
pt_ok "A: the revisit's due date corrected" "$A" correct --entry "$R1_SEQ" --field due \
    --value "$DUE1C" --reason "笔误" --inspector zhangwei
pt_ok "A: opinion delivered" "$A" document deliver --document "$D1" --method in_person --recipient 店主
pt_ok "A: matter 2 (major)" "$A" matter open --subject "$S2" --inspector zhangwei \
    --domain urban_management --summary "占道经营" --major
M2=$LAST
pt_ok "A: consent 2" "$A" consent --matter "$M2" --accept
pt_ok "A: guidance" "$A" act guidance --matter "$M2" --topic 经营管理 --content 辅导
pt_ok "A: opinion 2 issued, never delivered" "$A" document issue --matter "$M2" --purpose 规范 \
    --content 意见 --time "$TODAY" --personnel 张伟
D2=$LAST
pt_ok "A: revisit 2" "$A" act revisit --matter "$M2" --follows inspection --decision 检查 \
    --due "$DUE2" --content 回访
R2=$LAST
sync_ok "sync A" "$A"

section "the admin assigns revisit $R1 to the department; B records its outcome"
REF2=$WORK/reference-assigned.json
$PY - "$REFERENCE" "$REF2" "$R1" "$M1" "$DUE1C" <<'EOF'
import json, sys
ref = json.load(open(sys.argv[1], encoding="utf-8"))
r, m, due = sys.argv[3:6]
ref["version"] = ref["version"] + "+assigned"
ref["revisits"] = [{"id": r, "matter": m, "due": due, "department": "SY-CGJ",
                    "subject_name": "泗阳县某某便利店", "note": "改派"}]
json.dump(ref, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
EOF
srv lists import "$REF2" >"$WORK/import.out" 2>&1
check "lists import with the assigned revisit" grep -q "1 revisits" "$WORK/import.out"
sync_ok "sync B (pulls the assignment)" "$B"
pt_ok "B: revisit done" "$B" revisit "done" --revisit "$R1" --inspector wangfang \
    --outcome corrected --opinion "当事人表示满意" --legality lawful_regular
sync_ok "sync B" "$B"

section "B, as a terminal with a bug, sends a matter that breaks the rules"
FIRST3=$(($(journal_head "$B") + 1))
pt_ok "B: the same shop" "$B" subject add --credit-code "$SHOP" --name 泗阳县某某便利店
S3=$LAST
head -c 2000 /dev/urandom >"$WORK/never.jpg"
NEVER_SHA=$(sha256sum "$WORK/never.jpg" | cut -d' ' -f1)
wire --store "$B" append matter.open 'M@' subject="$S3" domain=urban_management \
    list_item=CG-NP-003 list_type=no_penalty list_version=2026.11 summary=又摆卖 --inspector wangfang
M3=$(jget "$WOUT" 'j["object"]')
M3_SEQ=$(jget "$WOUT" 'j["seq"]')
wire --store "$B" append consent "$M3" told=yes answer=accept --inspector wangfang
wire --store "$B" append evidence.add "$M3" kind=photo media_type=image/jpeg \
    sha256="$NEVER_SHA" size=2000 --inspector wangfang
EV3_SEQ=$(jget "$WOUT" 'j["seq"]')
wire --store "$B" append matter.close "$M3" outcome=completed --inspector wangfang
CLOSE3_SEQ=$(jget "$WOUT" 'j["seq"]')
wire --store "$B" batch "$FIRST3" "$CLOSE3_SEQ"
jcheck "the server accepts B's entries (it flags, never drops)" \
    "j['status'] == 200 and j['ack']['accepted'] == $((CLOSE3_SEQ - FIRST3 + 1))"

section "the index, as the terminals recorded it"
pt_ok "A: log --json" "$A" log --json
cp "$OUT" "$WORK/log-a.json"
pt_ok "B: log --json" "$B" log --json
cp "$OUT" "$WORK/log-b.json"
# The matter's entries from each terminal's own log.
N_M1=$($PY -c "
import json,sys
n=0
for f in sys.argv[1:]:
    n+=sum(1 for e in json.load(open(f)) if e.get('object')=='$M1' or e.get('object') in ('$D1','$R1'))
print(n)" "$WORK/log-a.json" "$WORK/log-b.json")
# A: open, consent, warning, issue, photo, revisit, correction, delivery; B: outcome
check "the terminals' logs hold 9 entries of $M1 (got $N_M1)" test "$N_M1" = 9
check "index: $M1 accepted, consent accept, 2 methods, opened by A" test \
    "$(sq "SELECT state, consent, device, list_item, inspectors FROM idx_matters WHERE id = '$M1'")" = \
    "accepted|accept|$NUM_A|CG-NP-003|zhangwei,liuna,wangfang"
check "index: methods of $M1" test \
    "$(sq "SELECT group_concat(kind) FROM (SELECT kind FROM idx_methods WHERE matter = '$M1' ORDER BY seq)")" = \
    "action.warning,action.revisit"
check "index: $D1 delivered in person by A" test \
    "$(sq "SELECT delivered, method, deliver_device FROM idx_documents WHERE id = '$D1'")" = "1|in_person|$NUM_A"
check "index: $R1 due $DUE1C (the correction), outcome corrected by B" test \
    "$(sq "SELECT due, outcome, outcome_device, assigned FROM idx_revisits WHERE id = '$R1'")" = \
    "$DUE1C|corrected|$NUM_B|0"
check "index: the photo of $M1, held whole" test \
    "$(sq "SELECT v.size, v.kind, e.complete_ms > 0 FROM idx_evidence v JOIN evidence e USING (sha256) WHERE v.sha256 = '$PHOTO_SHA'")" = "3000|photo|1"
check "index: $M3 completed on B, its photo not received" test \
    "$(sq "SELECT m.state, m.device, coalesce(e.complete_ms, 0) FROM idx_matters m JOIN idx_evidence v ON v.matter = m.id LEFT JOIN evidence e USING (sha256) WHERE m.id = '$M3'")" = "completed|$NUM_B|0"
check "index: inspectors with certificates" test \
    "$(sq "SELECT group_concat(id || ':' || name || ':' || cert_no, ' ') FROM (SELECT * FROM idx_inspectors ORDER BY device, id)")" = \
    "liuna:刘娜:32132300101 zhangwei:张伟:32132300100 wangfang:王芳:32132300102"
check "index: the person's ID number is not stored anywhere in the index" test \
    "$(sq "SELECT count(*) FROM idx_subjects WHERE name LIKE '%$PERSON%' OR subject_key = '$PERSON' OR id LIKE '%$PERSON%'")" = 0
check "index: the person's key is the SHA-256 of the ID number" test \
    "$(sq "SELECT subject_key FROM idx_subjects WHERE id = '$S2'")" = "$(printf %s "$PERSON" | sha256sum | cut -d' ' -f1)"

section "reindex rebuilds the same tables (while serve runs)"
dump_index() {
    sq "SELECT 'objects', * FROM objects ORDER BY id;
        SELECT 'me', matter, device, seq FROM matter_entries ORDER BY matter, id;
        SELECT 'flags', * FROM rule_flags ORDER BY device, seq, rule;
        SELECT 'subjects', * FROM subjects ORDER BY device, id;
        SELECT 'cite', subject_key, item, matter, device FROM citations ORDER BY id;
        SELECT 'ins', * FROM idx_inspectors ORDER BY device, id;
        SELECT 'sub', * FROM idx_subjects ORDER BY device, id;
        SELECT 'm', * FROM idx_matters ORDER BY id;
        SELECT 'mt', * FROM idx_methods ORDER BY device, seq;
        SELECT 'doc', * FROM idx_documents ORDER BY id;
        SELECT 'rv', * FROM idx_revisits ORDER BY id;
        SELECT 'ev', * FROM idx_evidence ORDER BY device, seq;
        SELECT 'act', * FROM idx_acts ORDER BY id;"
}
dump_index >"$WORK/live.txt"
check "the dump holds the index ($(wc -l <"$WORK/live.txt") rows)" test "$(wc -l <"$WORK/live.txt")" -gt 40
srv reindex >"$WORK/reindex.out" 2>"$ERR"
check "patrold reindex (exit $?)" grep -q "index rebuilt" "$WORK/reindex.out"
dump_index >"$WORK/rebuilt.txt"
check "the rebuilt index equals the live one" cmp -s "$WORK/live.txt" "$WORK/rebuilt.txt"
diff "$WORK/live.txt" "$WORK/rebuilt.txt" | head -n 5
sq "DELETE FROM idx_revisits WHERE id = '$R2'"
dump_index >"$WORK/lost.txt"
check "the comparison notices a lost row" test "$(cmp -s "$WORK/live.txt" "$WORK/lost.txt"; echo $?)" = 1
srv reindex >/dev/null 2>"$ERR"
dump_index >"$WORK/rebuilt.txt"
check "reindex brings it back" cmp -s "$WORK/live.txt" "$WORK/rebuilt.txt"
"$PATROLD" --data "$WORK/nowhere" reindex >/dev/null 2>"$ERR"
check "reindex of a directory with no server is refused (exit $?)" grep -q "cannot open\|patrold.db" "$ERR"

section "audit timeline"
srv audit timeline --matter "$M1" --json >"$WORK/tl.json" 2>"$ERR"
check "timeline --json (exit $?)" test -s "$WORK/tl.json"
jfile_checks "$WORK/tl.json" \
    "every entry of $M1 from both terminals, in device time order" \
    "len(j['entries']) == $N_M1 and [e['device_time'] for e in j['entries']] == sorted(e['device_time'] for e in j['entries'])" \
    "the kinds as recorded" \
    "[e['kind'] for e in j['entries']] == ['matter.open','consent','action.warning','document.issue','evidence.add','action.revisit','correction','document.deliver','revisit.outcome']" \
    "B's outcome is there, by B's inspector with the certificate number" \
    "[(e['device'], e['inspectors'][0]['name'], e['inspectors'][0]['cert_no']) for e in j['entries'] if e['kind'] == 'revisit.outcome'] == [($NUM_B, '王芳', '32132300102')]" \
    "the head: state, consent, subject, inspectors" \
    "j['matter']['state'] == 'accepted' and j['matter']['consent'] == 'accept' and j['matter']['subject']['name'] == '泗阳县某某便利店' and [(i['name'], i['cert_no']) for i in j['matter']['inspectors']] == [('张伟','32132300100'),('刘娜','32132300101'),('王芳','32132300102')]" \
    "the confidential content is masked" \
    "[f['value'] for e in j['entries'] if e['kind']=='action.warning' for f in e['fields'] if f['name']=='content'] == ['[personal_privacy]']" \
    "the correction in effect, with the original" \
    "[(c['field'], c['original'], c['corrected']) for e in j['entries'] if e['kind']=='action.revisit' for c in e['corrections']] == [('due', '$DUE1', '$DUE1C')] and [e['revisit']['due'] for e in j['entries'] if e['kind']=='action.revisit'] == ['$DUE1C']" \
    "the opinion delivered the day it was issued, in person" \
    "[(e['document']['delivered'], e['document']['delivery_days'], e['document']['method']) for e in j['entries'] if e['kind']=='document.issue'] == [(True, 0, 'in_person')]" \
    "the photo held by the server" \
    "[(e['evidence']['sha256'], e['evidence']['held']) for e in j['entries'] if e['kind']=='evidence.add'] == [('$PHOTO_SHA', True)]" \
    "place, device and receipt times in UTC" \
    "j['entries'][0]['place']['lat'] == 33.7212345 and j['entries'][0]['device_time'].endswith('Z') and all(e['received'] >= e['device_time'][:17] for e in j['entries']) and not any(e['after_receipt'] for e in j['entries'])" \
    "no flag on a lawful matter" "all(e['flags'] == [] for e in j['entries'])"
srv audit timeline --matter "$M1" --json --reveal >"$WORK/tl-reveal.json" 2>"$ERR"
jfile_check "--reveal shows the confidential content" "$WORK/tl-reveal.json" \
    "[f['value'] for e in j['entries'] if e['kind']=='action.warning' for f in e['fields'] if f['name']=='content'] == ['告诫：涉及个人隐私的陈述']"
check "--reveal says so on stderr" grep -q "reveal" "$ERR"
srv audit timeline --matter "$M1" >"$WORK/tl.txt" 2>"$ERR"
check "text timeline: Beijing times" grep -q "$TODAY [0-9:]* CST" "$WORK/tl.txt"
check "text timeline: inspectors with certificates" grep -q "张伟 (zhangwei, cert. 32132300100)" "$WORK/tl.txt"
check "text timeline: the correction" grep -q "CORRECTED by #[0-9]*: due: $DUE1 -> $DUE1C" "$WORK/tl.txt"
check "text timeline: masked" grep -q "content: \[personal_privacy\]" "$WORK/tl.txt"
check "text timeline: no confidential text" test "$(grep -c 涉及个人隐私 "$WORK/tl.txt")" = 0
srv audit timeline --matter "$M3" --json >"$WORK/tl3.json" 2>"$ERR"
jfile_check "timeline of $M3: the flags on their entries, the photo not held" "$WORK/tl3.json" \
    "[(e['seq'], [f['rule'] for f in e['flags']]) for e in j['entries'] if e['flags']] == [($M3_SEQ, ['not_first_violation']), ($CLOSE3_SEQ, ['no_method'])] and [e['evidence']['held'] for e in j['entries'] if e['kind']=='evidence.add'] == [False]"
srv audit timeline --matter M-00000000-1 >"$OUT" 2>"$ERR"
RC=$?
check "unknown matter: exit 1 ($RC), named" test "$RC" = 1 -a "$(grep -c "no matter 'M-00000000-1'" "$ERR")" = 1
srv audit timeline --matter 'M-1;drop' >"$OUT" 2>"$ERR"
RC=$?
check "malformed id: exit 1 ($RC), one line" test "$RC" = 1 -a "$(grep -c . "$ERR")" = 1
srv audit timeline >"$OUT" 2>"$ERR"
check "no --matter: usage error" test "$?" = 2
# Each timeline shown is a view of the matter: a leaf of the server log
# (matter, redacted or revealed, user, time); the refused ones are not.
"$PY" - "$DATA/patrold.db" "$(id -un)" >"$WORK/views.txt" <<'EOF'
import sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
for (d,) in db.execute("SELECT data FROM log_leaves ORDER BY idx"):
    t = bytes(d).decode()
    if t.startswith('patrol-view\n'):
        f = t.split('\n')
        print(f[1], f[2], 'user-ok' if f[3] == sys.argv[2] else 'user=' + f[3], 'time-ok' if f[4].isdigit() else 'time=' + f[4])
EOF
check "the four timelines shown are log leaves ($(tr '\n' '|' <"$WORK/views.txt"))" \
    test "$(tr '\n' '|' <"$WORK/views.txt")" = "$M1 redacted user-ok time-ok|$M1 revealed user-ok time-ok|$M1 redacted user-ok time-ok|$M3 redacted user-ok time-ok|"

section "audit problems, 12 days from now"
srv audit problems --json --today "$LATER" --days 3 --open-days 5 --silent-days 10 >"$WORK/pr.json" 2>"$ERR"
check "problems --json (exit $?)" test -s "$WORK/pr.json"
LC_ALL=C sort >"$WORK/expected.txt" <<EOF
device_silent - $NUM_A - 12
device_silent - $NUM_B - 12
document_undelivered $M2 $NUM_A $D2 12
evidence_missing $M3 $NUM_B $NEVER_SHA -
major_without_hearing $M2 $NUM_A - -
matter_open_long $M1 $NUM_A - 12
matter_open_long $M2 $NUM_A - 12
repeated_first_violation $M3 $NUM_B CG-NP-003 -
revisit_overdue $M2 $NUM_A $R2 2
rule_flag $M3 $NUM_B no_method -
rule_flag $M3 $NUM_B not_first_violation -
EOF
$PY -c "
import json
for p in sorted(json.load(open('$WORK/pr.json')), key=lambda p: (p['code'], p['matter'] or '', p['device'], p['object'] or '')):
    print(p['code'], p['matter'] or '-', p['device'], p['object'] or '-', '-' if p['days'] is None else p['days'])
" | LC_ALL=C sort >"$WORK/got.txt"
check "exactly the expected problems" cmp -s "$WORK/expected.txt" "$WORK/got.txt"
diff "$WORK/expected.txt" "$WORK/got.txt"
jfile_check "each problem of a matter names its inspectors with certificates" "$WORK/pr.json" \
    "all(p['inspectors'] for p in j if p['matter']) and [(i['name'], i['cert_no']) for p in j if p['code']=='major_without_hearing' for i in p['inspectors']] == [('张伟','32132300100')]"
srv audit problems --json --today "$LATER" --department SY-SCJGJ >"$WORK/pr2.json" 2>"$ERR"
jfile_check "another department has none" "$WORK/pr2.json" "j == []"
srv audit problems --json >"$WORK/pr3.json" 2>"$ERR"
jfile_check "today: only what is wrong already (B's bug: flags, citation, photo)" "$WORK/pr3.json" \
    "sorted(p['code'] for p in j) == ['evidence_missing','major_without_hearing','repeated_first_violation','rule_flag','rule_flag']"
srv audit problems --today "$LATER" --days 3 --open-days 5 --silent-days 10 >"$WORK/pr.txt" 2>"$ERR"
check "text problems: a count and the inspectors" grep -q "Problems to act on, $LATER (Beijing): 11" "$WORK/pr.txt"
srv audit problems --days x >"$OUT" 2>"$ERR"
check "--days x: usage error naming it" test "$?" = 2 -a "$(grep -c -- "--days 'x'" "$ERR")" = 1
srv audit problems --today 2026-02-30 >"$OUT" 2>"$ERR"
check "--today 2026-02-30: usage error naming it" test "$?" = 2 -a "$(grep -c -- "--today" "$ERR")" = 1

stop_server_checked
finish
