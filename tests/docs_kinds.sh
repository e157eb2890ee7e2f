#!/bin/bash
# docs_kinds.sh -- docs/record.md's "Kinds of entry and their fields" is
# the rules table as `patrol kinds` prints it (one source of truth). Fails
# while the block between <!-- kinds:begin --> and <!-- kinds:end -->
# differs; with --write, rewrites it (cmake --build build --target kinds-doc).
#
# usage: docs_kinds.sh PATH/TO/patrol PATH/TO/record.md [--write]
set -u
PATROL=$1 DOC=$2 MODE=${3:-check}
export LANG=C LC_ALL=C
gen=$(mktemp) || exit 1
trap 'rm -f "$gen" "$gen.new"' EXIT
# PATROL_EMULATOR: a cross build's emulator (tests/CMakeLists.txt).
kinds=$(${PATROL_EMULATOR:-} "$PATROL" kinds | awk '{ print $1 }')
[ -n "$kinds" ] || { echo "patrol kinds printed no kinds"; exit 1; }
for k in $kinds; do
    printf '```\n'
    ${PATROL_EMULATOR:-} "$PATROL" kinds "$k" || { echo "patrol kinds $k failed"; exit 1; }
    printf '```\n\n'
done >"$gen"
python3 - "$DOC" "$gen" "$MODE" <<'PY'
import sys
doc, gen, mode = sys.argv[1], open(sys.argv[2], encoding="utf-8").read(), sys.argv[3]
text = open(doc, encoding="utf-8").read()
b, e = "<!-- kinds:begin -->\n", "<!-- kinds:end -->"
if b not in text or e not in text:
    sys.exit("%s has no %s ... %s block" % (doc, b.strip(), e))
head, rest = text.split(b, 1)
old, tail = rest.split(e, 1)
if old == gen:
    print("docs/record.md: the kinds of entry match the rules table")
    sys.exit(0)
if mode == "--write":
    open(doc, "w", encoding="utf-8").write(head + b + gen + e + tail)
    print("rewrote the kinds block of", doc)
    sys.exit(0)
import difflib
sys.stdout.writelines(list(difflib.unified_diff(old.splitlines(True), gen.splitlines(True), "docs", "rules table"))[:60])
sys.exit("docs/record.md's kinds of entry differ from the rules table: cmake --build build --target kinds-doc")
PY
