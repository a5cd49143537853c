#!/bin/bash
# Each program in a short real run under valgrind: no leak, no invalid
# access. (The sanitizer build runs everything under ASan instead.)
. "$TMC_SRC/tests/lib/tap.sh"
case "$TMC_BUILD" in *san*) echo "1..0 # SKIP valgrind does not run ASan binaries"; exit 0 ;; esac
command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind is not installed"; exit 0; }
plan 5
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --trace-children=no"

write_config "$COPY3"
make_inputs 5
$VG "$BIN/tmcwatch" -c "$CONF" check >/dev/null 2>"$T_DIR/vg.check"
ok $? "tmcwatch check"
printf '{"hires":{"site":"site01","path_head":"/in","path_tail":"","include":["*"]},"template":"chain"}' >"$T_DIR/job.json"
$VG "$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" >/dev/null 2>"$T_DIR/vg.submit"
ok $? "tmcwatch submit"
$VG "$BIN/tmcwatch" -c "$CONF" status >/dev/null 2>"$T_DIR/vg.status"
test $? -eq 3 # LSB: not running
ok $? "tmcwatch status (exit 3: not running)"
enqueue chain <"$T_DIR/list" >/dev/null
$VG "$BIN/tmc-copy" -c "$CONF" -T chain -s 0 2>"$T_DIR/vg.copy" &
pid=$!
wait_files "$SITE/out1" 5 300
kill -TERM $pid; wait $pid
ok $? "tmc-copy: 5 items, then SIGTERM"
$VG "$BIN/tmcwatch" -c "$CONF" run 2>"$T_DIR/vg.run" &
pid=$!
wait_files "$SITE/out3" 5 300
sleep 0.5
kill -TERM $pid; wait $pid
ok $? "tmcwatch run: supervise the pipeline, then SIGTERM"
for f in "$T_DIR"/vg.*; do grep -q '==[0-9]*==' "$f" && { echo "# $f:"; sed 's/^/#   /' "$f" | head -40; }; done
exit 0
