#!/bin/bash
# Out of descriptors (EMFILE) is a fault of the machine: strace makes openat
# fail with EMFILE for a bounded run of calls of each running stage (ticket
# opens, output files, reason files, folder reads), so the limit clears by
# itself. No item goes to err/ (none without a reason), and every item
# completes once it clears, with no restart. A tmc-image worker carrying an
# item on (tmcwatch-spool(5), Carrying an item on) that cannot open it in
# the successor's cur/ (EMFILE) delivers it to new/ for that stage's
# workers instead of leaving it in cur/ held by nobody.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/fault.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root (strace fault injection, as CI)"; exit 0; fi
command -v strace >/dev/null || { echo "1..0 # SKIP no strace"; exit 0; }
plan 9
N=30

write_config "$COPY3" '"max_attempts": 2, "retry_delay": 1,'
make_inputs $N
chain_spool
stage_start 0 'openat:error=EMFILE:when=20..80+2'
stage_start 1 'openat:error=EMFILE:when=20..60+3' 'dup:error=EMFILE:when=3..9+2'
stage_start 2 'openat:error=ENFILE:when=20..70'
enqueue chain <"$T_DIR/list" >/dev/null
wait_files "$SITE/out3" $N 180
ok $? "all $N items reached the last step once the descriptors came back"
wait_for 60 eval '[ "$(spool_leftovers)" = 0000 ]'
is "$(spool_leftovers)" 0000 "nothing in err/, nothing stranded in new/ cur/ or tmp/"
is "$(err_without_reason)" 0 "no err/ entry without a reason"
i0=$(injected 0) i1=$(injected 1) i2=$(injected 2)
[ "$i0" -ge 10 ] && [ "$i1" -ge 10 ] && [ "$i2" -ge 10 ]
ok $? "EMFILE/ENFILE was injected into every stage ($i0, $i1, $i2 calls)"
outputs_match out3 && stages_alive
ok $? "every output byte for byte; no stage died or was restarted"
grep -q 'out-of-fds: ' "$T_DIR/tmcwatch.log"
ok $? "the fault was noted as out-of-fds in the log"

# --- carrying on: the open in the successor's cur/ fails with EMFILE ---
kill "${STAGE_PID[@]}"
wait "${STAGE_PID[@]}" 2>/dev/null
rm -rf "$SPOOL"
image_config '{ "two": { "proc": [
  {"name": "A", "source": "hires", "size": [300, 300], "path_head": "/a"},
  {"name": "B", "source": "A", "size": [100, 100], "path_head": "/b"} ] } }'
gm convert -size 600x400 plasma:red-blue "$SITE/in/p.jpg"
chain_spool
img_start() { # img_start STEP: a bare tmc-image of template two
	"$BIN/tmc-image" -c "$CONF" -t "$T_DIR/conf/template.json" -T two -s "$1" \
		>/dev/null 2>>"$T_DIR/img.$1.err" &
	T_PIDS="$T_PIDS $!"
	IMG_PID=$!
	wait_for 30 grep -q ': started$' "$T_DIR/img.$1.err"
}
img_start 0
B_CUR=$(echo "$SPOOL"/stages/two/01-*/cur)
# only the calls on B's cur/ are traced: the first is handon_open's
strace -f -qq -p "$IMG_PID" -o "$T_DIR/strace.carry" -P "$B_CUR" -e trace=openat \
	-e inject=openat:error=EMFILE:when=1 2>>"$T_DIR/strace.carry.err" &
T_PIDS="$T_PIDS $!"
wait_for 30 eval "grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$IMG_PID/status"
echo /p.jpg | enqueue_site two site01 c >/dev/null
wait_for 60 grep -q INJECTED "$T_DIR/strace.carry"
ok $? "EMFILE injected into the open of the carried item in B's cur/"
wait_for 30 eval '[ "$(spool_items "$SPOOL" new)" = 1 ]'
is "$(spool_items "$SPOOL" new):$(spool_items "$SPOOL" cur)" 1:0 \
	"the item was delivered to B's new/, not left in cur/ unheld"
img_start 1
wait_for 60 test -s "$SITE/b/p.jpg"
ok $? "a worker of B took it from new/ and wrote its output"
