#!/bin/bash
# tmc-watch figures (printed, never asserted):
# 1. latency from a file's final rename into a watched folder to its item
#    in the first stage's new/ (the ticket's t_pub, stamped by tmc-watch
#    just before the item is renamed into new/, minus the time the rename
#    returned), p50 / p99 / max: files renamed one at a time (5 ms apart),
#    then a burst of renames as fast as Python makes them;
# 2. start-up on a tree of 100,000 files in 10,000 folders: time from exec
#    to "ready" (every folder watched and listed) and peak RSS, for the
#    first start (nothing known: then also the time until all 100,000 are
#    handed off) and for a restart (all known from the index); and memory
#    per watched folder and per known file.
# tmc-watch runs alone (no stage consumes the items) on a temporary spool.
set -u
: "${TMC_BUILD:?run through make bench}"
BIN=$TMC_BUILD/bin
. "$(dirname "$0")/figures.sh"
N=${BENCH_WATCH_FILES:-1000}
DIRS=${BENCH_WATCH_DIRS:-10000}
PER=${BENCH_WATCH_PER_DIR:-10}
dir=$(mktemp -d "${TMPDIR:-/tmp}/tmcwatch-bench.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

setup() { # fresh spool, config and watched folder
	[ -n "$pid" ] && { kill $pid; wait $pid; pid=; }
	rm -rf "$dir/spool" "$dir/site" "$dir/log"
	mkdir -p "$dir/conf" "$dir/site/src" "$dir/site/stage"
	echo '{ "t": { "proc": [ {"name":"A","source":"hires","kind":"pass","path_head":"/out"} ] } }' \
		>"$dir/conf/template.json"
	cat >"$dir/conf/config.json" <<JSON
{ "spool_dir": "$dir/spool", "log_file": "$dir/log",
  "site": { "b": { "root": "$dir/site" } },
  "watchdog": { "b": { "dir": "/src", "include": ["*.jpg"], "template": "t" } } }
JSON
	"$BIN/tmc-enqueue" -c "$dir/conf/config.json" -T t -s b -b "$dir/site/src" </dev/null >/dev/null
}

readies() { cat "$dir/log" 2>/dev/null | grep -c "tmc-watch.*ready:"; }
start() { # start tmc-watch; sets pid, t0 (ns), ready0 (ready lines before)
	ready0=$(readies)
	t0=$(date +%s%N)
	TMC_TRACE=$dir/trace "$BIN/tmc-watch" -c "$dir/conf/config.json" -w b 2>/dev/null &
	pid=$!
}
wait_ready() { # until the log says ready once more; prints ms since start
	until [ "$(readies)" -gt "$ready0" ]; do sleep 0.01; done
	echo $((($(date +%s%N) - t0) / 1000000))
}
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
stop() { kill -TERM $pid; wait $pid; pid=; }

latency() { # latency LABEL GAP-SECONDS KEY
	rm -rf "$dir/spool/stages/t/00-A/new/"*
	python3 - "$dir/site/src" "$dir/site/stage" "$N" "$2" "$dir/renamed.json" <<'PY'
import json, os, sys, time
src, stage, n, gap, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
for d in range(10):
    os.makedirs(os.path.join(src, "d%d" % d), exist_ok=True)
time.sleep(0.5)
done = {}
for i in range(n):
    tmp = os.path.join(stage, "f%05d.jpg" % i)
    with open(tmp, "wb") as f:
        f.write(b"x" * 2000)
    rel = "/d%d/f%05d.jpg" % (i % 10, i)
    os.rename(tmp, src + rel)
    done[rel] = time.time_ns()
    if gap:
        time.sleep(gap)
json.dump(done, open(out, "w"))
PY
	until [ "$(ls "$dir/spool/stages/t/00-A/new" | wc -l)" -ge "$N" ]; do sleep 0.05; done
	python3 - "$dir/spool/stages/t/00-A/new" "$dir/renamed.json" "$1" "$3" <<'PY'
import json, os, sys
new, renamed, label, key = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
lat, last = [], 0
for item in os.listdir(new):
    kv = dict(l.split("=", 1) for l in open(os.path.join(new, item, "ticket")).read().splitlines() if "=" in l)
    if kv.get("rel") in renamed:
        lat.append((int(kv["t_pub"]) - renamed[kv["rel"]]) / 1e6)
        last = max(last, int(kv["t_pub"]))
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))]
first, lastren = min(renamed.values()), max(renamed.values())
print("%s: %d files, rename -> item in new/: p50 %.2f ms, p99 %.2f ms, max %.2f ms;"
      " renamed in %.0f ms, all in new/ after %.0f ms (%.0f files/s)"
      % (label, len(lat), pick(0.5), pick(0.99), lat[-1], (lastren - first) / 1e6,
         (last - first) / 1e6, len(lat) / ((last - first) / 1e9)))
if os.environ.get("BENCH_FIGURES"):
    with open(os.environ["BENCH_FIGURES"], "a") as f:
        f.write("watch.%s.p50\t%.2f\tms\t\n" % (key, pick(0.5)))
        f.write("watch.%s.p99\t%.2f\tms\t\n" % (key, pick(0.99)))
PY
}

echo "--- latency (tmc-watch alone, $(nproc) cores)"
setup
start
wait_ready >/dev/null
latency "one rename every 5 ms" 0.005 paced
latency "a burst of $N renames" 0 burst
stop

echo "--- start-up on $((DIRS * PER)) files in $DIRS folders"
setup
python3 - "$dir/site/src" "$DIRS" 0 <<'PY'
import os, sys
src, dirs = sys.argv[1], int(sys.argv[2])
for d in range(dirs):
    os.makedirs(os.path.join(src, "a%03d" % (d // 100), "b%03d" % (d % 100)), exist_ok=True)
PY
start
ms=$(wait_ready)
empty_kb=$(hwm_kb)
echo "empty tree of $DIRS folders: ready in $ms ms, peak RSS $empty_kb kB"
stop
setup
mkdir -p "$dir/site/src"
start
wait_ready >/dev/null
base_kb=$(hwm_kb)
stop
python3 - "$dir/site/src" "$DIRS" "$PER" <<'PY'
import os, sys
src, dirs, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    p = os.path.join(src, "a%03d" % (d // 100), "b%03d" % (d % 100))
    os.makedirs(p, exist_ok=True)
    for f in range(per):
        with open(os.path.join(p, "f%d.jpg" % f), "w") as fh:
            fh.write("%d %d\n" % (d, f))
PY
sync
start
ms=$(wait_ready)
first_kb=$(hwm_kb)
until grep -q "^handed=$((DIRS * PER))$" "$dir/spool/state/b.stat" 2>/dev/null; do sleep 0.1; done
all_ms=$((($(date +%s%N) - t0) / 1000000))
hand_kb=$(hwm_kb)
echo "first start, nothing known: ready in $ms ms (peak RSS $first_kb kB); all $((DIRS * PER)) handed off after $all_ms ms (peak RSS $hand_kb kB)"
figure watch.first_start.ready "$ms" ms
figure watch.first_start.all_handed_off "$all_ms" ms
figure watch.first_start.peak_rss "$hand_kb" kB
stop
rm -rf "$dir/spool/stages/t/00-A/new"
mkdir "$dir/spool/stages/t/00-A/new"
start
ms=$(wait_ready)
known_kb=$(hwm_kb)
echo "restart, all $((DIRS * PER)) known: ready in $ms ms, peak RSS $known_kb kB"
figure watch.restart.ready "$ms" ms
figure watch.restart.peak_rss "$known_kb" kB
stop
awk -v e="$empty_kb" -v b="$base_kb" -v k="$known_kb" -v d="$DIRS" -v f=$((DIRS * PER)) 'BEGIN {
	printf "memory: %.0f bytes per watched folder, %.0f bytes per known file (user space; from peak RSS: %d kB with 1 folder)\n",
		(e - b) * 1024 / d, (k - e) * 1024 / f, b }'
echo "kernel: about 1 kB per inotify watch (mark + pinned inode), not in RSS; counted against fs.inotify.max_user_watches"
echo "fs.inotify.max_user_watches = $(cat /proc/sys/fs/inotify/max_user_watches)"
