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
#    run again publishes the rest, and every item reports exactly once.
. "$TMC_SRC/tests/lib/tap.sh"
plan 11
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
# every step of every item of prefix P reported exactly once
reports_once() {
	local lines uniq
	lines=$(grep -c "^$1" "$RESULTS")
	uniq=$(grep "^$1" "$RESULTS" | cut -f1,2 | sort -u | wc -l)
	echo "$lines $uniq"
}

start_daemon && stop_daemon # the spool, its stages
if [ "$(id -u)" -ne 0 ] || ! command -v strace >/dev/null; then
	for i in $(seq 1 11); do ok 0 "# SKIP needs root and strace (to count and inject calls)"; done
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
