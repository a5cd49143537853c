#!/bin/bash
# A three-step copy pipeline end to end: every original reaches every step's
# folder with the same bytes, results are reported once per step, the spool
# is empty afterwards, and status counts what happened.
. "$TMC_SRC/tests/lib/tap.sh"
plan 10

write_config "$COPY3"
make_inputs 300
start_daemon
ok $? "daemon started"
n=$(enqueue chain <"$T_DIR/list")
is "$n" 300 "300 items published into the first stage"
wait_files "$SITE/out3" 300 120
ok $? "all 300 reached the last step"
wait_idle 20
check "out1 has every original, byte for byte" outputs_match out1
check "out3 has every original, byte for byte" outputs_match out3
is "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)$(spool_items "$SPOOL" err)" 000 \
	"no item left in new/, cur/ or err/"
is "$(cut -f1,2 "$SPOOL/proc/test1.log" | sort | uniq -d | wc -l) $(wc -l <"$SPOOL/proc/test1.log")" \
	"0 900" "one result line per item and step"
recs=$(cat "$SPOOL"/state/records/*.json | jq -c 'select(.outcome == "ok" and .origin == "job:test1" and (.ms | type) == "number")' | wc -l)
is "$recs" 900 "a usage record (JSON line with outcome and ms) per step"
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status"
# "Total processed" is TMC's count of files finished by jobs and watches
# (68-watch-wdjob-crash.t); items made by tmc-enqueue belong to neither
grep -q '^TMC status:running' "$T_DIR/status" && grep -q '^Total processed : 0$' "$T_DIR/status"
ok $? "status: running, 0 files of jobs or watches processed (the 900 steps are not files)"
stop_daemon
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status"
grep -q '^TMC status:not running' "$T_DIR/status" && grep -q 'stage chain/02-C: waiting 0 working 0 failed 0' "$T_DIR/status"
ok $? "status after stop: not running, stage counts read from the spool"
