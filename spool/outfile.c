/*
 * outfile.c - files written for users (thumbnails, copies).
 *
 * A consumer must never see a partial file: every output is written under a
 * temporary dot-name in its target folder (same file system, and ignored by
 * watchers as a temporary name) and renamed into place. Redoing a step
 * after a crash writes the same bytes to the same name.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char outfile_tag_id[ITEM_ID_MAX];
static int outfile_item_fd = -1;         /* the item's folder: its temps are listed there */
static unsigned long long outfile_bytes; /* committed so far, for the usage record */

unsigned long long
outfile_written(void)
{
	return outfile_bytes;
}

void
outfile_tag(const char *tag)
{
	snprintf(outfile_tag_id, sizeof(outfile_tag_id), "%s", tag ? tag : "");
}

void
outfile_tag_item(const char *tag, int itemdirfd)
{
	outfile_tag(tag);
	outfile_item_fd = itemdirfd;
}

/* Every temp is listed in the item ("temps") before it is made, so that an
 * item that ends in err/ after a worker died mid-write can take its temps
 * out of the user's folders (outfile_sweep_temps). A redo reuses the name,
 * so a line twice is harmless. */
static void
outfile_note(const char *dir, const char *tmp)
{
	char line[PATH_MAX + 2];
	int fd, n;

	if (outfile_item_fd < 0 || !outfile_tag_id[0])
		return;
	n = snprintf(line, sizeof(line), "%s%s%s\n", dir ? dir : "", dir ? "/" : "", tmp);
	if (n < 0 || (size_t)n >= sizeof(line) || line[0] != '/')
		return;
	fd = openat(outfile_item_fd, "temps",
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write_all(fd, line, (size_t)n) < 0)
		log_warn("list the temporary %s in the item", tmp);
	if (fd >= 0)
		close(fd);
}

void
outfile_sweep_temps(int itemdirfd, const char *id, const char *where)
{
	char suffix[ITEM_ID_MAX + 16], *buf, *line, *save = NULL;
	size_t len, slen;

	if ((buf = file_read_at(itemdirfd, "temps", 1 << 20, &len)) == NULL)
		return;
	slen = (size_t)snprintf(suffix, sizeof(suffix), ".tmcwatch-%s", id);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *base = strrchr(line, '/');
		size_t blen = base ? strlen(base + 1) : 0;

		/* only a name this item's writer made: /dir/.<name>.tmcwatch-<id> */
		if (base == NULL || base[1] != '.' || blen <= slen ||
		    strcmp(base + 1 + blen - slen, suffix) != 0)
			continue;
		if (unlink(line) == 0)
			log_info("%s: removed %s, a temporary its worker left", where, line);
		else if (errno != ENOENT)
			log_warn("%s: remove the temporary %s", where, line);
	}
	free(buf);
}

/* With a tag (the item id, set by the stage skeleton) the temp name is the
 * same when a step is redone after a crash, so the redo overwrites and
 * renames the orphan instead of leaving it in the user's folder; two items
 * never share a tag, so they never share a temp file. */
static void
temp_name(char *buf, size_t len, const char *final)
{
	static unsigned n;
	const char *slash = strrchr(final, '/');
	int dirlen = slash ? (int)(slash - final + 1) : 0;
	int r;

	if (outfile_tag_id[0])
		r = snprintf(buf, len, "%.*s.%s.tmcwatch-%s", dirlen, final,
			     slash ? slash + 1 : final, outfile_tag_id);
	else
		r = snprintf(buf, len, "%.*s.%s.tmcwatch-%d-%u", dirlen, final,
			     slash ? slash + 1 : final, (int)getpid(), n++);
	if (r < 0 || (size_t)r >= len)
		buf[0] = '\0';
}

void
outfile_temp(char *buf, size_t len, const char *final)
{
	temp_name(buf, len, final);
	if (buf[0] && final[0] == '/')
		outfile_note(NULL, buf);
}

/* Is line (a listed temp) in the folder dir (by identity: the listing may
 * name it by its real path, final by a symbolic link) with the name base? */
static bool
same_temp(const char *line, const struct stat *dir, const char *base)
{
	const char *slash = strrchr(line, '/');
	char d[PATH_MAX];
	struct stat st;

	if (slash == NULL || strcmp(slash + 1, base) != 0 ||
	    snprintf(d, sizeof(d), "%.*s", (int)(slash - line), line) >= (int)sizeof(d))
		return false;
	return stat(d[0] ? d : "/", &st) == 0 && st.st_dev == dir->st_dev &&
	       st.st_ino == dir->st_ino;
}

/* The item lists a temp before it is made (outfile_note): finding final's
 * temp there means an earlier attempt at this item got as far as writing
 * final, and may have renamed it into place before it died or failed. */
bool
outfile_begun(const char *final)
{
	char tmp[PATH_MAX], d[PATH_MAX], *buf, *line, *save = NULL;
	const char *slash = strrchr(final, '/');
	bool found = false;
	struct stat dir;

	if (outfile_item_fd < 0 || !outfile_tag_id[0] || final[0] != '/')
		return false;
	temp_name(tmp, sizeof(tmp), final);
	snprintf(d, sizeof(d), "%.*s", (int)(slash - final), final);
	if (tmp[0] == '\0' || stat(d[0] ? d : "/", &dir) < 0 ||
	    (buf = file_read_at(outfile_item_fd, "temps", 1 << 20, NULL)) == NULL)
		return false;
	for (line = strtok_r(buf, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save))
		found = same_temp(line, &dir, strrchr(tmp, '/') + 1);
	free(buf);
	return found;
}

static int
fsync_parent(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	return fsync_dir_at(AT_FDCWD, dirname(buf));
}

int
outfile_commit(const char *tmp, const char *final, bool durable)
{
	struct stat st;

	if (durable) {
		int fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0 || fsync(fd) < 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	if (stat(tmp, &st) < 0 || rename(tmp, final) < 0)
		return -1;
	failpoint("outfile-committed"); /* tests: die with the output in place */
	outfile_bytes += (unsigned long long)st.st_size;
	return durable ? fsync_parent(final) : 0;
}

int
outfile_copy(int srcfd, const char *final, bool durable, char *reason, size_t rlen)
{
	char tmp[PATH_MAX];
	struct stat st;
	off_t off = 0;
	int fd;

	outfile_temp(tmp, sizeof(tmp), final);
	if (tmp[0] == '\0' || fstat(srcfd, &st) < 0) {
		snprintf(reason, rlen, "%s: %s", final, strerror(tmp[0] ? errno : ENAMETOOLONG));
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(reason, rlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < st.st_size) {
		ssize_t n = sendfile(fd, srcfd, &off, (size_t)(st.st_size - off));

		if (n <= 0) {
			snprintf(reason, rlen, "copy to %s: %s", tmp,
				 n < 0 ? strerror(errno) : "source shrank");
			goto fail;
		}
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(reason, rlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (outfile_commit(tmp, final, durable) < 0) {
		snprintf(reason, rlen, "%s: %s", final, strerror(errno));
		goto fail;
	}
	return 0;
fail : {
	int e = errno; /* the caller tells a machine fault by it */

	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
}
	return -1;
}

/* Write buf to name in the open folder dirfd through outfile_temp()'s name
 * (the same one when the item's step is redone: a temp a killed worker
 * left is truncated, rewritten and renamed, never left behind). The
 * failpoints outfile-created, outfile-written and outfile-synced (tests,
 * TMC_FAILPOINT) die with the temp in place. */
int
outfile_publish_at(int dirfd, const char *name, const void *buf, size_t len, bool durable)
{
	char tmp[NAME_MAX + 1];
	int fd, saved;

	outfile_temp(tmp, sizeof(tmp), name);
	if (tmp[0] == '\0') {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (name[0] != '/') {
		char proc[64], dir[PATH_MAX];
		ssize_t n;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
		if ((n = readlink(proc, dir, sizeof(dir) - 1)) > 0) {
			dir[n] = '\0';
			outfile_note(dir, tmp);
		}
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	failpoint("outfile-created");
	if (write_all(fd, buf, len) < 0)
		goto fail;
	failpoint("outfile-written");
	if (durable && fsync(fd) < 0)
		goto fail;
	failpoint("outfile-synced");
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	failpoint("outfile-committed");
	outfile_bytes += len;
	return durable ? fsync(dirfd) : 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}
