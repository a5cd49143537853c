#!/bin/bash
# A watchdog job open when tmc-watch is killed with SIGKILL is finished by
# the restarted tmc-watch once, with one row per file (doc/TMC.md,
# Watchdog: jobs); `tmcwatch status` "Total processed" counts files as TMC
# did (doc/TMC.md, Status), not the step items of a three-step template.
# A file whose joining could not be written to the journal (state/ full:
# ENOSPC injected with strace) is not handed off until it can be, so a
# SIGKILL after it is converted does not leave it out of every job.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
plan 12

# three copy steps: every file is three step items
WATCH_TPL=chain watch_config "$COPY3" '"min_sec": 600'
start_watching
ok $? "daemon started, watcher ready"
wdjobs() { ls "$SPOOL/done" 2>/dev/null | grep -E '^wd[0-9]{15}$'; }
open_seq() { ls "$SPOOL/proc" 2>/dev/null | sed -n 's/^\(wd[0-9]\{15\}\)\.stat$/\1/p'; }

mkdir -p "$SRC/d"
printf 'one\n' >"$SRC/one.txt"
printf 'two\n' >"$SRC/d/two.txt"
wait_results 6 120
wait_for 30 eval '[ "$(cat "$SPOOL/proc/$(open_seq)".stat 2>/dev/null)" = "$(printf "2\t2\t2")" ]'
S=$(open_seq)
is "${#S} $(wdjobs | wc -l) $(cat "$SPOOL/proc/$S.stat" 2>/dev/null)" "$(printf '17 0 2\t2\t2')" \
	"both files converted; their job $S still open (min_sec 600), proc/$S.stat current"

P=$(watch_pid)
kill -KILL "$P"
wait_for 60 eval '[ -n "$(watch_pid)" ] && [ "$(watch_pid)" != "$P" ]'
ok $? "tmc-watch killed with SIGKILL and restarted by the supervisor"
wait_for 60 eval '[ -n "$(wdjobs)" ]'
is "$(wdjobs)" "$S" "the restarted tmc-watch finished the open job $S, and made no other"
is "$(sort "$SPOOL/done/$S.result" | tr '\t\n' ', ')" "/d/two.txt,3,3,0 /one.txt,3,3,0 " \
	"done/$S.result: one row per file, 3 steps requested and created"
is "$(sort "$SPOOL/done/$S.file" | tr '\n' ' ')" "/d/two.txt /one.txt " "done/$S.file: each file once"

printf 'three\n' >"$SRC/three.txt"
printf 'four\n' >"$SRC/d/four.txt"
wait_results 12 120
wait_for 30 eval '[ "$(cut -f3 "$SPOOL/proc/$(open_seq | grep -v "^$S\$")".stat 2>/dev/null)" = 2 ]'
N=$(open_seq | grep -v "^$S\$")
is "$(wdjobs) $(cat "$SPOOL/done/$S.result" | wc -l)" "$S 2" \
	"later files open a new job $N; the finished one is not written again"
# "Total processed": 4 files finished since the daemon started (12 step items)
wait_for 30 eval '"$BIN/tmcwatch" -c "$CONF" status | grep -q "^Total processed : 4$"'
ok $? "tmcwatch status: Total processed : 4 (files, not the 12 step items)"
is "$("$BIN/tmcwatch" -c "$CONF" status --json | jq .processed)" 4 "status --json: processed 4"

# the journal's next write fails with ENOSPC, once (strace, as root)
in_job() { cat "$SPOOL"/done/wd*.file 2>/dev/null | grep -cx "$1"; }
if [ "$(id -u)" != 0 ] || ! command -v strace >/dev/null; then
	for i in 1 2 3; do ok 0 "# SKIP needs root and strace to inject ENOSPC"; done
else
	P=$(watch_pid)
	strace -qq -o /dev/null -p "$P" -P "$SPOOL/state/site01.wdjobs" -e trace=write \
		-e inject=write:error=ENOSPC:when=1 &
	ST=$!
	wait_for 30 eval 'grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$P/status'
	n=$(log_lines)
	printf 'five\n' >"$SRC/five.txt"
	wait_for 60 eval "tail -n +$((n + 1)) '$T_DIR/tmcwatch.log' | grep -q 'site01.wdjobs: No space left'"
	ok $? "the journal write for five.txt failed with ENOSPC"
	wait_results 15 120
	kill "$ST"
	wait "$ST" 2>/dev/null
	kill -KILL "$P"
	wait_for 60 eval '[ -n "$(watch_pid)" ] && [ "$(watch_pid)" != "$P" ]'
	ok $? "five.txt converted (once the journal took it), tmc-watch killed and restarted"
	wait_for 60 eval '[ "$(in_job /five.txt)" -ge 1 ]'
	is "$(in_job /five.txt)" 1 "five.txt is in exactly one finished watchdog job"
fi
stop_daemon
