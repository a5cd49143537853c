/*
 * shrink.h - a streaming area-average shrink (shrink.c), free of
 * GraphicsMagick so the unit tests can include it.
 *
 * Rows go in one at a time; every f input rows one output row comes out,
 * each output pixel the mean of an f x f box of input pixels (the boxes at
 * the right and bottom edges are partial and averaged over what they hold).
 * Only one row of sums is kept, so memory is a few rows whatever the image.
 */
#ifndef TMC_IMAGE_SHRINK_H
#define TMC_IMAGE_SHRINK_H

#include <stdbool.h>
#include <stdint.h>

/* Called with each output row: ow pixels of ch 16-bit samples. */
typedef int (*shrink_emit_fn)(void *arg, unsigned long oy, const uint16_t *row);

struct shrink {
	unsigned long w, h, f, ow, oh;
	int ch;          /* samples per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
	bool alpha;      /* the last sample is (unassociated) alpha */
	unsigned long y; /* input rows taken */
	uint64_t *acc;   /* ow * ch sums of the output row in the making */
	uint16_t *out;   /* ow * ch */
	shrink_emit_fn emit;
	void *arg;
};

/* The box side: the largest f whose result still covers hw x hh (the
 * size hint), at least 1. */
unsigned long shrink_factor(unsigned long w, unsigned long h, unsigned long hw, unsigned long hh);
/* ceil(n / f): an output side */
unsigned long shrink_side(unsigned long n, unsigned long f);
/* 0, or -1 (out of memory) */
int shrink_init(struct shrink *s, unsigned long w, unsigned long h, int ch, bool alpha,
		unsigned long f, shrink_emit_fn emit, void *arg);
/* One input row of w pixels, 8 or 16 bits per sample (native order).
 * Returns what emit returned (0 to go on). */
int shrink_row8(struct shrink *s, const uint8_t *row);
int shrink_row16(struct shrink *s, const uint16_t *row);
void shrink_free(struct shrink *s);

#endif
