#!/bin/bash
# tmcwatch requeue and purge on items that failed for real: one whose
# worker was killed twice (max_attempts 2), originals removed before their
# copy step. Requeue puts a failed item back in new/ with its attempts
# reset and no reason, refuses one whose id is already in new/ or cur/,
# works while the daemon runs (the stage picks the item up), and the item
# completes once its cause is fixed; purge removes by id or by age only;
# ids that match nothing exit non-zero.
. "$TMC_SRC/tests/lib/tap.sh"
plan 17

write_config "$COPY3" '"max_attempts": 2, "retry_delay": 1,'
A=$SPOOL/stages/chain/00-A
mkdir -p "$SITE/in"
echo "killed twice" >"$SITE/in/k.jpg"
# every worker SIGKILLs itself when it starts the step (the crash tests' failpoint)
TMC_FAILPOINT=process start_daemon
echo /k.jpg | enqueue chain k >/dev/null
wait_for 120 test -e "$A/err/k000001/reason"
ok $? "an item whose worker died twice is in err/"
stop_daemon
"$BIN/tmcwatch" -c "$CONF" queue --json >"$T_DIR/q.json"
jq -e '.[0].id == "k000001" and .[0].attempts == 1 and (.[0].reason | test("died 2 times"))' \
	"$T_DIR/q.json" >/dev/null
ok $? "queue shows its attempts and reason"

"$BIN/tmcwatch" -c "$CONF" requeue k000001 >"$T_DIR/rq.out" 2>"$T_DIR/rq.err"
rc=$?
is "$rc $(cat "$T_DIR/rq.out")" "0 requeued 1 item" "requeue ID"
test -d "$A/new/k000001" && ! test -e "$A/err/k000001" && ! test -e "$A/new/k000001/reason" &&
	! grep -Eq '^(attempt|not_before|last_error)=' "$A/new/k000001/ticket" &&
	grep -q '^src=.*/in/k.jpg$' "$A/new/k000001/ticket"
ok $? "it is in new/ with attempt, not_before and last_error gone, no reason file"
grep -q "requeued .*err/k000001 -> new/k000001" "$T_DIR/tmcwatch.log"
ok $? "the requeue is logged in the log file"

start_daemon
wait_for 120 test -e "$SITE/out3/k.jpg" && cmp -s "$SITE/in/k.jpg" "$SITE/out3/k.jpg"
ok $? "without the crash it completes"

make_inputs 6
mapfile -t rels <"$T_DIR/list"
for i in 0 1 2; do mv "$SITE/in${rels[$i]}" "$T_DIR/"; done  # t000001..3 fail at 00-A
enqueue chain <"$T_DIR/list" >/dev/null
wait_for 120 eval '[ "$(ls "$A/err" | wc -l)" = 3 ]' && wait_idle 60
ok $? "three items failed for good, the rest done"

"$BIN/tmcwatch" -c "$CONF" requeue nosuch t000002 >"$T_DIR/rq.out" 2>"$T_DIR/rq.err"
rc=$?
test $rc -ne 0 && grep -q 'nosuch: no failed item' "$T_DIR/rq.err"
ok $? "an id that matches nothing: non-zero exit and a message (rc $rc)"
wait_for 60 eval '[ "$(grep -c "^t000002	0	" "$SPOOL/proc/test1.log")" = 2 ]' &&
	wait_for 60 test -e "$A/err/t000002/reason"
ok $? "the other id was requeued ($(cat "$T_DIR/rq.out")) and failed again: its cause is still there"

# an item of the same id in cur/ (every worker slot held here, so the
# worker that claims it waits): requeue must refuse, not replace
for i in 0 1 2 3; do eval "exec $((20 + i))>\"\$SPOOL/run/slots/slot.$i\""; flock $((20 + i)); done
echo "${rels[0]}" | enqueue chain >/dev/null
wait_for 60 test -d "$A/cur/t000001"
"$BIN/tmcwatch" -c "$CONF" requeue t000001 >/dev/null 2>"$T_DIR/rq.err"
rc=$?
test $rc -ne 0 && grep -q 'already in cur/' "$T_DIR/rq.err" && test -s "$A/err/t000001/reason"
ok $? "requeue refuses when the id is in cur/; the failed one keeps its reason (rc $rc)"
"$BIN/tmcwatch" -c "$CONF" purge t000001 >"$T_DIR/pg.out" 2>/dev/null
is "$? $(cat "$T_DIR/pg.out") $(test -e "$A/err/t000001" && echo left)" "0 purged 1 item " "purge ID"
for i in 0 1 2 3; do eval "exec $((20 + i))>&-"; done
wait_for 60 test -e "$A/err/t000001/reason"
ok $? "released, the new t000001 fails as its original is still missing"

"$BIN/tmcwatch" -c "$CONF" purge --failed >/dev/null 2>&1
is "$?" 64 "purge --failed without --older-than is refused"
touch -d '3 days ago' "$A/err/t000003"
"$BIN/tmcwatch" -c "$CONF" purge --failed --older-than 2d >"$T_DIR/pg.out" 2>/dev/null
is "$? $(cat "$T_DIR/pg.out") $(ls "$A/err" | tr '\n' ' ')" "0 purged 1 item t000001 t000002 " \
	"purge --older-than removes only the old one"

# the cause fixed (originals put back), requeue --failed while it runs
mv "$T_DIR${rels[0]}" "$T_DIR${rels[1]}" "$SITE/in/"
"$BIN/tmcwatch" -c "$CONF" requeue --failed --stage chain >"$T_DIR/rq.out" 2>"$T_DIR/rq.err"
is "$? $(cat "$T_DIR/rq.out")" "0 requeued 2 items" "requeue --failed while the daemon runs"
wait_for 120 eval 'cmp -s "$SITE/in${rels[0]}" "$SITE/out3${rels[0]}" && cmp -s "$SITE/in${rels[1]}" "$SITE/out3${rels[1]}"' &&
	wait_idle 60
ok $? "both complete through every step, byte for byte"
n1=$(grep -c "^t000001	2	C	1	" "$SPOOL/proc/test1.log")
n2=$(grep -c "^t000002	2	C	1	" "$SPOOL/proc/test1.log")
is "$n1 $n2 $(ls "$A/err" | wc -l)" "1 1 0" "each completes once; nothing failed is left"
