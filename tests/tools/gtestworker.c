/*
 * gtestworker.c - tmc-gtestworker, a test tool: a stand-in worker host for
 * tmc-remote's tests that answers remote units of "copy" and "pass" steps
 * (the output of a copy is the original's bytes), so that the spool host's
 * side (request, reply, checks, writes, faults) is tested with real
 * gearmand and real messages. It is NOT the worker host (tmcwatch worker,
 * tmc-gworker): it runs no stage and no spool.
 *
 *   tmc-gtestworker -c config.json -t template.json [-n name] [-H]
 *
 * Registers every remote unit's function of its config with each server.
 * Its own secret and template digest are its config's: a wrong secret or
 * another template give the replies a real worker host would give. -H
 * holds every job after "started <name>" (never replies), for kill tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libgearman-1.0/gearman.h>

#include "stage.h"

static struct conf conf;
static const char *name = "testhost";
static bool hold;

static void *
reply_encode(struct wire_msg *r, const struct wire_msg *q, size_t *size)
{
	const char *s = conf.gearman.secret ?: "";

	ticket_set(&r->hdr, "v", "1");
	ticket_set(&r->hdr, "id", ticket_get(&q->hdr, "id") ?: "");
	ticket_set(&r->hdr, "step", ticket_get(&q->hdr, "step") ?: "");
	ticket_set(&r->hdr, "nonce", ticket_get(&q->hdr, "nonce") ?: "");
	ticket_set(&r->hdr, "host", name);
	ticket_setf(&r->hdr, "expires", "%lld", (long long)now_s_real() + 300);
	return wire_encode(r, s, strlen(s), size);
}

static void *
refuse(const struct wire_msg *q, const char *why, int retry, size_t *size)
{
	struct wire_msg r;
	void *out;

	wire_init(&r, "rep");
	ticket_set(&r.hdr, "error", why);
	ticket_setf(&r.hdr, "retry", "%d", retry);
	out = reply_encode(&r, q, size);
	wire_free(&r);
	return out;
}

/* One copy/pass step's line and file. */
static void
unit_step(struct wire_msg *r, const struct wire_msg *q, const struct template *tpl, size_t j,
	  const struct wire_part *src, int *nf, int *nr)
{
	const struct step *s = &tpl->steps[j];
	const char *tail = ticket_get(&q->hdr, "tail") ?: "";
	const char *out = ticket_get(&q->hdr, "out") ?: ticket_get(&q->hdr, "rel") ?: "";
	char key[32], path[4096];
	bool copy = s->kind == STEP_COPY && s->save;

	path_join(path, sizeof(path), "", s->path_head, tail, out);
	if (copy) {
		snprintf(key, sizeof(key), "f_%d", (*nf)++);
		ticket_set(&r->hdr, key, path);
		wire_add(r, key, src->data, src->len);
	}
	snprintf(key, sizeof(key), "r_%d", (*nr)++);
	ticket_setf(&r->hdr, key, "%s\t%zu\t%s\t%d\t0\t%s\t\t%s", ticket_get(&q->hdr, "id"), j,
		    s->name, copy ? 1 : 0, ticket_get(&q->hdr, "rel") ?: "", copy ? "ok" : "ok");
}

static void *
answer(const struct wire_msg *q, size_t *size)
{
	const struct template *tpl = conf_template(&conf, ticket_get(&q->hdr, "template") ?: "");
	long long head = ticket_get_ll(&q->hdr, "step", -1);
	const struct wire_part *src = wire_get(q, "src");
	char digest[65];
	struct wire_msg r;
	uint8_t *below;
	int nf = 0, nr = 0;
	void *out;

	if (tpl == NULL || head < 0 || (size_t)head >= tpl->nsteps || src == NULL)
		return refuse(q, "not served here", 0, size);
	conf_template_digest(tpl, digest);
	if (strcmp(digest, ticket_get(&q->hdr, "digest") ?: "") != 0)
		return refuse(q, "template digest differs", 0, size);
	below = xcalloc(tpl->nsteps, 1);
	route_below(tpl, (size_t)head, path_ext(ticket_get(&q->hdr, "name") ?: ""), below,
		    tpl->nsteps);
	below[head] = 1;
	wire_init(&r, "rep");
	for (size_t j = 0; j < tpl->nsteps; j++)
		if (below[j])
			unit_step(&r, q, tpl, j, src, &nf, &nr);
	ticket_setf(&r.hdr, "results", "%d", nr);
	ticket_setf(&r.hdr, "files", "%d", nf);
	out = reply_encode(&r, q, size);
	wire_free(&r);
	free(below);
	return out;
}

static void *
job_fn(gearman_job_st *job, void *ctx, size_t *size, gearman_return_t *ret)
{
	const char *s = conf.gearman.secret ?: "";
	char reason[REASON_MAX], started[200];
	struct wire_msg q;
	void *out;

	(void)ctx;
	snprintf(started, sizeof(started), "started %s", name);
	gearman_job_send_data(job, started, strlen(started));
	while (hold)
		pause();
	*ret = GEARMAN_SUCCESS;
	if (wire_decode(&q, gearman_job_workload(job), gearman_job_workload_size(job), "req", s,
			strlen(s), now_s_real(), conf.gearman.max_skew, reason,
			sizeof(reason)) < 0) {
		fprintf(stderr, "tmc-gtestworker: request refused: %s\n", reason);
		wire_init(&q, "req");
		out = refuse(&q, reason, 0, size);
	} else {
		out = answer(&q, size);
	}
	wire_free(&q);
	return out;
}

static void
add_functions(gearman_worker_st *w)
{
	for (size_t t = 0; t < conf.ntemplates; t++)
		for (size_t j = 0; j < conf.templates[t].nsteps; j++) {
			char *fn;

			if (!conf_remote_head(&conf, &conf.templates[t], j))
				continue;
			fn = conf_remote_function(&conf.templates[t], j, false);
			gearman_worker_add_function(w, fn, 0, job_fn, NULL);
			free(fn);
		}
}

int
main(int argc, char **argv)
{
	const char *cpath = NULL, *tpath = NULL;
	gearman_worker_st *w;
	int ch;

	while ((ch = getopt(argc, argv, "c:t:n:H")) != -1)
		switch (ch) {
		case 'c': cpath = optarg; break;
		case 't': tpath = optarg; break;
		case 'n': name = optarg; break;
		case 'H': hold = true; break;
		default: return 64;
		}
	log_init("tmc-gtestworker", 0);
	if (cpath == NULL || conf_load_logged(&conf, cpath, tpath) > 0)
		return 78;
	w = gearman_worker_create(NULL);
	for (size_t i = 0; i < conf.gearman.nservers; i++) {
		char host[256], *colon;

		snprintf(host, sizeof(host), "%s", conf.gearman.servers[i]);
		colon = strrchr(host, ':');
		if (colon)
			*colon = '\0';
		gearman_worker_add_server(w, host, colon ? (in_port_t)atoi(colon + 1) : 4730);
	}
	gearman_worker_set_identifier(w, name, strlen(name));
	add_functions(w);
	for (;;)
		if (gearman_worker_work(w) != GEARMAN_SUCCESS)
			fprintf(stderr, "tmc-gtestworker: %s\n", gearman_worker_error(w)), sleep(1);
}
