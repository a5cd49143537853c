#!/bin/bash
# Slow clients: 200 connections from 127.0.0.2..127.0.0.11 (100 silent,
# 100 sending a request head one byte a second) do not keep a legitimate
# request from 127.0.0.1 from being answered: http.max_per_ip caps each
# address, http.max_connections bounds them all, and http.request_deadline
# closes every connection whose head and body are not complete in time,
# however steadily it trickles (libmicrohttpd's own timeout restarts with
# every byte). The time the legitimate request took is printed, not judged.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 4

DEADLINE=3
http_config "\"request_deadline\": $DEADLINE, \"status_codes\": \"rest\""
start_httpd
ok $? "tmc-httpd answers /healthz"

python3 "$TMC_SRC/tests/lib/slow-clients.py" "$PORT" "$T_DIR/ready" $((DEADLINE + 12)) \
	>"$T_DIR/slow.out" 2>"$T_DIR/slow.err" &
slow=$!
T_PIDS="$T_PIDS $slow"
wait_for 60 test -e "$T_DIR/ready"
out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 \
	"$URL/api/?act=status&seq=1")
diag "legitimate request: HTTP ${out% *} after ${out#* } s, with 200 slow connections open"
[ "${out% *}" = 404 ]
ok $? "a legitimate request is answered under 200 slow connections ($out)"

wait "$slow"
res=$(cat "$T_DIR/slow.out")
diag "slow clients: $res"
[[ $res == "closed 200 of 200,"* ]]
ok $? "every slow connection was closed by the server ($res)"
last=$(echo "$res" | sed -n 's/.*last after \([0-9.]*\) s/\1/p')
[ -n "$last" ] && [ "$(echo "$last <= $DEADLINE + 10" | bc)" = 1 ]
ok $? "within request_deadline ($DEADLINE s) plus a margin, well before the 30 s timeout (last after $last s)"
