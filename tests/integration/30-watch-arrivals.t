#!/bin/bash
# Files arriving in a watched folder the ways users copy them: 500 files
# by one cp, 500 by rsync (a temporary dot name, then a rename), slow
# writers that write a file in pieces over a second, and a deep tree made
# with mkdir -p and written into at once. Each file is converted exactly
# once (one result line per item and step, no path twice), none while
# incomplete (every output has the final bytes: the copy step never
# overwrites, so an early copy would stay), none is missed, and
# `tmcwatch status` shows the watch's counts.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
plan 11

watch_config "$COPY1" '"include": ["*.jpg", "*.bin"]'
stage=$T_DIR/stage
mkdir -p "$stage/cp/a" "$stage/cp/b" "$stage/rs/x" "$stage/rs/y/z"
for i in $(seq 1 500); do
	printf 'cp %d %s\n' "$i" "$RANDOM$RANDOM" >"$stage/cp/$([ $((i % 2)) = 0 ] && echo a || echo b)/f$i.jpg"
	printf 'rsync %d %s\n' "$i" "$RANDOM$RANDOM" >"$stage/rs/$([ $((i % 3)) = 0 ] && echo x || echo y/z)/g$i.jpg"
done
start_watching
ok $? "daemon started, watcher ready"

cp -r "$stage/cp" "$SRC/cp" &
cpid=$!
rsync -r "$stage/rs/" "$SRC/rs/" &
rpid=$!
mkdir -p "$SRC/slow"
slow=""
for i in 1 2 3 4 5 6; do
	slow_writer "$SRC/slow/s$i.bin" 10 0.1 &
	slow="$slow $!"
done
mkdir -p "$SRC/deep/1/2/3/4/5/6/7/8" && for i in $(seq 1 20); do
	echo "deep $i" >"$SRC/deep/1/2/3/4/5/6/7/8/d$i.jpg"
	echo "shallow $i" >"$SRC/deep/1/s$i.jpg"
done
wait $cpid $rpid $slow
ok $? "cp, rsync, the slow writers and the deep tree are done"
# a temporary name that never gets its final name is never converted
echo "abandoned" >"$SRC/rs/.h1.jpg.Ab12Cd"
echo "partial" >"$SRC/rs/h2.jpg.part"

list_src >"$T_DIR/want.all"
grep -v -e '/\.' -e '\.part$' "$T_DIR/want.all" >"$T_DIR/want"
n=$(wc -l <"$T_DIR/want")
is "$n" 1046 "1,046 files to convert"
wait_results "$n" 180
ok $? "a result line for each"
wait_idle 30
sleep 1.5 # anything converted twice would report by now
is "$(results) $(result_dups) $(rel_dups)" "$n 0 0" "exactly one result line per file and step, no path twice"
check "every output has the final bytes of its original" src_matches_out "$T_DIR/want"
is "$(find "$SITE/out" -type f | wc -l)" "$n" "no output for temporary names"
is "$(awk -F'\t' '$4 != 1' "$WLOG" | wc -l)" 0 "every result line says created"
wait_for 30 eval '[ "$(stat_get ok)" = "$n" ]'
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status"
grep -q "^watch site01: handed off $n, converted $n, failed 0, in progress 0, waiting 0$" "$T_DIR/status"
ok $? "status: handed off $n, converted $n, failed 0"
"$BIN/tmcwatch" -c "$CONF" status --json | jq -e ".watches[0].watch == \"site01\" and .watches[0].ok == $n" >/dev/null
ok $? "status --json has the watch's counts"
stop_daemon
grep -q "tmc-watch.*stopping: $n files handed off, 0 waiting" "$T_DIR/tmcwatch.log"
ok $? "SIGTERM: tmc-watch finished and logged its count"
