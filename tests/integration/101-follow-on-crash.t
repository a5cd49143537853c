#!/bin/bash
# A tmc-image worker killed (SIGKILL, failpoints in the real program) while
# it carries an item on through TMC's reference job (tmcwatch-spool(5),
# Carrying an item on): after the commit with the item in the successor's
# tmp/ and its ticket.next locked (handon-committed), once the item is in the
# successor's cur/ under its lock (handon-claimed), and in a carried step
# after its callback was queued (stepcb-queued, step S300). After a restart
# every output exists once with the bytes of a clean run, every step wrote
# one result line, every callback was delivered once, and no item is left
# in new/, cur/, tmp/ or err/. And recovery leaves alone a committed handoff
# in tmp/ whose ticket a live worker holds locked (handon-committed:hang).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 19

N=2
ref_chain 1400x1000
S=$SPOOL/stages/ref

# fresh: an empty spool with its folders (a daemon started and stopped)
fresh() {
	rm -rf "$SPOOL" "$SITE"/s[0-9]* "$T_DIR"/drop/*
	start_daemon && wait_children && stop_daemon
}
# finish OUTDIR: the daemon (its recovery first) takes the items to the end
finish() {
	start_daemon
	wait_results $((N * 8)) && wait_idle && wait_for 60 eval "[ \$(ls '$T_DIR/drop' | wc -l) -ge $N ]"
	local r=$?
	stop_daemon
	mkdir -p "$1"
	for d in "$SITE"/s[0-9]*; do mv "$d" "$1/"; done
	return $r
}

fresh
list | enqueue_site ref site01 t >/dev/null
finish "$T_DIR/clean"
ok $? "clean run: $N originals through the 8 steps"

# crash FAILPOINT: a first-step worker of our own, killed at the failpoint
crash() {
	fresh
	list | enqueue_site ref site01 t >/dev/null
	# (timeout: a program without the failpoint idles; 124, not 137)
	TMC_FAILPOINT=$1 timeout 120 "$BIN/tmc-image" -c "$CONF" -T ref -s 0 2>>"$T_DIR/fp.err"
}

after() { # after NAME: the checks once the daemon finished the items
	local name=$1
	finish "$T_DIR/$name"
	ok $? "$name: after a restart every step of the $N originals is reported"
	diff -r "$T_DIR/clean" "$T_DIR/$name" >"$T_DIR/$name.diff" 2>&1
	ok $? "$name: every output once, the bytes of the clean run"
	is "$(wc -l <"$SPOOL/proc/test1.log") $(awk -F '\t' '{ print $1, $3 }' "$SPOOL/proc/test1.log" | sort -u | wc -l) $(ls "$T_DIR/drop" | wc -l)" \
		"$((N * 8)) $((N * 8)) $N" "$name: one result line per step, one callback per output"
	is "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)$(spool_items "$SPOOL" err)$(find "$S"/*/tmp -mindepth 1 -maxdepth 1 | wc -l)$(stray_temps)" \
		00000 "$name: nothing left in new/, cur/, err/, tmp/ or the site"
}

crash handon-committed
rc=$?
id=$(ls "$S/01-S600/tmp" 2>/dev/null | head -1)
test $rc -eq 137 -a -n "$id" && test -e "$S/01-S600/tmp/$id/next.raw" -a -e "$S/01-S600/tmp/$id/ticket" \
	-a ! -e "$S/01-S600/tmp/$id/ticket.next" -a ! -e "$S/00-S1000/cur/$id"
ok $? "handon-committed: killed after the commit, the item in S600's tmp/ with its own ticket ($rc $id)"
after committed

crash handon-claimed
rc=$?
id=$(ls "$S/01-S600/cur" 2>/dev/null | head -1)
test $rc -eq 137 -a -n "$id" && test -e "$S/01-S600/cur/$id/pixels.raw" -a ! -e "$S/01-S600/tmp/$id"
ok $? "handon-claimed: killed with the item carried into S600's cur/ ($rc $id)"
after claimed

crash stepcb-queued
rc=$?
id=$(ls "$S/03-S300/cur" 2>/dev/null | head -1)
test $rc -eq 137 -a -n "$id" && test "$(ls "$SITE"/s300 | wc -l)" -eq 1
ok $? "stepcb-queued: killed in the carried step S300 with its output and callback made ($rc $id)"
after stepcb

# recovery while a live worker holds the committed handoff in tmp/: the
# supervisor's start-up recovery and the S600 worker's leave it there
fresh
list | enqueue_site ref site01 t >/dev/null
TMC_FAILPOINT=handon-committed:hang "$BIN/tmc-image" -c "$CONF" -T ref -s 0 2>>"$T_DIR/fp.err" &
holder=$!
wait_for 60 eval '[ -n "$(ls "$S/01-S600/tmp")" ]'
id=$(ls "$S/01-S600/tmp" | head -1)
start_daemon
wait_children
wait_for 60 eval "[ \$(results) -ge $(((N - 1) * 8 + 1)) ]"
is "$(ls "$S/01-S600/tmp") $(awk -F '\t' -v id="$id" '$1 == id' "$SPOOL/proc/test1.log" | wc -l)" "$id 1" \
	"held: recovery left the locked handoff $id in tmp/ (its only result line is step 0's)"
kill -KILL $holder
wait $holder 2>/dev/null
stop_daemon
finish "$T_DIR/held"
ok $? "held: once its holder died, a restart finished it"
diff -r "$T_DIR/clean" "$T_DIR/held" >"$T_DIR/held.diff" 2>&1
ok $? "held: every output once, the bytes of the clean run"
