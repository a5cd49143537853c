#!/bin/bash
# tmc-image carries an item on (tmcwatch-spool(5), Carrying an item on):
# TMC's reference job (8 image steps, each read from the one before) gives
# the same outputs byte for byte as with every step in its own process
# (TMC_NO_FOLLOW=1, the handoff through new/), each step still writes its
# own result line once, usage record and callback; the workers of the first
# step do all the steps; and with worker_cnt 2 and no stage_workers key the
# first step gets two processes (the other steps one each).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 12

N=3
ref_chain 1600x1200

# run OUTDIR: the N originals through the job on a fresh spool, outputs
# moved to OUTDIR; the daemon is left running
run() {
	rm -rf "$SPOOL" "$SITE"/s[0-9]* "$T_DIR"/drop/*
	start_daemon
	wait_children
	list | enqueue_site ref site01 t >/dev/null
	wait_results $((N * 8)) && wait_idle
	local r=$?
	mkdir -p "$1"
	for d in "$SITE"/s[0-9]*; do mv "$d" "$1/"; done
	return $r
}

export TMC_NO_FOLLOW=1
run "$T_DIR/apart"
ok $? "step by step (TMC_NO_FOLLOW): every step of $N originals reported"
stop_daemon
unset TMC_NO_FOLLOW

run "$T_DIR/carried"
ok $? "carried on: every step of $N originals reported"
is "$(find "$T_DIR/carried" -type f | wc -l)" $((N * 8)) "$((N * 8)) outputs"
diff -r "$T_DIR/apart" "$T_DIR/carried" >"$T_DIR/diff.out" 2>&1
ok $? "the outputs are byte for byte those of the step-by-step run"

# each step's result line exactly once, ok, created 1
is "$(awk -F '\t' '{ print $1, $3 }' "$SPOOL/proc/test1.log" | sort -u | wc -l)" $((N * 8)) \
	"one result line per item and step ($((N * 8)) distinct)"
is "$(wc -l <"$SPOOL/proc/test1.log")" $((N * 8)) "no result line twice"
is "$(cat "$SPOOL"/state/records/*.json | jq -r 'select(.outcome == "ok") | .stage' | sort | uniq -c |
	awk '{ print $1 }' | sort -u | tr '\n' ' ')" "$N " \
	"a usage record per step: each of the 8 stages has $N ok records"
wait_for 60 eval "[ \$(ls '$T_DIR/drop' | wc -l) -ge $N ]"
is "$(for f in "$T_DIR"/drop/*; do cat "$f"; echo; done | sort | tr '\n' ' ')" \
	"$(list | tr '\n' ' ')" "the carried step S300 queued its file callback for each output"

# run/workers/<tpl>+<NN-step>.<pid>: "<processed> ..."; the first
# step's workers processed every step, the later steps' workers nothing
processed() { cat "$SPOOL"/run/workers/ref+"$1"* 2>/dev/null | awk '{ n += $1 } END { print n + 0 }'; }
is "$(processed 00-S1000)" $((N * 8)) "the first step's workers ran all $((N * 8)) steps"
later=0
for s in 01-S600 02-S400 03-S300 04-S200 05-S150 06-S100 07-S60; do
	later=$((later + $(processed $s)))
done
is "$later" 0 "the later steps' own workers ran none"
# worker_cnt 2, no stage_workers key: two processes for the first step
is "$(ls "$SPOOL"/run/workers/ | grep -c '^ref+00-S1000\.')" 2 \
	"worker_cnt 2 and no stage_workers: two workers for the first image step"
is "$(ls "$SPOOL"/run/workers/ | grep -c '^ref+07-S60\.')" 1 "one for a later step"
stop_daemon
