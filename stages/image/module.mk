# tmc-image: the image stage (GraphicsMagick C API)
PROGRAMS += tmc-image
tmc-image_SRCS := $(wildcard stages/image/*.c)
tmc-image_LIBS := $(shell pkg-config --libs GraphicsMagick) -lm
tmc-image_CFLAGS := $(shell pkg-config --cflags GraphicsMagick)
tmc-image_USES := stage conf spool
tmc-image_SRCS += stages/video/capture.c
tmc-image_LIBS += $(shell pkg-config --libs libavformat libavcodec libswscale libavutil)
