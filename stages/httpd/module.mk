# tmc-httpd: TMC's REST API (libmicrohttpd); links no image or video library.
PROGRAMS += tmc-httpd
tmc-httpd_SRCS := $(wildcard stages/httpd/*.c)
tmc-httpd_LIBS := $(shell pkg-config --libs libmicrohttpd)
tmc-httpd_CFLAGS := $(shell pkg-config --cflags libmicrohttpd)
tmc-httpd_USES := stage conf spool
