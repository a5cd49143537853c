#!/bin/bash
# Remote work across "hosts" on one machine (network namespaces, real TCP):
# gearmand in one, the spool host (tmcwatch run, local workers on) in
# another, two worker hosts (tmcwatch worker) each pinned to one CPU. A job
# of 40 JPEGs and 5 PNGs through a four-step template that is one remote
# unit: every output exists once with the bytes a local-only run makes,
# one ok result line per step per file, the job's rows in done/, and the
# spool host's status names both worker hosts with units done.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/netns.sh"
netns_init
. "$TMC_SRC/tests/lib/remote-hosts.sh"
plan 14

remote_inputs a 40
remote_job a
reference_outputs a
ok $? "reference: a local-only run of the same job"

gearmand_start
ok $? "gearmand listens at $GEARMAN_ADDR:4730 in its own namespace"
netns_host spool 2
worker_host_start w1 3 0
ok $? "worker host w1 (CPU 0) registered with gearmand"
worker_host_start w2 4 1
ok $? "worker host w2 (CPU 1) registered with gearmand"
spool_host_start
ok $? "spool host started"

seq=$(remote_submit a)
wait_for 180 job_done_in "$seq"
ok $? "the job reached done/"
job_checks "$seq" a "45 files"
spool_clean

d1=$(remote_done w1) d2=$(remote_done w2)
diag "units done remotely: w1 $d1, w2 $d2 (of 45; the rest by the local worker)"
netns_exec spool "$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status" 2>&1
sed 's/^/#   /' "$T_DIR/status" | grep -i -e remote -e w1 -e w2
[ "$d1" -gt 0 ] && [ "$d2" -gt 0 ] && grep -q w1 "$T_DIR/status" && grep -q w2 "$T_DIR/status"
ok $? "status on the spool host names both worker hosts, each with units done"
hosts_sane
