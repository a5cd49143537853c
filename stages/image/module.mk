# tmc-image: the image stage (GraphicsMagick C API). It links no FFmpeg
# library: an mp4's frame is captured by a `tmc-video --capture` child
# (mp4frame.c), so the two decoders never share a process (95-links.t).
PROGRAMS += tmc-image
tmc-image_SRCS := $(wildcard stages/image/*.c)
tmc-image_LIBS := $(shell pkg-config --libs GraphicsMagick) -lm
tmc-image_CFLAGS := $(shell pkg-config --cflags GraphicsMagick)
tmc-image_USES := stage conf spool
