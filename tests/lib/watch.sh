# watch.sh - helpers for the tmc-watch integration tests (30-39-watch-*.t).
# Source after tap.sh. The watched folder is $SRC ($SITE/src); outputs of
# the one-step copy template land in $SITE/out with the same relative path.
SRC=$SITE/src
WLOG=$SPOOL/state/site01.log     # the watch's result log (stages append)
WSTAT=$SPOOL/state/site01.stat   # the watch's counters (tmc-watch writes)

# One copy step: every file is copied to /out + its path under /src.
COPY1='{ "cp": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out"}
] } }'

# watch_config TEMPLATES WATCH-KEYS [CONFIG-KEYS]: site01 watching /src with
# template $WATCH_TPL (default "cp").
watch_config() {
	write_config "$1" "${3:-} \"watchdog\": { \"site01\": { \"dir\": \"/src\", \"template\": \"${WATCH_TPL:-cp}\", ${2:+$2,} \"quiet_ms\": 200 } },"
	mkdir -p "$SRC"
}

watch_pid() { pgrep -f "tmc-watch -c $CONF" | head -1; }
# wait until tmc-watch has finished its start-up walk (log line "ready:")
# since the log had $1 lines
watch_ready() {
	wait_for 30 eval "tail -n +$((${1:-0} + 1)) '$T_DIR/tmcwatch.log' 2>/dev/null | grep -q 'tmc-watch.*ready:'"
}
log_lines() { cat "$T_DIR/tmcwatch.log" 2>/dev/null | wc -l; }
start_watching() { # start the daemon and wait for the watcher's start-up walk
	local n
	n=$(log_lines)
	start_daemon && watch_ready "$n"
}

# result lines, and (id, step) pairs that occur more than once
results() { cat "$WLOG" 2>/dev/null | wc -l; }
result_dups() { cut -f1,2 "$WLOG" 2>/dev/null | sort | uniq -d | wc -l; }
# relative paths reported more than once (the same file converted twice)
rel_dups() { cut -f6 "$WLOG" 2>/dev/null | sort | uniq -d | wc -l; }
wait_results() { wait_for "${2:-120}" eval "[ \$(results) -ge $1 ]"; }
stat_get() { sed -n "s/^$1=//p" "$WSTAT" 2>/dev/null; }

# src_matches_out LIST: every relative path in LIST has a byte-identical copy
# under $SITE/out
src_matches_out() {
	local rel bad=0
	while read -r rel; do
		cmp -s "$SRC$rel" "$SITE/out$rel" || { echo "# differs: $rel"; bad=1; }
	done <"$1"
	return $bad
}
# list_src DIR-UNDER-SRC: relative paths ("/x/y.jpg") of the files below it
list_src() { (cd "$SRC" && find ".${1:-}" -type f | sed 's|^\.||' | sort); }

# slow_writer FILE PIECES DELAY: one open, PIECES writes DELAY apart, one close
slow_writer() {
	local i
	{
		for i in $(seq 1 "$2"); do
			head -c 4096 /dev/urandom
			sleep "$3"
		done
	} >"$1"
}
