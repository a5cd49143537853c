#!/bin/bash
# tmc-image: imagick_mem is a promise. With imagick_mem [32, 64], the peak
# resident set (VmHWM) of every tmc-image stays within 32 MiB plus the
# documented overhead (tmc-image(8), MEMORY) while it makes correct
# thumbnails of a 64 MP PNG (512 MB of pixel cache: spilled to disk files
# under the spool) and of a 7.8 MP one (63 MB: TMC's "map = 2 x memory" used
# to map it into the process). An interlaced PNG whose decoder needs a
# whole-image buffer over the limit fails for good, with a reason naming
# imagick_mem. No cache file is left behind.
# Then, with the default limits, TMC's reference job (one original to 8
# sizes, each from the one before) on 100 MP originals: PNG, TIFF in strips,
# TIFF in tiles and lossy WebP are read row by row and shrunk as they are read
# (stages/image/stream.c), so tmc-image's peak stays within 100 MB where
# GraphicsMagick alone held ~850 MB; the thumbnails match gm's own resize
# of the same pixels (PSNR >= 35 dB, which point sampling would not reach),
# and so do 16-bit, gray, alpha, palette, tiled and ICC-tagged variants;
# a file cut in half fails for good; so does a TIFF whose header claims
# tiles 2^31 rows high (never an allocation that fails like a machine
# out of memory, which would retry it for ever).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 21

LIMIT_MB=32
OVERHEAD_MB=48 # tmc-image(8): code, libraries, decoder rows (measured: 30 + 4)
image_config '{ "mem": { "proc": [
  {"name":"S","source":"hires","size":[200,200],"path_head":"/s"},
  {"name":"K","source":"S","size":[100,100],"path_head":"/k"}
] } }' "" "\"imagick_mem\": [$LIMIT_MB, 64],"
in=$SITE/in
gm convert -size 8000x8000 gradient:red-blue "$in/big.png"
gm convert -size 2800x2800 gradient:red-blue "$in/mid.png"
gm convert -size 4000x4000 gradient:red-blue -interlace Line "$in/il.png"

run_items mem 5 /big.png /mid.png /il.png
ok $? "every item reported (2 steps x 2 images, 1 failure)"
is "$(geom "$SITE/s/big.jpg" | cut -d' ' -f1-3) $(geom "$SITE/k/big.jpg" | cut -d' ' -f1-3)" \
	"200 200 JPEG 100 100 JPEG" "64 MP PNG: both sizes made within a 32 MiB limit"
is "$(geom "$SITE/s/mid.jpg" | cut -d' ' -f1-3) $(geom "$SITE/k/mid.jpg" | cut -d' ' -f1-3)" \
	"200 200 JPEG 100 100 JPEG" "7.8 MP PNG: both sizes made"
c=$(pixel "$SITE/s/big.jpg" 100 2)
near "$c" "255 0 0" 40
ok $? "the thumbnail shows the gradient's red top (got $c)"

# The results are in, so the stage processes surely exist: read their peaks.
peak=0
for p in $(pgrep -P "$DAEMON" -x tmc-image); do
	kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
	[ "${kb:-0}" -gt "$peak" ] && peak=$kb
done
diag "peak resident set of tmc-image: $((peak / 1024)) MiB"
# ASan's shadow memory and quarantine add to the overhead (measured: 50 MiB in all)
case "$TMC_BUILD" in *san*) OVERHEAD_MB=$((OVERHEAD_MB * 2)) ;; esac
ok $((peak == 0 || peak > (LIMIT_MB + OVERHEAD_MB) * 1024)) \
	"peak RSS $((peak / 1024)) MiB <= imagick_mem $LIMIT_MB MiB + $OVERHEAD_MB MiB overhead"


# the result line is written just before the item moves to err/ with its reason
wait_for 30 eval 'test -e "$SPOOL"/stages/mem/00-S/err/*/reason'
r=$(cat "$SPOOL"/stages/mem/00-S/err/*/reason 2>/dev/null)
case $r in *il.png*exceeds*imagick_mem*) ok 0 "interlaced PNG over the limit: reason names imagick_mem" ;;
*) ok 1 "interlaced PNG over the limit: reason names imagick_mem"; diag "reason: '$r'" ;; esac
is "$(awk -F '\t' '$6 == "/il.png" { print $4, $5 }' "$SPOOL/proc/test1.log")" "0 1" \
	"its result line: failed for good, not retried"
is "$(find "$SPOOL/run/magick" -type f | wc -l)" 0 "no pixel cache file left in run/magick"
stop_daemon

# peak_rss: the largest VmHWM (kB) among the daemon's tmc-image processes
peak_rss() {
	local p kb peak=0
	for p in $(pgrep -P "$DAEMON" -x tmc-image); do
		kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ "${kb:-0}" -gt "$peak" ] && peak=$kb
	done
	echo "$peak"
}
# psnr A B: the lowest of the red, green and blue PSNRs (dB; inf as 99)
psnr() {
	gm compare -metric psnr "$1" "$2" 2>/dev/null |
		awk '/^ *(Red|Green|Blue):/ { v = ($2 == "inf") ? 99 : $2 + 0; if (min == "" || v < min) min = v }
			END { print (min == "" ? 0 : min) }'
}

# --- 100 MP originals through the reference job, default limits ---
DAEMON=
SPOOL=$T_DIR/spool-ref
steps='{"name":"S1000","source":"hires","size":[1000,1000],"sharpen":[6,0.6],"comp":80,"path_head":"/s1000"}'
prev=S1000
for s in 600 400 300 200 150 100 60; do
	steps="$steps,{\"name\":\"S$s\",\"source\":\"$prev\",\"size\":[$s,$s],\"path_head\":\"/s$s\"}"
	prev=S$s
done
var='{"name":"V","source":"hires","size":[500,500],"format":"png","path_head":"/v"}'
image_config "{ \"ref\": { \"proc\": [ $steps ] }, \"var\": { \"proc\": [ $var ] } }" \
	'"srgb": ["sRGB.icm"]'
cp "$TMC_SRC/tests/tmc-sample/sRGB.icm" "$TMC_SRC/tests/tmc-sample/AdobeRGB1998.icc" "$T_DIR/conf/"
python3 "$TMC_SRC/tests/lib/bigimage.py" "$in/p.png" 10000
python3 "$TMC_SRC/tests/lib/bigimage.py" "$T_DIR/smooth.png" 10000 smooth
if command -v vips >/dev/null 2>&1; then # streams: seconds, not a GB of memory
	vips copy "$in/p.png" "$in/s.tif[compression=deflate]"
	vips copy "$in/p.png" "$in/t.tif[compression=deflate,tile]"
	vips copy "$T_DIR/smooth.png" "$in/w.webp[Q=85,effort=0]"
else
	gm convert "$in/p.png" -compress Zip "$in/s.tif"
	gm convert "$in/p.png" -compress Zip -define tiff:tile-geometry=256x256 "$in/t.tif"
	gm convert "$T_DIR/smooth.png" -quality 85 -define webp:method=0 "$in/w.webp"
fi
# the variants each reader must keep, shrunk 4x for a 500 px PNG output:
# 16-bit RGBA, 16-bit gray+alpha, palette, 16-bit gray (PNG, tiled TIFF),
# RGBA TIFF, and an embedded Adobe RGB profile (PNG, TIFF, WebP) that the
# site's sRGB conversion must start from
gm convert -size 2400x1600 gradient:white-black "$T_DIR/mask.png"
gm convert -size 2400x1600 gradient:red-blue "$T_DIR/rb.png"
gm composite -compose CopyOpacity "$T_DIR/mask.png" "$T_DIR/rb.png" -depth 16 "$in/a16.png"
gm composite -compose CopyOpacity "$T_DIR/mask.png" "$T_DIR/rb.png" -colorspace gray \
	-type GrayscaleMatte "$in/ga.png"
gm convert "$in/a16.png" "$in/a16t.tif"
gm convert -size 2400x1600 gradient:white-black PNG8:"$in/pal.png"
gm convert -size 2400x1600 gradient:white-black -colorspace gray -depth 16 "$in/g16.png"
gm convert "$T_DIR/rb.png" -profile "$T_DIR/conf/AdobeRGB1998.icc" "$in/adobe.png"
gm convert "$in/adobe.png" "$in/adobet.tif"
gm convert "$in/adobe.png" -quality 90 "$in/adobew.webp"
gm convert "$T_DIR/rb.png" -orient RightTop "$in/o6t.tif" # stored landscape, shown portrait
gm convert "$T_DIR/rb.png" -density 300x300 -units PixelsPerInch "$in/d300.png"
gm convert "$T_DIR/rb.png" -density 300x300 -units PixelsPerInch "$in/d300t.tif"
VARS="a16.png ga.png a16t.tif pal.png g16.png adobe.png adobet.tif adobew.webp o6t.tif d300.png d300t.tif"
if command -v vips >/dev/null 2>&1; then
	vips copy "$in/g16.png" "$in/g16t.tif[tile,compression=deflate]"
	VARS="$VARS g16t.tif"
fi
nvars=$(echo $VARS | wc -w)
# cut in half: each reader must fail the item for good, not make half a thumbnail
for f in a16.png a16t.tif adobew.webp; do
	head -c $(($(stat -c %s "$in/$f") / 2)) "$in/$f" >"$in/cut-$f"
done
CUTS="cut-a16.png cut-a16t.tif cut-adobew.webp"
# hostile: a 2000x2000 RGB TIFF in tiles 16 wide and 0x7ffffff0 rows high
# (a 100 GB tile, a 25 TB row of tiles), 64 bytes of data
python3 - "$in/hugetile.tif" <<'PY'
import struct, sys
w, h, tw, th = 2000, 2000, 16, 0x7FFFFFF0
n = -(-w // tw) * -(-h // th)
extra = b''
def put(b):
    global extra
    o = 8 + 2 + 11 * 12 + 4 + len(extra)
    extra += b
    return o
bps = put(struct.pack('<3H', 8, 8, 8))
data = put(bytes(64))
offs = put(struct.pack('<%dI' % n, *([data] * n)))
cnts = put(struct.pack('<%dI' % n, *([64] * n)))
ents = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, bps), (259, 3, 1, 1), (262, 3, 1, 2),
        (277, 3, 1, 3), (284, 3, 1, 1), (322, 4, 1, tw), (323, 4, 1, th),
        (324, 4, n, offs), (325, 4, n, cnts)]
ifd = struct.pack('<H', len(ents)) + b''.join(struct.pack('<HHII', *e) for e in ents)
open(sys.argv[1], 'wb').write(b'II*\0' + struct.pack('<I', 8) + ifd + struct.pack('<I', 0) + extra)
PY

# ASan keeps freed memory in its quarantine (256 MB by default) to catch
# use-after-free; a worker that carries an original through all 8 steps
# frees far more than one step did, so the quarantine, not our allocations,
# would set the peak. A small quarantine keeps the check about our memory.
case "$TMC_BUILD" in *san*) export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16" ;; esac
start_daemon
printf '%s\n' /p.png /s.tif /t.tif /w.webp | enqueue_site ref site01 t >/dev/null
for f in $VARS $CUTS hugetile.tif; do echo "/$f"; done | enqueue_site var site01 v >/dev/null
wait_for 300 eval '[ $(results) -ge $((32 + nvars + 4)) ]' # four 100 MP decodes on a busy machine
ok $? "every item reported (4 originals x 8 steps, $nvars variants, 3 cut files, 1 hostile)"
cuts=
for f in $CUTS; do
	cuts="$cuts$(result "/$f" V | cut -d' ' -f1-2);"
	diag "$f: $(result "/$f" V | cut -d' ' -f3-)"
done
is "$cuts" "0 1;0 1;0 1;" "PNG, TIFF, WebP cut in half: each failed for good"
diag "hugetile.tif: $(result /hugetile.tif V | cut -d' ' -f3-)"
is "$(result /hugetile.tif V | cut -d' ' -f1-2)" "0 1" \
	"TIFF with tiles 2^31 rows high: failed for good, not retried as a machine fault"
sizes=
for f in p s t w; do
	sizes="$sizes$(geom "$SITE/s1000/$f.jpg" | cut -d' ' -f1-2) $(geom "$SITE/s60/$f.jpg" | cut -d' ' -f1-2);"
done
is "$sizes" "1000 1000 60 60;1000 1000 60 60;1000 1000 60 60;1000 1000 60 60;" \
	"PNG, TIFF (strips), TIFF (tiles), WebP: 1000 and 60 px made"
peak=$(peak_rss)
limit=100
case "$TMC_BUILD" in *san*) limit=200 ;; esac # ASan's shadow memory and quarantine
ok $((peak == 0 || peak > limit * 1024)) "100 MP originals: peak RSS of tmc-image $((peak / 1024)) MiB <= $limit MiB"
stop_daemon

# gm's own resize of the same pixels, with the step's sharpen and quality
# (the TIFFs hold the PNG's pixels losslessly; the WebP is lossy: its own)
for f in p w; do
	src=$in/p.png
	[ $f = w ] && src=$in/w.webp
	gm convert -limit threads 1 "$src" -resize 1000x1000 -sharpen 6x0.6 -quality 80 "$T_DIR/gm1000$f.jpg"
	gm convert -limit threads 1 "$src" -resize 60x60 "$T_DIR/gm60$f.png"
done
for f in p s t w; do
	g=p
	[ $f = w ] && g=w
	a=$(psnr "$SITE/s1000/$f.jpg" "$T_DIR/gm1000$g.jpg")
	b=$(psnr "$SITE/s60/$f.jpg" "$T_DIR/gm60$g.png")
	awk -v a="$a" -v b="$b" 'BEGIN { exit !(a >= 35 && b >= 35) }'
	ok $? "$f: PSNR against gm's resize: 1000 px $a dB, 60 px $b dB (>= 35)"
done

# flat FILE OUT: laid over white, as a viewer shows it (transparent pixels'
# colours are nobody's business)
flat() { gm convert "$1" -background white -flatten "$2"; }
bad=
for f in $VARS; do
	b=${f%.*}
	prof=
	case $f in adobe*) prof="-profile $T_DIR/conf/sRGB.icm" ;; o6*) prof="-rotate 90" ;; esac
	gm convert "$in/$f" -resize 500x500 $prof "$T_DIR/gmv-$b.png"
	flat "$T_DIR/gmv-$b.png" "$T_DIR/gmv-$b-flat.png"
	flat "$SITE/v/$b.png" "$T_DIR/v-$b-flat.png" 2>/dev/null
	v=$(psnr "$T_DIR/v-$b-flat.png" "$T_DIR/gmv-$b-flat.png")
	diag "$f: $(geom "$SITE/v/$b.png" | cut -d' ' -f1-2), PSNR against gm $v dB"
	awk -v v="$v" 'BEGIN { exit !(v >= 35) }' || bad="$bad $f"
done
is "${bad:-none}" none "16-bit, gray, alpha, palette, tiled, ICC variants match gm's resize (PSNR >= 35 dB)"
is "$(geom "$SITE/v/o6t.png" | cut -d' ' -f1-2)" "333 500" "TIFF orientation 6: turned upright (portrait)"
dens() { gm identify -format '%x %y' "$1" 2>/dev/null; }
is "$(dens "$SITE/v/d300.png"); $(dens "$SITE/v/d300t.png")" \
	"$(dens "$T_DIR/gmv-d300.png"); $(dens "$T_DIR/gmv-d300t.png")" \
	"the original's resolution (PNG pHYs, TIFF tags) kept as gm keeps it"
# the profile matters: the same pixels not converted from Adobe RGB are far off
gm convert "$in/adobe.png" +profile '*' -resize 500x500 "$T_DIR/noicc.png"
v=$(psnr "$T_DIR/noicc.png" "$T_DIR/gmv-adobe.png")
awk -v v="$v" 'BEGIN { exit !(v < 35) }'
ok $? "without the embedded profile the output would differ ($v dB < 35): the check sees it"
