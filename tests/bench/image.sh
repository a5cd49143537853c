#!/bin/bash
# TMC's reference job through the real stages: one ~10 MB 24 MP JPEG to 8
# sizes (1000 with sharpen [6,0.6] and q80, then 600, 400, 300, 200, 150,
# 100, 60, each from the previous step), tmcwatch supervising one tmc-image
# per step and one worker slot (one core), spool handoffs included. In the
# same run the same outputs by `gm convert` per size (TMC's workers in
# effect) and by `vipsthumbnail` per size. Then the pixel handoff as MPC
# instead of pixels.raw, and peak RSS of the first stage for a 100 MP JPEG
# (and PNG unless BENCH_BIG_PNG=0). Figures, not assertions.
set -u
: "${TMC_BUILD:?run through make bench}"
BIN=$TMC_BUILD/bin
. "$(dirname "$0")/figures.sh"
. "$(dirname "$0")/inputs.sh"
export TMC_LIBEXEC=$BIN
N=${BENCH_ORIGINALS:-8}
dir=$(mktemp -d /tmp/tmcwatch-bench-image.XXXXXX)
daemon=
trap '[ -n "$daemon" ] && kill $daemon 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
SIZES="1000 600 400 300 200 150 100 60"

now() { date +%s%N; }
secs() { awk -v ns="$1" -v n="$2" 'BEGIN { printf "%.3f", ns / 1e9 / n }'; }

# The original: a real photo enlarged to 6000x4000 with grain, q92, ~10 MB.
mkdir -p "$dir/site/in" "$dir/conf"
bench_photo "$dir/orig.jpg"
echo "original: $(gm identify -format '%wx%h' "$dir/orig.jpg"), $(($(stat -c %s "$dir/orig.jpg") / 1024)) KiB, $N copies"
for i in $(seq 1 "$N"); do cp "$dir/orig.jpg" "$dir/site/in/p$i.jpg"; echo "/p$i.jpg"; done >"$dir/list"

steps=$(ref_steps)
echo "{ \"ref\": { \"proc\": [ $steps ] } }" >"$dir/conf/template.json"
cat >"$dir/conf/config.json" <<JSON
{ "client_cnt": 1, "worker_cnt": 1, "big_worker": 1, "spool_dir": "$dir/spool",
  "site": { "b": { "root": "$dir/site" } } }
JSON

# stages LIST: "<ns> <peak RSS kB>" for every original of LIST through all 8
# steps; the RSS is the largest VmHWM among the stage processes
stages() {
	local list=$1 want t0 t1
	rm -rf "$dir/spool" "$dir/site"/s[0-9]*
	"$BIN/tmcwatch" -c "$dir/conf/config.json" run 2>"$dir/log" &
	daemon=$!
	until [ -e "$dir/spool/run/tmcwatch.pid" ]; do sleep 0.05; done
	sleep 0.5
	want=$(($(wc -l <"$list") * 8))
	t0=$(now)
	"$BIN/tmc-enqueue" -c "$dir/conf/config.json" -T ref -s b -b "$dir/site/in" -o job:bench <"$list" >/dev/null
	t1=$(wait_lines "$dir/spool/proc/bench.log" "$want")
	rss=$(for p in $(pgrep -P "$daemon"); do awk '/VmHWM/ { print $2 }' "/proc/$p/status"; done |
		sort -n | tail -1)
	kill -TERM $daemon
	wait $daemon
	daemon=
	echo "$((t1 - t0)) ${rss:-0}"
}

read -r ns rss < <(stages "$dir/list")
t_stages=$(secs "$ns" "$N")
echo "tmcwatch stages (pixels.raw handoff): $t_stages s per original, 8 outputs, peak RSS $((rss / 1024)) MB"
figure image.ref_job.stages "$t_stages" s image.ref_job.gm_per_size,image.ref_job.vipsthumbnail_per_size
figure image.ref_job.stages_peak_rss $((rss / 1024)) MB
read -r ns rss < <(TMC_IMAGE_PIXELS=mpc stages "$dir/list")
echo "tmcwatch stages (MPC handoff):        $(secs "$ns" "$N") s per original"
figure image.ref_job.stages_mpc "$(secs "$ns" "$N")" s image.ref_job.stages

# gm convert per size, from the original each time (TMC's workers decoded
# the original, or a re-encoded blob, per step); threads 1 like the stages
M=$(( N < 2 ? N : 2 ))
t0=$(now)
for i in $(seq 1 "$M"); do
	for s in $SIZES; do
		extra=
		[ "$s" = 1000 ] && extra="-sharpen 6x0.6 -quality 80"
		gm convert -limit threads 1 "$dir/site/in/p$i.jpg" -resize "${s}x${s}" $extra "$dir/gm-$s.jpg"
	done
done
t_gm=$(secs $(( $(now) - t0 )) "$M")
echo "gm convert per size:                  $t_gm s per original"
figure image.ref_job.gm_per_size "$t_gm" s

if command -v vipsthumbnail >/dev/null 2>&1; then
	t0=$(now)
	for i in $(seq 1 "$M"); do
		for s in $SIZES; do
			q=92; [ "$s" = 1000 ] && q=80
			VIPS_CONCURRENCY=1 vipsthumbnail "$dir/site/in/p$i.jpg" -s "${s}x${s}" -o "$dir/vips-$s.jpg[Q=$q]"
		done
	done
	t_vips=$(secs $(( $(now) - t0 )) "$M")
	echo "vipsthumbnail per size:               $t_vips s per original"
	figure image.ref_job.vipsthumbnail_per_size "$t_vips" s
else
	t_vips=
	echo "vipsthumbnail: not installed"
fi
awk -v s="$t_stages" -v g="$t_gm" -v v="${t_vips:-0}" 'BEGIN {
	printf "ratios: gm per size / stages = %.1fx", g / s
	if (v > 0) printf ", vipsthumbnail per size / stages = %.1fx", v / s
	printf "\n" }'

# 100 MP: one original, peak RSS of the busiest stage process
big() { # big FILE LABEL KEY
	cp "$1" "$dir/site/in/$(basename "$1")"
	echo "/$(basename "$1")" >"$dir/list1"
	read -r ns rss < <(stages "$dir/list1")
	echo "$2: $(secs "$ns" 1) s for 8 outputs, peak RSS $((rss / 1024)) MB (largest stage process)"
	figure "image.$3.stages" "$(secs "$ns" 1)" s
	figure "image.$3.stages_peak_rss" $((rss / 1024)) MB
}
gm convert -limit threads 1 "$dir/orig.jpg" -resize '12000x8400!' -quality 90 "$dir/h100.jpg"
big "$dir/h100.jpg" "100 MP JPEG (12000x8400)" jpeg_100mp
if [ "${BENCH_BIG_PNG:-1}" != 0 ]; then
	gm convert -limit threads 1 "$dir/orig.jpg" -resize '12000x8400!' -quality 10 "$dir/h100.png"
	big "$dir/h100.png" "100 MP PNG (12000x8400)" png_100mp
fi
