#!/bin/bash
# make demo (tests/demo.sh) from start to end, in a temporary folder: it
# exits 0, with no TMC_LIBEXEC (the build tree's programs are found beside
# tmcwatch); its sample photos are photos, not flat colours; every log line
# is written once.
. "$TMC_SRC/tests/lib/tap.sh"
plan 4

(cd "$T_DIR" && env -u TMC_LIBEXEC DEMO_SECONDS=0 TMC_BUILD="$TMC_BUILD" \
	"$TMC_SRC/tests/demo.sh" >"$T_DIR/demo.out" 2>&1)
rc=$?
ok $rc "the demo runs to its end (rc $rc)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$T_DIR/demo.out" | tail -n 20

# A flat-colour fallback has 1 colour; a landscape with grain has thousands.
few=0
for f in "$T_DIR"/demo/site/originals/2026/11/photo*.jpg; do
	n=$(gm identify -format '%k' "$f")
	[ "$n" -ge 10000 ] || { diag "$f: $n colours"; few=$((few + 1)); }
done
test "$(ls "$T_DIR"/demo/site/originals/2026/11/photo*.jpg | wc -l)" -eq 6 && [ $few -eq 0 ]
ok $? "six sample photos with at least 10000 colours each"

test -s "$T_DIR/demo/tmcwatch.log" && grep -q 'tmc-image\[' "$T_DIR/demo/tmcwatch.log"
ok $? "the log holds the stages' lines"
dups=$(sort "$T_DIR/demo/tmcwatch.log" | uniq -d | wc -l)
is "$dups" 0 "no log line is written twice"
