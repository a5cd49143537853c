/*
 * source.c - opening an item's original, the one way every stage does it.
 *
 * A ticket names the original three ways (tmcwatch-spool(5)): src, its
 * absolute path (for messages); src_root and src_rel, the trusted folder it
 * was found in (a watch folder, a site root) and the path beneath it; and
 * src_id, its identity when it was queued. stage_open_source() opens
 * src_rel beneath src_root with no symbolic link in any component
 * (open_beneath), so a link planted in a site root - or a folder swapped
 * for one after the item was queued - can never make a stage read a file
 * outside; then it checks that what it opened is a regular file, is the
 * file that was queued (device, inode, size, mtime), and passes the
 * hard-link policy. A ticket written before these keys existed (an item
 * left in a spool across an upgrade) is opened beneath its site's root
 * when src lies there, else with O_NOFOLLOW as before; only the identity
 * check is then impossible.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"

void
stage_src_id(const struct stat *st, char *buf, size_t len)
{
	snprintf(buf, len, "%ju:%ju:%jd:%jd", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
		 (intmax_t)st->st_size,
		 (intmax_t)st->st_mtim.tv_sec * 1000000000 + (intmax_t)st->st_mtim.tv_nsec);
}

void
stage_ticket_source(struct ticket *t, const char *root, const char *rel, const struct stat *st)
{
	char id[128];

	ticket_set(t, "src_root", root);
	ticket_set(t, "src_rel", rel);
	if (st) {
		stage_src_id(st, id, sizeof(id));
		ticket_set(t, "src_id", id);
	} else {
		ticket_unset(t, "src_id");
	}
}

/* The root and the path beneath it: the ticket's, or for an old ticket the
 * site root when src lies beneath it. false: neither (open src as is). */
static bool
source_where(const struct stage_ctx *ctx, const char *src, const char **root, const char **rel)
{
	size_t n;

	*root = ticket_get(ctx->ticket, "src_root");
	*rel = ticket_get(ctx->ticket, "src_rel");
	if (*root && **root && *rel)
		return true;
	if (ctx->site == NULL || ctx->site->root == NULL || *ctx->site->root == '\0')
		return false;
	*root = ctx->site->root;
	n = strlen(*root);
	while (n > 1 && (*root)[n - 1] == '/')
		n--;
	if (strncmp(src, *root, n) != 0 || src[n] != '/')
		return false;
	*rel = src + n;
	return true;
}

static int
source_refused(struct stage_ctx *ctx, const char *src, const char *root, int err)
{
	if (err == ELOOP)
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "%s: a symbolic link on its path beneath %s is not followed, refused", src,
			 root ? root : "/");
	else if (err == EXDEV)
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: leads out of %s, refused", src,
			 root);
	else
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", src, strerror(err));
	if (errno_is_machine_fault(err))
		fault_note_errno(err, src);
	errno = err;
	return -1;
}

/* Is it the file that was queued? 0 yes (or nothing recorded), -1 not. */
static int
source_same(struct stage_ctx *ctx, const char *src, const struct stat *st)
{
	const char *want = ticket_get(ctx->ticket, "src_id");
	char now[128];

	if (want == NULL || *want == '\0')
		return 0;
	stage_src_id(st, now, sizeof(now));
	if (strcmp(want, now) == 0)
		return 0;
	snprintf(ctx->reason, sizeof(ctx->reason),
		 "%s: changed since it was queued (device:inode:size:mtime was %s, now %s)", src,
		 want, now);
	errno = ESTALE;
	return -1;
}

static int
source_links(struct stage_ctx *ctx, const char *src, int rootfd, const char *rel,
	     const struct stat *st)
{
	struct stat dir;

	if (st->st_nlink <= 1 || rootfd < 0)
		return 0;
	if (parent_stat_beneath(rootfd, rel, &dir) < 0)
		return source_refused(ctx, src, NULL, errno);
	if (!hardlink_refused(st, &dir))
		return 0;
	snprintf(ctx->reason, sizeof(ctx->reason),
		 "%s: a hard link (%ju links) owned by uid %u in a folder owned by uid %u, refused",
		 src, (uintmax_t)st->st_nlink, (unsigned)st->st_uid, (unsigned)dir.st_uid);
	errno = EPERM;
	return -1;
}

static int
source_check(struct stage_ctx *ctx, const char *src, int fd, int rootfd, const char *rel,
	     struct stat *st)
{
	if (fstat(fd, st) < 0)
		return source_refused(ctx, src, NULL, errno);
	if (!S_ISREG(st->st_mode)) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: not a regular file, refused", src);
		errno = EINVAL;
		return -1;
	}
	if (source_same(ctx, src, st) < 0 || source_links(ctx, src, rootfd, rel, st) < 0)
		return -1;
	/* opened O_NONBLOCK so that a fifo could not hang us; reads block */
	if (fcntl(fd, F_SETFL, 0) < 0)
		return source_refused(ctx, src, NULL, errno);
	return 0;
}

int
stage_open_source(struct stage_ctx *ctx, struct stat *st)
{
	const int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	const char *src = stage_source_path(ctx), *root = NULL, *rel = NULL;
	int rootfd = -1, fd, e;

	if (src == NULL || *src == '\0') {
		snprintf(ctx->reason, sizeof(ctx->reason), "ticket has no source path");
		errno = EINVAL;
		return -1;
	}
	if (!source_where(ctx, src, &root, &rel)) {
		fd = open(src, flags | O_NOFOLLOW);
	} else if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		return source_refused(ctx, src, NULL, errno);
	} else {
		fd = open_beneath(rootfd, rel, flags);
	}
	if (fd < 0) {
		e = errno;
		if (rootfd >= 0)
			close(rootfd);
		return source_refused(ctx, src, root, e);
	}
	if (source_check(ctx, src, fd, rootfd, rel, st) < 0) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (rootfd >= 0) {
		e = errno;
		close(rootfd);
		errno = e;
	}
	return fd;
}
