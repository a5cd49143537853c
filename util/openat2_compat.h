/*
 * openat2_compat.h - what openat2(2) callers need, also where the headers
 * lack it: RHEL 8's kernel headers have no <linux/openat2.h> and older
 * glibc no SYS_openat2. Include this instead of <linux/openat2.h>; it takes
 * the system header when there is one, else defines struct open_how and the
 * RESOLVE_* flags as the kernel's uapi has them (Linux 5.6). A kernel
 * without the call answers ENOSYS, which every caller handles with its
 * O_NOFOLLOW walk. -DTMC_NO_OPENAT2_H forces the fallback (a test builds
 * the programs so, to keep it compiling).
 */
#ifndef TMC_OPENAT2_COMPAT_H
#define TMC_OPENAT2_COMPAT_H

#include <sys/syscall.h>

#if !defined(TMC_NO_OPENAT2_H) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define TMC_HAVE_OPENAT2_H 1
#endif
#endif

#ifndef TMC_HAVE_OPENAT2_H
#include <linux/types.h>

struct open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20
#endif

#ifndef SYS_openat2
/* one number on every architecture but alpha (547), which tmcwatch does
 * not build for */
#define SYS_openat2 437
#endif

#endif
