#!/bin/bash
# Job files that cannot run go to err/<seq> (the job JSON, as TMC kept it)
# with err/<seq>.reason saying why, and nothing else is affected: a good
# job dropped in among them runs. A job without hires or with an unknown
# site ends in done/ with total 0, as TMC closed it. An inline proc is
# checked as template.json's procs are (one equal to a template runs as it);
# a filelist job without its list fails with TMC's message; target.root must
# be a site root.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 15

write_config "$COPY2"
make_tree g 3
start_daemon
ok $? "daemon started"

inline_same='"proc": [{"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
  {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2"}]'
inline_other='"proc": [{"name": "A", "source": "Z", "kind": "copy", "path_head": "/elsewhere"}]'
base='"site": "site01", "path_head": "/g", "path_tail": "", "include": ["*.jpg"]'
# name | content | what the reason must say
cases=(
	"garbage|this is not json|not a JSON job"
	"array|[1, 2]|expected a JSON object"
	"nosite|{\"hires\": {\"path_head\": \"/g\", \"path_tail\": \"\"}, \"template\": \"two\"}|hires.site: missing"
	"notpl|{\"hires\": {$base}, \"template\": \"nope\"}|no such template"
	"climb|{\"hires\": {\"site\": \"site01\", \"path_head\": \"/g/../..\", \"path_tail\": \"\", \"include\": [\"*\"]}, \"template\": \"two\"}|climbs out"
	"noinclude|{\"hires\": {\"site\": \"site01\", \"path_head\": \"/g\", \"path_tail\": \"\"}, \"template\": \"two\"}|hires.include: missing"
	"inline|{\"hires\": {$base}, $inline_other}|proc[0].source: source \"Z\" is not an earlier step"
	"target|{\"hires\": {$base}, \"target\": {\"root\": \"/tmp\"}, \"template\": \"two\"}|target.root: must be the root of a site"
	"cburl|{\"hires\": {$base, \"callback\": \"file:///etc/passwd\"}, \"template\": \"two\"}|http:// or https://"
)
for c in "${cases[@]}"; do
	IFS='|' read -r name content want <<<"$c"
	printf '%s\n' "$content" >"$SPOOL/req/$name"
done
# TMC closed these at once as done, total 0 (doc/TMC.md, Job file moves)
printf '{"template": "two"}\n' >"$SPOOL/req/nohires"
printf '{"hires": {"site": "x", "path_head": "/g", "path_tail": ""}, "template": "two"}\n' >"$SPOOL/req/badsite"
printf '{"hires": {%s}, %s}\n' "$base" "$inline_same" >"$T_DIR/inline_ok.json"
cp "$T_DIR/inline_ok.json" "$SPOOL/req/inline_ok"
F=100101000000006
job_json '"path_head": "/g", "path_tail": "", "filelist": true' >"$SPOOL/req/$F"

wait_for 90 eval '[ "$(ls "$SPOOL/err" | grep -c "\.reason$")" -ge 10 ]'
for c in "${cases[@]}"; do
	IFS='|' read -r name content want <<<"$c"
	r=$(grep -l -F "req/$name" "$SPOOL"/err/*.reason 2>/dev/null | head -1)
	if [ -n "$r" ] && grep -q -F "$want" "$r" && cmp -s "${r%.reason}" <(printf '%s\n' "$content"); then
		ok 0 "$name: err/<seq> is the job, the reason says \"$want\""
	else
		ok 1 "$name"; echo "#   reason: $(cat "$r" 2>/dev/null)"
	fi
done
grep -q "hires.filelist is true, but $F.file does not exist." "$SPOOL/err/$F.reason" 2>/dev/null
ok $? "filelist without its list: err/ with TMC's message"
seq=$(grep -l '"kind": "copy", "path_head": "/out2"' "$SPOOL/done/"* 2>/dev/null | head -1)
[ -n "$seq" ] && rows_are "$(basename "$seq")" 3
ok $? "an inline proc equal to a template runs (3 rows)"
for n in nohires badsite; do
	test -e "$SPOOL/done/$n" && test ! -s "$SPOOL/done/$n.result" && test -e "$SPOOL/done/$n.result" &&
		[ "$(cat "$SPOOL/proc/$n.stat")" = "$(printf '0\t0\t0')" ] && test ! -e "$SPOOL/err/$n"
	ok $? "$n: done/$n with no row, .stat 0 0 0, as TMC closed it"
done
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status"
grep -q '^jobs: waiting 0 running 0 done 3 failed 10$' "$T_DIR/status"
ok $? "status: 3 done, 10 failed"
stop_daemon
