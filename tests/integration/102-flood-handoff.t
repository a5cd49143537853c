#!/bin/bash
# The handoff's cheap path, proved with real processes (issue #15, point 4):
#  - a pass step writes no ticket and fsyncs nothing (its items move on
#    with the ticket they came with) and writes its status line once per
#    item (strace counts a bare stage's calls over a flood);
#  - a flood of a few hundred items through three pass steps, while the
#    workers of the middle and the last step are killed with SIGKILL, ends
#    with every item finished once: a result line and a usage record for
#    every step of every item, nothing left in new/ cur/ err/ tmp/, and
#    the last finished folders kept in free/ for the next publish;
#  - afterwards `tmcwatch status` shows every worker idle (the "-" line is
#    written when a worker blocks, no longer after every item), and a
#    worker busy with an item shows it while it works;
#  - what a power cut leaves of an unfsynced ticket.next (the file there,
#    empty) is dropped at finalize: the item goes on with its previous
#    ticket instead of being claimed with an empty one into err/.
. "$TMC_SRC/tests/lib/tap.sh"
plan 14
PASS3='{ "pass3": { "proc": [
  {"name": "S1", "source": "hires", "kind": "pass", "path_head": "/x"},
  {"name": "S2", "source": "S1", "kind": "pass", "path_head": "/x"},
  {"name": "S3", "source": "S2", "kind": "pass", "path_head": "/x"}
] } }'
export TMC_RESTART_DELAY_MS=50
N=${TMC_FLOOD_ITEMS:-400}
write_config "$PASS3" '"max_attempts": 1000, "retry_delay": 1,'
make_inputs "$N"
S=$SPOOL/stages/pass3
RESULTS=$SPOOL/proc/flood.log

# 1. a bare stage 1 (no supervisor) under strace while N items pass it
start_daemon && stop_daemon
if [ "$(id -u)" -eq 0 ] && command -v strace >/dev/null; then
	# the items wait in new/ first, so the stage never blocks between them;
	# LeakSanitizer cannot run under ptrace
	enqueue pass3 b <"$T_DIR/list" >/dev/null
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -o "$T_DIR/strace" \
		-e trace=fsync,fdatasync,pwrite64,openat "$BIN/tmc-copy" -c "$CONF" -T pass3 -s 0 \
		2>"$T_DIR/bare.err" &
	STRACE=$!
	T_PIDS="$T_PIDS $STRACE"
	wait_for 30 grep -q ': started$' "$T_DIR/bare.err"
	wait_for 120 eval "[ \$(ls '$S/01-S2/new' | wc -l) -ge $N ]"
	kill -TERM "$(pgrep -P $STRACE)"
	wait "$STRACE"
	is "$(grep -c -E '^[0-9]+ +f(data)?sync\(' "$T_DIR/strace")" 0 \
		"a pass step fsyncs nothing"
	is "$(grep -c 'ticket.next' "$T_DIR/strace")" 0 \
		"nor writes a ticket for the next step: its items move on with their own"
	writes=$(grep -c -E '^[0-9]+ +pwrite64\(' "$T_DIR/strace")
	[ "$writes" -le $((N + 5)) ]
	ok $? "its status line was written once per item, not twice ($writes writes for $N items)"
	rm -rf "$S"/01-S2/new/* "$SPOOL"/proc/*
else
	ok 0 "# SKIP needs root and strace (to count a stage's calls)"
	ok 0 "# SKIP needs root and strace"
	ok 0 "# SKIP needs root and strace"
fi

# 2. the flood, with SIGKILLs
start_daemon
wait_children
enqueue pass3 t job:flood <"$T_DIR/list" >/dev/null &
ENQ=$!
T_PIDS="$T_PIDS $ENQ"
kills=0
for round in $(seq 1 12); do
	step=$((round % 2 + 1))
	# a worker restarted a moment ago may not run its program yet
	wait_for 30 eval "victim=\$(pgrep -f 'tmc-copy -c $CONF -t .* -T pass3 -s $step\$')" || continue
	kill -KILL $victim 2>/dev/null && kills=$((kills + 1))
	wait_for 10 eval "[ \$(wc -l <'$RESULTS' 2>/dev/null || echo 0) -ge \$((round * $N / 6)) ]"
done
wait $ENQ
diag "killed $kills workers of steps 2 and 3 during the flood"
[ "$kills" -ge 6 ]
ok $? "workers were killed during the flood ($kills)"
wait_for 120 eval "[ \$(cut -f1,2 '$RESULTS' | sort -u | wc -l) -ge $((3 * N)) ]"
wait_idle 60
is "$(cut -f1,2 "$RESULTS" | sort -u | wc -l)" $((3 * N)) \
	"a result line for every step of every item"
is "$(awk -F'\t' '$2 == 2 && $8 == "ok"' "$RESULTS" | cut -f1 | sort -u | wc -l)" "$N" \
	"every item finished its last step ok"
is "$(spool_items "$SPOOL" new) $(spool_items "$SPOOL" cur) $(spool_items "$SPOOL" err) $(find "$S"/*/tmp -mindepth 1 | wc -l)" \
	"0 0 0 0" "nothing left in new/, cur/, err/ or tmp/"
# the last items finished after the last publish: their folders wait in
# free/ for the next one (recycle.c), never more than 256, each a ticket
kept=$(find "$SPOOL/free" -mindepth 1 -maxdepth 1 -type d | wc -l)
odd=$(find "$SPOOL/free" -mindepth 2 ! -name ticket | wc -l)
[ "$kept" -ge 1 ] && [ "$kept" -le 256 ] && [ "$odd" -eq 0 ]
ok $? "finished folders are kept in free/ for reuse: $kept (1 to 256), nothing but tickets ($odd)"
recs=$(cat "$SPOOL"/state/records/*.json | grep -o '"stage":"pass3/[^"]*","origin":"job:flood","item":"[^"]*"' |
	sort -u | wc -l)
is "$recs" $((3 * N)) "a usage record for every step of every item"
dup=$(($(wc -l <"$RESULTS") - 3 * N))
[ "$dup" -le "$kills" ]
ok $? "steps redone after a kill at most once per kill ($dup repeated lines)"

# 3. idle workers show no item; a busy one shows its item
wait_for 30 eval '! "$BIN/tmcwatch" -c "$CONF" status | grep -q "^worker "'
ok $? "tmcwatch status shows every worker idle after the flood"
stop_daemon
TMC_FAILPOINT=process:hang start_daemon
wait_children
head -n 1 "$T_DIR/list" | enqueue pass3 slow job:flood >/dev/null
wait_for 30 eval '"$BIN/tmcwatch" -c "$CONF" status | grep -q "^worker pass3/00-S1[^ ]* pid [0-9]*: .*(slow000001) for"'
ok $? "tmcwatch status shows the item a busy worker works on"
stop_daemon
# the hung worker was killed by the stop: its item goes back to new/
rm -rf "$S"/*/new/* "$S"/*/cur/*

# 4. the state a power cut can leave: committed into step 2's tmp/, the
# unfsynced ticket.next empty, the previous ticket whole
head -n 1 "$T_DIR/list" | "$BIN/tmc-enqueue" -c "$CONF" -T pass3 -s site01 -b "$SITE/in" -p cut \
	-o job:flood >/dev/null
mv "$S/00-S1/new/cut000001" "$S/01-S2/tmp/cut000001"
: >"$S/01-S2/tmp/cut000001/ticket.next"
start_daemon
wait_for 60 eval "grep -q '^cut000001	2	S3	.*	ok\$' '$RESULTS'"
ok $? "an empty ticket.next left by a power cut: the item went on with its previous ticket"
is "$(spool_items "$SPOOL" err)" 0 "and did not go to err/"
stop_daemon
