#!/bin/bash
# test_report.sh -- `patrold audit report`, `audit file`, `audit filed`
# (issue 7 item 5; docs/report.md).
#
# 1. A month of records from three terminals (two of SY-CGJ, one of
#    SY-SCJGJ) through a real patrold: every method, every way to close
#    (completed, terminated for each reason, escalated), consent refused
#    and stopped, an application filed, changed and withdrawn, revisits
#    done on time, late, overdue, each outcome, documents delivered 1, 3
#    and 14 days after issue, leaflets, department-level acts, evidence of
#    each kind, entries either side of the month's Beijing-time bounds, and
#    corrections of a list item and of leaflet copies (the effective counts
#    differ from the raw ones). The terminals' wall clocks are moved with
#    an LD_PRELOAD shim (libe2e_clockshift.so, built beside e2e_wire).
# 2. Every figure of the month's and the year's report (--json) equals a
#    count made here, independently of patrold (gen_month.py expect: each
#    terminal's `patrol log --json`, corrections applied by the test, list
#    types from the reference file, receive times from the stored
#    entries); every cell of the CSV and of the XLSX (openpyxl) equals
#    the JSON.
# 3. Bad input (month out of range, malformed month or year, unknown
#    department, both or no period): refused, exit 2 (usage) or 1, the
#    message naming it, the data directory unchanged.
# 4. `audit file` twice with data ingested between: version 2 lists the
#    figures that changed, version 1 is stored unchanged, both signatures
#    verify (`audit filed --json`).
#
# usage: test_report.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

GEN=$E2E_DIR/gen_month.py
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
SHIM=$(dirname "$WIRE")/libe2e_clockshift.so
[ -f "$SHIM" ] || { fail "no clock shim at $SHIM (build target e2e_clockshift)"; finish; }
"$PY" -c 'import openpyxl' 2>/dev/null || { fail "python3-openpyxl is missing (scripts/deps.sh)"; finish; }

# The month before this one, in Beijing time; and today there.
MONTH=$("$PY" -c '
import datetime
t = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date().replace(day=1)
print((t - datetime.timedelta(days=1)).strftime("%Y-%m"))')
YEAR=${MONTH%-*}
TODAY=$(TZ=Asia/Shanghai date +%F)
note "the month recorded: $MONTH (Beijing today $TODAY)"

section "a month of records from three terminals"
start_server report
T1=$WORK/t1 T2=$WORK/t2 T3=$WORK/t3
if ! "$PY" "$GEN" init "$PATROL" "$SHIM" "$WORK" "$MONTH" "$T1" "$T2" "$T3" 2>"$ERR"; then
    fail "gen_month init"; show "$ERR"; finish
fi
for t in "T1 城管终端-01 SY-CGJ" "T2 城管终端-02 SY-CGJ" "T3 市监终端-01 SY-SCJGJ"; do
    set -- $t
    dir=${!1}
    tok=$(srv device add --name "$2" --department "$3" 2>"$ERR") || { fail "device add $2"; show "$ERR"; finish; }
    pt "$dir" enroll --server "$URL" --token "$tok"
    [ "$RC" -eq 0 ] || { fail "enroll $2: exit $RC, token '${tok:0:12}…'"; show "$ERR"; show "$OUT"; finish; }
done
if ! "$PY" "$GEN" record "$PATROL" "$SHIM" "$WORK" "$MONTH" "$T1" "$T2" "$T3" 2>"$ERR"; then
    fail "gen_month record"; show "$ERR"; finish
fi
pass "recorded a month on three terminals"
for d in "$T1" "$T2" "$T3"; do
    sync_ok "sync $(basename "$d")" "$d" || finish
done

# The independent count: the terminals' logs and the server's receive times.
counted() { # PERIOD OUT
    for d in "$T1" "$T2" "$T3"; do
        "$PATROL" --store "$d" log --json >"$d/log.json" || fail "patrol log --json $d"
    done
    sq "SELECT lower(hex(d.key_id)), e.seq, e.wall_ms, e.received_ms FROM entries e
        JOIN devices d ON d.id = e.device" >"$WORK/entries.tsv"
    "$PY" "$GEN" expect "$1" "$TODAY" "$WORK/entries.tsv" "$REFERENCE" \
        "$T1=SY-CGJ" "$T2=SY-CGJ" "$T3=SY-SCJGJ" >"$2" 2>"$ERR" || { fail "gen_month expect $1"; show "$ERR"; }
}
counted "$MONTH" "$WORK/expect-month.json"

# The data must hold what the test claims, or the comparison proves little.
jfile_checks "$WORK/expect-month.json" \
    "the month has every method" "all(j['scopes']['county']['methods'].get(k, 0) > 0 for k in ('guidance','suggestion','reminder','warning','interview','publicity','revisit'))" \
    "every termination reason" "len(j['scopes']['county']['terminated_by_reason']) == 6" \
    "completed and escalated matters" "j['scopes']['county']['matters']['completed'] >= 3 and j['scopes']['county']['matters']['escalated'] == 1" \
    "consent refused and stop" "j['scopes']['county']['consent']['refused'] == 1 and j['scopes']['county']['consent']['stop'] == 1" \
    "applications filed, changed, withdrawn" "j['scopes']['county']['applications'] == {'filed': 1, 'changed': 1, 'withdrawn': 1}" \
    "revisits on time, late, overdue and each outcome" "all(j['scopes']['county']['revisits'].get(k, 0) > 0 for k in ('on_time','late','overdue','corrected','partially_corrected','not_corrected'))" \
    "a document delivered 14 days late" "j['scopes']['county']['documents']['delay_max_days'] == 14" \
    "evidence of every kind" "len(j['scopes']['county']['evidence_count']) == 5" \
    "the three department-level acts" "len(j['scopes']['county']['dept_acts']) == 3" \
    "the corrected item counts (CG-NP-004), the raw one not (CG-LT-002)" "j['scopes']['SY-CGJ']['list_items'].get('CG-NP-004') == 1 and 'CG-LT-002' not in j['scopes']['SY-CGJ']['list_items']" \
    "the corrected copies count (30, not 50)" "j['scopes']['SY-CGJ']['leaflet_copies']['LF-003'] == 30"

section "the month's report equals the count"
srv audit report --month "$MONTH" --json >"$WORK/month.json" 2>"$ERR"
check "audit report --month $MONTH --json exits 0" test $? -eq 0
srv audit report --month "$MONTH" --csv >"$WORK/month.csv" 2>"$ERR"
check "audit report --csv exits 0" test $? -eq 0
srv audit report --month "$MONTH" --xlsx "$WORK/month.xlsx" >"$OUT" 2>"$ERR"
check "audit report --xlsx exits 0 and says so" grep -q "wrote $WORK/month.xlsx" "$OUT"
if "$PY" "$GEN" compare "$WORK/expect-month.json" "$WORK/month.json" "$WORK/month.csv" \
    "$WORK/month.xlsx" >"$WORK/cmp" 2>&1; then
    pass "every figure of the month (JSON, CSV, XLSX) equals the count: $(tail -n 1 "$WORK/cmp")"
else
    fail "the month's report differs from the count"
    show "$WORK/cmp" 22
fi
jfile_checks "$WORK/month.json" \
    "units: the four departments and the county" "[u['code'] for u in j['units']] == ['SY-CGJ','SY-JTJ','SY-SCJGJ','SY-WLJ','county']" \
    "the county is the sum of the departments (matters opened)" "j['scopes']['county']['matters']['opened'] == sum(j['scopes'][u]['matters']['opened'] for u in ('SY-CGJ','SY-JTJ','SY-SCJGJ','SY-WLJ'))" \
    "no annual tables in a month's report" "'annual_acts' not in j['scopes']['county']" \
    "the period is the month in Beijing time" "j['period']['period'] == '$MONTH' and j['period']['from'] == '$MONTH-01'"
srv audit report --month "$MONTH" >"$WORK/month.txt" 2>"$ERR"
check "the text report has Chinese headings" grep -q "柔性执法方式" "$WORK/month.txt"
check "the text report names the methods in Chinese" grep -q "行政告诫" "$WORK/month.txt"
check "the text report's title is the month's" grep -q "柔性执法统计月报 ${MONTH%-*}年${MONTH#*-}月" "$WORK/month.txt"

section "one department"
srv audit report --month "$MONTH" --department SY-SCJGJ --json >"$WORK/dept.json" 2>"$ERR"
check "audit report --department SY-SCJGJ exits 0" test $? -eq 0
"$PY" - "$WORK/expect-month.json" "$WORK/dept.json" >"$WORK/cmp" 2>&1 <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))["scopes"]["SY-SCJGJ"]
r = json.load(open(sys.argv[2]))
assert list(r["scopes"]) == ["SY-SCJGJ"], list(r["scopes"])
n = 0
for t, rows in r["scopes"]["SY-SCJGJ"].items():
    for k, v in rows.items():
        n += 1
        assert v == e.get(t, {}).get(k, 0), (t, k, v, e.get(t, {}).get(k, 0))
print(n)
EOF
check "the department's report is its column alone, every figure as counted" test $? -eq 0

section "the year's report"
# A terminal that skips its own rules (e2e_wire append, now): a method
# before the subject chose, flagged consent_first by the server; the year
# report counts the flag (and the method: a stored entry stays counted).
pt_ok "subject add (now)" "$T1" subject add --credit-code 91321323MA1N4K7P26 --name 泗阳县某某餐馆
pt_ok "matter open (now)" "$T1" matter open --subject "$LAST" --inspector zhangwei \
    --domain urban_management --summary "店外堆放杂物"
FLAGGED=$LAST
"$WIRE" --store "$T1" --inspector zhangwei append action.guidance "$FLAGGED" content=讲解 topic=门前三包 \
    >"$WOUT" 2>"$ERR" || { fail "e2e_wire append"; show "$ERR"; }
sync_ok "sync the flagged entry" "$T1"
srv flags --matter "$FLAGGED" --json >"$WORK/flags.json" 2>"$ERR"
jfile_check "the server flagged the method before consent" "$WORK/flags.json" "[f['rule'] for f in j] == ['consent_first']"
counted "$YEAR" "$WORK/expect-year.json"
# The flag is the test's own tally (a terminal's log has no server flags).
"$PY" - "$WORK/expect-year.json" <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))
for u in ("SY-CGJ", "county"):
    e["scopes"][u].setdefault("rule_flags", {})["consent_first"] = 1
json.dump(e, open(sys.argv[1], "w"))
PYEOF
srv audit report --year "$YEAR" --json --reporter 李明 --phone 0527-85123456 >"$WORK/year.json" 2>"$ERR"
check "audit report --year $YEAR exits 0" test $? -eq 0
srv audit report --year "$YEAR" --csv >"$WORK/year.csv" 2>"$ERR"
srv audit report --year "$YEAR" --xlsx "$WORK/year.xlsx" >"$OUT" 2>"$ERR"
if "$PY" "$GEN" compare "$WORK/expect-year.json" "$WORK/year.json" "$WORK/year.csv" \
    "$WORK/year.xlsx" >"$WORK/cmp" 2>&1; then
    pass "every figure of the year (JSON, CSV, XLSX) equals the count: $(tail -n 1 "$WORK/cmp")"
else
    fail "the year's report differs from the count"
    show "$WORK/cmp" 22
fi
jfile_checks "$WORK/year.json" \
    "the rule flag is counted" "j['scopes']['SY-CGJ']['rule_flags'] == {'consent_first': 1}" \
    "年报: 不予处罚 / 减轻 / 从轻 are the matters citing each list" "all(j['scopes'][u]['annual_acts'][k] == j['scopes'][u]['lists'][k] for u in j['scopes'] for k in ('no_penalty','reduced','lighter'))" \
    "年报: flexible matters are not penalty cases" "all(j['scopes'][u]['annual_acts']['penalty_cases'] is None for u in j['scopes'])" \
    "年报: 其他行政执法行为 are the matters opened" "j['scopes']['county']['annual_acts']['other_flexible'] == j['scopes']['county']['matters']['opened'] > 0" \
    "补充表: the seven methods, opinions, consent, revisits" "j['scopes']['county']['annual_flexible']['warning'] == j['scopes']['county']['methods']['warning'] and j['scopes']['county']['annual_flexible']['opinions_delivered'] == j['scopes']['county']['documents']['delivered'] and j['scopes']['county']['annual_flexible']['revisits_overdue'] == j['scopes']['county']['revisits']['overdue']" \
    "the reporter block" "j['filing_block']['reporter'] == '李明' and j['filing_block']['phone'] == '0527-85123456' and j['filing_block']['date'] == '$TODAY'" \
    "the year holds the months either side" "j['scopes']['county']['matters']['opened'] > $(jget "$WORK/month.json" "j['scopes']['county']['matters']['opened']")"
srv audit report --year "$YEAR" --reporter 李明 --phone 0527-85123456 >"$WORK/year.txt" 2>"$ERR"
check "the text year report has the 年报 table" grep -q "行政执法情况统计年报表" "$WORK/year.txt"
check "the text year report has the reporter block" grep -q "报表人：李明" "$WORK/year.txt"
check "the text year report has the phone" grep -q "联系电话：0527-85123456" "$WORK/year.txt"
"$PY" -c '
import openpyxl, sys
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
names = wb.sheetnames
assert names[:2] == ["年报表", "柔性执法补充表"], names
rows = [r for r in wb["柔性执法补充表"].iter_rows(values_only=True)]
assert any(r and r[0] == "报表人" for r in rows), rows[-5:]
' "$WORK/year.xlsx" 2>"$ERR"
check "the year's spreadsheet: a sheet per table, 年报表 first, the reporter block" test $? -eq 0

section "bad input is refused, nothing changes"
filings() { sq "SELECT period, department, version, hex(sha256), hex(sig), report FROM report_filings ORDER BY id"; }
server_state >"$WORK/state.before"
filings >>"$WORK/state.before"
refused() { # DESC EXIT PATTERN ARGS...
    local desc=$1 want=$2 pat=$3 after=$WORK/state.after
    shift 3
    srv audit "$@" >"$OUT" 2>"$ERR"
    RC=$?
    if [ "$RC" -eq "$want" ] && grep -q -- "$pat" "$ERR"; then
        pass "$desc: exit $RC, '$(head -n 1 "$ERR" | cut -c 1-120)'"
    else
        fail "$desc: exit $RC (want $want), stderr should name '$pat'"
        show "$ERR"
    fi
    server_state >"$after"
    filings >>"$after"
    if cmp -s "$WORK/state.before" "$after"; then pass "$desc: data unchanged"; else fail "$desc: data changed"; fi
}
refused "month 13" 2 "month 13 is out of range" report --month 2026-13
refused "month 00" 2 "month 00 is out of range" report --month 2026-00
refused "malformed month" 2 "'2026-1' is not YYYY-MM" report --month 2026-1
refused "malformed year" 2 "'20x6' is not a year" report --year 20x6
refused "short year" 2 "'26' is not a year" report --year 26
refused "no period" 2 "give one of --month" report --json
refused "both periods" 2 "give one of --month" report --month "$MONTH" --year "$YEAR"
refused "two outputs" 2 "at most one of" report --month "$MONTH" --json --csv
refused "unknown department" 1 "unknown department 'SY-NOPE'" report --month "$MONTH" --department SY-NOPE
refused "malformed department" 2 "'城管' is not a department code" report --month "$MONTH" --department 城管
refused "unknown option" 2 "unknown argument '--monthly'" report --monthly "$MONTH"
refused "xlsx in a missing directory" 1 "$WORK/none/r.xlsx" report --month "$MONTH" --xlsx "$WORK/none/r.xlsx"
refused "file: month out of range" 2 "month 13 is out of range" file --month 2026-13
refused "file: unknown department" 1 "unknown department 'SY-NOPE'" file --month "$MONTH" --department SY-NOPE

section "filing (备案): versions, what changed, signatures"
srv audit file --month "$MONTH" >"$OUT" 2>"$ERR"
check "audit file --month $MONTH exits 0" test $? -eq 0
check "audit file says version 1" grep -q "filed report $MONTH (county) as version 1" "$OUT"
LEAF=$(sed -n 's/.*server log leaf \([0-9]*\)$/\1/p' "$OUT")
check "the filing is a leaf of the server log" test -n "$LEAF"
check "the leaf names the period, the unit, the version and the report's hash" test \
    "$(sq "SELECT data FROM log_leaves WHERE idx = $LEAF" 2>/dev/null | head -n 4 | tr '\n' ' ')" = \
    "patrol-report $MONTH county 1 "
V1=$(sq "SELECT hex(sha256) || hex(sig) || hex(report) FROM report_filings WHERE version = 1")
V1_JSON=$(sq "SELECT report FROM report_filings WHERE version = 1")
check "version 1 holds the report as made" test -n "$V1"
# One more leaflet of the month, synced: the refiled report differs.
if ! "$PY" - "$GEN" "$PATROL" "$SHIM" "$WORK" "$MONTH" "$T1" 2>"$ERR" <<'EOF'
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("gen", sys.argv[1])
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)
r = gen.Rec(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
t1 = sys.argv[6]
log = json.loads(r.run(t1, "log", "--json", shift=False))
m5 = [e["object"] for e in log if e["kind"] == "matter.open" and e["fields"]["summary"] == "多次投诉噪音"][0]
r.at(21, 9, 0)
r.run(t1, "leaflet", "--matter", m5, "--title", "户外广告设置规范指引", "--code", "LF-002", "--copies", 9)
EOF
then
    fail "recording one more leaflet"; show "$ERR"
fi
sync_ok "sync the new leaflet" "$T1"
srv audit file --month "$MONTH" >"$OUT" 2>"$ERR"
check "audit file again exits 0" test $? -eq 0
check "the second filing is version 2" grep -q "filed report $MONTH (county) as version 2" "$OUT"
check "version 2 says it changed since version 1" grep -q "changed since version 1" "$OUT"
check "version 2 names the figure that changed, with both values" \
    grep -q "SY-CGJ .*(leaflet_copies.LF-002): 0 -> 9" "$OUT"
check "and the county's" grep -q "county .*(leaflets.handouts): " "$OUT"
check "no figure of another department changed" test "$(grep -c "^  SY-SCJGJ" "$OUT")" -eq 0
check "version 1 is stored unchanged" test "$(sq "SELECT hex(sha256) || hex(sig) || hex(report) FROM report_filings WHERE version = 1")" = "$V1"
"$PY" -c '
import json, sys
v1 = json.loads(sys.argv[1])
assert v1["filing"]["version"] == 1 and v1["filing"]["changes"] == []
assert v1["scopes"]["SY-CGJ"]["leaflet_copies"].get("LF-002", 0) == 0
' "$V1_JSON" 2>"$ERR"
check "version 1's figures are the ones filed then" test $? -eq 0
srv audit filed --json >"$WORK/filed.json" 2>"$ERR"
check "audit filed --json exits 0" test $? -eq 0
jfile_checks "$WORK/filed.json" \
    "two versions listed" "[(f['period'], f['department'], f['version']) for f in j] == [('$MONTH', 'county', 1), ('$MONTH', 'county', 2)]" \
    "both signatures verify with the receipt key" "all(f['signature_valid'] for f in j)" \
    "version 2 counts its changes" "j[0]['changes'] == 0 and j[1]['changes'] > 0"
srv audit filed >"$OUT" 2>"$ERR"
check "audit filed lists them for people" test "$(grep -c "signature ok" "$OUT")" -eq 2
srv audit file --month "$MONTH" >"$OUT" 2>"$ERR"
check "a third filing with nothing new says unchanged" grep -q "unchanged since version 2" "$OUT"

section "while serve runs"
check "the report was made while patrold serve ran" kill -0 "$SERVER_PID"
stop_server_checked
finish
