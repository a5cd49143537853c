#!/bin/bash
# The command line: check (like nginx -t), submit (durable, unique 15-digit
# seq, the job's bytes kept), status --json, --help and --version, and exit
# codes from sysexits.h.
. "$TMC_SRC/tests/lib/tap.sh"
plan 13

write_config "$COPY3"
out=$("$BIN/tmcwatch" -c "$CONF" check 2>&1)
is "$? $out" "0 configuration OK" "check: a good configuration"

printf '{\n  "worker_cnt": -2,\n  "site": { "s": { "root": 5 } }\n}\n' >"$T_DIR/bad.json"
"$BIN/tmcwatch" -c "$T_DIR/bad.json" -t "$T_DIR/conf/template.json" check 2>"$T_DIR/check.err"
rc=$?
test $rc -eq 78 && grep -Eq "^$T_DIR/bad.json:[0-9]+:[0-9]+: " "$T_DIR/check.err"
ok $? "check: errors as file:line:col, exit 78 (rc $rc)"
test "$(grep -c "^$T_DIR/bad.json:" "$T_DIR/check.err")" -ge 2
ok $? "check: every error is printed, not only the first"

# TMC's sample files from its README load unchanged (elision lines removed)
if [ -e "$TMC_SRC/tests/unit/fixtures/config.json" ]; then
	"$BIN/tmcwatch" -c "$TMC_SRC/tests/unit/fixtures/config.json" \
		-t "$TMC_SRC/tests/unit/fixtures/template.json" check >/dev/null 2>"$T_DIR/readme.err"
	grep -q 'USWebCoatedSWOP.icc' "$T_DIR/readme.err" && ! grep -qv 'icc\|icm\|sample.png\|watchdog\|errors\? in the configuration' "$T_DIR/readme.err"
	ok $? "check: TMC's README config parses; only its missing files are reported"
else
	ok 1 "README fixtures are missing"
fi

cat >"$T_DIR/job.json" <<'JSON'
{ "hires": { "site": "site01", "path_head": "/in", "path_tail": "", "include": ["*.jpg"] },
  "template": "chain" }
JSON
seq1=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" | tail -n1)
seq2=$("$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/job.json" | tail -n1)
echo "$seq1" | grep -Eq '^[0-9]{15}$'
ok $? "submit prints a 15-digit seq ($seq1)"
test "$seq1" != "$seq2"
ok $? "two submits in the same second get different seqs"
cmp -s "$T_DIR/job.json" "$SPOOL/req/$seq1"
ok $? "req/<seq> holds the job's bytes as sent"

sed 's|"/in"|"/../etc"|' "$T_DIR/job.json" >"$T_DIR/climb.json"
"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/climb.json" 2>"$T_DIR/sub.err"
rc=$?
test $rc -eq 65 && grep -q 'hires.path_head: path "/../etc" climbs out' "$T_DIR/sub.err"
ok $? "submit refuses a path that climbs out (rc $rc)"
sed 's|"site01"|"nosuch"|' "$T_DIR/job.json" >"$T_DIR/site.json"
"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/site.json" 2>"$T_DIR/sub.err"
test $? -eq 65 && grep -q 'hires.site: no such site' "$T_DIR/sub.err"
ok $? "submit refuses an unknown site"
printf '{ "hires": ' >"$T_DIR/broken.json"
"$BIN/tmcwatch" -c "$CONF" submit "$T_DIR/broken.json" 2>"$T_DIR/sub.err"
test $? -eq 65 && grep -q "broken.json:1:" "$T_DIR/sub.err"
ok $? "submit refuses malformed JSON with its position"
is "$(ls "$SPOOL/req" | wc -l)" 2 "only the two good jobs are in req/"

"$BIN/tmcwatch" -c "$CONF" status --json >"$T_DIR/status.json"
jq -e '.status == "not running" and .jobs.waiting == 2 and (.stages | length) >= 0' "$T_DIR/status.json" >/dev/null
ok $? "status --json is valid JSON with the counts"
"$BIN/tmcwatch" --version | grep -Eq '^tmcwatch [0-9]+\.[0-9]+' && "$BIN/tmcwatch" --help | grep -q 'submit'
ok $? "--version and --help"
