#!/bin/bash
# tmc-image: ICC colour. A CMYK JPEG (untagged, or with its own profile) goes
# through the site's CMYK profile to sRGB and comes out RGB with the right
# colour; an Adobe RGB JPEG is converted to sRGB; strip removes EXIF and
# comments but keeps the ICC profile; no profile configured, or a listed one
# missing, is TMC's warning and the output is still made (and never CMYK).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 16

SRGB=$(icc srgb) CMYK=$(icc cmyk) ADOBE=$(icc adobergb)
if [ -z "$SRGB" ] || [ -z "$CMYK" ] || [ -z "$ADOBE" ]; then
	for i in $(seq 16); do echo "ok $i # skip no ICC profiles (install libgs-common)"; done
	exit 0
fi
TPL='{ "color": { "proc": [
  {"name":"C","source":"hires","size":[32,32],"strip":true,"cmyk":true,"srgb":true,"path_head":"/c"},
  {"name":"C2","source":"C","size":[16,16],"strip":true,"cmyk":true,"srgb":true,"path_head":"/c2"},
  {"name":"NoStrip","source":"hires","size":[32,32],"strip":false,"cmyk":true,"srgb":true,"path_head":"/nostrip"}
] } }'
image_config "$TPL" '"cmyk": ["cmyk.icc"], "srgb": ["sRGB.icc"]' '' \
	", \"bare\": { \"root\": \"$SITE\" }, \"missing\": { \"root\": \"$SITE\", \"cmyk\": [\"nope.icc\"], \"srgb\": [\"sRGB.icc\"] }"
cp "$CMYK" "$T_DIR/conf/cmyk.icc"
cp "$SRGB" "$T_DIR/conf/sRGB.icc"
cp "$CMYK" "$T_DIR/conf/nope.icc" # check wants it at start; removed below while running

in=$SITE/in
want="200 120 60"
gm convert -size 64x64 "xc:rgb(200,120,60)" -profile "$SRGB" -profile "$CMYK" -quality 95 "$in/cmykt.jpg"
gm convert "$in/cmykt.jpg" +profile '*' "$in/cmyk.jpg"
gm convert -size 64x64 "xc:rgb(200,120,60)" -profile "$SRGB" -profile "$ADOBE" -quality 95 "$in/adobe.jpg"
gm convert -size 64x64 "xc:rgb(200,120,60)" -profile "$SRGB" -comment 'secret comment' "$T_DIR/m.jpg"
python3 "$TMC_SRC/tests/lib/exif-orient.py" "$T_DIR/m.jpg" "$in/meta.jpg" 1
for f in cmyk cmykt; do cp "$in/$f.jpg" "$in/${f}2.jpg"; done

run_items color 12 /cmyk.jpg /cmykt.jpg /adobe.jpg /meta.jpg
ok $? "every step reported"

is "$(geom "$SITE/c/cmyk.jpg" | cut -d' ' -f3,4)" "JPEG TrueColor" "untagged CMYK comes out RGB"
c=$(pixel "$SITE/c/cmyk.jpg" 10 10)
near "$c" "$want" 12
ok $? "untagged CMYK through the site's CMYK profile: colour right (got $c, want $want)"
c=$(pixel "$SITE/c/cmykt.jpg" 10 10)
near "$c" "$want" 12
ok $? "CMYK with its own profile: colour right (got $c)"
c=$(pixel "$SITE/c2/cmyk.jpg" 5 5)
near "$c" "$want" 12
ok $? "a chained step keeps the colour (got $c)"
naive=$(gm convert "$in/cmyk.jpg" -colorspace RGB -crop 1x1+10+10 -depth 8 txt:- | sed -n 's/^[^(]*( *\([0-9]*\), *\([0-9]*\), *\([0-9]*\).*/\1 \2 \3/p')
near "$naive" "$want" 12
ok $((! $?)) "the check can fail: a naive CMYK->RGB gives $naive"
c=$(pixel "$SITE/c/adobe.jpg" 10 10)
near "$c" "$want" 8
ok $? "Adobe RGB with its profile converted to sRGB (got $c)"
raw=$(gm convert "$in/adobe.jpg" +profile '*' -crop 1x1+10+10 -depth 8 txt:- | sed -n 's/^[^(]*( *\([0-9]*\), *\([0-9]*\), *\([0-9]*\).*/\1 \2 \3/p')
near "$raw" "$want" 8
ok $((! $?)) "the check can fail: the Adobe RGB values themselves are $raw"
is "$(gm identify -format '%c' "$SITE/c/meta.jpg" | tr -d '\n')" "" "strip removes the comment"
is "$(gm identify -format '%[EXIF:Orientation]' "$SITE/c/meta.jpg" | tr -d '\n')" "" "strip removes EXIF"
gm identify -verbose "$SITE/c/meta.jpg" | grep -qi 'Profile-color'
ok $? "strip keeps the ICC profile"
is "$(gm identify -format '%c' "$SITE/nostrip/meta.jpg" | tr -d '\n')" "secret comment" "strip:false keeps the comment"

conf_freeze
rm "$T_DIR/conf/nope.icc"
printf '/cmyk2.jpg\n' | enqueue_site color bare b >/dev/null
printf '/cmykt2.jpg\n' | enqueue_site color missing m >/dev/null
wait_results 18
r=$(result_id b000001 C)
case $r in "1 1 "*CMYK*) ok 0 "no CMYK profile configured: output made, one warning ($r)" ;;
*) ok 1 "no CMYK profile configured: output made, one warning ($r)" ;; esac
is "$(find "$SITE/c" -name cmyk2.jpg -exec gm identify -format '%r' {} \;)" "TrueColor" \
	"without a profile the output is still RGB, never CMYK"
r=$(result_id m000001 C)
case $r in "1 1 "*nope.icc*) ok 0 "a listed profile file missing: output made, warning names it" ;;
*) ok 1 "a listed profile file missing: output made, warning names it ($r)" ;; esac
c=$(pixel "$SITE/c/cmykt2.jpg" 10 10)
near "$c" "$want" 12
ok $? "and the image's own CMYK profile still gives the right colour (got $c)"
stop_daemon
