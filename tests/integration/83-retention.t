#!/bin/bash
# Retention: `tmcwatch sweep` (and the supervisor, at start and daily)
# removes done/ and err/ jobs and failed items of the stages and outbox/
# older than retention_days, and usage records older than records_days,
# each class counted in the log and each failed item named; anything newer
# stays, a job whose newest file is new or that is still in proc/ stays,
# and in-flight work (new/, cur/, tmp/, req/, proc/) is never touched,
# however old.
. "$TMC_SRC/tests/lib/tap.sh"
plan 14

write_config "$COPY3" '"retention_days": 30, "records_days": 60,'
make_inputs 3
enqueue chain <"$T_DIR/list" >/dev/null # makes the spool; 3 items in 00-A/new/
A=$SPOOL/stages/chain/00-A
B=$SPOOL/stages/chain/01-B
old() { touch -h -d "$1 days ago" "${@:2}"; }

# jobs: 111 old; 222 old but its .result new; 333 new; 444 old but running
for s in 111 222 333 444; do printf '{}' >"$SPOOL/done/$s"; printf '/a.jpg\n' >"$SPOOL/done/$s.file"; done
printf '/a.jpg\t1\t1\t0\n' >"$SPOOL/done/111.result"
printf '/a.jpg\t1\t1\t0\n' >"$SPOOL/done/222.result"
old 40 "$SPOOL"/done/111* "$SPOOL/done/222" "$SPOOL/done/222.file" "$SPOOL"/done/444*
printf '{}' >"$SPOOL/proc/444"
printf '{}' >"$SPOOL/err/555"; printf '{}' >"$SPOOL/err/666"; old 31 "$SPOOL/err/555"
# failed items: old ones in a stage and in outbox/, a new one
mkfailed() { # mkfailed DIR NAME DAYS
	mkdir -p "$1/err/$2"
	printf 'id=%s\norigin=job:111\nsrc=%s/in/%s.jpg\nrel=/%s.jpg\n' "$2" "$SITE" "$2" "$2" >"$1/err/$2/ticket"
	echo "it was broken" >"$1/err/$2/reason"
	old "$3" "$1/err/$2"
}
mkdir -p "$SPOOL"/outbox/{tmp,new,cur,err} "$B"/{tmp,new,cur,err}
mkfailed "$B" oldfail 45; mkfailed "$B" newfail 2; mkfailed "$SPOOL/outbox" oldcb 45
# in flight, however old: new/, cur/, tmp/, req/, proc/
old 400 "$A"/new/* "$A/new" "$SPOOL/proc/444"
mkdir -p "$B/cur/held" "$B/tmp/+half.1.1"; old 400 "$B/cur/held" "$B/tmp/+half.1.1"
printf '{}' >"$SPOOL/req/888"; old 400 "$SPOOL/req/888"
# usage records: 70 days old, 40 days old, today
mkdir -p "$SPOOL/state/records"
for d in 20200101 20200102 20991231; do echo '{}' >"$SPOOL/state/records/$d.json"; done
old 70 "$SPOOL/state/records/20200101.json"; old 40 "$SPOOL/state/records/20200102.json"
before_flight=$(ls "$A/new" | wc -l)

# another sweep holds the lock: this one removes nothing
flock "$SPOOL/run/sweep.lock" "$BIN/tmcwatch" -c "$CONF" sweep 2>"$T_DIR/busy.err"
is "$? $(ls "$SPOOL/done" | wc -l)" "75 10" "a sweep already running: exit 75, nothing removed"

"$BIN/tmcwatch" -c "$CONF" sweep 2>"$T_DIR/sweep.err"
ok $? "tmcwatch sweep exits 0"
is "$(cd "$SPOOL/done" && ls | sort | tr '\n' ' ')" "222 222.file 222.result 333 333.file 444 444.file " \
	"done/: the old job removed with all its files; a job with a new file, a new one, a running one kept"
is "$(ls "$SPOOL/err" | tr '\n' ' ')" "666 " "err/: the old job removed, the new one kept"
is "$(ls "$B/err" | tr '\n' ' ')$(ls "$SPOOL/outbox/err" | wc -l)" "newfail 0" \
	"failed items: old ones removed from a stage's and outbox/'s err/, a new one kept"
is "$(ls "$A/new" | wc -l) $(ls "$B/cur") $(ls "$B/tmp") $(ls "$SPOOL/req") $(ls "$SPOOL/proc")" \
	"$before_flight held +half.1.1 888 444" "in-flight work never touched, however old"
is "$(ls "$SPOOL/state/records" | tr '\n' ' ')" "20200102.json 20991231.json " \
	"records: older than records_days removed, newer kept (their own key)"
grep -q "retention: removed $B/err/oldfail removed (/*$SITE/in/oldfail.jpg; job:111: it was broken)" "$T_DIR/tmcwatch.log"
ok $? "each failed item removed is logged with its original, origin and reason"
grep -q "retention: removed 1 done jobs, 1 failed jobs, 2 failed items (older than 30 days), 1 days of usage records (older than 60 days)" "$T_DIR/tmcwatch.log"
ok $? "one line counts what each class lost"

# the supervisor sweeps at start, in a process of its own
printf '{}' >"$SPOOL/done/777"; old 50 "$SPOOL/done/777"
start_daemon
wait_for 30 eval "! test -e '$SPOOL/done/777'"
ok $? "tmcwatch run sweeps at start"
# (1 or 2: tmc-jobs may move the bad proc/444 to err/ first, and then the
# sweep takes the old done/444 too)
wait_for 30 eval "[ \$(grep -Ec 'retention: removed [12] done jobs' '$T_DIR/tmcwatch.log') -ge 2 ]"
ok $? "and logs it"
wait_idle 60
stop_daemon
is "$DAEMON_RC" 0 "the daemon stops cleanly"
is "$(count_files "$SITE/out3")" 3 "the pipeline ran beside the sweep"

# retention_days 0: nothing of that class is removed
write_config "$COPY3" '"retention_days": 0, "records_days": 60,'
printf '{}' >"$SPOOL/done/999"; old 500 "$SPOOL/done/999"
"$BIN/tmcwatch" -c "$CONF" sweep 2>/dev/null
test -e "$SPOOL/done/999"; ok $? "retention_days 0 keeps jobs for ever"
