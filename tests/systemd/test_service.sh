#!/bin/bash
# test_service.sh -- the systemd unit server/patrold.service is hardened
# and valid:
# - `systemd-analyze security --offline=true` rates it 2.0 or better (OK);
# - `systemd-analyze verify` (ExecStart pointed at the built patrold)
#   accepts it without a single warning: a misspelt directive or an
#   unknown system-call group is only warned about, and would silently
#   drop the protection it named;
# - its data directory is the one it may write: ExecStart's --data is
#   StateDirectory's /var/lib/NAME and is in ReadWritePaths.
# Exit 77 (ctest SKIP) without systemd-analyze.
#
# usage: test_service.sh PATH/TO/patrold.service PATH/TO/patrold
set -u
unit=$1 patrold=$2
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze (package systemd)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }

systemd-analyze security --offline=true "$unit" >"$work/sec" 2>&1
level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$work/sec")
if [ -z "$level" ]; then
    bad "systemd-analyze security printed no exposure level"
    head -n 20 "$work/sec"
elif awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
    ok "exposure level $level (2.0 or better)"
else
    bad "exposure level $level, above 2.0"
    grep '✗' "$work/sec" | head -n 30
fi

sed "s|^ExecStart=[^ ]*|ExecStart=$patrold|" "$unit" >"$work/patrold.service"
systemd-analyze verify "$work/patrold.service" >"$work/verify" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q . "$work/verify"; then
    ok "systemd-analyze verify: no warning"
else
    bad "systemd-analyze verify (exit $rc):"
    sed 's/^/    /' "$work/verify" | head -n 20
fi

data=$(sed -n 's/^ExecStart=.* --data \([^ ]*\) .*/\1/p' "$unit")
state=$(sed -n 's/^StateDirectory=//p' "$unit")
if [ -n "$data" ] && [ "$data" = "/var/lib/$state" ] &&
    grep -q "^ReadWritePaths=.*$data\( \|$\)" "$unit"; then
    ok "the data directory $data is the state directory and writable"
else
    bad "ExecStart's --data '$data', StateDirectory '$state' and ReadWritePaths disagree"
fi
echo "test_service: $fails failed"
[ "$fails" -eq 0 ]
