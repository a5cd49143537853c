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
