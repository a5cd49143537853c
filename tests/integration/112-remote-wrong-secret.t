#!/bin/bash
# A worker host with the wrong shared secret among good ones (network
# namespaces, real gearmand): it takes requests it cannot verify and
# answers with replies the spool host cannot verify. The spool host
# refuses every such reply (logged with the name the reply gives, as an
# unverified host), writes nothing from them and counts no unit for any
# host but the good one (nor any line for the unverified name); the job is done by the good
# worker host and the local workers, every output once with the local-only
# run's bytes.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/netns.sh"
netns_init
. "$TMC_SRC/tests/lib/remote-hosts.sh"
plan 16

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

log=$T_DIR/spool/tmcwatch.log
refused=$(grep -c 'bad reply from .*not signed with our secret.*(refused)' "$log")
other=$(cat "$SPOOL"/run/remote/[0-9]* | awk '$1 != "host=w1" { split($3, d, "="); n += d[2] } END { print n + 0 }')
diag "replies refused: $refused; units done by w1: $(remote_done w1), by any other host: $other"
[ "$refused" -gt 0 ]
ok $? "replies not signed with the shared secret refused, and logged"
is "$other $(grep -c 'done on w3' "$log")" "0 0" "no unit counted as done by a host other than w1"
[ "$(remote_done w1)" -gt 0 ]
ok $? "w1 did units"
grep -q 'bad reply from unverified host w3: not signed with our secret' "$log"
ok $? "the refusal names the worker host with the wrong secret in the log (unverified host w3)"
! grep -qs 'host=w3 ' "$SPOOL"/run/remote/[0-9]*
ok $? "and run/remote counts nothing for w3 (its name is unauthenticated)"
hosts_sane
