/*
 * log.c - one logging vocabulary for every tmcwatch program.
 *
 * A line is "2026-11-22T10:00:00.123Z tmc-image[123] tpl/01-Preview: text",
 * written with one write(2) to stderr (journald under systemd) and, when a
 * log file is configured, to that file opened O_APPEND, so concurrent
 * programs never interleave within a line. log_open_file() is called again on
 * SIGHUP so logrotate's rename+HUP loses nothing. errno is preserved.
 *
 * When stderr is the journal (systemd sets JOURNAL_STREAM to the device and
 * inode of the stream it connected, and fstat(2) of fd 2 matches: the test
 * sd_journal_stream_fd(3) documents), each stderr line starts with its
 * syslog priority, "<3>" fatal, "<4>" warning, "<6>" info, "<7>" debug,
 * which journald strips and keeps as PRIORITY=, so `journalctl -p warning`
 * works. Never on a terminal, a pipe or in the log file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

const char *log_progname = "tmcwatch";
static int log_debug_on;
static int log_journal; /* stderr is the journal: prefix "<N>" */
static int log_fd = -1;
static char log_stage[160];

/* JOURNAL_STREAM="<dev>:<ino>" (decimal) names the stream systemd gave us;
 * a stderr redirected since then (a file, a terminal) does not match. */
static int
log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname, int debug)
{
	const char *slash = strrchr(progname, '/');

	log_progname = slash ? slash + 1 : progname;
	log_debug_on = debug || getenv("TMC_DEBUG") != NULL;
	log_journal = log_stderr_is_journal();
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

/* The line is built after a 3-byte "<N>" priority, so the journal's copy
 * and the log file's share one buffer. */
static void
log_vline(int prio, const char *level, const char *fmt, va_list ap, const char *errstr)
{
	char buf[4096 + 3], *line = buf + 3;
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(buf) - 3, "%Y-%m-%dT%H:%M:%S", &tm);
	line_add(line, sizeof(buf) - 3, &n, ".%03ldZ %s[%d] %s%s%s", ts.tv_nsec / 1000000,
		 log_progname, (int)getpid(), log_stage, log_stage[0] ? ": " : "", level);
	line_vadd(line, sizeof(buf) - 3, &n, fmt, ap);
	if (errstr)
		line_add(line, sizeof(buf) - 3, &n, ": %s", errstr);
	line[n++] = '\n';
	buf[0] = '<', buf[1] = (char)('0' + prio), buf[2] = '>';
	if (log_journal ? write(STDERR_FILENO, buf, n + 3) < 0
			: write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to say it */
	}
	if (log_fd >= 0 && write(log_fd, line, n) < 0) {
		/* stderr already has it */
	}
}

#define LOG_BODY(prio, level, errstr)                                                              \
	do {                                                                                       \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vline(prio, level, fmt, ap, errstr);                                           \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(4, "warning: ", e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(4, "warning: ", NULL);
}

void
log_errx(const char *fmt, ...)
{
	LOG_BODY(3, "error: ", NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(6, "", NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_debug_on)
		return;
	LOG_BODY(7, "debug: ", NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(3, "fatal: ", e);
	exit(70); /* EX_SOFTWARE */
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(3, "fatal: ", NULL);
	exit(70);
}
