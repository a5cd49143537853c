# gearman.sh - a real gearmand for the remote-work tests (tmcwatch-worker(8)):
# a child in the foreground on a free loopback port, its pid and log in
# $T_DIR, stopped at exit with the other T_PIDS. Source after tap.sh.
#
#   start_gearmand [PORT]   GM_PORT, GM_PID set; waits until it answers
#   stop_gearmand [SIG]     kills it (TERM, or KILL for a crash) and reaps it
#   gm_admin ARGS...        gearadmin against it (--workers, --status)
#   gm_config_keys [extra]  the "gearman" key of config.json for it, with a
#                           comma after (write_config's second argument)

GM_SECRET=0123456789abcdef-test-secret

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_gearmand() {
	GM_PORT=${1:-${GM_PORT:-$(free_port)}}
	gearmand --listen 127.0.0.1 --port "$GM_PORT" --pid-file "$T_DIR/gearmand.pid" \
		--log-file "$T_DIR/gearmand.log" --verbose INFO --threads 1 \
		>>"$T_DIR/gearmand.out" 2>&1 &
	GM_PID=$!
	T_PIDS="$T_PIDS $GM_PID"
	wait_for 30 gm_admin --status
}

stop_gearmand() {
	kill -"${1:-TERM}" "$GM_PID" 2>/dev/null
	wait "$GM_PID" 2>/dev/null
	return 0
}

gm_admin() { timeout 10 gearadmin -h 127.0.0.1 -p "$GM_PORT" "$@"; }

gm_config_keys() {
	echo "\"gearman\": { \"servers\": [\"127.0.0.1:$GM_PORT\"], \"secret\": \"$GM_SECRET\"${1:+, $1} },"
}

# tmc-remote's tests (105, 106): stand-in worker hosts (tmc-gtestworker)
# gearman_keys [SECRET]: the "gearman" object of a spool host's config
gearman_keys() {
	printf '"gearman": {"servers": ["127.0.0.1:%s"], "templates": ["two"], "secret": "%s", "max_inflight": 2, "deadline": %s},' \
		"$GM_PORT" "${1:-$GM_SECRET}" "${GM_DEADLINE:-20}"
}
# gm_status: gearmand's admin "status" answer
gm_status() { gearadmin -h 127.0.0.1 -p "$GM_PORT" --status 2>/dev/null; }
# gm_workers FN N: N workers registered for FN
gm_workers() { gm_status | awk -F'\t' -v f="$1" -v n="$2" '$1 == f && $4 == n { ok = 1 } END { exit !ok }'; }
# worker_config DIR TEMPLATE-JSON [SECRET]: a worker host's own config copy
worker_config() {
	mkdir -p "$1"
	printf '%s\n' "$2" >"$1/template.json"
	cat >"$1/config.json" <<JSON
{ "spool_dir": "$1/spool", $(gearman_keys "${3:-}")
  "site": { "site01": { "root": "$1/site" } } }
JSON
}
# start_testworker DIR NAME [-H]: in its own process group (setsid), pid in TW_PID
start_testworker() {
	setsid "$BIN/tmc-gtestworker" -c "$1/config.json" -t "$1/template.json" -n "$2" ${3:-} \
		2>>"$T_DIR/testworker.err" &
	TW_PID=$!
	T_PIDS="$T_PIDS $TW_PID"
}
# remote_field HOST FIELD: the sum of FIELD over run/remote/* for HOST
remote_field() {
	cat "$SPOOL"/run/remote/[0-9]* 2>/dev/null |
		awk -v h="host=$1" -v f="$2" '$1 == h { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) s += kv[2] } } END { print s + 0 }'
}
