# video.sh - helpers for the video tests (source after tap.sh). Inputs are
# made on the spot with the ffmpeg command; outputs are checked with
# ffprobe and with pixel values read from raw RGB files by python3.

# make_video OUT ARGS...: ffmpeg ARGS into OUT, quietly (fast x264 settings
# are the caller's choice).
make_video() {
	local out=$1; shift
	ffmpeg -nostdin -hide_banner -loglevel error -y "$@" "$out"
}

# A 320x240 video whose frames say when they are: red = 25 * whole second,
# green = 8 * frame number within the second, blue = 128; 30 fps, a
# keyframe every 2 s. make_timed OUT SECONDS [extra output args]
make_timed() {
	local out=$1 d=$2; shift 2
	make_video "$out" -f lavfi \
		-i "color=black:s=320x240:r=30:d=$d,format=rgb24,geq=r='25*floor(T)':g='8*mod(N,30)':b='128'" \
		-c:v libx264 -preset ultrafast -crf 8 -g 60 -pix_fmt yuv420p "$@"
}

# raw_size FILE: "W H" from a TMCPIX1 file's header
raw_size() { head -1 "$1" | awk '$1 == "TMCPIX1" { print $2, $3 }'; }

# raw_px FILE X Y: "R G B" of one pixel of a TMCPIX1 file
raw_px() {
	python3 - "$@" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
nl = d.index(b'\n')
h = d[:nl].split()
w, icc = int(h[1]), int(h[5])
p = d[nl + 1 + icc:]
o = (int(sys.argv[3]) * w + int(sys.argv[2])) * 3
print(p[o], p[o + 1], p[o + 2])
PY
}

# rgb_px FILE W X Y: "R G B" of one pixel of a headerless rgb24 file W wide
rgb_px() {
	python3 - "$@" <<'PY'
import sys
p = open(sys.argv[1], 'rb').read()
o = (int(sys.argv[4]) * int(sys.argv[2]) + int(sys.argv[3])) * 3
print(p[o], p[o + 1], p[o + 2])
PY
}

# near "R G B" "R G B" [TOLERANCE]: every channel within the tolerance (default 6)
near() {
	python3 - "$1" "$2" "${3:-6}" <<'PY'
import sys
a = [int(x) for x in sys.argv[1].split()]
b = [int(x) for x in sys.argv[2].split()]
sys.exit(0 if len(a) == 3 and len(b) == 3 and max(abs(x - y) for x, y in zip(a, b)) <= int(sys.argv[3]) else 1)
PY
}

# raw_vs_rgb RAW RGB: the largest difference of any byte between a TMCPIX1
# file's pixels and a headerless rgb24 file (ffmpeg's -f rawvideo), or
# "size" when they differ in size
raw_vs_rgb() {
	python3 - "$@" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
nl = d.index(b'\n')
a = d[nl + 1:]
b = open(sys.argv[2], 'rb').read()
print('size' if len(a) != len(b) else max((abs(x - y) for x, y in zip(a, b)), default=0))
PY
}

# probe FILE ENTRIES [STREAM]: ffprobe's values, one per line (e.g.
# probe f.mp4 stream=codec_name,width v:0)
probe() {
	ffprobe -v error ${3:+-select_streams "$3"} -show_entries "$2" -of default=nw=1:nk=1 "$1"
}

# moov_first FILE: the mp4's moov box comes before its mdat (faststart)
moov_first() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
i, order = 0, []
while i + 8 <= len(d):
    size, typ = struct.unpack('>I4s', d[i:i + 8])
    if size == 1:
        size = struct.unpack('>Q', d[i + 8:i + 16])[0]
    order.append(typ)
    if size < 8:
        break
    i += size
sys.exit(0 if b'moov' in order and b'mdat' in order and order.index(b'moov') < order.index(b'mdat') else 1)
PY
}

# frame_rgb VIDEO SECONDS OUT: the frame at SECONDS as headerless rgb24 (ffmpeg)
frame_rgb() {
	ffmpeg -nostdin -loglevel error -y -ss "$2" -i "$1" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$3"
}

# video_config TEMPLATES [EXTRA_CONFIG_KEYS]: like write_config, with a
# watermark (wm.png: 200x100, left half opaque red, right half transparent)
# for site01.
video_config() {
	mkdir -p "$T_DIR/conf" "$SITE"
	printf '%s\n' "$1" >"$T_DIR/conf/template.json"
	[ -e "$T_DIR/conf/wm.png" ] || make_video "$T_DIR/conf/wm.png" -f lavfi \
		-i "color=c=black:s=200x100,format=rgba,geq=r='255':g='0':b='0':a='if(lt(X,100),255,0)'" \
		-frames:v 1
	cat >"$CONF" <<JSON
{
  "client_cnt": 4, "worker_cnt": 4, "big_worker": 1,
  "spool_dir": "$SPOOL",
  "log_file": "$T_DIR/tmcwatch.log",
  ${2:-}
  "site": { "site01": { "root": "$SITE", "watermark": "wm.png" } }
}
JSON
}

# result_of ID: the result line of item ID (its last one) in the test job's log
result_of() { grep "^$1	" "$SPOOL/proc/test1.log" 2>/dev/null | tail -1; }

# item_err STAGE ID: the reason file of an item in a stage's err/
item_err() { cat "$SPOOL/stages/$1/err/$2/reason" 2>/dev/null; }

# wait_result ID [SECONDS]: until item ID has a result line
wait_result() { wait_for "${2:-120}" eval "[ -n \"\$(result_of $1)\" ]"; }
