#!/bin/bash
# Escapes through job files: a folder symlink inside the site root
# (<root>/dirlink -> /etc) named by a file list, sent through req/ and
# through the REST shim's act=convert, is refused at tmc-jobs with an error
# row and nothing from /etc is copied; a scan job refuses a base reached
# through it. req/ entries that are not regular files (a symlink to a good
# job, a fifo, a folder) go to err/ with a reason and are never followed.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 16

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_config "$COPY2" "\"http\": { \"port\": $PORT },"
URL=http://127.0.0.1:$PORT
mkdir -p "$SITE/t"
echo "inside $RANDOM" >"$SITE/t/a.jpg"
ln -s /etc "$SITE/dirlink"
ln -s /etc/passwd "$SITE/t/link.jpg"
no_etc() { ! grep -rqs '^root:' "$SITE/out1" "$SITE/out2"; }
row() { awk -F'\t' -v r="$2" '$1 == r { print $2 "," $3 "," $4 }' "$SPOOL/done/$1.result"; }

start_daemon
ok $? "daemon started"

# through req/: the list beside the job, as a writer limited to req/ leaves it
S=100101000000001
printf '/t/a.jpg\n/dirlink/passwd\n/t/link.jpg\n' >"$SPOOL/req/.$S.file" && mv "$SPOOL/req/.$S.file" "$SPOOL/req/$S.file"
job_json '"path_head": "", "path_tail": "", "filelist": true' >"$SPOOL/req/.$S" && mv "$SPOOL/req/.$S" "$SPOOL/req/$S"
wait_done $S 90
ok $? "req/ file list job done"
is "$(row $S /t/a.jpg)" "2,2,0" "the file inside: copied"
is "$(row $S /dirlink/passwd)" "2,0,1" "/dirlink/passwd: an error row, nothing created"
is "$(row $S /t/link.jpg)" "2,0,1" "a file symlink to /etc/passwd: an error row"
check "nothing under out1/ or out2/ holds /etc/passwd" no_etc
check "no output at out1/dirlink" test ! -e "$SITE/out1/dirlink"
grep -q "dirlink/passwd: a symbolic link on its path beneath $SITE is not followed" "$T_DIR/tmcwatch.log"
ok $? "the log names the path and why"

# through the REST shim: act=convert with an uploaded list
"$BIN/tmc-httpd" -c "$CONF" 2>>"$T_DIR/httpd.err" &
T_PIDS="$T_PIDS $!"
wait_for 20 curl -sf "$URL/healthz"
printf '/dirlink/passwd\n/dirlink/shadow\n' >"$T_DIR/list.txt"
out=$(curl -s "$URL/api/" -F act=convert -F "json=$(job_json '"path_head": "", "path_tail": "", "filelist": true')" \
	-F "fileupload=@$T_DIR/list.txt")
S2=$(echo "$out" | jq -r .seq)
wait_done "$S2" 90
ok $? "act=convert job done ($out)"
is "$(cut -f2- "$SPOOL/done/$S2.result" | sort -u)" "$(printf '2\t0\t1')" "act=convert: both files get an error row"
check "act=convert: nothing from /etc copied" no_etc

# a scan job whose base is reached through the link
job_json '"path_head": "/dirlink", "path_tail": "", "include": ["passwd"]' >"$T_DIR/scan.json"
S3=$(submit "$T_DIR/scan.json")
wait_for 60 job_err "$S3"
grep -q "symbolic link" "$SPOOL/err/$S3.reason"
ok $? "a scan job through /dirlink goes to err/ with the reason"

# req/ entries that are not regular files
job_json '"path_head": "/t", "path_tail": "", "include": ["*.jpg"]' >"$T_DIR/good.json"
S4=100101000000004
ln -s "$T_DIR/good.json" "$SPOOL/req/$S4"
# the reason is written first, then the entry is moved beside it
wait_for 30 test -L "$SPOOL/err/$S4"
grep -q "a symbolic link, not a regular file" "$SPOOL/err/$S4.reason" && test -L "$SPOOL/err/$S4"
ok $? "a symlink in req/ goes to err/ (itself, not its target) with a reason"
mkfifo "$SPOOL/req/fifo-job"
mkdir "$SPOOL/req/dir-job"
wait_for 30 eval '[ -z "$(ls "$SPOOL/req" | grep -e fifo-job -e dir-job)" ]'
ok $? "a fifo and a folder leave req/"
is "$(cat "$SPOOL"/err/*.reason | grep -c -e 'a fifo, not a regular file' -e 'a folder, not a regular file')" 2 \
	"each with its reason in err/"
is "$(ls "$SPOOL/done" | grep -c "^$S4")" 0 "the job the symlink points to was never run"
