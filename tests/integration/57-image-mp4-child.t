#!/bin/bash
# An mp4 original in an image step: tmc-image links no FFmpeg, so its
# frame is captured by a `tmc-video --capture` child. A good mp4 still
# makes its thumbnail from the frame; truncated, cut and audio-only mp4s
# are permanent failures (err/ at once, no retry) whose reason names the
# file, with FFmpeg's words in the log; the stage survives them and leaves
# no partial pixels file. A capture that hangs (TMC_FAILPOINT=capture:hang)
# is killed at its limit, half the step's time limit, with a reason, before
# the supervisor would kill the worker; a worker killed while its capture
# runs takes the capture child with it; SIGTERM stops a worker waiting on
# a capture at once. Machine faults are temporary: a missing tmc-video
# (named in the reason), and fork failing (EAGAIN injected by strace).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 19

I=$SITE/in
mkdir -p "$I"
make_timed "$I/good.mp4" 2
head -c 20000 "$I/good.mp4" >"$I/cut.mp4"
ffmpeg -nostdin -loglevel error -y -i "$I/good.mp4" -c copy -movflags +faststart "$T_DIR/fs.mp4"
head -c $(($(stat -c %s "$T_DIR/fs.mp4") * 2 / 3)) "$T_DIR/fs.mp4" >"$I/fscut.mp4"
make_video "$I/audio.mp4" -f lavfi -i sine=d=1 -c:a aac
S=im/00-Thumb
E=$SPOOL/stages/$S/err
images() { pgrep -f "tmc-image -c $CONF" | sort | tr '\n' ' '; }

# --- outputs and permanent failures -----------------------------------------
# retry_delay 600: a failure taken for temporary would not reach err/ in time
video_config '{ "im": { "proc": [
  {"name": "Thumb", "source": "hires", "source_ext": "mp4", "size": [80, 80], "path_head": "/thumb"}
] } }' '"max_attempts": 3, "retry_delay": 600,'
start_daemon
wait_for 20 pgrep -f "tmc-image -c $CONF"
pids=$(images)
printf '/cut.mp4\n/fscut.mp4\n/audio.mp4\n/good.mp4\n' | enqueue im >/dev/null
wait_result t000004
is "$(geom "$SITE/thumb/good.jpg" | cut -d' ' -f1-3)" "80 60 JPEG" "the good mp4 made its 80x60 thumbnail"
# the frame at 0 s: red 0, green 0 (frame 0), blue 128
px=$(pixel "$SITE/thumb/good.jpg" 40 30)
near "$px" "0 0 128" 24
ok $? "from its frame at 0 s (centre pixel $px, want about 0 0 128)"
wait_for 60 eval '[ $(ls "$E" 2>/dev/null | wc -l) -eq 3 ]'
grep -q "$I/cut.mp4: not a valid MP4: moov atom not found" "$E/t000001/reason"
ok $? "moov lost: permanent, reason names the file: $(item_err $S t000001)"
grep -q "$I/fscut.mp4: truncated: its samples reach byte [0-9]* but the file has [0-9]*" "$E/t000002/reason"
ok $? "data cut off: permanent, reason names the file: $(item_err $S t000002)"
grep -q "$I/audio.mp4: no video stream (1 audio stream)" "$E/t000003/reason"
ok $? "audio only: permanent, reason names the file: $(item_err $S t000003)"
! grep -q 'gave up after' "$E"/*/reason
ok $? "none of them was retried"
grep -q 'tmc-image.*tmc-video.* ffmpeg: .*moov atom not found' "$T_DIR/tmcwatch.log"
ok $? "FFmpeg's message from the child reaches tmc-image's log"
is "$(images)" "$pids" "the image stage processes survived them all"
is "$(find "$SPOOL" -name '.pixels.raw.part' | wc -l)" 0 "no partial pixels file left in any item"
stop_daemon

# --- time limit, worker death, stop ------------------------------------------
# "hang": step limit 10 s, so the capture's is 5 s (with 6 and 3 s one whole
# make check failed the next two checks, cause not found: the wider limits
# leave more room between the capture's kill and the supervisor's); "die":
# the default limits
rm -rf "$SPOOL"
video_config '{ "hang": { "proc": [
  {"name": "Thumb", "source": "hires", "source_ext": "mp4", "size": [80, 80], "path_head": "/h", "timeout": 10}
] }, "die": { "proc": [
  {"name": "Thumb", "source": "hires", "source_ext": "mp4", "size": [80, 80], "path_head": "/d"}
] } }' '"max_attempts": 2, "retry_delay": 1,'
export TMC_RESTART_DELAY_MS=100
TMC_FAILPOINT=capture:hang start_daemon
echo /good.mp4 | enqueue hang h >/dev/null
wait_for 60 test -e "$SPOOL/stages/hang/00-Thumb/err/h000001/reason"
reason=$(item_err hang/00-Thumb h000001)
echo "$reason" | grep -q "$I/good.mp4: frame capture took more than 5 s, killed (tmc-video pid [0-9]*) (gave up after 2 attempts)"
ok $? "a hung capture is killed at half the step's limit, retried, then err/: $reason"
cpid=$(echo "$reason" | sed -n 's/.*tmc-video pid \([0-9]*\).*/\1/p')
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status"; }
gone "$cpid" && ! grep -q 'took more than 10 s: killing pid' "$T_DIR/tmcwatch.log"
ok $? "the capture child $cpid is gone, and the supervisor never had to kill the worker"

echo /good.mp4 | enqueue die d >/dev/null
wait_for 30 pgrep -f "tmc-video --capture .* $I/good.mp4"
child=$(pgrep -f "tmc-video --capture .* $I/good.mp4" | head -1)
worker=$(ps -o ppid= -p "$child" | tr -d ' ')
case "$(cat "/proc/$worker/cmdline" 2>/dev/null | tr '\0' ' ')" in
*"tmc-image -c $CONF"*"-T die"*) ok 0 "the capture runs as a child of the tmc-image worker ($worker)" ;;
*) ok 1 "the capture runs as a child of the tmc-image worker (parent $worker)" ;;
esac
kill -KILL "$worker"
wait_for 20 gone "$child"
ok $? "the worker killed, its capture child $child dies with it"

# the restarted worker takes the item again and waits on a new capture
wait_for 30 eval '[ -n "$(pgrep -f "tmc-video --capture .* $I/good.mp4" | grep -vx "$child")" ]'
child=$(pgrep -f "tmc-video --capture .* $I/good.mp4" | grep -vx "$child" | head -1)
worker=$(ps -o ppid= -p "$child" | tr -d ' ')
kill -TERM "$worker"
wait_for 20 gone "$worker"
ok $? "SIGTERM stops a worker waiting on a capture (it does not wait out the 150 s limit)"
wait_for 10 gone "$child"
ok $? "and its capture child is gone"
grep -q "d000001 stopped before it was done: back to new/ ($I/good.mp4: frame capture stopped by a signal)" \
	"$T_DIR/tmcwatch.log"
ok $? "the item went back to new/, no attempt counted"
stop_daemon

# --- machine faults: no tmc-video to run, fork refused --------------------------
# the stage programs from a folder of our own: tmc-image of template "nobin"
# sees a TMC_LIBEXEC without tmc-video; that of "nofork" runs under strace,
# which makes every fork(2) (the clone syscall; threads use clone3) fail with
# EAGAIN, as at a process limit.
command -v strace >/dev/null || { for i in 1 2 3; do ok 0 "# SKIP needs strace"; done; exit 0; }
rm -rf "$SPOOL"
unset TMC_FAILPOINT
mkdir -p "$T_DIR/libexec" "$T_DIR/empty"
ln -s "$BIN/tmcwatch" "$BIN/tmc-jobs" "$BIN/tmc-notify" "$BIN/tmc-video" "$T_DIR/libexec/"
cat >"$T_DIR/libexec/tmc-image" <<SH
#!/bin/sh
case "\$*" in
*"-T nobin "*) TMC_LIBEXEC=$T_DIR/empty exec "$BIN/tmc-image" "\$@" ;;
*"-T nofork "*) exec strace -f -o /dev/null -e trace=clone -e inject=clone:error=EAGAIN "$BIN/tmc-image" "\$@" ;;
esac
exec "$BIN/tmc-image" "\$@"
SH
chmod +x "$T_DIR/libexec/tmc-image"
video_config '{ "nobin": { "proc": [
  {"name": "Thumb", "source": "hires", "source_ext": "mp4", "size": [80, 80], "path_head": "/n"}
] }, "nofork": { "proc": [
  {"name": "Thumb", "source": "hires", "source_ext": "mp4", "size": [80, 80], "path_head": "/f"}
] } }' '"max_attempts": 2, "retry_delay": 1,'
TMC_LIBEXEC=$T_DIR/libexec start_daemon
echo /good.mp4 | enqueue nobin n >/dev/null
echo /good.mp4 | enqueue nofork f >/dev/null
wait_for 60 test -e "$SPOOL/stages/nobin/00-Thumb/err/n000001/reason"
reason=$(item_err nobin/00-Thumb n000001)
echo "$reason" | grep -q "$I/good.mp4: frame capture: $T_DIR/empty/tmc-video: No such file or directory (gave up after 2 attempts)"
ok $? "no tmc-video to run: temporary, retried, its path in the reason: $reason"
wait_for 60 test -e "$SPOOL/stages/nofork/00-Thumb/err/f000001/reason"
reason=$(item_err nofork/00-Thumb f000001)
echo "$reason" | grep -q "$I/good.mp4: start tmc-video --capture: Resource temporarily unavailable (gave up after 2 attempts)"
ok $? "fork refused (EAGAIN): temporary, retried: $reason"
is "$(find "$SITE/n" "$SITE/f" -type f 2>/dev/null | wc -l) $(find "$SPOOL" -name '.pixels.raw.part' | wc -l)" "0 0" \
	"no output and no partial pixels file"
# strace does not pass the supervisor's SIGTERM on: the traced worker gets its own
traced=$(pgrep -f -- "-T nofork -s 0" | while read -r p; do
	[ "$(ps -o comm= -p "$p")" = tmc-image ] && echo "$p"; done)
kill -TERM "$DAEMON"
[ -n "$traced" ] && kill -TERM $traced
wait_for 60 eval '! kill -0 $traced 2>/dev/null'
stop_daemon
