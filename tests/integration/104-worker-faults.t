#!/bin/bash
# tmcwatch worker (tmcwatch-worker(8)), security and faults, with a real
# gearmand: a request not signed, signed with another secret, expired, with
# another template digest, another site digest (a spool host whose
# watermark file differs), or for a step that heads no unit here is refused
# with the reason in the reply and the log, and publishes nothing; outputs
# over the request's max_reply are refused, not sent; gearmand
# killed -9 and started again on its port: tmc-gworker registers again and
# answers without a restart, also when gearmand restarts under idle workers
# that libgearman reconnects by itself (then without their name); tmc-gworker killed -9 mid-unit: its dead work is
# removed when it is started again; SIGTERM of `tmcwatch worker` mid-unit:
# the request gets a retry=1 reply, every process ends, the spool is clean
# after a restart; gearman.tls with a libgearman without TLS is refused.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
. "$TMC_SRC/tests/bench/inputs.sh"
. "$TMC_SRC/tests/lib/gearman.sh"
# A unit is held in step 1's new/ by stopping that step's worker: step 0's
# workers must hand items on, not carry them on themselves (tmcwatch-spool(5),
# "Carrying an item on").
export TMC_NO_FOLLOW=1
plan 50

in=$SITE/in
mkdir -p "$in"
gm convert -size 800x600 plasma:red-blue -quality 90 "$in/photo.jpg"
start_gearmand
mkdir -p "$T_DIR/conf"
gm convert -size 40x20 xc:white "$T_DIR/conf/wm.png"
image_config "{ \"ref\": { \"proc\": [ $(ref_steps) ] } }" '"watermark": "wm.png"' \
	"$(gm_config_keys '"templates": ["ref"], "name": "wh-104", "workers": 2')"
start_worker() {
	"$BIN/tmcwatch" -c "$CONF" worker 2>>"$T_DIR/daemon.err" &
	DAEMON=$!
	T_PIDS="$T_PIDS $DAEMON"
}
workers_up() { [ "$(gm_admin --workers | grep -c 'wh-104 : tmcwatch:ref:00')" -ge 2 ]; }
start_worker
wait_for 60 workers_up
ok $? "two tmc-gworker processes registered as wh-104"

send() { # send OUTDIR [tmc-gsend args]
	local o=$1
	shift
	"$BIN/tmc-gsend" -c "$CONF" -T ref -f "$in/photo.jpg" -o "$T_DIR/$o" -w 60 "$@" \
		2>>"$T_DIR/gsend.err"
}
hdr() { sed -n "s/^$2=//p" "$T_DIR/$1/header"; }
nothing_published() {
	[ "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)$(spool_items "$SPOOL" err)" = 000 ] &&
		[ -z "$(ls -A "$SPOOL/remote" 2>/dev/null)" ] &&
		! grep -q 'tmc-image.*remote:' "$T_DIR/tmcwatch.log"
}

# --- refusals ---
refused() { # refused OUTDIR WORDS LABEL
	is "$(hdr "$1" retry)" 0 "$3: retry=0"
	hdr "$1" error | grep -q "$2"
	ok $? "$3: the reply says \"$2\" ($(hdr "$1" error))"
	grep "tmc-gworker.*refused" "$T_DIR/tmcwatch.log" | grep -q "$2"
	ok $? "$3: the worker's log says why"
}
send raw -s 0 -R
refused raw "not signed with our secret" "bytes that are no message"
send other -s 0 -K "another-secret-of-enough-length"
refused other "not signed with our secret" "signed with another secret"
send old -s 0 -E
refused old "expired" "an expired request"
send dig -s 0 -D
refused dig "digest mismatch" "another template digest"
# a spool host whose site01 names a watermark file with other bytes: its
# outputs would not be ours, so the worker host refuses (the spool host then
# works locally)
cp -r "$T_DIR/conf" "$T_DIR/conf2"
gm convert -size 40x20 xc:black "$T_DIR/conf2/wm.png"
send site -s 0 -p site01 -c "$T_DIR/conf2/config.json"
refused site "site digest mismatch" "another watermark file"
# a refusal after the MAC was checked names the request (not replayable)
is "$(hdr dig id):$(hdr dig nonce | wc -c)" "gsend1:33" \
	"a digest refusal echoes the request's id and nonce"
send notserved -s 1 -F tmcwatch:ref:00
refused notserved "not served" "step 1 (no unit's head)"
nothing_published
ok $? "no refused request published an item, a work folder or a stage line"
send sameside -s 0 -p site01
is "$(hdr sameside results):$(hdr sameside files)" "8:8" "the same site block and files: served"
# a reply would be bigger than the spool host takes (its max_reply): none
# is sent, the refusal is final (the same unit makes the same bytes)
send big -s 0 -M 20000
refused big "over max_reply" "outputs over the request's max_reply"
is "$(hdr big files)" "" "no file was sent"

# --- gearmand killed and started again on the same port ---
stop_gearmand KILL
start_gearmand "$GM_PORT"
ok $? "gearmand runs again on port $GM_PORT"
wait_for 60 workers_up
ok $? "both tmc-gworker processes registered again, not restarted"
send again -s 0
is "$?:$(hdr again results):$(hdr again files)" "0:8:8" "and answer a request: 8 results, 8 files"
is "$(grep -c 'tmc-gworker.*started as host' "$T_DIR/tmcwatch.log")" 2 "no tmc-gworker was restarted"
wait_for 60 workers_up

# --- gearmand restarted while both workers are idle and stopped (SIGSTOP,
# as a partition would: they see gearmand gone only when they run again),
# five times: libgearman reconnects by itself and registers the functions
# without the host's name (without fail: gearmand lists "- : tmcwatch:ref:00").
# An idle tmc-gworker asks gearmand's listing every 5 s and connects afresh
# when it is not there as it should be: both listed again within 30 s.
rounds=0
for round in 1 2 3 4 5; do
	gw=$(pgrep -P "$DAEMON" -x tmc-gworker)
	kill -STOP $gw
	stop_gearmand KILL
	start_gearmand "$GM_PORT"
	kill -CONT $gw
	wait_for 30 workers_up && rounds=$((rounds + 1))
	[ "$rounds" = "$round" ] || diag "round $round: $(gm_admin --workers | tr '\n' '|')"
done
is "$rounds" 5 "gearmand restarted 5 times under stopped idle workers: both listed as wh-104 with tmcwatch:ref:00 each time"

# --- gearmand killed while a unit runs: when the unit is done, the worker
# registers with the new gearmand under its name again ---
wait_for 60 workers_up
s600_pid() { pgrep -P "$DAEMON" -f -- "-T ref -s 1\$" | head -1; }
held() { [ -n "$(ls -A "$SPOOL/stages/ref/01-S600/new" 2>/dev/null)" ]; }
S600=$(s600_pid)
kill -STOP "$S600"
"$BIN/tmc-gsend" -c "$CONF" -T ref -s 0 -f "$in/photo.jpg" -o "$T_DIR/gmdie" -i gmdie1 -w 30 \
	2>>"$T_DIR/gsend.err" &
GS=$!
T_PIDS="$T_PIDS $GS"
wait_for 60 held
ok $? "a unit waits in ref/01-S600/new"
stop_gearmand KILL
start_gearmand "$GM_PORT"
kill -CONT "$S600"
{ wait "$GS"; } 2>/dev/null
named() { [ "$(gm_admin --workers | grep -c 'wh-104 : tmcwatch:ref:00')" -eq 2 ]; }
wait_for 60 named
rc=$?
ok $rc "gearmand killed mid-unit: both workers registered again, under the name wh-104"
[ $rc = 0 ] || diag "workers: $(gm_admin --workers | tr '\n' '|')"
clean() {
	[ -z "$(ls -A "$SPOOL/remote")" ] &&
		[ "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)" = 00 ]
}
wait_for 30 clean
ok $? "and the unit's work is gone from the worker's spool"

# --- the worker host killed -9 mid-unit (held in its second step by a
# stopped tmc-image): its dead work is removed at the next start ---
s600_pid() { pgrep -P "$DAEMON" -f -- "-T ref -s 1\$" | head -1; }
S600=$(s600_pid)
[ -n "$S600" ] && kill -STOP "$S600"
ok $? "tmc-image of ref/01-S600 stopped (pid $S600)"
held() { [ -n "$(ls -A "$SPOOL/stages/ref/01-S600/new" 2>/dev/null)" ]; }
"$BIN/tmc-gsend" -c "$CONF" -T ref -s 0 -f "$in/photo.jpg" -o "$T_DIR/crash" -i crash1 -w 120 \
	2>>"$T_DIR/gsend.err" &
GS=$!
T_PIDS="$T_PIDS $GS"
wait_for 60 held
ok $? "the unit's item waits in ref/01-S600/new"
kids=$(pgrep -P "$DAEMON")
kill -KILL "$DAEMON" $kids
{ wait "$DAEMON"; } 2>/dev/null
gone() { for p in $kids; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 30 gone
[ -n "$(ls -A "$SPOOL/remote")" ] && held
ok $? "killed -9 with every child: its work is left in remote/ and ref/01-S600/new"
start_worker
dead_work_removed() { grep -q "tmcwatch\[$DAEMON\].*removed 1 requests' dead work" "$T_DIR/tmcwatch.log"; }
wait_for 60 dead_work_removed
ok $? "started again, tmcwatch worker removes the dead work before any child starts"
wait "$GS"
is "$?:$(hdr crash results):$(hdr crash files)" "0:8:8" \
	"gearmand gave the job to the new worker, which answered it whole"
clean() {
	[ -z "$(ls -A "$SPOOL/remote")" ] &&
		[ "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)" = 00 ]
}
wait_for 30 clean
ok $? "the spool is clean again"

# --- SIGTERM of tmcwatch worker mid-unit ---
wait_for 60 workers_up
S600=$(s600_pid)
kill -STOP "$S600"
"$BIN/tmc-gsend" -c "$CONF" -T ref -s 0 -f "$in/photo.jpg" -o "$T_DIR/term" -i term1 -w 60 \
	2>>"$T_DIR/gsend.err" &
GS=$!
T_PIDS="$T_PIDS $GS"
wait_for 60 held
ok $? "a unit waits in ref/01-S600/new again"
kill -TERM "$DAEMON"
kill -CONT "$S600"
wait "$DAEMON"
is "$?" 0 "tmcwatch worker stops on SIGTERM mid-unit with status 0"
wait "$GS"
is "$(hdr term retry)" 1 "the request in hand gets a reply with retry=1"
hdr term error | grep -q "stopping"
ok $? "saying the host is stopping ($(hdr term error))"
! pgrep -f -- "$CONF" >/dev/null
ok $? "no process of the worker host is left"
start_worker
wait_for 60 workers_up
ok $? "tmcwatch worker started again"
wait_for 30 clean
ok $? "its spool is clean: remote/ empty, no item in new/ or cur/"
stop_daemon
is "$DAEMON_RC" 0 "and stops again with status 0"

# --- gearman.tls with a libgearman built without TLS: refused at start ---
sed 's|"name": "wh-104"|"tls": true, "name": "wh-104"|' "$CONF" >"$T_DIR/conf/tls.json"
if ldd "$BIN/tmc-gworker" | grep -q 'libssl\|libwolfssl'; then
	echo "ok $((T_N += 1)) # skip this libgearman has TLS"
	echo "ok $((T_N += 1)) # skip this libgearman has TLS"
else
	timeout 30 "$BIN/tmc-gworker" -c "$T_DIR/conf/tls.json" -t "$T_DIR/conf/template.json" \
		2>"$T_DIR/tls.err"
	is "$?" 78 "tls: true without TLS in libgearman: tmc-gworker exits 78 at start"
	grep -q "built without TLS" "$T_DIR/tls.err"
	ok $? "saying why: $(grep -o 'gearman.tls.*' "$T_DIR/tls.err" | cut -c1-80)"
fi
