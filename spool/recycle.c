/*
 * recycle.c - finished item folders kept for the next publish.
 *
 * On ext4 without a journal, allocating an inode walks past every inode of
 * its group freed in the last one to six minutes (the kernel's
 * recently_deleted, to keep a fresh inode from being reused before its
 * deletion is on disk). Under a steady flow every finished item freed a
 * folder and a ticket and every new one allocated two, and a profile of a
 * five-step flood put a third of the machine's time in that walk. So a
 * finished item whose folder holds only its ticket (and ticket.spare) is
 * not removed: it is renamed into <spool>/free/, at most RECYCLE_MAX of
 * them, and a publisher renames one from there into its stage's tmp/ and
 * rewrites the ticket in place. No inode is allocated or freed, and no
 * block either: the ticket is overwritten within its block, never
 * truncated to nothing first.
 *
 * free/ holds no item. Only publishers read it; a name there is taken by
 * one rename (ENOENT: another publisher was first); what it holds at any
 * time is a bounded amount of garbage, removed with the spool. A spool of
 * an older version has no free/ until tmcwatch run makes it: nothing is
 * recycled meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spool.h"

#define RECYCLE_MAX 256
#define RECYCLE_BATCH 64 /* names read from free/ at a time */

struct linux_dirent64 {
	ino64_t d_ino;
	off64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* The next record of a getdents64 buffer of n bytes after *off, "." and
 * ".." skipped, or NULL at its end. getdents64 on the open folder, not
 * fdopendir: no dup, no closedir per listing (glibc before 2.30 has no
 * getdents64 wrapper). */
static const struct linux_dirent64 *
next_name(const char *buf, long n, long *off)
{
	while (*off < n) {
		const struct linux_dirent64 *de = (const void *)(buf + *off);

		*off += de->d_reclen;
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return de;
	}
	return NULL;
}

/* Does the folder hold a ticket and nothing else but ticket.spare? */
static bool
only_tickets(int dirfd, bool *spare)
{
	char buf[1024] __attribute__((aligned(8))); /* records are 8-byte aligned */
	const struct linux_dirent64 *de;
	bool ticket = false;
	long n;

	*spare = false;
	if (lseek(dirfd, 0, SEEK_SET) < 0)
		return false;
	while ((n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; (de = next_name(buf, n, &off)) != NULL;) {
			if (strcmp(de->d_name, "ticket") == 0 && de->d_type == DT_REG)
				ticket = true;
			else if (strcmp(de->d_name, "ticket.spare") == 0 && de->d_type == DT_REG)
				*spare = true;
			else
				return false;
		}
	}
	return n == 0 && ticket;
}

bool
recycle_put(const struct stage_dir *sd, int parentfd, const char *name, int dirfd)
{
	static unsigned seq;
	char to[NAME_MAX + 1];
	struct stat st;
	bool spare;

	/* free/'s link count is 2 + its folders; a file system that does not
	 * count them (btrfs: 1) recycles nothing, so free/ stays bounded */
	if (sd->freefd < 0 || dirfd < 0 || fstat(sd->freefd, &st) < 0 || st.st_nlink < 2 ||
	    st.st_nlink >= RECYCLE_MAX + 2 || !only_tickets(dirfd, &spare))
		return false;
	if (spare && unlinkat(dirfd, "ticket.spare", 0) < 0 && errno != ENOENT)
		return false;
	/* a name left by an earlier process of this pid is not replaced */
	snprintf(to, sizeof(to), "%d.%u", (int)getpid(), seq++);
	return renameat2(parentfd, name, sd->freefd, to, RENAME_NOREPLACE) == 0;
}

/* Names read from free/, taken from the end. */
static struct {
	int fd;
	char name[RECYCLE_BATCH][NAME_MAX + 1];
	int n;
} cache = {.fd = -1};

static void
cache_fill(int freefd)
{
	char buf[4096] __attribute__((aligned(8)));
	const struct linux_dirent64 *de;
	long n;

	cache.fd = freefd;
	cache.n = 0;
	if (lseek(freefd, 0, SEEK_SET) < 0)
		return;
	while (cache.n < RECYCLE_BATCH &&
	       (n = syscall(SYS_getdents64, freefd, buf, sizeof(buf))) > 0) {
		for (long off = 0;
		     cache.n < RECYCLE_BATCH && (de = next_name(buf, n, &off)) != NULL;)
			if (de->d_type == DT_DIR)
				snprintf(cache.name[cache.n++], NAME_MAX + 1, "%s", de->d_name);
	}
}

bool
recycle_take(const struct stage_dir *sd, const char *tmpname)
{
	struct stat st;

	if (sd->freefd < 0)
		return false;
	if (cache.fd != sd->freefd) {
		cache.fd = sd->freefd;
		cache.n = 0;
	}
	for (;;) {
		if (cache.n == 0) {
			/* its link count says whether free/ holds a folder:
			 * an empty one costs a publish one fstat, no listing */
			if (fstat(sd->freefd, &st) < 0 || st.st_nlink <= 2)
				return false;
			cache_fill(sd->freefd);
			if (cache.n == 0)
				return false;
		}
		if (renameat(sd->freefd, cache.name[--cache.n], sd->tmpfd, tmpname) == 0)
			return true;
		if (errno != ENOENT)
			return false; /* a fault: the publisher makes a new folder */
	}
}
