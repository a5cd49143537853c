/*
 * geometry.h - tmc-image's size arithmetic (geometry.c), free of
 * GraphicsMagick so the unit tests can include it.
 */
#ifndef TMC_IMAGE_GEOMETRY_H
#define TMC_IMAGE_GEOMETRY_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/* Box fit of TMC's size option: (w,h) into size[2]; 0 = free side. */
void image_fit(unsigned long w, unsigned long h, const int size[2], bool enlarge, unsigned long *nw,
	       unsigned long *nh);
/* JPEG size hint ("WxH", or "" for none) for step idx of tpl on a file with
 * extension ext whose header says w x h with EXIF orientation (1..8, 0
 * unknown). The hint is in the stored (unrotated) frame, as libjpeg sees it. */
void image_hint(const struct template *tpl, int idx, const char *ext, unsigned long w,
		unsigned long h, int orientation, char *buf, size_t len);

#endif
