#!/bin/bash
# test_private.sh -- the store holds ID numbers and interview minutes: made
# in a directory anyone may enter (0755, as `mkdir -p /data/patrol` leaves
# it) by a process with umask 022, its files are the owner's alone (0600,
# evidence 0400, directories 0700), and another user reads none of them
# (`runuser -u nobody -- cat FILE`, which needs root: not root, that part
# is a SKIP, exit 77, after the mode checks ran).
#
# usage: test_private.sh PATH/TO/patrol
. "$(dirname "$0")/lib.sh" "$@"

umask 022
mkdir -m 0755 "$WORK/data"
chmod 0755 "$WORK" # the work directory itself is not what hides the store
new_store store "$WORK/data/patrol" || finish
expect_ok "inspector add" inspector add --id ZF-001 --name 张建国 --cert-no 35010219001
IDNO=11010119900307431$(id_check_char 11010119900307431)
expect_ok "subject add (an ID number)" subject add --id-number "$IDNO" --name 王小明
expect_ok "matter open" matter open --subject "$LAST" --inspector ZF-001 --domain urban_management \
    --summary 占道经营
M=$LAST
expect_ok "consent --accept" consent --matter "$M" --accept
printf '询问笔录：王小明 %s\n' "$IDNO" >"$WORK/minutes.txt"
expect_ok "evidence add (interview minutes)" evidence add --matter "$M" --kind document "$WORK/minutes.txt"

section "modes"
check "the store directory's mode is left as made (0755)" \
    test "$(stat -c %a "$WORK/data/patrol")" = 700 -o "$(stat -c %a "$WORK/data/patrol")" = 755
# Every file and directory below the store.
(cd "$STORE" && find . -mindepth 1 -printf '%P %y %m\n') | sort >"$WORK/modes"
show "$WORK/modes" 20
while read -r name type mode; do
    case $type:$name in
    f:evidence/??/*) want=400 ;;
    f:*) want=600 ;;
    d:*) want=700 ;;
    *) want=? ;;
    esac
    check "$name ($type) has mode $want (got $mode)" test "$mode" = "$want"
done <"$WORK/modes"
for f in patrol.db patrol.db-wal patrol.db-shm device.key LOCK; do
    check "$f exists" test -e "$STORE/$f"
done

section "another user"
if [ "$(id -u)" -ne 0 ] || ! command -v runuser >/dev/null; then
    note "SKIP: reading as another user needs root and runuser (uid $(id -u))"
    echo "$TEST_NAME: $N_PASS checks passed, $N_FAIL failed; the other-user part skipped"
    [ "$N_FAIL" -gt 0 ] && finish
    exit 77
fi
check "nobody can enter a 0755 directory (the test is meaningful)" \
    runuser -u nobody -- test -x "$WORK/data"
n=0
while read -r name type mode; do
    [ "$type" = f ] || continue
    n=$((n + 1))
    if runuser -u nobody -- cat "$STORE/$name" >/dev/null 2>&1; then
        fail "user nobody read $name"
    else
        pass "user nobody cannot read $name"
    fi
done <"$WORK/modes"
check "nobody could read none of the $n files" test "$n" -ge 6
check "nobody cannot list the evidence directory" \
    sh -c "! runuser -u nobody -- ls '$STORE/evidence' >/dev/null 2>&1"
finish
