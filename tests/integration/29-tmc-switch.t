#!/bin/bash
# Switching a running TMC host over (tmcwatch-tmc(7), SWITCHING OVER):
# tmcwatch started with spool_dir at TMC's root, on the server files as TMC
# leaves them, written here byte for byte as TMC writes them:
#  - W: waiting in req/;
#  - K: half done when TMC was killed: proc/K, proc/K.file, proc/K.stat
#    "4\t3\t2", done/K.result with the rows of its first two files;
#  - S: stopped by `service tmc stop`: back in req/S, proc/S.ctrl
#    {"status":"stopped","pos":2,"cnt":4}, .file and .stat left in proc/,
#    two rows in done/S.result;
#  - D: finished long ago: done/D, done/D.file, done/D.result, and the
#    proc/D.stat TMC leaves behind.
# The waiting job runs; K and S finish without converting again the files
# that have rows (their outputs, TMC's bytes, are not rewritten although
# the steps overwrite) and without a second row for any file; K's third
# file, sent to gearman but without a row when TMC died, is converted (it
# used to be counted failed, its .stat "dispatched" read as tmcwatch's own
# record of items it had published); nothing goes
# to err/; the REST shim answers for the old done/ job as TMC did.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/http.sh"
plan 16

TMC=$T_DIR/opt-tmc # TMC's ROOT_DIR, /opt/tmc
SPOOL=$TMC
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
write_config '{ "two": { "proc": [
  {"name": "A", "source": "hires", "kind": "copy", "path_head": "/out1", "overwrite": true},
  {"name": "B", "source": "A", "kind": "copy", "path_head": "/out2", "overwrite": true}
] } }' "\"http\": { \"port\": $PORT },"
mkdir -p "$TMC"/{req,proc,done,err,log,temp}

W=210316143442001 K=210316143442002 S=210316143442003 D=210314090000001
# four originals per job, in $SITE/<tag>; TMC's job as its API stored it
for t in w k s d; do
	mkdir -p "$SITE/$t"
	for i in 1 2 3 4; do echo "$t original $i $RANDOM" >"$SITE/$t/$t$i.jpg"; done
done
job() { printf '{"hires":{"site":"site01","path_head":"\\/%s","path_tail":"","include":["*.jpg"]},"template":"two"}' "$1"; }
list() { printf '/%s1.jpg\n/%s2.jpg\n/%s3.jpg\n/%s4.jpg\n' "$1" "$1" "$1" "$1"; }
# tmc_made TAG I: the outputs TMC made for file I, and its row
tmc_made() {
	mkdir -p "$SITE/out1" "$SITE/out2"
	echo "made by TMC" >"$SITE/out1/$1$2.jpg"
	echo "made by TMC" >"$SITE/out2/$1$2.jpg"
	printf '/%s%s.jpg\t2\t2\t0\n' "$1" "$2" >>"$TMC/done/$3.result"
}
job w >"$TMC/req/$W"
job k >"$TMC/proc/$K"
list k >"$TMC/proc/$K.file"
printf '4\t3\t2' >"$TMC/proc/$K.stat"
tmc_made k 2 "$K"
tmc_made k 1 "$K"
job s >"$TMC/req/$S"
list s >"$TMC/proc/$S.file"
printf '4\t2\t2' >"$TMC/proc/$S.stat"
printf '{"status":"stopped","pos":2,"cnt":4}' >"$TMC/proc/$S.ctrl"
tmc_made s 1 "$S"
tmc_made s 2 "$S"
job d >"$TMC/done/$D"
list d >"$TMC/done/$D.file"
printf '4\t4\t4' >"$TMC/proc/$D.stat"
for i in 1 2 3 4; do tmc_made d "$i" "$D"; done
printf '/d1.jpg\t2\t2\t0\n/d2.jpg\t2\t2\t0\n/d3.jpg\t2\t1\t1\n/d4.jpg\t2\t2\t0\n' >"$TMC/done/$D.result"
cp -p "$TMC/done/$D.result" "$T_DIR/D.result"
cp -p "$TMC/done/$K.result" "$T_DIR/K.result"
cp -p "$TMC/done/$S.result" "$T_DIR/S.result"

"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
ok $? "tmcwatch check passes with spool_dir at TMC's root"
start_daemon
start_httpd
done_all() { [ -e "$TMC/done/$W" ] && [ -e "$TMC/done/$K" ] && [ -e "$TMC/done/$S" ]; }
wait_for 120 done_all # a hang guard
ok $? "the waiting, the killed and the stopped job all reach done/"

# rows TAG SEQ: done/SEQ.result has one row per file, "2 2 0" for those tmcwatch made
for t in w k s; do
	eval seq=\$$(echo $t | tr a-z A-Z)
	is "$(cut -f1 "$TMC/done/$seq.result" 2>/dev/null | sort | tr '\n' ' ')" "$(list $t | tr '\n' ' ')" \
		"job $t: one row per file, none twice"
done
is "$(head -2 "$TMC/done/$K.result")" "$(cat "$T_DIR/K.result")" "job k: TMC's two rows kept, first, as TMC wrote them"
is "$(head -2 "$TMC/done/$S.result")" "$(cat "$T_DIR/S.result")" "job s: TMC's two rows kept, first, as TMC wrote them"
is "$(cat "$SITE"/out[12]/k[12].jpg "$SITE"/out[12]/s[12].jpg | sort -u)" "made by TMC" \
	"the files with rows are not converted again (TMC's outputs untouched)"
bad=0
for f in w1 w2 w3 w4 k3 k4 s3 s4; do
	cmp -s "$SITE/${f%?}/$f.jpg" "$SITE/out1/$f.jpg" && cmp -s "$SITE/${f%?}/$f.jpg" "$SITE/out2/$f.jpg" ||
		{ diag "$f: not converted"; bad=1; }
done
ok $bad "the files without rows are converted, by both steps"
is "$(cat "$TMC/proc/$K.stat" "$TMC/proc/$S.stat" "$TMC/proc/$W.stat" 2>/dev/null | tr '\t' ,)" \
	"4,4,44,4,44,4,4" ".stat of each: 4 files, 4 dispatched, 4 finished"
is "$(find "$TMC/err" -mindepth 1 | wc -l)" 0 "nothing in err/"
is "$(ls "$TMC/req" | wc -l)" 0 "req/ is empty"

# the old done/ job, through TMC's REST acts (doc/TMC.md, REST API)
api() { curl -s -G "$URL/api/" --data-urlencode "act=$1" --data-urlencode "seq=$D" "${@:2}"; }
is "$(api status)" '{"status":"finished","total":"4","processed":"4","finished":"4"}' "status of TMC's done/ job"
is "$(api seqdetail)" '{"total":4,"success":3,"error":1,"result":"found"}' "seqdetail"
is "$(api fileresult --data-urlencode val=/d3.jpg)" \
	"{\"seq\":\"$D\",\"filename\":\"\\/d3.jpg\",\"result\":\"found\",\"requested\":\"2\",\"success\":\"1\",\"warning\":\"1\"}" \
	"fileresult"
is "$(cat "$TMC/done/$D.result")" "$(cat "$T_DIR/D.result")" "its result file is untouched"
stop_httpd
stop_daemon
