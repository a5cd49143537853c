#!/bin/bash
# Packaging, both ways a host gets tmcwatch:
#  - "make install DESTDIR= PREFIX=/usr" (the Debian path): the programs,
#    configuration, units, sysusers/tmpfiles/logrotate files, man pages and
#    folders land where the units expect them; test tools stay out; a
#    second install keeps edited configuration; other SBINDIR/LIBEXECDIR
#    values are written into the installed units; req/ is 2770 (operators
#    in the group tmcwatch submit); "make uninstall" removes what install
#    put there, keeping edited configuration.
#  - the rpm: "make dist", then rpmbuild -ta --nodeps --without check into a
#    scratch _topdir (about a minute: it compiles everything once), then the
#    package's file list, config files, owners and systemd scriptlets.
#    Needs rpmbuild and a git checkout (make dist is git archive HEAD): the
#    rpm half is skipped without them, e.g. in the rpm's own %check.
. "$TMC_SRC/tests/lib/tap.sh"

VERSION=$(sed -n 's/^VERSION := //p' "$TMC_SRC/GNUmakefile")
MAN_PAGES="man5/tmcwatch.conf.5 man5/tmcwatch-template.5 man5/tmcwatch-spool.5
man7/tmcwatch-tmc.7 man8/tmcwatch.8 man8/tmc-httpd.8"
RPM_FILES="/usr/sbin/tmcwatch /usr/libexec/tmcwatch/tmc-copy
/usr/lib/systemd/system/tmcwatch.service /usr/lib/systemd/system/tmcwatch-httpd.service
/usr/lib/sysusers.d/tmcwatch.conf /usr/lib/tmpfiles.d/tmcwatch.conf /etc/logrotate.d/tmcwatch
/etc/tmcwatch/config.json /etc/tmcwatch/template.json /var/spool/tmcwatch /var/log/tmcwatch"
RPM_CONFIG="/etc/tmcwatch/config.json /etc/tmcwatch/template.json /etc/logrotate.d/tmcwatch"
n_install=22
n_rpm=$((5 + $(echo $RPM_FILES | wc -w) + 6 + $(echo $RPM_CONFIG | wc -w) + 5 + 2 + 2))

rpm_skip=""
if case "$TMC_BUILD" in *san*) true ;; *) false ;; esac; then
	# make check runs the suite twice; the rpm compiles its own tree, so
	# the sanitizer run would only build the same package again
	rpm_skip="the rpm is built in the plain run of make check, not the sanitizer one"
elif ! command -v rpmbuild >/dev/null 2>&1; then
	rpm_skip="rpmbuild is not installed"
elif [ "$(git -C "$TMC_SRC" rev-parse --show-toplevel 2>/dev/null)" != "$(cd "$TMC_SRC" && pwd -P)" ]; then
	# not its own checkout: an unpacked tarball, maybe inside another one
	# (rpmbuild's BUILD folder under a checkout's build/)
	rpm_skip="$TMC_SRC is not a git checkout (make dist is git archive HEAD)"
fi
plan $((n_install + n_rpm))

# A make run from here is not a sub-make of the one running prove.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TMC_SRC" BUILD="$TMC_BUILD" "$@"; }

# --- make install (Debian path) ----------------------------------------------
D=$T_DIR/inst
mk install DESTDIR="$D" PREFIX=/usr >"$T_DIR/install.log" 2>&1
rc=$?
ok $rc "make install DESTDIR=... PREFIX=/usr succeeds"
[ $rc = 0 ] || tail -20 "$T_DIR/install.log" | sed 's/^/# /'
check "tmcwatch is in /usr/sbin, executable" test -x "$D/usr/sbin/tmcwatch"
check "tmc-copy is in /usr/libexec/tmcwatch, executable" test -x "$D/usr/libexec/tmcwatch/tmc-copy"
check "the test tool tmc-enqueue is not installed" test ! -e "$D/usr/libexec/tmcwatch/tmc-enqueue"
check "config.json and template.json are in /etc/tmcwatch" \
	test -f "$D/etc/tmcwatch/config.json" -a -f "$D/etc/tmcwatch/template.json"
check "both units are in /usr/lib/systemd/system" test -f "$D/usr/lib/systemd/system/tmcwatch.service" \
	-a -f "$D/usr/lib/systemd/system/tmcwatch-httpd.service"
check "the installed unit starts /usr/sbin/tmcwatch" grep -qx \
	'ExecStart=/usr/sbin/tmcwatch -c /etc/tmcwatch/config.json run' "$D/usr/lib/systemd/system/tmcwatch.service"
check "sysusers.d/tmcwatch.conf is in /usr/lib" test -f "$D/usr/lib/sysusers.d/tmcwatch.conf"
check "tmpfiles.d/tmcwatch.conf is in /usr/lib" test -f "$D/usr/lib/tmpfiles.d/tmcwatch.conf"
check "logrotate.d/tmcwatch is in /etc" test -f "$D/etc/logrotate.d/tmcwatch"
missing=""
for m in $MAN_PAGES; do [ -f "$D/usr/share/man/$m" ] || missing="$missing $m"; done
is "$missing" "" "the six man pages are in /usr/share/man"
check "spool and log folders exist" test -d "$D/var/spool/tmcwatch" -a -d "$D/var/log/tmcwatch"
is "$(stat -c %a "$D/var/spool/tmcwatch/req" 2>/dev/null)" 2770 "req/ is 2770: the group tmcwatch submits"
is "$(find "$D" -name '*.tmp.*' | wc -l)" 0 \
	"no temporary files left behind"

echo "// edited by the operator" >>"$D/etc/tmcwatch/config.json"
echo "# edited" >>"$D/etc/logrotate.d/tmcwatch"
mk install DESTDIR="$D" PREFIX=/usr >"$T_DIR/install2.log" 2>&1
ok $? "a second make install into the same root succeeds"
grep -q 'edited by the operator' "$D/etc/tmcwatch/config.json" &&
	grep -q '^# edited' "$D/etc/logrotate.d/tmcwatch"
ok $? "a second make install keeps edited config.json and logrotate file"

D2=$T_DIR/inst-opt
mk install DESTDIR="$D2" PREFIX=/opt/tmc SBINDIR=/opt/tmc/sbin LIBEXECDIR=/opt/tmc/libexec \
	MANDIR=/opt/tmc/man >"$T_DIR/install3.log" 2>&1
ok $? "make install with PREFIX=/opt/tmc succeeds"
grep -qx 'ExecStart=/opt/tmc/sbin/tmcwatch -c /etc/tmcwatch/config.json run' \
	"$D2/usr/lib/systemd/system/tmcwatch.service" &&
	grep -qx 'ExecStart=/opt/tmc/libexec/tmc-httpd -c /etc/tmcwatch/config.json' \
		"$D2/usr/lib/systemd/system/tmcwatch-httpd.service"
ok $? "units installed with other SBINDIR/LIBEXECDIR name those programs"

# make uninstall: a fresh install comes out whole; an edited config stays
D3=$T_DIR/inst-un
mk install DESTDIR="$D3" PREFIX=/usr >"$T_DIR/install4.log" 2>&1
find "$D3" -mindepth 1 | sort >"$T_DIR/installed"
mk uninstall DESTDIR="$D3" PREFIX=/usr >"$T_DIR/uninstall.log" 2>&1
ok $? "make uninstall DESTDIR=... PREFIX=/usr succeeds"
# what is left is only folders install shares with the rest of the system
left=$(find "$D3" -mindepth 1 ! -type d | wc -l)
ours=$(find "$D3" -mindepth 1 -type d -name '*tmcwatch*' | wc -l)
is "$left:$ours" "0:0" "make uninstall removes every file and folder of its own that install put there"
[ "$left:$ours" = 0:0 ] || find "$D3" -mindepth 1 \( ! -type d -o -name '*tmcwatch*' \) | sed 's/^/#   /'
mk install DESTDIR="$D3" PREFIX=/usr >/dev/null 2>&1
echo "// edited by the operator" >>"$D3/etc/tmcwatch/config.json"
mk uninstall DESTDIR="$D3" PREFIX=/usr >"$T_DIR/uninstall2.log" 2>&1
grep -q 'edited by the operator' "$D3/etc/tmcwatch/config.json" &&
	test ! -e "$D3/etc/tmcwatch/template.json" -a ! -e "$D3/usr/sbin/tmcwatch"
ok $? "make uninstall keeps an edited config.json, removes the rest"
grep -q "config.json is edited: kept" "$T_DIR/uninstall2.log"
ok $? "make uninstall says which file it kept"

# --- the rpm -----------------------------------------------------------------
if [ -n "$rpm_skip" ]; then
	for _ in $(seq 1 "$n_rpm"); do echo "ok $((T_N += 1)) # skip $rpm_skip"; done
	exit 0
fi

mk dist BUILD="$T_DIR/dist" >"$T_DIR/dist.log" 2>&1
tarball=$T_DIR/dist/tmcwatch-$VERSION.tar.gz
check "make dist writes tmcwatch-$VERSION.tar.gz" test -s "$tarball"
is "$(tar tzf "$tarball" | grep -cv "^tmcwatch-$VERSION/")" 0 "every tarball entry is under tmcwatch-$VERSION/"
tar tzf "$tarball" | grep -qx "tmcwatch-$VERSION/packaging/tmcwatch.spec"
ok $? "the tarball holds packaging/tmcwatch.spec (rpmbuild -ta finds it)"

top=$T_DIR/rpmbuild
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL rpmbuild -ta --nodeps --without check \
	--define "_topdir $top" --define "_smp_mflags -j1" "$tarball" >"$T_DIR/rpmbuild.log" 2>&1
rc=$?
ok $rc "rpmbuild -ta --nodeps --without check succeeds"
[ $rc = 0 ] || tail -30 "$T_DIR/rpmbuild.log" | sed 's/^/# /'
rpm=$(ls "$top"/RPMS/*/tmcwatch-"$VERSION"-*.rpm 2>/dev/null | grep -v debug | head -1)
srpm=$(ls "$top"/SRPMS/tmcwatch-"$VERSION"-*.src.rpm 2>/dev/null | head -1)
test -n "$rpm" -a -n "$srpm"
ok $? "a binary and a source rpm were written"

rpm -qlp "$rpm" >"$T_DIR/files" 2>/dev/null
for f in $RPM_FILES; do
	check "the rpm has $f" grep -qx "$f" "$T_DIR/files"
done
missing=""
for m in $MAN_PAGES; do grep -q "^/usr/share/man/$m" "$T_DIR/files" || missing="$missing $m"; done
is "$missing" "" "the rpm has the six man pages"
check "the rpm does not have tmc-enqueue" sh -c "! grep -q tmc-enqueue '$T_DIR/files'"
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' \
	"$rpm" >"$T_DIR/modes" 2>/dev/null
check "/var/spool/tmcwatch: drwxr-x--- tmcwatch:tmcwatch" \
	grep -q '^drwxr-x--- tmcwatch:tmcwatch .* /var/spool/tmcwatch$' "$T_DIR/modes"
check "/var/log/tmcwatch: drwxr-x--- tmcwatch:tmcwatch" \
	grep -q '^drwxr-x--- tmcwatch:tmcwatch .* /var/log/tmcwatch$' "$T_DIR/modes"
check "config.json: -rw-r----- root:tmcwatch, config(noreplace)" \
	grep -q '^-rw-r----- root:tmcwatch cn /etc/tmcwatch/config.json$' "$T_DIR/modes"
check "/var/spool/tmcwatch/req: drwxrws--- tmcwatch:tmcwatch (the group submits)" \
	grep -q '^drwxrws--- tmcwatch:tmcwatch .* /var/spool/tmcwatch/req$' "$T_DIR/modes"

rpm -qcp "$rpm" >"$T_DIR/config" 2>/dev/null
for f in $RPM_CONFIG; do
	check "rpm -qcp lists $f" grep -qx "$f" "$T_DIR/config"
done

rpm -qp --scripts "$rpm" >"$T_DIR/scripts" 2>/dev/null
# section NAME: the scriptlet text rpm prints under "NAME scriptlet ..."
section() { awk -v s="$1" '/^[a-z]+ scriptlet/ { on = ($1 == s) } on' "$T_DIR/scripts"; }
section preinstall | grep -q 'useradd'
ok $? "%pre makes the user tmcwatch"
section postinstall | grep -q 'tmpfiles'
ok $? "%post applies tmpfiles.d"
for s in postinstall preuninstall postuninstall; do
	section $s | grep -Eq 'systemctl|systemd-update-helper' &&
		section $s | grep -q 'tmcwatch\.service' &&
		section $s | grep -q 'tmcwatch-httpd\.service'
	ok $? "$s scriptlet handles tmcwatch.service and tmcwatch-httpd.service"
done
section postuninstall | grep -Eq 'try-restart|mark-restart'
ok $? "%postun restarts the services on upgrade"
is "$(rpm -qp --qf '%{LICENSE} %{URL}' "$rpm" 2>/dev/null)" \
	"GPL-3.0-or-later https://github.com/tmcwatch/tmcwatch" "License: and URL: tags"
# %license: the l flag; the folder is tmcwatch (Fedora) or tmcwatch-VERSION
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" 2>/dev/null |
	grep -q '^l /usr/share/licenses/tmcwatch[^/]*/LICENSE$'
ok $? "the rpm ships LICENSE as %license"
rpm -qp --requires "$rpm" 2>/dev/null | grep -q 'libGraphicsMagick\|libavformat\|libcurl\|libsystemd'
ok $? "rpm found library dependencies from the programs"
