#!/bin/bash
# Crashes and restarts in the middle of a job (doc/TMC.md, Fixes: adoption, atomic scan, resume position):
# tmc-jobs is killed with SIGKILL again and again, the supervisor once
# with SIGKILL and once with SIGTERM, while a 600-file job runs. The job
# resumes from its per-file results each time (never from line 0): at the
# end .stat and .result are exact, every file has one row, no (item, step)
# ran twice, every output is right, and one callback is queued. Then a
# paused job survives a SIGKILL paused, and a scan cut short is redone.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 15
export TMC_JOBS_WINDOW=2 TMC_RESTART_DELAY_MS=50

write_config "$COPY2"
make_tree k 600
tree_job k '"callback": "http://127.0.0.1:9/cb"'
start_daemon
ok $? "daemon started"
seq=$(submit "$T_DIR/k.json")
kills=0 round=0
while ! job_done "$seq" && [ $round -lt 100 ]; do
	sleep 0.3
	round=$((round + 1))
	if [ "$round" = 3 ]; then
		stop_daemon; start_daemon
	elif [ "$round" = 6 ]; then
		kill -KILL "$DAEMON"; wait "$DAEMON" 2>/dev/null; sleep 0.2; start_daemon
	elif [ $kills -lt 6 ]; then # more would only grow the restart backoff
		p=$(jobs_pid) && kill -KILL $p && kills=$((kills + 1))
	fi
done
diag "tmc-jobs killed $kills times, the supervisor killed once and stopped once"
test "$kills" -ge 3
ok $? "tmc-jobs was killed at least 3 times mid-job"
wait_done "$seq" 120
ok $? "the job reached done/"
is "$(rows "$seq") $(cut -f1 "$SPOOL/done/$seq.result" | sort -u | wc -l)" "600 600" "600 rows, one per file"
is "$(cut -f2- "$SPOOL/done/$seq.result" | sort -u | tr '\t' ,)" "2,2,0" "every row: 2 requested, 2 created, 0 warnings"
is "$(stat_of "$seq")" "$(printf '600\t600\t600')" ".stat exact"
is "$(wc -l <"$SPOOL/proc/$seq.log") $(log_dups "$seq")" "1200 0" "1200 step results, none twice: nothing converted twice"
check "every output is right" outputs_of k
is "$(cb_field "$seq" result) $(cb_field "$seq" processed) $(cb_field "$seq" created)" "1 600 1200" \
	"one callback queued, with exact counts"
test ! -e "$SPOOL/proc/$seq.rows"
ok $? "the journal is gone"

# paused, killed, still paused
make_tree q 30
tree_job q
stages_freeze
seq=$(submit "$T_DIR/q.json")
wait_for 20 dispatched_is "$seq" 2
ctrl "$seq" '{"status":"pause"}'
wait_for 30 ctrl_is "$seq" paused
stages_thaw
wait_for 20 rows_are "$seq" 2
kill -KILL "$(jobs_pid)"
stop_daemon # a fresh supervisor: no restart backoff left from the kills above
start_daemon
wait_for 20 grep -q "$seq: 30 files, 2 dispatched" "$T_DIR/tmcwatch.log"
sleep 1.2
is "$(rows "$seq") $(stat_of "$seq")" "2 $(printf '30\t2\t2')" "a paused job stays paused across a crash"
ctrl "$seq" '{"status":"resume"}'
wait_done "$seq" 60 && rows_are "$seq" 30 && [ "$(log_dups "$seq")" = 0 ]
ok $? "resumed after the crash, it finishes with every file once"

# a scan cut short (a leftover temporary list) is redone from scratch
stop_daemon
make_tree z 7
tree_job z
S=100101000000005
cp "$T_DIR/z.json" "$SPOOL/proc/$S"
printf '/z-1.jpg\n/z-1.jpg\n/z-' >"$SPOOL/proc/.$S.file.tmp"
# a job TMC stopped half-way (requeued with pos/cnt, 3 rows written by its
# workers) resumes from its rows: only the other 3 files are converted
make_tree y 6
T=100101000000006
job_json '"path_head": "/y", "path_tail": "", "filelist": true' >"$SPOOL/req/$T"
cp "$T_DIR/y.list" "$SPOOL/proc/$T.file"
printf '6\t3\t3' >"$SPOOL/proc/$T.stat"
printf '{"status":"stopped","pos":3,"cnt":6}' >"$SPOOL/proc/$T.ctrl"
head -3 "$T_DIR/y.list" | sed 's/$/\t2\t2\t0/' >"$SPOOL/done/$T.result"
start_daemon
wait_done $S 90 && cmp -s "$SPOOL/done/$S.file" "$T_DIR/z.list" && rows_are $S 7
ok $? "a job left in proc/ mid-scan is adopted and scanned again: 7 files"
wait_done $T 90 && rows_are $T 6 && [ "$(head -3 "$SPOOL/done/$T.result")" = "$(head -3 "$T_DIR/y.list" | sed 's/$/\t2\t2\t0/')" ]
ok $? "a job TMC stopped resumes from its result rows: 6 rows, the first 3 kept"
is "$(ls "$SITE/out2" | grep -c '^y-') $(wc -l <"$SPOOL/proc/$T.log")" "3 6" "only the 3 files without a row were converted"
stop_daemon
