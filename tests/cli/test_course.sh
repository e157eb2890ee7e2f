#!/bin/bash
# test_course.sh -- a matter's whole course as the seed lays it down
# (二(三)), through the CLI: what the state machine refuses names its rule
# and leaves the store exactly as it was (expect_refused), what it allows
# is recorded; corrections take effect in the views; scope, the three
# lists and department-level acts; a store of the previous release migrates
# and keeps verifying. Rule codes are stable in every language, so the
# checks match them in both runs (LANG=C and LANG=zh_CN.UTF-8).
#
# usage: test_course.sh PATH/TO/patrol
. "$(dirname "$0")/lib.sh" "$@"

T0=$(date +%s.%N)
P=$PATROL

section "setting up"
new_store course || finish
expect_ok "inspector add" inspector add --id ZF-001 --name 张建国 --cert-no 35010219001
expect_ok "inspector add" inspector add --id ZF-002 --name 林晓燕 --cert-no 35010219002
CREDIT=91350100M000100Y43
expect_ok "subject add (shop)" subject add --credit-code "$CREDIT" --name 好味道餐饮店
SB=$LAST
C2=91350100MA2Y0BFF4$(credit_check_char 91350100MA2Y0BFF4)
expect_ok "subject add (second shop)" subject add --credit-code "$C2" --name 东街小卖部
SB2=$LAST
ID17=35010219850312123
expect_ok "subject add (person)" subject add --id-number "$ID17$(id_check_char "$ID17")" --name 王某
SP=$LAST
DEADLINE=$(day 5)
DUE=$(day 14)
YESTERDAY=$(day -1)

# open NAME [options]: open a matter about the shop, as ZF-001 and ZF-002.
open_matter() {
    local what=$1
    shift
    expect_ok "matter open ($what)" matter open --inspector ZF-001 --inspector ZF-002 \
        --domain urban_management "$@"
}
state_of() { # state_of MATTER: the matter's state from matter list --json
    "$P" matter list --json | python3 -c '
import json, sys
print([m["state"] for m in json.load(sys.stdin) if m["id"] == sys.argv[1]][0])' "$1"
}
field_of() { # field_of MATTER KEY: one key of the matter's view
    "$P" matter list --json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin) if m["id"] == sys.argv[1]][0]
v = m[sys.argv[2]]
print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

section "consent first (二(三)1: told of the right to choose, then its answer)"
open_matter "consent" --subject "$SB" --summary 店外摆卖 --list-item CG-NP-003
M1=$LAST
check "a new matter is 'opened' (got $(state_of "$M1"))" test "$(state_of "$M1")" = opened
for k in "act guidance --content c --topic t" "leaflet --title t --copies 1" \
    "document issue --purpose p --content c --time t --personnel p" \
    "act warning --content c --minor --no-harm --no-intent --correctable --correction x --deadline $DEADLINE"; do
    # shellcheck disable=SC2086
    expect_refused --code 1 --msg "$M1.*consent_first" "$P" $k --matter "$M1"
done
expect_refused --code 1 --msg "no_method|consent_first" "$P" matter close --matter "$M1" --completed
expect_ok "consent (told, no answer yet)" consent --matter "$M1"
check "told: the state is 'told' (got $(state_of "$M1"))" test "$(state_of "$M1")" = told
expect_refused --code 1 --msg "stop_before_accept" "$P" consent --matter "$M1" --stop
expect_ok "consent --accept" consent --matter "$M1" --accept
check "accepted: the state is 'accepted'" test "$(state_of "$M1")" = accepted
expect_refused --code 1 --msg "consent_answered" "$P" consent --matter "$M1" --refuse
expect_ok "act guidance after acceptance" act guidance --matter "$M1" --content 指导 --topic 门前三包

section "告诫: three facts, can be corrected, a deadline not in the past"
W="act warning --matter $M1 --content 告诫不得再次占道 --minor --no-harm --no-intent --correction 收回桌椅"
# shellcheck disable=SC2086
expect_refused --code 1 --msg "correctable.*missing_field" "$P" $W --deadline "$DEADLINE"
# shellcheck disable=SC2086
expect_refused --code 1 --msg "$YESTERDAY.*date_past" "$P" $W --correctable --deadline "$YESTERDAY"
# shellcheck disable=SC2086
expect_ok "a warning whose correction is still to come (--corrected=no)" $W --correctable \
    --corrected=no --deadline "$DEADLINE"
# shellcheck disable=SC2086
expect_ok "a paper record entered late: --late allows a past deadline, and says so" $W \
    --correctable --deadline "$YESTERDAY" --late
LATE_SEQ=$(sed -n 's/^[^0-9]*\([0-9][0-9]*\)$/\1/p' "$OUT")
"$P" log --json >"$WORK/log.json"
check "the late warning records late=yes" python3 -c '
import json, sys
e = [e for e in json.load(open(sys.argv[1])) if e["seq"] == int(sys.argv[2])][0]
assert e["kind"] == "action.warning" and e["fields"]["late"] == "yes", e' "$WORK/log.json" "$LATE_SEQ"
expect_ok "act suggestion without a follow-up (it is optional)" act suggestion --matter "$M1" \
    --content 建议规范经营

section "回访: opinion always; integrity after a penalty; legality after an inspection"
expect_ok "act revisit after an inspection" act revisit --matter "$M1" --content 回访整改 \
    --decision 现场检查记录 --due "$DUE" --follows inspection
R1=$LAST
expect_refused --code 1 --msg "$YESTERDAY.*date_past" "$P" act revisit --matter "$M1" --content c \
    --decision d --due "$YESTERDAY" --follows inspection
expect_refused --code 1 --msg "opinion.*missing_field" "$P" revisit "done" --revisit "$R1" \
    --outcome corrected --legality lawful_regular
expect_refused --code 1 --msg "revisit_legality" "$P" revisit "done" --revisit "$R1" \
    --outcome corrected --opinion 无意见
expect_refused --code 1 --msg "revisit_integrity" "$P" act revisit --matter "$M1" --content c \
    --decision 处罚决定书 --due "$DUE" --follows penalty --outcome corrected --opinion 无意见
expect_ok "a revisit after a penalty decision, done on the spot" act revisit --matter "$M1" \
    --content 回访 --decision 处罚决定书 --due "$DUE" --follows penalty --outcome corrected \
    --opinion 满意 --integrity no_concern

section "completion needs what the seed asks (二(三)2, 4)"
expect_ok "document issue" document issue --matter "$M1" --purpose 督促整改 --content 限期整改 \
    --time 即日起 --personnel 张建国、林晓燕
DOC=$LAST
expect_refused --code 1 --msg "$DOC.*undelivered_document" "$P" matter close --matter "$M1" --completed
expect_ok "document deliver" document deliver --document "$DOC" --method in_person --recipient 陈某某
expect_refused --code 1 --msg "$R1.*revisit_pending" "$P" matter close --matter "$M1" --completed
expect_ok "revisit done: not corrected" revisit "done" --revisit "$R1" --outcome not_corrected \
    --opinion 当事人称无力整改 --legality lawful_regular
expect_refused --code 1 --msg "$R1.*not_corrected" "$P" matter close --matter "$M1" --completed
expect_ok "matter close --escalated with the case number" matter close --matter "$M1" --escalated \
    --case-no "鼓城管立〔2026〕88号"
check "escalated: the state is 'escalated', the case number kept" \
    test "$(state_of "$M1")" = escalated -a "$(field_of "$M1" case_no)" = "鼓城管立〔2026〕88号"
expect_refused --code 1 --msg "$M1.*matter_closed" "$P" act guidance --matter "$M1" --content c --topic t

open_matter "major" --subject "$SB2" --summary 施工扰民 --major
MJ=$LAST
expect_ok "consent --accept (major)" consent --matter "$MJ" --accept
expect_refused --code 1 --msg "no_method" "$P" matter close --matter "$MJ" --completed
expect_ok "act guidance (major)" act guidance --matter "$MJ" --content 指导 --topic 施工时间
expect_refused --code 1 --msg "major_without_hearing" "$P" matter close --matter "$MJ" --completed
expect_ok "hearing (major)" hearing --matter "$MJ" --form symposium --participants 居民代表 \
    --summary 征求意见
expect_ok "a major matter with a symposium completes" matter close --matter "$MJ" --completed

open_matter "technical" --subject "$SP" --summary 噪声扰民 --technical
MT=$LAST
expect_ok "consent --accept (technical)" consent --matter "$MT" --accept
expect_ok "act guidance (technical)" act guidance --matter "$MT" --content 指导 --topic 隔音
expect_refused --code 1 --msg "technical_without_expert" "$P" matter close --matter "$MT" --completed
expect_ok "expert opinion" expert --matter "$MT" --expert "李工（县环境监测站）" --opinion 噪声未超标
expect_ok "a technical matter with an expert opinion completes" matter close --matter "$MT" --completed

section "refusal, withdrawal and asking to stop lead only to termination (二(三)3)"
open_matter "refused" --subject "$SB2" --summary 门前堆物
MR=$LAST
expect_ok "consent --refuse" consent --matter "$MR" --refuse
for k in "leaflet --title t --copies 1" "hearing --form hearing --participants p --summary s" \
    "act guidance --content c --topic t"; do
    # shellcheck disable=SC2086
    expect_refused --code 1 --msg "$MR.*subject_refused" "$P" $k --matter "$MR"
done
expect_refused --code 1 --msg "subject_refused" "$P" matter close --matter "$MR" --completed
expect_refused --code 1 --msg "reason_mismatch" "$P" matter close --matter "$MR" --terminated \
    --reason other --reason-text 其他
expect_ok "terminated: subject_refused" matter close --matter "$MR" --terminated --reason subject_refused
check "terminated: the state is 'terminated'" test "$(state_of "$MR")" = terminated

open_matter "accepted, not refused" --subject "$SB2" --summary 广告牌
MA=$LAST
expect_ok "consent --accept" consent --matter "$MA" --accept
expect_refused --code 1 --msg "reason_mismatch" "$P" matter close --matter "$MA" --terminated \
    --reason subject_refused
expect_ok "act guidance" act guidance --matter "$MA" --content 指导 --topic 广告
expect_ok "document issue" document issue --matter "$MA" --purpose p --content c --time t --personnel p
DOC2=$LAST
expect_ok "terminated: the legal basis changed" matter close --matter "$MA" --terminated \
    --reason basis_changed
expect_ok "a document of a terminated matter can still be delivered" document deliver \
    --document "$DOC2" --method post --recipient 陈某某
expect_refused --code 1 --msg "$DOC2" "$P" document deliver --document "$DOC2" --method post \
    --recipient 陈某某

open_matter "on application" --subject "$SB2" --summary 申请指导 --on-application
MW=$LAST
expect_ok "application change" application change --matter "$MW" --content 申请改为行政辅导
expect_ok "application withdraw" application withdraw --matter "$MW" --reason 已自行整改
check "withdrawn: the state is 'withdrawn'" test "$(state_of "$MW")" = withdrawn
expect_refused --code 1 --msg "$MW.*application_withdrawn" "$P" consent --matter "$MW" --accept
expect_refused --code 1 --msg "reason_mismatch" "$P" matter close --matter "$MW" --terminated \
    --reason basis_changed
expect_ok "terminated: subject_withdrew" matter close --matter "$MW" --terminated --reason subject_withdrew
open_matter "ex officio" --subject "$SB2" --summary 依职权
MX=$LAST
expect_refused --code 1 --msg "no_application" "$P" application withdraw --matter "$MX"
expect_ok "application file (the subject applies after all)" application file --matter "$MX" --content 申请
expect_refused --code 1 --msg "application_twice" "$P" application file --matter "$MX" --content 再次申请

section "scope and the three lists (一(三)1, 二(一), 二(四)1)"
expect_refused --code 1 --msg "food_drug_safety.*domain_excluded" "$P" matter open --subject "$SB" \
    --inspector ZF-001 --domain food_drug_safety --summary 过期食品
expect_refused --code 1 --msg "emergency_excluded" "$P" matter open --subject "$SB" \
    --inspector ZF-001 --domain urban_management --summary 借疫情哄抬 --emergency
expect_refused --code 1 --msg "SY-CGJ.*market_regulation.*outside_department" "$P" matter open \
    --subject "$SB" --inspector ZF-001 --domain market_regulation --summary 明码标价
expect_refused --code 1 --msg "$CREDIT|M-.*CG-NP-003|CG-NP-003.*not_first_violation" "$P" matter open \
    --subject "$SB" --inspector ZF-001 --domain urban_management --summary 再次摆卖 --list-item CG-NP-003
open_matter "another subject may cite the same first-violation item" --subject "$SB2" \
    --summary 摆卖 --list-item CG-NP-003
ML=$LAST
expect_ok "matter open --json citing CG-NP-004" matter open --subject "$SP" --inspector ZF-001 \
    --domain urban_management --summary 工地未设铭牌 --list-item CG-NP-004 --json
check "the item's conditions are shown as the matter opens" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["id"].startswith("M-") and j["conditions"] == ["初次违法", "责令限期改正后及时改正"], j' "$OUT"
expect_ok "consent --accept" consent --matter "$ML" --accept
expect_refused --code 1 --msg "LF-999.*unknown_leaflet" "$P" leaflet --matter "$ML" --title 宣传单 \
    --copies 2 --code LF-999
expect_ok "a leaflet from the catalogue" leaflet --matter "$ML" --title 门前三包责任告知书 --copies 2 \
    --code LF-001

section "corrections are checked in context and take effect"
"$P" log --json >"$WORK/log.json"
seq_of() { python3 -c '
import json, sys
print([e["seq"] for e in json.load(open(sys.argv[1])) if e["object"] == sys.argv[2] and e["kind"] == sys.argv[3]][0])' "$WORK/log.json" "$1" "$2"; }
OPEN_ML=$(seq_of "$ML" matter.open)
expect_refused --code 1 --msg "food_drug_safety.*domain_excluded" "$P" correct --entry "$OPEN_ML" \
    --field domain --value food_drug_safety --reason 领域填错 --inspector ZF-001
expect_refused --code 1 --msg "emergency_excluded" "$P" correct --entry "$OPEN_ML" --field emergency \
    --value yes --reason 补记 --inspector ZF-001
expect_refused --code 1 --msg "NOPE-1" "$P" correct --entry "$OPEN_ML" --field list_item \
    --value NOPE-1 --reason 条目填错 --inspector ZF-001
expect_refused --code 1 --msg "inspector" "$P" correct --entry "$OPEN_ML" --field list_item \
    --value CG-NP-004 --reason 条目填错
expect_ok "correct the list item (CG-NP-003 -> CG-NP-004)" correct --entry "$OPEN_ML" --field list_item \
    --value CG-NP-004 --reason 条目填错 --inspector ZF-001
check "the view shows the corrected item" test "$(field_of "$ML" list_item)" = CG-NP-004

open_matter "refused by mistake" --subject "$SP" --summary 占道
MC=$LAST
expect_ok "consent --refuse (recorded by mistake)" consent --matter "$MC" --refuse
"$P" log --json >"$WORK/log.json"
CONSENT_MC=$(seq_of "$MC" consent)
expect_refused --code 1 --msg "$MC.*subject_refused" "$P" act guidance --matter "$MC" --content c --topic t
expect_ok "correct the answer refuse -> accept" correct --entry "$CONSENT_MC" --field answer \
    --value accept --reason 误录为拒绝 --inspector ZF-002
check "the corrected consent takes effect (state accepted)" test "$(state_of "$MC")" = accepted
expect_ok "a method is now accepted" act guidance --matter "$MC" --content 指导 --topic 占道
expect_refused --code 1 --msg "subject_refused" "$P" correct --entry "$CONSENT_MC" --field answer \
    --value refuse --reason 再改 --inspector ZF-002
expect_ok "act revisit" act revisit --matter "$MC" --content 回访 --decision 检查 --due "$DUE" \
    --follows inspection
RC2=$LAST
"$P" log --json >"$WORK/log.json"
REV_MC=$(python3 -c '
import json, sys
print([e["seq"] for e in json.load(open(sys.argv[1])) if e["kind"] == "action.revisit" and e["matter"] == sys.argv[2]][0])' "$WORK/log.json" "$MC")
NEWDUE=$(day 21)
expect_refused --code 1 --msg "due" "$P" correct --entry "$REV_MC" --field due --value 2026-02-30 \
    --reason 日期 --inspector ZF-001
expect_ok "correct the revisit's due date" correct --entry "$REV_MC" --field due --value "$NEWDUE" \
    --reason 延期 --inspector ZF-001
expect_ok "revisits --json" revisits --json
check "revisits shows the corrected due date $NEWDUE" python3 -c '
import json, sys
r = {x["id"]: x for x in json.load(open(sys.argv[1]))}
assert r[sys.argv[2]]["due"] == sys.argv[3], r[sys.argv[2]]' "$OUT" "$RC2" "$NEWDUE"
expect_ok "log --matter shows the original and the correction" log --matter "$MC" --json
check "the log keeps both the original consent and its correction" python3 -c '
import json, sys
log = json.load(open(sys.argv[1]))
c = [e for e in log if e["kind"] == "consent"][0]
k = [e for e in log if e["kind"] == "correction" and e["corrects"] == c["seq"]]
assert c["fields"]["answer"] == "refuse" and k and k[0]["fields"]["value"] == "accept", (c, k)' "$OUT"

section "a revisit contradicting a warning is recorded and flagged"
open_matter "contradicted" --subject "$SP" --summary 乱堆物料
MF=$LAST
expect_ok "consent --accept" consent --matter "$MF" --accept
expect_ok "a warning saying already corrected" act warning --matter "$MF" --content 告诫 --minor \
    --no-harm --no-intent --correctable --corrected --correction 已清理 --deadline "$DEADLINE"
expect_ok "a revisit finding it not corrected" act revisit --matter "$MF" --content 回访 \
    --decision 检查 --due "$DUE" --follows inspection --outcome not_corrected --opinion 无 \
    --legality lawful_regular
expect_ok "flags --matter --json" flags --matter "$MF" --json
check "the contradiction is one flag (warning_contradicted, flag only)" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
assert [(x["rule"], x["flag_only"]) for x in f] == [("warning_contradicted", True)], f' "$OUT"
check "the matter view counts it" test "$(field_of "$MF" flags)" = 1

section "department-level acts (集中约谈, 联合约谈, 提示, 公示)"
expect_ok "a collective interview of two shops" dept interview --inspector ZF-001 \
    --domain urban_management --mode collective --departments SY-CGJ --subjects "$SB,$SB2" \
    --participants "好味道餐饮店、东街小卖部负责人" --content 集中约谈占道经营 --minutes 承诺整改
A1=$LAST
check "the act prints its id (got '$A1')" grep -Eq '^A-[^[:space:]]+$' "$OUT"
expect_refused --code 1 --msg "joint_needs_departments" "$P" dept interview --inspector ZF-001 \
    --domain urban_management --mode joint --departments SY-CGJ --participants p --content c --minutes m
expect_refused --code 1 --msg "own_department_missing" "$P" dept interview --inspector ZF-001 \
    --domain urban_management --mode joint --departments SY-SCJGJ,SY-JTJ --participants p --content c \
    --minutes m
expect_ok "a joint interview by two departments" dept interview --inspector ZF-001 \
    --domain urban_management --mode joint --departments SY-CGJ,SY-SCJGJ --participants 商户代表 \
    --content 联合约谈 --minutes 纪要
expect_refused --code 1 --msg "S-nope" "$P" dept interview --inspector ZF-001 --domain urban_management \
    --mode collective --departments SY-CGJ --subjects "$SB,S-nope" --participants p --content c --minutes m
expect_ok "a reminder to a class of businesses" dept reminder --inspector ZF-002 \
    --domain urban_management --audience 东街沿街餐饮商户 --form written --rules 门前三包规定 \
    --content 节前提示
expect_refused --code 1 --msg "outside_department" "$P" dept publicity --inspector ZF-001 \
    --domain market_regulation --channel 官网 --content c --redactions none
expect_refused --code 1 --msg "domain_excluded|excluded" "$P" dept publicity --inspector ZF-001 \
    --domain food_drug_safety --channel 官网 --content c --redactions none
expect_ok "a publication by the department" dept publicity --inspector ZF-001 --domain urban_management \
    --channel 县城管局网站 --content 典型案例 --redactions 当事人姓名
expect_refused --code 1 --msg "inspector|执法人员" "$P" dept reminder --domain urban_management --audience a \
    --form oral --rules r --content c

section "shifts: an idle day is told from a lost one"
expect_refused --code 1 --msg "shift" "$P" shift end
expect_refused --code 1 --msg "inspector|执法人员" "$P" shift start
expect_ok "shift start" shift start --inspector ZF-001 --inspector ZF-002 --note 东街片区
T1=$LAST
check "shift start prints the shift's id (got '$T1')" grep -Eq '^T-[^[:space:]]+$' "$OUT"
expect_refused --code 1 --msg "$T1" "$P" shift start --inspector ZF-001
expect_ok "shift end" shift end --note 收队
expect_refused --code 1 --msg "shift" "$P" shift end
"$P" log --json >"$WORK/log.json"
check "the journal holds the shift's start and end, both naming $T1" python3 -c '
import json, sys
s = [(e["kind"], e["object"], e["inspectors"]) for e in json.load(open(sys.argv[1])) if e["kind"].startswith("shift.")]
assert s == [("shift.start", sys.argv[2], ["ZF-001", "ZF-002"]), ("shift.end", sys.argv[2], [])], s' "$WORK/log.json" "$T1"

section "evidence: electronic data"
DATA=$WORK/chat-export.json
printf '{"messages":["已整改"]}\n' >"$DATA"
expect_ok "evidence add --kind electronic_data" evidence add --matter "$MF" --kind electronic_data "$DATA"

section "everything verifies"
expect_ok "verify" verify

section "a store of the previous release (schema 2) migrates"
OLD=$WORK/old-store
mkdir -m 700 "$OLD"
cp "$(dirname "$0")/../data/store-v2/patrol.db" "$(dirname "$0")/../data/store-v2/device.key" "$OLD/"
chmod 600 "$OLD/device.key"
check "the fixture is schema 2" test "$(sqlite3 "$OLD/patrol.db" 'PRAGMA user_version')" = 2
expect_ok "verify the old store (migrates it)" --store "$OLD" verify
check "the migrated store verifies 17 entries" grep -Eq '17' "$OUT"
check "the migrated store is at the current schema" \
    test "$(sqlite3 "$OLD/patrol.db" 'PRAGMA user_version')" -gt 2
expect_ok "matter list of the old store" --store "$OLD" matter list --json
check "old matters keep their states (completed, completed, accepted)" python3 -c '
import json, sys
assert [m["state"] for m in json.load(open(sys.argv[1]))] == ["completed", "completed", "accepted"]' "$OUT"
expect_ok "flags of the old store" --store "$OLD" flags --json
check "entries the new rules would refuse are flagged, not lost" python3 -c '
import json, sys
rules = sorted({(f["seq"], f["rule"]) for f in json.load(open(sys.argv[1]))})
want = [(6, "consent_first"), (8, "missing_field"), (10, "missing_field"), (10, "revisit_legality"),
        (10, "warning_contradicted"), (11, "not_corrected"), (14, "no_method"), (14, "subject_refused")]
assert rules == want, rules' "$OUT"
expect_ok "the old open matter takes a new method" --store "$OLD" act guidance \
    --matter M-e7ff4b3e-15 --content 继续指导 --topic 堆物
expect_ok "verify the old store after recording" --store "$OLD" verify

echo "runtime: $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $T0 }") s"
finish
