#!/bin/bash
# Both cores and fairness: N originals through TMC's reference job (a 24 MP
# JPEG to 8 sizes, each from the one before) with worker_cnt 1, with
# worker_cnt 2 and nothing else set (what an operator gets by default on two
# cores), with stage_workers 2, and with worker_cnt 2 while a 30 s 1080p mp4
# transcodes (a tmc-video step of another template). Prints originals per
# second, the two-core scaling and the share of the images' two-core rate
# kept under video. Figures, not assertions.
set -u
: "${TMC_BUILD:?run through make bench}"
BIN=$TMC_BUILD/bin
. "$(dirname "$0")/figures.sh"
. "$(dirname "$0")/inputs.sh"
export TMC_LIBEXEC=$BIN
N=${BENCH_ORIGINALS:-16}
dir=$(mktemp -d /tmp/tmcwatch-bench-mixed.XXXXXX)
daemon=
trap '[ -n "$daemon" ] && kill $daemon 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
mkdir -p "$dir/site/in" "$dir/conf"
bench_photo "$dir/orig.jpg"
for i in $(seq 1 "$N"); do cp "$dir/orig.jpg" "$dir/site/in/p$i.jpg"; echo "/p$i.jpg"; done >"$dir/list"
ln "$(bench_video)" "$dir/site/in/v.mp4" 2>/dev/null || cp "$(bench_video)" "$dir/site/in/v.mp4"

steps=$(ref_steps)
cat >"$dir/conf/template.json" <<JSON
{ "ref": { "proc": [ $steps ] },
  "v": { "proc": [ {"name": "Preview", "source": "hires", "ffmpeg": true, "size": [640, 640],
                    "path_head": "/mp4", "bitrate": 300, "overwrite": true} ] } }
JSON

# rate WORKER_CNT EXTRA_KEYS VIDEO: originals/s of the N originals; VIDEO=1
# starts the transcode first and waits until tmc-video holds it
rate() {
	local t0 t1 want=$((N * 8))
	rm -rf "$dir/spool" "$dir/site"/s[0-9]* "$dir/site/mp4"
	cat >"$dir/conf/config.json" <<JSON
{ "client_cnt": 2, "worker_cnt": $1, $2 "spool_dir": "$dir/spool",
  "site": { "b": { "root": "$dir/site" } } }
JSON
	"$BIN/tmcwatch" -c "$dir/conf/config.json" run 2>"$dir/log" &
	daemon=$!
	until [ -e "$dir/spool/run/tmcwatch.pid" ]; do sleep 0.05; done
	sleep 0.5
	if [ "$3" = 1 ]; then
		echo /v.mp4 | "$BIN/tmc-enqueue" -c "$dir/conf/config.json" -T v -s b -b "$dir/site/in" -o job:vid >/dev/null
		until [ -n "$(ls "$dir"/spool/stages/v/*/cur 2>/dev/null)" ]; do sleep 0.02; done
	fi
	t0=$(date +%s%N)
	"$BIN/tmc-enqueue" -c "$dir/conf/config.json" -T ref -s b -b "$dir/site/in" -o job:bench <"$dir/list" >/dev/null
	t1=$(wait_lines "$dir/spool/proc/bench.log" "$want")
	if [ "$3" = 1 ] && [ -s "$dir/spool/proc/vid.log" ]; then
		echo "(the video finished before the images: the share below is an upper bound)" >&2
	fi
	kill -TERM $daemon
	wait $daemon
	daemon=
	awk -v n="$N" -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", n / (ns / 1e9) }'
}

echo "$N originals through the reference job (8 sizes each), $(nproc) cores"
r1=$(rate 1 "" 0)
echo "worker_cnt 1:                    $r1 originals/s"
r2=$(rate 2 "" 0)
echo "worker_cnt 2 (no other key):     $r2 originals/s"
rs=$(rate 2 '"stage_workers": 2,' 0)
echo "worker_cnt 2, stage_workers 2:   $rs originals/s"
rv=$(rate 2 "" 1)
echo "worker_cnt 2, while an mp4 transcodes: $rv originals/s"
awk -v a="$r1" -v b="$r2" -v s="$rs" -v v="$rv" 'BEGIN {
	printf "two-core scaling: %.2fx by default, %.2fx with stage_workers 2; images keep %.0f%% of their two-core rate under video\n",
		b / a, s / a, 100 * v / b }'
figure mixed.images.worker_cnt_1 "$r1" /s
figure mixed.images.worker_cnt_2 "$r2" /s mixed.images.worker_cnt_1
figure mixed.images.stage_workers_2 "$rs" /s mixed.images.worker_cnt_1
figure mixed.images.under_video "$rv" /s mixed.images.worker_cnt_2
figure mixed.images.share_under_video "$(awk -v b="$r2" -v v="$rv" 'BEGIN { printf "%.1f", 100 * v / b }')" %
