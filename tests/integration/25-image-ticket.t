#!/bin/bash
# tmc-image: what a job or a watch puts in the ticket. The job-level
# "overwrite" overrides the step's (both ways); a path_tail that climbs out
# with ".." is refused. Items are published by hand, as spool/publish.c does
# (tmp/<x>/ticket, then a rename into new/<id>).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 5

image_config '{ "tk": { "proc": [
  {"name":"N","source":"hires","size":[100,100],"overwrite":false,"path_head":"/n"},
  {"name":"O","source":"hires","size":[100,100],"overwrite":true,"skipsamesize":false,"path_head":"/o"}
] } }'
gm convert -size 400x300 plasma:fractal "$SITE/in/x.jpg"
mkdir -p "$SITE/n/t" "$SITE/o/t"
echo old >"$SITE/n/t/x.jpg"
echo old >"$SITE/o/t/x.jpg"
start_daemon
ok $? "daemon started"
wait_for 20 test -d "$SPOOL/stages/tk/01-O/new"

publish() { # publish STEP_INDEX STEP_NAME ID TAIL OVERWRITE
	local d="$SPOOL/stages/tk/0$1-$2"
	mkdir -p "$d/tmp/+$3"
	printf '%s\n' "id=$3" "origin=job:test1" "template=tk" "step=$1" "site=site01" \
		"src=$SITE/in/x.jpg" "rel=/x.jpg" "out=/x.jpg" "root=$SITE" "tail=$4" \
		${5:+"overwrite=$5"} >"$d/tmp/+$3/ticket"
	mv "$d/tmp/+$3" "$d/new/$3"
}
publish 0 N a1 /t 1
publish 1 O a2 /t 0
publish 0 N a3 /t/../../.. 1
wait_results 3
is "$(geom "$SITE/n/t/x.jpg" | cut -d' ' -f1,2)" "100 75" "job overwrite=1 beats the step's overwrite:false"
is "$(cat "$SITE/o/t/x.jpg")" "old" "job overwrite=0 beats the step's overwrite:true"
wait_for 30 test -e "$SPOOL/stages/tk/00-N/err/a3/reason" # written after the result line
r=$(cat "$SPOOL/stages/tk/00-N/err/a3/reason" 2>/dev/null)
case $r in *climbs*) ok 0 "a path_tail with .. is refused" ;; *) ok 1 "a path_tail with .. ($r)" ;; esac
is "$(find "$T_DIR" -maxdepth 1 -name x.jpg | wc -l)" 0 "nothing written outside the root"
stop_daemon
