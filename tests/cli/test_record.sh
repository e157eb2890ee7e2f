#!/bin/bash
# test_record.sh -- a realistic patrol recorded end to end through the CLI,
# then read back (log --json, log --matter, revisits, matter list, info)
# and verified. ctest runs it in English (LANG=C) and in Chinese
# (LANG=zh_CN.UTF-8, TZ=Asia/Shanghai): what people read is checked in the
# run's language (L EN ZH), what scripts read (ids, --json) in both.
#
# usage: test_record.sh PATH/TO/patrol
. "$(dirname "$0")/lib.sh" "$@"

T0=$(date +%s.%N)
LOG=$WORK/log.json
LOGR=$WORK/log-reveal.json

section "setting up the terminal"
new_store record || finish
DEVICE_ID=$(cat "$OUT")
check "init prints the 64-hex device id (got '$DEVICE_ID')" \
    grep -Eq '^[0-9a-f]{64}$' "$OUT"
check "the device key file is private (mode 600)" \
    test "$(stat -c %a "$STORE/device.key")" = 600

expect_ok "inspector add I1" inspector add --id ZF-001 --name 张建国 --cert-no 35010219001
check "inspector add prints the inspector id" test "$LAST" = ZF-001
expect_ok "inspector add I2" inspector add --id ZF-002 --name 林晓燕 --cert-no 35010219002

section "subjects"
CREDIT=91350100M000100Y43
check "the sample credit code has a valid GB 32100 check character" \
    test "$(credit_check_char "${CREDIT:0:17}")" = "${CREDIT:17:1}"
expect_ok "subject add (business)" subject add --credit-code "$CREDIT" \
    --name 福州市鼓楼区好味道餐饮店 --address "福州市鼓楼区东街 88 号" --legal-rep 陈某某 \
    --contact "陈某某 13800000000"
SUBJ_B=$LAST
check "subject add prints a subject id (got '$SUBJ_B')" grep -Eq '^S-[^[:space:]]+$' "$OUT"

ID17=35010219850312123
IDNUM=$ID17$(id_check_char "$ID17")
expect_ok "subject add (person, ID number $IDNUM, confidential)" subject add \
    --id-number "$IDNUM" --name 王某 --confidential id-number=privacy
SUBJ_P=$LAST
check "subject add (person) prints a different subject id" \
    test -n "$SUBJ_P" -a "$SUBJ_P" != "$SUBJ_B"

section "three lists"
expect_ok "lists" lists
check "patrol lists shows the item CG-NP-003" grep -q 'CG-NP-003' "$OUT"
expect_ok "lists --json" lists --json
check "lists --json holds items of the three lists with versions" python3 - "$OUT" <<'EOF'
import json, sys
items = json.load(open(sys.argv[1]))
types = {i["list_type"] for i in items}
assert types == {"no_penalty", "lighter", "reduced"}, types
assert all(i["list_version"] and i["code"] and i["name"] for i in items)
item = [i for i in items if i["code"] == "CG-NP-003"]
assert item and item[0]["list_type"] == "no_penalty" and item[0]["domain"] == "urban_management", item
EOF
LIST_VERSION=$(python3 -c 'import json,sys; print([i["list_version"] for i in json.load(open(sys.argv[1])) if i["code"]=="CG-NP-003"][0])' "$OUT" 2>/dev/null)

# Deadlines and due dates relative to today (they may not be in the past).
DEADLINE=$(day 3)
DUE1=$(day 12); DUE1_BEFORE=$(day 11); DUE1_PLUS5=$(day 17)
DUE2=$(day 48); AFTER_BOTH=$(day 65)

section "matter 1: a street-side shop, completed"
expect_ok "matter open" matter open --subject "$SUBJ_B" --inspector ZF-001 --inspector ZF-002 \
    --domain urban_management --summary "临街商户超出门窗外墙摆放桌椅经营，首次被发现" \
    --list-item CG-NP-003 --location 26.0853,119.2965,8
M1=$LAST
check "matter open prints a matter id (got '$M1')" grep -Eq '^M-[^[:space:]]+$' "$OUT"

expect_ok "consent --accept" consent --matter "$M1" --accept --form oral
SAVED_RE="^$(L 'saved entry' '已保存条目') [0-9]+\$"
check "consent prints '$(L 'saved entry' '已保存条目') N'" grep -Eq "$SAVED_RE" "$OUT"

expect_ok "act guidance" act guidance --matter "$M1" --content "现场指导店主将桌椅收回店内，讲解门前三包责任" \
    --topic 门前三包 --form oral --materials "《门前三包责任告知书》一份" --location 26.0853,119.2965,8
expect_ok "act suggestion" act suggestion --matter "$M1" --content "建议设置室内等候区，规范经营秩序" \
    --form written --follow-up "三日内提交整改方案"
expect_ok "act reminder" act reminder --matter "$M1" --content "提示占道经营属本区高发违法行为" \
    --form written --rules "《福州市城市市容和环境卫生管理办法》第十五条" --source complaints
expect_ok "act warning (all four conditions)" act warning --matter "$M1" --content "告诫不得再次占道经营" \
    --minor --no-harm --no-intent --correctable --corrected --correction "当场收回桌椅" \
    --deadline "$DEADLINE"
expect_ok "act interview (minutes marked trade secret)" act interview --matter "$M1" \
    --content "约谈经营负责人，说明违法后果" --departments "鼓楼区城管局、东街街道" \
    --minutes "负责人承认问题，承诺整改；涉及供货渠道" --mode individual \
    --participants "张建国、林晓燕、陈某某" --reason complaints --confidential minutes=trade
expect_ok "act publicity" act publicity --matter "$M1" --content "将本案作为典型案例公示，引导商户自律" \
    --channel "区城管局微信公众号" --redactions "经营者姓名、联系方式"
expect_ok "act revisit (planned)" act revisit --matter "$M1" --content "回访整改落实情况" \
    --decision "鼓城管柔〔2026〕12号" --due "$DUE1" --follows inspection
R1=$LAST
check "act revisit prints a revisit id (got '$R1')" grep -Eq '^R-[^[:space:]]+$' "$OUT"

expect_ok "leaflet" leaflet --matter "$M1" --title 门前三包责任告知书 --copies 3
expect_ok "document issue" document issue --matter "$M1" --purpose "督促规范经营" \
    --content "请于2026年12月1日前完成整改" --time "2026-11-26 至 2026-12-01" \
    --personnel "张建国、林晓燕" --doc-no GLCG-ROU-2026-012
DOC=$LAST
check "document issue prints a document id (got '$DOC')" grep -Eq '^D-[^[:space:]]+$' "$OUT"
expect_ok "document deliver" document deliver --document "$DOC" --method in_person --recipient 陈某某

PHOTO=$WORK/IMG_0001.jpg
AUDIO=$WORK/REC_0001.wav
{ printf '\377\330\377\340\000\020JFIF\000'; head -c 200000 /dev/urandom; } >"$PHOTO"
{ printf 'RIFF\044\000\001\000WAVEfmt '; head -c 64000 /dev/urandom; } >"$AUDIO"
PHOTO_SHA=$(sha256sum "$PHOTO" | cut -d' ' -f1)
AUDIO_SHA=$(sha256sum "$AUDIO" | cut -d' ' -f1)
cp "$PHOTO" "$WORK/photo.orig"
expect_ok "evidence add photo" evidence add --matter "$M1" --kind photo --caption "门前摆放桌椅" "$PHOTO"
check "evidence add prints '$(L 'saved entry' '已保存条目') N'" grep -Eq "$SAVED_RE" "$OUT"
expect_ok "evidence add audio" evidence add --matter "$M1" --kind audio "$AUDIO"
expect_ok "evidence add the same photo again" evidence add --matter "$M1" --kind photo \
    --caption "同一照片再次登记" "$PHOTO"
check "the photo is stored under evidence/xx/SHA256" test -f "$STORE/evidence/${PHOTO_SHA:0:2}/$PHOTO_SHA"
check "the stored photo is byte-identical to the original" \
    cmp -s "$PHOTO" "$STORE/evidence/${PHOTO_SHA:0:2}/$PHOTO_SHA"
check "the original photo file is left unmodified" cmp -s "$PHOTO" "$WORK/photo.orig"
check "the audio is stored under evidence/xx/SHA256" test -f "$STORE/evidence/${AUDIO_SHA:0:2}/$AUDIO_SHA"
N_BLOBS=$(find "$STORE/evidence" -type f ! -path "$STORE/evidence/tmp/*" | wc -l)
check "the same photo twice is stored once (2 evidence files, found $N_BLOBS)" test "$N_BLOBS" -eq 2

section "matter 2: a person accepts, then asks to stop: terminated"
expect_refused --msg "SY-CGJ.*market_regulation.*outside_department" \
    "$PATROL" matter open --subject "$SUBJ_P" --inspector ZF-002 --domain market_regulation \
    --summary "流动摊贩未明码标价，首次被发现" --list-item SJ-NP-002
expect_ok "matter open (person, urban management)" matter open --subject "$SUBJ_P" \
    --inspector ZF-002 --domain urban_management --summary "流动摊贩占道经营，首次被发现" \
    --list-item CG-NP-003
M2=$LAST
check "second matter id differs from the first" test -n "$M2" -a "$M2" != "$M1"
expect_ok "consent --accept on matter 2" consent --matter "$M2" --accept --form oral
expect_ok "act revisit on matter 2 (due later)" act revisit --matter "$M2" --content "回访整改" \
    --decision "现场检查记录" --due "$DUE2" --follows inspection
R2=$LAST
expect_ok "consent --stop on matter 2 (the subject asks to stop)" consent --matter "$M2" --stop

section "long text"
LONGTEXT=$(python3 -c 'import sys; sys.stdout.write(("整改情况说明，" * 380)[:2600] + "\n第二段：已完成。")')
printf '%s' "$LONGTEXT" >"$WORK/long.txt"
LONGLEN=$(wc -c <"$WORK/long.txt")
check "the long text is within 8000 bytes but near it ($LONGLEN bytes)" test "$LONGLEN" -gt 7500 -a "$LONGLEN" -le 8000
expect_ok "act suggestion with $LONGLEN bytes of multi-line text" act suggestion --matter "$M1" \
    --content "$LONGTEXT" --follow-up "无"
LONG_SEQ=$(sed -n "s/^$(L 'saved entry' '已保存条目') //p" "$OUT")

section "revisits"
expect_ok "revisits (all)" revisits
check "revisits lists both planned revisits" grep -q "$R1" "$OUT"
check "revisits lists the second revisit" grep -q "$R2" "$OUT"
expect_ok "revisits --due --today $DUE1_BEFORE" revisits --due --today "$DUE1_BEFORE"
check "nothing is due the day before the first deadline" test ! -s "$OUT"
expect_ok "revisits --due --today $DUE1" revisits --due --today "$DUE1"
check "revisit $R1 is listed as $(L 'DUE TODAY' '今日到期')" grep -Eq "^$R1 .*$(L 'DUE TODAY' '今日到期')" "$OUT"
check "revisit $R2 (due $DUE2) is not listed on $DUE1" sh -c "! grep -q '$R2' '$OUT'"
expect_ok "revisits --due --today $DUE1_PLUS5 --json" revisits --due --today "$DUE1_PLUS5" --json
check "on $DUE1_PLUS5 only $R1 is due, 5 days overdue, no outcome" python3 - "$OUT" "$R1" "$M1" "$DUE1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r) == 1, r
assert r[0]["id"] == sys.argv[2] and r[0]["matter"] == sys.argv[3], r
assert r[0]["due"] == sys.argv[4] and r[0]["days_overdue"] == 5 and r[0]["outcome"] == "", r
EOF
expect_ok "revisits --due --today $DUE1_PLUS5 (text)" revisits --due --today "$DUE1_PLUS5"
check "text listing says $(L 'OVERDUE (5 days)' '已逾期（5 天）')" \
    grep -Eq "^$R1 .*$(L 'OVERDUE.*5 days overdue' '已逾期.*逾期 5 天')" "$OUT"
expect_ok "revisits --due --today $AFTER_BOTH --json" revisits --due --today "$AFTER_BOTH" --json
check "on $AFTER_BOTH both revisits are overdue" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert sorted(x["id"] for x in r) == sorted(sys.argv[2:]), r' "$OUT" "$R1" "$R2"

expect_ok "revisit done" revisit "done" --revisit "$R1" --outcome corrected \
    --content "桌椅已收回，门前整洁" --opinion "当事人对执法人员工作满意，无意见" \
    --legality lawful_regular
expect_ok "revisits --due --today $AFTER_BOTH --json after revisit done" revisits --due --today "$AFTER_BOTH" --json
check "a done revisit is no longer listed as due" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert [x["id"] for x in r] == [sys.argv[2]], r' "$OUT" "$R2"
expect_ok "revisits --json after revisit done" revisits --json
check "revisits shows the recorded outcome of $R1" python3 -c '
import json, sys
r = {x["id"]: x for x in json.load(open(sys.argv[1]))}
assert r[sys.argv[2]]["outcome"] == "corrected", r' "$OUT" "$R1"

section "closing"
expect_ok "matter close --completed" matter close --matter "$M1" --completed
expect_ok "matter close --terminated" matter close --matter "$M2" --terminated \
    --reason subject_asked_stop --reason-text "当事人要求停止柔性执法"
expect_ok "matter list --json" matter list --json
check "matter list shows matter 1 completed citing CG-NP-003 and matter 2 terminated" python3 - "$OUT" "$M1" "$M2" "$SUBJ_B" <<'EOF'
import json, sys
m = {x["id"]: x for x in json.load(open(sys.argv[1]))}
assert m[sys.argv[2]]["state"] == "completed", m
assert m[sys.argv[2]]["list_item"] == "CG-NP-003", m
assert m[sys.argv[2]]["subject"] == sys.argv[4], m
assert m[sys.argv[3]]["state"] == "terminated", m
EOF

section "reading the record back"
log_json "$LOG"
check "log --json exits 0" test $? -eq 0
log_json "$LOGR" reveal
check "log --json --reveal exits 0" test $? -eq 0
check "log --json holds the whole patrol as recorded" python3 - "$LOG" "$LOGR" <<EOF
import json, sys
log = json.load(open(sys.argv[1]))
rev = json.load(open(sys.argv[2]))
M1, M2, R1, DOC = "$M1", "$M2", "$R1", "$DOC"
SB, SP, IDNUM, CREDIT = "$SUBJ_B", "$SUBJ_P", "$IDNUM", "$CREDIT"
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)

# the chain: 1..N, each prev is the previous hash
want([e["seq"] for e in log] == list(range(1, len(log) + 1)), "seq is not 1..N")
for a, b in zip(log, log[1:]):
    want(b["prev"] == a["hash"], "entry %d does not link to %d" % (b["seq"], a["seq"]))
want(log[0]["kind"] == "device.init" and log[0]["prev"] == "0" * 64, "first entry is not device.init")
want(all(len(e["hash"]) == 64 for e in log), "a hash is not 64 hex digits")
want(all(e["boot_id"] and e["wall_ms"] > 0 for e in log), "an entry lacks time or boot id")

kinds = [e["kind"] for e in log]
expected = ["device.init", "inspector.add", "inspector.add", "subject.add", "subject.add",
            "matter.open", "consent", "action.guidance", "action.suggestion", "action.reminder",
            "action.warning", "action.interview", "action.publicity", "action.revisit",
            "leaflet", "document.issue", "document.deliver", "evidence.add", "evidence.add",
            "evidence.add", "matter.open", "consent", "action.revisit", "consent",
            "action.suggestion", "revisit.outcome", "matter.close", "matter.close"]
want(kinds == expected, "kinds in order: %s" % kinds)
by = {}
for e in log:
    by.setdefault(e["kind"], []).append(e)
def one(kind, i=0):
    l = by.get(kind, [])
    return l[i] if i < len(l) else {"object": None, "matter": None, "inspectors": [], "fields": {}, "seq": 0}
def f(kind, i=0):
    return one(kind, i).get("fields", {})

want(one("inspector.add")["object"] == "ZF-001" and f("inspector.add")["cert_no"] == "35010219001",
     "inspector 1")
b = f("subject.add", 0)
want(one("subject.add", 0)["object"] == SB and b.get("credit_code") == CREDIT
     and b.get("type") == "business" and b.get("legal_rep") == "陈某某", "business subject: %s" % b)
p = f("subject.add", 1)
want(one("subject.add", 1)["object"] == SP and p.get("type") == "person" and p.get("name") == "王某",
     "person subject: %s" % p)
want(p.get("id_number") == {"confidential": "personal_privacy"},
     "id_number without --reveal must be hidden, got %r" % p.get("id_number"))
want(IDNUM not in json.dumps(log), "the ID number appears somewhere in log --json without --reveal")
rp = [e for e in rev if e["seq"] == one("subject.add", 1)["seq"]][0]["fields"]
want(rp.get("id_number") == {"confidential": "personal_privacy", "value": IDNUM},
     "id_number with --reveal: %r" % rp.get("id_number"))

mo = one("matter.open")
want(mo["object"] == M1 and mo["matter"] == M1, "matter.open object")
want(mo["inspectors"] == ["ZF-001", "ZF-002"], "matter.open inspectors %s" % mo["inspectors"])
want(mo["fields"].get("list_item") == "CG-NP-003" and mo["fields"].get("list_type") == "no_penalty"
     and mo["fields"].get("list_version") == "$LIST_VERSION" and mo["fields"].get("subject") == SB,
     "matter.open fields %s" % mo["fields"])
want(abs(mo.get("location", {}).get("lat", 0) - 26.0853) < 1e-6
     and abs(mo.get("location", {}).get("lon", 0) - 119.2965) < 1e-6
     and mo.get("location", {}).get("accuracy_m") == 8, "matter.open location %s" % mo.get("location"))

for e in log:
    if e["matter"] == M1 and e["kind"] != "matter.open":
        want(e["inspectors"] == ["ZF-001", "ZF-002"],
             "entry %d (%s) inspectors %s" % (e["seq"], e["kind"], e["inspectors"]))
want(f("consent", 0).get("answer") == "accept" and f("consent", 0).get("told") == "yes", "consent 1")
want(f("consent", 1).get("answer") == "accept", "consent 2")
want(f("consent", 2).get("answer") == "stop", "consent 3")
g = f("action.guidance")
want(g.get("topic") == "门前三包" and g.get("form") == "oral" and "桌椅" in g.get("content", ""),
     "guidance %s" % g)
want(f("action.suggestion").get("follow_up") == "三日内提交整改方案", "suggestion")
want(f("action.reminder").get("source") == "complaints" and "第十五条" in f("action.reminder").get("rules", ""),
     "reminder")
w = f("action.warning")
want(all(w.get(k) == "yes" for k in ("minor", "no_harm", "no_intent", "correctable", "corrected"))
     and w.get("deadline") == "$DEADLINE", "warning %s" % w)
i = f("action.interview")
want(i.get("mode") == "individual" and i.get("reason") == "complaints", "interview %s" % i)
want(i.get("minutes") == {"confidential": "trade_secret"}, "interview minutes must be hidden: %r" % i.get("minutes"))
want(f("action.publicity").get("channel") == "区城管局微信公众号", "publicity")
rv = one("action.revisit")
want(rv["matter"] == M1 and rv["fields"].get("due") == "$DUE1"
     and rv["fields"].get("follows") == "inspection", "revisit %s" % rv)
want(f("leaflet").get("copies") == "3" and f("leaflet").get("title") == "门前三包责任告知书", "leaflet")
want(one("document.issue")["matter"] == M1 and f("document.issue").get("doc_no") == "GLCG-ROU-2026-012",
     "document.issue")
want(one("document.deliver")["object"] == DOC and one("document.deliver")["matter"] == M1
     and f("document.deliver").get("method") == "in_person", "document.deliver %s" % one("document.deliver"))
ev = by.get("evidence.add", [])
want(len(ev) == 3, "3 evidence entries")
if len(ev) == 3:
    want(ev[0]["fields"].get("sha256") == "$PHOTO_SHA" and ev[0]["fields"].get("size") == "$(stat -c %s "$PHOTO")"
         and ev[0]["fields"].get("media_type") == "image/jpeg" and ev[0]["fields"].get("kind") == "photo"
         and ev[0]["fields"].get("name") == "IMG_0001.jpg", "photo entry %s" % ev[0]["fields"])
    want(ev[1]["fields"].get("sha256") == "$AUDIO_SHA" and ev[1]["fields"].get("media_type") == "audio/wav"
         and ev[1]["fields"].get("kind") == "audio", "audio entry %s" % ev[1]["fields"])
    want(ev[2]["fields"].get("sha256") == "$PHOTO_SHA", "second photo entry")
ro = one("revisit.outcome")
want(ro["object"] == R1 and ro["matter"] == M1 and ro["fields"].get("outcome") == "corrected", "revisit.outcome")
long = [e for e in log if e["seq"] == int("${LONG_SEQ:-0}" or 0)]
want(long and long[0]["fields"].get("content") == open("$WORK/long.txt", encoding="utf-8").read(),
     "the long multi-line text did not come back byte for byte")
mc = by.get("matter.close", [{}, {}])
want(mc[0].get("object") == M1 and mc[0].get("fields", {}).get("outcome") == "completed", "close 1")
want(mc[1].get("object") == M2 and mc[1].get("fields", {}).get("outcome") == "terminated"
     and mc[1].get("fields", {}).get("reason") == "subject_asked_stop", "close 2")
for p in problems:
    print("   ", p)
sys.exit(1 if problems else 0)
EOF

expect_ok "log (text)" log
check "plain log hides the confidential ID number" sh -c "! grep -q '$IDNUM' '$OUT'"
check "plain log shows the ID number as [$(L personal_privacy 个人隐私)]" \
    grep -q "id_number: \[$(L personal_privacy 个人隐私)\]" "$OUT"
expect_ok "log --reveal (text)" log --reveal
check "log --reveal shows the ID number" grep -q "$IDNUM" "$OUT"

section "help in the run's language"
expect_ok "patrol --help" --help
check "patrol --help: '$(L usage: 用法：)' and '$(L 'setting up' 准备工作)'" \
    sh -c "grep -q '^$(L usage: 用法：) patrol ' '$OUT' && grep -q '^$(L 'setting up' 准备工作)\$' '$OUT'"
expect_ok "patrol act --help" act --help
check "act --help names the methods from the rules table: warning $(L 'administrative warning' 行政告诫)" \
    grep -Eq "^  warning +$(L 'administrative warning' 行政告诫): " "$OUT"
expect_ok "patrol act warning --help" act warning --help
check "act warning --help explains --deadline: $(L 'correction deadline' 整改期限)" \
    grep -Eq "^  --deadline +$(L 'correction deadline' 整改期限)" "$OUT"

section "the text log for people: local times, the subject's name, the place"
# Entries keep UTC (the JSON above); people read local time, in the zone
# of the terminal (TZ): in the Chinese run Asia/Shanghai, 8 hours ahead.
expect_ok "log (text) again" log
cp "$OUT" "$WORK/log.txt"
FIRST_MS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["wall_ms"])' "$LOG")
check "entry 1's time shows as $(local_time "$FIRST_MS") (date -d in TZ=${TZ:-system})" \
    grep -q "^#1 $(local_time "$FIRST_MS") device.init " "$WORK/log.txt"
if [ "$ZH" = 1 ]; then
    check "in Asia/Shanghai entry 1 shows 8 hours after UTC, marked CST" python3 - "$LOG" "$WORK/log.txt" <<'EOF'
import datetime, json, sys
e = json.load(open(sys.argv[1]))[0]
utc = datetime.datetime.fromtimestamp(e["wall_ms"] // 1000, datetime.timezone.utc)
want = (utc + datetime.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S") + " CST"
first = open(sys.argv[2], encoding="utf-8").readline()
assert first.startswith("#1 " + want + " "), (first, want)
EOF
fi
check "the warning's header names the kind for people: $(L 'administrative warning' '行政告诫')" \
    grep -Eq "^#[0-9]+ .* action\.warning $M1  $(L 'administrative warning' '行政告诫')\$" "$WORK/log.txt"
check "a choice value shows its code$(L '' ', then its meaning'): outcome: completed$(L '' ' (已办结)')" \
    grep -q "^    outcome: completed$(L '' ' (已办结)')\$" "$WORK/log.txt"
check "every entry's text header: #SEQ LOCAL-TIME KIND OBJECT; subject name and place where known" \
    python3 - "$LOG" "$WORK/log.txt" "$SUBJ_B" "$SUBJ_P" "$(L subject 当事人)" "$(L place 地点)" <<'EOF'
import json, sys, time
log = json.load(open(sys.argv[1]))
text = open(sys.argv[2], encoding="utf-8").read().split("\n")
subj_b, subj_p, subject, place = sys.argv[3:7]
names = {}
matter_subject = {}
for e in log:
    if e["kind"] == "subject.add":
        names[e["object"]] = e["fields"]["name"]
    if e["kind"] == "matter.open":
        matter_subject[e["object"]] = e["fields"]["subject"]
blocks, cur = {}, None
for line in text:
    if line.startswith("#"):
        cur = int(line[1:].split(" ", 1)[0])
        blocks[cur] = [line]
    elif cur is not None and line:
        blocks[cur].append(line)
problems = []
assert names.get(subj_b) and names.get(subj_p), names
for e in log:
    b = blocks.get(e["seq"])
    if not b:
        problems.append("entry %d missing from the text log" % e["seq"]); continue
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(e["wall_ms"] // 1000))
    head = "#%d %s %s %s" % (e["seq"], when, e["kind"], e["object"])
    if b[0] != head and not b[0].startswith(head + "  "):
        problems.append("entry %d: header %r, want %r" % (e["seq"], b[0], head))
    if e["matter"]:
        want = "    %s: %s" % (subject, names[matter_subject[e["matter"]]])
        if want not in b:
            problems.append("entry %d: no line %r" % (e["seq"], want))
    loc = e.get("location")
    if loc:
        want = "    %s: %.7f, %.7f" % (place, loc["lat"], loc["lon"])
        got = [l for l in b if l.startswith(want)]
        if not got or ("%d" % loc["accuracy_m"]) not in got[0][len(want):]:
            problems.append("entry %d: no place line %r... (%s)" % (e["seq"], want, got))
n_loc = sum(1 for e in log if e.get("location"))
if n_loc < 2:
    problems.append("expected entries with a place, found %d" % n_loc)
for p in problems[:10]:
    print("   ", p)
sys.exit(1 if problems else 0)
EOF

expect_ok "log --matter $M2 --json" log --matter "$M2" --json
check "log --matter shows exactly matter 2's entries" python3 - "$OUT" "$LOG" "$M2" <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))
alle = json.load(open(sys.argv[2]))
want = [e["seq"] for e in alle if e["matter"] == sys.argv[3]]
assert [e["seq"] for e in got] == want and len(want) == 5, ([e["seq"] for e in got], want)
EOF

section "verification"
N=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$LOG")
expect_ok "verify" verify
check "verify says $(L "OK $N entries, 2 evidence files" "正常：$N 条记录、2 个证据文件")" \
    grep -Eq "^$(L "OK $N entries, 2 evidence files" "正常：$N 条记录、2 个证据文件")" "$OUT"
expect_ok "verify --json" verify --json
check "verify --json: ok, $N entries, no problems" python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
assert v["ok"] is True and v["entries"] == int(sys.argv[2]) and v["problems"] == [] and v["evidence_files"] == 2, v' "$OUT" "$N"
expect_ok "info --json" info --json
check "info --json: device id, department SY-CGJ, $N entries, head = last hash" python3 - "$OUT" "$LOG" "$DEVICE_ID" <<'EOF'
import json, sys
i = json.load(open(sys.argv[1]))
log = json.load(open(sys.argv[2]))
assert i["device_id"] == sys.argv[3] and i["department"] == "SY-CGJ", i
assert i["entries"] == len(log) and i["head_hash"] == log[-1]["hash"], i
EOF

section "document numbers as written on real documents"
# A 柔性执法意见书 carries a document number (文号) such as 鼓城管柔〔2026〕12号;
# the inspector must be able to record it as printed.
expect_ok "matter open (third matter)" matter open --subject "$SUBJ_B" --inspector ZF-001 \
    --domain urban_management --summary "施工工地未设置施工铭牌" --list-item CG-NP-004
M3=$LAST
expect_ok "consent --accept on matter 3" consent --matter "$M3" --accept
expect_ok "document issue with a Chinese document number (鼓城管柔〔2026〕13号)" document issue \
    --matter "$M3" --purpose "督促设置施工铭牌" --content "请于三日内设置" --time "2026-11-26" \
    --personnel "张建国" --doc-no "鼓城管柔〔2026〕13号"

echo "runtime: $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $T0 }") s"
finish
