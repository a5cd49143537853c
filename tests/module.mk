# Test tools: built with everything else, never installed.
PROGRAMS += tmc-enqueue
tmc-enqueue_SRCS := tests/tools/enqueue.c
tmc-enqueue_USES := stage conf spool
