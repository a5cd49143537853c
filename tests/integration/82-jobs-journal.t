#!/bin/bash
# tmc-jobs killed between moving a finished job out of proc/ and removing
# its journal (failpoint jobs-closed) leaves proc/<seq>.rows; restarted by
# the supervisor, it removes that journal and logs it.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 4
export TMC_RESTART_DELAY_MS=50

write_config "$COPY2"
make_tree k 3
tree_job k
seq=$(submit "$T_DIR/k.json")
TMC_FAILPOINT=jobs-closed start_daemon
wait_done "$seq"
ok $? "the job reached done/"
wait_for 30 grep -q "failpoint jobs-closed: killing myself" "$T_DIR/tmcwatch.log"
ok $? "tmc-jobs was killed after the move, before the journal's removal"
wait_for 30 grep -q "removed $SPOOL/proc/$seq.rows: job $seq was closed" "$T_DIR/tmcwatch.log"
ok $? "restarted, tmc-jobs removes the journal left behind and logs it"
test ! -e "$SPOOL/proc/$seq.rows" -a -e "$SPOOL/done/$seq.result"
ok $? "no proc/$seq.rows left; done/$seq.result stays"
stop_daemon
