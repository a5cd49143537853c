/*
 * health.c - is the spool able to move items, and if not, why: the one
 * answer `tmcwatch status`, tmc-httpd's /healthz and /metrics share.
 *
 * Conditions, each with a kind, who sees it, a cause and since when:
 *   not-running   no tmcwatch holds run/tmcwatch.pid;
 *   disk-full, inodes-full, read-only   from statvfs of the spool's req/
 *                 (the one folder every program, tmc-httpd too, may write:
 *                 its hardened unit sees the rest of the spool read-only),
 *                 and a probe: a 1-byte unnamed O_TMPFILE there, which
 *                 leaves nothing behind even if we are killed, catches a
 *                 file system that fails writes (io-error) or turned
 *                 read-only underneath;
 *   keeps-dying   run/dying, the supervisor's children that keep dying;
 *   every fault a live program recorded in run/faults (fault.c).
 * statvfs knows no "since": a spool-wide condition takes the earliest since
 * of the same kind a program recorded, else 0 (unknown).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "spool.h"

static struct health_cond *
cond_add(struct spool_health *h, const char *kind, const char *who, int64_t since)
{
	struct health_cond *c;

	if (h->n == HEALTH_MAX)
		return NULL;
	c = &h->c[h->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->kind, sizeof(c->kind), "%s", kind);
	snprintf(c->who, sizeof(c->who), "%s", who);
	c->since = since;
	return c;
}

static bool
has_kind(const struct spool_health *h, const char *kind)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->c[i].kind, kind) == 0)
			return true;
	return false;
}

static void
statvfs_conds(struct spool_health *h, const struct spool *sp, const struct statvfs *v)
{
	unsigned long long avail = (unsigned long long)v->f_bavail * v->f_frsize;
	struct health_cond *c;

	if (v->f_flag & ST_RDONLY) {
		if ((c = cond_add(h, "read-only", "spool", 0)) != NULL)
			snprintf(c->cause, sizeof(c->cause), "%s is on a read-only file system",
				 sp->path);
	}
	if (avail < SPOOL_RESERVE_BYTES && (c = cond_add(h, "disk-full", "spool", 0)) != NULL)
		snprintf(c->cause, sizeof(c->cause), "%s: %llu KiB free of %llu KiB", sp->path,
			 avail / 1024, (unsigned long long)v->f_blocks * v->f_frsize / 1024);
	/* f_files 0: the file system has no inode limit (btrfs) */
	if (v->f_files > 0 && v->f_favail < SPOOL_RESERVE_INODES &&
	    (c = cond_add(h, "inodes-full", "spool", 0)) != NULL)
		snprintf(c->cause, sizeof(c->cause), "%s: %llu inodes free of %llu", sp->path,
			 (unsigned long long)v->f_favail, (unsigned long long)v->f_files);
}

/* A write that statvfs cannot foresee; permission and support errors say
 * nothing about the machine and are ignored. */
static void
write_probe(struct spool_health *h, const struct spool *sp, int reqfd)
{
	int fd = openat(reqfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600), err = 0;
	const char *kind;
	struct health_cond *c;

	if (fd < 0)
		err = errno;
	else if (write(fd, "x", 1) != 1)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (!errno_is_machine_fault(err) || err == ENOMEM || err == EMFILE || err == ENFILE)
		return;
	kind = fault_name(fault_kind_of(err));
	if (has_kind(h, kind) || (err == ENOSPC && has_kind(h, "inodes-full")))
		return;
	if ((c = cond_add(h, kind, "spool", 0)) != NULL)
		snprintf(c->cause, sizeof(c->cause), "%s/req: a test write fails: %s", sp->path,
			 strerror(err));
}

static void
spool_conds(struct spool_health *h, const struct spool *sp)
{
	int reqfd = openat(sp->fd, "req", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct statvfs v;
	struct health_cond *c;

	if (fstatvfs(reqfd >= 0 ? reqfd : sp->fd, &v) == 0)
		statvfs_conds(h, sp, &v);
	else if ((c = cond_add(h, "io-error", "spool", 0)) != NULL)
		snprintf(c->cause, sizeof(c->cause), "statvfs %s: %s", sp->path, strerror(errno));
	if (reqfd >= 0) {
		if (!has_kind(h, "read-only"))
			write_probe(h, sp, reqfd);
		close(reqfd);
	}
}

static void
dying_conds(struct spool_health *h, const struct spool *sp)
{
	struct dying_rec *v;
	struct health_cond *c;
	size_t n;

	if (dying_read(sp->fd, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if ((c = cond_add(h, "keeps-dying", v[i].label, v[i].since)) != NULL)
			snprintf(c->cause, sizeof(c->cause),
				 "%d deaths in a row within 10 s of "
				 "start; last: %s",
				 v[i].deaths, v[i].cause);
	free(v);
}

static void
fault_conds(struct spool_health *h, const struct spool *sp)
{
	struct fault_rec *v;
	struct health_cond *c;
	char who[64];
	size_t n, base = h->n;

	if (faults_read(sp->fd, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *kind = fault_name(v[i].kind);

		/* the spool-wide condition of the same kind takes its since */
		for (size_t j = 0; j < base; j++)
			if (strcmp(h->c[j].kind, kind) == 0 &&
			    (h->c[j].since == 0 || v[i].since < h->c[j].since))
				h->c[j].since = v[i].since;
		snprintf(who, sizeof(who), "%s[%d]", v[i].program, (int)v[i].pid);
		if ((c = cond_add(h, kind, who, v[i].since)) != NULL)
			snprintf(c->cause, sizeof(c->cause), "%s", v[i].cause);
	}
	free(v);
}

int
spool_health(const struct spool *sp, struct spool_health *h)
{
	struct health_cond *c;

	memset(h, 0, sizeof(*h));
	h->daemon_running = spool_daemon_running(sp->fd);
	if (!h->daemon_running && (c = cond_add(h, "not-running", "tmcwatch", 0)) != NULL)
		snprintf(c->cause, sizeof(c->cause), "no tmcwatch daemon holds %s/run/tmcwatch.pid",
			 sp->path);
	spool_conds(h, sp);
	if (h->daemon_running)
		dying_conds(h, sp);
	fault_conds(h, sp);
	return (int)h->n;
}
