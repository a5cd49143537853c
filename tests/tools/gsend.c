/*
 * gsend.c - tmc-gsend, a test tool: one request of tmcwatch-worker(8)'s
 * protocol sent through gearmand as a spool host would send it, and the
 * reply written out. Built, never installed.
 *
 *   tmc-gsend -c config.json -T template -s step -f original -o outdir
 *             [-S server] [-i id] [-r rel] [-p site] [-w wait-seconds] [-b]
 *             [-K other-secret] [-E] [-D] [-R] [-F function] [-M max-reply]
 *
 * -K signs with another secret, -E sends an expired request, -D a wrong
 * template digest (the site digest is taken of config.json's site -p and the
 * files it names, so a copy of the config with another watermark file sends
 * another one), -R the original's bytes unsigned (no message at all),
 * -M sends a max_reply header (the reply's cap in bytes),
 * -F sends through another gearman function than the step's (a header
 * naming a step the worker does not serve), -b the ":big" function; -r the ticket's rel and out
 * (default "/<name>"). outdir/header is the reply's header (the ticket's key=value text),
 * outdir/files/<f.k> its files, outdir/data what the worker sent while working ("started <host>").
 * Exit 0: a reply that passed wire_decode with our secret and echoes our nonce; 1: usage or input;
 * 2: no reply (gearmand, timeout); 3: a reply not believed.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libgearman-1.0/gearman.h>

#include "stage.h"

struct gs {
	const char *cpath, *tname, *file, *outdir, *server, *id, *rel, *site, *secret, *fn,
		*max_reply;
	int step, wait_s;
	bool big, expired, bad_digest, raw;
	struct conf conf;
	const struct template *tpl;
	char nonce[33];
};

static void
gs_args(struct gs *g, int argc, char **argv)
{
	int ch;

	g->step = -1;
	g->wait_s = 120;
	g->id = "gsend1";
	while ((ch = getopt(argc, argv, "bc:DF:f:Ei:K:M:o:p:r:Rs:S:T:w:")) != -1) {
		switch (ch) {
		case 'b': g->big = true; break;
		case 'c': g->cpath = optarg; break;
		case 'D': g->bad_digest = true; break;
		case 'F': g->fn = optarg; break;
		case 'E': g->expired = true; break;
		case 'f': g->file = optarg; break;
		case 'i': g->id = optarg; break;
		case 'K': g->secret = optarg; break;
		case 'M': g->max_reply = optarg; break;
		case 'o': g->outdir = optarg; break;
		case 'p': g->site = optarg; break;
		case 'r': g->rel = optarg; break;
		case 'R': g->raw = true; break;
		case 's': g->step = atoi(optarg); break;
		case 'S': g->server = optarg; break;
		case 'T': g->tname = optarg; break;
		case 'w': g->wait_s = atoi(optarg); break;
		default: exit(1);
		}
	}
	if (!g->cpath || !g->tname || g->step < 0 || !g->file || !g->outdir)
		fatalx("usage: tmc-gsend -c config.json -T template -s step -f original -o outdir");
}

/* The signed request, as tmcwatch-worker(8) says. */
static uint8_t *
gs_request(struct gs *g, const void *src, size_t srclen, size_t *len)
{
	const char *name = strrchr(g->file, '/') ? strrchr(g->file, '/') + 1 : g->file;
	const char *key = g->secret ? g->secret : g->conf.gearman.secret;
	struct wire_msg m;
	char digest[65];
	uint8_t rnd[16], *buf;
	long long now = now_s_real();

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("getrandom");
	for (int i = 0; i < 16; i++)
		snprintf(g->nonce + 2 * i, 3, "%02x", rnd[i]);
	conf_template_digest(g->tpl, digest);
	if (g->bad_digest)
		digest[0] = digest[0] == '0' ? '1' : '0';
	wire_init(&m, "req");
	ticket_set(&m.hdr, "v", "1");
	ticket_set(&m.hdr, "id", g->id);
	ticket_set(&m.hdr, "template", g->tname);
	ticket_setf(&m.hdr, "step", "%d", g->step);
	ticket_set(&m.hdr, "digest", digest);
	conf_site_digest(&g->conf, g->site, digest);
	ticket_set(&m.hdr, "site_digest", digest);
	ticket_set(&m.hdr, "version", TMC_VERSION);
	ticket_set(&m.hdr, "nonce", g->nonce);
	ticket_setf(&m.hdr, "expires", "%lld", g->expired ? now - 3600 : now + g->wait_s);
	ticket_setf(&m.hdr, "deadline", "%d", g->wait_s);
	ticket_set(&m.hdr, "name", name);
	/* TMC's rel begins with "/" (a file beneath the job's folder) */
	if (g->rel)
		ticket_set(&m.hdr, "rel", g->rel);
	else
		ticket_setf(&m.hdr, "rel", "/%s", name);
	ticket_set(&m.hdr, "out", ticket_get(&m.hdr, "rel"));
	ticket_set(&m.hdr, "tail", "");
	if (g->site)
		ticket_set(&m.hdr, "site", g->site);
	if (g->max_reply)
		ticket_set(&m.hdr, "max_reply", g->max_reply);
	wire_add(&m, "src", src, srclen);
	buf = wire_encode(&m, key, strlen(key), len);
	wire_free(&m);
	return buf;
}

/* libgearman 1.1 hands the job's data packets to gearman_client_do()'s
 * caller in front of the result, in one buffer: "started <host>" first,
 * then the reply, which begins with WIRE_MAGIC. */
static void
strip_data(FILE *data, char *out, size_t *len)
{
	const char *at = memmem(out, *len, WIRE_MAGIC " ", strlen(WIRE_MAGIC) + 1);
	size_t off = at ? (size_t)(at - out) : 0;

	if (off == 0)
		return;
	fprintf(data, "%.*s\n", (int)off, out);
	memmove(out, at, *len - off);
	*len -= off;
}

/* gearman_client_do, again after each WORK_DATA (kept in outdir/data). */
static void *
gs_do(struct gs *g, const void *req, size_t reqlen, size_t *replen)
{
	gearman_client_st *c = gearman_client_create(NULL);
	char *fn = g->fn ? xstrdup(g->fn) : conf_remote_function(g->tpl, (size_t)g->step, g->big);
	char unique[200], path[4096];
	gearman_return_t r;
	void *out;
	FILE *data;

	snprintf(path, sizeof(path), "%s/data", g->outdir);
	if (c == NULL || (data = fopen(path, "w")) == NULL)
		fatal("gearman client or %s", path);
	snprintf(unique, sizeof(unique), "%s:%d", g->id, g->step);
	gearman_client_set_timeout(c, g->wait_s * 1000);
	if (g->server)
		gearman_client_add_servers(c, g->server);
	for (size_t i = 0; !g->server && i < g->conf.gearman.nservers; i++)
		gearman_client_add_servers(c, g->conf.gearman.servers[i]);
	do {
		out = gearman_client_do(c, fn, unique, req, reqlen, replen, &r);
		if (r == GEARMAN_WORK_DATA && out) {
			fprintf(data, "%.*s\n", (int)*replen, (char *)out);
			free(out);
			out = NULL;
		}
	} while (r == GEARMAN_WORK_DATA || r == GEARMAN_WORK_STATUS);
	if (r == GEARMAN_SUCCESS && out)
		strip_data(data, out, replen);
	if (r != GEARMAN_SUCCESS)
		log_warnx("%s: %s", fn, gearman_client_error(c));
	fclose(data);
	free(fn);
	gearman_client_free(c);
	return r == GEARMAN_SUCCESS ? out : NULL;
}

static int
gs_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	int r = f && fwrite(data, 1, len, f) == len ? 0 : -1;

	if (f && fclose(f) != 0)
		r = -1;
	if (r < 0)
		log_warn("%s", path);
	return r;
}

/* Header to outdir/header, part f.<k> to outdir/files/<header f.<k>>. */
static int
gs_save(struct gs *g, const uint8_t *rep, size_t len)
{
	const char *key = g->conf.gearman.secret; /* the worker's, whatever -K signed */
	char reason[256], path[4096], name[32], why[256], *hdr, *slash;
	struct wire_msg m;
	size_t hlen;
	int r = 0;

	if (wire_decode(&m, rep, len, "rep", key, strlen(key), now_s_real(),
			g->conf.gearman.max_skew, reason, sizeof(reason)) < 0) {
		log_warnx("reply not believed: %s", reason);
		return 3;
	}
	hdr = ticket_format(&m.hdr, &hlen);
	snprintf(path, sizeof(path), "%s/header", g->outdir);
	gs_write(path, hdr, hlen);
	free(hdr);
	if (strcmp(ticket_get(&m.hdr, "nonce") ?: "", g->nonce) != 0) {
		log_warnx("reply's nonce is not ours");
		r = 3;
	}
	for (long long k = 0; r == 0 && k < ticket_get_ll(&m.hdr, "files", 0); k++) {
		const struct wire_part *p;
		const char *rel;

		snprintf(name, sizeof(name), "f_%lld", k);
		if ((rel = ticket_get(&m.hdr, name)) == NULL || (p = wire_get(&m, name)) == NULL ||
		    path_check_rel(rel, why, sizeof(why)) < 0) {
			log_warnx("reply's %s is missing or unsafe", name);
			r = 3;
			break;
		}
		snprintf(path, sizeof(path), "%s/files/%s", g->outdir, rel);
		if ((slash = strrchr(path, '/')) != NULL) {
			*slash = '\0';
			mkdir_p(path, 0755);
			*slash = '/';
		}
		if (gs_write(path, p->data, p->len) < 0)
			r = 1;
	}
	wire_free(&m);
	return r;
}

int
main(int argc, char **argv)
{
	struct conf_errors errs = {0};
	struct gs g = {0};
	uint8_t *req, *rep;
	char *src;
	size_t srclen, reqlen, replen;
	int r;

	log_init("tmc-gsend", 0);
	gs_args(&g, argc, argv);
	if (conf_load(&g.conf, g.cpath, NULL, &errs) + conf_check(&g.conf, &errs) > 0)
		fatalx("%s", errs.msg[0]);
	if ((g.tpl = conf_template(&g.conf, g.tname)) == NULL)
		fatalx("no template %s", g.tname);
	if ((src = file_read_at(AT_FDCWD, g.file, (size_t)1 << 34, &srclen)) == NULL)
		fatal("%s", g.file);
	mkdir_p(g.outdir, 0755);
	if (g.raw) {
		req = (uint8_t *)xstrdup("not a message");
		reqlen = strlen((char *)req);
	} else {
		req = gs_request(&g, src, srclen, &reqlen);
	}
	rep = gs_do(&g, req, reqlen, &replen);
	r = rep ? gs_save(&g, rep, replen) : 2;
	free(rep);
	free(req);
	free(src);
	conf_free(&g.conf);
	return r;
}
