/*
 * hmap.c - the two tables tmc-watch keeps: an intrusive chained hash table
 * (folders by watch descriptor and by name, pending files, index entries,
 * items in flight), and a set of 64-bit hashes (items fully reported).
 * The caller embeds a struct hnode, hashes its own key and compares its own
 * key while walking the chain; nothing here allocates per entry.
 */
#include <stdlib.h>
#include <string.h>

#include "watch.h"

uint64_t
hash_u64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t
hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return hash_u64(h);
}

static void
hmap_grow(struct hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct hnode **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nb; i++) {
		struct hnode *n = m->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->h & (nb - 1)];
			b[n->h & (nb - 1)] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void
hmap_add(struct hmap *m, struct hnode *n, uint64_t h)
{
	if (m->n >= m->nb)
		hmap_grow(m);
	n->h = h;
	n->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = n;
	m->n++;
}

void
hmap_del(struct hmap *m, struct hnode *n)
{
	struct hnode **pp;

	if (m->nb == 0)
		return;
	for (pp = &m->b[n->h & (m->nb - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			m->n--;
			return;
		}
	}
}

struct hnode *
hmap_first(const struct hmap *m, uint64_t h)
{
	struct hnode *n;

	if (m->nb == 0)
		return NULL;
	for (n = m->b[h & (m->nb - 1)]; n && n->h != h; n = n->next)
		;
	return n;
}

struct hnode *
hmap_next(const struct hnode *n, uint64_t h)
{
	for (n = n->next; n && n->h != h; n = n->next)
		;
	return (struct hnode *)n;
}

void
hmap_each(const struct hmap *m, void (*fn)(struct hnode *, void *), void *arg)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct hnode *n = m->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			fn(n, arg);
		}
	}
}

void
hmap_free(struct hmap *m)
{
	xfree(&m->b);
	m->nb = m->n = 0;
}

static size_t
u64set_slot(const struct u64set *s, uint64_t x)
{
	size_t i = (size_t)hash_u64(x) & (s->cap - 1);

	while (s->v[i] != 0 && s->v[i] != x)
		i = (i + 1) & (s->cap - 1);
	return i;
}

bool
u64set_add(struct u64set *s, uint64_t x)
{
	size_t i;

	x = x ? x : 1;
	if ((s->n + 1) * 2 > s->cap) {
		struct u64set big = {xcalloc(s->cap ? s->cap * 2 : 1024, sizeof(uint64_t)),
				     s->cap ? s->cap * 2 : 1024, 0};

		for (size_t k = 0; k < s->cap; k++)
			if (s->v[k])
				big.v[u64set_slot(&big, s->v[k])] = s->v[k], big.n++;
		free(s->v);
		*s = big;
	}
	i = u64set_slot(s, x);
	if (s->v[i] == x)
		return false;
	s->v[i] = x;
	s->n++;
	return true;
}

bool
u64set_has(const struct u64set *s, uint64_t x)
{
	x = x ? x : 1;
	return s->cap && s->v[u64set_slot(s, x)] == x;
}

void
u64set_free(struct u64set *s)
{
	xfree(&s->v);
	s->cap = s->n = 0;
}
