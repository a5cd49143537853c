# tmc-notify: job callbacks from the outbox (libcurl).
PROGRAMS += tmc-notify
tmc-notify_SRCS := $(wildcard stages/notify/*.c)
tmc-notify_LIBS := $(shell pkg-config --libs libcurl)
tmc-notify_CFLAGS := $(shell pkg-config --cflags libcurl)
tmc-notify_USES := stage conf spool
