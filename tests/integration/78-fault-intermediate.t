#!/bin/bash
# An intermediate lost to a crash or a file system error (pixels.raw of a
# waiting item truncated, emptied or removed) is not the data's fault: the
# step redoes the item from its original instead of failing it.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 4

image_config '{ "two": { "proc": [
  {"name":"A","source":"hires","size":[200,200],"path_head":"/a"},
  {"name":"B","source":"A","size":[80,80],"path_head":"/b"}
] } }'
for i in 1 2 3 4; do gm convert -size 400x300 "plasma:fractal" "$SITE/in/p$i.jpg"; done
(cd "$SITE/in" && ls | sed 's|^|/|') >"$T_DIR/list"
start_daemon && stop_daemon
"$BIN/tmc-enqueue" -c "$CONF" -T two -s site01 -b "$SITE/in" -p t -o job:test1 <"$T_DIR/list" >/dev/null
B=$SPOOL/stages/two/01-B
# TMC_NO_FOLLOW: step A hands its items on into B's new/ instead of carrying
# them on through B itself, so that they wait there with their pixels.raw
img() { TMC_NO_FOLLOW=1 "$BIN/tmc-image" -c "$CONF" -t "$T_DIR/conf/template.json" -T two -s "$1" 2>>"$T_DIR/stage.err" & T_PIDS="$T_PIDS $!"; }
img 0
wait_for 60 eval '[ $(ls "$B/new" | wc -l) -eq 4 ]'
ok $? "step A handed the four items on with their pixels"
kill -TERM $!
ids=($(ls "$B/new"))
truncate -s 1000 "$B/new/${ids[0]}/pixels.raw"
: >"$B/new/${ids[1]}/pixels.raw"
rm "$B/new/${ids[2]}/pixels.raw"
img 1
wait_for 60 eval '[ "$(ls "$SITE/b" | wc -l)$(ls "$B/new" "$B/cur" | grep -c t0)" = 40 ]'
ok $? "step B wrote all four outputs"
is "$(ls "$B/err" | wc -l)" 0 "no item failed for a short, empty or missing pixels.raw"
for f in "$SITE"/b/*.jpg; do gm identify -format '%w %h' "$f"; done | sort -u >"$T_DIR/sizes"
is "$(cat "$T_DIR/sizes")" "80 60" "every output has the step's size, redone or not"
