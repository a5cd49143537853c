#!/bin/bash
# Log lines worth reading. A stage whose stderr is the journal (JOURNAL_STREAM
# names stderr's device:inode, as systemd sets it) starts every stderr line
# with its syslog priority: <6> for an item done, <3> for one failed for
# good, <4> for warnings; the log file never gets them, and neither does a
# stderr that is not the stream JOURNAL_STREAM names. Success and failure
# lines have one shape (origin, id, original, outcome, created, warnings,
# next, ms, reason) and a failure names the original file by its path.
. "$TMC_SRC/tests/lib/tap.sh"
plan 9

write_config '{ "one": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"}
] } }'
make_inputs 2
A=$SPOOL/stages/one/00-A

run_copy() { # run_copy STDERR: tmc-copy on 00-A until 2 outputs and 1 failure, then SIGTERM
	"$BIN/tmc-copy" -c "$CONF" -T one -s 0 2>>"$1" &
	local pid=$!
	wait_files "$SITE/out1" 2 60 && wait_for 60 test -e "$A/err/$2000001/reason"
	local rc=$?
	kill -TERM $pid; wait $pid
	return $rc
}
items() { # items PREFIX: the two inputs and a missing original
	enqueue one "$1" <"$T_DIR/list" >/dev/null
	printf '/missing.jpg\n' | "$BIN/tmc-enqueue" -c "$CONF" -T one -s site01 -b "$SITE/in" -p "$1m" >/dev/null
}

# 1: stderr is the journal's stream
: >"$T_DIR/journal"
items j
JOURNAL_STREAM=$(stat -c '%d:%i' "$T_DIR/journal") run_copy "$T_DIR/journal" jm
ok $? "tmc-copy: two items done, one failed"
bad=$(grep -cv '^<[3467]>[0-9T:.-]*Z tmc-copy\[' "$T_DIR/journal")
is "$bad" 0 "on the journal every stderr line starts with a priority"
grep -Eq "^<6>.* one/00-A: job:test1 j[0-9]+ $SITE/in/[01]+\.jpg ok created=1 warnings=0 next=0 [0-9]+ms$" "$T_DIR/journal"
ok $? "an item done: <6>, origin, id, original, ok, counts, ms"
grep -Eq "^<3>.* one/00-A: error: [^ ]+ jm000001 $SITE/in/missing.jpg failed created=0 warnings=0 next=0 [0-9]+ms reason: .*missing.jpg: No such file or directory" "$T_DIR/journal"
ok $? "an item failed: <3>, the same fields, the original's path and the reason"
grep -q '^<4>.*warning: ' "$T_DIR/journal"
ok $? "warnings: <4>"
grep -q '^<' "$T_DIR/tmcwatch.log"
test $? -eq 1; ok $? "the log file has no priority prefixes"
grep -q 'jm000001 .*missing.jpg failed' "$T_DIR/tmcwatch.log"
ok $? "the log file has the failure line too"

# 2: stderr is a file, not the stream JOURNAL_STREAM names (a redirect under
# systemd), and then no JOURNAL_STREAM at all: no prefixes
: >"$T_DIR/other" >"$T_DIR/plain"
rm -rf "$SITE/out1"
items p
JOURNAL_STREAM=$(stat -c '%d:%i' "$T_DIR/other") run_copy "$T_DIR/plain" pm
grep -q 'pm000001 .*missing.jpg failed' "$T_DIR/plain" && ! grep -q '^<' "$T_DIR/plain"
ok $? "stderr not the journal's stream: plain lines"
rm -rf "$SITE/out1"
items q
env -u JOURNAL_STREAM "$BIN/tmc-copy" -c "$CONF" -T one -s 0 2>"$T_DIR/plain2" &
pid=$!
wait_files "$SITE/out1" 2 60 && wait_for 60 test -e "$A/err/qm000001/reason"
kill -TERM $pid; wait $pid
grep -q 'qm000001 .*missing.jpg failed' "$T_DIR/plain2" && ! grep -q '^<' "$T_DIR/plain2"
ok $? "no JOURNAL_STREAM: plain lines"
