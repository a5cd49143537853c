#!/bin/bash
# A long transcode: `tmcwatch status` shows how far it is (percent of the
# duration); SIGTERM abandons it within a packet instead of holding the
# shutdown (no SIGKILL needed), removes the temporary file, and puts the
# item back in new/ without counting an attempt; after a restart it is
# done from the start.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 10

video_config '{ "v": { "proc": [
  {"name": "Preview", "source": "hires", "ffmpeg": true, "size": [640, 640],
   "path_head": "/mp4", "watermark": true}
] } }'
mkdir -p "$SITE/in"
make_video "$SITE/in/long.mp4" -f lavfi -i testsrc2=size=640x360:rate=30 -t 20 -c:v libx264 \
	-preset ultrafast -pix_fmt yuv420p
export TMC_X264_PRESET=veryslow   # slow on purpose: the transcode is still running below
start_daemon
echo /long.mp4 | enqueue v >/dev/null
progress() {
	"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status" &&
		grep -Eq "^worker v/00-Preview pid [0-9]+: $SITE/in/long.mp4 \(t000001\) for [0-9]+s \(([1-9]|[1-9][0-9])%\)$" "$T_DIR/status"
}
wait_for 60 progress
ok $? "status shows the transcode's progress: $(grep '^worker' "$T_DIR/status")"
"$BIN/tmcwatch" -c "$CONF" status --json | grep -Eq '"item":"t000001","original":"[^"]*/in/long.mp4","elapsed":[0-9]+,"percent":[0-9]+\}'
ok $? "status --json has the percent"
test -n "$(find "$SITE/mp4" -name '.long.mp4.tmcwatch-*')"
ok $? "the transcode writes a temporary file meanwhile"

stop_daemon
is "$DAEMON_RC" 0 "SIGTERM: tmcwatch stopped"
! grep -q 'SIGKILL' "$T_DIR/tmcwatch.log" && grep -q 't000001 stopped before it was done: back to new/' "$T_DIR/tmcwatch.log"
ok $? "the stage gave the item up by itself, nothing was killed"
N=$SPOOL/stages/v/00-Preview
test -e "$N/new/t000001/ticket" && ! grep -q '^attempt=' "$N/new/t000001/ticket"
ok $? "the item is back in new/, no attempt counted"
is "$(find "$SITE/mp4" -type f | wc -l)" 0 "no output and no temporary file left"
is "$(result_of t000001)" "" "no result line for the abandoned attempt"

export TMC_X264_PRESET=ultrafast
start_daemon
wait_result t000001
is "$(result_of t000001 | cut -f4,5)" "1	0" "after the restart the item is done"
is "$(probe "$SITE/mp4/long.mp4" stream=nb_frames v:0)" 600 "... completely (600 frames)"
stop_daemon
