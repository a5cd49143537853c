# tmc-remote: a remote unit's items sent to worker hosts through gearmand
# (libgearman); links no image or video library (95-links.t).
PROGRAMS += tmc-remote
tmc-remote_SRCS := $(wildcard stages/remote/*.c)
tmc-remote_LIBS := $(GEARMAN_LIBS)
tmc-remote_CFLAGS := $(GEARMAN_CFLAGS)
tmc-remote_USES := stage conf spool
