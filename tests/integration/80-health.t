#!/bin/bash
# Status says why items do not move: a spool on a small tmpfs filled up
# (blocks, then inodes), remounted read-only, the daemon stopped, a child
# that keeps dying, and a program's own fault record (tmc-faultprobe writes
# into the full spool for real and notes the errno through spool/fault.c).
# Each shows in `tmcwatch status` (text, --json, exit code), /healthz (503
# with the reason) and /metrics (tmc_fault gauges). Needs root (mount).
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (tmpfs mounts)"
	exit 0
fi
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
export TMC_RESTART_DELAY_MS=100
plan 26

mkdir -p "$SPOOL"
mount -t tmpfs -o size=4m,nr_inodes=400 tmcwatch-test "$SPOOL" || { echo "Bail out! mount"; exit 1; }
trap 'kill $T_PIDS 2>/dev/null; wait 2>/dev/null; umount -l "$SPOOL"; cleanup' EXIT
http_config
start_daemon
start_httpd

st() { "$BIN/tmcwatch" -c "$CONF" status "$@"; }
health() { curl -s "$URL/healthz"; }
metric() { curl -s "$URL/metrics" | grep -x "$1"; }

st >"$T_DIR/st"; rc=$?
is "$rc $(grep '^health:' "$T_DIR/st")" "0 health: ok" "a healthy spool: status exit 0, health: ok"
is "$(code_of "$URL/healthz") $(health)" "200 ok" "/healthz 200 ok"

# --- disk full: blocks ---
bg "$BIN/tmc-faultprobe" "$SPOOL" >"$T_DIR/probe.out" 2>"$T_DIR/probe.err"
PROBE=$!
wait_for 20 grep -q '^clear' "$T_DIR/probe.out"
ok $? "tmc-faultprobe writes into the spool"
dd if=/dev/zero of="$SPOOL/fill" bs=64k 2>/dev/null
wait_for 20 grep -q '^fault disk-full' "$T_DIR/probe.out"
ok $? "tmc-faultprobe meets ENOSPC for real"
wait_for 20 eval 'st | grep -q "^  disk-full (tmc-faultprobe\[$PROBE\]) since "'
st >"$T_DIR/st"; rc=$?
is "$rc" 150 "status exits 150 while a fault holds"
grep -Eq '^  disk-full \(spool\) since [0-9-]+ [0-9:]+ \([0-9]+s\): .*spool: [0-9]+ KiB free of [0-9]+ KiB$' "$T_DIR/st"
ok $? "status: disk-full from statvfs, with the free space and the since of the program's record"
grep -q "^  disk-full (tmc-faultprobe\[$PROBE\]) since .*: write $SPOOL/req/.faultprobe: No space left on device$" "$T_DIR/st"
ok $? "status: the program's own record, with its cause"
sed -n 4p "$T_DIR/st" | grep -q '^health: 2 problems'
ok $? "the health line comes right after TMC's three lines"
st --json | jq -e --arg p "tmc-faultprobe[$PROBE]" '.health.ok == false and
	([.health.conditions[] | select(.kind == "disk-full" and (.since | type) == "number")] | length) == 2 and
	any(.health.conditions[]; .who == $p and (.cause | test("No space left")))' >/dev/null
ok $? "status --json: health.conditions with kind, who, since and cause"
is "$(code_of "$URL/healthz")" 503 "/healthz 503 on a full spool"
health | grep -q '^disk-full (spool) since [0-9]*: .*KiB free'
ok $? "/healthz says disk-full and why"
curl -s -H 'Accept: application/json' "$URL/healthz" | jq -e '.status == "unhealthy" and any(.conditions[]; .kind == "disk-full")' >/dev/null
ok $? "/healthz as JSON on Accept: application/json"
metric 'tmc_fault{kind="disk-full"} 1' >/dev/null && metric 'tmc_fault{kind="read-only"} 0' >/dev/null &&
	curl -s "$URL/metrics" | grep -Eq '^tmc_fault_since_seconds\{kind="disk-full"\} [0-9]{10}$'
ok $? "/metrics: tmc_fault{kind=\"disk-full\"} 1 with its since"
rm -f "$SPOOL/fill"
wait_for 20 grep -q '^clear' <(tail -1 "$T_DIR/probe.out")
wait_for 20 eval '[ "$(code_of "$URL/healthz")" = 200 ]'
ok $? "space back: the program clears its fault, /healthz 200 again"
st >/dev/null; is "$?" 0 "status exit 0 again"

# --- inodes ---
mkdir "$SPOOL/many"
i=0; while touch "$SPOOL/many/$i" 2>/dev/null; do i=$((i + 1)); done
st >"$T_DIR/st"
grep -Eq '^  inodes-full \(spool\) since .*: [0-9]+ inodes free of 400$' "$T_DIR/st"
ok $? "status: inodes-full after $i files"
health | grep -q '^inodes-full (spool)'
ok $? "/healthz says inodes-full"
rm -rf "$SPOOL/many"

kill "$PROBE"; wait "$PROBE" 2>/dev/null

# --- daemon stopped ---
stop_daemon
st >"$T_DIR/st"; rc=$?
is "$rc" 3 "daemon stopped: status exits 3 (LSB: not running)"
is "$(code_of "$URL/healthz")" 503 "daemon stopped: /healthz 503"
health | grep -q '^not-running (tmcwatch)' && metric 'tmc_fault{kind="not-running"} 1' >/dev/null
ok $? "/healthz and /metrics say not-running"

# --- read-only (the daemon stopped: a mount with writers cannot turn read-only) ---
mount -o remount,ro "$SPOOL"
st >"$T_DIR/st"; rc=$?
is "$rc" 3 "read-only (and no daemon): status exit 3"
grep -q "^  read-only (spool) since unknown: $SPOOL is on a read-only file system$" "$T_DIR/st"
ok $? "status: read-only"
health | grep -q '^read-only (spool)' && metric 'tmc_fault{kind="read-only"} 1' >/dev/null
ok $? "/healthz and /metrics: read-only"
mount -o remount,rw "$SPOOL"
! health | grep -q read-only
ok $? "read-write again: /healthz no longer says read-only"
# --- a child that keeps dying ---
mkdir -p "$T_DIR/fakebin"
cp "$BIN"/* "$T_DIR/fakebin/"
printf '#!/bin/sh\nexit 3\n' >"$T_DIR/fakebin/tmc-copy"
TMC_LIBEXEC=$T_DIR/fakebin start_daemon
wait_for 30 eval 'st | grep -Eq "^  keeps-dying \(t1/00-A#0\) since [0-9-]+ [0-9:]+ \([0-9]+s\): [0-9]+ deaths in a row within 10 s of start; last: exited 3$"'
ok $? "status: keeps-dying with the child, since and its last exit"
health | grep -q '^keeps-dying (t1/00-A#0) since [0-9]*: .*exited 3' && metric 'tmc_fault{kind="keeps-dying"} 1' >/dev/null
ok $? "/healthz and /metrics: keeps-dying"
stop_daemon
