# http.sh - helpers for the tmc-httpd and tmc-notify tests (45-49), on top of
# tap.sh: a free loopback port, the REST shim started on it, TMC's server
# files written by hand (so these tests need no tmc-jobs), outbox items, and
# a callback receiver (receiver.py).

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_spool: the spool's folders, as tmcwatch would make them
make_spool() {
	mkdir -p "$SPOOL"/{req,proc,done,err,stages,state,run/slots} "$SPOOL"/outbox/{tmp,new,cur,err}
}

# http_config [EXTRA_HTTP_KEYS] [EXTRA_TOP_KEYS]: config.json with an http
# object on a free port ($PORT), a copy template "t1", site "site01", and
# the spool made as tmcwatch makes it (tmc-httpd itself makes only req/)
http_config() {
	PORT=$(free_port)
	make_spool
	write_config '{ "t1": { "proc": [
	  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"} ] } }' \
		"\"http\": { \"port\": $PORT ${1:+, $1} }, ${2:-}"
	URL=http://127.0.0.1:$PORT
}

# answers: /healthz answers at all (200, or 503 while no daemon runs)
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/healthz")" != 000 ]; }
# start_httpd: tmc-httpd in the background (pid HTTPD), ready when /healthz answers
start_httpd() {
	"$BIN/tmc-httpd" -c "$CONF" 2>>"$T_DIR/httpd.err" &
	HTTPD=$!
	T_PIDS="$T_PIDS $HTTPD"
	wait_for 20 answers
}
stop_httpd() {
	kill -TERM "$HTTPD" 2>/dev/null
	wait "$HTTPD" 2>/dev/null
	HTTPD_RC=$?
}

# code_of CURL_ARGS...: the HTTP status only
code_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# a job for site01 and template t1, one line, as a TMC client sends it
job_json() { # job_json [EXTRA_HIRES_KEYS]
	printf '{"hires":{"site":"site01","path_head":"/in","path_tail":"/2021/01/01","subdir":false,"include":["*.jpg"]%s},"template":"t1"}' "${1:+,$1}"
}

# start_receiver [NAME [PORT]]: receiver.py in the background (pid RPID) on
# PORT or a free one; RURL is its base URL, its requests are logged in
# $T_DIR/NAME.log (NAME: receiver)
start_receiver() {
	local name=${1:-receiver}
	rm -f "$T_DIR/$name.port"
	python3 "$TMC_SRC/tests/lib/receiver.py" "$T_DIR/$name.port" "$T_DIR/$name.log" ${2:-} \
		2>>"$T_DIR/$name.err" &
	RPID=$!
	T_PIDS="$T_PIDS $RPID"
	wait_for 20 test -s "$T_DIR/$name.port"
	RURL=http://127.0.0.1:$(cat "$T_DIR/$name.port")
}
# requests_to PATH [NAME]: how many requests receiver NAME saw for PATH
requests_to() {
	jq -r --arg p "$1" 'select(.path == $p) | .path' "$T_DIR/${2:-receiver}.log" 2>/dev/null | wc -l
}

# outbox_item ID URL [RESULT COUNT PROCESSED CREATED WARN]: a callback as
# tmc-jobs queues it (ticket built in outbox/tmp, renamed into new/)
outbox_item() {
	local d=$SPOOL/outbox/tmp/+$1 # "+": half-published (a bare id is a committed handoff)
	mkdir -p "$d"
	printf 'url=%s\nseq=%s\nresult=%s\ncount=%s\nprocessed=%s\ncreated=%s\nwarn=%s\n' \
		"$2" "$1" "${3:-1}" "${4:-3}" "${5:-3}" "${6:-24}" "${7:-0}" >"$d/ticket"
	mv "$d" "$SPOOL/outbox/new/$1"
}
