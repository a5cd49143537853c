#!/bin/bash
# The daemon's own metrics: tmcwatch run writes <spool>/state/metrics.prom
# every metrics_interval seconds (by rename) with the spool's gauges and
# counters from the usage records: steps by template, step, site and
# outcome, files created, bytes read and written, step duration histograms,
# the oldest waiting item's age, callbacks delivered; tmc-httpd's /metrics
# serves it with its live gauges and HTTP counters, no family twice; both
# pass `promtool check metrics`, and the example alert rules pass
# `promtool check rules`.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 14

PROM=$SPOOL/state/metrics.prom
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
make_spool
write_config "$COPY3" "\"metrics_interval\": 1, \"retry_delay\": 1, \"http\": { \"port\": $PORT },"
make_inputs 6
mapfile -t rels <"$T_DIR/list"
rm "$SITE/in${rels[0]}" "$SITE/in${rels[1]}"   # these two fail at chain/00-A
bytes=0
for r in "${rels[@]:2}"; do bytes=$((bytes + $(stat -c %s "$SITE/in$r"))); done
metric() { # metric NAME{LABELS}: its value in the textfile
	awk -v k="$1" 'index($0, k " ") == 1 { print $2 }' "$PROM" 2>/dev/null
}
start_daemon
ok $? "daemon started"
wait_for 20 test -s "$PROM"
ok $? "state/metrics.prom is written while nothing happens"
enqueue chain <"$T_DIR/list" >/dev/null
A='template="chain",step="00-A",site="site01"'
C='template="chain",step="02-C",site="site01"'
wait_for 120 eval '[ "$(metric "tmc_steps_total{$C,outcome=\"ok\"}")" = 4 ] &&
	[ "$(metric "tmc_steps_total{$A,outcome=\"failed\"}")" = 2 ]'
ok $? "tmc_steps_total: 4 ok at 02-C, 2 failed at 00-A"
is "$(metric "tmc_files_created_total{$C}") $(metric "tmc_bytes_read_total{$C}") $(metric "tmc_bytes_written_total{$C}")" \
	"4 $bytes $bytes" "files created, bytes read and written (copies: as many as read)"
is "$(metric 'tmc_step_duration_seconds_count{template="chain",step="02-C"}') $(metric 'tmc_step_duration_seconds_bucket{template="chain",step="02-C",le="+Inf"}')" \
	"4 4" "the duration histogram counts each finished step"
awk '/^tmc_step_duration_seconds_bucket\{template="chain",step="01-B"/ { v = $2 + 0;
	if (v < last) bad = 1; last = v; n++ } END { exit !(n == 13 && !bad) }' "$PROM"
ok $? "its buckets rise to +Inf"
# promtool: Debian's prometheus package (packaging/deps.sh); where the
# distribution has none, the three promtool checks say so and skip
promtool() {
	if command -v promtool >/dev/null 2>&1; then command promtool "$@"; else
		echo "promtool is not installed"; return 77; fi
}
promtool_ok() { # promtool_ok RC LABEL
	if [ "$1" = 77 ]; then ok 0 "# SKIP promtool is not installed (packaging/deps.sh installs it)"
	else ok "$1" "$2"; fi
}
promtool check metrics <"$PROM" >"$T_DIR/promtool.out" 2>&1
promtool_ok $? "promtool check metrics: the textfile is clean $(tr '\n' ' ' <"$T_DIR/promtool.out")"
ls -a "$SPOOL/state" | grep -q '\.tmp$'
ok $((!$?)) "no temporary file is left beside it"

# the oldest waiting item: every slot held, the stage's one worker waits
# in cur/ with one item while the other waits in new/
for i in 0 1 2 3; do
	eval "exec $((20 + i))>\"\$SPOOL/run/slots/slot.$i\""
	flock $((20 + i))
done
echo "one" >"$SITE/in/w1.jpg"; echo "two" >"$SITE/in/w2.jpg"
printf '/w1.jpg\n/w2.jpg\n' | enqueue chain w >/dev/null
wait_for 60 eval '[ "$(metric "tmc_stage_oldest_waiting_seconds{template=\"chain\",step=\"00-A\"}")" -ge 2 ]'
ok $? "tmc_stage_oldest_waiting_seconds grows while an item waits"
for i in 0 1 2 3; do eval "exec $((20 + i))>&-"; done

# a callback tmc-notify delivers at its third attempt (the receiver
# answers 500 twice)
start_receiver
outbox_item 210111111521001 "$RURL/fail2/cb"
wait_for 120 eval '[ "$(metric "tmc_callbacks_total{outcome=\"delivered\"}")" = 1 ]'
is "$(metric 'tmc_callbacks_total{outcome="retry"}') $(metric 'tmc_callbacks_total{outcome="delivered"}')" \
	"2 1" "tmc_callbacks_total: two failed attempts, then the delivery"

start_httpd
curl -s "$URL/metrics" >"$T_DIR/scrape"
grep -q "^tmc_steps_total{$C,outcome=\"ok\"} [0-9]" "$T_DIR/scrape" &&
	grep -q '^tmc_http_requests_total{code="2xx"}' "$T_DIR/scrape" &&
	grep -q '^tmc_stage_items{template="chain",step="00-A",state="failed"} 2$' "$T_DIR/scrape"
ok $? "/metrics: the daemon's counters, the live gauges and the HTTP counters"
is "$(grep '^# TYPE' "$T_DIR/scrape" | sort | uniq -d)" "" "no family is written twice"
promtool check metrics <"$T_DIR/scrape" >"$T_DIR/promtool2.out" 2>&1
promtool_ok $? "promtool check metrics: /metrics is clean $(tr '\n' ' ' <"$T_DIR/promtool2.out")"
promtool check rules "$TMC_SRC/packaging/tmcwatch-alerts.yml" >"$T_DIR/rules.out" 2>&1
promtool_ok $? "promtool check rules: the example alert rules $(tail -1 "$T_DIR/rules.out")"
