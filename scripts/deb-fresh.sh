#!/usr/bin/env bash
# deb-fresh.sh [BUILD] -- the Debian packages install and run on a fresh
# Debian 12 (docs/install.md, "Debian packages"). Not part of the normal
# test run: it needs root, the network (a Debian mirror) and minutes.
#
#   1. builds the packages and checks them: the test deb_packages
#      (tests/install/test_deb.sh), keeping its four .deb files;
#   2. debootstraps a fresh Debian 12 (bookworm, the default variant:
#      required and important packages, systemd included) into
#      BUILD/deb-fresh/root, its downloads cached in BUILD/deb-fresh/cache;
#   3. in a chroot there: apt-get install ./patrol*.deb ./libpatrol0*.deb
#      ./patrold*.deb ./libpatrol-dev*.deb, apt taking their dependencies
#      from the mirror; then the postinst's work is checked (the patrold
#      user, /var/lib/patrold 0700), patrold init as that user, lists
#      import, device add, config check, serve in the background on
#      127.0.0.1; a terminal's patrol init, enroll, a matter recorded,
#      verify, sync; the server holds it (device list, audit verify,
#      timeline); SIGTERM stops it; purge leaves the data directory.
#
# BUILD defaults to build/ (configured and built if it is not). Mirror:
# DEB_MIRROR (default http://deb.debian.org/debian). Exit 0 only if every
# step passed; the wall time of each step is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
build=${1:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
MIRROR=${DEB_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || { echo "deb-fresh.sh: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "deb-fresh.sh: debootstrap is not installed (scripts/deps.sh)" >&2; exit 2; }

t0=$(date +%s)
lap=$t0
step() {
    local now
    now=$(date +%s)
    printf '   (%d s)\n== %s\n' "$((now - lap))" "$*"
    lap=$now
}

W=$build/deb-fresh
R=$W/root
mkdir -p "$W/cache" "$W/debs"

step "1. the packages (test deb_packages, $build)"
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$SRC" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$build/CMakeCache.txt")
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
rm -f "$W"/debs/*.deb
PATROL_DEB_KEEP=$W/debs bash tests/install/test_deb.sh "$SRC" "$build" "$(command -v cmake)" \
    "$(command -v cpack)" "${cc:-cc}" "$version"
ls -l "$W"/debs

step "2. debootstrap bookworm into $R"
cleanup() {
    for m in "$R/dev/pts" "$R/dev" "$R/proc" "$R/sys"; do
        mountpoint -q "$m" 2>/dev/null && umount -l "$m"
    done
    return 0
}
trap cleanup EXIT
cleanup
rm -rf "$R"
debootstrap --cache-dir="$W/cache" bookworm "$R" "$MIRROR" >"$W/debootstrap.log" 2>&1 ||
    { tail -n 20 "$W/debootstrap.log"; echo "debootstrap failed ($W/debootstrap.log)" >&2; exit 1; }
du -sh "$R" | sed 's/^/   size: /'
# A fresh install also has the updates and security suites.
security=${MIRROR%/debian}/debian-security
cat >"$R/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $security bookworm-security main
EOF
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"
mount -t sysfs sys "$R/sys"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts"
mkdir -p "$R/tmp/patrol"
cp "$W"/debs/*.deb tests/data/reference-sample.json "$R/tmp/patrol/"

step "3. in the chroot: apt-get install the packages, then run them"
cat >"$R/tmp/patrol/inside.sh" <<'EOF'
#!/bin/bash
# Run inside the fresh Debian 12 (chroot), by scripts/deb-fresh.sh.
set -euo pipefail
cd /tmp/patrol
ok() { echo "ok   - $*"; }
die() { echo "FAIL - $*" >&2; exit 1; }
. /etc/os-release
echo "system: $PRETTY_NAME; $(dpkg -l | grep -c '^ii') packages installed"
getent passwd patrold >/dev/null && die "a patrold user exists before the install"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/tmp/patrol/apt-update.log 2>&1 || { tail -5 /tmp/patrol/apt-update.log; die "apt-get update"; }
before=$(dpkg -l | grep -c '^ii')
apt-get install -y -q ./patrol_*.deb ./libpatrol0_*.deb ./patrold_*.deb ./libpatrol-dev_*.deb \
    >/tmp/patrol/apt-install.log 2>&1 || { tail -20 /tmp/patrol/apt-install.log; die "apt-get install"; }
after=$(dpkg -l | grep -c '^ii')
ok "apt-get install ./patrol ./libpatrol0 ./patrold ./libpatrol-dev: $((after - before)) packages installed"
dpkg -l patrol patrold libpatrol0 libpatrol-dev | grep '^ii' | awk '{print "     " $2 " " $3}'
sed -n 's/^Setting up \(lib[^ ]*\|[^ ]*\) .*/\1/p' /tmp/patrol/apt-install.log |
    grep -v '^\(patrol\|patrold\|libpatrol0\|libpatrol-dev\)$' | tr '\n' ' ' | fold -s -w 100 |
    sed 's/^/     from the mirror: /'
echo
# postinst: the user and the data directory (systemd-sysusers, systemd-tmpfiles).
getent passwd patrold >/dev/null || die "postinst created the patrold user"
ok "the patrold user: $(getent passwd patrold)"
st=$(stat -c '%a %U:%G' /var/lib/patrold)
[ "$st" = "700 patrold:patrold" ] || die "/var/lib/patrold is 700 patrold:patrold (got $st)"
ok "/var/lib/patrold: $st"
[ -e /etc/systemd/system/multi-user.target.wants/patrold.service ] && die "the unit is not enabled"
ok "the unit is installed, not enabled: $(ls /lib/systemd/system/patrold.service /usr/lib/systemd/system/patrold.service 2>/dev/null | head -1)"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no patrold.service >/tmp/patrol/verify.log 2>&1 || true
    if grep -q 'patrold.service' /tmp/patrol/verify.log; then cat /tmp/patrol/verify.log; die "systemd-analyze verify patrold.service"; fi
    ok "systemd-analyze verify patrold.service: nothing"
fi
patrol --version
patrold --version
sv() { runuser -u patrold -- patrold --data /var/lib/patrold "$@"; }
# The server, as the unit's set-up comment says.
sv init --name "县司法局采集服务器" >/dev/null
ok "patrold init as patrold"
sv lists import /tmp/patrol/reference-sample.json >/dev/null
ok "patrold lists import"
token=$(sv device add --name "城管执法终端-07" --department SY-CGJ)
ok "patrold device add"
sv config check --listen 127.0.0.1:0 >/tmp/patrol/config.txt
ok "patrold config check: $(grep -c '=' /tmp/patrol/config.txt) settings"
runuser -u patrold -- patrold --data /var/lib/patrold serve --listen 127.0.0.1:0 2>/tmp/patrol/patrold.log &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' /tmp/patrol/patrold.log)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat /tmp/patrol/patrold.log; die "patrold serve listens"; }
ok "patrold serve listens on 127.0.0.1:$port (as patrold)"
# A terminal.
export PATROL_STORE=/root/terminal
patrol init --department SY-CGJ --device-name "城管执法终端-07" >/dev/null
patrol enroll --server "https://127.0.0.1:$port" --token "$token" >/dev/null
ok "patrol init, enroll"
patrol inspector add --id zhangwei --name "张伟" --cert-no 32132300100 >/dev/null
shop=$(patrol subject add --credit-code 91350100M000100Y43 --name "泗阳县某某便利店" \
        --address "泗阳县众兴镇人民路18号" --legal-rep "王某")
m=$(patrol matter open --subject "$shop" --inspector zhangwei --domain urban_management \
      --list-item CG-NP-003 --summary "店外摆卖占用人行道约3平方米，首次发现")
patrol consent --matter "$m" --accept --form oral >/dev/null
patrol act reminder --matter "$m" --form oral --source inspection \
  --rules "《城市市容和环境卫生管理条例》关于临街商户不得超出门窗外墙摆卖的规定" \
  --content "向店主说明占道经营的规定及后果" >/dev/null
ok "patrol records matter $m"
patrol verify >/dev/null
ok "patrol verify"
patrol sync >/tmp/patrol/sync.txt
ok "patrol sync: $(tr '\n' ' ' </tmp/patrol/sync.txt | cut -c1-120)"
sv device list | grep -q "城管执法终端-07" || die "patrold device list shows the terminal"
sv audit verify >/tmp/patrol/audit.txt || { cat /tmp/patrol/audit.txt; die "patrold audit verify"; }
ok "patrold audit verify: $(tail -1 /tmp/patrol/audit.txt | cut -c1-120)"
sv audit timeline --matter "$m" | grep -q "店外摆卖" || die "the server's timeline of $m"
ok "patrold audit timeline --matter $m: the record is on the server"
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT
grep -q 'event=stopped\|event=stop' /tmp/patrol/patrold.log && ok "SIGTERM: $(grep 'event=stop' /tmp/patrol/patrold.log | tail -1 | cut -c1-100)"
# Purge: the binaries go, the records stay.
apt-get purge -y -q patrold >/tmp/patrol/apt-purge.log 2>&1 || { tail /tmp/patrol/apt-purge.log; die "apt-get purge patrold"; }
[ ! -e /usr/sbin/patrold ] || die "purge removes /usr/sbin/patrold"
[ -s /var/lib/patrold/server.crt ] || [ -n "$(ls -A /var/lib/patrold)" ] || die "purge keeps /var/lib/patrold"
ok "apt-get purge patrold: the binary is gone, /var/lib/patrold kept ($(ls /var/lib/patrold | wc -l) entries)"
echo "ALL PASSED"
EOF
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    /bin/bash /tmp/patrol/inside.sh 2>&1 | tee "$W/inside.log"
rc=${PIPESTATUS[0]}
step "done"
echo "wall time: $(($(date +%s) - t0)) s (log: $W/inside.log)"
exit "$rc"
