#!/usr/bin/env bash
# patrold user add|passwd|disable|list (server/users.c, docs/console.md):
# the password comes from stdin, never argv; refusals change nothing; the
# stored hash is Argon2id with its own salt; list never shows a hash.
set -u
PATROLD=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LANG=C LC_ALL=C
D=$T/data
fail() { echo "FAIL: $*"; exit 1; }
"$PATROLD" --data "$D" init >/dev/null 2>&1 || fail init
u() { "$PATROLD" --data "$D" user "$@"; }
hashes() { sqlite3 "$D/patrold.db" 'SELECT name, pwhash, disabled_ms FROM web_users ORDER BY id'; }

echo 'correct horse' | u add --name admin --role admin 2>$T/err || fail "add admin: $(cat $T/err)"
grep -q "account 1 'admin' added (admin)" $T/err || fail "add message: $(cat $T/err)"
echo 'correct horse' | u add --name sup --role supervisor 2>/dev/null || fail "add supervisor"
echo 'rev password' | u add --name rev1 --role reviewer --department D01 2>/dev/null || fail "add reviewer"
before=$(hashes)

# Refusals: each exits 1 with its reason, and the accounts are as before.
refuse() { # expected-text command...
  local want=$1; shift
  if "$@" >$T/out 2>$T/err; then fail "accepted: $*"; fi
  grep -qF -- "$want" $T/err || fail "'$*' said '$(cat $T/err)', not '$want'"
  [ "$(hashes)" = "$before" ] || fail "'$*' changed the accounts"
}
refuse 'never an argument' u add --name x --role admin --password secret123
refuse 'at least 8 characters' bash -c "echo short | '$PATROLD' --data '$D' user add --name x --role admin"
refuse 'no password on standard input' bash -c "'$PATROLD' --data '$D' user add --name x --role admin </dev/null"
refuse 'no password on standard input' bash -c "head -c 300 /dev/zero | tr '\\0' a | '$PATROLD' --data '$D' user add --name x --role admin"
refuse "named 'admin' exists" bash -c "echo 'correct horse' | '$PATROLD' --data '$D' user add --name admin --role supervisor"
refuse 'must be admin, supervisor or reviewer' bash -c "echo 'correct horse' | '$PATROLD' --data '$D' user add --name x --role root"
refuse '--department is required' bash -c "echo 'correct horse' | '$PATROLD' --data '$D' user add --name x --role reviewer"
refuse 'sees the whole county' bash -c "echo 'correct horse' | '$PATROLD' --data '$D' user add --name x --role supervisor --department D01"
refuse 'account name' bash -c "echo 'correct horse' | '$PATROLD' --data '$D' user add --name '../x' --role admin"
refuse 'department code' bash -c "echo 'correct horse' | '$PATROLD' --data '$D' user add --name x --role reviewer --department 'a/b'"
refuse "no account named 'ghost'" bash -c "echo 'correct horse' | '$PATROLD' --data '$D' user passwd --name ghost"
refuse "no account named 'ghost'" u disable --name ghost
refuse 'usage' u passwd admin
refuse 'usage' u frobnicate

# Argon2id, one salt per hash: the same password gives two hashes.
hashes | grep -c '|\$argon2id\$v=19\$m=19456,t=2,p=1\$' | grep -qx 3 || fail "not Argon2id: $(hashes)"
h1=$(sqlite3 "$D/patrold.db" "SELECT pwhash FROM web_users WHERE name='admin'")
h2=$(sqlite3 "$D/patrold.db" "SELECT pwhash FROM web_users WHERE name='sup'")
[ "$h1" != "$h2" ] || fail "same salt for two accounts"

# passwd replaces the hash; disable keeps the row with its time.
echo 'new password' | u passwd --name rev1 2>/dev/null || fail passwd
[ "$(sqlite3 "$D/patrold.db" "SELECT pwhash FROM web_users WHERE name='rev1'")" != \
  "$(echo "$before" | awk -F'|' '$1=="rev1"{print $2}')" ] || fail "passwd kept the hash"
u disable --name rev1 2>/dev/null || fail disable
u list >$T/list || fail list
grep -q 'rev1 .*reviewer .*D01 .*disabled' $T/list || fail "list: $(cat $T/list)"
grep -q 'admin .*admin .*enabled' $T/list || fail "list: $(cat $T/list)"
grep -q argon2 $T/list && fail "list shows a hash"
u list --json >$T/list.json || fail "list --json"
python3 - "$T/list.json" <<'PY' || fail "list --json: $(cat $T/list.json)"
import json, sys
a = json.load(open(sys.argv[1]))
by = {x["name"]: x for x in a}
assert sorted(by) == ["admin", "rev1", "sup"], by
assert by["rev1"]["disabled"] and by["rev1"]["disabled_ms"] > 0
assert by["rev1"]["department"] == "D01" and by["sup"]["department"] == ""
assert not by["admin"]["disabled"]
assert all("pwhash" not in x and "argon2" not in json.dumps(x) for x in a)
PY
# The table refuses deletion: a name in the log always names one account.
sqlite3 "$D/patrold.db" "DELETE FROM web_users WHERE name='rev1'" 2>/dev/null && fail "row deleted"
echo "ok: user add/passwd/disable/list"
