/*
 * fuzz_http.c - libFuzzer harness for what tmc-httpd parses from a client
 * or reads from the spool: json_parse + job_check (+ an inline proc through
 * conf_proc_parse), the urlencoded and multipart body parsers, uploaded
 * file lists, and the readers of TMC's server files (.stat, .result,
 * err/<seq> reports). The first input byte picks the target; the rest is
 * its input. Built and run by tests/integration/49-http-fuzz.t through
 * tests/fuzz/Makefile (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "job.h"

static struct conf conf;

static void
fuzz_conf(void)
{
	static struct site site = {.name = "site01", .root = "/nonexistent/site01"};
	static struct step step = {.name = "A",
				   .source = "hires",
				   .path_head = "/out",
				   .source_ext = "",
				   .source_idx = -1};
	static struct template tpl = {.name = "t1", .steps = &step, .nsteps = 1};

	conf.sites = &site;
	conf.nsites = 1;
	conf.templates = &tpl;
	conf.ntemplates = 1;
}

static void
fuzz_job(const char *s, size_t n)
{
	struct json doc = {0};
	struct conf_errors errs = {0};
	struct template tpl = {0};
	char err[1024];
	int p;

	if (json_parse(&doc, "json", s, n, err, sizeof(err)) == 0) {
		job_check(&conf, &doc, err, sizeof(err));
		if (doc.ntok > 0 && json_is_object(&doc, 0) &&
		    (p = json_get(&doc, 0, "proc")) >= 0) {
			if (conf_proc_parse(&doc, p, "proc", false, &tpl, &errs) == 0)
				conf_template_check(&tpl, "job", &errs);
			conf_template_free(&tpl);
		}
		if (doc.ntok > 0 && json_is_object(&doc, 0) &&
		    (p = json_get(&doc, 0, "hires")) >= 0)
			tmc_truthy(&doc, p);
	}
	conf_errors_free(&errs);
	json_free(&doc);
}

static void
fuzz_forms(int which, const char *s, size_t n)
{
	struct params p = {0};
	struct upload up = {0};
	char err[512], boundary[80];
	const char *nl;

	if (which == 1) {
		form_urlencoded(&p, s, n, err, sizeof(err));
		params_str(&p, "json");
	} else if ((nl = memchr(s, '\n', n)) != NULL) {
		/* first line: a Content-Type value; the rest: the body */
		char *ct = strndup(s, (size_t)(nl - s));

		if (ct && form_boundary(ct, boundary, sizeof(boundary)) == 0 &&
		    form_multipart(&p, &up, "fileupload", nl + 1, n - (size_t)(nl - s) - 1,
				   boundary, err, sizeof(err)) == 0 &&
		    up.present)
			filelist_check(up.data, up.len, err, sizeof(err));
		free(ct);
	}
	params_free(&p);
	upload_free(&up);
}

static void
fuzz_files(int which, const char *s, size_t n)
{
	struct params p = {0};
	struct php_obj o = {0};
	struct strbuf out = {0};
	char *copy;
	FILE *f;

	if (n == 0 || (f = fmemopen((void *)s, n, "r")) == NULL)
		return;
	copy = strndup(s, n);

	params_set(&p, "start", 5, "1", 1);
	params_set(&p, "offset", 6, "2", 1);
	switch (which) {
	case 3: result_seqdetail(f, &o); break;
	case 4: result_list(f, &p, false, &o); break;
	case 5: result_list(f, &p, true, &o); break;
	case 6: result_file(f, "/a.jpg", &o); break;
	case 7: stat_status(copy, &o); break;
	default: {
		char err[512];
		double v;

		filelist_check(s, n, err, sizeof(err));
		php_is_numeric(s, n, &v);
		php_eq(copy, "1");
		php_eq_zero(copy);
		json_quote(&out, copy, true);
	}
	}
	php_encode(&o, &out);
	php_obj_free(&o);
	sb_free(&out);
	params_free(&p);
	fclose(f);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (conf.nsites == 0) {
		log_init("fuzz_http", 0);
		fuzz_conf();
	}
	switch (data[0] % 9) {
	case 0: fuzz_job((const char *)data + 1, size - 1); break;
	case 1:
	case 2: fuzz_forms(data[0] % 9, (const char *)data + 1, size - 1); break;
	default: fuzz_files(data[0] % 9, (const char *)data + 1, size - 1); break;
	}
	return 0;
}
