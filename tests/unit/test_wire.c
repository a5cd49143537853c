/*
 * test_wire.c - the signed message between hosts (spool/wire.c): a round
 * trip keeps header and parts byte for byte (binary parts with NULs and
 * newlines); a flipped bit anywhere, a cut message, another secret, the
 * other kind, an expired, undated or far-future (over a day) message are
 * all refused. wire_peek reads a header value of a message it does not
 * verify (a log line's host name), only from a framed message of the
 * kind, unsafe bytes made '?', and never past a cut message's end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spool.h"

static const char key[] = "0123456789abcdef-secret";
static const uint8_t blob[] = {0, 1, '\n', 'M', 'A', 'C', ' ', 0xff, '\n', 0};

static uint8_t *
sample(size_t *len, long long expires)
{
	struct wire_msg m;
	uint8_t *buf;

	wire_init(&m, "req");
	ticket_set(&m.hdr, "id", "j123-0001");
	ticket_set(&m.hdr, "rel", "a b/c\nd.jpg"); /* escaped by the ticket */
	if (expires >= 0)
		ticket_setf(&m.hdr, "expires", "%lld", expires);
	wire_add(&m, "src", blob, sizeof(blob));
	wire_add(&m, "out.01.jpg", "", 0);
	buf = wire_encode(&m, key, strlen(key), len);
	wire_free(&m);
	return buf;
}

static int
decode(const uint8_t *buf, size_t len, const char *kind, const char *k, long long now,
       struct wire_msg *m, char *why)
{
	return wire_decode(m, buf, len, kind, k, strlen(k), now, 300, why, REASON_MAX);
}

static void
test_round_trip(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len, 1000);
	struct wire_msg m;
	char why[REASON_MAX];
	const struct wire_part *p;

	(void)state;
	assert_int_equal(decode(buf, len, "req", key, 1000, &m, why), 0);
	assert_string_equal(ticket_get(&m.hdr, "id"), "j123-0001");
	assert_string_equal(ticket_get(&m.hdr, "rel"), "a b/c\nd.jpg");
	assert_int_equal(m.nparts, 2);
	assert_non_null(p = wire_get(&m, "src"));
	assert_int_equal(p->len, sizeof(blob));
	assert_memory_equal(p->data, blob, sizeof(blob));
	assert_non_null(p = wire_get(&m, "out.01.jpg"));
	assert_int_equal(p->len, 0);
	assert_null(wire_get(&m, "nope"));
	wire_free(&m);
	free(buf);
}

static void
test_tampered(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len, 1000);
	struct wire_msg m;
	char why[REASON_MAX];

	(void)state;
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		assert_int_equal(decode(buf, len, "req", key, 1000, &m, why), -1);
		buf[i] ^= 0x01;
	}
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(decode(buf, cut, "req", key, 1000, &m, why), -1);
	assert_int_equal(decode(buf, len, "req", "another secret of ours", 1000, &m, why), -1);
	assert_non_null(strstr(why, "not signed"));
	assert_int_equal(decode(buf, len, "rep", key, 1000, &m, why), -1);
	assert_int_equal(decode(buf, len, "req", key, 1000, &m, why), 0);
	wire_free(&m);
	free(buf);
}

static void
test_expiry(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len, 1000);
	struct wire_msg m;
	char why[REASON_MAX];

	(void)state;
	/* the skew allowed (300 s) and no more */
	assert_int_equal(decode(buf, len, "req", key, 1300, &m, why), 0);
	wire_free(&m);
	assert_int_equal(decode(buf, len, "req", key, 1301, &m, why), -1);
	assert_non_null(strstr(why, "expired"));
	free(buf);
	buf = sample(&len, -1);
	assert_int_equal(decode(buf, len, "req", key, 0, &m, why), -1);
	free(buf);
	/* a day (and the skew) ahead at most; a far-future one never passes,
	 * the largest one overflows nothing */
	buf = sample(&len, 1000 + 86400 + 300);
	assert_int_equal(decode(buf, len, "req", key, 1000, &m, why), 0);
	wire_free(&m);
	free(buf);
	buf = sample(&len, 1000 + 86400 + 301);
	assert_int_equal(decode(buf, len, "req", key, 1000, &m, why), -1);
	assert_non_null(strstr(why, "ahead"));
	free(buf);
	buf = sample(&len, 9223372036854775807LL);
	assert_int_equal(decode(buf, len, "req", key, 1000, &m, why), -1);
	free(buf);
}

static void
test_peek(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len, 1000);
	char out[64];

	(void)state;
	assert_int_equal(wire_peek(buf, len, "req", "id", out, sizeof(out)), 0);
	assert_string_equal(out, "j123-0001");
	assert_int_equal(wire_peek(buf, len, "req", "rel", out, sizeof(out)), 0);
	assert_string_equal(out, "a?b?c?d.jpg");
	assert_int_equal(wire_peek(buf, len, "req", "host", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(wire_peek(buf, len, "rep", "id", out, sizeof(out)), -1);
	assert_int_equal(wire_peek(buf, len, "req", "id", out, 4), 0);
	assert_string_equal(out, "j12");
	for (size_t cut = 0; cut < 20; cut++)
		assert_int_equal(wire_peek(buf, cut, "req", "id", out, sizeof(out)), -1);
	for (size_t cut = 20; cut < len; cut++)
		(void)wire_peek(buf, cut, "req", "id", out, sizeof(out)); /* no overread */
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_peek),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
