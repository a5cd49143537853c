#!/bin/bash
# Result lines say their outcome (tmcwatch-spool(5), RESULTS): a step that
# failed for good writes "failed" (before, "created 0, warnings 1" and no
# word, and tmc-jobs looked in err/ to tell), a copy that finds its output
# already there and may not overwrite it writes "skipped", the others "ok".
# The job's TMC rows and .stat are as they always were.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 8

write_config "$COPY2"
mkdir -p "$SITE/g/sub" "$SITE/out1" "$T_DIR/elsewhere"
echo ok >"$SITE/g/ok.jpg"
echo skip >"$SITE/g/skip.jpg"
echo bad >"$SITE/g/sub/bad.jpg"
echo older >"$SITE/out1/skip.jpg"          # exists: step A skips it (overwrite false)
ln -s "$T_DIR/elsewhere" "$SITE/out1/sub" # a link in A's output path: a permanent failure
start_daemon
ok $? "daemon started"

tree_job g '"subdir": true'
seq=$(submit "$T_DIR/g.json")
wait_done "$seq" 90
ok $? "the job is done"
L=$SPOOL/proc/$seq.log
# line FILE STEP: "<created> <warnings> <outcome>" of that file's step
line() { awk -F'\t' -v r="$1" -v s="$2" '$6 == r && $2 == s { print $4, $5, $8 }' "$L" | tail -1; }
is "$(awk -F'\t' '{ print NF }' "$L" | sort -u)" 8 "every line has 8 fields, the outcome last"
is "$(line /sub/bad.jpg 0)" "0 1 failed" "a permanent failure's line says failed"
grep -F '/sub/bad.jpg' "$L" | grep -q 'symbolic link'
ok $? "its reason is still there"
is "$(line /skip.jpg 0) / $(line /skip.jpg 1)" "0 0 skipped / 1 0 ok" \
	"an output that is not overwritten: skipped; its successor ran: ok"
is "$(LC_ALL=C sort "$SPOOL/done/$seq.result" | tr '\t\n' ',;')" \
	"/ok.jpg,2,2,0;/skip.jpg,2,1,0;/sub/bad.jpg,2,0,1;" \
	"TMC's rows as before: the failure counts one warning, B never ran"
is "$(stat_of "$seq")" "$(printf '3\t3\t3')" ".stat as before"
stop_daemon
