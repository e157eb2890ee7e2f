#!/bin/bash
# test_refusals.sh -- every bad input of the brief ("Bad input gets a clear
# error and nothing is lost"): each must exit non-zero with one line on
# stderr naming the problem, nothing on stdout, and leave the store exactly
# as it was (see snapshot in lib.sh).
#
# usage: test_refusals.sh PATH/TO/patrol
. "$(dirname "$0")/lib.sh" "$@"

T0=$(date +%s.%N)
# Messages checked in the run's language (ctest runs this in English and in
# Chinese; see lib.sh). Most checks match the id, field or file a message
# names, which stay as typed in both.
BUSY_RE=$(L 'in use by another' '正被另一个')
FULL_RE=$(L 'disk is full' '磁盘已满')
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# ---- fixture: a store with an open and a closed matter ---------------------
section "fixture"
new_store refusals || finish
P=$PATROL
expect_ok "inspector add" inspector add --id ZF-001 --name 张建国 --cert-no 35010219001
CREDIT=91350100M000100Y43
CREDIT2=91350100MA2Y0BFF4$(credit_check_char 91350100MA2Y0BFF4)  # valid, not yet used
expect_ok "subject add" subject add --credit-code "$CREDIT" --name 福州市鼓楼区好味道餐饮店
SB=$LAST
ID17=35010219850312123
IDNUM=$ID17$(id_check_char "$ID17")
DEADLINE=$(day 2)
DUE=$(day 10)
expect_ok "matter open" matter open --subject "$SB" --inspector ZF-001 --domain urban_management \
    --summary 占道经营 --list-item CG-NP-003
M=$LAST
expect_ok "consent --accept" consent --matter "$M" --accept
expect_ok "matter open (to be closed)" matter open --subject "$SB" --inspector ZF-001 \
    --domain urban_management --summary 施工铭牌
MC=$LAST
expect_ok "consent --accept (matter to be closed)" consent --matter "$MC" --accept
expect_ok "act guidance (matter to be closed)" act guidance --matter "$MC" --content 指导 --topic 铭牌
expect_ok "act revisit" act revisit --matter "$M" --content 回访 --decision 检查记录 --due "$DUE" \
    --follows inspection
R=$LAST
expect_ok "revisit done" revisit "done" --revisit "$R" --outcome corrected --opinion 无意见 \
    --legality lawful_regular
expect_ok "document issue" document issue --matter "$M" --purpose p --content c --time t --personnel p
DOC=$LAST
expect_ok "matter close" matter close --matter "$MC" --completed
PHOTO=$WORK/photo.jpg
{ printf '\377\330\377\340'; head -c 5000 /dev/urandom; } >"$PHOTO"
# A new photo for each refusal of evidence add, so that a refused import
# cannot hide behind "stored already".
newfile() { { printf '\377\330\377\340'; head -c 20000 /dev/urandom; } >"$WORK/$1"; echo "$WORK/$1"; }

# The methods with every required option, so that only the tested defect is wrong.
act_args() {
    case $1 in
    guidance) echo "--content|指导|--topic|门前三包" ;;
    suggestion) echo "--content|建议" ;;
    reminder) echo "--content|提示|--form|oral|--rules|条例" ;;
    warning) echo "--content|告诫|--minor|--no-harm|--no-intent|--correctable|--correction|收回|--deadline|$DEADLINE" ;;
    interview) echo "--content|约谈|--departments|城管|--minutes|纪要|--mode|individual|--participants|张建国" ;;
    publicity) echo "--content|公示|--channel|官网|--redactions|none" ;;
    revisit) echo "--content|回访|--decision|记录|--due|$DUE|--follows|inspection" ;;
    esac
}
METHODS="guidance suggestion reminder warning interview publicity revisit"
splitargs() { IFS='|' read -r -a ARGS <<<"$1"; }

# Sanity: the full argument sets are accepted (else the refusals below
# would prove nothing).
for m in $METHODS; do
    splitargs "$(act_args $m)"
    expect_ok "act $m with all required options is accepted" act $m --matter "$M" "${ARGS[@]}"
done

# ---- unknown ids -----------------------------------------------------------
section "unknown matter, subject, inspector, revisit, document ids"
expect_refused --code 1 --msg "S-nope" "$P" matter open --subject S-nope --inspector ZF-001 \
    --domain urban_management --summary x
expect_refused --code 1 --msg "ZF-999" "$P" matter open --subject "$SB" --inspector ZF-999 \
    --domain urban_management --summary x
expect_refused --code 1 --msg "ZF-999" "$P" matter open --subject "$SB" --inspector ZF-001 \
    --inspector ZF-999 --domain urban_management --summary x
for m in $METHODS; do
    splitargs "$(act_args $m)"
    expect_refused --code 1 --msg "M-nope" "$P" act $m --matter M-nope "${ARGS[@]}"
done
expect_refused --code 1 --msg "ZF-999" "$P" act guidance --matter "$M" --inspector ZF-999 \
    --content x --topic y
expect_refused --code 1 --msg "M-nope" "$P" consent --matter M-nope --accept
expect_refused --code 1 --msg "M-nope" "$P" leaflet --matter M-nope --title t --copies 1
expect_refused --code 1 --msg "M-nope" "$P" matter close --matter M-nope --completed
expect_refused --code 1 --msg "M-nope" "$P" document issue --matter M-nope --purpose p --content c \
    --time t --personnel p
expect_refused --code 1 --msg "D-nope" "$P" document deliver --document D-nope --method in_person \
    --recipient r
expect_refused --code 1 --msg "R-nope" "$P" revisit "done" --revisit R-nope --outcome corrected
expect_refused --code 1 --msg "M-nope" "$P" evidence add --matter M-nope --kind photo "$PHOTO"
expect_refused --code 1 --msg "M-nope" "$P" evidence add --matter M-nope --kind photo "$(newfile new1.jpg)"
# Reading: asking for the log of a matter that does not exist must say so,
# not print an empty record as if the matter had none.
expect_refused --code 1 --msg "M-nope" "$P" log --matter M-nope

# ---- credit codes and ID numbers ------------------------------------------
section "credit codes and ID numbers"
GOOD_CHECK=${CREDIT:17:1}
BAD_CHECK=A
[ "$GOOD_CHECK" = A ] && BAD_CHECK=B
expect_refused --code 1 --msg "credit" "$P" subject add --credit-code "${CREDIT:0:17}$BAD_CHECK" --name x
expect_refused --code 1 --msg "credit" "$P" subject add --credit-code "${CREDIT:0:17}0" --name x
LOWER=$(echo "$CREDIT" | tr 'A-Z' 'a-z')
expect_refused --code 1 --msg "credit" "$P" subject add --credit-code "$LOWER" --name x
expect_refused --code 1 --msg "credit" "$P" subject add --credit-code "${CREDIT:0:17}" --name x
expect_refused --code 1 --msg "credit" "$P" subject add --credit-code "${CREDIT}0" --name x
expect_refused --code 1 --msg "credit" "$P" subject add --credit-code "" --name x
# I, O, S, V, Z are not in the GB 32100 character set: compute a check
# character so that only the letter is wrong.
BADCHAR=91350100MA00100I4
expect_refused --code 1 --msg "credit" "$P" subject add \
    --credit-code "$BADCHAR$(credit_check_char "$BADCHAR")" --name x
expect_refused --code 1 --msg "credit" "$P" subject add --credit-code "9135 0100M000100Y4" --name x
expect_refused --code 1 --msg "$CREDIT|exists|already" "$P" subject add --credit-code "$CREDIT" --name 重复
WRONG_ID=$ID17$( [ "$(id_check_char "$ID17")" = 1 ] && echo 2 || echo 1)
expect_refused --code 1 --msg "id_number|ID number" "$P" subject add --id-number "$WRONG_ID" --name x
expect_refused --code 1 --msg "id_number|ID number" "$P" subject add --id-number "${IDNUM:0:17}" --name x
expect_refused --code 1 --msg "id_number|ID number" "$P" subject add --id-number "${IDNUM}1" --name x
LOWERX=11010519491231002x
expect_refused --code 1 --msg "id_number|ID number" "$P" subject add --id-number 1101051949123100Z2 --name x
note "ID number with lower-case x ($LOWERX): $("$P" subject add --id-number "$LOWERX" --name 小写 >/dev/null 2>&1 && echo accepted || echo refused) (informational: either is defensible)"

# ---- missing required fields ---------------------------------------------
section "missing required fields"
# A warning needs all four conditions (the fourth: it can be corrected
# promptly): drop each one in turn.
for cond in --minor --no-harm --no-intent --correctable; do
    splitargs "$(act_args warning)"
    args=()
    for a in "${ARGS[@]}"; do [ "$a" = "$cond" ] || args+=("$a"); done
    name=${cond#--}
    expect_refused --code 1 --msg "${name//-/_}|$cond" "$P" act warning --matter "$M" "${args[@]}"
done
splitargs "$(act_args warning)"
expect_refused --code 1 --msg "minor" "$P" act warning --matter "$M" "${ARGS[@]/--minor/--minor=no}"
# Every other method without each required option.
for m in $METHODS; do
    splitargs "$(act_args $m)"
    i=0
    while [ $i -lt ${#ARGS[@]} ]; do
        opt=${ARGS[$i]}
        case $opt in --minor | --no-harm | --no-intent | --correctable) i=$((i + 1)); continue ;; esac
        args=("${ARGS[@]:0:$i}" "${ARGS[@]:$((i + 2))}")
        f=${opt#--}
        expect_refused --code 1 --msg "${f//-/_}|$opt" "$P" act $m --matter "$M" "${args[@]}"
        i=$((i + 2))
    done
done
expect_refused --code 1 --msg "content" "$P" act guidance --matter "$M" --content "" --topic t
expect_refused --code 1 --msg "$(L accepted 已同意).*consent_answered" "$P" consent --matter "$M"
expect_refused --code 1 --msg "outcome" "$P" matter close --matter "$M"
expect_refused --code 1 --msg "reason" "$P" matter close --matter "$M" --terminated
expect_refused --code 1 --msg "copies" "$P" leaflet --matter "$M" --title t
expect_refused --code 1 --msg "copies" "$P" leaflet --matter "$M" --title t --copies 0
expect_refused --code 1 --msg "copies" "$P" leaflet --matter "$M" --title t --copies three
expect_refused --code 1 --msg "title" "$P" leaflet --matter "$M" --copies 2
expect_refused --code 1 --msg "purpose" "$P" document issue --matter "$M" --content c --time t --personnel p
expect_refused --code 1 --msg "recipient" "$P" document deliver --document "$DOC" --method in_person
expect_refused --code 1 --msg "cert_no|cert-no" "$P" inspector add --id ZF-009 --name x
expect_refused --code 1 --msg "name" "$P" subject add --credit-code "$CREDIT2"
expect_refused --code 1 --msg "$(L inspector 执法人员)" "$P" matter open --subject "$SB" --domain urban_management \
    --summary x
expect_refused --code 1 --msg "summary" "$P" matter open --subject "$SB" --inspector ZF-001 \
    --domain urban_management
expect_refused --code 1 --msg "domain" "$P" matter open --subject "$SB" --inspector ZF-001 --summary x
expect_refused --code 1 --msg "due" "$P" act revisit --matter "$M" --content c --decision d \
    --follows inspection --due 2026-02-30
expect_refused --code 1 --msg "due" "$P" act revisit --matter "$M" --content c --decision d \
    --follows inspection --due 2026-1-5
expect_refused --code 1 --msg "form" "$P" act reminder --matter "$M" --content c --rules r --form fax
expect_refused --code 1 --msg "$R|outcome" "$P" revisit "done" --revisit "$R" --outcome corrected \
    --opinion 无意见 --legality lawful_regular
expect_refused --code 1 --msg "ZF-001|exists|already" "$P" inspector add --id ZF-001 --name x --cert-no 9

# ---- excluded domains and emergencies -------------------------------------
section "excluded domains and emergencies"
for d in national_security public_safety food_drug_safety production_safety ecology_environment \
    pollution_control health_life_property; do
    expect_refused --code 1 --msg "$d.*excluded|excluded.*$d" "$P" matter open --subject "$SB" \
        --inspector ZF-001 --domain "$d" --summary 超标排放
done
expect_refused --code 1 --msg "emergenc" "$P" matter open --subject "$SB" --inspector ZF-001 \
    --domain urban_management --summary 借疫情哄抬价格 --emergency
expect_refused --code 1 --msg "emergenc" "$P" matter open --subject "$SB" --inspector ZF-001 \
    --domain urban_management --summary 借疫情哄抬价格 --emergency=yes
expect_refused --code 1 --msg "no_such_domain" "$P" matter open --subject "$SB" --inspector ZF-001 \
    --domain no_such_domain --summary x
expect_refused --code 1 --msg "NOPE-001" "$P" matter open --subject "$SB" --inspector ZF-001 \
    --domain urban_management --summary x --list-item NOPE-001
expect_refused --code 1 --msg "SJ-NP-001" "$P" matter open --subject "$SB" --inspector ZF-001 \
    --domain urban_management --summary x --list-item SJ-NP-001

# ---- a closed matter -----------------------------------------------------
section "actions on a closed matter"
for m in $METHODS; do
    splitargs "$(act_args $m)"
    expect_refused --code 1 --msg "$MC.*(completed|closed)" "$P" act $m --matter "$MC" "${ARGS[@]}"
done
expect_refused --code 1 --msg "$MC" "$P" leaflet --matter "$MC" --title t --copies 1
expect_refused --code 1 --msg "$MC.*(completed|closed)" "$P" consent --matter "$MC" --accept
expect_refused --code 1 --msg "$MC" "$P" document issue --matter "$MC" --purpose p --content c --time t \
    --personnel p
expect_refused --code 1 --msg "$MC" "$P" matter close --matter "$MC" --completed
expect_refused --code 1 --msg "$MC" "$P" matter close --matter "$MC" --terminated --reason other --reason-text x
expect_refused --code 1 --msg "$MC" "$P" evidence add --matter "$MC" --kind photo "$PHOTO"
expect_refused --code 1 --msg "$MC" "$P" evidence add --matter "$MC" --kind photo "$(newfile new2.jpg)"

# ---- oversized and non-UTF-8 text -----------------------------------------
section "oversized and non-UTF-8 text"
BIG=$(head -c 9000 /dev/zero | tr '\0' a)
expect_refused --code 1 --msg "content" "$P" act guidance --matter "$M" --content "$BIG" --topic t
BIGZH=$(python3 -c 'import sys; sys.stdout.write("整改" * 1500)')  # 9000 bytes of UTF-8
expect_refused --code 1 --msg "content" "$P" act suggestion --matter "$M" --content "$BIGZH" --follow-up f
expect_refused --code 1 --msg "summary" "$P" matter open --subject "$SB" --inspector ZF-001 \
    --domain urban_management --summary "$BIG"
LONGLINE=$(head -c 2000 /dev/zero | tr '\0' b)
expect_refused --code 1 --msg "topic" "$P" act guidance --matter "$M" --content c --topic "$LONGLINE"
expect_refused --code 1 --msg "name" "$P" subject add --credit-code $CREDIT2 --name "$LONGLINE"
expect_refused --code 1 --msg "content" "$P" act guidance --matter "$M" --content "$(printf 'ab\xffcd')" --topic t
expect_refused --code 1 --msg "content" "$P" act guidance --matter "$M" --content "$(printf '\xff')" --topic t
expect_refused --code 1 --msg "topic" "$P" act guidance --matter "$M" --content c --topic "$(printf '\xc0\xaf')"
expect_refused --code 1 --msg "topic" "$P" act guidance --matter "$M" --content c --topic "$(printf '\xed\xa0\x80')"
expect_refused --code 1 --msg "topic" "$P" act guidance --matter "$M" --content c --topic "$(printf '\xe6\x95')"
expect_refused --code 1 --msg "name" "$P" subject add --credit-code $CREDIT2 --name "$(printf '\xb9\xc3\xce\xb6')"
expect_refused --code 1 --msg "name" "$P" inspector add --id ZF-010 --name "$(printf '\xd5\xc5\xc8\xfd')" --cert-no 1
expect_refused --code 1 --msg "topic" "$P" act guidance --matter "$M" --content c --topic "$(printf 'a\nb')"

# ---- evidence files --------------------------------------------------------
section "missing and unreadable evidence files"
expect_refused --code 1 --msg "$WORK/no-such.jpg" "$P" evidence add --matter "$M" --kind photo "$WORK/no-such.jpg"
mkdir -p "$WORK/a-directory.jpg"
expect_refused --code 1 --msg "a-directory.jpg" "$P" evidence add --matter "$M" --kind photo "$WORK/a-directory.jpg"
: >"$WORK/empty.jpg"
expect_refused --code 1 --msg "empty.jpg" "$P" evidence add --matter "$M" --kind photo "$WORK/empty.jpg"
expect_refused --code 1 --msg "selfie" "$P" evidence add --matter "$M" --kind selfie "$PHOTO"
# An unreadable evidence file (root only, with setpriv): tests/cli/test_disk.sh.

# ---- a store locked by another process ------------------------------------
section "a store locked by another process"
python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(120)' "$STORE/LOCK" "$WORK/locked" &
LOCKER=$!
stop_locker() { [ -n "$LOCKER" ] && kill "$LOCKER" 2>/dev/null && wait "$LOCKER" 2>/dev/null; LOCKER=; }
at_exit stop_locker
for i in $(seq 1 100); do [ -e "$WORK/locked" ] && break; sleep 0.05; done
if [ -e "$WORK/locked" ]; then
    expect_refused --code 1 --msg "$BUSY_RE" "$P" act guidance --matter "$M" --content c --topic t
    expect_refused --code 1 --msg "$BUSY_RE" "$P" evidence add --matter "$M" --kind photo "$(newfile new3.jpg)"
    expect_refused --code 1 --msg "$BUSY_RE" "$P" subject add --credit-code $CREDIT2 --name x
    expect_refused --code 1 --msg "$BUSY_RE" "$P" log
    expect_refused --code 1 --msg "$BUSY_RE" "$P" verify
else
    fail "could not take the store's lock with python3 fcntl.lockf"
fi
stop_locker
expect_ok "the store works again once the other process is gone" act guidance --matter "$M" \
    --content 锁释放后 --topic t

# ---- a store from a newer schema ---------------------------------------------
section "a store from a newer schema"
pt info --json
SCHEMA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["schema_version"])' "$OUT")
NEWER=$WORK/newer
cp -a "$STORE" "$NEWER"
sqlite3 "$NEWER/patrol.db" 'PRAGMA user_version=99' || fail "sqlite3 could not set user_version"
for cmd in "log" "verify" "info" "act guidance --matter $M --content c --topic t"; do
    # shellcheck disable=SC2086
    expect_refused --code 1 --store "$NEWER" --msg "99.*$SCHEMA|$SCHEMA.*99" "$P" --store "$NEWER" $cmd
done
check "user_version of the newer store is still 99" test "$(sqlite3 "$NEWER/patrol.db" 'PRAGMA user_version')" = 99

# ---- no store at all ---------------------------------------------------------
section "no store"
expect_refused --code 1 --store "$WORK/nothing-here" --msg "$WORK/nothing-here" \
    "$P" --store "$WORK/nothing-here" act guidance --matter "$M" --content c --topic t
check "a refused command does not create the missing store directory" test ! -e "$WORK/nothing-here"
expect_refused --code 1 --store "$WORK/nothing-here" --msg "$WORK/nothing-here" "$P" --store "$WORK/nothing-here" log
check "log does not create the missing store directory" test ! -e "$WORK/nothing-here"
mkdir "$WORK/empty-dir"
expect_refused --code 1 --store "$WORK/empty-dir" --msg "empty-dir" "$P" --store "$WORK/empty-dir" verify
check "the empty directory stays empty" test -z "$(ls -A "$WORK/empty-dir")"
mkdir "$WORK/not-a-store"
head -c 8192 /dev/urandom >"$WORK/not-a-store/patrol.db"
expect_refused --code 1 --store "$WORK/not-a-store" --msg "not-a-store|patrol store|database" \
    "$P" --store "$WORK/not-a-store" log
expect_refused --code 2 --msg "store" env -u PATROL_STORE "$P" act guidance --matter "$M" --content c --topic t
expect_refused --code 2 --msg "store" env -u PATROL_STORE "$P" log

# ---- usage errors ----------------------------------------------------------
section "usage errors (exit 2)"
expect_refused --code 2 --msg "bogus" "$P" act guidance --matter "$M" --content c --topic t --bogus
expect_refused --code 2 --msg "dance" "$P" act dance --matter "$M" --content c
expect_refused --code 2 --msg "matter" "$P" act guidance --content c --topic t
expect_refused --code 2 --msg "content" "$P" act guidance --matter "$M" --topic t --content
expect_refused --code 2 --msg "topic" "$P" act guidance --matter "$M" --content c --topic t --topic u
expect_refused --code 2 --msg "answer|accept|refuse" "$P" consent --matter "$M" --accept --refuse
expect_refused --code 2 --msg "credit-code|id-number" "$P" subject add --credit-code "$CREDIT" \
    --id-number "$IDNUM" --name x
expect_refused --code 2 --msg "credit-code|id-number" "$P" subject add --name x
expect_refused --code 2 --msg "location" "$P" act guidance --matter "$M" --content c --topic t --location 91,200
# strtod takes nan and inf: they are no place (fuzz_parsers found nan,nan
# recorded as latitude -922337203685).
for bad in nan,nan 0,nan nan,0 inf,0 0,-inf 30,118,nan; do
    expect_refused --code 2 --msg "location" "$P" act guidance --matter "$M" --content c --topic t --location "$bad"
done
expect_refused --code 2 --msg "confidential" "$P" act guidance --matter "$M" --content c --topic t \
    --confidential nosuch=trade
expect_refused --code 2 --msg "entry" "$P" correct --entry abc --reason r
expect_refused --code 2 --msg "matter" "$P" evidence add --kind photo "$PHOTO"
expect_refused --code 2 --msg "unexpected|extra" "$P" log extra-argument
expect_refused --code 2 --msg "matter open" "$P" matter frobnicate
# An unknown command names itself on the first line; the usage may follow.
pt frobnicate
check "an unknown command exits 2 (got $RC)" test "$RC" -eq 2
check "an unknown command is named on the first line of stderr" sh -c "head -n 1 '$ERR' | grep -q frobnicate"
check "an unknown command writes nothing on stdout" test ! -s "$OUT"
pt
check "patrol without a command exits 2 (got $RC)" test "$RC" -eq 2

# ---- a full disk: tests/cli/test_disk.sh (root only; SKIP otherwise) -----------
VIDEO=$WORK/VID_0001.mp4
{ printf '\000\000\000\030ftypmp42'; head -c 3000000 /dev/urandom; } >"$VIDEO"

# ---- a file-size limit (ulimit -f) ---------------------------------------------
section "a file-size limit (ulimit -f): must give a clear error, not die of SIGXFSZ"
note "file-size limit path runs (as $( [ "$IS_ROOT" -eq 1 ] && echo root || echo "uid $(id -u)"))"
expect_refused --code 1 --msg "$FULL_RE|file size|too large|文件过大" \
    bash -c 'ulimit -f 1024; exec "$0" "$@"' "$P" evidence add --matter "$M" --kind video "$VIDEO"
check "no partial import is left in evidence/tmp" test -z "$(ls -A "$STORE/evidence/tmp")"
# A limit below the database's size: the entry itself fits (in the WAL),
# writing it back into the database does not. Either outcome is acceptable
# for the user (saved and said so, or refused with the store unchanged),
# death by a signal is not.
DBKB=$(($(stat -c %s "$STORE/patrol.db") / 1024))
snapshot "$STORE" >"$WORK/.before"
bash -c 'ulimit -f "$1"; shift; exec "$@"' _ $((DBKB - 8)) "$P" act guidance --matter "$M" \
    --content 文件大小限制 --topic t >"$OUT" 2>"$ERR"
RC=$?
snapshot "$STORE" >"$WORK/.after"
if [ "$RC" -gt 128 ]; then
    fail "act under a file-size limit below the database size: $(describe_rc "$RC") instead of a clear error"
elif [ "$RC" -eq 0 ]; then
    SEQ=$(sed -n 's/^saved entry //p' "$OUT")
    pt log --json
    check "act under a file-size limit said saved: entry $SEQ is in the log" python3 -c '
import json, sys
assert any(e["seq"] == int(sys.argv[2]) and e["fields"]["content"] == "文件大小限制" for e in json.load(open(sys.argv[1])))' "$OUT" "${SEQ:-0}"
else
    check "act under a file-size limit: one line naming the problem" test "$(wc -l <"$ERR")" -eq 1
    check "act under a file-size limit: the store is unchanged" cmp -s "$WORK/.before" "$WORK/.after"
fi
pt verify
check "verify after the file-size limit exits 0 (got $(describe_rc "$RC"))" test "$RC" -eq 0

section "the store after all refusals"
expect_ok "verify" verify
check "verify reports $(L OK 正常)" grep -q "^$(L 'OK ' '正常：')" "$OUT"

echo "runtime: $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $T0 }") s"
finish
