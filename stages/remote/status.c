/*
 * status.c - run/remote/<pid>: what this tmc-remote did with each worker
 * host, for `tmcwatch status` and the metrics file. One line per host:
 *   host=<h> inflight=<0|1> done=<n> failed=<n> last_seen=<unix s> function=<f>
 * rewritten whole (temp file + rename) when a unit begins and ends, so a
 * reader sees the old or the new file (spool/remote_status.c). It stays
 * when the process ends, its counts still counted; `tmcwatch run` clears
 * run/remote/ when it starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote.h"

struct rhost {
	char host[REMOTE_HOST_MAX];
	char fn[256];
	int inflight;
	long long done, failed;
	long long last_seen;
};
static struct rhost *hosts;
static size_t nhosts;
static const struct spool *spool;

void
rstatus_init(const struct spool *sp)
{
	spool = sp;
	if (mkdirat(sp->fd, "run/remote", 0755) < 0 && errno != EEXIST)
		log_warn("%s/run/remote", sp->path);
}

static void
rstatus_write(void)
{
	struct strbuf sb = {0};
	char name[64], tmp[80];

	if (spool == NULL)
		return;
	for (size_t i = 0; i < nhosts; i++)
		sb_printf(&sb,
			  "host=%s inflight=%d done=%lld failed=%lld last_seen=%lld function=%s\n",
			  hosts[i].host, hosts[i].inflight, hosts[i].done, hosts[i].failed,
			  hosts[i].last_seen, hosts[i].fn);
	snprintf(name, sizeof(name), "run/remote/%d", (int)getpid());
	snprintf(tmp, sizeof(tmp), "run/remote/.%d.tmp", (int)getpid());
	int fd = openat(spool->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int bad = fd < 0;

	if (fd >= 0) {
		bad = write_all(fd, sb.buf ? sb.buf : "", sb.len) < 0;
		bad |= close(fd) < 0; /* closed on every path */
		bad = bad || renameat(spool->fd, tmp, spool->fd, name) < 0;
	}
	if (bad) {
		log_warn("%s/%s", spool->path, name);
		if (fd >= 0)
			unlinkat(spool->fd, tmp, 0); /* no temp left behind */
	}
	sb_free(&sb);
}

bool
remote_host_ok(const char *s, size_t n)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789._:-";

	if (n < 1 || n > 127)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(ok, s[i]) == NULL)
			return false;
	return true;
}

static struct rhost *
rhost(const char *host, const char *fn)
{
	const char *h = host && *host ? host : "unknown";

	for (size_t i = 0; i < nhosts; i++)
		if (strcmp(hosts[i].host, h) == 0) {
			snprintf(hosts[i].fn, sizeof(hosts[i].fn), "%s", fn);
			return &hosts[i];
		}
	hosts = xreallocarray(hosts, nhosts + 1, sizeof(*hosts));
	hosts[nhosts] = (struct rhost){0};
	snprintf(hosts[nhosts].host, sizeof(hosts[nhosts].host), "%s", h);
	snprintf(hosts[nhosts].fn, sizeof(hosts[nhosts].fn), "%s", fn);
	return &hosts[nhosts++];
}

void
rstatus_begin(const char *host, const char *fn)
{
	struct rhost *h = rhost(host, fn);

	h->inflight = 1;
	h->last_seen = now_s_real();
	rstatus_write();
}

static void
clear_inflight(void)
{
	for (size_t i = 0; i < nhosts; i++)
		hosts[i].inflight = 0;
}

void
rstatus_idle(void)
{
	clear_inflight();
	if (nhosts)
		rstatus_write();
}

void
rstatus_end(const char *host, const char *fn, bool ok)
{
	struct rhost *h = rhost(host, fn);

	clear_inflight();
	if (ok)
		h->done++;
	else
		h->failed++;
	h->last_seen = now_s_real();
	rstatus_write();
}

/* The counts stay for `tmcwatch status` (a new run clears run/remote/). */
void
rstatus_fini(void)
{
	rstatus_idle();
	free(hosts);
	hosts = NULL;
	nhosts = 0;
}
