# remote-hosts.sh - the remote-work tests' hosts and checks (11x-remote-*.t);
# source after tap.sh and netns.sh. One template of four image steps, a
# spool host ("spool", tmcwatch run, at .2) and worker hosts (tmcwatch
# worker, each pinned to one CPU), all talking to gearmand ("gm", at .1).
# What every test proves is the same: each file's steps ran once (one
# result line per step, none twice), every output is there once and has
# the bytes a local-only run makes.

REMOTE_SECRET=0123456789abcdef-remote-test
# four steps of one unit: decoded once on the worker host, each step from
# the one before; S writes PNG (another extension than the original's)
REMOTE_TPL='{ "t": { "proc": [
  {"name":"L","source":"hires","size":[320,320],"comp":85,"path_head":"/l"},
  {"name":"M","source":"L","size":[160,160],"sharpen":[2,0.5],"path_head":"/m"},
  {"name":"S","source":"M","size":[80,80],"format":"png","path_head":"/s"},
  {"name":"X","source":"M","size":[40,40],"path_head":"/x"}
] } }'
REMOTE_STEPS=4
REMOTE_OUTS="l m s x"

for p in tmcwatch tmc-image tmc-remote tmc-gworker; do
	[ -x "$BIN/$p" ] || netns_skip "$p is not built"
done
command -v gearadmin >/dev/null || netns_skip "gearadmin is not installed (gearman-tools)"

# gearman_conf [SECRET] [MORE_KEYS]: the "gearman" object of every host
gearman_conf() {
	printf '"gearman": { "servers": ["%s:4730"], "templates": ["t"], "secret": "%s"%s },' \
		"$GEARMAN_ADDR" "${1:-$REMOTE_SECRET}" "${2:+, $2}"
}

# spool_host_start [GEARMAN_MORE_KEYS] [CONFIG_KEYS]: host "spool" running
# tmcwatch run with local workers on (one worker_cnt slot, so that the
# worker hosts get their share); CONF, SPOOL, DAEMON as tap.sh's
spool_host_start() {
	case " $NETNS_HOSTS " in *" spool "*) ;; *) netns_host spool 2 || return 1 ;; esac
	CONF=$(host_config spool "$REMOTE_TPL" "$(gearman_conf "" "${1:-}") ${2:-} \"worker_cnt\": 1,")
	SPOOL=$T_DIR/spool/spool
	netns_bg spool "" "$BIN/tmcwatch" -c "$CONF" run 2>>"$T_DIR/spool/daemon.err"
	DAEMON=$NETNS_PID
	wait_for 20 test -e "$SPOOL/run/tmcwatch.pid"
}

# worker_host_start NAME N CPU [SECRET]: host NAME at .N, tmcwatch worker
# pinned to CPU with one gearman worker; waits until gearmand lists it
worker_host_start() {
	local name=$1 n=$2 cpu=$3 conf
	case " $NETNS_HOSTS " in *" $name "*) ;; *) netns_host "$name" "$n" || return 1 ;; esac
	conf=$(host_config "$name" "$REMOTE_TPL" \
		"$(gearman_conf "${4:-}" "\"name\": \"$name\", \"workers\": 1") \"worker_cnt\": 1,")
	netns_bg "$name" "$cpu" "$BIN/tmcwatch" -c "$conf" worker 2>>"$T_DIR/$name/daemon.err"
	eval "WORKER_$name=\$NETNS_PID"
	wait_for 60 gearman_workers_named spool "$name"
}
# work_in_hand NAME: the worker host has a request in hand (its work folder)
work_in_hand() { find "$T_DIR/$1/spool/remote" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | grep -q .; }

# remote_inputs TAG N: N JPEGs (and N/8 PNGs) under $SITE/in/TAG, some in
# a sub-folder, distinct content; 1200x900 so that a unit takes a moment
remote_inputs() {
	local d=$SITE/in/$1 i x
	mkdir -p "$d/sub"
	[ -e "$T_DIR/base.jpg" ] || gm convert -size 1200x900 plasma:fractal -quality 90 "$T_DIR/base.jpg"
	for i in $(seq 1 "$2"); do
		x=$((i * 37 % 1100))
		gm convert "$T_DIR/base.jpg" -fill "#$(printf '%06x' $((i * 2654435 % 16777216)))" \
			-draw "rectangle $x,$((i * 13 % 800)) $((x + 90)),$((i * 13 % 800 + 90))" \
			-quality 90 "$d/$([ $((i % 5)) = 0 ] && echo sub/)$1-$i.jpg"
		[ $((i % 8)) != 0 ] ||
			gm convert "$T_DIR/base.jpg" -resize 50% -rotate $((i * 7)) "$d/$1-p$i.png"
	done
	(cd "$SITE/in/$1" && find . -type f | sed 's|^\.||' | LC_ALL=C sort) >"$T_DIR/$1.list"
}
# remote_job TAG: job file $T_DIR/TAG.json for the files of TAG (outputs
# under <step>/TAG/)
remote_job() {
	printf '{"hires": {"site": "site01", "path_head": "/in", "path_tail": "/%s", "subdir": true,
  "include": ["*.jpg", "*.png"]}, "template": "t"}\n' "$1" >"$T_DIR/$1.json"
}
remote_submit() { "$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/$1.json" 2>>"$T_DIR/submit.err" | tail -1; }

# reference_outputs TAG...: the outputs a local-only tmcwatch (no gearman)
# makes of the files of each TAG, kept in $T_DIR/ref/<step>/TAG
reference_outputs() {
	local conf seq t ok=0 d
	conf=$(host_config ref "$REMOTE_TPL" '"worker_cnt": 2,')
	d=$T_DIR/ref
	"$BIN/tmcwatch" -c "$conf" run 2>>"$d/daemon.err" &
	local pid=$!
	wait_for 20 test -e "$d/spool/run/tmcwatch.pid" || ok=1
	for t in "$@"; do
		seq=$("$BIN/tmcwatch" -c "$conf" submit "$T_DIR/$t.json" 2>>"$d/daemon.err" | tail -1)
		wait_for 180 test -e "$d/spool/done/$seq" || ok=1
	done
	kill -TERM "$pid"
	wait "$pid"
	for s in $REMOTE_OUTS; do
		mkdir -p "$d/$s"
		for t in "$@"; do mv "$SITE/$s/$t" "$d/$s/$t" || ok=1; done
	done
	return $ok
}

# job_checks SEQ TAG LABEL: the TAP lines that say nothing was lost or
# done twice: the job in done/ with one row per file, each step's result
# line once per file and ok, every output there once with the bytes of
# the local-only run, and nothing left in the spool host's stages
job_checks() {
	local seq=$1 tag=$2 label=$3 n want s
	n=$(wc -l <"$T_DIR/$tag.list")
	want=$((n * REMOTE_STEPS))
	is "$(cut -f2- "$SPOOL/done/$seq.result" 2>/dev/null | sort | uniq -c | sed 's/^ *//')" \
		"$n $(printf '%s\t%s\t0' $REMOTE_STEPS $REMOTE_STEPS)" \
		"$label: $n rows in done/, each $REMOTE_STEPS steps requested and created, no warning"
	is "$(wc -l <"$SPOOL/proc/$seq.log") $(cut -f1,2 "$SPOOL/proc/$seq.log" | sort -u | wc -l)" \
		"$want $want" "$label: $want result lines, one per step per file (none twice)"
	is "$(cut -f8 "$SPOOL/proc/$seq.log" | sort -u | tr '\n' ' ')" "ok " \
		"$label: every step's outcome is ok"
	local same=0 count=0
	for s in $REMOTE_OUTS; do
		count=$((count + $(count_files "$SITE/$s/$tag")))
		diff -r "$T_DIR/ref/$s/$tag" "$SITE/$s/$tag" >>"$T_DIR/diff.out" 2>&1 || same=1
	done
	is "$count" "$((n * REMOTE_STEPS))" "$label: $((n * REMOTE_STEPS)) output files, none missing or extra"
	ok $same "$label: every output byte-equal to the local-only run's"
}
spool_clean() {
	is "$(spool_items "$SPOOL" new) $(spool_items "$SPOOL" cur) $(spool_items "$SPOOL" err) $(stray_temps)" \
		"0 0 0 0" "nothing left in new/, cur/ or err/ of the spool host, no temporary output"
}
# remote_done HOST: units HOST did for the spool host (run/remote/<pid> of
# every tmc-remote, summed)
remote_done() {
	cat "$SPOOL"/run/remote/* 2>/dev/null |
		awk -v h="$1" '{ for (i = 1; i <= NF; i++) if ($i == "host=" h) f = 1
			for (i = 1; i <= NF; i++) if (f && $i ~ /^done=/) { sub(/done=/, "", $i); n += $i }
			f = 0 } END { print n + 0 }'
}
job_done_in() { test -e "$SPOOL/done/$1"; }
# todo_ok STATUS LABEL REASON: a TAP line for a known bug, marked TODO so
# that prove reports it (and reports it fixed) without failing the test
todo_ok() {
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then echo "ok $T_N - $2 # TODO $3"; else echo "not ok $T_N - $2 # TODO $3"; fi
}
# hosts_sane: every host stopped (SIGTERM); no supervisor of any host saw a
# child die of a signal or fail (a crash, an ASan abort), and no sanitizer
# reported anything, at exit included; the processes a test kills on
# purpose are whole hosts, never one child
hosts_sane() {
	local deaths reports h p
	# stopped first, so that what a process reports at its exit (leaks) counts
	{
		for p in $NETNS_BGPIDS; do kill -TERM "$p"; done
		for h in $NETNS_HOSTS; do wait_for 30 ns_empty "$NETNS_PFX-$h"; done
	} 2>/dev/null
	deaths=$(cat "$T_DIR"/*/tmcwatch.log 2>/dev/null | grep -E '\(pid [0-9]+\) (killed by signal|exited [1-9])')
	reports=$(cat "$T_DIR"/*/daemon.err 2>/dev/null | grep -E 'Sanitizer|runtime error')
	[ -z "$deaths$reports" ]
	ok $? "no process of any host crashed or failed, no sanitizer report"
	[ -z "$deaths$reports" ] || printf '%s\n%s\n' "$deaths" "$reports" | head -5 | sed 's/^/#   /'
}
# gearman_diag: what gearmand lists and what the worker hosts' gearman
# workers said last, for a failed check
gearman_diag() {
	gearadmin_in spool --workers 2>&1 | sed 's/^/#   gearmand: /'
	grep -h 'tmc-gworker' "$T_DIR"/w*/tmcwatch.log 2>/dev/null | tail -8 | cut -c1-200 | sed 's/^/#   /'
}
