# fault.sh - the three-step copy chain of tap.sh run as bare stage programs
# (no supervisor, so nothing is restarted behind the test's back), each
# optionally with strace attached once it runs, injecting a fault: a real
# syscall failing with a real errno at chosen call indices (counted from
# the attach, so start-up is never hit). Source after tap.sh.

# chain_spool: make the spool's folders (the supervisor does it, then stops)
chain_spool() { start_daemon && stop_daemon; }

# stage_start N [STRACE-INJECT-SPEC...]: stage N of "chain" in the
# background, strace attached when specs are given; its pid in STAGE_PID[N],
# strace's record of injected calls in $T_DIR/strace.N. LeakSanitizer cannot
# run under ptrace, so a traced stage has leak checks off.
declare -a STAGE_PID
stage_start() {
	local n=$1; shift
	local env=()
	[ $# -gt 0 ] && env=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0")
	"${env[@]}" "$BIN/tmc-copy" -c "$CONF" -t "$T_DIR/conf/template.json" -T chain -s "$n" \
		>/dev/null 2>>"$T_DIR/stage.$n.err" &
	STAGE_PID[n]=$!
	T_PIDS="$T_PIDS $!"
	wait_for 30 grep -q ': started$' "$T_DIR/stage.$n.err"
	[ $# -gt 0 ] || return 0
	local a=() s calls=()
	for s in "$@"; do a+=(-e "inject=$s"); calls+=("${s%%:*}"); done
	calls=$(IFS=,; echo "${calls[*]}")
	strace -f -qq -p "${STAGE_PID[n]}" -o "$T_DIR/strace.$n" -e "trace=$calls" "${a[@]}" \
		2>>"$T_DIR/strace.$n.err" &
	T_PIDS="$T_PIDS $!"
	wait_for 30 eval "grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/${STAGE_PID[n]}/status"
}
# stages_alive: every stage started is still running (none died, none restarted)
stages_alive() { local p; for p in "${STAGE_PID[@]}"; do kill -0 "$p" || return 1; done; }
# injected N: how many calls strace failed on purpose in stage N
injected() { grep -c 'INJECTED' "$T_DIR/strace.$1" 2>/dev/null || echo 0; }
# err_without_reason: err/ entries (folders) that have no non-empty reason
err_without_reason() {
	local d n=0
	for d in "$SPOOL"/stages/*/*/err/*/; do
		[ -d "$d" ] || continue
		[ -s "$d/reason" ] || n=$((n + 1))
	done
	echo $n
}
# spool_clean: nothing in new/ cur/ err/ tmp/ of any stage
spool_leftovers() {
	echo "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)$(spool_items "$SPOOL" err)$(find "$SPOOL"/stages/*/*/tmp -mindepth 1 | wc -l)"
}
