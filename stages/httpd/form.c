/*
 * form.c - request parameters: PHP's $_REQUEST as TMC's api.php saw it.
 *
 * The query string arrives already split by libmicrohttpd (server.c feeds
 * it to params_set); bodies are parsed here, whole, from a buffer the
 * server filled up to http.max_body: application/x-www-form-urlencoded
 * and multipart/form-data (the `fileupload` list of a filelist job). Any
 * malformation is an error with a reason, never a partial parse. No I/O:
 * tests/fuzz/fuzz_http.c drives these functions directly.
 *
 * Why not libmicrohttpd's MHD_PostProcessor, which parses both body types
 * incrementally:
 * - MHD_create_post_processor() takes the live MHD_Connection (its
 *   Content-Type decides the format), so it cannot run on bytes alone: the
 *   fuzz harness and its corpus (tests/fuzz) could no longer reach the
 *   parser, which is the part of tmc-httpd that takes hostile input.
 * - A malformed body is only MHD_NO from MHD_post_process() or
 *   MHD_destroy_post_processor(), with no reason, and by then the iterator
 *   has been handed the fields before the fault; TMC's API answers 400
 *   with the reason and acts on no part of such a body.
 * - Nothing would be saved: a job is checked whole before it is queued, so
 *   the body is buffered whole anyway (bounded by http.max_body), and the
 *   iterator hands a value over in pieces (offset, size) that would still
 *   have to be joined into PHP's $_REQUEST here (a repeated key: the last
 *   wins; of the file parts only the one named fileupload is kept, as
 *   $_FILES['fileupload']).
 * TMC's clients send plain field names (act, seq, json, start, offset,
 * val, fileupload), so PHP's name mangling ("a[]" arrays, "a.b" to "a_b")
 * is not reproduced by either parser; a bracketed name stays a literal key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"

#define KEY_MAX 256

int
params_set(struct params *p, const char *key, size_t klen, const char *val, size_t vlen)
{
	for (size_t i = 0; i < p->n; i++) {
		if (strlen(p->v[i].key) == klen && memcmp(p->v[i].key, key, klen) == 0) {
			free(p->v[i].val);
			p->v[i].val = xmalloc(vlen + 1);
			memcpy(p->v[i].val, val, vlen);
			p->v[i].val[vlen] = '\0';
			p->v[i].len = vlen;
			return 0;
		}
	}
	if (p->n >= PARAMS_MAX)
		return -1;
	p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
	p->v[p->n].key = xstrndup(key, klen);
	p->v[p->n].val = xmalloc(vlen + 1);
	memcpy(p->v[p->n].val, val, vlen);
	p->v[p->n].val[vlen] = '\0';
	p->v[p->n].len = vlen;
	p->n++;
	return 0;
}

const char *
params_get(const struct params *p, const char *key, size_t *len)
{
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].key, key) == 0) {
			if (len)
				*len = p->v[i].len;
			return p->v[i].val;
		}
	}
	return NULL;
}

const char *
params_str(const struct params *p, const char *key)
{
	size_t len;
	const char *v = params_get(p, key, &len);

	return v && memchr(v, '\0', len) == NULL ? v : NULL;
}

void
params_free(struct params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].val);
	}
	xfree(&p->v);
	p->n = 0;
}

void
upload_free(struct upload *up)
{
	xfree(&up->filename);
	xfree(&up->data);
	up->len = 0;
	up->present = false;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* urldecode into out (at least n bytes); returns the decoded length */
static size_t
url_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
			 (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	return o;
}

int
form_urlencoded(struct params *p, const char *buf, size_t len, char *err, size_t elen)
{
	const char *s = buf, *end = buf + len;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(pe - s));
		const char *ke = eq ? eq : pe;
		char *k, *v;
		size_t kn, vn;

		if (ke > s) {
			k = xmalloc((size_t)(ke - s) + 1);
			v = xmalloc(eq ? (size_t)(pe - eq) : 1);
			kn = url_decode(s, (size_t)(ke - s), k);
			vn = eq ? url_decode(eq + 1, (size_t)(pe - eq - 1), v) : 0;
			int r = kn > KEY_MAX ? 0 : params_set(p, k, kn, v, vn);
			free(k);
			free(v);
			if (r < 0) {
				snprintf(err, elen, "more than %d parameters", PARAMS_MAX);
				return -1;
			}
		}
		s = pe + 1;
	}
	return 0;
}

int
form_boundary(const char *ctype, char *out, size_t len)
{
	const char *p = ctype;
	size_t n;

	while ((p = strcasestr(p, "boundary=")) != NULL) {
		if (p == ctype || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t')
			break;
		p++;
	}
	if (p == NULL)
		return -1;
	p += strlen("boundary=");
	if (*p == '"') {
		const char *q = strchr(++p, '"');

		if (q == NULL)
			return -1;
		n = (size_t)(q - p);
	} else {
		n = strcspn(p, "; \t");
	}
	if (n < 1 || n > 70 || n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return memchr(out, '\r', n) || memchr(out, '\n', n) ? -1 : 0;
}

/* One parameter of a Content-Disposition value: name="x" or name=x.
 * Returns a malloc'd value or NULL when absent. *bad on a broken quote. */
static char *
disposition_param(const char *v, size_t n, const char *name, bool *bad)
{
	size_t nl = strlen(name);
	const char *end = v + n, *p = v;

	while (p < end) {
		const char *semi;

		/* skip to the next parameter, honouring quotes */
		while (p < end && *p != ';') {
			if (*p == '"') {
				for (p++; p < end && *p != '"'; p++)
					if (*p == '\\' && p + 1 < end)
						p++;
			}
			if (p < end)
				p++;
		}
		if (p >= end)
			return NULL;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		p += nl + 1;
		if (p < end && *p == '"') {
			char *out = xmalloc((size_t)(end - p) + 1), *o = out;

			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				*o++ = *p;
			}
			*o = '\0';
			if (p >= end) {
				*bad = true;
				free(out);
				return NULL;
			}
			return out;
		}
		semi = memchr(p, ';', (size_t)(end - p));
		semi = semi ? semi : end;
		while (semi > p && (semi[-1] == ' ' || semi[-1] == '\t'))
			semi--;
		return xstrndup(p, (size_t)(semi - p));
	}
	return NULL;
}

struct part {
	char *name, *filename;
	const char *data;
	size_t len;
};

/* Headers of one part, [p, end): the Content-Disposition matters. */
static int
part_headers(const char *p, const char *end, struct part *pt, char *err, size_t elen)
{
	while (p < end) {
		const char *nl = memmem(p, (size_t)(end - p), "\r\n", 2);
		const char *le = nl ? nl : end;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		bool bad = false;

		if (colon == NULL) {
			snprintf(err, elen, "multipart: header line without a colon");
			return -1;
		}
		if (colon - p == 19 && strncasecmp(p, "Content-Disposition", 19) == 0) {
			const char *v = colon + 1;

			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			if ((size_t)(le - v) < 9 || strncasecmp(v, "form-data", 9) != 0) {
				snprintf(err, elen, "multipart: a part that is not form-data");
				return -1;
			}
			free(pt->name);
			free(pt->filename);
			pt->name = disposition_param(v, (size_t)(le - v), "name", &bad);
			pt->filename = disposition_param(v, (size_t)(le - v), "filename", &bad);
			if (bad) {
				snprintf(err, elen, "multipart: unterminated quoted parameter");
				return -1;
			}
		}
		p = nl ? nl + 2 : end;
	}
	if (pt->name == NULL) {
		snprintf(err, elen, "multipart: a part without a Content-Disposition name");
		return -1;
	}
	return 0;
}

static int
part_take(struct params *p, struct upload *up, const char *upname, struct part *pt, char *err,
	  size_t elen)
{
	if (pt->filename) { /* $_FILES: only the one we look for is kept */
		if (strcmp(pt->name, upname) != 0)
			return 0;
		upload_free(up);
		up->present = true;
		up->filename = pt->filename;
		pt->filename = NULL;
		up->data = xmalloc(pt->len + 1);
		memcpy(up->data, pt->data, pt->len);
		up->data[pt->len] = '\0';
		up->len = pt->len;
		return 0;
	}
	if (strlen(pt->name) > KEY_MAX)
		return 0;
	if (params_set(p, pt->name, strlen(pt->name), pt->data, pt->len) < 0) {
		snprintf(err, elen, "more than %d parameters", PARAMS_MAX);
		return -1;
	}
	return 0;
}

int
form_multipart(struct params *p, struct upload *up, const char *upname, const char *buf, size_t len,
	       const char *boundary, char *err, size_t elen)
{
	char delim[80];
	const char *end = buf + len, *s;
	size_t dl;

	dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	/* the first delimiter may open the body (no CRLF before it) */
	if (len >= dl - 2 && memcmp(buf, delim + 2, dl - 2) == 0)
		s = buf + dl - 2;
	else if ((s = memmem(buf, len, delim, dl)) != NULL)
		s += dl;
	else {
		snprintf(err, elen, "multipart: no boundary in the body");
		return -1;
	}
	for (;;) {
		struct part pt = {0};
		const char *hend, *next;
		int r;

		if (end - s >= 2 && s[0] == '-' && s[1] == '-')
			return 0; /* close delimiter; the epilogue is ignored */
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (end - s < 2 || s[0] != '\r' || s[1] != '\n') {
			snprintf(err, elen, "multipart: no line break after a boundary");
			return -1;
		}
		s += 2;
		if (end - s >= 2 && s[0] == '\r' && s[1] == '\n')
			hend = s; /* a part with no headers */
		else if ((hend = memmem(s, (size_t)(end - s), "\r\n\r\n", 4)) == NULL) {
			snprintf(err, elen, "multipart: part headers do not end");
			return -1;
		} else
			hend += 2;
		if ((next = memmem(hend + 2, (size_t)(end - hend - 2), delim, dl)) == NULL) {
			snprintf(err, elen, "multipart: body ends before the closing boundary");
			return -1;
		}
		r = part_headers(s, hend, &pt, err, elen);
		pt.data = hend + 2;
		pt.len = (size_t)(next - pt.data);
		if (r == 0)
			r = part_take(p, up, upname, &pt, err, elen);
		free(pt.name);
		free(pt.filename);
		if (r < 0)
			return -1;
		s = next + dl;
	}
}

int
filelist_check(const char *data, size_t len, char *err, size_t elen)
{
	const char *p = data, *end = data + len;
	char reason[512];
	long line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p;
		size_t n = (size_t)(le - p);
		char *rel;

		line++;
		p = nl ? nl + 1 : end;
		tmc_trim(&s, &n);
		if (n == 0)
			continue;
		if (memchr(s, '\0', n)) {
			snprintf(err, elen, "fileupload line %ld: contains a NUL byte", line);
			return -1;
		}
		rel = xstrndup(s, n);
		int r = path_check_rel(rel, reason, sizeof(reason));
		free(rel);
		if (r < 0) {
			snprintf(err, elen, "fileupload line %ld: %s", line, reason);
			return -1;
		}
	}
	return 0;
}
