#!/bin/bash
# Building where the headers and libraries are fewer: "make all" with cmocka
# unknown to pkg-config builds every program and leaves the unit tests out
# with a message; the openat2 callers build with <linux/openat2.h> unusable
# (TMC_NO_OPENAT2_H forces util/openat2_compat.h's own definitions, as on
# RHEL 8), and those definitions are the kernel's: a real openat2 call with
# them refuses to climb out and to follow a symlink. deps.sh on a
# RHEL-family system (its os-release and a dnf that records its calls)
# stops, with the commands to enable them, when EPEL or CRB is missing, and
# installs when both are there.
. "$TMC_SRC/tests/lib/tap.sh"
plan 9

# pkg-config that knows every .pc file here but cmocka's
mkdir -p "$T_DIR/pc" "$T_DIR/inc/linux"
for d in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
	for pc in "$d"/*.pc; do
		[ -e "$pc" ] && [ "${pc##*/}" != cmocka.pc ] && ln -sf "$pc" "$T_DIR/pc/"
	done
done
PKG_CONFIG_LIBDIR=$T_DIR/pc pkg-config --exists cmocka
test $? -ne 0 && PKG_CONFIG_LIBDIR=$T_DIR/pc pkg-config --exists libavformat
ok $? "the scratch pkg-config path hides cmocka only"

# a <linux/openat2.h> that must not be included
echo '#error "linux/openat2.h included despite TMC_NO_OPENAT2_H"' >"$T_DIR/inc/linux/openat2.h"

B=$T_DIR/build
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PKG_CONFIG_LIBDIR="$T_DIR/pc" \
	CPPFLAGS="-DTMC_NO_OPENAT2_H -I$T_DIR/inc" make -s -C "$TMC_SRC" -j2 BUILD="$B" all \
	>"$T_DIR/make.out" 2>&1
rc=$?
ok $rc "make all succeeds without cmocka and with the openat2 fallback (rc $rc)"
[ $rc -eq 0 ] || tail -n 20 "$T_DIR/make.out" | sed 's/^/#   /'
missing=""
for p in tmcwatch tmc-watch tmc-jobs tmc-image tmc-video tmc-copy tmc-notify tmc-httpd; do
	[ -x "$B/bin/$p" ] || missing="$missing $p"
done
is "$missing" "" "every program is built"
is "$(ls "$B/tests" 2>/dev/null | wc -l)" 0 "no unit test is built"
grep -q 'cmocka not found by pkg-config: the unit tests are not built' "$T_DIR/make.out"
ok $? "make says why the unit tests are left out"

# the fallback definitions against the running kernel
cat >"$T_DIR/probe.c" <<'C'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "openat2_compat.h"
static int o2(int dir, const char *p, unsigned long long resolve)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = resolve};
	int fd = (int)syscall(SYS_openat2, dir, p, &how, sizeof(how));
	return fd >= 0 ? 0 : errno;
}
int main(int argc, char **argv)
{
	int dir = open(argc > 1 ? argv[1] : ".", O_RDONLY | O_DIRECTORY);
	printf("%d %d %d %d\n", o2(dir, "f", RESOLVE_BENEATH), o2(dir, "../x", RESOLVE_BENEATH),
	       o2(dir, "l", RESOLVE_NO_SYMLINKS), o2(dir, "l", RESOLVE_BENEATH));
	return 0;
}
C
mkdir -p "$T_DIR/root" && : >"$T_DIR/root/f" && : >"$T_DIR/x" && ln -s f "$T_DIR/root/l"
cc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$T_DIR/inc" -I"$TMC_SRC/util" \
	-o "$T_DIR/probe-sys" "$T_DIR/probe.c" 2>/dev/null
test $? -ne 0
ok $? "control: without TMC_NO_OPENAT2_H the poisoned header is reached"
cc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DTMC_NO_OPENAT2_H -I"$T_DIR/inc" \
	-I"$TMC_SRC/util" -o "$T_DIR/probe" "$T_DIR/probe.c" &&
	got=$("$T_DIR/probe" "$T_DIR/root")
# 0: opened; EXDEV 18: climbs out; ELOOP 40: a symlink; 0: a symlink beneath
if [ "$got" = "38 38 38 38" ]; then
	ok 0 "# SKIP the kernel has no openat2 (ENOSYS)"
else
	is "$got" "0 18 40 0" "fallback definitions: openat2 opens beneath, refuses ../ (EXDEV) and a symlink (ELOOP)"
fi

# --- deps.sh on Rocky 9 -------------------------------------------------------
mkdir -p "$T_DIR/fakebin"
printf 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n' >"$T_DIR/os-release"
cat >"$T_DIR/fakebin/dnf" <<'SH'
#!/bin/sh
echo "dnf $*" >>"$T_DIR/dnf.calls"
case "$*" in *repolist*) printf 'repo id  repo name\nbaseos  BaseOS\nappstream  AppStream\n%s' "$EXTRA_REPOS" ;; esac
exit 0
SH
chmod +x "$T_DIR/fakebin/dnf"
# as root: no sudo in the way
if [ "$(id -u)" != 0 ]; then
	for _ in 1 2; do echo "ok $((T_N += 1)) # skip deps.sh runs dnf through sudo when not root"; done
	exit 0
fi
export T_DIR
PATH=$T_DIR/fakebin:$PATH OS_RELEASE=$T_DIR/os-release EXTRA_REPOS= sh "$TMC_SRC/packaging/deps.sh" \
	>"$T_DIR/deps.out" 2>&1
rc=$?
test $rc -eq 69 && grep -q 'not enabled: EPEL CRB' "$T_DIR/deps.out" &&
	grep -q 'dnf install epel-release' "$T_DIR/deps.out" &&
	grep -q 'dnf config-manager --set-enabled crb' "$T_DIR/deps.out" &&
	! grep -q 'dnf install' "$T_DIR/dnf.calls"
ok $? "deps.sh: EPEL and CRB missing: exit 69 with the commands, nothing installed (rc $rc)"
: >"$T_DIR/dnf.calls"
PATH=$T_DIR/fakebin:$PATH OS_RELEASE=$T_DIR/os-release EXTRA_REPOS="epel  EPEL
crb  CRB
" sh "$TMC_SRC/packaging/deps.sh" >"$T_DIR/deps.out" 2>&1
rc=$?
test $rc -eq 0 && grep -q '^dnf install -y .*GraphicsMagick-devel' "$T_DIR/dnf.calls"
ok $? "deps.sh: with EPEL and CRB it installs (rc $rc)"
