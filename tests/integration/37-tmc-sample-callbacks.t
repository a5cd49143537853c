#!/bin/bash
# TMC's own sample configuration (tests/tmc-sample) runs: `tmcwatch check`
# accepts it with only the site roots and the callback URL rewritten, and
# template_site02's ThumbV step, whose "callback" is a curl action, sends
# one GET per saved output to a real receiver, with file=<the renamed path
# and the original's extension> (a PNG original: .png, not the .jpg
# written); a skipped output (exists, overwrite false) sends none; with the
# receiver down the GET is retried and delivered once it is up.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 9

PORT=$(free_port)
start_receiver receiver "$PORT"
S=$TMC_SRC/tests/tmc-sample
mkdir -p "$T_DIR/conf" "$T_DIR/site01" "$T_DIR/site02/source"
cp "$S"/* "$T_DIR/conf/"
CONF=$T_DIR/conf/config.json
sed -i "s|\"/data/site0|\"$T_DIR/site0|" "$CONF"
sed -i "s|http://192.168.20.239/|$RURL/ok/|" "$T_DIR/conf/template.json"
"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
ok $? "check accepts TMC's sample config.json and template.json ($(tail -1 "$T_DIR/check.out"))"

# the daemon's own keys: where its spool and log are, a quick retry
sed -i "0,/{/s|{|{ \"spool_dir\": \"$SPOOL\", \"log_file\": \"$T_DIR/tmcwatch.log\", \"retry_delay\": 1, \"stage_workers\": 1,|" "$CONF"
IN=$T_DIR/site02/in
mkdir -p "$IN/one" "$IN/two"
gm convert -size 320x240 plasma:fractal "$IN/one/a.jpg"
gm convert -size 320x240 plasma:fractal "$IN/one/b b&c.jpg"
gm convert -size 320x240 plasma:fractal "$IN/one/d.png"
gm convert -size 320x240 plasma:fractal "$IN/two/e.jpg"
job() { # job FOLDER [HIRES_KEYS]
	printf '{"hires": {"site": "site02", "path_head": "/in", "path_tail": "/%s", "include": ["*.jpg", "*.png"]%s}, "template": "template_site02"}\n' \
		"$1" "${2:+, $2}" >"$T_DIR/job-$1.json"
	"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job-$1.json" 2>>"$T_DIR/submit.err" | tail -1
}
gets() { jq -r 'select(.path | startswith("/ok/tmc_callback.php")) | .path' "$T_DIR/receiver.log" 2>/dev/null; }
files() { gets | python3 -c 'import sys, urllib.parse
for l in sys.stdin: print(urllib.parse.parse_qs(urllib.parse.urlsplit(l.strip()).query)["file"][0])' | LC_ALL=C sort | tr '\n' '|'; }
outbox_idle() { [ -z "$(find "$SPOOL/outbox/new" "$SPOOL/outbox/cur" -mindepth 1 2>/dev/null)" ]; }

start_daemon
seq1=$(job one)
wait_for 120 test -e "$SPOOL/done/$seq1"
ok $? "a job of three originals through template_site02 is done ($seq1)"
wait_for 30 eval '[ "$(gets | wc -l)" -ge 3 ] && outbox_idle'
is "$(files)" "/a.jpg|/b b&c.jpg|/d.png|" \
	"one GET per saved ThumbV output, file= the path with the original's extension"
test -e "$T_DIR/site02/site02/ThumbV/one/d.jpg"
ok $? "... while the PNG's ThumbV output is a .jpg"
gets | grep -qF 'file=/b%20b%26c.jpg'
ok $? "a name with a space and & is percent-encoded, so the receiver reads it whole"

seq2=$(job one '"overwrite": false')
wait_for 120 test -e "$SPOOL/done/$seq2"
wait_for 30 outbox_idle
is "$(gets | wc -l)" 3 "the same job with overwrite false skips ThumbV: no GET"

kill -TERM "$RPID"
wait "$RPID" 2>/dev/null
seq3=$(job two)
wait_for 120 test -e "$SPOOL/done/$seq3"
wait_for 60 grep -q 'attempt 1 failed, retry in .*callback curl=.*file=/e.jpg' "$T_DIR/tmcwatch.log"
ok $? "the receiver is down: the GET fails and waits for its retry"
start_receiver receiver "$PORT"
wait_for 60 eval '[ "$(gets | grep -c "file=/e.jpg")" -ge 1 ] && outbox_idle'
ok $? "the receiver is up again: the GET is delivered"
grep -q "callback curl=$RURL/ok/tmc_callback.php?file=/e.jpg for job:$seq3 .* step ThumbV: delivered (HTTP 200, attempt [2-9]" \
	"$T_DIR/tmcwatch.log"
ok $? "the log names the URL, the job, the step and the attempt"
stop_daemon
