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
