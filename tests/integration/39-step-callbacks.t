#!/bin/bash
# Per-step callbacks (TMC's step "callback" actions) end to end with the
# real tmc-image and tmc-notify: `tmcwatch check` names a bad action with
# file:line:col; a saved output queues one GET (%file% percent-encoded) and
# one file drop (%datetime% named, %file% substituted), each delivered
# once; a stage killed after queuing and before its commit redoes the step
# and queues the same ids again, and nothing is sent or written twice; a
# job whose inline proc carries a callback is refused by `tmcwatch submit`.
# A stage killed with the output in place and its callbacks not yet queued
# (overwrite false) finds, redoing the step, the output its first attempt
# wrote: it writes it again and queues the callbacks (they were lost).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
plan 19

make_spool
start_receiver
mkdir -p "$T_DIR/drop"
TPL='{ "cb": { "proc": [
  {"name": "T", "source": "hires", "size": [100,100], "overwrite": true, "skipsamesize": false,
   "path_head": "/o",
   "callback": [ {"action": "curl", "target": "'"$RURL"'/ok/cb.php?file=%file%&n=1"},
                 {"action": "file", "target": "'"$T_DIR"'/drop/%datetime%",
                  "cmd": "{\"file\": \"%file%\"}"} ] }
] },
 "cbo": { "proc": [
  {"name": "Q", "source": "hires", "size": [100,100], "path_head": "/q",
   "callback": [ {"action": "curl", "target": "'"$RURL"'/ok/cb.php?file=%file%&n=2"} ] }
] } }'

# ---- check: bad actions, each with file:line:col
image_config '{ "bad": { "proc": [
  {"name": "A", "source": "hires", "size": [10,10], "path_head": "/a", "callback": {"action": "curl"}},
  {"name": "B", "source": "hires", "size": [10,10], "path_head": "/b", "callback": [
    {"action": "exec", "target": "/bin/sh"},
    {"action": "curl", "target": "ftp://x/%file%"},
    {"action": "curl", "target": "https://x/ok"},
    {"action": "file", "target": "'"$T_DIR"'/drop/fixed", "cmd": "x"},
    {"action": "file", "target": "'"$T_DIR"'/drop/%datetime%"} ] }
] } }'
"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
is "$?" 78 "check refuses bad per-step callbacks (exit 78)"
grep -q 'template.json:2:[0-9]*: bad.proc\[0\].callback: expected an array' "$T_DIR/check.out"
ok $? "a callback that is not an array, with file:line:col"
grep -q 'template.json:4:[0-9]*: bad.proc\[1\].callback\[0\]: action: expected "curl" or "file"' "$T_DIR/check.out" &&
	grep -q 'callback\[1\]: target: expected an http:// or https:// URL' "$T_DIR/check.out" &&
	grep -q 'callback\[4\]: cmd: a file action needs a string "cmd"' "$T_DIR/check.out" &&
	grep -q 'callback\[3\]: target: the file name must contain %datetime%' "$T_DIR/check.out"
ok $? "an unknown action, a non-http target, a file action without cmd or %datetime%"
image_config '{ "nodir": { "proc": [
  {"name": "A", "source": "hires", "size": [10,10], "path_head": "/a", "callback": [
    {"action": "file", "target": "'"$T_DIR"'/nowhere/%datetime%", "cmd": "x"} ] } ] } }'
"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
grep -q "template.json:2:[0-9]*: nodir.proc\[0\].callback\[0\].target: folder $T_DIR/nowhere: No such file or directory" "$T_DIR/check.out"
ok $? "a file action whose folder does not exist"

image_config "$TPL" '' '"callback_retry_for": 600,'
"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
ok $? "a template with a curl and a file action passes check ($(head -1 "$T_DIR/check.out"))"

gets() { requests_to "$1"; }
drops() { find "$T_DIR/drop" -type f | wc -l; }
outbox_idle() { [ -z "$(find "$SPOOL/outbox/new" "$SPOOL/outbox/cur" -mindepth 1)" ]; }

# ---- a saved output: one GET, one file
gm convert -size 300x200 plasma:fractal "$SITE/in/a b&c.jpg"
echo '/a b&c.jpg' | enqueue_site cb site01 t >/dev/null
"$BIN/tmc-notify" -c "$CONF" 2>>"$T_DIR/notify.err" &
NOTIFY=$!
T_PIDS="$T_PIDS $NOTIFY"
"$BIN/tmc-image" -c "$CONF" -T cb -s 0 2>>"$T_DIR/stage.err" &
STAGE=$!
wait_results 1
wait_for 30 eval '[ "$(gets "/ok/cb.php?file=/a%20b%26c.jpg&n=1")" -ge 1 ] && [ "$(drops)" -ge 1 ]'
ok $? "the saved output's GET arrives, %file% percent-encoded (${T_DIR##*/})"
f=$(find "$T_DIR/drop" -type f | head -1)
is "$(cat "$f")" '{"file": "/a b&c.jpg"}' "the file action wrote cmd with %file% as it is"
[[ ${f##*/} =~ ^wd[0-9]{12}[0-9]{4}$ ]]
ok $? "named by %datetime%: wd + yymmddHHMMSS + 4 digits (${f##*/})"
wait_for 20 outbox_idle
is "$(ls "$SPOOL/outbox/sent" | wc -l)" 2 "each action leaves its delivered marker in outbox/sent/"
kill -TERM $STAGE; wait $STAGE

# ---- killed after queuing, before the commit: nothing twice
gm convert -size 300x200 plasma:fractal "$SITE/in/k.jpg"
echo /k.jpg | enqueue_site cb site01 k >/dev/null
(TMC_FAILPOINT=stepcb-queued exec "$BIN/tmc-image" -c "$CONF" -T cb -s 0 2>>"$T_DIR/fp.err")
rc=$?
test $rc -eq 137 -a -e "$SITE/o/k.jpg"
ok $? "the stage is killed after it saved the output and queued its callbacks ($rc)"
wait_for 30 eval '[ "$(gets "/ok/cb.php?file=/k.jpg&n=1")" -ge 1 ] && [ "$(drops)" -ge 2 ] && outbox_idle'
ok $? "tmc-notify delivers both while the item waits for its redo"
"$BIN/tmc-image" -c "$CONF" -T cb -s 0 2>>"$T_DIR/stage.err" &
STAGE=$!
wait_results 2
wait_for 20 eval '[ "$(grep -c "delivered before (outbox/sent/k000001.s00c" "$T_DIR/tmcwatch.log")" -ge 2 ] && outbox_idle'
ok $? "the redone step queues the same two ids; tmc-notify drops them as delivered before"
is "$(gets "/ok/cb.php?file=/k.jpg&n=1") $(drops)" "1 2" "one GET and one file for the output, not two"
kill -TERM $STAGE; wait $STAGE

# ---- killed with the output in place, before its callback was queued
gm convert -size 300x200 plasma:fractal "$SITE/in/q.jpg"
echo /q.jpg | enqueue_site cbo site01 q >/dev/null
(TMC_FAILPOINT=outfile-committed exec "$BIN/tmc-image" -c "$CONF" -T cbo -s 0 2>>"$T_DIR/fp.err")
rc=$?
test $rc -eq 137 -a -e "$SITE/q/q.jpg" &&
	! ls "$SPOOL/outbox/new" "$SPOOL/outbox/cur" "$SPOOL/outbox/sent" | grep -q '^q'
ok $? "the stage is killed with the output in place, its callback not queued ($rc)"
"$BIN/tmc-image" -c "$CONF" -T cbo -s 0 2>>"$T_DIR/stage.err" &
STAGE=$!
wait_results 3
wait_for 30 eval '[ "$(gets "/ok/cb.php?file=/q.jpg&n=2")" -ge 1 ] && outbox_idle'
ok $? "redone, the step finds its own output (overwrite false) and its callback is sent"
is "$(result_id q000001 Q | cut -d' ' -f1) $(gets "/ok/cb.php?file=/q.jpg&n=2")" "1 1" \
	"the row counts the output written, one GET"
kill -TERM $STAGE; wait $STAGE

# ---- an inline proc with a callback: refused at the door
cat >"$T_DIR/job.json" <<JSON
{"hires": {"site": "site01", "path_head": "/in", "path_tail": "", "include": ["*.jpg"]},
 "proc": [ {"name": "T", "source": "hires", "size": [100,100], "path_head": "/o",
            "callback": [ {"action": "file", "target": "/etc/cron.d/%datetime%", "cmd": "x"} ] } ]}
JSON
"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" >"$T_DIR/submit.out" 2>&1
rc=$?
test $rc -ne 0 && grep -q "proc\[0\].callback: a job's inline proc may not carry per-step callbacks" "$T_DIR/submit.out"
ok $? "tmcwatch submit refuses an inline proc with a step callback ($rc: $(tail -1 "$T_DIR/submit.out"))"
is "$(ls "$SPOOL/req" | wc -l)" 0 "nothing is queued in req/"

# ---- retention: old delivered markers go, recent ones stay
touch -d '40 days ago' "$SPOOL/outbox/sent/t000001.s00c0"
"$BIN/tmcwatch" -c "$CONF" sweep >/dev/null 2>&1
test ! -e "$SPOOL/outbox/sent/t000001.s00c0" -a -e "$SPOOL/outbox/sent/k000001.s00c0"
ok $? "tmcwatch sweep removes delivered markers older than retention_days"
