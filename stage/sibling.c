/*
 * sibling.c - where another tmcwatch program is: the one rule for finding
 * a sibling binary, so that a program that runs another (tmc-image runs
 * tmc-video for an mp4's frame) finds the one of its own installation or
 * build tree.
 *
 * TMC_LIBEXEC when set (tests and operators point it at a folder, and it
 * is then the only place looked at); else the folder of this process's own
 * binary when the program is there (a build tree, or the libexec folder
 * itself); else the compiled-in TMC_LIBEXECDIR. tmcwatch/plan.c's
 * libexec_dir() follows the same rule and can be moved onto this one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage.h"

#ifndef TMC_LIBEXECDIR
#define TMC_LIBEXECDIR "/usr/libexec/tmcwatch"
#endif

/* The folder of /proc/self/exe into dir, or -1. */
static int
self_dir(char *dir, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", dir, len - 1);
	char *slash;

	if (n <= 0)
		return -1;
	dir[n] = '\0';
	if ((slash = strrchr(dir, '/')) == NULL)
		return -1;
	*slash = '\0';
	return 0;
}

int
stage_sibling_path(const char *prog, char *buf, size_t len)
{
	const char *env = getenv("TMC_LIBEXEC");
	char dir[4096];
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s/%s", env, prog);
	else if (self_dir(dir, sizeof(dir)) == 0 &&
		 (n = snprintf(buf, len, "%s/%s", dir, prog)) > 0 && (size_t)n < len &&
		 access(buf, X_OK) == 0)
		return 0;
	else
		n = snprintf(buf, len, "%s/%s", TMC_LIBEXECDIR, prog);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
