# tmc-gworker: a worker host's gearman worker (tmcwatch-worker(8)); links
# libgearman and nettle (the template digest), no decoder.
PROGRAMS += tmc-gworker
tmc-gworker_SRCS := $(wildcard stages/gworker/*.c)
tmc-gworker_LIBS := $(GEARMAN_LIBS)
tmc-gworker_CFLAGS := $(GEARMAN_CFLAGS)
tmc-gworker_USES := stage conf spool
