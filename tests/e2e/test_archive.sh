#!/bin/bash
# test_archive.sh -- `patrold audit export` and `audit verify-archive`
# (issue 7 item 7): the 归档 of one matter as a tar that checks itself.
#
# A realistic matter through a real patrold: consent, a photo, an
# interview whose minutes are marked personal privacy, its recording, a
# warning, a 柔性执法意见书 issued with a document number and delivered, a
# correction of it, a summary holding <script>, quotes and ../. Exported,
# it verifies with patrold AND with stock tools (tar, sha256sum, openssl);
# the documents hold every field of the seed; the evidence files are the
# originals byte for byte; confidential fields are redacted (and the raw
# signed entries holding them left out, as the catalogue says) unless
# --reveal; every HTML escapes its text and holds no script. Then forged
# (a file edited), truncated, reordered, extra-file, another-key and
# path-trick archives are each refused naming the problem; an unknown
# matter is refused; the data directory is unchanged throughout.
#
# usage: test_archive.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

INSP="--inspector zhangwei --inspector liuna"
DUE=$(TZ=Asia/Shanghai date -d '+10 days' +%F)
TODAY=$(TZ=Asia/Shanghai date +%F)
MINUTES="当事人承认占道经营，住址人民路18号，电话13800000000"
EVIL='店外摆卖 <script>alert("x")</script> '"'"'q'"'"' ../x'
"$PY" "$E2E_DIR/../../scripts/make-media.py" "$WORK/media" >/dev/null 2>&1 ||
    { fail "make-media.py"; finish; }

section "a matter recorded and synced"
start_server server
A=$WORK/terminal-a
new_terminal "$A" "城管执法终端-07" "$(add_device "城管执法终端-07")" || finish
pt_ok "inspector add zhangwei" "$A" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
pt_ok "inspector add liuna" "$A" inspector add --id liuna --name 刘娜 --cert-no 32132300117
pt_ok "subject" "$A" subject add --credit-code 91350100M000100Y43 --name 泗阳县某某便利店
S=$LAST
# shellcheck disable=SC2086
pt_ok "matter open (summary with <script>, quotes, ../)" "$A" matter open --subject "$S" $INSP \
    --domain urban_management --summary "$EVIL"
M=$LAST
pt_ok "consent" "$A" consent --matter "$M" --accept --form oral
pt_ok "photo" "$A" evidence add --matter "$M" --kind photo --caption 店外摆卖现场 \
    "$WORK/media/storefront.png"
pt_ok "interview, minutes marked personal privacy" "$A" act interview --matter "$M" \
    --mode individual --reason complaints --participants "王某；张伟" --departments "县城管局" \
    --content "就占道经营约谈" --minutes "$MINUTES" --confidential minutes=privacy
INTERVIEW=$(journal_head "$A")
pt_ok "recording" "$A" evidence add --matter "$M" --kind audio --caption 约谈录音 \
    "$WORK/media/interview.wav"
pt_ok "warning" "$A" act warning --matter "$M" --minor --no-harm --no-intent --correctable \
    --content "告诫不得占道经营" --correction "将商品移回店内" --deadline "$DUE"
pt_ok "document issue" "$A" document issue --matter "$M" --purpose "督促规范经营" \
    --content "请落实门前三包责任" --time "$TODAY 至 $DUE" --personnel "张伟、刘娜" \
    --doc-no "泗城管柔〔2026〕17号"
DOC=$LAST
DOC_SEQ=$(journal_head "$A")
pt_ok "document deliver" "$A" document deliver --document "$DOC" --method in_person \
    --recipient "王某（店主）"
pt_ok "correction of the document's content" "$A" correct --entry "$DOC_SEQ" --field content \
    --value "请落实门前三包责任，不得超出门窗外墙摆卖" --reason "内容漏记一句" --inspector zhangwei
sync_ok "sync" "$A" || finish
DEV=$(device_num "城管执法终端-07")
check "the server holds both evidence files" \
    test "$(sq "SELECT count(*) FROM evidence WHERE complete_ms > 0")" = 2

# data_state: what no audit command may change: everything but the server
# log, to which each export adds its leaf (checked below).
data_state() {
    sq .dump | grep -v -e '^INSERT INTO log_leaves' -e '^INSERT INTO log_nodes'
    (cd "$DATA" && find . -printf '%P %s %m\n' | grep -v -e '-wal ' -e '-shm ' -e '^patrold.db ' |
        sort)
}
data_state >"$WORK/state.before"

section "export, and verify with patrold"
AR=$WORK/matter.tar
"$PATROLD" --data "$DATA" audit export --matter "$M" --out "$AR" >"$WORK/export.out" 2>"$WORK/export.err"
RC=$?
check "audit export exits 0 (got $RC)" test "$RC" -eq 0
[ "$RC" -eq 0 ] || { show "$WORK/export.err"; finish; }
"$PATROLD" audit verify-archive "$AR" >"$WORK/va.out" 2>"$WORK/va.err"
RC=$?
check "verify-archive (no data directory) exits 0 (got $RC)" test "$RC" -eq 0
check "verify-archive says OK and counts the entries it verified" \
    grep -Eq "^archive OK: .* [1-9][0-9]* entries verified with their device keys" "$WORK/va.out"
[ "$RC" -eq 0 ] || { show "$WORK/va.out"; show "$WORK/va.err"; }
"$PATROLD" audit verify-archive "$AR" --key "$WORK/x/server-key.pem" >/dev/null 2>&1
RC=$?
check "verify-archive --key with an unreadable key is refused (exit $RC)" test "$RC" -ne 0

section "verify with stock tools only"
X=$WORK/x
mkdir -p "$X"
check "tar xf" tar xf "$AR" -C "$X"
check "sha256sum -c SHA256SUMS" sh -c "cd '$X' && sha256sum --quiet -c SHA256SUMS"
check "openssl dgst -sha256 -verify server-key.pem -signature SHA256SUMS.sig SHA256SUMS" \
    sh -c "cd '$X' && openssl dgst -sha256 -verify server-key.pem -signature SHA256SUMS.sig SHA256SUMS | grep -q 'Verified OK'"
FPR=$(openssl pkey -pubin -in "$X/server-key.pem" -outform DER 2>/dev/null | sha256sum | cut -c 1-64)
check "verify-archive prints the server key's fingerprint as openssl computes it" \
    grep -q "signed by server key $FPR" "$WORK/va.out"
check "the server key in the archive is the server's receipt key" \
    test "$(openssl pkey -in "$DATA/receipt.key" -pubout 2>/dev/null)" = "$(cat "$X/server-key.pem")"
check "every file but the manifest and its signature is in SHA256SUMS" \
    test "$(cd "$X" && find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig -printf '%P\n' | sort)" = \
    "$(cut -c 67- "$X/SHA256SUMS" | sort)"
"$PY" - "$X" >"$WORK/entries.check" 2>&1 <<'EOF'
# Each signed entry with its device key, by openssl itself: the r||s
# signature re-encoded as DER, over the entry bytes' SHA-256.
import glob, os, subprocess, sys
d = sys.argv[1]
n = 0
for e in sorted(glob.glob(os.path.join(d, "entries", "*.entry"))):
    dev = os.path.basename(e).split("-")[0]
    sig = open(e[:-6] + ".sig", "rb").read()
    def der_int(b):
        b = b.lstrip(b"\0") or b"\0"
        if b[0] & 0x80: b = b"\0" + b
        return b"\x02" + bytes([len(b)]) + b
    body = der_int(sig[:32]) + der_int(sig[32:])
    open(e + ".der", "wb").write(b"\x30" + bytes([len(body)]) + body)
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify",
                        os.path.join(d, "keys", "device-%s.pem" % dev), "-signature", e + ".der", e],
                       capture_output=True, text=True)
    os.remove(e + ".der")
    if "Verified OK" not in r.stdout:
        print("FAILED", e, r.stdout, r.stderr); sys.exit(1)
    n += 1
print("verified", n)
EOF
RC=$?
check "every signed entry verifies with openssl and its device key ($(cat "$WORK/entries.check"))" test "$RC" -eq 0

section "what the archive holds"
jfile_checks "$X/catalogue.json" \
    "catalogue.json: the matter, every file with what it is" \
    "j['matter'] == '$M' and j['format'] == 'patrol-archive-1' and all(i['what'] for i in j['items'])" \
    "catalogue.json lists every file of the archive but itself, the manifest and its signature" \
    "sorted(i['path'] for i in j['items'] if i['path']) == sorted(l[66:] for l in open('$X/SHA256SUMS').read().splitlines() if l[66:] not in ('catalogue.json', 'catalogue.html'))" \
    "redacted export: says so, and lists the interview's raw entry as left out" \
    "j['revealed'] is False and [(o['device'], o['seq']) for o in j['raw_entries_omitted']] == [($DEV, $INTERVIEW)]"
DOCHTML=$X/documents/$DOC.html
check "the 柔性执法意见书 is rendered: documents/$DOC.html" test -s "$DOCHTML"
for want in 督促规范经营 请落实门前三包责任 "$TODAY 至 $DUE" 泗阳县某某便利店 91350100M000100Y43 "张伟、刘娜" \
    32132300100 "泗城管柔〔2026〕17号" "王某（店主）" in_person 内容漏记一句 不得超出门窗外墙摆卖; do
    check "the document shows '$want'" grep -qF "$want" "$DOCHTML"
done
check "catalogue.html links every item" test "$(grep -c '<a href=' "$X/catalogue.html")" -ge 10
check "the photo is the original, byte for byte" \
    cmp -s "$WORK/media/storefront.png" "$X/evidence/$(sha256sum "$WORK/media/storefront.png" | cut -c 1-64).png"
check "the recording is the original, byte for byte" \
    cmp -s "$WORK/media/interview.wav" "$X/evidence/$(sha256sum "$WORK/media/interview.wav" | cut -c 1-64).wav"
check "the device key and the device CA certificate are included" \
    sh -c "grep -q 'BEGIN PUBLIC KEY' '$X/keys/device-$DEV.pem' && cmp -s '$DATA/ca.crt' '$X/keys/device-ca.crt'"
check "the server's signed receipt is included" test -s "$X/receipts/device-$DEV.receipt"
"$PATROLD" audit verify-archive "$AR" --json >"$WORK/va.json" 2>/dev/null
jfile_check "verify-archive checks the receipt and the log checkpoint's inclusion proof of the device's head" \
    "$WORK/va.json" "j['ok'] and j['receipts_verified'] == 1 and j['log_inclusion_proofs'] == 1"
"$PY" - "$X/receipts/device-$DEV.checkpoint" "$WORK/cp" <<'EOF'
import base64, sys
text, sigs = open(sys.argv[1]).read().split("\n\n", 1)
b = base64.b64decode(sigs.strip().split("\n")[0].split(" ")[-1])
open(sys.argv[2] + ".txt", "w").write(text + "\n")
open(sys.argv[2] + ".sig", "wb").write(b[4:])
EOF
check "the log checkpoint in the archive verifies with openssl and server-key.pem" \
    sh -c "openssl dgst -sha256 -verify '$X/server-key.pem' -signature '$WORK/cp.sig' '$WORK/cp.txt' | grep -q 'Verified OK'"
check "the minutes (personal privacy) appear nowhere in the redacted archive" \
    sh -c "! grep -rqF '13800000000' '$X'"
check "the interview's raw signed entry is left out" test ! -e "$X/entries/$DEV-$INTERVIEW.entry"
check "its JSON is there, redacted" grep -q '已隐去' "$X/entries/$DEV-$INTERVIEW.json"
check "no HTML holds a script element" sh -c "! grep -rqi '<script' '$X'/*.html '$X'/documents"
check "the summary's <script>, quotes and ../ are escaped as text" \
    grep -qF '店外摆卖 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &#39;q&#39; ../x' "$X/documents/record.html"

section "--reveal: an export for an authorised role"
AR2=$WORK/matter-revealed.tar
"$PATROLD" --data "$DATA" audit export --matter "$M" --out "$AR2" --reveal 2>"$WORK/export2.err"
RC=$?
check "export --reveal exits 0 (got $RC)" test "$RC" -eq 0
"$PATROLD" audit verify-archive "$AR2" >/dev/null 2>&1
RC=$?
check "the revealed archive verifies (exit $RC)" test "$RC" -eq 0
mkdir -p "$WORK/x2" && tar xf "$AR2" -C "$WORK/x2"
check "revealed: the minutes are shown" grep -qF "$MINUTES" "$WORK/x2/documents/record.html"
check "revealed: the interview's raw signed entry is included" test -s "$WORK/x2/entries/$DEV-$INTERVIEW.entry"
jfile_check "revealed: the catalogue says so and omits nothing" "$WORK/x2/catalogue.json" \
    "j['revealed'] is True and j['raw_entries_omitted'] == []"

section "bad archives are refused, naming the problem"
# mktar NAME PYTHON: an archive built from the good one by PYTHON (m: list
# of [TarInfo, bytes]; add(name, data[, type]) appends a member).
mktar() {
    "$PY" - "$AR" "$WORK/$1.tar" "$2" <<'EOF' || fail "building $1.tar"
import io, sys, tarfile
src, dst, code = sys.argv[1:4]
m = []
with tarfile.open(src) as t:
    for ti in t.getmembers():
        m.append([ti, t.extractfile(ti).read()])
def get(name):
    return [x for x in m if x[0].name == name][0]
def add(name, data=b"x", typ=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name); ti.size = len(data) if typ == tarfile.REGTYPE else 0
    ti.type = typ; ti.linkname = link
    m.append([ti, data])
def resign(key):
    # What only the holder of the server key can do: a manifest of the
    # members as they now are, signed again (so the deeper checks speak).
    import hashlib, subprocess
    sums = "".join("%s  %s\n" % (hashlib.sha256(d).hexdigest(), ti.name) for ti, d in m
                   if ti.name not in ("SHA256SUMS", "SHA256SUMS.sig")).encode()
    get("SHA256SUMS")[1] = sums
    get("SHA256SUMS.sig")[1] = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                                              input=sums, capture_output=True, check=True).stdout
exec(code)
with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
    for ti, data in m:
        if ti.type == tarfile.REGTYPE:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        else:
            t.addfile(ti)
EOF
}
# refused NAME CODE TEXT: verify-archive of NAME.tar exits 1 and its
# --json names CODE, its text TEXT.
refused() {
    "$PATROLD" audit verify-archive "$WORK/$1.tar" --json >"$WORK/$1.json" 2>"$WORK/$1.err"
    RC=$?
    check "$1: refused (exit $RC)" test "$RC" -eq 1
    local text=${3:-}
    jfile_check "$1: names $2${text:+ ($text)}" "$WORK/$1.json" \
        "j['ok'] is False and any(p['code'] == '$2' and '$text' in p['detail'] for p in j['problems'])"
    check "$1: stderr says the archive is refused" grep -q "is refused" "$WORK/$1.err"
}

mktar forged "x = get('documents/record.html'); x[1] = x[1].replace('店外摆卖'.encode(), '店内经营'.encode())"
refused forged hash_mismatch documents/record.html
mkdir -p "$WORK/xf" && tar xf "$WORK/forged.tar" -C "$WORK/xf"
check "forged: sha256sum -c fails too" sh -c "cd '$WORK/xf' && ! sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1"

mktar forged-evidence "x = [y for y in m if y[0].name.startswith('evidence/')][0]; x[1] = x[1][:-1] + bytes([x[1][-1] ^ 1])"
refused forged-evidence hash_mismatch evidence/

head -c $(($(stat -c %s "$AR") / 2)) "$AR" >"$WORK/truncated.tar"
refused truncated truncated

mktar extra "add('notes.txt', b'added later')"
refused extra not_in_manifest notes.txt

mktar reordered "a = get('entries/$DEV-2.entry'); b = get('entries/$DEV-3.entry'); a[1], b[1] = b[1], a[1]"
refused reordered hash_mismatch "entries/$DEV-2.entry"

mktar manifest-reordered "x = get('SHA256SUMS'); l = x[1].decode().splitlines(True); l[0], l[1] = l[1], l[0]; x[1] = ''.join(l).encode()"
refused manifest-reordered bad_signature

mktar members-reordered "m.reverse()"
"$PATROLD" audit verify-archive "$WORK/members-reordered.tar" >/dev/null 2>&1
RC=$?
check "the same files in another member order still verify: order is not part of the proof (exit $RC)" test "$RC" -eq 0

openssl ecparam -genkey -name prime256v1 -noout -out "$WORK/other.key" 2>/dev/null
openssl pkey -in "$WORK/other.key" -pubout -out "$WORK/other.pem" 2>/dev/null
openssl dgst -sha256 -sign "$WORK/other.key" -out "$WORK/other.sig" "$X/SHA256SUMS"
mktar other-key "get('SHA256SUMS.sig')[1] = open('$WORK/other.sig', 'rb').read()"
refused other-key bad_signature
mktar other-key-pem "get('SHA256SUMS.sig')[1] = open('$WORK/other.sig', 'rb').read(); get('server-key.pem')[1] = open('$WORK/other.pem', 'rb').read()"
"$PATROLD" audit verify-archive "$WORK/other-key-pem.tar" --key "$X/server-key.pem" --json \
    >"$WORK/other-key-pem.json" 2>"$WORK/other-key-pem.err"
RC=$?
check "key replaced too: refused against the server's key (--key) (exit $RC)" test "$RC" -eq 1
jfile_check "key replaced too: names other_key" "$WORK/other-key-pem.json" \
    "any(p['code'] == 'other_key' for p in j['problems'])"
"$PATROLD" audit verify-archive "$AR" --key "$X/server-key.pem" >/dev/null 2>&1
RC=$?
check "the good archive passes with --key the server's key (exit $RC)" test "$RC" -eq 0

# Deeper checks, on archives whose manifest the server key signed again:
# an entry's signature, entries renamed into each other's place, a receipt.
mktar resigned-sig "a = get('entries/$DEV-2.sig'); b = get('entries/$DEV-3.sig'); a[1], b[1] = b[1], a[1]; resign('$DATA/receipt.key')"
refused resigned-sig bad_entry "entries/$DEV-2.entry"
mktar resigned-swap "a = get('entries/$DEV-2.entry'); b = get('entries/$DEV-3.entry'); a[1], b[1] = b[1], a[1]; a = get('entries/$DEV-2.sig'); b = get('entries/$DEV-3.sig'); a[1], b[1] = b[1], a[1]; resign('$DATA/receipt.key')"
refused resigned-swap seq_mismatch "entries/$DEV-2.entry"
mktar resigned-receipt "get('receipts/device-$DEV.receipt')[1] = b'not a receipt'; resign('$DATA/receipt.key')"
refused resigned-receipt bad_receipt "receipts/device-$DEV.receipt"

mktar resigned-log "x = get('receipts/device-$DEV.ack'); d = bytearray(x[1]); o = d.find(b'patrold/'); r = d.find(b'\\n', d.find(b'\\n', o) + 1) + 1; d[r] = ord('B') if d[r] != ord('B') else ord('C'); x[1] = bytes(d); resign('$DATA/receipt.key')"
refused resigned-log bad_log_proof "receipts/device-$DEV.ack"

mktar dotdot "add('../x')"
refused dotdot bad_path ../x
mktar inner-dotdot "add('documents/../../x')"
refused inner-dotdot bad_path
mktar absolute "add('/tmp/patrol-evil')"
refused absolute bad_path "absolute path"
mktar symlink "add('evil-link', b'', tarfile.SYMTYPE, '/etc/passwd')"
refused symlink not_a_file evil-link
mktar duplicate "add('catalogue.json', b'{}')"
refused duplicate duplicate catalogue.json
mktar no-sig "m[:] = [x for x in m if x[0].name != 'SHA256SUMS.sig']"
refused no-sig missing SHA256SUMS.sig
printf 'not a tar file at all' >"$WORK/garbage.tar"
refused garbage unreadable "Unrecognized archive format"
check "verify-archive of a missing file exits non-zero" \
    sh -c "! '$PATROLD' audit verify-archive '$WORK/none.tar' >/dev/null 2>&1"

section "bad export requests; the data directory is unchanged"
"$PATROLD" --data "$DATA" audit export --matter M-deadbeef-9 --out "$WORK/unknown.tar" 2>"$WORK/unknown.err"
RC=$?
check "an unknown matter is refused (exit $RC)" test "$RC" -eq 1
check "the refusal names the matter" grep -q "unknown matter 'M-deadbeef-9'" "$WORK/unknown.err"
check "no file is left behind" sh -c "! ls '$WORK'/unknown.tar* 2>/dev/null"
"$PATROLD" --data "$DATA" audit export --matter "$M" --out "$AR" 2>"$WORK/exists.err"
RC=$?
check "an existing --out is never overwritten (exit $RC)" \
    sh -c "test $RC -eq 1 && grep -q 'exists' '$WORK/exists.err'"
"$PATROLD" --data "$DATA" audit export --matter "bad id!" --out "$WORK/bad.tar" 2>/dev/null
RC=$?
check "a malformed matter id is refused (exit $RC)" test "$RC" -ne 0
"$PATROLD" --data "$DATA" audit export --out "$WORK/bad.tar" 2>/dev/null
RC=$?
check "export without --matter is a usage error (exit $RC)" test "$RC" -eq 2
section "each export is a leaf of the server log; the refused ones are not"
"$PY" - "$DATA/patrold.db" "$(id -un)" "$WORK/x/SHA256SUMS" "$WORK/x2/SHA256SUMS" >"$WORK/exports.txt" <<'EOF'
import hashlib, sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
sums = {hashlib.sha256(open(p, 'rb').read()).hexdigest(): n for n, p in (('sums1', sys.argv[3]), ('sums2', sys.argv[4]))}
for (d,) in db.execute("SELECT data FROM log_leaves ORDER BY idx"):
    t = bytes(d).decode()
    if t.startswith('patrol-export\n'):
        f = t.split('\n')
        print(f[1], f[2], sums.get(f[3], 'sha=' + f[3]), 'user-ok' if f[4] == sys.argv[2] else 'user=' + f[4], 'time-ok' if f[5].isdigit() else 'time=' + f[5])
EOF
check "two exports, two leaves: the matter, redacted or revealed, the SHA-256 of the archive's SHA256SUMS ($(tr '\n' '|' <"$WORK/exports.txt"))" \
    test "$(tr '\n' '|' <"$WORK/exports.txt")" = "$M redacted sums1 user-ok time-ok|$M revealed sums2 user-ok time-ok|"
section "an export made for the console's account names it (--web-account)"
nleaves() { sq "SELECT count(*) FROM log_leaves"; }
N0=$(nleaves)
"$PATROLD" --data "$DATA" audit export --matter "$M" --out "$WORK/web.tar" --web-account clerk_1 \
    2>"$WORK/web.err"
RC=$?
check "export --web-account clerk_1 (exit $RC)" test "$RC" -eq 0 -a -s "$WORK/web.tar"
LAST=$("$PY" - "$DATA/patrold.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
(d,) = db.execute("SELECT data FROM log_leaves ORDER BY idx DESC LIMIT 1").fetchone()
f = bytes(d).decode().split('\n')
print(f[0], f[1], f[2], f[4])
EOF
)
check "one leaf more ($(nleaves), was $N0): patrol-export of $M, redacted, user web:clerk_1 ($LAST)" \
    test "$(nleaves):$LAST" = "$((N0 + 1)):patrol-export $M redacted web:clerk_1"
"$PATROLD" --data "$DATA" audit export --matter "$M" --out "$WORK/web2.tar" --web-account 'a b' \
    2>"$WORK/web2.err"
RC=$?
check "a --web-account that is not a name is a usage error naming it, no archive, no leaf (exit $RC)" \
    sh -c "test $RC -eq 2 && grep -q 'web-account' '$WORK/web2.err' && test ! -e '$WORK/web2.tar' && test \"\$1\" = $((N0 + 1))" _ "$(nleaves)"

data_state >"$WORK/state.after"
check "the data directory is unchanged (sqlite3 .dump and files)" cmp -s "$WORK/state.before" "$WORK/state.after"
cmp -s "$WORK/state.before" "$WORK/state.after" || diff "$WORK/state.before" "$WORK/state.after" | head -5

stop_server_checked
finish
