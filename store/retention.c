// SPDX-License-Identifier: GPL-2.0-or-later
/* Retention (store/retention.h): deletes and holds, audited first. */
#include "store/retention.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/catalog.h"

int retention_delete(int dirfd, struct catalog *c, struct audit *a, uint32_t uid, int64_t now, const char *id,
		     const char *action, const char *reason)
{
	struct catalog_row row;
	char details[512], partial[CATALOG_FILE_MAX + 16];
	int r;

	r = catalog_get(c, id, &row);
	if (r < 0)
		return r;
	if (row.status == CATALOG_DELETED)
		return -ENOENT;
	if (row.legal_hold)
		return -EPERM;
	snprintf(details, sizeof(details), "file=%s,status=%s,retention_until=%" PRId64 ",reason=%s",
		 row.file[0] ? row.file : "-", catalog_status_name(row.status), row.retention_until,
		 reason ? reason : "");
	/* The log says so before the file goes. */
	r = audit_append(a, now, uid, action, id, details, NULL);
	if (r < 0)
		return r;
	if (row.file[0]) {
		if (strchr(row.file, '/'))
			return -EINVAL;	/* a catalog row never names another directory */
		if (unlinkat(dirfd, row.file, 0) < 0 && errno != ENOENT)
			return -errno;
		snprintf(partial, sizeof(partial), "%s.partial", row.file);
		if (unlinkat(dirfd, partial, 0) < 0 && errno != ENOENT)
			return -errno;
		if (fsync(dirfd) < 0)
			return -errno;
	}
	return catalog_mark_deleted(c, id, now, reason);
}

int retention_set_hold(struct catalog *c, struct audit *a, uint32_t uid, int64_t now, const char *id, bool hold,
		       const char *reason)
{
	struct catalog_row row;
	char details[512];
	int r;

	r = catalog_get(c, id, &row);
	if (r < 0)
		return r;
	if (row.status == CATALOG_DELETED)
		return -ENOENT;
	snprintf(details, sizeof(details), "was=%s,retention_until=%" PRId64 ",reason=%s",
		 row.legal_hold ? "held" : "not_held", row.retention_until, reason ? reason : "");
	r = audit_append(a, now, uid, hold ? "hold" : "release", id, details, NULL);
	if (r < 0)
		return r;
	return catalog_set_hold(c, id, hold, reason);
}

struct expired {
	size_t n, cap;
	struct catalog_row *rows;
};

static int collect(const struct catalog_row *row, void *userdata)
{
	struct expired *e = userdata;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		struct catalog_row *nr;

		if (cap > (1u << 20))
			return -E2BIG;	/* a million at once: purge again for the rest */
		nr = realloc(e->rows, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		e->rows = nr;
		e->cap = cap;
	}
	e->rows[e->n++] = *row;
	return 0;
}

int retention_purge(const char *dir, struct catalog *c, struct audit *a, uint32_t uid, int64_t now, bool dry_run,
		    retention_cb cb, void *userdata)
{
	struct catalog_filter f = { .expired_at = now };
	struct expired e = { 0 };
	int dirfd, r, done = 0;

	r = catalog_query(c, &f, collect, &e);
	if (r < 0 && r != -E2BIG) {
		free(e.rows);
		return r;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		r = -errno;
		free(e.rows);
		return r;
	}
	r = 0;
	for (size_t i = 0; i < e.n; i++) {
		int rr = 0;

		if (!dry_run)
			rr = retention_delete(dirfd, c, a, uid, now, e.rows[i].id, "purge", "retention expired");
		if (cb)
			cb(e.rows[i].id, e.rows[i].file, e.rows[i].retention_until, rr, userdata);
		if (rr < 0 && !r)
			r = rr;
		else if (rr == 0)
			done++;
	}
	close(dirfd);
	free(e.rows);
	return r < 0 ? r : done;
}
