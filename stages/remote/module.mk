# tmc-remote: a remote unit's items sent to worker hosts through gearmand
# (libgearman); links no image or video library (95-links.t).
PROGRAMS += tmc-remote
tmc-remote_SRCS := $(wildcard stages/remote/*.c)
tmc-remote_LIBS := $(shell pkg-config --libs gearmand 2>/dev/null || echo -lgearman)
tmc-remote_CFLAGS := $(shell pkg-config --cflags gearmand 2>/dev/null)
tmc-remote_USES := stage conf spool
