#!/bin/bash
# The clock-skew case TMC failed: files whose mtime is a year in the future
# or a year in the past (touch -d, then moved in or copied with cp -p) are
# converted, once, and not again after a restart. max_sec only limits the
# very first scan (files older than max_sec before the newest change are
# left alone), never an arrival, whatever its mtime; a file left alone is
# converted once it is changed (touch).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
plan 9

watch_config "$COPY1" '"max_sec": 3600'
stage=$T_DIR/stage
mkdir -p "$stage" "$SRC/old"
echo "there for two days" >"$SRC/old/before.jpg"
touch -d '2 days ago' "$SRC/old/before.jpg"
echo "there, fresh" >"$SRC/old/fresh.jpg"
start_watching
ok $? "daemon started, watcher ready"
wait_results 1 30
sleep 1.5
is "$(cut -f6 "$WLOG" | sort | tr '\n' ' ')" "/old/fresh.jpg " \
	"first scan with max_sec 3600: the fresh file is converted, the 2-day-old one is not"

for when in '1 year' '1 year ago'; do
	tag=${when// /_}
	echo "moved in, mtime $when" >"$stage/mv_$tag.jpg"
	echo "cp -p, mtime $when" >"$stage/cpp_$tag.jpg"
	touch -d "$when" "$stage/mv_$tag.jpg" "$stage/cpp_$tag.jpg"
	mv "$stage/mv_$tag.jpg" "$SRC/"
	cp -p "$stage/cpp_$tag.jpg" "$SRC/"
done
wait_results 5 60
ok $? "four files with mtimes a year off were converted"
list_src | grep -v '/old/before.jpg' >"$T_DIR/want"
check "their outputs have their bytes" src_matches_out "$T_DIR/want"
stop_daemon

echo "added while stopped, mtime a year ago" >"$SRC/down.jpg"
touch -d '1 year ago' "$SRC/down.jpg"
start_watching
ok $? "restarted"
wait_results 6 30
sleep 2 # the start-up walk's files settle for 1 s
is "$(results) $(result_dups) $(rel_dups)" "6 0 0" \
	"after the restart only the file added while stopped was converted, even a year old"
stop_daemon
start_watching
sleep 2
is "$(results)" 6 "a second restart converts nothing"

touch "$SRC/old/before.jpg"
wait_results 7 30
is "$(tail -1 "$WLOG" | cut -f6)" /old/before.jpg "the file the first scan left alone is converted when touched"
sleep 1
is "$(results) $(result_dups)" "7 0" "and only once"
stop_daemon
