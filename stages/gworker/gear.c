/*
 * gear.c - the libgearman worker of tmc-gworker: every server of
 * gearman.servers, this host's name as its identifier (gearmand's `workers`
 * admin listing shows it), one function per remote unit this host serves
 * ("tmcwatch:<template>:<NN>", and its ":big" twin with gearman.big), and a
 * 1 s timeout on each wait so that main.c reads its signals in time.
 *
 * TLS (gearman.tls): libgearman 1.1.20 declares gearman_worker_set_ssl()
 * but exports it only when built with an SSL library (--enable-ssl,
 * OpenSSL or wolfSSL); Debian's and EPEL's are built without. It is looked
 * up at run time (dlsym), so one binary works with either library; without
 * it the key is refused at start, never silently sent in clear.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "gworker.h"

#define WAIT_MS 1000

typedef void set_ssl_fn(gearman_worker_st *, bool, const char *, const char *, const char *);

/* libgearman's gearman_worker_set_ssl, or NULL: built without TLS. */
static set_ssl_fn *
tls_setter(void)
{
	set_ssl_fn *fn;

	*(void **)&fn = dlsym(RTLD_DEFAULT, "gearman_worker_set_ssl");
	return fn;
}

static int
gear_functions(struct gw *g)
{
	int n = 0;

	for (size_t t = 0; t < g->conf.ntemplates; t++) {
		const struct template *tpl = &g->conf.templates[t];

		for (size_t j = 0; j < tpl->nsteps; j++) {
			if (!conf_remote_head(&g->conf, tpl, j))
				continue;
			for (int big = 0; big <= (g->conf.gearman.big ? 1 : 0); big++) {
				char *fn = conf_remote_function(tpl, j, big);
				gearman_return_t r =
					gearman_worker_add_function(g->w, fn, 0, gw_job, g);

				if (r != GEARMAN_SUCCESS) {
					log_warnx("gearman function %s: %s", fn,
						  gearman_worker_error(g->w));
					free(fn);
					continue;
				}
				log_debug("serving %s", fn);
				n++;
				g->fns = xreallocarray(g->fns, g->nfns + 1, sizeof(*g->fns));
				g->fns[g->nfns++] = fn; /* listed.c looks for it */
			}
		}
	}
	return n;
}

int
gear_connect(struct gw *g)
{
	const struct gearman_conf *gc = &g->conf.gearman;

	if (gc->tls && tls_setter() == NULL) {
		log_errx("gearman.tls is true, but this libgearman was built without TLS "
			 "(it has no gearman_worker_set_ssl): refusing to talk to gearmand in "
			 "clear");
		exit(EX_CONFIG);
	}
	if ((g->w = gearman_worker_create(NULL)) == NULL)
		fatalx("gearman_worker_create: out of memory");
	gearman_worker_set_timeout(g->w, WAIT_MS);
	if (gc->tls)
		tls_setter()(g->w, true, NULL, NULL, NULL); /* certificates: libgearman's
							     * GEARMAND_CA_CERTIFICATE... */
	if (gearman_worker_set_identifier(g->w, g->host, strlen(g->host)) != GEARMAN_SUCCESS)
		log_warnx("gearman identifier %s: %s", g->host, gearman_worker_error(g->w));
	for (size_t i = 0; i < gc->nservers; i++)
		if (gearman_worker_add_servers(g->w, gc->servers[i]) != GEARMAN_SUCCESS) {
			log_warnx("gearman server %s: %s", gc->servers[i],
				  gearman_worker_error(g->w));
			gear_close(g);
			return -1;
		}
	if (gear_functions(g) == 0) {
		log_warnx("no remote unit to serve (gearman.templates and gearman.steps name "
			  "none here)");
		gear_close(g);
		return -1;
	}
	return 0;
}

void
gear_close(struct gw *g)
{
	if (g->w)
		gearman_worker_free(g->w);
	g->w = NULL;
	for (size_t i = 0; i < g->nfns; i++)
		free(g->fns[i]);
	free(g->fns);
	g->fns = NULL;
	g->nfns = 0;
}
