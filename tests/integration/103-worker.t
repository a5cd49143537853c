#!/bin/bash
# tmcwatch worker (tmcwatch-worker(8)): a worker host with a real gearmand,
# real tmc-gworker and tmc-image answers one signed request (tmc-gsend) for
# TMC's reference job (8 sizes, each from the one before) with the bytes
# `tmcwatch run` writes for the same original and template; a PNG; a
# corrupt JPEG (a failed line with its reason, no crash); its spool is left
# clean; an output under a dot folder (S60's path_head /s60/.thumbs) comes
# back; `tmcwatch status` works there; gearadmin shows the host and its
# functions.
. "$TMC_SRC/tests/lib/tap.sh"
. "$TMC_SRC/tests/lib/image-helpers.sh"
. "$TMC_SRC/tests/lib/bench-inputs.sh" 2>/dev/null || . "$TMC_SRC/tests/bench/inputs.sh"
. "$TMC_SRC/tests/lib/gearman.sh"
plan 26

# S1000 has a step callback (a file action): the worker host must not queue
# it (remote=1); the spool host does, for the outputs it writes
mkdir -p "$T_DIR/drop"
CB=',"callback":[{"action":"file","target":"'"$T_DIR"'/drop/cb-%datetime%","cmd":"%file%"}]'
# S60 writes under a dot folder: an output like any other, never a temp name
TPL="{ \"ref\": { \"proc\": [ $(ref_steps | sed -e "s|\"path_head\":\"/s1000\"|&$CB|" \
	-e 's|"path_head":"/s60"|"path_head":"/s60/.thumbs"|') ] } }"
SIZES="1000 600 400 300 200 150 100 60"
dir() { if [ "$1" = 60 ]; then echo s60/.thumbs; else echo "s$1"; fi; }
in=$SITE/in
mkdir -p "$in"
gm convert -size 1600x1200 plasma:red-blue -quality 92 "$in/photo.jpg"
gm convert -size 900x700 gradient:green-yellow "$in/pic.png"
# a JPEG's start of image, then garbage: no decoder makes pixels of it
{ printf '\xff\xd8\xff\xe0'; head -c 5000 /dev/urandom; } >"$in/broken.jpg"

# 1. the same files through `tmcwatch run` on this host: the reference bytes
image_config "$TPL"
run_items ref 16 /photo.jpg /pic.png
ok $? "tmcwatch run made the reference job's 16 outputs locally"
wait_for 30 eval '[ -n "$(ls -A "$T_DIR/drop")" ]'
ok $? "locally, S1000's step callback was queued and carried out"
stop_daemon
DAEMON=
mkdir -p "$T_DIR/local" && mv "$SITE"/s* "$T_DIR/local/"
rm -rf "$SPOOL"

# 2. the worker host
start_gearmand
ok $? "gearmand answers on 127.0.0.1:$GM_PORT"
image_config "$TPL" "" "$(gm_config_keys '"templates": ["ref"], "name": "wh-103", "workers": 2')"
"$BIN/tmcwatch" -c "$CONF" check >"$T_DIR/check.out" 2>&1
ok $? "tmcwatch check accepts the worker host's configuration"
"$BIN/tmcwatch" -c "$CONF" worker 2>>"$T_DIR/daemon.err" &
DAEMON=$!
T_PIDS="$T_PIDS $DAEMON"
workers_up() { [ "$(gm_admin --workers | grep -c 'wh-103 : tmcwatch:ref:00')" -ge 2 ]; }
wait_for 60 workers_up
ok $? "gearadmin --workers lists both tmc-gworker processes as wh-103 with tmcwatch:ref:00"

send() { # send NAME OUTDIR [args]: tmc-gsend for $in/NAME
	local f=$1 o=$2
	shift 2
	"$BIN/tmc-gsend" -c "$CONF" -T ref -s 0 -f "$in/$f" -o "$T_DIR/$o" -w 120 "$@" \
		2>>"$T_DIR/gsend.err"
}
hdr() { sed -n "s/^$2=//p" "$T_DIR/$1/header"; }

send photo.jpg r1
ok $? "a signed request for photo.jpg gets a reply that passes the MAC and echoes the nonce"
is "$(hdr r1 results) $(hdr r1 files) $(hdr r1 error)" "8 8 " "8 result lines and 8 files, no error"
is "$(hdr r1 host)" "wh-103" "the reply names the worker host"
grep -q '^started wh-103$' "$T_DIR/r1/data"
ok $? "the worker said \"started wh-103\" while working"
same=0
for s in $SIZES; do
	cmp -s "$T_DIR/r1/files/$(dir $s)/photo.jpg" "$T_DIR/local/$(dir $s)/photo.jpg" &&
		same=$((same + 1))
done
is "$same" 8 "every output's bytes equal what tmcwatch run wrote locally"
[ -s "$T_DIR/r1/files/s60/.thumbs/photo.jpg" ]
ok $? "S60's output under the dot folder s60/.thumbs came back"
n=$(grep -c $'\tok$' <(for k in 0 1 2 3 4 5 6 7; do hdr r1 "r.$k"; done | sed 's/\\t/\t/g'))
is "$n" 8 "every result line's outcome is ok"
hdr r1 r.0 | grep -q 'S1000'
ok $? "the result lines name their steps (r.0: $(hdr r1 r.0 | cut -c1-60))"

send pic.png r2
is "$(hdr r2 results) $(hdr r2 files)" "8 8" "a PNG original: 8 results, 8 files"
same=0
for s in $SIZES; do
	cmp -s "$T_DIR/r2/files/$(dir $s)/pic.jpg" "$T_DIR/local/$(dir $s)/pic.jpg" &&
		same=$((same + 1))
done
is "$same" 8 "the PNG's outputs equal the local ones (JPEGs named .jpg)"

send broken.jpg r3
ok $? "a corrupt JPEG still gets a signed reply"
is "$(hdr r3 results) $(hdr r3 files) $(hdr r3 error)" "1 0 " \
	"one result line (the head step failed, covering the 7 below), no file"
hdr r3 r.0 | grep -q 'failed$'
ok $? "its line's outcome is failed, with the reason: $(hdr r3 r.0 | cut -c1-120)"
kill -0 "$DAEMON"
ok $? "tmcwatch worker is still running"

clean() {
	[ -z "$(ls -A "$SPOOL/remote")" ] &&
		[ "$(spool_items "$SPOOL" new)$(spool_items "$SPOOL" cur)" = 00 ]
}
wait_for 30 clean
ok $? "the worker's spool is clean: remote/ empty, no item in new/ or cur/"
is "$(count_files "$SPOOL/outbox")" 0 "no step callback was queued on the worker host (remote=1)"
"$BIN/tmcwatch" -c "$CONF" status >"$T_DIR/status.out" 2>&1
ok $? "tmcwatch status on the worker host"
grep -q "ref/00-S1000" "$T_DIR/status.out"
ok $? "status lists the unit's stages"
grep -q "tmc-gworker.*started as host wh-103" "$T_DIR/tmcwatch.log"
ok $? "the log says which host name tmc-gworker serves as"
! grep -E 'stage folder|No such file' "$T_DIR/tmcwatch.log"
ok $? "a clean start of tmcwatch worker logged no missing stage folder"

stop_daemon
is "$DAEMON_RC" 0 "tmcwatch worker stops on SIGTERM with status 0"
