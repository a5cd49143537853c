#!/bin/bash
# The first minutes from a build tree: tmcwatch finds its stage programs
# beside itself with no TMC_LIBEXEC; check fails (69) naming a stage program
# the configuration needs that is missing and where it looked, and run
# refuses to start with nothing to run; check warns, without failing, about
# a site root that does not exist and a REST shim listening beyond loopback
# without a token; the reload message counts what it started. As root: in
# the folders the shipped tmpfiles.d file makes, with the daemon running as
# its own user, a member of its group (not its user) submits a job, which
# the daemon does. tmc-video says at start which H.264 encoder it uses,
# walking TMC_H264_ENCODERS past the ones this FFmpeg lacks to FFmpeg's
# default, and transcodes with it; a transcode that takes longer than 10 s
# logs how far it is at least every 10 s (bounded here at 15 s between
# lines, for a busy machine).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 18

write_config "$COPY3"
mkdir -p "$SITE"
(env -u TMC_LIBEXEC "$BIN/tmcwatch" -c "$CONF" run 2>>"$T_DIR/daemon.err") &
DAEMON=$!
T_PIDS="$T_PIDS $DAEMON"
wait_for 60 grep -q 'tmc-copy\[[0-9]*\] chain/02-C: started' "$T_DIR/tmcwatch.log" &&
	grep -q 'running: 5 processes' "$T_DIR/tmcwatch.log"
ok $? "run without TMC_LIBEXEC starts the build tree's stages (5 processes)"

# the reload message counts the new set, not new plus old
sed 's|"path_head": "/out3"}|"path_head": "/out3"},\n  {"name": "D", "source": "C", "kind": "copy", "path_head": "/out4"}|' \
	"$T_DIR/conf/template.json" >"$T_DIR/t.new" && mv "$T_DIR/t.new" "$T_DIR/conf/template.json"
kill -HUP "$DAEMON"
wait_for 60 grep -q 'configuration reloaded' "$T_DIR/tmcwatch.log"
line=$(grep 'configuration reloaded' "$T_DIR/tmcwatch.log")
echo "$line" | grep -q 'reloaded: 6 processes started, 5 old ones stop after the item in hand'
rc=$?
ok $rc "reload: counts the 6 processes it started and the 5 it retires"
[ $rc -eq 0 ] || diag "$line"
stop_daemon

# tmcwatch alone in a folder: nothing beside it, nothing installed
mkdir -p "$T_DIR/lone"
cp "$BIN/tmcwatch" "$T_DIR/lone/"
if [ -x /usr/libexec/tmcwatch/tmc-copy ]; then
	ok 0 "# SKIP tmcwatch is installed in /usr/libexec/tmcwatch"
	ok 0 "# SKIP tmcwatch is installed in /usr/libexec/tmcwatch"
else
	env -u TMC_LIBEXEC "$T_DIR/lone/tmcwatch" -c "$CONF" check >"$T_DIR/out" 2>"$T_DIR/err"
	rc=$?
	test $rc -eq 69 && grep -q "tmc-copy: No such file or directory" "$T_DIR/err" &&
		grep -q "$T_DIR/lone has no tmc-jobs" "$T_DIR/err" && ! grep -q OK "$T_DIR/out"
	ok $? "check: tmcwatch alone fails (rc $rc), naming tmc-copy and where it looked"
	[ $rc -eq 69 ] || sed 's/^/#   /' "$T_DIR/err"
	# timeout: a hang guard (the daemon used to run on with 0 processes)
	env -u TMC_LIBEXEC timeout 60 "$T_DIR/lone/tmcwatch" -c "$CONF" run 2>"$T_DIR/err"
	rc=$?
	test $rc -eq 69 && grep -q "nothing to run" "$T_DIR/err"
	ok $? "run: tmcwatch alone refuses to start with nothing to run (rc $rc)"
fi

# every program but tmc-video, with a template that has a video step
mkdir -p "$T_DIR/partial"
for p in "$BIN"/*; do [ "${p##*/}" = tmc-video ] || cp "$p" "$T_DIR/partial/"; done
write_config '{ "clips": { "proc": [
  {"name": "Mp4", "source": "hires", "ffmpeg": true, "size": [320, 240], "path_head": "/mp4"}
] }, "chain": { "proc": [ {"name": "A", "source": "hires", "kind": "copy", "path_head": "/a"} ] } }'
TMC_LIBEXEC=$T_DIR/partial "$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
test $rc -eq 69 && grep -q "^error: $T_DIR/partial/tmc-video: No such file or directory (looked in $T_DIR/partial: TMC_LIBEXEC); clips/00-Mp4#0 needs it" "$T_DIR/err" &&
	[ "$(grep -c '^error:' "$T_DIR/err")" = 1 ]
ok $? "check: a missing tmc-video is the one error, with the step that needs it (rc $rc)"
rm -f "$T_DIR/tmcwatch.log"
TMC_LIBEXEC=$T_DIR/partial "$BIN/tmcwatch" -c "$CONF" run 2>"$T_DIR/err" &
DAEMON=$!
T_PIDS="$T_PIDS $DAEMON"
wait_for 60 grep -q 'running: 3 processes' "$T_DIR/tmcwatch.log"
grep -q "tmc-video is not installed in $T_DIR/partial (TMC_LIBEXEC): No such file or directory: clips/00-Mp4#0 waits" "$T_DIR/tmcwatch.log"
ok $? "run: starts the rest and says which step waits for tmc-video"
stop_daemon

# warnings: a site root that is not there; a shim open beyond loopback
write_config "$COPY3" '"http": { "listen": "0.0.0.0" },'
rmdir "$SITE"
"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
is "$rc $(cat "$T_DIR/out")" "0 configuration OK" "check: warnings leave the exit status 0"
grep -q "^warning: $CONF:[0-9]*:[0-9]*: site.site01.root: $SITE: No such file or directory$" "$T_DIR/err"
ok $? "check: warns that a site root does not exist"
grep -q "^warning: $CONF: http.listen: tmc-httpd listens on 0.0.0.0 port 8080, beyond loopback, and http.token is not set" "$T_DIR/err"
ok $? "check: warns that the shim listens beyond loopback without a token"
mkdir -p "$SITE"
write_config "$COPY3" '"http": { "listen": "0.0.0.0", "token": "s3cret" },'
"$BIN/tmcwatch" -c "$CONF" check >/dev/null 2>"$T_DIR/err"
rc=$?
test $rc -eq 0 && ! grep -q warning "$T_DIR/err"
ok $? "check: no warning with a token and an existing root"
write_config "$COPY3" '"http": { "listen": "::1" },'
"$BIN/tmcwatch" -c "$CONF" check >/dev/null 2>"$T_DIR/err"
test $? -eq 0 && ! grep -q warning "$T_DIR/err"
ok $? "check: no warning for ::1 without a token"

# --- tmc-video's encoder, said at start -------------------------------------
video_config '{ "v": { "proc": [
  {"name": "Mp4", "source": "hires", "ffmpeg": true, "size": [160, 160], "path_head": "/mp4"}
] } }'
mkdir -p "$SITE/in"
make_video "$SITE/in/clip.mp4" -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libx264 \
	-preset ultrafast -pix_fmt yuv420p
rm -f "$T_DIR/tmcwatch.log"
# libopenh264 first: here it is usually missing, so libx264 follows it
if ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libopenh264 '; then
	want='H.264 encoder: libopenh264$'
else
	want='H.264 encoder: libx264 (this FFmpeg has no libopenh264)$'
fi
TMC_H264_ENCODERS=libopenh264,libx264 start_daemon
wait_for 60 grep -q 'tmc-video\[[0-9]*\] v/00-Mp4: started' "$T_DIR/tmcwatch.log"
grep -q "tmc-video\[[0-9]*\] v/00-Mp4: $want" "$T_DIR/tmcwatch.log"
ok $? "tmc-video says at start which encoder it uses ($want)"
echo /clip.mp4 | enqueue v >/dev/null
wait_for 120 test -s "$SITE/mp4/clip.mp4" &&
	is "$(probe "$SITE/mp4/clip.mp4" stream=codec_name,width v:0 | tr '\n' ' ')" "h264 160 " \
		"the transcode is H.264 from that encoder" || ok 1 "no transcode came out"
stop_daemon

# a long transcode: 20 s of 720p at x264's "slow" preset, one thread
make_video "$SITE/in/long.mp4" -f lavfi -i testsrc2=size=1280x720:rate=30 -t 20 -c:v libx264 \
	-preset ultrafast -pix_fmt yuv420p
video_config '{ "v": { "proc": [
  {"name": "Mp4", "source": "hires", "ffmpeg": true, "size": [1280, 1280], "path_head": "/mp4", "bitrate": 3000}
] } }'
rm -f "$T_DIR/tmcwatch.log"
TMC_X264_PRESET=slow start_daemon
echo /long.mp4 | enqueue v t2 >/dev/null
wait_for 600 grep -q 'v/00-Mp4: .*/long.mp4 ok ' "$T_DIR/tmcwatch.log"
ok $? "the long transcode is done"
# the item's span: its ok line's time minus its duration; then every line
# in it that says how far it got
ms() { awk '{ split(substr($1, 12, 12), a, ":"); printf "%d\n", (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }'; }
okline=$(grep 'v/00-Mp4: .*/long.mp4 ok ' "$T_DIR/tmcwatch.log")
took=$(echo "$okline" | sed -n 's/.* \([0-9]*\)ms.*/\1/p')
end=$(echo "$okline" | ms)
marks=$( (echo $((end - took)); grep 'long.mp4: transcoding: [0-9]* of 20 s' "$T_DIR/tmcwatch.log" | ms; echo "$end") |
	awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { print g + 0 }')
n=$(grep -c 'long.mp4: transcoding: [0-9]* of 20 s ([0-9]*%)' "$T_DIR/tmcwatch.log")
if [ "${took:-0}" -lt 11000 ]; then
	ok 0 "# SKIP the transcode took only ${took}ms: nothing to say"
else
	test "$n" -ge 1 -a "$marks" -le 15000
	ok $? "a ${took}ms transcode said how far it was $n times, at most ${marks}ms apart"
fi
stop_daemon
rm -f "$T_DIR/tmcwatch.log"
TMC_H264_ENCODERS=nosuch-h264 start_daemon
wait_for 60 grep -q 'tmc-video\[[0-9]*\] v/00-Mp4: started' "$T_DIR/tmcwatch.log"
grep -Eq "tmc-video\[[0-9]+\] v/00-Mp4: H.264 encoder: [a-z0-9_]+, FFmpeg's default \(this FFmpeg has no nosuch-h264\)$" \
	"$T_DIR/tmcwatch.log"
ok $? "none of the names: FFmpeg's default H.264 encoder, said so"
stop_daemon

# --- an operator in the group submits (the shipped tmpfiles.d modes) ---------
if [ "$(id -u)" != 0 ] || ! command -v systemd-tmpfiles >/dev/null || ! command -v setpriv >/dev/null; then
	for _ in 1 2; do echo "ok $((T_N += 1)) # skip needs root, systemd-tmpfiles and setpriv"; done
	exit 0
fi
svc=4242 op=4343
base=$T_DIR/op
mkdir -p "$base/conf" "$base/site/in" "$base/log"
chmod 755 "$T_DIR" "$base"
echo "an original" >"$base/site/in/a.jpg"
chown -R $svc:$svc "$base/site" "$base/log"
printf '{ "chain": { "proc": [ {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out"} ] } }\n' \
	>"$base/conf/template.json"
printf '{ "spool_dir": "%s", "log_file": "%s", "site": { "s": { "root": "%s" } } }\n' \
	"$base/spool" "$base/log/tmcwatch.log" "$base/site" >"$base/conf/config.json"
# as packaged: config.json root:tmcwatch 0640
chown -R 0:$svc "$base/conf" && chmod 750 "$base/conf" && chmod 640 "$base/conf"/*.json
sed -e "s|/var/spool/tmcwatch|$base/spool|; s|/var/log/tmcwatch|$base/log|" \
	-e "s|tmcwatch tmcwatch|$svc $svc|" "$TMC_SRC/packaging/tmcwatch.tmpfiles" >"$base/tmpfiles.conf"
systemd-tmpfiles --create "$base/tmpfiles.conf" >/dev/null 2>&1
as_op() { setpriv --reuid=$op --regid=$op --groups=$svc "$@"; }
printf '{ "hires": { "site": "s", "path_head": "/in", "path_tail": "", "include": ["*.jpg"] }, "template": "chain" }\n' \
	>"$base/job.json"
chmod 644 "$base/job.json"
setpriv --reuid=$svc --regid=$svc --clear-groups "$BIN/tmcwatch" -c "$base/conf/config.json" run \
	2>>"$T_DIR/svc.err" &
DAEMON=$!
T_PIDS="$T_PIDS $DAEMON"
wait_for 60 test -e "$base/spool/run/tmcwatch.pid"
seq=$(as_op "$BIN/tmcwatch" -c "$base/conf/config.json" submit "$base/job.json" 2>"$T_DIR/op.err")
rc=$?
# (the daemon may have taken it from req/ already)
test $rc -eq 0 && echo "$seq" | grep -Eqx '[0-9]{15}'
ok $? "a member of the group submits into req/ (rc $rc, req/ $(stat -c %a "$base/spool/req"))"
[ $rc -eq 0 ] || sed 's/^/#   /' "$T_DIR/op.err"
wait_for 60 test -e "$base/spool/done/$seq" && wait_for 60 cmp -s "$base/site/in/a.jpg" "$base/site/out/a.jpg"
ok $? "the daemon, as its own user, does the operator's job"
stop_daemon
