/*
 * stepcb.c - tmc-notify's side of per-step callbacks (TMC's step
 * "callback" actions, queued by the stage that saved the output:
 * stage/stepcb.c). The outbox item's ticket says kind=get (a GET of url)
 * or kind=file (cmd written into target's folder); without kind it is a
 * job callback (deliver.c's POST).
 *
 * Owned here: what names a callback in the log, the delivered markers and
 * the file drop.
 *
 * Delivered markers, outbox/sent/<id>: an empty file made (durably) when a
 * step callback succeeded, before its item is removed. The stage that
 * queued it may publish the same id again if it crashed before its commit
 * and redid the step; a claimed item whose marker exists is dropped
 * unsent. So a step callback goes out once, except when tmc-notify itself
 * dies between the receiver's answer and the marker (then once more).
 * `tmcwatch sweep` removes markers after retention_days.
 *
 * File drop: the text is written to a temporary name in the target folder,
 * fsynced, then renamed with RENAME_NOREPLACE to the target's file name,
 * %datetime% replaced by "wd" + yymmddHHMMSS (local time, as TMC's PHP
 * date()) + a random 4-digit number 0001..1000, a new one on EEXIST; then
 * the folder is fsynced. Nothing is ever replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

#define DATETIME "%datetime%"
#define NAME_TRIES 1000

enum cb_kind
cb_kind(const struct ticket *t)
{
	const char *k = ticket_get(t, "kind");

	if (k == NULL || strcmp(k, "post") == 0)
		return CB_POST;
	return strcmp(k, "get") == 0 ? CB_GET : strcmp(k, "file") == 0 ? CB_FILE : CB_BAD;
}

/* "callback <url> for job <seq>" (job callbacks, as before), or TMC's
 * words for a step's: "callback curl=<url> for <origin> <item> step <name>"
 * and "callback file=<cmd> ...", cut and with control characters blanked
 * so that it stays one log line. */
void
cb_what(const struct ticket *t, const char *id, char *buf, size_t len)
{
	const char *item = ticket_get(t, "item") ?: id, *step = ticket_get(t, "step") ?: "?";
	const char *origin = ticket_get(t, "origin") ?: "-";

	switch (cb_kind(t)) {
	case CB_POST:
		snprintf(buf, len, "callback %s for job %s", ticket_get(t, "url") ?: "-",
			 ticket_get(t, "seq") ?: id);
		break;
	case CB_GET:
		snprintf(buf, len, "callback curl=%.600s for %s %s step %s",
			 ticket_get(t, "url") ?: "-", origin, item, step);
		break;
	case CB_FILE:
		snprintf(buf, len, "callback file=%.200s for %s %s step %s",
			 ticket_get(t, "cmd") ?: "", origin, item, step);
		break;
	default: snprintf(buf, len, "callback %s of unknown kind", id); break;
	}
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

bool
cb_sent(struct notify *n, const char *id)
{
	return faccessat(n->sentfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* After a success; a failure here only loses the protection against a
 * crashed stage's second copy, so it is logged and the item finished. */
void
cb_mark_sent(struct notify *n, const char *id)
{
	int fd = openat(n->sentfd, id, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0 || fsync(fd) < 0 || fsync(n->sentfd) < 0)
		log_warn("%s/sent/%s", n->sd.path, id);
	if (fd >= 0)
		close(fd);
}

/* The target's file name with %datetime% replaced (one random draw). */
static int
drop_name(const char *pattern, char *buf, size_t len)
{
	const char *d = strstr(pattern, DATETIME);
	char stamp[32];
	uint16_t r = 0;
	struct tm tm;
	time_t now = time(NULL);

	if (d == NULL || localtime_r(&now, &tm) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (getrandom(&r, sizeof(r), 0) < 0)
		r = (uint16_t)getpid();
	strftime(stamp, sizeof(stamp), "wd%y%m%d%H%M%S", &tm);
	if (snprintf(buf, len, "%.*s%s%04d%s", (int)(d - pattern), pattern, stamp, r % 1000 + 1,
		     d + strlen(DATETIME)) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
drop_rename(int dfd, const char *tmp, const char *pattern, char *name, size_t nlen)
{
	for (int i = 0; i < NAME_TRIES; i++) {
		if (drop_name(pattern, name, nlen) < 0)
			return -1;
		if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

int
cb_file_drop(const char *target, const char *cmd, char *path, size_t plen)
{
	const char *slash = strrchr(target, '/');
	char *dir, tmp[64], name[256];
	int dfd, fd = -1, saved;

	if (target[0] != '/' || slash == NULL) {
		errno = EINVAL;
		return -1;
	}
	dir = slash == target ? xstrdup("/") : xstrndup(target, (size_t)(slash - target));
	snprintf(path, plen, "%s", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), ".tmc-notify.%d.tmp", (int)getpid());
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) <
		    0 ||
	    write_all(fd, cmd, strlen(cmd)) < 0 || fsync(fd) < 0 ||
	    drop_rename(dfd, tmp, slash + 1, name, sizeof(name)) < 0 || fsync(dfd) < 0)
		goto fail;
	close(fd);
	close(dfd);
	snprintf(path, plen, "%.*s/%s", (int)(slash - target), target, name);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, tmp, 0);
	close(dfd);
	errno = saved;
	return -1;
}
