#!/bin/bash
# Swap after handoff: tmc-watch hands off originals while no stage runs;
# then a folder on their path is swapped - for a symlink to an outside
# folder holding files of the same names (d1), or for another real folder
# holding them (d2) - and the stages start. Every stage (tmc-copy,
# tmc-image, tmc-image's mp4 frame capture, tmc-video) sends its item to
# err/ with "a symbolic link ..." or "changed since it was queued", and no
# output is written from the outside files.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 12

WATCH_TPL=sw watch_config '{ "sw": { "proc": [
  {"name": "C", "source": "hires", "kind": "copy", "path_head": "/outc"},
  {"name": "I", "source": "hires", "source_ext": "jpg,mp4", "size": [40, 40], "path_head": "/outi"},
  {"name": "V", "source": "hires", "source_ext": "mp4", "ffmpeg": true, "size": [160, 160],
   "path_head": "/outv", "bitrate": 300}
] } }' ''
# only the supervisor and the watch: the items wait in the stages' new/
mkdir -p "$T_DIR/libexec"
ln -s "$BIN/tmcwatch" "$BIN/tmc-watch" "$T_DIR/libexec/"
export TMC_LIBEXEC=$T_DIR/libexec

for d in d1 d2; do
	mkdir -p "$T_DIR/in/$d" "$T_DIR/evil/$d"
	gm convert -size 64x48 xc:blue "$T_DIR/in/$d/a.jpg"
	make_video "$T_DIR/in/$d/m.mp4" -f lavfi -i testsrc2=size=160x120:rate=10 -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
	gm convert -size 64x48 xc:red "$T_DIR/evil/$d/a.jpg"
	make_video "$T_DIR/evil/$d/m.mp4" -f lavfi -i color=red:size=160x120:rate=10 -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
done
n_new() { find "$SPOOL"/stages/sw/*/new -mindepth 1 -maxdepth 1 | wc -l; }
n_err() { find "$SPOOL"/stages/sw/*/err -mindepth 1 -maxdepth 1 | wc -l; }

start_watching
ok $? "daemon and watch started"
cp -r "$T_DIR/in/d1" "$T_DIR/in/d2" "$SRC/"
# per original: copy + image for a.jpg; copy + image (capture) + video for m.mp4
wait_for 60 eval '[ $(n_new) -eq 10 ]'
ok $? "10 items handed off, waiting in new/"
grep -q '^src_id=[0-9]*:[0-9]*:[0-9]*:[0-9]*$' "$SPOOL"/stages/sw/00-C/new/*/ticket &&
	grep -q "^src_root=$SRC$" "$SPOOL"/stages/sw/00-C/new/*/ticket
ok $? "tickets carry src_root, src_rel and src_id"
stop_daemon

# the swaps
mv "$SRC/d1" "$T_DIR/d1.orig" && ln -s "$T_DIR/evil/d1" "$SRC/d1"
mv "$SRC/d2" "$T_DIR/d2.orig" && mv "$T_DIR/evil/d2" "$SRC/d2"
for s in "tmc-copy 0" "tmc-image 1" "tmc-video 2"; do
	set -- $s
	bg "$BIN/$1" -c "$CONF" -t "$T_DIR/conf/template.json" -T sw -s "$2" 2>>"$T_DIR/stages.err"
done
wait_for 120 eval '[ $(n_err) -eq 10 ]'
ok $? "all 10 items went to err/"
reason() { cat "$SPOOL"/stages/sw/$1/err/*/reason 2>/dev/null | grep -F "$SRC/$2" | grep -c "$3"; }
is "$(reason 00-C d1/ 'a symbolic link on its path')" 2 "copy, folder swapped for a symlink: refused, reason names it"
is "$(reason 00-C d2/ 'changed since it was queued')" 2 "copy, folder swapped for another: changed since it was queued"
is "$(reason 01-I d1/a.jpg 'a symbolic link on its path')" 1 "image: symlink refused"
is "$(reason 01-I d2/a.jpg 'changed since it was queued')" 1 "image: changed since it was queued"
is "$(reason 01-I d1/m.mp4 'a symbolic link on its path') $(reason 01-I d2/m.mp4 'changed since it was queued')" "1 1" \
	"mp4 frame capture: both refused"
is "$(reason 02-V d1/m.mp4 'a symbolic link on its path') $(reason 02-V d2/m.mp4 'changed since it was queued')" "1 1" \
	"video: both refused"
is "$(find "$SITE/outc" "$SITE/outi" "$SITE/outv" -type f 2>/dev/null | wc -l)" 0 "no output at all"
is "$(grep -c $'\tC\t0\t1\t' "$WLOG")" 4 "each copy item reported a failed result line"
