/*
 * log.c - one logging vocabulary for every tmcwatch program.
 *
 * A line is "2026-11-22T10:00:00.123Z tmc-image[123] tpl/01-Preview: text",
 * written with one write(2) to stderr (journald under systemd) and, when a
 * log file is configured, to that file opened O_APPEND, so concurrent
 * programs never interleave within a line. log_open_file() is called again on
 * SIGHUP so logrotate's rename+HUP loses nothing. errno is preserved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

const char *log_progname = "tmcwatch";
static int log_debug_on;
static int log_fd = -1;
static char log_stage[160];

void
log_init(const char *progname, int debug)
{
	const char *slash = strrchr(progname, '/');

	log_progname = slash ? slash + 1 : progname;
	log_debug_on = debug || getenv("TMC_DEBUG") != NULL;
}

void
log_set_stage(const char *stage)
{
	snprintf(log_stage, sizeof(log_stage), "%s", stage ? stage : "");
}

int
log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0) {
		log_warn("open log file %s", path);
		return -1;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	return 0;
}

/* Append to line[*n..cap); output is cut, never overrun, and one byte is
 * always left for the newline. */
static void
line_vadd(char *line, size_t cap, size_t *n, const char *fmt, va_list ap)
{
	int r = vsnprintf(line + *n, cap - 1 - *n, fmt, ap);

	if (r > 0)
		*n += (size_t)r < cap - 1 - *n ? (size_t)r : cap - 2 - *n;
}

static void
line_add(char *line, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_vadd(line, cap, n, fmt, ap);
	va_end(ap);
}

static void
log_vline(const char *level, const char *fmt, va_list ap, const char *errstr)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	line_add(line, sizeof(line), &n, ".%03ldZ %s[%d] %s%s%s", ts.tv_nsec / 1000000,
		 log_progname, (int)getpid(), log_stage, log_stage[0] ? ": " : "", level);
	line_vadd(line, sizeof(line), &n, fmt, ap);
	if (errstr)
		line_add(line, sizeof(line), &n, ": %s", errstr);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to say it */
	}
	if (log_fd >= 0 && write(log_fd, line, n) < 0) {
		/* stderr already has it */
	}
}

#define LOG_BODY(level, errstr)                                                            \
	do {                                                                               \
		int saved = errno;                                                         \
		va_list ap;                                                                \
		va_start(ap, fmt);                                                         \
		log_vline(level, fmt, ap, errstr);                                         \
		va_end(ap);                                                                \
		errno = saved;                                                             \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY("warning: ", e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning: ", NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY("", NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_debug_on)
		return;
	LOG_BODY("debug: ", NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY("fatal: ", e);
	exit(70); /* EX_SOFTWARE */
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal: ", NULL);
	exit(70);
}
