/*
 * mp4frame.c - the frame of an mp4 original, for an image step: captured
 * by a short-lived `tmc-video --capture` child, so that tmc-image links
 * GraphicsMagick only and FFmpeg's decoders never share its process.
 *
 * The child gets the original already opened beneath its root
 * (stage_open_source) as stdin and the item's temporary pixels file as
 * stdout; it writes the TMCPIX1 pixels and exits (protocol:
 * stages/video/capture.h). Here: run it under a time limit (SIGKILL at
 * the limit; PR_SET_PDEATHSIG so it dies with us when the supervisor
 * kills this worker), forward its log lines, take its reason line, map its
 * exit to the item's outcome, and rename the pixels into place on success
 * only. A corrupt video is the item's fault (permanent); running out of
 * memory, descriptors, processes or space is the machine's (temporary).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "../video/capture.h"

#define PIXELS_PART ".pixels.raw.part"
#define CHILD_LOG_MAX 64 /* child's log lines forwarded per capture */

struct child {
	pid_t pid;
	int errfd;       /* read end of its stderr */
	char line[1024]; /* partial line being read */
	size_t len;
	int lines;
	bool timed_out;
	bool stopped; /* killed for a pending SIGTERM/SIGINT */
	char reason[REASON_MAX];
};

/* A machine fault of ours (not the item's): noted for status, retried.
 * The reason names the original, then what failed. */
static enum stage_rc
capture_errno(struct stage_ctx *ctx, int err, const char *src, const char *what)
{
	snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s: %s", src, what, strerror(err));
	if (errno_is_machine_fault(err))
		fault_note_errno(err, what);
	return STAGE_TEMPFAIL;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_exec(const char *prog, char *const argv[], int in, int out, int err, pid_t parent)
{
	sigset_t none;
	const char *e;

	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(err, STDERR_FILENO) < 0)
		_exit(CAPTURE_EXIT_TEMP);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(CAPTURE_EXIT_TEMP); /* the parent is already gone */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* the skeleton blocks some */
	execv(prog, argv);
	e = strerrordesc_np(errno);
	if (write(STDERR_FILENO, CAPTURE_REASON, strlen(CAPTURE_REASON)) < 0 ||
	    write(STDERR_FILENO, prog, strlen(prog)) < 0 || write(STDERR_FILENO, ": ", 2) < 0 ||
	    write(STDERR_FILENO, e ? e : "cannot run", strlen(e ? e : "cannot run")) < 0 ||
	    write(STDERR_FILENO, "\n", 1) < 0) {
		/* the exit status says it */
	}
	_exit(CAPTURE_EXIT_NOEXEC);
}

/* One complete line from the child: its reason, or a log line forwarded
 * (its own timestamp dropped: ours is on the line). */
static void
child_line(struct child *c, char *line)
{
	size_t n = strlen(CAPTURE_REASON);
	char *sp;

	if (strncmp(line, CAPTURE_REASON, n) == 0) {
		snprintf(c->reason, sizeof(c->reason), "%s", line + n);
		return;
	}
	if (c->lines++ >= CHILD_LOG_MAX)
		return;
	sp = strchr(line, ' ');
	log_warnx("%s", sp && line[0] >= '0' && line[0] <= '9' ? sp + 1 : line);
}

/* Read what the child wrote; returns false at end of file. */
static bool
child_read(struct child *c)
{
	ssize_t n = read(c->errfd, c->line + c->len, sizeof(c->line) - 1 - c->len);
	char *nl;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		if (c->len) { /* an unfinished last line */
			c->line[c->len] = '\0';
			child_line(c, c->line);
			c->len = 0;
		}
		return false;
	}
	c->len += (size_t)n;
	c->line[c->len] = '\0';
	while ((nl = strchr(c->line, '\n')) != NULL || c->len == sizeof(c->line) - 1) {
		size_t used = nl ? (size_t)(nl - c->line) + 1 : c->len;

		if (nl)
			*nl = '\0';
		child_line(c, c->line);
		memmove(c->line, c->line + used, c->len - used + 1);
		c->len -= used;
	}
	return true;
}

/* SIGTERM or SIGINT pending (the skeleton blocks them and reads them
 * between items): a capture is abandoned for them, as a transcode is. */
static bool
stop_pending(void)
{
	sigset_t set;

	if (sigpending(&set) < 0)
		return false;
	return sigismember(&set, SIGTERM) == 1 || sigismember(&set, SIGINT) == 1;
}

/* Until the child closes its stderr (it exits); SIGKILL at the limit or
 * for a pending stop (looked at every STOP_TICK_MS). */
#define STOP_TICK_MS 200
static int
child_wait(struct child *c, int limit_s)
{
	int64_t deadline = now_ms_mono() + (int64_t)limit_s * 1000;
	struct pollfd pfd = {.fd = c->errfd, .events = POLLIN};
	int status;

	for (;;) {
		int64_t left = deadline - now_ms_mono();

		if (left <= 0 || (c->stopped = stop_pending())) {
			c->timed_out = left <= 0;
			kill(c->pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)(left < STOP_TICK_MS ? left : STOP_TICK_MS)) > 0 &&
		    !child_read(c))
			break;
	}
	while (waitpid(c->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* The child's end as the item's outcome, with a reason naming src. */
static enum stage_rc
child_outcome(struct stage_ctx *ctx, const struct child *c, int status, const char *src,
	      int limit_s)
{
	const char *why = c->reason;
	int sig;

	if (c->stopped) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: frame capture stopped by a signal",
			 src);
		return STAGE_STOPPED;
	}
	if (c->timed_out) {
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "%s: frame capture took more than %d s, killed (tmc-video pid %d)", src,
			 limit_s, (int)c->pid);
		return STAGE_TEMPFAIL;
	}
	if (WIFEXITED(status)) {
		switch (WEXITSTATUS(status)) {
		case CAPTURE_EXIT_OK: return STAGE_OK;
		case CAPTURE_EXIT_PERM:
			snprintf(ctx->reason, sizeof(ctx->reason), "%s",
				 why[0] ? why : "frame capture failed");
			return STAGE_PERMFAIL;
		default:
			snprintf(ctx->reason, sizeof(ctx->reason), "%s: frame capture: %s", src,
				 why[0] ? why : "tmc-video --capture failed");
			return STAGE_TEMPFAIL;
		}
	}
	sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	snprintf(ctx->reason, sizeof(ctx->reason),
		 "%s: the video decoder (tmc-video --capture) died of signal %d (%s)", src, sig,
		 strsignal(sig));
	/* a decoder that crashes on a file crashes on it again; a kill is not the file's */
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT
		       ? STAGE_PERMFAIL
		       : STAGE_TEMPFAIL;
}

/* Fork the child on srcfd -> outfd; c->pid and c->errfd set, or -1. */
static int
child_start(struct child *c, const char *prog, char *const argv[], int srcfd, int outfd)
{
	pid_t parent = getpid();
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if ((c->pid = fork()) < 0) {
		int err = errno;

		close(p[0]);
		close(p[1]);
		errno = err;
		return -1;
	}
	if (c->pid == 0)
		child_exec(prog, argv, srcfd, outfd, p[1], parent);
	close(p[1]);
	c->errfd = p[0];
	return 0;
}

enum stage_rc
image_mp4_frame(struct stage_ctx *ctx, const char *src, int srcfd, double seconds, int limit_s)
{
	int dirfd = ctx->item->dirfd, outfd, status;
	char prog[PATH_MAX], secs[64], name[PATH_MAX];
	char *argv[] = {"tmc-video", "--capture", secs, name, NULL};
	struct child c = {.pid = -1, .errfd = -1};
	enum stage_rc rc;

	snprintf(secs, sizeof(secs), "%.6f", seconds >= 0 && seconds < 1e9 ? seconds : 0.0);
	snprintf(name, sizeof(name), "%s", src);
	if (stage_sibling_path("tmc-video", prog, sizeof(prog)) < 0) {
		close(srcfd);
		return capture_errno(ctx, errno, src, "tmc-video path");
	}
	outfd = openat(dirfd, PIXELS_PART, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		       0644);
	if (outfd < 0) {
		close(srcfd);
		return capture_errno(ctx, errno, src, ctx->item->path);
	}
	if (child_start(&c, prog, argv, srcfd, outfd) < 0) {
		rc = capture_errno(ctx, errno, src, "start tmc-video --capture");
		close(srcfd);
		close(outfd);
		unlinkat(dirfd, PIXELS_PART, 0);
		return rc;
	}
	close(srcfd);
	status = child_wait(&c, limit_s);
	close(c.errfd);
	rc = status < 0 ? capture_errno(ctx, errno, src, "waitpid tmc-video")
			: child_outcome(ctx, &c, status, src, limit_s);
	/* durable before it is named: a later step must never find an empty
	 * pixels.raw after a crash (tmcwatch-spool(5), "redone") */
	if (rc == STAGE_OK && fsync(outfd) < 0)
		rc = capture_errno(ctx, errno, src, ctx->item->path);
	close(outfd);
	if (rc == STAGE_OK && renameat(dirfd, PIXELS_PART, dirfd, "pixels.raw") < 0)
		rc = capture_errno(ctx, errno, src, ctx->item->path);
	if (rc != STAGE_OK)
		unlinkat(dirfd, PIXELS_PART, 0);
	return rc;
}
