#!/bin/bash
# A swapper racing a running pipeline: while a file-list job of 50 files
# runs through two copy steps (each opens the original), a process swaps
# the folder holding them for a symlink to an outside folder with files of
# the same names, and back, as fast as it can. Whatever the timing, no
# output ever holds an outside file's bytes: each file is copied from
# inside, or refused with an error row.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 5

write_config "$COPY2"
N=50
mkdir -p "$SITE/r" "$T_DIR/evil"
for i in $(seq 1 $N); do
	echo "inside $i $RANDOM" >"$SITE/r/f$i.jpg"
	echo "OUTSIDE $i" >"$T_DIR/evil/f$i.jpg"
	echo "/r/f$i.jpg"
done >"$T_DIR/list"
cp -r "$SITE/r" "$T_DIR/inside"
start_daemon
ok $? "daemon started"

# the swapper: rename the folder away, put a symlink in its place, undo;
# it says it is running once it has swapped 100 times
python3 - "$SITE/r" "$T_DIR/evil" "$T_DIR/swaps" <<'PY' &
import os, signal, sys, time
d, evil, out = sys.argv[1:]
hold, n = d + ".hold", 0
def stop(*_):
    if os.path.islink(d): os.unlink(d)
    if os.path.isdir(hold): os.rename(hold, d)
    open(out, "w").write(str(n))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    os.rename(d, hold); os.symlink(evil, d)
    os.unlink(d); os.rename(hold, d)
    n += 1
    time.sleep(0.002)  # mostly the real folder: some files get through
    if n == 100: open(out + ".running", "w").close()
PY
SWAPPER=$!
T_PIDS="$T_PIDS $SWAPPER"
wait_for 30 test -e "$T_DIR/swaps.running"

# 10 jobs in a row, 500 files, each opened by tmc-jobs and two copy steps;
# after each, look at what it wrote and clear it for the next
job_json '"path_head": "", "path_tail": "", "filelist": true' >"$T_DIR/j.json"
outside=0 bad=0 unfinished=0 nrows=0
for k in $(seq 10 19); do
	S=1001010000000$k
	cp "$T_DIR/list" "$SPOOL/proc/$S.file"
	cp "$T_DIR/j.json" "$SPOOL/req/.$S" && mv "$SPOOL/req/.$S" "$SPOOL/req/$S"
	wait_done $S 180 || unfinished=$((unfinished + 1))
	nrows=$((nrows + $(rows $S)))
	outside=$((outside + $(grep -rl OUTSIDE "$SITE/out1" "$SITE/out2" 2>/dev/null | wc -l)))
	for o in $(cd "$SITE" && find out1 out2 -type f 2>/dev/null); do
		grep -q OUTSIDE "$SITE/$o" || cmp -s "$SITE/$o" "$T_DIR/inside/${o##*/}" || bad=$((bad + 1))
	done
	rm -rf "$SITE/out1" "$SITE/out2"
	cut -f3,4 "$SPOOL/done/$S.result" >>"$T_DIR/outcomes"
done
kill -TERM $SWAPPER
wait $SWAPPER
diag "swaps: $(cat "$T_DIR/swaps" 2>/dev/null); outcomes (created, warnings): $(sort "$T_DIR/outcomes" | uniq -c | tr '\n\t' '; ')"
is $unfinished 0 "10 jobs finished while the swapper ran"
is $nrows $((10 * N)) "a row per file"
is $outside 0 "no output ever held an outside file's bytes"
is $bad 0 "every output written is its own inside original"
