/*
 * gworker.h - tmc-gworker, a worker host's gearman worker
 * (tmcwatch-worker(8)): takes one signed request at a time from gearmand,
 * runs the remote unit through this host's own spool and stage workers, and
 * returns the unit's result lines and output files in a signed reply.
 *
 *   main.c    arguments, configuration, the loop (work, signals, reconnect)
 *   gear.c    the libgearman worker: servers, identity, functions, TLS
 *   listed.c  whether gearmand still lists it with its functions (idle check)
 *   verify.c  a request believed or refused (MAC, expiry, digest, served)
 *   unit.c    the request through the local spool: work folder, head item,
 *             the unit's result lines waited for on inotify
 *   reply.c   the reply: results and files, or a refusal
 */
#ifndef TMC_GWORKER_H
#define TMC_GWORKER_H

#include <libgearman-1.0/gearman.h>

#include "stage.h"

#define GW_NONCE_MIN 16 /* hex digits of a request's nonce (tmc-remote sends 32) */
#define GW_NONCE_MAX 64

struct gw {
	struct conf conf;
	struct spool sp;
	int sigfd;
	bool stop;
	char host[256]; /* gearman.name or the host name */
	gearman_worker_st *w;
	bool did_job; /* a job was done: connect afresh before the next */
	char **fns;   /* the functions registered (gear.c), for listed.c */
	size_t nfns;
};

/* One request in hand. */
struct gw_req {
	struct wire_msg msg;
	const struct template *tpl;
	size_t head;
	const char *id, *nonce, *name; /* header values (in msg) */
	char key[ITEM_ID_MAX];         /* "<id>-<nonce>": work folder and item id */
	int deadline;                  /* seconds the unit may take here */
	int64_t until_ms;              /* monotonic end of the deadline */
	int workfd, lockfd;            /* remote/<key>/ and its lock */
};

/* The unit's outcome for the reply. */
struct gw_result {
	char **lines; /* result lines, one per step that reported, no '\n' */
	size_t nlines;
	char error[REASON_MAX]; /* set: a refusal or fault, no results */
	bool retry;
};

/* gear.c */
int gear_connect(struct gw *g); /* worker made, servers added, functions registered */
void gear_close(struct gw *g);
/* listed.c: false when a reachable gearmand does not list this host's
 * workers with every function of g->fns (then connect afresh) */
bool gear_listed(const struct gw *g);
/* Does some gearmand list this worker with its functions now? (false too
 * when no listing could be had: only gearmand's own word proves it up) */
bool gear_lists_us(const struct gw *g);

/* verify.c: 0, or -1 with res->error and res->retry set */
int verify_request(struct gw *g, struct gw_req *rq, const void *buf, size_t len,
		   struct gw_result *res);
void request_free(struct gw_req *rq);

/* unit.c: run the unit; fills res (lines or error) */
void unit_run(struct gw *g, struct gw_req *rq, struct gw_result *res);
void result_free(struct gw_result *res);

/* reply.c: the signed reply, malloc'ed */
uint8_t *reply_build(struct gw *g, const struct gw_req *rq, const struct gw_result *res,
		     size_t *len);

/* main.c: SIGTERM/SIGINT/SIGHUP read (sets g->stop) */
void gw_read_signals(struct gw *g);
/* job.c: one job, libgearman's callback (context: the struct gw) */
void *gw_job(gearman_job_st *job, void *ctx, size_t *size, gearman_return_t *ret);

#endif
