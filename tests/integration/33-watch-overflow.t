#!/bin/bash
# inotify queue overflow: tmc-watch is stopped (SIGSTOP) while new folders
# and files arrive and more events than fs.inotify.max_queued_events pile
# up (chmod of two files the watch ignores, alternately, so the kernel
# cannot merge them); the folders and files are made after the queue is
# full, so only a walk can find them. After SIGCONT the kernel reports IN_Q_OVERFLOW, the
# watcher walks the tree again, and every file is converted exactly once,
# including those in folders whose creation event was lost; those folders
# are watched afterwards.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
plan 7

watch_config "$COPY1" '"include": ["*.jpg"]'
mkdir -p "$SRC/old"
start_watching
ok $? "daemon started, watcher ready"
for i in $(seq 1 50); do echo "before $i" >"$SRC/old/b$i.jpg"; done
wait_results 50 60
ok $? "50 files converted before the overflow"

max=$(cat /proc/sys/fs/inotify/max_queued_events)
pid=$(watch_pid)
kill -STOP "$pid"
python3 - "$SRC/old" $((max + 1000)) <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
files = [os.path.join(d, "flood%d.txt" % i) for i in range(2)]
for f in files:
    open(f, "w").close()
for i in range(n):
    os.chmod(files[i % 2], 0o600 if (i // 2) % 2 else 0o644)
PY
for d in $(seq 1 20); do
	mkdir -p "$SRC/new$d/sub"
	for i in $(seq 1 10); do echo "new $d $i" >"$SRC/new$d/sub/n$i.jpg"; done
done
for i in $(seq 1 100); do echo "during $i" >"$SRC/old/d$i.jpg"; done
kill -CONT "$pid"
wait_for 30 grep -q 'inotify queue overflowed' "$T_DIR/tmcwatch.log"
ok $? "the watcher saw the overflow ($((max + 1000)) events queued, limit $max)"
wait_results 350 120
ok $? "350 result lines"
echo "after" >"$SRC/new7/sub/after.jpg"
wait_results 351 30
ok $? "a file written afterwards into a folder made during the overflow is converted"
wait_idle 20
sleep 1.5
is "$(results) $(result_dups) $(rel_dups)" "351 0 0" "every file converted exactly once"
list_src | grep -v flood >"$T_DIR/want"
check "every output has its original's bytes" src_matches_out "$T_DIR/want"
stop_daemon
