#!/bin/bash
# Hostile and malformed requests: each one gets a clear 4xx answer (or, for
# a chunked body past max_body, a closed connection), tmc-httpd keeps
# serving, nothing lands in req/ or proc/, and a good request afterwards
# still works. Slow clients are dropped after http.timeout; Host, Origin and
# the bearer token are enforced.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 17

http_config '"max_body": 65536, "timeout": 3, "max_connections": 8, "status_codes": "rest"'
start_httpd
ok $? "tmc-httpd started"

FAILS=$T_DIR/fails
N=0
expect4() { # expect4 LABEL CURL_ARGS...: one request that must get a 4xx with a JSON body
	local label=$1 code; shift
	N=$((N + 1))
	code=$(curl -s -o "$T_DIR/body" -w '%{http_code}' --max-time 10 "$@")
	case $code in
	4??) [ -n "${ANY_BODY:-}" ] || jq -e . "$T_DIR/body" >/dev/null 2>&1 ||
		echo "$label: $code with a body that is not JSON" >>"$FAILS" ;;
	*) echo "$label: got $code" >>"$FAILS" ;;
	esac
}
# libmicrohttpd answers these itself, before tmc-httpd sees the request (HTML bodies)
mhd4() { ANY_BODY=1 expect4 "$@"; }
conv() { expect4 "$1" "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$2"; }

# broken JSON (40)
for j in '' '{' '}' '[' '{"hires":' '{"hires":{}' '{"a":1,}' '{,}' 'nul' 'tru' '"str' "{'a':1}" \
	'{"a" 1}' '{"a":}' '{"a":1}}' '{"a":[1,2}' '{"a":"\x"}' '{"a":"\u12"}' '{"a":01}' '{"a":-}' \
	'{"a":1e}' '{"a":.5}' '{"a":1} x' '{"a":1}{"b":2}' '{"a":"b' '{"a":"b"' '{"hires":{"site":"site01"' \
	"$(printf '{"a":"\001"}')" '{"a":1,"a":2}' '{"":}' '[1,]' '[,1]' '{"a":[}' '{"a":{]}' \
	'{"hires":{"site":"site01","path_head":"/in","path_tail":"",},"template":"t1"}' \
	"$(head -c 3000 /dev/zero | tr '\0' '[')" "$(head -c 3000 /dev/zero | tr '\0' '{')" \
	'{"a":NaN}' '{"a":Infinity}' '{"a":0x10}'; do
	conv "broken json $N" "$j"
done
# JSON values that are not jobs, missing keys, wrong types (30)
for j in '1' '-5' '"job"' 'true' 'null' '[]' '{}' '[{"hires":{}}]' '{"hires":1}' '{"hires":[]}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":""}}' \
	'{"template":"t1"}' '{"hires":{},"template":"t1"}' \
	'{"hires":{"path_head":"/a","path_tail":""},"template":"t1"}' \
	'{"hires":{"site":"site01","path_tail":""},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":"/a"},"template":"t1"}' \
	'{"hires":{"site":null,"path_head":"/a","path_tail":""},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":null,"path_tail":""},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":null},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":""},"template":null}' \
	'{"hires":{"site":"site02","path_head":"/a","path_tail":""},"template":"t1"}' \
	'{"hires":{"site":1,"path_head":"/a","path_tail":""},"template":"t1"}' \
	'{"hires":{"site":["site01"],"path_head":"/a","path_tail":""},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":1,"path_tail":""},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":[]},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":""},"template":"none"}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":""},"template":5}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":"","include":"*.jpg"},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":"","include":[1]},"template":"t1"}' \
	'{"hires":{"site":"site01","path_head":"/a","path_tail":"","exclude":{}},"template":"t1"}'; do
	conv "not a job $N" "$j"
done
# paths that climb (20)
for p in '..' '/..' '../x' '/a/..' '/a/../../b' '/a/../..' '/../etc' '/a/./../../../etc/cron.d' \
	'//..//' '/a/..//b/..' "$(printf '/a\001b')" "$(printf '/a\nb')"; do
	conv "path_head $N" "{\"hires\":{\"site\":\"site01\",\"path_head\":$(jq -Rn --arg p "$p" '$p'),\"path_tail\":\"\"},\"template\":\"t1\"}"
done
for p in '/..' '/../../etc' '/x/../../y' '..' "$(printf '/\177')" '/a/..' '/../..' '/..//'; do
	conv "path_tail $N" "{\"hires\":{\"site\":\"site01\",\"path_head\":\"/a\",\"path_tail\":$(jq -Rn --arg p "$p" '$p')},\"template\":\"t1\"}"
done
# uploaded lists that climb, broken multipart (20)
JF=$(job_json '"filelist":true')
for l in '/../../etc/passwd' '/a.jpg
..' '/ok.jpg
/x/../../y.jpg' "$(printf '/a\001.jpg')"; do
	printf '%s\n' "$l" >"$T_DIR/up.txt"
	expect4 "upload $N" "$URL/api/" -F act=convert -F "json=$JF" -F "fileupload=@$T_DIR/up.txt"
done
printf '/a.jpg\n/b\000.jpg\n' >"$T_DIR/up.txt"
expect4 "upload with NUL $N" "$URL/api/" -F act=convert -F "json=$JF" -F "fileupload=@$T_DIR/up.txt"
expect4 "upload without file $N" "$URL/api/" -F act=convert -F "json=$JF"
expect4 "upload with empty filename $N" "$URL/api/" -F act=convert -F "json=$JF" -F 'fileupload=;filename='
mp() { expect4 "multipart $N" "$URL/api/" -H "Content-Type: $1" --data-binary "$2"; }
mp 'multipart/form-data' '--x\r\n'
mp 'multipart/form-data; boundary=' 'x'
mp 'multipart/form-data; boundary=abc' 'no boundary here'
mp 'multipart/form-data; boundary=abc' $'--abc\r\nContent-Disposition: form-data; name="act"\r\n\r\nconvert'
mp 'multipart/form-data; boundary=abc' $'--abc\r\nContent-Disposition: form-data; name="act\r\n\r\nconvert\r\n--abc--\r\n'
mp 'multipart/form-data; boundary=abc' $'--abc\r\nno colon here\r\n\r\nx\r\n--abc--\r\n'
mp 'multipart/form-data; boundary=abc' $'--abc\r\nContent-Disposition: attachment; name="act"\r\n\r\nx\r\n--abc--\r\n'
mp 'multipart/form-data; boundary=abc' $'--abc\r\nContent-Type: text/plain\r\n\r\nx\r\n--abc--\r\n'
mp 'multipart/form-data; boundary=abc' $'--abcxyz'
mp 'multipart/form-data; boundary=abc' $'--abc\r\n'
mp 'multipart/form-data; boundary="abc' $'--abc\r\n\r\n--abc--'
mp "multipart/form-data; boundary=$(head -c 80 /dev/zero | tr '\0' b)" $'--b\r\n'
mp 'multipart/form-data; boundary=abc' $'--abc\r\nContent-Disposition: form-data; name="act"\r\n\r\nconvert\r\n--abc--\r\n'
# unknown acts (20)
for a in '' x convert2 statuss '__construct' 'searchExistFile' 'isRun' '../status' 'status%00' \
	'%00' "$(head -c 2000 /dev/zero | tr '\0' a)" '한글' 'st atus' 'act' 'json' 'seq' 'status;' \
	'STATUS ' 'pause2' 'metrics'; do
	expect4 "act $N" "$URL/api/?act=$(jq -rn --arg a "$a" '$a|@uri')"
done
# bad seqs, for every act that takes one (48)
for s in '../../etc/passwd' '/etc/passwd' '..' '.' 'a/b' 'a.stat' "$(head -c 65 /dev/zero | tr '\0' 1)" \
	'1 2' '*'; do
	for a in status seqdetail filelist errorlist fileresult pause; do
		expect4 "seq $a $N" "$URL/api/?act=$a&seq=$(jq -rn --arg s "$s" '$s|@uri')"
	done
done
for a in status seqdetail filelist errorlist fileresult pause; do
	expect4 "no seq $a $N" "$URL/api/?act=$a"
done
expect4 "seq with NUL $N" "$URL/api/?act=status&seq=123%00456"
expect4 "seq with newline $N" "$URL/api/?act=status&seq=123%0A456"
# too large, methods, hosts, origins (22)
head -c 70000 /dev/zero | tr '\0' x >"$T_DIR/big"
expect4 "huge urlencoded $N" "$URL/api/" --data-binary "@$T_DIR/big"
expect4 "huge multipart $N" "$URL/api/" -F act=convert -F "fileupload=@$T_DIR/big"
expect4 "huge Content-Length $N" "$URL/api/" -H 'Content-Length: 99999999999' --data-binary x
mhd4 "absurd Content-Length $N" "$URL/api/" -H 'Content-Length: 99999999999999999999999' --data-binary x
mhd4 "huge query $N" "$URL/api/?act=status&seq=$(head -c 70000 /dev/zero | tr '\0' 1)"
mhd4 "huge header $N" "$URL/api/?act=status&seq=1" -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' 1)"
for m in PUT DELETE PATCH OPTIONS TRACE PROPFIND; do
	expect4 "method $m $N" -X "$m" "$URL/api/?act=status&seq=1"
done
for h in evil.com 'evil.com:80' 'localhost.evil.com' '127.0.0.2' '127.0.0.1:abc' '[::2]' 'localhost:99999999'; do
	expect4 "host $h $N" -H "Host: $h" "$URL/api/?act=status&seq=1"
done
expect4 "origin $N" -H 'Origin: http://evil.com' "$URL/api/?act=convert&json=1"
expect4 "origin null $N" -H 'Origin: null' "$URL/api/?act=convert&json=1"
expect4 "sec-fetch-site $N" -H 'Sec-Fetch-Site: cross-site' "$URL/api/?act=convert&json=1"

is "$(cat "$FAILS" 2>/dev/null)" "" "all $N hostile requests answered with a 4xx and a JSON body"
test "$N" -ge 200; ok $? "at least 200 of them ($N)"

# chunked body past max_body: cut off, not buffered
code=$(head -c 100000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
	--data-binary @- "$URL/api/?act=convert")
case $code in 413 | 000) ok 0 "chunked body over max_body: refused or dropped ($code)" ;;
*) ok 1 "chunked body over max_body: got $code" ;; esac

# raw protocol garbage, through a socket (20 more)
python3 - "$PORT" >"$T_DIR/raw.out" <<'PY'
import socket, sys
port = int(sys.argv[1])
cases = [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\nHost: localhost\r\n\r\n",
         b"GET /api/?act=status&seq=1 HTTP/1.1\r\n\r\n",
         b"GET /api/?act=status&seq=1 HTTP/1.1\r\nHost: localhost\r\nno colon\r\n\r\n",
         b"GET /api/?act=status&seq=1 HTTP/1.1\r\nHost: localhost\r\nHost: evil\r\n\r\n",
         b"GET /api/?act=status&seq=1 HTTP/1.1\r\nHost: evil\r\n\r\n",
         b"POST /api/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
         b"POST /api/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n",
         b"POST /api/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
         b"GET /api/?act=status&seq=1 HTTP/1.1\r\nHost: local\x00host\r\n\r\n",
         b"GET /api/?act=\x00status HTTP/1.1\r\nHost: localhost\r\n\r\n",
         b"GET /../../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n",
         b"GET http://evil.com/api/?act=status HTTP/1.1\r\nHost: localhost\r\n\r\n",
         b"GET /api/?act=status&seq=1 HTTP/1.1\r\nHost: localhost\r\n" + b"X: " + b"a" * 80000 + b"\r\n\r\n",
         b"GET /" + b"a" * 80000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
         b"\xff\xfe\xfd\r\n\r\n", b"GET /api/?act=status HTTP/1.1\nHost: localhost\n\n",
         b"CONNECT localhost:22 HTTP/1.1\r\nHost: localhost\r\n\r\n",
         b"GET /api/?act=status&seq=%ZZ HTTP/1.1\r\nHost: localhost\r\n\r\n"]
for c in cases:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(c)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        print(data.split(b"\r\n")[0].decode("latin-1") or "(closed)")
    except OSError as e:
        print("(error %s)" % e)
    s.close()
PY
bad=$(grep -cv -e '^HTTP/1.1 4[0-9][0-9]' -e '^HTTP/1.1 505' -e '^(closed)$' "$T_DIR/raw.out")
is "$bad" 0 "20 raw malformed requests: each answered 4xx (505 for HTTP/9.9) or closed"
[ "$bad" -eq 0 ] || sed 's/^/# /' "$T_DIR/raw.out"

# slow clients: headers one byte a second, then silence; a good request meanwhile
python3 - "$PORT" >"$T_DIR/slow.out" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
for b in b"GET /api/?act=st":
    s.sendall(bytes([b]))
    time.sleep(0.05)
s.settimeout(30)
try:
    data = s.recv(100)
except OSError:
    data = b"error"
print("closed after %.1f s: %r" % (time.time() - t0, data))
PY
SLOW=$!
sleep 0.5
is "$(curl -s --max-time 5 "$URL/api/?act=status&seq=1")" '{"status":"not found"}' "served while a slow client dribbles"
wait $SLOW
grep -q "^closed after" "$T_DIR/slow.out" && grep -q "b''" "$T_DIR/slow.out"
ok $? "the slow client was dropped after http.timeout ($(cat "$T_DIR/slow.out"))"

# max_connections idle sockets fill the server; after the timeout it serves again
socks() { find "/proc/$HTTPD/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
s0=$(socks)
python3 - "$PORT" "$T_DIR/held" <<'PY' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(8)]
open(sys.argv[2], "w").close()
time.sleep(4)
PY
HOLD=$!
wait_for 20 test -e "$T_DIR/held"
wait_for 20 eval '[ $(socks) -ge $((s0 + 8)) ]' # the server has accepted all 8
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/healthz")
[ "$code" = 000 ]; ok $? "with max_connections idle sockets open, a 9th connection is not served ($code)"
wait_for 15 answers
ok $? "once they time out, it serves again"
wait $HOLD

# nothing was queued, the server still runs, a good request works
is "$(ls "$SPOOL/req" "$SPOOL/proc" | grep -c '^[0-9]')" 0 "no job or list file from any of them"
kill -0 "$HTTPD"; ok $? "tmc-httpd still runs"
out=$(curl -s "$URL/api/" --data-urlencode act=convert --data-urlencode "json=$(job_json)")
test "$(echo "$out" | jq -r .result)" = success && test -e "$SPOOL/req/$(echo "$out" | jq -r .seq)"
ok $? "a good convert afterwards: success ($out)"
stop_httpd

# the bearer token
http_config '"token": "s3cr3t-token", "status_codes": "rest"'
start_httpd
is "$(code_of "$URL/api/?act=status&seq=1")" 401 "token set, none sent: 401"
is "$(code_of -H 'Authorization: Bearer wrong' "$URL/api/?act=status&seq=1")$(code_of -H 'Authorization: Basic czNjcjN0LXRva2Vu' "$URL/metrics")" \
	401401 "wrong token or scheme: 401"
is "$(code_of -H 'Authorization: Bearer s3cr3t-token' "$URL/api/?act=status&seq=1")$(code_of -H 'Authorization: bearer s3cr3t-token' "$URL/metrics")$(code_of "$URL/healthz")" \
	404200503 "right token: served (unknown seq 404; metrics 200); /healthz needs none (503: no daemon)"
curl -s -D - -o /dev/null "$URL/api/?act=status&seq=1" | grep -qi '^WWW-Authenticate: Bearer'
ok $? "401 says WWW-Authenticate: Bearer"
stop_httpd

# another loopback address: its name is a good Host too
http_config '"listen": "127.0.0.2", "status_codes": "rest"'
URL=http://127.0.0.2:$PORT
start_httpd
is "$(code_of "$URL/api/?act=status&seq=1")$(code_of -H "Host: localhost:$PORT" "$URL/api/?act=status&seq=1")$(code_of -H 'Host: 127.0.0.3' "$URL/api/?act=status&seq=1")" \
	404404403 "listening on 127.0.0.2: Host 127.0.0.2 and localhost served, 127.0.0.3 refused"
stop_httpd
