#!/bin/bash
# tmc-image: existing outputs. overwrite:false leaves the file alone but
# still hands pixels to later steps; overwrite:true replaces it atomically;
# skipsamesize skips a write whose encoded size equals the existing file's;
# save:false never touches a file at its path (TMC deleted it); force_dir
# creates folders, and force_dir:false with a missing folder is TMC's
# warning, not a failure.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 12

image_config '{ "ow": { "proc": [
  {"name":"N","source":"hires","size":[100,100],"overwrite":false,"path_head":"/n"},
  {"name":"C","source":"N","size":[50,50],"path_head":"/c"},
  {"name":"O","source":"hires","size":[100,100],"overwrite":true,"skipsamesize":false,"path_head":"/o"},
  {"name":"K","source":"hires","size":[100,100],"overwrite":true,"skipsamesize":true,"path_head":"/k"},
  {"name":"F","source":"hires","size":[100,100],"force_dir":false,"path_head":"/f/missing"},
  {"name":"D","source":"hires","size":[100,100],"force_dir":true,"path_head":"/deep/er/still"},
  {"name":"NS","source":"hires","size":[60,60],"save":false,"overwrite":true,"path_head":"/ns"}
] } }' '' '"skipsamesize": true,'
gm convert -size 400x300 plasma:fractal -quality 95 "$SITE/in/x.jpg"
mkdir -p "$SITE/n" "$SITE/o" "$SITE/ns" "$SITE/f"
for d in n o ns; do echo "old $d" >"$SITE/$d/x.jpg"; done

run_items ow 7 /x.jpg
ok $? "every step reported"
is "$(cat "$SITE/n/x.jpg")" "old n" "overwrite:false leaves the existing output alone"
is "$(geom "$SITE/c/x.jpg" | cut -d' ' -f1,2)" "50 38" "and still hands its pixels to the next step"
is "$(geom "$SITE/o/x.jpg" | cut -d' ' -f1-3)" "100 75 JPEG" "overwrite:true replaces the output"
is "$(cat "$SITE/ns/x.jpg")" "old ns" "save:false does not touch a file at its path"
is "$(find "$SITE/f" -type f | wc -l)" 0 "force_dir:false and a missing folder: nothing written"
r=$(result /x.jpg F)
case $r in "0 1 "*force_dir*) ok 0 "and one warning that says why" ;; *) ok 1 "and one warning ($r)" ;; esac
is "$(geom "$SITE/deep/er/still/x.jpg" | cut -d' ' -f1,2)" "100 75" "force_dir creates missing folders"

ino_k=$(stat -c %i "$SITE/k/x.jpg") ino_o=$(stat -c %i "$SITE/o/x.jpg")
echo /x.jpg | enqueue_site ow site01 r >/dev/null
wait_results 14
ok $? "second run reported"
is "$(stat -c %i "$SITE/k/x.jpg")" "$ino_k" "skipsamesize: same encoded size, the file is not rewritten"
r=$(result_id r000001 K)
is "${r% }" "0 0" "a same-size skip is neither created nor a warning"
isnt_same=$([ "$(stat -c %i "$SITE/o/x.jpg")" != "$ino_o" ] && echo replaced)
is "$isnt_same" "replaced" "skipsamesize:false rewrites it (a new file renamed into place)"
stop_daemon
