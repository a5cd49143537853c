#!/bin/bash
# Originals as phones and editors make them: rotation metadata (turned, no
# matrix left), no audio, odd dimensions in 4:4:4, variable frame rate
# (frame times kept), MP3 audio (re-encoded to AAC), a .mov; and a later
# step that reads the video step's output gets the captured frame at the
# rendition's size (next.raw handed on as pixels.raw).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 15

video_config '{ "v": { "proc": [
  {"name": "Preview", "source": "hires", "ffmpeg": true, "size": [640, 640],
   "path_head": "/mp4", "bitrate": 500},
  {"name": "Thumb", "source": "Preview", "size": [100, 100], "path_head": "/thumb"}
] } }'
# tmc-image must not take the Thumb items: they wait in its new/ for us to look at
mkdir -p "$T_DIR/libexec" "$SITE/in"
ln -s "$BIN/tmcwatch" "$BIN/tmc-video" "$BIN/tmc-copy" "$T_DIR/libexec/"
export TMC_LIBEXEC=$T_DIR/libexec

I=$SITE/in
make_video "$I/plain.mp4" -f lavfi -i testsrc2=size=320x240:rate=30 -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
ffmpeg -nostdin -loglevel error -y -i "$I/plain.mp4" -c copy -metadata:s:v:0 rotate=90 "$I/rot.mp4"
make_video "$I/odd.mp4" -f lavfi -i testsrc2=size=321x241:rate=25 -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv444p
# 30 fps for 2 s, then 15 fps: 90 frames in 4 s
make_video "$I/vfr.mp4" -f lavfi -i testsrc2=size=320x240:rate=30 -t 4 \
	-vf "setpts='(N+if(gte(N,60),N-60,0))/30/TB'" -fps_mode passthrough -c:v libx264 -preset ultrafast -pix_fmt yuv420p
make_video "$I/mp3.mp4" -f lavfi -i testsrc2=size=320x240:rate=30 -f lavfi -i sine=d=2:sample_rate=44100 \
	-t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a libmp3lame
make_video "$I/clip.mov" -f lavfi -i testsrc2=size=320x240:rate=30 -f lavfi -i sine=d=2 \
	-t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac
make_timed "$I/timed.mp4" 3
printf '/plain.mp4\n/rot.mp4\n/odd.mp4\n/vfr.mp4\n/mp3.mp4\n/clip.mov\n/timed.mp4\n' >"$T_DIR/list"
start_daemon
enqueue v <"$T_DIR/list" >/dev/null
wait_for 120 eval '[ $(grep -c "	0	Preview	" "$SPOOL/proc/test1.log" 2>/dev/null) -ge 7 ]'
is "$(cut -f1,4,5 "$SPOOL/proc/test1.log" | sort | tr '\n\t' ' :')" \
	"t000001:1:0 t000002:1:0 t000003:1:0 t000004:1:0 t000005:1:0 t000006:1:0 t000007:1:0 " \
	"every original made its rendition, no warning"
O=$SITE/mp4

is "$(probe "$O/rot.mp4" stream=width,height v:0 | tr '\n' x)" "240x320x" "rotated 90: turned to 240x320"
is "$(probe "$O/rot.mp4" stream_side_data=rotation v:0)" "" "rotated 90: no display matrix left"
frame_rgb "$O/rot.mp4" 1 "$T_DIR/rot.rgb"
frame_rgb "$I/rot.mp4" 1 "$T_DIR/rot_src.rgb"   # ffmpeg turns it too (autorotate)
check "rotated 90: the picture is turned as ffmpeg turns it (top left)" \
	near "$(rgb_px "$T_DIR/rot.rgb" 240 20 20)" "$(rgb_px "$T_DIR/rot_src.rgb" 240 20 20)" 40
check "rotated 90: the picture is turned as ffmpeg turns it (bottom right)" \
	near "$(rgb_px "$T_DIR/rot.rgb" 240 220 300)" "$(rgb_px "$T_DIR/rot_src.rgb" 240 220 300)" 40

is "$(probe "$O/plain.mp4" stream=codec_type | tr '\n' ' ')" "video " "no audio in: no audio track out"
is "$(probe "$O/plain.mp4" stream=width,height v:0 | tr '\n' x)" "320x240x" "smaller than the box: never enlarged"
is "$(probe "$O/odd.mp4" stream=width,height,pix_fmt v:0 | tr '\n' ' ')" "320 240 yuv420p " \
	"odd 321x241 4:4:4: even 320x240 4:2:0"

probe "$I/vfr.mp4" packet=pts_time v:0 | sort -n | awk '{ printf "%.3f\n", $1 }' >"$T_DIR/vfr_in"
probe "$O/vfr.mp4" packet=pts_time v:0 | sort -n | awk '{ printf "%.3f\n", $1 }' >"$T_DIR/vfr_out"
[ "$(wc -l <"$T_DIR/vfr_in")" -eq 90 ] && cmp -s "$T_DIR/vfr_in" "$T_DIR/vfr_out"
ok $? "variable frame rate: every frame keeps its time ($(wc -l <"$T_DIR/vfr_out") frames)"

is "$(probe "$O/mp3.mp4" stream=codec_name,sample_rate a:0 | tr '\n' ' ')" "aac 44100 " "MP3 audio: AAC at its own rate"
test -f "$O/clip.mp4" && ! test -e "$O/clip.mov"
ok $? ".mov original: written as .mp4"
is "$(probe "$O/clip.mp4" stream=codec_name | tr '\n' ' ')" "h264 aac " ".mov original: H.264 and AAC"

# the Thumb step's items: the frame at capture 0, at the rendition's size
N=$SPOOL/stages/v/01-Thumb/new
wait_for 20 test -e "$N/t000007/pixels.raw"
is "$(raw_size "$N/t000007/pixels.raw")" "320 240" "next step gets pixels.raw at the rendition's size"
check "... the frame at capture 0 s" near "$(raw_px "$N/t000007/pixels.raw" 160 120)" "0 0 128"
is "$(raw_size "$N/t000002/pixels.raw")" "240 320" "... turned for a rotated original"
stop_daemon
