#!/bin/bash
# GET / and /status on tmc-httpd: the status view as plain HTML that
# refreshes itself (health, queues per stage, workers with their originals,
# failures with reasons, disk, the last hour's throughput as an inline SVG),
# every spool string HTML-escaped (an original is named "<script>x.jpg"),
# the token required when http.token is set; then a real headless chromium
# renders it and the screenshot is checked: the requested size, not blank.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 14

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
make_spool
write_config "$COPY3" "\"metrics_interval\": 1, \"http\": { \"port\": $PORT },"
make_inputs 4
echo "evil original" >"$SITE/in/<script>x.jpg"
echo "gone original" >"$SITE/in/gone.jpg"
(cd "$SITE/in" && find . -type f | sed 's|^\.||' | sort) >"$T_DIR/list"
rm "$SITE/in/<script>x.jpg" "$SITE/in/gone.jpg"   # both fail at chain/00-A
start_daemon
ok $? "daemon started"
start_httpd
ok $? "tmc-httpd answers"
enqueue chain <"$T_DIR/list" >/dev/null
wait_files "$SITE/out3" 4 120 && wait_idle 60 &&
	wait_for 30 eval '[ "$(spool_items "$SPOOL" err)" = 2 ]'
ok $? "4 originals done, 2 failed for good"

curl -s -D "$T_DIR/h" -o "$T_DIR/page.html" "$URL/"
grep -qi '^content-type: text/html; charset=utf-8' "$T_DIR/h" &&
	grep -q '^HTTP/1.1 200' "$T_DIR/h" &&
	grep -qi "^content-security-policy: default-src 'none'" "$T_DIR/h"
ok $? "GET / is 200 text/html, with a CSP that allows no script"
grep -q '<meta http-equiv="refresh" content="10">' "$T_DIR/page.html" &&
	! grep -qi '<script' "$T_DIR/page.html"
ok $? "refreshes itself every 10 s and holds no script element"
grep -qF '&lt;script&gt;x.jpg' "$T_DIR/page.html"
ok $? "the file named <script>x.jpg is shown escaped"
for s in 00-A 01-B 02-C; do
	grep -q "<tr><td>chain/$s</td><td class=\"n\">0</td>" "$T_DIR/page.html" || break
done
ok $? "a queue row per stage"
grep -A3 'Recent failures' "$T_DIR/page.html" | grep -q '2 in err/' &&
	grep -F "$SITE/in/gone.jpg" "$T_DIR/page.html" | grep -q 'No such file or directory'
ok $? "failures with their originals and reasons"
grep -q '<p>12 steps finished, 2 failed, ' "$T_DIR/page.html" &&
	grep -q '<svg class="chart"' "$T_DIR/page.html" &&
	grep -o '<title>[0-9]* min ago: [0-9]* done' "$T_DIR/page.html" | grep -qv ': 0 done'
ok $? "throughput: the hour's steps from the records, drawn as bars"
grep -q 'daemon <span class="pill good">running</span>' "$T_DIR/page.html" &&
	grep -q '% used, .* GiB free of' "$T_DIR/page.html"
ok $? "health and disk"

# a worker with an item in hand: every slot is held, so it waits in cur/
for i in 0 1 2 3; do
	eval "exec $((20 + i))>\"\$SPOOL/run/slots/slot.$i\""
	flock $((20 + i))
done
echo "waiting original" >"$SITE/in/w&1.jpg"
printf '/w&1.jpg\n' | enqueue chain w >/dev/null
wait_for 60 eval 'curl -s "$URL/status" | grep -qF "<code>$SITE/in/w&amp;1.jpg</code>"'
ok $? "/status: the worker's row names its original (escaped)"
for i in 0 1 2 3; do eval "exec $((20 + i))>&-"; done

# a real browser renders it
if command -v chromium >/dev/null 2>&1; then
	rm -f "$T_DIR/shot.png"
	timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$T_DIR/chromium" --screenshot="$T_DIR/shot.png" \
		--window-size=1200,1000 "$URL/" >"$T_DIR/chromium.out" 2>&1
	[ -s "$T_DIR/shot.png" ] && [ "$(gm identify -format '%w %h' "$T_DIR/shot.png")" = "1200 1000" ]
	ok $? "chromium screenshot of 1200x1000"
	colours=$(gm convert "$T_DIR/shot.png" -format '%k' info:- 2>/dev/null)
	diag "screenshot: $colours distinct colours"
	[ "${colours:-0}" -gt 50 ]
	ok $? "the screenshot is not blank ($colours colours)"
	[ -z "${T_SHOT:-}" ] || cp "$T_DIR/shot.png" "$T_SHOT"
else
	ok 0 "# SKIP chromium is not installed (packaging/deps.sh installs it)"
	ok 0 "# SKIP chromium is not installed"
fi

# with http.token set the page wants it too
PORT2=$(free_port)
sed "s/\"port\": $PORT }/\"port\": $PORT2, \"token\": \"s3cret\" }/" "$CONF" >"$T_DIR/conf/token.json"
"$BIN/tmc-httpd" -c "$T_DIR/conf/token.json" 2>>"$T_DIR/httpd2.err" &
T_PIDS="$T_PIDS $!"
wait_for 20 eval '[ "$(code_of --max-time 1 http://127.0.0.1:$PORT2/healthz)" != 000 ]'
is "$(code_of "http://127.0.0.1:$PORT2/") $(code_of -H 'Authorization: Bearer s3cret' \
	"http://127.0.0.1:$PORT2/status")" "401 200" "with a token: 401 without it, 200 with it"
