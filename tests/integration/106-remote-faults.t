#!/bin/bash
# Remote units when things go wrong (tmc-remote(8), FAULTS), through a real
# gearmand: a worker host SIGKILLed (its whole process group) with a unit
# in hand loses nothing and doubles nothing: after the deadline the item is
# back in new/ with no attempt counted and the local workers finish it, one
# final result line per file and step, every output byte for byte. A
# worker host with another secret: its reply is refused (logged), nothing
# of it is written, the items finish locally. A worker host whose template
# differs: the unit is declined (logged once per process), local carries
# on and every output is where THIS host's template puts it.
# The local workers of the head step are held (SIGSTOP) until tmc-remote
# has surely tried, so each case is exercised, not skipped by a fast local.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
. "$TMC_SRC/tests/lib/remote.sh"
plan 13

command -v gearmand >/dev/null || { echo "1..0 # SKIP gearmand is not installed"; exit 0; }
GM_DEADLINE=4
start_gearmand
ok $? "gearmand answers on 127.0.0.1:$GM_PORT"
write_config "$COPY2" "$(gearman_keys)"
start_daemon
wait_children
ok $? "spool host started"
LOCAL=$(pgrep -f "tmc-copy -c $CONF .* -T two -s 0$" | tr '\n' ' ')
hold() { kill -STOP $LOCAL 2>/dev/null; }
release() { kill -CONT $LOCAL 2>/dev/null; }
trap 'release; cleanup' EXIT
lines_ok() { # lines_ok SEQ N: one line per file and step, 2N lines, no failure
	[ "$(log_dups "$1")" = 0 ] && [ "$(wc -l <"$SPOOL/proc/$1.log")" = $((2 * $2)) ] &&
		! grep -q 'failed$' "$SPOOL/proc/$1.log"
}

# ---- a worker host killed with a unit in hand
worker_config "$T_DIR/wk" "$COPY2"
start_testworker "$T_DIR/wk" hostk -H
wait_for 20 gm_workers tmcwatch:two:00 1
hold
make_tree k 5
tree_job k
seq=$(submit "$T_DIR/k.json")
wait_for 60 eval '[ "$(remote_field hostk inflight)" = 1 ]'
ok $? "a unit is in flight on hostk"
kill -KILL -- -"$TW_PID"
release
wait_done "$seq" 120
ok $? "the job finished after the worker host died"
check "every output byte for byte" outputs_of k
check "one result line per file and step, none failed" lines_ok "$seq" 5
[ "$(spool_items "$SPOOL" err)" = 0 ] && grep -q "no reply within 4 s" "$T_DIR/tmcwatch.log"
ok $? \
	"nothing in err/; the unit given up at the deadline, not failed"
wait_for 20 eval '! gm_workers tmcwatch:two:00 1'

# ---- a worker host with another secret
worker_config "$T_DIR/ws" "$COPY2" "another-secret-of-16-bytes"
start_testworker "$T_DIR/ws" hostbad
wait_for 20 gm_workers tmcwatch:two:00 1
hold
make_tree s 5
tree_job s
seq=$(submit "$T_DIR/s.json")
wait_for 60 grep -q 'bad reply from hostbad: not signed with our secret' "$T_DIR/tmcwatch.log"
ok $? "the reply signed with another secret is refused, and logged"
release
wait_done "$seq" 120 && outputs_of s && lines_ok "$seq" 5
ok $? "the items finish locally, every output, one line per file and step"
is "$(remote_field hostbad done)" 0 "nothing done counted for hostbad"
kill -TERM -- -"$TW_PID"
wait_for 20 eval '! gm_workers tmcwatch:two:00 1'

# ---- a worker host whose template differs
worker_config "$T_DIR/wd" "${COPY2//out2/outX}"
start_testworker "$T_DIR/wd" hostdiff
wait_for 20 gm_workers tmcwatch:two:00 1
hold
make_tree d 5
tree_job d
seq=$(submit "$T_DIR/d.json")
wait_for 60 grep -q 'worker host hostdiff refused: template digest differs' "$T_DIR/tmcwatch.log"
ok $? "a unit for a worker host with another template is declined, and logged"
release
wait_done "$seq" 120 && outputs_of d && lines_ok "$seq" 5 && [ ! -e "$SITE/outX" ]
ok $? "local carries on: every output where this host's template says"
n=$(grep -c 'refused: template digest differs' "$T_DIR/tmcwatch.log")
[ "$n" -ge 1 ] && [ "$n" -le 2 ]
ok $? "logged once per tmc-remote ($n lines for 5 items)"
stop_daemon
