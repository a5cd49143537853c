#!/bin/bash
# tmc-httpd answers TMC's REST API as TMC's README shows it, body for body:
# every act driven with curl, jobs and uploaded lists checked in req/ and
# proc/, and the status files that tmc-jobs keeps written here by hand in
# TMC's formats (.stat, .ctrl, done/<seq>.result, err/<seq>).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 72

http_config '"status_codes": "rest"' # REST codes; 69-http-tmc-status.t: the default
start_httpd
ok $? "tmc-httpd answers /healthz"

# ---- convert (doc/TMC.md, REST API: convert) ----
J=$(job_json)
out=$(curl -s -D "$T_DIR/h1" -G "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$J")
S1=$(echo "$out" | jq -r .seq)
echo "$out" | grep -Eq '^\{"daemon":"stopped","result":"success","seq":"[0-9]{15}"\}$'
ok $? "GET /api/?act=convert&json=...: TMC's answer ($out)"
grep -qi '^Content-Type: application/json' "$T_DIR/h1" && grep -q '^HTTP/1.1 200' "$T_DIR/h1"
ok $? "convert: 200 with Content-Type application/json"
printf '%s' "$J" | cmp -s - "$SPOOL/req/$S1"
ok $? "req/$S1 holds the job's bytes as sent"
out=$(curl -s -G "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$J")
is "$out" "{\"daemon\":\"stopped\",\"result\":\"duplicated\",\"seq\":\"$S1\"}" "the same job again: duplicated, with the waiting job's seq"
is "$(ls "$SPOOL/req" | wc -l)" 1 "a duplicate is not queued"

J2=$(job_json '"callback":"http:\/\/192.168.0.255\/api\/convert_end"')
out=$(curl -s "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$J2")
S2=$(echo "$out" | jq -r .seq)
test "$(echo "$out" | jq -r .result)" = success && test "$S2" != "$S1" && printf '%s' "$J2" | cmp -s - "$SPOOL/req/$S2"
ok $? "POST application/x-www-form-urlencoded: a new seq, bytes kept ($S2)"

JF=$(job_json '"filelist":true')
printf '/0000172.jpg\n/sub/0000165.jpg\n\n/한글.jpg\n' >"$T_DIR/list.txt"
out=$(curl -s "$URL/api/" -F act=convert -F "json=$JF" -F "fileupload=@$T_DIR/list.txt")
S3=$(echo "$out" | jq -r .seq)
test "$(echo "$out" | jq -r .result)" = success && cmp -s "$T_DIR/list.txt" "$SPOOL/req/$S3.file" &&
	printf '%s' "$JF" | cmp -s - "$SPOOL/req/$S3"
ok $? "multipart/form-data with fileupload: req/$S3.file is the upload, req/$S3 the job"
out=$(curl -s "$URL/api/" -F act=convert -F "json=$JF" -F "fileupload=@$T_DIR/list.txt")
is "$out" "{\"daemon\":\"stopped\",\"result\":\"duplicated\",\"seq\":\"$S3\"}" "the same job with the same list: duplicated"
printf '/other.jpg\n' >"$T_DIR/list2.txt"
out=$(curl -s "$URL/api/" -F act=convert -F "json=$JF" -F "fileupload=@$T_DIR/list2.txt")
S4=$(echo "$out" | jq -r .seq)
test "$(echo "$out" | jq -r .result)" = success && cmp -s "$T_DIR/list2.txt" "$SPOOL/req/$S4.file"
ok $? "the same job with another list is another job ($S4)"
code=$(code_of "$URL/api/" -F act=convert -F "json=$JF")
is "$code" 400 "filelist job without its upload: 400 (TMC queued it and failed it later)"
is "$(ls "$SPOOL/req" | grep -c '\.file$')" 2 "no orphan list was written for refused requests"

# TMC's refusals, with their bodies
check_convert() { # check_convert JSON WANT_RESULT WANT_CODE LABEL
	local o c
	o=$(curl -s -D "$T_DIR/h" "$URL/api.php" --data-urlencode act=convert --data-urlencode "json=$1")
	c=$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$T_DIR/h")
	is "$o $c" "{\"daemon\":\"stopped\",\"result\":\"$2\"} $3" "$4"
}
check_convert '{"hires":' "invalid json format" 400 "broken JSON: invalid json format, 400"
check_convert '{"hires":{"site":"site01","path_head":"/a"},"template":"t1"}' "invalid json key" 400 \
	"no path_tail: invalid json key, 400"
check_convert '{"hires":{"site":"site01","path_head":"/a","path_tail":""}}' "invalid json key" 400 \
	"neither proc nor template: invalid json key"
check_convert '123' "invalid json key" 400 "a JSON scalar: invalid json key (as TMC)"
check_convert '{"hires":{"site":"nosite","path_head":"/a","path_tail":""},"template":"t1"}' \
	"invalid site value" 400 "unknown site: invalid site value"
check_convert '{"hires":{"site":"site01","path_head":"/a","path_tail":""},"template":"nope"}' \
	"invalid json key" 400 "unknown template: refused (TMC accepted it)"
grep -qi '^X-TMC-Error: .*template' "$T_DIR/h"; ok $? "the reason is in X-TMC-Error"
check_convert '{"hires":{"site":"site01","path_head":"/a/../../etc","path_tail":""},"template":"t1"}' \
	"invalid json key" 400 "path_head climbing out with ..: refused"
is "$(ls "$SPOOL/req" | wc -l)" 6 "refused jobs left nothing in req/ (4 jobs, 2 lists)"

# ---- status (doc/TMC.md, REST API: status) ----
st() { curl -s -G "$URL/api/" --data-urlencode act=status --data-urlencode "seq=$1"; }
is "$(st "$S1")" '{"status":"waiting"}' "status of a job in req/: waiting"
mv "$SPOOL/req/$S1" "$SPOOL/proc/$S1"
is "$(st "$S1")" '{"status":"starting"}' "in proc/ without .stat: starting"
out=$(curl -s -G "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$J")
is "$out" "{\"daemon\":\"stopped\",\"result\":\"duplicated\",\"seq\":\"$S1\"}" "the same job while it runs: duplicated (TMC saw only req/)"
printf '4' >"$SPOOL/proc/$S1.stat"
is "$(st "$S1")" '{"status":"processing","total":"4","processed":null,"finished":null}' \
	"bare count .stat (after a scan): processing, nulls"
printf '4\t4\t2' >"$SPOOL/proc/$S1.stat"
is "$(st "$S1")" '{"status":"processing","total":"4","processed":"4","finished":"2"}' \
	"total/dispatched/finished: processing, values as strings"
printf '{"status":"paused","pos":2,"cnt":4}' >"$SPOOL/proc/$S1.ctrl"
is "$(st "$S1")" '{"status":"paused","total":4,"processed":2,"finished":2}' "a paused ctrl overrides: its status, cnt, pos"
rm "$SPOOL/proc/$S1.ctrl"
printf '5\t5\t5' >"$SPOOL/proc/$S1.stat"
is "$(st "$S1")" '{"status":"finished","total":"5","processed":"5","finished":"5"}' "total == finished: finished"
mv "$SPOOL/proc/$S1" "$SPOOL/done/$S1"
rm "$SPOOL/proc/$S1.stat"
is "$(st "$S1")" '{"status":"finished but no info"}' "done/ without .stat: finished but no info"
out=$(curl -s -G "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$J")
S6=$(echo "$out" | jq -r .seq)
test "$(echo "$out" | jq -r .result)" = success -a "$S6" != "$S1" && rm "$SPOOL/req/$S6"
ok $? "once it has finished, the same job is a new job"
is "$(code_of "$URL/api/?act=status&seq=999999999999999")" 404 "an unknown seq: 404"
is "$(st 999999999999999)" '{"status":"not found"}' "... with TMC's not found body"
is "$(code_of "$URL/api/?act=status&seq=..%2F..%2Fetc%2Fpasswd")" 400 "seq ../../etc/passwd: 400, no path is built"

# ---- seqdetail, filelist, errorlist, fileresult (6.4-6.7) ----
printf '/0000172.jpg\t8\t8\t0\n/0000165.jpg\t8\t7\t1\n   \t1\t1\t1\n/sub/a.jpg\t8\t0\t1\n/한글.jpg\t8\t8\t0\n/bad.jpg\t-1\t0\t1\n' \
	>"$SPOOL/done/$S1.result"
get() { curl -s "$URL/api/?$1"; }
is "$(get "act=seqdetail&seq=$S1")" '{"total":5,"success":2,"error":3,"result":"found"}' "seqdetail: counts as integers"
is "$(get "act=seqdetail&seq=$S2")" '{"result":"not found"}' "seqdetail of a job without a result yet: not found"
is "$(code_of "$URL/api/?act=seqdetail&seq=$S2")" 200 "... with 200: the job exists"
is "$(get "act=filelist&seq=$S1")" \
	'{"list":["\/0000172.jpg","\/0000165.jpg","\/sub\/a.jpg","\/\ud55c\uae00.jpg","\/bad.jpg"],"start":0,"offset":5,"result":"found"}' \
	"filelist: PHP's escaping (\\/ and \\uXXXX), start 0, offset = count"
is "$(get "act=filelist&seq=$S1&start=2&offset=2")" \
	'{"list":["\/sub\/a.jpg","\/\ud55c\uae00.jpg"],"start":"2","offset":2,"result":"found"}' \
	"filelist start=2&offset=2: start counts every line, as a string"
is "$(get "act=filelist&seq=$S1&start=abc&offset=0" | jq -c '[.start, .offset]')" '[0,5]' \
	"start not numeric: 0; offset 0 (empty in PHP): 10000"
is "$(get "act=filelist&seq=$S1&start=99")" '{"start":"99","offset":0,"result":"found"}' "past the end: no list key"
is "$(get "act=errorlist&seq=$S1")" \
	'{"list":["\/0000165.jpg","\/sub\/a.jpg","\/bad.jpg"],"start":0,"offset":3,"result":"found"}' \
	"errorlist: rows with warnings or -1"
is "$(get "act=errorlist&seq=$S1&start=4&offset=20000")" \
	'{"list":["\/bad.jpg"],"start":"4","offset":1,"result":"found"}' "errorlist start is a row of the result file"
is "$(get "act=fileresult&seq=$S1&val=/0000165.jpg")" \
	"{\"seq\":\"$S1\",\"filename\":\"\\/0000165.jpg\",\"result\":\"found\",\"requested\":\"8\",\"success\":\"7\",\"warning\":\"1\"}" \
	"fileresult: TMC's keys, values as strings"
is "$(get "act=fileresult&seq=$S1&val=/none.jpg")" \
	"{\"seq\":\"$S1\",\"filename\":\"\\/none.jpg\",\"result\":\"not found\"}" "fileresult of a file not in the job"
cp "$SPOOL/req/$S2" "$SPOOL/err/555555555555555"
is "$(get "act=errorlist&seq=555555555555555")" '{"result":"file read error"}' "errorlist of an err/ job (its JSON): file read error"
printf '{"result":"source not found","file":["/a.jpg","/b.jpg","/c.jpg"]}' >"$SPOOL/err/555555555555556"
printf '3\t3\t1' >"$SPOOL/proc/555555555555556.stat"
is "$(st 555555555555555)|$(st 555555555555556)" \
	'{"status":"error","result":"unknown error"}|{"status":"error","result":"source not found","total":"3","processed":"3","finished":"1"}' \
	"status of a job in err/: error, with the reason err/<seq> gives (TMC: not found)"
is "$(get "act=errorlist&seq=555555555555556&start=1")" \
	'{"list":["\/b.jpg","\/c.jpg"],"start":"1","offset":2,"result":"found"}' "errorlist of an err/ error report: its file list"

# ---- control acts (README; TMC had none) ----
ctl() { curl -s -D "$T_DIR/hc" "$URL/api/?act=$1&seq=$2"; }
is "$(ctl pause "$S2")" "{\"daemon\":\"stopped\",\"result\":\"success\",\"seq\":\"$S2\"}" "pause of a waiting job: success"
is "$(cat "$SPOOL/req/$S2.ctrl")" '{"status":"pause"}' "... req/$S2.ctrl = {\"status\":\"pause\"} (tmc-jobs moves it to proc/)"
mv "$SPOOL/req/$S2" "$SPOOL/proc/$S2"
mv "$SPOOL/req/$S2.ctrl" "$SPOOL/proc/$S2.ctrl" # as tmc-jobs does
printf '{"status":"paused","pos":1,"cnt":3}' >"$SPOOL/proc/$S2.ctrl"
is "$(st "$S2")" '{"status":"paused","total":3,"processed":1,"finished":1}' "status of a paused running job: proc/<seq>.ctrl"
for a in resume stop cancel; do
	out=$(ctl "$a" "$S2")
	test "$(echo "$out" | jq -r .result)" = success && test "$(cat "$SPOOL/req/$S2.ctrl")" = "{\"status\":\"$a\"}"
	ok $? "$a of a running job: req/$S2.ctrl = {\"status\":\"$a\"}"
done
is "$(st "$S2")" '{"status":"cancel","total":3,"processed":1,"finished":1}' \
	"status shows the newest command, not yet taken by tmc-jobs (as TMC showed its ctrl)"
ctl pause "$S1" >/dev/null
grep -q '^HTTP/1.1 409' "$T_DIR/hc" && test ! -e "$SPOOL/req/$S1.ctrl"; ok $? "pause of a finished job: 409, no ctrl"
ctl cancel 888888888888888 >/dev/null
grep -q '^HTTP/1.1 404' "$T_DIR/hc"; ok $? "cancel of an unknown job: 404"

# ---- routing, acts, methods ----
is "$(get "act=STATUS&seq=$S2" | jq -r .status)" cancel "act names ignore case (PHP method_exists)"
is "$(get "act=nothing")$(code_of "$URL/api/?act=nothing")" '{"result":"Invalid act value"}400' "unknown act: TMC's body, 400"
is "$(curl -s "$URL/api/")" '{"result":"Invalid act value"}' "no act at all: the same"
is "$(code_of -X PUT "$URL/api/?act=status&seq=$S1")" 405 "PUT: 405"
is "$(code_of -I "$URL/api/?act=convert&json=1")$(code_of -I "$URL/api/?act=status&seq=$S1")" 405200 \
	"HEAD: 405 for convert (it would queue), answered for status"
is "$(code_of "$URL/index.html")" 404 "another path: 404"

# ---- Idempotency-Key ----
J5=$(job_json '"overwrite":true')
o1=$(curl -s -H 'Idempotency-Key: retry-7' "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$J5")
S5=$(echo "$o1" | jq -r .seq)
mv "$SPOOL/req/$S5" "$SPOOL/done/$S5" # it ran: no longer a duplicate
o2=$(curl -s -H 'Idempotency-Key: retry-7' "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$J5")
is "$o2" "$o1" "a retried convert with the same Idempotency-Key: the same answer and seq"
test ! -e "$SPOOL/req/$S5" && [ "$(ls "$SPOOL/req" | grep -c '^[0-9]*$')" -eq 2 ]; ok $? "... and no second job"
is "$(code_of -H 'Idempotency-Key: retry-7' "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$J")" 422 \
	"the same key with another job: 422"

# ---- metrics ----
mkdir -p "$SPOOL/stages/t1/00-A/"{new/a,new/b,cur,err/c}
curl -s -D "$T_DIR/hm" "$URL/metrics" >"$T_DIR/metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T_DIR/hm"; ok $? "/metrics: Prometheus text 0.0.4"
grep -qx 'tmc_stage_items{template="t1",step="00-A",state="waiting"} 2' "$T_DIR/metrics" &&
	grep -qx 'tmc_stage_items{template="t1",step="00-A",state="failed"} 1' "$T_DIR/metrics" &&
	grep -qx "tmc_jobs{state=\"waiting\"} $(ls "$SPOOL/req" | grep -c '^[0-9]*$')" "$T_DIR/metrics" &&
	grep -qx 'tmc_jobs{state="failed"} 2' "$T_DIR/metrics"
ok $? "/metrics counts stage items and job files"

# tmcwatch submit shares job_queue with the shim
job_json '"capture":5' >"$T_DIR/job.json"
seq=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" 2>/dev/null | tail -1)
[[ $seq =~ ^[0-9]{15}$ ]] && test -e "$SPOOL/req/$seq"; ok $? "tmcwatch submit still queues ($seq)"

stop_httpd
is "$HTTPD_RC" 0 "SIGTERM: exit 0"

# end to end: tmcwatch runs what the shim queued, tmc-notify calls back
rm -rf "$SPOOL"
http_config
start_receiver
mkdir -p "$SITE/e2e"
for f in a b c; do echo "e2e $f $RANDOM" >"$SITE/e2e/$f.jpg"; done
printf '/a.jpg\n/b.jpg\n/c.jpg\n' >"$T_DIR/e2e.list"
start_daemon
start_httpd
JE="{\"hires\":{\"site\":\"site01\",\"path_head\":\"/e2e\",\"path_tail\":\"\",\"filelist\":true,\"callback\":\"$RURL/ok/e2e\"},\"template\":\"t1\"}"
seq=$(curl -s "$URL/api/" -F act=convert -F "json=$JE" -F "fileupload=@$T_DIR/e2e.list" | jq -r .seq)
wait_for 60 eval '[ "$(st "$seq" | jq -r .status)" = finished ]'
is "$(st "$seq")|$(get "act=seqdetail&seq=$seq")" \
	'{"status":"finished","total":"3","processed":"3","finished":"3"}|{"total":3,"success":3,"error":0,"result":"found"}' \
	"a filelist job through the shim runs: status finished, seqdetail"
cmp -s "$SITE/e2e/a.jpg" "$SITE/out1/a.jpg" && cmp -s "$SITE/e2e/c.jpg" "$SITE/out1/c.jpg"
ok $? "... its outputs are there"
wait_for 30 eval '[ "$(requests_to /ok/e2e)" -ge 1 ]'
is "$(jq -c 'select(.path == "/ok/e2e") | .fields' "$T_DIR/receiver.log")" \
	"{\"processed\":\"3\",\"created\":\"3\",\"warn\":\"0\",\"seq\":\"$seq\",\"result\":\"1\",\"count\":\"3\"}" \
	"... and tmc-notify calls its callback with TMC's fields"
stop_httpd
stop_daemon
