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

# write_config TEMPLATES_JSON [EXTRA_CONFIG_KEYS]: a config under $T_DIR with
# spool $T_DIR/spool and site "site01" rooted at $T_DIR/site.
CONF=$T_DIR/conf/config.json
SPOOL=$T_DIR/spool
SITE=$T_DIR/site
write_config() {
	mkdir -p "$T_DIR/conf" "$SITE"
	cat >"$T_DIR/conf/template.json" <<JSON
$1
JSON
	cat >"$CONF" <<JSON
{
  "client_cnt": 4, "worker_cnt": 4, "big_worker": 1,
  "spool_dir": "$SPOOL",
  "log_file": "$T_DIR/tmcwatch.log",
  ${2:-}
  "site": { "site01": { "root": "$SITE" } }
}
JSON
}

# A chain of three copy steps: every original is copied to out1, out2, out3.
COPY3='{ "chain": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
  {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2"},
  {"name": "C", "source": "B", "kind": "copy", "path_head": "/out3"}
] } }'

# make_inputs N: N small distinct files under $SITE/in, and $T_DIR/list
make_inputs() {
	mkdir -p "$SITE/in/a" "$SITE/in/b"
	local i
	for i in $(seq 1 "$1"); do
		printf 'original %d %s\n' "$i" "$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
			>"$SITE/in/$((i % 2 == 0 ? 0 : 1))$i.jpg"
	done
	(cd "$SITE/in" && find . -type f | sed 's|^\.||' | sort) >"$T_DIR/list"
}

start_daemon() { # start_daemon: tmcwatch run in the background, pid in DAEMON
	"$BIN/tmcwatch" -c "$CONF" run 2>>"$T_DIR/daemon.err" &
	DAEMON=$!
	T_PIDS="$T_PIDS $DAEMON"
	wait_for 20 test -e "$SPOOL/run/tmcwatch.pid"
}
# wait_children [SECONDS]: until every child the supervisor planned (its
# "running: N processes" line) has been started and runs its own program.
# start_daemon returns once the pid file exists, before any child does: call
# this before pgrep looks for a stage process.
wait_children() { wait_for "${1:-60}" children_up; }
children_up() {
	local n
	n=$(sed -n "s/.* tmcwatch\[$DAEMON\] running: \([0-9]*\) processes.*/\1/p" \
		"$T_DIR/tmcwatch.log" 2>/dev/null | tail -1)
	# a child still named tmcwatch is forked but not yet exec'd
	[ -n "$n" ] && [ "$(pgrep -c -P "$DAEMON")" -ge "$n" ] && ! pgrep -P "$DAEMON" -x tmcwatch
}
stop_daemon() {
	kill -TERM "$DAEMON" 2>/dev/null
	wait "$DAEMON" 2>/dev/null
	DAEMON_RC=$?
}
enqueue() { # enqueue TEMPLATE [prefix] < list
	"$BIN/tmc-enqueue" -c "$CONF" -T "$1" -s site01 -b "$SITE/in" -p "${2:-t}" -o "${3:-job:test1}"
}
# outputs_match DIR: every listed input has a byte-identical copy under DIR
outputs_match() {
	local rel
	while read -r rel; do
		cmp -s "$SITE/in$rel" "$SITE/$1$rel" || { echo "# mismatch $1$rel"; return 1; }
	done <"$T_DIR/list"
}
# stray_temps: temporary output names left in the site
stray_temps() { find "$SITE" -name '.*.tmcwatch-*' | wc -l; }
# wait_files DIR N [SECONDS]: until DIR holds at least N files
wait_files() { wait_for "${3:-120}" eval "[ \$(count_files '$1') -ge $2 ]"; }
# wait_idle [SECONDS]: until no stage has an item in new/ or cur/
wait_idle() { wait_for "${1:-60}" eval '[ "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)" = 00 ]'; }
