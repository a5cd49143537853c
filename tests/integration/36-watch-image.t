#!/bin/bash
# A watch whose template has an image step: a JPEG and a PNG copied into
# the watched folder come out as JPEGs of at most 200x200 where TMC's
# watchdog put them (path_head + the path under dir, extension jpg), once.
# Skipped when tmc-image is not built.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
if [ ! -x "$BIN/tmc-image" ] || ! command -v gm >/dev/null; then
	echo "1..0 # SKIP tmc-image is not built"
	exit 0
fi
plan 5

WATCH_TPL=img watch_config '{ "img": { "proc": [
  {"name": "Thumb", "source": "hires", "size": [200, 200], "comp": 80, "path_head": "/thumb"}
] } }'
start_watching
ok $? "daemon started, watcher ready"
mkdir -p "$T_DIR/stage" "$SRC/photos"
gm convert -size 800x600 plasma:fractal "$T_DIR/stage/p.jpg"
gm convert -size 300x900 gradient:red-blue "$T_DIR/stage/q.png"
cp "$T_DIR/stage/p.jpg" "$T_DIR/stage/q.png" "$SRC/photos/"
wait_results 2 120
ok $? "two result lines"
is "$(gm identify -format '%m %wx%h' "$SITE/thumb/photos/p.jpg" 2>&1)" "JPEG 200x150" "p.jpg -> /thumb/photos/p.jpg, 200x150"
is "$(gm identify -format '%m %wx%h' "$SITE/thumb/photos/q.jpg" 2>&1)" "JPEG 67x200" "q.png -> /thumb/photos/q.jpg, 67x200"
wait_idle 30
sleep 1.5
is "$(results) $(result_dups) $(awk -F'\t' '$4 != 1' "$WLOG" | wc -l)" "2 0 0" "each converted once, created"
stop_daemon
