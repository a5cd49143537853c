#!/bin/bash
# Crash safety with real processes: 2,000 originals through a four-step copy
# pipeline that both fans out (A feeds B and C) and chains (B feeds D),
# while stage processes and the supervisor itself are killed with SIGKILL
# many times. Afterwards every output exists exactly once with the right
# bytes, no temporary file is left in the site, and no item is left in
# new/, cur/ or err/. Then workers killed exactly between their commit and
# the delivery of their successors (failpoints, for the fan-out and the
# chain handoff) lose and double nothing.
. "$TMC_SRC/tests/lib/tap.sh"
plan 10
FANOUT='{ "chain": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
  {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2"},
  {"name": "C", "source": "A", "kind": "copy", "path_head": "/out3"},
  {"name": "D", "source": "B", "kind": "copy", "path_head": "/out4"}
] } }'

export TMC_RESTART_DELAY_MS=50

N=${TMC_CRASH_ITEMS:-2000}
write_config "$FANOUT" '"max_attempts": 1000, "retry_delay": 1,'
make_inputs "$N"
start_daemon
ok $? "daemon started"
enqueue chain <"$T_DIR/list" >/dev/null &
ENQ=$!

kills=0 sup_kills=0
for round in $(seq 1 36); do
	sleep 0.$((RANDOM % 3 + 1))
	if [ $((round % 9)) -eq 0 ]; then
		kill -KILL "$DAEMON" 2>/dev/null && sup_kills=$((sup_kills + 1))
		wait "$DAEMON" 2>/dev/null
		sleep 0.2
		start_daemon
	else
		# after a supervisor restart its children may not be up yet
		wait_for 30 eval 'victims=($(pgrep -f "tmc-copy -c $CONF")); [ ${#victims[@]} -gt 0 ]' ||
			continue
		kill -KILL "${victims[RANDOM % ${#victims[@]}]}" 2>/dev/null && kills=$((kills + 1))
	fi
done
wait $ENQ
ok $? "all $N originals published while processes were being killed"
diag "killed $kills stage processes and the supervisor $sup_kills times"
test "$kills" -ge 20 -a "$sup_kills" -ge 3
ok $? "at least 20 stage kills and 3 supervisor kills happened"

wait_files "$SITE/out4" $N 300
wait_files "$SITE/out3" $N 60
wait_idle 60
is "$(count_files "$SITE/out1") $(count_files "$SITE/out2") $(count_files "$SITE/out3") $(count_files "$SITE/out4")" \
	"$N $N $N $N" "each step wrote exactly $N files"
check "every output has the original's bytes" eval 'outputs_match out1 && outputs_match out2 && outputs_match out3 && outputs_match out4'
is "$(stray_temps)" 0 "no temporary output file left in the site"
is "$(spool_items "$SPOOL" new) $(spool_items "$SPOOL" cur) $(spool_items "$SPOOL" err)" "0 0 0" \
	"no item left in new/, cur/ or err/"
stop_daemon

# Workers killed between their commit and the delivery of their successors:
# stage A (two successors: out.tmp -> out) and stage B (one successor: the
# item itself moved to D's tmp/).
echo "/fp.jpg" >"$T_DIR/fp.list"
echo "failpoint original" >"$SITE/in/fp.jpg"
"$BIN/tmc-enqueue" -c "$CONF" -T chain -s site01 -b "$SITE/in" -p fp -o job:fp <"$T_DIR/fp.list" >/dev/null
S=$SPOOL/stages/chain
(TMC_FAILPOINT=after-commit exec "$BIN/tmc-copy" -c "$CONF" -T chain -s 0 2>>"$T_DIR/fp.err")
rc_a=$?
committed_a=$(test -d "$S/00-A/cur/fp000001/out" -a ! -e "$S/01-B/new/fp000001" -a ! -e "$S/02-C/new/fp000001"; echo $?)
# stage A restarted: recovery returns the committed item, the claim only delivers
"$BIN/tmc-copy" -c "$CONF" -T chain -s 0 2>>"$T_DIR/fp.err" &
pid=$!
wait_for 30 test -e "$S/01-B/new/fp000001/ticket" -a -e "$S/02-C/new/fp000001/ticket"
kill -TERM $pid; wait $pid
(TMC_FAILPOINT=after-commit exec "$BIN/tmc-copy" -c "$CONF" -T chain -s 1 2>>"$T_DIR/fp.err")
rc_b=$?
test $rc_a -eq 137 -a "$committed_a" -eq 0 -a $rc_b -eq 137 -a -e "$S/03-D/tmp/fp000001/ticket" \
	-a ! -e "$S/03-D/tmp/fp000001/ticket.next" \
	-a ! -e "$S/03-D/new/fp000001" -a ! -e "$S/01-B/cur/fp000001"
ok $? "failpoints: both workers died after their commit, before delivery ($rc_a $rc_b)"
start_daemon
wait_for 30 test -e "$SITE/out4/fp.jpg" -a -e "$SITE/out3/fp.jpg"
wait_idle 30
stop_daemon
lines=$(awk -F'\t' '$1=="fp000001"' "$SPOOL/proc/fp.log" | cut -f2 | sort | tr '\n' ' ')
is "$lines" "0 1 2 3 " "after restart: each step of that item ran exactly once"
is "$(ls "$S"/*/tmp | grep -c fp000001)" 0 "nothing of it is left in any tmp/"
