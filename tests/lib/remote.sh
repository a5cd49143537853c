# remote.sh - helpers for tmc-remote's tests (105, 106), on top of tap.sh
# and gearman.sh (a real gearmand: start_gearmand, gm_admin, GM_SECRET).

# gearman_keys [SECRET]: the "gearman" object of a config that sends
# template "two"'s head step (GM_DEADLINE seconds, default 20), with a comma
gearman_keys() {
	printf '"gearman": {"servers": ["127.0.0.1:%s"], "templates": ["two"], "secret": "%s", "max_inflight": 2, "deadline": %s},' \
		"$GM_PORT" "${1:-$GM_SECRET}" "${GM_DEADLINE:-20}"
}
# worker_config DIR TEMPLATE-JSON [SECRET]: a worker host's own config copy
worker_config() {
	mkdir -p "$1"
	printf '%s\n' "$2" >"$1/template.json"
	cat >"$1/config.json" <<JSON
{ "spool_dir": "$1/spool", "log_file": "$1/tmcwatch.log", $(gearman_keys "${3:-}")
  "site": { "site01": { "root": "$1/site" } } }
JSON
}
# remote_field HOST FIELD: FIELD summed over the spool host's run/remote/*
# lines of HOST (tmc-remote(8), STATUS)
remote_field() {
	cat "$SPOOL"/run/remote/[0-9]* 2>/dev/null |
		awk -v h="host=$1" -v f="$2" '$1 == h { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) s += kv[2] } } END { print s + 0 }'
}
