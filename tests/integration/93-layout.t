#!/bin/bash
# The libraries depend one way: util <- spool <- config <- stage <- programs.
# Every quoted include of a library file must name a header of its own
# folder or of a folder below it (the build also compiles each library
# seeing only those headers; this says which include broke the rule).
# TMC's rules (glob selection, str_ireplace, PHP's empty/truthiness/trim,
# the seq rules) are defined once, in config/tmc.c: no program keeps a copy.
# The template route (which step reads which for an extension, the steps
# fed from the original) is defined once, in config/route.c.
# Only spool/ knows the spool's shape: the job files' suffixes are spelled
# in spool/jobfiles.c alone (job_file, job_file_kind).
. "$TMC_SRC/tests/lib/tap.sh"

order="util spool config stage"
plan 8
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

# Function definitions (BSD style: the name at the start of a line) whose
# names say they are one of TMC's rules, outside config/tmc.c.
rules='^[a-z_]*(empty|ireplace|truthy|trim|trim_char|seq_valid|seq_ok|seq_name_ok|seq_is_tmc)\('
copies=$(cd "$TMC_SRC" && grep -rElx --include='*.c' "$rules.*" util spool config stage stages tmcwatch |
	grep -vx config/tmc.c | tr '\n' ' ')
is "$copies" "" "TMC's rules (empty, str_ireplace, truthy, trim, seq) are defined only in config/tmc.c"
globs=$(cd "$TMC_SRC" && grep -rEl --include='*.c' 'fnmatch\([^;]*, 0\)' util spool config stage stages tmcwatch |
	grep -vx config/tmc.c | tr '\n' ' ')
is "$globs" "" "TMC's glob (fnmatch with flags 0) is matched only in config/tmc.c"

# Functions (split at a '}' in column 0, comments dropped) that resolve a
# step's source by name under a source_ext filter (strcmp on steps[k].name
# with step_applies), or pick first steps ("hires" with step_applies): a
# copy of the route outside config/route.c.
routes=$(cd "$TMC_SRC" && find util spool config stage stages tmcwatch -name '*.c' ! -path config/route.c |
	sort | xargs perl -0777 -ne '
		s{/\*.*?\*/}{}gs;
		for my $fn (split /^\}/m) {
			next unless $fn =~ /\bstep_applies\(/;
			if ($fn =~ /strcmp\([^;]*steps\[[^\]]*\]\.name/s || $fn =~ /"hires"/) {
				print "$ARGV ";
				last;
			}
		}' )
is "$routes" "" "the template route (source by name and filter, first steps) is only in config/route.c"
# A job file's suffix as a string literal (".stat", "%s.ctrl", "done/%s.result"),
# outside spool/; comment lines do not count.
suffixes=$(cd "$TMC_SRC" && grep -rEn --include='*.[ch]' '\.(stat|ctrl|result)"' stage stages tmcwatch config |
	grep -Ev '^[^:]*:[0-9]+:[[:space:]]*(\*|/\*|//)' | cut -d: -f1,2 | tr '\n' ' ')
is "$suffixes" "" "job-file suffixes (.stat .ctrl .result) are spelled only in spool/ (jobfiles.c)"
