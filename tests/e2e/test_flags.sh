#!/bin/bash
# test_flags.sh -- the server re-runs the record's rules (issue 6).
#
# 1. A terminal that breaks the rules (e2e_wire append signs entries with
#    its device key but skips libpatrol's checks across entries): a method
#    before consent, a method after the subject refused, a matter completed
#    with no method. The server accepts every entry (the chain and
#    signatures are sound; `patrol verify` agrees), stores them byte for
#    byte, and `patrold flags --json` lists exactly those three entries
#    with their rule codes, while serve runs.
# 2. County-wide first violation: terminal A opens a matter citing
#    CG-NP-003 (a "first violation" item) for a shop and syncs; terminal B
#    registers the same shop (same credit code), syncs (pulling GET
#    /v1/citations into its cited table), and B's own
#    `patrol matter open ... --list-item CG-NP-003` is refused naming A's
#    matter. A B that records it anyway (e2e_wire) is flagged by the server
#    naming A's matter.
#
# usage: test_flags.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

SHOP_CODE=91350100M000100Y43
OTHER_CODE=91321323MA1N4K7P26
# printf %s 91350100M000100Y43 | sha256sum
SHOP_KEY=18e746db4fe8b8bd027e02ef4cdc036a5d2574fd488b8a10c7f80caa99921ab0
INSP="--inspector zhangwei --inspector liuna"

# append DIR KIND OBJECT [NAME=VALUE...]: an entry that skips the
# terminal's rules; its seq in $SEQ, its object in $OBJ.
append() {
    local dir=$1
    shift
    # shellcheck disable=SC2086
    "$WIRE" --store "$dir" $INSP append "$@" >"$WOUT" 2>"$WORK/.wire.err"
    RC=$?
    SEQ=$(jget "$WOUT" 'j["seq"]')
    OBJ=$(jget "$WOUT" 'j["object"]')
    if [ "$RC" -ne 0 ] || [ -z "$SEQ" ]; then
        fail "e2e_wire append $*: exit $RC: $(head -c 300 "$WORK/.wire.err")"
        return 1
    fi
    pass "appended $2 $1 as entry $SEQ"
}

section "server, and a terminal that breaks the rules"
start_server server
A=$WORK/terminal-a
new_terminal "$A" "城管执法终端-07" "$(add_device "城管执法终端-07")" || finish
pt_ok "inspector add zhangwei" "$A" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
pt_ok "inspector add liuna" "$A" inspector add --id liuna --name 刘娜 --cert-no 32132300117
pt_ok "subject add" "$A" subject add --credit-code "$OTHER_CODE" --name 泗阳县某某餐馆
S1=$LAST
pt_ok "matter open (M1)" "$A" matter open --subject "$S1" --inspector zhangwei --inspector liuna \
    --domain urban_management --summary "店外堆放杂物"
M1=$LAST
append "$A" action.guidance "$M1" content=讲解门前三包规定 topic=门前三包 || finish
BEFORE_CONSENT=$SEQ
append "$A" consent "$M1" answer=refuse told=yes || finish
append "$A" action.guidance "$M1" content=再次讲解 topic=门前三包 || finish
AFTER_REFUSAL=$SEQ
pt_ok "matter open (M2)" "$A" matter open --subject "$S1" --inspector zhangwei --inspector liuna \
    --domain urban_management --summary "占道经营"
M2=$LAST
pt_ok "consent accept (M2)" "$A" consent --matter "$M2" --accept
append "$A" matter.close "$M2" outcome=completed || finish
NO_METHOD=$SEQ
pt "$A" verify
check "patrol verify: the rule-breaking chain is sound (exit $RC)" test "$RC" -eq 0
[ "$RC" -eq 0 ] || show "$ERR"

section "the server accepts and flags"
sync_ok "sync terminal A" "$A" || finish
HEAD_A=$(journal_head "$A")
jfile_checks "$WORK/sync.json" \
    "every entry accepted ($HEAD_A)" "j['entries_accepted'] == $HEAD_A and j['acked_seq'] == $HEAD_A"
check "the server holds A's journal byte for byte" \
    test "$(journal_rows "$A" | md5sum)" = "$(server_rows "$A" | md5sum)"
DEV_A=$(device_num "城管执法终端-07")
"$PATROLD" --data "$DATA" flags --json >"$WORK/flags.json" 2>"$ERR"
RC=$?
check "patrold flags --json while serve runs (exit $RC)" test "$RC" -eq 0
[ "$RC" -eq 0 ] || show "$ERR"
jfile_checks "$WORK/flags.json" \
    "exactly the three rule-breaking entries are flagged, with their rule codes" \
    "sorted((f['seq'], f['kind'], f['rule']) for f in j) == [($BEFORE_CONSENT, 'action.guidance', 'consent_first'), ($AFTER_REFUSAL, 'action.guidance', 'subject_refused'), ($NO_METHOD, 'matter.close', 'no_method')]" \
    "each flag names the device, its name, the matter and a sentence" \
    "all(f['device'] == $DEV_A and f['device_name'] == '城管执法终端-07' and f['detail'] and f['flagged_ms'] > 0 for f in j) and sorted(f['matter'] for f in j) == sorted(['$M1', '$M1', '$M2'])"
"$PATROLD" --data "$DATA" flags --matter "$M2" --json >"$WORK/flags-m2.json" 2>"$ERR"
jfile_checks "$WORK/flags-m2.json" "flags --matter $M2: only its flag" \
    "[(f['seq'], f['rule']) for f in j] == [($NO_METHOD, 'no_method')]"
"$PATROLD" --data "$DATA" flags --device "$DEV_A" >"$WORK/flags.txt" 2>"$ERR"
check "flags (text) names the rule and the entry" grep -q "#$NO_METHOD  matter.close  $M2  no_method: " \
    "$WORK/flags.txt"
"$PATROLD" --data "$DATA" flags --device 999 --json >"$WORK/flags-none.json" 2>"$ERR"
jfile_checks "$WORK/flags-none.json" "flags --device 999: none" "j == []"
"$PATROLD" --data "$DATA" flags --matter "bad id!" >/dev/null 2>"$ERR"
RC=$?
check "flags --matter with a bad id is refused (exit $RC)" test "$RC" -ne 0

section "county-wide first violation: two terminals"
TA=$WORK/terminal-ta
TB=$WORK/terminal-tb
new_terminal "$TA" "城管执法终端-11" "$(add_device "城管执法终端-11")" || finish
new_terminal "$TB" "城管执法终端-12" "$(add_device "城管执法终端-12")" || finish
for t in "$TA" "$TB"; do
    pt_ok "inspector add ($(basename "$t"))" "$t" inspector add --id zhangwei --name 张伟 \
        --cert-no 32132300100
    pt_ok "inspector add ($(basename "$t"))" "$t" inspector add --id liuna --name 刘娜 \
        --cert-no 32132300117
    sync_ok "first sync (reference data) of $(basename "$t")" "$t"
done
pt_ok "A: subject add (the shop)" "$TA" subject add --credit-code "$SHOP_CODE" --name 泗阳县某某便利店
SA=$LAST
pt_ok "A: matter open citing CG-NP-003" "$TA" matter open --subject "$SA" --inspector zhangwei \
    --inspector liuna --domain urban_management --list-item CG-NP-003 --summary "店外摆卖，首次发现"
MA=$LAST
sync_ok "sync terminal A" "$TA"
"$PATROLD" --data "$DATA" flags --matter "$MA" --json >"$WORK/flags-ma.json" 2>"$ERR"
jfile_checks "$WORK/flags-ma.json" "A's first citation is not flagged" "j == []"
check "the server lists A's citation (subject key = SHA-256 of the credit code)" \
    test "$(sq "SELECT subject_key || ' ' || item || ' ' || matter FROM citations")" = \
    "$SHOP_KEY CG-NP-003 $MA"

wire --store "$TB" get "/v1/citations?since=0"
jcheck "GET /v1/citations answers 200 to an enrolled terminal" "j['status'] == 200 and j['body_len'] > 0"
wire --store "$TB" get "/v1/citations?since=x"
jcheck "GET /v1/citations?since=x is 400 bad_request" "j['status'] == 400 and j['reason'] == 'bad_request'"
wire --store "$TB" --no-cert get "/v1/citations?since=0"
jcheck "GET /v1/citations without a client certificate is refused" "j['status'] in (401, 403) or j['status'] == 0"

pt_ok "B: subject add (the same shop)" "$TB" subject add --credit-code "$SHOP_CODE" --name 泗阳县某某便利店
SB=$LAST
sync_ok "sync terminal B (pulls the citations)" "$TB"
check "B's cited table holds A's matter" \
    test "$(sqlite3 -batch "$TB/patrol.db" "SELECT subject_key || ' ' || item || ' ' || matter FROM cited")" = \
    "$SHOP_KEY CG-NP-003 $MA"
CUR=$(sqlite3 -batch "$TB/patrol.db" "SELECT cited_since FROM sync_state")
check "B's citation cursor is the server's last citation ($CUR)" \
    test "$CUR" = "$(sq "SELECT max(id) FROM citations")"
sync_ok "sync terminal B again" "$TB"
check "a second sync pulls nothing new" \
    test "$(sqlite3 -batch "$TB/patrol.db" "SELECT count(*) FROM cited")" = 1
pt "$TB" matter open --subject "$SB" --inspector zhangwei --inspector liuna \
    --domain urban_management --list-item CG-NP-003 --summary "店外摆卖"
check "B: a second first-violation citation for the shop is refused (exit $RC)" test "$RC" -ne 0
check "B: the refusal names A's matter $MA" grep -q "$MA" "$ERR"
[ "$RC" -ne 0 ] && grep -q "$MA" "$ERR" || show "$ERR"

section "a terminal that cites it anyway is flagged"
append "$TB" matter.open M@ domain=urban_management list_item=CG-NP-003 list_type=no_penalty \
    list_version=2026-01 subject="$SB" summary=店外摆卖 || finish
MB=$OBJ
sync_ok "sync terminal B" "$TB"
"$PATROLD" --data "$DATA" flags --matter "$MB" --json >"$WORK/flags-mb.json" 2>"$ERR"
jfile_checks "$WORK/flags-mb.json" "B's matter is flagged not_first_violation, naming A's matter" \
    "[(f['seq'], f['rule']) for f in j] == [($SEQ, 'not_first_violation')] and '$MA' in j[0]['detail']"
"$PATROLD" --data "$DATA" flags --matter "$MA" --json >"$WORK/flags-ma.json" 2>"$ERR"
jfile_checks "$WORK/flags-ma.json" "A's matter, the first, is still not flagged" "j == []"
sync_ok "sync terminal A" "$TA"
check "A's cited table now holds both matters, in the server's order" \
    test "$(sqlite3 -batch "$TA/patrol.db" "SELECT group_concat(matter, ' ') FROM (SELECT matter FROM cited ORDER BY matter = '$MB')")" = "$MA $MB"

stop_server_checked
finish
