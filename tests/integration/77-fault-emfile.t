#!/bin/bash
# Out of descriptors (EMFILE) is a fault of the machine: strace makes openat
# fail with EMFILE for a bounded run of calls of each running stage (ticket
# opens, output files, reason files, folder reads), so the limit clears by
# itself. No item goes to err/ (none without a reason), and every item
# completes once it clears, with no restart.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/fault.sh"
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root (strace fault injection, as CI)"; exit 0; fi
command -v strace >/dev/null || { echo "1..0 # SKIP no strace"; exit 0; }
plan 6
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
