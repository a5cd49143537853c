#!/bin/bash
# tmc-capture and tmc-video under valgrind on small inputs (AAC copied, MP3
# re-encoded, rotated, truncated, a frame handed to a later step): no
# invalid access, no leak. (The sanitizer build runs them under ASan.)
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
case "$TMC_BUILD" in *san*) echo "1..0 # SKIP valgrind does not run ASan binaries"; exit 0 ;; esac
command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind is not installed"; exit 0; }
plan 3
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99"

video_config '{ "v": { "proc": [
  {"name": "Preview", "source": "hires", "ffmpeg": true, "size": [640, 640],
   "path_head": "/mp4", "watermark": true, "bitrate": 300},
  {"name": "Next", "source": "Preview", "kind": "pass", "path_head": "/next"}
] } }'
I=$SITE/in
mkdir -p "$I"
make_video "$I/aac.mp4" -f lavfi -i testsrc2=size=128x96:rate=15 -f lavfi -i sine=d=0.5 -t 0.5 \
	-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac
make_video "$I/mp3.mp4" -f lavfi -i testsrc2=size=128x96:rate=15 -f lavfi -i sine=d=0.5 -t 0.5 \
	-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a libmp3lame
ffmpeg -nostdin -loglevel error -y -i "$I/aac.mp4" -c copy -metadata:s:v:0 rotate=90 "$I/rot.mp4"
head -c 3000 "$I/aac.mp4" >"$I/cut.mp4"

$VG "$BIN/tmc-capture" -t 0.5 "$I/rot.mp4" "$T_DIR/f.raw" 2>"$T_DIR/vg.capture"
ok $? "tmc-capture: a rotated frame"
$VG "$BIN/tmc-capture" "$I/cut.mp4" "$T_DIR/f.raw" 2>"$T_DIR/vg.capture-bad"
[ $? -eq 2 ]
ok $? "tmc-capture: a truncated file fails cleanly"

printf '/aac.mp4\n/mp3.mp4\n/rot.mp4\n/cut.mp4\n' >"$T_DIR/list"
mkdir -p "$SPOOL"
enqueue v <"$T_DIR/list" >/dev/null
$VG "$BIN/tmc-video" -c "$CONF" -T v -s 0 2>"$T_DIR/vg.video" &
pid=$!
wait_for 300 eval '[ "$(cut -f1,2 "$SPOOL/proc/test1.log" 2>/dev/null | grep -c "	0$")" -ge 4 ]'
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] && [ "$(cut -f4,5 "$SPOOL/proc/test1.log" | tr '\n\t' ' :')" = "1:0 1:0 1:0 0:1 " ]
ok $? "tmc-video: 3 renditions, 1 failure, then SIGTERM (exit $rc)"
for f in "$T_DIR"/vg.*; do grep -q '==[0-9]*==' "$f" && { echo "# $f:"; sed 's/^/#   /' "$f" | head -40; }; done
exit 0
