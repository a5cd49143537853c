#!/bin/bash
# Calls between the files of one folder go one way: no file calls a
# function of a file that (directly or through others) calls back into it.
# The graph comes from the built objects: an object that leaves a symbol
# undefined uses the object of the same folder that defines it (nm), and
# tsort says whether that graph has a loop, and names the files in it.
# Every library folder and every program under stages/ is checked
# (tmcwatch/, the supervisor's command line, is not yet: its commands share
# helpers with main.c).
. "$TMC_SRC/tests/lib/tap.sh"

OBJ=$TMC_BUILD/obj
dirs=""
for d in util spool config stage "$TMC_SRC"/stages/*/; do
	d=${d#"$TMC_SRC"/}
	dirs="$dirs ${d%/}"
done
set -- $dirs
plan $#

# objects DIR: the objects of the folder's sources (not of files since renamed)
objects() {
	local c
	for c in "$TMC_SRC/$1"/*.c; do
		c=${c##*/}
		echo "$OBJ/$1/${c%.c}.o"
	done
}

# edges DIR: "user definer" for each call (or data use) between two objects
edges() {
	local o
	for o in $(objects "$1"); do
		nm --defined-only -g "$o" | awk -v f="$(basename "$o" .o)" 'NF == 3 {print $3, f}'
	done | sort -u >"$T_DIR/def"
	for o in $(objects "$1"); do
		nm -u "$o" | awk -v f="$(basename "$o" .o)" '{print $NF, f}'
	done | sort -u >"$T_DIR/use"
	join "$T_DIR/use" "$T_DIR/def" | awk '$2 != $3 {print $2, $3}' | sort -u
}

for d in "$@"; do
	if ! ls $(objects "$d") >/dev/null 2>&1; then
		ok 1 "$d: objects built"
		continue
	fi
	edges "$d" >"$T_DIR/edges"
	if loop=$(tsort "$T_DIR/edges" 2>&1 >/dev/null) && [ -z "$loop" ]; then
		ok 0 "$d: calls between its files go one way ($(wc -l <"$T_DIR/edges") edges)"
	else
		ok 1 "$d: calls between its files go one way"
		# tsort names the files of a loop one a line
		files=$(echo "$loop" | sed -n 's/^tsort: \([^ /]*\)$/\1/p' | tr '\n' ' ')
		echo "#   a loop: $files"
		# the calls among them, to say which one closes the loop
		join "$T_DIR/use" "$T_DIR/def" | awk -v fs=" $files" \
			'$2 != $3 && index(fs, " " $2 " ") && index(fs, " " $3 " ") {print "#   " $2 " -> " $3 ": " $1}'
	fi
done
