/*
 * gearadmin.c - gearmand's admin protocol, plain text on its port: a
 * command line ("status", "workers") and an answer ending with a line
 * ".". tmc-remote asks "status" before it claims (is a worker host
 * registered for the unit?), `tmcwatch status` asks "workers" (which
 * functions each worker host registered). No libgearman: a socket, a
 * write and reads under a timeout.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spool.h"

#define GEAR_PORT "4730"

static void
split_server(const char *server, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon = strrchr(server, ':');

	if (colon && strchr(colon, ']') == NULL) {
		snprintf(host, hlen, "%.*s", (int)(colon - server), server);
		snprintf(port, plen, "%s", colon + 1);
	} else {
		snprintf(host, hlen, "%s", server);
		snprintf(port, plen, "%s", GEAR_PORT);
	}
}

static int
gear_connect(const char *server, int timeout_ms)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	char host[256], port[32];
	int fd = -1;

	split_server(server, host, sizeof(host), port, sizeof(port));
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		struct pollfd pfd;
		int err = 0;
		socklen_t el = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
			err = errno;
		pfd = (struct pollfd){fd, POLLOUT, 0};
		if (err == 0 && poll(&pfd, 1, timeout_ms) <= 0)
			err = ETIMEDOUT;
		if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err) {
			close(fd);
			fd = -1;
			errno = err;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* Read until a line "." (the end of an admin answer) or the timeout. */
static char *
read_answer(int fd, int timeout_ms)
{
	struct strbuf sb = {0};
	struct pollfd pfd = {fd, POLLIN, 0};
	char buf[4096];
	ssize_t n;

	for (;;) {
		if (sb.len >= 2 && memcmp(sb.buf + sb.len - 2, ".\n", 2) == 0 &&
		    (sb.len == 2 || sb.buf[sb.len - 3] == '\n'))
			return sb.buf;
		if (poll(&pfd, 1, timeout_ms) <= 0 || (n = read(fd, buf, sizeof(buf))) <= 0 ||
		    sb.len > (1 << 22)) {
			sb_free(&sb);
			errno = ETIMEDOUT;
			return NULL;
		}
		sb_add(&sb, buf, (size_t)n);
	}
}

char *
gear_admin(const char *server, const char *cmd, int timeout_ms)
{
	int fd = gear_connect(server, timeout_ms);
	char line[64];
	char *ans;

	if (fd < 0)
		return NULL;
	snprintf(line, sizeof(line), "%s\n", cmd);
	ans = write_all(fd, line, strlen(line)) < 0 ? NULL : read_answer(fd, timeout_ms);
	close(fd);
	return ans;
}
