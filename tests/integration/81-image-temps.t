#!/bin/bash
# tmc-image leaves nothing behind in output folders: killed (SIGKILL, by
# its failpoints) after creating, writing and fsyncing the output's temp
# file, the temp is the item's own ".<name>.tmcwatch-<id>" (tmcwatch-spool(5));
# restarted, the stage redoes the item through the same temp name, so once
# the item is done the output is whole and no temp is left.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 9

image_config '{ "t1": { "proc": [
  {"name":"O","source":"hires","size":[100,100],"overwrite":true,"skipsamesize":false,"path_head":"/o"}
] } }'
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
