PROGRAMS += tmc-copy
tmc-copy_SRCS := $(wildcard stages/copy/*.c)
tmc-copy_USES := stage conf spool
