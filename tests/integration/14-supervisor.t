#!/bin/bash
# The supervisor: restarts a dead child, backs off and reports a child that
# keeps dying, stops cleanly on SIGTERM (no item left in cur/), refuses a
# bad configuration on SIGHUP and keeps running, applies a good one, and
# refuses a second daemon on the same spool.
. "$TMC_SRC/tests/lib/tap.sh"
plan 11
export TMC_RESTART_DELAY_MS=100

write_config "$COPY3"
make_inputs 1500
start_daemon

# restart of a killed child (once it surely exists: the pid file comes first)
wait_for 30 pgrep -f "tmc-copy -c $CONF -t .* -s 1"
old=$(pgrep -f "tmc-copy -c $CONF -t .* -s 1")
kill -KILL "$old"
wait_for 10 eval 'new=$(pgrep -f "tmc-copy -c $CONF -t .* -s 1") && [ -n "$new" ] && [ "$new" != "$old" ]'
ok $? "a killed stage process is restarted"
grep -q "chain/01-B#0 (pid $old) killed by signal 9" "$T_DIR/tmcwatch.log"
ok $? "its death is logged with the cause"

# a second daemon on the same spool
"$BIN/tmcwatch" -c "$CONF" run 2>"$T_DIR/second.err"
rc=$?
test $rc -eq 75 && grep -q "another tmcwatch (pid $DAEMON) runs on spool" "$T_DIR/second.err"
ok $? "a second daemon on the same spool is refused (rc $rc)"

# SIGTERM in the middle of work: nothing left in cur/, everything done after restart
enqueue chain <"$T_DIR/list" >/dev/null
sleep 0.3
stop_daemon
is "$DAEMON_RC $(spool_items "$SPOOL" cur)" "0 0" "SIGTERM mid-run: exit 0, no item left in cur/"
pgrep -f "tmc-copy -c $CONF" >/dev/null
ok $((! $?)) "no stage process outlives the supervisor"
start_daemon
wait_files "$SITE/out3" 1500 120
check "after restart every original reached the last step" outputs_match out3

# SIGHUP with nothing changed (logrotate): logs reopened, no stage restarted
before=$(pgrep -f "tmc-copy -c $CONF" | sort | tr '\n' ' ')
mv "$T_DIR/tmcwatch.log" "$T_DIR/tmcwatch.log.1"
kill -HUP "$DAEMON"
wait_for 10 grep -q 'configuration unchanged; logs reopened' "$T_DIR/tmcwatch.log"
sleep 0.3
after=$(pgrep -f "tmc-copy -c $CONF" | sort | tr '\n' ' ')
test -n "$before" -a "$before" = "$after"
ok $? "SIGHUP with an unchanged configuration reopens the log and restarts nothing"

# reload: a bad configuration is refused, the running one stays
cp "$CONF" "$T_DIR/good.json"
printf '{ "worker_cnt": "many",\n' >"$CONF"
kill -HUP "$DAEMON"
wait_for 10 grep -q 'reload refused' "$T_DIR/tmcwatch.log"
ok $? "SIGHUP with a broken config.json: reload refused and logged"
kill -0 "$DAEMON" && pgrep -f "tmc-copy -c $CONF -t .* -s 2" >/dev/null
ok $? "the daemon and its stages keep running"
# a good new configuration: a new template gets its stage processes
cp "$T_DIR/good.json" "$CONF"
cat >"$T_DIR/conf/template.json" <<'JSON'
{ "chain": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
  {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2"},
  {"name": "C", "source": "B", "kind": "copy", "path_head": "/out3"} ] },
  "extra": { "proc": [ {"name": "X", "source": "hires", "kind": "pass", "path_head": "/x"} ] } }
JSON
kill -HUP "$DAEMON"
wait_for 10 pgrep -f "tmc-copy -c $CONF -t .* -T extra -s 0"
ok $? "SIGHUP with a good configuration starts the new template's stage"

# a child that keeps dying is reported and backed off, not restarted in a loop
stop_daemon
mkdir -p "$T_DIR/fakebin"
cp "$BIN"/* "$T_DIR/fakebin/"
printf '#!/bin/sh\nexit 3\n' >"$T_DIR/fakebin/tmc-copy"
chmod +x "$T_DIR/fakebin/tmc-copy"
TMC_LIBEXEC=$T_DIR/fakebin start_daemon
wait_for 20 grep -q 'chain/00-A#0 keeps dying (5 times' "$T_DIR/tmcwatch.log"
n1=$(grep -c 'chain/00-A#0 (pid [0-9]*) exited 3' "$T_DIR/tmcwatch.log")
sleep 2
n2=$(grep -c 'chain/00-A#0 (pid [0-9]*) exited 3' "$T_DIR/tmcwatch.log")
test "$n1" -ge 5 -a $((n2 - n1)) -le 2
ok $? "a child that keeps dying is reported and backed off ($n1 deaths, then $((n2 - n1)) in 2 s)"
stop_daemon
