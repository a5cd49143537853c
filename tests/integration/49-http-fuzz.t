#!/bin/bash
# libFuzzer on what tmc-httpd parses (tests/fuzz/fuzz_http.c): job JSON
# through json_parse and job_check, urlencoded and multipart bodies,
# uploaded lists, TMC's .stat/.result readers. A bounded run
# (TMC_FUZZ_SECONDS, default 15) from the seed corpus in tests/fuzz/corpus;
# any crash, leak, sanitizer report or timeout fails. Skipped without clang.
. "$TMC_SRC/tests/lib/tap.sh"
plan 2

CLANG=${CLANG:-$(command -v clang || command -v clang-14)}
OUT=$TMC_BUILD/fuzz
if [ -z "$CLANG" ] || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	"$CLANG" -x c -fsanitize=fuzzer -o "$T_DIR/probe" - 2>/dev/null; then
	ok 0 "# SKIP clang with libFuzzer is not installed"
	ok 0 "# SKIP clang with libFuzzer is not installed"
	exit 0
fi
make -s -C "$TMC_SRC" -f tests/fuzz/Makefile CLANG="$CLANG" OUT="$OUT" >"$T_DIR/build.log" 2>&1
ok $? "the harness builds ($OUT/fuzz_http)" || sed 's/^/# /' "$T_DIR/build.log"

mkdir -p "$T_DIR/corpus"
cp "$TMC_SRC"/tests/fuzz/corpus/* "$T_DIR/corpus/"
secs=${TMC_FUZZ_SECONDS:-15}
(cd "$T_DIR" && ASAN_OPTIONS=detect_leaks=1 "$OUT/fuzz_http" -max_total_time="$secs" -timeout=10 \
	-rss_limit_mb=2048 -artifact_prefix="$T_DIR/" -print_final_stats=1 "$T_DIR/corpus" \
	>"$T_DIR/fuzz.log" 2>&1)
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T_DIR/fuzz.log")
test $rc -eq 0 && ! ls "$T_DIR"/crash-* "$T_DIR"/leak-* "$T_DIR"/timeout-* >/dev/null 2>&1
ok $? "$secs s of fuzzing, ${runs:-0} inputs: no crash, leak or sanitizer report"
[ $rc -eq 0 ] || { grep -m 20 -e ERROR -e '#[0-9]' "$T_DIR/fuzz.log" | sed 's/^/# /'; ls "$T_DIR"/crash-* 2>/dev/null | sed 's/^/# /'; }
