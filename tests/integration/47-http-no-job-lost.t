#!/bin/bash
# A job the shim said "success" for is in req/, whole, whatever happens to
# the shim afterwards: stopped (SIGTERM) or killed (SIGKILL) while clients
# keep sending. Two shims and `tmcwatch submit` on one spool never hand out
# the same seq, and a seq that a job in done/ already has is not reused.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 10

http_config
start_httpd

# client N FROM TO: converts jobs FROM..TO one after the other; each answer
# (or "refused") is a line "<i> <answer>" in $T_DIR/answers.N
client() {
	local i out
	for i in $(seq "$2" "$3"); do
		out=$(curl -s --max-time 10 "$URL/api/" --data-urlencode act=convert \
			--data-urlencode "json=$(job_json "\"capture\":$i")") || out=refused
		echo "$i ${out:-refused}" >>"$T_DIR/answers.$1"
	done
}
# lost: how many of the seqs answered "success" whose req/<seq> is missing or not that job
lost() {
	local i seq n=0 m=0
	while read -r i seq; do
		m=$((m + 1))
		[ "$(cat "$SPOOL/req/$seq" 2>/dev/null)" = "$(job_json "\"capture\":$i")" ] || n=$((n + 1))
	done < <(sed -n 's/^\([0-9]*\) {"daemon":"[a-z]*","result":"success","seq":"\([0-9]*\)"}$/\1 \2/p' "$T_DIR"/answers.*)
	echo "$n lost of $m"
}
successes() { cat "$T_DIR"/answers.* | grep -c '"result":"success"'; }

# SIGTERM in the middle of 3 clients
client 1 1 60 & c1=$!
client 2 61 120 & c2=$!
client 3 121 180 & c3=$!
wait_for 60 eval '[ "$(ls "$SPOOL/req" | wc -l)" -ge 30 ]'
stop_httpd
wait $c1 $c2 $c3
is "$HTTPD_RC" 0 "SIGTERM under load: exit 0"
is "$(lost)" "0 lost of $(successes)" "every job answered success is in req/, byte for byte"
is "$(ls "$SPOOL/req" | wc -l)" "$(successes)" "and nothing else is (no half job, no temporary file left)"

# SIGKILL in the middle
rm -f "$T_DIR"/answers.*
start_httpd
client 1 301 360 & c1=$!
client 2 401 460 & c2=$!
before=$(ls "$SPOOL/req" | wc -l)
wait_for 60 eval '[ "$(ls "$SPOOL/req" | wc -l)" -ge $((before + 25)) ]'
kill -KILL "$HTTPD"
wait "$HTTPD" 2>/dev/null
wait $c1 $c2
is "$(lost)" "0 lost of $(successes)" "SIGKILL under load: every success is in req/"
bad=0
for f in "$SPOOL"/req/*; do jq -e .hires "$f" >/dev/null 2>&1 || bad=$((bad + 1)); done
is "$bad" 0 "every file in req/ is a whole job"
is "$(find "$SPOOL/req" "$SPOOL/proc" -name '.*' | wc -l | awk '{print ($1 <= 2)}')" 1 \
	"at most the killed request's temporary files are left (dot names readers skip)"

# two shims and tmcwatch submit on one spool: unique seqs
rm -rf "$SPOOL/req"/* "$T_DIR"/answers.*
start_httpd
URL1=$URL
sed -i "s/\"port\": $PORT/\"port\": $(free_port)/" "$CONF"
PORT=$(sed -n 's/.*"port": \([0-9]*\).*/\1/p' "$CONF")
URL=http://127.0.0.1:$PORT
start_httpd
client 2 601 650 & c2=$!
URL=$URL1 client 1 501 550 & c1=$!
for i in $(seq 701 730); do
	job_json "\"capture\":$i" >"$T_DIR/job.json"
	"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" 2>/dev/null | tail -1 >>"$T_DIR/submitted"
done
wait $c1 $c2
is "$(successes)+$(wc -l <"$T_DIR/submitted")" "100+30" "two shims and submit, all at once: every job accepted"
is "$(ls "$SPOOL/req" | wc -l)" 130 "130 distinct seqs in req/: none was handed out twice"
is "$(lost)" "0 lost of 100" "each req/<seq> is the job its client sent"

# a seq already used by a job in done/ is skipped
now=$(date +%s)
for t in 0 1 2; do
	stamp=$(date -d "@$((now + t))" +%y%m%d%H%M%S)
	for k in 000 001 002 003 004 005 006 007 008 009; do echo '{}' >"$SPOOL/done/$stamp$k"; done
done
seq=$(curl -s "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$(job_json '"capture":999')" | jq -r .seq)
[ -e "$SPOOL/req/$seq" ] && [ "$(cat "$SPOOL/done/$seq" 2>/dev/null)" != '{}' ]
ok $? "seqs taken by jobs in done/ are not reused ($seq)"
