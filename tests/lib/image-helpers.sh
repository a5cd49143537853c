# image-helpers.sh - for the tmc-image integration tests (source after tap.sh).
# Images are made at test time with gm in $T_DIR; nothing binary is shipped.

# icc NAME: path of a system ICC profile (srgb, cmyk, adobergb), or "" when
# the distribution package (libgs-common on Debian) is not installed.
icc() {
	local d f
	for d in /usr/share/color/icc/ghostscript /usr/share/ghostscript/*/iccprofiles \
		/usr/share/ghostscript/iccprofiles; do
		case $1 in
		srgb) f=$d/srgb.icc ;;
		cmyk) f=$d/default_cmyk.icc ;;
		adobergb) f=$d/a98.icc ;;
		esac
		[ -r "$f" ] && { echo "$f"; return; }
	done
	echo ""
}

# image_config TEMPLATES_JSON SITE_KEYS [CONFIG_KEYS] [MORE_SITES]: config.json
# and template.json under $T_DIR/conf, site "site01" rooted at $SITE with the
# extra site keys (cmyk, srgb, watermark), spool $SPOOL; MORE_SITES is added
# to the "site" object as is (', "bare": {...}').
image_config() {
	mkdir -p "$T_DIR/conf" "$SITE/in"
	printf '%s\n' "$1" >"$T_DIR/conf/template.json"
	cat >"$CONF" <<JSON
{
  "client_cnt": 2, "worker_cnt": 2, "big_worker": 1,
  "spool_dir": "$SPOOL",
  "log_file": "$T_DIR/tmcwatch.log",
  "retry_delay": 1,
  ${3:-}
  "site": { "site01": { "root": "$SITE" ${2:+, $2} } ${4:-} }
}
JSON
}

# run_items TEMPLATE N_RESULT_LINES REL...: start the daemon if needed,
# publish the files (paths under $SITE/in), wait until N result lines are in
# proc/test1.log (or 60 s), leave the daemon running.
run_items() {
	local tpl=$1 want=$2
	shift 2
	[ -n "${DAEMON:-}" ] || start_daemon
	printf '%s\n' "$@" | enqueue_site "$tpl" site01 "${PFX:-t}" >/dev/null
	wait_results "$want"
}
# wait_results N: until the result log has N lines (60 s ceiling for hangs)
results() { cat "$SPOOL/proc/test1.log" 2>/dev/null | wc -l; }
wait_results() { wait_for 60 eval "[ \$(results) -ge $1 ]"; }

# enqueue_site TEMPLATE SITE PREFIX < list: like enqueue, for any site. It
# checks the configuration too, so once a test removed a config file to see
# the stage's warning, publish through a copy made before (conf_freeze).
enqueue_site() {
	"$BIN/tmc-enqueue" -c "${CONF_ENQ:-$CONF}" -T "$1" -s "$2" -b "$SITE/in" -p "$3" -o job:test1
}
conf_freeze() {
	rm -rf "$T_DIR/conf-enq" && cp -r "$T_DIR/conf" "$T_DIR/conf-enq"
	CONF_ENQ=$T_DIR/conf-enq/config.json
}
# result_id ID STEP_NAME: "created warnings reason" of one item
result_id() {
	awk -F '\t' -v id="$1" -v step="$2" '$1 == id && $3 == step { print $4, $5, $7 }' \
		"$SPOOL/proc/test1.log" | tail -1
}

# result REL STEP_NAME: "created warnings reason" from the result log
result() {
	awk -F '\t' -v rel="$1" -v step="$2" '$6 == rel && $3 == step { print $4, $5, $7 }' \
		"$SPOOL/proc/test1.log" | tail -1
}

# geom FILE: "width height format class" (gm identify)
geom() { gm identify -format '%w %h %m %r' "$1" 2>/dev/null | head -1; }
# pixel FILE X Y: "r g b" at (x, y), 8-bit
pixel() {
	gm convert "$1" -depth 8 -crop "1x1+$2+$3" txt:- 2>/dev/null |
		sed -n 's/^[^(]*( *\([0-9]*\), *\([0-9]*\), *\([0-9]*\).*/\1 \2 \3/p' | head -1
}
# near "R G B" "R G B" TOLERANCE: every channel within tolerance
near() {
	local a=($1) b=($2) i d
	[ ${#a[@]} -eq 3 ] && [ ${#b[@]} -eq 3 ] || return 1
	for i in 0 1 2; do
		d=$((a[i] - b[i]))
		[ ${d#-} -le "$3" ] || return 1
	done
}
# err_reason REL_ID_PREFIX: reasons of items in err/ folders
err_reasons() { cat "$SPOOL"/stages/*/*/err/*/reason 2>/dev/null; }

# ref_chain WxH: TMC's reference job (template "ref": 8 image steps, each read
# from the one before, S1000 from the original, S300 with a file callback
# into $T_DIR/drop) and $N noisy originals of WxH as $SITE/in/pI.jpg
# (I = 1..N); defines list, which prints their "/pI.jpg" lines for
# enqueue_site.
ref_chain() {
	local steps prev s cb i
	mkdir -p "$T_DIR/drop"
	steps='{"name":"S1000","source":"hires","size":[1000,1000],"sharpen":[6,0.6],"comp":80,"path_head":"/s1000"}'
	prev=S1000
	for s in 600 400 300 200 150 100 60; do
		cb=
		[ "$s" = 300 ] && cb=', "callback": [ {"action": "file", "target": "'"$T_DIR"'/drop/%datetime%", "cmd": "%file%"} ]'
		steps="$steps,{\"name\":\"S$s\",\"source\":\"$prev\",\"size\":[$s,$s],\"path_head\":\"/s$s\"$cb}"
		prev=S$s
	done
	image_config "{ \"ref\": { \"proc\": [ $steps ] } }"
	for i in $(seq 1 "$N"); do
		gm convert -size "$1" plasma:fractal -operator All Noise-Gaussian 10% -quality 90 "$SITE/in/p$i.jpg"
	done
	list() { local i; for i in $(seq 1 "$N"); do echo "/p$i.jpg"; done; }
}
