#!/bin/bash
# The spool protocol alone: items per second through a 5-step pipeline of
# pass-through steps (each hands the item on, writes no file) under a flood
# (latencies then include queueing behind the items ahead), pickup latency
# from an item's rename into new/ to its claim (p50, p99) when items arrive
# one at a time, and the flood again through 3 copy steps that write
# fsynced outputs (the cost of durability).
set -u
: "${TMC_BUILD:?run through make bench}"
BIN=$TMC_BUILD/bin
. "$(dirname "$0")/figures.sh"
export TMC_LIBEXEC=$BIN
N=${BENCH_ITEMS:-5000}
dir=$(mktemp -d /tmp/tmcwatch-bench.XXXXXX)
trap 'kill $daemon 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

# pickups TRACE: ns from each item's entry into a stage's new/ ("P <id>
# <step> <ns>", written after the rename) to its claim there ("C ...");
# the lines of one item come from several processes, in any order
pickups() {
	awk '$1 == "P" { p[$2 " " $3] = $4 } $1 == "C" { c[$2 " " $3] = $4 }
		END { for (k in c) if (k in p) print c[k] - p[k] }' "$1"
}

setup() { # setup TEMPLATES
	rm -rf "$dir/spool" "$dir/site/out"*
	mkdir -p "$dir/conf" "$dir/site/in"
	echo "$1" >"$dir/conf/template.json"
	cat >"$dir/conf/config.json" <<JSON
{ "client_cnt": 2, "worker_cnt": 2, "spool_dir": "$dir/spool",
  "site": { "b": { "root": "$dir/site" } } }
JSON
}

run() { # run TEMPLATE STEPS LABEL KEY: prints "<items/s> <pickup p99 ms>" last
	local tpl=$1 steps=$2 label=$3 key=$4 want t0 t1 done
	rm -rf "$dir/spool" "$dir/site/out"* "$dir/site/x"
	export TMC_TRACE=$dir/trace
	rm -f "$TMC_TRACE"
	"$BIN/tmcwatch" -c "$dir/conf/config.json" run 2>"$dir/log" &
	daemon=$!
	until [ -e "$dir/spool/run/tmcwatch.pid" ]; do sleep 0.05; done
	sleep 0.5
	want=$((N * steps))
	t0=$(date +%s%N)
	"$BIN/tmc-enqueue" -c "$dir/conf/config.json" -T "$tpl" -s b -b "$dir/site/in" -o job:bench <"$dir/list" >/dev/null
	t1=$(wait_lines "$dir/spool/proc/bench.log" "$want")
	kill -TERM $daemon; wait $daemon
	done=$((t1 - t0))
	pickups "$TMC_TRACE" | sort -n | awk -v n="$N" -v ns="$done" -v label="$label" '
		{ lat[NR] = $1 / 1e6 }
		END {
			printf "%s: %d items in %.2f s = %.0f items/s end to end; pickup p50 %.2f ms, p99 %.2f ms (%d handoffs)\n",
				label, n, ns / 1e9, n / (ns / 1e9), lat[int(NR * 0.5)], lat[int(NR * 0.99)], NR >"/dev/stderr"
			printf "%.0f %.2f\n", n / (ns / 1e9), lat[int(NR * 0.99)]
		}' >"$dir/$key.last"
	unset TMC_TRACE
}

# runs KEY RUNS TEMPLATE STEPS LABEL: the flood RUNS times; the median rate
# and the median pickup p99 are the figures (one run varies with the load)
runs() {
	local key=$1 n=$2 i
	: >"$dir/$key.all"
	for i in $(seq 1 "$n"); do
		run "$3" "$4" "$5 (run $i of $n)" "$key" 2>&1
		cat "$dir/$key.last" >>"$dir/$key.all"
	done
	rate=$(cut -d' ' -f1 "$dir/$key.all" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	p99=$(cut -d' ' -f2 "$dir/$key.all" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	echo "$5: median of $n runs $rate items/s, pickup p99 $p99 ms"
	figure "spool.$key.items_per_s" "$rate" /s
	figure "spool.$key.pickup_p99" "$p99" ms
}

mkdir -p "$dir/site/in"
for i in $(seq 1 "$N"); do echo "/f$i.jpg"; done >"$dir/list"
for i in $(seq 1 "$N"); do echo "original $i" >"$dir/site/in/f$i.jpg"; done

setup '{ "pass5": { "proc": [
 {"name":"S1","source":"hires","kind":"pass","path_head":"/x"},
 {"name":"S2","source":"S1","kind":"pass","path_head":"/x"},
 {"name":"S3","source":"S2","kind":"pass","path_head":"/x"},
 {"name":"S4","source":"S3","kind":"pass","path_head":"/x"},
 {"name":"S5","source":"S4","kind":"pass","path_head":"/x"} ] } }'
runs pass5_flood "${BENCH_RUNS:-5}" pass5 5 "5 pass-through steps, flood"

# one at a time: 400 items, 5 ms apart, each through the 5 steps
export TMC_TRACE=$dir/trace
rm -f "$TMC_TRACE" "$dir/spool/proc/bench.log"
"$BIN/tmcwatch" -c "$dir/conf/config.json" run 2>"$dir/log" &
daemon=$!
sleep 0.5
head -n 400 "$dir/list" | while read -r line; do
	echo "$line" | "$BIN/tmc-enqueue" -c "$dir/conf/config.json" -T pass5 -s b -b "$dir/site/in" \
		-p "one${line//[^0-9]/}-" -o job:bench >/dev/null
	sleep 0.005
done
wait_lines "$dir/spool/proc/bench.log" 2000 >/dev/null
kill -TERM $daemon; wait $daemon
pickups "$TMC_TRACE" | sort -n | awk '{ lat[NR] = $1 / 1e6 }
	END { printf "pickup, items arriving one at a time: p50 %.2f ms, p99 %.2f ms (%d handoffs)\n", lat[int(NR * 0.5)], lat[int(NR * 0.99)], NR
	      printf "%.2f %.2f\n", lat[int(NR * 0.5)], lat[int(NR * 0.99)] >"/dev/stderr" }' 2>"$dir/paced"
read -r p50 p99 <"$dir/paced"
figure spool.paced.pickup_p50 "$p50" ms
figure spool.paced.pickup_p99 "$p99" ms
unset TMC_TRACE

N=${BENCH_COPY_ITEMS:-2000}
head -n "$N" "$dir/list" >"$dir/list2" && mv "$dir/list2" "$dir/list"
setup '{ "copy3": { "proc": [
 {"name":"A","source":"hires","kind":"copy","path_head":"/out1"},
 {"name":"B","source":"A","kind":"copy","path_head":"/out2"},
 {"name":"C","source":"B","kind":"copy","path_head":"/out3"} ] } }'
runs copy3_flood 1 copy3 3 "3 copy steps, fsynced outputs"
