#!/bin/bash
# The hard-link policy (tmcwatch.conf(5)): a regular file with more than one
# link whose owner is not the owner of the folder it sits in is refused -
# by tmc-watch (logged, never handed off) and by tmc-jobs (an error row) -
# while an operator's own hard-linked copies (same owner) are converted.
# Needs root to make files of two owners.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/watch.sh"
. "$TMC_SRC/tests/lib/jobs.sh"
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
plan 7

watch_config "$COPY1" ''
echo "root's secret $RANDOM" >"$T_DIR/secret.jpg"       # owned by root, outside
mkdir -p "$SRC/evil" "$SRC/own"
chown 65534 "$SRC/evil"                                  # someone else's folder
start_watching
ok $? "daemon and watch started"
# linked under a dot name (ignored), then moved in: uid 0, folder 65534
ln "$T_DIR/secret.jpg" "$SRC/evil/.s.jpg" && mv "$SRC/evil/.s.jpg" "$SRC/evil/s.jpg"
echo "own $RANDOM" >"$T_DIR/own.jpg"
ln "$T_DIR/own.jpg" "$SRC/own/.a.jpg" && mv "$SRC/own/.a.jpg" "$SRC/own/a.jpg" # own: uid 0, folder 0
wait_results 1 60
ok $? "the operator's own hard-linked copy was converted"
check "its output is there, byte for byte" cmp "$SITE/out/own/a.jpg" "$T_DIR/own.jpg"
wait_for 30 grep -q "evil/s.jpg: a hard link (2 links) owned by uid 0 in a folder owned by uid 65534: refused" \
	"$T_DIR/tmcwatch.log"
ok $? "tmc-watch refused the linked-in file with a logged reason"
check "and wrote no output for it" test ! -e "$SITE/out/evil/s.jpg"

# the same file named by a job's file list
S=100101000000001
printf '/src/evil/s.jpg\n/src/own/a.jpg\n' >"$SPOOL/proc/$S.file"
printf '{"hires": {"site": "site01", "path_head": "", "path_tail": "", "filelist": true}, "template": "cp"}\n' \
	>"$T_DIR/j.json"
cp "$T_DIR/j.json" "$SPOOL/req/.$S" && mv "$SPOOL/req/.$S" "$SPOOL/req/$S"
wait_done $S 60
is "$(sort "$SPOOL/done/$S.result" | tr '\t\n' ',;')" "/src/evil/s.jpg,1,0,1;/src/own/a.jpg,1,1,0;" \
	"tmc-jobs: an error row for the linked-in file, the own one is copied"
check "nothing of the secret was copied" eval "! grep -rqs \"root's secret\" '$SITE/out'"
