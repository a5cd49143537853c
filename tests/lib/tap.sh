# tap.sh - a few lines of TAP for the integration scripts (prove reads it).
# Source it, call plan N, then ok/fail/is; every script runs the real
# programs from $TMC_BUILD/bin on a temporary spool that is removed at exit.
set -u
: "${TMC_BUILD:?run through make test}"
: "${TMC_SRC:?run through make test}"
BIN=$TMC_BUILD/bin
export TMC_LIBEXEC=$BIN
T_N=0
T_FAILED=0
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tmcwatch-test.XXXXXX")
T_PIDS=""

plan() { echo "1..$1"; }
ok() { # ok CONDITION-EXIT-CODE LABEL
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then echo "ok $T_N - $2"; else
		echo "not ok $T_N - $2"; T_FAILED=$((T_FAILED + 1)); fi
}
check() { # check LABEL COMMAND... : ok when the command succeeds
	local label=$1; shift
	if "$@" >/dev/null 2>&1; then ok 0 "$label"; else ok 1 "$label"; fi
}
is() { # is GOT WANT LABEL
	if [ "$1" = "$2" ]; then ok 0 "$3"; else
		ok 1 "$3"; echo "#   got: '$1'"; echo "#  want: '$2'"; fi
}
diag() { echo "# $*"; }
bg() { "$@" & T_PIDS="$T_PIDS $!"; }
cleanup() {
	for p in $T_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $T_PIDS; do wait "$p" 2>/dev/null; done
	[ -n "${T_KEEP:-}" ] || rm -rf "$T_DIR"
}
trap cleanup EXIT

# wait_for SECONDS COMMAND...: poll until the command succeeds; 1 on timeout.
# Time limits here are generous ceilings for hangs, never speed assertions.
wait_for() {
	local limit=$1; shift
	local end=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

# count_files DIR: regular files below DIR
count_files() { find "$1" -type f 2>/dev/null | wc -l; }
# spool_items SPOOL SUB: entries in every stage's SUB folder (new, cur, err)
spool_items() { find "$1"/stages -mindepth 3 -maxdepth 4 -path "*/$2/*" -prune -print 2>/dev/null | wc -l; }
