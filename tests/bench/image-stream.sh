#!/bin/bash
# 100 MP PNG, TIFF and WebP originals through TMC's reference job (1000
# with sharpen [6,0.6] and q80, then 600 ... 60, each from the previous
# step): tmc-image reads them row by row, shrunk as read (stream.c). For
# each format, in the same run: the stages' time and the peak RSS of the
# busiest stage process, against `vipsthumbnail` once per size (time summed,
# largest RSS; TMC's way) and for the largest size alone (the least vips
# can do for the job), with ratios. Figures, not assertions.
set -u
: "${TMC_BUILD:?run through make bench}"
BIN=$TMC_BUILD/bin
. "$(dirname "$0")/figures.sh"
. "$(dirname "$0")/inputs.sh"
export TMC_LIBEXEC=$BIN
dir=$(mktemp -d /tmp/tmcwatch-bench-stream.XXXXXX)
daemon=
trap '[ -n "$daemon" ] && kill $daemon 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
SIZES="1000 600 400 300 200 150 100 60"
command -v vipsthumbnail >/dev/null 2>&1 || { echo "vipsthumbnail: not installed, skipped"; exit 0; }

now() { date +%s%N; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
# measure CMD...: "<ns> <peak RSS kB>" of one command, from the kernel's rusage
measure() {
	python3 -c 'import resource, subprocess, sys, time
t = time.monotonic_ns(); subprocess.run(sys.argv[1:], check=True)
print(time.monotonic_ns() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

# The originals: a real photo (or plasma) enlarged to 12000x8400, with grain
# so that it compresses like a photo, not like a gradient.
photo=/usr/share/backgrounds/mate/nature/Blinds.jpg
src="plasma:fractal"
[ -r "$photo" ] && src=$photo
mkdir -p "$dir/site/in" "$dir/conf"
gm convert -limit threads 1 -size 1200x840 "$src" -resize '12000x8400!' \
	-operator All Noise-Gaussian 4% -quality 10 "$dir/site/in/h.png"
vips copy "$dir/site/in/h.png" "$dir/site/in/h.tif[compression=deflate]"
vips copy "$dir/site/in/h.png" "$dir/site/in/h.webp[Q=90]"
for f in h.png h.tif h.webp; do
	echo "original $f: $(gm identify -format '%wx%h' "$dir/site/in/$f"), $(($(stat -c %s "$dir/site/in/$f") / 1024)) KiB"
done

steps=$(ref_steps)
echo "{ \"ref\": { \"proc\": [ $steps ] } }" >"$dir/conf/template.json"
cat >"$dir/conf/config.json" <<JSON
{ "client_cnt": 1, "worker_cnt": 1, "big_worker": 1, "spool_dir": "$dir/spool",
  "site": { "b": { "root": "$dir/site" } } }
JSON

# stages REL: "<ns> <peak RSS kB>" for the original through all 8 steps
stages() {
	local t0 t1 rss
	rm -rf "$dir/spool" "$dir/site"/s[0-9]*
	"$BIN/tmcwatch" -c "$dir/conf/config.json" run 2>"$dir/log" &
	daemon=$!
	until [ -e "$dir/spool/run/tmcwatch.pid" ]; do sleep 0.05; done
	sleep 0.5
	t0=$(now)
	echo "$1" | "$BIN/tmc-enqueue" -c "$dir/conf/config.json" -T ref -s b -b "$dir/site/in" -o job:bench >/dev/null
	t1=$(wait_lines "$dir/spool/proc/bench.log" 8)
	rss=$(for p in $(pgrep -P "$daemon" -x tmc-image); do awk '/VmHWM/ { print $2 }' "/proc/$p/status"; done |
		sort -n | tail -1)
	kill -TERM $daemon
	wait $daemon
	daemon=
	echo "$((t1 - t0)) ${rss:-0}"
}

# vips REL: "<ns> <peak RSS kB> <ns of the 1000 alone>": vipsthumbnail once
# per size from the original
vips_sizes() {
	local s q ns total=0 peak=0 rss first=
	for s in $SIZES; do
		q=92
		[ "$s" = 1000 ] && q=80
		read -r ns rss < <(VIPS_CONCURRENCY=1 measure vipsthumbnail "$dir/site/in/$1" -s "${s}x${s}" -o "$dir/vips-$s.jpg[Q=$q]")
		total=$((total + ns))
		[ -z "$first" ] && first=$ns
		[ "$rss" -gt "$peak" ] && peak=$rss
	done
	echo "$total $peak $first"
}

for f in h.png h.tif h.webp; do
	read -r t_ns t_rss < <(stages "/$f")
	read -r v_ns v_rss v1_ns < <(vips_sizes "$f")
	printf '%-4s stages (8 sizes) %5ss %3d MB | vipsthumbnail x8 %5ss %3d MB, 1000 only %5ss | vips x8/stages %.1fx, vips 1000/stages %.2fx, RSS stages/vips %.2fx\n' \
		"${f#h.}" "$(secs "$t_ns")" $((t_rss / 1024)) "$(secs "$v_ns")" $((v_rss / 1024)) \
		"$(secs "$v1_ns")" "$(awk -v a="$v_ns" -v b="$t_ns" 'BEGIN { print a / b }')" \
		"$(awk -v a="$v1_ns" -v b="$t_ns" 'BEGIN { print a / b }')" \
		"$(awk -v a="$t_rss" -v b="$v_rss" 'BEGIN { print a / b }')"
	k=stream.${f#h.}_100mp
	figure "$k.stages" "$(secs "$t_ns")" s "$k.vipsthumbnail_per_size,$k.vipsthumbnail_1000_only"
	figure "$k.stages_peak_rss" $((t_rss / 1024)) MB "$k.vipsthumbnail_peak_rss"
	figure "$k.vipsthumbnail_per_size" "$(secs "$v_ns")" s
	figure "$k.vipsthumbnail_1000_only" "$(secs "$v1_ns")" s
	figure "$k.vipsthumbnail_peak_rss" $((v_rss / 1024)) MB
done
