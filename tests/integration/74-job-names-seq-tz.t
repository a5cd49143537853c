#!/bin/bash
# TMC's job files and seqs. A job copied into req/ runs under its own name
# (req/myjob.json -> done/myjob.json, and the API answers for that seq); a
# second job of a seq already in done/ goes to err/ with a reason, as TMC
# did; a job with an unknown site ends in done/ with total 0 and its
# callback (result 0); a name that cannot be a seq goes to err/ under a
# fresh seq. seq_timezone dates every seq made (tmcwatch submit,
# act=convert, tmc-jobs) in that zone, whatever the host's TZ; an unknown
# zone fails `tmcwatch check`.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 13

export TZ=Pacific/Honolulu # the host's local time, as the programs see it
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
tz_config() { # tz_config [ZONE]
	write_config "$COPY2" "\"http\": { \"port\": $PORT }, ${1:+\"seq_timezone\": \"$1\",}"
}
# seq_in SEQ ZONE BEFORE: the seq's yymmddHH is the zone's, read before or now
seq_in() { [ "${1:0:8}" = "$3" ] || [ "${1:0:8}" = "$(TZ=$2 date +%y%m%d%H)" ]; }
hour() { TZ=$1 date +%y%m%d%H; }
make_tree g 3
tree_job g

# ---- seq_timezone ----
tz_config
b=$(hour Pacific/Honolulu)
s=$(submit "$T_DIR/g.json")
seq_in "$s" Pacific/Honolulu "$b"
ok $? "no seq_timezone: submit's seq is dated in local time (TZ=$TZ: $s)"
rm -f "$SPOOL/req/$s"

tz_config Asia/Seoul
b=$(hour Asia/Seoul)
s=$(submit "$T_DIR/g.json")
seq_in "$s" Asia/Seoul "$b"
ok $? "seq_timezone Asia/Seoul: submit's seq follows Seoul ($s, Seoul $(hour Asia/Seoul))"
rm -f "$SPOOL/req/$s"
start_httpd
b=$(hour Asia/Seoul)
s=$(curl -s "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$(cat "$T_DIR/g.json")" | jq -r .seq)
seq_in "$s" Asia/Seoul "$b"
ok $? "seq_timezone Asia/Seoul: act=convert's seq follows Seoul ($s)"
rm -f "$SPOOL/req/$s"
stop_httpd

tz_config UTC
b=$(hour UTC)
s=$(submit "$T_DIR/g.json")
seq_in "$s" UTC "$b"
ok $? "seq_timezone UTC: submit's seq follows UTC ($s, UTC $(hour UTC))"
rm -f "$SPOOL/req/$s"

tz_config Asia/Seul
"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
rc=$?
[ $rc = 78 ] && grep -q 'seq_timezone: unknown time zone "Asia/Seul"' "$T_DIR/check.out"
ok $? "tmcwatch check: an unknown zone is an error (exit $rc: $(head -1 "$T_DIR/check.out"))"
tz_config ../../etc/passwd
"$BIN/tmcwatch" -c "$CONF" check >/dev/null 2>&1
is $? 78 "tmcwatch check: a path is no zone"

# ---- job files under their own names ----
tz_config Asia/Seoul
start_daemon
start_httpd
ok $? "daemon and tmc-httpd started"
cp "$T_DIR/g.json" "$SPOOL/req/myjob.json"
wait_done myjob.json 90
rows_are myjob.json 3 && outputs_of g && test -e "$SPOOL/done/myjob.json.file" &&
	test ! -e "$SPOOL/req/myjob.json"
ok $? "req/myjob.json ran as seq myjob.json: done/myjob.json, its .file, 3 rows"
is "$(curl -s "$URL/api/?act=status&seq=myjob.json")$(curl -s "$URL/api/?act=seqdetail&seq=myjob.json")" \
	'{"status":"finished","total":"3","processed":"3","finished":"3"}{"total":3,"success":3,"error":0,"result":"found"}' \
	"the API answers for seq myjob.json"

# the same name again: that seq already ran
job_json '"path_head": "/g", "path_tail": "", "include": ["*.nothing"]' >"$SPOOL/req/myjob.json"
wait_for 60 test -e "$SPOOL/err/myjob.json.reason"
grep -q 'job myjob.json already ran (done/myjob.json exists)' "$SPOOL/err/myjob.json.reason" &&
	grep -q nothing "$SPOOL/err/myjob.json" && rows_are myjob.json 3 && test ! -e "$SPOOL/req/myjob.json"
ok $? "a second req/myjob.json: err/myjob.json with a reason; done/myjob.json untouched"

# an unknown site: done/, total 0, the callback says result 0
printf '{"hires": {"site": "nosuch", "path_head": "/g", "path_tail": "", "callback": "http://127.0.0.1:9/cb"}, "template": "two"}' \
	>"$SPOOL/req/nosite.json"
wait_done nosite.json 60
is "$(curl -s "$URL/api/?act=status&seq=nosite.json") $(rows nosite.json) $(cb_field nosite.json result) $(cb_field nosite.json count)" \
	'{"status":"finished","total":"0","processed":"0","finished":"0"} 0 0 0' \
	"unknown site: done/ with total 0 and no row (as TMC), callback result 0, count 0"

# a name that cannot be a seq: err/ under a fresh seq dated in seq_timezone
b=$(hour Asia/Seoul)
cp "$T_DIR/g.json" "$SPOOL/req/bad name.json"
wait_for 60 eval 'grep -l -F "req/bad name.json" "$SPOOL"/err/*.reason >/dev/null 2>&1'
r=$(grep -l -F "req/bad name.json" "$SPOOL"/err/*.reason | head -1)
s=$(basename "${r%.reason}")
[[ $s =~ ^[0-9]{15}$ ]] && seq_in "$s" Asia/Seoul "$b" && grep -q 'this name cannot be a seq' "$r" &&
	cmp -s "$T_DIR/g.json" "$SPOOL/err/$s"
ok $? "req/'bad name.json': err/$s (a fresh seq in Seoul time), the reason names the file"
stop_httpd
stop_daemon
is "$DAEMON_RC" 0 "daemon stopped cleanly"
