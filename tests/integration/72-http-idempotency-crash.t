#!/bin/bash
# Idempotency-Key survives a crash: tmc-httpd is killed (strace injects
# SIGKILL) at each write of a keyed act=convert - the job's temporary file,
# the key's record, its rename, the link of the job, the fsyncs of req/ -
# then restarted, and the same key retried. Every time: exactly one job,
# the same seq for every retry, and still the same seq (no second job) once
# the job has left req/ for done/ (the key is kept, finished or not).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
command -v strace >/dev/null || { echo "1..0 # SKIP needs strace"; exit 0; }
points="fsync:1 fsync:2 fsync:3 fsync:4 linkat:1 renameat,renameat2:1"
plan $((5 * 6 + 1))

http_config
mkdir -p "$SITE"

# jobs_like FILE: jobs in req/ and done/ with the bytes of FILE
jobs_like() {
	local n=0 f
	for f in "$SPOOL"/req/* "$SPOOL"/done/*; do
		[ -f "$f" ] && cmp -s "$f" "$1" && n=$((n + 1))
	done
	echo $n
}
convert() { # convert KEY JOB: the body
	curl -s --max-time 20 -H "Idempotency-Key: $1" "$URL/api/" \
		--data-urlencode act=convert --data-urlencode "json=$2"
}

i=0
for p in $points; do
	i=$((i + 1))
	sys=${p%:*} when=${p#*:}
	key="crash-key-$i"
	job="{\"hires\":{\"site\":\"site01\",\"path_head\":\"/in$i\",\"path_tail\":\"\",\"include\":[\"*.jpg\"]},\"template\":\"t1\"}"
	printf '%s' "$job" >"$T_DIR/job$i"

	strace -f -o /dev/null -e trace="$sys" -e inject="$sys":signal=KILL:when="$when" \
		"$BIN/tmc-httpd" -c "$CONF" 2>>"$T_DIR/httpd.err" &
	spid=$!
	wait_for 20 curl -sf "$URL/healthz"
	out=$(convert "$key" "$job")
	pkill -KILL -P "$spid" # in case the injection missed: strace -o FILE ignores SIGTERM
	{ wait "$spid"; } 2>/dev/null
	rc=$?
	[ "$rc" -ne 0 ] && [ -z "$out" ]
	ok $? "killed at $sys #$when during a keyed convert (rc $rc, answer '$out')"

	start_httpd
	out=$(convert "$key" "$job")
	seq=$(echo "$out" | jq -r .seq 2>/dev/null)
	[ "$(echo "$out" | jq -r .result 2>/dev/null)" = success ] && [ -f "$SPOOL/req/$seq" ]
	ok $? "$sys #$when: the retry answers success with a queued seq ($out)"
	out2=$(convert "$key" "$job")
	is "$(echo "$out2" | jq -r .seq 2>/dev/null) $(jobs_like "$T_DIR/job$i")" "$seq 1" \
		"$sys #$when: a second retry, the same seq, one job"
	mv "$SPOOL/req/$seq" "$SPOOL/done/$seq" # as if tmc-jobs had run it
	out3=$(convert "$key" "$job")
	is "$(echo "$out3" | jq -r .seq 2>/dev/null)" "$seq" \
		"$sys #$when: after the job finished, the key still answers its seq ($out3)"
	is "$(jobs_like "$T_DIR/job$i")" 1 "$sys #$when: and no second job was made"
	stop_httpd
done

# the retention is a setting: with idempotency_ttl 1, an old record is forgotten
http_config '"idempotency_ttl": 1'
start_httpd
job='{"hires":{"site":"site01","path_head":"/ttl","path_tail":"","include":["*.jpg"]},"template":"t1"}'
s1=$(convert ttl-key "$job" | jq -r .seq)
mv "$SPOOL/req/$s1" "$SPOOL/done/$s1"
touch -d '-1 hour' "$SPOOL"/req/.idempotency/*
s2=$(convert ttl-key "$job" | jq -r .seq)
[ -n "$s2" ] && [ "$s2" != null ] && [ "$s2" != "$s1" ]
ok $? "a key past http.idempotency_ttl is forgotten: a new job ($s1, then $s2)"
