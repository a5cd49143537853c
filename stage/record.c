/*
 * record.c - the usage record: one JSON line per finished step in
 * <spool>/state/records/YYYYMMDD.json (UTC date), like the ServiceManager's
 * records/: when, which stage, whose item, which file, the outcome and how
 * many milliseconds it took. For operators' reports and `jq`; nothing in
 * tmcwatch reads it back, so a failed write is logged and forgotten. One
 * write(2) per line on an O_APPEND descriptor, reopened when the date turns.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "stage.h"

static int record_fd = -1;
static char record_day[16];

static int
record_open(const struct spool *sp, const char *day)
{
	char name[64];

	if (record_fd >= 0 && strcmp(day, record_day) == 0)
		return record_fd;
	if (record_fd >= 0)
		close(record_fd);
	mkdirat(sp->fd, "state/records", 0755);
	snprintf(name, sizeof(name), "state/records/%s.json", day);
	record_fd = openat(sp->fd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	snprintf(record_day, sizeof(record_day), "%s", record_fd >= 0 ? day : "");
	if (record_fd < 0)
		log_warn("%s/%s", sp->path, name);
	return record_fd;
}

static void
record_str(struct strbuf *sb, const char *key, const char *val)
{
	sb_printf(sb, ",\"%s\":", key);
	json_quote(sb, val ? val : "", false);
}

void
record_step(const struct stage_ctx *ctx, const char *stage, const char *outcome, long long ms)
{
	struct strbuf sb = {0};
	char when[32], day[16];
	time_t now = time(NULL);
	struct tm tm;
	int fd;

	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((fd = record_open(ctx->spool, day)) < 0)
		return;
	sb_printf(&sb, "{\"time\":\"%s\"", when);
	record_str(&sb, "stage", stage);
	record_str(&sb, "origin", ticket_get(ctx->ticket, "origin"));
	record_str(&sb, "item", ticket_get(ctx->ticket, "id"));
	record_str(&sb, "file", ticket_get(ctx->ticket, "rel"));
	record_str(&sb, "outcome", outcome);
	sb_printf(&sb, ",\"created\":%d,\"warnings\":%d,\"ms\":%lld", ctx->created, ctx->warnings, ms);
	record_str(&sb, "reason", ctx->reason);
	sb_adds(&sb, "}\n");
	if (write_all(fd, sb.buf, sb.len) < 0)
		log_warn("%s/state/records/%s.json", ctx->spool->path, day);
	sb_free(&sb);
}
