#!/bin/bash
# Control files (doc/TMC.md, Control, with its Fixes). The
# stages are frozen while a job's window (4 files) fills, so what each
# command holds back is exact: pause stops emission and never moves the
# job file, resume goes on; cancel converts only the files in flight and
# writes "\t0\t0\t0" rows for the rest, reports result=0; stop requeues the
# job through req/ and it resumes where it was; pause and cancel act on a
# job still waiting in req/; a ctrl that is not valid sends the job to err/.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 25
export TMC_JOBS_WINDOW=4

write_config "$COPY2"
for t in p c s w x; do make_tree $t 40; tree_job $t '"callback": "http://127.0.0.1:9/cb"'; done
start_daemon
ok $? "daemon started"

# pause, resume
stages_freeze
seq=$(submit "$T_DIR/p.json")
wait_for 20 dispatched_is "$seq" 4
ok $? "frozen stages: 4 files dispatched (the window)"
ctrl "$seq" '{"status":"pause"}'
wait_for 30 ctrl_is "$seq" paused
ok $? "pause: the ctrl becomes paused"
grep -q '"pos":4,"cnt":40' "$SPOOL/proc/$seq.ctrl"
ok $? "with pos and cnt"
stages_thaw
wait_for 20 rows_are "$seq" 4
sleep 1.5
is "$(rows "$seq") $(stat_of "$seq")" "4 $(printf '40\t4\t4')" "paused: the 4 in flight finished, no more dispatched"
test -e "$SPOOL/proc/$seq" -a ! -e "$SPOOL/req/$seq"
ok $? "paused: the job file stays in proc/"
ctrl "$seq" '{"status":"resume"}'
wait_done "$seq" 60
ok $? "resume: the job finishes"
is "$(rows "$seq") $(cut -f2- "$SPOOL/done/$seq.result" | sort -u | tr '\t' ,)" "40 2,2,0" \
	"40 rows, each file converted"
test ! -e "$SPOOL/proc/$seq.ctrl" -a "$(log_dups "$seq")" = 0
ok $? "the ctrl is gone; no file converted twice"

# cancel
stages_freeze
seq=$(submit "$T_DIR/c.json")
wait_for 20 dispatched_is "$seq" 4
ctrl "$seq" '{"status":"cancel"}'
wait_for 30 ctrl_is "$seq" cancelled
ok $? "cancel: the ctrl becomes cancelled"
stages_thaw
wait_done "$seq" 90
ok $? "the cancelled job goes to done/"
is "$(rows "$seq") $(grep -c "$(printf '\t0\t0\t0$')" "$SPOOL/done/$seq.result") $(ls "$SITE/out2" | grep -c '^c-')" \
	"40 36 4" "40 rows: 36 not converted (\\t0\\t0\\t0), 4 converted"
grep -q '"status":"cancelled","pos":4,"cnt":40' "$SPOOL/done/$seq.ctrl" 2>/dev/null
ok $? "done/<seq>.ctrl: cancelled, pos 4, cnt 40"
is "$(cb_field "$seq" result) $(cb_field "$seq" count) $(cb_field "$seq" processed) $(cb_field "$seq" created)" \
	"0 40 4 8" "callback: result 0, count 40, processed 4, created 8"

# stop: back to req/, taken again, resumes from its results
stages_freeze
seq=$(submit "$T_DIR/s.json")
wait_for 20 dispatched_is "$seq" 4
ctrl "$seq" '{"status":"stop"}'
wait_for 30 grep -q "job $seq: stopping: back to req/" "$T_DIR/tmcwatch.log" # taken before the thaw
stages_thaw
wait_done "$seq" 60
ok $? "stop: the job is requeued and finishes"
grep -q "client finished:$seq (stopped)" "$T_DIR/tmcwatch.log" &&
	[ "$(grep -c "new client added:$seq" "$T_DIR/tmcwatch.log")" = 2 ]
ok $? "it went back to req/ once and was taken again"
is "$(rows "$seq") $(cut -f2- "$SPOOL/done/$seq.result" | sort -u | tr '\t' ,) $(log_dups "$seq")" \
	"40 2,2,0 0" "40 rows, every file converted once"

# stop while paused: back to req/ still paused (TMC), resumed from there
make_tree sp 20
tree_job sp
stages_freeze
seq=$(submit "$T_DIR/sp.json")
wait_for 20 dispatched_is "$seq" 4
ctrl "$seq" '{"status":"pause"}'
wait_for 30 ctrl_is "$seq" paused
ctrl "$seq" '{"status":"stop"}'
stages_thaw
wait_for 20 test -e "$SPOOL/req/$seq"
sleep 1.2
test -e "$SPOOL/req/$seq" && ctrl_is "$seq" paused && grep -q '"pos":4,"cnt":20' "$SPOOL/proc/$seq.ctrl"
ok $? "a paused job that is stopped waits in req/, paused, with pos and cnt"
ctrl "$seq" '{"status":"resume"}'
wait_done "$seq" 90 && rows_are "$seq" 20 && [ "$(log_dups "$seq")" = 0 ]
ok $? "resumed, it is taken again and finishes every file once"

# a waiting job: pause keeps it in req/, resume lets it run
W=100101000000003
ctrl $W '{"status":"pause"}'
cp "$T_DIR/w.json" "$SPOOL/req/$W"
sleep 1.5
is "$(ls "$SPOOL/req") $(ls "$SPOOL/proc" | grep -c "^$W\.file")" "$W 0" "a paused waiting job stays in req/"
ctrl $W '{"status":"resume"}'
wait_done $W 90 && rows_are $W 40
ok $? "resumed, it runs"
X=100101000000004
ctrl $X '{"status":"cancel"}'
cp "$T_DIR/x.json" "$SPOOL/req/$X"
wait_done $X 90 && [ "$(grep -c "$(printf '\t0\t0\t0$')" "$SPOOL/done/$X.result")" = 40 ]
ok $? "cancel of a waiting job is honoured: 40 rows, none converted"

# a ctrl written in req/ (by a writer that may write only there) acts too
make_tree rq 12
tree_job rq
stages_freeze
seq=$(submit "$T_DIR/rq.json")
wait_for 20 dispatched_is "$seq" 4
printf '{"status":"cancel"}' >"$SPOOL/req/$seq.ctrl"
stages_thaw
wait_done "$seq" 90 && [ "$(grep -c "$(printf '\t0\t0\t0$')" "$SPOOL/done/$seq.result")" = 8 ] &&
	test ! -e "$SPOOL/req/$seq.ctrl"
ok $? "req/<seq>.ctrl is moved to proc/ and obeyed (cancel: 8 of 12 not converted)"

# an invalid ctrl
make_tree bad 10
tree_job bad
stages_freeze
seq=$(submit "$T_DIR/bad.json")
wait_for 20 dispatched_is "$seq" 4
printf '{"status": 3}' >"$SPOOL/proc/$seq.ctrl"
stages_thaw
wait_for 20 job_err "$seq"
ok $? "a ctrl without a status word sends the job to err/"
grep -q "proc/$seq.ctrl" "$SPOOL/err/$seq.reason"
ok $? "err/<seq>.reason names the ctrl file"
stop_daemon
