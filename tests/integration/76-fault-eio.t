#!/bin/bash
# EIO is a fault of the machine: strace makes rename/renameat2 (claims,
# commits, finalizes, give-backs) and fsync (outputs, tickets) fail with EIO
# at several call indices of running stages. Every item still ends done:
# none in err/, none stranded in new/ cur/ tmp/, no stage restarted.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/fault.sh"
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root (strace fault injection, as CI)"; exit 0; fi
command -v strace >/dev/null || { echo "1..0 # SKIP no strace"; exit 0; }
plan 6
N=40

write_config "$COPY3" '"max_attempts": 2, "retry_delay": 1,'
make_inputs $N
chain_spool
stage_start 0 'renameat2:error=EIO:when=3..60+4' 'rename:error=EIO:when=2..30+5' \
	'renameat:error=EIO:when=2..30+5'
stage_start 1 'fsync:error=EIO:when=2..40+3' 'renameat2:error=EIO:when=5..60+6'
stage_start 2 'fsync:error=EIO:when=1..30+2' 'renameat:error=EIO:when=1..20+3' \
	'rename:error=EIO:when=1..20+3'
enqueue chain <"$T_DIR/list" >/dev/null
wait_files "$SITE/out3" $N 180
ok $? "all $N items reached the last step through the injected EIO"
wait_for 60 eval '[ "$(spool_leftovers)" = 0000 ]'
is "$(spool_leftovers)" 0000 "nothing in err/, nothing stranded in new/ cur/ or tmp/"
i0=$(injected 0) i1=$(injected 1) i2=$(injected 2)
[ "$i0" -ge 5 ] && [ "$i1" -ge 5 ] && [ "$i2" -ge 5 ]
ok $? "EIO was injected into every stage ($i0, $i1, $i2 calls)"
outputs_match out1 && outputs_match out2 && outputs_match out3
ok $? "every output byte for byte"
stages_alive
ok $? "no stage died or was restarted"
grep -q 'io-error: ' "$T_DIR/tmcwatch.log"
ok $? "the fault was noted as io-error in the log"
