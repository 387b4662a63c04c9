/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Retention: deleting recordings (purge on schedule, a manager's delete, a
 * supervisor's discard) and legal holds, each audited before it is done
 * (docs/storage.md).
 *
 * Thread: whoever holds the catalog connection (the purger, the filer, the
 * control thread's manage connection, the trunkrec tool).
 */
#ifndef TRUNKREC_STORE_RETENTION_H
#define TRUNKREC_STORE_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

struct audit;
struct catalog;

/*
 * Delete one recording now: audit entry (action purge or delete) first,
 * then unlink ID.trec (or ID.trec.partial), then the catalog row becomes
 * deleted. A held recording is refused with -EPERM (release it first).
 */
int retention_delete(int dirfd, struct catalog *c, struct audit *a, uint32_t uid, int64_t now, const char *id,
		     const char *action, const char *reason);

/*
 * Legal hold on (hold) or off: audit entry (hold or release) first, then
 * the catalog. -ENOENT for an unknown or deleted id (nothing audited: the
 * caller audits the refusal). Retention is never changed by a hold.
 */
int retention_set_hold(struct catalog *c, struct audit *a, uint32_t uid, int64_t now, const char *id, bool hold,
		       const char *reason);

typedef void (*retention_cb)(const char *id, const char *file, int64_t retention_until, int result, void *userdata);

/*
 * Every expired, non-held recording at now: deleted (or only listed with
 * dry_run). cb (may be NULL) is told about each. Returns how many were
 * (or would be) deleted, or -errno.
 */
int retention_purge(const char *dir, struct catalog *c, struct audit *a, uint32_t uid, int64_t now, bool dry_run,
		    retention_cb cb, void *userdata);

#endif
