/*
 * fault.c - faults of the machine that a program is living through.
 *
 * A full disk, a read-only or failing file system, exhausted descriptors or
 * memory, or the inotify watch limit are never an item's fault: the item is
 * retried and flows again when the fault clears. Meanwhile an operator must
 * see why nothing moves, so each program keeps the faults it currently sees
 * in run/faults/<program>.<pid>, one "kind since_s cause" line each, and
 * holds that file flocked for its life: a file whose lock can be taken is a
 * dead program's and is ignored (and removed) by readers, never trusted by
 * pid. Writing the file may itself fail (the disk is full, it is read-only):
 * then the log line is all there is, which is why status also derives
 * "full" and "read-only" from statvfs rather than from these files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static const char *const fault_names[FAULT_NKINDS] = {
	[FAULT_SPACE] = "disk-full",     [FAULT_INODES] = "inodes-full",
	[FAULT_READONLY] = "read-only",  [FAULT_IO] = "io-error",
	[FAULT_FDS] = "out-of-fds",      [FAULT_MEMORY] = "out-of-memory",
	[FAULT_WATCHES] = "watch-limit",
};

/* The file's fixed size: every kind's line fits (7 * (256 + 48) bytes). */
#define FAULT_FILE_SIZE 4096
static const char fault_pad[FAULT_FILE_SIZE] = {[0 ... FAULT_FILE_SIZE - 1] = '\n'};

static struct {
	int fd;                      /* run/faults/<program>.<pid>, flocked; -1 before init */
	int64_t since[FAULT_NKINDS]; /* 0: not in force */
	char cause[FAULT_NKINDS][FAULT_CAUSE_MAX];
} fs = {.fd = -1};

const char *
fault_name(enum fault_kind k)
{
	return k < FAULT_NKINDS ? fault_names[k] : "?";
}

bool
errno_is_machine_fault(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case EROFS:
	case EMFILE:
	case ENFILE:
	case ENOMEM: return true;
	default: return false;
	}
}

enum fault_kind
fault_kind_of(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT: return FAULT_SPACE;
	case EROFS: return FAULT_READONLY;
	case EMFILE:
	case ENFILE: return FAULT_FDS;
	case ENOMEM: return FAULT_MEMORY;
	default: return FAULT_IO;
	}
}

int
fault_init(int spoolfd, const char *program)
{
	char name[96];

	snprintf(name, sizeof(name), "run/faults/%s.%ld", program, (long)getpid());
	if (fs.fd >= 0)
		close(fs.fd);
	if (mkdirat(spoolfd, "run/faults", 0755) < 0 && errno != EEXIST)
		log_warn("run/faults");
	fs.fd = openat(spoolfd, name, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fs.fd < 0 || flock(fs.fd, LOCK_EX | LOCK_NB) < 0) {
		log_warn("%s", name);
		if (fs.fd >= 0)
			close(fs.fd);
		fs.fd = -1;
		return -1;
	}
	/* the blocks a full disk would refuse later, taken now */
	if (posix_fallocate(fs.fd, 0, FAULT_FILE_SIZE) != 0 ||
	    pwrite(fs.fd, fault_pad, FAULT_FILE_SIZE, 0) != FAULT_FILE_SIZE)
		log_warn("%s: cannot reserve its space", name);
	return 0;
}

/* Rewrite the whole file in place in the blocks fault_init reserved (no
 * new inode, no new block: the disk may be full), the rest of them blank
 * lines, which readers skip. */
static void
fault_write(void)
{
	char buf[FAULT_FILE_SIZE];
	size_t len = 0;

	if (fs.fd < 0)
		return;
	for (int k = 0; k < FAULT_NKINDS; k++)
		if (fs.since[k])
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %lld %s\n",
						fault_names[k], (long long)fs.since[k],
						fs.cause[k]);
	memset(buf + len, '\n', sizeof(buf) - len);
	if (pwrite(fs.fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		log_warn("run/faults: cannot record the fault state");
}

void
fault_note(enum fault_kind k, const char *fmt, ...)
{
	va_list ap;
	char cause[FAULT_CAUSE_MAX];
	int saved = errno;

	if (k >= FAULT_NKINDS)
		return;
	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	for (char *p = cause; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (!fs.since[k]) {
		fs.since[k] = now_s_real();
		log_warnx("%s: %s (waiting for it to clear; items are retried)", fault_names[k],
			  cause);
	}
	if (strcmp(fs.cause[k], cause) != 0) {
		snprintf(fs.cause[k], sizeof(fs.cause[k]), "%s", cause);
		fault_write();
	}
	errno = saved;
}

void
fault_note_errno(int err, const char *what)
{
	fault_note(fault_kind_of(err), "%s: %s", what, strerror(err));
}

void
fault_clear(enum fault_kind k)
{
	if (k >= FAULT_NKINDS || !fs.since[k])
		return;
	log_info("%s cleared after %llds (%s)", fault_names[k],
		 (long long)(now_s_real() - fs.since[k]), fs.cause[k]);
	fs.since[k] = 0;
	fs.cause[k][0] = '\0';
	fault_write();
}

void
fault_clear_all(void)
{
	for (int k = 0; k < FAULT_NKINDS; k++)
		if (k != FAULT_WATCHES)
			fault_clear((enum fault_kind)k);
}

bool
fault_active(enum fault_kind k)
{
	return k < FAULT_NKINDS && fs.since[k] != 0;
}

static void
faults_read_file(int dfd, const char *name, struct fault_rec **v, size_t *n, size_t *cap)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[FAULT_NKINDS * (FAULT_CAUSE_MAX + 48)], *line, *save = NULL;
	const char *dot = strrchr(name, '.');
	ssize_t len;

	if (fd < 0)
		return;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) { /* nobody holds it: a dead program's */
		unlinkat(dfd, name, 0);
		close(fd);
		return;
	}
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (len <= 0 || !dot)
		return;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct fault_rec r = {0};
		char kind[32];
		long long since;
		int off = 0;

		if (sscanf(line, "%31s %lld %n", kind, &since, &off) < 2 || off == 0)
			continue;
		r.kind = FAULT_NKINDS;
		for (int k = 0; k < FAULT_NKINDS; k++)
			if (strcmp(kind, fault_names[k]) == 0)
				r.kind = (enum fault_kind)k;
		if (r.kind == FAULT_NKINDS)
			continue;
		snprintf(r.program, sizeof(r.program), "%.*s", (int)(dot - name), name);
		r.pid = (pid_t)atol(dot + 1);
		r.since = since;
		snprintf(r.cause, sizeof(r.cause), "%s", line + off);
		if (*n == *cap)
			*v = xreallocarray(*v, (*cap = *cap ? 2 * *cap : 8), sizeof(**v));
		(*v)[(*n)++] = r;
	}
}

int
faults_read(int spoolfd, struct fault_rec **v, size_t *n)
{
	int dfd = openat(spoolfd, "run/faults", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t cap = 0;
	DIR *d;
	struct dirent *e;

	*v = NULL;
	*n = 0;
	if (dfd < 0)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			faults_read_file(dirfd(d), e->d_name, v, n, &cap);
	closedir(d);
	return 0;
}
