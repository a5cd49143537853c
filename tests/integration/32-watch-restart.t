#!/bin/bash
# Restarts mid-stream. While 400 files arrive (renamed in and copied in),
# tmc-watch is killed with SIGKILL three times and the whole daemon is
# stopped and started once; files added while it is down are converted
# after it starts. Afterwards every file is converted exactly once and none
# is missed. Then the exact crash window: tmc-watch dies between publishing
# an item and recording it in its index (a failpoint), once after a stage
# already converted the item and once while the item still waits: the next
# start records both and converts neither again. Last, a power cut: items
# are not fsynced, so one the index records can be lost; after a reboot
# (a new boot id) the start-up walk hands it off again.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
plan 15
export TMC_RESTART_DELAY_MS=50

watch_config "$COPY1"
stage=$T_DIR/stage
mkdir -p "$stage" "$SRC"
start_watching
ok $? "daemon started, watcher ready"

produce() { # produce FROM TO: files arrive, 10 every ~20 ms, half renamed, half copied
	local i d
	for i in $(seq "$1" "$2"); do
		d=$SRC/d$((i % 7))
		mkdir -p "$d"
		echo "file $i $RANDOM" >"$stage/f$i.jpg"
		if [ $((i % 2)) = 0 ]; then mv "$stage/f$i.jpg" "$d/"; else cp "$stage/f$i.jpg" "$d/"; fi
		[ $((i % 10)) = 0 ] && sleep 0.02
	done
	return 0
}
produce 1 400 &
prod=$!
kills=0
for round in 1 2 3; do
	sleep 0.$((RANDOM % 4 + 3))
	pid=$(watch_pid)
	[ -n "$pid" ] && kill -KILL "$pid" && kills=$((kills + 1))
	wait_for 30 eval '[ -n "$(watch_pid)" ] && [ "$(watch_pid)" != "$pid" ]'
done
sleep 0.3
stop_daemon
ok $? "daemon stopped mid-stream after $kills kills of tmc-watch"
wait $prod
produce 401 430 # while the daemon is down
start_watching
ok $? "daemon started again"
wait_results 430 120
ok $? "430 result lines"
wait_idle 30
sleep 1.5
is "$(results) $(result_dups) $(rel_dups)" "430 0 0" "each of the 430 files converted exactly once"
list_src >"$T_DIR/want"
check "every output has its original's bytes" src_matches_out "$T_DIR/want"
stop_daemon

# The crash window, step by step, with the programs run by hand.
WATCH=("$BIN/tmc-watch" -c "$CONF" -w site01)
echo "window one" >"$SRC/w1.jpg"
(TMC_FAILPOINT=watch-published "${WATCH[@]}"; exit $?) 2>>"$T_DIR/fp.err"
rc=$?
ino=$(stat -c %i "$SRC/w1.jpg")
test $rc = 137 && ls "$SPOOL"/stages/cp/00-A/new/ | grep -q . &&
	! grep -q "^[AF] 0 $ino " "$SPOOL/state/site01.index"
ok $? "tmc-watch died after publishing w1.jpg, before recording it (rc $rc)"
"$BIN/tmc-copy" -c "$CONF" -T cp -s 0 2>>"$T_DIR/fp.err" &
copier=$!
wait_for 20 test -e "$SITE/out/w1.jpg"
wait_results 431 20
kill -TERM $copier
wait $copier
echo "window two" >"$SRC/w2.jpg"
(TMC_FAILPOINT=watch-published "${WATCH[@]}"; exit $?) 2>>"$T_DIR/fp.err"
rc=$?
is "$rc $(ls "$SPOOL"/stages/cp/00-A/new/ | wc -l)" "137 1" \
	"w1.jpg converted by a stage meanwhile; tmc-watch died again after publishing w2.jpg"
n=$(log_lines)
start_watching
ok $? "daemon started"
wait_results 432 30
wait_idle 20
sleep 1.5
is "$(results) $(result_dups) $(rel_dups)" "432 0 0" "w1.jpg and w2.jpg converted once each"
is "$(tail -n +$((n + 1)) "$T_DIR/tmcwatch.log" | grep -c 'handed off before a restart')" 2 \
	"both recognised as handed off before (one by its result line, one in new/)"
stop_daemon

# A power cut lost an item the index records (simulated: the item is
# removed from new/ while nothing runs); a new boot id makes it come back.
"$BIN/tmc-watch" -c "$CONF" -w site01 2>>"$T_DIR/fp.err" &
wpid=$!
echo "lost in a power cut" >"$SRC/p1.jpg"
wait_for 20 eval 'ls "$SPOOL"/stages/cp/00-A/new/ | grep -q .'
kill -TERM $wpid
wait $wpid
is "$?" 0 "tmc-watch alone: SIGTERM ends it with exit 0"
rm -rf "$SPOOL"/stages/cp/00-A/new/*
n=$(log_lines)
start_watching
sleep 1.5
is "$(results)" 432 "without a reboot the index is trusted: nothing is handed off again"
stop_daemon
n=$(log_lines)
export TMC_WATCH_BOOT_ID=after-the-power-cut
start_watching
wait_results 433 30
ok $? "after a reboot the lost item is handed off again and converted"
wait_idle 20
sleep 1.5
is "$(results) $(result_dups) $(rel_dups) $(tail -n +$((n + 1)) "$T_DIR/tmcwatch.log" | grep -c 'lost with the last boot')" \
	"433 0 0 1" "only that one, once"
stop_daemon
