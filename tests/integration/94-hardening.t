#!/bin/bash
# Every built program carries the distributions' hardening, read from the
# ELF as checksec does: a position-independent executable (type DYN with
# the PIE flag), relocations read-only and bound at start (GNU_RELRO and
# BIND_NOW), a non-executable stack (GNU_STACK without E), the stack
# protector (__stack_chk_fail), and fortified libc calls (__*_chk; not in
# the ASan build, which checks those calls itself).
. "$TMC_SRC/tests/lib/tap.sh"

command -v readelf >/dev/null || { echo "1..0 # SKIP readelf (binutils) not installed"; exit 0; }
progs=""
for f in "$BIN"/*; do
	[ -f "$f" ] && [ -x "$f" ] && [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] &&
		progs="$progs $f"
done
san=""
case "$TMC_BUILD" in *san*) san=1 ;; esac
plan 7

# failing PREDICATE: the programs for which PREDICATE FILE fails
failing() {
	local f out=""
	for f in $progs; do "$1" "$f" || out="$out ${f##*/}"; done
	echo "${out# }"
}
is_pie() { readelf -hW "$1" | grep -q 'Type:[[:space:]]*DYN' && readelf -dW "$1" | grep -q 'FLAGS_1.*PIE'; }
has_now() { readelf -dW "$1" | grep -Eq '\(FLAGS\).*BIND_NOW|FLAGS_1.* NOW'; }
has_relro() { readelf -lW "$1" | grep -q GNU_RELRO; }
stack_noexec() { readelf -lW "$1" | awk '$1 == "GNU_STACK" { f = $7 } END { exit !(f != "" && f !~ /E/) }'; }
has_ssp() { readelf --dyn-syms -W "$1" | grep -q ' __stack_chk_fail'; }
fortified() { readelf --dyn-syms -W "$1" | grep -Eq ' __[a-z]+_chk(@|$)'; }

n=$(echo $progs | wc -w)
ok $((n < 8)) "found the built programs ($n: $(for f in $progs; do printf '%s ' "${f##*/}"; done))"
is "$(failing is_pie)" "" "every program is a PIE (Type DYN, FLAGS_1 PIE)"
is "$(failing has_now)" "" "every program binds now (BIND_NOW)"
is "$(failing has_relro)" "" "every program has GNU_RELRO"
is "$(failing stack_noexec)" "" "no program has an executable stack"
is "$(failing has_ssp)" "" "every program calls __stack_chk_fail (stack protector)"
if [ -n "$san" ]; then
	ok 0 "# SKIP _FORTIFY_SOURCE is off under ASan"
else
	is "$(failing fortified)" "" "every program uses fortified libc calls (__*_chk)"
fi
