#!/bin/bash
# make demo: tmcwatch on a demo configuration under ./demo, with sample
# originals made on the spot by GraphicsMagick. No server to set up. It
# starts the daemon, feeds the originals in, shows what came out and
# `tmcwatch status`, and leaves the daemon running in the foreground until
# Ctrl-C (DEMO_SECONDS=N stops it after N seconds).
#
# Every step that fails stops the demo with its error (set -e, nothing
# hidden). The daemon's log lines go to standard error only, which is kept in
# demo/tmcwatch.log: the demo configuration names no log_file, so each line is
# written once.
set -eu
: "${TMC_BUILD:?run through make demo}"
BIN=$TMC_BUILD/bin
# tmcwatch finds its stage programs beside itself in the build tree.
unset TMC_LIBEXEC
top=$(pwd)/demo
rm -rf "$top"
mkdir -p "$top/conf" "$top/site/originals/2026/11" "$top/site/incoming" "$top/spool"

cat >"$top/conf/config.json" <<JSON
{
  // a demo: TMC's keys, plus where tmcwatch keeps its spool (no
  // "log_file": the log is standard error, kept in demo/tmcwatch.log)
  "client_cnt": 2, "worker_cnt": 2, "big_worker": 1,
  "spool_dir": "$top/spool",
  "site": { "demo": { "root": "$top/site" } },
  // files copied under site/incoming go through "thumbs" (TMC's watchdog)
  "watchdog": { "demo": { "dir": "/incoming", "template": "thumbs" } }
}
JSON
cp "$(dirname "$0")/../config/template.json" "$top/conf/template.json"

# wait_until WHAT SECONDS COMMAND...: poll; stop the demo saying WHAT when
# it does not happen within SECONDS (a ceiling against hangs).
wait_until() {
	local what=$1 secs=$2 end=$((SECONDS + $2))
	shift 2
	until "$@"; do
		if [ $SECONDS -ge $end ]; then
			echo "demo: $what did not happen within ${secs}s; the log is $top/tmcwatch.log" >&2
			exit 1
		fi
		sleep 0.2
	done
}

# photo N SKY GROUND SUN: a landscape, 1600x1200: a sky gradient, a sun,
# fractal plasma ground (random each run) and film grain.
photo() {
	local x=$((200 + $1 * 200))
	gm convert -size 1600x500 "plasma:$3" "$top/ground.png"
	gm convert -size 1600x1200 "gradient:$2" -fill "$4" -draw "circle $x,300 $x,380" \
		-draw "image Over 0,700 1600,500 $top/ground.png" +noise Uniform -quality 90 \
		"$top/site/originals/2026/11/photo$1.jpg"
	rm -f "$top/ground.png"
}
echo "== making 6 sample photos with gm"
photo 1 skyblue-white forestgreen-khaki gold
photo 2 navy-orange saddlebrown-olive yellow
photo 3 steelblue-lavender seagreen-wheat white
photo 4 midnightblue-salmon darkolivegreen-tan orange
photo 5 lightskyblue-mistyrose olivedrab-peru lightyellow
photo 6 slateblue-pink darkgreen-sandybrown ivory

echo "== tmcwatch check"
"$BIN/tmcwatch" -c "$top/conf/config.json" check
echo "== tmcwatch run (log: $top/tmcwatch.log)"
"$BIN/tmcwatch" -c "$top/conf/config.json" run 2>>"$top/tmcwatch.log" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' EXIT
wait_until "tmcwatch run starting" 30 test -e "$top/spool/run/tmcwatch.pid"
for t in thumbs archive; do
	cat >"$top/job-$t.json" <<JSON
{ "hires": { "site": "demo", "path_head": "/originals", "path_tail": "/2026/11",
             "subdir": false, "include": ["*.jpg"] },
  "template": "$t" }
JSON
	echo "== tmcwatch submit job-$t.json: seq $("$BIN/tmcwatch" -c "$top/conf/config.json" submit "$top/job-$t.json")"
done
# idle: no item in a stage's new/ or cur/, no job waiting or running
idle() {
	local left jobs
	left=$(find "$top/spool/stages" -mindepth 3 -maxdepth 3 \( -name new -o -name cur \) \
		-exec find {} -mindepth 1 -maxdepth 1 \; | wc -l)
	jobs=$(find "$top/spool/req" "$top/spool/proc" -maxdepth 1 -type f ! -name '*.*' | wc -l)
	[ "$left" -eq 0 ] && [ "$jobs" -eq 0 ]
}
wait_until "finishing both jobs" 120 idle
echo "== cp two photos into the watched folder site/incoming/cam1/"
mkdir -p "$top/site/incoming/cam1"
cp "$top/site/originals/2026/11/photo1.jpg" "$top/site/originals/2026/11/photo2.jpg" "$top/site/incoming/cam1/"
watched() { [ -e "$top/spool/state/demo.stat" ] && grep -qx 'ok=2' "$top/spool/state/demo.stat"; }
wait_until "the two copied photos going through" 120 watched
echo "== what came out"
(cd "$top/site" && find . -type f ! -path './originals/*' ! -path './incoming/*' | sort)
echo "== TMC's result rows (done/<seq>.result: file, steps, created, warnings)"
cat "$top"/spool/done/*.result
echo "== tmcwatch status"
"$BIN/tmcwatch" -c "$top/conf/config.json" status
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	echo "== running; Ctrl-C stops it (items in hand are finished first)"
	wait $daemon
fi
