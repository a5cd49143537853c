#!/bin/bash
# The systemd units and the files that go with them: systemd-analyze verify
# is silent on the three units (ExecStart= pointed at stand-ins, since the
# programs are not installed here; Documentation= checked against man/),
# the hardening the project promises is in them, the offline exposure score
# stays low, sysusers.d makes the user and tmpfiles.d the folders in a
# scratch root, and logrotate accepts its file.
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "1..0 # SKIP systemd-analyze is not installed (apt-get install systemd)"
	exit 0
fi
. "$TMC_SRC/tests/lib/tap.sh"

PKG=$TMC_SRC/packaging
MAIN_KEYS=(
	"Type=notify" "WatchdogSec=30" "Restart=on-failure" "KillMode=mixed"
	"ExecStart=/usr/sbin/tmcwatch -c /etc/tmcwatch/config.json run"
	"ExecReload=/bin/kill -HUP \$MAINPID" "TimeoutStopSec=90" "User=tmcwatch"
	"ReadWritePaths=/var/spool/tmcwatch /var/log/tmcwatch"
)
HTTPD_KEYS=(
	"Type=simple" "ExecStart=/usr/libexec/tmcwatch/tmc-httpd -c /etc/tmcwatch/config.json"
	"User=tmcwatch" "ReadWritePaths=/var/spool/tmcwatch/req /var/log/tmcwatch"
)
WORKER_KEYS=(
	"Type=notify" "KillMode=mixed" "User=tmcwatch" "Conflicts=tmcwatch.service"
	"ExecStart=/usr/sbin/tmcwatch -c /etc/tmcwatch/config.json worker"
	"ReadWritePaths=/var/spool/tmcwatch /var/log/tmcwatch"
)
HARDENING=(
	"NoNewPrivileges=yes" "ProtectSystem=strict" "PrivateTmp=yes" "ProtectHome=yes"
	"ProtectKernelTunables=yes" "ProtectKernelModules=yes" "ProtectKernelLogs=yes"
	"ProtectControlGroups=yes" "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
	"RestrictNamespaces=yes" "LockPersonality=yes" "MemoryDenyWriteExecute=yes"
	"SystemCallArchitectures=native" "SystemCallFilter=@system-service"
)
can_security=0
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' && can_security=1
can_logrotate=0
command -v logrotate >/dev/null 2>&1 && can_logrotate=1

plan $((3 + 3 + ${#MAIN_KEYS[@]} + ${#HTTPD_KEYS[@]} + ${#WORKER_KEYS[@]} + 3 * ${#HARDENING[@]} + 4 + 2))

# Stand-ins for the programs, and man/ laid out for man(1).
mkdir -p "$T_DIR/bin" "$T_DIR/units" "$T_DIR/man/man5" "$T_DIR/man/man8"
cp /bin/true "$T_DIR/bin/tmcwatch"
cp /bin/true "$T_DIR/bin/tmc-httpd"
cp "$TMC_SRC"/man/*.5 "$T_DIR/man/man5/"
cp "$TMC_SRC"/man/*.8 "$T_DIR/man/man8/"
for u in tmcwatch.service tmcwatch-httpd.service tmcwatch-worker.service; do
	sed -e "s|/usr/sbin/tmcwatch|$T_DIR/bin/tmcwatch|g" \
	    -e "s|/usr/libexec/tmcwatch/tmc-httpd|$T_DIR/bin/tmc-httpd|g" \
		"$PKG/$u" >"$T_DIR/units/$u"
done
man_flag=--man=yes
command -v man >/dev/null 2>&1 || man_flag=--man=no
[ $man_flag = --man=yes ] || diag "man(1) missing: Documentation= not checked"

for u in tmcwatch.service tmcwatch-httpd.service tmcwatch-worker.service; do
	out=$(cd "$T_DIR/units" && MANPATH=$T_DIR/man systemd-analyze verify $man_flag "$T_DIR/units/$u" 2>&1)
	rc=$?
	is "$rc:$out" "0:" "systemd-analyze verify $u: no error, no warning"
done

# has_line FILE LINE: the unit has the line exactly (one setting per line)
has_line() { grep -Fxq -- "$2" "$1"; }
for k in "${MAIN_KEYS[@]}"; do
	check "tmcwatch.service has $k" has_line "$PKG/tmcwatch.service" "$k"
done
for k in "${HTTPD_KEYS[@]}"; do
	check "tmcwatch-httpd.service has $k" has_line "$PKG/tmcwatch-httpd.service" "$k"
done
for k in "${WORKER_KEYS[@]}"; do
	check "tmcwatch-worker.service has $k" has_line "$PKG/tmcwatch-worker.service" "$k"
done
for u in tmcwatch.service tmcwatch-httpd.service tmcwatch-worker.service; do
	for k in "${HARDENING[@]}"; do
		check "$u has $k" has_line "$PKG/$u" "$k"
	done
done

# systemd's own review of the sandbox: "OK" is below 4.0 on its 0-10 scale.
for u in tmcwatch.service tmcwatch-httpd.service tmcwatch-worker.service; do
	if [ $can_security = 1 ]; then
		score=$(systemd-analyze security --offline=true "$T_DIR/units/$u" 2>/dev/null |
			sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
		awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 < 2.5) }'
		ok $? "systemd-analyze security: $u exposure ${score:-?} is below 2.5"
	else
		echo "ok $((T_N += 1)) # skip systemd-analyze has no --offline"
	fi
done

# sysusers.d and tmpfiles.d, applied to a scratch root.
root=$T_DIR/root
mkdir -p "$root/etc"
systemd-sysusers --root="$root" "$PKG/tmcwatch.sysusers" >/dev/null 2>&1 &&
	grep -q '^tmcwatch:x:[0-9]*:[0-9]*:.*:/var/spool/tmcwatch:' "$root/etc/passwd" &&
	grep -q '^tmcwatch:x:' "$root/etc/group"
ok $? "sysusers.d makes the user and group tmcwatch, home /var/spool/tmcwatch"
uid=$(awk -F: '$1 == "tmcwatch" { print $3 }' "$root/etc/passwd")
systemd-tmpfiles --root="$root" --create "$PKG/tmcwatch.tmpfiles" >/dev/null 2>&1
ok $? "tmpfiles.d applies"
got=""
for d in var/spool/tmcwatch var/spool/tmcwatch/req var/log/tmcwatch; do
	got="$got $(stat -c '%a:%u' "$root/$d" 2>/dev/null)"
done
is "$got" " 750:$uid 2770:$uid 750:$uid" "spool and log 0750, spool/req 2770 (the group submits), owned by tmcwatch"

if [ $can_logrotate = 1 ]; then
	# the user tmcwatch need not exist here: su names the running user
	sed -e "s|/var/log/tmcwatch|$T_DIR/log|" -e "s|su tmcwatch tmcwatch|su $(id -un) $(id -gn)|" \
		"$PKG/tmcwatch.logrotate" >"$T_DIR/logrotate.conf"
	mkdir -p "$T_DIR/log" && echo line >"$T_DIR/log/tmcwatch.log"
	logrotate -d -s "$T_DIR/logrotate.state" "$T_DIR/logrotate.conf" >"$T_DIR/logrotate.out" 2>&1 &&
		! grep -qi 'error' "$T_DIR/logrotate.out"
	ok $? "logrotate -d accepts tmcwatch.logrotate"
else
	echo "ok $((T_N += 1)) # skip logrotate is not installed"
fi
grep -q 'systemctl kill -s HUP tmcwatch.service' "$PKG/tmcwatch.logrotate"
ok $? "logrotate's postrotate sends SIGHUP to tmcwatch.service"
grep -Eq '^[[:space:]]*su tmcwatch tmcwatch$' "$PKG/tmcwatch.logrotate"
ok $? "logrotate rotates as tmcwatch (su line): the folder is not root's"
