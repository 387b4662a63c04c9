// SPDX-License-Identifier: GPL-2.0-or-later
#include "store/recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/catalog.h"
#include "record/vault.h"

#define RECOVERY_MAX_FILE	((uint64_t)2 << 30)	/* as trunkrec reads: 2 GiB */
#define MIN_CLEN		(1 + crypto_secretstream_xchacha20poly1305_ABYTES)
#define MAX_CLEN		(VAULT_MAX_RECORD + MIN_CLEN)
#define PARTIAL_SUFFIX		".trec.partial"
#define ID_HEX			(2 * VAULT_ID_BYTES)

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void recovery_scan(const uint8_t *file, size_t len, struct recovery_scan *ret)
{
	size_t off = VAULT_HEADER_BYTES;

	memset(ret, 0, sizeof(*ret));
	if (len < VAULT_HEADER_BYTES || memcmp(file, VAULT_MAGIC, 8) != 0)
		return;
	ret->header_ok = true;
	for (;;) {
		uint32_t clen;

		if (len - off < 4)
			break;		/* end, or a torn length */
		clen = get_le32(file + off);
		if (clen < MIN_CLEN || clen > MAX_CLEN) {
			ret->bad_length = true;
			break;
		}
		if (len - off - 4 < clen)
			break;		/* a record shorter than its length: torn */
		off += 4 + (size_t)clen;
		ret->records++;
	}
	ret->good_bytes = off;
	ret->zero_tail = true;
	for (size_t i = off; i < len; i++) {
		if (file[i]) {
			ret->zero_tail = false;
			break;
		}
	}
	/*
	 * A length of zero followed by zeros is what a file extended by a
	 * write that never reached the disk looks like: a torn tail, not damage.
	 */
	if (ret->bad_length && ret->zero_tail)
		ret->bad_length = false;
}

static int read_fd(int fd, uint8_t **ret, size_t *ret_len)
{
	struct stat sb;
	uint8_t *buf;
	size_t done = 0;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if ((uint64_t)sb.st_size > RECOVERY_MAX_FILE)
		return -EFBIG;
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (done < (size_t)sb.st_size) {
		ssize_t n = pread(fd, buf + done, (size_t)sb.st_size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? -errno : -EIO;

			free(buf);
			return r;
		}
		done += (size_t)n;
	}
	*ret = buf;
	*ret_len = done;
	return 0;
}

static bool id_valid(const char *s, size_t n)
{
	if (n != ID_HEX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool has_suffix(const char *name, const char *suffix, size_t *ret_stem)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n < k || strcmp(name + n - k, suffix))
		return false;
	*ret_stem = n - k;
	return true;
}

int recovery_file(int dirfd, const char *name, struct catalog *c, struct audit *a, uint32_t uid, int64_t now,
		  int retention_days, struct recovery_stats *stats)
{
	char id[ID_HEX + 1], final[ID_HEX + 8], details[256];
	struct recovery_scan scan;
	uint8_t *data = NULL;
	uint64_t created = 0;
	size_t len = 0, stem;
	int fd, r;

	if (!has_suffix(name, PARTIAL_SUFFIX, &stem) || !id_valid(name, stem))
		return -EINVAL;
	memcpy(id, name, ID_HEX);
	id[ID_HEX] = '\0';
	snprintf(final, sizeof(final), "%s.trec", id);

	fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	r = read_fd(fd, &data, &len);
	if (r < 0)
		goto out;
	recovery_scan(data, len, &scan);
	if (!scan.header_ok) {
		bool torn = len < VAULT_HEADER_BYTES && memcmp(data, VAULT_MAGIC, len < 8 ? len : 8) == 0;

		if (!torn) {
			r = -EBADMSG;	/* not a recording: left for someone to look at */
			goto out;
		}
		/* Not even a whole header (a crash while it was created): nothing to keep. */
		snprintf(details, sizeof(details), "removed,header_torn,bytes=%zu", len);
		r = audit_append(a, now, uid, "recovery", id, details, NULL);
		if (r < 0)
			goto out;
		if (unlinkat(dirfd, name, 0) < 0 || fsync(dirfd) < 0) {
			r = -errno;
			goto out;
		}
		if (stats)
			stats->removed++;
		goto out;
	}
	vault_read_header(data, len, (uint8_t[VAULT_ID_BYTES]){ 0 }, &created);
	snprintf(details, sizeof(details), "closed_by_recovery,records=%" PRIu64 ",kept_bytes=%" PRIu64
		 ",cut_bytes=%" PRIu64 ",tail=%s", scan.records, scan.good_bytes, (uint64_t)len - scan.good_bytes,
		 scan.good_bytes == len ? "none" : scan.bad_length ? "bad_length" : scan.zero_tail ? "zeros" : "torn");
	/* Written before the cut: the log says what was there. */
	r = audit_append(a, now, uid, "recovery", id, details, NULL);
	if (r < 0)
		goto out;
	if ((scan.good_bytes != len && ftruncate(fd, (off_t)scan.good_bytes) < 0) || fdatasync(fd) < 0) {
		r = -errno;
		goto out;
	}
	/* Catalog before the rename: a crash in between redoes this file, never files it as complete. */
	if (c) {
		r = catalog_mark_recovered(c, id, final, (int64_t)created, retention_days);
		if (r < 0)
			goto out;
	}
	if (renameat(dirfd, name, dirfd, final) < 0 || fsync(dirfd) < 0) {
		r = -errno;
		goto out;
	}
	if (stats)
		stats->recovered++;
out:
	free(data);
	close(fd);
	return r;
}

static int file_orphan(int dirfd, const char *name, const char *id, struct catalog *c, struct audit *a,
		       uint32_t uid, int64_t now, int retention_days, struct recovery_stats *stats)
{
	uint8_t hdr[VAULT_HEADER_BYTES], hid[VAULT_ID_BYTES];
	struct catalog_row row;
	uint64_t created = (uint64_t)now;
	ssize_t n;
	int fd, r;

	r = catalog_has_file(c, name);
	if (r != 0)
		return r < 0 ? r : 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n == (ssize_t)sizeof(hdr))
		vault_read_header(hdr, sizeof(hdr), hid, &created);
	r = audit_append(a, now, uid, "recovery", id, "filed_orphan,status=complete", NULL);
	if (r < 0)
		return r;
	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.file, sizeof(row.file), "%s", name);
	snprintf(row.reason, sizeof(row.reason), "filed by recovery (no catalog row)");
	row.a_ts = row.b_ts = -1;
	row.started = (int64_t)created;
	row.status = CATALOG_COMPLETE;	/* renamed only after its FINAL record was durable */
	row.retention_until = row.started + (int64_t)retention_days * 86400;
	r = catalog_put(c, &row);
	if (r == 0 && stats)
		stats->orphans++;
	return r;
}

int recovery_run(const char *dir, struct catalog *c, struct audit *a, uint32_t uid, int64_t now,
		 int retention_days, struct recovery_stats *ret)
{
	struct recovery_stats local = { 0 };
	struct recovery_stats *st = ret ? ret : &local;
	int dirfd, first = 0;
	DIR *d;
	struct dirent *de;

	memset(st, 0, sizeof(*st));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	/* Two passes: every .partial first, so a recovered file is not also an orphan. */
	for (int pass = 0; pass < 2; pass++) {
		int fd = dup(dirfd);

		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			close(dirfd);
			return -errno;
		}
		rewinddir(d);
		while ((de = readdir(d))) {
			size_t stem;
			int r = 0;

			if (pass == 0 && has_suffix(de->d_name, PARTIAL_SUFFIX, &stem) && id_valid(de->d_name, stem)) {
				r = recovery_file(dirfd, de->d_name, c, a, uid, now, retention_days, st);
			} else if (pass == 1 && c && has_suffix(de->d_name, ".trec", &stem) && id_valid(de->d_name, stem)) {
				char id[ID_HEX + 1];

				memcpy(id, de->d_name, ID_HEX);
				id[ID_HEX] = '\0';
				r = file_orphan(dirfd, de->d_name, id, c, a, uid, now, retention_days, st);
			}
			if (r < 0) {
				st->errors++;
				if (!first)
					first = r;
			}
		}
		closedir(d);
	}
	close(dirfd);
	return first;
}
