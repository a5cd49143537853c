#!/bin/bash
# Folders that are scanned instead of watched. With mode "poll" (what a
# network file system gets: inotify cannot see other hosts' writes) the
# tree is walked every min_sec seconds and a file is ready when two walks
# find the same inode, size and mtime: a slow writer is not converted while
# it writes. When inotify_add_watch hits the watch limit (simulated with
# TMC_WATCH_MAX_WATCHES, as the real fs.inotify.max_user_watches is shared
# by the whole machine) the log says how many more watches are needed and
# the folders without one are scanned: their files are converted too.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
plan 10

watch_config "$COPY1" '"mode": "poll", "min_sec": 1'
mkdir -p "$SRC/a/b"
for i in 1 2 3; do echo "before $i" >"$SRC/a/b/p$i.jpg"; done
start_watching
ok $? "mode poll: daemon started, watcher ready"
grep -q 'is scanned every 1 s (mode poll)' "$T_DIR/tmcwatch.log"
ok $? "the log says the folder is scanned"
mkdir -p "$SRC/later"
for i in 1 2 3; do echo "later $i" >"$SRC/later/q$i.jpg"; done
slow_writer "$SRC/later/slow.jpg" 12 0.25 &
writer=$!
wait_results 6 30
ok $? "files there at start and files added later are converted"
wait $writer
wait_results 7 30
wait_idle 20
sleep 2.5
is "$(results) $(result_dups) $(rel_dups)" "7 0 0" "each once, the slow writer's file too"
list_src >"$T_DIR/want"
check "and with its final bytes (12 pieces over 3 s, scans 1 s apart)" src_matches_out "$T_DIR/want"
stop_daemon

# The watch limit: 3 watches for a tree of 1 + 8 folders.
rm -rf "$SPOOL" "$SITE"
watch_config "$COPY1" '"min_sec": 1'
for d in 1 2 3 4; do mkdir -p "$SRC/d$d/e"; echo "start $d" >"$SRC/d$d/e/s.jpg"; done
export TMC_WATCH_MAX_WATCHES=3
start_watching
ok $? "watch limit 3: daemon started, watcher ready"
grep -q 'inotify watch limit reached.*: 6 folders of .* are scanned every 1 s instead; this watch needs 6 more watches, 9 in all' "$T_DIR/tmcwatch.log"
ok $? "the log says how many folders are scanned and how many watches are needed"
unset TMC_WATCH_MAX_WATCHES
for d in 1 2 3 4; do echo "later $d" >"$SRC/d$d/e/l.jpg"; done
mkdir -p "$SRC/d5/f/g" && echo "new folder" >"$SRC/d5/f/g/n.jpg"
wait_results 9 30
ok $? "files at start, files added later and a file in a new folder are all converted"
wait_idle 20
sleep 2.5
is "$(results) $(result_dups) $(rel_dups)" "9 0 0" "each once"
list_src >"$T_DIR/want"
check "with their bytes" src_matches_out "$T_DIR/want"
stop_daemon
