#!/bin/bash
# A job's own "proc" instead of a template (doc/TMC.md, Steps; TMC's README
# converts a video and images in one job that way): it runs as a template
# of its own, inline-<digest>, kept in <spool>/templates/. One job through
# `tmcwatch submit` and one through real curl to tmc-httpd act=convert, each
# with an mp4 (an image step capturing a frame, an ffmpeg step), a JPEG and
# a PNG: every output has the right size and kind, the result rows are
# right, both jobs share one template, status and queue know its stages.
# A bad inline proc is refused by submit and by act=convert with its
# file:line:col reason, and nothing is queued.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
. "$TMC_SRC/tests/lib/video.sh"
plan 19

http_config "" '"inline_idle": 2,'
for d in 1 2; do
	mkdir -p "$SITE/in/$d"
	gm convert -size 800x600 xc:'#3060c0' "$SITE/in/$d/a.jpg"
	gm convert -size 300x600 xc:'#c03030' "$SITE/in/$d/b.png"
	make_timed "$SITE/in/$d/v.mp4" 3
done

PROC='[
 {"name": "Origin", "source": "hires", "source_ext": "jpg,png", "size": [400, 400], "path_head": "/Origin"},
 {"name": "Origin", "source": "hires", "source_ext": "mp4", "size": [200, 200], "path_head": "/Origin"},
 {"name": "Preview", "source": "Origin", "source_ext": "jpg,png", "size": [100, 100], "path_head": "/Preview"},
 {"name": "Preview", "source": "hires", "source_ext": "mp4", "ffmpeg": true, "size": [160, 160],
  "path_head": "/Flv", "bitrate": 300}
]'
# inline_job TAIL [PROC]: a job for $SITE/in/TAIL with an inline proc
inline_job() {
	printf '{"hires": {"site": "site01", "path_head": "/in", "path_tail": "/%s", "include": ["*.jpg", "*.png", "*.mp4"], "capture": 1}, "proc": %s}\n' \
		"$1" "${2:-$PROC}"
}
geom() { gm identify -format '%w %h %m' "$1" 2>/dev/null | head -1; }
vgeom() { ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 "$1" 2>/dev/null; }
done_of() { test -e "$SPOOL/done/$1"; }
# outputs_of TAIL: every output of the job on $SITE/in/TAIL, size and kind
outputs_of() {
	local t=$1
	[ "$(geom "$SITE/Origin/$t/a.jpg")" = "400 300 JPEG" ] &&
		[ "$(geom "$SITE/Origin/$t/b.jpg")" = "200 400 JPEG" ] &&
		[ "$(geom "$SITE/Origin/$t/v.jpg")" = "200 150 JPEG" ] &&
		[ "$(geom "$SITE/Preview/$t/a.jpg")" = "100 75 JPEG" ] &&
		[ "$(geom "$SITE/Preview/$t/b.jpg")" = "50 100 JPEG" ] &&
		[ "$(vgeom "$SITE/Flv/$t/v.mp4")" = "h264,160,120" ] &&
		! [ -e "$SITE/Preview/$t/v.jpg" ]
}
rows_of() { LC_ALL=C sort "$SPOOL/done/$1.result" 2>/dev/null; }
# requested: the proc's entries (doc/TMC.md, Server files); created: the two
# that apply to each file
ROWS=$(printf '/a.jpg\t4\t2\t0\n/b.png\t4\t2\t0\n/v.mp4\t4\t2\t0')

start_daemon
ok $? "daemon started"
start_httpd
ok $? "tmc-httpd answers"

# ---- through tmcwatch submit ----
inline_job 1 >"$T_DIR/j1.json"
seq1=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/j1.json" 2>"$T_DIR/submit.err" | tail -1)
[[ $seq1 =~ ^[0-9]{15}$ ]]
ok $? "submit accepts a job with an inline proc ($seq1; $(cat "$T_DIR/submit.err"))"
wait_for 180 done_of "$seq1"
ok $? "it reaches done/"
is "$(rows_of "$seq1")" "$ROWS" "done/<seq>.result: every file, 4 steps requested, 2 created, no warning"
check "every output: Origin 400 box (mp4: frame at 1 s), Preview 100 box, Flv h264 160 box" outputs_of 1
tpl=$(ls "$SPOOL/templates" 2>/dev/null | sed -n 's/^\(inline-[0-9a-f]\{12\}\)\.json$/\1/p')
[ -n "$tpl" ] && [ "$(ls "$SPOOL/templates" | wc -l)" = 1 ]
ok $? "its template is kept as templates/$tpl.json"
is "$(ls "$SPOOL/stages/$tpl" 2>/dev/null | tr '\n' ' ')" "00-Origin 01-Origin 02-Preview 03-Preview " \
	"its stage folders are stages/$tpl/NN-step"
grep -q "^$tpl/00-Origin" <("$BIN/tmcwatch" -c "$CONF" status 2>&1) ||
	grep -q "$tpl/00-Origin" <("$BIN/tmcwatch" -c "$CONF" status --json 2>&1)
ok $? "status shows the inline template's stages"

# ---- through tmc-httpd act=convert, real curl ----
out=$(curl -s "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$(inline_job 2)")
seq2=$(jq -r .seq <<<"$out" 2>/dev/null)
[ "$(jq -r .result <<<"$out" 2>/dev/null)" = success ] && [[ $seq2 =~ ^[0-9]{15}$ ]]
ok $? "act=convert accepts it: $out"
wait_for 180 done_of "$seq2"
ok $? "it reaches done/"
is "$(rows_of "$seq2")" "$ROWS" "its result rows"
check "every output of the second job" outputs_of 2
is "$(ls "$SPOOL/templates" | tr '\n' ' ')" "$tpl.json " "the same proc shares the one template"

# ---- bad inline procs: refused at the door, nothing queued ----
before=$(ls "$SPOOL/req" "$SPOOL/proc" "$SPOOL/err" | grep -c '^[0-9]')
inline_job 1 '[{"name": "A", "source": "Nope", "size": [10, 10], "path_head": "/x"}]' >"$T_DIR/bad1.json"
"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/bad1.json" >/dev/null 2>"$T_DIR/bad1.err"
rc=$?
[ $rc -ne 0 ] && grep -q 'bad1.json:1:[0-9]*: proc\[0\].source: source "Nope" is not an earlier step' "$T_DIR/bad1.err"
ok $? "submit refuses a source naming no step, with file:line:col (rc $rc: $(head -1 "$T_DIR/bad1.err"))"
inline_job 1 '[{"name": "A", "source": "hires", "size": [10], "path_head": "/x"}]' >"$T_DIR/bad2.json"
"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/bad2.json" >/dev/null 2>"$T_DIR/bad2.err"
[ $? -ne 0 ] && grep -q 'proc\[0\].size: expected \[width, height\]' "$T_DIR/bad2.err"
ok $? "submit refuses a bad size ($(head -1 "$T_DIR/bad2.err"))"
# convert_bad PROC: act=convert's answer, then its X-TMC-Error header
convert_bad() {
	curl -s -D "$T_DIR/h" "$URL/api/" --data-urlencode act=convert \
		--data-urlencode "json=$(inline_job 1 "$1")"
	echo
	sed -n 's/^X-TMC-Error: //Ip' "$T_DIR/h"
}
out=$(convert_bad '[{"name": "A", "source": "Nope", "size": [10, 10], "path_head": "/x"}]')
[ "$(head -1 <<<"$out" | jq -r .result)" = "invalid json key" ] &&
	grep -q 'proc\[0\].source: source "Nope" is not an earlier step' <<<"$out"
ok $? "act=convert refuses it with the reason: $(tr '\n' ' ' <<<"$out")"
out=$(convert_bad '[{"name": "A", "source": "hires", "size": [10, -3], "path_head": "/x"}]')
[ "$(head -1 <<<"$out" | jq -r .result)" = "invalid json key" ] && grep -q 'proc\[0\].size' <<<"$out"
ok $? "act=convert refuses a bad size: $(tr '\n' ' ' <<<"$out")"
is "$(ls "$SPOOL/req" "$SPOOL/proc" "$SPOOL/err" | grep -c '^[0-9]') $(ls "$SPOOL/templates" | wc -l)" "$before 1" \
	"nothing was queued, no template was made"
stop_httpd
stop_daemon
