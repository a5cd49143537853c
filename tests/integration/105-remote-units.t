#!/bin/bash
# Remote units through a real gearmand (tmc-remote(8)): a spool host
# (tmcwatch run with "gearman") sends the head step of a two-step copy
# unit to a worker host and writes what the reply carries: every output
# exactly once and byte for byte, one result row per file with both steps,
# the job in done/, the callback of the step below the head queued once
# per file, and `tmcwatch status` showing the worker host with its done
# count. The local workers of the head step are held (SIGSTOP) while the
# first job runs, so the unit can only have been done remotely. With the
# worker host gone, a second job finishes locally.
# The worker host here is tmc-gtestworker (tests/tools/gtestworker.c), a
# stand-in that answers copy units with real signed replies.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
. "$TMC_SRC/tests/lib/gearman.sh"
plan 13

command -v gearmand >/dev/null || { echo "1..0 # SKIP gearmand is not installed"; exit 0; }
start_receiver
TPL='{ "two": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
  {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2",
   "callback": [ {"action": "curl", "target": "'"$RURL"'/ok/cb?file=%file%"} ] }
] } }'
start_gearmand
ok $? "gearmand answers on 127.0.0.1:$GM_PORT"
write_config "$TPL" "$(gearman_keys)"
worker_config "$T_DIR/w1" "$TPL"
start_testworker "$T_DIR/w1" hostw1
wait_for 20 gm_workers tmcwatch:two:00 1
ok $? "the worker host registered tmcwatch:two:00"
start_daemon
wait_children
ok $? "spool host started, every child running"
is "$(pgrep -fc "tmc-remote -c $CONF")" 2 "gearman.max_inflight (2) tmc-remote for the head step"

# hold the local workers of the head step: only tmc-remote can do it
LOCAL=$(pgrep -f "tmc-copy -c $CONF .* -T two -s 0$" | tr '\n' ' ')
kill -STOP $LOCAL
make_tree r 12
tree_job r
seq=$(submit "$T_DIR/r.json")
wait_done "$seq" 120
ok $? "job 1 done with the local head workers held"
kill -CONT $LOCAL
check "every output of job 1, byte for byte" outputs_of r
is "$(rows "$seq") $(cut -f2- "$SPOOL/done/$seq.result" | sort -u | tr '\t' ' ')" "12 2 2 0" \
	"12 result rows, each 2 steps requested, 2 created, 0 warnings"
is "$(log_dups "$seq") $(wc -l <"$SPOOL/proc/$seq.log")" "0 24" \
	"one result line per file and step"
cbs() { jq -r 'select(.path | startswith("/ok/cb?")) | .path' "$T_DIR/receiver.log" 2>/dev/null; }
wait_for 60 eval '[ $(cbs | wc -l) -ge 12 ]'
is "$(cbs | sort -u | wc -l) $(cbs | wc -l)" "12 12" \
	"step B's callback delivered once per file"
is "$(remote_field hostw1 done)" 12 "run/remote: 12 units done on hostw1"
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status"
grep -Eq '^remote host hostw1: .*done 12' "$T_DIR/status"
ok $? "status shows the worker host and its done count"
"$BIN/tmcwatch" -c "$CONF" status --json | jq -e '.remote.hosts[] | select(.host == "hostw1" and .done == 12)' >/dev/null
ok $? "status --json too"

# the worker host stops: the local workers carry on
kill -TERM -- -"$TW_PID"
wait_for 20 eval '! gm_workers tmcwatch:two:00 1'
make_tree l 6
tree_job l
seq2=$(submit "$T_DIR/l.json")
wait_done "$seq2" 120 && outputs_of l
ok $? "with no worker host, job 2 finishes locally, every output there"
stop_daemon
