/*
 * path.c - paths that come from users (job files, file names, API requests).
 *
 * Nothing from outside is joined into a path before path_check_rel() says
 * it cannot climb: no ".." component, no NUL, no control characters.
 * Output folders are then opened one component at a time with O_NOFOLLOW,
 * so a symlink planted under a site root cannot redirect a write, and
 * originals are opened with open_beneath(): resolved beneath their root with
 * no symbolic link in any component (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS, or the same walk by hand where the kernel or the
 * headers lack openat2), so a link planted under a site root cannot make a
 * stage read a file outside it. The hard-link policy lives here too: it is
 * one rule that the watch, the jobs and the stages apply alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "openat2_compat.h"

#include "util.h"

int
path_check_rel(const char *rel, char *reason, size_t len)
{
	const char *p = rel, *end;

	for (const unsigned char *c = (const unsigned char *)rel; *c; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			snprintf(reason, len, "path \"%s\" contains a control character", rel);
			return -1;
		}
	}
	while (*p) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		if (end - p == 2 && p[0] == '.' && p[1] == '.') {
			snprintf(reason, len, "path \"%s\" climbs out with \"..\"", rel);
			return -1;
		}
		p = end;
	}
	return 0;
}

int
path_join(char *buf, size_t len, const char *root, const char *a, const char *b, const char *c)
{
	int n = snprintf(buf, len, "%s%s%s%s", root, a ? a : "", b ? b : "", c ? c : "");

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
dir_open_beneath(int rootfd, const char *rel, bool create, mode_t mode)
{
	char comp[NAME_MAX + 1];
	const char *p = rel, *end;
	int fd, next;

	fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchrnul(p, '/');
		if ((size_t)(end - p) > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, (size_t)(end - p));
		comp[end - p] = '\0';
		p = end;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			close(fd);
			errno = EPERM;
			return -1;
		}
		if (create && mkdirat(fd, comp, mode) < 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			struct stat st;
			int e = errno;

			/* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink: name it */
			if (e == ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				e = ELOOP;
			close(fd);
			errno = e;
			return -1;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

const char *
path_ext(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');

	return dot && dot != base ? dot + 1 : "";
}

/* "a/b/c" -> "a/b" in dir and "c" in base; dir "" when there is no '/'. */
static int
split_last(const char *rel, char *dir, size_t dlen, const char **base)
{
	const char *slash = strrchr(rel, '/');
	size_t n = slash ? (size_t)(slash - rel) : 0;

	if (n >= dlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, rel, n);
	dir[n] = '\0';
	*base = slash ? slash + 1 : rel;
	return 0;
}

int
open_beneath_walk(int rootfd, const char *rel, int flags)
{
	char dir[PATH_MAX];
	const char *base;
	int dfd, fd, e;

	while (*rel == '/')
		rel++;
	if (split_last(rel, dir, sizeof(dir), &base) < 0)
		return -1;
	if (strcmp(base, "..") == 0) {
		errno = EXDEV;
		return -1;
	}
	if ((dfd = dir_open_beneath(rootfd, dir, false, 0)) < 0) {
		if (errno == EPERM) /* ".." on the way */
			errno = EXDEV;
		return -1;
	}
	fd = openat(dfd, *base ? base : ".", flags | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	if (fd < 0 && e == ENOTDIR) { /* O_DIRECTORY|O_NOFOLLOW on a link */
		struct stat st;

		if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			e = ELOOP;
	}
	close(dfd);
	errno = e;
	/* O_PATH|O_NOFOLLOW opens the link itself: say what openat2 says */
	if (fd >= 0 && (flags & O_PATH)) {
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
			close(fd);
			errno = ELOOP;
			return -1;
		}
	}
	return fd;
}

int
open_beneath(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
		/* no O_NOFOLLOW: with O_PATH it would open a final link itself;
		 * RESOLVE_NO_SYMLINKS refuses it (ELOOP) */
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	while (*rel == '/')
		rel++;
	fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
	/* ENOSYS: a kernel before 5.6; EPERM: a seccomp filter that does not
	 * know openat2 (older container runtimes). The walk is as strict. */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		return open_beneath_walk(rootfd, rel, flags);
	return (int)fd;
}

int
parent_stat_beneath(int rootfd, const char *rel, struct stat *st)
{
	char dir[PATH_MAX];
	const char *base;
	int fd, r, e;

	while (*rel == '/')
		rel++;
	if (split_last(rel, dir, sizeof(dir), &base) < 0)
		return -1;
	if ((fd = open_beneath(rootfd, dir, O_PATH | O_DIRECTORY)) < 0)
		return -1;
	r = fstat(fd, st);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

bool
hardlink_refused(const struct stat *file, const struct stat *folder)
{
	return S_ISREG(file->st_mode) && file->st_nlink > 1 && file->st_uid != folder->st_uid;
}
