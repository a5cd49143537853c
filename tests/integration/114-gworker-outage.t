#!/bin/bash
# A worker host's tmc-gworker through gearmand outages (issue #14): it logs
# one warning when an outage begins and one "gearmand answers again after
# N s" when gearmand is back, not a line per reconnect attempt (before the
# fix, a connect that timed out counted as gearmand answering: a line
# every ~3 s while unreachable); then it registers again and serves: a
# job's units are done on it with the spool host's local workers of the
# head step held. Two outages of 12 s, each counted on its own: gearmand
# killed (connects refused), and gearmand killed then w1's cable pulled
# (connects time out; gearmand is up again before the cable is back).
# Hosts are network namespaces (tests/lib/netns.sh), gearmand a real one.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/netns.sh"
netns_init
. "$TMC_SRC/tests/lib/remote-hosts.sh"
plan 11

WLOG=$T_DIR/w1/tmcwatch.log
gearmand_start
netns_host spool 2
worker_host_start w1 3 ""
ok $? "gearmand and worker host w1 up"
spool_host_start
ok $? "spool host started"

# lines of w1's log after line $1 that match $2
lines_since() { tail -n +"$(($1 + 1))" "$WLOG" | grep -c "tmc-gworker.*$2"; }
seconds_since() { echo $(($(date +%s) - $1)); }
# outage N [cable]: gearmand killed (and w1's cable pulled once w1 noticed),
# 12 s without it, started again (the cable plugged after); the counts of
# w1's warnings and "answers again" lines during and after it
outage() {
	local mark t0
	mark=$(wc -l <"$WLOG")
	gearmand_kill
	t0=$(date +%s)
	wait_for 30 eval '[ "$(lines_since $mark "gearmand: .*connecting again")" -ge 1 ]'
	ok $? "outage $1: w1 notices gearmand is gone"
	[ -z "${2:-}" ] || netns_cable w1 down
	# the outage's length is what is tested: 12 s of reconnect attempts
	wait_for 60 eval '[ "$(seconds_since $t0)" -ge 12 ]'
	down_answers=$(lines_since "$mark" "answers again")
	down_warns=$(lines_since "$mark" "gearmand: .*connecting again")
	gearmand_start
	[ -z "${2:-}" ] || netns_cable w1 up
	wait_for 60 gearman_workers_named spool w1 &&
		wait_for 60 eval '[ "$(lines_since $mark "answers again")" -ge 1 ]'
	ok $? "outage $1: w1 registers again and says gearmand answers again"
	is "$down_answers $down_warns $(lines_since "$mark" "answers again")" "0 1 1" \
		"outage $1: during it no \"answers again\" and one warning; after it one \"answers again\""
}
outage 1
gone=$(sed -n 's/.*tmc-gworker.*gearmand answers again after \([0-9]*\) s$/\1/p' "$WLOG" | tail -1)
[ -n "$gone" ] && [ "$gone" -ge 10 ] && [ "$gone" -le 120 ]
ok $? "the line says how long gearmand was gone (${gone:-no} s; at least the 12 s less a warning's delay)"
outage 2 cable

# w1 still serves: every unit of a job done on it, the local head step held
wait_for 60 eval '[ -n "$(pgrep -f "tmc-image -c $CONF .* -T t -s 0$")" ]'
LOCAL=$(pgrep -f "tmc-image -c $CONF .* -T t -s 0$" | tr '\n' ' ')
kill -STOP $LOCAL
remote_inputs after 4
remote_job after
seq=$(remote_submit after)
wait_for 180 job_done_in "$seq"
ok $? "after the outages a job is done with the local head step held ($(remote_done w1) units on w1)"
kill -CONT $LOCAL
hosts_sane
