#!/bin/bash
# tmc-httpd under load (a benchmark: it prints figures and asserts nothing
# about speed): act=convert jobs accepted per second (each one fsynced into
# req/ before its answer), then act=status queries per second, with curl's
# own parallel mode as the client (keep-alive connections; wrk and ab are
# not installed here). After the load: every job answered "success" is in
# req/, and nothing else is.
#   BENCH_JOBS (default 3000) BENCH_QUERIES (20000) BENCH_PARALLEL (8)
set -u
: "${TMC_BUILD:?run through make bench}"
BIN=$TMC_BUILD/bin
. "$(dirname "$0")/figures.sh"
N=${BENCH_JOBS:-3000}
Q=${BENCH_QUERIES:-20000}
P=${BENCH_PARALLEL:-8}
dir=$(mktemp -d /tmp/tmcwatch-bench-http.XXXXXX)
httpd=
trap '[ -n "$httpd" ] && kill $httpd 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir/conf" "$dir/site"
echo '{ "t1": { "proc": [ {"name": "A", "source": "hires", "kind": "pass", "path_head": "/o"} ] } }' \
	>"$dir/conf/template.json"
cat >"$dir/conf/config.json" <<JSON
{ "spool_dir": "$dir/spool", "http": { "port": $port, "max_connections": 64 },
  "site": { "site01": { "root": "$dir/site" } } }
JSON
"$BIN/tmc-httpd" -c "$dir/conf/config.json" 2>"$dir/httpd.log" &
httpd=$!
# /healthz is 503 without a daemon: wait for any answer
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" != 000 ]; do sleep 0.05; done
url="http://127.0.0.1:$port/api/"

# figures LABEL COUNT NS FILE KEY: rate and latency percentiles from curl's -w lines
figures() {
	local rate p99
	sort -k2 -n "$4" | awk -v label="$1" -v n="$2" -v ns="$3" '
		{ t[NR] = $2 * 1000 }
		END { printf "%-28s %7d in %6.2f s = %7.0f/s   latency p50 %.2f ms  p99 %.2f ms\n",
			label, n, ns / 1e9, n / (ns / 1e9), t[int(NR * 0.5)], t[int(NR * 0.99)]
		      printf "%.0f %.2f\n", n / (ns / 1e9), t[int(NR * 0.99)] >"/dev/stderr" }' 2>"$dir/fig"
	read -r rate p99 <"$dir/fig"
	figure "http.$5.per_s" "$rate" /s
	figure "http.$5.p99" "$p99" ms
}

# curl -K groups: one per request, "next" between them (options are per URL)
# group URL OUTPUT [JSON]: one request, its answer to OUTPUT, a line of
# "<status> <seconds>" to stdout
group() {
	[ "$1" = first ] && shift || echo next
	printf 'url = "%s"\noutput = "%s"\nsilent\nwrite-out = "%%{http_code} %%{time_total}\\n"\n' "$1" "$2"
	[ -z "${3:-}" ] || printf 'data = "act=convert"\ndata-urlencode = "json=%s"\n' "$(echo "$3" | sed 's/["\\]/\\&/g')"
}
job() { printf '{"hires":{"site":"site01","path_head":"/%s","path_tail":"/%d","include":["*.jpg"]},"template":"t1"}' "$1" "$2"; }

# act=convert: N distinct jobs (POST, urlencoded), P at a time
mkdir -p "$dir/answers"
for i in $(seq 1 "$N"); do
	group $([ "$i" = 1 ] && echo first) "$url" "$dir/answers/$i" "$(job in "$i")"
done >"$dir/convert.cfg"
t0=$(date +%s%N)
curl --parallel --parallel-max "$P" -K "$dir/convert.cfg" >"$dir/convert.out" 2>/dev/null
t1=$(date +%s%N)
echo "tmc-httpd, $P clients in parallel (curl --parallel, keep-alive), $(nproc) cores"
figures "convert (fsynced into req/)" "$N" $((t1 - t0)) "$dir/convert.out" convert_parallel

ok=$(cat "$dir"/answers/* | grep -o '"result":"success"' | wc -l)
inreq=$(ls "$dir/spool/req" | wc -l)
missing=0
for f in "$dir"/answers/*; do
	seq=$(sed -n 's/.*"result":"success","seq":"\([0-9]*\)".*/\1/p' "$f")
	[ -n "$seq" ] && [ ! -s "$dir/spool/req/$seq" ] && missing=$((missing + 1))
done
echo "convert: $ok answered success, $inreq jobs in req/, $missing answered but missing" \
	"($(grep -vc '^200 ' "$dir/convert.out") non-200 answers)"

# act=status over the queued seqs
mapfile -t seqs < <(ls "$dir/spool/req")
for i in $(seq 0 $((Q - 1))); do
	[ "$i" = 0 ] || echo next
	printf 'url = "%s?act=status&seq=%s"\noutput = "/dev/null"\nsilent\nwrite-out = "%%{http_code} %%{time_total}\\n"\n' \
		"$url" "${seqs[i % ${#seqs[@]}]}"
done >"$dir/status.cfg"
t0=$(date +%s%N)
curl --parallel --parallel-max "$P" -K "$dir/status.cfg" >"$dir/status.out" 2>/dev/null
t1=$(date +%s%N)
figures "status" "$Q" $((t1 - t0)) "$dir/status.out" status_parallel
echo "status: $(grep -c '^200 ' "$dir/status.out") answered 200"

# one client, one request at a time: the cost of one accepted job
for i in $(seq 1 300); do
	group $([ "$i" = 1 ] && echo first) "$url" /dev/null "$(job one "$i")"
done >"$dir/one.cfg"
t0=$(date +%s%N)
curl -K "$dir/one.cfg" >"$dir/one.out"
t1=$(date +%s%N)
figures "convert, 1 client" 300 $((t1 - t0)) "$dir/one.out" convert_one_client
kill -TERM $httpd
wait $httpd
httpd=
