#!/bin/bash
# logrotate while the pipeline writes: the log file is renamed and SIGHUP
# sent, several times, in the middle of 1,500 items through three steps.
# Every item's line is in one of the files (none lost), each line whole.
. "$TMC_SRC/tests/lib/tap.sh"
plan 4

write_config "$COPY3"
make_inputs 1500
start_daemon
enqueue chain <"$T_DIR/list" >/dev/null &
ENQ=$!
for i in 1 2 3 4; do
	# the previous HUP reopened the log (a new file) before it is rotated again
	wait_for 30 test -e "$T_DIR/tmcwatch.log"
	mv "$T_DIR/tmcwatch.log" "$T_DIR/tmcwatch.log.$i"
	kill -HUP "$DAEMON"
done
wait $ENQ
wait_files "$SITE/out3" 1500 300
wait_idle 60
stop_daemon
rotated=$(ls "$T_DIR"/tmcwatch.log.* 2>/dev/null | wc -l)
test "$rotated" -ge 2
ok $? "the log was rotated $rotated times while items were processed"
lines=$(cat "$T_DIR"/tmcwatch.log* | grep -c ' ok created=')
is "$lines" 4500 "every one of the 4,500 step results is logged once, across the files"
bad=$(cat "$T_DIR"/tmcwatch.log* | grep -vc '^20[0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-9:.]*Z ')
is "$bad" 0 "every line is whole and starts with its UTC timestamp"

# a SIGHUP as soon as the pid file exists (logrotate at start-up) is read,
# never the default action that ends the process: flock of the pid file is
# held back a second by strace, a HUP sent in that second, the daemon lives
if [ "$(id -u)" -ne 0 ] || ! command -v strace >/dev/null; then
	ok 0 "# SKIP needs root and strace"
else
	rm -f "$SPOOL/run/tmcwatch.pid"
	# (LeakSanitizer cannot run under ptrace: no leak check for this one run)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -qq -o /dev/null -e trace=flock -e inject=flock:delay_exit=1000000:when=1 \
		"$BIN/tmcwatch" -c "$CONF" run 2>>"$T_DIR/daemon.err" &
	ST=$!
	T_PIDS="$T_PIDS $ST"
	wait_for 20 eval '[ -e "$SPOOL/run/tmcwatch.pid" ] && [ -n "$(pgrep -P $ST)" ]'
	TP=$(pgrep -P "$ST")
	kill -HUP "$TP"
	wait_for 20 eval '[ -s "$SPOOL/run/tmcwatch.pid" ]'
	wait_for 30 grep -q "tmcwatch\[$TP\] running:" "$T_DIR/tmcwatch.log" && kill -0 "$TP" 2>/dev/null
	ok $? "a SIGHUP while the pid file is being taken is read: the daemon ($TP) runs on"
	kill -TERM "$TP" 2>/dev/null
	wait "$ST" 2>/dev/null || true
fi
