#!/bin/bash
# tmcwatch queue: one line per item waiting, working or failed, named by
# its original file, with origin, age, attempts and reason (--json for
# scripts, --stage and --failed to narrow it), read from the spool while the
# daemon runs; the worker list of status names the original too. Items fail
# for real (their originals removed before their copy step); a working item
# is one whose worker waits for a slot this script holds.
. "$TMC_SRC/tests/lib/tap.sh"
plan 13

write_config "$COPY3"
make_inputs 6
mapfile -t rels <"$T_DIR/list"
rm "$SITE/in${rels[0]}" "$SITE/in${rels[1]}"   # these two fail at chain/00-A
start_daemon
ok $? "daemon started"
enqueue chain <"$T_DIR/list" >/dev/null
wait_files "$SITE/out3" 4 120 && wait_idle 60 &&
	wait_for 30 eval '[ "$(spool_items "$SPOOL" err)" = 2 ]'
ok $? "4 items done, 2 failed for good"

Q=$("$BIN/tmcwatch" -c "$CONF" queue)
rc=$?
diag "$(echo "$Q" | head -3)"
test $rc -eq 0 && [ "$(echo "$Q" | grep -c '^chain/00-A  *failed ')" = 2 ]
ok $? "queue: two failed lines for chain/00-A (rc $rc)"
echo "$Q" | grep "failed" | grep -F "$SITE/in${rels[0]}" | grep -q ' job:test1 .*No such file or directory'
ok $? "a line names the original's path, its origin (job:test1) and the reason"
echo "$Q" | head -1 | grep -Eq '^STAGE +STATE +ID +AGE +TRIES +ORIGIN +ORIGINAL +REASON$' &&
	[ "$(echo "$Q" | awk 'NR > 1 { print index($0, " job:test1 ") }' | sort -u | wc -l)" = 1 ]
ok $? "a header, and the columns are aligned"

"$BIN/tmcwatch" -c "$CONF" queue --json >"$T_DIR/q.json"
jq -e --arg a "$SITE/in${rels[0]}" --arg b "$SITE/in${rels[1]}" '
	length == 2 and all(.[]; .stage == "chain/00-A" and .state == "failed" and
		.origin == "job:test1" and .attempts == 0 and (.age | type) == "number" and
		(.reason | test("No such file"))) and
	([.[].original] | sort) == ([$a, $b] | sort)' "$T_DIR/q.json" >/dev/null
ok $? "queue --json: an array of objects jq reads, with the same facts"
is "$("$BIN/tmcwatch" -c "$CONF" queue --stage chain/01-B)" "queue is empty" \
	"--stage narrows to one stage"
is "$("$BIN/tmcwatch" -c "$CONF" queue --stage chain --failed --json | jq length)" 2 \
	"--stage TEMPLATE covers its steps; --failed"

# a working item: every worker slot is held here, so the worker that
# claims it waits in cur/ with it
for i in 0 1 2 3; do
	eval "exec $((20 + i))>\"\$SPOOL/run/slots/slot.$i\""
	flock $((20 + i))
done
printf '/w1.jpg\n' >"$T_DIR/list2"
echo "waiting original" >"$SITE/in/w1.jpg"
enqueue chain w <"$T_DIR/list2" >/dev/null
wait_for 60 eval '"$BIN/tmcwatch" -c "$CONF" status | grep -q "^worker chain/00-A pid"'
ok $? "a worker holds the new item"
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status"
grep "^worker chain/00-A pid" "$T_DIR/status" | grep -qF ": $SITE/in/w1.jpg (w000001) for "
ok $? "status: the worker's line names the original ($(grep '^worker' "$T_DIR/status"))"
"$BIN/tmcwatch" -c "$CONF" queue --json >"$T_DIR/q2.json"
jq -e --arg w "$SITE/in/w1.jpg" \
	'[.[] | select(.state == "working")] | length == 1 and .[0].original == $w and .[0].id == "w000001"' \
	"$T_DIR/q2.json" >/dev/null
ok $? "queue: the item in hand is working, with its original"
jq -e '.workers | length == 1 and .[0].item == "w000001" and (.[0].original | endswith("/in/w1.jpg"))' \
	<("$BIN/tmcwatch" -c "$CONF" status --json) >/dev/null
ok $? "status --json: the worker's original"
for i in 0 1 2 3; do eval "exec $((20 + i))>&-"; done
wait_files "$SITE/out3" 5 120
ok $? "released, the item completes"
