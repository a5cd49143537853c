#!/bin/bash
# Remote work through gearmand, hosts as network namespaces on this machine
# (tests/lib/netns.sh): N originals through TMC's reference job (a 24 MP
# JPEG to 8 sizes, each from the one before) sent from a spool host whose
# own workers of the unit are stopped (SIGSTOP, so every unit goes remote),
# first to one worker host pinned to CPU 0, then to two pinned to CPU 0 and
# CPU 1. Prints originals per second of each and the ratio two/one, peers
# the same job on one local core (tmcwatch run, worker_cnt 1, pinned to CPU
# 0). gearmand and the spool host (receiving ~10 MB per original, writing 8
# outputs) run unpinned beside them, so on a 2-core machine they take from
# the workers' cores; the CPU seconds each host used during a run are
# printed beside its rate (a worker host that used less than the run's
# wall time waited: latency, not CPU, bounds it). BENCH_GWORKERS sets the
# gearman workers per worker host (2). Needs root; skipped otherwise.
# Figures, not assertions.
set -u
: "${TMC_BUILD:?run through make bench}"
here=$(cd "$(dirname "$0")" && pwd)
export TMC_SRC=${TMC_SRC:-$(cd "$here/../.." && pwd)}
. "$here/figures.sh"
. "$here/inputs.sh"
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/netns.sh"
netns_skip() { echo "remote: skipped: $*"; exit 0; }
netns_init
for p in tmc-remote tmc-gworker; do [ -x "$BIN/$p" ] || netns_skip "$p is not built"; done
N=${BENCH_ORIGINALS:-48}
# one run of each varies by +-10% on a 2-core machine: the figures are the
# medians of RUNS runs (one worker host RUNS times, then two)
RUNS=${BENCH_REMOTE_RUNS:-3}
SECRET=0123456789abcdef-remote-bench

now() { date +%s%N; }
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.3f", n / (ns / 1e9) }'; }

bench_photo "$T_DIR/orig.jpg"
echo "original: $(gm identify -format '%wx%h' "$T_DIR/orig.jpg"), $(($(stat -c %s "$T_DIR/orig.jpg") / 1024)) KiB, $N per run"
TPL="{ \"ref\": { \"proc\": [ $(ref_steps) ] } }"
# inputs TAG: N copies under $SITE/in/TAG and the job file $T_DIR/TAG.json
inputs() {
	mkdir -p "$SITE/in/$1"
	for i in $(seq 1 "$N"); do cp "$T_DIR/orig.jpg" "$SITE/in/$1/p$i.jpg"; done
	printf '{"hires": {"site": "site01", "path_head": "/in", "path_tail": "/%s", "include": ["*.jpg"]}, "template": "ref"}\n' \
		"$1" >"$T_DIR/$1.json"
}
# cpu HOST...: CPU seconds (user + system) used so far by the processes of
# the hosts (their children included once they ended)
cpu() {
	local h p
	for h in "$@"; do
		for p in $(netns_pids "$h"); do cat "/proc/$p/stat" 2>/dev/null; done
	done | awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 }
		END { printf "%.1f", t / hz }'
}
# run CONF SPOOL TAG: ns from the job's submit until all N*8 result lines;
# with hosts up, the CPU each used meanwhile goes to $T_DIR/cpu
run() {
	local seq t0 h
	inputs "$3"
	for h in $NETNS_HOSTS; do echo "$h $(cpu "$h")"; done >"$T_DIR/cpu0"
	t0=$(now)
	seq=$("$BIN/tmcwatch" -c "$1" submit "$T_DIR/$3.json" | tail -1)
	echo $(($(wait_lines "$2/proc/$seq.log" $((N * 8))) - t0))
	while read -r h c; do echo "$h $(cpu "$h") $c"; done <"$T_DIR/cpu0" |
		awk '{ printf "%s%s %.1f s", (NR > 1 ? ", " : ""), $1, $2 - $3 } END { print "" }' >"$T_DIR/cpu"
}

# the peer: one local core
conf=$(host_config local "$TPL" '"worker_cnt": 1,')
taskset -c 0 "$BIN/tmcwatch" -c "$conf" run 2>"$T_DIR/local.err" &
pid=$!
T_PIDS="$T_PIDS $pid"
wait_for 20 test -e "$T_DIR/local/spool/run/tmcwatch.pid"
sleep 0.5 # its children start
ns=$(run "$conf" "$T_DIR/local/spool" local)
kill -TERM $pid
wait $pid
local_rate=$(rate "$N" "$ns")
echo "local, one core (worker_cnt 1):    $local_rate originals/s"
figure remote.ref_job.local_one_core "$local_rate" /s

gm_conf() { # gm_conf SECRET MORE: the "gearman" object
	printf '"gearman": {"servers": ["%s:4730"], "templates": ["ref"], "secret": "%s"%s},' \
		"$GEARMAN_ADDR" "$SECRET" "${1:+, $1}"
}
gearmand_start || { echo "remote: gearmand did not start"; exit 1; }
# the spool host: two units in flight (one per worker host), its own
# workers of the unit's head step stopped once they run
netns_host spool 2
conf=$(host_config spool "$TPL" "$(gm_conf '"max_inflight": 4') \"worker_cnt\": 1,")
SPOOL=$T_DIR/spool/spool
netns_bg spool "" "$BIN/tmcwatch" -c "$conf" run 2>"$T_DIR/spool.err"
wait_for 20 test -e "$SPOOL/run/tmcwatch.pid"
head_workers() { pgrep -f "tmc-image -c $conf -t [^ ]* -T ref -s 0"; }
wait_for 30 head_workers || { echo "remote: the spool host's workers did not start"; exit 1; }
kill -STOP $(head_workers)

# worker hosts: one core each (worker_cnt 1, pinned), two gearman workers
# so that the next original arrives while one is worked on
worker() { # worker NAME N CPU
	netns_host "$1" "$2"
	local c
	c=$(host_config "$1" "$TPL" "$(gm_conf "\"name\": \"$1\", \"workers\": ${BENCH_GWORKERS:-2}") \"worker_cnt\": 1,")
	netns_bg "$1" "$3" "$BIN/tmcwatch" -c "$c" worker 2>"$T_DIR/$1.err"
	wait_for 60 gearman_workers_named spool "$1"
}
worker w1 3 0 || { echo "remote: worker host w1 did not register"; exit 1; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# runs TAG LABEL: RUNS runs, each printed; the median of their rates is last
runs() {
	local i ns r rates=()
	for i in $(seq 1 "$RUNS"); do
		ns=$(run "$conf" "$SPOOL" "$1$i")
		rm -rf "$SITE/in/$1$i" # 450 MB an input set
		r=$(rate "$N" "$ns")
		rates+=("$r")
		echo "remote, $2, run $i of $RUNS: $r originals/s (CPU used: $(cat "$T_DIR/cpu"))" >&2
	done
	median "${rates[@]}"
}
one=$(runs one "one worker host (CPU 0)")
echo "remote, one worker host (CPU 0):     median $one originals/s"
figure remote.ref_job.one_host "$one" /s remote.ref_job.local_one_core
worker w2 4 1 || { echo "remote: worker host w2 did not register"; exit 1; }
two=$(runs two "two worker hosts (CPU 0, 1)")
echo "remote, two worker hosts (CPU 0, 1): median $two originals/s"
figure remote.ref_job.two_hosts "$two" /s remote.ref_job.one_host
ratio=$(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", a / b }')
echo "two worker hosts / one (medians):    ${ratio}x (the issue asks >= 1.8x)"
figure remote.ref_job.two_over_one "$ratio" x
kill -CONT $(head_workers) 2>/dev/null
exit 0
