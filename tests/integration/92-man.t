#!/bin/bash
# The man pages: every page is clean under mandoc -Tlint -Wwarning and its
# .Dt names its file; every cross reference to one of our pages resolves;
# every configuration key of config/conf.h (struct conf, step, site, watch,
# http_conf, gearman_conf) has an ".It ... Ic key" entry in tmcwatch.conf(5) or, for steps,
# tmcwatch-template(5), so a key added without documentation fails here;
# every command of `tmcwatch --help` has a .Cm entry in tmcwatch(8).
if ! command -v mandoc >/dev/null 2>&1; then
	echo "1..0 # SKIP mandoc is not installed"
	exit 0
fi
. "$TMC_SRC/tests/lib/tap.sh"

MAN=$TMC_SRC/man
CONF_H=$TMC_SRC/config/conf.h
pages=$(ls "$MAN"/*.[1-8])

# conf_keys: "struct page key" per configuration key, from conf.h. Comments
# are removed first (they hold semicolons), then every declarator of the
# five structs is one key, less the fields the loader derives (listed, and
# the source positions line, col, *_line, *_col) and the counts nX that go
# with an array X. Two arrays have TMC's key names.
conf_keys() {
	perl -0777 -pe 's{/\*.*?\*/}{}gs' "$CONF_H" | awk '
	BEGIN {
		split("conf.path conf.tpl_path conf.dir conf.templates step.has_sharpen " \
		      "step.source_idx step.line step.col site.name watch.name http_conf.rest_codes", d, " ")
		for (i in d) derived[d[i]] = 1
		json["conf.sites"] = "site"; json["conf.watches"] = "watchdog"
	}
	/^struct (conf|step|site|watch|http_conf|gearman_conf) \{/ { s = $2; n = 0; next }
	s != "" && /^\};/ {
		for (i = 1; i <= n; i++) {
			k = f[i]
			if (k ~ /^n/ && (substr(k, 2) in seen)) continue
			if (k ~ /(^|_)(line|col)$/) continue
			if ((s "." k) in derived) continue
			if ((s "." k) in json) k = json[s "." k]
			print s, (s == "step" ? "tmcwatch-template.5" : "tmcwatch.conf.5"), k
		}
		s = ""; delete seen; next
	}
	s != "" && /;/ {
		line = $0
		sub(/;.*/, "", line)
		gsub(/\[[^]]*\]/, "", line)
		m = split(line, decl, ",")
		for (j = 1; j <= m; j++) {
			w = split(decl[j], word, /[ \t*]+/)
			name = word[w]
			if (name == "") continue
			f[++n] = name; seen[name] = 1
		}
	}'
}
keys=$(conf_keys)
nkeys=$(printf '%s\n' "$keys" | grep -c .)
xrefs=$(grep -ho '^\.Xr tmc[a-z.-]* [0-9]' $pages | sort -u)
commands=""
if [ -x "$BIN/tmcwatch" ]; then
	commands=$("$BIN/tmcwatch" --help | awk '/^commands:/ { on = 1; next } on && !NF { exit } on { print $1 }')
fi

plan $(( $(echo "$pages" | wc -l) * 2 + 1 + nkeys + $(echo "$xrefs" | grep -c .) + \
	$(echo "$commands" | grep -c .) ))

for p in $pages; do
	out=$(mandoc -Tlint -Wwarning "$p" 2>&1)
	is "$out" "" "mandoc -Tlint -Wwarning is clean: ${p##*/}"
	base=${p##*/}
	want=$(echo "${base%.*} ${base##*.}" | tr '[:lower:]' '[:upper:]')
	is "$(awk '$1 == ".Dt" { print $2, $3; exit }' "$p")" "$want" ".Dt matches the file name: $base"
done

# A parser that silently found nothing would pass every key test below.
[ "$nkeys" -ge 50 ]
ok $? "conf.h yields the configuration keys ($nkeys found, at least 50 expected)"

while read -r st page key; do
	grep -Eq "^\.It( .*)? Ic $key( |\$)" "$MAN/$page"
	ok $? "struct $st key \"$key\" is documented in ${page%.*}(${page##*.})"
done <<<"$keys"

while read -r _ name sec; do
	[ -n "$name" ] || continue
	test -f "$MAN/$name.$sec"
	ok $? "cross reference $name($sec) has a page in man/"
done <<<"$xrefs"

for c in $commands; do
	grep -Eq "^\.(It )?Cm $c( |\$)" "$MAN/tmcwatch.8"
	ok $? "tmcwatch --help command \"$c\" is documented in tmcwatch(8)"
done
