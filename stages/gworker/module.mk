# tmc-gworker: a worker host's gearman worker (tmcwatch-worker(8)); links
# libgearman and nettle (the template digest), no decoder.
PROGRAMS += tmc-gworker
tmc-gworker_SRCS := $(wildcard stages/gworker/*.c)
tmc-gworker_LIBS := $(shell pkg-config --libs gearmand 2>/dev/null || echo -lgearman)
tmc-gworker_CFLAGS := $(shell pkg-config --cflags gearmand 2>/dev/null)
tmc-gworker_USES := stage conf spool
