#!/bin/bash
# make demo: tmcwatch on a demo configuration under ./demo, with sample
# originals made on the spot by GraphicsMagick. No server to set up. It
# starts the daemon, feeds the originals in, shows what came out and
# `tmcwatch status`, and leaves the daemon running in the foreground until
# Ctrl-C (DEMO_SECONDS=N stops it after N seconds).
set -eu
: "${TMC_BUILD:?run through make demo}"
BIN=$TMC_BUILD/bin
export TMC_LIBEXEC=$BIN
top=$(pwd)/demo
rm -rf "$top"
mkdir -p "$top/conf" "$top/site/originals/2026/11" "$top/site/incoming" "$top/spool"

cat >"$top/conf/config.json" <<JSON
{
  // a demo: TMC's keys, plus where tmcwatch keeps its spool and log
  "client_cnt": 2, "worker_cnt": 2, "big_worker": 1,
  "spool_dir": "$top/spool",
  "log_file": "$top/tmcwatch.log",
  "site": { "demo": { "root": "$top/site" } },
  // files copied under site/incoming go through "thumbs" (TMC's watchdog)
  "watchdog": { "demo": { "dir": "/incoming", "template": "thumbs" } }
}
JSON
cp "$(dirname "$0")/../config/template.json" "$top/conf/template.json"

echo "== making 6 sample originals with gm"
for i in 1 2 3 4 5 6; do
	gm convert -size 1600x1200 "plasma:fractal" -seed $i "$top/site/originals/2026/11/photo$i.jpg" 2>/dev/null ||
		gm convert -size 1600x1200 "xc:#$((i * 150000 % 16777215))" "$top/site/originals/2026/11/photo$i.jpg"
done

echo "== tmcwatch check"
"$BIN/tmcwatch" -c "$top/conf/config.json" check
echo "== tmcwatch run (log: $top/tmcwatch.log)"
"$BIN/tmcwatch" -c "$top/conf/config.json" run 2>>"$top/tmcwatch.log" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' EXIT
sleep 0.5
for t in thumbs archive; do
	cat >"$top/job-$t.json" <<JSON
{ "hires": { "site": "demo", "path_head": "/originals", "path_tail": "/2026/11",
             "subdir": false, "include": ["*.jpg"] },
  "template": "$t" }
JSON
	echo "== tmcwatch submit job-$t.json: seq $("$BIN/tmcwatch" -c "$top/conf/config.json" submit "$top/job-$t.json")"
done
for _ in $(seq 1 100); do
	left=$(find "$top/spool/stages" -mindepth 3 -maxdepth 3 \( -name new -o -name cur \) \
		-exec find {} -mindepth 1 -maxdepth 1 \; | wc -l)
	jobs=$(find "$top/spool/req" "$top/spool/proc" -maxdepth 1 -type f ! -name '*.*' | wc -l)
	[ "$left" -eq 0 ] && [ "$jobs" -eq 0 ] && break
	sleep 0.2
done
echo "== cp two photos into the watched folder site/incoming/cam1/"
mkdir -p "$top/site/incoming/cam1"
cp "$top/site/originals/2026/11/photo1.jpg" "$top/site/originals/2026/11/photo2.jpg" "$top/site/incoming/cam1/"
for _ in $(seq 1 100); do
	grep -qx 'ok=2' "$top/spool/state/demo.stat" 2>/dev/null && break
	sleep 0.2
done
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
