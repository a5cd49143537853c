#!/bin/bash
# tmc-image: transparency onto TMC's 16X16.png checkerboard for JPEG (white
# when the tile is missing), alpha kept for PNG, GIF first frame, grayscale
# and 16-bit inputs, the watermark centred and scaled down to fit, a missing
# watermark as TMC's warning, and a later step starting from the earlier
# step's finished pixels (the watermark is already in them).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 19

TPL='{ "alpha": { "proc": [
  {"name":"J","source":"hires","size":[100,100],"path_head":"/j"},
  {"name":"P","source":"hires","size":[100,100],"format":"png","path_head":"/p"},
  {"name":"WM","source":"hires","size":[200,200],"watermark":true,"path_head":"/wm"},
  {"name":"Prev","source":"WM","size":[100,100],"path_head":"/prev"}
] } }'
image_config "$TPL" '"watermark": "wm.png"' '' \
	", \"plain\": { \"root\": \"$SITE\" }, \"wide\": { \"root\": \"$SITE\", \"watermark\": \"wide.png\" }, \"gone\": { \"root\": \"$SITE\", \"watermark\": \"gone.png\" }"
conf=$T_DIR/conf in=$SITE/in
gm convert -size 16x16 xc:white -fill '#E8E8E8' -draw 'rectangle 0,0 7,7' -draw 'rectangle 8,8 15,15' "$conf/16X16.png"
gm convert -size 50x20 xc:blue "$conf/wm.png"
gm convert -size 300x100 xc:lime "$conf/wide.png"
cp "$conf/wm.png" "$conf/gone.png" # check wants it at start; removed below while running
gm convert -size 200x100 xc:transparent -fill red -draw 'rectangle 100,0 199,99' "$in/alpha.png"
gm convert -size 90x60 xc:green -fill yellow -draw 'rectangle 0,0 44,59' "$T_DIR/f1.gif"
gm convert -size 90x60 xc:purple "$T_DIR/f2.gif"
gm convert "$T_DIR/f1.gif" "$T_DIR/f2.gif" -adjoin "$in/anim.gif"
gm convert -size 120x80 gradient:white-black -depth 16 "$in/g16.png"
gm convert -size 120x80 gradient:white-black -colorspace gray "$in/gray.jpg"
gm convert -size 400x300 xc:red "$in/land.jpg"
for s in plain wide gone; do cp "$in/land.jpg" "$in/$s.jpg"; done

run_items alpha 20 /alpha.png /anim.gif /g16.png /gray.jpg /land.jpg
ok $? "every step reported"
c=$(pixel "$SITE/j/alpha.jpg" 2 2)
near "$c" "232 232 232" 6
ok $? "transparent area on the checkerboard's grey cell (got $c)"
c=$(pixel "$SITE/j/alpha.jpg" 12 2)
near "$c" "255 255 255" 6
ok $? "and on its white cell (got $c)"
c=$(pixel "$SITE/j/alpha.jpg" 80 25)
near "$c" "254 0 0" 12
ok $? "opaque area unchanged (got $c)"
is "$(gm identify -format '%A' "$SITE/p/alpha.png")" "true" "PNG output keeps the alpha channel"
is "$(gm identify -format '%m %w %h' "$SITE/j/anim.jpg")" "JPEG 100 67" "GIF: one JPEG"
c=$(pixel "$SITE/j/anim.jpg" 10 30)
near "$c" "255 255 0" 12
ok $? "GIF: the first frame (got $c)"
is "$(gm identify -format '%w %h %q %r' "$SITE/j/g16.jpg")" "100 67 8 Grayscale" "16-bit PNG: 8-bit output"
is "$(gm identify -format '%w %h %r' "$SITE/j/gray.jpg")" "100 67 Grayscale" "grayscale JPEG stays grayscale"
c=$(pixel "$SITE/wm/land.jpg" 100 75)
near "$c" "0 0 255" 12
ok $? "watermark centred (got $c)"
c=$(pixel "$SITE/wm/land.jpg" 5 5)
near "$c" "254 0 0" 12
ok $? "image outside the watermark unchanged (got $c)"
c=$(pixel "$SITE/prev/land.jpg" 50 37)
near "$c" "0 0 255" 20
ok $? "Prev (from WM) starts from WM's pixels: the watermark is in it (got $c)"
is "$(result /land.jpg WM | cut -d' ' -f1,2)" "1 0" "watermark step: created, no warning"

conf_freeze
rm "$conf/gone.png"
printf '/plain.jpg\n' | enqueue_site alpha plain a >/dev/null
printf '/wide.jpg\n' | enqueue_site alpha wide b >/dev/null
printf '/gone.jpg\n' | enqueue_site alpha gone c >/dev/null
wait_results 32
r=$(result_id a000001 WM)
case $r in "1 1 "*atermark*) ok 0 "no watermark configured: output made, one warning" ;;
*) ok 1 "no watermark configured: output made, one warning ($r)" ;; esac
r=$(result_id c000001 WM)
case $r in "1 1 "*gone.png*) ok 0 "watermark file missing: output made, warning names it" ;;
*) ok 1 "watermark file missing: output made, warning names it ($r)" ;; esac
c=$(pixel "$SITE/wm/wide.jpg" 3 75)
near "$c" "0 255 0" 12
ok $? "a watermark wider than the image is scaled down to its width (got $c)"
c=$(pixel "$SITE/wm/wide.jpg" 3 3)
near "$c" "254 0 0" 12
ok $? "keeping its aspect ratio (got $c)"

rm "$conf/16X16.png"
cp "$in/alpha.png" "$in/alpha2.png"
printf '/alpha2.png\n' | enqueue_site alpha site01 d >/dev/null
wait_results 36
c=$(pixel "$SITE/j/alpha2.jpg" 2 2)
near "$c" "255 255 255" 6
ok $? "without 16X16.png transparency becomes white (got $c)"
is "$(spool_items "$SPOOL" err)" 0 "nothing in err/"
stop_daemon
