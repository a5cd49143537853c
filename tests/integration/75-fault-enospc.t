#!/bin/bash
# A full spool (blocks, then inodes) is a fault of the machine, not of the
# items: a three-step copy chain fed while its tmpfs spool is full puts
# nothing in err/ and strands nothing; once the ballast is removed every item
# flows on by itself, with no restart, one output each and a result line
# for every step (one that could not be written holds its step back).
. "$TMC_SRC/tests/lib/tap.sh"
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root (mounts a tmpfs)"; exit 0; fi
plan 10
N=30
MNT_UP=
trap '[ -n "$MNT_UP" ] && umount -l "$SPOOL" 2>/dev/null; cleanup' EXIT

write_config "$COPY3" '"max_attempts": 2, "retry_delay": 1,'
make_inputs $N

# fill_ballast KIND: fill the spool's tmpfs (blocks or inodes), then leave a
# little room so the daemon can start; its handoffs fill the rest.
fill_ballast() {
	mkdir -p "$SPOOL/ballast"
	if [ "$1" = blocks ]; then
		dd if=/dev/zero of="$SPOOL/ballast/b" bs=4k 2>/dev/null
		truncate -s -16k "$SPOOL/ballast/b"
	else
		local i=0
		while touch "$SPOOL/ballast/$i" 2>/dev/null; do i=$((i + 1)); done
		rm -f "$SPOOL/ballast/0" "$SPOOL/ballast/1" "$SPOOL/ballast/2" "$SPOOL/ballast/3"
	fi
}

run_case() { # run_case KIND MOUNT-OPTIONS
	local kind=$1 started
	rm -rf "$SITE/out1" "$SITE/out2" "$SITE/out3" "$T_DIR/tmcwatch.log"
	mkdir -p "$SPOOL"
	mount -t tmpfs -o "$2" tmpfs "$SPOOL" || { echo "Bail out! cannot mount tmpfs"; exit 1; }
	MNT_UP=1
	start_daemon && stop_daemon   # makes the spool's folders
	enqueue chain <"$T_DIR/list" >/dev/null
	fill_ballast "$kind"
	: >"$T_DIR/tmcwatch.log"
	start_daemon
	wait_for 60 grep -q 'No space left on device' "$T_DIR/tmcwatch.log"
	ok $? "$kind: the full spool is hit while items are handed on"
	# let the faults go on for a few retries
	wait_for 60 eval '[ $(grep -c "retried in\|retried every" "$T_DIR/tmcwatch.log") -ge 6 ]'
	is "$(spool_items "$SPOOL" err)" 0 "$kind: nothing in err/ while the spool is full"
	rm -rf "$SPOOL/ballast"
	wait_files "$SITE/out3" $N 120
	ok $? "$kind: every item flows on once there is room, without a restart"
	wait_idle 60
	is "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)$(spool_items "$SPOOL" err)$(find "$SPOOL"/stages/*/*/tmp -mindepth 1 | wc -l)" \
		0000 "$kind: nothing left in new/ cur/ err/ or tmp/"
	started=$(grep -c 'tmc-copy.*: started$' "$T_DIR/tmcwatch.log")
	# a result line that could not be written holds its step back (redone
	# once there is room): every step of every item has one
	lines=$(cut -f1,2 "$SPOOL/proc/test1.log" | sort -u | wc -l)
	outputs_match out3 && outputs_match out1 && [ "$started" -eq 3 ] && [ "$lines" -eq $((3 * N)) ]
	ok $? "$kind: one output each, byte for byte; stages started once ($started); a result line for each step ($lines)"
	stop_daemon
	umount "$SPOOL" && MNT_UP=
}

run_case blocks size=1m,nr_inodes=4000
run_case inodes size=64m,nr_inodes=700
