#!/usr/bin/env bash
# test_deb.sh SOURCE BUILD CMAKE CPACK CC VERSION -- the Debian packages of
# `cpack -G DEB` (cmake/package.cmake, docs/install.md "Debian packages"):
#   the four packages patrol, patrold, libpatrol0, libpatrol-dev, named
#   NAME_VERSION-1_ARCH.deb, of this version; their Depends (patrol and
#   libpatrol-dev on libpatrol0 of this exact version, Debian's libraries
#   from dpkg-shlibdeps); their files (Debian's paths, nothing under
#   /usr/local, no build-tree path, man pages gzipped, files owned by root)
#   and together exactly what a plain `cmake --install` installs; patrold's
#   maintainer scripts; lintian's errors when lintian is installed. Then all
#   four are unpacked with `dpkg-deb -x` into one root, and there `patrol
#   --version`, `patrold --version` run (patrol on the unpacked libpatrol,
#   speaking 简体中文 from its catalogue) and a small program is built with
#   pkg-config only (PKG_CONFIG_SYSROOT_DIR and PKG_CONFIG_LIBDIR in the
#   root) and runs.
# The packages need a build configured with the prefix /usr. BUILD is used
# when it is one; otherwise BUILD/deb-build is configured so, with Debian's
# build flags (dpkg-buildflags, hardening=+all: fortify, stack protector,
# relro, bindnow; checked then), and the installed targets are built there
# (the first run builds them all, later runs incrementally).
# PATROL_DEB_KEEP=DIR keeps the four .deb files in DIR.
set -u
SRC=$1
BUILD=$2
CMAKE=$3
CPACK=$4
CC=$5
VERSION=$6
TEST_NAME=deb_packages
. "$(dirname "$0")/../checks.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
for tool in dpkg-deb dpkg-shlibdeps file pkg-config; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/deps.sh)"; exit 77; }
done
DEBVER=$VERSION-1
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
LIBDIR=usr/lib/$MA

T=$(mktemp -d /tmp/patrol-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT

section "a build for the prefix /usr"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
if [ "$prefix" = /usr ]; then
    PB=$BUILD
    HARDENED=
    pass "$BUILD is configured with the prefix /usr"
else
    PB=$BUILD/deb-build
    HARDENED=1
    btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
    cflags=$(cd "$SRC" && export DEB_BUILD_MAINT_OPTIONS=hardening=+all &&
        echo "$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)")
    ldflags=$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get LDFLAGS)
    if [ ! -f "$PB/CMakeCache.txt" ] ||
        [ "$(sed -n 's/^CMAKE_C_FLAGS:[A-Z]*=//p' "$PB/CMakeCache.txt")" != "$cflags" ]; then
        nice -n 5 "$CMAKE" -S "$SRC" -B "$PB" -DCMAKE_INSTALL_PREFIX=/usr \
            -DCMAKE_BUILD_TYPE="${btype:-RelWithDebInfo}" -DCMAKE_C_COMPILER="$CC" \
            -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
            -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" \
            >"$T/configure.log" 2>&1 || { fail "configure $PB"; show "$T/configure.log" 20; finish; }
    fi
    # What the packages install, not the tests, fuzzers and benchmarks.
    targets="patrol_cli patrol patrol_static patrold patrol_mo"
    "$CMAKE" --build "$PB" --target help 2>/dev/null | grep -qw patrol_ui && targets="$targets patrol_ui"
    # shellcheck disable=SC2086
    if nice -n 5 "$CMAKE" --build "$PB" -j2 --target $targets >"$T/build.log" 2>&1; then
        pass "$PB (prefix /usr) builds $targets"
    else
        fail "$PB (prefix /usr) builds $targets"
        show "$T/build.log" 30
        finish
    fi
fi

section "cpack -G DEB"
if (cd "$T" && "$CPACK" -G DEB --config "$PB/CPackConfig.cmake" -B "$T/out") >"$T/cpack.log" 2>&1; then
    pass "cpack -G DEB exits 0"
else
    fail "cpack -G DEB exits 0"
    show "$T/cpack.log" 30
    finish
fi
# Exactly the four, with Debian's file names.
want="libpatrol-dev_${DEBVER}_$ARCH.deb libpatrol0_${DEBVER}_$ARCH.deb patrol_${DEBVER}_$ARCH.deb patrold_${DEBVER}_$ARCH.deb"
got=$(cd "$T/out" && ls ./*.deb 2>/dev/null | sed 's|^\./||' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
check "the packages are $want (got: $got)" test "$got" = "$want"
for p in patrol patrold libpatrol0 libpatrol-dev; do
    deb=$T/out/${p}_${DEBVER}_$ARCH.deb
    [ -f "$deb" ] || { fail "$p: ${deb##*/} exists"; continue; }
    check "$p: Package is $p" test "$(dpkg-deb -f "$deb" Package)" = "$p"
    check "$p: Version is $DEBVER" test "$(dpkg-deb -f "$deb" Version)" = "$DEBVER"
    check "$p: Architecture is $ARCH" test "$(dpkg-deb -f "$deb" Architecture)" = "$ARCH"
    check "$p: a Maintainer and a Description" \
        test -n "$(dpkg-deb -f "$deb" Maintainer)" -a -n "$(dpkg-deb -f "$deb" Description)"
done
[ -f "$T/out/patrol_${DEBVER}_$ARCH.deb" ] && [ -f "$T/out/patrold_${DEBVER}_$ARCH.deb" ] &&
    [ -f "$T/out/libpatrol0_${DEBVER}_$ARCH.deb" ] && [ -f "$T/out/libpatrol-dev_${DEBVER}_$ARCH.deb" ] ||
    finish
# PATROL_DEB_KEEP=DIR: the packages are kept there (scripts/deb-fresh.sh).
[ -n "${PATROL_DEB_KEEP:-}" ] && cp "$T"/out/*.deb "$PATROL_DEB_KEEP"/

section "Depends"
deps() { dpkg-deb -f "$T/out/${1}_${DEBVER}_$ARCH.deb" Depends | tr ',' '\n' | sed 's/^ *//'; }
has() { # has PACKAGE REGEX: a Depends item of PACKAGE matches REGEX
    deps "$1" | grep -Eq "^($2)\$"
}
for p in patrol patrold libpatrol0 libpatrol-dev; do echo "  $p: $(deps "$p" | tr '\n' ',' | sed 's/,$//;s/,/, /g')"; done
check "patrol depends on libpatrol0 (= $DEBVER)" has patrol "libpatrol0 \\(= $DEBVER\\)"
check "libpatrol-dev depends on libpatrol0 (= $DEBVER)" has libpatrol-dev "libpatrol0 \\(= $DEBVER\\)"
check "patrol depends on libc6 (dpkg-shlibdeps)" has patrol 'libc6( \(>= [^)]*\))?'
check "patrol depends on libcjson1 (dpkg-shlibdeps)" has patrol 'libcjson1( \(>= [^)]*\))?'
check "libpatrol0 depends on libsqlite3-0 (dpkg-shlibdeps)" has libpatrol0 'libsqlite3-0( \(>= [^)]*\))?'
check "libpatrol0 depends on libmbedcrypto7 (dpkg-shlibdeps)" has libpatrol0 'libmbedcrypto7( \(>= [^)]*\))?'
check "libpatrol0 depends on libcurl4 (dpkg-shlibdeps)" has libpatrol0 'libcurl4( \(>= [^)]*\))?'
check "patrold depends on libsqlite3-0 (dpkg-shlibdeps)" has patrold 'libsqlite3-0( \(>= [^)]*\))?'
check "patrold depends on libmbedtls14 (dpkg-shlibdeps)" has patrold 'libmbedtls14( \(>= [^)]*\))?'
check "patrold does not depend on libpatrol0 (it does not link it)" \
    test -z "$(deps patrold | grep '^libpatrol0')"
check "patrold recommends libpatrol0 (= $DEBVER) (its messages)" \
    test "$(dpkg-deb -f "$T/out/patrold_${DEBVER}_$ARCH.deb" Recommends)" = "libpatrol0 (= $DEBVER)"
shlibs=$(dpkg-deb -I "$T/out/libpatrol0_${DEBVER}_$ARCH.deb" shlibs 2>/dev/null)
check "libpatrol0 has a shlibs file for libpatrol.so.0 (got '$shlibs')" \
    test "$shlibs" = "libpatrol 0 libpatrol0 (>= $DEBVER)"

section "files"
for p in patrol patrold libpatrol0 libpatrol-dev; do
    dpkg-deb -c "$T/out/${p}_${DEBVER}_$ARCH.deb" >"$T/$p.tv"
    # the paths of files and links, without the leading "."
    awk '$1 !~ /^d/ {print $6}' "$T/$p.tv" | sed 's|^\./|/|' | LC_ALL=C sort >"$T/$p.files"
done
contains() { grep -qx -- "$2" "$T/$1.files"; }
check "patrol holds /usr/bin/patrol" contains patrol /usr/bin/patrol
if [ -x "$PB/client/patrol-ui" ]; then
    check "patrol holds /usr/bin/patrol-ui" contains patrol /usr/bin/patrol-ui
fi
check "patrol holds patrol(1), gzipped" contains patrol /usr/share/man/man1/patrol.1.gz
check "patrold holds /usr/sbin/patrold" contains patrold /usr/sbin/patrold
check "patrold holds patrold(8), gzipped" contains patrold /usr/share/man/man8/patrold.8.gz
unit=$(grep -E '^(/usr)?/lib/systemd/system/patrold\.service$' "$T/patrold.files")
check "patrold holds the unit in /lib or /usr/lib/systemd/system (${unit:-none})" test -n "$unit"
check "patrold holds the sysusers.d entry" grep -Eqx '(/usr)?/lib/sysusers\.d/patrold\.conf' "$T/patrold.files"
check "patrold holds the tmpfiles.d entry" grep -Eqx '(/usr)?/lib/tmpfiles\.d/patrold\.conf' "$T/patrold.files"
check "libpatrol0 holds /$LIBDIR/libpatrol.so.0" contains libpatrol0 "/$LIBDIR/libpatrol.so.0"
check "libpatrol0 holds /$LIBDIR/libpatrol.so.$VERSION" contains libpatrol0 "/$LIBDIR/libpatrol.so.$VERSION"
check "libpatrol0 holds the 简体中文 catalogue" contains libpatrol0 /usr/share/locale/zh_CN/LC_MESSAGES/patrol.mo
check "libpatrol0 holds no libpatrol.so (the -dev link)" test -z "$(grep -x "/$LIBDIR/libpatrol.so" "$T/libpatrol0.files")"
for f in /usr/include/patrol/patrol.h "/$LIBDIR/libpatrol.so" "/$LIBDIR/libpatrol.a" \
         "/$LIBDIR/pkgconfig/libpatrol.pc" "/$LIBDIR/cmake/patrol/patrolConfig.cmake" \
         "/$LIBDIR/cmake/patrol/patrolConfigVersion.cmake"; do
    check "libpatrol-dev holds $f" contains libpatrol-dev "$f"
done
for p in patrol patrold libpatrol0 libpatrol-dev; do
    check "$p holds /usr/share/doc/$p/changelog.gz and changelog.Debian.gz" \
        test "$(grep -c "^/usr/share/doc/$p/changelog\(\.Debian\)\{0,1\}\.gz\$" "$T/$p.files")" -eq 2
done
cat "$T"/patrol.files "$T"/patrold.files "$T"/libpatrol0.files "$T"/libpatrol-dev.files >"$T/all.files"
check "no package installs under /usr/local" test -z "$(grep '^/usr/local/' "$T/all.files")"
check "every file is under /usr (or /lib, /etc)" test -z "$(grep -Ev '^/(usr|lib|etc)/' "$T/all.files")"
check "no two packages hold the same file" test -z "$(LC_ALL=C sort "$T/all.files" | uniq -d)"
check "every file is owned by root:root" test -z "$(cat "$T"/*.tv | awk '$2 != "root/root"')"
# The packages hold what a plain install of the same build installs (the
# rules client/ and po/ give without a component are repeated in
# cmake/package.cmake), the man pages gzipped; and /usr/share/doc.
if DESTDIR=$T/plain "$CMAKE" --install "$PB" >"$T/plain.log" 2>&1; then
    (cd "$T/plain" && find . ! -type d | sed 's|^\./|/|; s|\(/share/man/man[1-9]/.*\.[1-9]\)$|\1.gz|' |
        LC_ALL=C sort) >"$T/plain.files"
    d=$(LC_ALL=C diff <(grep -v '^/usr/share/doc/' "$T/all.files" | LC_ALL=C sort) "$T/plain.files" | grep '^[<>]' | head -5 | tr '\n' ' ')
    check "the four packages hold what 'cmake --install' installs, no more, no less${d:+ (differ: $d)}" test -z "$d"
else
    fail "cmake --install $PB"
    show "$T/plain.log" 10
fi

section "patrold's maintainer scripts"
dpkg-deb -e "$T/out/patrold_${DEBVER}_$ARCH.deb" "$T/control"
for s in postinst prerm postrm; do
    check "patrold has an executable $s" test -x "$T/control/$s"
done
check "postinst creates the user with systemd-sysusers" grep -q '^ *systemd-sysusers .*patrold.conf' "$T/control/postinst"
check "postinst creates /var/lib/patrold with systemd-tmpfiles --create" \
    grep -q '^ *systemd-tmpfiles .*--create patrold.conf' "$T/control/postinst"
check "no maintainer script enables or starts the unit" \
    test -z "$(cat "$T"/control/p* | sed '/^[[:space:]]*#/d' |
        grep -Ew '(systemctl|deb-systemd-invoke|deb-systemd-helper)( [^ ]*)* (enable|start)')"
check "libpatrol0 has the ldconfig trigger" \
    grep -qx 'activate-noawait ldconfig' <(dpkg-deb -I "$T/out/libpatrol0_${DEBVER}_$ARCH.deb" triggers)
if command -v sh >/dev/null; then
    check "the scripts parse (sh -n)" sh -n "$T/control/postinst" "$T/control/prerm" "$T/control/postrm"
fi

if command -v lintian >/dev/null; then
    section "lintian"
    # Errors only. no-copyright-file: the project states no licence yet
    # (docs/install.md, "Debian packages").
    (cd "$T/out" && lintian --tag-display-limit 0 --suppress-tags no-copyright-file ./*.deb) \
        >"$T/lintian.log" 2>&1
    errors=$(grep -c '^E:' "$T/lintian.log")
    check "lintian reports no error ($errors)" test "$errors" -eq 0
    show "$T/lintian.log" 15
else
    echo "  (lintian is not installed: not run)"
fi

section "unpacked with dpkg-deb -x, they run"
R=$T/root
for p in patrol patrold libpatrol0 libpatrol-dev; do
    dpkg-deb -x "$T/out/${p}_${DEBVER}_$ARCH.deb" "$R"
done
lib=$(env -u LD_LIBRARY_PATH ldd "$R/usr/bin/patrol" | awk '$1 == "libpatrol.so.0" {print $3}')
check "the unpacked patrol loads the unpacked libpatrol.so.0 (got '$lib')" \
    test "$(readlink -f "$lib")" = "$(readlink -f "$R/$LIBDIR/libpatrol.so.0")"
out=$(env -u LD_LIBRARY_PATH "$R/usr/bin/patrol" --version 2>&1)
check "patrol --version says $VERSION (got '$out')" grep -q "$VERSION" <<<"$out"
out=$(env -u LD_LIBRARY_PATH "$R/usr/sbin/patrold" --version 2>&1)
check "patrold --version says $VERSION (got '$out')" grep -q "$VERSION" <<<"$out"
if locale -a 2>/dev/null | grep -qix 'zh_CN.utf8'; then
    en=$(env -u LD_LIBRARY_PATH LC_ALL=C.UTF-8 "$R/usr/bin/patrol" --help 2>&1 | head -3)
    zh=$(env -u LD_LIBRARY_PATH LANG=zh_CN.UTF-8 LC_ALL=zh_CN.UTF-8 PATROL_LOCALEDIR="$R/usr/share/locale" \
        "$R/usr/bin/patrol" --help 2>&1 | head -3)
    check "the unpacked catalogue speaks 简体中文 (patrol --help: $(head -1 <<<"$zh"))" \
        test -n "$zh" -a "$zh" != "$en"
fi
file "$R/usr/bin/patrol" "$R/usr/sbin/patrold" "$R/$LIBDIR/libpatrol.so.$VERSION" >"$T/file.log"
check "the binaries and the library are stripped" test -z "$(grep 'not stripped' "$T/file.log")"
if [ -n "$HARDENED" ]; then # built here with dpkg-buildflags' hardening=+all
    for f in usr/bin/patrol usr/sbin/patrold "$LIBDIR/libpatrol.so.$VERSION"; do
        check "$f: full RELRO (GNU_RELRO, BIND_NOW)" \
            test -n "$(readelf -lW "$R/$f" | grep GNU_RELRO)" -a -n "$(readelf -dW "$R/$f" | grep BIND_NOW)"
        check "$f: fortified (__*_chk)" grep -q '__.*_chk' <(readelf -sW --dyn-syms "$R/$f")
    done
    check "patrold: stack protector (__stack_chk_fail)" grep -q '__stack_chk_fail' \
        <(readelf -sW --dyn-syms "$R/usr/sbin/patrold")
fi

section "a program built against the unpacked libpatrol-dev with pkg-config"
unset PKG_CONFIG_PATH
export PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$R/$LIBDIR/pkgconfig
check "pkg-config finds libpatrol $VERSION in the root" test "$(pkg-config --modversion libpatrol 2>/dev/null)" = "$VERSION"
flags=$(pkg-config --cflags --libs libpatrol 2>&1)
echo "  pkg-config --cflags --libs libpatrol: $flags"
inc= libs=
for f in $flags; do
    case $f in
    -I*) inc=$(readlink -f "${f#-I}") ;;
    -L*) libs=$(readlink -f "${f#-L}") ;;
    esac
done
check "the flags name the root's include directory (got '$inc')" test "$inc" = "$(readlink -f "$R/usr/include")"
check "the flags name the root's library directory (got '$libs')" test "$libs" = "$(readlink -f "$R/$LIBDIR")"
# shellcheck disable=SC2086
if $CC -o "$T/prog" "$HERE/prog.c" $flags >"$T/cc.log" 2>&1; then
    pass "cc prog.c \$(pkg-config --cflags --libs libpatrol)"
    LD_LIBRARY_PATH=$R/$LIBDIR "$T/prog" "$T/store" >"$T/prog.out" 2>&1
    check "the program runs on the unpacked libpatrol.so.0" grep -q 'entries, verify ok' "$T/prog.out"
    show "$T/prog.out" 2
else
    fail "cc prog.c \$(pkg-config --cflags --libs libpatrol)"
    show "$T/cc.log" 10
fi
finish
