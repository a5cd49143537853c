/*
 * ctrl.c - proc/<seq>.ctrl, TMC's control file (doc/TMC.md, Control
 * and Server files), read when it is closed or renamed into place (inotify) and on the
 * one-second tick, so a command acts within a second.
 *
 *   pause      no new files are emitted; files in flight finish; the ctrl
 *              becomes {"status":"paused","pos":<dispatched>,"cnt":<total>}.
 *              The job file never moves (TMC's req/<->proc/ loop, doc/TMC.md, Fixes: pause).
 *   resume     the ctrl is removed and emission goes on; deleting the ctrl
 *              of a paused job does the same.
 *   stop       files in flight finish, then the job goes back to req/ with
 *              {"status":"stopped","pos":..,"cnt":..} (TMC's requeue); taken
 *              again, it resumes from its per-file results. A paused job
 *              goes back with "paused" and waits there (TMC kept "paused").
 *   cancel     the ctrl becomes {"status":"cancelled"}; files in flight
 *              finish, every other file gets a "<src>\t0\t0\t0" row, the job
 *              goes to done/ with its ctrl, and the callback says result=0
 *              (TMC wrote no rows and could report success, doc/TMC.md, Fixes: cancel).
 *   other      "paused", "stopped", "cancelled" and unknown words: nothing.
 *
 * A ctrl that is not a JSON object with a string "status" sends the job to
 * err/ (TMC's README; doc/TMC.md, Control), but only once it is complete: after
 * IN_CLOSE_WRITE or a rename, or unchanged across two ticks; a file being
 * written by `echo >` is never judged half-way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"

static const struct {
	const char *word;
	enum ctrl_cmd cmd;
} ctrl_words[] = {
	{"pause", CTRL_PAUSE},         {"paused", CTRL_PAUSED},   {"resume", CTRL_RESUME},
	{"stop", CTRL_STOP},           {"stopped", CTRL_STOPPED}, {"cancel", CTRL_CANCEL},
	{"cancelled", CTRL_CANCELLED},
};

static enum ctrl_cmd
ctrl_word(const char *s)
{
	for (size_t i = 0; i < sizeof(ctrl_words) / sizeof(ctrl_words[0]); i++)
		if (strcmp(s, ctrl_words[i].word) == 0)
			return ctrl_words[i].cmd;
	return CTRL_OTHER;
}

/* The status word, or NULL with the reason. */
static char *
ctrl_parse(const char *seq, const char *buf, size_t len, char *reason, size_t rlen)
{
	char name[SEQ_MAX + 16], err[512];
	struct json doc = {0};
	char *status = NULL;
	int t;

	snprintf(name, sizeof(name), "proc/%s%s", seq, job_file_suffix(JF_CTRL));
	if (json_parse(&doc, name, buf, len, err, sizeof(err)) < 0)
		snprintf(reason, rlen, "%s", err);
	else if (!json_is_object(&doc, 0) || (t = json_get(&doc, 0, "status")) < 0 ||
		 (status = json_strdup(&doc, t)) == NULL)
		snprintf(reason, rlen, "%s: expected {\"status\": \"pause|resume|stop|cancel\"}",
			 name);
	json_free(&doc);
	return status;
}

enum ctrl_cmd
ctrl_read(struct jobsd *d, const char *seq, bool final, struct ctrl_seen *bad, char *reason,
	  size_t rlen)
{
	char name[SEQ_MAX + 16], *buf, *status;
	struct ctrl_seen now = {0};
	enum ctrl_cmd cmd;
	struct stat st;
	size_t len;

	job_file(name, sizeof(name), seq, JF_CTRL);
	if ((buf = file_read_at(d->procfd, name, 65536, &len)) == NULL) {
		if (errno == ENOENT)
			return CTRL_NONE;
		snprintf(reason, rlen, "proc/%s: %s", name, strerror(errno));
		return errno == EFBIG || errno == EINVAL ? CTRL_BAD : CTRL_PARTIAL;
	}
	if (fstatat(d->procfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		now = (struct ctrl_seen){st.st_ino, st.st_size,
					 (int64_t)st.st_mtim.tv_sec * 1000000000 +
						 st.st_mtim.tv_nsec};
	status = ctrl_parse(seq, buf, len, reason, rlen);
	free(buf);
	if (status == NULL) {
		bool same = bad && bad->ino == now.ino && bad->size == now.size &&
			    bad->mtime_ns == now.mtime_ns;

		if (bad)
			*bad = now;
		return final || same ? CTRL_BAD : CTRL_PARTIAL;
	}
	cmd = ctrl_word(status);
	free(status);
	return cmd;
}

int
ctrl_write(struct jobsd *d, const char *seq, const char *status, long long pos, long long cnt)
{
	char name[SEQ_MAX + 16], buf[256];
	int n;

	job_file(name, sizeof(name), seq, JF_CTRL);
	if (pos >= 0)
		n = snprintf(buf, sizeof(buf), "{\"status\":\"%s\",\"pos\":%lld,\"cnt\":%lld}",
			     status, pos, cnt);
	else
		n = snprintf(buf, sizeof(buf), "{\"status\":\"%s\"}", status);
	if (file_publish_at(d->procfd, name, buf, (size_t)n, false) < 0) {
		log_warn("%s/proc/%s", d->sp.path, name);
		return -1;
	}
	return 0;
}

static void
ctrl_remove(struct jobsd *d, const char *seq)
{
	char name[SEQ_MAX + 16];

	job_file(name, sizeof(name), seq, JF_CTRL);
	if (unlinkat(d->procfd, name, 0) < 0 && errno != ENOENT)
		log_warn("%s/proc/%s", d->sp.path, name);
}

static void
ctrl_mode(struct job *j, enum job_mode mode, const char *what)
{
	if (j->mode == mode)
		return;
	log_info("job %s: %s (%zu of %zu files dispatched, %zu finished)", j->seq, what,
		 j->dispatched, j->total, j->ndone);
	j->mode = mode;
}

void
ctrl_apply(struct jobsd *d, struct job *j, bool final)
{
	char reason[REASON_MAX];
	bool live = j->mode == JM_RUN || j->mode == JM_PAUSE;

	switch (ctrl_read(d, j->seq, final, &j->ctrl_bad, reason, sizeof(reason))) {
	case CTRL_NONE:
		if (j->mode == JM_PAUSE)
			ctrl_mode(j, JM_RUN, "resumed (ctrl removed)");
		break;
	case CTRL_BAD:
		if (j->mode != JM_ERROR) {
			snprintf(j->reason, sizeof(j->reason), "%s", reason);
			ctrl_mode(j, JM_ERROR, "invalid ctrl file: goes to err/");
		}
		break;
	case CTRL_PAUSE:
		if (live) {
			ctrl_mode(j, JM_PAUSE, "paused");
			ctrl_write(d, j->seq, "paused", (long long)j->dispatched,
				   (long long)j->total);
		}
		break;
	case CTRL_PAUSED:
		if (j->mode == JM_RUN)
			ctrl_mode(j, JM_PAUSE, "paused");
		break;
	case CTRL_RESUME:
		ctrl_remove(d, j->seq);
		if (j->mode == JM_PAUSE)
			ctrl_mode(j, JM_RUN, "resumed");
		break;
	case CTRL_STOP:
		if (live) {
			j->stop_paused = j->mode == JM_PAUSE;
			ctrl_mode(j, JM_STOP,
				  "stopping: back to req/ when the files in flight finish");
		}
		break;
	case CTRL_CANCEL:
	case CTRL_CANCELLED:
		if (live || j->mode == JM_STOP) {
			ctrl_mode(j, JM_CANCEL, "cancelled");
			ctrl_write(d, j->seq, "cancelled", -1, -1);
		}
		break;
	default: break;
	}
}
