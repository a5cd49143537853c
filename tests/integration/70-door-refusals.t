#!/bin/bash
# The door refuses what tmc-jobs would send to err/ as a whole: tmc-httpd's
# act=convert and `tmcwatch submit` run tmc-jobs' own check (job_accept,
# config/jobspec.c) and answer with the reason before anything is queued:
# an unknown site or template, a target root outside every site, a rename
# replacement or a path that climbs with "..", a 300-byte path component,
# a 5,000-byte path, an inline proc with a step that reads no step, no include, a bad
# callback; for an uploaded list, a line that climbs once renamed. A list
# line naming a file that does not exist is per-file, so it is accepted.
# Each refused job leaves req/ empty.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 25

http_config '"status_codes": "rest"'
start_httpd
ok $? "tmc-httpd answers /healthz"
mkdir -p "$SITE/in"

long=$(printf 'a%.0s' $(seq 300))
seg=$(printf 'b%.0s' $(seq 200))
deep=$(for i in $(seq 25); do printf '/%s' "$seg"; done) # 25 x 201 = 5,025 bytes

hires='"site":"site01","path_head":"/in","path_tail":"","include":["*.jpg"]'
# name | job | what the reason names
cases=(
	"unknown site|{\"hires\":{${hires/site01/nosite}},\"template\":\"t1\"}|site"
	"unknown template|{\"hires\":{$hires},\"template\":\"nope\"}|template"
	"target root outside every site|{\"hires\":{$hires},\"target\":{\"root\":\"/tmp\"},\"template\":\"t1\"}|target.root"
	"rename that climbs|{\"hires\":{$hires,\"rename\":{\"/\":\"/../../\"}},\"template\":\"t1\"}|climbs out"
	"path_tail that climbs|{\"hires\":{${hires/\"path_tail\":\"\"/\"path_tail\":\"/x/../../..\"}},\"template\":\"t1\"}|climbs out"
	"300-byte path component|{\"hires\":{${hires/\"path_tail\":\"\"/\"path_tail\":\"/$long\"}},\"template\":\"t1\"}|NAME_MAX"
	"5,000-byte path|{\"hires\":{${hires/\"path_tail\":\"\"/\"path_tail\":\"$deep\"}},\"template\":\"t1\"}|PATH_MAX"
	"inline proc whose step reads no step|{\"hires\":{$hires},\"proc\":[{\"name\":\"Z\",\"source\":\"Y\",\"kind\":\"copy\",\"path_head\":\"/zz\"}]}|is not an earlier step"
	"no include|{\"hires\":{\"site\":\"site01\",\"path_head\":\"/in\",\"path_tail\":\"\"},\"template\":\"t1\"}|hires.include"
	"callback that is no URL|{\"hires\":{$hires,\"callback\":\"ftp://x\"},\"template\":\"t1\"}|hires.callback"
)

for c in "${cases[@]}"; do
	IFS='|' read -r name job why <<<"$c"
	body=$(curl -s -D "$T_DIR/h" "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$job")
	code=$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$T_DIR/h")
	err=$(sed -n 's/^X-TMC-Error: //Ip' "$T_DIR/h" | tr -d '\r')
	result=$(echo "$body" | jq -r .result)
	{ [ "$code" = 400 ] && [[ $result == invalid* ]] && [[ $err == *"$why"* ]] &&
		[ -z "$(ls -A "$SPOOL/req" | grep -v '^\.idempotency$')" ]; }
	ok $? "convert refuses: $name ($code $result; $err)"

	printf '%s' "$job" >"$T_DIR/job.json"
	"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" >"$T_DIR/sub.out" 2>"$T_DIR/sub.err"
	rc=$?
	{ [ $rc -ne 0 ] && grep -q -- "$why" "$T_DIR/sub.err" && [ ! -s "$T_DIR/sub.out" ] &&
		[ -z "$(ls -A "$SPOOL/req" | grep -v '^\.idempotency$')" ]; }
	ok $? "submit refuses: $name (rc $rc: $(head -c 200 "$T_DIR/sub.err"))"
done

# an uploaded list: a line that climbs once renamed ("/a./x.jpg" with
# "a" -> "." becomes "/../x.jpg") fails the whole job in tmc-jobs
JF="{\"hires\":{$hires,\"filelist\":true,\"rename\":{\"a\":\".\"}},\"template\":\"t1\"}"
printf '/ok.jpg\n/a./x.jpg\n' >"$T_DIR/list.txt"
body=$(curl -s -D "$T_DIR/h" "$URL/api/" -F act=convert -F "json=$JF" -F "fileupload=@$T_DIR/list.txt")
err=$(sed -n 's/^X-TMC-Error: //Ip' "$T_DIR/h" | tr -d '\r')
{ head -1 "$T_DIR/h" | grep -q ' 400' && [ "$(echo "$body" | jq -r .result)" = "file upload failed" ] &&
	[[ $err == *"file 2"*"climbs out"* ]] && [ -z "$(ls -A "$SPOOL/req" | grep -v '^\.idempotency$')" ]; }
ok $? "convert refuses a list whose line climbs once renamed ($err)"

# a file that does not exist yet is the file's problem, not the job's
printf '/ok.jpg\n/not/there/yet.jpg\n' >"$T_DIR/list.txt"
body=$(curl -s "$URL/api/" -F act=convert -F "json=$JF" -F "fileupload=@$T_DIR/list.txt")
seq=$(echo "$body" | jq -r .seq)
[ "$(echo "$body" | jq -r .result)" = success ] && [ -f "$SPOOL/req/$seq" ] && [ -f "$SPOOL/req/$seq.file" ]
ok $? "a list naming files that do not exist is accepted ($body)"

# and a good job still passes both doors
good="{\"hires\":{$hires},\"template\":\"t1\"}"
printf '%s' "$good" >"$T_DIR/job.json"
seq2=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" 2>"$T_DIR/sub.err")
echo "$seq2" | grep -Eq '^[0-9]{15}$' && [ -f "$SPOOL/req/$seq2" ]
ok $? "submit queues a good job ($seq2)"
body=$(curl -s "$URL/api/" --data-urlencode act=convert --data-urlencode "json=${good/\"\/in\"/\"\/in2\"}")
[ "$(echo "$body" | jq -r .result)" = success ]
ok $? "convert queues a good job ($body)"
