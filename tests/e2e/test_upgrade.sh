#!/bin/bash
# test_upgrade.sh -- an upgrade interrupted half way (issue 12 item 5): a
# data directory of schema 1 (as patrold 1 made it: 12,002 entries of one
# device, written by `test_srv_index --make-v1`) is upgraded by the first
# read-write open (`patrold device list`), in one transaction with the
# re-indexing of its entries. kill -9 of that process at random moments
# over the upgrade's length; after each kill the directory is either
# exactly as before (schema 1, the same content byte for byte in a dump)
# or fully upgraded (the current schema, integrity_check ok, the same
# counts as an upgrade left alone), never in between; the next open
# always completes it. The kills must land on both sides (else the timing
# missed the upgrade and the test says so): after patrold opened the
# database (patrold.db-shm made) and before it committed, and after.
#
# usage: test_upgrade.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire PATH/TO/test_srv_index
#   UPGRADE_TRIALS (default 20)
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"
MAKER=${4:-}
[ -x "$MAKER" ] || { fail "test_srv_index (4th argument) is not executable: '$MAKER'"; finish; }
TRIALS=${UPGRADE_TRIALS:-20}
exec {NEVER}<> <(:)
sleep_ms() { read -r -t "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))" -u "$NEVER"; }

V1=$WORK/v1
mkdir -p "$V1"
"$MAKER" --make-v1 "$V1" 3000 || { fail "make-v1"; finish; }
dump() { sqlite3 -batch "$1/patrold.db" "PRAGMA user_version; PRAGMA application_id;" .dump; }
counts() {
    sqlite3 -batch "$1/patrold.db" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name" |
        while read -r t; do echo "$t $(sqlite3 -batch "$1/patrold.db" "SELECT count(*) FROM \"$t\"")"; done
}
dump "$V1" >"$WORK/v1.dump"
check "the schema-1 directory holds 12,002 entries" \
    test "$(sqlite3 -batch "$V1/patrold.db" "PRAGMA user_version; SELECT count(*) FROM entries" | tr '\n' ' ')" = "1 12002 "

section "an upgrade left alone"
cp -a "$V1" "$WORK/ref"
T0=$(date +%s%N)
srv_ref() { "$PATROLD" --data "$WORK/ref" device list >/dev/null 2>"$WORK/e"; }
srv_ref
check "patrold device list upgrades it (exit $?)" test "$?" -eq 0
UP_MS=$((($(date +%s%N) - T0) / 1000000))
CUR=$(sqlite3 -batch "$WORK/ref/patrold.db" "PRAGMA user_version")
check "to schema $CUR (above 1)" test "$CUR" -gt 1
counts "$WORK/ref" >"$WORK/ref.counts"
check "with the entries indexed ($(grep '^matter_entries ' "$WORK/ref.counts"))" \
    grep -q '^matter_entries 12000$' "$WORK/ref.counts"
note "the upgrade takes $UP_MS ms here"

section "kill -9 during the upgrade ($TRIALS trials)"
BEFORE=0 OPENED=0 AFTER=0
for i in $(seq 1 "$TRIALS"); do
    rm -rf "$WORK/t"
    cp -a "$V1" "$WORK/t"
    "$PATROLD" --data "$WORK/t" device list >/dev/null 2>&1 &
    pid=$!
    sleep_ms $((RANDOM * (UP_MS + 20) / 32768))
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    # patrold opens the database in WAL mode, which makes patrold.db-shm:
    # with it there and schema 1, the kill came between the open and the
    # upgrade's commit (the transaction's pages stay in memory until then).
    opened=0
    [ -e "$WORK/t/patrold.db-shm" ] && opened=1
    v=$(sqlite3 -batch "$WORK/t/patrold.db" "PRAGMA user_version")
    if [ "$v" = 1 ]; then
        BEFORE=$((BEFORE + 1))
        OPENED=$((OPENED + opened))
        dump "$WORK/t" >"$WORK/t.dump"
        cmp -s "$WORK/v1.dump" "$WORK/t.dump" ||
            fail "trial $i: schema 1 after the kill, but not the directory it was"
    elif [ "$v" = "$CUR" ]; then
        AFTER=$((AFTER + 1))
        [ "$(sqlite3 -batch "$WORK/t/patrold.db" "PRAGMA integrity_check")" = ok ] ||
            fail "trial $i: upgraded but integrity_check fails"
        counts "$WORK/t" | cmp -s - "$WORK/ref.counts" ||
            fail "trial $i: upgraded, but its tables' counts differ from an upgrade left alone"
    else
        fail "trial $i: schema $v after the kill: neither 1 nor $CUR"
    fi
    "$PATROLD" --data "$WORK/t" device list >/dev/null 2>"$WORK/e" ||
        fail "trial $i: the next open failed: $(head -c 200 "$WORK/e")"
    counts "$WORK/t" | cmp -s - "$WORK/ref.counts" ||
        fail "trial $i: after the next open, the counts differ from an upgrade left alone"
done
note "kills: $BEFORE left schema 1 ($OPENED of them after patrold had opened the database), $AFTER after the commit"
check "some kills landed after the open and before the commit ($OPENED)" test "$OPENED" -ge 1
check "some after the commit ($AFTER)" test "$AFTER" -ge 1
finish
