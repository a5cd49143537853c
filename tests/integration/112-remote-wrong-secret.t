#!/bin/bash
# A worker host with the wrong shared secret among good ones (network
# namespaces, real gearmand): it takes requests it cannot verify and
# answers with replies the spool host cannot verify. The spool host
# refuses every such reply (logged), writes nothing from them and counts
# no unit for that host; the job is done by the good worker host and the
# local workers, every output once with the local-only run's bytes.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/netns.sh"
netns_init
. "$TMC_SRC/tests/lib/remote.sh"
plan 11

remote_inputs b 24
remote_job b
reference_outputs b
ok $? "reference: a local-only run of the same job"

gearmand_start
netns_host spool 2
worker_host_start w1 3 0
ok $? "worker host w1 (the shared secret) registered"
worker_host_start w3 5 1 0123456789abcdef-WRONG-secret
ok $? "worker host w3 (another secret) registered"
spool_host_start
ok $? "spool host started"

seq=$(remote_submit b)
wait_for 180 job_done_in "$seq"
ok $? "the job reached done/"
job_checks "$seq" b "with a wrong-secret host"

n3=$(grep -c 'bad reply from w3: .*(refused)' "$T_DIR/spool/tmcwatch.log")
diag "replies refused from w3: $n3; units done by w1: $(remote_done w1)"
[ "$n3" -gt 0 ] && [ "$(remote_done w3)" = 0 ] && [ "$(remote_done w1)" -gt 0 ]
ok $? "w3's replies refused and logged, no unit counted for it; w1 did units"
