/*
 * test_spool.c - the handoff protocol, state by state (tmcwatch-spool(5)),
 * on a real temporary spool: tickets, publish, claim, commit and delivery,
 * failure, recovery of a dead claim, malformed items, path checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"

static char root[256];
static struct spool sp;
static struct stage_dir a, b;

static bool
exists(const struct stage_dir *sd, const char *sub, const char *id)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", sd->path, sub, id);
	return lstat(p, &st) == 0;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/tmcwatch-unit.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (mkdtemp(root) == NULL)
		return -1;
	if (spool_open(&sp, root, true) < 0 || stage_open(&a, &sp, "tpl", 0, "A", true) < 0 ||
	    stage_open(&b, &sp, "tpl", 1, "B", true) < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	stage_close(&a);
	stage_close(&b);
	rmtree_at(AT_FDCWD, root);
	spool_close(&sp);
	return 0;
}

static void
publish(const char *id, const char *src)
{
	struct ticket t = {0};

	ticket_set(&t, "id", id);
	ticket_set(&t, "src", src);
	assert_int_equal(item_publish(&a, id, &t, false), 1);
	ticket_free(&t);
}

/* --- tickets ------------------------------------------------------------ */

static void
test_ticket_roundtrip(void **state)
{
	struct ticket t = {0}, u;
	char reason[256], *text;
	size_t len;

	(void)state;
	ticket_set(&t, "src", "/a b/c\\d\ne\tf.jpg");
	ticket_set(&t, "attempt", "2");
	text = ticket_format(&t, &len);
	assert_string_equal(text, "src=/a b/c\\\\d\\ne\\tf.jpg\nattempt=2\n");
	assert_int_equal(ticket_parse(&u, text, len, reason, sizeof(reason)), 0);
	assert_string_equal(ticket_get(&u, "src"), "/a b/c\\d\ne\tf.jpg");
	assert_int_equal(ticket_get_ll(&u, "attempt", 0), 2);
	assert_int_equal(ticket_get_ll(&u, "missing", 7), 7);
	free(text);
	ticket_free(&t);
	ticket_free(&u);
}

static void
test_ticket_rejects(void **state)
{
	static const struct {
		const char *label, *text, *reason;
	} cases[] = {
		{"no newline at end", "a=1", "no newline"},
		{"no equals sign", "abc\n", "not key=value"},
		{"upper-case key", "Key=1\n", "not key=value"},
		{"empty key", "=1\n", "not key=value"},
		{"bad escape", "a=\\q\n", "bad escape"},
		{"trailing backslash", "a=x\\\n", "bad escape"},
	};
	char reason[256];
	struct ticket t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = ticket_parse(&t, cases[i].text, strlen(cases[i].text), reason,
				     sizeof(reason));

		if (r != -1 || strstr(reason, cases[i].reason) == NULL)
			fail_msg("case \"%s\": r=%d reason=\"%s\"", cases[i].label, r, reason);
	}
}

/* --- publish, claim, handoff -------------------------------------------- */

static void
test_publish_is_idempotent(void **state)
{
	struct ticket t = {0};

	(void)state;
	publish("p1", "/x.jpg");
	ticket_set(&t, "src", "/other.jpg");
	assert_int_equal(item_publish(&a, "p1", &t, true), 0); /* already in new/ */
	ticket_free(&t);
	assert_true(exists(&a, "new", "p1/ticket"));
}

static void
test_claim_handoff_deliver(void **state)
{
	struct item it;
	struct successor s = {.sd = &b};
	int64_t due = 0;

	(void)state;
	publish("h1", "/h.jpg");
	assert_int_equal(item_claim(&a, "h1", &it, &due), 1);
	assert_false(exists(&a, "new", "h1"));
	assert_true(exists(&a, "cur", "h1"));
	assert_string_equal(ticket_get(&it.ticket, "src"), "/h.jpg");
	/* a second claim of the same id finds nothing */
	struct item other;
	assert_int_equal(item_claim(&a, "h1", &other, &due), 0);
	/* pixels written as next.* reach the successor as pixels.* */
	int fd = openat(it.dirfd, "next.raw", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0 && write(fd, "px", 2) == 2);
	close(fd);
	ticket_copy(&s.ticket, &it.ticket);
	ticket_set(&s.ticket, "step", "1");
	assert_int_equal(item_handoff(&a, &it, &s, 1, true), 0);
	item_release(&it);
	ticket_free(&s.ticket);
	assert_false(exists(&a, "cur", "h1"));
	assert_true(exists(&b, "new", "h1/ticket"));
	assert_true(exists(&b, "new", "h1/pixels.raw"));
}

static ino_t
ino_of(const struct stage_dir *sd, const char *sub, const char *name)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", sd->path, sub, name);
	return lstat(p, &st) == 0 ? st.st_ino : 0;
}

static char *
read_of(const struct stage_dir *sd, const char *sub, const char *name)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s/%s", sd->path, sub, name);
	return file_read_at(AT_FDCWD, p, 1 << 16, NULL);
}

static void
put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static void
chain_step(struct stage_dir *from, struct stage_dir *to, const char *id, const char *step)
{
	struct item it;
	struct successor s = {.sd = to};
	int64_t due = 0;

	assert_int_equal(item_claim(from, id, &it, &due), 1);
	ticket_copy(&s.ticket, &it.ticket);
	ticket_set(&s.ticket, "step", step);
	assert_int_equal(item_handoff(from, &it, &s, 1, false), 0);
	item_release(&it);
	ticket_free(&s.ticket);
}

/* A chain overwrites the item's previous ticket (kept as ticket.spare) as
 * the next one: no inode is allocated per step, and the content is the
 * successor's. */
static void
test_chain_reuses_the_spare_ticket(void **state)
{
	struct stage_dir c;
	ino_t t0, t1;
	char *text;

	(void)state;
	assert_int_equal(stage_open(&c, &sp, "tpl", 2, "C", true), 0);
	publish("r1", "/r.jpg");
	t0 = ino_of(&a, "new", "r1/ticket");
	chain_step(&a, &b, "r1", "1");
	t1 = ino_of(&b, "new", "r1/ticket");
	assert_int_not_equal(t1, t0); /* the first step has no spare yet */
	assert_int_equal(ino_of(&b, "new", "r1/ticket.spare"), t0);
	chain_step(&b, &c, "r1", "2");
	assert_int_equal(ino_of(&c, "new", "r1/ticket"), t0); /* reused */
	assert_int_equal(ino_of(&c, "new", "r1/ticket.spare"), t1);
	assert_false(exists(&c, "new", "r1/ticket.next"));
	text = read_of(&c, "new", "r1/ticket");
	assert_non_null(text);
	assert_non_null(strstr(text, "step=2\n"));
	assert_non_null(strstr(text, "src=/r.jpg\n"));
	free(text);
	/* the last step removes the whole item, spare included */
	struct item it;
	int64_t due = 0;

	assert_int_equal(item_claim(&c, "r1", &it, &due), 1);
	assert_int_equal(item_handoff(&c, &it, NULL, 0, false), 0);
	item_release(&it);
	assert_false(exists(&c, "cur", "r1"));
	assert_int_equal(rmdir(c.path) < 0 ? 0 : 1, 0); /* tmp/ etc. still there */
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s/tmp", c.path);
	assert_int_equal(rmdir(tmp), 0); /* nothing left behind in tmp/ */
	assert_int_equal(mkdir(tmp, 0755), 0);
	stage_close(&c);
}

/* A successor whose ticket is the item's own (the usual case: no retry
 * state, no step key): the item moves on with the same ticket inode and
 * bytes, and no ticket.next or ticket.spare is made. */
static void
test_chain_same_ticket_writes_nothing(void **state)
{
	struct item it;
	struct successor s = {.sd = &b};
	int64_t due = 0;
	char *before, *after;
	ino_t t0;

	(void)state;
	publish("s1", "/s.jpg");
	t0 = ino_of(&a, "new", "s1/ticket");
	before = read_of(&a, "new", "s1/ticket");
	assert_int_equal(item_claim(&a, "s1", &it, &due), 1);
	s.same = ticket_copy_without(&s.ticket, &it.ticket,
				     (const char *const[]){"attempt", "step", NULL});
	assert_true(s.same);
	assert_int_equal(item_handoff(&a, &it, &s, 1, false), 0);
	item_release(&it);
	ticket_free(&s.ticket);
	assert_int_equal(ino_of(&b, "new", "s1/ticket"), t0);
	after = read_of(&b, "new", "s1/ticket");
	assert_non_null(before);
	assert_non_null(after);
	assert_string_equal(after, before);
	assert_false(exists(&b, "new", "s1/ticket.next"));
	assert_false(exists(&b, "new", "s1/ticket.spare"));
	free(before);
	free(after);
	/* a ticket with a key the successor drops is not the same */
	struct ticket t = {0}, u;

	ticket_set(&t, "src", "/s.jpg");
	ticket_set(&t, "attempt", "2");
	assert_false(ticket_copy_without(&u, &t, (const char *const[]){"attempt", NULL}));
	assert_null(ticket_get(&u, "attempt"));
	assert_string_equal(ticket_get(&u, "src"), "/s.jpg");
	ticket_free(&t);
	ticket_free(&u);
}

static size_t
free_count(void)
{
	struct stat st;

	assert_int_equal(fstat(sp.freefd, &st), 0);
	return (size_t)st.st_nlink - 2;
}

/* A finished item holding only its ticket goes to free/, and the next
 * publish is made of it: the same folder and ticket inodes, the new
 * ticket's bytes exactly (a longer old ticket cut to the new length). A
 * finished item holding anything else is removed as before. */
static void
test_finished_folder_is_recycled(void **state)
{
	struct item it;
	struct ticket t = {0};
	int64_t due = 0;
	ino_t dir0, tk0;
	char *text;
	int fd;

	(void)state;
	/* drain what earlier tests left in free/ */
	while (free_count() > 0) {
		publish("drain", "/d.jpg");
		assert_int_equal(item_claim(&a, "drain", &it, &due), 1);
		assert_int_equal(unlinkat(it.dirfd, "ticket", 0), 0);
		fd = openat(it.dirfd, "pixels.raw", O_WRONLY | O_CREAT, 0644);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(item_handoff(&a, &it, NULL, 0, false), 0);
		item_release(&it);
	}
	ticket_set(&t, "src", "/a-long-name-that-the-next-ticket-does-not-have.jpg");
	ticket_set(&t, "id", "f1");
	assert_int_equal(item_publish(&a, "f1", &t, false), 1);
	ticket_free(&t);
	dir0 = ino_of(&a, "new", "f1");
	tk0 = ino_of(&a, "new", "f1/ticket");
	assert_int_equal(item_claim(&a, "f1", &it, &due), 1);
	assert_int_equal(item_handoff(&a, &it, NULL, 0, false), 0);
	assert_int_equal(it.lockfd, -1); /* dropped: the folder's next item may lock it */
	item_release(&it);
	assert_int_equal(free_count(), 1);

	publish("f2", "/b.jpg");
	assert_int_equal(free_count(), 0);
	assert_int_equal(ino_of(&a, "new", "f2"), dir0);
	assert_int_equal(ino_of(&a, "new", "f2/ticket"), tk0);
	text = read_of(&a, "new", "f2/ticket");
	assert_non_null(text);
	assert_string_equal(text, "id=f2\nsrc=/b.jpg\n");
	free(text);

	/* anything but the ticket: removed, not recycled */
	assert_int_equal(item_claim(&a, "f2", &it, &due), 1);
	fd = openat(it.dirfd, "next.raw", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(item_handoff(&a, &it, NULL, 0, false), 0);
	item_release(&it);
	assert_int_equal(free_count(), 0);
	assert_false(exists(&a, "cur", "f2"));
}

/* A batch: nothing is in new/ before the commit; then every staged item
 * is, with its own ticket; an id already present is not staged; a batch
 * freed without its commit leaves nothing in tmp/. */
static void
test_publish_batch(void **state)
{
	struct publish_batch pb;
	struct ticket t = {0};
	char id[16], *text;

	(void)state;
	publish("bp0", "/0.jpg");
	publish_batch_init(&pb);
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "bp%d", i);
		ticket_setf(&t, "src", "/%d.jpg", i);
		assert_int_equal(publish_stage(&pb, &a, id, &t, i), i == 0 ? 0 : 1);
		assert_false(i > 0 && exists(&a, "new", id));
	}
	assert_int_equal(pb.n, 5);
	assert_int_equal(publish_commit(&pb, true), 5);
	for (int i = 1; i < 6; i++) {
		char want[32];

		snprintf(id, sizeof(id), "bp%d/ticket", i);
		snprintf(want, sizeof(want), "src=/%d.jpg\n", i);
		text = read_of(&a, "new", id);
		assert_non_null(text);
		assert_string_equal(text, want);
		free(text);
		assert_int_equal(pb.v[i - 1].r, 1);
		assert_int_equal(pb.v[i - 1].tag, i);
	}
	publish_batch_free(&pb);

	publish_batch_init(&pb);
	assert_int_equal(publish_stage(&pb, &a, "bp9", &t, 9), 1);
	publish_batch_free(&pb);
	assert_false(exists(&a, "new", "bp9"));
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s/tmp", a.path);
	assert_int_equal(rmdir(tmp), 0); /* nothing staged is left behind */
	assert_int_equal(mkdir(tmp, 0755), 0);
	stage_close(&a);
	assert_int_equal(stage_open(&a, &sp, "tpl", 0, "A", true), 0);
	ticket_free(&t);
}

/* A carried item whose spare is flocked by someone else (a worker that
 * opened it when it was a ticket in new/) takes a new inode: the lock it
 * keeps must be its own. */
static void
test_handon_with_a_locked_spare(void **state)
{
	struct stage_dir c;
	struct item it, next;
	struct successor s;
	int64_t due = 0;
	char p[1024];
	int stale;

	(void)state;
	assert_int_equal(stage_open(&c, &sp, "tpl", 2, "C", true), 0);
	publish("r2", "/r2.jpg");
	chain_step(&a, &b, "r2", "1");
	assert_int_equal(item_claim(&b, "r2", &it, &due), 1);
	snprintf(p, sizeof(p), "%s/cur/r2/ticket.spare", b.path);
	stale = open(p, O_RDONLY);
	assert_true(stale >= 0);
	assert_int_equal(flock(stale, LOCK_SH | LOCK_NB), 0);
	memset(&s, 0, sizeof(s));
	s.sd = &c;
	ticket_copy(&s.ticket, &it.ticket);
	ticket_set(&s.ticket, "step", "2");
	assert_int_equal(item_handon(&b, &it, &s, false, &next), 0);
	assert_true(exists(&c, "cur", "r2/ticket"));
	struct stat held, spare;

	assert_int_equal(fstat(next.lockfd, &held), 0);
	assert_int_equal(fstat(stale, &spare), 0);
	assert_int_not_equal(held.st_ino, spare.st_ino);
	assert_int_equal(held.st_ino, ino_of(&c, "cur", "r2/ticket"));
	close(stale);
	item_release(&it);
	item_release(&next);
	ticket_free(&s.ticket);
	stage_close(&c);
}

/* A finalize cut between its two renames (ticket -> ticket.spare,
 * ticket.next -> ticket) is finished by the next one; an empty ticket.next
 * there (a power cut before its bytes were on disk) gives the item back
 * its previous ticket. */
/* tmp/<id> as a finalize cut between its renames leaves it: no ticket,
 * ticket.spare and ticket.next; finalized again, the ticket must say
 * "step=<want>" and no ticket.next is left. */
static void
finalize_cut(const char *id, const char *next, const char *want)
{
	char p[1024], spare[64], step[16];
	char *text;

	snprintf(p, sizeof(p), "%s/tmp/%s", b.path, id);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/tmp/%s/ticket.spare", b.path, id);
	snprintf(spare, sizeof(spare), "id=%s\nstep=0\n", id);
	put_file(p, spare);
	snprintf(p, sizeof(p), "%s/tmp/%s/ticket.next", b.path, id);
	put_file(p, next);
	assert_int_equal(stage_finalize(&b, id, false), 0);
	snprintf(p, sizeof(p), "%s/ticket", id);
	text = read_of(&b, "new", p);
	assert_non_null(text);
	snprintf(step, sizeof(step), "step=%s\n", want);
	assert_non_null(strstr(text, step));
	free(text);
	snprintf(p, sizeof(p), "%s/ticket.next", id);
	assert_false(exists(&b, "new", p));
}

/* A finalize cut between its two renames (ticket -> ticket.spare,
 * ticket.next -> ticket) is finished by the next one; an empty ticket.next
 * there (a power cut before its bytes were on disk) gives the item back
 * its previous ticket. */
static void
test_finalize_cut_between_renames(void **state)
{
	(void)state;
	finalize_cut("r3", "id=r3\nstep=1\n", "1");
	finalize_cut("r4", "", "0");
}

static void
test_committed_item_only_delivers(void **state)
{
	struct item it;
	struct successor s = {.sd = &b};
	int64_t due = 0;

	(void)state;
	publish("c1", "/c.jpg");
	assert_int_equal(item_claim(&a, "c1", &it, &due), 1);
	/* stage and commit by hand, then "crash" before delivery */
	ticket_copy(&s.ticket, &it.ticket);
	assert_int_equal(mkdirat(it.dirfd, "out", 0755), 0);
	int outfd = openat(it.dirfd, "out", O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkdirat(outfd, "01-B", 0755), 0);
	int k = openat(outfd, "01-B", O_RDONLY | O_DIRECTORY);
	assert_int_equal(file_publish_at(k, "ticket", "src=/c.jpg\n", 11, false), 0);
	close(k);
	close(outfd);
	item_release(&it); /* the lock goes: the worker "died" */
	ticket_free(&s.ticket);
	/* recovery returns it without charging an attempt; the next claim delivers */
	assert_int_equal(stage_recover(&a, 3), 1);
	assert_int_equal(item_claim(&a, "c1", &it, &due), 1);
	assert_true(item_committed(&it));
	assert_null(ticket_get(&it.ticket, "attempt"));
	assert_int_equal(item_deliver(&a, &it), 0);
	item_release(&it);
	assert_true(exists(&b, "new", "c1/ticket"));
	assert_false(exists(&a, "cur", "c1"));
	assert_false(exists(&a, "new", "c1"));
}

/* --- the spool's shape: presence, outbox, stage sets, job files ------------ */

static void
test_item_present_states(void **state)
{
	struct item it;
	int64_t due = 0;
	struct ticket t = {0};

	(void)state;
	assert_false(item_present(&a, "q1"));
	publish("q1", "/q.jpg");
	assert_true(item_present(&a, "q1")); /* new/ */
	assert_int_equal(item_claim(&a, "q1", &it, &due), 1);
	assert_true(item_present(&a, "q1")); /* cur/ */
	assert_int_equal(item_fail(&a, &it, false, 1, 0, "bad"), 0);
	item_release(&it);
	assert_false(item_present(&a, "q1")); /* err/ does not count */
	/* a committed chain handoff waiting in tmp/ for its finalize */
	assert_int_equal(mkdirat(b.tmpfd, "q2", 0755), 0);
	assert_true(item_present(&b, "q2"));
	ticket_set(&t, "src", "/q2.jpg");
	assert_int_equal(item_publish(&b, "q2", &t, true), 0); /* not published twice */
	ticket_free(&t);
	assert_false(exists(&b, "new", "q2"));
	/* a publish's or a removal's temporary is no item */
	assert_int_equal(mkdirat(b.tmpfd, "+q3.1.0", 0755), 0);
	assert_false(item_present(&b, "+q3.1.0"));
	assert_false(item_present(&b, "q3"));
}

static void
test_outbox_is_a_stage(void **state)
{
	struct stage_dir ob;
	struct ticket t = {0};
	char p[1024];
	struct stat st;

	(void)state;
	assert_int_equal(outbox_open(&ob, &sp, false), 0);
	assert_string_equal(ob.label, "outbox");
	ticket_set(&t, "url", "http://127.0.0.1/cb");
	assert_int_equal(item_publish(&ob, "260101120000123", &t, true), 1);
	assert_int_equal(item_publish(&ob, "260101120000123", &t, true), 0);
	ticket_free(&t);
	stage_close(&ob);
	snprintf(p, sizeof(p), "%s/outbox/new/260101120000123/ticket", root);
	assert_int_equal(lstat(p, &st), 0);
}

static void
test_stage_set_opens_lazily(void **state)
{
	const char *names[] = {"Orig", "Thumb", "Web"};
	struct stage_set set;
	struct stage_dir *sd;
	char p[1024];
	struct stat st;

	(void)state;
	stage_set_open(&set, &sp, "tpl2", 3, names);
	snprintf(p, sizeof(p), "%s/stages/tpl2", root);
	assert_int_equal(lstat(p, &st), -1); /* nothing made before it is used */
	assert_non_null(sd = stage_set_get(&set, 2));
	assert_string_equal(sd->label, "tpl2/02-Web");
	assert_ptr_equal(stage_set_get(&set, 2), sd); /* opened once */
	snprintf(p, sizeof(p), "%s/stages/tpl2/02-Web/new", root);
	assert_int_equal(lstat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/stages/tpl2/00-Orig", root);
	assert_int_equal(lstat(p, &st), -1);
	stage_set_close(&set);
	assert_null(set.sd);
}

static void
test_job_file_names(void **state)
{
	char buf[64], seq[32], tiny[8];

	(void)state;
	assert_int_equal(job_file(buf, sizeof(buf), "260101120000123", JF_STAT), 0);
	assert_string_equal(buf, "260101120000123.stat");
	job_file(buf, sizeof(buf), "260101120000123", JF_JOB);
	assert_string_equal(buf, "260101120000123");
	job_file(buf, sizeof(buf), "k", JF_RESULT);
	assert_string_equal(buf, "k.result");
	assert_int_equal(job_file(tiny, sizeof(tiny), "260101120000123", JF_CTRL), -1);
	assert_string_equal(tiny, "");
	assert_int_equal(job_file_kind("260101120000123.ctrl", seq, sizeof(seq)), JF_CTRL);
	assert_string_equal(seq, "260101120000123");
	assert_int_equal(job_file_kind("x.rows", NULL, 0), JF_ROWS);
	assert_int_equal(job_file_kind("x.reason", NULL, 0), JF_REASON);
	assert_int_equal(job_file_kind("260101120000123", seq, sizeof(seq)), -1);
	assert_int_equal(job_file_kind(".stat", seq, sizeof(seq)), -1);
	assert_int_equal(job_file_kind("x.stat.tmp", seq, sizeof(seq)), -1);
	assert_int_equal(job_file_kind("260101120000123.stat", seq, 4), -1);
}

/* --- failure and recovery ----------------------------------------------- */

static void
test_fail_temporary_then_permanent(void **state)
{
	struct item it;
	int64_t due = 0;

	(void)state;
	publish("f1", "/f.jpg");
	assert_int_equal(item_claim(&a, "f1", &it, &due), 1);
	assert_int_equal(item_fail(&a, &it, true, 2, 60, "disk full"), 0);
	item_release(&it);
	assert_true(exists(&a, "new", "f1"));
	/* not_before is in the future: a claim defers it */
	assert_int_equal(item_claim(&a, "f1", &it, &due), 2);
	assert_true(due > now_s_real() + 30);
	assert_true(exists(&a, "new", "f1/ticket"));
	/* rewrite not_before to now and fail again: attempt 2 of 2 -> err/ */
	int dfd = openat(a.newfd, "f1", O_RDONLY | O_DIRECTORY);
	assert_int_equal(file_publish_at(dfd, "ticket", "src=/f.jpg\nattempt=1\n", 21, false), 0);
	close(dfd);
	assert_int_equal(item_claim(&a, "f1", &it, &due), 1);
	assert_int_equal(item_fail(&a, &it, true, 2, 60, "disk full"), 0);
	item_release(&it);
	char *reason = file_read_at(a.errfd, "f1/reason", 4096, NULL);
	assert_non_null(reason);
	assert_non_null(strstr(reason, "disk full (gave up after 2 attempts)"));
	free(reason);
}

static void
test_recover_dead_but_not_live(void **state)
{
	struct item live, dead;
	int64_t due = 0;
	pid_t pid;
	int st;

	(void)state;
	publish("live1", "/l.jpg");
	publish("dead1", "/d.jpg");
	assert_int_equal(item_claim(&a, "live1", &live, &due), 1);
	/* a child claims dead1 and dies without releasing: its lock goes with it */
	pid = fork();
	if (pid == 0) {
		_exit(item_claim(&a, "dead1", &dead, &due) == 1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(exists(&a, "cur", "dead1"));
	assert_int_equal(stage_recover(&a, 3), 1);
	assert_true(exists(&a, "new", "dead1"));
	assert_true(exists(&a, "cur", "live1")); /* held: left alone */
	char *t = file_read_at(a.newfd, "dead1/ticket", 4096, NULL);
	assert_non_null(strstr(t, "attempt=1\n"));
	free(t);
	assert_int_equal(item_finish(&a, &live), 0);
	item_release(&live);
}

static void
test_recover_poison_goes_to_err(void **state)
{
	int dfd;

	(void)state;
	assert_int_equal(mkdirat(a.curfd, "poison", 0755), 0);
	dfd = openat(a.curfd, "poison", O_RDONLY | O_DIRECTORY);
	assert_int_equal(file_publish_at(dfd, "ticket", "src=/p.jpg\nattempt=2\n", 21, false), 0);
	close(dfd);
	assert_int_equal(stage_recover(&a, 3), 1);
	assert_true(exists(&a, "err", "poison/reason"));
	char *r = file_read_at(a.errfd, "poison/reason", 4096, NULL);
	assert_non_null(strstr(r, "died 3 times"));
	free(r);
}

/* A worker that died max_attempts times: its step's failed result line is
 * written before the item goes to err/, so a recovery killed between the
 * two still leaves the line once the next recovery ran (the job counts
 * the file, it does not wait for it for ever). */
static void
test_recover_poison_result_survives_kill(void **state)
{
	static const char ticket[] =
		"id=crash1\nsrc=/c.jpg\nrel=/c.jpg\norigin=job:s1\nattempt=2\n";
	pid_t pid;
	char *log;
	int dfd, st;

	(void)state;
	assert_int_equal(mkdirat(a.curfd, "crash1", 0755), 0);
	dfd = openat(a.curfd, "crash1", O_RDONLY | O_DIRECTORY);
	assert_int_equal(file_publish_at(dfd, "ticket", ticket, strlen(ticket), false), 0);
	close(dfd);
	pid = fork();
	if (pid == 0) {
		setenv("TMC_FAILPOINT", "recover-result", 1);
		stage_recover(&a, 3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	stage_recover(&a, 3); /* the next recovery: the stage's or the supervisor's */
	assert_true(exists(&a, "err", "crash1/reason"));
	log = file_read_at(sp.fd, "proc/s1.log", 65536, NULL);
	assert_non_null(log);
	assert_non_null(strstr(log, "crash1\t0\tA\t0\t1\t/c.jpg\tthe worker processing it died 3 "
				    "times"));
	assert_non_null(strstr(log, "\tfailed\n"));
	free(log);
}

static void
test_malformed_items_go_to_err(void **state)
{
	struct item it;
	int64_t due = 0;
	int dfd;

	(void)state;
	/* a folder with no ticket */
	assert_int_equal(mkdirat(a.newfd, "noticket", 0755), 0);
	assert_int_equal(item_claim(&a, "noticket", &it, &due), 0);
	assert_true(exists(&a, "err", "noticket/reason"));
	/* a ticket that does not parse */
	assert_int_equal(mkdirat(a.newfd, "garbage", 0755), 0);
	dfd = openat(a.newfd, "garbage", O_RDONLY | O_DIRECTORY);
	assert_int_equal(file_publish_at(dfd, "ticket", "\x01\x02 no pairs", 11, false), 0);
	close(dfd);
	assert_int_equal(item_claim(&a, "garbage", &it, &due), 0);
	char *r = file_read_at(a.errfd, "garbage/reason", 4096, NULL);
	assert_non_null(r);
	assert_non_null(strstr(r, "ticket line 1"));
	free(r);
	/* a symlink planted in new/ is refused, not followed */
	assert_int_equal(symlinkat("/etc", a.newfd, "link"), 0);
	assert_int_equal(item_claim(&a, "link", &it, &due), 0);
	assert_false(exists(&a, "new", "link"));
	struct stat st;
	assert_int_equal(fstatat(a.errfd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* a plain file in new/ */
	assert_int_equal(file_publish_at(a.newfd, "stray", "x", 1, false), 0);
	assert_int_equal(item_claim(&a, "stray", &it, &due), 0);
	assert_false(exists(&a, "new", "stray"));
}

/* --- inbox ----------------------------------------------------------------- */

static void
test_inbox_scan_and_events(void **state)
{
	struct inbox ib;
	const char *id;

	(void)state;
	publish("z2", "/z2.jpg");
	assert_int_equal(inbox_open(&ib, &a), 0);
	assert_true(inbox_scan(&ib, &a) >= 1);
	bool seen = false;
	while ((id = inbox_next(&ib)) != NULL)
		seen |= strcmp(id, "z2") == 0;
	assert_true(seen);
	publish("z3", "/z3.jpg");
	assert_int_equal(inbox_read_events(&ib), 0);
	id = inbox_next(&ib);
	assert_non_null(id);
	assert_string_equal(id, "z3");
	inbox_close(&ib);
}

/* --- paths ------------------------------------------------------------------ */

static void
test_path_checks(void **state)
{
	static const struct {
		const char *label, *path;
		int want;
	} cases[] = {
		{"plain", "/site01/2021/01/a.jpg", 0},
		{"empty", "", 0},
		{"dot-dot at start", "../etc/passwd", -1},
		{"dot-dot inside", "/a/../../b", -1},
		{"dot-dot at end", "/a/..", -1},
		{"dots in a name", "/a/..b/c..", 0},
		{"newline", "/a\nb", -1},
	};
	char reason[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (path_check_rel(cases[i].path, reason, sizeof(reason)) != cases[i].want)
			fail_msg("case \"%s\"", cases[i].label);
	assert_string_equal(path_ext("/a.b/c.JPG"), "JPG");
	assert_string_equal(path_ext("/a.b/c"), "");
	assert_string_equal(path_ext("/a/.hidden"), "");
}

static void
test_dir_open_beneath_refuses_symlinks(void **state)
{
	int rootfd, fd;
	char p[512];

	(void)state;
	snprintf(p, sizeof(p), "%s/site", root);
	assert_int_equal(mkdir(p, 0755), 0);
	rootfd = open(p, O_RDONLY | O_DIRECTORY);
	fd = dir_open_beneath(rootfd, "/x/y/z", true, 0755);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlinkat("/tmp", rootfd, "evil"), 0);
	assert_int_equal(dir_open_beneath(rootfd, "/evil/sub", true, 0755), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(dir_open_beneath(rootfd, "/x/../..", false, 0755), -1);
	close(rootfd);
}

/* --- slots ------------------------------------------------------------------ */

static void
test_slots_bound_and_free_on_death(void **state)
{
	struct slot s1, s2, s3;
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(slots_init(&sp, 2, 1), 0);
	assert_int_equal(slot_acquire(&sp, false, 2, 0, &s1), 0);
	assert_int_equal(slot_acquire(&sp, false, 2, 0, &s2), 0);
	assert_int_equal(slots_busy(&sp, false, 2), 2);
	assert_int_equal(slot_acquire(&sp, false, 2, 20, &s3), -1);
	assert_int_equal(errno, ETIMEDOUT);
	slot_release(&s1);
	assert_int_equal(slot_acquire(&sp, false, 2, 0, &s3), 0);
	slot_release(&s2);
	slot_release(&s3);
	/* a holder that dies frees its slot */
	pid = fork();
	if (pid == 0) {
		struct slot s;
		_exit(slot_acquire(&sp, true, 1, 0, &s) == 0 ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(slots_busy(&sp, true, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_roundtrip),
		cmocka_unit_test(test_ticket_rejects),
		cmocka_unit_test(test_publish_is_idempotent),
		cmocka_unit_test(test_claim_handoff_deliver),
		cmocka_unit_test(test_chain_reuses_the_spare_ticket),
		cmocka_unit_test(test_chain_same_ticket_writes_nothing),
		cmocka_unit_test(test_finished_folder_is_recycled),
		cmocka_unit_test(test_publish_batch),
		cmocka_unit_test(test_handon_with_a_locked_spare),
		cmocka_unit_test(test_finalize_cut_between_renames),
		cmocka_unit_test(test_committed_item_only_delivers),
		cmocka_unit_test(test_fail_temporary_then_permanent),
		cmocka_unit_test(test_recover_dead_but_not_live),
		cmocka_unit_test(test_recover_poison_goes_to_err),
		cmocka_unit_test(test_malformed_items_go_to_err),
		cmocka_unit_test(test_inbox_scan_and_events),
		cmocka_unit_test(test_path_checks),
		cmocka_unit_test(test_dir_open_beneath_refuses_symlinks),
		cmocka_unit_test(test_slots_bound_and_free_on_death),
		cmocka_unit_test(test_item_present_states),
		cmocka_unit_test(test_outbox_is_a_stage),
		cmocka_unit_test(test_stage_set_opens_lazily),
		cmocka_unit_test(test_job_file_names),
		cmocka_unit_test(test_recover_poison_result_survives_kill),
	};

	log_init("test_spool", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
