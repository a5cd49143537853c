#!/bin/bash
# Remote units when things go wrong (tmc-remote(8), Outcomes), with real
# worker hosts (tmcwatch worker) and a real gearmand. A worker host
# SIGKILLed (its whole process group) with a unit in hand loses nothing and
# doubles nothing: after the deadline the item is back in new/ with no
# attempt counted and the local workers finish it: one result line per file
# and step, none failed, every output byte for byte, nothing in err/. A
# worker host with another secret: its reply is refused (logged), nothing
# of it applied, the items finish locally. A worker host whose template
# differs: the unit is declined (logged once per tmc-remote), local carries
# on and every output is where THIS host's template puts it. The spool host
# stopping with a unit in flight gives it back at once, no attempt counted.
# A worker host that signs forged replies (a .php file, two files for one
# step, a file missing): refused before a byte is written, logged, and the
# items done locally; one whose step below the head failed: the head item
# in err/, but the head's own output, line and usage record (ok). tmc-remote killed with the outputs written and nothing committed: the
# item is redone (here by a local worker), the same bytes, one line each.
# The local workers of the head step are held (SIGSTOP) until tmc-remote
# has surely tried, so each case is exercised, not skipped by a fast local.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
. "$TMC_SRC/tests/lib/gearman.sh"
. "$TMC_SRC/tests/lib/remote.sh"
plan 28

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
# worker_host DIR NAME TEMPLATE [SECRET]: tmcwatch worker in its own process
# group (setsid), pid in WH; registered once gearmand lists NAME
worker_host() {
	worker_config "$1" "$3" "${4:-}"
	sed -i "s|\"gearman\": {|\"gearman\": {\"name\": \"$2\", \"workers\": 1, |" "$1/config.json"
	setsid "$BIN/tmcwatch" -c "$1/config.json" -t "$1/template.json" worker 2>>"$T_DIR/wh.err" &
	WH=$!
	T_PIDS="$T_PIDS $WH"
	wait_for 60 eval "gm_admin --workers | grep -q '$2 : tmcwatch:two:00'"
}
gone() { wait_for 30 eval "! gm_admin --workers | grep -q '$1 :'"; }

# ---- a worker host killed with a unit in hand
worker_host "$T_DIR/wk" hostk "$COPY2"
ok $? "worker host hostk registered"
wait_for 30 eval '[ -n "$(pgrep -f "tmc-copy -c $T_DIR/wk/config.json")" ]'
kill -STOP $(pgrep -f "tmc-copy -c $T_DIR/wk/config.json") # its units never finish
hold
make_tree k 5
tree_job k
seq=$(submit "$T_DIR/k.json")
wait_for 60 eval '[ "$(remote_field hostk inflight)" -ge 1 ]'
ok $? "a unit is in flight on hostk"
kill -KILL -- -"$WH"
release
wait_done "$seq" 120
ok $? "the job finished after the worker host died"
check "every output byte for byte" outputs_of k
check "one result line per file and step, none failed" lines_ok "$seq" 5
[ "$(spool_items "$SPOOL" err)" = 0 ] && grep -q "no reply within 4 s" "$T_DIR/tmcwatch.log"
ok $? "nothing in err/; the unit given up at the deadline, not failed"
gone hostk

# ---- a worker host with another secret
worker_host "$T_DIR/ws" hostbad "$COPY2" "another-secret-of-16-bytes"
hold
make_tree s 5
tree_job s
seq=$(submit "$T_DIR/s.json")
wait_for 60 grep -q 'bad reply from .*: not signed with our secret' "$T_DIR/tmcwatch.log"
ok $? "the reply of a worker host with another secret is refused, and logged"
release
wait_done "$seq" 120 && outputs_of s && lines_ok "$seq" 5
ok $? "the items finish locally, every output, one line per file and step"
is "$(remote_field hostbad done)" 0 "nothing counted done for hostbad"
kill -TERM -- -"$WH"
gone hostbad

# ---- a worker host whose template differs
worker_host "$T_DIR/wd" hostdiff "${COPY2//out2/outX}"
hold
make_tree d 5
tree_job d
seq=$(submit "$T_DIR/d.json")
wait_for 60 grep -q 'worker host hostdiff refused: template digest mismatch' "$T_DIR/tmcwatch.log"
ok $? "a unit for a worker host with another template is declined, and logged"
release
wait_done "$seq" 120 && outputs_of d && lines_ok "$seq" 5 && [ ! -e "$SITE/outX" ]
ok $? "local carries on: every output where this host's template says"
n=$(grep -c 'refused: template digest mismatch' "$T_DIR/tmcwatch.log")
[ "$n" -ge 1 ] && [ "$n" -le 2 ]
ok $? "logged once per tmc-remote ($n lines for 5 items)"
kill -TERM -- -"$WH"
gone hostdiff

# ---- a worker host that signs forged replies (tmc-gforge): a file whose
# extension the reply chose (.php), two files for one step, a step's file
# missing: each refused before a byte is written, logged, and declined to
# the local workers, which do the items right
forger() { # forger MODE: tmc-gforge serving tmcwatch:two:00, pid in GF
	"$BIN/tmc-gforge" -c "$CONF" -T two -s 0 -S "127.0.0.1:$GM_PORT" -m "$1" 2>>"$T_DIR/gf.err" &
	GF=$!
	T_PIDS="$T_PIDS $GF"
	wait_for 60 eval "gm_admin --workers | grep -q 'forger : tmcwatch:two:00'"
}
for mode in "php:is not an output of this unit" "twice:is a second file for its step" \
	"missing:reply is incomplete"; do
	m=${mode%%:*}
	forger "$m"
	hold
	make_tree "f$m" 3
	tree_job "f$m"
	seq=$(submit "$T_DIR/f$m.json")
	wait_for 60 grep -q "bad reply from forger: .*${mode#*:}" "$T_DIR/tmcwatch.log"
	ok $? "a forged reply ($m) is refused, and logged"
	release
	wait_done "$seq" 120 && outputs_of "f$m" && lines_ok "$seq" 3 &&
		[ -z "$(find "$SITE" -name '*.php')" ]
	ok $? "its items are done locally, right; no file the reply chose ($m)"
	kill "$GF"
	wait "$GF" 2>/dev/null
	gone forger
done

# ---- a step below the head failed on the worker host: the head item to
# err/ naming the step and host, but the head's output written, its line
# and its usage record its own outcome (ok), not "failed"
forger below
hold
make_tree fb 2
tree_job fb
seq=$(submit "$T_DIR/fb.json")
wait_for 60 eval '[ "$(spool_items "$SPOOL" err)" -ge 2 ]'
grep -q "^step B failed on host forger: forged failure" "$SPOOL"/stages/two/00-A/err/*/reason
ok $? "a step below failed: the head item in err/, the reason naming step and host"
release
recs() { cat "$SPOOL"/state/records/*.json | jq -r "select(.origin == \"job:$seq\" and (.stage | endswith(\"A\"))) | .outcome" | sort | uniq -c | tr -s ' '; }
wait_for 60 eval '[ "$(recs)" = " 2 ok" ]' && [ "$(grep -c "	A	1	0	.*	ok$" "$SPOOL/proc/$seq.log")" = 2 ] &&
	[ "$(find "$SITE/out1" -path '*/fb-*' -newer "$T_DIR/fb.json" | wc -l)" = 2 ]
ok $? "the head's output, line and record are its own (ok): $(recs)"
kill "$GF"
wait "$GF" 2>/dev/null
gone forger
rm -rf "$SPOOL"/stages/two/00-A/err/* # the cases below count err/ from 0

stop_daemon

# ---- tmc-remote killed after writing the outputs, before its commit
worker_host "$T_DIR/wf" hostf "$COPY2"
TMC_FAILPOINT=remote-applied:hang start_daemon
wait_children
LOCAL=$(pgrep -f "tmc-copy -c $CONF .* -T two -s 0$" | tr '\n' ' ')
hold
make_tree f 1
tree_job f
seq=$(submit "$T_DIR/f.json")
wait_for 60 grep -q 'tmc-remote\[[0-9]*\] .*failpoint remote-applied: hanging' "$T_DIR/tmcwatch.log"
ok $? "tmc-remote wrote the outputs and stopped before its commit"
cmp -s "$SITE/f/f-1.jpg" "$SITE/out1/f-1.jpg" && cmp -s "$SITE/f/f-1.jpg" "$SITE/out2/f-1.jpg" &&
	[ ! -s "$SPOOL/proc/$seq.log" ]
ok $? "its outputs are there, no result line yet"
kill -TERM -- -"$WH"
gone hostf
kill -KILL "$(sed -n 's/.*tmc-remote\[\([0-9]*\)\] .*failpoint remote-applied: hanging.*/\1/p' "$T_DIR/tmcwatch.log" | tail -1)"
release
wait_done "$seq" 120 && outputs_of f && lines_ok "$seq" 1 && [ "$(spool_items "$SPOOL" err)" = 0 ]
ok $? "the item is redone locally: the same bytes, one line per step, nothing in err/"

# ---- the spool host stops with a unit in flight
worker_host "$T_DIR/wt" hostt "$COPY2"
wait_for 30 eval '[ -n "$(pgrep -f "tmc-copy -c $T_DIR/wt/config.json")" ]'
kill -STOP $(pgrep -f "tmc-copy -c $T_DIR/wt/config.json")
hold
make_tree t 1
tree_job t
seq=$(submit "$T_DIR/t.json")
wait_for 60 eval '[ "$(remote_field hostt inflight)" -ge 1 ]'
ok $? "a unit is in flight on hostt"
stop_daemon
is "$DAEMON_RC" 0 "the spool host stops (status 0) without waiting for the unit"
t=$(ls -d "$SPOOL"/stages/two/00-A/new/"$seq"-* 2>/dev/null | head -1)
[ -n "$t" ] && ! grep -q '^attempt=' "$t/ticket" &&
	grep -q 'stopping: the unit in flight on hostt is given up' "$T_DIR/tmcwatch.log"
ok $? "its item is back in new/ with no attempt counted, and the log says why"
kill -KILL -- -"$WH"

