# shellcheck shell=bash
# lib.sh -- shared helpers for the end-to-end tests of the patrol CLI.
#
# A test script starts with
#     . "$(dirname "$0")/lib.sh" "$@"
# (its first argument is the patrol binary, as ctest passes it), uses the
# helpers below, and ends with `finish`, which prints a summary and exits
# non-zero if any check failed. Checks do not stop the script: every
# failure is reported, each naming the check and what was seen.
#
#   new_store NAME          create and init a store under $WORK, set STORE and
#                           PATROL_STORE to it
#   pt ARGS...              run patrol on $STORE: stdout in $OUT, stderr in
#                           $ERR, exit status in $RC
#   expect_ok WHAT ARGS...  pt ARGS, check exit 0 and an empty stderr
#   expect_refused [--code N] [--msg ERE] [--store DIR] [--] CMD...
#                           run CMD, check: non-zero exit (N if given) and not
#                           killed by a signal, exactly one non-empty line on
#                           stderr (matching ERE if given), nothing on stdout,
#                           and the store's snapshot unchanged
#   snapshot DIR            print what a user could lose from a store: the
#                           database's logical content (sqlite3 .dump plus
#                           user_version/application_id), the store's file
#                           listing (type, mode, size) and the SHA-256 of every
#                           file in it, evidence included
#   check COND-DESC CMD...  run CMD (a test), count a failure if it fails
#   fail MSG / pass MSG     record a result
#   L ENGLISH CHINESE       the text to expect in the run's language (ZH=1:
#                           LANG=zh_CN.UTF-8)
#   local_time MS           an entry's time as the tool shows it to people
#
# The store's listing leaves out patrol.db-wal and patrol.db-shm: those are
# SQLite's write-ahead log and its shared-memory index, which come and go as
# the database is opened and closed. Their content is not lost: the dump is
# taken from a copy of patrol.db together with its -wal, so whatever the WAL
# holds shows in the dump.

set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 PATH/TO/patrol  (got '${1:-}')" >&2
    exit 2
fi
case $1 in
/*) PATROL=$1 ;;
*) PATROL=$PWD/$1 ;;
esac
export PATROL
TEST_NAME=$(basename "$0" .sh)
. "$(dirname "${BASH_SOURCE[0]}")/../checks.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/patrol-$TEST_NAME.XXXXXX") || exit 1
# A cross build runs the tool through an emulator: PATROL_EMULATOR (e.g.
# "qemu-aarch64 -L SYSROOT", set by ctest there; docs/build.md). $PATROL
# is then a wrapper that execs it, so every "$PATROL" ... and every kill of
# its pid reaches the emulated tool. `patrol ui` execs patrol-ui beside the
# tool, an arm64 program the build machine's kernel cannot start (ENOEXEC
# without binfmt_misc); the tool then looks on PATH, where a wrapper for it
# is put first. Wall-clock budgets a test gives the tool (sync timeouts and
# backoffs, "under 3 s") are for native speed: emulated, the tool is 5 to
# 15 times slower, and TIME_SCALE (1 natively, PATROL_EMULATOR_TIME_SCALE
# or 10 emulated) multiplies them.
TIME_SCALE=1
if [ -n "${PATROL_EMULATOR:-}" ]; then
    mkdir "$WORK/emu" || exit 1
    for b in "$PATROL" "$(dirname "$PATROL")/patrol-ui"; do
        [ -x "$b" ] || continue
        printf '#!/bin/sh\nexec %s %q "$@"\n' "$PATROL_EMULATOR" "$b" >"$WORK/emu/${b##*/}" &&
            chmod +x "$WORK/emu/${b##*/}" || exit 1
    done
    PATROL=$WORK/emu/${PATROL##*/}
    PATH=$WORK/emu:$PATH
    TIME_SCALE=${PATROL_EMULATOR_TIME_SCALE:-10}
fi
# Language: LANG decides, as on a terminal (ctest runs each script with
# LANG=C and again with LANG=zh_CN.UTF-8 TZ=Asia/Shanghai); nothing may
# override it. ZH=1 in the Chinese run, and `L ENGLISH CHINESE` gives the
# text (or ERE) to expect in the run's language. The Chinese run needs the
# zh_CN.UTF-8 locale (scripts/deps.sh makes it) and the compiled catalogue
# under $PATROL_LOCALEDIR (ctest points it at the build tree): without
# them it fails at once rather than checking English twice.
unset LC_ALL LC_MESSAGES LANGUAGE
export LANG=${LANG:-C}
case $LANG in
zh_CN*) ZH=1 ;;
*) ZH=0 ;;
esac
if [ "$ZH" = 1 ]; then
    if ! locale -a 2>/dev/null | grep -qix 'zh_CN.utf-\{0,1\}8'; then
        echo "$TEST_NAME: the zh_CN.UTF-8 locale is missing (run scripts/deps.sh)" >&2
        exit 1
    fi
    if [ ! -f "${PATROL_LOCALEDIR:-}/zh_CN/LC_MESSAGES/patrol.mo" ]; then
        echo "$TEST_NAME: no catalogue at \$PATROL_LOCALEDIR/zh_CN/LC_MESSAGES/patrol.mo" \
            "(PATROL_LOCALEDIR='${PATROL_LOCALEDIR:-}')" >&2
        exit 1
    fi
fi
L() { if [ "$ZH" = 1 ]; then printf '%s' "$2"; else printf '%s' "$1"; fi; }
# Local time of an entry, as the tool shows it: the time zone is TZ (or the
# system's), the entry's time (ms since the epoch) is UTC.
local_time() { date -d "@$(($1 / 1000))" '+%Y-%m-%d %H:%M:%S %Z'; }
unset PATROL_STORE
STORE=
CLEANUPS=

# Commands run at exit, last registered first (e.g. unmounting before
# removing the work directory).
at_exit() { CLEANUPS="$1
$CLEANUPS"; }
run_cleanups() {
    local IFS='
'
    for c in $CLEANUPS; do eval "$c"; done
    if [ -n "${KEEP_WORK:-}" ]; then
        echo "# work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap run_cleanups EXIT
trap 'exit 130' INT TERM

# Describe an exit status: "exit 1" or "killed by signal 9 (KILL)".
describe_rc() {
    if [ "$1" -gt 128 ]; then
        echo "killed by signal $(($1 - 128)) ($(kill -l $(($1 - 128)) 2>/dev/null || echo '?'))"
    else
        echo "exit $1"
    fi
}

# ---- running patrol ------------------------------------------------------

OUT=$WORK/.out
ERR=$WORK/.err
RC=0

pt() {
    "$PATROL" "$@" >"$OUT" 2>"$ERR"
    RC=$?
    return 0
}

# expect_ok WHAT ARGS...: patrol ARGS must succeed with nothing on stderr.
# The output stays in $OUT (and, trimmed of its last newline, in $LAST).
expect_ok() {
    local what=$1
    shift
    pt "$@"
    LAST=$(cat "$OUT") # used by the test scripts
    export LAST
    if [ "$RC" -ne 0 ]; then
        fail "$what: expected success, got $(describe_rc "$RC"): patrol $*"
        show "$ERR"
        return 1
    fi
    if [ -s "$ERR" ]; then
        fail "$what: succeeded but wrote to stderr: patrol $*"
        show "$ERR"
        return 1
    fi
    pass "$what"
}

# new_store NAME [DIR]: a fresh store (in DIR if given, else $WORK/NAME).
new_store() {
    STORE=${2:-$WORK/$1}
    export PATROL_STORE=$STORE
    pt init --department "${DEPARTMENT:-SY-CGJ}" --device-name "$1"
    if [ "$RC" -ne 0 ]; then
        fail "init of store $1: $(describe_rc "$RC")"
        show "$ERR"
        return 1
    fi
    pass "init of store $1"
}

# ---- snapshot ------------------------------------------------------------

snapshot() {
    local dir=$1 copy
    copy=$(mktemp -d "$WORK/.snap.XXXXXX") || return 1
    echo "== files (type mode size; no size for directories)"
    (cd "$dir" 2>/dev/null && find . -mindepth 1 ! -name patrol.db-wal ! -name patrol.db-shm \
        \( -type f -printf '%P %y %m %s\n' -o ! -type f -printf '%P %y %m\n' \) | sort)
    echo "== evidence files"
    (cd "$dir" 2>/dev/null && [ -d evidence ] && find evidence -type f | sort)
    echo "== sha256 of every file (patrol.db-wal/-shm aside)"
    (cd "$dir" 2>/dev/null && find . -type f ! -name patrol.db-wal ! -name patrol.db-shm \
        ! -name patrol.db -print0 | sort -z | xargs -0 -r sha256sum)
    echo "== database"
    if [ -f "$dir/patrol.db" ]; then
        cp "$dir/patrol.db" "$copy/patrol.db"
        [ -f "$dir/patrol.db-wal" ] && cp "$dir/patrol.db-wal" "$copy/patrol.db-wal"
        sqlite3 "$copy/patrol.db" 'PRAGMA user_version; PRAGMA application_id;' .dump 2>&1
    else
        echo "(no patrol.db)"
    fi
    rm -rf "$copy"
}

# day N: the Beijing calendar date N days from today (deadlines and due
# dates may not lie before the day they are recorded).
day() { TZ=Asia/Shanghai date -d "$1 days" +%F; }

# expect_refused [--code N] [--msg ERE] [--store DIR] [--] CMD...
expect_refused() {
    local code='' msg='' dir=$STORE before after rc nl what ok=1
    while [ $# -gt 0 ]; do
        case $1 in
        --code) code=$2; shift 2 ;;
        --msg) msg=$2; shift 2 ;;
        --store) dir=$2; shift 2 ;;
        --) shift; break ;;
        *) break ;;
        esac
    done
    what="refused: $(printf '%s ' "$@" | sed "s#$PATROL#patrol#g" | cut -c 1-160)"
    before=$WORK/.before
    after=$WORK/.after
    snapshot "$dir" >"$before"
    "$@" >"$OUT" 2>"$ERR"
    rc=$?
    RC=$rc
    snapshot "$dir" >"$after"
    if [ "$rc" -eq 0 ]; then
        fail "$what: exit status 0, expected a refusal"; ok=0
        show "$OUT"
    elif [ "$rc" -gt 128 ]; then
        fail "$what: $(describe_rc "$rc") instead of a clear error"; ok=0
    elif [ -n "$code" ] && [ "$rc" -ne "$code" ]; then
        fail "$what: exit status $rc, expected $code"; ok=0
    fi
    if [ -s "$OUT" ]; then
        fail "$what: wrote to stdout (expected nothing)"; ok=0
        show "$OUT"
    fi
    nl=$(tr -cd '\n' <"$ERR" | wc -c)
    if [ "$nl" -ne 1 ] || [ "$(tail -c 1 "$ERR" | od -An -c | tr -d ' ')" != '\n' ]; then
        fail "$what: expected exactly one line on stderr, got $nl newline(s)"; ok=0
        show "$ERR"
    elif ! grep -q '[^[:space:]]' "$ERR"; then
        fail "$what: the line on stderr is empty"; ok=0
    elif [ -n "$msg" ] && ! grep -Eq -- "$msg" "$ERR"; then
        fail "$what: message does not match /$msg/"; ok=0
        show "$ERR"
    fi
    if ! cmp -s "$before" "$after"; then
        fail "$what: the store changed"; ok=0
        diff "$before" "$after" | head -n 12 | cut -c 1-200 | sed 's/^/      | /'
    fi
    [ "$ok" -eq 1 ] && pass "$what"
    [ -n "${VERBOSE:-}" ] && show "$ERR"
    return 0
}

# ---- reading the journal -------------------------------------------------

# log_json FILE: the whole journal as JSON into FILE (with --reveal if a
# second argument "reveal" is given).
log_json() {
    if [ "${2:-}" = reveal ]; then
        "$PATROL" log --json --reveal >"$1" 2>"$ERR"
    else
        "$PATROL" log --json >"$1" 2>"$ERR"
    fi
}

# The GB 11643 check character of the 17 digits in $1.
id_check_char() {
    local d=$1 w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) s=0 i chars=10X98765432
    for i in $(seq 0 16); do
        s=$((s + ${d:i:1} * w[i]))
    done
    echo "${chars:$((s % 11)):1}"
}

# The GB 32100 check character of the 17 characters in $1.
credit_check_char() {
    local d=$1 alpha=0123456789ABCDEFGHJKLMNPQRTUWXY i c v s=0 pre
    local w=(1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28)
    for i in $(seq 0 16); do
        c=${d:i:1}
        pre=${alpha%%"$c"*}
        v=${#pre}
        s=$((s + v * w[i]))
    done
    v=$(((31 - s % 31) % 31))
    echo "${alpha:v:1}"
}
