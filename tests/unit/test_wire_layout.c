/*
 * test_wire_layout.c - the two-phase encoding of spool/wire.c
 * (wire_layout, the caller's bytes written into each reserved part's slot,
 * wire_seal) makes exactly the bytes wire_encode makes for the same
 * message: reserved parts first, last, between given parts, empty, and
 * big (binary bytes with NULs, newlines and "MAC " in them); the sealed
 * message decodes to the same parts, and a given part gets no slot.
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

struct part {
	const char *name;
	size_t len;
	bool reserved; /* written into the slot, not given to wire_add */
};

static uint8_t *
bytes(size_t len, unsigned seed)
{
	uint8_t *b = malloc(len + 1);
	static const char mac[] = "\nMAC ";

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
	if (len > 64)
		memcpy(b + len / 2, mac, sizeof(mac)); /* a NUL too */
	return b;
}

static void
header(struct wire_msg *m)
{
	wire_init(m, "rep");
	ticket_set(&m->hdr, "id", "j123-0001");
	ticket_set(&m->hdr, "rel", "a b/c\nd.jpg");
	ticket_set(&m->hdr, "expires", "1000");
}

/* parts through wire_encode and through layout/fill/seal: the same bytes */
static void
check_same(const struct part *ps, size_t n)
{
	struct wire_msg a, b, d;
	uint8_t *data[8], *ea, *eb;
	size_t la, lb, body;
	char why[REASON_MAX];

	header(&a);
	header(&b);
	for (size_t i = 0; i < n; i++) {
		data[i] = bytes(ps[i].len, (unsigned)i + 7);
		wire_add(&a, ps[i].name, data[i], ps[i].len);
		wire_add(&b, ps[i].name, ps[i].reserved ? NULL : data[i], ps[i].len);
	}
	ea = wire_encode(&a, key, strlen(key), &la);
	eb = wire_layout(&b, &body);
	for (size_t i = 0; i < n; i++) {
		if (!ps[i].reserved) {
			assert_null(b.parts[i].slot);
			continue;
		}
		assert_non_null(b.parts[i].slot);
		memcpy(b.parts[i].slot, data[i], ps[i].len);
	}
	assert_ptr_equal(wire_seal(eb, body, key, strlen(key), &lb), eb);
	assert_int_equal(lb, la);
	assert_memory_equal(eb, ea, la);
	assert_int_equal(
		wire_decode(&d, eb, lb, "rep", key, strlen(key), 1000, 300, why, sizeof(why)), 0);
	assert_int_equal(d.nparts, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(d.parts[i].len, ps[i].len);
		assert_memory_equal(d.parts[i].data, data[i], ps[i].len);
		free(data[i]);
	}
	wire_free(&d);
	wire_free(&a);
	wire_free(&b);
	free(ea);
	free(eb);
}

static void
test_one_reserved(void **state)
{
	const struct part ps[] = {{"src", 3 << 20, true}};

	(void)state;
	check_same(ps, 1);
}

static void
test_mixed(void **state)
{
	const struct part ps[] = {{"f_0", 1000, true},      {"f_1", 70, false},
				  {"f_2", 0, true},         {"f_3", 123457, true},
				  {"out.01.jpg", 0, false}, {"f_5", 9, true}};

	(void)state;
	check_same(ps, sizeof(ps) / sizeof(*ps));
}

static void
test_no_parts(void **state)
{
	(void)state;
	check_same(NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_reserved),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_no_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
