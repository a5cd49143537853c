#!/bin/bash
# act=convert answers the true cause when a job cannot be saved, with real
# faults: every seq of the coming seconds taken; link(2) failing with EIO
# (strace injection); as root, a spool on a small tmpfs filled up (bytes,
# then inodes) and remounted read-only. Each is a 503 with Retry-After and
# the cause in X-TMC-Error (not a 500 "No such file or directory" left by
# the cleanup), and nothing is queued.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 6

JOB='{"hires":{"site":"site01","path_head":"/in","path_tail":"","include":["*.jpg"]},"template":"t1"}'
# try_convert JOB: sets CODE, ERR (X-TMC-Error), RA (Retry-After), BODY
try_convert() {
	BODY=$(curl -s --max-time 30 -D "$T_DIR/h" "$URL/api/" --data-urlencode act=convert \
		--data-urlencode "json=$1")
	CODE=$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$T_DIR/h")
	ERR=$(sed -n 's/^X-TMC-Error: //Ip' "$T_DIR/h" | tr -d '\r')
	RA=$(sed -n 's/^Retry-After: //Ip' "$T_DIR/h" | tr -d '\r')
}
jobs_in_req() { find "$SPOOL/req" -maxdepth 1 -type f ! -name '.*' -newer "$T_DIR/mark" | wc -l; }

# ---- every seq of the next 20 seconds taken ----
http_config
start_httpd
python3 - "$SPOOL/req" <<'EOF'
import os, sys, time
d = sys.argv[1]
now = time.time()
for t in range(20):
    stamp = time.strftime("%y%m%d%H%M%S", time.localtime(now + t))
    for k in range(1000):
        open(os.path.join(d, "%s%03d" % (stamp, k)), "w").close()
EOF
touch "$T_DIR/mark"
t0=$(date +%s.%N)
try_convert "$JOB"
diag "answered in $(echo "$(date +%s.%N) - $t0" | bc) s"
[ "$CODE" = 503 ] && [ -n "$RA" ] && [[ $ERR == *"no free seq"* ]] && [ "$(jobs_in_req)" = 0 ]
ok $? "all seqs taken: 503, Retry-After $RA, '$ERR'"
stop_httpd

# ---- link(2) fails with EIO ----
if command -v strace >/dev/null; then
	rm -rf "$SPOOL"
	http_config
	strace -f -o /dev/null -e trace=linkat -e inject=linkat:error=EIO \
		"$BIN/tmc-httpd" -c "$CONF" 2>>"$T_DIR/httpd.err" &
	spid=$!
	T_PIDS="$T_PIDS $spid"
	wait_for 20 curl -sf "$URL/healthz"
	touch "$T_DIR/mark"
	try_convert "$JOB"
	[ "$CODE" = 503 ] && [ -n "$RA" ] && [[ $ERR == *"Input/output error"* ]] && [ "$(jobs_in_req)" = 0 ]
	ok $? "link fails with EIO: 503, Retry-After $RA, '$ERR'"
	pkill -TERM -P "$spid" # tmc-httpd itself: strace -o FILE ignores SIGTERM
	wait "$spid" 2>/dev/null
else
	ok 0 "# SKIP needs strace"
fi

# ---- a full, then inode-less, then read-only spool (root: mount) ----
if [ "$(id -u)" != 0 ]; then
	for n in 1 2 3 4; do ok 0 "# SKIP needs root (mount -t tmpfs)"; done
	exit 0
fi
rm -rf "$SPOOL"
mkdir -p "$SPOOL"
mount -t tmpfs -o size=1m,nr_inodes=400 tmpfs "$SPOOL" || { ok 1 "mount tmpfs"; exit 0; }
trap 'for p in $T_PIDS; do kill -TERM "$p" 2>/dev/null; done; wait; umount -l "$SPOOL"; cleanup' EXIT
http_config
start_httpd
dd if=/dev/zero of="$SPOOL/fill" bs=64k 2>/dev/null
touch "$T_DIR/mark"
try_convert "$JOB"
[ "$CODE" = 503 ] && [ -n "$RA" ] && [[ $ERR == *"No space left on device"* ]] && [ "$(jobs_in_req)" = 0 ]
ok $? "a full spool: 503, Retry-After $RA, '$ERR'"
ls -A "$SPOOL/req" | grep -q '^\.jobq' && ok 1 "temporary files left in req/" || ok 0 "no temporary file left in req/"

rm -f "$SPOOL/fill"
i=0
while [ $i -lt 1000 ] && : 2>/dev/null >"$SPOOL/f$i"; do i=$((i + 1)); done
try_convert "$JOB"
[ "$CODE" = 503 ] && [ -n "$RA" ] && [[ $ERR == *"No space left on device"* ]] && [ "$(jobs_in_req)" = 0 ]
ok $? "no inode left ($i files made): 503, Retry-After $RA, '$ERR'"

rm -f "$SPOOL"/f*
mount -o remount,ro "$SPOOL"
try_convert "$JOB"
[ "$CODE" = 503 ] && [ -n "$RA" ] && [[ $ERR == *"Read-only file system"* ]]
ok $? "a read-only spool: 503, Retry-After $RA, '$ERR'"
