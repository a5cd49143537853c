#!/bin/bash
# Remote units end to end (tmc-remote(8)): a spool host (tmcwatch run with
# "gearman") and a worker host (tmcwatch worker, its own spool and config
# copy) on this machine, a real gearmand between them. A job of 3 JPEGs, a
# PNG and a corrupt JPEG through TMC's reference job (8 sizes, each from
# the one before): every output exactly once with the bytes a local-only
# run writes, the same result rows in done/ (the corrupt file's failure
# too: its head item in err/ with the worker host's reason), one result
# line per file and step, the step
# callback of a step below the head delivered once per file, and
# `tmcwatch status` showing the worker host with its done count. The local
# workers of the head step are held (SIGSTOP) during that job, so its units
# can only have been done remotely. With the worker host stopped, a second
# job finishes locally.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
. "$TMC_SRC/tests/bench/inputs.sh"
. "$TMC_SRC/tests/lib/gearman.sh"
. "$TMC_SRC/tests/lib/remote.sh"
plan 17

command -v gearmand >/dev/null || { echo "1..0 # SKIP gearmand is not installed"; exit 0; }
start_receiver
CB='"callback": [ {"action": "curl", "target": "'"$RURL"'/ok/cb?file=%file%"} ]'
TPL="{ \"ref\": { \"proc\": [ $(ref_steps | sed "s|\"path_head\":\"/s600\"|&, $CB|") ] } }"
mkdir -p "$SITE/in" "$SITE/in2"
for i in 1 2 3; do gm convert -size $((900 + 200 * i))x900 plasma:red-blue -quality 92 "$SITE/in/p$i.jpg"; done
gm convert -size 900x700 gradient:green-yellow "$SITE/in/pic.png"
# a JPEG's start of image, then garbage: its unit fails on the worker host
{ printf '\xff\xd8\xff\xe0'; head -c 5000 /dev/urandom; } >"$SITE/in/broken.jpg"
gm convert -size 800x600 plasma:green-blue "$SITE/in2/q1.jpg"
gm convert -size 700x500 gradient:red-yellow "$SITE/in2/q2.png"
job() { printf '{"hires": {"site": "site01", "path_head": "/%s", "path_tail": "", "include": ["*.jpg", "*.png"]}, "template": "ref"}\n' "$1" >"$T_DIR/$1.json"; }
submit() { "$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/$1.json" 2>>"$T_DIR/submit.err" | tail -1; }
outputs() { (cd "$1" && find s* -type f | LC_ALL=C sort); }
same_bytes() { # every output under $SITE equals the local run's, and no other
	[ "$(outputs "$T_DIR/local" | wc -l)" = 32 ] && [ "$(outputs "$SITE")" = "$(outputs "$T_DIR/local")" ] &&
		for f in $(outputs "$T_DIR/local"); do cmp -s "$SITE/$f" "$T_DIR/local/$f" || return 1; done
}

# 1. the reference: the same job through tmcwatch run alone
image_config "$TPL"
start_daemon
job in
seq=$(submit in)
wait_done "$seq" 300
ok $? "local-only run: the job is done"
stop_daemon
mkdir -p "$T_DIR/local" && mv "$SITE"/s* "$T_DIR/local/"
cut -f2- "$SPOOL/done/$seq.result" | paste <(cut -f1 "$SPOOL/done/$seq.result") - | LC_ALL=C sort >"$T_DIR/local.rows"
rm -rf "$SPOOL"
: >"$T_DIR/receiver.log"

# 2. a worker host and a spool host
start_gearmand
mkdir -p "$T_DIR/wh/site"
printf '%s\n' "$TPL" >"$T_DIR/wh/template.json"
cat >"$T_DIR/wh/config.json" <<JSON
{ "worker_cnt": 2, "spool_dir": "$T_DIR/wh/spool", "log_file": "$T_DIR/wh/tmcwatch.log",
  $(gm_config_keys '"templates": ["ref"], "name": "wh1", "workers": 2')
  "site": { "site01": { "root": "$T_DIR/wh/site" } } }
JSON
setsid "$BIN/tmcwatch" -c "$T_DIR/wh/config.json" -t "$T_DIR/wh/template.json" worker 2>>"$T_DIR/wh.err" &
WH=$!
T_PIDS="$T_PIDS $WH"
wait_for 60 eval '[ "$(gm_admin --workers | grep -c "wh1 : tmcwatch:ref:00")" -ge 2 ]'
ok $? "the worker host wh1 registered tmcwatch:ref:00 (2 tmc-gworker)"
image_config "$TPL" "" "\"metrics_interval\": 1, $(gm_config_keys '"templates": ["ref"], "max_inflight": 2')"
start_daemon
wait_children
ok $? "the spool host runs, every child started"
is "$(pgrep -fc "tmc-remote -c $CONF")" 2 "gearman.max_inflight (2) tmc-remote for the head step"
LOCAL=$(pgrep -f "tmc-image -c $CONF .* -T ref -s 0$" | tr '\n' ' ')
kill -STOP $LOCAL
trap 'kill -CONT $LOCAL 2>/dev/null; cleanup' EXIT
seq=$(submit in)
wait_done "$seq" 300
ok $? "the job is done with the head step's local workers held"
kill -CONT $LOCAL
check "every output exactly once, the bytes of the local run (32 files)" same_bytes
cut -f2- "$SPOOL/done/$seq.result" | paste <(cut -f1 "$SPOOL/done/$seq.result") - | LC_ALL=C sort >"$T_DIR/remote.rows"
check "the job's result rows are the local run's" eval '[ -s "$T_DIR/local.rows" ] && cmp "$T_DIR/remote.rows" "$T_DIR/local.rows"'
is "$(cut -f1,2 "$SPOOL/proc/$seq.log" | sort | uniq -d | wc -l) $(wc -l <"$SPOOL/proc/$seq.log")" "0 33" \
	"one result line per file and step"
grep -q "^step S1000 failed on host wh1: $SITE/in/broken.jpg: " "$SPOOL"/stages/ref/00-S1000/err/*/reason
ok $? "the corrupt JPEG's head item is in err/, its reason naming this host's original"
cbs() { jq -r 'select(.path | startswith("/ok/cb?")) | .path' "$T_DIR/receiver.log" 2>/dev/null; }
wait_for 60 eval '[ $(cbs | wc -l) -ge 4 ]'
is "$(cbs | sort -u | wc -l) $(cbs | wc -l)" "4 4" "step S600's callback delivered once per file"
is "$(remote_field wh1 done) $(remote_field wh1 failed)" "4 1" "run/remote: 4 units done on wh1, 1 failed"
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status"
grep -Eq '^remote host wh1: functions .*tmcwatch:ref:00.* done 4 ' "$T_DIR/status" &&
	grep -q '^remote stage ref/00-S1000: 4 of 5 units done remotely' "$T_DIR/status"
ok $? "status: the worker host, its functions and done count; the stage's remote share"
grep -Eq '^remote host wh1: .* last seen [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \([0-9]+s ago\)$' \
	"$T_DIR/status"
ok $? "status: wh1's last seen as a local time and its age ($(grep -o 'last seen.*' "$T_DIR/status" | head -1))"
"$BIN/tmcwatch" -c "$CONF" status --json |
	jq -e '.remote.hosts[] | select(.host == "wh1" and .done == 4 and .inflight == 0 and
		(.last_seen | type) == "number" and .last_seen > 1000000000)' >/dev/null
ok $? "status --json too"
wait_for 30 grep -q '^tmcwatch_remote_units_total{host="wh1",outcome="done"} 4$' "$SPOOL/state/metrics.prom"
ok $? "the metrics file counts the units done on wh1"

# 3. the worker host stops: the local workers carry on
kill -TERM -- -"$WH"
wait "$WH"
wait_for 30 eval '! gm_admin --workers | grep -q "wh1 :"'
job in2
seq2=$(submit in2)
wait_done "$seq2" 300 && [ "$(ls "$SITE"/s*/q* | wc -l)" = 16 ]
ok $? "with no worker host a second job finishes locally, its 16 outputs there"
is "$(remote_field wh1 done)" 4 "and nothing more went remote"
stop_daemon
