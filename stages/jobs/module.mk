PROGRAMS += tmc-jobs
tmc-jobs_SRCS := $(wildcard stages/jobs/*.c)
tmc-jobs_USES := stage conf spool
