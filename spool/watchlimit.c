/*
 * watchlimit.c - inotify's per-user limits: telling them from other
 * errors, naming the one in force, and recording that a program polls
 * instead of watching (fault.c, FAULT_WATCHES).
 *
 * inotify_add_watch says ENOSPC when the user's watches are used up,
 * inotify_init1 says EMFILE when the user's instances are (or when the
 * process is out of descriptors: told apart by opening one more). Both
 * limits belong to the user namespace: /proc/sys/user/max_inotify_watches
 * and max_inotify_instances are the ones in force here, while
 * /proc/sys/fs/inotify/max_user_* are the initial namespace's (the host's)
 * and differ inside a container. A program that hits a limit polls the
 * folder instead of exiting and tries the watch again now and then.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

/* The number in a one-line /proc file, or -1. */
static long long
proc_number(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atoll(buf);
}

/* EMFILE: the instance limit, unless this process has no descriptor left. */
static bool
out_of_fds(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == EMFILE || errno == ENFILE;
	close(fd);
	return false;
}

bool
inotify_limit_errno(int err)
{
	return err == ENOSPC || (err == EMFILE && !out_of_fds());
}

void
inotify_limit_text(int err, char *buf, size_t len)
{
	const char *what = err == ENOSPC ? "watches" : "instances";
	char user[64], host[64];
	long long n, h;

	snprintf(user, sizeof(user), "/proc/sys/user/max_inotify_%s", what);
	snprintf(host, sizeof(host), "/proc/sys/fs/inotify/max_user_%s", what);
	n = proc_number(user);
	h = proc_number(host);
	if (n < 0) /* a kernel before user namespaces counted them: the host's */
		snprintf(buf, len, "fs.inotify.max_user_%s = %lld (%s)", what, h, host);
	else if (h >= 0 && h < n)
		snprintf(buf, len, "user.max_inotify_%s = %lld (%s), and the host's %lld (%s)",
			 what, n, user, h, host);
	else
		snprintf(buf, len, "user.max_inotify_%s = %lld (%s)", what, n, user);
}

void
inotify_limit_hit(int err, const char *what)
{
	char limit[256];

	inotify_limit_text(err, limit, sizeof(limit));
	fault_note(FAULT_WATCHES, "inotify %s limit reached (%s): %s is polled instead",
		   err == ENOSPC ? "watch" : "instance", limit, what);
}
