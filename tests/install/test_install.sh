#!/usr/bin/env bash
# test_install.sh BUILD CC CMAKE [EXTRA_CFLAGS] -- the install tree
# (docs/install.md), as an administrator or a packager gets it:
#   cmake --install BUILD --prefix /usr into a DESTDIR; every file in its
#   place; libpatrol.so.0 is the SONAME; the binaries' RUNPATH is relative;
#   libpatrol.a leaves no px_ symbol undefined; a program built with
#   pkg-config only links and runs, against the shared library and against
#   the static archive (then needing no libpatrol.so); the same with
#   find_package(patrol); the manual pages render without a warning and say
#   what --help says; the unit, sysusers.d and tmpfiles.d entries agree.
# EXTRA_CFLAGS: the sanitizer flags of an ASan build, which the installed
# library needs in the program too.
set -u
BUILD=$1
CC=$2
CMAKE=$3
EXTRA=${4:-}
TEST_NAME=install_tree
. "$(dirname "$0")/../checks.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

T=$(mktemp -d /tmp/patrol-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/dest
P=$D/usr

section "cmake --install into a DESTDIR"
if DESTDIR=$D "$CMAKE" --install "$BUILD" --prefix /usr >"$T/install.log" 2>&1; then
    pass "cmake --install exits 0"
else
    fail "cmake --install exits 0"
    show "$T/install.log" 20
    finish
fi
LIBDIR=
for d in "$P"/lib "$P"/lib/*-linux-gnu*; do
    [ -e "$d/libpatrol.so.0" ] && LIBDIR=$d
done
check "libpatrol.so.0 is installed" test -n "$LIBDIR"
[ -n "$LIBDIR" ] || finish
for f in bin/patrol sbin/patrold include/patrol/patrol.h share/man/man1/patrol.1 \
         share/man/man8/patrold.8 lib/systemd/system/patrold.service \
         lib/sysusers.d/patrold.conf lib/tmpfiles.d/patrold.conf; do
    check "$f is installed" test -s "$P/$f"
done
for f in libpatrol.so libpatrol.a pkgconfig/libpatrol.pc cmake/patrol/patrolConfig.cmake \
         cmake/patrol/patrolConfigVersion.cmake; do
    check "${LIBDIR#$P/}/$f is installed" test -e "$LIBDIR/$f"
done
check "patrol and patrold are executable" test -x "$P/bin/patrol" -a -x "$P/sbin/patrold"
if grep -q "$BUILD\|$D" "$LIBDIR/pkgconfig/libpatrol.pc" "$P/lib/systemd/system/patrold.service"; then
    fail "no installed text file names the build tree or the DESTDIR"
else
    pass "no installed text file names the build tree or the DESTDIR"
fi

section "the shared library and the binaries"
soname=$(readelf -d "$LIBDIR/libpatrol.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "SONAME is libpatrol.so.0 (got '$soname')" test "$soname" = libpatrol.so.0
exported=$(nm -D --defined-only "$LIBDIR/libpatrol.so.0" | awk '$2 == "T" {print $3}')
check "the shared library exports patrol_init" grep -qx patrol_init <<<"$exported"
check "the shared library exports only patrol_ functions" \
    test -z "$(printf '%s\n' "$exported" | grep -v '^patrol_' | grep -v '^$')"
runpath=$(readelf -d "$P/bin/patrol" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
check "patrol's RUNPATH is \$ORIGIN/../${LIBDIR#$P/} (got '$runpath')" \
    test "$runpath" = "\$ORIGIN/../${LIBDIR#$P/}"
if [ -e "$P/bin/patrol-ui" ]; then # built when libmicrohttpd was found
    runpath=$(readelf -d "$P/bin/patrol-ui" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
    check "patrol-ui's RUNPATH is \$ORIGIN/../${LIBDIR#$P/} (got '$runpath')" \
        test "$runpath" = "\$ORIGIN/../${LIBDIR#$P/}"
fi
if readelf -d "$P/bin/patrol"* "$P/sbin/patrold" | grep -E 'R(UN)?PATH' | grep -q "$BUILD"; then
    fail "no installed binary's RUNPATH points into the build tree"
else
    pass "no installed binary's RUNPATH points into the build tree"
fi
lib=$(env -u LD_LIBRARY_PATH ldd "$P/bin/patrol" | awk '$1 == "libpatrol.so.0" {print $3}')
check "the installed patrol loads the installed libpatrol (got '$lib')" \
    test "$(readlink -f "$lib")" = "$(readlink -f "$LIBDIR/libpatrol.so.0")"
"$P/bin/patrol" --help >"$T/patrol.help" 2>&1
check "the installed patrol runs (--help)" grep -q '^usage: patrol' "$T/patrol.help"
"$P/sbin/patrold" --help >"$T/patrold.help" 2>&1
check "the installed patrold runs (--help)" grep -q '^usage: patrold' "$T/patrold.help"

section "the static archive"
undef=$(nm -A "$LIBDIR/libpatrol.a" 2>/dev/null | awk '$2 == "U" && $3 ~ /^px_/ {print $3}' | sort -u)
def=$(nm -A "$LIBDIR/libpatrol.a" 2>/dev/null | awk '$2 ~ /^[TDBR]$/ && $3 ~ /^px_/ {print $3}' | sort -u)
check "libpatrol.a holds proto/'s objects (px_entry_encode defined)" grep -qx px_entry_encode <<<"$def"
missing=$(comm -23 <(printf '%s\n' "$undef") <(printf '%s\n' "$def") | grep -v '^$')
check "libpatrol.a leaves no px_ symbol undefined${missing:+ (missing: $(echo $missing | cut -c1-200))}" \
    test -z "$missing"

section "a program built with pkg-config only"
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
unset PKG_CONFIG_LIBDIR
check "pkg-config knows libpatrol $(pkg-config --modversion libpatrol 2>/dev/null)" \
    pkg-config --exists libpatrol
check "pkg-config's libdir is the installed one" \
    test "$(cd "$(pkg-config --variable=libdir libpatrol)" && pwd)" = "$(cd "$LIBDIR" && pwd)"
# shellcheck disable=SC2046
if $CC $EXTRA -o "$T/prog" "$HERE/prog.c" $(pkg-config --cflags --libs libpatrol) \
    >"$T/cc.log" 2>&1; then
    pass "cc prog.c \$(pkg-config --cflags --libs libpatrol)"
else
    fail "cc prog.c \$(pkg-config --cflags --libs libpatrol)"
    show "$T/cc.log" 10
fi
if [ -x "$T/prog" ]; then
    LD_LIBRARY_PATH=$LIBDIR "$T/prog" "$T/store1" >"$T/prog.out" 2>&1
    check "the program runs against the shared library" grep -q 'entries, verify ok' "$T/prog.out"
    show "$T/prog.out" 2
    lib=$(LD_LIBRARY_PATH=$LIBDIR ldd "$T/prog" | awk '$1 == "libpatrol.so.0" {print $3}')
    check "it loads the installed libpatrol.so.0" \
        test "$(readlink -f "$lib")" = "$(readlink -f "$LIBDIR/libpatrol.so.0")"
fi
# Static: the archive instead of the shared library, its own needs from
# Libs.private (pkg-config --static).
libs=$(pkg-config --static --libs libpatrol)
libs=${libs/-lpatrol/-Wl,-Bstatic -lpatrol -Wl,-Bdynamic}
# shellcheck disable=SC2086
if $CC $EXTRA -o "$T/prog_static" "$HERE/prog.c" $(pkg-config --cflags libpatrol) $libs \
    >"$T/cc_static.log" 2>&1; then
    pass "cc prog.c with libpatrol.a and \$(pkg-config --static --libs libpatrol)"
else
    fail "cc prog.c with libpatrol.a and \$(pkg-config --static --libs libpatrol)"
    show "$T/cc_static.log" 10
fi
if [ -x "$T/prog_static" ]; then
    if readelf -d "$T/prog_static" | grep -q 'libpatrol'; then
        fail "the static program needs no libpatrol.so"
    else
        pass "the static program needs no libpatrol.so"
    fi
    env -u LD_LIBRARY_PATH "$T/prog_static" "$T/store2" >"$T/prog_static.out" 2>&1
    check "the static program runs" grep -q 'entries, verify ok' "$T/prog_static.out"
fi

section "a program built with find_package(patrol)"
if "$CMAKE" -S "$HERE" -B "$T/user" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$EXTRA" \
    -DCMAKE_PREFIX_PATH="$P" >"$T/user.log" 2>&1 &&
    "$CMAKE" --build "$T/user" >>"$T/user.log" 2>&1; then
    pass "find_package(patrol) configures and builds (shared and static)"
    LD_LIBRARY_PATH=$LIBDIR "$T/user/prog_cmake" "$T/store3" >"$T/prog_cmake.out" 2>&1
    check "patrol::patrol runs" grep -q 'entries, verify ok' "$T/prog_cmake.out"
    env -u LD_LIBRARY_PATH "$T/user/prog_cmake_static" "$T/store4" >"$T/prog_cmake_static.out" 2>&1
    check "patrol::patrol_static runs" grep -q 'entries, verify ok' "$T/prog_cmake_static.out"
else
    fail "find_package(patrol) configures and builds (shared and static)"
    show "$T/user.log" 15
fi

section "manual pages"
for m in man1/patrol.1 man8/patrold.8; do
    # -k: preconv, as man does (the pages hold 简体中文).
    if LC_ALL=C.UTF-8 groff -k -man -Tutf8 -ww -z "$P/share/man/$m" >"$T/groff.log" 2>&1 &&
        [ ! -s "$T/groff.log" ]; then
        pass "$m renders without a warning"
    else
        fail "$m renders without a warning"
        show "$T/groff.log" 5
    fi
done
# Every command --help lists is in the manual page (the first words of
# each command line: "matter open", "device add", ...).
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$P/share/man/man1/patrol.1" 2>/dev/null >"$T/patrol.1.txt"
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$P/share/man/man8/patrold.8" 2>/dev/null >"$T/patrold.8.txt"
commands() { # the commands of a usage text: lines "  WORD [word] ..." of lower-case words
    sed -n 's/^  \([a-z][a-z]*\)\( [a-z][a-z|]*\)\{0,1\}.*/\1\2/p' "$1" | sort -u
}
check "'patrol --help' lists at least 30 commands" test "$(commands "$T/patrol.help" | wc -l)" -ge 30
check "'patrold --help' lists at least 12 commands" test "$(commands "$T/patrold.help" | wc -l)" -ge 12
miss=
while read -r c; do
    [ -n "$c" ] || continue
    grep -qF -- "$c" "$T/patrol.1.txt" || miss="$miss [$c]"
done < <(commands "$T/patrol.help")
check "patrol(1) names every command of 'patrol --help'${miss:+ (missing:$miss)}" test -z "$miss"
miss=
while read -r c; do
    [ -n "$c" ] || continue
    grep -qF -- "$c" "$T/patrold.8.txt" || miss="$miss [$c]"
done < <(commands "$T/patrold.help")
check "patrold(8) names every command of 'patrold --help'${miss:+ (missing:$miss)}" test -z "$miss"
ver=$(sed -n 's/^\.TH [^ ]* [^ ]* "[^"]*" "patrol \([^"]*\)".*/\1/p' "$P/share/man/man1/patrol.1")
check "patrol(1) is of this version ($ver)" test "$ver" = "$(pkg-config --modversion libpatrol)"

section "systemd"
unit=$P/lib/systemd/system/patrold.service
check "the unit runs the installed patrold" grep -q '^ExecStart=/usr/sbin/patrold ' "$unit"
user=$(sed -n 's/^User=//p' "$unit")
check "the sysusers.d entry creates the unit's user ($user)" \
    grep -Eq "^u $user " "$P/lib/sysusers.d/patrold.conf"
data=$(sed -n 's/^ExecStart=.*--data \([^ ]*\) .*/\1/p' "$unit")
check "the tmpfiles.d entry makes the unit's data directory ($data) for $user, 0700" \
    grep -Eq "^d $data 0700 $user $user" "$P/lib/tmpfiles.d/patrold.conf"
# systemd-analyze verify also checks that the unit's binary exists at its
# path (it does not: this is a DESTDIR) and other units; what concerns this
# unit's own syntax is an unknown key or section, or a value it cannot parse.
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no "$unit" >"$T/verify.log" 2>&1
    if grep -Ei 'unknown (key|section|lvalue)|failed to parse|invalid' "$T/verify.log" |
        grep -q 'patrold.service'; then
        fail "systemd-analyze verify finds nothing wrong in the unit's syntax"
        show "$T/verify.log" 5
    else
        pass "systemd-analyze verify finds nothing wrong in the unit's syntax"
    fi
fi
finish
