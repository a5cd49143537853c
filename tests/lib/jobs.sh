# jobs.sh - helpers for the tmc-jobs tests (40-44-jobs-*.t); source it after
# tap.sh. Jobs run through COPY2 (two copy steps: out1, then out2 from out1),
# so they never depend on the image stage.

COPY2='{ "two": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
  {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2"}
] } }'

# job_json HIRES_KEYS [TOP_KEYS]: a job on site01 with template "two"
job_json() { printf '{"hires": {"site": "site01", %s}, %s"template": "two"}\n' "$1" "${2:-}"; }
# submit FILE: tmcwatch submit, prints the seq
submit() { "$BIN/tmcwatch" -c "$CONF" submit "$1" 2>>"$T_DIR/submit.err" | tail -1; }
# make_tree TAG N: N distinct files $SITE/TAG/TAG-<i>.jpg; list in $T_DIR/TAG.list
make_tree() {
	mkdir -p "$SITE/$1"
	local i
	for i in $(seq 1 "$2"); do echo "$1 $i $RANDOM$RANDOM" >"$SITE/$1/$1-$i.jpg"; done
	(cd "$SITE/$1" && ls | sed 's|^|/|' | LC_ALL=C sort) >"$T_DIR/$1.list"
}
# tree_job TAG [HIRES_KEYS]: job file $T_DIR/TAG.json for the tree TAG
tree_job() { job_json "\"path_head\": \"/$1\", \"path_tail\": \"\", \"include\": [\"*.jpg\"]${2:+, $2}" >"$T_DIR/$1.json"; }
# outputs_of TAG: TAG's files are byte for byte in out1 and out2
outputs_of() {
	local rel
	while read -r rel; do
		cmp -s "$SITE/$1$rel" "$SITE/out1$rel" && cmp -s "$SITE/$1$rel" "$SITE/out2$rel" ||
			{ echo "# mismatch $rel"; return 1; }
	done <"$T_DIR/$1.list"
}
job_done() { test -e "$SPOOL/done/$1"; }
job_err() { test -e "$SPOOL/err/$1"; }
wait_done() { wait_for "${2:-60}" job_done "$1"; }
stat_of() { cat "$SPOOL/proc/$1.stat" 2>/dev/null; }
dispatched_is() { [ "$(cut -f2 "$SPOOL/proc/$1.stat" 2>/dev/null)" = "$2" ]; }
rows() { if [ -e "$SPOOL/done/$1.result" ]; then wc -l <"$SPOOL/done/$1.result"; else echo 0; fi; }
rows_are() { [ "$(rows "$1")" = "$2" ]; }
# cb_field SEQ KEY: a field of the callback queued for tmc-notify: its
# ticket in outbox/new/, or cur/ or err/ while tmc-notify tries to deliver it
# (the tests' callback URLs answer nothing); read again if it moved meanwhile
cb_field() {
	local d v
	for _ in 1 2 3 4 5; do
		for d in new cur err; do
			v=$(sed -n "s/^$2=//p" "$SPOOL/outbox/$d/$1/ticket" 2>/dev/null) && { echo "$v"; return; }
		done
		sleep 0.05
	done
}
# ctrl SEQ JSON: what an operator (or tmc-httpd) writes
ctrl() { printf '%s\n' "$2" >"$SPOOL/proc/$1.ctrl"; }
ctrl_is() { grep -q "\"status\":\"$2\"" "$SPOOL/proc/$1.ctrl" 2>/dev/null; }
# no (item, step) reported twice in the job's result log: nothing converted twice
log_dups() { cut -f1,2 "$SPOOL/proc/$1.log" | sort | uniq -d | wc -l; }

# Stages can be frozen (SIGSTOP) so that a job's window fills and waits.
STAGE_PIDS=""
stages_freeze() {
	wait_children || return 1 # every stage, not only the first to start
	STAGE_PIDS=$(pgrep -f "tmc-copy -c $CONF" | tr '\n' ' ')
	kill -STOP $STAGE_PIDS
}
stages_thaw() { [ -z "$STAGE_PIDS" ] || kill -CONT $STAGE_PIDS 2>/dev/null; STAGE_PIDS=""; }
trap 'stages_thaw; cleanup' EXIT
jobs_pid() { pgrep -f "tmc-jobs -c $CONF"; }
