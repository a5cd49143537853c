#!/bin/bash
# TMC's watchdog rules, read as TMC did (doc/TMC.md, Selection, Rename, Watchdog):
# - mindepth only made TMC descend at least that deep; it never excluded a
#   file, and files below it that changed in place were missed. Here every
#   depth is watched: depth 1 (directly in dir) with mindepth 2 is
#   converted, and an in-place change deep down is converted again.
# - include/exclude: fnmatch with flags 0 on "/rel": * crosses "/", the
#   match is case-sensitive.
# - rename: case-insensitive replace on the relative path, every
#   occurrence, in order; only output paths change, the result log keeps
#   the original name.
# Half of the files are there at start (found by the walk), half arrive
# later (found by events).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
plan 9

watch_config "$COPY1" '"mindepth": 2, "include": ["*.jpg", "/keep/*.png"],
  "exclude": ["*_l.jpg", "/skip/*"], "rename": {"_h.": ".", "SRC": "dst"}, "overwrite": true'
put() { mkdir -p "$(dirname "$SRC$1")" && echo "${2:-content of $1}" >"$SRC$1"; }
put /a.jpg
put /d1/b.jpg
put /d1/d2/d3/d4/c.jpg
put /x_l.jpg
put /keep/p.png
put /clip_h.jpg
start_watching
ok $? "daemon started, watcher ready"
put /skip/deep/e.jpg
put /other/p.png
put /A.JPG
put /SrcDir/s.jpg
put /srcdir2/t_h.jpg
put /d1/d2/d3/y_l.jpg
wait_results 7 60
wait_idle 20
sleep 1.5
out() { (cd "$SITE/out" && find . -type f | sed 's|^\.||' | sort | tr '\n' ' '); }
conv() { cut -f6 "$WLOG" | sort | tr '\n' ' '; }

is "$(conv)" "/SrcDir/s.jpg /a.jpg /clip_h.jpg /d1/b.jpg /d1/d2/d3/d4/c.jpg /keep/p.png /srcdir2/t_h.jpg " \
	"7 files selected; the result log names the originals"
check "mindepth 2: files at depth 1, 2 and 5 are converted" \
	eval 'cmp -s "$SRC/a.jpg" "$SITE/out/a.jpg" && cmp -s "$SRC/d1/b.jpg" "$SITE/out/d1/b.jpg" &&
	cmp -s "$SRC/d1/d2/d3/d4/c.jpg" "$SITE/out/d1/d2/d3/d4/c.jpg"'
check "include: /keep/*.png is, /other/p.png is not, *.jpg does not match A.JPG" \
	eval 'test -e "$SITE/out/keep/p.png" -a ! -e "$SITE/out/other/p.png" -a ! -e "$SITE/out/A.JPG"'
check "exclude: *_l.jpg at any depth and /skip/* (which crosses folders) are left alone" \
	eval 'test ! -e "$SITE/out/x_l.jpg" -a ! -e "$SITE/out/d1/d2/d3/y_l.jpg" -a ! -e "$SITE/out/skip/deep/e.jpg"'
is "$(out)" "/a.jpg /clip.jpg /d1/b.jpg /d1/d2/d3/d4/c.jpg /dstDir/s.jpg /dstdir2/t.jpg /keep/p.png " \
	"rename: _h. -> . and SRC -> dst (any case, folders too) in the output paths only"
check "renamed outputs have their originals' bytes" \
	eval 'cmp -s "$SRC/clip_h.jpg" "$SITE/out/clip.jpg" && cmp -s "$SRC/SrcDir/s.jpg" "$SITE/out/dstDir/s.jpg"'

# TMC missed in-place changes below mindepth; overwrite: true lets the copy replace
echo "changed in place" >>"$SRC/d1/d2/d3/d4/c.jpg"
wait_results 8 30
wait_idle 20
check "a file changed in place far below mindepth is converted again, with its new bytes" \
	cmp -s "$SRC/d1/d2/d3/d4/c.jpg" "$SITE/out/d1/d2/d3/d4/c.jpg"
sleep 1
is "$(results) $(result_dups)" "8 0" "and once"
stop_daemon
