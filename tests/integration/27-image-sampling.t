#!/bin/bash
# JPEG outputs are written as TMC's imagick wrote them (doc/TMC.md, Step
# options): with the original's chroma sampling (4:2:0 for an original that
# is no JPEG) whatever the quality, and the original's density, in the
# step that decodes the original and in the steps that read its pixels.
# The step key "sampling" chooses another one and "density" overrides the
# density, and a job's hires.density overrides both, as in TMC; `tmcwatch check` refuses a sampling or "truncated" it does not
# know.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 16

image_config '{ "samp": { "proc": [
  {"name":"A","source":"hires","size":[600,600],"path_head":"/a"},
  {"name":"B","source":"A","size":[300,300],"path_head":"/b"},
  {"name":"C","source":"hires","size":[600,600],"path_head":"/c","sampling":"4:4:4"},
  {"name":"D","source":"A","size":[300,300],"path_head":"/d","sampling":"4:2:2","density":96}
] } }'
in=$SITE/in
# quality 95 4:2:0: GraphicsMagick alone would write 4:4:4 from quality 90
gm convert -size 1200x900 plasma:fractal -sampling-factor 2x2 -quality 95 -density 300x300 \
	-units PixelsPerInch "$in/s420.jpg"
# quality 80 4:4:4: GraphicsMagick alone would write 4:2:0 below quality 90
gm convert -size 1200x900 plasma:fractal -sampling-factor 1x1 -quality 80 -density 150x150 \
	-units PixelsPerInch "$in/s444.jpg"
gm convert -size 1200x900 plasma:fractal "$in/p.png"
[ "$(gm identify -format '%[JPEG-Sampling-factors]' "$in/s420.jpg")" = 2x2,1x1,1x1 ] &&
	[ "$(gm identify -format '%[JPEG-Sampling-factors]' "$in/s444.jpg")" = 1x1,1x1,1x1 ]
ok $? "the originals are 4:2:0 and 4:4:4"

run_items samp 12 /s420.jpg /s444.jpg /p.png
ok $? "every step of every file reported"
sf() { gm identify -format '%[JPEG-Sampling-factors]' "$SITE/$1" 2>/dev/null | head -1; }
res() { gm identify -verbose "$SITE/$1" 2>/dev/null | sed -n 's/^ *Resolution: //p' | head -1; }
is "$(sf a/s420.jpg) $(sf b/s420.jpg)" "2x2,1x1,1x1 2x2,1x1,1x1" \
	"4:2:0 original at quality 95: its outputs are 4:2:0, the derived one too"
is "$(sf a/s444.jpg) $(sf b/s444.jpg)" "1x1,1x1,1x1 1x1,1x1,1x1" \
	"4:4:4 original at quality 80: its outputs are 4:4:4"
is "$(sf a/p.jpg) $(sf b/p.jpg)" "2x2,1x1,1x1 2x2,1x1,1x1" "a PNG original: 4:2:0, libjpeg's default"
is "$(sf c/s420.jpg) $(sf c/s444.jpg) $(sf c/p.jpg)" "1x1,1x1,1x1 1x1,1x1,1x1 1x1,1x1,1x1" \
	'"sampling": "4:4:4" gives 4:4:4'
is "$(sf d/s420.jpg) $(sf d/s444.jpg)" "2x1,1x1,1x1 2x1,1x1,1x1" '"sampling": "4:2:2" gives 4:2:2'
is "$(res a/s420.jpg) / $(res b/s420.jpg)" "300x300 pixels/inch / 300x300 pixels/inch" \
	"a 300 dpi original: 300 dpi outputs, the derived one too"
is "$(res b/s444.jpg)" "150x150 pixels/inch" "a 150 dpi original: 150 dpi derived output"
gm convert "$in/p.png" -resize 600x600 "$T_DIR/ref.jpg"
is "$(res a/p.jpg) / $(res b/p.jpg)" "$(res ../ref.jpg) / $(res ../ref.jpg)" \
	"an original without density: what gm convert gives it"
is "$(res d/s420.jpg)" "96x96 pixels/inch" '"density": 96 still overrides'
is "$(geom "$SITE/b/s420.jpg" | cut -d' ' -f1,2)" "300 225" "sizes as before"

mkdir -p "$SITE/j"
cp "$in/s420.jpg" "$SITE/j/x.jpg"
printf '{"hires": {"site": "site01", "path_head": "/j", "path_tail": "", "include": ["*.jpg"], "density": 200}, "template": "samp"}\n' \
	>"$T_DIR/j.json"
seq=$(submit "$T_DIR/j.json")
[ -n "$seq" ] && wait_done "$seq" 120
ok $? "a job with hires.density is done"
is "$(res a/x.jpg) / $(res b/x.jpg) / $(res d/x.jpg)" \
	"200x200 pixels/inch / 200x200 pixels/inch / 200x200 pixels/inch" \
	"hires.density 200: every output, over the original's and the step's density"
stop_daemon

bad_check() { # bad_check TEMPLATE_STEP_KEYS CONFIG_KEYS: check's stderr and exit code
	image_config "{ \"x\": { \"proc\": [ {\"name\":\"A\",\"source\":\"hires\",\"size\":[10,10],\"path_head\":\"/a\"$1} ] } }" "" "$2"
	"$BIN/tmcwatch" -c "$CONF" check 2>&1
	echo "rc=$?"
}
out=$(bad_check ', "sampling": "4:1:1"' "")
case $out in *sampling*4:2:0*rc=78) ok 0 "check refuses an unknown sampling" ;;
*) ok 1 "check refuses an unknown sampling"; diag "$out" ;; esac
out=$(bad_check "" '"truncated": "sometimes",')
case $out in *truncated*warn*error*rc=78) ok 0 "check refuses an unknown \"truncated\"" ;;
*) ok 1 "check refuses an unknown \"truncated\""; diag "$out" ;; esac
