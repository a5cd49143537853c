/*
 * handoff.c - finishing an item: the commit, delivery and removal.
 *
 * Exactly-once across crashes, in three steps:
 *  1. stage: successors are built inside the claimed item, in out.tmp/<k>/
 *     (ticket, a "dest" file naming the successor stage, pixels hard-linked
 *     from the item's next.* files as pixels.*);
 *  2. commit: rename out.tmp -> out. Before it, a crash redoes the step
 *     (outputs are rewritten with the same bytes); after it, the step is
 *     never redone: a claim that finds out/ only delivers;
 *  3. deliver: each out/<k> is renamed into its stage's new/<id>. A rename
 *     either happened or not, so a successor is delivered exactly once.
 * Then item_finish() moves cur/<id> into tmp/ and removes it there, so
 * recovery never sees a half-removed item.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static int
link_pixels(int itemfd, int succfd)
{
	DIR *d;
	struct dirent *de;
	char to[NAME_MAX + 1];
	int fd, r = 0;

	if ((fd = dup(itemfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "next.", 5) != 0)
			continue;
		snprintf(to, sizeof(to), "pixels.%s", de->d_name + 5);
		if (linkat(itemfd, de->d_name, succfd, to, 0) < 0 && errno != EEXIST) {
			r = -1;
			break;
		}
	}
	closedir(d);
	return r;
}

static int
stage_successor(struct item *it, int outfd, size_t k, const struct successor *s)
{
	char name[32], *text;
	size_t len;
	int fd, r = -1;

	snprintf(name, sizeof(name), "%zu", k);
	if (mkdirat(outfd, name, 0755) < 0)
		return -1;
	if ((fd = openat(outfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	text = ticket_format(&s->ticket, &len);
	if (file_publish_at(fd, "ticket", text, len, false) == 0 &&
	    file_publish_at(fd, "dest", s->sd->path, strlen(s->sd->path), false) == 0 &&
	    link_pixels(it->dirfd, fd) == 0)
		r = 0;
	free(text);
	close(fd);
	return r;
}

int
item_handoff(struct stage_dir *sd, struct item *it, struct successor *succ, size_t n)
{
	int outfd;

	if (rmtree_at(it->dirfd, "out.tmp") < 0 || mkdirat(it->dirfd, "out.tmp", 0755) < 0)
		goto fail;
	outfd = openat(it->dirfd, "out.tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (outfd < 0)
		goto fail;
	for (size_t k = 0; k < n; k++) {
		if (stage_successor(it, outfd, k, &succ[k]) < 0) {
			close(outfd);
			goto fail;
		}
	}
	close(outfd);
	if (renameat(it->dirfd, "out.tmp", it->dirfd, "out") < 0)
		goto fail;
	failpoint("after-commit");
	return item_deliver(sd, it);
fail:
	log_warn("handoff %s", it->path);
	return -1;
}

bool
item_committed(const struct item *it)
{
	struct stat st;

	return fstatat(it->dirfd, "out", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int
deliver_one(struct item *it, int outfd, const char *k)
{
	char path[PATH_MAX + 8], *dest;
	int destfd, r;

	snprintf(path, sizeof(path), "%s/dest", k);
	if ((dest = file_read_at(outfd, path, PATH_MAX, NULL)) == NULL) {
		log_warn("%s/out/%s", it->path, path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/new", dest);
	destfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (destfd < 0) {
		log_warn("successor stage %s", path);
		free(dest);
		return -1;
	}
	r = renameat2(outfd, k, destfd, it->id, RENAME_NOREPLACE);
	if (r < 0 && (errno == EEXIST || errno == ENOTEMPTY)) {
		log_warnx("%s/%s already exists; dropping the duplicate handoff", path, it->id);
		r = rmtree_at(outfd, k);
	} else if (r < 0) {
		log_warn("deliver %s/out/%s to %s", it->path, k, path);
	}
	close(destfd);
	free(dest);
	return r;
}

int
item_deliver(struct stage_dir *sd, struct item *it)
{
	failpoint("before-deliver");
	DIR *d;
	struct dirent *de;
	int fd, r = 0;

	fd = openat(it->dirfd, "out", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("%s/out", it->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (deliver_one(it, dirfd(d), de->d_name) < 0)
			r = -1;
	}
	closedir(d);
	if (r < 0)
		return -1;
	return item_finish(sd, it);
}

int
item_finish(struct stage_dir *sd, struct item *it)
{
	char trash[NAME_MAX + 1];

	static unsigned seq;

	snprintf(trash, sizeof(trash), "%s.done.%d.%u", it->id, (int)getpid(), seq++);
	if (renameat(sd->curfd, it->id, sd->tmpfd, trash) < 0) {
		log_warn("finish %s", it->path);
		return -1;
	}
	if (rmtree_at(sd->tmpfd, trash) < 0)
		log_warn("remove %s/tmp/%s", sd->path, trash);
	return 0;
}
