/*
 * wire.c - the signed message between a spool host and a worker host.
 *
 * gearmand passes bytes between anyone who can reach its port, so nothing
 * in a message is read before its MAC is checked with the shared secret,
 * and a message past its "expires" is refused: a captured request cannot
 * be replayed later, a captured reply cannot be passed off for another
 * item (the header names it). The framing is lengths, not separators, so
 * an original's bytes need no escaping; the header reuses the ticket's
 * strict key=value text (ticket.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

#define MAC_LINE_LEN (4 + 2 * SHA256_LEN + 1) /* "MAC " hex "\n" */

void
wire_init(struct wire_msg *m, const char *kind)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->kind, sizeof(m->kind), "%s", kind);
}

void
wire_add(struct wire_msg *m, const char *name, const void *data, size_t len)
{
	struct wire_part *p;

	m->parts = xreallocarray(m->parts, m->nparts + 1, sizeof(*m->parts));
	p = &m->parts[m->nparts++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->data = data;
	p->len = len;
	p->slot = NULL;
}

/* The message up to its MAC line in one buffer (room left for that line),
 * the signed length in *body. A part with no data (wire_add's NULL) gets
 * its place in out[i].slot, left for the caller; out NULL: every part has
 * its data. */
static uint8_t *
lay_out(const struct wire_msg *m, struct wire_part *out, size_t *body)
{
	size_t hlen, total, off;
	char *hdr = ticket_format(&m->hdr, &hlen), line[128];
	uint8_t *buf;
	int n = snprintf(line, sizeof(line), WIRE_MAGIC " %s %zu %zu\n", m->kind, hlen, m->nparts);

	total = (size_t)n + hlen + MAC_LINE_LEN;
	for (size_t i = 0; i < m->nparts; i++)
		total += strlen(m->parts[i].name) + 1 + 24 + m->parts[i].len;
	buf = xmalloc(total + 1); /* the last sprintf's NUL */
	memcpy(buf, line, (size_t)n);
	memcpy(buf + n, hdr, hlen);
	off = (size_t)n + hlen;
	for (size_t i = 0; i < m->nparts; i++) {
		off += (size_t)sprintf((char *)buf + off, "%s\n%zu\n", m->parts[i].name,
				       m->parts[i].len);
		if (m->parts[i].data == NULL && out != NULL)
			out[i].slot = buf + off;
		else if (m->parts[i].len)
			memcpy(buf + off, m->parts[i].data, m->parts[i].len);
		off += m->parts[i].len;
	}
	free(hdr);
	*body = off;
	return buf;
}

uint8_t *
wire_layout(struct wire_msg *m, size_t *body)
{
	return lay_out(m, m->parts, body);
}

uint8_t *
wire_seal(uint8_t *buf, size_t body, const void *key, size_t klen, size_t *len)
{
	uint8_t mac[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	hmac_sha256(key, klen, buf, body, mac);
	sha256_hex(mac, hex);
	*len = body + (size_t)sprintf((char *)buf + body, "MAC %s\n", hex);
	return buf;
}

uint8_t *
wire_encode(const struct wire_msg *m, const void *key, size_t klen, size_t *len)
{
	size_t body;
	uint8_t *buf = lay_out(m, NULL, &body);

	return wire_seal(buf, body, key, klen, len);
}

/* Equal in time independent of where they differ. */
static bool
mac_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The MAC line at the end of buf, checked; the signed length in *body. */
static int
wire_check_mac(const uint8_t *buf, size_t len, const void *key, size_t klen, size_t *body)
{
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	const uint8_t *h;

	if (len < MAC_LINE_LEN)
		return -1;
	*body = len - MAC_LINE_LEN;
	h = buf + *body;
	if (memcmp(h, "MAC ", 4) != 0 || h[MAC_LINE_LEN - 1] != '\n')
		return -1;
	for (size_t i = 0; i < SHA256_LEN; i++) {
		int hi = hexval(h[4 + 2 * i]), lo = hexval(h[5 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -1;
		got[i] = (uint8_t)(hi << 4 | lo);
	}
	hmac_sha256(key, klen, buf, *body, want);
	return mac_equal(want, got, SHA256_LEN) ? 0 : -1;
}

/* A decimal size ending in end (one of " \n"), advancing *p. */
static int
read_size(const uint8_t **p, const uint8_t *lim, char end, size_t *out)
{
	size_t v = 0;
	int digits = 0;

	while (*p < lim && **p >= '0' && **p <= '9' && digits < 15) {
		v = v * 10 + (size_t)(**p - '0');
		(*p)++;
		digits++;
	}
	if (digits == 0 || *p >= lim || **p != end)
		return -1;
	(*p)++;
	*out = v;
	return 0;
}

static bool
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > WIRE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && !strchr("._:-", s[i]))
			return false;
	return true;
}

static int
wire_parts(struct wire_msg *m, const uint8_t *p, const uint8_t *lim, size_t nparts)
{
	for (size_t i = 0; i < nparts; i++) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(lim - p));
		size_t len;

		if (nl == NULL || !name_ok((const char *)p, (size_t)(nl - p)))
			return -1;
		struct wire_part part = {.len = 0};

		memcpy(part.name, p, (size_t)(nl - p));
		p = nl + 1;
		if (read_size(&p, lim, '\n', &len) < 0 || len > (size_t)(lim - p))
			return -1;
		m->parts = xreallocarray(m->parts, m->nparts + 1, sizeof(*m->parts));
		part.data = p;
		part.len = len;
		m->parts[m->nparts++] = part;
		p += len;
	}
	return p == lim ? 0 : -1;
}

int
wire_decode(struct wire_msg *m, const uint8_t *buf, size_t len, const char *kind, const void *key,
	    size_t klen, long long now, int max_skew, char *reason, size_t rlen)
{
	const uint8_t *p = buf, *lim;
	size_t body, hlen, nparts;
	long long expires;

	wire_init(m, kind);
	reason[0] = '\0';
	if (wire_check_mac(buf, len, key, klen, &body) < 0) {
		snprintf(reason, rlen, "not signed with our secret (or not a tmcwatch message)");
		return -1;
	}
	lim = buf + body;
	if (body < 10 || memcmp(p, WIRE_MAGIC " ", 6) != 0 || memcmp(p + 6, kind, 3) != 0 ||
	    p[9] != ' ') {
		snprintf(reason, rlen, "not a " WIRE_MAGIC " %s message", kind);
		return -1;
	}
	p += 10;
	if (read_size(&p, lim, ' ', &hlen) < 0 || read_size(&p, lim, '\n', &nparts) < 0 ||
	    hlen > (size_t)(lim - p) ||
	    ticket_parse(&m->hdr, (const char *)p, hlen, reason, rlen) < 0 ||
	    wire_parts(m, p + hlen, lim, nparts) < 0) {
		if (reason[0] == '\0')
			snprintf(reason, rlen, "malformed %s message", kind);
		wire_free(m);
		return -1;
	}
	expires = ticket_get_ll(&m->hdr, "expires", -1);
	/* a day ahead at most (beyond the skew): a far-future expiry would never
	 * expire, and "expires + max_skew" could overflow; now - expires cannot */
	if (expires >= 0 && expires - now > 86400LL + max_skew) {
		snprintf(reason, rlen, "expires %lld s ahead, more than a day", expires - now);
		wire_free(m);
		return -1;
	}
	if (expires < 0 || now - expires > (long long)max_skew) {
		snprintf(reason, rlen, "expired %lld s ago (or no expiry)",
			 expires < 0 ? 0 : now - expires);
		wire_free(m);
		return -1;
	}
	return 0;
}

/* For a log line only: a value of an unverified message's header, with
 * anything but [A-Za-z0-9._-] made '?' (the sender chose the bytes). */
int
wire_peek(const uint8_t *buf, size_t len, const char *kind, const char *key, char *out, size_t olen)
{
	const uint8_t *p = buf + 10, *lim = buf + len;
	struct ticket t = {0};
	size_t hlen, nparts;
	const char *v;
	char why[128];

	out[0] = '\0';
	if (len < 10 || olen == 0 || memcmp(buf, WIRE_MAGIC " ", 6) != 0 ||
	    memcmp(buf + 6, kind, 3) != 0 || buf[9] != ' ' || read_size(&p, lim, ' ', &hlen) < 0 ||
	    read_size(&p, lim, '\n', &nparts) < 0 || hlen > (size_t)(lim - p) ||
	    ticket_parse(&t, (const char *)p, hlen, why, sizeof(why)) < 0)
		return -1;
	if ((v = ticket_get(&t, key)) != NULL && *v) {
		snprintf(out, olen, "%s", v);
		for (char *c = out; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || strchr("._-", *c)))
				*c = '?';
	}
	ticket_free(&t);
	return out[0] ? 0 : -1;
}

const struct wire_part *
wire_get(const struct wire_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nparts; i++)
		if (strcmp(m->parts[i].name, name) == 0)
			return &m->parts[i];
	return NULL;
}

void
wire_free(struct wire_msg *m)
{
	ticket_free(&m->hdr);
	free(m->parts);
	m->parts = NULL;
	m->nparts = 0;
}
