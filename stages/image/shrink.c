/*
 * shrink.c - the streaming area-average shrink of shrink.h: what lets
 * tmc-image read a 100 MP PNG, TIFF or WebP in a few rows of memory (the
 * stream_*.c readers feed it), down to the smallest size that still covers
 * every output the step's subtree needs; the Lanczos resize of ops.c does
 * the rest, as after libjpeg's scaled decode.
 *
 * A true area average (every input pixel counts once, with the same
 * weight), not point sampling: no aliasing, and the quality of a box filter
 * at an integer factor. With alpha, colours are weighted by alpha, so the
 * colour of fully transparent pixels does not bleed into the visible ones.
 */
#include <stdlib.h>
#include <string.h>

#include "shrink.h"

unsigned long
shrink_factor(unsigned long w, unsigned long h, unsigned long hw, unsigned long hh)
{
	unsigned long fw, fh;

	if (hw == 0 || hh == 0)
		return 1;
	fw = w / hw;
	fh = h / hh;
	return fw < fh ? (fw ? fw : 1) : (fh ? fh : 1);
}

unsigned long
shrink_side(unsigned long n, unsigned long f)
{
	return (n + f - 1) / f;
}

int
shrink_init(struct shrink *s, unsigned long w, unsigned long h, int ch, bool alpha, unsigned long f,
	    shrink_emit_fn emit, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
	s->h = h;
	s->f = f ? f : 1;
	s->ow = shrink_side(w, s->f);
	s->oh = shrink_side(h, s->f);
	s->ch = ch;
	s->alpha = alpha && ch >= 2;
	s->emit = emit;
	s->arg = arg;
	s->acc = calloc(s->ow * (size_t)ch, sizeof(*s->acc));
	s->out = calloc(s->ow * (size_t)ch, sizeof(*s->out));
	if (s->acc == NULL || s->out == NULL) {
		shrink_free(s);
		return -1;
	}
	return 0;
}

void
shrink_free(struct shrink *s)
{
	free(s->acc);
	free(s->out);
	s->acc = NULL;
	s->out = NULL;
}

static uint16_t
clamp16(uint64_t v)
{
	return v > 65535 ? 65535 : (uint16_t)v;
}

/* The row of sums is complete: means out (scale: 257 for 8-bit input). */
static int
shrink_emit(struct shrink *s, unsigned scale)
{
	unsigned long bh = s->y % s->f + 1, ch = (unsigned long)s->ch;
	int rc;

	for (unsigned long ox = 0; ox < s->ow; ox++) {
		unsigned long x0 = ox * s->f, bw = s->w - x0 < s->f ? s->w - x0 : s->f;
		uint64_t n = (uint64_t)bw * bh, *a = s->acc + ox * ch;
		uint16_t *o = s->out + ox * ch;

		if (!s->alpha) {
			for (unsigned long c = 0; c < ch; c++)
				o[c] = clamp16((a[c] * scale + n / 2) / n);
			continue;
		}
		uint64_t sa = a[ch - 1];

		for (unsigned long c = 0; c + 1 < ch; c++)
			o[c] = sa ? clamp16((a[c] * scale + sa / 2) / sa) : 0;
		o[ch - 1] = clamp16((sa * scale + n / 2) / n);
	}
	rc = s->emit(s->arg, s->y / s->f, s->out);
	memset(s->acc, 0, s->ow * ch * sizeof(*s->acc));
	return rc;
}

/* Add one row of samples of type T to the sums; emit when a box row ends. */
#define SHRINK_ADD(T)                                                                              \
	do {                                                                                       \
		unsigned long ch = (unsigned long)s->ch;                                           \
		for (unsigned long ox = 0; ox < s->ow; ox++) {                                     \
			unsigned long x0 = ox * s->f, x1 = x0 + s->f < s->w ? x0 + s->f : s->w;    \
			uint64_t *a = s->acc + ox * ch;                                            \
			const T *p = row + x0 * ch, *end = row + x1 * ch;                          \
			if (s->alpha)                                                              \
				for (; p < end; p += ch) {                                         \
					uint64_t al = p[ch - 1];                                   \
					for (unsigned long c = 0; c + 1 < ch; c++)                 \
						a[c] += p[c] * al;                                 \
					a[ch - 1] += al;                                           \
				}                                                                  \
			else if (ch == 3)                                                          \
				for (; p < end; p += 3) {                                          \
					a[0] += p[0];                                              \
					a[1] += p[1];                                              \
					a[2] += p[2];                                              \
				}                                                                  \
			else                                                                       \
				for (; p < end; p += ch)                                           \
					for (unsigned long c = 0; c < ch; c++)                     \
						a[c] += p[c];                                      \
		}                                                                                  \
	} while (0)

int
shrink_row8(struct shrink *s, const uint8_t *row)
{
	int rc = 0;

	if (s->y >= s->h)
		return 0;
	SHRINK_ADD(uint8_t);
	if ((s->y + 1) % s->f == 0 || s->y + 1 == s->h)
		rc = shrink_emit(s, 257);
	s->y++;
	return rc;
}

int
shrink_row16(struct shrink *s, const uint16_t *row)
{
	int rc = 0;

	if (s->y >= s->h)
		return 0;
	SHRINK_ADD(uint16_t);
	if ((s->y + 1) % s->f == 0 || s->y + 1 == s->h)
		rc = shrink_emit(s, 1);
	s->y++;
	return rc;
}
