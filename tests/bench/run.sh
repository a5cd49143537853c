#!/bin/bash
# make bench: every benchmark in tests/bench, one after the other (never two
# at once on this 2-core machine). Benchmarks print figures; they are not
# tests and assert nothing about speed. Each run also writes its figures as
# one JSON file, bench-results/bench-<UTC time>.json (BENCH_OUT to choose the
# folder), with the machine's load and the versions of the peers, and prints
# every figure as a ratio to its peer of the same run. Two runs compare with
#   tests/bench/report.py --compare OLD.json NEW.json
# BENCH_ONLY="image video" runs only those benchmarks.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${BENCH_OUT:-$here/../../bench-results}
mkdir -p "$out" || exit 1
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d /tmp/tmcwatch-bench-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
export BENCH_FIGURES=$work/figures.tsv
: >"$BENCH_FIGURES"

version() { "$@" 2>/dev/null | head -1; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rc=0
for name in ${BENCH_ONLY:-spool image image-stream video mixed watch http remote}; do
	b=$here/$name.sh
	[ -x "$b" ] || continue
	echo "=== $name.sh"
	"$b" || rc=1
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

jq -n --arg time "$stamp" --arg host "$(uname -n)" --arg kernel "$(uname -r)" \
	--arg cpus "$(nproc)" --arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
	--arg load_before "$load_before" --arg load_after "$load_after" \
	--arg commit "$(git -C "$here" rev-parse --short HEAD 2>/dev/null)" \
	--arg gm "$(version gm version)" --arg ffmpeg "$(version ffmpeg -version)" \
	--arg libavcodec "$(pkg-config --modversion libavcodec 2>/dev/null)" \
	--arg vips "$(version vips --version)" \
	'{time: $time, host: $host, kernel: $kernel, cpus: ($cpus | tonumber), cpu: $cpu,
	  load_before: $load_before, load_after: $load_after, commit: $commit,
	  versions: {graphicsmagick: $gm, ffmpeg: $ffmpeg, libavcodec: $libavcodec, vips: $vips}}' \
	>"$work/meta.json" || rc=1
"$here/report.py" "$BENCH_FIGURES" "$work/meta.json" "$out/bench-$stamp.json" || rc=1
exit $rc
