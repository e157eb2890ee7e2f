#!/bin/bash
# test_disk.sh -- refusals that need root to be tested for real: a full disk
# (a 2 MB tmpfs, mounted: root only) and an evidence file the user cannot
# read (root reads mode-000 files: tested with CAP_DAC_OVERRIDE and
# CAP_DAC_READ_SEARCH dropped by setpriv). When they cannot run (not root,
# no tmpfs, no setpriv) the test says which and exits 77: ctest shows SKIP
# (SKIP_RETURN_CODE), it never passes silently. CI runs as root. Moved here
# from test_refusals.sh, where they were skipped with a note only.
#
# usage: test_disk.sh PATH/TO/patrol
. "$(dirname "$0")/lib.sh" "$@"

FULL_RE=$(L 'disk is full' '磁盘已满')
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
SKIPPED=
P=$PATROL
CREDIT=91350100M000100Y43
CREDIT2=91350100MA2Y0BFF4$(credit_check_char 91350100MA2Y0BFF4)
DEADLINE=$(day 2)
new_store disk || finish
expect_ok "inspector add" inspector add --id ZF-001 --name 张建国 --cert-no 35010219001
expect_ok "subject add" subject add --credit-code "$CREDIT" --name 好味道餐饮店
expect_ok "matter open" matter open --subject "$LAST" --inspector ZF-001 --domain urban_management \
    --summary 占道经营
M=$LAST
expect_ok "consent --accept" consent --matter "$M" --accept
PHOTO=$WORK/photo.jpg
{ printf '\377\330\377\340'; head -c 5000 /dev/urandom; } >"$PHOTO"
newfile() { { printf '\377\330\377\340'; head -c 20000 /dev/urandom; } >"$WORK/$1"; echo "$WORK/$1"; }

# ---- an unreadable evidence file -------------------------------------------------
section "an unreadable evidence file"
UNREAD=$(newfile unreadable.jpg)
chmod 000 "$UNREAD"
if [ "$IS_ROOT" -eq 0 ]; then
    expect_refused --code 1 --msg "unreadable.jpg" "$P" evidence add --matter "$M" --kind photo "$UNREAD"
elif command -v setpriv >/dev/null && setpriv --bounding-set=-dac_override,-dac_read_search true 2>/dev/null; then
    note "running as root: the unreadable file is tested with CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH dropped (setpriv)"
    expect_refused --code 1 --msg "unreadable.jpg" setpriv --bounding-set=-dac_override,-dac_read_search \
        "$P" evidence add --matter "$M" --kind photo "$UNREAD"
else
    note "SKIP: unreadable evidence file (running as root without setpriv: root reads mode-000 files)"
    SKIPPED="$SKIPPED unreadable-file"
fi

# ---- a full disk -------------------------------------------------------------
section "a full disk"
VIDEO=$WORK/VID_0001.mp4
{ printf '\000\000\000\030ftypmp42'; head -c 3000000 /dev/urandom; } >"$VIDEO"
FD=$WORK/fd
mkdir "$FD"
if [ "$IS_ROOT" -eq 1 ] && mount -t tmpfs -o size=2m,mode=0700 tmpfs "$FD" 2>"$ERR"; then
    note "full disk: a 2 MB tmpfs mounted at $FD (running as root)"
    at_exit "mountpoint -q '$FD' && { umount '$FD' 2>/dev/null || umount -l '$FD'; }"
    MAIN_STORE=$STORE
    new_store full "$FD/store"
    expect_ok "inspector add (full-disk store)" inspector add --id ZF-001 --name 张建国 --cert-no 1
    expect_ok "subject add (full-disk store)" subject add --credit-code "$CREDIT" --name x
    expect_ok "matter open (full-disk store)" matter open --subject "$LAST" --inspector ZF-001 \
        --domain urban_management --summary s
    FM=$LAST
    expect_ok "consent --accept (full-disk store)" consent --matter "$FM" --accept
    declare -A SAVED=()
    saved_from_json() { # record {"seq":..,"hash":..} printed by --json
        local s h
        s=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["seq"], d["hash"])' "$OUT") || return 1
        h=${s#* }
        SAVED[${s%% *}]=$h
    }
    pt log --json
    BASE=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT")

    expect_refused --code 1 --msg "$FULL_RE" "$P" evidence add --matter "$FM" --kind video "$VIDEO"
    check "no partial evidence is left in the store after the refused import" \
        test -z "$(find "$FD/store/evidence" -type f)"

    # Leave about 200 KB free, then record until the disk is full.
    AVAIL=$(df -k --output=avail "$FD" | tail -n 1)
    dd if=/dev/zero of="$FD/filler" bs=1k count=$((AVAIL - 200)) 2>/dev/null
    TEXT=$(head -c 7000 /dev/zero | tr '\0' a)
    FULL_AT=0
    for i in $(seq 1 200); do
        snapshot "$STORE" >"$WORK/.before"
        pt act guidance --matter "$FM" --content "$TEXT" --topic "entry $i" --json
        if [ "$RC" -eq 0 ]; then
            saved_from_json || fail "act --json printed no seq/hash: $(cat "$OUT")"
            continue
        fi
        FULL_AT=$i
        snapshot "$STORE" >"$WORK/.after"
        if [ "$RC" -gt 128 ]; then
            fail "act on a full disk: $(describe_rc "$RC") instead of a clear error"
        else
            pass "act on a full disk exits $RC"
        fi
        # --json is for scripts: its messages are English in both runs, and
        # stdout has the JSON error object with the library's code.
        check "act on a full disk: one line naming the full disk" \
            sh -c "[ \$(wc -l <'$ERR') -eq 1 ] && grep -q 'disk is full' '$ERR'"
        check "act --json on a full disk: stdout is the error object, code no_space" \
            python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not (j["ok"] is False and j["code"] == "no_space" and j["exit"] == 1))' "$OUT"
        if cmp -s "$WORK/.before" "$WORK/.after"; then
            pass "act on a full disk leaves the store as it was"
        else
            fail "act on a full disk changed the store"
            diff "$WORK/.before" "$WORK/.after" | head -n 8 | cut -c 1-200 | sed 's/^/      | /'
        fi
        break
    done
    note "full disk: ${#SAVED[@]} entries saved before the disk filled (attempt $FULL_AT)"
    check "the disk filled up while recording (attempts: $FULL_AT)" test "$FULL_AT" -gt 0
    check "some entries were saved before the disk filled (${#SAVED[@]})" test "${#SAVED[@]}" -gt 0
    expect_refused --code 1 --msg "$FULL_RE" "$P" act warning --matter "$FM" --content c --minor \
        --no-harm --no-intent --correctable --correction x --deadline "$DEADLINE"
    expect_refused --code 1 --msg "$FULL_RE" "$P" evidence add --matter "$FM" --kind photo "$(newfile full.jpg)"
    expect_refused --code 1 --msg "$FULL_RE" "$P" subject add --credit-code $CREDIT2 --name y

    check_saved() { # $1: label; the store holds BASE + saved entries, with the hashes reported
        python3 - "$OUT" "$BASE" "$WORK/saved" "$1" <<'EOF'
import json, sys
log = {e["seq"]: e["hash"] for e in json.load(open(sys.argv[1]))}
base = int(sys.argv[2])
saved = dict(l.split() for l in open(sys.argv[3]) if l.strip())
bad = [s for s, h in saved.items() if log.get(int(s)) != h]
if bad or len(log) != base + len(saved):
    print("    %s: %d entries, expected %d; missing or changed: %s" % (sys.argv[4], len(log), base + len(saved), bad))
    sys.exit(1)
EOF
    }
    : >"$WORK/saved"
    for s in "${!SAVED[@]}"; do echo "$s ${SAVED[$s]}" >>"$WORK/saved"; done

    # The record must stay readable and verifiable while the disk is full.
    pt verify
    check "verify on a full disk exits 0 (got $(describe_rc "$RC"): $(head -c 200 "$ERR"))" test "$RC" -eq 0
    pt log --json
    if [ "$RC" -eq 0 ]; then
        check "log --json on a full disk holds every entry reported saved" check_saved "disk full"
    else
        fail "log --json on a full disk fails ($(describe_rc "$RC"): $(head -c 200 "$ERR"))"
    fi

    rm -f "$FD/filler"
    pt verify
    check "verify after space is freed exits 0 (got $(describe_rc "$RC"))" test "$RC" -eq 0
    pt log --json
    check "log --json after space is freed exits 0" test "$RC" -eq 0
    check "after the full disk the store holds every entry reported saved, with the same hash" \
        check_saved "space freed"
    expect_ok "recording works again once space is freed" act guidance --matter "$FM" --content c \
        --topic t
    expect_ok "evidence import works again once space is freed" evidence add --matter "$FM" \
        --kind photo "$PHOTO"

    # The disk fills up while patrol is not running (photos taken with the
    # camera app, say): the record must still be readable and verifiable,
    # and recording must be refused cleanly.
    # patrol keeps its WAL and shared-memory files allocated when it closes
    # (SQLITE_FCNTL_PERSIST_WAL), so that reading needs no new disk space.
    check "the store keeps its WAL and shm files after closing" \
        test -e "$FD/store/patrol.db-wal" -a -e "$FD/store/patrol.db-shm"
    pt log --json
    BASE=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT")
    dd if=/dev/zero of="$FD/filler" bs=4k 2>/dev/null
    check "the tmpfs is full ($(df -k --output=avail "$FD" | tail -n 1) KB free)" \
        test "$(df -k --output=avail "$FD" | tail -n 1)" -eq 0
    pt verify
    check "verify of a cleanly closed store on a full disk exits 0 (got $(describe_rc "$RC"): $(head -c 200 "$ERR"))" \
        test "$RC" -eq 0
    pt log --json
    check "log --json of a cleanly closed store on a full disk exits 0 (got $(describe_rc "$RC"): $(head -c 200 "$ERR"))" \
        test "$RC" -eq 0
    pt info
    check "info on a full disk exits 0 (got $(describe_rc "$RC"): $(head -c 200 "$ERR"))" test "$RC" -eq 0
    expect_refused --code 1 --msg "$FULL_RE" "$P" act guidance --matter "$FM" --content c --topic t
    rm -f "$FD/filler"
    pt log --json
    check "nothing was lost: $BASE entries after the disk was full" \
        python3 -c 'import json,sys; sys.exit(len(json.load(open(sys.argv[1]))) != int(sys.argv[2]))' "$OUT" "$BASE"
    pt verify
    check "verify after the second full disk exits 0" test "$RC" -eq 0

    STORE=$MAIN_STORE
    export PATROL_STORE=$STORE
    umount "$FD" 2>/dev/null
else
    SKIPPED="$SKIPPED full-disk"
    if [ "$IS_ROOT" -eq 1 ]; then
        note "SKIP: full disk on a tmpfs: mount failed: $(head -c 200 "$ERR")"
    else
        note "SKIP: full disk on a tmpfs needs root (mount)"
    fi
fi


if [ -n "$SKIPPED" ]; then
    echo "$TEST_NAME: $N_PASS checks passed, $N_FAIL failed; SKIPPED:$SKIPPED"
    [ "$N_FAIL" -gt 0 ] && finish
    exit 77
fi
finish
