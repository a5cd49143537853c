/*
 * job.c - one gearman job: the request verified (verify.c), "started
 * <host>" sent back at once (the spool host sees the unit is taken), the
 * unit run through the local spool (unit.c), the signed reply returned
 * (reply.c). Every outcome is a reply: a refusal or a fault is an error
 * reply, never a gearman failure, so the spool host always learns why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gworker.h"

void *
gw_job(gearman_job_st *job, void *ctx, size_t *size, gearman_return_t *ret)
{
	struct gw *g = ctx;
	struct gw_req rq = {.workfd = -1, .lockfd = -1};
	struct gw_result res = {0};
	char started[300];
	uint8_t *reply;

	if (verify_request(g, &rq, gearman_job_workload(job), gearman_job_workload_size(job),
			   &res) < 0) {
		log_warnx("request %s (%s) refused: %s", rq.id ? rq.id : "?",
			  gearman_job_function_name(job), res.error);
	} else {
		snprintf(started, sizeof(started), "started %s", g->host);
		gearman_job_send_data(job, started, strlen(started));
		log_info("request %s: %s step %zu (%s), %s", rq.key, rq.tpl->name, rq.head,
			 rq.tpl->steps[rq.head].name, rq.name);
		unit_run(g, &rq, &res);
	}
	reply = reply_build(g, &rq, &res, size);
	if (rq.workfd >= 0) { /* the reply holds copies: the work goes */
		remote_work_remove(&g->sp, &g->conf, rq.key);
		close(rq.workfd);
		close(rq.lockfd);
	}
	result_free(&res);
	request_free(&rq);
	g->did_job = true;
	*ret = GEARMAN_SUCCESS;
	return reply;
}
