// SPDX-License-Identifier: GPL-2.0-or-later
#include "tools/trunkrec/ctlclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* Read until n lines have arrived (or EOF), at most size - 1 bytes. */
static ssize_t read_lines(int fd, char *buf, size_t size, int want)
{
	size_t len = 0;
	int lines = 0;

	while (len + 1 < size && lines < want) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n <= 0)
			return n < 0 ? -errno : (ssize_t)len;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[len + (size_t)i] == '\n';
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int ctlclient_call(const char *socket_path, const char *command, char *ret, size_t size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	char *head_end, *body;
	ssize_t n;
	int fd, lines = 0, rc;

	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		snprintf(ret, size, "%s: path too long", socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = -errno;
		snprintf(ret, size, "cannot reach trunkrecd at %s: %s (is it running? give --socket PATH)",
			 socket_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (dprintf(fd, "%s\n", command) < 0) {
		rc = -errno;
		close(fd);
		snprintf(ret, size, "%s: write failed", socket_path);
		return rc;
	}
	n = read_lines(fd, ret, size, 1);
	if (n <= 0) {
		close(fd);
		snprintf(ret, size, "trunkrecd at %s did not answer", socket_path);
		return n < 0 ? (int)n : -EPROTO;
	}
	head_end = strchr(ret, '\n');
	if (!head_end) {
		close(fd);
		return -EPROTO;
	}
	if (!strncmp(ret, "error", 5)) {
		*head_end = '\0';
		memmove(ret, ret + 5 + (ret[5] == ' '), strlen(ret + 5 + (ret[5] == ' ')) + 1);
		close(fd);
		return 1;
	}
	/* "ok N" announces N lines of body; "ok text" is the whole answer. */
	if (sscanf(ret, "ok %d\n", &lines) == 1 && strspn(ret + 3, "0123456789") == (size_t)(head_end - ret - 3)) {
		size_t have = strlen(head_end + 1);
		int got = 0;

		for (char *p = head_end + 1; *p; p++)
			got += *p == '\n';
		body = head_end + 1;
		memmove(ret, body, have + 1);
		if (got < lines)
			read_lines(fd, ret + have, size - have, lines - got);
	} else {
		*head_end = '\0';
		memmove(ret, ret + 3, strlen(ret + 3) + 1);
	}
	close(fd);
	return 0;
}
