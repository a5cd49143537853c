#!/bin/bash
# Remote work survives the faults of a network of hosts, each with 0 files
# lost and 0 done twice (result lines and outputs counted, outputs
# compared byte for byte with a local-only run): kill -9 of every process
# of one worker host while it has a unit in hand; a 30 s partition (its
# cable pulled) of the other worker host while it has one in hand, whose
# late reply after the cable is back must not be applied; kill -9 of
# gearmand with units in flight, then its restart, after which both worker
# hosts register again. One job per fault, and one after them all that
# worker hosts take part in again.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/netns.sh"
netns_init
. "$TMC_SRC/tests/lib/remote-hosts.sh"
plan 35

for t in kill cut gm; do remote_inputs "$t" 24; remote_job "$t"; done
remote_inputs after 16
remote_job after
reference_outputs kill cut gm
ok $? "reference: a local-only run of the three jobs"

# each fault is dealt to a worker host that surely has a unit in hand: w1
# alone when the first job starts, w2 alone when the second does
gearmand_start
netns_host spool 2
worker_host_start w1 3 0
ok $? "gearmand and worker host w1 up"
# requests unanswered for 8 s are taken back (the partition lasts 30)
spool_host_start '"deadline": 8'
ok $? "spool host started"

# hold HOST: every process of HOST stopped while it has a unit in hand
# (stopped first, then looked at, so the unit cannot finish in between)
hold() {
	local p
	p=$(netns_pids "$1")
	kill -STOP $p 2>/dev/null
	work_in_hand "$1" && return 0
	kill -CONT $p 2>/dev/null
	return 1
}
release() { kill -CONT $(netns_pids "$1") 2>/dev/null; }
log_lines() { cat "$SPOOL/proc/$1.log" 2>/dev/null | wc -l; }

# 1. a worker host loses power: every process of it killed with SIGKILL;
# w2 comes up meanwhile
seq=$(remote_submit kill)
wait_for 120 hold w1
ok $? "w1 has a unit in hand"
netns_kill w1
ok $? "every process of w1 killed (kill -9), none left in its namespace"
worker_host_start w2 4 1
ok $? "worker host w2 up"
wait_for 180 job_done_in "$seq"
ok $? "kill -9 of w1: the job finishes"
job_checks "$seq" kill "kill -9 of w1"

# 2. w2's cable pulled for 30 s while it has a unit in hand: the spool host
# gives the unit up at the deadline and it is done elsewhere, by w1 too,
# back meanwhile (its dead work cleared at its start); w2's reply comes
# after the cable is back and is not applied
seq=$(remote_submit cut)
wait_for 120 hold w2
ok $? "w2 has a unit in hand"
netns_cable w2 down
cut_at=$SECONDS
release w2
lines0=$(log_lines "$seq")
worker_host_start w1 3 0
ok $? "w1 restarted during the partition and registered again"
sleep $((30 - (SECONDS - cut_at))) # the partition: 30 s by its nature
lines1=$(log_lines "$seq")
netns_cable w2 up
diag "result lines during the partition: $lines0 -> $lines1"
[ "$lines1" -gt "$lines0" ]
ok $? "work went on during w2's partition"
wait_for 180 job_done_in "$seq"
ok $? "30 s partition of w2: the job finishes"
wait_for 120 eval '! work_in_hand w2'
ok $? "w2 finished its unit after the partition (its late reply was sent)"
job_checks "$seq" cut "partition of w2"

# 3. gearmand killed with units in flight, then started again
seq=$(remote_submit gm)
wait_for 120 eval 'hold w1 || hold w2'
ok $? "a unit in flight (its worker host held)"
gearmand_kill
release w1
release w2
gearmand_start
ok $? "gearmand killed (kill -9) and started again"
wait_for 120 gearman_workers_at spool 3 4
r=$?
ok $r "both worker hosts registered their functions with the new gearmand"
[ $r = 0 ] || gearman_diag
wait_for 30 gearman_workers_named spool w1 w2
r=$?
ok $r "... under their host names (libgearman's own reconnect would drop them)"
[ $r = 0 ] || gearman_diag
wait_for 180 job_done_in "$seq"
ok $? "kill -9 of gearmand: the job finishes"
job_checks "$seq" gm "kill -9 of gearmand"
spool_clean

# after the three faults the worker hosts take units again
before=$(($(remote_done w1) + $(remote_done w2)))
seq=$(remote_submit after)
wait_for 180 job_done_in "$seq"
after=$(($(remote_done w1) + $(remote_done w2)))
diag "units done remotely: $before before the last job, $after after it"
[ "$after" -gt "$before" ]
ok $? "a job after the faults: units done on the worker hosts again"
hosts_sane
