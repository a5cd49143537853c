#!/bin/bash
# tmc-image: bad inputs and bad destinations. Each fails its item (err/ with
# a reason naming the file) while the stage keeps running and every good
# item flows: truncated JPEG (with "truncated": "error"; the default writes
# it with a warning: 26-image-truncated.t), empty file, text named .jpg, PNG decompression
# bomb, unsupported formats (PPM, SVG), a FIFO and a symlink as source, an
# output folder that is a file, a symlink in the output path, and an output
# name that climbs out of the site root.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 18

image_config '{ "bad": { "proc": [
  {"name":"B","source":"hires","size":[100,100],"path_head":"/b"},
  {"name":"B2","source":"B","size":[50,50],"path_head":"/b2"}
] } }' "" '"truncated": "error",'
in=$SITE/in
mkdir -p "$in/sub" "$SITE/b" "$T_DIR/elsewhere"
gm convert -size 400x300 plasma:fractal -quality 95 "$T_DIR/p.jpg"
cp "$T_DIR/p.jpg" "$in/good1.jpg"
head -c $(($(stat -c %s "$T_DIR/p.jpg") / 2)) "$T_DIR/p.jpg" >"$in/trunc.jpg"
: >"$in/zero.jpg"
echo "this is not an image" >"$in/text.jpg"
python3 - "$in/bomb.png" <<'PY'
import struct, sys, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
w = h = 100000  # 10 gigapixels declared, a few kB on disk
raw = zlib.compress(b'\0' * (w + 1) * 64, 9)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                              + chunk(b'IDAT', raw) + chunk(b'IEND', b''))
PY
gm convert -size 20x20 xc:red "$in/img.ppm"
printf '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>' >"$in/x.svg"
mkfifo "$in/fifo.jpg"
ln -s "$T_DIR/p.jpg" "$in/link.jpg"
cp "$T_DIR/p.jpg" "$in/sub/u.jpg"
echo "a file where the output folder should be" >"$SITE/b/sub"
cp "$T_DIR/p.jpg" "$in/s.jpg"
ln -s "$T_DIR/elsewhere" "$SITE/b/lnk"
mkdir -p "$in/lnk"
cp "$T_DIR/p.jpg" "$in/lnk/s.jpg"
cp "$T_DIR/p.jpg" "$SITE/esc.jpg"
cp "$T_DIR/p.jpg" "$in/good2.jpg"

# ids are t000001.. in this order
list="/good1.jpg /trunc.jpg /zero.jpg /text.jpg /bomb.png /img.ppm /x.svg /fifo.jpg /link.jpg
/sub/u.jpg /lnk/s.jpg /../esc.jpg /good2.jpg"
run_items bad 15 $list
ok $? "every item reported"
# the result line is written just before the item moves to err/ with its reason
reason() {
	wait_for 30 test -e "$SPOOL/stages/bad/00-B/err/$1/reason"
	cat "$SPOOL/stages/bad/00-B/err/$1/reason" 2>/dev/null
}
has() { # has ID PATTERN LABEL
	local r
	r=$(reason "$1")
	case $r in *$2*) ok 0 "$3" ;; *) ok 1 "$3"; diag "reason: '$r'" ;; esac
}
has t000002 "trunc.jpg: Premature end" "truncated JPEG: err/, reason names the file"
has t000003 "zero.jpg: empty file" "zero-byte file: err/"
has t000004 "text.jpg: unsupported format" "text named .jpg: err/, unsupported format"
has t000005 "bomb.png: 100000x100000 PNG" "PNG bomb: refused from its header"
has t000005 "over the limit" "PNG bomb: the reason says why"
has t000006 "img.ppm: unsupported format" "PPM: unsupported"
has t000007 "x.svg: unsupported format" "SVG: unsupported, never handed to a delegate"
has t000008 "not a regular file" "a FIFO as source is refused without blocking"
has t000009 "symbolic link" "a symlink as source is refused"
has t000010 "cannot write" "output folder is a file: err/, cannot write"
has t000011 "symbolic link in the output path" "symlink in the output path: refused"
has t000012 'climbs out' "output name with .. refused"
is "$(find "$T_DIR/elsewhere" -type f | wc -l)" 0 "nothing written through the symlink"
is "$(geom "$SITE/b/good1.jpg" | cut -d' ' -f1,2) $(geom "$SITE/b2/good1.jpg" | cut -d' ' -f1,2)" \
	"100 75 50 38" "a good file before the bad ones went through both steps"
is "$(geom "$SITE/b2/good2.jpg" | cut -d' ' -f1,2)" "50 38" "a good file after them too"
is "$(find "$SITE" -name '.*' -type f | wc -l)" 0 "no temporary output left behind"
cp "$T_DIR/p.jpg" "$in/good3.jpg"
echo /good3.jpg | enqueue_site bad site01 u >/dev/null
wait_for 30 test -e "$SITE/b2/good3.jpg"
ok $? "the stage is still running: a later item flows"
stop_daemon
