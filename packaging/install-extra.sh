#!/bin/sh
# install-extra.sh - the system integration files, called by "make install"
# after the programs, configuration and man pages are in place:
#
#   systemd units        -> $UNITDIR (tmcwatch.service, tmcwatch-httpd.service,
#                           tmcwatch-worker.service)
#   sysusers.d, tmpfiles.d -> $SYSUSERSDIR/tmcwatch.conf, $TMPFILESDIR/tmcwatch.conf
#   logrotate            -> $SYSCONFDIR/logrotate.d/tmcwatch
#   spool and log folders -> $SPOOLDIR, $LOGDIR (empty; the rpm owns them),
#                           $SPOOLDIR/req 2770 (operators in the group submit)
#
# "install-extra.sh uninstall" (make uninstall) removes them again: the
# logrotate file only when it is unedited, the folders only when empty.
# Environment (from GNUmakefile): DESTDIR, PREFIX, SBINDIR, LIBEXECDIR,
# UNITDIR, SYSCONFDIR; SYSUSERSDIR and TMPFILESDIR default to /usr/lib/...
# The units name /usr/sbin/tmcwatch and /usr/libexec/tmcwatch; other SBINDIR
# or LIBEXECDIR values are written into the installed copies. Existing
# files are replaced except the logrotate file, which is configuration.
# Nothing is started, enabled or created outside DESTDIR.
set -eu

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
LIBEXECDIR=${LIBEXECDIR:-$PREFIX/libexec/tmcwatch}
UNITDIR=${UNITDIR:-/usr/lib/systemd/system}
SYSCONFDIR=${SYSCONFDIR:-/etc}
SYSUSERSDIR=${SYSUSERSDIR:-/usr/lib/sysusers.d}
TMPFILESDIR=${TMPFILESDIR:-/usr/lib/tmpfiles.d}
SPOOLDIR=${SPOOLDIR:-/var/spool/tmcwatch}
LOGDIR=${LOGDIR:-/var/log/tmcwatch}

here=$(dirname "$0")

if [ "${1:-}" = uninstall ]; then
	rm -f "$DESTDIR$UNITDIR/tmcwatch.service" "$DESTDIR$UNITDIR/tmcwatch-httpd.service" \
		"$DESTDIR$UNITDIR/tmcwatch-worker.service" \
		"$DESTDIR$SYSUSERSDIR/tmcwatch.conf" "$DESTDIR$TMPFILESDIR/tmcwatch.conf"
	lr=$DESTDIR$SYSCONFDIR/logrotate.d/tmcwatch
	if [ -e "$lr" ] && ! cmp -s "$here/tmcwatch.logrotate" "$lr"; then
		echo "install-extra.sh: $lr is edited: kept" >&2
	else
		rm -f "$lr"
	fi
	# a spool or log that holds anything is the operator's: kept
	for d in "$SPOOLDIR/req" "$SPOOLDIR" "$LOGDIR"; do
		[ ! -d "$DESTDIR$d" ] || rmdir "$DESTDIR$d" 2>/dev/null ||
			echo "install-extra.sh: $DESTDIR$d is not empty: kept" >&2
	done
	exit 0
fi

# install_sub MODE SRC DEST: install with the program paths rewritten
install_sub() {
	tmp="$3.tmp.$$"
	sed -e "s|/usr/sbin/tmcwatch|$SBINDIR/tmcwatch|g" \
	    -e "s|/usr/libexec/tmcwatch|$LIBEXECDIR|g" "$2" >"$tmp"
	chmod "$1" "$tmp"
	mv -f "$tmp" "$3"
}

install -d "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" "$DESTDIR$TMPFILESDIR" \
	"$DESTDIR$SYSCONFDIR/logrotate.d"
for u in tmcwatch.service tmcwatch-httpd.service tmcwatch-worker.service; do
	install_sub 644 "$here/$u" "$DESTDIR$UNITDIR/$u"
done
install -m 644 "$here/tmcwatch.sysusers" "$DESTDIR$SYSUSERSDIR/tmcwatch.conf"
install -m 644 "$here/tmcwatch.tmpfiles" "$DESTDIR$TMPFILESDIR/tmcwatch.conf"
if [ ! -e "$DESTDIR$SYSCONFDIR/logrotate.d/tmcwatch" ]; then
	install -m 644 "$here/tmcwatch.logrotate" "$DESTDIR$SYSCONFDIR/logrotate.d/tmcwatch"
fi
install -d -m 750 "$DESTDIR$SPOOLDIR" "$DESTDIR$LOGDIR"
install -d -m 2770 "$DESTDIR$SPOOLDIR/req"

if [ -z "$DESTDIR" ]; then
	cat <<EOF
install-extra.sh: installed; to create the user and folders and start:
	systemd-sysusers tmcwatch.conf && systemd-tmpfiles --create tmcwatch.conf
	systemctl daemon-reload && systemctl enable --now tmcwatch.service
EOF
fi
