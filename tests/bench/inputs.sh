# inputs.sh - the originals and the reference job the benchmarks share.
#
# bench_photo FILE: a real photo enlarged to 6000x4000 (24 MP) with grain,
# q92, about 10 MB, like a camera's JPEG (a plasma fractal where the
# distribution's photo is missing).
bench_photo() {
	local photo=/usr/share/backgrounds/mate/nature/Blinds.jpg
	if [ -r "$photo" ]; then
		gm convert "$photo" -resize '6000x4000!' -operator All Noise-Gaussian 12% -quality 92 "$1"
	else
		gm convert -size 6000x4000 plasma:fractal -operator All Noise-Gaussian 12% -quality 92 "$1"
	fi
}

# bench_video: prints the path of a 30 s 1080p H.264/AAC source (~17 Mbit/s,
# a keyframe every 2 s, like a phone's). Slow to make (~30 s), so kept in
# /tmp between runs (BENCH_VIDEO to choose the file).
bench_video() {
	local src=${BENCH_VIDEO:-/tmp/tmcwatch-bench-1080p30s.mp4}
	if [ ! -s "$src" ]; then
		echo "making the 30 s 1080p source $src ..." >&2
		ffmpeg -nostdin -hide_banner -loglevel error -y \
			-f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=5:allf=t" \
			-f lavfi -i "sine=frequency=440:sample_rate=48000" -t 30 -c:v libx264 -preset veryfast \
			-crf 20 -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k "$src.tmp.mp4" && mv "$src.tmp.mp4" "$src"
	fi
	echo "$src"
}

# ref_steps: TMC's reference job as a proc's steps (JSON, without the
# brackets): 1000 with sharpen [6,0.6] and q80, then 600, 400, 300, 200,
# 150, 100, 60, each from the one before.
ref_steps() {
	local steps prev=S1000 s
	steps='{"name":"S1000","source":"hires","size":[1000,1000],"sharpen":[6,0.6],"comp":80,"path_head":"/s1000"}'
	for s in 600 400 300 200 150 100 60; do
		steps="$steps,{\"name\":\"S$s\",\"source\":\"$prev\",\"size\":[$s,$s],\"path_head\":\"/s$s\"}"
		prev=S$s
	done
	echo "$steps"
}
