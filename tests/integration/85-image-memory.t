#!/bin/bash
# tmc-image: imagick_mem is a promise. With imagick_mem [32, 64], the peak
# resident set (VmHWM) of every tmc-image stays within 32 MiB plus the
# documented overhead (tmc-image(8), MEMORY) while it makes correct
# thumbnails of a 64 MP PNG (512 MB of pixel cache: spilled to disk files
# under the spool) and of a 7.8 MP one (63 MB: TMC's "map = 2 x memory" used
# to map it into the process). An interlaced PNG whose decoder needs a
# whole-image buffer over the limit fails for good, with a reason naming
# imagick_mem. No cache file is left behind.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 8

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
