#!/bin/bash
# TMC's mixed template, end to end through a job: an mp4 original gets its
# thumbnails from the frame at hires.capture seconds (captured by a
# `tmc-video --capture` child of tmc-image), through the same image steps as a JPEG, and its
# preview video from tmc-video; a JPEG original in the same job takes the
# jpg branch of the shared step names.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 6

video_config '{ "mixed": { "proc": [
  {"name": "Origin", "source": "hires", "source_ext": "jpg", "size": [400, 400], "path_head": "/o/Origin", "save": false},
  {"name": "Origin", "source": "hires", "source_ext": "mp4", "size": [400, 400], "path_head": "/o/Origin", "save": false},
  {"name": "Preview", "source": "Origin", "size": [160, 160], "path_head": "/o/Preview"},
  {"name": "Clip", "source": "hires", "source_ext": "mp4", "ffmpeg": true, "size": [160, 160], "bitrate": 200, "path_head": "/o/Clip"}
] } }'
mkdir -p "$SITE/in/v"
make_timed "$SITE/in/v/clip.mp4" 6
gm convert -size 640x480 xc:'#00ff00' "$SITE/in/v/still.jpg"
start_daemon
cat >"$T_DIR/job.json" <<JSON
{ "hires": { "site": "site01", "path_head": "/in", "path_tail": "/v", "include": ["*.mp4", "*.jpg"],
             "capture": 3 }, "template": "mixed" }
JSON
seq=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" | tail -n1)
wait_for 180 test -e "$SPOOL/done/$seq"
ok $? "the job finished"
is "$(geom "$SITE/o/Preview/v/clip.jpg" | cut -d' ' -f1-3)" "160 120 JPEG" \
	"the mp4's preview is a 160x120 JPEG made from its frame"
# the frame at 3 s: red = 25 * 3 = 75, blue 128 (green counts frames: 0 at the first one)
px=$(pixel "$SITE/o/Preview/v/clip.jpg" 80 60)
near "$px" "75 0 128" 24
ok $? "it is the frame at capture=3 s (centre pixel $px, want about 75 0 128)"
is "$(geom "$SITE/o/Preview/v/still.jpg" | cut -d' ' -f1-3)" "160 120 JPEG" "the JPEG took the jpg branch"
is "$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 \
	"$SITE/o/Clip/v/clip.mp4" 2>/dev/null)" "h264,160,120" "tmc-video made the 160x120 H.264 preview clip"
is "$(cut -f2- "$SPOOL/done/$seq.result" | sort | tr '\n' ';')" "4	1	0;4	2	0;" \
	"result rows: 4 steps requested; the jpg made 1 file, the mp4 2 (preview and clip); no warnings"
stop_daemon
