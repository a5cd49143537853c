#!/bin/sh
# deps.sh - install what building and testing tmcwatch needs, from the
# distribution's own packages: apt-get on Debian/Ubuntu, dnf on Fedora and
# RHEL-family (EPEL, with CRB, provides GraphicsMagick and ffmpeg-free there:
# deps.sh stops with the commands to enable them when they are not).
# Idempotent: packages already installed are left alone. Run as root (or it
# uses sudo when it is there).
set -eu

DEB_PKGS="build-essential pkg-config libjsmn-dev libcmocka-dev libgraphicsmagick1-dev
graphicsmagick libpng-dev libtiff-dev libwebp-dev libavformat-dev libavcodec-dev libavfilter-dev
libswscale-dev libavutil-dev
libmicrohttpd-dev libcurl4-openssl-dev nettle-dev libsystemd-dev ffmpeg libvips-tools rpm mandoc
systemd logrotate curl rsync perl git valgrind jq libgs-common python3 mate-backgrounds
clang libclang-rt-14-dev clang-format prometheus chromium tzdata
libgearman-dev gearman-job-server gearman-tools iproute2 util-linux"
RPM_PKGS="gcc make pkgconf-pkg-config jsmn-devel libcmocka-devel GraphicsMagick-devel
GraphicsMagick libpng-devel libtiff-devel libwebp-devel libavformat-free-devel libavcodec-free-devel libavfilter-free-devel
libswscale-free-devel libavutil-free-devel libmicrohttpd-devel libcurl-devel nettle-devel systemd-devel
ffmpeg-free vips-tools rpm-build mandoc systemd logrotate curl rsync perl-Test-Harness git
valgrind jq ghostscript python3 clang clang-tools-extra compiler-rt tzdata
libgearman-devel gearmand iproute util-linux"

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
# the distribution family, from os-release (OS_RELEASE: another file, for tests)
OS_RELEASE=${OS_RELEASE:-/etc/os-release}
ID= ID_LIKE= VERSION_ID=
[ -r "$OS_RELEASE" ] && . "$OS_RELEASE"
major=${VERSION_ID%%.*}

deb_install() {
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
}

# RHEL, Rocky, Alma, CentOS Stream: GraphicsMagick, jsmn, ffmpeg-free and
# vips come from EPEL, whose -devel packages need CRB (PowerTools on 8).
# Without both, dnf fails package by package; say what to enable instead.
rhel_repos_check() {
	repos=$(dnf -q repolist --enabled 2>/dev/null | awk 'NR > 1 { print $1 }')
	crb=crb
	[ "$major" = 8 ] && crb=powertools
	missing=
	echo "$repos" | grep -qx 'epel' || missing="$missing EPEL"
	echo "$repos" | grep -Eqx "$crb|codeready-builder-for-rhel-$major-.*-rpms" ||
		missing="$missing CRB"
	[ -z "$missing" ] && return 0
	echo "deps.sh: these repositories are not enabled:$missing; enable them, then run deps.sh again:" >&2
	if [ "$ID" = rhel ]; then
		cat >&2 <<EOF
	subscription-manager repos --enable codeready-builder-for-rhel-$major-\$(arch)-rpms
	dnf install https://dl.fedoraproject.org/pub/epel/epel-release-latest-$major.noarch.rpm
EOF
	else
		cat >&2 <<EOF
	dnf install epel-release
	dnf config-manager --set-enabled $crb
EOF
	fi
	exit 69
}

case " $ID $ID_LIKE " in
*" debian "* | *" ubuntu "*)
	deb_install ;;
*" rhel "* | *" centos "*)
	# before fedora: Rocky and Alma say ID_LIKE="rhel centos fedora"
	rhel_repos_check
	$SUDO dnf install -y $RPM_PKGS ;;
*" fedora "*)
	$SUDO dnf install -y $RPM_PKGS ;;
*)
	echo "deps.sh: unknown distribution '${ID:-?}' ($OS_RELEASE); install by hand: $DEB_PKGS" >&2
	exit 69 ;;
esac
