#!/bin/bash
# A result line that cannot be written for a reason other than a fault of
# the machine (here the origin's log is a symlink, which O_NOFOLLOW
# refuses) does not let the step hand its item on with no report: the step
# fails like any temporary failure, and after its attempts the item is in
# err/ with the reason; nothing is written through the link, and another
# job's items flow on with one line per step. (A full disk, the machine's
# fault, holds the step back instead: 75-fault-enospc.t.)
. "$TMC_SRC/tests/lib/tap.sh"
plan 4
PASS2='{ "pass2": { "proc": [
  {"name": "S1", "source": "hires", "kind": "pass", "path_head": "/x"},
  {"name": "S2", "source": "S1", "kind": "pass", "path_head": "/x"}
] } }'
write_config "$PASS2" '"max_attempts": 2, "retry_delay": 1,'
make_inputs 4
start_daemon && stop_daemon # makes the spool's folders
ln -s "$T_DIR/elsewhere.log" "$SPOOL/proc/bad.log"
start_daemon
enqueue pass2 b job:bad <"$T_DIR/list" >/dev/null
enqueue pass2 g job:good <"$T_DIR/list" >/dev/null
wait_for 60 eval "[ \$(find '$SPOOL/stages/pass2/00-S1/err' -mindepth 1 -maxdepth 1 | wc -l) -ge 4 ]"
ok $? "the 4 items whose log cannot be written end in S1's err/"
n=$(grep -l 'cannot write its result line: Too many levels of symbolic links' \
	"$SPOOL"/stages/pass2/00-S1/err/b*/reason 2>/dev/null | wc -l)
is "$n" 4 "each with the reason, the error's own words"
wait_for 60 eval "[ \$(cut -f1,2 '$SPOOL/proc/good.log' 2>/dev/null | sort -u | wc -l) -ge 8 ]"
ok $? "the other job's items flow on: a line for each of their 2 steps"
wait_idle 30
stop_daemon
[ ! -e "$T_DIR/elsewhere.log" ] && [ "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)" = 00 ] &&
	[ -z "$(ls "$SPOOL/stages/pass2/01-S2/err" 2>/dev/null)" ]
ok $? "nothing written through the link, nothing left waiting, nothing failed in S2"
