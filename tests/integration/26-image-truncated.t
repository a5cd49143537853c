#!/bin/bash
# A partly corrupt original (a JPEG cut at half its bytes) is written as TMC
# wrote it (doc/TMC.md, Fixes: images): every size, the missing part grey,
# and a warning in the file's row and the log. The original is decoded with
# the JPEG size hint (1/4 scale for the 400 px step) and a later step reads
# the partial pixels. With "truncated": "error" in config.json the same file
# fails: err/ with a reason, nothing written.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 12

TPL='{ "cut": { "proc": [
  {"name":"A","source":"hires","size":[400,400],"path_head":"/a"},
  {"name":"B","source":"A","size":[200,200],"path_head":"/b"},
  {"name":"C","source":"hires","size":[0,0],"path_head":"/c"}
] } }'
image_config "$TPL"
mkdir -p "$SITE/in1" "$SITE/in2"
# baseline JPEG: rows are stored top to bottom, so half the bytes is about
# the top half of the picture: a gradient from red, never near grey (a random plasma can be)
gm convert -size 1600x1200 gradient:red-blue -quality 85 "$T_DIR/p.jpg"
head -c $(($(stat -c %s "$T_DIR/p.jpg") / 2)) "$T_DIR/p.jpg" >"$SITE/in1/half.jpg"
cut_job() { # cut_job DIR: a job of the template "cut" for the JPEGs in $SITE/DIR
	printf '{"hires": {"site": "site01", "path_head": "/%s", "path_tail": "", "include": ["*.jpg"]}, "template": "cut"}\n' \
		"$1" >"$T_DIR/$1.json"
}
cut_job in1
start_daemon
seq=$(submit "$T_DIR/in1.json")
[ -n "$seq" ] && wait_done "$seq" 120
ok $? "the job is done"
row=$(cat "$SPOOL/done/$seq.result" 2>/dev/null)
IFS=$'\t' read -r rel req created warn <<<"$row"
is "$rel $req $created" "/half.jpg 3 3" "the row: every size of the truncated file written"
[ "${warn:-0}" -ge 1 ] 2>/dev/null
ok $? "the row counts a warning (row '$row')"
is "$(geom "$SITE/a/half.jpg" | cut -d' ' -f1,2) $(geom "$SITE/b/half.jpg" | cut -d' ' -f1,2) $(geom "$SITE/c/half.jpg" | cut -d' ' -f1,2)" \
	"400 300 200 150 1600 1200" "each output has its size from the header, hinted decode or not"
# libjpeg leaves the blocks it never read at 0, mid grey
near "$(pixel "$SITE/a/half.jpg" 200 295)" "128 128 128" 6
ok $? "the missing bottom is grey (got $(pixel "$SITE/a/half.jpg" 200 295))"
near "$(pixel "$SITE/b/half.jpg" 100 147)" "128 128 128" 6
ok $? "the later step read the partial pixels: its bottom is grey too"
! near "$(pixel "$SITE/a/half.jpg" 200 5)" "128 128 128" 6
ok $? "the decoded top is the picture, not grey"
grep 'half\.jpg' "$T_DIR/tmcwatch.log" | grep -q 'truncated'
ok $? "the log names the file and the truncation"

stop_daemon
image_config "$TPL" "" '"truncated": "error",'
cp "$SITE/in1/half.jpg" "$SITE/in2/half2.jpg"
cut_job in2
start_daemon
seq=$(submit "$T_DIR/in2.json")
[ -n "$seq" ] && wait_done "$seq" 120
ok $? "with \"truncated\": \"error\": the job is done"
is "$(cat "$SPOOL/done/$seq.result" 2>/dev/null)" "$(printf '/half2.jpg\t3\t0\t1')" \
	"the row: nothing written, the failure counted once"
is "$(find "$SITE/a" "$SITE/b" "$SITE/c" -name 'half2*' | wc -l)" 0 "no output of it"
wait_for 30 eval 'grep -qs "half2.jpg.*truncated" "$SPOOL"/stages/cut/*/err/*/reason'
ok $? "the item is in err/ with a reason naming the file and the truncation"
stop_daemon
