#!/usr/bin/env bash
# Install what patrol needs to build, test and run on Debian 12.
# Idempotent; needs root (or sudo).
set -euo pipefail
PKGS=(build-essential cmake pkg-config python3 sqlite3 clang
      libsqlite3-dev libcurl4-openssl-dev libmbedtls-dev liblz4-dev
      libprotobuf-c-dev protobuf-c-compiler libcmocka-dev
      libhttp-parser-dev libcjson-dev curl lz4
      gettext locales tzdata
      libxlsxwriter-dev python3-openpyxl
      libarchive-dev openssl libssl-dev
      libmicrohttpd-dev chromium chromium-driver python3-selenium fonts-wqy-microhei
      libargon2-dev libqrencode-dev zbar-tools
      systemd libsystemd-dev libinih-dev libcsv-dev python3-prometheus-client
      # cpack -G DEB and the test deb_packages: dpkg-shlibdeps (dpkg-dev),
      # file; debootstrap for scripts/deb-fresh.sh only (a fresh Debian 12)
      dpkg-dev file debootstrap)
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
# The patrol tool speaks 简体中文 under LANG=zh_CN.UTF-8 (its tests run
# once in Chinese): the locale must exist. Uncomment it in /etc/locale.gen
# (or add it) and generate it, once.
if ! locale -a 2>/dev/null | grep -qix 'zh_CN.utf8'; then
  if grep -q '^# *zh_CN.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
    $SUDO sed -i 's/^# *zh_CN.UTF-8 UTF-8/zh_CN.UTF-8 UTF-8/' /etc/locale.gen
  elif ! grep -q '^zh_CN.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
    echo 'zh_CN.UTF-8 UTF-8' | $SUDO tee -a /etc/locale.gen >/dev/null
  fi
  $SUDO locale-gen
fi
