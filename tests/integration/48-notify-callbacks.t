#!/bin/bash
# tmc-notify delivers the callbacks tmc-jobs queues in outbox/ (items made
# here by hand, as tmc-jobs makes them) to a real receiver: TMC's multipart
# fields, a delivery id that stays the same across retries, an HMAC-SHA256
# signature; 500s are retried with backoff, a receiver that never answers
# holds nothing else up and ends in outbox/err/ with the last error, as do
# refused schemes and answers other than {"code":1}.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 28

write_config '{ "t1": { "proc": [ {"name": "A", "source": "hires", "kind": "copy", "path_head": "/o"} ] } }' \
	'"retry_delay": 1, "callback_retry_for": 6, "callback_timeout": 2, "callback_secret": "k3y-for-hmac",'
make_spool
start_receiver
outbox_item 210111111521001 "$RURL/ok/a" 1 4072 4072 32576 0
outbox_item 210111111521002 "$RURL/fail2/b" 0 10 9 70 3
outbox_item 210111111521003 "$RURL/hang/c"
outbox_item 210111111521004 "ftp://127.0.0.1/x"
outbox_item 210111111521005 "$RURL/redirect/e"
outbox_item 210111111521006 "$RURL/no/f"
# an item a crashed tmc-notify held: in cur/, no lock on it
outbox_item 210111111521007 "$RURL/ok/g"
mv "$SPOOL/outbox/new/210111111521007" "$SPOOL/outbox/cur/"
for i in $(seq 10 29); do outbox_item "2101111115210$i" "$RURL/ok/many$i"; done

"$BIN/tmc-notify" -c "$CONF" 2>>"$T_DIR/notify.err" &
NOTIFY=$!
T_PIDS="$T_PIDS $NOTIFY"

wait_for 20 eval '[ "$(requests_to /ok/a)" -ge 1 ]'
ok $? "a callback to a receiver that answers {\"code\":1} is delivered"
A=$(jq -c 'select(.path == "/ok/a")' "$T_DIR/receiver.log" | head -1)
is "$(echo "$A" | jq -c .fields)" \
	'{"processed":"4072","created":"32576","warn":"0","seq":"210111111521001","result":"1","count":"4072"}' \
	"TMC's fields, in TMC's order"
echo "$A" | jq -r .body | tr -d '\r' | grep -o 'name="[a-z]*"' | tr '\n' ' ' | grep -q \
	'^name="processed" name="created" name="warn" name="seq" name="result" name="count" $'
ok $? "the body lists them in that order"
echo "$A" | jq -r '.headers["content-type"]' | grep -q '^multipart/form-data; boundary='
ok $? "as multipart/form-data, as TMC's libcurl POST"
is "$(echo "$A" | jq -r '.headers["x-tmc-delivery"]')" 210111111521001 "X-TMC-Delivery is the seq"
sig=$(echo "$A" | python3 -c '
import hashlib, hmac, json, sys
r = json.load(sys.stdin)
print("sha256=" + hmac.new(b"k3y-for-hmac", r["body"].encode("latin-1"), hashlib.sha256).hexdigest())')
is "$(echo "$A" | jq -r '.headers["x-tmc-signature"]')" "$sig" "X-TMC-Signature is the HMAC-SHA256 of the body"

wait_for 30 eval '[ "$(requests_to /fail2/b)" -ge 3 ]'
ok $? "500, 500, then {\"code\":1}: retried until delivered"
wait_for 30 test ! -e "$SPOOL/outbox/new/210111111521002" -a ! -e "$SPOOL/outbox/cur/210111111521002"
ok $? "... and then removed from the outbox"
is "$(requests_to /fail2/b)" 3 "exactly three requests"
is "$(jq -r 'select(.path == "/fail2/b") | .headers["x-tmc-delivery"] + " " + .headers["x-tmc-signature"]' \
	"$T_DIR/receiver.log" | sort -u | wc -l)" 1 "the same delivery id and signature on every retry"
gaps=$(jq -r 'select(.path == "/fail2/b") | .time' "$T_DIR/receiver.log" |
	awk 'NR > 1 { printf "%.1f ", $1 - prev } { prev = $1 }')
# not_before is kept in whole seconds: a delay of d waits more than d - 1
grep 'outbox/cur/210111111521002: attempt' "$T_DIR/tmcwatch.log" | grep -o 'retry in [0-9]*s' |
	tr '\n' ' ' | grep -qx 'retry in 1s retry in 2s ' && echo "$gaps" | awk '{ exit !($2 >= 1) }'
ok $? "backoff: retry in 1 s, then 2 s (gaps $gaps s)"

wait_for 30 eval '[ "$(requests_to /ok/many29)" -ge 1 ] && [ "$(requests_to /ok/g)" -ge 1 ]'
ok $? "20 more callbacks and the one left in cur/ by a crash are delivered"
grep -n 'delivered\|hang/c' "$T_DIR/tmcwatch.log" | head -40 >"$T_DIR/order"
first_hang=$(grep -m1 'hang/c' "$T_DIR/order" | cut -d: -f1)
last_ok=$(grep 'ok/many' "$T_DIR/order" | tail -1 | cut -d: -f1)
test -n "$first_hang" -a -n "$last_ok" && test "$last_ok" -lt "$first_hang"
ok $? "the receiver that never answers held none of them up"

C=$SPOOL/outbox/err/210111111521003
wait_for 40 test -e "$C/reason"
ok $? "a receiver that never answers: outbox/err/ once callback_retry_for has passed"
grep -q 'failed after [0-9]* attempts.*timed out' "$C/reason"
ok $? "... with the last error ($(cat "$C/reason" 2>/dev/null))"
test "$(requests_to /hang/c)" -ge 2; ok $? "... after retries ($(requests_to /hang/c) attempts)"
grep -q "$(cat "$C/reason")" "$T_DIR/tmcwatch.log"; ok $? "... and the log says so"
grep -q 'Protocol "ftp" not supported' "$SPOOL/outbox/err/210111111521004/reason" 2>/dev/null
ok $? "an ftp:// callback: refused at once, outbox/err/"
grep -q 'Protocol "file" not supported' "$SPOOL/outbox/err/210111111521005/reason" 2>/dev/null &&
	test "$(requests_to /redirect/e)" -eq 1
ok $? "a redirect to file://: refused, not retried"
wait_for 20 test -e "$SPOOL/outbox/err/210111111521006/reason"
grep -q 'HTTP 200, answer is not {"code":1}: {"code":0}' "$SPOOL/outbox/err/210111111521006/reason"
ok $? "an answer {\"code\":0} is a failure, retried, then outbox/err/"
is "$(find "$SPOOL/outbox/new" "$SPOOL/outbox/cur" "$SPOOL/outbox/tmp" -mindepth 1 | wc -l)" 0 "nothing left in flight"
is "$(ls "$SPOOL/outbox/err" | wc -l)" 4 "four callbacks failed for good, the rest delivered"

# a receiver that hangs with 8 callbacks holds 4 transfers; the others flow
R1=$RURL
start_receiver slow
for i in 1 2 3 4 5 6 7 8; do outbox_item "21011111152105$i" "$RURL/hang/h$i"; done
for i in 1 2 3 4; do outbox_item "21011111152106$i" "$R1/ok/p$i"; done
RURL=$R1
wait_for 30 eval '[ "$(requests_to /ok/p4)" -ge 1 ]'
wait_for 30 eval '[ "$(wc -l <"$T_DIR/slow.log")" -ge 4 ]'
sleep 0.5 # not a synchronisation: a window in which a fifth transfer would show
is "$(wc -l <"$T_DIR/slow.log")" 4 "a receiver that hangs gets 4 transfers at once, not 8"
grep -n 'ok/p4.*delivered\|hang/h.*Operation timed out' "$T_DIR/tmcwatch.log" | head -1 | grep -q 'ok/p4'
ok $? "callbacks to another receiver are delivered meanwhile"
wait_for 20 eval '[ "$(wc -l <"$T_DIR/slow.log")" -ge 8 ]'
ok $? "the held ones are tried as transfers end ($(wc -l <"$T_DIR/slow.log") requests)"

# a retry waiting for its time, removed by hand: nothing spins on it
outbox_item 210111111521098 "$RURL/no/r"
wait_for 30 eval '[ "$(requests_to /no/r)" -ge 1 ] && [ -e "$SPOOL/outbox/new/210111111521098" ]'
rm -rf "$SPOOL/outbox/new/210111111521098"
cpu() { awk '{ print $14 + $15 }' "/proc/$NOTIFY/stat"; }
c0=$(cpu)
sleep 3
c1=$(cpu)
[ $((c1 - c0)) -lt 100 ]
ok $? "a retry removed from the outbox while it waited: tmc-notify idles ($((c1 - c0)) ticks of CPU in 3 s)"

# SIGTERM while a transfer is in hand: it ends first, then exit 0
outbox_item 210111111521099 "$RURL/hang/z"
wait_for 30 eval '[ "$(requests_to /hang/z)" -ge 1 ]'
kill -TERM "$NOTIFY"
wait "$NOTIFY"
is "$?" 0 "SIGTERM: exit 0 once the transfer in hand has ended"
test -e "$SPOOL/outbox/new/210111111521099/ticket"
ok $? "the unfinished callback is back in new/ for the next start"
