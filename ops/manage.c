// SPDX-License-Identifier: GPL-2.0-or-later
#include "ops/manage.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/catalog.h"
#include "base/log.h"
#include "store/recovery.h"
#include "store/retention.h"

#define AUDIT_VERIFY_MAX	((size_t)1 << 30)	/* a larger log is verified with trunkrec audit verify */

static int open_catalog(struct manage *m, char *buf, size_t size)
{
	int r;

	if (m->catalog)
		return 0;
	r = catalog_open(m->catalog_path, NULL, &m->catalog);
	if (r < 0)
		snprintf(buf, size, "error the catalog %s cannot be opened: %s", m->catalog_path, strerror(-r));
	return r;
}

/* "ID REASON…": the id is one word, the reason the rest (required: it goes into the audit log). */
static bool split_id_reason(const char *args, char *id, size_t idsize, const char **reason)
{
	size_t n = strcspn(args, " ");

	if (n == 0 || n >= idsize)
		return false;
	memcpy(id, args, n);
	id[n] = '\0';
	*reason = args + n + strspn(args + n, " ");
	return **reason != '\0';
}

static void refused(struct manage *m, uint32_t uid, const char *verb, const char *id, const char *why,
		    const char *reason)
{
	char details[320];

	snprintf(details, sizeof(details), "request=%s,why=%s,reason=%.200s", verb, why, reason);
	if (audit_append(m->audit, (int64_t)time(NULL), uid, "refused", id, details, NULL) < 0)
		log_err("control: could not audit a refused %s of %s from uid %u", verb, id, (unsigned)uid);
}

static void hold_release_delete(struct manage *m, uint32_t uid, const char *verb, const char *args, char *buf,
				size_t size)
{
	char id[96];
	const char *reason;
	int r, dirfd;

	if (!split_id_reason(args, id, sizeof(id), &reason)) {
		snprintf(buf, size, "error usage: %s ID REASON (the reason goes into the audit log)", verb);
		return;
	}
	if (open_catalog(m, buf, size) < 0)
		return;
	if (!strcmp(verb, "delete")) {
		dirfd = open(m->recordings, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			snprintf(buf, size, "error %s: %s", m->recordings, strerror(errno));
			return;
		}
		r = retention_delete(dirfd, m->catalog, m->audit, uid, (int64_t)time(NULL), id, "delete", reason);
		close(dirfd);
	} else {
		r = retention_set_hold(m->catalog, m->audit, uid, (int64_t)time(NULL), id, !strcmp(verb, "hold"),
				       reason);
	}
	if (r == -ENOENT || r == -EPERM) {
		refused(m, uid, verb, id, r == -ENOENT ? "no_such_recording" : "legal_hold", reason);
		snprintf(buf, size, "error %s %s: %s", verb, id,
			 r == -ENOENT ? "no such recording in the catalog (or already deleted)"
				      : "it is under legal hold; release it first");
	} else if (r < 0) {
		snprintf(buf, size, "error %s %s: %s", verb, id, strerror(-r));
	} else {
		snprintf(buf, size, "ok %s %s", id,
			 !strcmp(verb, "delete") ? "deleted" : !strcmp(verb, "hold") ? "held" : "released");
	}
}

static void purge(struct manage *m, uint32_t uid, const char *args, char *buf, size_t size)
{
	bool dry = !strcmp(args, "dry-run");
	int r;

	if (*args && !dry) {
		snprintf(buf, size, "error usage: purge [dry-run]");
		return;
	}
	if (open_catalog(m, buf, size) < 0)
		return;
	r = retention_purge(m->recordings, m->catalog, m->audit, uid, (int64_t)time(NULL), dry, NULL, NULL);
	if (r < 0)
		snprintf(buf, size, "error purge: %s", strerror(-r));
	else
		snprintf(buf, size, "ok %d recording(s) %s", r, dry ? "would be deleted (dry run)" : "deleted");
}

/* The log as it is on disk, checked line by line; the reader is audited first. */
static void audit_verify_now(struct manage *m, uint32_t uid, char *buf, size_t size)
{
	struct audit_verify_result res;
	struct stat st;
	uint8_t *log = NULL;
	size_t len = 0;
	int fd, r;

	if (audit_append(m->audit, (int64_t)time(NULL), uid, "audit_verify", m->audit_path, "via=control", NULL) < 0) {
		snprintf(buf, size, "error the audit log cannot be written; nothing done");
		return;
	}
	fd = open(m->audit_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size > AUDIT_VERIFY_MAX) {
		snprintf(buf, size, "error %s: %s", m->audit_path,
			 fd < 0 ? strerror(errno) : "too large to verify here; use trunkrec audit verify");
		goto out;
	}
	log = malloc((size_t)st.st_size + 1);
	while (log && len < (size_t)st.st_size) {
		ssize_t n = read(fd, log + len, (size_t)st.st_size - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (!log || len != (size_t)st.st_size) {
		snprintf(buf, size, "error %s: cannot read it", m->audit_path);
		goto out;
	}
	r = audit_verify(log, len, NULL, NULL, &res);
	if (r < 0)
		snprintf(buf, size, "error TAMPERED: %s", res.why);
	else
		snprintf(buf, size, "ok verified %" PRIu64 " entries, last seq %" PRIu64, res.entries, res.last_seq);
out:
	free(log);
	if (fd >= 0)
		close(fd);
}

void manage_command(struct manage *m, uint32_t uid, const char *verb, const char *args, char *buf, size_t size)
{
	if (!m->audit) {
		snprintf(buf, size, "error this daemon has no audit log: lifecycle commands are off");
		return;
	}
	if (!strcmp(verb, "hold") || !strcmp(verb, "release") || !strcmp(verb, "delete"))
		hold_release_delete(m, uid, verb, args, buf, size);
	else if (!strcmp(verb, "purge"))
		purge(m, uid, args, buf, size);
	else if (!strcmp(verb, "audit") && !strcmp(args, "verify"))
		audit_verify_now(m, uid, buf, size);
	else
		snprintf(buf, size, "error unknown lifecycle command %s", verb);
}

static int count_row(const struct catalog_row *row, void *userdata)
{
	(void)row;
	++*(long long *)userdata;
	return 0;
}

long long manage_retention_backlog(struct manage *m, int64_t now)
{
	struct catalog_filter f = { .expired_at = now };
	char err[160];
	long long n = 0;

	if (m->backlog_at && now - m->backlog_at < 60)
		return m->backlog;
	m->backlog_at = now;
	m->backlog = -1;
	if (open_catalog(m, err, sizeof(err)) == 0 && catalog_query(m->catalog, &f, count_row, &n) == 0)
		m->backlog = n;
	return m->backlog;
}

void manage_close(struct manage *m)
{
	catalog_close(m->catalog);
	m->catalog = NULL;
}
