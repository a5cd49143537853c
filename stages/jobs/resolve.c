/*
 * resolve.c - a listed file, found beneath its site root the way a stage
 * will open it: path_head + path_tail + the line, opened with open_beneath()
 * (no symbolic link in any component, no way out), a regular file, the
 * hard-link policy (tmcwatch.conf(5)). A scan never lists such files; a
 * file list (an upload, act=convert) may name anything, so each file is
 * resolved here, when it is emitted, and its identity goes into its ticket
 * (src_id) for the stage to compare. A refused file gets its error row at
 * once and never reaches a stage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"

int
resolve_open_root(const struct job *j)
{
	int fd = open(j->spec.site->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		log_warn("job %s: site root %s", j->seq, j->spec.site->root);
	return fd;
}

static int
resolve_refused(const struct job *j, const char *rel, int err, char *reason, size_t rlen)
{
	const char *root = j->spec.site->root;

	if (err == ELOOP)
		snprintf(reason, rlen,
			 "%s%s: a symbolic link on its path beneath %s is not followed, "
			 "refused",
			 root, rel, root);
	else
		snprintf(reason, rlen, "%s%s: leads out of %s, refused", root, rel, root);
	return -1;
}

int
resolve_src(const struct job *j, int rootfd, size_t i, struct stat *st, char *reason, size_t rlen)
{
	char *rel = xasprintf("%s%s%s", j->spec.path_head, j->spec.path_tail, j->rel[i]);
	struct stat dir;
	int fd, r = 1;

	if (rootfd < 0 || (fd = open_beneath(rootfd, rel, O_PATH)) < 0) {
		/* missing or unreadable: the stage says so in the file's row */
		r = rootfd >= 0 && (errno == ELOOP || errno == EXDEV)
			    ? resolve_refused(j, rel, errno, reason, rlen)
			    : 0;
	} else {
		if (fstat(fd, st) < 0) {
			r = 0;
		} else if (!S_ISREG(st->st_mode)) {
			snprintf(reason, rlen, "%s%s: not a regular file, refused",
				 j->spec.site->root, rel);
			r = -1;
		} else if (st->st_nlink > 1 && parent_stat_beneath(rootfd, rel, &dir) == 0 &&
			   hardlink_refused(st, &dir)) {
			snprintf(reason, rlen,
				 "%s%s: a hard link (%ju links) owned by uid %u in a folder owned "
				 "by "
				 "uid %u, refused",
				 j->spec.site->root, rel, (uintmax_t)st->st_nlink,
				 (unsigned)st->st_uid, (unsigned)dir.st_uid);
			r = -1;
		}
		close(fd);
	}
	free(rel);
	return r;
}
