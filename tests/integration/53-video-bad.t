#!/bin/bash
# Bad originals in a video step: truncated (moov lost, or data cut off),
# zero bytes, a JPEG named .mp4, an mp4 with only audio, a symbolic link.
# Each ends in err/ with a clear reason and a result line; the stage
# process survives and converts the good original queued after them; no
# temporary file is left beside the outputs.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 14

video_config '{ "v": { "proc": [
  {"name": "Preview", "source": "hires", "ffmpeg": true, "size": [320, 320],
   "path_head": "/mp4", "watermark": true}
] } }'
I=$SITE/in
mkdir -p "$I"
make_timed "$I/good.mp4" 2
head -c 20000 "$I/good.mp4" >"$I/cut.mp4"
ffmpeg -nostdin -loglevel error -y -i "$I/good.mp4" -c copy -movflags +faststart "$T_DIR/fs.mp4"
head -c $(($(stat -c %s "$T_DIR/fs.mp4") * 2 / 3)) "$T_DIR/fs.mp4" >"$I/fscut.mp4"
: >"$I/empty.mp4"
make_video "$I/photo.mp4" -f lavfi -i testsrc2=size=64x64 -frames:v 1 -f mjpeg
make_video "$I/audio.mp4" -f lavfi -i sine=d=1 -c:a aac
ln -s "$I/good.mp4" "$I/link.mp4"
printf '/cut.mp4\n/fscut.mp4\n/empty.mp4\n/photo.mp4\n/audio.mp4\n/link.mp4\n/good.mp4\n' >"$T_DIR/list"

start_daemon
wait_children
pid=$(pgrep -f "tmc-video -c $CONF")
enqueue v <"$T_DIR/list" >/dev/null
wait_result t000007
is "$(result_of t000007 | cut -f4,5)" "1	0" "the good original after the bad ones is converted"
S=v/00-Preview
# items are not taken in a promised order, and each result line is written
# just before its item moves to err/ with the reason: wait for every reason
for i in 1 2 3 4 5 6; do wait_for 60 test -e "$SPOOL/stages/$S/err/t00000$i/reason"; done
grep -q 'cut.mp4: not a valid MP4: moov atom not found' "$SPOOL/stages/$S/err/t000001/reason"
ok $? "truncated, moov lost: $(item_err $S t000001)"
grep -q 'fscut.mp4: truncated: its samples reach byte [0-9]* but the file has [0-9]*' \
	"$SPOOL/stages/$S/err/t000002/reason"
ok $? "truncated, data cut off: $(item_err $S t000002)"
grep -q 'empty.mp4: empty file' "$SPOOL/stages/$S/err/t000003/reason"
ok $? "zero bytes: $(item_err $S t000003)"
grep -q 'photo.mp4: not an MP4 file (its content looks like .*jpeg' "$SPOOL/stages/$S/err/t000004/reason"
ok $? "JPEG named .mp4: $(item_err $S t000004)"
grep -q 'audio.mp4: no video stream (1 audio stream)' "$SPOOL/stages/$S/err/t000005/reason"
ok $? "audio only: $(item_err $S t000005)"
grep -q 'link.mp4: a symbolic link on its path beneath .* is not followed, refused' "$SPOOL/stages/$S/err/t000006/reason"
ok $? "symbolic link: $(item_err $S t000006)"
is "$(cut -f1,4,5 "$SPOOL/proc/test1.log" | grep -c '	0	1$')" 6 "six result lines with created 0, warning 1"
is "$(pgrep -f "tmc-video -c $CONF")" "$pid" "the stage process survived them all"
is "$(find "$SITE" -name '.*' | wc -l) $(ls "$SITE/mp4" | tr '\n' ' ')" "0 good.mp4 " \
	"only the good output, no temporary file"
grep -q 'ffmpeg: .*moov atom not found' "$T_DIR/tmcwatch.log"
ok $? "FFmpeg's own message reaches our log"

# the site's watermark file gone: a warning, the video is still made
# (tmc-enqueue checks the configuration, which now fails: the ticket by hand)
rm "$T_DIR/conf/wm.png"
cp "$I/good.mp4" "$I/good2.mp4"
A=$SPOOL/stages/v/00-Preview
mkdir -p "$A/tmp/+t2000001"
printf 'id=t2000001\norigin=job:test1\nsite=site01\nsrc=%s\nrel=/good2.mp4\nout=/good2.mp4\nroot=%s\ntail=\ntemplate=v\nstep=0\n' \
	"$I/good2.mp4" "$SITE" >"$A/tmp/+t2000001/ticket"
mv "$A/tmp/+t2000001" "$A/new/t2000001"
wait_result t2000001
r=$(result_of t2000001)
[ "$(echo "$r" | cut -f4,5)" = "1	1" ] && echo "$r" | grep -q 'Watermark file does not exist or is unreadable - file:.*wm.png (No such file or directory)' &&
	test -f "$SITE/mp4/good2.mp4"
ok $? "missing watermark: output made, one warning: $(echo "$r" | cut -f7)"
stop_daemon

# a full disk: the output root on a 64 KiB tmpfs; retried, then err/, nothing left behind
mkdir -p "$T_DIR/small"
if mount -t tmpfs -o size=64k tmpfs "$T_DIR/small" 2>/dev/null; then
	trap 'umount "$T_DIR/small" 2>/dev/null; cleanup' EXIT
	make_video "$I/big.mp4" -f lavfi -i testsrc2=size=320x240:rate=30 -t 4 -c:v libx264 -preset ultrafast
	video_config '{ "v": { "proc": [
	  {"name": "Preview", "source": "hires", "ffmpeg": true, "size": [320, 320],
	   "path_head": "/mp4", "bitrate": 2000}
	] } }' '"max_attempts": 2, "retry_delay": 1,'
	start_daemon
	echo /big.mp4 | "$BIN/tmc-enqueue" -c "$CONF" -T v -s site01 -b "$I" -r "$T_DIR/small" -p full >/dev/null
	wait_for 60 test -e "$SPOOL/stages/v/00-Preview/err/full000001/reason"
	reason=$(item_err v/00-Preview full000001)
	echo "$reason" | grep -q 'No space left on device (gave up after 2 attempts)'
	ok $? "full disk: retried, then err/ with the reason ($reason)"
	is "$(find "$T_DIR/small" -type f | wc -l)" 0 "full disk: no partial file left behind"
	stop_daemon
	umount "$T_DIR/small"
else
	ok 0 "# SKIP cannot mount a tmpfs here"
	ok 0 "# SKIP cannot mount a tmpfs here"
fi
