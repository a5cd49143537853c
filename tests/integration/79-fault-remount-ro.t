#!/bin/bash
# The spool's file system fails under the pipeline as ext4 really fails: a
# loop-mounted ext4 with errors=remount-ro gets an error
# (/sys/fs/ext4/<dev>/trigger_fs_error) while items move through two image
# steps, so the kernel turns it read-only with every program still running
# and whatever it had not written back is lost. The programs see EROFS:
# read-only is recorded as a fault, not blamed on items. Then, as an
# operator would: stop the daemon, unmount, fsck, mount, start again. Every
# original ends with both outputs, and nothing is in err/ without a reason
# naming its cause (intermediate pixels lost with the write-back are redone
# from the original, never failed).
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root (loop mount)"; exit 0; fi
for t in mkfs.ext4 e2fsck losetup; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t is not installed"; exit 0; }
done
IMG=$T_DIR/spool.img MNT=$T_DIR/mnt
truncate -s 256M "$IMG" && mkfs.ext4 -q -F "$IMG" && mkdir -p "$MNT" &&
	mount -o loop,errors=remount-ro "$IMG" "$MNT" ||
	{ echo "1..0 # SKIP cannot loop-mount an ext4 image here"; exit 0; }
trap 'stop_daemon; umount -l "$MNT" 2>/dev/null; cleanup' EXIT
DEV=$(basename "$(findmnt -n -o SOURCE "$MNT")")
[ -w "/sys/fs/ext4/$DEV/trigger_fs_error" ] ||
	{ echo "1..0 # SKIP this kernel has no /sys/fs/ext4/$DEV/trigger_fs_error"; exit 0; }
plan 8

SPOOL=$MNT/spool
image_config '{ "t1": { "proc": [
  {"name":"A","source":"hires","size":[400,400],"path_head":"/o1"},
  {"name":"B","source":"A","size":[100,100],"path_head":"/o2"}
] } }'
N=60
gm convert -size 1600x1200 plasma:fractal -quality 90 "$SITE/in/x0.jpg"
for i in $(seq 1 $N); do cp "$SITE/in/x0.jpg" "$SITE/in/x$i.jpg"; done
rm "$SITE/in/x0.jpg"
start_daemon
printf '{"hires":{"site":"site01","path_head":"/in","path_tail":"","include":["*.jpg"]},"template":"t1"}' >"$T_DIR/job.json"
seq=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json")
wait_for 60 eval '[ $(find "$SITE/o2" -name "*.jpg" | wc -l) -ge 4 ]'
ok $? "a job of $N originals runs on the loop-mounted spool"

echo 1 >"/sys/fs/ext4/$DEV/trigger_fs_error"
wait_for 60 grep -q 'read-only:.*Read-only file system' "$T_DIR/tmcwatch.log"
ok $? "the spool turned read-only under it: recorded as a read-only fault"
done_before=$(find "$SITE/o2" -name '*.jpg' | wc -l)
diag "$done_before of $N originals were through both steps when the disk failed"

stop_daemon
wait_for 60 umount "$MNT"
ok $? "stopped and unmounted"
e2fsck -fy "$IMG" >"$T_DIR/fsck.out" 2>&1
rc=$?
test $rc -le 1
ok $? "fsck repaired the file system (exit $rc)"
mount -o loop,errors=remount-ro "$IMG" "$MNT"
start_daemon
wait_for 180 eval '[ $(find "$SITE/o2" -name "*.jpg" | wc -l) -ge $N ] && [ -e "$SPOOL/done/$seq.result" ]'
ok $? "after the repair the job ends in done/ and every original reaches both outputs, with nothing redone by hand"
bad=0
for i in $(seq 1 $N); do
	[ "$(geom "$SITE/o1/x$i.jpg" | cut -d' ' -f1-3)" = "400 300 JPEG" ] &&
		[ "$(geom "$SITE/o2/x$i.jpg" | cut -d' ' -f1-3)" = "100 75 JPEG" ] ||
		{ bad=$((bad + 1)); diag "x$i.jpg: $(geom "$SITE/o1/x$i.jpg") / $(geom "$SITE/o2/x$i.jpg")"; }
done
is "$bad" 0 "every output is a whole JPEG of the right size"
empty=0
for e in "$SPOOL"/stages/*/*/err/*; do
	[ -e "$e" ] || continue
	case $e in *.reason) continue ;; esac
	r=$(cat "$e/reason" 2>/dev/null || cat "$e.reason" 2>/dev/null)
	diag "err: ${e#"$SPOOL"/}: $r"
	[ -n "$r" ] || empty=$((empty + 1))
done
is "$empty" 0 "no err/ entry without a reason naming its cause"
is "$(find "$SPOOL"/stages -mindepth 4 -maxdepth 4 -path '*/err/*' | wc -l)" 0 \
	"nothing in err/ at all: lost tickets and pixels were redone, not failed"
