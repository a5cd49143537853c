# figures.sh - sourced by every benchmark: `figure` records one figure of
# this run so that run.sh can write them all to one JSON file and print each
# against its peer (report.py). A benchmark still prints its own lines for a
# reader; `figure` is the machine-readable copy.
#
#   figure KEY VALUE UNIT [PEER_KEY[,PEER_KEY...]]
#
# KEY names the figure (image.stages.s_per_original), UNIT says what it is
# and which way is better: s, ms, MB, kB (lower) or /s, %, x (higher).
# PEER_KEY names the figures of the same run it is compared with (the gm,
# vipsthumbnail or ffmpeg figures for the same work).
figure() {
	[ -n "${BENCH_FIGURES:-}" ] || return 0
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$BENCH_FIGURES"
}

# wait_lines FILE N: wait until FILE holds N lines, then print the time of
# its last change (ns since the epoch) as the end of the run. The count is
# read with bash builtins from one descriptor (only the new lines each time)
# and checked every 50 ms: a poll of `cat | wc -l` every 10 ms forked ~300
# processes a second, CPU taken from the very run it timed on 2 cores, and
# the mtime keeps the poll's period out of the figure.
wait_lines() {
	local fd n=0 line
	until [ -e "$1" ]; do sleep 0.05; done
	exec {fd}<"$1"
	while :; do
		# a partial last line is consumed but not counted; its rest
		# ends with the newline and counts once
		while read -r -u "$fd" line; do n=$((n + 1)); done
		[ "$n" -ge "$2" ] && break
		sleep 0.05
	done
	exec {fd}<&-
	stat -c %.9Y "$1" | tr -d .
}
