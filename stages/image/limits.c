/*
 * limits.c - the memory tmc-image promises to stay within, and the disk
 * folder where pixels go beyond it.
 *
 * GraphicsMagick keeps an image's pixel cache on the heap (MemoryResource),
 * else in a memory-mapped file (MapResource), else in a file read and
 * written with pread/pwrite (DiskResource). Mapped pages count toward the
 * process's resident set once touched, so a map limit is no bound on memory:
 * measured, imagick_mem [300, 600] and TMC's "map = 2 x memory" let a 64 MP
 * PNG take 533 MB. Hence the heap gets the whole imagick_mem and mapping is
 * off (Map 0): what does not fit the heap goes to disk files, whose pages
 * sit in the page cache, reclaimable, not in the process.
 *
 * The disk files go to <spool>/run/magick/tmc-image.<pid>/ (MAGICK_TMPDIR
 * unless the environment sets it): on the spool's disk, not on a /tmp that
 * may be a tmpfs in RAM. The folder is flocked for the process's life, so
 * a later tmc-image removes the files of one killed mid-item (never the
 * folder of a living one, which may not have locked it yet).
 *
 * The disk limit holds the largest image the pixel limit lets in, twice (an
 * image and a resize's intermediate): a disk limit reached is then the
 * data's fault under today's configuration, a permanent failure whose
 * reason names the limits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

static struct {
	long long mem[2]; /* bytes: normal, big */
	long long disk;   /* bytes */
	long long pixels;
	char dir[PATH_MAX]; /* our cache folder, "" when MAGICK_TMPDIR was given */
	int dirfd;          /* flocked for our life */
} lim = {.dirfd = -1};

/* A tmc-image.<pid> folder whose process lives: it may have made the
 * folder and not locked it yet (tmc-images of a stage start together), so
 * the lock alone would let a sibling remove it under its maker. */
static bool
owner_alive(const char *name)
{
	char *end;
	long pid = strtol(name + 10, &end, 10);

	return *end == '\0' && pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* Remove the cache folders of dead tmc-images: those whose lock we get. */
static void
cache_sweep(int parent)
{
	int fd = dup(parent), sub;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "tmc-image.", 10) != 0 || owner_alive(de->d_name))
			continue;
		sub = openat(parent, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		if (flock(sub, LOCK_EX | LOCK_NB) == 0 && rmtree_at(parent, de->d_name) < 0)
			log_warn("remove stale pixel cache %s", de->d_name);
		close(sub);
	}
	closedir(d);
}

/* <spool>/run/magick/tmc-image.<pid>/, flocked; MAGICK_TMPDIR points there. */
static int
cache_dir_open(const char *spool_dir)
{
	char parent[PATH_MAX];
	int pfd;

	if (getenv("MAGICK_TMPDIR"))
		return 0; /* the operator chose (tmc-image(8)) */
	snprintf(parent, sizeof(parent), "%s/run/magick", spool_dir);
	if (snprintf(lim.dir, sizeof(lim.dir), "%s/tmc-image.%ld", parent, (long)getpid()) >=
	    (int)sizeof(lim.dir))
		return -1;
	if ((mkdir(parent, 0750) < 0 && errno != EEXIST) ||
	    (pfd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		log_warn("%s", parent);
		return -1;
	}
	cache_sweep(pfd);
	close(pfd);
	if ((mkdir(lim.dir, 0700) < 0 && errno != EEXIST) ||
	    (lim.dirfd = open(lim.dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    flock(lim.dirfd, LOCK_EX | LOCK_NB) < 0) {
		log_warn("%s", lim.dir);
		return -1;
	}
	return setenv("MAGICK_TMPDIR", lim.dir, 1);
}

int
image_limits_init(const struct conf *conf)
{
	long big_pixels = conf->big_pixels > 0 ? conf->big_pixels : 100000000L;

	lim.mem[0] = (long long)(conf->imagick_mem[0] > 0 ? conf->imagick_mem[0] : 512) << 20;
	lim.mem[1] = (long long)(conf->imagick_mem[1] > 0 ? conf->imagick_mem[1] : 2048) << 20;
	lim.pixels = IMAGE_MAX_PIXELS_FACTOR * (long long)big_pixels;
	lim.disk = 2 * lim.pixels * (long long)sizeof(PixelPacket);
	return cache_dir_open(conf->spool_dir);
}

/* After InitializeMagick: the limits that do not change per item. */
void
image_limits_start(void)
{
	SetMagickResourceLimit(ThreadsResource, 1);
	SetMagickResourceLimit(PixelsResource, lim.pixels);
	SetMagickResourceLimit(DiskResource, lim.disk);
	SetMagickResourceLimit(MapResource, 0); /* see the top of this file */
	image_limits_set(false);
}

long long
image_limits_pixels(void)
{
	return lim.pixels;
}

void
image_limits_set(bool big)
{
	SetMagickResourceLimit(MemoryResource, lim.mem[big ? 1 : 0]);
}

/* A reason from GraphicsMagick saying a memory or disk limit was reached
 * ("Disk space limit exceeded", "png_pixels array exceeds MemoryResource"):
 * name ours, the operator's knobs. */
void
image_limits_explain(bool big, char *reason, size_t rlen)
{
	size_t n = strlen(reason);

	if ((strstr(reason, "limit exceeded") == NULL &&
	     strstr(reason, "exceeds MemoryResource") == NULL) ||
	    n + 1 >= rlen)
		return;
	snprintf(reason + n, rlen - n,
		 "; the pixel cache may use %lld MiB of memory (imagick_mem, %s item) "
		 "and %lld MiB of disk (2 x 4 x big_pixels pixels)",
		 lim.mem[big ? 1 : 0] >> 20, big ? "big" : "ordinary", lim.disk >> 20);
}

void
image_limits_fini(void)
{
	if (lim.dirfd < 0)
		return;
	if (rmtree_at(AT_FDCWD, lim.dir) < 0)
		log_warn("remove %s", lim.dir);
	close(lim.dirfd);
	lim.dirfd = -1;
}
