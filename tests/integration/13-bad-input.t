#!/bin/bash
# Bad input never crashes a stage and never loses an item: each case ends in
# err/ with a readable reason (and a log line), while good items keep flowing.
# A spool that cannot be used is refused at start with a clear message.
. "$TMC_SRC/tests/lib/tap.sh"
plan 14

write_config "$COPY3"
make_inputs 20
start_daemon
A=$SPOOL/stages/chain/00-A
wait_for 60 test -d "$A/new" # the stage makes its folders when it starts

# a ticket that does not parse, an item with no ticket, a stray file; built
# outside the stage (the same file system) and renamed into new/: a stage
# still in its start-up recovery finalizes or sweeps what it finds in tmp/
MK=$T_DIR/mk
mkdir -p "$MK/bad1" "$MK/bad2"
printf 'this is not a ticket' >"$MK/bad1/ticket"
mv "$MK/bad1" "$A/new/bad1"
mv "$MK/bad2" "$A/new/bad2"
echo junk >"$MK/stray" && mv "$MK/stray" "$A/new/stray"
# a source that does not exist, and one that climbs out of the site
printf '/missing.jpg\n' | "$BIN/tmc-enqueue" -c "$CONF" -T chain -s site01 -b "$SITE/in" -p miss >/dev/null
mkdir -p "$MK/climb"
printf 'id=climb\norigin=job:test1\nsite=site01\nsrc=%s/in/11.jpg\nrel=/../../escape.jpg\nout=/../../escape.jpg\nroot=%s\ntail=\nstep=0\n' \
	"$SITE" "$SITE" >"$MK/climb/ticket"
mv "$MK/climb" "$A/new/climb"
# a symlink planted where an output folder goes
mkdir -p "$T_DIR/elsewhere" "$SITE/out2"
ln -s "$T_DIR/elsewhere" "$SITE/out2/trap"
mkdir -p "$SITE/in/trap" && echo bait >"$SITE/in/trap/x.jpg"
printf '/trap/x.jpg\n' | "$BIN/tmc-enqueue" -c "$CONF" -T chain -s site01 -b "$SITE/in" -p link >/dev/null
enqueue chain <"$T_DIR/list" >/dev/null
wait_files "$SITE/out3" 20 60
ok $? "the 20 good items flowed through all steps"
# the bad items are not taken in any promised order: wait for each
for e in climb/reason bad1/reason bad2/reason stray miss000001/reason; do
	wait_for 60 test -e "$A/err/$e"
done
grep -q 'no newline at end' "$A/err/bad1/reason"; ok $? "unparsable ticket: err/ with reason"
grep -q 'item has no ticket' "$A/err/bad2/reason"; ok $? "item without ticket: err/ with reason"
test -e "$A/err/stray"; ok $? "stray file in new/: moved to err/"
grep -q 'missing.jpg: No such file or directory' "$A/err/miss000001/reason"; ok $? "missing original: err/ with the path and strerror"
grep -q 'climbs out' "$A/err/climb/reason" && ! test -e "$T_DIR/escape.jpg"; ok $? "path climbing out of the site: refused"
wait_for 30 grep -q 'err/bad1: ticket line 1' "$T_DIR/tmcwatch.log"; ok $? "the log names the item and the reason"
wait_for 60 test -e "$SPOOL/stages/chain/01-B/err/link000001/reason"
grep -q 'symbolic link in the output path is not followed' "$SPOOL/stages/chain/01-B/err/link000001/reason" &&
	test -z "$(ls "$T_DIR/elsewhere")"
ok $? "a symlink in the output path is refused, nothing written through it"
pgrep -f "tmc-copy -c $CONF -t .* -s 0" >/dev/null; ok $? "the stage process is still running"
stop_daemon

# a full disk: a 1 MiB tmpfs as the site root; the copy that does not fit is
# a fault of the machine, not the item's: retried (max_attempts does not
# apply), never in err/, and done once the disk grows
mkdir -p "$T_DIR/small"
if mount -t tmpfs -o size=1m tmpfs "$T_DIR/small" 2>/dev/null; then
	trap 'umount "$T_DIR/small" 2>/dev/null; cleanup' EXIT
	head -c 700000 /dev/urandom >"$SITE/in/big.bin"
	write_config '{ "chain": { "proc": [
	  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
	  {"name": "B", "source": "hires", "kind": "copy", "path_head": "/out2"} ] } }' \
		'"max_attempts": 2, "retry_delay": 1,'
	start_daemon
	printf '/big.bin\n' | "$BIN/tmc-enqueue" -c "$CONF" -T chain -s site01 -b "$SITE/in" -r "$T_DIR/small" -p full >/dev/null
	wait_for 60 eval '[ $(grep -c "full000001.*No space left on device.*retried in" "$T_DIR/tmcwatch.log") -ge 3 ]'
	w=$?
	test $w -eq 0 && ! ls -d "$SPOOL"/stages/chain/0*/err/full* 2>/dev/null
	ok $? "full disk: retried 3 times past max_attempts 2, nothing in err/"
	mount -o remount,size=4m "$T_DIR/small"
	wait_for 60 eval 'cmp -s "$SITE/in/big.bin" "$T_DIR/small/out1/big.bin" && cmp -s "$SITE/in/big.bin" "$T_DIR/small/out2/big.bin"'
	ok $? "full disk: both copies done once it has room, no restart"
	is "$(find "$T_DIR/small" -name '.*tmcwatch*' | wc -l)" 0 "full disk: no partial file left behind"
	stop_daemon
	umount "$T_DIR/small"
else
	ok 0 "# SKIP cannot mount a tmpfs here"
	ok 0 "# SKIP cannot mount a tmpfs here"
	ok 0 "# SKIP cannot mount a tmpfs here"
fi

# a spool that cannot be used
sed -i "s|\"spool_dir\": \"[^\"]*\"|\"spool_dir\": \"$T_DIR/no/such/parent/spool\"|" "$CONF"
"$BIN/tmcwatch" -c "$CONF" run 2>"$T_DIR/run.err"
rc=$?
test $rc -eq 73 && grep -q 'parent folder must exist' "$T_DIR/run.err"
ok $? "spool under a missing folder: refused to start (rc $rc) with a clear message"
echo "I am a file" >"$T_DIR/spoolfile"
sed -i "s|\"spool_dir\": \"[^\"]*\"|\"spool_dir\": \"$T_DIR/spoolfile\"|" "$CONF"
"$BIN/tmcwatch" -c "$CONF" run 2>"$T_DIR/run.err"
rc=$?
test $rc -eq 73 && grep -q 'spoolfile' "$T_DIR/run.err"
ok $? "spool that is a file: refused to start (rc $rc)"
