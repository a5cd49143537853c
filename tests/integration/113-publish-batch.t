#!/bin/bash
# Batch publish (issue #15, point 4; tmcwatch-spool(5), Publishing), with
# the real tmc-enqueue and a real `tmcwatch run`:
#  - tmc-enqueue publishes N items with one syncfs per batch of 64 and
#    (almost) no fsync, where one item at a time cost two fsyncs each
#    (strace counts the calls);
#  - those items go through three pass steps: every step of every item
#    reports exactly once;
#  - tmc-enqueue killed with SIGKILL in the middle of a flush (strace
#    injects the signal at a rename into new/) leaves every item in new/
#    whole and the rest of its batch only as '+' folders in tmp/; the same
#    run again publishes the rest, and every item reports exactly once;
#  - tmc-jobs publishes a job's items the same way, and killed in the
#    middle of a flush, the job resumes and ends with every file once
#    (a file counts as dispatched only once its items are in new/).
. "$TMC_SRC/tests/lib/tap.sh"
plan 16
PASS3='{ "pass3": { "proc": [
  {"name": "S1", "source": "hires", "kind": "pass", "path_head": "/x"},
  {"name": "S2", "source": "S1", "kind": "pass", "path_head": "/x"},
  {"name": "S3", "source": "S2", "kind": "pass", "path_head": "/x"}
] } }'
N=320
write_config "$PASS3"
make_inputs "$N"
S=$SPOOL/stages/pass3
RESULTS=$SPOOL/proc/batch.log
# LeakSanitizer cannot run under ptrace
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

# items of prefix P in step 1's new/ whose ticket is whole: it names them
whole_items() {
	local d n=0
	for d in "$S/00-S1/new/$1"*; do
		[ -e "$d" ] || continue
		grep -qx "id=$(basename "$d")" "$d/ticket" 2>/dev/null && n=$((n + 1))
	done
	echo "$n"
}
# reports_once P [LOG]: the result lines of items of prefix P, and how many
# (item, step) pairs they name: equal when each reported exactly once
reports_once() {
	local log=${2:-$RESULTS} lines uniq
	lines=$(grep -c "^$1" "$log")
	uniq=$(grep "^$1" "$log" | cut -f1,2 | sort -u | wc -l)
	echo "$lines $uniq"
}

start_daemon && stop_daemon # the spool, its stages
if [ "$(id -u)" -ne 0 ] || ! command -v strace >/dev/null; then
	for i in $(seq 1 16); do ok 0 "# SKIP needs root and strace (to count and inject calls)"; done
	exit 0
fi

# 1. N items, the syncs counted
strace -f -qq -o "$T_DIR/strace" -e trace=fsync,fdatasync,syncfs \
	"$BIN/tmc-enqueue" -c "$CONF" -T pass3 -s site01 -b "$SITE/in" -p b -o job:batch \
	<"$T_DIR/list" >"$T_DIR/published"
is "$(cat "$T_DIR/published") $(whole_items b)" "$N $N" \
	"tmc-enqueue published $N items, each whole in new/"
syncfs=$(grep -c -E '^[0-9]+ +syncfs\(' "$T_DIR/strace")
fsyncs=$(grep -c -E '^[0-9]+ +f(data)?sync\(' "$T_DIR/strace")
diag "$syncfs syncfs, $fsyncs fsync/fdatasync for $N items"
[ "$syncfs" -ge 1 ] && [ "$syncfs" -le $((N / 32 + 2)) ]
ok $? "one syncfs per batch of items ($syncfs for $N items)"
[ "$fsyncs" -le $((N / 32)) ]
ok $? "and not an fsync per item ($fsyncs for $N items)"
is "$(find "$S/00-S1/tmp" -mindepth 1 | wc -l)" 0 "nothing left in tmp/"

# 2. through the pipeline
start_daemon
wait_for 120 eval "[ \$(grep -c '^b' '$RESULTS' 2>/dev/null || echo 0) -ge $((3 * N)) ]"
wait_idle 60
is "$(reports_once b)" "$((3 * N)) $((3 * N))" "every step of every item reported exactly once"
stop_daemon

# 3. killed in the middle of the third flush: 128 items renamed before it
# (and the spool's own renames, if any), then 20 of the third batch
# (the braces keep bash's "Killed" notice out of the output)
{
	strace -f -qq -o /dev/null -e trace=renameat2 -e inject=renameat2:signal=KILL:when=149 \
		"$BIN/tmc-enqueue" -c "$CONF" -T pass3 -s site01 -b "$SITE/in" -p k -o job:batch \
		<"$T_DIR/list" >/dev/null
	rc=$?
} 2>/dev/null
is "$rc" 137 "tmc-enqueue was killed by SIGKILL mid-run"
in_new=$(ls "$S/00-S1/new" | grep -c '^k')
builds=$(ls "$S/00-S1/tmp" | grep -c '^+k')
diag "after the kill: $in_new items in new/, $builds built items in tmp/"
is "$(whole_items k)" "$in_new" "every item in new/ is whole"
[ "$in_new" -ge 128 ] && [ "$in_new" -lt "$N" ] && [ "$builds" -ge 2 ] &&
	[ $((in_new + builds)) -le 192 ]
ok $? "the kill landed in a flush: the rest of its batch only in tmp/, as '+' folders"
"$BIN/tmc-enqueue" -c "$CONF" -T pass3 -s site01 -b "$SITE/in" -p k -o job:batch \
	<"$T_DIR/list" >"$T_DIR/published"
is "$(cat "$T_DIR/published") $(whole_items k)" "$((N - in_new)) $N" \
	"the same run again published the rest, once"
start_daemon
wait_for 120 eval "[ \$(grep -c '^k' '$RESULTS' 2>/dev/null || echo 0) -ge $((3 * N)) ]"
wait_idle 60
is "$(reports_once k)" "$((3 * N)) $((3 * N))" "every step of every item reported exactly once"
stop_daemon
is "$(spool_items "$SPOOL" err)" 0 "nothing went to err/"

# 4. tmc-jobs (alone, no supervisor) emits a job of N files in one window,
# killed in the middle of its third flush; then the daemon finishes the job
mkdir -p "$SITE/j"
for i in $(seq 1 "$N"); do echo "job file $i" >"$SITE/j/j-$i.jpg"; done
printf '{"hires": {"site": "site01", "path_head": "/j", "path_tail": "", "include": ["*.jpg"]}, "template": "pass3"}\n' >"$T_DIR/j.json"
seq=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/j.json" | tail -1)
{
	TMC_JOBS_WINDOW=1000 strace -f -qq -o "$T_DIR/jobs.strace" \
		-e trace=fsync,fdatasync,syncfs,renameat2 -e inject=renameat2:signal=KILL:when=150 \
		"$BIN/tmc-jobs" -c "$CONF"
	rc=$?
} 2>/dev/null
is "$rc" 137 "tmc-jobs was killed by SIGKILL while it emitted job $seq"
syncfs=$(grep -c -E '^[0-9]+ +syncfs\(' "$T_DIR/jobs.strace")
fsyncs=$(grep -c -E '^[0-9]+ +f(data)?sync\(' "$T_DIR/jobs.strace")
in_new=$(ls "$S/00-S1/new" | grep -c "^$seq-")
builds=$(ls "$S/00-S1/tmp" | grep -c "^+$seq-")
diag "tmc-jobs: $syncfs syncfs, $fsyncs fsync/fdatasync; $in_new items in new/, $builds built in tmp/"
[ "$syncfs" -ge 2 ] && [ "$syncfs" -le $((in_new / 32 + 2)) ] && [ "$fsyncs" -le $((in_new / 32)) ]
ok $? "tmc-jobs synced once per batch, not per item"
[ "$in_new" -ge 64 ] && [ "$builds" -ge 2 ] && [ "$(whole_items "$seq-")" = "$in_new" ]
ok $? "the kill left whole items in new/ and the rest of a batch in tmp/"
start_daemon
wait_for 120 test -e "$SPOOL/done/$seq"
ok $? "the job reached done/"
is "$(cat "$SPOOL/proc/$seq.stat") $(wc -l <"$SPOOL/done/$seq.result") $(reports_once "$seq-" "$SPOOL/proc/$seq.log") $(spool_items "$SPOOL" err)" \
	"$(printf '%s\t%s\t%s' "$N" "$N" "$N") $N $((3 * N)) $((3 * N)) 0" \
	"exact .stat, a row per file, every step of every file reported once, none in err/"
stop_daemon
