# tmc-video: the video stage (FFmpeg libraries), and `tmc-video --capture`,
# the frame of an mp4 for tmc-image. stages/video/capture.c is also linked
# by tests' tmc-capture; nothing else links FFmpeg.
VIDEO_PKGS := libavformat libavcodec libavfilter libswscale libavutil
PROGRAMS += tmc-video
tmc-video_SRCS := $(wildcard stages/video/*.c)
tmc-video_LIBS := $(shell pkg-config --libs $(VIDEO_PKGS)) -lm
tmc-video_CFLAGS := $(shell pkg-config --cflags $(VIDEO_PKGS))
tmc-video_USES := stage conf spool
