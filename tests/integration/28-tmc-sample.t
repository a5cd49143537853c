#!/bin/bash
# TMC's own sample files (tests/tmc-sample: config.json, template.json, the
# ICC profiles, the watermark), unchanged but for the site roots and the one
# per-step callback URL (to a local receiver), plus the spool and log keys
# that are tmcwatch's own: `tmcwatch check` passes, and every template of
# template.json runs end to end through the real daemon on originals made
# here - a camera JPEG with EXIF, a CMYK JPEG carrying its profile, a PNG
# with alpha in a sub-folder, a 2-second mp4. What is asserted comes from
# TMC's rules (tests/lib/tmc-expect.py reads template.json itself): every
# output path, each output's pixel size, no other file, done/<seq>.result's
# rows; and the watermark steps differ from the ones without, CMYK comes out
# RGB, alpha lies on TMC's checkerboard, the per-step curl callback of
# template_site02's ThumbV is a GET per saved file with TMC's %file%.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 17

start_receiver
DATA=$T_DIR/data
cp -r "$TMC_SRC/tests/tmc-sample" "$T_DIR/conf"
CONF=$T_DIR/conf/config.json
TPL=$T_DIR/conf/template.json
# TMC's keys stay as they are but the roots and the callback's host; the
# spool and the log are tmcwatch's own keys (TMC's were fixed under /opt/tmc)
sed -i "s|\"/data/site0\([12]\)\"|\"$DATA/site0\1\"|" "$CONF"
sed -i "1a \"spool_dir\": \"$SPOOL\", \"log_file\": \"$T_DIR/tmcwatch.log\"," "$CONF"
sed -i "s|http://192.168.20.239/tmc_callback.php|$RURL/ok/tmc_callback.php|" "$TPL"
mkdir -p "$DATA/site01/up/2024/sub" "$DATA/site02/up/2024/sub" "$DATA/site02/source"

"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
ok $? "tmcwatch check passes on TMC's sample files"
sed 's/^/#   /' "$T_DIR/check.out"

# The originals, once per site: tests/lib/exif-orient.py gives the camera
# JPEG its EXIF segment; the CMYK JPEG is converted with the sample's own
# profiles and keeps the CMYK one; the PNG is half-transparent green on
# nothing; the mp4 is FFmpeg's test pattern, larger than the 640 box.
IN=$DATA/site01/up/2024
gm convert -size 1600x1200 gradient:orange-navy -quality 90 "$T_DIR/cam.jpg"
python3 "$TMC_SRC/tests/lib/exif-orient.py" "$T_DIR/cam.jpg" "$IN/camera.jpg" 1
gm convert -size 800x600 "xc:rgb(200,120,60)" -profile "$T_DIR/conf/sRGB.icm" \
	-profile "$T_DIR/conf/USWebCoatedSWOP.icc" -quality 90 "$IN/cmyk.jpg"
gm convert -size 500x700 xc:none -fill 'rgba(0,128,0,0.5)' -draw 'circle 250,350 250,100' \
	"$IN/sub/alpha.png"
make_video "$IN/clip.mp4" -f lavfi -i testsrc=s=960x540:r=25:d=2 -c:v libx264 -preset ultrafast \
	-pix_fmt yuv420p
cp -r "$IN/." "$DATA/site02/up/2024/"
printf '/camera.jpg 1600 1200\n/cmyk.jpg 800 600\n/sub/alpha.png 500 700\n/clip.mp4 960 540\n' \
	>"$T_DIR/originals"
is "$(gm identify -format '%r' "$IN/cmyk.jpg")" ColorSeparation "the CMYK original is CMYK"

start_daemon
# site01 writes under its own root; site02's job under target.root (site01's
# root, as TMC's "for tests" key allows), with a rename on the mp4
hires='"path_head":"/up","path_tail":"/2024","subdir":true,"include":["*.jpg","*.png","*.mp4"]'
printf '{"hires":{"site":"site01",%s},"template":"template_site01"}\n' "$hires" >"$T_DIR/j1.json"
printf '{"hires":{"site":"site02",%s,"rename":{"clip":"movie"}},"template":"template_site02","target":{"root":"%s"}}\n' \
	"$hires" "$DATA/site01" >"$T_DIR/j2.json"
S1=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/j1.json" 2>>"$T_DIR/submit.err" | tail -1)
S2=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/j2.json" 2>>"$T_DIR/submit.err" | tail -1)
# a hang guard only (the two jobs take seconds on an idle machine), cut
# short when the daemon refused the configuration
jobs_done() { [ -e "$SPOOL/done/$S1" ] && [ -e "$SPOOL/done/$S2" ]; }
wait_for 150 eval 'jobs_done || ! kill -0 $DAEMON'
jobs_done
ok $? "both jobs finish: template_site01 ($S1) and template_site02 ($S2)"

"$TMC_SRC/tests/lib/tmc-expect.py" "$TPL" template_site01 "$DATA/site01" /2024 '' \
	<"$T_DIR/originals" >"$T_DIR/want1"
"$TMC_SRC/tests/lib/tmc-expect.py" "$TPL" template_site02 "$DATA/site01" /2024 '{"clip":"movie"}' \
	<"$T_DIR/originals" >"$T_DIR/want2"
# size_of FILE: "W H" of an image (gm) or a video (ffprobe)
size_of() {
	case $1 in
	*.mp4) probe "$1" stream=width,height v:0 | tr '\n' ' ' | sed 's/ $//' ;;
	*) gm identify -format '%w %h' "$1" 2>/dev/null ;;
	esac
}
for n in 1 2; do
	sub=site0$n
	awk -F '\t' '$1 == "out" { print $2 }' "$T_DIR/want$n" | sort >"$T_DIR/paths$n"
	find "$DATA/site01/$sub" -type f | sort >"$T_DIR/got$n"
	diff "$T_DIR/paths$n" "$T_DIR/got$n" >"$T_DIR/diff$n"
	ok $? "template_$sub: every output TMC writes, at TMC's path, and nothing else ($(wc -l <"$T_DIR/paths$n") files)"
	sed 's/^/#   /' "$T_DIR/diff$n"
	bad=0
	while IFS=$'\t' read -r _ path w h; do
		got=$(size_of "$path")
		[ "$got" = "$w $h" ] || { diag "$path: $got, TMC's size is $w $h"; bad=1; }
	done < <(grep '^out' "$T_DIR/want$n")
	ok $bad "template_$sub: every output has TMC's pixel size"
	awk -F '\t' '$1 == "row" { print $2 "\t" $3 "\t" $4 "\t" $5 }' "$T_DIR/want$n" | sort >"$T_DIR/rows$n"
	S=$([ $n = 1 ] && echo "$S1" || echo "$S2")
	sort "$SPOOL/done/$S.result" 2>/dev/null | diff "$T_DIR/rows$n" - >"$T_DIR/rdiff$n"
	ok $? "template_$sub: done/$S.result has one row per original: requested = count(proc), created, no warning"
	sed 's/^/#   /' "$T_DIR/rdiff$n"
done

bad=0
for f in $(grep -h '^out' "$T_DIR/want1" "$T_DIR/want2" | cut -f2 | grep '\.jpg$'); do
	g=$(gm identify -format '%m %r' "$f" 2>/dev/null)
	[ "$g" = "JPEG TrueColor" ] || { diag "$f: $g"; bad=1; }
done
ok $bad "every image output is an RGB JPEG, the CMYK original's included"

# differ A B: the mean absolute error between two pictures of one size is
# more than 1% (the watermark covers the middle of the picture)
differ() {
	gm compare -metric mae "$1" "$2" 2>/dev/null |
		awk '/Total:/ { exit !($2 > 0.01) } END { if (NR == 0) exit 1 }'
}
bad=0
for sub in site01 site02; do
	for f in camera cmyk sub/alpha; do
		differ "$DATA/site01/$sub/Preview/2024/$f.jpg" "$DATA/site01/$sub/PreviewNoWatermark/2024/$f.jpg" ||
			{ diag "$sub $f: Preview is PreviewNoWatermark"; bad=1; }
	done
done
ok $bad "image Preview steps (watermark) differ from their PreviewNoWatermark source"
frame_rgb "$DATA/site01/site01/Preview/2024/clip.mp4" 1 "$T_DIR/wm.rgb"
frame_rgb "$DATA/site01/site01/PreviewNoWatermark/2024/clip.mp4" 1 "$T_DIR/nowm.rgb"
python3 - "$T_DIR/wm.rgb" "$T_DIR/nowm.rgb" <<'PY'
import sys
a, b = (open(p, 'rb').read() for p in sys.argv[1:3])
sys.exit(0 if len(a) == len(b) > 0 and sum(x != y for x, y in zip(a, b)) > len(a) // 100 else 1)
PY
ok $? "the mp4 Preview (watermark) differs from the mp4 PreviewNoWatermark"

# TMC flattened a PNG onto config/16X16.png tiled: its transparent corner
# is that light checkerboard, not black
c=$(pixel "$DATA/site01/site01/Origin/2024/sub/alpha.jpg" 1 1)
echo "$c" | awk '{ exit !($1 > 180 && $2 > 180 && $3 > 180) }'
ok $? "the PNG's transparent corner lies on TMC's checkerboard (got $c)"

# template_site02's ThumbV step: TMC's curl callback, a GET per saved file,
# %file% = the renamed relative path with the source's extension
want_cb=$(printf '%s\n' /camera.jpg /cmyk.jpg /movie.mp4 /sub/alpha.png)
wait_for 60 eval '[ "$(grep -c tmc_callback "$T_DIR/receiver.log" 2>/dev/null)" -ge 4 ]'
got_cb=$(jq -r 'select(.path | startswith("/ok/tmc_callback.php")) | .path' "$T_DIR/receiver.log" 2>/dev/null |
	python3 -c 'import sys, urllib.parse as u
for l in sys.stdin: print(u.unquote(u.parse_qs(u.urlsplit(l.strip()).query, keep_blank_values=True).get("file", [""])[0]))' |
	sort)
is "$got_cb" "$want_cb" "the per-step callback: one GET per saved ThumbV file, %file% as TMC made it"
bodies=$(jq -r 'select(.path | startswith("/ok/tmc_callback.php")) | .body | length' \
	"$T_DIR/receiver.log" 2>/dev/null | sort -u | tr '\n' ' ')
is "$bodies" "0 " "... each with no body (a GET)"

is "$(find "$SPOOL/err" "$SPOOL"/stages/*/*/err -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" 0 \
	"nothing in err/"
stop_daemon
is "$DAEMON_RC" 0 "the daemon stops cleanly"
