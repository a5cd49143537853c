#!/bin/bash
# Which files a job lists (doc/TMC.md, Selection), as a table of cases against
# TMC's semantics: fnmatch with flags 0 on "/relative/name" ('*' crosses
# '/', case-sensitive, a leading dot matched), entries sorted by bytes and
# visited pre-order, subdir recursion; and TMC's bugs fixed: no "." or "..",
# symlinks neither listed nor followed, a name with a newline left out.
# Then filelist mode (lines trimmed, empty ones skipped, a missing file
# failed as TMC counted it, a climbing line fails the job) and rename.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
plan 19

write_config "$COPY2"
T=$SITE/t
mkdir -p "$T/sub/deep" "$SITE/r"
for f in .hid.jpg a.jpg b.JPG c.png img00041.jpg x_l.jpg 'sp ace.jpg' sub/d.jpg sub/deep/e.jpg \
	sub/x_l.jpg "bad
name.jpg"; do echo "$f" >"$T/$f"; done
ln -s a.jpg "$T/link.jpg"
ln -s sub "$T/linkdir"
ln -s / "$T/sub/root"
start_daemon
ok $? "daemon started"

# label | path_tail | subdir | include | exclude | expected list (space = newline)
cases=(
	'*.jpg, no subdir|""|false|["*.jpg"]|[]|/.hid.jpg /a.jpg /img00041.jpg /sp?ace.jpg /x_l.jpg'
	'exclude, subdir, pre-order|""|true|["*.jpg"]|["*_l.jpg"]|/.hid.jpg /a.jpg /img00041.jpg /sp?ace.jpg /sub/d.jpg /sub/deep/e.jpg'
	'no leading /: no match|""|false|["img0004*.jpg"]|[]|'
	'with the leading /|""|false|["/img0004*.jpg"]|[]|/img00041.jpg'
	'/s* crosses folders|""|true|["/s*"]|[]|/sp?ace.jpg /sub/d.jpg /sub/deep/e.jpg /sub/x_l.jpg'
	'case-sensitive, two patterns|""|false|["*.JPG", "*.png"]|[]|/b.JPG /c.png'
	'path_tail, everything|"/sub"|true|["*"]|[]|/d.jpg /deep/e.jpg /x_l.jpg'
	'a base that does not exist: 0 files|"/nope"|true|["*"]|[]|'
)
n=0
for c in "${cases[@]}"; do
	IFS='|' read -r label tail sub inc exc want <<<"$c"
	n=$((n + 1))
	job_json "\"path_head\": \"/t\", \"path_tail\": $tail, \"subdir\": $sub, \"include\": $inc, \"exclude\": $exc" >"$T_DIR/case$n.json"
	seq=$(submit "$T_DIR/case$n.json")
	wait_done "$seq" 90
	got=$(tr '\n' ' ' <"$SPOOL/done/$seq.file" | sed 's/ $//; s/sp ace/sp?ace/g')
	if [ "$got" = "$want" ] && rows_are "$seq" "$(wc -l <"$SPOOL/done/$seq.file")"; then
		ok 0 "$label"
	else
		ok 1 "$label"; echo "#   got: '$got'"; echo "#  want: '$want'"
	fi
done
is "$(cb_field "$seq" result)$(stat_of "$seq")" "$(printf '0\t0\t0')" \
	"0 files: .stat 0/0/0 (no callback url: none queued)"

job_json '"path_head": "t", "path_tail": "/sub", "include": ["*.jpg"]' >"$T_DIR/noslash.json"
seq=$(submit "$T_DIR/noslash.json")
wait_done "$seq" 90
is "$(tr '\n' ' ' <"$SPOOL/done/$seq.file")" "/d.jpg /x_l.jpg " \
	"a path_head without its leading / is the folder below the site root"

# filelist: proc/<seq>.file first, then the job (as tmc-httpd does)
S=100101000000001
printf '  /a.jpg \r\n\n/missing.jpg\n/sub/d.jpg\n\t\n/a.jpg\n' >"$SPOOL/proc/$S.file"
job_json '"path_head": "/t", "path_tail": "", "filelist": true' >"$T_DIR/fl.json"
cp "$T_DIR/fl.json" "$SPOOL/req/$S"
wait_done $S 90
ok $? "filelist job done"
is "$(sort "$SPOOL/done/$S.result" | tr '\t\n' ',;')" \
	"/a.jpg,2,0,0;/a.jpg,2,0,0;/missing.jpg,2,0,1;/sub/d.jpg,2,0,0;" \
	"rows: lines trimmed, empty ones skipped, duplicates kept, a missing file fails"
is "$(stat_of $S)" "$(printf '4\t4\t4')" "its .stat"
S2=100101000000002
printf '/a.jpg\n/sub/../../../etc/passwd\n' >"$SPOOL/proc/$S2.file"
cp "$T_DIR/fl.json" "$SPOOL/req/$S2"
wait_for 90 job_err $S2
grep -q 'climbs out' "$SPOOL/err/$S2.reason"
ok $? "a list line that climbs out fails the job to err/ with the reason"

S3=100101000000007
printf '/a.jpg\n/c.png\n' >"$SPOOL/req/$S3.file"
cp "$T_DIR/fl.json" "$SPOOL/req/$S3"
wait_done $S3 90 && rows_are $S3 2 && test ! -e "$SPOOL/req/$S3.file" -a -e "$SPOOL/done/$S3.file"
ok $? "a list left in req/ beside its job (req/<seq>.file) is used and moved along"

# rename: output names change, rows keep the source name
echo clip >"$SITE/r/clip_h.jpg"
job_json '"path_head": "/r", "path_tail": "", "include": ["*.jpg"], "rename": {"H.JPG": "x.jpg", "q": "0"}' >"$T_DIR/r.json"
seq=$(submit "$T_DIR/r.json")
wait_done "$seq" 90
test -f "$SITE/out2/clip_x.jpg" -a ! -e "$SITE/out1/clip_h.jpg"
ok $? "rename rules (case-insensitive) make the output names"
is "$(cut -f1 "$SPOOL/done/$seq.result")" "/clip_h.jpg" "the row names the source"
grep -q 'left out of the list' "$T_DIR/tmcwatch.log"
ok $? "a name with a newline is left out, with a warning"
stop_daemon
