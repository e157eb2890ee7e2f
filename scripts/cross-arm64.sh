#!/usr/bin/env bash
# cross-arm64.sh -- the handheld build (docs/build.md): patrol's terminal
# side alone (-DPATROL_TERMINAL_ONLY=ON: proto/, libpatrol, patrol,
# patrol-ui and their tests) cross-built for aarch64 with Debian's
# crossbuild-essential-arm64 and cmake/toolchain-aarch64-linux-gnu.cmake,
# then its whole suite run under qemu-user: the test programs through
# CMAKE_CROSSCOMPILING_EMULATOR, the shell and python suites through
# PATROL_EMULATOR. Not part of the normal run (scripts/test.sh, .ci/run).
#
# usage: scripts/cross-arm64.sh [--sysroot] [--build DIR] [--jobs N] [--no-test]
#                               [-- CTEST-ARGS...]
#   --sysroot   the arm64 libraries are downloaded (apt-get download) and
#               unpacked (dpkg -x) into DIR/sysroot: nothing arm64 is
#               installed on the machine. Without it they are installed
#               as Debian multiarch packages (libsqlite3-dev:arm64 ...).
#   --build DIR the build directory (default: build-arm64 in the tree)
#   --jobs N    parallel compile jobs (default: the number of CPUs)
#   --no-test   stop after the build
#   CTEST-ARGS  passed to ctest (e.g. -R cli_ or -j2)
#
# What it installs (apt-get, root or sudo): crossbuild-essential-arm64 and
# qemu-user on the build machine (dpkg --add-architecture arm64 first), and
# without --sysroot the arm64 -dev packages below. Every install is first
# simulated (apt-get install -s): if it would remove any package or replace
# an installed one by another version -- e.g. an arm64 library of a newer
# version than the machine's amd64 one, which Debian would upgrade to match
# -- nothing is installed and the script stops, saying which packages.
#
# Exit status: 0 built (and every test passed), 1 a build or test failure,
# 2 usage, 3 an install refused.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-arm64
SYSROOT_MODE=0
JOBS=$(nproc 2>/dev/null || echo 2)
RUN_TESTS=1
CTEST_ARGS=()
while [ $# -gt 0 ]; do
    case $1 in
    --sysroot) SYSROOT_MODE=1 ;;
    --build) BUILD=${2:?--build needs a directory}; shift ;;
    --jobs) JOBS=${2:?--jobs needs a number}; shift ;;
    --no-test) RUN_TESTS=0 ;;
    --) shift; CTEST_ARGS=("$@"); break ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cross-arm64.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
SYSROOT=$BUILD/sysroot

# The terminal side's libraries, for arm64 (the build tools -- cmake,
# pkg-config, protoc-c, msgfmt, python3, sqlite3, openssl -- are the build
# machine's, from scripts/deps.sh).
TARGET_DEV=(libsqlite3-dev libcurl4-openssl-dev libmbedtls-dev liblz4-dev libprotobuf-c-dev
            libcjson-dev libcmocka-dev libmicrohttpd-dev)
HOST_PKGS=(crossbuild-essential-arm64 qemu-user)

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
say() { printf 'cross-arm64: %s\n' "$*"; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# safe_install PKG...: apt-get install those not installed yet, after a
# simulation shows that nothing installed would be removed or changed.
safe_install() {
    local missing=() p sim bad
    for p in "$@"; do installed "$p" || missing+=("$p"); done
    [ "${#missing[@]}" -gt 0 ] || { say "installed already: $*"; return 0; }
    sim=$(mktemp)
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -s -y --no-install-recommends \
        "${missing[@]}" >"$sim" 2>&1; then
        cat "$sim" >&2; rm -f "$sim"
        say "apt-get cannot install ${missing[*]} (above); nothing was installed" >&2
        exit 3
    fi
    # "Remv P" removes P; "Inst P [OLD] (NEW ...)" replaces the installed
    # version OLD of P (of any architecture) by NEW.
    bad=$(grep -E '^Remv |^Inst [^ ]+ \[' "$sim" || true)
    if [ -n "$bad" ]; then
        {
            say "REFUSED: installing ${missing[*]}"
            say "would change $(printf '%s\n' "$bad" | wc -l) installed package(s):"
            printf '%s\n' "$bad" | sed 's/^/    /'
            say "None of these was installed. An arm64 library can only sit beside its amd64 twin"
            say "at the very same version (Multi-Arch: same): this machine's amd64 packages"
            say "are older than the archive's. Either upgrade them first (apt-get upgrade) if"
            say "this machine may change, or run with --sysroot, which installs no arm64"
            say "package (they are unpacked into $SYSROOT)."
        } >&2
        rm -f "$sim"
        exit 3
    fi
    say "installing: $(grep -c '^Inst ' "$sim") new package(s), none changed or removed"
    rm -f "$sim"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ---- 1. the build machine: arm64 architecture, cross compiler, qemu-user --
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "dpkg --add-architecture arm64"
    $SUDO dpkg --add-architecture arm64
fi
if ! apt-cache show libsqlite3-0:arm64 >/dev/null 2>&1; then
    $SUDO apt-get update -q
fi
safe_install "${HOST_PKGS[@]}"
command -v aarch64-linux-gnu-gcc >/dev/null || { say "no aarch64-linux-gnu-gcc" >&2; exit 1; }
command -v qemu-aarch64 >/dev/null || { say "no qemu-aarch64" >&2; exit 1; }

# ---- 2. the arm64 libraries ------------------------------------------------
TOOLCHAIN_ARGS=(-DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-aarch64-linux-gnu.cmake")
if [ "$SYSROOT_MODE" = 0 ]; then
    safe_install "${TARGET_DEV[@]/%/:arm64}"
else
    # The -dev packages and everything they depend on, arm64 only (the
    # build machine's tools answer for Multi-Arch: foreign ones).
    mkdir -p "$BUILD/debs"
    mapfile -t CLOSURE < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "${TARGET_DEV[@]/%/:arm64}" |
        grep -E '^[a-z0-9][^ ]*:arm64$' | sort -u)
    # name=version of each: the sysroot is remade when one changes.
    mapfile -t WANT < <(apt-cache policy "${CLOSURE[@]}" |
        awk '/^[^ ].*:$/ { p = substr($1, 1, length($1) - 1) } /Candidate:/ { print p "=" $2 }')
    if [ -f "$SYSROOT/.packages" ] && [ "$(cat "$SYSROOT/.packages")" = "$(printf '%s\n' "${WANT[@]}")" ]; then
        say "sysroot up to date: $SYSROOT (${#WANT[@]} packages)"
    else
        say "downloading ${#WANT[@]} arm64 packages into $BUILD/debs"
        (cd "$BUILD/debs" && apt-get download -q "${WANT[@]}")
        rm -rf "$SYSROOT"
        mkdir -p "$SYSROOT"
        for p in "${WANT[@]}"; do
            n=${p%%:*} v=${p#*=}
            deb=$(ls "$BUILD/debs/${n}_${v//:/%3a}_arm64.deb")
            dpkg-deb -x "$deb" "$SYSROOT"
        done
        # Absolute symbolic links (e.g. lib/ld-linux-aarch64.so.1) would
        # point into the build machine: make them relative to the sysroot.
        while IFS= read -r l; do
            t=$(readlink "$l")
            ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$SYSROOT$t")" "$l"
        done < <(find "$SYSROOT" -type l -lname '/*')
        printf '%s\n' "${WANT[@]}" >"$SYSROOT/.packages"
        say "sysroot: $SYSROOT ($(du -sh "$SYSROOT" | cut -f1))"
    fi
    TOOLCHAIN_ARGS+=(-DPATROL_ARM64_SYSROOT="$SYSROOT")
fi

# ---- 3. configure and build ------------------------------------------------
say "configure: $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPATROL_TERMINAL_ONLY=ON \
    "${TOOLCHAIN_ARGS[@]}"
t0=$(date +%s)
nice -n 5 cmake --build "$BUILD" -j "$JOBS"
t1=$(date +%s)
machine=$(LC_ALL=C readelf -h "$BUILD/client/patrol" | awk -F: '/Machine/ { gsub(/^ +/, "", $2); print $2 }')
say "built in $((t1 - t0)) s: client/patrol is $machine"
[ "$machine" = AArch64 ] || { say "client/patrol is not an AArch64 program" >&2; exit 1; }
[ "$RUN_TESTS" = 1 ] || exit 0

# ---- 4. the suite under qemu-user ------------------------------------------
say "ctest under $(qemu-aarch64 --version | head -n 1)"
t0=$(date +%s)
rc=0
ctest --test-dir "$BUILD" --output-on-failure "${CTEST_ARGS[@]}" || rc=1
t1=$(date +%s)
say "ctest took $((t1 - t0)) s (exit $rc)"
exit "$rc"
