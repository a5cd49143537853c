#!/bin/bash
# tmc-remote's edges an operator relies on (tmc-remote(8), tmcwatch-worker(8)),
# with a real gearmand, real worker hosts (tmcwatch worker) and a real spool
# host on this machine:
#  a. gearman.tls true on a libgearman without TLS (Debian's 1.1.20 exports
#     gearman_client_set_ssl but links no SSL library): tmc-remote and
#     tmc-gworker exit 78 at start, the reason naming TLS in the log; the
#     supervisor keeps restarting them with its backoff ("keeps dying") and
#     the spool host's local workers do the job meanwhile.
#  b. the "big" lane: an original over gearman.big_bytes goes only to a
#     worker host with "big": true; with none it waits in the head step's
#     new/ for the local workers (held here) while the small ones go remote,
#     and the local workers do it once released; with a big host up it is
#     done there.
#  c. a gearman.steps head that reads another step's output is refused by
#     tmcwatch check, saying which step to name instead: a request carries
#     the original, so no worker host could start such a unit.
#  d. the "started" wait: a gearman worker that registered the unit's
#     function but never takes jobs (SIGSTOPped) holds the item only
#     REMOTE_START_WAIT_S (30 s); then the spool host gives the request up
#     and the item is done by another worker host, once.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
. "$TMC_SRC/tests/lib/gearman.sh"
. "$TMC_SRC/tests/lib/remote.sh"
plan 21

command -v gearmand >/dev/null || { echo "1..0 # SKIP gearmand is not installed"; exit 0; }
# the supervisor's restart delay from 100 ms (tmcwatch(8)): "keeps dying" soon
export TMC_RESTART_DELAY_MS=100
# "two" (copy A, then B from A) is a remote unit by its template; "t" (image
# steps L, then M from L) is local
TPL='{ "two": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
  {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2"} ] },
  "t": { "proc": [
  {"name": "L", "source": "hires", "size": [320, 320], "path_head": "/l"},
  {"name": "M", "source": "L", "size": [160, 160], "path_head": "/m"} ] } }'
# keys [MORE]: the "gearman" object of every host, with a comma
keys() {
	printf '"gearman": {"servers": ["127.0.0.1:%s"], "templates": ["two"]%s, "secret": "%s", "max_inflight": 2, "deadline": 20, "big_bytes": 100000%s},' \
		"$GM_PORT" "${STEPS:+, \"steps\": [$STEPS]}" "$GM_SECRET" "${1:+, $1}"
}
# worker_host NAME [MORE_KEYS]: tmcwatch worker in its own process group,
# pid in WH_<NAME>; registered once gearmand lists NAME
worker_host() {
	local d=$T_DIR/$1
	mkdir -p "$d/site"
	printf '%s\n' "$TPL" >"$d/template.json"
	cat >"$d/config.json" <<JSON
{ "spool_dir": "$d/spool", "log_file": "$d/tmcwatch.log",
  $(keys "\"name\": \"$1\", \"workers\": 1${2:+, $2}")
  "site": { "site01": { "root": "$d/site" } } }
JSON
	setsid "$BIN/tmcwatch" -c "$d/config.json" -t "$d/template.json" worker 2>>"$T_DIR/wh.err" &
	eval "WH_$1=\$!"
	T_PIDS="$T_PIDS $!"
}
registered() { gm_admin --workers | grep -q "$1 : .*$2"; }
stop_host() { # stop_host NAME: SIGTERM to its group, gone from gearmand
	local p
	p=$(eval echo "\$WH_$1")
	kill -TERM -- -"$p"
	wait "$p"
	wait_for 30 eval "! gm_admin --workers | grep -q ' $1 :'"
}
# the local workers of a step of the spool host (stage programs started)
locals() { pgrep -f "tmc-$1 -c $CONF .* -T $2 -s $3$" | tr '\n' ' '; }
HELD=""
some_locals() { [ -n "$(locals "$@")" ]; }
hold() { # hold PROGRAM TEMPLATE STEP
	wait_for 60 some_locals "$1" "$2" "$3" || return 1
	HELD="$HELD $(locals "$1" "$2" "$3")"
	kill -STOP $HELD
}
release() { [ -z "$HELD" ] || kill -CONT $HELD 2>/dev/null; HELD=""; }
trap 'release; cleanup' EXIT
lines_ok() { # lines_ok SEQ N: one line per file and step, 2N lines, no failure
	[ "$(log_dups "$1")" = 0 ] && [ "$(wc -l <"$SPOOL/proc/$1.log")" = $((2 * $2)) ] &&
		! grep -q 'failed$' "$SPOOL/proc/$1.log"
}
items_in() { find "$SPOOL/stages/$1/new" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
start_gearmand

# ---- a. gearman.tls on a libgearman without TLS
L=$(ldconfig -p | sed -n 's/.*libgearman\.so\.8 .*=> //p' | head -1)
if nm -D "$L" 2>/dev/null | grep -q ' T gearman_worker_set_ssl$'; then
	for i in 1 2 3 4 5 6; do echo "ok $i # SKIP libgearman ($L) is built with TLS"; done
	T_N=6
else
	write_config "$TPL" "$(keys '"tls": true')"
	make_tree tls 3
	tree_job tls
	start_daemon
	seq=$(submit "$T_DIR/tls.json")
	wait_for 60 grep -q 'tmc-remote\[[0-9]*\].*built without TLS.*refusing to talk to gearmand in clear' "$T_DIR/tmcwatch.log"
	ok $? "tls: tmc-remote says why it will not start (libgearman without TLS)"
	wait_for 60 grep -q 'tmcwatch\[[0-9]*\] warning: two/00-A#remote[0-9] (pid [0-9]*) exited 78$' "$T_DIR/tmcwatch.log"
	ok $? "tls: the supervisor logs tmc-remote's exit 78 (EX_CONFIG)"
	wait_for 60 grep -q 'two/00-A#remote[0-9] keeps dying (5 times in a row' "$T_DIR/tmcwatch.log"
	ok $? "tls: the supervisor keeps restarting it with its backoff and says it keeps dying"
	wait_done "$seq" 60 && outputs_of tls && lines_ok "$seq" 3
	ok $? "tls: the spool host's local workers do the job meanwhile"
	stop_daemon
	worker_host wtls '"tls": true'
	wait_for 60 grep -q 'tmc-gworker\[[0-9]*\].*built without TLS.*refusing to talk to gearmand in clear' "$T_DIR/wtls/tmcwatch.log"
	ok $? "tls: tmc-gworker on a worker host says why it will not start"
	wait_for 60 grep -q 'tmcwatch\[[0-9]*\] warning: gworker#0 (pid [0-9]*) exited 78$' "$T_DIR/wtls/tmcwatch.log" &&
		wait_for 60 grep -q 'gworker#0 keeps dying (5 times in a row' "$T_DIR/wtls/tmcwatch.log" &&
		! gm_admin --workers | grep -q ' wtls :'
	ok $? "tls: tmcwatch worker logs its exit 78, restarts it with its backoff; gearmand lists no worker of that host"
	kill -TERM -- -"$WH_wtls"
	wait "$WH_wtls"
	rm -rf "$SPOOL" "$SITE"
fi

# ---- b. the big lane
: >"$T_DIR/tmcwatch.log"
write_config "$TPL" "$(keys)"
start_daemon
worker_host hsmall
wait_for 60 registered hsmall tmcwatch:two:00
ok $? "big: worker host hsmall registered tmcwatch:two:00"
gm_admin --workers | grep ' hsmall : ' | grep -q 'tmcwatch:two:00:big'
is $? 1 "big: hsmall (no \"big\": true) did not register tmcwatch:two:00:big"
hold copy two 0
make_tree big 3
head -c 200000 /dev/urandom >"$SITE/big/big-9.jpg" # over big_bytes (100000)
(cd "$SITE/big" && ls | sed 's|^|/|' | LC_ALL=C sort) >"$T_DIR/big.list"
tree_job big
seq=$(submit "$T_DIR/big.json")
wait_for 60 eval '[ "$(remote_field hsmall done)" = 3 ]'
ok $? "big: the 3 small originals are done on hsmall, the local workers held"
[ "$(items_in two/00-A)" = 1 ] && ! job_done "$seq" && [ "$(remote_field hsmall done)" = 3 ]
ok $? "big: the big one waits in the head step's new/, not sent to hsmall"
release
wait_done "$seq" 60 && outputs_of big && lines_ok "$seq" 4
ok $? "big: released, the local workers do it: every output, one line per file and step"
is "$(remote_field hsmall done)" 3 "big: nothing more went to hsmall"
worker_host hbig '"big": true'
wait_for 60 registered hbig tmcwatch:two:00:big
ok $? "big: worker host hbig registered tmcwatch:two:00:big"
hold copy two 0
make_tree big2 2
head -c 200000 /dev/urandom >"$SITE/big2/big2-9.jpg"
(cd "$SITE/big2" && ls | sed 's|^|/|' | LC_ALL=C sort) >"$T_DIR/big2.list"
tree_job big2
before=$(($(remote_field hsmall done) + $(remote_field hbig done)))
seq=$(submit "$T_DIR/big2.json")
wait_done "$seq" 120 && outputs_of big2 && lines_ok "$seq" 3
ok $? "big: with hbig up, the job is done with the local workers held"
[ "$(($(remote_field hsmall done) + $(remote_field hbig done) - before))" = 3 ] &&
	[ "$(remote_field hbig done)" -ge 1 ]
ok $? "big: its 3 units done remotely (the big one can only have gone to hbig)"
release

# ---- c. a head that reads a step
mkdir -p "$T_DIR/c"
STEPS='"t/M"' keys >"$T_DIR/c/keys"
printf '{ "spool_dir": "%s", %s "site": { "site01": { "root": "%s" } } }\n' \
	"$T_DIR/c/spool" "$(cat "$T_DIR/c/keys")" "$SITE" >"$T_DIR/c/config.json"
"$BIN/tmcwatch" -c "$T_DIR/c/config.json" -t "$T_DIR/conf/template.json" check >"$T_DIR/c/check.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'gearman.steps: t/M reads the output of t/L, but a remote unit starts from the original: name t/L to send both' "$T_DIR/c/check.out"
ok $? "head: tmcwatch check refuses a gearman.steps head that reads a step, naming the step to send instead (exit $rc)"

# ---- d. a worker that registers the function and never takes a job
stop_host hsmall
stop_host hbig
gearman -h 127.0.0.1 -p "$GM_PORT" -w -f tmcwatch:two:00 -- cat >/dev/null 2>&1 &
FAKE=$!
T_PIDS="$T_PIDS $FAKE"
wait_for 30 eval 'gm_admin --workers | grep -q " : tmcwatch:two:00$"'
kill -STOP "$FAKE"
ok $? "stalled: a gearman worker of tmcwatch:two:00 registered, then stopped"
hold copy two 0
make_tree st 1
tree_job st
seq=$(submit "$T_DIR/st.json")
wait_for 90 grep -q "tmc-remote.*tmcwatch:two:00: no worker host took it within 30 s" "$T_DIR/tmcwatch.log"
ok $? "stalled: after 30 s the spool host gives the request up"
worker_host hnext
{
	kill -KILL "$FAKE"
	wait "$FAKE"
} 2>/dev/null
wait_done "$seq" 120 && outputs_of st && lines_ok "$seq" 1 && [ "$(spool_items "$SPOOL" err)" = 0 ]
ok $? "stalled: the item is then done once by worker host hnext, nothing in err/"
is "$(remote_field hnext done)" 1 "stalled: hnext did the unit"
release
stop_daemon
# no sanitizer report from any process (a build-san run) of any host
! grep -hE 'Sanitizer|runtime error' "$T_DIR"/*.err "$T_DIR"/*/*.err 2>/dev/null | grep -q .
ok $? "no sanitizer report from any host"
