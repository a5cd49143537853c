#!/bin/bash
# tmc-image leaves nothing behind in output folders: killed (SIGKILL, by
# its failpoints) after creating, writing and fsyncing the output's temp
# file, the temp is the item's own ".<name>.tmcwatch-<id>" (tmcwatch-spool(5));
# restarted, the stage redoes the item through the same temp name, so once
# the item is done the output is whole and no temp is left. An item whose
# worker dies at every try ends in err/ (max_attempts), and then the temps
# it listed ("temps" in the item) are removed from the output folder, each
# with a log line.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 12

image_config '{ "t1": { "proc": [
  {"name":"O","source":"hires","size":[100,100],"overwrite":true,"skipsamesize":false,"path_head":"/o"}
] } }' '' '"max_attempts": 2,'
gm convert -size 400x300 plasma:fractal -quality 95 "$SITE/in/x.jpg"

n=0
for fp in outfile-created outfile-written outfile-synced; do
	n=$((n + 1))
	pfx=${fp#outfile-}
	id=$(printf '%s%06d' "$pfx" 1)
	echo /x.jpg | enqueue_site t1 site01 "$pfx" >/dev/null
	(TMC_FAILPOINT=$fp exec "$BIN/tmc-image" -c "$CONF" -T t1 -s 0 2>>"$T_DIR/fp.err")
	rc=$?
	test $rc -eq 137 -a -e "$SITE/o/.x.jpg.tmcwatch-$id"
	ok $? "killed at $fp ($rc): the temp is the item's own .x.jpg.tmcwatch-$id"
	"$BIN/tmc-image" -c "$CONF" -T t1 -s 0 2>>"$T_DIR/stage.err" &
	pid=$!
	wait_results $n
	kill -TERM $pid; wait $pid
	is "$(result_id "$id" O)" "1 0 " "redone after the kill at $fp: created"
	left=$(find "$SITE/o" -name '.*' | tr '\n' ' ')
	is "$left" "" "no temp left in the output folder after $fp"
done

# a poison item: killed after writing its temp at every try
gm convert -size 400x300 plasma:fractal -quality 95 "$SITE/in/p.jpg"
echo /p.jpg | enqueue_site t1 site01 poison >/dev/null
ERR=$SPOOL/stages/t1/00-O/err/poison000001
for i in 1 2 3 4; do
	[ -d "$ERR" ] && break
	(TMC_FAILPOINT=outfile-written exec "$BIN/tmc-image" -c "$CONF" -T t1 -s 0 2>>"$T_DIR/fp.err") &
	pid=$!
	wait_for 60 eval '! kill -0 $pid 2>/dev/null || [ -d "$ERR" ]'
	kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
done
test -d "$ERR" && grep -q 'died' "$ERR/reason"
ok $? "an item that killed its worker at every try is in err/ ($(cat "$ERR/reason" 2>/dev/null))"
is "$(find "$SITE/o" -name '.p.jpg.*' | wc -l)" 0 "its temp is removed from the output folder"
wait_for 20 grep -q "removed $SITE/o/.p.jpg.tmcwatch-poison000001, a temporary its worker left" "$T_DIR/tmcwatch.log"
ok $? "with a log line naming it"
