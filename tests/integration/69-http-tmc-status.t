#!/bin/bash
# TMC's api.php answered HTTP 200 to everything, and PHP clients
# (file_get_contents fails on 4xx/5xx) and `curl -f` scripts depend on it.
# By default (http.status_codes "tmc") every act with a bad or unknown
# input answers 200 with TMC's exact body, and X-TMC-Error says what went
# wrong; with "status_codes": "rest" the same bodies come with 400/404/409.
# Refusals before any act (unknown path, a method) keep their status.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 26

http_config
start_httpd
ok $? "tmc-httpd answers /healthz (no status_codes key: the default)"

# a finished job, written as tmc-jobs leaves it
DONE=210101000000001
printf '%s' "$(job_json)" >"$SPOOL/done/$DONE"
: >"$SPOOL/done/$DONE.result"

# tmc LABEL WANT_BODY CURL_ARGS...: curl -f succeeds, HTTP 200, TMC's body,
# and an X-TMC-Error header
tmc() {
	local label=$1 want=$2 body rc err; shift 2
	body=$(curl -f -s -D "$T_DIR/h" --max-time 10 "$@")
	rc=$?
	err=$(sed -n 's/^X-TMC-Error: *//Ip' "$T_DIR/h" | tr -d '\r')
	{ [ $rc = 0 ] && head -1 "$T_DIR/h" | grep -q '^HTTP/1.1 200' && [ "$body" = "$want" ] &&
		[ -n "$err" ]; }
	ok $? "$label: curl -f ok, 200, $want, X-TMC-Error: $err"
	[ "$body" = "$want" ] || diag "rc $rc body $body"
}
conv() { printf '{"daemon":"stopped","result":"%s"}' "$1"; }
A=$URL/api/

tmc "convert without json" "$(conv 'invalid json format')" "$A" -d act=convert
tmc "convert, broken JSON" "$(conv 'invalid json format')" "$A" --data-urlencode act=convert \
	--data-urlencode 'json={"hires":'
tmc "convert, no path_tail" "$(conv 'invalid json key')" "$A" --data-urlencode act=convert \
	--data-urlencode 'json={"hires":{"site":"site01","path_head":"/a"},"template":"t1"}'
tmc "convert, unknown site" "$(conv 'invalid site value')" "$A" --data-urlencode act=convert \
	--data-urlencode 'json={"hires":{"site":"nope","path_head":"/a","path_tail":""},"template":"t1"}'
tmc "convert, filelist without its upload" "$(conv 'file upload failed')" "$A" -F act=convert \
	-F "json=$(job_json '"filelist":true')"
is "$(ls -A "$SPOOL/req" | grep -v '^\.idempotency$')" "" "nothing was queued"

U=999999999999999
tmc "status of an unknown seq" '{"status":"not found"}' "$A?act=status&seq=$U"
tmc "seqdetail of an unknown seq" '{"result":"not found"}' "$A?act=seqdetail&seq=$U"
tmc "filelist of an unknown seq" '{"result":"not found"}' "$A?act=filelist&seq=$U"
tmc "errorlist of an unknown seq" '{"result":"not found"}' "$A?act=errorlist&seq=$U"
tmc "fileresult of an unknown seq" "{\"seq\":\"$U\",\"filename\":\"\\/a.jpg\",\"result\":\"not found\"}" \
	"$A?act=fileresult&seq=$U&val=/a.jpg"
tmc "status of seq ../../etc/passwd" '{"status":"not found"}' "$A?act=status&seq=..%2F..%2Fetc%2Fpasswd"
tmc "an unknown act" '{"result":"Invalid act value"}' "$A?act=nothing"
tmc "no act" '{"result":"Invalid act value"}' "$A"
tmc "pause of an unknown job" "{\"daemon\":\"stopped\",\"result\":\"not found\",\"seq\":\"$U\"}" \
	"$A?act=pause&seq=$U"
tmc "cancel of a finished job" "{\"daemon\":\"stopped\",\"result\":\"already finished\",\"seq\":\"$DONE\"}" \
	"$A?act=cancel&seq=$DONE"
grep -q "HTTP 409: job $DONE has finished" "$T_DIR/tmcwatch.log"
ok $? "the log keeps the REST status and the reason"

is "$(code_of "$URL/index.html")$(code_of -X PUT "$A?act=status&seq=$U")" 404405 \
	"before any act: an unknown path 404, PUT 405 (Apache did the same)"
stop_httpd

# "status_codes": "rest": the same bodies with REST statuses
rm -rf "$SPOOL"
http_config '"status_codes": "rest"'
A=$URL/api/
printf '%s' "$(job_json)" >"$SPOOL/done/$DONE"
start_httpd
ok $? "tmc-httpd with status_codes rest"
rest() { # rest LABEL WANT_CODE CURL_ARGS...
	local label=$1 want=$2; shift 2
	is "$(code_of "$@")" "$want" "rest: $label: $want"
}
rest "broken JSON" 400 "$A" --data-urlencode act=convert --data-urlencode 'json={"hires":'
rest "status of an unknown seq" 404 "$A?act=status&seq=$U"
rest "an unknown act" 400 "$A?act=nothing"
rest "pause of an unknown job" 404 "$A?act=pause&seq=$U"
rest "cancel of a finished job" 409 "$A?act=cancel&seq=$DONE"
stop_httpd

# any other value is a configuration error
http_config '"status_codes": "php"'
"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
rc=$?
[ $rc = 78 ] && grep -q 'http.status_codes: expected "tmc" or "rest", not "php"' "$T_DIR/check.out"
ok $? "tmcwatch check: status_codes \"php\" is an error (exit $rc)"
