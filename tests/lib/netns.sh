# netns.sh - "hosts" on one machine for the remote-work tests (11x-*.t) and
# tests/bench/remote.sh: each host is a network namespace with its own
# loopback and one veth cable to a bridge in a "switch" namespace, so that
# gearmand, the spool host and the worker hosts talk over real TCP between
# addresses of their own, a host's cable can be pulled, and every process
# of one host can be found (`ip netns pids`) and killed. The file system is
# shared (each host has its own spool and config under $T_DIR).
#
# Source after tap.sh. Namespaces are named tmcw<pid>-<host>, so parallel
# runs never collide; those of runs that died without cleaning up are
# removed by the next run. Nothing is made in the machine's own namespace.
#
#   netns_init                 skip_all unless root with `ip netns`; the switch
#   netns_host NAME N          host NAME at 10.77.0.N/24 ($NETNS_NET.N)
#   netns_bg NAME CPU CMD...   CMD in NAME, pinned to CPU ("" for any), in the
#                              background; its pid in NETNS_PID
#   netns_exec NAME CMD...     CMD in NAME, in the foreground
#   netns_cable NAME down|up   pull or plug NAME's cable (at the switch)
#   netns_kill NAME            kill -9 every process of NAME, wait until none
#   netns_pids NAME            the pids of NAME's processes
NETNS_PFX=tmcw$$
NETNS_NET=10.77.0
NETNS_HOSTS=""
NETNS_BGPIDS=""

netns_skip() { echo "1..0 # SKIP $*"; exit 0; }

# A namespace named tmcw<pid>-* whose test process is gone is a leftover.
netns_sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | sed -n 's/^\(tmcw[0-9]*-[a-z0-9]*\).*/\1/p'); do
		pid=${ns#tmcw}
		pid=${pid%%-*}
		[ "$pid" != "$$" ] && ! kill -0 "$pid" 2>/dev/null || continue
		netns_kill_ns "$ns"
		ip netns del "$ns" 2>/dev/null
	done
}

netns_init() {
	[ "$(id -u)" = 0 ] || netns_skip "network namespaces need root (CI runs as root)"
	command -v ip >/dev/null || netns_skip "ip (iproute2) is not installed"
	netns_sweep
	ip netns add "$NETNS_PFX-sw" 2>"$T_DIR/netns.err" ||
		netns_skip "ip netns add fails (no CAP_SYS_ADMIN?): $(head -1 "$T_DIR/netns.err")"
	trap 'netns_cleanup; cleanup' EXIT
	ip -n "$NETNS_PFX-sw" link add br0 type bridge &&
		ip -n "$NETNS_PFX-sw" link set br0 up &&
		ip -n "$NETNS_PFX-sw" link set lo up ||
		netns_skip "cannot make a bridge in a namespace (bridge module?)"
}

netns_host() { # netns_host NAME N
	local ns=$NETNS_PFX-$1 sw=$NETNS_PFX-sw
	ip netns add "$ns" &&
		ip -n "$sw" link add "v-$1" type veth peer name eth0 netns "$ns" &&
		ip -n "$sw" link set "v-$1" master br0 up &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" addr add "$NETNS_NET.$2/24" dev eth0 &&
		ip -n "$ns" link set eth0 up || return 1
	NETNS_HOSTS="$NETNS_HOSTS $1"
}

netns_exec() { # netns_exec NAME CMD...
	local ns=$NETNS_PFX-$1
	shift
	ip netns exec "$ns" "$@"
}

netns_bg() { # netns_bg NAME CPU CMD...: ip and taskset exec, so $! is CMD
	local ns=$NETNS_PFX-$1 cpu=$2
	shift 2
	if [ -n "$cpu" ]; then
		ip netns exec "$ns" taskset -c "$cpu" "$@" &
	else
		ip netns exec "$ns" "$@" &
	fi
	NETNS_PID=$!
	NETNS_BGPIDS="$NETNS_BGPIDS $NETNS_PID"
}

netns_pids() { ip netns pids "$NETNS_PFX-$1" 2>/dev/null; }

netns_cable() { # netns_cable NAME down|up: the switch's end, like a pulled cable
	ip -n "$NETNS_PFX-sw" link set "v-$1" "$2"
}

netns_kill_ns() {
	local p
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		p=$(ip netns pids "$1" 2>/dev/null)
		[ -n "$p" ] || return 0
		kill -KILL $p 2>/dev/null
		sleep 0.1
	done
}
# netns_kill NAME: every process of NAME, like a host losing power; reaps
# the ones that are children of this shell so that none stays a zombie
netns_kill() {
	local p
	{
		netns_kill_ns "$NETNS_PFX-$1"
		for p in $NETNS_BGPIDS; do kill -0 "$p" || wait "$p"; done
	} 2>/dev/null
	[ -z "$(netns_pids "$1")" ]
}

ns_empty() { [ -z "$(ip netns pids "$1" 2>/dev/null)" ]; }
# at exit: SIGTERM to what was started here (a daemon stops its children),
# then SIGKILL to whatever is left in each namespace, then the namespaces
netns_cleanup() {
	local h p
	{
		for p in $NETNS_BGPIDS; do kill -TERM "$p"; done
		for h in $NETNS_HOSTS; do wait_for 10 ns_empty "$NETNS_PFX-$h"; done
		for h in $NETNS_HOSTS; do netns_kill_ns "$NETNS_PFX-$h"; done
		for p in $NETNS_BGPIDS; do wait "$p"; done
	} 2>/dev/null
	for h in $NETNS_HOSTS sw; do ip netns del "$NETNS_PFX-$h" 2>/dev/null; done
}

# gearmand_start [HOST [N]]: gearmand in host HOST (default "gm", made at
# $NETNS_NET.N, default 1, unless it exists) on port 4730, in the foreground
# as a child; pid in GEARMAND, address in GEARMAN_ADDR. Waits until it answers.
gearmand_start() {
	local h=${1:-gm} n=${2:-1}
	command -v gearmand >/dev/null || netns_skip "gearmand is not installed (gearman-job-server)"
	case " $NETNS_HOSTS " in *" $h "*) ;; *) netns_host "$h" "$n" || return 1 ;; esac
	GEARMAN_HOST=$h
	GEARMAN_ADDR=$NETNS_NET.$n
	netns_bg "$h" "" gearmand --listen "$GEARMAN_ADDR" --port 4730 \
		--log-file "$T_DIR/gearmand.log" --verbose INFO 2>>"$T_DIR/gearmand.err"
	GEARMAND=$NETNS_PID
	wait_for 20 gearadmin_in "$h" --status
}
# gearmand_kill: kill -9 of gearmand, reaped (and its death not reported)
gearmand_kill() {
	{
		kill -KILL "$GEARMAND"
		wait "$GEARMAND"
	} 2>/dev/null
	return 0
}
# gearadmin_in HOST ARGS...: gearadmin against gearmand, run in HOST
gearadmin_in() {
	local h=$1
	shift
	netns_exec "$h" timeout 10 gearadmin -h "$GEARMAN_ADDR" -p 4730 "$@"
}
# gearman_workers_named HOST NAME...: gearmand lists a worker of each NAME
# (its identifier) with at least one function
gearman_workers_named() {
	local h=$1 out n
	shift
	out=$(gearadmin_in "$h" --workers) || return 1
	for n in "$@"; do
		echo "$out" | grep -q "^[0-9]* [^ ]* $n : tmcwatch:" || return 1
	done
}

# gearman_workers_at HOST N...: gearmand lists a worker at $NETNS_NET.N with
# at least one function, for each N (named or not)
gearman_workers_at() {
	local h=$1 out n
	shift
	out=$(gearadmin_in "$h" --workers) || return 1
	for n in "$@"; do
		echo "$out" | grep -q "^[0-9]* $NETNS_NET\.$n [^ ]* : tmcwatch:" || return 1
	done
}

# host_config NAME TEMPLATES_JSON CONFIG_KEYS: $T_DIR/NAME/conf/{config,template}.json
# with spool $T_DIR/NAME/spool, log $T_DIR/NAME/tmcwatch.log and site01 at $SITE;
# CONFIG_KEYS (ending in a comma) give at least worker_cnt. Prints the
# config's path.
host_config() {
	local d=$T_DIR/$1
	mkdir -p "$d/conf" "$SITE/in"
	printf '%s\n' "$2" >"$d/conf/template.json"
	cat >"$d/conf/config.json" <<JSON
{
  "client_cnt": 2, "big_worker": 1,
  "spool_dir": "$d/spool",
  "log_file": "$d/tmcwatch.log",
  "retry_delay": 1,
  ${3:-}
  "site": { "site01": { "root": "$SITE" } }
}
JSON
	echo "$d/conf/config.json"
}
