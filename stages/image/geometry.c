/*
 * geometry.c - sizes, without GraphicsMagick (so tests/unit can include it):
 * TMC's box fit and the JPEG size hint.
 *
 * image_fit() is TMC's resizeImage(W,0)/(0,H) choice (doc/TMC.md, Sizes)
 * with ImageMagick's rounding (half up, at least 1) and tmcwatch's enlarge
 * option. image_hint() walks the template the way the skeleton resolves
 * sources and returns the largest size that this step or any step reading
 * (directly or through others) from it will produce, so libjpeg decodes at
 * the smallest 1/2, 1/4, 1/8 scale that still covers every output; no hint
 * when some output needs the full size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geometry.h"
#include "spool.h"

static unsigned long
scale_round(unsigned long other, unsigned long want, unsigned long this)
{
	unsigned long long v = ((unsigned long long)other * want * 2 + this) / (2ULL * this);

	return v < 1 ? 1 : (unsigned long)v;
}

void
image_fit(unsigned long w, unsigned long h, const int size[2], bool enlarge, unsigned long *nw,
	  unsigned long *nh)
{
	unsigned long W = size[0] > 0 ? (unsigned long)size[0] : 0;
	unsigned long H = size[1] > 0 ? (unsigned long)size[1] : 0;

	*nw = w;
	*nh = h;
	if ((W == 0 && H == 0) || w == 0 || h == 0)
		return;
	if (W && H) { /* TMC: wider than the box fits the width, else the height */
		if ((unsigned long long)w * H > (unsigned long long)W * h)
			H = 0;
		else
			W = 0;
	}
	if (W) {
		*nw = W;
		*nh = scale_round(h, W, w);
	} else {
		*nh = H;
		*nw = scale_round(w, H, h);
	}
	if (!enlarge && (*nw > w || *nh > h)) {
		*nw = w;
		*nh = h;
	}
}

void
image_hint(const struct template *tpl, int idx, const char *ext, unsigned long hw, unsigned long hh,
	   int orientation, char *buf, size_t len)
{
	size_t n = tpl->nsteps;
	unsigned long *w = xcalloc(n, sizeof(*w)), *h = xcalloc(n, sizeof(*h));
	bool *tree = xcalloc(n, sizeof(*tree)), swap = orientation >= 5;
	unsigned long ow = swap ? hh : hw, oh = swap ? hw : hh, mw = 0, mh = 0;

	buf[0] = '\0';
	for (size_t j = 0; j < n; j++) {
		const struct step *s = &tpl->steps[j];
		int k;

		if (!step_applies(s, ext) || s->kind != STEP_IMAGE)
			continue;
		k = route_source(tpl, j, ext); /* < 0: the original, or never runs */
		tree[j] = (int)j == idx || (k >= 0 && (size_t)k < j && tree[k]);
		image_fit(k >= 0 ? w[k] : ow, k >= 0 ? h[k] : oh, s->size, s->enlarge, &w[j],
			  &h[j]);
		if (tree[j]) {
			mw = w[j] > mw ? w[j] : mw;
			mh = h[j] > mh ? h[j] : mh;
		}
	}
	if (mw && mh && mw < ow && mh < oh)
		snprintf(buf, len, "%lux%lu", swap ? mh : mw, swap ? mw : mh);
	free(w);
	free(h);
	free(tree);
}
