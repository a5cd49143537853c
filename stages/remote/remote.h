/*
 * remote.h - tmc-remote's parts (tmc-remote(8)): gearmand's admin port and
 * the in-flight cap (gear.c), one request sent and its reply awaited
 * (call.c), the request (request.c), the reply checked and applied
 * (apply.c), and the status file run/remote/<pid> (status.c).
 */
#ifndef TMC_REMOTE_H
#define TMC_REMOTE_H

#include "stage.h"

#define REMOTE_HOST_MAX 128
/* seconds a worker host has to take a job (its "started" packet) */
#define REMOTE_START_WAIT_S 30

/* A worker host's name as shown in status: [A-Za-z0-9._:-]{1,127}. */
bool remote_host_ok(const char *s, size_t n);

/* gear.c */
struct gear_pick {
	char server[256]; /* "host:port" chosen */
	int capfd;        /* the flock'ed cap slot held while in flight, or -1 */
};
/* Has some server a worker registered for fn with room for one more job
 * (gearmand's `status`, cached ~1 s)? */
bool gear_has_worker(const struct conf *conf, const char *fn);
/* The first server that has a worker for fn and a free cap slot (of
 * max_per_server), the slot taken. 0, or -1 none. */
int gear_pick(const struct conf *conf, const struct spool *sp, const char *fn,
	      struct gear_pick *pk);
void gear_release(struct gear_pick *pk);

/* call.c: gearman.tls on: find libgearman's client TLS call; -1 this
 * libgearman has none (built without an SSL library). */
int gear_tls_init(bool tls);
/* call.c: submit req as fn with unique to server and wait up to
 * deadline_s after the last packet. 0 with *rep (malloc'ed) and *replen;
 * -1 with reason (a fault: unreachable, timed out, the job failed); -3 a
 * reply over max_reply (the same would come again: declined); -2 a
 * SIGTERM or SIGINT is pending (given up, the program stops). *host is set from the
 * early "started <host>" packet when it comes. */
int gear_call(const char *server, const char *fn, const char *unique, const void *req,
	      size_t reqlen, int deadline_s, long max_reply, uint8_t **rep, size_t *replen,
	      char *host, size_t hlen, char *reason, size_t rlen);

/* request.c: the signed request for ctx's item (remote-protocol: "req"),
 * reading the original from fd. NULL with reason, errno set. */
uint8_t *request_build(struct stage_ctx *ctx, int fd, long long size, const char *nonce,
		       int deadline_s, size_t *len);

/* apply.c: check the reply and apply it under the claim. */
enum stage_rc reply_apply(struct stage_ctx *ctx, const uint8_t *buf, size_t len, const char *nonce,
			  char *host, size_t hlen);
/* apply_files.c: write the reply's files (f.<k>) for the unit's steps */
struct unit_step {
	int idx;
	bool in_unit, has_line;
	struct result_line rl;
	char *line;  /* the line's storage (result_parse splits it) */
	char *fixed; /* rl.reason with the worker host's work path replaced */
	int skipped_files, written_files;
	int nfiles; /* reply files at this step's output path */
};
int apply_files(struct stage_ctx *ctx, const struct wire_msg *m, struct unit_step *us,
		bool check_only);

/* status.c */
void rstatus_init(const struct spool *sp);
/* A unit for host: begun (inflight 1), or ended done or failed. */
void rstatus_begin(const char *host, const char *fn);
void rstatus_end(const char *host, const char *fn, bool ok);
/* A unit ended with no signed reply: nothing in flight, nobody counted. */
void rstatus_idle(void);
void rstatus_fini(void);

/* reply_key.c: header key "<p>.<k>" of the reply, or "<p>_<k>" (a ticket key
 * cannot hold a '.'; both spellings are read), its value or NULL; with
 * part, the part of the same name. */
const char *reply_key(const struct wire_msg *m, char p, long long k, const struct wire_part **part);

/* The secret as bytes. */
const char *remote_secret(const struct conf *conf, size_t *len);

#endif
