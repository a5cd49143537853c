#!/bin/bash
# A worker that hangs on an item past its step's time limit is killed by the
# supervisor; the item comes back with its attempt counted, and an item that
# keeps killing workers ends in err/ with the reason, while the stage itself
# is restarted and keeps serving.
. "$TMC_SRC/tests/lib/tap.sh"
plan 5
export TMC_RESTART_DELAY_MS=100

write_config '{ "slow": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out", "timeout": 1} ] } }' \
	'"max_attempts": 2,'
make_inputs 1
TMC_FAILPOINT=process:hang start_daemon
enqueue slow <"$T_DIR/list" >/dev/null
wait_for 30 grep -q 'took more than 1 s: killing pid' "$T_DIR/tmcwatch.log"
ok $? "the hung worker was killed after its time limit"
E=$SPOOL/stages/slow/00-A/err
wait_for 60 test -e "$E/t000001/reason"
ok $? "after max_attempts deaths the item is in err/"
grep -q 'died 2 times' "$E/t000001/reason"
ok $? "its reason says why: $(cat "$E/t000001/reason" 2>/dev/null)"
# its worker never wrote the step's result line: recovery writes it, failed,
# so the job (or watch) that made the item accounts for the file
wait_for 30 grep -q "^t000001	0	A	0	1	.*died 2 times.*	failed$" "$SPOOL/proc/test1.log"
ok $? "the origin's log has the step's failed result line: $(cat "$SPOOL/proc/test1.log" 2>/dev/null)"
wait_for 30 pgrep -f "tmc-copy -c $CONF"
ok $? "the stage process was restarted"
stop_daemon
