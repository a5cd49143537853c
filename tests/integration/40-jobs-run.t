#!/bin/bash
# tmc-jobs end to end: a job of 200 files submitted with `tmcwatch submit`
# through a two-step copy template ends in done/ with its list, 200 result
# rows in TMC's format, TMC's .stat, every output, the callback queued for
# tmc-notify, and status counting job files only. A job copied into req/
# with cp under its own name is never read half-written and runs under
# that name as its seq, as in TMC. client_cnt jobs at most are open at once.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 17

write_config "$COPY2"
make_tree big 200
tree_job big '"callback": "http://127.0.0.1:9/done"'
start_daemon
ok $? "daemon started"
seq=$(submit "$T_DIR/big.json")
[[ $seq =~ ^[0-9]{15}$ ]]
ok $? "submit printed a 15-digit seq ($seq)"
wait_done "$seq" 120
ok $? "the job reached done/"
is "$(ls "$SPOOL/proc/$seq" "$SPOOL/req/$seq" 2>/dev/null | wc -l)" 0 "and left req/ and proc/"
check "done/<seq>.file is the list, in TMC's byte order" cmp "$SPOOL/done/$seq.file" "$T_DIR/big.list"
is "$(rows "$seq")" 200 "200 result rows"
is "$(cut -f2- "$SPOOL/done/$seq.result" | sort -u)" "$(printf '2\t2\t0')" \
	"every row: 2 steps requested, 2 files created, no warning"
is "$(cut -f1 "$SPOOL/done/$seq.result" | LC_ALL=C sort)" "$(cat "$T_DIR/big.list")" \
	"one row per file of the list"
is "$(stat_of "$seq")" "$(printf '200\t200\t200')" "proc/<seq>.stat: total, dispatched, finished"
check "every output is there, byte for byte" outputs_of big
is "$(cb_field "$seq" url) $(cb_field "$seq" seq) $(cb_field "$seq" result) $(cb_field "$seq" count)" \
	"http://127.0.0.1:9/done $seq 1 200" "callback queued: url, seq, result=1, count"
is "$(cb_field "$seq" processed) $(cb_field "$seq" created) $(cb_field "$seq" warn)" "200 400 0" \
	"callback: processed, created, warn"
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status"
grep -q '^jobs: waiting 0 running 0 done 1 failed 0$' "$T_DIR/status"
ok $? "status counts job files only"

# cp: half a file first, the rest later; never taken or refused half-way
make_tree cp 5
tree_job cp
head -c 30 "$T_DIR/cp.json" >"$SPOOL/req/myjob.json"
sleep 1.5
is "$(ls "$SPOOL/req") $(ls "$SPOOL/err" | wc -l)" "myjob.json 0" \
	"a half-copied job is left alone (still req/myjob.json, nothing in err/)"
tail -c +31 "$T_DIR/cp.json" >>"$SPOOL/req/myjob.json"
wait_done myjob.json 90
rows_are myjob.json 5 && outputs_of cp
ok $? "once complete it ran under its name, as in TMC: done/myjob.json, 5 rows, 5 outputs"

# client_cnt (4): six jobs, stages frozen; four open, two wait
stages_freeze
for t in c1 c2 c3 c4 c5 c6; do make_tree $t 3; tree_job $t; submit "$T_DIR/$t.json" >>"$T_DIR/cseqs"; done
wait_for 20 eval '[ "$(ls "$SPOOL/proc" | grep -cv "\.")" = 4 ]'
sleep 1
is "$(ls "$SPOOL/proc" | grep -cv '\.') $(ls "$SPOOL/req" | grep -cv '\.')" "4 2" \
	"client_cnt 4: four jobs open, two wait in req/"
stages_thaw
for s in $(cat "$T_DIR/cseqs"); do wait_done "$s" 60 || break; done
ok $? "all six finish once the stages run"
stop_daemon
