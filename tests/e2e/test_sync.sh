#!/bin/bash
# test_sync.sh -- enrol, record a realistic patrol with real photo and audio
# files, sync it to a real patrold over TLS, and compare what the server
# holds with the terminal's journal byte for byte (entries, hashes,
# signatures, evidence files). Then: a second sync sends only what is new;
# enrolment tokens that must be refused (used twice, expired, garbage,
# unknown, pinned to another server) and a revoked device. After every
# refusal the server's stored state is unchanged and it still serves
# another terminal.
#
# usage: test_sync.sh PATH/TO/patrold PATH/TO/patrol PATH/TO/e2e_wire
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh" "$@"
# same_nonempty A B: A holds something and B is byte-equal to it (two
# empty files, e.g. from queries that failed, are not "the same").
same_nonempty() { [ -s "$1" ] && cmp -s "$1" "$2"; }

MEDIA=$WORK/media
"$PY" "$E2E_DIR/../../scripts/make-media.py" "$MEDIA" >/dev/null ||
    { fail "scripts/make-media.py"; finish; }

section "server and terminals"
start_server server
TOKEN_A=$(add_device "城管执法终端-07")
TOKEN_B=$(add_device "市场监管终端-02")
TOKEN_C=$(add_device "城管执法终端-09")
check "the server's data directory is its owner's only (mode $(stat -c %a "$DATA"))" \
    test "$(stat -c %a "$DATA")" = 700
check "the server's database is its owner's only (mode $(stat -c %a "$DATA/patrold.db"))" \
    test "$(stat -c %a "$DATA/patrold.db")" = 600
check "device add prints a PT1 token" grep -Eq '^PT1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' \
    <<<"$TOKEN_A"
A=$WORK/terminal-a
B=$WORK/terminal-b
C=$WORK/terminal-c
new_terminal "$A" "城管执法终端-07" "$TOKEN_A" || finish
new_terminal "$B" "市场监管终端-02" "$TOKEN_B" || finish
new_terminal "$C" "城管执法终端-09" "$TOKEN_C" || finish
check "the enrolled terminal got its client certificate from the device CA" \
    test -n "$(sqlite3 "$A/patrol.db" "SELECT client_cert FROM sync_server" | grep 'BEGIN CERTIFICATE')"

# serves_others DESC: terminal B records one entry and syncs it: the server
# still serves another terminal after whatever happened before.
N_OTHER=0
serves_others() {
    N_OTHER=$((N_OTHER + 1))
    pt "$B" inspector add --id "other-$N_OTHER" --name "王$N_OTHER" --cert-no "3213230090$N_OTHER"
    "$PATROL" --store "$B" sync --json >"$WORK/other.json" 2>"$ERR"
    RC=$?
    if [ "$RC" -eq 0 ] && [ "$(jget "$WORK/other.json" 'j["entries_accepted"]')" -ge 1 ]; then
        pass "$1: the server still serves another terminal"
    else
        fail "$1: another terminal could not sync afterwards (exit $RC)"
        show "$ERR"
        show "$WORK/other.json"
    fi
}

# Dates the record checks against today (Beijing date): a 告诫's deadline and
# a revisit's due date may not be in the past.
day() { TZ=Asia/Shanghai date -d "$1" +%F; }
TODAY=$(day today)
DUE=$(day '+10 days')

section "a patrol, recorded offline on terminal A"
pt_ok "inspector add zhangwei" "$A" inspector add --id zhangwei --name 张伟 --cert-no 32132300100
pt_ok "inspector add liuna" "$A" inspector add --id liuna --name 刘娜 --cert-no 32132300117
pt_ok "subject add (shop)" "$A" subject add --credit-code 91350100M000100Y43 --name 泗阳县某某便利店 \
    --address 泗阳县众兴镇人民路18号 --legal-rep 王某
SHOP=$LAST
pt_ok "matter open" "$A" matter open --subject "$SHOP" --inspector zhangwei --inspector liuna \
    --domain urban_management --list-item CG-NP-003 --summary "店外摆卖占用人行道约3平方米，首次发现" \
    --location 33.7213,118.6942,8
M1=$LAST
pt_ok "consent" "$A" consent --matter "$M1" --accept --form oral
pt_ok "evidence add photo (PNG)" "$A" evidence add --matter "$M1" --kind photo --caption 店外摆卖现场 \
    "$MEDIA/storefront.png"
pt_ok "act reminder" "$A" act reminder --matter "$M1" --form oral --source inspection \
    --rules "《城市市容和环境卫生管理条例》相关规定" --content "向店主说明占道经营的规定及后果"
pt_ok "leaflet" "$A" leaflet --matter "$M1" --title 门前三包责任告知书 --code LF-001 --copies 1
pt_ok "act warning" "$A" act warning --matter "$M1" --minor --no-harm --no-intent --correctable --corrected \
    --content "告诫店主不得再次占道经营" --correction "店主当场将商品搬回店内，保持门前整洁" --deadline "$DUE"
pt_ok "evidence add photo after correction" "$A" evidence add --matter "$M1" --kind photo \
    --caption 整改后 "$MEDIA/corrected.png"
pt_ok "document issue" "$A" document issue --matter "$M1" --purpose 督促规范经营 \
    --content "请严格落实门前三包责任" --time "$TODAY 至 $DUE" --personnel "张伟、刘娜"
DOC=$LAST
pt_ok "document deliver" "$A" document deliver --document "$DOC" --method in_person --recipient 王某
pt_ok "act revisit" "$A" act revisit --matter "$M1" --follows inspection --decision "$DOC" \
    --due "$DUE" --content "回访检查整改是否保持"
R1=$LAST
pt_ok "subject add (person)" "$A" subject add --id-number 11010519491231002X --name 李某
PERSON=$LAST
# SY-CGJ holds urban_management only: the person's matter is one of its own.
pt_ok "matter open (on application)" "$A" matter open --subject "$PERSON" --inspector liuna \
    --domain urban_management --list-item CG-NP-001 --summary 在路灯杆上擅自悬挂广告横幅，首次被发现 \
    --on-application
M2=$LAST
pt_ok "consent (matter 2)" "$A" consent --matter "$M2" --accept
pt_ok "act interview (minutes confidential)" "$A" act interview --matter "$M2" --mode individual \
    --reason complaints --participants "李某；刘娜" --departments "县城管局" \
    --content "就多次投诉的广告横幅问题约谈" --minutes "当事人承认擅自悬挂，承诺当日拆除" \
    --confidential minutes=privacy
pt_ok "evidence add audio (WAV)" "$A" evidence add --matter "$M2" --kind audio --caption 约谈录音 \
    "$MEDIA/interview.wav"
pt_ok "act guidance" "$A" act guidance --matter "$M2" --topic 户外广告设置 --content 指导依规申请设置户外广告 \
    --materials 户外广告设置规范指引
pt_ok "matter close" "$A" matter close --matter "$M2" --completed
HEAD_A=$(journal_head "$A")
note "terminal A holds $HEAD_A entries"

pt_ok "status --json before sync" "$A" status --json
cp "$OUT" "$WORK/status0.json"
jfile_check "before sync: every entry and 3 evidence files are pending" "$WORK/status0.json" \
    "j['pending_entries'] == $HEAD_A and j['acked_seq'] == 0 and j['pending_evidence_files'] == 3"

section "first sync"
STATE0=$WORK/state0
server_state >"$STATE0"
sync_ok "patrol sync" "$A"
jfile_check "sync --json: all $HEAD_A entries accepted, 3 evidence files uploaded, nothing rejected" \
    "$WORK/sync.json" "j['ok'] and j['entries_accepted'] == $HEAD_A and j['acked_seq'] == $HEAD_A \
    and j['entries_duplicate'] == 0 and j['evidence_uploaded'] == 3 and j['evidence_pending'] == 0 \
    and j['rejected'] is None and j['receipts'] >= 1"

journal_rows "$A" >"$WORK/journal.rows"
server_rows "$A" >"$WORK/server.rows"
check "the server holds $HEAD_A entries of terminal A" test "$(wc -l <"$WORK/server.rows")" -eq "$HEAD_A"
if [ -s "$WORK/journal.rows" ] && cmp -s "$WORK/journal.rows" "$WORK/server.rows"; then
    pass "server entries = terminal journal, byte for byte (seq, hash, entry, signature)"
else
    fail "server entries differ from the terminal's journal"
    diff "$WORK/journal.rows" "$WORK/server.rows" | head -n 4 | cut -c 1-200 | sed 's/^/      | /'
fi
check "the server's entry hashes are SHA-256 of the entry bytes" "$PY" - "$DATA/patrold.db" <<'EOF'
import hashlib, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT hash, entry FROM entries").fetchall()
sys.exit(0 if rows and all(hashlib.sha256(e).digest() == h for h, e in rows) else 1)
EOF

DEV_A=$(sqlite3 "$A/patrol.db" "SELECT lower(hex(device_id)) FROM device")
HASH_A=$(sqlite3 "$A/patrol.db" "SELECT lower(hex(hash)) FROM journal WHERE seq = $HEAD_A")
srv device list --json >"$WORK/devices.json" 2>"$ERR"
jfile_check "device list --json: A active, last_seq $HEAD_A, its chain head, $HEAD_A entries, 0 evidence pending, no fork" \
    "$WORK/devices.json" "[(d['status'], d['last_seq'], d['head'], d['entries'], d['evidence_pending'], d['forks']) \
    for d in j if d['device_id'] == '$DEV_A'] == [('active', $HEAD_A, '$HASH_A', $HEAD_A, 0, 0)]"

N_EV=0
for sha in $(sqlite3 "$A/patrol.db" "SELECT sha256 FROM evidence ORDER BY sha256"); do
    N_EV=$((N_EV + 1))
    check "evidence ${sha:0:12} on the server is byte-equal to the terminal's copy" \
        same_nonempty "$A/evidence/${sha:0:2}/$sha" "$DATA/evidence/${sha:0:2}/$sha"
done
check "3 evidence files on the terminal (found $N_EV)" test "$N_EV" -eq 3
for f in storefront.png corrected.png interview.wav; do
    sha=$(sha256sum "$MEDIA/$f" | cut -d' ' -f1)
    check "the server holds $f as recorded (evidence/${sha:0:2}/$sha)" \
        same_nonempty "$MEDIA/$f" "$DATA/evidence/${sha:0:2}/$sha"
done
check "no partial upload is left on the server" \
    test -d "$DATA/evidence/partial" -a -z "$(find "$DATA/evidence/partial" -type f)"

pt_ok "status --json after sync" "$A" status --json
cp "$OUT" "$WORK/status1.json"
jfile_check "status: 0 pending, acked $HEAD_A, the last receipt covers $HEAD_A with A's chain head" \
    "$WORK/status1.json" "j['pending_entries'] == 0 and j['pending_evidence_files'] == 0 \
    and j['pending_bytes'] == 0 and j['acked_seq'] == $HEAD_A and j['last_receipt']['seq'] == $HEAD_A \
    and j['last_receipt']['head_hash'] == '$HASH_A' and j['last_sync'] is not None \
    and j['reference_version'] >= 1"

section "more entries, second sync: only the new ones are sent"
cp "$MEDIA/storefront.png" "$WORK/signboard.png"
printf 'tEXtcomment: signboard, second visit' >>"$WORK/signboard.png"
pt_ok "revisit done" "$A" revisit "done" --revisit "$R1" --outcome corrected --content "门前整洁，未再摆卖" \
    --opinion "无异议，感谢指导" --legality lawful_regular
pt_ok "evidence add a new photo" "$A" evidence add --matter "$M1" --kind photo --caption 招牌 \
    "$WORK/signboard.png"
pt_ok "matter close" "$A" matter close --matter "$M1" --completed
HEAD_A2=$(journal_head "$A")
check "three new entries ($HEAD_A -> $HEAD_A2)" test "$HEAD_A2" -eq $((HEAD_A + 3))
sync_ok "second patrol sync" "$A"
jfile_check "second sync: 3 accepted, none sent twice, 1 evidence file uploaded" "$WORK/sync.json" \
    "j['entries_accepted'] == 3 and j['entries_duplicate'] == 0 and j['acked_seq'] == $HEAD_A2 \
    and j['evidence_uploaded'] == 1"
journal_rows "$A" >"$WORK/journal.rows"
server_rows "$A" >"$WORK/server.rows"
check "after the second sync the server's entries = the journal again ($HEAD_A2 rows)" \
    same_nonempty "$WORK/journal.rows" "$WORK/server.rows"
sha=$(sha256sum "$WORK/signboard.png" | cut -d' ' -f1)
check "the new photo is on the server" same_nonempty "$WORK/signboard.png" "$DATA/evidence/${sha:0:2}/$sha"

server_state >"$WORK/state1"
sync_ok "a sync with nothing new" "$A"
jfile_check "nothing new: no entry, no batch, no upload" "$WORK/sync.json" \
    "j['entries_accepted'] == 0 and j['batches'] == 0 and j['evidence_uploaded'] == 0"
expect_unchanged "a sync with nothing new" "$WORK/state1"
pt_ok "status --json" "$A" status --json
jfile_check "status: 0 pending after the second sync" "$OUT" \
    "j['pending_entries'] == 0 and j['pending_evidence_files'] == 0 and j['acked_seq'] == $HEAD_A2"

sync_ok "terminal C syncs once" "$C"
sync_ok "terminal B syncs once" "$B"

section "enrolment tokens that must be refused"
# expect_enroll_refused DESC REASON-ERE TOKEN: a fresh store enrols with
# TOKEN: refused (non-zero exit, one line naming REASON), the store stays
# unenrolled, the server unchanged, and it still serves B.
N_FRESH=0
expect_enroll_refused() {
    local desc=$1 reason=$2 token=$3 dir before
    N_FRESH=$((N_FRESH + 1))
    dir=$WORK/fresh-$N_FRESH
    before=$WORK/.state.before
    pt "$dir" init --department SY-CGJ --device-name "fresh-$N_FRESH"
    server_state >"$before"
    pt "$dir" enroll --server "$URL" --token "$token"
    if [ "$RC" -ne 0 ] && [ "$RC" -lt 128 ]; then
        pass "$desc: refused (exit $RC)"
    else
        fail "$desc: exit $RC, expected a refusal"
    fi
    if [ "$(grep -c . "$ERR")" -eq 1 ] && grep -Eq -- "$reason" "$ERR"; then
        pass "$desc: one line on stderr naming /$reason/"
    else
        fail "$desc: stderr should be one line matching /$reason/"
        show "$ERR"
    fi
    [ -n "${VERBOSE:-}" ] && show "$ERR"
    pt "$dir" status --json
    jfile_check "$desc: the terminal is not enrolled" "$OUT" "not j['enrolled']"
    expect_unchanged "$desc" "$before"
    serves_others "$desc"
}

expect_enroll_refused "token used twice" "token_used" "$TOKEN_A"

srv device add --name expiring --department SY-CGJ --valid-days 1 >"$WORK/token.exp" 2>/dev/null
TOKEN_EXP=$(cat "$WORK/token.exp")
sq "UPDATE tokens SET expires_ms = (strftime('%s', 'now') - 3600) * 1000
    WHERE device = (SELECT id FROM devices WHERE name = 'expiring')"
check "the expiring token's validity is in the past now" \
    test "$(sq "SELECT expires_ms < strftime('%s', 'now') * 1000 FROM tokens t JOIN devices d ON d.id = t.device WHERE d.name = 'expiring'")" = 1
expect_enroll_refused "expired token" "token_expired" "$TOKEN_EXP"

expect_enroll_refused "garbage token" "token" "garbage-not-a-token"
PIN=${TOKEN_A##*.}
RAND_ID=$(head -c 8 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
RAND_SECRET=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
expect_enroll_refused "well-formed but unknown token" "token_unknown" "PT1.$RAND_ID.$RAND_SECRET.$PIN"

TOKEN_D=$(add_device "城管执法终端-11")
OTHER_PIN=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
expect_enroll_refused "token pinned to another server's key" "pin|key" "${TOKEN_D%.*}.$OTHER_PIN"
D=$WORK/terminal-d
pt "$D" init --department SY-CGJ --device-name "城管执法终端-11"
pt "$D" enroll --server "$URL" --token "$TOKEN_D"
check "a token shown to a wrong server is not used up: it still enrols (exit $RC)" test "$RC" -eq 0
# The answer to an enrolment can be lost on the way; the same terminal (same
# device key) asking again with its token gets its certificate again.
pt "$D" enroll --force --server "$URL" --token "$TOKEN_D"
check "the same terminal enrolling again with its used token succeeds (exit $RC: $(head -c 200 "$ERR"))" \
    test "$RC" -eq 0

section "a revoked device"
NUM_C=$(device_num "城管执法终端-09")
srv device revoke "$NUM_C" >"$OUT" 2>"$ERR"
check "patrold device revoke $NUM_C" test $? -eq 0
pt_ok "terminal C records after being revoked" "$C" inspector add --id wangwu --name 王五 --cert-no 32132300199
server_state >"$WORK/state2"
"$PATROL" --store "$C" sync >"$OUT" 2>"$ERR"
RC=$?
check "patrol sync of a revoked device fails (exit $RC)" test "$RC" -ne 0 -a "$RC" -lt 128
if [ "$(grep -c . "$ERR")" -eq 1 ] && grep -q "revoked" "$ERR"; then
    pass "the refusal says the device is revoked, in one line"
else
    fail "patrol sync of a revoked device: expected one line saying 'revoked'"
    show "$ERR"
fi
[ -n "${VERBOSE:-}" ] && show "$ERR"
expect_unchanged "sync of a revoked device" "$WORK/state2"
pt "$C" status --json
jfile_check "the revoked terminal still counts its entry as pending" "$OUT" "j['pending_entries'] == 1"
srv device list --json >"$WORK/devices.json"
jfile_check "device list shows C revoked" "$WORK/devices.json" \
    "[d['status'] for d in j if d['id'] == $NUM_C] == ['revoked']"
serves_others "after a revoked device's sync"

section "the server's log and database"
stop_server_checked
check "the database passes its integrity check after SIGTERM" \
    test "$(sq 'PRAGMA integrity_check')" = ok
server_rows "$A" >"$WORK/server.rows"
check "after SIGTERM every acknowledged entry of A is still there" \
    same_nonempty "$WORK/journal.rows" "$WORK/server.rows"

finish
