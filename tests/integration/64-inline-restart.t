#!/bin/bash
# Inline-proc jobs across crashes and idleness (tmc-jobs(8), INLINE PROCS):
# the whole process group (supervisor, tmc-jobs, the inline template's
# stage workers) is killed with SIGKILL in the middle of a 400-file job
# and started again: the job resumes and finishes once, one row per file,
# every output right. Once nothing runs it, its stage workers stop after
# inline_idle seconds and its file and stage folders are removed; a new job
# with the same proc makes it again and its workers start again. A paused
# job named by its file ("myjob.json", a name with a dot) keeps its
# template while it waits in proc/ (and gets it back if it is removed all
# the same), and runs when resumed.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 17
export TMC_JOBS_WINDOW=4 TMC_RESTART_DELAY_MS=50

write_config "$COPY3" '"inline_idle": 2,'
# two copy steps (out1, then out2 from out1) given inline: no configured template
PROC='[{"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
 {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2"}]'
inline_tree_job() {
	printf '{"hires": {"site": "site01", "path_head": "/%s", "path_tail": "", "include": ["*.jpg"]}, "proc": %s}\n' \
		"$1" "$PROC" >"$T_DIR/$1.json"
}
# the daemon in a process group of its own, so that one kill takes it all
start_group() {
	setsid "$BIN/tmcwatch" -c "$CONF" run 2>>"$T_DIR/daemon.err" &
	DAEMON=$!
	T_PIDS="$T_PIDS $DAEMON"
	wait_for 20 test -e "$SPOOL/run/tmcwatch.pid"
}
tpl_of() { ls "$SPOOL/templates" 2>/dev/null | sed -n 's/^\(inline-[0-9a-f]\{12\}\)\.json$/\1/p'; }
workers_of() { pgrep -f -- "-T $1 -s" >/dev/null; }
starts_of() { grep -c "inline template $1: items waiting" "$T_DIR/tmcwatch.log"; }

make_tree k 400
inline_tree_job k
start_group
ok $? "daemon started in its own process group"
seq=$(submit "$T_DIR/k.json")
[[ $seq =~ ^[0-9]{15}$ ]]
ok $? "the inline-proc job is queued ($seq)"
wait_for 60 eval '[ -n "$(tpl_of)" ]' && tpl=$(tpl_of) && wait_for 60 workers_of "$tpl"
ok $? "its template $tpl is written and its stage workers run"
wait_files "$SITE/out2" 40 120
kill -KILL -- -"$DAEMON"
wait "$DAEMON" 2>/dev/null
wait_for 20 eval '! pgrep -f -- "-c $CONF" >/dev/null'
ok $? "SIGKILL to the whole group mid-job: every process is gone"
mid=$(count_files "$SITE/out2")
test ! -e "$SPOOL/done/$seq" && [ "$mid" -lt 400 ]
ok $? "the job was cut in the middle ($mid of 400 files through both steps)"
start_group
wait_done "$seq" 180
ok $? "after the restart the job reaches done/"
is "$(rows "$seq") $(cut -f1 "$SPOOL/done/$seq.result" | sort -u | wc -l)" "400 400" "400 rows, one per file"
# a step killed after writing its output and before its commit is redone
# and writes it again (its own earlier attempt's output, outfile_begun);
# the outputs themselves are checked below
is "$(cut -f2,4 "$SPOOL/done/$seq.result" | sort -u | tr '\t' ,)" "2,0" "every row: 2 requested, 0 warnings"
diag "rows with created below 2 (a step redone after the kill): $(awk -F'\t' '$3 < 2' "$SPOOL/done/$seq.result" | wc -l)"
check "every output is there, byte for byte" outputs_of k
diag "step results reported twice after the kill: $(log_dups "$seq")"

# idle: workers stop, then the file and the stage folders go
wait_for 60 eval '! workers_of "$tpl"'
ok $? "with no item left its stage workers stop (inline_idle 2 s)"
wait_for 60 eval '[ ! -e "$SPOOL/templates/$tpl.json" ] && [ ! -e "$SPOOL/stages/$tpl" ]'
ok $? "and templates/$tpl.json and stages/$tpl are removed once no job runs it"
before=$(starts_of "$tpl")

# the same proc again: made again, started again
make_tree m 20
inline_tree_job m
seq2=$(submit "$T_DIR/m.json")
wait_done "$seq2" 120 && rows_are "$seq2" 20 && outputs_of m
ok $? "a new job with the same proc runs: 20 rows, every output"
[ "$(starts_of "$tpl")" -gt "$before" ]
ok $? "its stage workers were started again ($before starts before, $(starts_of "$tpl") after)"

# a job named by its file ("myjob.json"), paused before any file of it ran:
# the supervisor is stopped (SIGSTOP), so no worker of the new template can
# start, however busy the machine; tmc-jobs takes the job, writes its
# template and queues its first items, the pause is applied, then the
# supervisor goes on. While the job waits in proc/ its template stays.
make_tree p 40
printf '{"hires": {"site": "site01", "path_head": "/p", "path_tail": "", "include": ["*.jpg"]}, "proc": %s}\n' \
	'[{"name": "P", "source": "hires", "kind": "copy", "path_head": "/p1"}]' >"$T_DIR/.myjob.json"
kill -STOP "$DAEMON"
mv "$T_DIR/.myjob.json" "$SPOOL/req/myjob.json"
ptpl() { tpl_of | grep -vx "$tpl" | head -1; }
wait_for 60 eval '[ -n "$(ptpl)" ] && [ -e "$SPOOL/proc/myjob.json" ]'
ptpl=$(ptpl)
ctrl myjob.json '{"status":"pause"}'
wait_for 30 ctrl_is myjob.json paused
test $? -eq 0 -a -n "$ptpl" -a "$(count_files "$SITE/p1")" = 0
ok $? "job myjob.json is taken, its template $ptpl written, and it is paused before any file ran"
kill -CONT "$DAEMON"
# a witness: another proc's job, done, and its template removed after
# inline_idle, by which time the supervisor has long judged $ptpl
make_tree w 3
printf '{"hires": {"site": "site01", "path_head": "/w", "path_tail": "", "include": ["*.jpg"]}, "proc": %s}\n' \
	'[{"name": "W", "source": "hires", "kind": "copy", "path_head": "/w1"}]' >"$T_DIR/w.json"
seqw=$(submit "$T_DIR/w.json")
wait_done "$seqw" 120 &&
	wtpl=$(sed -n 's/.*inline template \(inline-[0-9a-f]*\): items waiting.*/\1/p' "$T_DIR/tmcwatch.log" |
		grep -vx -e "$tpl" -e "$ptpl" | tail -1) && [ -n "$wtpl" ] &&
	wait_for 60 grep -q "inline template $wtpl: removed" "$T_DIR/tmcwatch.log"
test $? -eq 0 -a -e "$SPOOL/templates/$ptpl.json" -a -e "$SPOOL/proc/myjob.json"
ok $? "while it is paused in proc/ its template stays (another idle one, $wtpl, was removed)"
# removed under it all the same (as a supervisor reading another configuration,
# which could not match the job to it, would): tmc-jobs writes it back
rm -f "$SPOOL/templates/$ptpl.json"
wait_for 30 test -e "$SPOOL/templates/$ptpl.json"
ok $? "its template, removed under the paused job, is written back by tmc-jobs"
ctrl myjob.json '{"status":"resume"}'
wait_done myjob.json 120 && rows_are myjob.json 40 &&
	[ "$(count_files "$SITE/p1")" = 40 ]
ok $? "resumed, it runs: 40 rows, 40 outputs"
kill -TERM "$DAEMON"
wait "$DAEMON" 2>/dev/null
