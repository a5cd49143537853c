#!/bin/bash
# Frame capture (stages/video/capture.c through tmc-capture, the code
# `tmc-video --capture` runs for tmc-image's mp4 sources): the right frame at 0 s, at 5 s and past
# the end, the same pixels as `ffmpeg -ss T -i`, rotation metadata turns
# the frame, and bad files fail with a clear reason.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 17

V=$T_DIR/v
mkdir -p "$V"
make_timed "$V/t.mp4" 10
cap() { "$BIN/tmc-capture" -t "$1" "$2" "$3" 2>"$V/err"; }

cap 0 "$V/t.mp4" "$V/f0.raw"
ok $? "capture at 0 s"
is "$(raw_size "$V/f0.raw")" "320 240" "frame size from the header"
check "frame at 0 s is the first (0, 0, 128)" near "$(raw_px "$V/f0.raw" 160 120)" "0 0 128"
cap 5 "$V/t.mp4" "$V/f5.raw"
check "frame at 5 s is frame 150 (125, 0, 128)" near "$(raw_px "$V/f5.raw" 160 120)" "125 0 128"
cap 5.5 "$V/t.mp4" "$V/f55.raw"
check "frame at 5.5 s is frame 165 (125, 120, 128)" near "$(raw_px "$V/f55.raw" 10 10)" "125 120 128"
frame_rgb "$V/t.mp4" 5.5 "$V/ff55.rgb"
d=$(raw_vs_rgb "$V/f55.raw" "$V/ff55.rgb")
[ "$d" != size ] && [ "$d" -le 2 ]
ok $? "the same pixels as ffmpeg -ss 5.5 -i (largest difference $d)"
cap 100 "$V/t.mp4" "$V/fend.raw"
ok $? "capture past the end succeeds"
check "past the end: the last frame, 299 (225, 232, 128)" near "$(raw_px "$V/fend.raw" 160 120)" "225 232 128"

# rotation: a display matrix of 90 degrees (phone held upright)
ffmpeg -nostdin -loglevel error -y -i "$V/t.mp4" -c copy -metadata:s:v:0 rotate=90 "$V/r90.mp4"
cap 5.5 "$V/r90.mp4" "$V/r90.raw"
is "$(raw_size "$V/r90.raw")" "240 320" "rotated 90: the frame is turned (240x320)"
frame_rgb "$V/r90.mp4" 5.5 "$V/r90.rgb"
d=$(raw_vs_rgb "$V/r90.raw" "$V/r90.rgb")
[ "$d" != size ] && [ "$d" -le 2 ]
ok $? "rotated 90: the same pixels as ffmpeg's autorotate (largest difference $d)"
ffmpeg -nostdin -loglevel error -y -i "$V/t.mp4" -c copy -metadata:s:v:0 rotate=270 "$V/r270.mp4"
cap 5.5 "$V/r270.mp4" "$V/r270.raw"
frame_rgb "$V/r270.mp4" 5.5 "$V/r270.rgb"
d=$(raw_vs_rgb "$V/r270.raw" "$V/r270.rgb")
[ "$d" != size ] && [ "$d" -le 2 ]
ok $? "rotated 270: the same pixels as ffmpeg's autorotate (largest difference $d)"

# bad files: each a clear reason, nothing written
: >"$V/empty.mp4"
cap 0 "$V/empty.mp4" "$V/x.raw"
[ $? -eq 2 ] && grep -q 'empty.mp4: empty file' "$V/err" && ! test -e "$V/x.raw"
ok $? "zero-byte file: $(cat "$V/err")"
make_video "$V/photo.jpg" -f lavfi -i testsrc2=size=64x64 -frames:v 1
cp "$V/photo.jpg" "$V/photo.mp4"
cap 0 "$V/photo.mp4" "$V/x.raw"
[ $? -eq 2 ] && grep -q 'photo.mp4: not an MP4 file' "$V/err"
ok $? "JPEG renamed .mp4: $(cat "$V/err")"
head -c 30000 "$V/t.mp4" >"$V/cut.mp4"
cap 0 "$V/cut.mp4" "$V/x.raw"
[ $? -eq 2 ] && grep -q 'cut.mp4: not a valid MP4: moov atom not found' "$V/err"
ok $? "truncated (moov at the end, cut off): $(cat "$V/err")"
ffmpeg -nostdin -loglevel error -y -i "$V/t.mp4" -c copy -movflags +faststart "$V/fs.mp4"
head -c $(($(stat -c %s "$V/fs.mp4") / 2)) "$V/fs.mp4" >"$V/fscut.mp4"
cap 0 "$V/fscut.mp4" "$V/x.raw"
[ $? -eq 2 ] && grep -q 'fscut.mp4: truncated: its samples reach byte' "$V/err"
ok $? "truncated (moov first, data cut off): $(cat "$V/err")"
make_video "$V/audio.mp4" -f lavfi -i sine=d=1 -c:a aac
cap 0 "$V/audio.mp4" "$V/x.raw"
[ $? -eq 2 ] && grep -q 'audio.mp4: no video stream (1 audio stream)' "$V/err"
ok $? "audio-only mp4: $(cat "$V/err")"
ln -s "$V/t.mp4" "$V/link.mp4"
cap 0 "$V/link.mp4" "$V/x.raw"
[ $? -eq 2 ] && grep -q 'link.mp4: is a symbolic link, refused' "$V/err"
ok $? "symbolic link: $(cat "$V/err")"
