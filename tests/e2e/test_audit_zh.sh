#!/bin/bash
# test_audit_zh.sh -- patrold speaks the supervisor's language (issue 7):
# the audit commands read in 简体中文 under LANG=zh_CN.UTF-8 and in English
# under LANG=C, while what scripts read (--json, problem codes, rule codes)
# is the same byte for byte in both.
#
# One terminal records a lawful matter through a real patrold (a warning
# with a confidential field, an opinion issued and never delivered, a
# photo, a revisit whose due date it corrects), then, as a terminal with a
# bug would, a matter closed without a method (a rule flag). Checked, each
# in both languages: `audit timeline`, `audit problems` (12 days on),
# `audit verify`, `flags`, `device list`, a usage error and `--help`; the
# Chinese output holds the Chinese wording and none of the English, the
# English output the English wording; --json is identical.
#
# The catalogue comes from the build tree (PATROL_LOCALEDIR, set by ctest).
#
# usage: test_audit_zh.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

if [ -z "${PATROL_LOCALEDIR:-}" ] || [ ! -f "$PATROL_LOCALEDIR/zh_CN/LC_MESSAGES/patrol.mo" ]; then
    fail "no compiled catalogue: PATROL_LOCALEDIR must name the build tree's locale/ (ctest sets it)"
    finish
fi
if ! locale -a 2>/dev/null | grep -qiE '^zh_CN\.utf-?8$'; then
    fail "the zh_CN.UTF-8 locale is not installed (locale-gen zh_CN.UTF-8)"
    finish
fi

# zh / en ARGS...: patrold --data $DATA ARGS in Chinese (Beijing) or in
# English; lib.sh's LC_ALL and any LANGUAGE are taken away first.
zh() { env -u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8 TZ=Asia/Shanghai "$PATROLD" --data "$DATA" "$@"; }
en() { env -u LC_ALL -u LANGUAGE LANG=C TZ=Asia/Shanghai "$PATROLD" --data "$DATA" "$@"; }

# has DESC FILE TEXT / hasnt DESC FILE TEXT: fixed-string search.
has() {
    if grep -qF -- "$3" "$2"; then pass "$1"; else
        fail "$1: no '$3' in $(basename "$2")"
        show "$2" 8
    fi
}
hasnt() {
    if grep -qF -- "$3" "$2"; then
        fail "$1: '$3' in $(basename "$2")"
        grep -F -m 2 -- "$3" "$2" | cut -c 1-200 | sed 's/^/      | /'
    else pass "$1"; fi
}

# same_json DESC ARGS...: --json output (and exit status) equal in both
# languages, and not empty.
same_json() {
    local desc=$1 rz re
    shift
    zh "$@" >"$WORK/j.zh" 2>/dev/null
    rz=$?
    en "$@" >"$WORK/j.en" 2>/dev/null
    re=$?
    if [ "$rz" = "$re" ] && [ -s "$WORK/j.en" ] && cmp -s "$WORK/j.zh" "$WORK/j.en"; then
        pass "$desc: --json identical in both languages"
    else
        fail "$desc: --json differs between zh_CN and C (exit $rz / $re)"
        diff "$WORK/j.en" "$WORK/j.zh" | head -n 4 | cut -c 1-300 | sed 's/^/      | /'
    fi
}

TODAY=$(TZ=Asia/Shanghai date +%F)
DUE=$(TZ=Asia/Shanghai date -d '+10 days' +%F)
DUE_C=$(TZ=Asia/Shanghai date -d '+11 days' +%F)
LATER=$(TZ=Asia/Shanghai date -d '+12 days' +%F)

section "a terminal records and syncs"
start_server server
A=$WORK/terminal-a
new_terminal "$A" "城管执法终端-41" "$(add_device "城管执法终端-41")" || finish
NUM_A=$(device_num "城管执法终端-41")
pt_ok "inspector" "$A" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
pt_ok "subject" "$A" subject add --credit-code 91350100M000100Y43 --name 泗阳县某某便利店
S1=$LAST
pt_ok "matter" "$A" matter open --subject "$S1" --inspector zhangwei --domain urban_management \
    --summary "店外摆卖" --location 33.7212345,118.6712345,8
M1=$LAST
pt_ok "consent" "$A" consent --matter "$M1" --accept
pt_ok "warning (content confidential)" "$A" act warning --matter "$M1" --minor --no-harm \
    --no-intent --correctable --content "告诫：涉及个人隐私的陈述" --correction "将商品移回店内" \
    --deadline "$DUE" --confidential content=privacy
pt_ok "opinion issued, never delivered" "$A" document issue --matter "$M1" --purpose 规范经营 \
    --content 整改意见 --time "$TODAY" --personnel 张伟
D1=$LAST
head -c 3000 /dev/urandom >"$WORK/shop.jpg"
pt_ok "photo" "$A" evidence add --matter "$M1" --kind photo --media-type image/jpeg "$WORK/shop.jpg"
pt_ok "revisit" "$A" act revisit --matter "$M1" --follows inspection --decision 现场检查 \
    --due "$DUE" --content 回访整改情况
R1=$LAST
pt_ok "the revisit's due date corrected" "$A" correct --entry "${R1##*-}" --field due \
    --value "$DUE_C" --reason 笔误 --inspector zhangwei
CORR_SEQ=$(journal_head "$A")
sync_ok "sync" "$A"

section "the terminal, with a bug, closes a matter without a method"
FIRST=$(($(journal_head "$A") + 1))
wire --store "$A" append matter.open 'M@' subject="$S1" domain=urban_management summary=又摆卖 \
    --inspector zhangwei
M2=$(jget "$WOUT" 'j["object"]')
wire --store "$A" append consent "$M2" told=yes answer=accept --inspector zhangwei
wire --store "$A" append matter.close "$M2" outcome=completed --inspector zhangwei
CLOSE_SEQ=$(jget "$WOUT" 'j["seq"]')
wire --store "$A" batch "$FIRST" "$CLOSE_SEQ"
jcheck "the server accepts (and flags) the entries" "j['status'] == 200"

section "audit timeline"
zh audit timeline --matter "$M1" >"$WORK/tl.zh" 2>"$WORK/tl.zh.err"
check "zh: exit 0" test "$?" = 0
en audit timeline --matter "$M1" >"$WORK/tl.en" 2>"$WORK/tl.en.err"
check "en: exit 0" test "$?" = 0
has "zh: the matter and its state in Chinese" "$WORK/tl.zh" "事项 $M1：当事人同意适用柔性执法（accepted）"
has "zh: the receipt time" "$WORK/tl.zh" "服务器接收时间 $TODAY"
has "zh: Beijing times" "$WORK/tl.zh" "$TODAY"
check "zh: times in Beijing time (CST)" grep -q "^$TODAY [0-9:]* CST  城管执法终端-41（设备 $NUM_A）第 [0-9]* 条  matter.open：" "$WORK/tl.zh"
has "zh: inspectors with certificates" "$WORK/tl.zh" "执法人员：张伟（zhangwei，执法证号 32132300100）"
has "zh: the confidential field masked" "$WORK/tl.zh" "content: ［涉及个人隐私］"
hasnt "zh: no confidential text" "$WORK/tl.zh" "涉及个人隐私的陈述"
has "zh: the correction (更正, as the terminal calls it)" "$WORK/tl.zh" "已由第 $CORR_SEQ 条更正：due：$DUE -> $DUE_C（理由：笔误）"
has "zh: the undelivered opinion" "$WORK/tl.zh" "文书 $D1 未送达"
has "zh: the photo held, its kind in Chinese" "$WORK/tl.zh" "证据（照片）"
has "zh: ... held by the server" "$WORK/tl.zh" "服务器已保存"
for t in "received by the server" "inspectors " "NOT DELIVERED" "Matter " "CORRECTED by"; do
    hasnt "zh: no English '$t'" "$WORK/tl.zh" "$t"
done
has "en: the matter" "$WORK/tl.en" "Matter $M1: subject accepted flexible enforcement (accepted)"
has "en: the receipt time" "$WORK/tl.en" "received by the server $TODAY"
has "en: the masked field" "$WORK/tl.en" "content: [personal_privacy]"
has "en: the correction" "$WORK/tl.en" "CORRECTED by #$CORR_SEQ: due: $DUE -> $DUE_C (reason: 笔误)"
has "en: the undelivered opinion" "$WORK/tl.en" "document $D1 NOT DELIVERED"
hasnt "en: no Chinese wording" "$WORK/tl.en" "服务器接收时间"
same_json "timeline" audit timeline --matter "$M1" --json
zh audit timeline --matter "$M1" --reveal >/dev/null 2>"$WORK/rv.zh"
has "zh: --reveal says so in Chinese" "$WORK/rv.zh" "已显示 $M1 的保密内容"

section "audit problems"
zh audit problems --today "$LATER" >"$WORK/pr.zh" 2>"$WORK/pr.zh.err"
check "zh: exit 0" test "$?" = 0
en audit problems --today "$LATER" >"$WORK/pr.en" 2>"$WORK/pr.en.err"
check "en: exit 0" test "$?" = 0
has "zh: the heading" "$WORK/pr.zh" "需要处理的问题，$LATER（北京时间）：共"
has "zh: the undelivered document" "$WORK/pr.zh" "文书 $D1 于 $TODAY 制发，12 天后仍未送达"
has "zh: the code stays for scripts, with its meaning" "$WORK/pr.zh" "document_undelivered     文书未送达  $M1"
has "zh: the rule flag" "$WORK/pr.zh" "rule_flag                规则标记"
has "zh: the flag's entry" "$WORK/pr.zh" "第 $CLOSE_SEQ 条（matter.close）no_method："
hasnt "zh: no English heading" "$WORK/pr.zh" "Problems to act on"
hasnt "zh: no English detail" "$WORK/pr.zh" "is not delivered after"
has "en: the heading" "$WORK/pr.en" "Problems to act on, $LATER (Beijing):"
has "en: the undelivered document" "$WORK/pr.en" "document $D1 issued $TODAY is not delivered after 12 day(s)"
same_json "problems" audit problems --today "$LATER" --json
jfile_check "problems --json keeps English details and codes" "$WORK/j.zh" \
    "'document_undelivered' in [p['code'] for p in j] and all(p['detail'].isascii() for p in j if p['code'] != 'rule_flag')"

section "audit verify, flags, device list"
zh audit verify >"$WORK/v.zh" 2>"$WORK/v.zh.err"
RZ=$?
en audit verify >"$WORK/v.en" 2>"$WORK/v.en.err"
RE=$?
check "verify: exit 0 in both languages ($RZ / $RE)" test "$RZ" = 0 -a "$RE" = 0
has "zh: verify's device line" "$WORK/v.zh" "设备 $NUM_A 城管执法终端-41（SY-CGJ）：条目 $CLOSE_SEQ 条，已确认链头第 $CLOSE_SEQ 条"
has "zh: verify's table in Chinese" "$WORK/v.zh" "  日期          条目  失败 缺失  分叉  迟报  时钟  重启 未收证据  标记"
has "zh: a notice names the code and the entry in Chinese" "$WORK/v.zh" \
    "提示 boot_change：设备 $NUM_A（城管执法终端-41），第 $FIRST 条"
has "zh: verify's result" "$WORK/v.zh" "结论：核验通过：已核验 $CLOSE_SEQ 条条目，来自 1 台设备"
hasnt "zh: no English result line" "$WORK/v.zh" "result: "
has "en: verify's result line" "$WORK/v.en" "result: OK: $CLOSE_SEQ entries of 1 devices verified"
has "en: the notice" "$WORK/v.en" "NOTE boot_change: device $NUM_A (城管执法终端-41) seq $FIRST"
same_json "verify" audit verify --json
zh flags >"$WORK/f.zh" 2>&1
en flags >"$WORK/f.en" 2>&1
has "zh: flags name the entry in Chinese" "$WORK/f.zh" "城管执法终端-41（$NUM_A）第 $CLOSE_SEQ 条  matter.close  $M2  no_method："
has "en: flags" "$WORK/f.en" "城管执法终端-41 ($NUM_A) #$CLOSE_SEQ  matter.close  $M2  no_method:"
same_json "flags" flags --json
has "zh: the rule's sentence in Chinese" "$WORK/f.zh" "至少采用一种柔性执法方式后事项才能办结"
has "zh: ... in problems too" "$WORK/pr.zh" "no_method：至少采用一种柔性执法方式后事项才能办结"
en flags --json >"$WORK/flags.before"
zh reindex >"$WORK/reindex.out" 2>&1
check "reindex under zh_CN exits 0" test "$?" = 0
en flags --json >"$WORK/flags.after"
check "the index keeps the rules' sentences in English after a reindex under zh_CN" \
    cmp -s "$WORK/flags.before" "$WORK/flags.after"
has "... English: what --json gives scripts" "$WORK/flags.after" "a matter is completed only after at least one method was applied"
zh device list >"$WORK/d.zh" 2>&1
en device list >"$WORK/d.en" 2>&1
has "zh: device list" "$WORK/d.zh" "在用"
has "zh: device list columns" "$WORK/d.zh" "条目"
has "en: device list" "$WORK/d.en" "active"
same_json "device list" device list --json

section "usage errors and help"
zh audit timeline --matter "$M1" --bogus >/dev/null 2>"$WORK/u.zh"
RZ=$?
en audit timeline --matter "$M1" --bogus >/dev/null 2>"$WORK/u.en"
RE=$?
check "a usage error exits 2 in both languages ($RZ / $RE)" test "$RZ" = 2 -a "$RE" = 2
has "zh: the usage error" "$WORK/u.zh" "patrold: audit timeline: 多余的参数“--bogus”（参见“patrold audit --help”）"
has "en: the usage error" "$WORK/u.en" "patrold: audit timeline: unexpected argument '--bogus' (see 'patrold audit --help')"
zh audit timeline --matter M-0-1 >/dev/null 2>"$WORK/nf.zh"
has "zh: an unknown matter" "$WORK/nf.zh" "本服务器上没有事项“M-0-1”"
zh audit --help >"$WORK/h.zh" 2>&1
has "zh: audit --help" "$WORK/h.zh" "执法监督命令"
has "zh: audit --help keeps the syntax" "$WORK/h.zh" "timeline --matter ID [--json] [--reveal]"
en --help >"$WORK/h.en" 2>&1
has "en: --help" "$WORK/h.en" "usage: patrold --data DIR COMMAND"

stop_server_checked

section "audit verify of a copy with an evidence file removed"
T=$WORK/tampered
cp -a "$DATA" "$T"
EVF=$(find "$T/evidence" -type f ! -path '*/partial/*' | head -n 1)
check "the copy holds the photo" test -n "$EVF"
rm -f "$EVF"
vz() { env -u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8 TZ=Asia/Shanghai "$PATROLD" --data "$T" "$@"; }
ve() { env -u LC_ALL -u LANGUAGE LANG=C TZ=Asia/Shanghai "$PATROLD" --data "$T" "$@"; }
vz audit verify >"$WORK/t.zh" 2>"$WORK/t.zh.err"
RZ=$?
ve audit verify >"$WORK/t.en" 2>"$WORK/t.en.err"
RE=$?
check "verify fails (exit 1) in both languages ($RZ / $RE)" test "$RZ" = 1 -a "$RE" = 1
has "zh: the failure line" "$WORK/t.zh" "不通过 evidence_file_missing：设备 $NUM_A（城管执法终端-41）"
has "zh: ... what is wrong, in Chinese" "$WORK/t.zh" "记为已收到，但无法读取"
has "zh: the result" "$WORK/t.zh" "结论：核验不通过：完整性失败 1 处"
has "zh: stderr names the first failure in Chinese" "$WORK/t.zh.err" "完整性失败 1 处；第一处：设备 $NUM_A"
has "en: the failure line" "$WORK/t.en" "FAIL evidence_file_missing: device $NUM_A (城管执法终端-41)"
has "en: the result" "$WORK/t.en" "result: FAILED: 1 integrity failures"
vz audit verify --json >"$WORK/tj.zh" 2>/dev/null
ve audit verify --json >"$WORK/tj.en" 2>/dev/null
check "verify --json of the failure identical in both languages" cmp -s "$WORK/tj.zh" "$WORK/tj.en"
jfile_check "... its detail English" "$WORK/tj.en" \
    "any(p['code'] == 'evidence_file_missing' and 'recorded as received but cannot be read' in p['detail'] for p in j['problems'])"
finish
