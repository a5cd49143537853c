/*
 * record.c - the usage record: one JSON line per finished step (and per
 * callback attempt, stage "outbox") in <spool>/state/records/YYYYMMDD.json
 * (UTC date), like the ServiceManager's records/: when, which stage, whose
 * item, which file, which site, the outcome, how many outputs, bytes read
 * and written, and how many milliseconds it took. Operators read it with
 * `jq`; the supervisor follows it for the metrics and tmc-httpd reads its
 * last hour for the status page (records_read.c). A failed write is logged
 * and forgotten: the record is an account, not the protocol. One write(2)
 * per line on an O_APPEND descriptor, reopened when the date turns.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
	record_fd =
		openat(sp->fd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
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
record_write(const struct spool *sp, const struct record *r, const char *origin, const char *item,
	     const char *file, const char *reason)
{
	struct strbuf sb = {0};
	char when[32], day[16];
	time_t now = time(NULL);
	struct tm tm;
	int fd;

	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((fd = record_open(sp, day)) < 0)
		return;
	sb_printf(&sb, "{\"time\":\"%s\"", when);
	record_str(&sb, "stage", r->stage);
	record_str(&sb, "origin", origin);
	record_str(&sb, "item", item);
	record_str(&sb, "file", file);
	record_str(&sb, "site", r->site);
	record_str(&sb, "outcome", r->outcome);
	sb_printf(&sb,
		  ",\"created\":%d,\"warnings\":%d,\"ms\":%lld,\"bytes_in\":%lld,"
		  "\"bytes_out\":%lld",
		  r->created, r->warnings, r->ms, r->bytes_in, r->bytes_out);
	record_str(&sb, "reason", reason);
	sb_adds(&sb, "}\n");
	if (write_all(fd, sb.buf, sb.len) < 0)
		log_warn("%s/state/records/%s.json", sp->path, day);
	sb_free(&sb);
}

void
record_step(const struct stage_ctx *ctx, const char *stage, const char *outcome, long long ms)
{
	struct record r = {
		.created = ctx->created,
		.warnings = ctx->warnings,
		.ms = ms,
		.bytes_in = ctx->bytes_in,
		.bytes_out = ctx->bytes_out,
	};

	snprintf(r.stage, sizeof(r.stage), "%s", stage);
	snprintf(r.site, sizeof(r.site), "%s", ticket_get(ctx->ticket, "site") ?: "");
	snprintf(r.outcome, sizeof(r.outcome), "%s", outcome);
	record_write(ctx->spool, &r, ticket_get(ctx->ticket, "origin"),
		     ticket_get(ctx->ticket, "id"), ticket_get(ctx->ticket, "rel"), ctx->reason);
}

static void
field_copy(const struct json *doc, int obj, const char *key, char *buf, size_t len)
{
	int t = json_get(doc, obj, key);
	char *s = t >= 0 ? json_strdup(doc, t) : NULL;

	snprintf(buf, len, "%s", s ? s : "");
	free(s);
}

static long long
field_ll(const struct json *doc, int obj, const char *key)
{
	int t = json_get(doc, obj, key);
	long long v = 0;

	return t >= 0 && json_int(doc, t, &v) == 0 ? v : 0;
}

/* One line as record_write() writes it; fields a line lacks (records of
 * older versions have no site or bytes) are empty or 0. */
int
record_parse(const char *line, size_t len, struct record *r)
{
	char err[128], when[32];
	struct json doc;
	struct tm tm = {0};
	const char *end;

	memset(r, 0, sizeof(*r));
	if (json_parse(&doc, "record", line, len, err, sizeof(err)) < 0)
		return -1;
	if (doc.ntok < 1 || !json_is_object(&doc, 0)) {
		json_free(&doc);
		return -1;
	}
	field_copy(&doc, 0, "time", when, sizeof(when));
	field_copy(&doc, 0, "stage", r->stage, sizeof(r->stage));
	field_copy(&doc, 0, "site", r->site, sizeof(r->site));
	field_copy(&doc, 0, "outcome", r->outcome, sizeof(r->outcome));
	r->created = (int)field_ll(&doc, 0, "created");
	r->warnings = (int)field_ll(&doc, 0, "warnings");
	r->ms = field_ll(&doc, 0, "ms");
	r->bytes_in = field_ll(&doc, 0, "bytes_in");
	r->bytes_out = field_ll(&doc, 0, "bytes_out");
	json_free(&doc);
	end = strptime(when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end || r->stage[0] == '\0')
		return -1;
	r->time = (int64_t)timegm(&tm);
	return 0;
}
