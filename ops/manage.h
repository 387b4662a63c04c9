/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recording-lifecycle commands the control socket serves to managers
 * and auditors (docs/control.md): legal hold and release, delete, purge,
 * and verifying the audit log. Done by the daemon, which owns the files,
 * so a manager needs a role, not write access to the recordings; each
 * action is audited under the uid of the person who asked, before it runs
 * (store/recovery.c's retention_*).
 *
 * Thread: the control thread. Its own catalog connection, opened at first
 * use; never the relay's business.
 */
#ifndef TRUNKREC_OPS_MANAGE_H
#define TRUNKREC_OPS_MANAGE_H

#include <stddef.h>
#include <stdint.h>

struct audit;
struct catalog;

struct manage {
	const char *recordings;		/* directory */
	const char *catalog_path;
	const char *audit_path;		/* to verify: the file the daemon appends to */
	struct audit *audit;
	struct catalog *catalog;	/* opened on first use */
	long long backlog;		/* manage_retention_backlog()'s last count */
	int64_t backlog_at;		/* when it was taken; 0 = never */
};

/*
 * One command: verb is hold, release, delete, purge or audit; args the rest
 * of the line ("ID REASON…" for hold, release and delete; "" or "dry-run"
 * for purge; "verify" for audit). The answer line, "ok …" or "error …",
 * goes to buf.
 */
void manage_command(struct manage *m, uint32_t uid, const char *verb, const char *args, char *buf, size_t size);

/*
 * Expired recordings the purge has not taken yet (held ones are not
 * expired), for stats: counted at most once a minute. -1 when unknown.
 */
long long manage_retention_backlog(struct manage *m, int64_t now);

void manage_close(struct manage *m);

#endif
