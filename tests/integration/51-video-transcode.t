#!/bin/bash
# A video step end to end: a 720p H.264/AAC original becomes an H.264 mp4
# that fits a 640x640 box (640x360), under its 300 kbit/s cap, as long as
# the original, its AAC audio kept, moov before mdat, the site's watermark
# centred on every frame; an existing output with overwrite false is kept.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 14

video_config '{ "v": { "proc": [
  {"name": "Preview", "source": "hires", "ffmpeg": true, "size": [640, 640],
   "path_head": "/mp4", "watermark": true, "bitrate": 300}
] } }'
mkdir -p "$SITE/in"
make_video "$SITE/in/clip.mp4" -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 \
	-t 10 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac
start_daemon
echo /clip.mp4 | enqueue v >/dev/null
OUT=$SITE/mp4/clip.mp4
wait_result t000001
is "$(result_of t000001 | cut -f4,5)" "1	0" "result: created, no warning"
test -f "$OUT" && [ "$(find "$SITE/mp4" -name '.*' | wc -l)" = 0 ]
ok $? "output published under its name, no temporary file left"
is "$(probe "$OUT" stream=codec_name,width,height v:0 | tr '\n' ' ')" "h264 640 360 " "H.264, 640x360"
is "$(probe "$OUT" stream=pix_fmt v:0) $(probe "$OUT" stream=sample_aspect_ratio v:0)" "yuv420p 1:1" \
	"yuv420p, square pixels"
src_d=$(probe "$SITE/in/clip.mp4" format=duration)
out_d=$(probe "$OUT" format=duration)
awk -v a="$src_d" -v b="$out_d" 'BEGIN { d = a - b; exit !(d < 1/30 && d > -1/30) }'
ok $? "duration within a frame of the original ($out_d s against $src_d s)"
is "$(probe "$OUT" stream=nb_frames v:0)" 300 "every frame kept (300)"
vbr=$(probe "$OUT" stream=bit_rate v:0)
[ "$vbr" -le 330000 ] && [ "$vbr" -ge 100000 ]
ok $? "video bit rate under the 300 kbit/s cap (+10% for container rounding): $vbr"
is "$(probe "$OUT" stream=codec_name a:0)" aac "audio kept (AAC)"
check "moov before mdat (+faststart)" moov_first "$OUT"

# the watermark (200x100, left half opaque red) centred at 220,130
frame_rgb "$OUT" 5 "$T_DIR/out5.rgb"
frame_rgb "$SITE/in/clip.mp4" 5 "$T_DIR/src5.rgb"
ffmpeg -nostdin -loglevel error -y -ss 5 -i "$SITE/in/clip.mp4" -frames:v 1 -vf scale=640:360 \
	-f rawvideo -pix_fmt rgb24 "$T_DIR/src5s.rgb"
check "watermark's opaque half over the picture (red at 270,180)" \
	near "$(rgb_px "$T_DIR/out5.rgb" 640 270 180)" "255 0 0" 40
check "watermark's transparent half shows the picture (360,180)" \
	near "$(rgb_px "$T_DIR/out5.rgb" 640 360 180)" "$(rgb_px "$T_DIR/src5s.rgb" 640 360 180)" 40
check "outside the watermark the picture is untouched (370,100)" \
	near "$(rgb_px "$T_DIR/out5.rgb" 640 370 100)" "$(rgb_px "$T_DIR/src5s.rgb" 640 370 100)" 40
frame_rgb "$OUT" 0 "$T_DIR/out0.rgb"
check "the watermark is on the first frame too" near "$(rgb_px "$T_DIR/out0.rgb" 640 270 180)" "255 0 0" 40

# overwrite false: the existing output is kept, the step is a skip
before=$(stat -c %Y.%i "$OUT")
echo /clip.mp4 | enqueue v t2 >/dev/null
wait_result t2000001 60
[ "$(result_of t2000001 | cut -f4,5)" = "0	0" ] && [ "$(stat -c %Y.%i "$OUT")" = "$before" ]
ok $? "overwrite false: existing output kept, created 0, no warning"
stop_daemon
