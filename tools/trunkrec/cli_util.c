// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/vault.h"
#include "tools/trunkrec/cmds.h"

int cli_read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	struct stat sb;
	uint8_t *buf;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
		r = S_ISDIR(sb.st_mode) ? -EISDIR : -errno;
		close(fd);
		return r;
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)sb.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* shrank while we read: take what is there */
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

int cli_key_load(const char *path, const char *what, uint8_t ret_key[32])
{
	uint8_t *text;
	size_t len;
	int r;

	r = cli_read_file(path, 256, &text, &len);
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: cannot read the %s: %s\n", path, what,
			r == -EFBIG ? "not a key file (expected 64 hex digits)" : strerror(-r));
		return r;
	}
	r = vault_key_parse((const char *)text, len, ret_key);
	sodium_memzero(text, len);
	free(text);
	if (r < 0)
		fprintf(stderr, "trunkrec: %s is not a %s (expected 64 hex digits)\n", path, what);
	return r;
}

int cli_write_new(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	else if (fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}
