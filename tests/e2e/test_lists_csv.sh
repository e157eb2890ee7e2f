#!/bin/bash
# test_lists_csv.sh -- the three lists from a spreadsheet (issue 12 item 6):
# `patrold lists import FILE.csv` takes one row per list item under a
# header naming the columns (the ListItem fields, any order; conditions in
# one cell separated by '；', ';' or line breaks). Its rows replace the
# lists of the types it names in the newest stored version; departments,
# domains, leaflets and the other lists stay. A terminal syncs and shows
# the new items. Every bad sheet is refused naming the row (the header is
# row 1) and the column, with nothing stored.
#
# usage: test_lists_csv.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

start_server server
S=$WORK/sheets
mkdir -p "$S"
HEADER='list_type,list_version,list_name,issuer,code,domain,name,basis,category,conditions'
# A sheet as a spreadsheet saves it: a BOM, CRLF, quotes around a cell with
# a comma, a doubled quote, a line break inside a quoted cell.
printf '\xef\xbb\xbf%s\r\n' "$HEADER" >"$S/good.csv"
printf '%s\r\n' \
    'no_penalty,2026-06,城市管理领域轻微违法行为不予行政处罚清单,宿迁市城市管理局,CG-NP-101,urban_management,"店外摆卖，首次被发现",《条例》第十条,first_violation,初次违法；当场改正；没有造成危害后果' \
    'no_penalty,2026-06,城市管理领域轻微违法行为不予行政处罚清单,宿迁市城市管理局,CG-NP-102,urban_management,"未设置""门前三包""责任牌",《规定》第五条,minor,"违法行为轻微' \
    '及时改正"' \
    ',,,,,,,,,' >>"$S/good.csv"

versions() { sq "SELECT count(*) FROM reference"; }
OTHER_BEFORE=$(sq "SELECT count(*) FROM reference") # the sample's version

section "a good sheet"
srv lists import "$S/good.csv" >"$WORK/o" 2>"$WORK/e"
check "imported (exit $?): $(head -c 200 "$WORK/e")" test "$?" -eq 0
check "a new version" test "$(versions)" -eq $((OTHER_BEFORE + 1))
check "it says how many rows and which version it built on" grep -q '2 list items from .*good.csv' "$WORK/o"
T=$WORK/t1
new_terminal "$T" 终端-甲 "$(add_device 终端-甲)" || finish
sync_ok "the terminal syncs the new version" "$T"
pt "$T" lists
check "the terminal shows the sheet's items" grep -q 'CG-NP-101' "$OUT"
check "... the doubled quote as one quote" grep -q '未设置"门前三包"责任牌' "$OUT"
check "... the conditions split at '；' and at the line break" \
    sh -c "grep -q '当场改正' '$OUT' && grep -q '及时改正' '$OUT'"
check "the sample's no_penalty items are replaced (CG-NP-001 gone)" sh -c "! grep -q 'CG-NP-001' '$OUT'"
check "the other lists stay (the sample's lighter list)" grep -q 'lighter\|从轻' "$OUT"
pt "$T" domains
check "departments and domains stay" grep -q 'urban_management' "$OUT"

section "bad sheets: row and column named, nothing stored"
# bad NAME LINE... -- the sheet HEADER + LINEs, then the expected ERE last.
bad() {
    local name=$1 want
    shift
    want=${!#}
    { echo "$HEADER"; printf '%s\n' "${@:1:$(($# - 1))}"; } >"$S/$name.csv"
    local before
    before=$(versions)
    srv lists import "$S/$name.csv" >"$WORK/o" 2>"$WORK/e"
    local rc=$?
    if [ "$rc" -eq 1 ] && [ "$(versions)" = "$before" ] && grep -Eq "$name.csv: $want; nothing imported" "$WORK/e"; then
        pass "$name: refused ($want)"
    else
        fail "$name: exit $rc, versions $before -> $(versions), stderr '$(head -c 300 "$WORK/e")'"
    fi
}
ROW='no_penalty,2026-07,清单,某局,CG-NP-201,urban_management,事项,依据,first_violation,初次违法'
bad unknown-domain "$ROW" "${ROW/urban_management/nosuch}" "row 3, column 'domain': unknown domain 'nosuch'"
bad excluded-domain "${ROW/urban_management/food_drug_safety}" "row 2, column 'domain': .*"
bad duplicate-code "$ROW" "$ROW" "row 3, column 'code': 'CG-NP-201' appears twice \(first at row 2\)"
bad bad-type "${ROW/no_penalty/free_pass}" "row 2, column 'list_type': .*"
bad empty-cell "${ROW/,事项,/,,}" "row 2, column 'name': empty"
bad ragged "$ROW,extra" "row 2: 11 cells, the header has 10"
bad bad-quote 'no_penalty,2026-07,清单,某局,"CG-NP-201,urban_management,事项,依据,first_violation,x' "row 2: not CSV: .*"
printf 'list_type,code\nno_penalty,x\n' >"$S/missing-column.csv"
srv lists import "$S/missing-column.csv" >/dev/null 2>"$WORK/e"
check "a missing column is named" grep -q "row 1: the column 'list_version' is missing" "$WORK/e"
printf '%s,colour\n' "$HEADER" >"$S/unknown-column.csv"
srv lists import "$S/unknown-column.csv" >/dev/null 2>"$WORK/e"
check "an unknown column is named with its place" grep -q "row 1, column 11: 'colour' is not a column" "$WORK/e"
printf '%s\n' "$HEADER" >"$S/header-only.csv"
srv lists import "$S/header-only.csv" >/dev/null 2>"$WORK/e"
check "a header alone is refused" grep -q "no list item" "$WORK/e"
printf '%s\n\xff\xfe\n' "$HEADER" >"$S/not-utf8.csv"
srv lists import "$S/not-utf8.csv" >/dev/null 2>"$WORK/e"
check "a sheet saved in another encoding is refused, saying how to save it" grep -q "CSV UTF-8" "$WORK/e"

section "before any reference data"
DATA2=$WORK/empty
"$PATROLD" --data "$DATA2" init >/dev/null 2>&1
"$PATROLD" --data "$DATA2" lists import "$S/good.csv" >/dev/null 2>"$WORK/e"
check "a sheet on a server with no reference data is refused, saying to import the JSON first" \
    grep -q "import the whole reference file (JSON) once first" "$WORK/e"

stop_server_checked
finish
