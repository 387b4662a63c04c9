/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's retention schedule: a thread that purges expired, non-held
 * recordings every interval (store/recovery.h retention_purge: audit entry
 * first, then unlink, then the catalog). Its own catalog connection; never
 * near the audio path.
 */
#ifndef TRUNKREC_STORE_PURGER_H
#define TRUNKREC_STORE_PURGER_H

#include <pthread.h>
#include <stdbool.h>

struct audit;
struct catalog;

struct purger {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	int interval_s;
	const char *dir;
	struct catalog *catalog;	/* this thread's own connection */
	struct audit *audit;
	unsigned long purged, runs;
};

/* Opens its own catalog connection to catalog_path. interval_s > 0. Returns 0 or -errno. */
int purger_start(struct purger *p, const char *dir, const char *catalog_path, struct audit *audit, int interval_s);

/* Stops at once (an ongoing purge finishes its current file first). */
void purger_stop(struct purger *p);

#endif
