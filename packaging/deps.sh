#!/bin/sh
# deps.sh - install what building and testing tmcwatch needs, from the
# distribution's own packages: apt-get on Debian/Ubuntu, dnf on RHEL-family
# (EPEL and RPM Fusion provide GraphicsMagick and FFmpeg there).
# Idempotent: packages already installed are left alone. Run as root (or it
# uses sudo when it is there).
set -eu

DEB_PKGS="build-essential pkg-config libjsmn-dev libcmocka-dev libgraphicsmagick1-dev
graphicsmagick libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libavutil-dev
libmicrohttpd-dev libcurl4-openssl-dev nettle-dev libsystemd-dev ffmpeg libvips-tools rpm mandoc
systemd logrotate curl rsync perl git valgrind jq libgs-common python3 mate-backgrounds
clang libclang-rt-14-dev prometheus chromium"
RPM_PKGS="gcc make pkgconf-pkg-config jsmn-devel libcmocka-devel GraphicsMagick-devel
GraphicsMagick libavformat-free-devel libavcodec-free-devel libavfilter-free-devel
libswscale-free-devel libavutil-free-devel libmicrohttpd-devel libcurl-devel nettle-devel systemd-devel
ffmpeg-free vips-tools rpm-build mandoc systemd logrotate curl rsync perl-Test-Harness git
valgrind jq ghostscript python3 clang compiler-rt"

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

if command -v apt-get >/dev/null 2>&1; then
	missing=
	for p in $DEB_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "deps.sh: installing:$missing"
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
	fi
elif command -v dnf >/dev/null 2>&1; then
	$SUDO dnf install -y epel-release >/dev/null 2>&1 || true
	$SUDO dnf install -y $RPM_PKGS
else
	echo "deps.sh: neither apt-get nor dnf found; install by hand: $DEB_PKGS" >&2
	exit 69
fi
