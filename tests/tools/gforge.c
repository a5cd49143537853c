/*
 * gforge.c - tmc-gforge, a test tool: a worker host that turns bad. It
 * registers the unit function of one head step (tmcwatch-worker(8)),
 * checks each request with the shared secret like a real worker host, and
 * answers with a reply signed with that secret but forged, so tmc-remote's
 * checks of a believed reply are exercised (a signed reply cannot be made
 * any other way). Built, never installed.
 *
 *   tmc-gforge -c config.json -T template -s step -S host:port -m MODE
 *
 * Every step of the unit (the head and the steps below it, in order) says
 * "ok, created 1". MODE php: the head's file is sent with the extension
 * ".php" (the others at their right paths); twice: the head's file twice
 * (other bytes the second time); missing: no file at all for the last step;
 * below: the head's file right, every step below it "failed" (no file).
 * Serves until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libgearman-1.0/gearman.h>

#include "stage.h"

struct gf {
	struct conf conf;
	const struct template *tpl;
	int head;
	const char *mode;
};

/* The file of step j, relative to the root, for a copy step: path_head +
 * tail + out (tests use copy templates only). */
static char *
gf_path(const struct gf *g, size_t j, const struct ticket *h, const char *ext)
{
	const char *head = g->tpl->steps[j].path_head, *tail = ticket_get(h, "tail") ?: "";
	const char *out = ticket_get(h, "out") ?: ticket_get(h, "rel") ?: "";
	char *p = xasprintf("%s/%s/%s", head, tail, out), *dot, *q;

	for (q = p; (q = strstr(q, "//")) != NULL;)
		memmove(q, q + 1, strlen(q));
	if (ext && (dot = strrchr(p, '.')) != NULL)
		*dot = '\0';
	q = ext ? xasprintf("%s.%s", p[0] == '/' ? p + 1 : p, ext)
		: xstrdup(p[0] == '/' ? p + 1 : p);
	free(p);
	return q;
}

static void
gf_file(struct wire_msg *m, size_t *k, const char *path, const char *bytes)
{
	char key[32];

	snprintf(key, sizeof(key), "f_%zu", (*k)++);
	ticket_set(&m->hdr, key, path);
	wire_add(m, key, bytes, strlen(bytes));
}

static void
gf_files(const struct gf *g, struct wire_msg *m, const struct ticket *h, const uint8_t *below)
{
	size_t k = 0, last = 0;
	char *p;

	for (size_t j = 0; j < g->tpl->nsteps; j++)
		if (below[j] || (int)j == g->head)
			last = j;
	for (size_t j = 0; j < g->tpl->nsteps; j++) {
		if (!below[j] && (int)j != g->head)
			continue;
		if ((strcmp(g->mode, "missing") == 0 && j == last) ||
		    (strcmp(g->mode, "below") == 0 && (int)j != g->head))
			continue;
		p = gf_path(g, j, h,
			    (int)j == g->head && strcmp(g->mode, "php") == 0 ? "php" : NULL);
		gf_file(m, &k, p,
			(int)j == g->head && strcmp(g->mode, "php") == 0 ? "<?php evil();\n"
									 : "forged 1\n");
		if ((int)j == g->head && strcmp(g->mode, "twice") == 0)
			gf_file(m, &k, p, "forged 2\n");
		free(p);
	}
	ticket_setf(&m->hdr, "files", "%zu", k);
}

static uint8_t *
gf_reply(const struct gf *g, const struct wire_msg *rq, size_t *len)
{
	const char *key = g->conf.gearman.secret;
	const char *name = ticket_get(&rq->hdr, "name") ?: "";
	uint8_t *below = xcalloc(g->tpl->nsteps, 1), *buf;
	struct wire_msg m;
	size_t n = 0;
	char rk[32];

	route_below(g->tpl, (size_t)g->head, path_ext(name), below, g->tpl->nsteps);
	wire_init(&m, "rep");
	ticket_set(&m.hdr, "v", "1");
	ticket_set(&m.hdr, "id", ticket_get(&rq->hdr, "id") ?: "");
	ticket_setf(&m.hdr, "step", "%d", g->head);
	ticket_set(&m.hdr, "nonce", ticket_get(&rq->hdr, "nonce") ?: "");
	ticket_set(&m.hdr, "host", "forger");
	ticket_setf(&m.hdr, "expires", "%lld", (long long)now_s_real() + 300);
	for (size_t j = 0; j < g->tpl->nsteps; j++) {
		if (!below[j] && (int)j != g->head)
			continue;
		bool fail = strcmp(g->mode, "below") == 0 && (int)j != g->head;

		snprintf(rk, sizeof(rk), "r_%zu", n++);
		ticket_setf(&m.hdr, rk, "%s\t%zu\t%s\t%d\t%d\t%s\t%s\t%s",
			    ticket_get(&rq->hdr, "id") ?: "", j, g->tpl->steps[j].name,
			    fail ? 0 : 1, fail ? 1 : 0, ticket_get(&rq->hdr, "rel") ?: "",
			    fail ? "forged failure" : "", fail ? "failed" : "ok");
	}
	ticket_setf(&m.hdr, "results", "%zu", n);
	gf_files(g, &m, &rq->hdr, below);
	buf = wire_encode(&m, key, strlen(key), len);
	wire_free(&m);
	free(below);
	return buf;
}

static void *
gf_job(gearman_job_st *job, void *ctx, size_t *size, gearman_return_t *ret)
{
	struct gf *g = ctx;
	const char *key = g->conf.gearman.secret;
	struct wire_msg rq;
	char why[256];
	uint8_t *rep = NULL;

	*size = 0;
	*ret = GEARMAN_SUCCESS;
	gearman_job_send_data(job, "started forger", 14);
	if (wire_decode(&rq, gearman_job_workload(job), gearman_job_workload_size(job), "req", key,
			strlen(key), now_s_real(), g->conf.gearman.max_skew, why,
			sizeof(why)) < 0) {
		log_warnx("request refused: %s", why);
		*ret = GEARMAN_WORK_FAIL;
		return NULL;
	}
	rep = gf_reply(g, &rq, size);
	log_info("request %s: a forged reply (%s)", ticket_get(&rq.hdr, "id") ?: "?", g->mode);
	wire_free(&rq);
	return rep;
}

int
main(int argc, char **argv)
{
	struct conf_errors errs = {0};
	const char *cpath = NULL, *tname = NULL, *server = NULL;
	struct gf g = {.head = -1, .mode = "php"};
	gearman_worker_st *w;
	char *fn;
	int ch;

	log_init("tmc-gforge", 0);
	while ((ch = getopt(argc, argv, "c:m:s:S:T:")) != -1) {
		switch (ch) {
		case 'c': cpath = optarg; break;
		case 'm': g.mode = optarg; break;
		case 's': g.head = atoi(optarg); break;
		case 'S': server = optarg; break;
		case 'T': tname = optarg; break;
		default: return 1;
		}
	}
	if (!cpath || !tname || !server || g.head < 0)
		fatalx("usage: tmc-gforge -c config.json -T template -s step -S host:port -m mode");
	if (conf_load(&g.conf, cpath, NULL, &errs) + conf_check(&g.conf, &errs) > 0)
		fatalx("%s", errs.msg[0]);
	if ((g.tpl = conf_template(&g.conf, tname)) == NULL)
		fatalx("no template %s", tname);
	if ((w = gearman_worker_create(NULL)) == NULL)
		fatalx("gearman_worker_create");
	gearman_worker_set_identifier(w, "forger", 6);
	if (gearman_worker_add_servers(w, server) != GEARMAN_SUCCESS)
		fatalx("%s: %s", server, gearman_worker_error(w));
	fn = conf_remote_function(g.tpl, (size_t)g.head, false);
	if (gearman_worker_add_function(w, fn, 0, gf_job, &g) != GEARMAN_SUCCESS)
		fatalx("%s: %s", fn, gearman_worker_error(w));
	for (;;)
		if (gearman_worker_work(w) != GEARMAN_SUCCESS)
			log_warnx("gearman: %s", gearman_worker_error(w));
}
