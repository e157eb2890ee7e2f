#!/bin/bash
# test_reference.sh -- reference data kept whole, from the file to the
# terminal. `patrold lists import` keeps everything in the sample
# (departments and their domains, list names and issuers, item categories
# and conditions, leaflets) and says so; each broken copy of the sample is
# refused with a message naming the place in the file, and the server's
# database is byte for byte what it was (sqlite3 .dump before and after).
# Then a terminal syncs, holds what the server sent, whole, and shows it
# (patrol lists, domains, departments, leaflets, with and without --json).
#
# usage: test_reference.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

section "import the sample"
DATA=$WORK/import
srv init --name "e2e import" >"$WORK/init.out" 2>&1 || { fail "patrold init"; show "$WORK/init.out"; finish; }
srv lists import "$REFERENCE" >"$OUT" 2>"$ERR"
RC=$?
check "the sample is imported (exit $RC)" test "$RC" -eq 0
check "the summary counts 4 departments" grep -q '4 departments' "$OUT"
check "the summary counts 5 leaflets" grep -q '5 leaflets' "$OUT"
check "the summary counts 4 lists with 9 items" grep -q '4 lists with 9 items' "$OUT"
check "the summary names the file's version" grep -q '2026.11-sample.1' "$OUT"
[ "$N_FAIL" -gt 0 ] && show "$OUT" && show "$ERR"

# broken DESC PYTHON WHERE: a copy of the sample changed by PYTHON (on `d`)
# must be refused naming WHERE, with the database unchanged.
broken() {
    local desc=$1 edit=$2 where=$3 file=$WORK/broken.json before=$WORK/dump.before after=$WORK/dump.after
    "$PY" -c "
import json, sys
d = json.load(open(sys.argv[1], encoding='utf-8'))
$edit
json.dump(d, open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False)" "$REFERENCE" "$file" ||
        { fail "$desc: could not make the broken copy"; return; }
    sq .dump >"$before"
    srv lists import "$file" >"$OUT" 2>"$ERR"
    RC=$?
    sq .dump >"$after"
    if [ "$RC" -eq 0 ]; then
        fail "$desc: imported (exit 0)"
        show "$OUT"
    elif ! grep -qF -- "$where" "$ERR" || ! grep -q 'nothing imported' "$ERR"; then
        fail "$desc: the message does not name $where"
        show "$ERR"
    else
        pass "$desc: refused naming $where"
    fi
    if cmp -s "$before" "$after"; then
        pass "$desc: database unchanged"
    else
        fail "$desc: the database changed"
        diff "$before" "$after" | head -n 6 | cut -c 1-200 | sed 's/^/      | /'
    fi
}

section "broken copies are refused whole"
broken "a department naming an unknown domain" \
    "d['departments'][2]['domains'][0] = 'xyz'" "departments[2].domains[0]: unknown domain 'xyz'"
broken "a department without a name" "del d['departments'][1]['name']" "departments[1].name: missing"
broken "a department code twice" "d['departments'][3]['code'] = 'SY-CGJ'" \
    "departments[3].code: 'SY-CGJ' appears twice (first at departments[0].code)"
broken "a department holding no domain" "d['departments'][0]['domains'] = []" "departments[0].domains"
broken "an over-long condition" "d['lists'][0]['items'][1]['conditions'][2] = '长' * 200" \
    "lists[0].items[1].conditions[2]"
broken "a condition of two lines" "d['lists'][2]['items'][0]['conditions'][0] = '甲\n乙'" \
    "lists[2].items[0].conditions[0]"
broken "conditions that are not a list" "d['lists'][1]['items'][0]['conditions'] = '初次违法'" \
    "lists[1].items[0].conditions: not an array"
broken "a category that is not a code" "d['lists'][0]['items'][0]['category'] = 'first violation'" \
    "lists[0].items[0].category"
broken "an item without a category" "del d['lists'][3]['items'][0]['category']" \
    "lists[3].items[0].category: missing"
broken "an item in an unknown domain" "d['lists'][1]['items'][1]['domain'] = 'fisheries'" \
    "lists[1].items[1].domain: unknown domain 'fisheries'"
broken "an item in an excluded domain" "d['lists'][1]['items'][1]['domain'] = 'food_drug_safety'" \
    "lists[1].items[1].domain"
broken "an item code twice" "d['lists'][2]['items'][1]['code'] = 'CG-NP-002'" \
    "lists[2].items[1].code: 'CG-NP-002' appears twice (first at lists[0].items[1].code)"
broken "a list without an issuer" "del d['lists'][2]['issuer']" "lists[2].issuer: missing"
broken "a list name of two lines" "d['lists'][0]['name'] = '清单\n（示例）'" "lists[0].name"
broken "a list of an unknown type" "d['lists'][3]['type'] = 'heavier'" "lists[3].type"
broken "an excluded domain marked flexible" "d['domains'][9]['flexible'] = True" \
    "domains[9].flexible"
broken "a leaflet code twice" "d['leaflets'][4]['code'] = 'LF-002'" "leaflets[4].code"
broken "a leaflet without a title" "d['leaflets'][0]['title'] = ''" "leaflets[0].title"
broken "an unknown key (a typo would drop data)" "d['lists'][0]['items'][0]['condition'] = []" \
    "lists[0].items[0]: unknown key 'condition'"
check "the server still holds one reference version" test "$(sq 'SELECT count(*) FROM reference')" -eq 1

section "a terminal gets it whole"
start_server server
# A second version, so the terminal's data is visibly the server's.
"$PY" -c "
import json, sys
d = json.load(open(sys.argv[1], encoding='utf-8'))
d['departments'][0]['name'] = '泗阳县城市管理局（服务器）'
d['departments'][0]['domains'] = ['urban_management', 'transport']
d['lists'][0]['items'][0]['conditions'] = ['甲', '乙']
d['leaflets'] = d['leaflets'][:2]
json.dump(d, open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False)" "$REFERENCE" "$WORK/v2.json"
import_quiet() { srv lists import "$1" >/dev/null; }
check "version 2 imported" import_quiet "$WORK/v2.json"
T=$WORK/terminal
new_terminal "$T" "终端-01" "$(add_device "终端-01")" || finish
sync_ok "sync pulls the reference data" "$T"
tq() { sqlite3 -batch "$T/patrol.db" "$@"; }
check "the terminal holds reference version 2" test "$(tq 'SELECT reference_version FROM sync_state')" = 2
check "the terminal holds 4 departments" test "$(tq 'SELECT count(*) FROM departments')" = 4
check "the department's name is the server's" \
    test "$(tq "SELECT name FROM departments WHERE code = 'SY-CGJ'")" = '泗阳县城市管理局（服务器）'
check "the department holds the domains the server says" \
    test "$(tq "SELECT group_concat(domain, ',') FROM (SELECT domain FROM department_domains WHERE department = 'SY-CGJ' ORDER BY domain)")" = 'transport,urban_management'
check "an item's conditions are the server's, one per line" \
    test "$(tq "SELECT conditions FROM list_items WHERE code = 'CG-NP-001'")" = "$(printf '甲\n乙')"
check "an item's category, list name and issuer are kept" \
    test "$(tq "SELECT category || '|' || list_name || '|' || issuer || '|' || list_version FROM list_items WHERE code = 'SJ-NP-002'")" = 'first_violation|市场监管领域轻微违法行为不予行政处罚清单（示例）|宿迁市市场监督管理局（示例）|2026-01'
check "the leaflets are the server's two" test "$(tq 'SELECT count(*) FROM leaflets')" = 2

section "the terminal shows it (patrol lists, domains, departments, leaflets)"
# jout DESC PYEXPR: PYEXPR (`j` is the JSON patrol printed) must be true.
jout() {
    if "$PY" -c "import json, sys; j = json.load(open(sys.argv[1], encoding='utf-8')); sys.exit(0 if ($2) else 1)" "$OUT"; then
        pass "$1"
    else
        fail "$1"
        show "$OUT"
    fi
}
pt_ok "lists --json" "$T" lists --json &&
    jout "lists --json: an item's conditions, category, list name and issuer" \
        "[(i['conditions'], i['category'], i['list_name'], i['issuer'], i['list_version']) for i in j if i['code'] == 'CG-NP-001'] == [(['甲', '乙'], 'first_violation', '城市管理领域轻微违法行为不予行政处罚清单（示例）', '宿迁市城市管理局（示例）', '2026-01')]"
pt_ok "lists" "$T" lists &&
    check "lists names each list's issuer and shows conditions and basis" \
        grep -q 'issued by 宿迁市城市管理局（示例）, version 2026-01' "$OUT"
check "lists shows an item's conditions one per line" grep -Eq '^ +conditions +甲$' "$OUT"
check "lists shows an item's legal basis" grep -Eq '^ +basis +《城市道路管理条例》第二十七条、第四十二条$' "$OUT"
pt_ok "domains --json" "$T" domains --json &&
    jout "domains --json: transport held (the server's data), food and drug excluded" \
        "{d['code']: (d['flexible'], d['held']) for d in j}['transport'] == (True, True) and {d['code']: (d['flexible'], d['held']) for d in j}['food_drug_safety'] == (False, False) and len(j) == 12"
pt_ok "departments --json" "$T" departments --json &&
    jout "departments --json: SY-CGJ is this terminal's, with its two domains" \
        "[(d['code'], d['domains'], d['own']) for d in j if d['own']] == [('SY-CGJ', ['transport', 'urban_management'], True)] and len(j) == 4"
pt_ok "leaflets --json" "$T" leaflets --json &&
    jout "leaflets --json: the server's two" "[l['code'] for l in j] == ['LF-001', 'LF-002']"
pt_ok "leaflets" "$T" leaflets &&
    check "leaflets shows code and title" grep -q '^LF-002 *户外广告设置规范指引$' "$OUT"
stop_server_checked
finish
