# tmc-image: the image stage (GraphicsMagick C API). It links no FFmpeg
# library: an mp4's frame is captured by a `tmc-video --capture` child
# (mp4frame.c), so the two decoders never share a process (95-links.t).
PROGRAMS += tmc-image
tmc-image_SRCS := $(wildcard stages/image/*.c)
# libpng, libtiff and libwebp: large originals read row by row (stream*.c).
IMAGE_PKGS := GraphicsMagick libpng libtiff-4 libwebp libwebpdemux
tmc-image_LIBS := $(shell pkg-config --libs $(IMAGE_PKGS)) -lm
tmc-image_CFLAGS := $(shell pkg-config --cflags $(IMAGE_PKGS))
tmc-image_USES := stage conf spool
