#!/bin/bash
# Every program that waits on a folder lives through inotify's limits by
# polling it, and says which limit: run in a user namespace whose
# /proc/sys/user/max_inotify_instances is 0 (inotify_init1 fails, EMFILE),
# then, restarted, whose max_inotify_watches is 0 (inotify_add_watch fails,
# ENOSPC). Both times tmc-watch, tmc-jobs, the tmc-copy stages and
# tmc-notify log the /proc/sys/user limit (not the host's
# fs.inotify.max_user_*, which differs in a namespace) and keep running:
# a file dropped in the watched folder goes through a three-step chain,
# and a job submitted to req/ is done and its callback reaches a real
# receiver. When the limit is raised, each program watches again and says
# so, and work still flows. (Before: tmc-notify and the stages exited and
# the supervisor restarted them in vain, so nothing moved.)
if [ -z "${TMC_IN_USERNS:-}" ]; then
	if ! unshare --user --map-root-user true 2>/dev/null; then
		echo "1..0 # SKIP user namespaces are not available (unshare --user)"
		exit 0
	fi
	TMC_IN_USERNS=1 exec unshare --user --map-root-user "$0" "$@"
fi
if ! echo 0 >/proc/sys/user/max_inotify_instances 2>/dev/null; then
	echo "1..0 # SKIP /proc/sys/user/max_inotify_instances is not writable in a user namespace"
	exit 0
fi
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 17

WATCH_TPL=chain watch_config "$COPY3" '"min_sec": 1' '"retry_delay": 1,'
LOG=$T_DIR/tmcwatch.log
start_receiver
# logged PROGRAM TEXT: a line of that program since the log had $MARK lines
logged() { tail -n +$((MARK + 1)) "$LOG" | grep -E "Z $1\[[0-9]+\] " | grep -qF -- "$2"; }
pid_of() { pgrep -f "$1 -c $CONF" | head -1; }
# a job over $SITE/jin/$1.jpg with a callback to the receiver; prints its seq
job() {
	mkdir -p "$SITE/jin" && echo "job $1 $RANDOM" >"$SITE/jin/$1.jpg"
	printf '{"hires": {"site": "site01", "path_head": "/jin", "path_tail": "", "include": ["/%s.jpg"], "callback": "%s/ok/%s"}, "template": "chain"}\n' \
		"$1" "$RURL" "$1" >"$T_DIR/$1.json"
	"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/$1.json" 2>>"$T_DIR/submit.err" | tail -1
}
# flows TAG: a watched file and a job go through the chain; the callback arrives
flows() {
	echo "watched $1 $RANDOM" >"$SRC/$1.jpg"
	local seq
	seq=$(job "j$1")
	wait_for 60 cmp -s "$SRC/$1.jpg" "$SITE/out3/$1.jpg"
	ok $? "$2: a file dropped in the watched folder went through the three steps"
	wait_for 60 test -e "$SPOOL/done/$seq"
	ok $? "$2: a job submitted to req/ is done"
	wait_for 60 eval "[ \$(requests_to /ok/j$1) -ge 1 ]"
	ok $? "$2: its callback reached the receiver"
}
# every program names the limit file
names_limit() {
	local p bad=""
	for p in tmc-watch tmc-jobs tmc-copy tmc-notify; do
		wait_for 30 logged "$p" "$1" || bad="$bad $p"
	done
	is "$bad" "" "$2"
}

# 1. no inotify instance at all
MARK=0
start_watching
ok $? "instances 0: daemon started, watcher ready (scanning)"
names_limit "(/proc/sys/user/max_inotify_instances)" \
	"instances 0: tmc-watch, tmc-jobs, tmc-copy and tmc-notify each name /proc/sys/user/max_inotify_instances"
notify_pid=$(pid_of tmc-notify)
flows a "instances 0"
is "$(pid_of tmc-notify)" "$notify_pid" "instances 0: tmc-notify never exited"
stop_daemon

# 2. instances, but no watch
echo 128 >/proc/sys/user/max_inotify_instances
echo 0 >/proc/sys/user/max_inotify_watches
MARK=$(log_lines)
start_watching
ok $? "watches 0: daemon started, watcher ready (scanning)"
names_limit "(/proc/sys/user/max_inotify_watches)" \
	"watches 0: tmc-watch, tmc-jobs, tmc-copy and tmc-notify each name /proc/sys/user/max_inotify_watches"
check "watches 0: the host's fs.inotify.max_user_watches is not the limit named" \
	eval '! tail -n +$((MARK + 1)) "$LOG" | grep -q "limit reached (fs.inotify"'
flows b "watches 0"

# 3. the limit is raised: watching again
MARK=$(log_lines)
echo 100000 >/proc/sys/user/max_inotify_watches
names_limit "watch-limit cleared" \
	"raised: tmc-watch, tmc-jobs, tmc-copy and tmc-notify clear the watch-limit fault"
check "raised: the watch folder, req/ and proc/, and new/ are watched again" \
	eval 'logged tmc-watch "is watched again" && logged tmc-jobs "req and proc are watched again" &&
	logged tmc-notify "outbox/new is watched again"'
flows c "raised"
stop_daemon
