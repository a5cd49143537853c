PROGRAMS += tmcwatch
tmcwatch_SRCS := $(wildcard tmcwatch/*.c)
tmcwatch_LIBS := $(shell pkg-config --libs libsystemd)
tmcwatch_CFLAGS := $(shell pkg-config --cflags libsystemd)
tmcwatch_USES := stage conf spool
