/*
 * result.c - one line per finished step, for whoever made the item.
 *
 * Items made for a job ("origin=job:<seq>") report to proc/<seq>.log, items
 * made by a watch ("origin=watch:<name>") to state/<name>.log, items of a
 * remote unit on a worker host ("origin=remote:<key>", tmc-gworker) to
 * remote/<key>.log, which tmc-gworker reads back into its reply. One write(2)
 * of one line on an O_APPEND descriptor, so concurrent workers never
 * interleave. A step redone after a crash before its commit writes its line
 * again; readers key lines by (item id, step index) and keep the last.
 *
 *   <id>\t<step idx>\t<step name>\t<created>\t<warnings>\t<rel>\t<reason>\t<outcome>\n
 *
 * The outcome is last so that a reader of 0.1's seven fields still finds
 * every field where it was (0.1 read the reason as the rest of the line).
 * Before it, "created 0, warnings 1" was both a permanent failure and a
 * success with one warning and nothing written, and readers had to look in
 * err/ to tell.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

/* The last log used stays open: a job's items come in runs. A job moved
 * to done/ unlinks nothing here (proc/<seq>.log is the job's own). */
static int
result_fd(const struct spool *sp, const char *name)
{
	static char open_name[300];
	static int fd = -1;

	if (fd >= 0 && strcmp(open_name, name) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	fd = openat(sp->fd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	snprintf(open_name, sizeof(open_name), "%s", fd >= 0 ? name : "");
	return fd;
}

static void
add_field(struct strbuf *sb, const char *s)
{
	for (; s && *s; s++)
		sb_addc(sb, (*s == '\t' || *s == '\n') ? ' ' : *s);
}

const char *
result_outcome_name(enum result_outcome o)
{
	static const char *const names[] = {
		[RO_UNKNOWN] = "",      [RO_OK] = "ok",           [RO_WARNING] = "warning",
		[RO_FAILED] = "failed", [RO_SKIPPED] = "skipped",
	};

	return (unsigned)o < sizeof(names) / sizeof(*names) ? names[o] : "";
}

int
result_append(const struct spool *sp, const struct ticket *t, const char *step_name, int step_idx,
	      int created, int warnings, enum result_outcome outcome, const char *reason)
{
	const char *origin = ticket_get(t, "origin");
	struct strbuf sb = {0};
	char name[300];
	int fd, r;

	if (origin == NULL)
		return 0;
	if (strncmp(origin, "job:", 4) == 0 && id_valid(origin + 4))
		snprintf(name, sizeof(name), "proc/%s.log", origin + 4);
	else if (strncmp(origin, "watch:", 6) == 0 && id_valid(origin + 6))
		snprintf(name, sizeof(name), "state/%s.log", origin + 6);
	else if (strncmp(origin, "remote:", 7) == 0 && id_valid(origin + 7))
		snprintf(name, sizeof(name), "remote/%s.log", origin + 7);
	else
		return 0;
	add_field(&sb, ticket_get(t, "id"));
	sb_printf(&sb, "\t%d\t", step_idx);
	add_field(&sb, step_name);
	sb_printf(&sb, "\t%d\t%d\t", created, warnings);
	add_field(&sb, ticket_get(t, "rel"));
	sb_addc(&sb, '\t');
	add_field(&sb, reason);
	sb_printf(&sb, "\t%s\n", result_outcome_name(outcome));
	fd = result_fd(sp, name);
	r = fd < 0 ? -1 : write_all(fd, sb.buf, sb.len);
	if (r < 0)
		log_warn("%s/%s", sp->path, name);
	sb_free(&sb);
	return r;
}
