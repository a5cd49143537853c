#!/bin/bash
# The video stage against the ffmpeg command, in the same run, on a 30 s
# 1080p H.264/AAC source (~17 Mbit/s, a keyframe at least every 2 s, like
# a phone's): frame capture (tmc-capture, the code tmc-image links, against
# `ffmpeg -ss T -i IN -frames:v 1` writing the same raw RGB), and the
# 640x360 300 kbit/s watermarked rendition through the real stage (enqueue
# to result line) against the ffmpeg command with the same filters and
# x264 settings, one thread each. Medians of BENCH_RUNS interleaved runs;
# the machine is shared, so read the ratios. Asserts nothing about speed;
# it does check that both give the same pixels.
set -u
: "${TMC_BUILD:?run through make bench}"
BIN=$TMC_BUILD/bin
. "$(dirname "$0")/figures.sh"
. "$(dirname "$0")/inputs.sh"
export TMC_LIBEXEC=$BIN
RUNS=${BENCH_RUNS:-5}
PRESET=veryfast # tmc-video's (stages/video/main.c)
dir=$(mktemp -d /tmp/tmcwatch-bench.XXXXXX)
daemon=
trap '[ -n "$daemon" ] && kill $daemon 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
TICK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TICK" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$1/stat"; } # user+sys of a pid
TIMEFORMAT='%3U %3S'

SRC=$(bench_video)
echo "source: $(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "$SRC" | tr '\n' ' ')$(ffprobe -v error -show_entries format=duration,bit_rate -of csv=p=0 "$SRC")"

# --- frame capture ------------------------------------------------------------------
cpu() { awk '{ print int(($1 + $2) * 1000) }' "$1"; }
for t in 0 5 15; do
	: >"$dir/ours"; : >"$dir/ff1"; : >"$dir/ffn"; : >"$dir/ours_cpu"; : >"$dir/ff1_cpu"
	for i in $(seq 1 "$RUNS"); do
		a=$(now); { time "$BIN/tmc-capture" -t $t "$SRC" "$dir/c.raw"; } 2>"$dir/t1"; b=$(now)
		{ time ff -threads 1 -ss $t -i "$SRC" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$dir/c.rgb"; } 2>"$dir/t2"
		c=$(now)
		ff -ss $t -i "$SRC" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$dir/cn.rgb"; d=$(now)
		ms $a $b >>"$dir/ours"; ms $b $c >>"$dir/ff1"; ms $c $d >>"$dir/ffn"
		cpu "$dir/t1" >>"$dir/ours_cpu"; cpu "$dir/t2" >>"$dir/ff1_cpu"
	done
	a=$(now); "$BIN/tmc-capture" -n "$RUNS" -t $t "$SRC" "$dir/c.raw"; b=$(now)
	same=$(tail -c +$(($(head -1 "$dir/c.raw" | wc -c) + 1)) "$dir/c.raw" | cmp -s - "$dir/c.rgb" && echo identical || echo DIFFERENT)
	o=$(median <"$dir/ours"); f1=$(median <"$dir/ff1"); fn=$(median <"$dir/ffn")
	oc=$(median <"$dir/ours_cpu"); fc=$(median <"$dir/ff1_cpu")
	printf 'capture at %2ss: tmc-capture %4d ms (in-process %4d ms), ffmpeg -threads 1 -ss %4d ms: ratio %.2f (CPU %d / %d ms: %.2f); ffmpeg default threads %4d ms; pixels %s\n' \
		$t "$o" $(($(ms $a $b) / RUNS)) "$f1" "$(echo "$o $f1" | awk '{ print $1 / $2 }')" \
		"$oc" "$fc" "$(echo "$oc $fc" | awk '{ print $1 / $2 }')" "$fn" "$same"
	figure "video.capture_${t}s.tmc_capture" "$o" ms "video.capture_${t}s.ffmpeg_1thread"
	figure "video.capture_${t}s.ffmpeg_1thread" "$f1" ms
done

# --- transcode ------------------------------------------------------------------------
mkdir -p "$dir/conf" "$dir/site/in"
ln "$SRC" "$dir/site/in/src.mp4" 2>/dev/null || cp "$SRC" "$dir/site/in/src.mp4"
# TMC's sample.png is 910x723; this one has alpha
ff -f lavfi -i "color=c=black:s=910x723,format=rgba,geq=r='255*gt(mod(X,100),50)':g='200':b='255*gt(mod(Y,80),40)':a='if(gt(mod(X+Y,120),60),160,0)'" \
	-frames:v 1 "$dir/conf/wm.png"
cat >"$dir/conf/template.json" <<'JSON'
{ "v": { "proc": [ {"name": "Preview", "source": "hires", "ffmpeg": true, "size": [640, 640],
  "path_head": "/mp4", "watermark": true, "bitrate": 300, "overwrite": true} ] } }
JSON
cat >"$dir/conf/config.json" <<JSON
{ "client_cnt": 1, "worker_cnt": 1, "spool_dir": "$dir/spool", "log_file": "$dir/log",
  "site": { "b": { "root": "$dir/site", "watermark": "wm.png" } } }
JSON
"$BIN/tmcwatch" -c "$dir/conf/config.json" run 2>>"$dir/log" &
daemon=$!
sleep 1
# the watermark fitted into 640x360 as tmc-video does (TMC's rule, then the height)
read -r ww wh x y < <(awk 'BEGIN { iw = 640; ih = 360; w = 910; h = 723
	if (iw < w) { h = int(h * iw / w); w = iw } else if (ih < h) { w = int(w * ih / h); h = ih }
	if (h > ih) { w = int(w * ih / h); h = ih }
	print w, h, int((iw - w) / 2), int((ih - h) / 2) }')
: >"$dir/ours"; : >"$dir/ff"; : >"$dir/ours_cpu"; : >"$dir/ff_cpu"
vpid=$(pgrep -f "tmc-video -c $dir/conf/config.json")
for i in $(seq 1 "$RUNS"); do
	c0=$(cpu_ms "$vpid")
	a=$(now)
	echo /src.mp4 | "$BIN/tmc-enqueue" -c "$dir/conf/config.json" -T v -s b -b "$dir/site/in" -p "r$i-" -o job:bench >/dev/null
	until grep -q "^r$i-" "$dir/spool/proc/bench.log" 2>/dev/null; do sleep 0.02; done
	b=$(now)
	echo $(($(cpu_ms "$vpid") - c0)) >>"$dir/ours_cpu"
	{ time ff -threads 1 -i "$dir/site/in/src.mp4" -i "$dir/conf/wm.png" -filter_complex_threads 1 -filter_complex \
		"[1:v]scale=$ww:$wh:flags=area[w];[0:v]scale=640:360:flags=bicubic,setsar=1[v];[v][w]overlay=x=$x:y=$y:eof_action=repeat:format=yuv420,format=yuv420p[out]" \
		-map "[out]" -map 0:a -c:v libx264 -preset $PRESET -crf 23 -maxrate 300k -bufsize 300k -threads 1 \
		-c:a copy -movflags +faststart "$dir/ff.mp4"; } 2>"$dir/time"
	c=$(now)
	cpu "$dir/time" >>"$dir/ff_cpu"
	ms $a $b >>"$dir/ours"; ms $b $c >>"$dir/ff"
done
kill -TERM $daemon; wait $daemon; daemon=
grep -q '	1	0	/src.mp4' "$dir/spool/proc/bench.log" || echo "tmc-video FAILED: $(tail -3 "$dir/log")"
o=$(median <"$dir/ours"); f=$(median <"$dir/ff"); oc=$(median <"$dir/ours_cpu"); fc=$(median <"$dir/ff_cpu"); d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$SRC")
v1=$(ff -i "$dir/site/mp4/src.mp4" -map 0:v -f md5 - 2>/dev/null); v2=$(ff -i "$dir/ff.mp4" -map 0:v -f md5 - 2>/dev/null)
printf 'transcode 1080p -> 640x360 300k + watermark, x264 %s, 1 thread: tmc-video %d ms (%.2fx realtime), ffmpeg %d ms (%.2fx realtime): ratio %.3f; video %s\n' \
	$PRESET "$o" "$(echo "$d $o" | awk '{ print $1 * 1000 / $2 }')" "$f" "$(echo "$d $f" | awk '{ print $1 * 1000 / $2 }')" \
	"$(echo "$o $f" | awk '{ print $1 / $2 }')" "$([ "$v1" = "$v2" ] && echo "identical (decoded md5)" || echo DIFFERENT)"
printf 'transcode CPU time (user+sys): tmc-video %d ms, ffmpeg %d ms: ratio %.3f\n' "$oc" "$fc" \
	"$(echo "$oc $fc" | awk '{ print $1 / $2 }')"
figure video.transcode.tmc_video "$o" ms video.transcode.ffmpeg
figure video.transcode.ffmpeg "$f" ms
figure video.transcode.tmc_video_cpu "$oc" ms video.transcode.ffmpeg_cpu
figure video.transcode.ffmpeg_cpu "$fc" ms
echo "output: $(ffprobe -v error -show_entries stream=codec_name,width,height,bit_rate -of csv=p=0 "$dir/site/mp4/src.mp4" | tr '\n' ' ')"
