#!/bin/bash
# make bench: every benchmark in tests/bench, one after the other (never two
# at once on this 2-core machine). Benchmarks print figures; they are not
# tests and assert nothing about speed.
set -u
here=$(dirname "$0")
rc=0
for b in "$here"/spool.sh "$here"/image.sh "$here"/image-stream.sh "$here"/video.sh "$here"/watch.sh "$here"/http.sh; do
	[ -x "$b" ] || continue
	echo "=== $(basename "$b")"
	"$b" || rc=1
done
exit $rc
