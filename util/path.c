/*
 * path.c - paths that come from users (job files, file names, API requests).
 *
 * Nothing from outside is joined into a path before path_check_rel() says
 * it cannot climb: no ".." component, no NUL, no control characters.
 * Output folders are then opened one component at a time with O_NOFOLLOW,
 * so a symlink planted under a site root cannot redirect a write.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
path_join(char *buf, size_t len, const char *root, const char *a, const char *b,
	  const char *c)
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
