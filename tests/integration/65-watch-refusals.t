#!/bin/bash
# Every refusal is visible, and none waits: symbolic links (to a file and to
# a folder), FIFOs, sockets, devices (as root) and a folder that is a bind
# mount of its own parent (as root) in a watched tree each get one log line
# naming the path and the reason, found by the start-up walk and by events;
# repeated events on the same object add no line; more than 20 refusals in
# a minute end in one "... and K more" line. None of them is converted and
# none is counted as waiting: state/<key>.stat and `tmcwatch status` say
# waiting 0 at idle (they used to sit 300 s in the pending list). Uploaders'
# temporary names (Office ~$x, LibreOffice .~lock.x#, rsync .x.XXXXXX,
# Syncthing, Chrome, WinSCP) are never taken, with a debug line each, and
# the final file renamed from one is taken once.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
plan 14

root=0
[ "$(id -u)" = 0 ] && root=1
loop_mounted=0
trap '[ $loop_mounted = 1 ] && umount -l "$SRC/loop/inner"; cleanup' EXIT

watch_config "$COPY1"
LOG=$T_DIR/tmcwatch.log
mk_socket() { python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1"; }
# refused LOG-TEXT: how many log lines say that
refused() { grep -cF -- "$1" "$LOG" 2>/dev/null; }

# found by the start-up walk
echo real >"$SRC/real.jpg"
ln -s real.jpg "$SRC/link.jpg"
mkdir -p "$T_DIR/elsewhere" && echo far >"$T_DIR/elsewhere/far.jpg"
ln -s "$T_DIR/elsewhere" "$SRC/dirlink"
mkfifo "$SRC/fifo.jpg"
mk_socket "$SRC/sock.jpg"
echo office >"$SRC/~\$old.jpg"
[ $root = 1 ] && mknod "$SRC/dev.jpg" c 1 3
if [ $root = 1 ]; then
	mkdir -p "$SRC/loop/inner" && mount --bind "$SRC" "$SRC/loop/inner" && loop_mounted=1
fi
mkdir -p "$SRC/ev"
export TMC_DEBUG=1 # the temporaries' lines are debug lines
start_watching
ok $? "daemon started, watcher ready"

# found by events
ln -s ../real.jpg "$SRC/ev/link2.jpg"
mkfifo "$SRC/ev/fifo2.jpg"
mk_socket "$SRC/ev/sock2.jpg"
[ $root = 1 ] && mknod "$SRC/ev/dev2.jpg" b 7 0
# uploaders' temporaries: some stay, some are renamed to their final names
echo office >"$SRC/ev/~\$x.jpg"
echo lock >"$SRC/ev/.~lock.x.jpg#"
echo rsync >"$SRC/ev/.x.jpg.AbC123" && mv "$SRC/ev/.x.jpg.AbC123" "$SRC/ev/x.jpg"
echo sync >"$SRC/ev/.syncthing.y.jpg.tmp" && mv "$SRC/ev/.syncthing.y.jpg.tmp" "$SRC/ev/y.jpg"
echo chrome >"$SRC/ev/z.jpg.crdownload" && mv "$SRC/ev/z.jpg.crdownload" "$SRC/ev/z.jpg"
echo winscp >"$SRC/ev/w.jpg.filepart" && mv "$SRC/ev/w.jpg.filepart" "$SRC/ev/w.jpg"
echo real2 >"$SRC/ev/real2.jpg"
wait_results 6 60
wait_idle 20
conv() { cut -f6 "$WLOG" | sort | tr '\n' ' '; }
is "$(conv)" "/ev/real2.jpg /ev/w.jpg /ev/x.jpg /ev/y.jpg /ev/z.jpg /real.jpg " \
	"only regular files with final names are converted (renamed temporaries included)"
is "$(rel_dups)" 0 "each once (no path twice, none through a loop)"

is "$(refused "$SRC/link.jpg: not taken: a symbolic link (links")$(refused "$SRC/ev/link2.jpg: not taken: a symbolic link (links")" \
	11 "symbolic links to files: one line each, from the walk and from an event"
is "$(refused "$SRC/dirlink: not taken: a symbolic link to a folder")" 1 \
	"a symbolic link to a folder: one line naming it as such"
is "$(refused "$SRC/fifo.jpg: not taken: a FIFO")$(refused "$SRC/ev/fifo2.jpg: not taken: a FIFO")$(refused "$SRC/sock.jpg: not taken: a socket")$(refused "$SRC/ev/sock2.jpg: not taken: a socket")" \
	1111 "FIFOs and sockets: one line each"
if [ $root = 1 ]; then
	is "$(refused "$SRC/dev.jpg: not taken: a character device")$(refused "$SRC/ev/dev2.jpg: not taken: a block device")" \
		11 "devices: one line each"
	is "$(refused "$SRC/loop/inner: not taken: a folder loop")" 1 \
		"a bind mount of the watched folder inside itself: refused as a loop, once"
else
	ok 0 "# SKIP devices need root"
	ok 0 "# SKIP bind mounts need root"
fi
check "temporary names: a debug line says whose (Office, LibreOffice)" \
	eval 'grep -qF "$SRC/ev/~\$x.jpg: skipped: a temporary name (a Microsoft Office owner file)" "$LOG" &&
	grep -qF "$SRC/ev/.~lock.x.jpg#: skipped: a temporary name (a LibreOffice lock file)" "$LOG"'

# idle: nothing waits (stat is rewritten within a second of a change)
waiting_zero() { [ "$(stat_get handed)" = 6 ] && [ "$(stat_get waiting)" = 0 ]; }
wait_for 20 waiting_zero
ok $? "state/site01.stat: handed 6, waiting 0 with every refused object present"
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status" 2>&1
check "tmcwatch status: watch site01 ... waiting 0" grep -q "watch site01: .*waiting 0$" "$T_DIR/status"

# the same objects again (attribute events): no second line
touch -h "$SRC/ev/link2.jpg" "$SRC/link.jpg"
touch "$SRC/ev/fifo2.jpg" 2>/dev/null
echo more >"$SRC/ev/after.jpg" # a marker: its event comes after the touches
wait_results 7 30
is "$(refused "$SRC/ev/link2.jpg: not taken")$(refused "$SRC/ev/fifo2.jpg: not taken")" 11 \
	"an object refused before is not reported again within the hour"

# a burst: at most 20 lines a minute, then one summary line
for i in $(seq 1 30); do ln -s ../real.jpg "$SRC/ev/burst$i.jpg"; done
wait_for 100 grep -q "\.\.\. and [0-9]* more objects not taken in the last minute" "$LOG"
ok $? "more than 20 refusals in a minute: a \"... and K more\" line"
lines=$(grep -c ": not taken: " "$LOG")
more=$(sed -n 's/.*\.\.\. and \([0-9]*\) more objects not taken.*/\1/p' "$LOG" | awk '{s+=$1} END {print s+0}')
total=$((7 + 3 * root + 30))
is "$((lines + more))" "$total" "every refusal is either a line or counted in a summary ($lines lines + $more)"
stop_daemon
