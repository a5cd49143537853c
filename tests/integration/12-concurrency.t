#!/bin/bash
# Four workers on one stage, 5,000 items: each item is processed exactly
# once (one result line per item, one output each), with no double claim.
. "$TMC_SRC/tests/lib/tap.sh"
plan 5

N=${TMC_CONCURRENCY_ITEMS:-5000}
write_config '{ "one": { "proc": [
  {"name": "Copy", "source": "hires", "kind": "copy", "path_head": "/out"} ] } }' \
	'"stage_workers": 4,'
make_inputs "$N"
start_daemon
wait_for 60 eval "[ \$(pgrep -c -f \"tmc-copy -c $CONF\") -eq 4 ]"
ok $? "four workers run on the stage"
enqueue one <"$T_DIR/list" >/dev/null
wait_files "$SITE/out" $N 300
wait_idle 60
stop_daemon
is "$(count_files "$SITE/out")" "$N" "$N outputs"
is "$(wc -l <"$SPOOL/proc/test1.log")" "$N" "$N result lines"
is "$(cut -f1 "$SPOOL/proc/test1.log" | sort | uniq -d | wc -l)" 0 "no item processed twice"
workers=$(grep -o 'tmc-copy\[[0-9]*\] one/00-Copy: job:test1 t[0-9]* ' "$T_DIR/tmcwatch.log" | cut -d'[' -f2 | cut -d']' -f1 | sort -u | wc -l)
test "$workers" -ge 2
ok $? "the work was shared by $workers workers"
