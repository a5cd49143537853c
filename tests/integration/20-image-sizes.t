#!/bin/bash
# tmc-image: TMC's size rules (box, one side, keep, enlarge and not), EXIF
# orientation before resizing, JPEG quality (comp, inherited down the chain),
# progressive JPEG, PNG and WebP outputs, save:false feeding a later step,
# and later steps made from the pixels handed on, not from a re-decode.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 25

image_config '{ "sizes": { "proc": [
  {"name":"Box","source":"hires","size":[100,100],"path_head":"/box"},
  {"name":"W","source":"hires","size":[50,0],"path_head":"/w"},
  {"name":"H","source":"hires","size":[0,40],"path_head":"/h"},
  {"name":"Keep","source":"hires","size":[0,0],"strip":false,"path_head":"/keep"},
  {"name":"Big","source":"hires","size":[1000,1000],"path_head":"/big"},
  {"name":"NoEnl","source":"hires","size":[1000,1000],"enlarge":false,"path_head":"/noenl"},
  {"name":"Q","source":"Box","size":[80,80],"comp":60,"path_head":"/q"},
  {"name":"Prog","source":"Q","size":[60,60],"progressive":true,"path_head":"/prog"},
  {"name":"Png","source":"Box","size":[0,0],"format":"png","path_head":"/png"},
  {"name":"Webp","source":"Box","size":[0,0],"format":"webp","path_head":"/webp"},
  {"name":"Hidden","source":"hires","size":[70,70],"save":false,"path_head":"/hidden"},
  {"name":"FromHidden","source":"Hidden","size":[30,30],"path_head":"/fromhidden"}
] } }'

in=$SITE/in
gm convert -size 400x300 xc:red -fill blue -draw 'rectangle 0,0 99,74' -quality 90 "$in/land.jpg"
gm convert -size 300x400 xc:green "$in/port.png"
# stored 300x200 with a blue top-left corner; EXIF says "rotate 90 clockwise"
gm convert -size 300x200 xc:red -fill blue -draw 'rectangle 0,0 59,39' "$T_DIR/o.jpg"
python3 "$TMC_SRC/tests/lib/exif-orient.py" "$T_DIR/o.jpg" "$in/o6.jpg" 6

for e in tif bmp webp; do gm convert -size 400x300 xc:orange "$in/f-$e.$e"; done

run_items sizes 72 /land.jpg /port.png /o6.jpg /f-tif.tif /f-bmp.bmp /f-webp.webp
ok $? "every step reported for 6 originals"

is "$(geom "$SITE/box/land.jpg")" "100 75 JPEG TrueColor" "[100,100] fits a landscape inside the box"
is "$(geom "$SITE/box/port.jpg")" "75 100 JPEG TrueColor" "a PNG original comes out as JPEG named .jpg"
is "$(geom "$SITE/w/land.jpg" | cut -d' ' -f1,2)" "50 38" "[50,0] constrains the width only (37.5 rounds up)"
is "$(geom "$SITE/h/land.jpg" | cut -d' ' -f1,2)" "53 40" "[0,40] constrains the height only"
is "$(geom "$SITE/keep/land.jpg" | cut -d' ' -f1,2)" "400 300" "[0,0] keeps the size"
is "$(geom "$SITE/big/land.jpg" | cut -d' ' -f1,2)" "1000 750" "smaller images are enlarged by default (TMC)"
is "$(geom "$SITE/noenl/land.jpg" | cut -d' ' -f1,2)" "400 300" "enlarge:false keeps a smaller image's size"
is "$(geom "$SITE/box/o6.jpg" | cut -d' ' -f1,2)" "67 100" "EXIF orientation 6 is applied before the box fit"
c=$(pixel "$SITE/box/o6.jpg" 60 3)
near "$c" "0 0 255" 40
ok $? "rotated: the blue corner is now top right (got $c)"
is "$(gm identify -format '%[EXIF:Orientation]' "$SITE/keep/o6.jpg" 2>/dev/null)" "1" \
	"the EXIF orientation tag kept in the output says 1"
is "$(gm identify -format '%Q' "$SITE/q/land.jpg")" "60" "comp 60 sets the JPEG quality"
is "$(gm identify -format '%Q' "$SITE/prog/land.jpg")" "60" "a step without comp inherits its source's quality"
od -An -tx1 -v "$SITE/prog/land.jpg" | tr -d '\n' | grep -q 'ff c2'
ok $? "progressive:true writes a progressive JPEG (SOF2)"
od -An -tx1 -v "$SITE/q/land.jpg" | tr -d '\n' | grep -q 'ff c2'
ok $((! $?)) "the default is baseline"
is "$(geom "$SITE/png/land.png")" "100 75 PNG TrueColor" "format png writes .png"
is "$(geom "$SITE/webp/land.webp" | cut -d' ' -f1-3)" "100 75 WEBP" "format webp writes .webp"
is "$(find "$SITE/hidden" -type f 2>/dev/null | wc -l)" 0 "save:false writes nothing"
is "$(geom "$SITE/fromhidden/land.jpg" | cut -d' ' -f1,2)" "30 23" "a step reads a save:false step's pixels"
c=$(pixel "$SITE/q/land.jpg" 5 5)
near "$c" "0 0 255" 40
ok $? "a chained step shows its source's content (got $c)"
is "$(result /land.jpg Q | cut -d' ' -f1,2)" "1 0" "result line: created 1, warnings 0"
for e in tif bmp webp; do
	c=$(pixel "$SITE/box/f-$e.jpg" 50 30)
	is "$(geom "$SITE/box/f-$e.jpg" | cut -d' ' -f1-3) $(near "$c" "255 165 0" 12 && echo orange)" \
		"100 75 JPEG orange" "$e original read"
done
is "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)$(spool_items "$SPOOL" err)" 000 \
	"nothing left in new/, cur/ or err/"
stop_daemon
