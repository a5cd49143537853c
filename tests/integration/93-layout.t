#!/bin/bash
# The libraries depend one way: util <- spool <- config <- stage <- programs.
# Every quoted include of a library file must name a header of its own
# folder or of a folder below it (the build also compiles each library
# seeing only those headers; this says which include broke the rule).
. "$TMC_SRC/tests/lib/tap.sh"

order="util spool config stage"
plan 4
allowed=""
for lib in $order; do
	allowed="$allowed $lib"
	bad=""
	for f in "$TMC_SRC/$lib"/*.[ch]; do
		for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
			found=""
			for a in $allowed; do [ -e "$TMC_SRC/$a/$h" ] && found=1; done
			[ -n "$found" ] || bad="$bad ${f#"$TMC_SRC"/}:$h"
		done
	done
	is "$bad" "" "$lib/ includes only headers of:$allowed"
done
