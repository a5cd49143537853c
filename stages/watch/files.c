/*
 * files.c - a file of the watched tree by its path relative to the watch
 * folder, looked at beneath that folder with no symbolic link followed on
 * the way (so a link made by an event is reported as a link, never
 * followed out of the tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "watch.h"

bool
file_rel(const char *dirrel, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", dirrel, name);

	return n > 0 && (size_t)n < len;
}

int
file_stat(int rootfd, const char *rel, struct stat *st)
{
	char dir[PATH_MAX];
	const char *base = strrchr(rel, '/');
	int fd, r, e;

	if (rootfd < 0) {
		errno = ENOENT;
		return -1;
	}
	/* lstat of the last component, its folders opened beneath the root
	 * with no link on the way: a link itself is reported (and refused by
	 * the caller), never followed */
	if (base == NULL)
		base = rel;
	else if (snprintf(dir, sizeof(dir), "%.*s", (int)(base - rel), rel) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else
		base++;
	if (*base == '\0')
		return fstat(rootfd, st);
	if ((fd = open_beneath(rootfd, base == rel ? "" : dir, O_PATH | O_DIRECTORY)) < 0)
		return -1;
	r = fstatat(fd, base, st, AT_SYMLINK_NOFOLLOW);
	e = errno;
	close(fd);
	errno = e;
	return r;
}
