#!/bin/bash
# An item waiting for its retry time (not_before in its ticket) sits in new/
# without the stage spinning on it, and is processed once it is due.
. "$TMC_SRC/tests/lib/tap.sh"
plan 3

write_config '{ "one": { "proc": [
  {"name": "Copy", "source": "hires", "kind": "copy", "path_head": "/out"} ] } }'
make_inputs 1
start_daemon
wait_children
pid=$(pgrep -f "tmc-copy -c $CONF")
N=$SPOOL/stages/one/00-Copy/new
rel=$(head -n1 "$T_DIR/list")
mkdir -p "$SPOOL/stages/one/00-Copy/tmp/+d1"
printf 'id=d1\norigin=job:test1\nsite=site01\nsrc=%s/in%s\nrel=%s\nout=%s\nroot=%s\ntail=\nattempt=1\nnot_before=%s\n' \
	"$SITE" "$rel" "$rel" "$rel" "$SITE" $(($(date +%s) + 10)) >"$SPOOL/stages/one/00-Copy/tmp/+d1/ticket"
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
before=$(cpu)
mv "$SPOOL/stages/one/00-Copy/tmp/+d1" "$N/d1"
sleep 2 # a window to measure, well inside the 10 s deferral even on a loaded machine
used=$(( $(cpu) - before ))
test -e "$N/d1/ticket" -a ! -e "$SITE/out$rel"
ok $? "the item waits in new/ until its time"
test "$used" -lt 50
ok $? "the stage does not spin meanwhile ($used clock ticks of CPU in 2 s)"
wait_files "$SITE/out" 1 30
ok $? "once due it is processed"
stop_daemon
