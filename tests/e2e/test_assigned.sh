#!/bin/bash
# test_assigned.sh -- revisits the server assigns (issue 6, item 6): a
# revisit planned on terminal A is assigned by the admin (lists import,
# "revisits") to the department's terminals; terminal B, which never saw
# the matter, lists it among its revisits and records the outcome (the
# subject's opinion required, as for its own); the server replays the
# matter with B's entry and flags nothing; the outcome cannot be recorded
# twice on B; a revisit the server invented (an id no entry planned) is
# recordable too and not flagged as unknown.
#
# usage: test_assigned.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

SHOP_CODE=91350100M000100Y43
DUE=$(TZ=Asia/Shanghai date -d '+10 days' +%F)

section "terminal A plans a revisit and syncs"
start_server server
A=$WORK/terminal-a
B=$WORK/terminal-b
new_terminal "$A" "城管执法终端-21" "$(add_device "城管执法终端-21")" || finish
new_terminal "$B" "城管执法终端-22" "$(add_device "城管执法终端-22")" || finish
for t in "$A" "$B"; do
    pt_ok "inspector add ($(basename "$t"))" "$t" inspector add --id zhangwei --name 张伟 \
        --cert-no 32132300100
done
pt_ok "A: subject add" "$A" subject add --credit-code "$SHOP_CODE" --name 泗阳县某某便利店
S=$LAST
pt_ok "A: matter open" "$A" matter open --subject "$S" --inspector zhangwei \
    --domain urban_management --summary "店外摆卖"
M=$LAST
pt_ok "A: consent" "$A" consent --matter "$M" --accept
pt_ok "A: act revisit" "$A" act revisit --matter "$M" --content 回访整改 --decision 现场检查记录 \
    --due "$DUE" --follows inspection
R=$LAST
sync_ok "sync terminal A" "$A"

section "the admin assigns the revisit, and one more, to the department"
REF2=$WORK/reference-assigned.json
python3 - "$REFERENCE" "$REF2" "$R" "$M" "$DUE" <<'EOF'
import json, sys
ref = json.load(open(sys.argv[1], encoding="utf-8"))
r, m, due = sys.argv[3:6]
ref["version"] = ref["version"] + "+assigned"
ref["revisits"] = [
    {"id": r, "matter": m, "due": due, "department": "SY-CGJ",
     "subject_name": "泗阳县某某便利店", "note": "原终端损坏，请改派"},
    {"id": "RV-2026-0001", "matter": m, "due": due, "department": "SY-CGJ",
     "subject_name": "泗阳县某某便利店", "note": "监督科交办的回访"},
    {"id": "RV-2026-0002", "matter": m, "due": due, "department": "SY-SCJGJ",
     "subject_name": "泗阳县某某便利店", "note": "另一部门"},
]
json.dump(ref, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
EOF
srv lists import "$REF2" >"$WORK/import.out" 2>&1
check "lists import with assigned revisits (exit $?)" grep -q "revisits" "$WORK/import.out"
sync_ok "sync terminal B (pulls the assigned revisits)" "$B"

section "terminal B lists and records them"
pt_ok "B: revisits --json" "$B" revisits --json
jfile_checks "$OUT" "B lists its department's two assigned revisits, not the other department's" \
    "sorted(x['id'] for x in j) == sorted(['$R', 'RV-2026-0001']) and all(x['matter'] == '$M' and x['due'] == '$DUE' and x['outcome'] == '' for x in j)"
pt "$B" revisit "done" --revisit "$R" --inspector zhangwei --outcome corrected --legality lawful_regular
check "B: an outcome without the subject's opinion is refused (exit $RC)" test "$RC" -ne 0
check "B: the refusal names the opinion" grep -q "opinion" "$ERR"
pt "$B" revisit "done" --revisit "$R" --outcome corrected --opinion 满意
check "B: an assigned revisit names the inspectors who make it (exit $RC)" test "$RC" -ne 0
pt_ok "B: revisit done (assigned, planned on A)" "$B" revisit "done" --revisit "$R" \
    --inspector zhangwei --outcome corrected --opinion "当事人表示满意" --legality lawful_regular \
    --content "门前整洁"
pt "$B" revisit "done" --revisit "$R" --inspector zhangwei --outcome corrected --opinion 再次
check "B: a second outcome is refused (exit $RC)" test "$RC" -ne 0
pt_ok "B: revisit done (assigned, invented by the server)" "$B" revisit "done" --revisit RV-2026-0001 \
    --inspector zhangwei --outcome partially_corrected --opinion "尚需时间"
pt_ok "B: revisits --due --json" "$B" revisits --due --json
jfile_checks "$OUT" "B has no assigned revisit left to do" "j == []"
pt_ok "B: revisits --json" "$B" revisits --json
jfile_checks "$OUT" "B shows both outcomes" \
    "sorted((x['id'], x['outcome']) for x in j) == sorted([('$R', 'corrected'), ('RV-2026-0001', 'partially_corrected')])"
pt_ok "B: verify" "$B" verify
sync_ok "sync terminal B" "$B"

section "the server replays the matter with B's entries"
"$PATROLD" --data "$DATA" flags --matter "$M" --json >"$WORK/flags.json" 2>"$ERR"
jfile_checks "$WORK/flags.json" "no flag for the matter (B's outcomes fit A's record)" "j == []"
check "the server indexed B's outcomes in A's matter" \
    test "$(sq "SELECT count(*) FROM matter_entries WHERE matter = '$M'")" -eq 5

stop_server_checked
finish
