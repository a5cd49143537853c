# Test tools: built with everything else, never installed.
PROGRAMS += tmc-enqueue
tmc-enqueue_SRCS := tests/tools/enqueue.c
tmc-enqueue_USES := stage conf spool

# A program living through machine faults through spool/fault.c (80-health.t).
PROGRAMS += tmc-faultprobe
tmc-faultprobe_SRCS := tests/tools/faultprobe.c
tmc-faultprobe_USES := spool
NOINST_PROGRAMS += tmc-faultprobe

# Frame capture alone (stages/video/capture.c), for the video tests and bench.
PROGRAMS += tmc-capture
tmc-capture_SRCS := tests/tools/capture.c stages/video/capture.c
tmc-capture_LIBS := $(shell pkg-config --libs libavformat libavcodec libswscale libavutil) -lm
tmc-capture_CFLAGS := $(shell pkg-config --cflags libavformat libavcodec libswscale libavutil) -Istages/video
tmc-capture_USES := spool
NOINST_PROGRAMS += tmc-capture

# One request of tmcwatch-worker(8)'s protocol through gearmand, the reply
# written out (103-worker.t, 104-worker-faults.t, the namespace tests).
PROGRAMS += tmc-gsend
tmc-gsend_SRCS := tests/tools/gsend.c
tmc-gsend_LIBS := $(GEARMAN_LIBS)
tmc-gsend_CFLAGS := $(GEARMAN_CFLAGS)
tmc-gsend_USES := stage conf spool
NOINST_PROGRAMS += tmc-gsend
PROGRAMS += tmc-gforge
tmc-gforge_SRCS := tests/tools/gforge.c
tmc-gforge_LIBS := $(GEARMAN_LIBS)
tmc-gforge_CFLAGS := $(GEARMAN_CFLAGS)
tmc-gforge_USES := stage conf spool
NOINST_PROGRAMS += tmc-gforge
