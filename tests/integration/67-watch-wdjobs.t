#!/bin/bash
# A watched folder's files as TMC's watchdog jobs (doc/TMC.md, Watchdog:
# jobs): JPEGs copied into the folder together make one job wd<seq> (17
# characters) with done/wd<seq>, .file and .result and proc/wd<seq>.stat;
# its rows follow TMC's rules (requested = every step of the template,
# the one skipped by source_ext included; a corrupt original fails once);
# the real tmc-httpd answers status, seqdetail, filelist, fileresult and
# errorlist for it as TMC's api.php did; a file copied more than min_sec
# later makes a second job; tmc-jobs takes neither.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
. "$TMC_SRC/tests/lib/http.sh"
if [ ! -x "$BIN/tmc-image" ] || ! command -v gm >/dev/null || ! command -v jq >/dev/null; then
	echo "1..0 # SKIP tmc-image, gm or jq missing"
	exit 0
fi
plan 18

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
# three steps: Thumb and Small for pictures, Clip only for mp4 (skipped, still requested)
WATCH_TPL=img watch_config '{ "img": { "proc": [
  {"name": "Thumb", "source": "hires", "size": [200, 200], "path_head": "/thumb"},
  {"name": "Small", "source": "Thumb", "size": [50, 50], "path_head": "/small"},
  {"name": "Clip", "source": "hires", "source_ext": "mp4", "kind": "copy", "path_head": "/clip"}
] } }' '"min_sec": 5, "include": ["*.jpg"], "exclude": ["*_l.jpg"], "overwrite": true' \
	"\"http\": { \"port\": $PORT }, \"seq_timezone\": \"Pacific/Kiritimati\","
start_watching
ok $? "daemon started, watcher ready"
start_httpd
ok $? "tmc-httpd answers"

wdjobs() { ls "$SPOOL/done" 2>/dev/null | grep -E '^wd[0-9]{15}$'; }
api() { curl -s -G "$URL/api/" --data-urlencode "act=$1" --data-urlencode "seq=$2" "${@:3}"; }

mkdir -p "$T_DIR/stage" "$SRC/a"
gm convert -size 400x300 plasma:fractal "$T_DIR/stage/one.jpg"
gm convert -size 300x400 gradient:red-blue "$T_DIR/stage/two.jpg"
head -c 5000 /dev/urandom >"$T_DIR/stage/bad.jpg"
zone_hour() { TZ=Pacific/Kiritimati date +%y%m%d%H; }
h0=$(zone_hour)
cp "$T_DIR/stage/one.jpg" "$T_DIR/stage/bad.jpg" "$SRC/"
cp "$T_DIR/stage/two.jpg" "$SRC/a/"
wait_for 120 eval '[ -n "$(wdjobs)" ]'
S=$(wdjobs)
ok $? "a watchdog job is finished in done/"
is "$(echo "$S" | wc -l) ${#S}" "1 17" "one job, its seq wd + 15 digits: 17 characters ($S)"
h=${S:2:8}
[ "$h" = "$h0" ] || [ "$h" = "$(zone_hour)" ]
ok $? "its date is in seq_timezone (Pacific/Kiritimati, UTC+14): $h, the zone's hour $h0"
is "$(sort "$SPOOL/done/$S.file" | tr '\n' ' ')" "/a/two.jpg /bad.jpg /one.jpg " \
	"done/$S.file: each file once, relative to the watch folder, with its leading /"
is "$(sort "$SPOOL/done/$S.result" | tr '\t\n' ', ')" "/a/two.jpg,3,2,0 /bad.jpg,3,0,1 /one.jpg,3,2,0 " \
	"rows: 3 steps requested (Clip skipped), 2 created; the corrupt one 0 created, 1 warning"
jq -e --arg dir /src '.hires.site == "site01" and .hires.path_head == $dir and .hires.path_tail == ""
	and .hires.include == ["*.jpg"] and .hires.exclude == ["*_l.jpg"] and .hires.overwrite == true
	and .hires.filelist == true and .template == "img" and (.hires | has("callback") | not)' \
	"$SPOOL/done/$S" >/dev/null
ok $? "done/$S is TMC's generated job, valid JSON: site, dir, patterns, overwrite, filelist, no callback"
is "$(cat "$SPOOL/proc/$S.stat")" "$(printf '3\t3\t3')" "proc/$S.stat: total, dispatched, finished"
test ! -e "$SPOOL/proc/$S" && test ! -e "$SPOOL/req/$S" && test ! -e "$SPOOL/err/$S"
ok $? "no job file in proc/, req/ or err/: tmc-jobs never adopts it"

# REST, expected values from TMC's rules (doc/TMC.md, REST API)
is "$(api status "$S")" '{"status":"finished","total":"3","processed":"3","finished":"3"}' \
	"status: total equals finished, counts as strings"
is "$(api seqdetail "$S")" '{"total":3,"success":2,"error":1,"result":"found"}' \
	"seqdetail: 3 rows, 2 without a warning, 1 error"
out=$(api filelist "$S")
is "$(echo "$out" | jq -r '.list | sort | join(" ")') $(echo "$out" | jq -c 'del(.list)')" \
	'/a/two.jpg /bad.jpg /one.jpg {"start":0,"offset":3,"result":"found"}' "filelist: every file, offset = count"
is "$(api errorlist "$S")" '{"list":["\/bad.jpg"],"start":0,"offset":1,"result":"found"}' \
	"errorlist: the corrupt file"
is "$(api fileresult "$S" --data-urlencode val=/a/two.jpg)" \
	"{\"seq\":\"$S\",\"filename\":\"\\/a\\/two.jpg\",\"result\":\"found\",\"requested\":\"3\",\"success\":\"2\",\"warning\":\"0\"}" \
	"fileresult: requested, created and warnings of its row"

# a file more than min_sec (5 s) after the first job closed: a second job
cp "$T_DIR/stage/one.jpg" "$SRC/three.jpg"
wait_for 120 eval '[ "$(wdjobs | wc -l)" -ge 2 ]'
S2=$(wdjobs | grep -v "^$S\$")
is "$(cat "$SPOOL/done/$S2.result" 2>/dev/null | tr '\t\n' ', ')" "/three.jpg,3,2,0 " "a second job $S2 with only the later file"
is "$(api status "$S2")" '{"status":"finished","total":"1","processed":"1","finished":"1"}' "status of the second job"
wait_idle 30
is "$(ls "$SPOOL/err" | wc -l) $(cat "$SPOOL/done/"wd*.result | wc -l)" "0 4" \
	"nothing in err/ (tmc-jobs took no wd job), one row per file over both jobs"
stop_httpd
stop_daemon
