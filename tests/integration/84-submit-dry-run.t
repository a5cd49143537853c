#!/bin/bash
# tmcwatch submit --dry-run: the job is checked as `submit` checks it, its
# files are listed as tmc-jobs lists them, and for each file the steps that
# apply and the output paths they would write are printed; nothing is
# queued. A real run of the same job then lists the same files and writes
# exactly the printed paths. A job that would be refused exits 65 with why.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
command -v gm >/dev/null || { echo "1..0 # SKIP GraphicsMagick (gm) is not installed"; exit 0; }
plan 10

write_config '{ "t": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1"},
  {"name": "P", "source": "hires", "path_head": "/prev", "size": [100, 100], "format": "png", "source_ext": "jpg"},
  {"name": "Q", "source": "P", "path_head": "/small", "size": [50, 50], "source_ext": "jpg"}
] } }'
mkdir -p "$SITE/pics/sub" "$SITE/pics/skip"
gm convert -size 200x150 xc:red "$SITE/pics/a.jpg"
gm convert -size 150x200 xc:blue "$SITE/pics/sub/b.jpg"
echo text >"$SITE/pics/c.txt"
echo no >"$SITE/pics/skip/d.gif"
job() { printf '{"hires": {"site": "site01", "path_head": "/pics", "path_tail": "", "include": ["*.jpg", "*.txt"], "subdir": true, "rename": {"sub/": "renamed/"}%s}, "template": "%s"}\n' "${2:-}" "$1"; }
job t >"$T_DIR/job.json"

"$BIN/tmcwatch" -c "$CONF" submit --dry-run "$T_DIR/job.json" >"$T_DIR/dry.out" 2>"$T_DIR/dry.err"
ok $? "a job that would run: exit 0"
sed 's/^/#   /' "$T_DIR/dry.out"
is "$(grep -c "^$SITE/pics/" "$T_DIR/dry.out")" 3 "three files listed (the .gif is not included)"
grep -qx "  00-A: $SITE/out1/a.jpg" "$T_DIR/dry.out" &&
	grep -qx "  01-P: $SITE/prev/a.png" "$T_DIR/dry.out" &&
	grep -qx "  02-Q: $SITE/small/a.jpg" "$T_DIR/dry.out" &&
	grep -qx "  01-P: $SITE/prev/renamed/b.png" "$T_DIR/dry.out"
ok $? "per file each applicable step with its output path (format, rename)"
grep -A1 "^$SITE/pics/c.txt\$" "$T_DIR/dry.out" | tail -1 | grep -qx "  00-A: $SITE/out1/c.txt" &&
	! grep -q 'c\.png' "$T_DIR/dry.out"
ok $? "a step whose source_ext does not match is left out"
test -z "$(ls -A "$SPOOL/req" 2>/dev/null)"
ok $? "nothing queued in req/"

# refusals: an unknown template; a folder reached through a symbolic link
job nosuch >"$T_DIR/bad.json"
"$BIN/tmcwatch" -c "$CONF" submit --dry-run "$T_DIR/bad.json" >/dev/null 2>"$T_DIR/bad.err"
is "$? $(grep -c 'refused' "$T_DIR/bad.err")" "65 1" "an unknown template: exit 65 with the reason"
ln -s "$SITE/pics" "$SITE/link"
sed 's|"/pics"|"/link"|' "$T_DIR/job.json" >"$T_DIR/link.json"
"$BIN/tmcwatch" -c "$CONF" submit --dry-run "$T_DIR/link.json" >/dev/null 2>"$T_DIR/link.err"
is "$? $(grep -c 'symbolic link' "$T_DIR/link.err")" "65 1" "a folder behind a symbolic link: exit 65 with the reason"
test -z "$(ls -A "$SPOOL/req" 2>/dev/null)"
ok $? "still nothing queued"

# the real thing: the same files, and exactly the printed outputs
start_daemon
seq=$(submit "$T_DIR/job.json")
[ -n "$seq" ] && wait_done "$seq" 120
ok $? "the job ran for real"
stop_daemon
diff <(grep "^$SITE/pics/" "$T_DIR/dry.out" | sed "s|^$SITE/pics||") "$SPOOL/done/$seq.file" >&2 &&
	diff <(sed -n 's/^  [0-9][0-9]-[A-Z]: //p' "$T_DIR/dry.out" | sort) \
		<(find "$SITE/out1" "$SITE/prev" "$SITE/small" -type f | sort) >&2
ok $? "tmc-jobs listed the same files and wrote exactly the printed paths"
