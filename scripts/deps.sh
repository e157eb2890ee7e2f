#!/usr/bin/env bash
# Install what patrol needs to build, test and run on Debian 12.
# Idempotent; needs root (or sudo).
set -euo pipefail
PKGS=(build-essential cmake pkg-config python3 sqlite3 clang
      libsqlite3-dev libcurl4-openssl-dev libmbedtls-dev liblz4-dev
      libprotobuf-c-dev protobuf-c-compiler libcmocka-dev
      libhttp-parser-dev libcjson-dev curl lz4)
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
