#!/usr/bin/env bash
# The main job, end to end on the embedded default: install dependencies,
# build, start a local collection server (patrold, SQLite) on 127.0.0.1,
# enrol a terminal, record a realistic flexible-enforcement patrol (with
# real photo and audio files) that follows the seed's course of a matter
# (the subject's choice first, 告诫 with its four conditions and a deadline,
# a document issued and delivered, a revisit asking the subject's opinion,
# completion; a matter on application the subject withdraws; an act of the
# department), verify it, sync it over TLS, and show that the server holds
# it and flags nothing.
#
# PATROL_BUILD_DIR=DIR builds into DIR instead of build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
build=${PATROL_BUILD_DIR:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/patrol-demo.XXXXXX")
export PATROL_STORE="$work/terminal"
# Messages from the catalogue just built (the tool is not installed).
export PATROL_LOCALEDIR="$build/locale"
patrol() { "$build/client/patrol" "$@"; }
patrold() { "$build/server/patrold" --data "$work/server" "$@"; }
step() { printf '\n== %s\n' "$*"; }
# Deadlines and due dates are checked against today's date in Beijing:
# the demo's dates are relative to the day it runs.
day() { TZ=Asia/Shanghai date -d "$1" +%F; }
today=$(day today)
due=$(day '+10 days')
python3 scripts/make-media.py "$work/media"

step "Collection server (county justice bureau): keys, device CA, reference lists"
patrold init --name "泗阳县司法局柔性执法采集服务器"
patrold lists import tests/data/reference-sample.json
token=$(patrold device add --name "城管执法终端-07" --department SY-CGJ)
# The console's first account: an administrator with a one-time password
# (read from stdin, never from the command line); change it after logging in.
admin_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16)
printf '%s\n' "$admin_pw" | patrold user add --name admin --role admin >/dev/null
"$build/server/patrold" --data "$work/server" serve --listen 127.0.0.1:0 \
  --web-listen 127.0.0.1:0 2>"$work/patrold.log" &
server_pid=$!   # the server itself, not a subshell: the trap must reach it
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
port=
for _ in $(seq 50); do
  port=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/patrold.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "patrold did not start:" >&2; cat "$work/patrold.log" >&2; exit 1; }
echo "patrold listening on 127.0.0.1:$port"
web_port=$(sed -n 's/.*event=web_listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/patrold.log")
echo "监督平台 (web console): https://127.0.0.1:$web_port/  user admin, one-time password $admin_pw"

step "Terminal set-up (station admin): store, enrolment, inspectors"
patrol init --department SY-CGJ --device-name "城管执法终端-07"
patrol enroll --server "https://127.0.0.1:$port" --token "$token"
patrol inspector add --id zhangwei --name "张伟" --cert-no 32132300100
patrol inspector add --id liuna --name "刘娜" --cert-no 32132300117

step "On patrol: a shop trading beyond its door (first violation, no-penalty list)"
shop=$(patrol subject add --credit-code 91350100M000100Y43 --name "泗阳县某某便利店" \
        --address "泗阳县众兴镇人民路18号" --legal-rep "王某")
m=$(patrol matter open --subject "$shop" --inspector zhangwei --inspector liuna \
      --domain urban_management --list-item CG-NP-003 \
      --summary "店外摆卖占用人行道约3平方米，首次发现" --location 33.7213,118.6942,8)
echo "matter $m"
patrol consent --matter "$m" --accept --form oral
patrol evidence add --matter "$m" --kind photo --caption "店外摆卖现场" "$work/media/storefront.png"
patrol act reminder --matter "$m" --form oral --source inspection \
  --rules "《城市市容和环境卫生管理条例》关于临街商户不得超出门窗外墙摆卖的规定" \
  --content "向店主说明占道经营的规定及后果"
patrol leaflet --matter "$m" --title "门前三包责任告知书" --code LF-001 --copies 1
patrol act warning --matter "$m" --minor --no-harm --no-intent --correctable --corrected \
  --content "告诫店主不得再次占道经营" --correction "店主当场将商品搬回店内，${due}前保持门前整洁" \
  --deadline "$due"
patrol evidence add --matter "$m" --kind photo --caption "整改后" "$work/media/corrected.png"
doc=$(patrol document issue --matter "$m" --purpose "督促规范经营" \
        --content "请严格落实门前三包责任，不得超出门窗外墙摆卖" \
        --time "$today 至 $due" --personnel "张伟、刘娜")
echo "document $doc"
patrol document deliver --document "$doc" --method in_person --recipient "王某（店主）"
r=$(patrol act revisit --matter "$m" --follows inspection --decision "$doc" \
      --due "$due" --content "回访检查整改是否保持")
echo "revisit $r"

step "A street vendor applies for flexible enforcement, then withdraws: terminated"
p=$(patrol subject add --id-number 11010519491231002X --name "李某" --contact "138****0000")
m2=$(patrol matter open --subject "$p" --inspector liuna --domain urban_management \
       --summary "流动摊点在人民路口占道经营，经投诉发现" --on-application)
echo "matter $m2"
patrol consent --matter "$m2" --accept --form written
patrol act interview --matter "$m2" --mode individual --reason complaints \
  --participants "李某；刘娜" --departments "县城管局" \
  --content "就多次投诉的占道经营问题约谈" --minutes "当事人承认占道经营，承诺改到指定疏导点经营" \
  --confidential minutes=privacy
patrol evidence add --matter "$m2" --kind audio --caption "约谈录音" "$work/media/interview.wav"
patrol application withdraw --matter "$m2" --reason "当事人决定停止经营，撤回申请"
patrol matter close --matter "$m2" --terminated --reason subject_withdrew

step "An act of the department: a written reminder to the shops of 人民路"
patrol dept reminder --inspector zhangwei --domain urban_management \
  --audience "人民路沿街商户" --form written --source complaints \
  --rules "《城市市容和环境卫生管理条例》关于临街商户不得超出门窗外墙摆卖的规定" \
  --content "门前三包责任及店外摆卖的后果，书面提示送达各商户"

step "Refused, nothing written: an excluded domain; a method before the subject's answer"
if patrol matter open --subject "$shop" --inspector zhangwei --domain food_drug_safety --summary "x"; then
  echo "ERROR: excluded domain accepted" >&2; exit 1
fi
m3=$(patrol matter open --subject "$shop" --inspector zhangwei --domain urban_management \
       --summary "店招破损，存在坠落隐患")
if patrol act guidance --matter "$m3" --topic "店招安全" --content "指导加固店招"; then
  echo "ERROR: a method before consent accepted" >&2; exit 1
fi
patrol consent --matter "$m3" --refuse --form oral
patrol matter close --matter "$m3" --terminated --reason subject_refused

step "Revisits due by $due"
patrol revisits --due --today "$due"

step "The revisit on $due: corrected; the subject's opinion; then the matter is completed"
patrol revisit done --revisit "$r" --outcome corrected --content "门前整洁，未再摆卖" \
  --opinion "无异议，感谢执法人员的指导" --legality lawful_regular
patrol matter close --matter "$m" --completed
patrol matter list

step "The full-process record of $m"
patrol log --matter "$m"

step "Flags: rules the recorded entries break (none for this record)"
patrol flags
[ "$(patrol flags --json)" = "[]" ] || { echo "ERROR: the lawful record is flagged" >&2; exit 1; }
echo "no flags"

step "Verify: every hash, chain link, signature and evidence file"
patrol verify
patrol info

step "Back at the station: sync over TLS (pinned key, client certificate)"
patrol status
patrol sync
patrol status

step "The server holds it (patrold device list) and, replaying the rules at ingest, flags nothing"
patrold device list
patrold flags
[ "$(patrold flags --json)" = "[]" ] || { echo "ERROR: the server flags the lawful record" >&2; exit 1; }
echo "no flags on the server"

step "The supervisor (read-only, while the server runs): re-verify everything the server holds"
patrold audit verify

step "The full-process record of $m as the server holds it"
patrold audit timeline --matter "$m"

step "Problems to act on"
patrold audit problems

month=$(TZ=Asia/Shanghai date +%Y-%m)
step "The monthly report ($month), also as a spreadsheet, and filed (备案)"
patrold audit report --month "$month"
patrold audit report --month "$month" --xlsx "$work/report-$month.xlsx"
echo "spreadsheet: $work/report-$month.xlsx"
patrold audit file --month "$month"

step "An archive of $m (归档), checked by patrold and by stock tools only"
patrold audit export --matter "$m" --out "$work/$m.tar"
patrold audit verify-archive "$work/$m.tar"
mkdir -p "$work/archive"
tar -xf "$work/$m.tar" -C "$work/archive"
( cd "$work/archive"/* 2>/dev/null || cd "$work/archive"
  sha256sum -c --quiet SHA256SUMS && echo "sha256sum: every file matches SHA256SUMS"
  openssl dgst -sha256 -verify server-key.pem -signature SHA256SUMS.sig SHA256SUMS )

if [ -n "${PATROL_DEMO_KEEP:-}" ]; then
  step "The server keeps running for a look at the console (Ctrl-C stops it)"
  echo "监督平台 (web console): https://127.0.0.1:$web_port/  user admin, password $admin_pw"
  echo "(the certificate is the demo server's own, $work/server/server.crt: accept it in the browser)"
  wait "$server_pid" || true
  exit 0
fi

step "Stop the server (SIGTERM: requests in flight finish, nothing acknowledged is lost)"
kill -TERM "$server_pid"
wait "$server_pid" || true
tail -n 4 "$work/patrold.log"
echo
echo "demo terminal store: $PATROL_STORE"
echo "demo server data:    $work/server (log: $work/patrold.log)"
